#include "runtime/json_constraint.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include <nlohmann/json.hpp>

#include "test_util.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/tokenizer_loader.h"

namespace enclave::runtime {
namespace {

bool Accepts(std::string_view text) {
  JsonRecognizer r;
  return r.Feed(text);
}

bool Complete(std::string_view text) {
  JsonRecognizer r;
  return r.Feed(text) && r.complete();
}

TEST(JsonRecognizerTest, AcceptsObjectsAndTheirPrefixes) {
  const char* docs[] = {
      R"({})",
      R"( {"a": 1} )",
      R"({"a":[1,-2.5e+3,0,0.25,1E9,true,false,null,"x",{"b":[]},[]]})",
      R"({"k\"\\\/\b\f\n\r\t\u00e9": "caf\u00E9 \u4e2d"})",
      "{\"utf8\": \"\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80\"}",
      "{\n  \"nested\": {\"deep\": [[[{\"x\": -0}]]]}\n}",
  };
  for (const char* d : docs) {
    const std::string s(d);
    EXPECT_TRUE(nlohmann::json::accept(s)) << s;  // the oracle agrees these are JSON
    EXPECT_TRUE(Complete(s)) << s;
    for (size_t n = 0; n < s.size(); ++n) {
      // Every proper prefix is accepted; only the whole text (before trailing space) completes.
      EXPECT_TRUE(Accepts(s.substr(0, n))) << s.substr(0, n);
    }
  }
}

TEST(JsonRecognizerTest, RejectsWhatCannotContinueAnObject) {
  const char* bad[] = {
      "[1]",                 // the top level must be an object
      "\"text\"",            //
      "{\"a\" 1}",           // missing colon
      "{\"a\":01}",          // leading zero
      "{\"a\":1.}",          // no digit after the dot
      "{\"a\":-}",           //
      "{\"a\":1e}",          //
      "{\"a\":tru}",         //
      "{\"a\":True}",        //
      "{\"a\":[1,]}",        // trailing comma
      "{\"a\":1,}",          //
      "{,}",                 //
      "{\"a\":\"x\ny\"}",    // raw control character in a string
      "{\"a\":\"\\x\"}",     // bad escape
      "{\"a\":\"\\u12G4\"}", // bad hex
      "{\"a\":\"\xc0\xaf\"}",      // overlong UTF-8
      "{\"a\":\"\xed\xa0\x80\"}",  // a surrogate in UTF-8
      "{\"a\":\"\xf5\x80\x80\x80\"}",
      "{\"a\":[}",           // mismatched close
      "{\"a\":1]}",          //
      "{} {}",               // only whitespace after the object
      "{}x",                 //
      "{1:2}",               // keys are strings
  };
  for (const char* b : bad) {
    EXPECT_FALSE(nlohmann::json::accept(std::string(b)) && std::string(b).front() == '{') << b;
    EXPECT_FALSE(Complete(b)) << b;
    EXPECT_FALSE(Accepts(b)) << b;
  }
}

TEST(JsonRecognizerTest, LimitsDepthAndWhitespaceRuns) {
  std::string deep = "{\"a\":";
  for (int i = 1; i < JsonRecognizer::kMaxDepth; ++i) deep += "[";
  EXPECT_TRUE(Accepts(deep));
  EXPECT_FALSE(Accepts(deep + "["));
  // (Built with append: GCC 12 warns falsely (-Wrestrict) on "literal" + std::string.)
  std::string spaces = "{";
  spaces.append(JsonRecognizer::kMaxWhitespaceRun, ' ');
  EXPECT_TRUE(Accepts(spaces));
  EXPECT_FALSE(Accepts(spaces + " "));
  std::string in_string = "{\"a\":\"";
  in_string.append(1000, ' ');
  EXPECT_TRUE(Accepts(in_string));  // spaces inside strings are text
}

// Random JSON texts from the oracle's serializer are accepted whole; random byte edits of them
// agree with the oracle on whether the result is a complete object.
TEST(JsonRecognizerTest, AgreesWithTheOracleOnRandomDocuments) {
  std::mt19937 rng(7);
  auto random_value = [&](auto&& self, int depth) -> nlohmann::json {
    switch (rng() % (depth > 3 ? 4 : 6)) {
      case 0: return static_cast<int64_t>(rng() % 2000) - 1000;
      case 1: return std::ldexp(static_cast<double>(rng() % 100000), static_cast<int>(rng() % 40) - 20);
      case 2: {
        std::string text = "s\xc3\xa9\"\\\n";
        text.append(std::to_string(rng() % 100));
        return text;
      }
      case 3: return rng() % 3 == 0 ? nlohmann::json(nullptr) : nlohmann::json(rng() % 2 == 0);
      case 4: {
        auto a = nlohmann::json::array();
        for (int i = 0, n = static_cast<int>(rng() % 4); i < n; ++i) a.push_back(self(self, depth + 1));
        return a;
      }
      default: {
        auto o = nlohmann::json::object();
        for (int i = 0, n = static_cast<int>(rng() % 4); i < n; ++i) o[std::to_string(i)] = self(self, depth + 1);
        return o;
      }
    }
  };
  const std::string alphabet = "{}[]:,\"\\ 0123456789.-eE+tfnul\n";
  for (int i = 0; i < 300; ++i) {
    nlohmann::json doc = nlohmann::json::object();
    doc["v"] = random_value(random_value, 0);
    const std::string text = doc.dump(i % 2 ? 2 : -1);
    ASSERT_TRUE(Complete(text)) << text;
    std::string edited = text;
    edited[rng() % edited.size()] = alphabet[rng() % alphabet.size()];
    const bool oracle = nlohmann::json::accept(edited) && nlohmann::json::parse(edited).is_object();
    EXPECT_EQ(Complete(edited), oracle) << edited;
  }
}

TEST(JsonTokenMaskTest, BansTokensThatCannotContinue) {
  auto tok = tokenizer::LoadTokenizer(testing::SourcePath("tests/fixtures/tokenizer/qwen2"));
  ASSERT_TRUE(tok.ok()) << tok.status().message();
  const int32_t n = static_cast<int32_t>((*tok)->vocab_size());
  const int32_t eos = n - 1;
  JsonTokenMask mask(**tok, n, std::span<const int32_t>(&eos, 1));

  JsonRecognizer state;
  ASSERT_TRUE(state.Feed("{\"name\": "));
  std::vector<float> logits(static_cast<size_t>(n), 0.0f);
  const int64_t allowed = mask.Apply(state, logits);
  EXPECT_GT(allowed, 0);
  EXPECT_LT(allowed, n);
  for (int32_t id = 0; id < eos; ++id) {
    JsonRecognizer s = state;
    const std::string_view b = mask.bytes(id);
    const bool ok = !b.empty() && s.Feed(b);
    EXPECT_EQ(std::isfinite(logits[static_cast<size_t>(id)]), ok) << "token " << id << " '" << b << "'";
  }
  // Once the object is closed only the end token remains.
  JsonRecognizer done;
  ASSERT_TRUE(done.Feed("{}"));
  std::vector<float> after(static_cast<size_t>(n), 0.0f);
  mask.Apply(done, after);
  EXPECT_TRUE(std::isfinite(after[static_cast<size_t>(eos)]));
}

}  // namespace
}  // namespace enclave::runtime
