#include "server/access_control.h"

#include <cstdio>
#include <ctime>

#include <fmt/format.h>

namespace enclave::server {

using governance::keys::AuthResult;
using governance::keys::KeyState;
using governance::keys::Role;

std::optional<Permission> RoutePermission(std::string_view path) {
  if (path == "/health" || path == "/ready") return Permission::kPublic;
  if (path == "/metrics") return Permission::kMetrics;
  if (path == "/v1/models" || path.starts_with("/v1/models/")) return Permission::kModels;
  if (path == "/v1/chat/completions" || path == "/v1/completions") return Permission::kInference;
  if (path == "/admin/keys") return Permission::kKeysRead;
  if (path == "/admin/model") return Permission::kModelAdmin;
  if (path == "/admin/audit" || path == "/admin/audit/verify") return Permission::kAuditRead;
  return std::nullopt;
}

bool RoleAllows(Role role, Permission permission) {
  switch (permission) {
    case Permission::kPublic: return true;
    case Permission::kModels: return role == Role::kUser || role == Role::kAdmin;
    case Permission::kInference: return role == Role::kUser;
    case Permission::kMetrics: return role == Role::kMetrics || role == Role::kAdmin;
    case Permission::kKeysRead:
    case Permission::kModelAdmin: return role == Role::kAdmin;
    case Permission::kAuditRead: return role == Role::kAuditor || role == Role::kAdmin;
  }
  return false;
}

namespace {

ApiError Error(int status, std::string type, std::string code, std::string message) {
  ApiError e;
  e.status = status;
  e.type = std::move(type);
  e.code = std::move(code);
  e.message = std::move(message);
  return e;
}

// Every X-Forwarded-For header, in order (a proxy may add its own header instead of appending).
std::vector<std::string> ForwardedFor(const HttpRequest& req) {
  std::vector<std::string> values;
  for (const auto& [name, value] : req.headers) {
    if (name == "x-forwarded-for") values.push_back(value);
  }
  return values;
}

// "Bearer <secret>" (scheme case-insensitive, RFC 7235); "" when absent or another scheme.
std::string BearerSecret(const HttpRequest& req, bool* present) {
  const std::string h = req.Header("authorization");
  *present = !h.empty();
  if (h.size() < 7) return "";
  std::string scheme = h.substr(0, 7);
  for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (scheme != "bearer ") return "";
  size_t start = 7;
  while (start < h.size() && h[start] == ' ') ++start;
  return h.substr(start);
}

}  // namespace

AccessControl::AccessControl(AccessOptions options) : options_(std::move(options)) {}

std::optional<ApiError> AccessControl::Check(const HttpRequest& req, Principal* who) const {
  const std::optional<Permission> permission = RoutePermission(req.path);
  // Probes answer everyone: orchestrators probe from addresses no allow-list names, and the
  // answers carry nothing but up/ready.
  if (permission == Permission::kPublic) {
    who->client_ip = req.remote_address;
    return std::nullopt;
  }
  auto client = governance::netrules::ResolveClientIp(req.remote_address, ForwardedFor(req), options_.trusted_proxies);
  if (!client.ok()) {
    who->client_ip = req.remote_address;
    return Error(400, "invalid_request_error", "invalid_forwarded_for",
                 "X-Forwarded-For from a trusted proxy is malformed: " + client.status().message());
  }
  who->client_ip = client->ToString();
  if (!options_.allow_ips.empty() && !options_.allow_ips.Contains(*client)) {
    return Error(403, "permission_error", "address_not_allowed",
                 fmt::format("requests from {} are not allowed (auth.allow_ips)", who->client_ip));
  }
  if (options_.keys == nullptr) {
    // Open server; a verified client certificate still names the caller in the audit log.
    who->key_name = req.client_cert_subject;
    if (!permission) return Error(404, "invalid_request_error", "", fmt::format("no route {} {}; see docs/api.md", req.method, req.path));
    // Without keys there are no roles: the administrative routes (keys, model, audit records)
    // answer only on the server host itself.
    const bool admin = *permission == Permission::kKeysRead || *permission == Permission::kModelAdmin ||
                       *permission == Permission::kAuditRead;
    static const governance::netrules::IpAddress kV6Loopback = *governance::netrules::ParseIp("::1");
    const bool loopback = (client->is_v4() && client->bytes[12] == 127) || *client == kV6Loopback;
    if (admin && !loopback) {
      return Error(403, "permission_error", "insufficient_role",
                   "administrative routes need an admin or auditor key (auth.keys_db), or a client on the server host");
    }
    return std::nullopt;
  }
  const int64_t now = options_.now_s ? options_.now_s() : static_cast<int64_t>(std::time(nullptr));
  bool header_present = false;
  const std::string secret = BearerSecret(req, &header_present);
  Result<AuthResult> auth = AuthResult{};
  if (header_present) {
    if (secret.empty()) {
      who->key_state = "unknown";
      return Error(401, "authentication_error", "invalid_api_key",
                   "the Authorization header must be 'Bearer <API key>'");
    }
    auth = options_.keys->Authenticate(secret, now);
  } else if (!req.client_cert_sha256.empty()) {
    auth = options_.keys->AuthenticateCertificate(req.client_cert_sha256, now);
  } else {
    who->key_state = "missing";
    return Error(401, "authentication_error", "missing_api_key",
                 "this server needs an API key: send 'Authorization: Bearer <key>' (ask an administrator for one)");
  }
  if (!auth.ok()) {
    // The key database failed: nobody is let in on a guess.
    std::fprintf(stderr, "error: key database: %s\n", auth.status().message().c_str());
    return Error(500, "server_error", "", "cannot check the API key right now; try again later");
  }
  who->key_state = governance::keys::KeyStateName(auth->state);
  if (auth->state != KeyState::kUnknown) {
    who->key_id = auth->record.id;
    who->key_name = auth->record.name;
    who->role = governance::keys::RoleName(auth->record.role);
  }
  switch (auth->state) {
    case KeyState::kValid: break;
    case KeyState::kUnknown:
      return Error(401, "authentication_error", "invalid_api_key",
                   header_present ? "the API key is not valid" : "the client certificate is not bound to an API key");
    case KeyState::kRevoked:
      return Error(401, "authentication_error", "invalid_api_key", "the API key was revoked; ask an administrator for a new one");
    case KeyState::kExpired:
      return Error(401, "authentication_error", "invalid_api_key", "the API key has expired; ask an administrator to rotate or replace it");
  }
  who->authenticated = true;
  who->key = auth->record;
  if (!permission) return Error(404, "invalid_request_error", "", fmt::format("no route {} {}; see docs/api.md", req.method, req.path));
  if (!RoleAllows(auth->record.role, *permission)) {
    return Error(403, "permission_error", "insufficient_role",
                 fmt::format("the role '{}' may not use {}", who->role, req.path));
  }
  return std::nullopt;
}

}  // namespace enclave::server
