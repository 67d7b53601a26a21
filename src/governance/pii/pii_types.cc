#include "governance/pii/pii_types.h"

#include <array>

#include <fmt/format.h>

namespace enclave::governance::pii {
namespace {

constexpr std::array<std::string_view, kBuiltinTypeCount + 1> kNames = {
    "ID_CARD", "USCC", "BANK_CARD", "MOBILE", "LANDLINE", "PASSPORT", "EMAIL", "IPV6", "IPV4", "CUSTOM"};

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'a' && x <= 'z') x = static_cast<char>(x - 'a' + 'A');
    if (y >= 'a' && y <= 'z') y = static_cast<char>(y - 'a' + 'A');
    if (x != y) return false;
  }
  return true;
}

}  // namespace

std::string_view PiiTypeName(PiiType type) { return kNames[static_cast<size_t>(type)]; }

std::optional<PiiType> BuiltinTypeFromName(std::string_view name) {
  for (int i = 0; i < kBuiltinTypeCount; ++i) {
    if (EqualsIgnoreCase(name, kNames[i])) return static_cast<PiiType>(i);
  }
  return std::nullopt;
}

std::string BuiltinTypeList() {
  std::string out;
  for (int i = 0; i < kBuiltinTypeCount; ++i) out += fmt::format("{}{}", i ? ", " : "", kNames[i]);
  return out;
}

std::string DescribeFindings(const std::vector<Finding>& findings) {
  std::string out;
  for (const Finding& f : findings) {
    out += fmt::format("{}{}@{}..{}", out.empty() ? "" : ", ", PiiTypeName(f.type), f.start, f.end);
  }
  return out;
}

}  // namespace enclave::governance::pii
