// The settings of `enclave serve`, one struct per section of the YAML file, with the built-in
// defaults, and the table of every key (ServeConfigKeys) that the file loader, the environment
// overrides, the command-line flags and `--print-config` all walk. docs/configuration.md documents
// each key; a unit test keeps the two in step.
//
// Adding a section (say `audit`): a struct here, a member of ServeConfig, its rows in
// serve_config.cc. Nothing else changes.
//
// Value types; the key table is built once and immutable (thread-safe to read).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "base/status.h"
#include "config/config_key.h"

namespace enclave::config {

struct ModelConfig {
  std::string path;               // GGUF file or Hugging Face directory; required to serve
  std::string id;                 // the name clients use; "": the file or directory name
  int threads = 0;                // compute threads; 0: all cores
  int64_t context = 4096;         // longest sequence (prompt + completion), tokens
  int64_t kv_tokens = 0;          // KV cache over all requests, tokens; 0: 4 x context
  std::string kv_type = "f16";    // "f16" or "f32"
  std::string quantize;           // "", "q8_0" or "q4_k": quantize an HF model while loading
  std::string chat_template;      // built-in name or Jinja file; "": the model's own
};

struct ServerConfig {
  std::string host = "127.0.0.1";
  int port = 8080;                // 0: any free port
  int io_threads = 2;
  int64_t max_body_mb = 4;        // larger request bodies get 413
  int request_timeout = 30;       // seconds to send a whole request (then 408)
  double shutdown_timeout = 30;   // seconds running requests get after SIGTERM
  double max_request_time = 600;  // seconds from arrival to last token (then 504); 0: no limit
  bool insecure = false;          // allow a non-loopback address without authentication
};

struct AuthConfig {
  std::string keys_db;            // SQLite key database; "": no API keys (open access)
  std::string allow_ips;          // comma-separated CIDRs clients may come from; "": any
  std::string trusted_proxies;    // comma-separated CIDRs whose X-Forwarded-For is believed
  int max_connections_per_ip = 0; // open connections per client address; 0: no limit
};

struct TlsConfig {
  std::string cert;               // PEM certificate chain; "": plain HTTP
  std::string key;                // PEM private key
  std::string min_version = "1.3";
  std::string client_ca;          // PEM CAs for client certificates; "": none asked
  bool require_client_cert = false;
};

struct AuditConfig {
  std::string log;                // JSON-lines audit log; "": none
  std::string signing_key;        // Ed25519 PEM for checkpoints; "": unsigned chain
  bool store_text = false;        // keep prompt and completion text, not only their hashes
  int64_t rotate_mb = 64;         // new file beyond this size; 0: never
  bool rotate_daily = true;       // new file on a new UTC day
  int64_t retention_days = 180;   // delete rotated files older than this (recorded); 0: keep
  int64_t sync_every = 1;         // fdatasync every N records
  int64_t checkpoint_every = 1000;   // signed checkpoint every N records...
  int64_t checkpoint_interval = 60;  // ...or seconds
};

struct PiiConfig {
  std::string policy = "off";     // off, mask, placeholder, block: prompts and outputs
  std::string route_policies;     // "ROUTE=POLICY,...": per-route overrides
};

struct FilterConfig {
  std::string lexicon;            // comma-separated lexicon files; "": no filter
  std::string variants;           // comma-separated variant mapping files
  std::string actions;            // "CATEGORY=block|mask|flag,..."
  std::string default_action = "block";  // categories not in `actions`
};

struct IntegrityConfig {
  std::string manifest;           // "": MODEL.manifest.json beside the model, when present
  bool require_manifest = false;  // refuse to serve without a manifest
  std::string public_key;         // Ed25519 public key PEM the manifest must be signed with
  bool require_signature = false; // refuse unless the manifest's signature verifies
};

struct SchedulerConfig {
  int parallel = 16;              // requests generating at once
  int queue = 256;                // requests waiting beyond those (then 429)
  int64_t step_tokens = 512;      // prompt tokens per engine step (chunked prefill)
  int prefix_cache_entries = 256; // finished sequences kept for prefix reuse; 0: off
};

struct LoggingConfig {
  std::string access_log;         // JSON-lines access records; "-": stderr; "": none
};

struct ServeConfig {
  ModelConfig model;
  ServerConfig server;
  SchedulerConfig scheduler;
  LoggingConfig logging;
  AuthConfig auth;
  TlsConfig tls;
  AuditConfig audit;
  PiiConfig pii;
  FilterConfig filter;
  IntegrityConfig integrity;
};

// Every key, in file order: sections in the order above, keys in struct order.
std::span<const ConfigKey> ServeConfigKeys();

// The key `section.name`, or nullptr.
const ConfigKey* FindKey(std::string_view section, std::string_view name);

// The section names, in file order.
std::span<const std::string> ServeConfigSections();

// What serving needs beyond valid values: a model path from some source.
Status CheckServable(const ServeConfig& config);

}  // namespace enclave::config
