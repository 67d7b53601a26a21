// Built-in fallback chat templates: each is byte-for-byte the fixture template that
// chat_template_test renders against jinja2, and the family rule picks the right one for the
// tokenizers of each family.
#include <gtest/gtest.h>

#include "chat/builtin_templates.h"
#include "chat/jinja.h"
#include "test_util.h"
#include "tokenizer/tokenizer_loader.h"

namespace enclave::chat {
namespace {

using enclave::testing::ReadTextFile;
using enclave::testing::SourcePath;

TEST(BuiltinTemplatesTest, EachTextEqualsItsFixtureFile) {
  ASSERT_EQ(BuiltinTemplates().size(), 6u);
  for (const auto& t : BuiltinTemplates()) {
    const std::string fixture =
        ReadTextFile(SourcePath("tests/fixtures/chat_templates/templates/" + std::string(t.fixture)));
    ASSERT_FALSE(fixture.empty()) << t.fixture;
    EXPECT_EQ(t.text, fixture) << t.name << " differs from " << t.fixture
                               << " (regenerate: .venv/bin/python scripts/ref/make_builtin_templates.py)";
    EXPECT_TRUE(Template::Parse(t.text).ok()) << t.name;
  }
}

TEST(BuiltinTemplatesTest, FoundByNameAndAlias) {
  for (const char* name : {"deepseek-v3", "deepseek-r1", "deepseek-v2", "deepseek-coder", "qwen2", "llama3"}) {
    const BuiltinTemplate* t = FindBuiltinTemplate(name);
    ASSERT_NE(t, nullptr) << name;
    EXPECT_EQ(t->name, name);
  }
  ASSERT_NE(FindBuiltinTemplate("deepseek-llm"), nullptr);
  EXPECT_EQ(FindBuiltinTemplate("deepseek-llm")->name, "deepseek-v2");
  EXPECT_EQ(FindBuiltinTemplate("chatml"), nullptr);
  EXPECT_EQ(BuiltinTemplateNames(), "deepseek-v3, deepseek-r1, deepseek-v2, deepseek-coder, qwen2, llama3");
}

TEST(BuiltinTemplatesTest, FamilyRule) {
  struct Case {
    const char* pre;
    bool turn_tokens;
    const char* want;  // nullptr: error
  };
  const Case cases[] = {
      {"deepseek-v3", true, "deepseek-v3"},   {"deepseek-llm", true, "deepseek-v3"},
      {"qwen2", true, "deepseek-r1"},         {"llama-bpe", true, "deepseek-r1"},
      {"deepseek-coder", false, "deepseek-coder"}, {"deepseek-llm", false, "deepseek-v2"},
      {"qwen2", false, "qwen2"},              {"llama-bpe", false, "llama3"},
      {"deepseek-v3", false, nullptr},        {"deepseek-coder", true, nullptr},
      {"gpt2", false, nullptr},
  };
  for (const Case& c : cases) {
    auto r = FallbackTemplate({c.pre, c.turn_tokens});
    if (c.want == nullptr) {
      ASSERT_FALSE(r.ok()) << c.pre;
      EXPECT_NE(r.status().message().find("--chat-template"), std::string::npos) << r.status().message();
    } else {
      ASSERT_TRUE(r.ok()) << c.pre << ": " << r.status().message();
      EXPECT_EQ((*r)->name, c.want) << c.pre << (c.turn_tokens ? " + turn tokens" : "");
    }
  }
}

// The hints as read off real tokenizers of each family (tests/fixtures/tokenizer/).
TEST(BuiltinTemplatesTest, HintsFromFixtureTokenizers) {
  const std::pair<const char*, const char*> cases[] = {
      {"deepseek-v3", "deepseek-v3"}, {"deepseek-llm", "deepseek-v2"}, {"deepseek-coder", "deepseek-coder"},
      {"qwen2", "qwen2"},             {"llama-bpe", "llama3"},
  };
  for (const auto& [dir, want] : cases) {
    auto tok = tokenizer::LoadTokenizer(SourcePath(std::string("tests/fixtures/tokenizer/") + dir));
    ASSERT_TRUE(tok.ok()) << dir << ": " << tok.status().message();
    auto t = FallbackTemplate(HintsFromTokenizer(**tok));
    ASSERT_TRUE(t.ok()) << dir << ": " << t.status().message();
    EXPECT_EQ((*t)->name, want) << dir;
  }
}

}  // namespace
}  // namespace enclave::chat
