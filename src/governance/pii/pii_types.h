// What a PII detector reports: the kind of value and where it lies. Findings never carry the
// value itself, so they may be logged and counted freely.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace enclave::governance::pii {

// Built-in detector types, in priority order: when two detectors find a value of the same length
// at the same start, the earlier type names it (an 18-digit number that is a valid ID and also
// Luhn-valid is reported as ID_CARD). kCustom is a configured regex detector.
enum class PiiType : uint8_t {
  kResidentId,
  kUscc,
  kBankCard,
  kMobile,
  kLandline,
  kPassport,
  kEmail,
  kIpv6,
  kIpv4,
  kCustom,
};
inline constexpr int kBuiltinTypeCount = 9;
inline constexpr uint32_t kAllBuiltinTypes = (1u << kBuiltinTypeCount) - 1;

// "ID_CARD", "USCC", "BANK_CARD", "MOBILE", "LANDLINE", "PASSPORT", "EMAIL", "IPV6", "IPV4", "CUSTOM".
std::string_view PiiTypeName(PiiType type);
// A built-in type from its name (case-insensitive); nullopt for unknown names and for CUSTOM.
std::optional<PiiType> BuiltinTypeFromName(std::string_view name);
// "ID_CARD, USCC, ..." for error messages and --help.
std::string BuiltinTypeList();

// [start, end) in bytes of the scanned text. For kCustom, `custom` indexes the detector's regexes.
struct Finding {
  PiiType type = PiiType::kCustom;
  uint16_t custom = 0;
  size_t start = 0;
  size_t end = 0;

  bool operator==(const Finding&) const = default;
};

// "ID_CARD@3..21, EMAIL@40..58": safe to log (no values).
std::string DescribeFindings(const std::vector<Finding>& findings);

}  // namespace enclave::governance::pii
