// The audit record format (docs/audit-log.md): one JSON object per line, keys in a fixed order,
//   {"seq":N,"time":"...","type":"...","prev":"<64 hex>", <type's fields>, "hash":"<64 hex>"}
// where `hash` is SHA-256 over the line's bytes with its final `,"hash":"…"` member removed (the
// "body", from `{` to the closing `}`). Hashing the exact bytes, not a re-serialization, means any
// changed byte is detected and no JSON canonicalization rules have to agree between writer and
// verifier. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace enclave::audit {

// The `prev` of the first record of a chain.
inline constexpr std::string_view kGenesisHash = "0000000000000000000000000000000000000000000000000000000000000000";

// Record types.
inline constexpr std::string_view kTypeOpen = "open";              // the log was opened by a process
inline constexpr std::string_view kTypeRequest = "request";        // one served request
inline constexpr std::string_view kTypeCheckpoint = "checkpoint";  // signed chain head
inline constexpr std::string_view kTypeRotate = "rotate";          // first record of a continued file
inline constexpr std::string_view kTypeRecovery = "recovery";      // torn bytes of a crash were set aside
inline constexpr std::string_view kTypeRetention = "retention";    // an expired file was deleted
inline constexpr std::string_view kTypeClose = "close";            // the log was closed cleanly

// What the server knows about one request; AuditLog turns it into a "request" record.
struct AuditRequest {
  std::string request_id;
  std::string key_id;
  std::string key_name;
  std::string role;
  std::string client_ip;
  std::string route;  // "/v1/chat/completions"
  std::string model_id;
  std::string model_sha256;                                            // of the model file (manifest), as loaded
  nlohmann::ordered_json sampling = nlohmann::ordered_json::object();  // as the request resolved them
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  double latency_ms = 0;
  int status = 0;                    // HTTP status sent
  std::vector<std::string> actions;  // masking / filter actions taken, e.g. "mask:email", "filter:block"
  std::string prompt;                // always hashed; stored only with store_text
  std::string completion;
};

// The type-specific fields of a request record, in their fixed order.
nlohmann::ordered_json RequestFields(const AuditRequest& r, bool store_text);

// A sealed record: its line (without the newline) and its hash.
struct SealedRecord {
  std::string line;
  std::string hash;
};

// Builds the line for record `seq` of `type` at `time` after the record hashed `prev`. `fields`
// must be an object; its keys must not be seq/time/type/prev/hash. Strings that are not valid
// UTF-8 are written with U+FFFD replacements (hashes of the original bytes go in other fields).
SealedRecord SealRecord(uint64_t seq, std::string_view time, std::string_view type, std::string_view prev,
                        const nlohmann::ordered_json& fields);

// A line read back: the checked hash and the parsed fields.
struct ParsedRecord {
  uint64_t seq = 0;
  std::string time;
  std::string type;
  std::string prev;
  std::string hash;
  nlohmann::json fields;  // the whole body object
};

// Checks the line's shape and that its hash matches its body; an error says what is wrong.
Result<ParsedRecord> ParseRecordLine(std::string_view line);

// "2026-11-30T06:22:48.123Z" (UTC, milliseconds).
std::string FormatTime(int64_t unix_ms);
// The inverse of FormatTime (the exact shape it writes); an error otherwise.
Result<int64_t> ParseTime(std::string_view text);

}  // namespace enclave::audit
