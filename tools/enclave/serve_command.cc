// `enclave serve -m MODEL [--host 127.0.0.1] [--port 8080] ...`: the OpenAI-compatible HTTP server
// (src/server/api_server.h, docs/api.md). Runs until SIGTERM or SIGINT, then drains: new requests
// get 503, running ones finish within --shutdown-timeout seconds, and the process exits 0.
#include <CLI/CLI.hpp>
#include <signal.h>

#include <cstdio>
#include <filesystem>

#include <fmt/format.h>

#include "server/api_server.h"
#include "tools/enclave/commands.h"
#include "tools/enclave/model_loading.h"
#include "tools/enclave/template_choice.h"

namespace enclave::cli {
namespace {

struct ServeOptions {
  CliModelOptions model;
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string model_id;
  std::string chat_template;
  std::string access_log;
  int parallel = 16;
  int queue = 256;
  int64_t step_tokens = 512;
  int64_t max_body_mb = 4;
  double shutdown_timeout = 30;
  double max_request_time = 600;
  int io_threads = 2;
  int header_timeout = 30;
};

std::string DefaultModelId(const std::string& path) {
  std::filesystem::path p(path);
  while (!p.empty() && p.filename().empty()) p = p.parent_path();  // a trailing slash
  return p.extension() == ".gguf" ? p.stem().string() : p.filename().string();
}

int RunServe(ServeOptions& o) {
  // Signals are taken synchronously by this thread (sigwait); every other thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  if (o.model.kv_tokens == 0) o.model.kv_tokens = 4 * o.model.context;
  auto m = LoadModelForCli(o.model);
  if (!m.ok()) {
    std::fprintf(stderr, "error: %s\n", m.status().message().c_str());
    return 1;
  }
  server::ApiServerOptions so;
  so.http.host = o.host;
  so.http.port = static_cast<uint16_t>(o.port);
  so.http.io_threads = o.io_threads;
  so.http.header_timeout_s = o.header_timeout;
  so.http.max_body_bytes = static_cast<uint64_t>(o.max_body_mb) << 20;
  so.scheduler.max_running = o.parallel;
  so.scheduler.max_queue = o.queue;
  so.scheduler.step_tokens = o.step_tokens;
  so.model_id = o.model_id.empty() ? DefaultModelId(o.model.path) : o.model_id;
  so.access_log = o.access_log;
  so.max_request_seconds = o.max_request_time;
  auto tmpl = ChooseChatTemplate(o.chat_template, o.model.path, m->model->tokenizer());
  if (!tmpl.ok()) {
    std::fprintf(stderr, "error: %s\n", tmpl.status().message().c_str());
    return 1;
  }
  so.chat_template = *tmpl;
  auto server = server::ApiServer::Start(*m->model, *m->engine, so);
  if (!server.ok()) {
    std::fprintf(stderr, "error: %s\n", server.status().message().c_str());
    return 1;
  }
  std::fprintf(stderr, "serving '%s' on http://%s:%u (OpenAI API under /v1; /health, /ready, /metrics)\n",
               so.model_id.c_str(), o.host.c_str(), (*server)->port());
  int sig = 0;
  sigwait(&signals, &sig);
  std::fprintf(stderr, "%s: draining (up to %.0f s for running requests)\n", sig == SIGTERM ? "SIGTERM" : "SIGINT",
               o.shutdown_timeout);
  const bool clean = (*server)->Shutdown(o.shutdown_timeout);
  std::fprintf(stderr, clean ? "stopped\n" : "stopped (requests still running at the deadline were ended)\n");
  return 0;
}

}  // namespace

void RegisterServe(CLI::App& app, CommandRegistry& registry) {
  auto opt = std::make_shared<ServeOptions>();
  CLI::App* cmd = app.add_subcommand(
      "serve", "Serve a model over an OpenAI-compatible HTTP API (/v1/chat/completions, /v1/completions, "
               "/v1/models) with continuous batching, plus /health, /ready and /metrics. See docs/api.md.");
  cmd->add_option("-m,--model", opt->model.path, "GGUF file or Hugging Face model directory")->required();
  cmd->add_option("--host", opt->host, "address to listen on")->capture_default_str();
  cmd->add_option("--port", opt->port, "TCP port (0: any free port)")->check(CLI::Range(0, 65535))->capture_default_str();
  cmd->add_option("--model-id", opt->model_id, "the model name clients use (default: the file or directory name)");
  cmd->add_option("-t,--threads", opt->model.threads, "compute threads (default: all cores)");
  cmd->add_option("-c,--ctx", opt->model.context, "longest sequence: prompt + completion tokens")
      ->check(CLI::Range(int64_t{16}, int64_t{1} << 22))->capture_default_str();
  cmd->add_option("--kv-tokens", opt->model.kv_tokens, "tokens the KV cache holds over all requests (default: 4 x --ctx)");
  cmd->add_option("--kv-type", opt->model.kv_type, "KV cache element type: f16 or f32")->capture_default_str();
  cmd->add_option("--quantize", opt->model.quantize, "quantize an HF model while loading: q8_0 or q4_k");
  cmd->add_option("--parallel", opt->parallel, "requests generating at once")->check(CLI::Range(1, 1024))->capture_default_str();
  cmd->add_option("--queue", opt->queue, "requests waiting beyond those (then 429)")->check(CLI::Range(0, 1 << 20))->capture_default_str();
  cmd->add_option("--step-tokens", opt->step_tokens, "prompt tokens per engine step (chunked prefill budget)")
      ->check(CLI::Range(int64_t{16}, int64_t{1} << 16))->capture_default_str();
  cmd->add_option("--chat-template", opt->chat_template, "a built-in template name or a Jinja file (default: the model's own)");
  cmd->add_option("--access-log", opt->access_log, "append JSON-lines access records to this file ('-': stderr)");
  cmd->add_option("--max-body-mb", opt->max_body_mb, "largest request body in MiB (then 413)")
      ->check(CLI::Range(int64_t{1}, int64_t{1024}))->capture_default_str();
  cmd->add_option("--io-threads", opt->io_threads, "HTTP I/O threads")->check(CLI::Range(1, 64))->capture_default_str();
  cmd->add_option("--request-timeout", opt->header_timeout,
                  "seconds a client has to send a whole request (then 408; stops slow-sending clients)")
      ->check(CLI::Range(1, 3600))->capture_default_str();
  cmd->add_option("--max-request-time", opt->max_request_time,
                  "seconds a request may take from arrival to its last token, queue time included (then 504, or "
                  "an error event when streamed); a request's 'timeout' field may shorten it; 0: no limit")
      ->check(CLI::Range(0.0, 86400.0))->capture_default_str();
  cmd->add_option("--shutdown-timeout", opt->shutdown_timeout, "seconds running requests get to finish on SIGTERM")
      ->check(CLI::Range(0.0, 3600.0))->capture_default_str();
  cmd->callback([opt, &registry] { registry.exit_code = RunServe(*opt); });
}

}  // namespace enclave::cli
