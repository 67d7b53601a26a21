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
  } else if constexpr (std::is_same_v<T, bool>) {
    k.type = ValueType::kBool;
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

      Key("server.insecure", &C::server, &ServerConfig::insecure, "--insecure",
          "allow listening on a non-loopback address without authentication (API keys or required client "
          "certificates); without it such a server refuses to start"),

      Key("auth.keys_db", &C::auth, &AuthConfig::keys_db, "--keys-db",
          "SQLite API-key database (enclave keys create); every route but /health and /ready then needs a key"),
      Key("auth.allow_ips", &C::auth, &AuthConfig::allow_ips, "--allow-ips",
          "comma-separated CIDR ranges clients may connect from (IPv4 and IPv6); empty: any"),
      Key("auth.trusted_proxies", &C::auth, &AuthConfig::trusted_proxies, "--trusted-proxies",
          "comma-separated CIDR ranges of reverse proxies whose X-Forwarded-For names the client"),
      Key("auth.max_connections_per_ip", &C::auth, &AuthConfig::max_connections_per_ip, "--max-connections-per-ip",
          "open connections one client address may hold (then 429); 0: no limit", Range(0, 1 << 20)),

      Key("tls.cert", &C::tls, &TlsConfig::cert, "--tls-cert", "PEM certificate chain: serve HTTPS only"),
      Key("tls.key", &C::tls, &TlsConfig::key, "--tls-key", "PEM private key of --tls-cert"),
      Key("tls.min_version", &C::tls, &TlsConfig::min_version, "--tls-min-version",
          "oldest TLS version accepted: 1.3, or 1.2 for old clients", OneOf({"1.3", "1.2"})),
      Key("tls.client_ca", &C::tls, &TlsConfig::client_ca, "--tls-client-ca",
          "PEM CA certificates client certificates are verified against (mutual TLS)"),
      Key("tls.require_client_cert", &C::tls, &TlsConfig::require_client_cert, "--tls-require-client-cert",
          "refuse TLS handshakes without a client certificate from --tls-client-ca"),

      Key("audit.log", &C::audit, &AuditConfig::log, "--audit-log",
          "tamper-evident JSON-lines audit log, one record per request (docs/audit-log.md)"),
      Key("audit.signing_key", &C::audit, &AuditConfig::signing_key, "--audit-signing-key",
          "Ed25519 private key (PEM) that signs audit checkpoints (enclave audit keygen)"),
      Key("audit.store_text", &C::audit, &AuditConfig::store_text, "--audit-store-text",
          "keep prompt and completion text in audit records (always their SHA-256)"),
      Key("audit.rotate_mb", &C::audit, &AuditConfig::rotate_mb, "", "start a new audit file beyond this many MiB; 0: never",
          Range(0, 1 << 20)),
      Key("audit.rotate_daily", &C::audit, &AuditConfig::rotate_daily, "", "start a new audit file on each UTC day"),
      Key("audit.retention_days", &C::audit, &AuditConfig::retention_days, "",
          "delete rotated audit files older than this, each with a retention record; 0: keep forever", Range(0, 36500)),
      Key("audit.sync_every", &C::audit, &AuditConfig::sync_every, "",
          "fdatasync the audit log every N records (1: each record is durable before the response)", Range(1, 1 << 20)),
      Key("audit.checkpoint_every", &C::audit, &AuditConfig::checkpoint_every, "",
          "signed checkpoint after this many records", Range(1, 1 << 24)),
      Key("audit.checkpoint_interval", &C::audit, &AuditConfig::checkpoint_interval, "",
          "signed checkpoint after this many seconds with new records", Range(1, 86400)),

      Key("pii.policy", &C::pii, &PiiConfig::policy, "--pii-policy",
          "personal data in prompts and outputs: off, mask, placeholder (restored in the answer) or block",
          OneOf({"off", "mask", "placeholder", "block"})),
      Key("pii.route_policies", &C::pii, &PiiConfig::route_policies, "--pii-route-policies",
          "per-route overrides, ROUTE=POLICY,... (/v1/completions=off)"),

      Key("filter.lexicon", &C::filter, &FilterConfig::lexicon, "--filter-lexicon",
          "comma-separated sensitive-word lexicon files (docs/word-filter.md); empty: no filter"),
      Key("filter.variants", &C::filter, &FilterConfig::variants, "--filter-variants",
          "comma-separated variant files (e.g. traditional to simplified)"),
      Key("filter.actions", &C::filter, &FilterConfig::actions, "--filter-actions",
          "CATEGORY=block|mask|flag,... per lexicon category"),
      Key("filter.default_action", &C::filter, &FilterConfig::default_action, "--filter-default-action",
          "action of categories not in filter.actions", OneOf({"block", "mask", "flag"})),

      Key("integrity.manifest", &C::integrity, &IntegrityConfig::manifest, "--manifest",
          "model manifest to verify before serving (default: the model's own manifest file, when present)"),
      Key("integrity.require_manifest", &C::integrity, &IntegrityConfig::require_manifest, "--require-manifest",
          "refuse to serve a model without a manifest"),
      Key("integrity.public_key", &C::integrity, &IntegrityConfig::public_key, "--manifest-public-key",
          "Ed25519 public key (PEM) the manifest's signature is checked with"),
      Key("integrity.require_signature", &C::integrity, &IntegrityConfig::require_signature, "--require-signature",
          "refuse a manifest that is not signed by --manifest-public-key"),
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
