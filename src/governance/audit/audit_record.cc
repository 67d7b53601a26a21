#include "governance/audit/audit_record.h"

#include <fmt/format.h>

#include <ctime>

#include "base/check.h"
#include "format/json_limits.h"
#include "governance/crypto/digest.h"

namespace enclave::audit {
namespace {

using ojson = nlohmann::ordered_json;

// `,"hash":"` + 64 hex + `"}`
constexpr std::string_view kHashPrefix = ",\"hash\":\"";
constexpr size_t kHashSuffixLen = kHashPrefix.size() + 64 + 2;

bool IsReservedKey(const std::string& k) {
  return k == "seq" || k == "time" || k == "type" || k == "prev" || k == "hash";
}

}  // namespace

ojson RequestFields(const AuditRequest& r, bool store_text) {
  ojson f = ojson::object();
  f["request_id"] = r.request_id;
  f["key_id"] = r.key_id;
  f["key_name"] = r.key_name;
  f["role"] = r.role;
  f["client_ip"] = r.client_ip;
  f["route"] = r.route;
  f["model_id"] = r.model_id;
  f["model_sha256"] = r.model_sha256;
  f["sampling"] = r.sampling.is_object() ? r.sampling : ojson::object();
  f["prompt_tokens"] = r.prompt_tokens;
  f["completion_tokens"] = r.completion_tokens;
  // Whole microseconds: a decimal that prints the same on every platform.
  f["latency_ms"] = static_cast<double>(static_cast<int64_t>(r.latency_ms * 1000.0)) / 1000.0;
  f["status"] = r.status;
  f["actions"] = r.actions;
  f["prompt_sha256"] = crypto::Sha256Hex(r.prompt);
  f["completion_sha256"] = crypto::Sha256Hex(r.completion);
  if (store_text) {
    f["prompt"] = r.prompt;
    f["completion"] = r.completion;
  }
  return f;
}

SealedRecord SealRecord(uint64_t seq, std::string_view time, std::string_view type, std::string_view prev,
                        const ojson& fields) {
  ENCLAVE_CHECK(fields.is_object());
  ojson body = ojson::object();
  body["seq"] = seq;
  body["time"] = std::string(time);
  body["type"] = std::string(type);
  body["prev"] = std::string(prev);
  for (const auto& [k, v] : fields.items()) {
    ENCLAVE_CHECK(!IsReservedKey(k));
    body[k] = v;
  }
  SealedRecord out;
  std::string text = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  out.hash = crypto::Sha256Hex(text);
  text.pop_back();  // the closing '}', put back after the hash member
  out.line = std::move(text);
  out.line += kHashPrefix;
  out.line += out.hash;
  out.line += "\"}";
  return out;
}

Result<ParsedRecord> ParseRecordLine(std::string_view line) {
  if (line.size() < kHashSuffixLen + 2 || line.front() != '{' ||
      line.substr(line.size() - kHashSuffixLen, kHashPrefix.size()) != kHashPrefix ||
      line.substr(line.size() - 2) != "\"}") {
    return CorruptError("not a record line (expected a JSON object ending in ,\"hash\":\"<64 hex>\"})");
  }
  ParsedRecord r;
  r.hash = std::string(line.substr(line.size() - 66, 64));
  if (!crypto::IsSha256Hex(r.hash)) return CorruptError("the hash member is not 64 lowercase hex digits");
  std::string body(line.substr(0, line.size() - kHashSuffixLen));
  body += '}';
  const std::string actual = crypto::Sha256Hex(body);
  if (actual != r.hash) {
    return CorruptError(fmt::format("record hash mismatch: the line says {}, its bytes hash to {}", r.hash, actual));
  }
  // Bounded depth, and a repeated key is an error: a record must not say two things at once.
  Result<nlohmann::json> parsed = ParseJsonLimited(body, "the record body");
  if (!parsed.ok()) return CorruptError(parsed.status().message());
  r.fields = std::move(*parsed);
  if (!r.fields.is_object()) return CorruptError("the record body is not a JSON object");
  const auto& f = r.fields;
  if (!f.contains("seq") || !f["seq"].is_number_unsigned()) return CorruptError("missing or non-integer seq");
  if (!f.contains("time") || !f["time"].is_string()) return CorruptError("missing time");
  if (!f.contains("type") || !f["type"].is_string()) return CorruptError("missing type");
  if (!f.contains("prev") || !f["prev"].is_string() || !crypto::IsSha256Hex(f["prev"].get<std::string>())) {
    return CorruptError("missing prev, or not 64 lowercase hex digits");
  }
  if (f.contains("hash")) return CorruptError("a second hash member inside the body");
  r.seq = f["seq"].get<uint64_t>();
  r.time = f["time"].get<std::string>();
  r.type = f["type"].get<std::string>();
  r.prev = f["prev"].get<std::string>();
  return r;
}

std::string FormatTime(int64_t unix_ms) {
  const time_t secs = static_cast<time_t>(unix_ms >= 0 ? unix_ms / 1000 : (unix_ms - 999) / 1000);
  const int ms = static_cast<int>(unix_ms - static_cast<int64_t>(secs) * 1000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}.{:03d}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

Result<int64_t> ParseTime(std::string_view t) {
  // YYYY-MM-DDTHH:MM:SS.mmmZ
  auto digits = [&](size_t pos, size_t n, int& out) {
    out = 0;
    for (size_t i = pos; i < pos + n; ++i) {
      if (t[i] < '0' || t[i] > '9') return false;
      out = out * 10 + (t[i] - '0');
    }
    return true;
  };
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, ms = 0;
  if (t.size() != 24 || t[4] != '-' || t[7] != '-' || t[10] != 'T' || t[13] != ':' || t[16] != ':' || t[19] != '.' ||
      t[23] != 'Z' || !digits(0, 4, y) || !digits(5, 2, mo) || !digits(8, 2, d) || !digits(11, 2, h) ||
      !digits(14, 2, mi) || !digits(17, 2, s) || !digits(20, 3, ms) || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
      mi > 59 || s > 60) {
    return CorruptError(fmt::format("'{}' is not a time of the form 2026-11-30T06:22:48.123Z", t));
  }
  struct tm tm {};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return static_cast<int64_t>(timegm(&tm)) * 1000 + ms;
}

}  // namespace enclave::audit
