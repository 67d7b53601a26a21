// OpenAI request parsing (server/openai_request.h): the fields it reads from real request shapes,
// and an error naming the parameter for each kind of bad input.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "server/openai_request.h"
#include "test_util.h"

namespace enclave::server {
namespace {

std::string Fixture(const std::string& name) {
  std::ifstream in(testing::SourcePath("tests/fixtures/requests/" + name), std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(OpenAiRequestTest, ChatFields) {
  CompletionRequest r;
  ASSERT_FALSE(ParseCompletionRequest(Fixture("chat.json"), true, 512, &r));
  EXPECT_EQ(r.model, "tiny");
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.messages[1]["content"], "Hello");  // text parts joined into a string
  EXPECT_EQ(r.params.max_tokens, 16);
  EXPECT_FLOAT_EQ(r.params.temperature, 0.7f);
  EXPECT_EQ(r.params.stop, std::vector<std::string>{"\n\n"});
  EXPECT_EQ(r.params.n, 2);
  EXPECT_EQ(r.params.seed, 7u);
  EXPECT_TRUE(r.params.logprobs);
  EXPECT_EQ(r.params.top_logprobs, 3);
  EXPECT_TRUE(r.stream);
  EXPECT_TRUE(r.include_usage);
  ASSERT_EQ(r.params.logit_bias.size(), 1u);
  EXPECT_EQ(r.params.logit_bias[0].token, 5);
  EXPECT_EQ(r.enable_thinking, false);
}

TEST(OpenAiRequestTest, CompletionFields) {
  CompletionRequest r;
  ASSERT_FALSE(ParseCompletionRequest(Fixture("completion.json"), false, 512, &r));
  EXPECT_EQ(r.prompt_text, "Once upon a time");
  EXPECT_TRUE(r.params.logprobs);
  EXPECT_EQ(r.params.top_logprobs, 2);
  EXPECT_EQ(r.params.top_k, 40);
  EXPECT_EQ(r.user, "u1");
  CompletionRequest t;
  ASSERT_FALSE(ParseCompletionRequest(Fixture("completion_tokens.json"), false, 512, &t));
  EXPECT_EQ(t.prompt_tokens, (std::vector<int32_t>{1, 2, 3, 4}));
  EXPECT_EQ(t.params.max_tokens, 8);
}

TEST(OpenAiRequestTest, ErrorsNameTheParameter) {
  struct Case {
    bool chat;
    std::string body, param;
  };
  const std::vector<Case> cases = {
      {true, "not json", ""},
      {true, "[1]", ""},
      {true, R"({"messages":[{"role":"user","content":"x"}]})", "model"},
      {true, R"({"model":"m"})", "messages"},
      {true, R"({"model":"m","messages":[]})", "messages"},
      {true, R"({"model":"m","messages":[{"role":"robot","content":"x"}]})", "messages[0].role"},
      {true, R"({"model":"m","messages":[{"role":"user","content":[{"type":"image_url"}]}]})", "messages[0].content"},
      {true, R"({"model":"m","messages":[{"role":"user","content":"x"}],"temperature":"hot"})", "temperature"},
      {true, R"({"model":"m","messages":[{"role":"user","content":"x"}],"temperature":9})", "temperature"},
      {true, R"({"model":"m","messages":[{"role":"user","content":"x"}],"n":0})", "n"},
      {true, R"({"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":0})", "max_tokens"},
      {true, R"({"model":"m","messages":[{"role":"user","content":"x"}],"top_logprobs":2})", "top_logprobs"},
      {true, R"({"model":"m","messages":[{"role":"user","content":"x"}],"logit_bias":{"x":1}})", "logit_bias"},
      {true, R"({"model":"m","messages":[{"role":"user","content":"x"}],"stop":7})", "stop"},
      {true, R"({"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema"}})",
       "response_format"},
      {true, R"({"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"yaml"}})",
       "response_format"},
      {true, R"({"model":"m","messages":[{"role":"user","content":"x"}],"timeout":0})", "timeout"},
      {true, R"({"model":"m","messages":[{"role":"user","content":"x"}],"timeout":1e300})", "timeout"},
      {true, R"({"model":"m","messages":[{"role":"user","content":"x"}],"ignore_eos":1})", "ignore_eos"},
      {true, R"({"model":"m","messages":[{"role":"user","content":"x"}],"stream_options":{"include_usage":true}})",
       "stream_options"},
      {true, R"({"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function"}]})", "tools"},
      {false, R"({"model":"m"})", "prompt"},
      {false, R"({"model":"m","prompt":[1,99999]})", "prompt"},
      {false, R"({"model":"m","prompt":["a","b"]})", "prompt"},
      {false, R"({"model":"m","prompt":"x","echo":true})", "echo"},
      {false, R"({"model":"m","prompt":"x","seed":"s"})", "seed"},
      {false, R"({"model":"m","prompt":"x","model":"n"})", ""},  // duplicate key
  };
  for (const Case& c : cases) {
    CompletionRequest r;
    const auto e = ParseCompletionRequest(c.body, c.chat, 512, &r);
    ASSERT_TRUE(e.has_value()) << c.body;
    EXPECT_EQ(e->status, 400) << c.body;
    EXPECT_EQ(e->param, c.param) << c.body << ": " << e->message;
    EXPECT_FALSE(e->message.empty());
    EXPECT_NE(e->Body().find("\"invalid_request_error\""), std::string::npos);
  }
}

}  // namespace
}  // namespace enclave::server

namespace enclave::server {
namespace {

// Only role, content, reasoning_content, name and tool_call_id reach the chat template (and the
// content controls); tool calls are refused rather than passed on unchecked.
TEST(OpenAiRequestTest, MessagesKeepOnlyTheFieldsTheControlsCheck) {
  CompletionRequest r;
  const std::string ok = R"({"model":"m","messages":[
      {"role":"user","content":"hi","name":"ann","audio":null,"extra":{"x":"y"}},
      {"role":"assistant","content":null,"reasoning_content":"thought","refusal":null},
      {"role":"tool","content":"42","tool_call_id":"call_1"}]})";
  ASSERT_FALSE(ParseCompletionRequest(ok, true, 512, &r));
  ASSERT_EQ(r.messages.size(), 3u);
  EXPECT_EQ(r.messages[0].dump(), R"({"role":"user","name":"ann","content":"hi"})");
  EXPECT_EQ(r.messages[1].dump(), R"({"role":"assistant","reasoning_content":"thought","content":""})");
  EXPECT_EQ(r.messages[2].dump(), R"({"role":"tool","tool_call_id":"call_1","content":"42"})");
  for (const char* bad : {
           R"({"model":"m","messages":[{"role":"assistant","content":"","tool_calls":[{"function":{"name":"f","arguments":"{}"}}]}]})",
           R"({"model":"m","messages":[{"role":"assistant","content":"","function_call":{"name":"f"}}]})",
           R"({"model":"m","messages":[{"role":"assistant","content":"","reasoning_content":["a"]}]})",
           R"({"model":"m","messages":[{"role":"user","content":"x","name":5}]})"}) {
    CompletionRequest q;
    auto e = ParseCompletionRequest(bad, true, 512, &q);
    ASSERT_TRUE(e) << bad;
    EXPECT_EQ(e->status, 400);
    EXPECT_NE(e->param.find("messages[0]."), std::string::npos) << e->param;
  }
}

}  // namespace
}  // namespace enclave::server
