// The OpenAI-compatible API over one loaded model: routes, request handling, streaming, metrics and
// the JSON-lines access log, on top of HttpServer (transport) and Scheduler (continuous batching).
//
//   GET  /health               liveness: 200 {"status":"ok"} while the process serves HTTP
//   GET  /ready                readiness: 200 when the model is loaded and not draining, else 503
//   GET  /metrics              Prometheus text format
//   GET  /v1/models            the one model
//   POST /v1/chat/completions  chat (the model's template), streamed (SSE) or not
//   POST /v1/completions       raw prompt, streamed or not
//   GET  /admin/...            keys, model, audit (server/admin_routes.h)
//
// Governance (docs/security.md): every request passes AccessControl (address rules, API key or
// client certificate, role), inference requests the key's limits (KeyLimiter) and the content
// controls (ContentRules) on the way in and out, and every request ends with one audit record.
#pragma once

#include <atomic>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "base/status.h"
#include "model/model.h"
#include "runtime/engine.h"
#include "governance/audit/audit_log.h"
#include "governance/limits/key_limiter.h"
#include "server/access_control.h"
#include "server/admin_routes.h"
#include "server/content_guard.h"
#include "server/http_server.h"
#include "server/metrics.h"
#include "server/scheduler.h"

namespace enclave::server {

struct ApiServerOptions {
  HttpServerOptions http;
  SchedulerOptions scheduler;
  std::string model_id;       // the name /v1/models lists and requests must use
  std::string chat_template;  // Jinja source used for chat requests
  std::string access_log;     // path of the JSON-lines access log; "" = none, "-" = stderr
  // Longest a request may take from arrival to its last token (queue time included); a request's
  // own 'timeout' may only shorten it. <= 0: no limit. Past it: 504 (or an error event when streamed).
  double max_request_seconds = 600;
  int64_t context = 0;        // set by Start: the engine's context (longest prompt + completion)

  AccessOptions access;                  // API keys and address rules; keys null: open server
  ContentRules content;                  // PII and word filter; borrowed objects outlive the server
  audit::AuditLog* audit = nullptr;      // one record per request; null: no audit log
  // Group commit: the audit writer syncs once per batch of records (server/audit_sink.h); the
  // log's own per-record sync should then be off.
  bool audit_sync_each_batch = true;
  ModelFacts model_facts;                // for audit records and GET /admin/model
  std::function<int64_t()> now_ms;      // Unix ms for limits; the system clock when empty (tests)
};

class ApiServer {
 public:
  static Result<std::unique_ptr<ApiServer>> Start(const Model& model, Engine& engine, const ApiServerOptions& options);
  ~ApiServer();

  uint16_t port() const { return http_->port(); }
  // SIGHUP: re-reads the TLS certificate and key (server/http_server.h).
  Status ReloadTls() { return http_->ReloadTls(); }
  // Graceful shutdown: stop admitting (ready turns 503, new requests get 503), wait up to
  // `deadline_s` for running requests to finish, then stop. Returns true when all finished.
  bool Shutdown(double deadline_s);

  class Handlers;

 private:
  ApiServer() = default;
  std::unique_ptr<Handlers> handlers_;
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<HttpServer> http_;
};

}  // namespace enclave::server
