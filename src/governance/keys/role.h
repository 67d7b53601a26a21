// Roles of API keys and what each may do (docs/security.md, "Authorisation"). Deny by default:
// a route the server does not list in its access table is refused for every role.
#pragma once

#include <string_view>

#include "base/status.h"

namespace enclave::governance::keys {

enum class Role { kAdmin, kUser, kAuditor, kMetrics };

// "admin", "user", "auditor", "metrics".
const char* RoleName(Role role);
// The inverse of RoleName; the error lists the roles.
Result<Role> ParseRole(std::string_view name);

}  // namespace enclave::governance::keys
