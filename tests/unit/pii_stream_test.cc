// StreamMasker: whatever the chunking, the released text equals masking the whole text at once
// (checked at every split point), the hold-back stays bounded, and errors fail closed.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "governance/pii/builtin_detectors.h"
#include "governance/pii/detectors.h"
#include "governance/pii/masker.h"
#include "governance/pii/stream_masker.h"

namespace enclave::governance::pii {
namespace {

const PiiDetector& Detector() {
  static const auto d = [] {
    DetectorConfig config;
    config.regexes = {{"EMPLOYEE_ID", "EMP-[0-9]{6}"}, {"CASE", "(?<![A-Z])CASE#[0-9]+\\b"}};
    return std::move(PiiDetector::Create(config)).value();
  }();
  return *d;
}

// Texts with every detector, separators, near misses, Chinese text and values at both ends.
const std::vector<std::string>& Corpus() {
  static const std::vector<std::string> texts = {
      "110101199003074514",
      "身份证号：110101199003074514，手机+86 138 0013 8000。",
      "ID 44030419851231002X and 110101199003074515 and 11101011990030745141",
      "card 6228 4800 1234 5671 / 6222021234567890128 / 4111-1111-1111-1111x",
      "tel 010-62345678, (0755) 2345678, +86 10 62345678, 13800138000@qq.com",
      "mail zhang.san@example.com. or x+tag@mail.example.co.uk, bad a..b@x.com",
      "hosts 192.168.1.1, 256.1.1.1, 1.2.3.4.5, 2001:db8::1, fe80::1%eth0, ::ffff:192.0.2.1 ::1.",
      "USCC 91350100M000100Y43; passport E12345678 EA1234567 P1234567",
      "EMP-123456 EMP-1234567 CASE#42 XCASE#43 CASE#44x",
      "8613800138000 0086-21-62345678 138-0013-8000 1380013800",
      "no personal data at all, just words and 12:30 and std::string",
      "13800138000",
  };
  return texts;
}

std::string Whole(std::string_view text, PiiPolicy policy, PlaceholderTable* table) {
  auto r = MaskText(Detector(), policy, text, table);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? r->text : "<error>";
}

// Feeds `chunks` and returns everything released; checks the hold-back bound after each push.
std::string Streamed(const std::vector<std::string_view>& chunks, PiiPolicy policy, PlaceholderTable* table,
                     std::vector<Finding>* findings = nullptr) {
  StreamMasker masker(Detector(), policy, table);
  std::string out;
  for (std::string_view chunk : chunks) {
    auto r = masker.Push(chunk);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return "<error>";
    out += *r;
    EXPECT_LE(masker.held_bytes(), 2 * internal::kMaxAttemptBytes);
  }
  auto r = masker.Finish();
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (findings) *findings = masker.findings();
  return out + (r.ok() ? *r : "<error>");
}

TEST(PiiStream, EverySplitPointEqualsWholeText) {
  for (const std::string& text : Corpus()) {
    const std::string want = Whole(text, PiiPolicy::kMask, nullptr);
    for (size_t cut = 0; cut <= text.size(); ++cut) {
      const std::string_view t(text);
      ASSERT_EQ(Streamed({t.substr(0, cut), t.substr(cut)}, PiiPolicy::kMask, nullptr), want)
          << "text: " << text << "\ncut at byte " << cut;
    }
  }
}

TEST(PiiStream, EveryPairOfSplitPointsEqualsWholeText) {
  for (const std::string& text : Corpus()) {
    if (text.size() > 90) continue;  // quadratic; the long texts are covered by the other tests
    const std::string want = Whole(text, PiiPolicy::kMask, nullptr);
    const std::string_view t(text);
    for (size_t a = 0; a <= text.size(); ++a) {
      for (size_t b = a; b <= text.size(); ++b) {
        ASSERT_EQ(Streamed({t.substr(0, a), t.substr(a, b - a), t.substr(b)}, PiiPolicy::kMask, nullptr), want)
            << "text: " << text << "\ncuts at " << a << ", " << b;
      }
    }
  }
}

TEST(PiiStream, ByteAtATimeAndFindingOffsets) {
  for (const std::string& text : Corpus()) {
    std::vector<std::string_view> bytes;
    for (size_t i = 0; i < text.size(); ++i) bytes.push_back(std::string_view(text).substr(i, 1));
    std::vector<Finding> findings;
    ASSERT_EQ(Streamed(bytes, PiiPolicy::kMask, nullptr, &findings), Whole(text, PiiPolicy::kMask, nullptr))
        << text;
    auto whole = Detector().Scan(text);
    ASSERT_TRUE(whole.ok());
    EXPECT_EQ(findings, *whole) << text;  // offsets are in the whole stream's bytes
  }
}

TEST(PiiStream, PlaceholdersNumberTheSameWay) {
  for (const std::string& text : Corpus()) {
    PlaceholderTable whole_table;
    const std::string want = Whole(text, PiiPolicy::kPlaceholder, &whole_table);
    std::mt19937 rng(static_cast<uint32_t>(text.size()));
    for (int trial = 0; trial < 20; ++trial) {
      std::vector<std::string_view> chunks;
      for (size_t pos = 0; pos < text.size();) {
        const size_t n = std::min<size_t>(text.size() - pos, 1 + rng() % 7);
        chunks.push_back(std::string_view(text).substr(pos, n));
        pos += n;
      }
      PlaceholderTable table;
      const std::string got = Streamed(chunks, PiiPolicy::kPlaceholder, &table);
      ASSERT_EQ(got, want) << text;
      EXPECT_EQ(RestorePlaceholders(got, table), text);
    }
  }
}

TEST(PiiStream, ReleasesWhatIsDecided) {
  StreamMasker masker(Detector(), PiiPolicy::kMask, nullptr);
  auto a = masker.Push("hello world, call 1380013");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, "hello world, call ");  // the digit run could still become a phone number
  auto b = masker.Push("8000 now");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b, "138****8000 ");  // "now" could still be the start of an e-mail address
  auto c = masker.Finish();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c, "now");
  EXPECT_EQ(masker.held_bytes(), 0u);
}

TEST(PiiStream, DoesNotSplitUtf8Characters) {
  StreamMasker masker(Detector(), PiiPolicy::kMask, nullptr);
  const std::string zh = "中文";  // 6 bytes
  auto a = masker.Push(zh.substr(0, 4));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, zh.substr(0, 3));
  auto b = masker.Push(zh.substr(4));
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b, zh.substr(3));
}

TEST(PiiStream, BlockStopsBeforeTheValue) {
  StreamMasker masker(Detector(), PiiPolicy::kBlock, nullptr);
  auto a = masker.Push("fine text, then 1380013");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, "fine text, then ");
  auto b = masker.Push("8000 and more");
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find("MOBILE at bytes 16..27"), std::string::npos) << b.status().message();
  // Fail closed: every later call repeats the error and nothing held back comes out.
  EXPECT_FALSE(masker.Push("x").ok());
  EXPECT_FALSE(masker.Finish().ok());
}

TEST(PiiStream, HoldBackLimitFailsClosed) {
  DetectorConfig config;
  config.builtin_types = 0;
  config.regexes = {{"QUOTED", "\"[^\"]*\""}};
  config.max_holdback_bytes = 2 * internal::kMaxAttemptBytes;
  auto d = PiiDetector::Create(config);
  ASSERT_TRUE(d.ok());
  StreamMasker masker(**d, PiiPolicy::kMask, nullptr);
  auto a = masker.Push("before \"an unclosed quote");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, "before ");
  auto b = masker.Push(std::string(config.max_holdback_bytes, 'x'));
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), StatusCode::kResourceExhausted);
  EXPECT_FALSE(masker.Finish().ok());
}

TEST(PiiStream, OffPassesThrough) {
  StreamMasker masker(Detector(), PiiPolicy::kOff, nullptr);
  auto a = masker.Push("13800138");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, "13800138");
}

// Random texts built from fragments that look like values, cut at random points.
TEST(PiiStream, RandomFragmentsEqualWholeText) {
  const std::vector<std::string> fragments = {
      "1", "13800138000", "110101199003074514", "X", "x", " ", "-", "+86", "0086", "(", ")", "010", "@",
      "a@b.cn", ".", ":", "::", "ffff", "192.168.1.", "255", "EMP-", "123456", "CASE#", "E1234567",
      "中", "\xe4", "6228", "4800", "91350100M000100Y43", "x.y", "_", "%", "Z"};
  std::mt19937 rng(2024);
  for (int trial = 0; trial < 400; ++trial) {
    std::string text;
    const int n = 1 + static_cast<int>(rng() % 25);
    for (int i = 0; i < n; ++i) text += fragments[rng() % fragments.size()];
    const std::string want = Whole(text, PiiPolicy::kMask, nullptr);
    std::vector<std::string_view> chunks;
    for (size_t pos = 0; pos < text.size();) {
      const size_t len = std::min<size_t>(text.size() - pos, rng() % 6);
      chunks.push_back(std::string_view(text).substr(pos, len));
      pos += len;
    }
    ASSERT_EQ(Streamed(chunks, PiiPolicy::kMask, nullptr), want) << "text: " << text;
  }
}

}  // namespace
}  // namespace enclave::governance::pii
