// The server's content controls (server/content_guard.h): an output chain cut at every byte gives
// what the whole text gives; a filter block ends the chain and releases nothing from the term on;
// placeholders in the output come back as the caller's values; prompt refusals name types, never
// values; route policies parse.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "governance/pii/detectors.h"
#include "server/content_guard.h"
#include "wordfilter_test_util.h"

namespace enclave::server {
namespace {

namespace pii = governance::pii;
namespace wf = wordfilter;

const pii::PiiDetector& Detector() {
  static const auto d = std::move(pii::PiiDetector::Create(pii::DetectorConfig{})).value();
  return *d;
}

struct Chain {
  std::string text, audit;
  bool blocked = false;
  bool failed = false;
  std::vector<std::string> actions;
};

// Runs `text` through a fresh OutputGuard in pieces cut at `cuts` (sorted byte offsets).
Chain RunCut(const ContentRules& rules, pii::PiiPolicy policy, pii::PlaceholderTable* table, const std::string& text,
             std::vector<size_t> cuts) {
  OutputGuard g(rules, policy, table);
  Chain c;
  size_t at = 0;
  cuts.push_back(text.size());
  auto take = [&](Result<OutputGuard::Step> step) {
    if (!step.ok()) {
      c.failed = true;
      return;
    }
    c.text += step->text;
    c.audit += step->audit_text;
    c.blocked = c.blocked || step->blocked;
    for (auto& a : step->actions) c.actions.push_back(a);
  };
  for (size_t cut : cuts) {
    if (c.failed || c.blocked) break;
    take(g.Push(std::string_view(text).substr(at, cut - at)));
    at = cut;
  }
  if (!c.failed && !c.blocked) take(g.Finish());
  return c;
}

TEST(ContentGuard, EverySplitEqualsWholeText) {
  auto filter = wf::testing::MakeFilter("secret\tconf\nforbidden\tstop\n", {{"conf", wf::Action::kMask}, {"stop", wf::Action::kBlock}});
  ContentRules rules;
  rules.detector = &Detector();
  rules.filter = filter.get();
  const std::string texts[] = {
      "mail a.person@example.com or call 13800138000; the s-e-c-r-e-t is out",
      "nothing to see here, just words",
      "prefix text then f o r b i d d e n and more that must not appear",
  };
  for (const std::string& text : texts) {
    const Chain whole = RunCut(rules, pii::PiiPolicy::kMask, nullptr, text, {});
    ASSERT_FALSE(whole.failed) << text;
    for (size_t cut = 0; cut <= text.size(); ++cut) {
      const Chain c = RunCut(rules, pii::PiiPolicy::kMask, nullptr, text, {cut});
      ASSERT_EQ(c.text, whole.text) << text << " cut at " << cut;
      ASSERT_EQ(c.blocked, whole.blocked) << text << " cut at " << cut;
    }
  }
  const Chain masked = RunCut(rules, pii::PiiPolicy::kMask, nullptr, texts[0], {});
  EXPECT_EQ(masked.text.find("a.person@example.com"), std::string::npos);
  EXPECT_EQ(masked.text.find("13800138000"), std::string::npos);
  EXPECT_EQ(masked.text.find("s-e-c-r-e-t"), std::string::npos);
  EXPECT_NE(std::find(masked.actions.begin(), masked.actions.end(), "pii:mask:EMAIL"), masked.actions.end());
  EXPECT_NE(std::find(masked.actions.begin(), masked.actions.end(), "filter:mask:conf"), masked.actions.end());
  const Chain blocked = RunCut(rules, pii::PiiPolicy::kMask, nullptr, texts[2], {});
  EXPECT_TRUE(blocked.blocked);
  EXPECT_EQ(blocked.text, "prefix text then ");
}

TEST(ContentGuard, ByteAtATimeBlockReleasesNothingOfTheTerm) {
  auto filter = wf::testing::MakeFilter("forbidden\tstop\n", {{"stop", wf::Action::kBlock}});
  ContentRules rules;
  rules.filter = filter.get();
  const std::string text = "safe words, then FORBIDDEN, then more";
  std::vector<size_t> cuts;
  for (size_t i = 1; i < text.size(); ++i) cuts.push_back(i);
  const Chain c = RunCut(rules, pii::PiiPolicy::kOff, nullptr, text, cuts);
  EXPECT_TRUE(c.blocked);
  EXPECT_EQ(c.text, "safe words, then ");
}

TEST(ContentGuard, PlaceholdersComeBackInTheOutputButNotInTheAuditText) {
  ContentRules rules;
  rules.detector = &Detector();
  rules.policy = pii::PiiPolicy::kPlaceholder;
  pii::PlaceholderTable table;
  std::string code;
  auto in = GuardInput(rules, pii::PiiPolicy::kPlaceholder, "write to bob@example.org please", &table, &code);
  ASSERT_TRUE(in.ok()) << in.status().message();
  EXPECT_EQ(in->text.find("bob@example.org"), std::string::npos);
  const size_t open = in->text.find('[');
  ASSERT_NE(open, std::string::npos);
  const std::string placeholder = in->text.substr(open, in->text.find(']') - open + 1);
  // The model answers with the placeholder, cut in the middle, and a made-up address of its own.
  const std::string output = "Sure, I wrote to " + placeholder + " and to eve@example.net.";
  for (size_t cut = 0; cut <= output.size(); ++cut) {
    const Chain c = RunCut(rules, pii::PiiPolicy::kPlaceholder, &table, output, {cut});
    ASSERT_FALSE(c.failed);
    ASSERT_NE(c.text.find("bob@example.org"), std::string::npos) << cut << ": " << c.text;
    ASSERT_EQ(c.text.find("eve@example.net"), std::string::npos) << cut << ": " << c.text;
    ASSERT_EQ(c.audit.find("bob@example.org"), std::string::npos) << cut;
  }
}

TEST(ContentGuard, PromptRefusalsNameTypesNotValues) {
  auto filter = wf::testing::MakeFilter("forbidden\tstop\n", {{"stop", wf::Action::kBlock}});
  ContentRules rules;
  rules.detector = &Detector();
  rules.filter = filter.get();
  std::string code;
  auto r = GuardInput(rules, pii::PiiPolicy::kBlock, "my mail is x.y@example.com", nullptr, &code);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(code, "pii_blocked");
  EXPECT_NE(r.status().message().find("EMAIL"), std::string::npos);
  EXPECT_EQ(r.status().message().find("x.y@example.com"), std::string::npos);
  code.clear();
  r = GuardInput(rules, pii::PiiPolicy::kOff, "this is forbidden", nullptr, &code);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(code, "content_filter");
  EXPECT_NE(r.status().message().find("stop"), std::string::npos);
  code.clear();
  r = GuardInput(rules, pii::PiiPolicy::kMask, "fine text", nullptr, &code);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->text, "fine text");
  EXPECT_TRUE(r->actions.empty());
}

TEST(ContentGuard, OutputPiiBlockEndsTheChoice) {
  ContentRules rules;
  rules.detector = &Detector();
  for (size_t cut = 0; cut <= 40; ++cut) {
    const Chain c = RunCut(rules, pii::PiiPolicy::kBlock, nullptr, "your card is 6228 4800 1234 5671 and more", {cut});
    EXPECT_TRUE(c.blocked) << cut;
    EXPECT_EQ(c.text.find("6228"), std::string::npos) << cut << ": " << c.text;
    EXPECT_EQ(c.text.find("and more"), std::string::npos) << cut;
  }
}

TEST(ContentGuard, BytesThatAreNotUtf8BecomeReplacementCharacters) {
  auto filter = wf::testing::MakeFilter("then\tc\n", {{"c", wf::Action::kMask}});
  ContentRules rules;
  rules.filter = filter.get();
  const std::string text = "ok \xff\xfe th\xe4\xbd\xa0" "en \xe4\xbd";  // "你" inside, a cut character at the end
  for (size_t cut = 0; cut <= text.size(); ++cut) {
    const Chain c = RunCut(rules, pii::PiiPolicy::kOff, nullptr, text, {cut});
    ASSERT_FALSE(c.failed) << cut;
    EXPECT_EQ(c.text, "ok \xEF\xBF\xBD\xEF\xBF\xBD th\xe4\xbd\xa0" "en \xEF\xBF\xBD\xEF\xBF\xBD") << cut;
  }
}

TEST(ContentGuard, RoutePolicies) {
  auto p = ParseRoutePolicies("/v1/completions=off, /v1/chat/completions=placeholder");
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->at("/v1/completions"), pii::PiiPolicy::kOff);
  EXPECT_EQ(p->at("/v1/chat/completions"), pii::PiiPolicy::kPlaceholder);
  EXPECT_TRUE(ParseRoutePolicies("").ok());
  EXPECT_FALSE(ParseRoutePolicies("v1/completions=off").ok());
  EXPECT_FALSE(ParseRoutePolicies("/v1/completions=maybe").ok());
  EXPECT_FALSE(ParseRoutePolicies("/v1/completions").ok());
  EXPECT_FALSE(ParseRoutePolicies("/v1/chat/completion=block").ok());  // a typo must not fall back silently
  ContentRules rules;
  rules.policy = pii::PiiPolicy::kMask;
  rules.route_policies = *p;
  EXPECT_EQ(rules.PolicyFor("/v1/completions"), pii::PiiPolicy::kOff);
  EXPECT_EQ(rules.PolicyFor("/v1/other"), pii::PiiPolicy::kMask);
  EXPECT_FALSE(rules.Active("/v1/completions"));
  EXPECT_TRUE(rules.Active("/v1/chat/completions"));
}

}  // namespace
}  // namespace enclave::server
