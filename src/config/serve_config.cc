#include "config/serve_config.h"

#include <algorithm>
#include <limits>
#include <type_traits>
#include <utility>
#include <vector>

#include "base/check.h"

namespace enclave::config {
namespace {

struct Limits {
  double min = 0;
  double max = 0;
  std::vector<std::string> choices;
};
Limits Range(double min, double max) { return {min, max, {}}; }
Limits OneOf(std::vector<std::string> choices) { return {0, 0, std::move(choices)}; }

// One row of the table: `path` is "section.name"; `section` and `field` are the members it sets.
template <typename Section, typename T>
ConfigKey Key(std::string_view path, Section ServeConfig::*section, T Section::*field, std::string flag,
              std::string help, Limits limits = {}) {
  ConfigKey k;
  const size_t dot = path.find('.');
  k.section = std::string(path.substr(0, dot));
  k.name = std::string(path.substr(dot + 1));
  k.flag = std::move(flag);
  k.help = std::move(help);
  k.min = limits.min;
  k.max = limits.max;
  k.choices = std::move(limits.choices);
  k.field = [section, field](ServeConfig& c) -> FieldRef { return &(c.*section.*field); };
  if constexpr (std::is_same_v<T, std::string>) {
    k.type = ValueType::kString;
  } else if constexpr (std::is_same_v<T, double>) {
    k.type = ValueType::kReal;
    ENCLAVE_CHECK(k.min < k.max);
  } else {
    static_assert(std::is_same_v<T, int> || std::is_same_v<T, int64_t>, "add the type to FieldRef");
    k.type = ValueType::kInteger;
    // SetFromText relies on the range to keep a parsed int64 inside T.
    ENCLAVE_CHECK(k.min < k.max && k.min >= static_cast<double>(std::numeric_limits<T>::min()) &&
                  k.max <= static_cast<double>(std::numeric_limits<T>::max()));
  }
  return k;
}

std::vector<ConfigKey> BuildKeys() {
  using C = ServeConfig;
  // Flags, help texts and ranges are those `enclave serve` has always had: they are contracts.
  return {
      Key("model.path", &C::model, &ModelConfig::path, "-m,--model", "GGUF file or Hugging Face model directory"),
      Key("model.id", &C::model, &ModelConfig::id, "--model-id",
          "the model name clients use (default: the file or directory name)"),
      Key("model.threads", &C::model, &ModelConfig::threads, "-t,--threads", "compute threads (default: all cores)",
          Range(0, 1024)),
      Key("model.context", &C::model, &ModelConfig::context, "-c,--ctx", "longest sequence: prompt + completion tokens",
          Range(16, int64_t{1} << 22)),
      Key("model.kv_tokens", &C::model, &ModelConfig::kv_tokens, "--kv-tokens",
          "tokens the KV cache holds over all requests (default: 4 x --ctx)", Range(0, int64_t{1} << 30)),
      Key("model.kv_type", &C::model, &ModelConfig::kv_type, "--kv-type", "KV cache element type: f16 or f32",
          OneOf({"f16", "f32"})),
      Key("model.quantize", &C::model, &ModelConfig::quantize, "--quantize",
          "quantize an HF model while loading: q8_0 or q4_k", OneOf({"", "q8_0", "q4_k"})),
      Key("model.chat_template", &C::model, &ModelConfig::chat_template, "--chat-template",
          "a built-in template name or a Jinja file (default: the model's own)"),

      Key("server.host", &C::server, &ServerConfig::host, "--host", "address to listen on"),
      Key("server.port", &C::server, &ServerConfig::port, "--port", "TCP port (0: any free port)", Range(0, 65535)),
      Key("server.io_threads", &C::server, &ServerConfig::io_threads, "--io-threads", "HTTP I/O threads", Range(1, 64)),
      Key("server.max_body_mb", &C::server, &ServerConfig::max_body_mb, "--max-body-mb",
          "largest request body in MiB (then 413)", Range(1, 1024)),
      Key("server.request_timeout", &C::server, &ServerConfig::request_timeout, "--request-timeout",
          "seconds a client has to send a whole request (then 408; stops slow-sending clients)", Range(1, 3600)),
      Key("server.shutdown_timeout", &C::server, &ServerConfig::shutdown_timeout, "--shutdown-timeout",
          "seconds running requests get to finish on SIGTERM", Range(0, 3600)),
      Key("server.max_request_time", &C::server, &ServerConfig::max_request_time, "--max-request-time",
          "seconds a request may take from arrival to its last token, queue time included (then 504, or an error "
          "event when streamed); a request's 'timeout' field may shorten it; 0: no limit",
          Range(0, 86400)),

      Key("scheduler.parallel", &C::scheduler, &SchedulerConfig::parallel, "--parallel", "requests generating at once",
          Range(1, 1024)),
      Key("scheduler.queue", &C::scheduler, &SchedulerConfig::queue, "--queue",
          "requests waiting beyond those (then 429)", Range(0, 1 << 20)),
      Key("scheduler.step_tokens", &C::scheduler, &SchedulerConfig::step_tokens, "--step-tokens",
          "prompt tokens per engine step (chunked prefill budget)", Range(16, 1 << 16)),
      Key("scheduler.prefix_cache_entries", &C::scheduler, &SchedulerConfig::prefix_cache_entries,
          "--prefix-cache-entries", "finished sequences kept in the KV cache for prompts that start the same way "
          "(evicted when blocks are needed); 0: off", Range(0, 65536)),

      Key("logging.access_log", &C::logging, &LoggingConfig::access_log, "--access-log",
          "append JSON-lines access records to this file ('-': stderr)"),
  };
}

}  // namespace

std::span<const ConfigKey> ServeConfigKeys() {
  static const std::vector<ConfigKey> keys = BuildKeys();
  return keys;
}

const ConfigKey* FindKey(std::string_view section, std::string_view name) {
  for (const ConfigKey& k : ServeConfigKeys()) {
    if (k.section == section && k.name == name) return &k;
  }
  return nullptr;
}

std::span<const std::string> ServeConfigSections() {
  static const std::vector<std::string> sections = [] {
    std::vector<std::string> s;
    for (const ConfigKey& k : ServeConfigKeys()) {
      if (std::find(s.begin(), s.end(), k.section) == s.end()) s.push_back(k.section);
    }
    return s;
  }();
  return sections;
}

Status CheckServable(const ServeConfig& config) {
  if (config.model.path.empty()) {
    return InvalidArgumentError(
        "no model to serve: pass -m MODEL, set model.path in the --config file, or set ENCLAVE_MODEL_PATH");
  }
  return Status::Ok();
}

}  // namespace enclave::config
