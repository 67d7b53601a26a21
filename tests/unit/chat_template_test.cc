// Chat templates rendered by our Jinja interpreter must be byte-identical to Python jinja2 with
// Hugging Face's settings (scripts/ref/make_template_fixtures.py).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "chat/chat_template.h"
#include "test_util.h"

namespace enclave::chat {
namespace {

using nlohmann::ordered_json;
using enclave::testing::SourcePath;

// FIXED_NOW of make_template_fixtures.py: Wednesday 2025-01-15 09:30:00.
std::tm FixtureClock() {
  std::tm tm{};
  tm.tm_year = 125;
  tm.tm_mon = 0;
  tm.tm_mday = 15;
  tm.tm_hour = 9;
  tm.tm_min = 30;
  tm.tm_wday = 3;
  tm.tm_yday = 14;
  return tm;
}

TEST(ChatTemplateTest, ByteIdenticalToJinja2OnEveryFixture) {
  const std::string dir = SourcePath("tests/fixtures/chat_templates/");
  const ordered_json convs = ordered_json::parse(testing::ReadTextFile(dir + "conversations.json"));
  const ordered_json expected = ordered_json::parse(testing::ReadTextFile(dir + "expected.json"));
  int n = 0;
  for (const auto& c : expected["cases"]) {
    const std::string source = testing::ReadTextFile(dir + "templates/" + c["template"].get<std::string>());
    const ordered_json* conv = nullptr;
    for (const auto& x : convs) {
      if (x["name"] == c["conversation"]) conv = &x;
    }
    ASSERT_NE(conv, nullptr);
    ChatRenderOptions opt;
    opt.add_generation_prompt = c["add_generation_prompt"];
    opt.bos_token = "<｜begin▁of▁sentence｜>";
    opt.eos_token = "<｜end▁of▁sentence｜>";
    opt.tools = conv->value("tools", ordered_json());
    opt.extra_variables = conv->value("template_kwargs", ordered_json());
    opt.now = FixtureClock();
    auto out = RenderChatTemplate(source, (*conv)["messages"], opt);
    const std::string label = c["template"].get<std::string>() + " / " + c["conversation"].get<std::string>() +
                              (opt.add_generation_prompt ? " / generation prompt" : "");
    if (c.contains("error")) {
      EXPECT_FALSE(out.ok()) << label << " should fail like jinja2: " << c["error"];
    } else {
      ASSERT_TRUE(out.ok()) << label << ": " << out.status().message();
      EXPECT_EQ(*out, c["output"].get<std::string>())
          << label << " (regenerate with: .venv/bin/python scripts/ref/make_template_fixtures.py)";
    }
    ++n;
  }
  EXPECT_GE(n, 220);
}

TEST(ChatTemplateTest, ErrorsNameTheConstructAndLine) {
  auto bad = Template::Parse("line one\n{% macro m() %}x{% endmacro %}");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "chat template line 2: unsupported construct 'macro' near 'macro'");
  auto unclosed = Template::Parse("{{ messages ");
  ASSERT_FALSE(unclosed.ok());
  EXPECT_NE(unclosed.status().message().find("never closed"), std::string::npos);
  auto mismatched = Template::Parse("{% if x %}a{% endfor %}");
  ASSERT_FALSE(mismatched.ok());
}

TEST(ChatTemplateTest, LimitsBoundUntrustedTemplates) {
  RenderLimits limits;
  limits.max_loop_iterations = 1000;
  auto loop = Template::Parse("{% for i in range(100) %}{% for j in range(100) %}x{% endfor %}{% endfor %}");
  ASSERT_TRUE(loop.ok());
  EXPECT_FALSE((*loop)->Render(Value::MakeDict(), limits).ok());
  limits = RenderLimits();
  limits.max_output_bytes = 100;
  auto big = Template::Parse("{{ 'x' * 50 }}{{ 'y' * 60 }}");
  ASSERT_TRUE(big.ok());
  EXPECT_FALSE((*big)->Render(Value::MakeDict(), limits).ok());
  std::string deep = "{{ " + std::string(500, '(') + "1" + std::string(500, ')') + " }}";
  EXPECT_FALSE(Template::Parse(deep).ok());
  // No host objects: unknown functions and attributes of plain values do nothing dangerous.
  auto host = Template::Parse("{{ cycler.__init__.__globals__ }}");
  ASSERT_TRUE(host.ok());
  auto r = (*host)->Render(Value::MakeDict());
  EXPECT_FALSE(r.ok());
}

}  // namespace
}  // namespace enclave::chat

namespace enclave::chat {
namespace {

TEST(ChatTemplateTest, SharedSubListsCannotBlowUpOutput) {
  auto t = Template::Parse(
      "{% set ns = namespace(x=[1]) %}{% for i in range(60) %}{% set ns.x = [ns.x, ns.x] %}{% endfor %}{{ ns.x }}");
  ASSERT_TRUE(t.ok());
  auto r = (*t)->Render(Value::MakeDict());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("too large"), std::string::npos);
  auto self = Template::Parse("{% set ns = namespace(a=1) %}{% set ns.me = [ns] %}");
  ASSERT_TRUE(self.ok());
  EXPECT_FALSE((*self)->Render(Value::MakeDict()).ok());
}

}  // namespace
}  // namespace enclave::chat

namespace enclave::chat {
namespace {

Result<std::string> RenderText(const std::string& source, const ChatRenderOptions& opt = {}) {
  return RenderChatTemplate(source, nlohmann::ordered_json::array(), opt);
}

// Regression: Llama 3.2's template asks `strftime_now is defined` and calls it; transformers
// defines it as a global, so it must count as defined and format the clock.
TEST(ChatTemplateTest, StrftimeNowIsADefinedGlobal) {
  ChatRenderOptions opt;
  opt.now = FixtureClock();
  auto r = RenderText("{{ strftime_now is defined }} {{ strftime_now('%d %b %Y %a %H:%M') }}", opt);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, "True 15 Jan 2025 Wed 09:30");
  auto no_clock = RenderText("{{ strftime_now('%Y') | length }}");  // the local time: any year has 4 digits
  ASSERT_TRUE(no_clock.ok());
  EXPECT_EQ(*no_clock, "4");
  EXPECT_FALSE(RenderText("{{ strftime_now() }}").ok());
  EXPECT_FALSE(RenderText("{{ strftime_now | tojson }}").ok());
  EXPECT_FALSE(RenderText("{{ 'x'() }}").ok());
  EXPECT_FALSE(RenderText("{% set range = 3 %}{{ range(2) }}").ok());  // shadowed globals are plain values
}

// Regression: Llama 3.1's template filters builtin_tools with reject('equalto', ...).
TEST(ChatTemplateTest, SelectAndRejectFilters) {
  auto r = RenderText(
      "{{ ['a', 'code', 'b'] | reject('equalto', 'code') | join(',') }}|{{ [0, 1, none, 2] | select | list }}|"
      "{{ [1, 2, 3, 4] | select('odd') | list }}|{{ [1, none] | reject('none') | list }}");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, "a,b|[1, 2]|[1, 3]|[1]");
  EXPECT_FALSE(RenderText("{{ [1] | select('no_such_test') | list }}").ok());
}

// Regression: transformers always passes tools and documents (None when absent) and the caller's
// keyword arguments; templates that test `tools is defined` or read date_string see that.
TEST(ChatTemplateTest, VariablesPassedLikeTransformers) {
  ChatRenderOptions opt;
  opt.extra_variables = {{"date_string", "03 Mar 2025"}, {"bos_token", "overridden"}};
  auto r = RenderText("{{ tools is defined }} {{ tools is none }} {{ documents is none }} {{ date_string }} "
                      "{{ bos_token }}",
                      opt);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, "True True True 03 Mar 2025 overridden");
  opt.extra_variables = nlohmann::ordered_json::array();
  EXPECT_FALSE(RenderText("x", opt).ok());
}

}  // namespace
}  // namespace enclave::chat

namespace enclave::chat {
namespace {

Result<std::string> Render(const std::string& source) {
  ASSIGN_OR_RETURN(std::unique_ptr<Template> t, Template::Parse(source));
  return t->Render(Value::MakeDict());
}

// Expected values below are what jinja2 3.1.6 prints for the same sources.
// Regression: string literals are decoded like Python's unicode-escape codec (\u, \x, octal, and
// unknown escapes kept with their backslash), not by dropping the backslash.
TEST(ChatTemplateTest, StringLiteralEscapes) {
  auto r = Render(R"({{ 'a\u00e9b' }}|{{ '\x41\101\U0001F600' }}|{{ 'x\dy' }}|{{ '\'' }}|{{ "\"q\"" }}|{{ '\\' }})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, "a\xC3\xA9" "b|AA\xF0\x9F\x98\x80|x\\dy|'|\"q\"|\\");
  EXPECT_FALSE(Render(R"({{ '\u12' }})").ok());
  EXPECT_FALSE(Render(R"({{ '\ud800' }})").ok());  // Python keeps a lone surrogate; UTF-8 cannot
}

// Regression: what a loop body sets does not survive into the next iteration.
TEST(ChatTemplateTest, LoopBodyAssignmentsResetEachIteration) {
  auto r = Render(
      "{% set x = 0 %}{% for i in [1, 2] %}{{ x }}{% set x = i %}{{ x }}{% endfor %}{{ x }}|"
      "{% for i in [1, 2] %}[{{ y }}]{% set y = i %}{% endfor %}[{{ y }}]");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, "01020|[][][]");
}

// Regression: a sign binds before filters (`-1 | abs` is abs(-1)); `**`, exponent literals,
// int * str, reversed strings and Undefined inside printed lists.
TEST(ChatTemplateTest, OperatorsAndLiteralsLikeJinja2) {
  auto r = Render(
      "{{ -1 | abs }} {{ -2 ** 2 }} {{ 2 ** 3 ** 2 }} {{ 2 ** -1 }} {{ 0 ** 0 }} {{ 1e3 }} {{ 2.5E-3 }} {{ 1e20 }} "
      "{{ 3 * 'ab' }} {{ 'abc' | reverse }} {{ [{'a': 1}] | map(attribute='b') | list }}");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, "1 4 64 0.5 1 1000.0 0.0025 1e+20 ababab cba [Undefined]");
  EXPECT_FALSE(Render("{{ 3 ** 100 }}").ok());  // Python has big integers; we refuse rather than wrap
  EXPECT_FALSE(Render("{{ 0 ** -1 }}").ok());
  auto chained = Template::Parse("{{ 1 < 2 < 3 }}");
  ASSERT_FALSE(chained.ok());
  EXPECT_NE(chained.status().message().find("chained comparison"), std::string::npos);
}

}  // namespace
}  // namespace enclave::chat
