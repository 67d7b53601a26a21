#include "governance/pii/check_digits.h"

#include <array>

namespace enclave::governance::pii {
namespace {

bool AllDigits(std::string_view s) {
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

int Number(std::string_view digits) {  // callers pass at most 4 ASCII digits
  int v = 0;
  for (char c : digits) v = v * 10 + (c - '0');
  return v;
}

constexpr std::string_view kUsccAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY";

}  // namespace

char ResidentIdCheckChar(std::string_view first17) {
  if (first17.size() != 17 || !AllDigits(first17)) return '\0';
  // Weight of position i (1-based from the left) is 2^(18-i) mod 11.
  static constexpr std::array<int, 17> kWeights = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
  int sum = 0;
  for (size_t i = 0; i < 17; ++i) sum += (first17[i] - '0') * kWeights[i];
  return "10X98765432"[sum % 11];
}

bool IsProvinceCode(std::string_view two_digits) {
  if (two_digits.size() != 2 || !AllDigits(two_digits)) return false;
  const int p = Number(two_digits);
  return (p >= 11 && p <= 15) || (p >= 21 && p <= 23) || (p >= 31 && p <= 37) || (p >= 41 && p <= 46) ||
         (p >= 50 && p <= 54) || (p >= 61 && p <= 65) || p == 71 || (p >= 81 && p <= 83);
}

bool IsValidDate(int year, int month, int day) {
  if (year < 1900 || year > 2099 || month < 1 || month > 12 || day < 1) return false;
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  const int max_day = kDays[month - 1] + (month == 2 && leap ? 1 : 0);
  return day <= max_day;
}

bool IsValidResidentId18(std::string_view id) {
  if (id.size() != 18 || !AllDigits(id.substr(0, 17))) return false;
  if (!IsProvinceCode(id.substr(0, 2))) return false;
  if (!IsValidDate(Number(id.substr(6, 4)), Number(id.substr(10, 2)), Number(id.substr(12, 2)))) return false;
  char last = id[17];
  if (last == 'x') last = 'X';
  return last == ResidentIdCheckChar(id.substr(0, 17));
}

bool IsValidResidentId15(std::string_view id) {
  if (id.size() != 15 || !AllDigits(id) || !IsProvinceCode(id.substr(0, 2))) return false;
  return IsValidDate(1900 + Number(id.substr(6, 2)), Number(id.substr(8, 2)), Number(id.substr(10, 2)));
}

char LuhnCheckDigit(std::string_view payload) {
  if (!AllDigits(payload)) return '\0';
  // Doubling starts at the rightmost payload digit (it sits next to the check digit).
  int sum = 0;
  bool doubled = true;
  for (size_t i = payload.size(); i-- > 0;) {
    int d = payload[i] - '0';
    if (doubled) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    doubled = !doubled;
  }
  return static_cast<char>('0' + (10 - sum % 10) % 10);
}

bool IsLuhnValid(std::string_view digits) {
  if (digits.size() < 2 || !AllDigits(digits)) return false;
  return LuhnCheckDigit(digits.substr(0, digits.size() - 1)) == digits.back();
}

int UsccCharValue(char c) {
  const size_t i = kUsccAlphabet.find(c);
  return i == std::string_view::npos ? -1 : static_cast<int>(i);
}

char UsccCheckChar(std::string_view first17) {
  if (first17.size() != 17) return '\0';
  int sum = 0, weight = 1;  // weight of position i (0-based) is 3^i mod 31
  for (char c : first17) {
    const int v = UsccCharValue(c);
    if (v < 0) return '\0';
    sum += v * weight;
    weight = weight * 3 % 31;
  }
  return kUsccAlphabet[(31 - sum % 31) % 31];
}

bool IsValidUscc(std::string_view code) {
  if (code.size() != 18 || !AllDigits(code.substr(2, 6))) return false;
  const char check = UsccCheckChar(code.substr(0, 17));
  return check != '\0' && check == code[17];
}

}  // namespace enclave::governance::pii
