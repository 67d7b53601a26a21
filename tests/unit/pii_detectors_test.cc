// Built-in and regex detectors: values in the formats people write them are found, and near
// misses (wrong check digit, impossible date, longer digit runs, octet 256) are not.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "governance/pii/builtin_detectors.h"
#include "governance/pii/check_digits.h"
#include "governance/pii/detectors.h"

namespace enclave::governance::pii {
namespace {

std::unique_ptr<PiiDetector> MakeDetector(DetectorConfig config = {}) {
  auto d = PiiDetector::Create(std::move(config));
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  return d.ok() ? std::move(d).value() : nullptr;
}

// "TYPE:value" for every finding.
std::vector<std::string> Found(std::string_view text, const PiiDetector& d) {
  auto findings = d.Scan(text);
  EXPECT_TRUE(findings.ok()) << findings.status().ToString();
  std::vector<std::string> out;
  if (!findings.ok()) return out;
  for (const Finding& f : *findings) {
    out.push_back(std::string(d.TypeName(f)) + ":" + std::string(text.substr(f.start, f.end - f.start)));
  }
  return out;
}

std::vector<std::string> Found(std::string_view text) {
  static const auto d = MakeDetector();
  return Found(text, *d);
}

using V = std::vector<std::string>;

TEST(PiiDetectors, ResidentIds) {
  EXPECT_EQ(Found("身份证号：110101199003074514。"), V{"ID_CARD:110101199003074514"});
  EXPECT_EQ(Found("id 44030419851231002X, id 44030419851231002x"),
            (V{"ID_CARD:44030419851231002X", "ID_CARD:44030419851231002x"}));
  EXPECT_EQ(Found("legacy 110101900307451"), V{"ID_CARD:110101900307451"});
  EXPECT_EQ(Found("110105200002291235"), V{"ID_CARD:110105200002291235"});
}

TEST(PiiDetectors, ResidentIdNearMisses) {
  auto no_id = [](std::string_view text) {
    for (const std::string& f : Found(text)) EXPECT_NE(f.substr(0, 8), "ID_CARD:") << text;
  };
  no_id("110101199003074515");     // wrong check digit
  no_id("11101011990030745141");   // an 18-digit ID inside a 20-digit number
  no_id("9110101199003074514");    // ... and inside a 19-digit one
  no_id("A110101199003074514");    // glued to a letter
  no_id("110101199003074514B");
  no_id("990101199003074514");     // no province 99
  no_id("110101900230451");        // 15-digit with 30 February
  std::string feb30 = "11010119900230451";
  feb30 += ResidentIdCheckChar(feb30);
  no_id(feb30);
}

TEST(PiiDetectors, BankCards) {
  EXPECT_EQ(Found("卡号6222021234567890128"), V{"BANK_CARD:6222021234567890128"});
  EXPECT_EQ(Found("card 6228 4800 1234 5671."), V{"BANK_CARD:6228 4800 1234 5671"});
  EXPECT_EQ(Found("4111-1111-1111-1111"), V{"BANK_CARD:4111-1111-1111-1111"});
  EXPECT_EQ(Found("6222 0212 3456 7890 128"), V{"BANK_CARD:6222 0212 3456 7890 128"});
  EXPECT_EQ(Found("6222021234567890127"), V{});   // Luhn fails
  EXPECT_EQ(Found("62220212345678901280"), V{});  // 20 digits
  EXPECT_EQ(Found("6228 4800-1234 5671"), V{});   // mixed separators
  EXPECT_EQ(Found("0111111111111111"), V{});      // starts with 0
  EXPECT_EQ(Found("4111 1111 1111 1111 1111 1111"), V{});  // no card inside a longer chain of groups
  EXPECT_EQ(Found("paid 100 6228 4800 1234 5671"), V{"BANK_CARD:6228 4800 1234 5671"});
  EXPECT_EQ(Found("1234 6228 4800 1234 5671"), V{});
}

TEST(PiiDetectors, MobileNumbers) {
  EXPECT_EQ(Found("电话13800138000"), V{"MOBILE:13800138000"});
  EXPECT_EQ(Found("+86 138 0013 8000"), V{"MOBILE:+86 138 0013 8000"});
  EXPECT_EQ(Found("+86-13800138000"), V{"MOBILE:+86-13800138000"});
  EXPECT_EQ(Found("0086 13800138000"), V{"MOBILE:0086 13800138000"});
  EXPECT_EQ(Found("8613800138000"), V{"MOBILE:8613800138000"});
  EXPECT_EQ(Found("138-0013-8000"), V{"MOBILE:138-0013-8000"});
  EXPECT_EQ(Found("12800138000"), V{});   // no mobile prefix 12x
  EXPECT_EQ(Found("138001380001"), V{});  // 12 digits
  EXPECT_EQ(Found("1380013800"), V{});    // 10 digits
  EXPECT_EQ(Found("138 0013-8000"), V{});
  EXPECT_EQ(Found("tel13800138000"), V{});  // glued to letters: documented as not detected
}

TEST(PiiDetectors, Landlines) {
  EXPECT_EQ(Found("010-62345678"), V{"LANDLINE:010-62345678"});
  EXPECT_EQ(Found("(0755) 2345678"), V{"LANDLINE:(0755) 2345678"});
  EXPECT_EQ(Found("(010)62345678"), V{"LANDLINE:(010)62345678"});
  EXPECT_EQ(Found("021 62345678"), V{"LANDLINE:021 62345678"});
  EXPECT_EQ(Found("01062345678"), V{"LANDLINE:01062345678"});
  EXPECT_EQ(Found("+86 10 62345678"), V{"LANDLINE:+86 10 62345678"});
  EXPECT_EQ(Found("0086-21-62345678"), V{"LANDLINE:0086-21-62345678"});
  EXPECT_EQ(Found("010-12345678"), V{});   // local numbers do not start with 1
  EXPECT_EQ(Found("010-623456789"), V{});  // 9-digit local number
  EXPECT_EQ(Found("011-62345678"), V{});   // no area code 011
}

TEST(PiiDetectors, Passports) {
  EXPECT_EQ(Found("护照E12345678"), V{"PASSPORT:E12345678"});
  EXPECT_EQ(Found("EA1234567 G12345678 P1234567 D1234567 S1234567"),
            (V{"PASSPORT:EA1234567", "PASSPORT:G12345678", "PASSPORT:P1234567", "PASSPORT:D1234567",
               "PASSPORT:S1234567"}));
  EXPECT_EQ(Found("E1234567 XE12345678 E123456789 EI1234567 e12345678"), V{});
}

TEST(PiiDetectors, UnifiedSocialCreditCodes) {
  EXPECT_EQ(Found("统一社会信用代码91350100M000100Y43"), V{"USCC:91350100M000100Y43"});
  EXPECT_EQ(Found("91110000600037341L"), V{"USCC:91110000600037341L"});
  EXPECT_EQ(Found("91350100M000100Y44 91350100m000100y43 91350100M000100Y43A"), V{});
}

TEST(PiiDetectors, Emails) {
  EXPECT_EQ(Found("联系 zhang.san@example.com。"), V{"EMAIL:zhang.san@example.com"});
  EXPECT_EQ(Found("<a@b.cn>"), V{"EMAIL:a@b.cn"});
  EXPECT_EQ(Found("mail x+tag@mail.example.co.uk."), V{"EMAIL:x+tag@mail.example.co.uk"});
  EXPECT_EQ(Found("13800138000@qq.com"), V{"EMAIL:13800138000@qq.com"});  // longest wins
  EXPECT_EQ(Found("a..b@x.com .a@x.com foo@localhost foo@x.c @x.com foo@-x.com foo@x-.com"), V{});
  EXPECT_EQ(Found(std::string(65, 'a') + "@example.com"), V{});  // local part over 64 bytes
}

TEST(PiiDetectors, Ipv4) {
  EXPECT_EQ(Found("from 192.168.1.1, and 10.0.0.255."), (V{"IPV4:192.168.1.1", "IPV4:10.0.0.255"}));
  EXPECT_EQ(Found("0.0.0.0:8080"), V{"IPV4:0.0.0.0"});
  EXPECT_EQ(Found("256.1.1.1 1.2.3 1.2.3.4.5 01.2.3.4 v1.2.3.4 1.2.3.4a 1.2.3.256"), V{});
}

TEST(PiiDetectors, Ipv6) {
  EXPECT_EQ(Found("host 2001:db8::1 up"), V{"IPV6:2001:db8::1"});
  EXPECT_EQ(Found("fe80::1%eth0"), V{"IPV6:fe80::1"});
  EXPECT_EQ(Found("::ffff:192.0.2.1"), V{"IPV6:::ffff:192.0.2.1"});
  EXPECT_EQ(Found("2001:0db8:0000:0000:0000:ff00:0042:8329"), V{"IPV6:2001:0db8:0000:0000:0000:ff00:0042:8329"});
  EXPECT_EQ(Found("loopback ::1."), V{"IPV6:::1"});
  EXPECT_EQ(Found("at 12:30 std::string 2001:db8::1::2 :: 1:2:3:4:5:6:7:8:9 00:1a:2b:3c:4d:5e"), V{});
  EXPECT_TRUE(internal::IsIpv6Text("1:2:3:4:5:6:7:8"));
  EXPECT_TRUE(internal::IsIpv6Text("1::"));
  EXPECT_FALSE(internal::IsIpv6Text("1:2:3:4:5:6:7:8::"));
  EXPECT_FALSE(internal::IsIpv6Text("::ffff:1.2.3.256"));
  EXPECT_FALSE(internal::IsIpv6Text("12345::1"));
}

TEST(PiiDetectors, FindingsAreSortedAndDisjoint) {
  const std::string text =
      "ID 110101199003074514 tel +86 138 0013 8000 mail a@b.cn card 4111111111111111 ip ::1 and 1.2.3.4";
  auto findings = MakeDetector()->Scan(text);
  ASSERT_TRUE(findings.ok());
  ASSERT_EQ(findings->size(), 6u);
  for (size_t i = 1; i < findings->size(); ++i) EXPECT_LE((*findings)[i - 1].end, (*findings)[i].start);
}

TEST(PiiDetectors, TypeSelection) {
  auto bits = ParseTypeList("email, ipv4");
  ASSERT_TRUE(bits.ok());
  DetectorConfig config;
  config.builtin_types = *bits;
  auto d = MakeDetector(config);
  EXPECT_EQ(Found("13800138000 a@b.cn 1.2.3.4", *d), (V{"EMAIL:a@b.cn", "IPV4:1.2.3.4"}));
  auto bad = ParseTypeList("email,phone");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("unknown PII type 'phone'"), std::string::npos);
}

TEST(PiiDetectors, RegexDetectors) {
  DetectorConfig config;
  config.builtin_types = 0;
  config.regexes = {{"employee_id", "EMP-[0-9]{6}"}, {"Project", "(?<![A-Z])PRJ[A-Z]{3}\\b"}};
  auto d = MakeDetector(config);
  EXPECT_EQ(Found("EMP-123456, EMP-12345 and PRJABC, XPRJABC PRJABCD", *d),
            (V{"EMPLOYEE_ID:EMP-123456", "PROJECT:PRJABC"}));
}

TEST(PiiDetectors, RegexErrorsAreActionable) {
  DetectorConfig config;
  config.regexes = {{"broken", "EMP-[0-9"}};
  auto d = PiiDetector::Create(config);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(d.status().message().find("'broken': pattern does not compile at byte 8"), std::string::npos)
      << d.status().message();

  config.regexes = {{"email", "x"}};
  EXPECT_FALSE(PiiDetector::Create(config).ok());  // a built-in name
  config.regexes = {{"9lives", "x"}};
  EXPECT_FALSE(PiiDetector::Create(config).ok());
  config.regexes = {{"a", "x"}, {"A", "y"}};
  EXPECT_FALSE(PiiDetector::Create(config).ok());  // names are case-insensitive
  EXPECT_FALSE(ParseRegexSpec("NOEQUALS").ok());
  auto spec = ParseRegexSpec("K=a=b");
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ(spec->pattern, "a=b");
}

TEST(PiiDetectors, RegexMatchLimitFailsClosed) {
  DetectorConfig config;
  config.builtin_types = 0;
  config.regexes = {{"slow", "(a+)+b"}};
  auto d = MakeDetector(config);
  auto r = d->Scan(std::string(40, 'a') + "cb");
  ASSERT_FALSE(r.ok());  // catastrophic backtracking ends in an error, not a silent miss
  EXPECT_NE(r.status().message().find("'SLOW'"), std::string::npos);
}

}  // namespace
}  // namespace enclave::governance::pii
