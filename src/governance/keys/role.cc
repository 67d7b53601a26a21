#include "governance/keys/role.h"

#include <fmt/format.h>

namespace enclave::governance::keys {
namespace {

constexpr Role kRoles[] = {Role::kAdmin, Role::kUser, Role::kAuditor, Role::kMetrics};

}  // namespace

const char* RoleName(Role role) {
  switch (role) {
    case Role::kAdmin:
      return "admin";
    case Role::kUser:
      return "user";
    case Role::kAuditor:
      return "auditor";
    case Role::kMetrics:
      return "metrics";
  }
  return "unknown";
}

Result<Role> ParseRole(std::string_view name) {
  for (Role r : kRoles) {
    if (name == RoleName(r)) return r;
  }
  return InvalidArgumentError(fmt::format("unknown role '{}'; the roles are admin, user, auditor and metrics", name));
}

}  // namespace enclave::governance::keys
