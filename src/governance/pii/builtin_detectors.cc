#include "governance/pii/builtin_detectors.h"

#include <string>

#include "governance/pii/check_digits.h"

namespace enclave::governance::pii::internal {
namespace {

// Digits from p, reading at most max+1 bytes: a run longer than `max` reports max+1 without the
// rest being read (that keeps attempts, and so hold-back, bounded).
size_t DigitRun(const ScanText& t, size_t p, size_t max) {
  size_t n = 0;
  while (n <= max && IsDigit(t.At(p + n))) ++n;
  return n;
}

bool IsSeparator(int c) { return c == ' ' || c == '-'; }

// ---- numbers ---------------------------------------------------------------------------------

size_t MatchResidentId(const ScanText& t, size_t p) {
  const size_t n = DigitRun(t, p, 18);
  size_t len = 0;
  if (n == 17 && (t.At(p + 17) == 'X' || t.At(p + 17) == 'x')) {
    len = 18;
  } else if (n == 18 || n == 15) {
    len = n;
  } else {
    return 0;
  }
  if (IsAlnum(t.At(p + len))) return 0;
  const std::string_view v = t.Slice(p, p + len);
  return (len == 18 ? IsValidResidentId18(v) : IsValidResidentId15(v)) ? len : 0;
}

// The four-digit group before p, joined by `sep`: the card would be the tail of a longer chain of
// groups ("4111 1111 1111 1111 1111 1111" holds no card).
bool ContinuesGroupChain(const ScanText& t, size_t p, int sep) {
  if (t.Back(p, 1) != sep) return false;
  for (size_t k = 2; k <= 5; ++k) {
    if (!IsDigit(t.Back(p, k))) return false;
  }
  return true;
}

// 16-19 digits, first digit not 0, Luhn-valid; contiguous, or in groups of four joined by one
// consistent ' ' or '-' (the last group may be shorter) that do not continue a chain of groups.
size_t MatchBankCard(const ScanText& t, size_t p) {
  if (t.At(p) == '0') return 0;
  const size_t first = DigitRun(t, p, 19);
  if (first >= 16) {
    if (first > 19 || IsAlpha(t.At(p + first))) return 0;
    return IsLuhnValid(t.Slice(p, p + first)) ? first : 0;
  }
  if (first != 4) return 0;
  const int sep = t.At(p + 4);
  if (!IsSeparator(sep) || ContinuesGroupChain(t, p, sep)) return 0;
  std::string digits(t.Slice(p, p + 4));
  size_t q = p + 4;
  while (t.At(q) == sep && IsDigit(t.At(q + 1))) {
    const size_t g = DigitRun(t, q + 1, 4);
    if (g > 4) return 0;
    digits.append(t.Slice(q + 1, q + 1 + g));
    q += 1 + g;
    if (digits.size() > 19) return 0;
    if (g < 4) {
      if (t.At(q) == sep && IsDigit(t.At(q + 1))) return 0;  // a short group is always the last
      break;
    }
  }
  if (digits.size() < 16 || IsAlpha(t.At(q))) return 0;
  return IsLuhnValid(digits) ? q - p : 0;
}

// The 11-digit mobile number "1[3-9]" + 9 digits at q, contiguous or grouped 3-4-4 by one
// consistent ' ' or '-'. Returns its length in bytes or 0.
size_t MobileBody(const ScanText& t, size_t q, bool contiguous_only) {
  const int second = t.At(q + 1);
  if (t.At(q) != '1' || second < '3' || second > '9' || !IsDigit(t.At(q + 2))) return 0;
  const int sep = t.At(q + 3);
  if (IsDigit(sep)) return DigitRun(t, q, 11) == 11 ? 11 : 0;
  if (contiguous_only || !IsSeparator(sep)) return 0;
  if (DigitRun(t, q + 4, 4) != 4 || t.At(q + 8) != sep || DigitRun(t, q + 9, 4) != 4) return 0;
  return 13;
}

// Optional +86 / 0086 (then an optional ' ' or '-') or a glued 86, then the mobile body.
size_t MatchMobile(const ScanText& t, size_t p) {
  const int c = t.At(p);
  size_t q = p;
  bool contiguous_only = false;
  if (c == '+' || c == '0') {
    if (c == '+' && (t.At(p + 1) != '8' || t.At(p + 2) != '6')) return 0;
    if (c == '0' && (t.At(p + 1) != '0' || t.At(p + 2) != '8' || t.At(p + 3) != '6')) return 0;
    q = p + (c == '+' ? 3 : 4);
    if (IsSeparator(t.At(q))) ++q;
  } else if (c == '8') {
    if (t.At(p + 1) != '6') return 0;
    q = p + 2;
    contiguous_only = true;  // "86 138..." is too often a count; only "8613800138000" counts
  } else if (c != '1') {
    return 0;
  }
  const size_t body = MobileBody(t, q, contiguous_only);
  if (body == 0 || IsAlpha(t.At(q + body))) return 0;
  return q + body - p;
}

// Area code after the trunk '0': "10", "2d" or "[3-9]dd".
size_t AreaCode(const ScanText& t, size_t q) {
  const int c = t.At(q);
  if (c == '1') return t.At(q + 1) == '0' ? 2 : 0;
  if (c == '2') return IsDigit(t.At(q + 1)) ? 2 : 0;
  if (c >= '3' && c <= '9') return IsDigit(t.At(q + 1)) && IsDigit(t.At(q + 2)) ? 3 : 0;
  return 0;
}

// Local number: exactly 7 or 8 digits, the first 2-9, not followed by a letter or digit.
size_t LocalNumber(const ScanText& t, size_t q) {
  const int c = t.At(q);
  if (c < '2' || c > '9') return 0;
  const size_t n = DigitRun(t, q, 8);
  if (n < 7 || n > 8 || IsAlpha(t.At(q + n))) return 0;
  return n;
}

// 0AREA[sep]LOCAL, (0AREA)[ ]LOCAL, or +86/0086[sep]AREA sep LOCAL.
size_t MatchLandline(const ScanText& t, size_t p) {
  const int c = t.At(p);
  size_t q = 0;
  if (c == '(') {
    if (t.At(p + 1) != '0') return 0;
    const size_t a = AreaCode(t, p + 2);
    if (a == 0 || t.At(p + 2 + a) != ')') return 0;
    q = p + 3 + a;
    if (t.At(q) == ' ') ++q;
  } else if (c == '+' || (c == '0' && t.At(p + 1) == '0')) {
    if (c == '+' && (t.At(p + 1) != '8' || t.At(p + 2) != '6')) return 0;
    if (c == '0' && (t.At(p + 2) != '8' || t.At(p + 3) != '6')) return 0;
    q = p + (c == '+' ? 3 : 4);
    if (IsSeparator(t.At(q))) ++q;
    const size_t a = AreaCode(t, q);
    if (a == 0 || !IsSeparator(t.At(q + a))) return 0;
    q += a + 1;
  } else if (c == '0') {
    const size_t a = AreaCode(t, p + 1);
    if (a == 0) return 0;
    q = p + 1 + a;
    if (IsSeparator(t.At(q))) ++q;
  } else {
    return 0;
  }
  const size_t n = LocalNumber(t, q);
  return n ? q + n - p : 0;
}

// ---- letters and digits ----------------------------------------------------------------------

// E + 8 digits, E + letter (not I or O) + 7 digits, G + 8 digits, D/S/P + 7 digits.
size_t MatchPassport(const ScanText& t, size_t p) {
  const int c = t.At(p);
  size_t digits_from = p + 1, n_digits = 0;
  if (c == 'E' || c == 'G') {
    const int d = t.At(p + 1);
    if (IsDigit(d)) {
      n_digits = 8;
    } else if (c == 'E' && d >= 'A' && d <= 'Z' && d != 'I' && d != 'O') {
      digits_from = p + 2;
      n_digits = 7;
    } else {
      return 0;
    }
  } else if (c == 'D' || c == 'S' || c == 'P') {
    n_digits = 7;
  } else {
    return 0;
  }
  if (DigitRun(t, digits_from, n_digits) != n_digits) return 0;
  const size_t end = digits_from + n_digits;
  return IsAlpha(t.At(end)) ? 0 : end - p;
}

bool IsUsccChar(int c) { return c > 0 && c < 128 && UsccCharValue(static_cast<char>(c)) >= 0; }

size_t MatchUscc(const ScanText& t, size_t p) {
  size_t n = 0;
  while (n <= 18 && IsUsccChar(t.At(p + n))) ++n;
  if (n != 18 || IsAlnum(t.At(p + 18))) return 0;
  return IsValidUscc(t.Slice(p, p + 18)) ? 18 : 0;
}

// ---- e-mail ----------------------------------------------------------------------------------

bool IsLocalChar(int c) { return IsAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-'; }
bool IsLabelChar(int c) { return IsAlnum(c) || c == '-'; }

// local@domain: local is 1-64 of [A-Za-z0-9._%+-], no leading, trailing or double dot, and starts
// where the previous byte is not a local character; domain is two or more labels of 1-63
// [A-Za-z0-9-] (no leading or trailing '-'), at most 253 bytes, the last label 2+ letters. A
// trailing '.' (end of a sentence) is not part of the address.
size_t MatchEmail(const ScanText& t, size_t p) {
  if (!IsLocalChar(t.At(p)) || IsLocalChar(t.Before(p))) return 0;
  size_t n = 0;
  while (n <= 64 && IsLocalChar(t.At(p + n))) ++n;
  if (n > 64 || t.At(p + n) != '@') return 0;
  const std::string_view local = t.Slice(p, p + n);
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos) return 0;
  const size_t domain_start = p + n + 1;
  size_t q = domain_start;
  int labels = 0;
  bool last_label_ok = false;
  for (;;) {
    size_t len = 0;
    bool letters = true;
    while (len <= 63 && IsLabelChar(t.At(q + len))) {
      letters = letters && IsAlpha(t.At(q + len));
      ++len;
    }
    if (len == 0 || len > 63 || t.At(q) == '-' || t.At(q + len - 1) == '-') return 0;
    ++labels;
    last_label_ok = letters && len >= 2;
    q += len;
    if (q - domain_start > 253) return 0;
    if (t.At(q) == '.' && IsLabelChar(t.At(q + 1))) {
      ++q;
      continue;
    }
    break;
  }
  return labels >= 2 && last_label_ok ? q - p : 0;
}

// ---- IP addresses ----------------------------------------------------------------------------

// A decimal octet: 1-3 digits, at most 255, no leading zero (01 is ambiguous: octal to some parsers).
size_t Octet(const ScanText& t, size_t q) {
  const size_t n = DigitRun(t, q, 3);
  if (n == 0 || n > 3 || (n > 1 && t.At(q) == '0')) return 0;
  int v = 0;
  for (size_t i = 0; i < n; ++i) v = v * 10 + (t.At(q + i) - '0');
  return v <= 255 ? n : 0;
}

// Four octets; not preceded by '.', not followed by a letter, digit or ".digit" (so the
// middle of 1.2.3.4.5 is not an address).
size_t MatchIpv4(const ScanText& t, size_t p) {
  if (t.Before(p) == '.') return 0;
  size_t q = p;
  for (int i = 0; i < 4; ++i) {
    if (i > 0) {
      if (t.At(q) != '.') return 0;
      ++q;
    }
    const size_t n = Octet(t, q);
    if (n == 0) return 0;
    q += n;
  }
  const int c = t.At(q);
  if (IsAlnum(c) || (c == '.' && IsDigit(t.At(q + 1)))) return 0;
  return q - p;
}

bool IsIpv6RunChar(int c) { return IsHex(c) || c == ':' || c == '.'; }

// The maximal run of hex digits, ':' and '.', not preceded by ':' or '.', not followed by a
// letter, one trailing '.' or lone ':' (punctuation) dropped, validated by IsIpv6Text.
size_t MatchIpv6(const ScanText& t, size_t p) {
  const int b = t.Before(p), c = t.At(p);
  if (b == ':' || b == '.') return 0;
  if (!IsHex(c) && !(c == ':' && t.At(p + 1) == ':')) return 0;
  size_t n = 0;
  while (n <= 45 && IsIpv6RunChar(t.At(p + n))) ++n;
  if (n > 45 || IsAlnum(t.At(p + n))) return 0;
  std::string_view run = t.Slice(p, p + n);
  if (run.back() == '.') {
    run.remove_suffix(1);
  } else if (run.back() == ':' && !(run.size() >= 2 && run[run.size() - 2] == ':')) {
    run.remove_suffix(1);
  }
  return IsIpv6Text(run) ? run.size() : 0;
}

// Counts the ':'-separated groups of 1-4 hex digits in `part` (empty: none). False if malformed.
bool CountHexGroups(std::string_view part, int* groups) {
  if (part.empty()) return true;
  size_t start = 0;
  for (;;) {
    const size_t colon = part.find(':', start);
    const std::string_view g = part.substr(start, colon == std::string_view::npos ? part.npos : colon - start);
    if (g.empty() || g.size() > 4) return false;
    for (char ch : g) {
      if (!IsHex(static_cast<uint8_t>(ch))) return false;
    }
    ++*groups;
    if (colon == std::string_view::npos) return true;
    start = colon + 1;
  }
}

}  // namespace

bool IsIpv4Text(std::string_view s) {
  ScanText t(s, /*final=*/true);
  return !s.empty() && IsDigit(t.At(0)) && MatchIpv4(t, 0) == s.size();
}

bool IsIpv6Text(std::string_view s) {
  constexpr auto npos = std::string_view::npos;
  if (s.size() < 2 || s.size() > 45 || s == "::") return false;  // "::" (unspecified) names nobody
  const size_t dc = s.find("::");
  if (dc != npos && s.find("::", dc + 1) != npos) return false;
  int groups = 0;
  std::string_view rest = s;
  if (s.find('.') != npos) {  // IPv4 in the last 32 bits, e.g. ::ffff:192.0.2.1
    const size_t last_colon = s.rfind(':');
    if (last_colon == npos || !IsIpv4Text(s.substr(last_colon + 1))) return false;
    groups += 2;
    rest = s.substr(0, last_colon + 1);
    if (!rest.ends_with("::")) rest.remove_suffix(1);
  }
  const size_t split = rest.find("::");
  if (split == npos) return CountHexGroups(rest, &groups) && groups == 8;
  return CountHexGroups(rest.substr(0, split), &groups) && CountHexGroups(rest.substr(split + 2), &groups) &&
         groups <= 7;
}

bool MayStartBuiltin(const ScanText& t, size_t p) {
  // Every built-in value starts after a byte that is not an ASCII letter or digit, so the inside
  // of a word or number is skipped at the cost of one comparison.
  if (IsAlnum(t.Before(p))) return false;
  const int c = t.At(p);
  return IsAlnum(c) || c == '+' || c == '(' || c == ':' || c == '.' || c == '_' || c == '%' || c == '-';
}

size_t MatchBuiltin(PiiType type, const ScanText& t, size_t p) {
  switch (type) {
    case PiiType::kResidentId: return MatchResidentId(t, p);
    case PiiType::kUscc: return MatchUscc(t, p);
    case PiiType::kBankCard: return MatchBankCard(t, p);
    case PiiType::kMobile: return MatchMobile(t, p);
    case PiiType::kLandline: return MatchLandline(t, p);
    case PiiType::kPassport: return MatchPassport(t, p);
    case PiiType::kEmail: return MatchEmail(t, p);
    case PiiType::kIpv6: return MatchIpv6(t, p);
    case PiiType::kIpv4: return MatchIpv4(t, p);
    case PiiType::kCustom: return 0;
  }
  return 0;
}

}  // namespace enclave::governance::pii::internal
