#include "server/admin_routes.h"

#include <charconv>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "governance/audit/audit_record.h"
#include "governance/audit/log_files.h"
#include "governance/audit/verify.h"
#include "server/openai_request.h"

namespace enclave::server {

using json = nlohmann::ordered_json;
namespace keys = governance::keys;

namespace {

AdminResponse Error(int status, std::string message) {
  ApiError e;
  e.status = status;
  e.message = std::move(message);
  if (status >= 500) e.type = "server_error";
  return {status, e.Body()};
}

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// The value of `name` in the target's query string ("" when absent).
std::string QueryValue(const std::string& target, const std::string& name) {
  const size_t q = target.find('?');
  if (q == std::string::npos) return "";
  size_t start = q + 1;
  while (start <= target.size()) {
    const size_t amp = std::min(target.find('&', start), target.size());
    const std::string pair = target.substr(start, amp - start);
    if (pair.rfind(name + "=", 0) == 0) return pair.substr(name.size() + 1);
    start = amp + 1;
  }
  return "";
}

bool ParseCount(const std::string& text, uint64_t* out) {
  if (text.empty()) return false;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && p == text.data() + text.size();
}

}  // namespace

AdminResponse AdminKeys(keys::KeyStore* store) {
  if (store == nullptr) return Error(404, "this server has no key database (auth.keys_db)");
  auto list = store->List();
  if (!list.ok()) return Error(500, "cannot read the key database: " + list.status().message());
  json data = json::array();
  for (const keys::KeyRecord& k : *list) {
    json limits{{"rpm", k.limits.rpm},
                {"tpm", k.limits.tpm},
                {"daily_tokens", k.limits.daily_tokens},
                {"max_concurrent", k.limits.max_concurrent},
                {"max_tokens", k.limits.max_tokens},
                {"models", k.limits.models}};
    data.push_back(json{{"id", k.id},
                        {"name", k.name},
                        {"role", keys::RoleName(k.role)},
                        {"prefix", k.prefix},
                        {"created", k.created_unix},
                        {"expires", k.expires_unix == 0 ? json(nullptr) : json(k.expires_unix)},
                        {"revoked", k.revoked_unix == 0 ? json(nullptr) : json(k.revoked_unix)},
                        {"client_cert_sha256", k.client_cert_sha256.empty() ? json(nullptr) : json(k.client_cert_sha256)},
                        {"limits", limits},
                        {"pii_policy", k.pii_policy.empty() ? json(nullptr) : json(k.pii_policy)}});
  }
  return {200, Dump(json{{"object", "list"}, {"data", data}})};
}

AdminResponse AdminModel(const ModelFacts& facts) {
  return {200, Dump(json{{"id", facts.id}, {"path", facts.path}, {"sha256", facts.sha256}, {"manifest", facts.manifest}})};
}

AdminResponse AdminAuditRecords(const std::string& audit_path, const HttpRequest& req) {
  if (audit_path.empty()) return Error(404, "this server keeps no audit log (audit.log)");
  uint64_t after = 0, limit = 100;
  const std::string after_text = QueryValue(req.target, "after"), limit_text = QueryValue(req.target, "limit");
  if (!after_text.empty() && !ParseCount(after_text, &after)) return Error(400, "'after' must be a record number");
  if (!limit_text.empty() && (!ParseCount(limit_text, &limit) || limit == 0 || limit > 1000)) {
    return Error(400, "'limit' must be 1..1000");
  }
  auto ends = audit::ReadFileEnds(audit_path);
  if (!ends.ok()) return Error(500, "cannot read the audit log: " + ends.status().message());
  auto bytes = audit::ReadFileRange(audit_path, 0, ends->complete_size);
  if (!bytes.ok()) return Error(500, "cannot read the audit log: " + bytes.status().message());
  json records = json::array();
  uint64_t last = after;
  size_t start = 0;
  while (start < bytes->size() && records.size() < limit) {
    const size_t nl = bytes->find('\n', start);
    if (nl == std::string::npos) break;
    const std::string_view line = std::string_view(*bytes).substr(start, nl - start);
    start = nl + 1;
    auto rec = audit::ParseRecordLine(line);
    if (!rec.ok()) return Error(500, "the audit log holds a bad record (run enclave audit verify): " + rec.status().message());
    if (rec->seq <= after) continue;
    records.push_back(json::parse(line));  // in the record's own key order
    last = rec->seq;
  }
  return {200, Dump(json{{"object", "list"}, {"records", records}, {"last_seq", last}})};
}

AdminResponse AdminAuditVerify(const std::string& audit_path) {
  if (audit_path.empty()) return Error(404, "this server keeps no audit log (audit.log)");
  auto rotated = audit::ListRotatedFiles(audit_path);
  if (!rotated.ok()) return Error(500, "cannot list the audit files: " + rotated.status().message());
  std::vector<std::string> files;
  for (const auto& f : *rotated) files.push_back(f.path);
  files.push_back(audit_path);
  audit::VerifyOptions options;
  const audit::VerifyReport report = audit::VerifyAuditFiles(files, options);
  return {200, Dump(report.ToJson())};
}

}  // namespace enclave::server
