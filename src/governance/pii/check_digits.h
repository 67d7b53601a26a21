// Check-digit algorithms and field validators for Chinese identifiers and payment cards. Pure
// functions over ASCII; thread-safe. Each returns false (never aborts) on malformed input.
#pragma once

#include <string_view>

namespace enclave::governance::pii {

// GB 11643-1999 (ISO 7064 MOD 11-2): the 18th character of a resident identity number, computed
// from the first 17 digits: '0'..'9' or 'X'. Returns '\0' when `first17` is not 17 ASCII digits.
char ResidentIdCheckChar(std::string_view first17);

// A plausible mainland administrative-division prefix: the first two digits name a province-level
// division (11-15, 21-23, 31-37, 41-46, 50-54, 61-65, 71, 81-83).
bool IsProvinceCode(std::string_view two_digits);

// A calendar date that exists (leap years included), year 1900..2099.
bool IsValidDate(int year, int month, int day);

// 18-character resident identity number: province code, valid birth date (YYYYMMDD at 7..14) and
// the GB 11643 check character ('X' or 'x' for ten).
bool IsValidResidentId18(std::string_view id);

// 15-digit legacy resident identity number (before 1999): province code and a valid birth date
// 19YYMMDD at 7..12. It has no check digit, so this is all that can be validated.
bool IsValidResidentId15(std::string_view id);

// Luhn (ISO/IEC 7812-1) over ASCII digits: true when the last digit is the check digit of the rest.
bool IsLuhnValid(std::string_view digits);
// The Luhn check digit ('0'..'9') to append to `payload`; '\0' if it is not all ASCII digits.
char LuhnCheckDigit(std::string_view payload);

// GB 32100-2015 Unified Social Credit Code: 18 characters over the 31-character alphabet
// 0-9 A-H J-N P-R T U W-Y (no I, O, S, V, Z), an administrative-division code of six digits at
// positions 3..8, and the check character at 18 (weights 3^i mod 31).
bool IsValidUscc(std::string_view code);
// The check character for the first 17 characters; '\0' if one is outside the alphabet.
char UsccCheckChar(std::string_view first17);
// 0..30 for a character of the USCC alphabet (upper case only), -1 otherwise.
int UsccCharValue(char c);

}  // namespace enclave::governance::pii
