#include "governance/pii/masker.h"

#include <fmt/format.h>

#include "governance/pii/builtin_detectors.h"

namespace enclave::governance::pii {
namespace {

using internal::IsAlnum;
using internal::IsDigit;

// Stars every ASCII letter or digit except the first `keep_first` and the last `keep_last` of
// them; separators ('+', ' ', '-', parentheses) stay so the shape of the value stays readable.
std::string StarAlnum(std::string_view value, size_t keep_first, size_t keep_last) {
  size_t total = 0;
  for (char c : value) total += IsAlnum(static_cast<uint8_t>(c)) ? 1 : 0;
  std::string out(value);
  size_t k = 0;
  for (char& c : out) {
    if (!IsAlnum(static_cast<uint8_t>(c))) continue;
    if (k >= keep_first && k + keep_last < total) c = '*';
    ++k;
  }
  return out;
}

size_t CountAlnum(std::string_view value) {
  size_t n = 0;
  for (char c : value) n += IsAlnum(static_cast<uint8_t>(c)) ? 1 : 0;
  return n;
}

// Digits of a landline's local number: the last digit run when the value has separators, else
// what follows the area code (3 bytes for 010 / 02x, 4 for the rest).
size_t LandlineLocalDigits(std::string_view value) {
  size_t run = 0;
  while (run < value.size() && IsDigit(static_cast<uint8_t>(value[value.size() - 1 - run]))) ++run;
  if (run < value.size()) return run;
  const size_t area = value.size() > 1 && (value[1] == '1' || value[1] == '2') ? 3 : 4;
  return value.size() > area ? value.size() - area : value.size();
}

}  // namespace

const char* PiiPolicyName(PiiPolicy policy) {
  switch (policy) {
    case PiiPolicy::kOff: return "off";
    case PiiPolicy::kMask: return "mask";
    case PiiPolicy::kPlaceholder: return "placeholder";
    case PiiPolicy::kBlock: return "block";
  }
  return "?";
}

Result<PiiPolicy> ParsePiiPolicy(std::string_view name) {
  for (PiiPolicy p : {PiiPolicy::kOff, PiiPolicy::kMask, PiiPolicy::kPlaceholder, PiiPolicy::kBlock}) {
    if (name == PiiPolicyName(p)) return p;
  }
  return InvalidArgumentError(fmt::format("unknown PII policy '{}' (use off, mask, placeholder or block)", name));
}

std::string MaskValue(PiiType type, std::string_view value) {
  switch (type) {
    case PiiType::kResidentId:
    case PiiType::kBankCard: return StarAlnum(value, 6, 4);
    case PiiType::kMobile: {  // country prefix and the first three digits of the number stay
      const size_t n = CountAlnum(value);
      return StarAlnum(value, n >= 11 ? n - 11 + 3 : 0, 4);
    }
    case PiiType::kLandline: {  // prefix and area code stay, the local number keeps its last 4
      const size_t n = CountAlnum(value), local = LandlineLocalDigits(value);
      return StarAlnum(value, n >= local ? n - local : 0, 4);
    }
    case PiiType::kUscc: return StarAlnum(value, 8, 0);  // authority, category and region stay
    case PiiType::kPassport: return StarAlnum(value, 1, 3);
    case PiiType::kEmail: {
      const size_t at = value.find('@');
      if (at == std::string_view::npos || at == 0) return std::string(value.size(), '*');
      return fmt::format("{}***{}", value[0], value.substr(at));
    }
    case PiiType::kIpv4: {  // the network half stays: 192.168.*.*
      const size_t second_dot = value.find('.', value.find('.') + 1);
      return fmt::format("{}.*.*", value.substr(0, second_dot));
    }
    case PiiType::kIpv6: {  // the first group stays: 2001:****
      const size_t colon = value.find(':');
      if (colon == 0) return "::****";
      return fmt::format("{}:****", value.substr(0, colon));
    }
    case PiiType::kCustom: break;
  }
  std::string out;  // one star per UTF-8 character (continuation bytes are not counted)
  for (char c : value) {
    if ((static_cast<uint8_t>(c) & 0xC0) != 0x80) out.push_back('*');
  }
  return out;
}

Result<std::string> ApplyPolicy(std::string_view text, const std::vector<Finding>& findings,
                                const PiiDetector& detector, PiiPolicy policy, PlaceholderTable* table,
                                size_t base_offset) {
  if (policy == PiiPolicy::kOff || findings.empty()) return std::string(text);
  if (policy == PiiPolicy::kBlock) {
    std::string where;
    for (const Finding& f : findings) {
      where += fmt::format("{}{} at bytes {}..{}", where.empty() ? "" : ", ", detector.TypeName(f),
                           f.start + base_offset, f.end + base_offset);
    }
    return InvalidArgumentError(fmt::format(
        "the text contains personal data ({}) and the PII policy is 'block'; remove it and retry", where));
  }
  if (policy == PiiPolicy::kPlaceholder && table == nullptr) {
    return InvalidArgumentError("the placeholder PII policy needs a placeholder table for the request");
  }
  std::string out;
  out.reserve(text.size());
  size_t copied = 0;
  for (const Finding& f : findings) {
    if (f.start < copied || f.end > text.size() || f.start >= f.end) {
      return InternalError("PII findings out of order or outside the text");
    }
    out.append(text.substr(copied, f.start - copied));
    const std::string_view value = text.substr(f.start, f.end - f.start);
    if (policy == PiiPolicy::kMask) {
      out += MaskValue(f.type, value);
    } else {
      out += table->Assign(detector.TypeName(f), value);
    }
    copied = f.end;
  }
  out.append(text.substr(copied));
  return out;
}

Result<MaskedText> MaskText(const PiiDetector& detector, PiiPolicy policy, std::string_view text,
                            PlaceholderTable* table) {
  MaskedText out;
  if (policy == PiiPolicy::kOff) {
    out.text = std::string(text);
    return out;
  }
  ASSIGN_OR_RETURN(out.findings, detector.Scan(text));
  ASSIGN_OR_RETURN(out.text, ApplyPolicy(text, out.findings, detector, policy, table));
  return out;
}

}  // namespace enclave::governance::pii
