// Check-digit algorithms: known-answer vectors, and property tests on random valid numbers (every
// generated value is accepted; every single-character change is rejected).
#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <sstream>
#include <string>

#include "governance/pii/check_digits.h"
#include "test_util.h"

namespace enclave::governance::pii {
namespace {

TEST(PiiCheckDigits, ResidentIdKnownAnswers) {
  // Check characters computed independently (Python) from GB 11643's weights 2^(17-i) mod 11.
  EXPECT_EQ(ResidentIdCheckChar("11010119900307451"), '4');
  EXPECT_EQ(ResidentIdCheckChar("44030419851231002"), 'X');
  EXPECT_EQ(ResidentIdCheckChar("11010520000229123"), '5');
  EXPECT_TRUE(IsValidResidentId18("110101199003074514"));
  EXPECT_TRUE(IsValidResidentId18("44030419851231002X"));
  EXPECT_TRUE(IsValidResidentId18("44030419851231002x"));
  EXPECT_TRUE(IsValidResidentId18("110105200002291235"));   // 29 Feb 2000 (a leap year)
  EXPECT_FALSE(IsValidResidentId18("110101199003074515"));  // wrong check digit
  EXPECT_FALSE(IsValidResidentId18("11010119900307451"));   // 17 characters
  EXPECT_FALSE(IsValidResidentId18("99010119900307451" "4"));  // no province 99
  EXPECT_EQ(ResidentIdCheckChar("1101011990030745a"), '\0');
}

TEST(PiiCheckDigits, DatesInIdsMustExist) {
  for (const char* first17 : {"11010119900230451", "11010119001301451", "11010119000229123",
                              "11010118991231123", "11010120001100123"}) {
    std::string id = first17;
    id += ResidentIdCheckChar(id);
    EXPECT_FALSE(IsValidResidentId18(id)) << id;  // Feb 30, month 13, 1900 not leap, 1899, day 00
  }
  EXPECT_TRUE(IsValidResidentId15("110101900307451"));   // 1990-03-07
  EXPECT_FALSE(IsValidResidentId15("110101900230451"));  // 1990-02-30
  EXPECT_FALSE(IsValidResidentId15("11010190030745"));
  EXPECT_TRUE(IsValidDate(2024, 2, 29));
  EXPECT_FALSE(IsValidDate(2023, 2, 29));
  EXPECT_FALSE(IsValidDate(2100, 1, 1));
}

TEST(PiiCheckDigits, LuhnKnownAnswers) {
  EXPECT_TRUE(IsLuhnValid("4111111111111111"));
  EXPECT_TRUE(IsLuhnValid("6222021234567890128"));
  EXPECT_TRUE(IsLuhnValid("6228480012345671"));
  EXPECT_FALSE(IsLuhnValid("4111111111111112"));
  EXPECT_FALSE(IsLuhnValid("41111111x1111111"));
  EXPECT_EQ(LuhnCheckDigit("622202123456789012"), '8');
}

TEST(PiiCheckDigits, UsccKnownAnswers) {
  EXPECT_TRUE(IsValidUscc("91350100M000100Y43"));
  EXPECT_TRUE(IsValidUscc("91110000600037341L"));
  EXPECT_FALSE(IsValidUscc("91350100M000100Y44"));
  EXPECT_FALSE(IsValidUscc("91350100M000I00Y43"));  // I is not in the alphabet
  EXPECT_FALSE(IsValidUscc("9135A100M000100Y43"));  // region code must be digits
  EXPECT_EQ(UsccCharValue('Y'), 30);
  EXPECT_EQ(UsccCharValue('O'), -1);
}

// Verdicts of an independent implementation (python-stdnum; tests/fixtures/pii/README.md).
TEST(PiiCheckDigits, AgreesWithPythonStdnum) {
  const std::string path = enclave::testing::SourcePath("tests/fixtures/pii/check_digits.tsv");
  std::istringstream in(enclave::testing::ReadTextFile(path));
  std::string line;
  int rows = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string kind, value, valid;
    ASSERT_TRUE(std::getline(fields, kind, '\t') && std::getline(fields, value, '\t') && std::getline(fields, valid))
        << line;
    ASSERT_TRUE(kind == "ric" || kind == "uscc" || kind == "luhn") << line;
    const bool got = kind == "ric" ? IsValidResidentId18(value) : kind == "uscc" ? IsValidUscc(value)
                                                                                 : IsLuhnValid(value);
    EXPECT_EQ(got, valid == "1") << kind << " " << value
                                 << " (regenerate: .venv/bin/python scripts/ref/make_pii_fixtures.py)";
    ++rows;
  }
  EXPECT_GE(rows, 900) << "missing or truncated " << path;
}

std::string RandomDigits(std::mt19937& rng, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += static_cast<char>('0' + rng() % 10);
  return s;
}

std::string RandomResidentId(std::mt19937& rng) {
  static const char* kProvinces[] = {"11", "31", "44", "65", "71", "81"};
  for (;;) {
    const int year = 1900 + static_cast<int>(rng() % 200), month = 1 + rng() % 12, day = 1 + rng() % 31;
    if (!IsValidDate(year, month, day)) continue;
    char date[16];
    std::snprintf(date, sizeof date, "%04d%02d%02d", year, month, day);
    std::string id = std::string(kProvinces[rng() % 6]) + RandomDigits(rng, 4) + date + RandomDigits(rng, 3);
    id += ResidentIdCheckChar(id);
    return id;
  }
}

// Every other character of `alphabet` at every position must make `valid` invalid.
template <typename Valid>
void ExpectEverySubstitutionRejected(const std::string& value, std::string_view alphabet, Valid valid) {
  for (size_t i = 0; i < value.size(); ++i) {
    for (char c : alphabet) {
      if (c == value[i]) continue;
      std::string changed = value;
      changed[i] = c;
      ASSERT_FALSE(valid(changed)) << value << " with position " << i << " changed to " << c;
    }
  }
}

TEST(PiiCheckDigits, PropertyRandomResidentIds) {
  std::mt19937 rng(11643);
  for (int n = 0; n < 300; ++n) {
    const std::string id = RandomResidentId(rng);
    ASSERT_TRUE(IsValidResidentId18(id)) << id;
    ExpectEverySubstitutionRejected(id, "0123456789X", [](const std::string& s) { return IsValidResidentId18(s); });
  }
}

TEST(PiiCheckDigits, PropertyRandomLuhn) {
  std::mt19937 rng(7812);
  for (int n = 0; n < 300; ++n) {
    std::string card = RandomDigits(rng, 15 + static_cast<int>(rng() % 4));
    card += LuhnCheckDigit(card);
    ASSERT_TRUE(IsLuhnValid(card)) << card;
    ExpectEverySubstitutionRejected(card, "0123456789", [](const std::string& s) { return IsLuhnValid(s); });
  }
}

TEST(PiiCheckDigits, PropertyRandomUscc) {
  constexpr std::string_view kAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY";
  std::mt19937 rng(32100);
  for (int n = 0; n < 300; ++n) {
    std::string code;
    for (int i = 0; i < 17; ++i) {
      code += (i >= 2 && i < 8) ? static_cast<char>('0' + rng() % 10) : kAlphabet[rng() % kAlphabet.size()];
    }
    code += UsccCheckChar(code);
    ASSERT_TRUE(IsValidUscc(code)) << code;
    ExpectEverySubstitutionRejected(code, kAlphabet, [](const std::string& s) { return IsValidUscc(s); });
  }
}

}  // namespace
}  // namespace enclave::governance::pii
