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
    if (conv->contains("tools")) opt.tools = (*conv)["tools"];
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
  EXPECT_GE(n, 48);
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
