// `enclave serve -m MODEL [--host 127.0.0.1] [--port 8080] [--config enclave.yaml] ...`: the
// OpenAI-compatible HTTP server (src/server/api_server.h, docs/api.md). Settings come from flags,
// ENCLAVE_* environment variables and a YAML file, in that order of precedence
// (src/config/resolve_config.h, docs/configuration.md). Governance (keys, TLS, audit, content
// controls, model integrity: docs/security.md) is built by serve_governance.h. Runs until SIGTERM
// or SIGINT, then drains: new requests get 503, running ones finish within
// server.shutdown_timeout seconds, the audit log is closed, and the process exits 0. SIGHUP
// reloads the TLS certificate and key.
#include <CLI/CLI.hpp>
#include <signal.h>

#include <cstdio>
#include <ctime>
#include <filesystem>

#include <fmt/format.h>

#include "config/config_env.h"
#include "config/config_yaml.h"
#include "config/resolve_config.h"
#include "server/api_server.h"
#include "tools/enclave/commands.h"
#include "tools/enclave/config_flags.h"
#include "tools/enclave/model_loading.h"
#include "tools/enclave/serve_governance.h"
#include "tools/enclave/template_choice.h"

namespace enclave::cli {
namespace {

struct ServeOptions {
  ConfigFlags flags;
  std::string config_file;
  bool print_config = false;
};

std::string DefaultModelId(const std::string& path) {
  std::filesystem::path p(path);
  while (!p.empty() && p.filename().empty()) p = p.parent_path();  // a trailing slash
  return p.extension() == ".gguf" ? p.stem().string() : p.filename().string();
}

int Fail(const Status& s) {
  std::fprintf(stderr, "error: %s\n", s.message().c_str());
  return 1;
}

int Serve(const config::ServeConfig& c) {
  // Signals are taken synchronously by this thread (sigwait); every other thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  if (Status s = CheckListenPolicy(c); !s.ok()) return Fail(s);
  server::ApiServerOptions so;
  if (Status s = CheckModelIntegrity(c, &so.model_facts); !s.ok()) return Fail(s);
  auto governance = BuildGovernance(c, so);
  if (!governance.ok()) return Fail(governance.status());

  CliModelOptions mo;
  mo.path = c.model.path;
  mo.threads = c.model.threads;
  mo.context = c.model.context;
  mo.kv_tokens = c.model.kv_tokens == 0 ? 4 * c.model.context : c.model.kv_tokens;
  mo.kv_type = c.model.kv_type;
  mo.quantize = c.model.quantize;
  auto m = LoadModelForCli(mo);
  if (!m.ok()) return Fail(m.status());
  so.http.host = c.server.host;
  so.http.port = static_cast<uint16_t>(c.server.port);
  so.http.io_threads = c.server.io_threads;
  so.http.header_timeout_s = c.server.request_timeout;
  so.http.max_body_bytes = static_cast<uint64_t>(c.server.max_body_mb) << 20;
  so.scheduler.max_running = c.scheduler.parallel;
  so.scheduler.max_queue = c.scheduler.queue;
  so.scheduler.step_tokens = c.scheduler.step_tokens;
  so.scheduler.prefix_cache_entries = c.scheduler.prefix_cache_entries;
  so.model_id = c.model.id.empty() ? DefaultModelId(c.model.path) : c.model.id;
  so.model_facts.id = so.model_id;
  so.access_log = c.logging.access_log;
  so.max_request_seconds = c.server.max_request_time;
  auto tmpl = ChooseChatTemplate(c.model.chat_template, c.model.path, m->model->tokenizer());
  if (!tmpl.ok()) return Fail(tmpl.status());
  so.chat_template = *tmpl;
  auto server = server::ApiServer::Start(*m->model, *m->engine, so);
  if (!server.ok()) return Fail(server.status());
  std::fprintf(stderr, "serving '%s' on %s://%s:%u (OpenAI API under /v1; /health, /ready, /metrics)%s\n",
               so.model_id.c_str(), c.tls.cert.empty() ? "http" : "https", c.server.host.c_str(), (*server)->port(),
               c.auth.keys_db.empty() ? "" : "; API keys required");
  audit::AuditLog* audit = governance->audit.get();
  int sig = 0;
  const timespec tick{1, 0};
  time_t last_checkpoint = std::time(nullptr);
  for (;;) {
    sig = sigtimedwait(&signals, nullptr, &tick);
    if (sig == SIGHUP) {
      const Status s = (*server)->ReloadTls();
      std::fprintf(stderr, "SIGHUP: %s\n", s.ok() ? "TLS certificate and key reloaded" : s.message().c_str());
      continue;
    }
    if (sig == SIGTERM || sig == SIGINT) break;
    // An idle log's tail gets signed too: a checkpoint each interval when records followed the last.
    if (audit != nullptr && std::time(nullptr) - last_checkpoint >= c.audit.checkpoint_interval) {
      last_checkpoint = std::time(nullptr);
      if (Status s = audit->Checkpoint(); !s.ok()) std::fprintf(stderr, "error: audit checkpoint: %s\n", s.message().c_str());
    }
  }
  std::fprintf(stderr, "%s: draining (up to %.0f s for running requests)\n", sig == SIGTERM ? "SIGTERM" : "SIGINT",
               c.server.shutdown_timeout);
  const bool clean = (*server)->Shutdown(c.server.shutdown_timeout);
  if (audit != nullptr) {
    if (Status s = audit->Close(); !s.ok()) std::fprintf(stderr, "error: closing the audit log: %s\n", s.message().c_str());
  }
  std::fprintf(stderr, clean ? "stopped\n" : "stopped (requests still running at the deadline were ended)\n");
  return 0;
}

int RunServe(const ServeOptions& o) {
  const config::ConfigSources sources{o.config_file, config::ProcessEnvironment(), o.flags.Given()};
  auto c = config::ResolveServeConfig(sources);
  if (!c.ok()) return Fail(c.status());
  if (o.print_config) {
    std::printf("# enclave serve: effective configuration (flag > environment > config file > default)\n%s",
                config::ToYaml(*c).c_str());
    return 0;
  }
  if (Status s = config::CheckServable(*c); !s.ok()) return Fail(s);
  return Serve(*c);
}

}  // namespace

void RegisterServe(CLI::App& app, CommandRegistry& registry) {
  auto opt = std::make_shared<ServeOptions>();
  CLI::App* cmd = app.add_subcommand(
      "serve", "Serve a model over an OpenAI-compatible HTTP API (/v1/chat/completions, /v1/completions, "
               "/v1/models) with continuous batching, plus /health, /ready and /metrics. See docs/api.md.");
  cmd->add_option("--config", opt->config_file,
                  "YAML file of settings (docs/configuration.md); environment variables and flags override it");
  cmd->add_flag("--print-config", opt->print_config,
                "print the effective settings as YAML and exit, without loading the model");
  opt->flags.Register(*cmd);
  cmd->footer(
      "Each flag is also a key of its section in the --config file and an environment variable:\n"
      "--port is server.port in the file and ENCLAVE_SERVER_PORT in the environment. A flag wins over\n"
      "the environment, which wins over the file. docs/configuration.md describes every key.");
  cmd->callback([opt, &registry] { registry.exit_code = RunServe(*opt); });
}

}  // namespace enclave::cli
