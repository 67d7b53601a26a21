// Who may call which route (docs/security.md, "Authorisation"): the client address rules, the API
// key or client certificate, and the role's permissions. Deny by default: a route missing from
// the table below is refused for every role.
//
//   route                                  permission     roles
//   GET /health, /ready                    public         anyone (they reveal nothing)
//   GET /metrics                           metrics        metrics, admin
//   GET /v1/models[/ID]                    models         user, admin
//   POST /v1/chat/completions, /v1/completions  inference  user
//   GET /admin/keys                        keys           admin
//   GET /admin/model                       model admin    admin
//   GET /admin/audit, /admin/audit/verify  audit read     auditor, admin
//
// Without a key database (auth.keys_db empty) every route is open, which `enclave serve` allows
// only on a loopback address unless --insecure is given (or mutual TLS is required).
//
// Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "governance/keys/key_store.h"
#include "governance/netrules/ip_rules.h"
#include "server/http_server.h"
#include "server/openai_request.h"

namespace enclave::server {

enum class Permission { kPublic, kModels, kInference, kMetrics, kKeysRead, kModelAdmin, kAuditRead };

// The permission `path` needs, or nullopt for a route the server does not have.
std::optional<Permission> RoutePermission(std::string_view path);
bool RoleAllows(governance::keys::Role role, Permission permission);

// The caller of one request, as the audit log records it.
struct Principal {
  bool authenticated = false;  // by a key or a client certificate bound to one
  std::string key_id;          // "" when not authenticated
  std::string key_name;        // the key's name; without keys, a client certificate's subject
  std::string role;            // "admin", ...; "" when not authenticated
  std::string client_ip;       // after the trusted-proxy rules
  std::string key_state;       // why authentication failed: "missing", "unknown", "revoked", "expired"
  governance::keys::KeyRecord key;
};

struct AccessOptions {
  governance::keys::KeyStore* keys = nullptr;  // null: no authentication (open)
  governance::netrules::IpRangeList allow_ips;        // empty: any address
  governance::netrules::IpRangeList trusted_proxies;
  std::function<int64_t()> now_s;  // Unix seconds; the system clock when empty
};

class AccessControl {
 public:
  explicit AccessControl(AccessOptions options);

  bool auth_enabled() const { return options_.keys != nullptr; }

  // Decides whether `req` may proceed. Fills *who as far as it got (for the audit record) and
  // returns the error to send when it may not: 400 (unreadable X-Forwarded-For), 403 (address
  // not allowed, role lacks the permission), 401 (no or bad credentials, WWW-Authenticate set by
  // the caller), 404 (no such route, after authentication), 500 (key database failure: fail
  // closed).
  std::optional<ApiError> Check(const HttpRequest& req, Principal* who) const;

 private:
  AccessOptions options_;
};

}  // namespace enclave::server
