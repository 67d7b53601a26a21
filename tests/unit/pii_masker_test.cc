// Policies: mask formats per type, placeholders and their restoration (whole and streamed), block.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "governance/pii/detectors.h"
#include "governance/pii/masker.h"
#include "governance/pii/placeholders.h"

namespace enclave::governance::pii {
namespace {

const PiiDetector& Detector() {
  static const auto d = [] {
    DetectorConfig config;
    config.regexes = {{"EMPLOYEE_ID", "EMP-[0-9]{6}"}};
    return std::move(PiiDetector::Create(config)).value();
  }();
  return *d;
}

std::string Masked(std::string_view text) {
  auto r = MaskText(Detector(), PiiPolicy::kMask, text, nullptr);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? r->text : "";
}

TEST(PiiMasker, MaskFormats) {
  EXPECT_EQ(Masked("身份证110101199003074514。"), "身份证110101********4514。");
  EXPECT_EQ(Masked("44030419851231002X"), "440304********002X");
  EXPECT_EQ(Masked("110101900307451"), "110101*****7451");
  EXPECT_EQ(Masked("13800138000"), "138****8000");
  EXPECT_EQ(Masked("+86 138 0013 8000"), "+86 138 **** 8000");
  EXPECT_EQ(Masked("010-62345678"), "010-****5678");
  EXPECT_EQ(Masked("01062345678"), "010****5678");
  EXPECT_EQ(Masked("(0755) 2345678"), "(0755) ***5678");
  EXPECT_EQ(Masked("6222021234567890128"), "622202*********0128");
  EXPECT_EQ(Masked("6228 4800 1234 5671"), "6228 48** **** 5671");
  EXPECT_EQ(Masked("91350100M000100Y43"), "91350100**********");
  EXPECT_EQ(Masked("E12345678"), "E*****678");
  EXPECT_EQ(Masked("mail zhang.san@example.com."), "mail z***@example.com.");
  EXPECT_EQ(Masked("192.168.1.1"), "192.168.*.*");
  EXPECT_EQ(Masked("2001:db8::1 ::1"), "2001:**** ::****");
  EXPECT_EQ(Masked("EMP-123456"), "**********");
  EXPECT_EQ(Masked("no personal data here"), "no personal data here");
}

TEST(PiiMasker, PlaceholdersAreStablePerValueAndRestore) {
  PlaceholderTable table;
  const std::string text = "A 13800138000 B 13800138000 C 13900139000 D 110101199003074514 E EMP-123456";
  auto r = MaskText(Detector(), PiiPolicy::kPlaceholder, text, &table);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->text, "A [MOBILE_1] B [MOBILE_1] C [MOBILE_2] D [ID_CARD_1] E [EMPLOYEE_ID_1]");
  EXPECT_EQ(table.size(), 4u);
  EXPECT_EQ(RestorePlaceholders(r->text, table), text);
  // Unknown or malformed placeholders pass through untouched.
  EXPECT_EQ(RestorePlaceholders("[MOBILE_3] [mobile_1] [MOBILE_1 [] [", table),
            "[MOBILE_3] [mobile_1] [MOBILE_1 [] [");
  EXPECT_EQ(RestorePlaceholders("[[MOBILE_2]]", table), "[13900139000]");
}

TEST(PiiMasker, RestoreAcrossChunkBoundaries) {
  PlaceholderTable table;
  table.Assign("MOBILE", "13800138000");
  table.Assign("ID_CARD", "110101199003074514");
  const std::string output = "Call [MOBILE_1] about [ID_CARD_1][MOBILE_1]; [NOT_A_PLACEHOLDER] [ID_CARD_1";
  const std::string want = RestorePlaceholders(output, table);
  EXPECT_EQ(want, "Call 13800138000 about 11010119900307451413800138000; [NOT_A_PLACEHOLDER] [ID_CARD_1");
  for (size_t a = 0; a <= output.size(); ++a) {
    for (size_t b = a; b <= output.size(); b += 3) {
      PlaceholderRestorer restorer(table);
      std::string got = restorer.Push(output.substr(0, a));
      got += restorer.Push(output.substr(a, b - a));
      got += restorer.Push(output.substr(b));
      got += restorer.Finish();
      ASSERT_EQ(got, want) << "cuts at " << a << " and " << b;
    }
  }
}

TEST(PiiMasker, BlockNamesTypesNotValues) {
  auto r = MaskText(Detector(), PiiPolicy::kBlock, "call 13800138000 or mail a@b.cn", nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  const std::string& msg = r.status().message();
  EXPECT_NE(msg.find("MOBILE at bytes 5..16"), std::string::npos) << msg;
  EXPECT_NE(msg.find("EMAIL at bytes 25..31"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("13800138000"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("a@b.cn"), std::string::npos) << msg;
  auto clean = MaskText(Detector(), PiiPolicy::kBlock, "nothing to see", nullptr);
  ASSERT_TRUE(clean.ok());
  EXPECT_EQ(clean->text, "nothing to see");
}

TEST(PiiMasker, OffAndPolicyNames) {
  auto r = MaskText(Detector(), PiiPolicy::kOff, "13800138000", nullptr);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->text, "13800138000");
  EXPECT_TRUE(r->findings.empty());
  for (const char* name : {"off", "mask", "placeholder", "block"}) {
    auto p = ParsePiiPolicy(name);
    ASSERT_TRUE(p.ok());
    EXPECT_STREQ(PiiPolicyName(*p), name);
  }
  EXPECT_FALSE(ParsePiiPolicy("redact").ok());
  // The placeholder policy without a table is a caller error, not a crash.
  EXPECT_FALSE(MaskText(Detector(), PiiPolicy::kPlaceholder, "13800138000", nullptr).ok());
}

TEST(PiiMasker, DescribeFindingsHasNoValues) {
  auto findings = Detector().Scan("x 13800138000");
  ASSERT_TRUE(findings.ok());
  EXPECT_EQ(DescribeFindings(*findings), "MOBILE@2..13");
}

}  // namespace
}  // namespace enclave::governance::pii
