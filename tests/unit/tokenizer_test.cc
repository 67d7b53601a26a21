// The tokenizer against Hugging Face `tokenizers` on the real DeepSeek-V3 tokenizer
// (scripts/ref/make_tokenizer_fixtures.py), round trips, streaming decode, and loading errors.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "format/gguf_reader.h"
#include "format/gguf_writer.h"
#include "test_util.h"
#include "format/utf8.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/tokenizer_loader.h"

namespace enclave::tokenizer {
namespace {

using nlohmann::json;
using enclave::testing::SourcePath;

const Tokenizer& DeepSeekV3() {
  static std::unique_ptr<Tokenizer> t = [] {
    auto r = LoadTokenizer(SourcePath("tests/fixtures/tokenizer/deepseek-v3"));
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? std::move(r).value() : nullptr;
  }();
  return *t;
}

TEST(ByteLevelTest, MapsEveryByteAndBack) {
  EXPECT_EQ(ByteToCodePoint(' '), 0x120u);
  EXPECT_EQ(ByteToCodePoint('\n'), 0x10Au);
  EXPECT_EQ(ByteToCodePoint('A'), static_cast<char32_t>('A'));
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  EXPECT_EQ(*ByteLevelToBytes(BytesToByteLevel(all)), all);
  EXPECT_FALSE(ByteLevelToBytes("\xE4\xBD\xA0").has_value());  // U+4F60 is not in the map
}

TEST(TokenizerTest, DeepSeekV3MatchesHuggingFaceTokenizersOnTheCorpus) {
  const json corpus = json::parse(testing::ReadTextFile(SourcePath("tests/fixtures/tokenizer/corpus.json")));
  const json expected = json::parse(testing::ReadTextFile(SourcePath("tests/fixtures/tokenizer/deepseek-v3.expected.json")));
  ASSERT_EQ(corpus.size(), expected["cases"].size());
  EXPECT_EQ(DeepSeekV3().pre_tokenizer().name(), "deepseek-v3");
  int mismatches = 0;
  for (size_t i = 0; i < corpus.size(); ++i) {
    const std::string text = corpus[i]["text"];
    auto ids = DeepSeekV3().Encode(text);
    ASSERT_TRUE(ids.ok()) << ids.status().message();
    const std::vector<TokenId> want = expected["cases"][i]["ids"];
    if (*ids != want) {
      ++mismatches;
      ADD_FAILURE() << "case '" << corpus[i]["name"].get<std::string>() << "' differs from tokenizers "
                    << "(regenerate with: .venv/bin/python scripts/ref/make_tokenizer_fixtures.py)";
    }
    // decode(encode(x)) == x for valid UTF-8.
    auto back = DeepSeekV3().DecodeBytes(*ids);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, text) << corpus[i]["name"];
  }
  EXPECT_EQ(mismatches, 0);
}

// The other pre-tokenizers, each with a small vocabulary trained by `tokenizers`
// (scripts/ref/make_pretokenizer_fixtures.py): PCRE2 and Oniguruma must split the corpus alike.
TEST(TokenizerTest, EveryPreTokenizerMatchesHuggingFaceTokenizers) {
  const json corpus = json::parse(testing::ReadTextFile(SourcePath("tests/fixtures/tokenizer/corpus.json")));
  for (const char* name : {"deepseek-llm", "deepseek-coder", "qwen2", "llama-bpe"}) {
    auto tok = LoadTokenizer(SourcePath(std::string("tests/fixtures/tokenizer/") + name));
    ASSERT_TRUE(tok.ok()) << name << ": " << tok.status().message();
    EXPECT_EQ((*tok)->pre_tokenizer().name(), name);
    const json expected = json::parse(
        testing::ReadTextFile(SourcePath(std::string("tests/fixtures/tokenizer/") + name + ".expected.json")));
    ASSERT_EQ(expected["cases"].size(), corpus.size());
    for (size_t i = 0; i < corpus.size(); ++i) {
      const std::string text = corpus[i]["text"];
      auto ids = (*tok)->Encode(text);
      ASSERT_TRUE(ids.ok());
      EXPECT_EQ(*ids, expected["cases"][i]["ids"].get<std::vector<TokenId>>())
          << name << " case '" << corpus[i]["name"].get<std::string>()
          << "' (regenerate with: .venv/bin/python scripts/ref/make_pretokenizer_fixtures.py)";
      EXPECT_EQ(*(*tok)->DecodeBytes(*ids), text) << name << " " << corpus[i]["name"];
    }
  }
}

TEST(TokenizerTest, AddSpecialAddsBosAsConfigured) {
  auto ids = DeepSeekV3().Encode("hi", /*add_special=*/true);
  ASSERT_TRUE(ids.ok());
  ASSERT_FALSE(ids->empty());
  EXPECT_EQ(ids->front(), 0);  // <｜begin▁of▁sentence｜>, add_bos_token: true
  EXPECT_NE(ids->back(), 1);   // add_eos_token: false
  EXPECT_TRUE(DeepSeekV3().IsSpecial(0));
  EXPECT_EQ(*DeepSeekV3().DecodeBytes(*ids, /*skip_special=*/true), "hi");
}

TEST(TokenizerTest, RejectsInvalidUtf8) {
  EXPECT_FALSE(DeepSeekV3().Encode("ab\xff").ok());
  EXPECT_FALSE(DeepSeekV3().TokenBytes(1 << 30).ok());
}

TEST(StreamDecoderTest, NeverEmitsPartialUtf8) {
  // Byte tokens split a 4-byte emoji and a 3-byte CJK character across tokens.
  const std::string text = "a😀b深";
  std::vector<TokenId> ids;
  for (unsigned char c : text) ids.push_back(*DeepSeekV3().Find(std::string(ByteToUtf8(c))));
  StreamDecoder dec(DeepSeekV3());
  std::string out;
  for (TokenId id : ids) {
    auto piece = dec.Push(id);
    ASSERT_TRUE(piece.ok());
    // Every emitted chunk is complete UTF-8 on its own.
    EXPECT_TRUE(IsValidUtf8(*piece)) << out.size();
    out += *piece;
  }
  out += dec.Finish();
  EXPECT_EQ(out, text);
  StreamDecoder cut(DeepSeekV3());
  ASSERT_TRUE(cut.Push(ids[1]).ok());  // first byte of the emoji only
  EXPECT_EQ(cut.Finish(), "\xEF\xBF\xBD");
}

TEST(TokenizerTest, RandomUtf8RoundTrips) {
  std::mt19937 rng(9);
  for (int rep = 0; rep < 200; ++rep) {
    std::string s;
    const int n = rng() % 40;
    for (int i = 0; i < n; ++i) {
      char32_t cp = rng() % 4 == 0 ? 0x20 + rng() % 0x5F : 0xA0 + rng() % 0x2FF60;
      if (cp >= 0xD800 && cp <= 0xDFFF) cp = 'x';
      if (cp < 0x80) s += static_cast<char>(cp);
      else if (cp < 0x800) { s += static_cast<char>(0xC0 | (cp >> 6)); s += static_cast<char>(0x80 | (cp & 0x3F)); }
      else if (cp < 0x10000) { s += static_cast<char>(0xE0 | (cp >> 12)); s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F)); s += static_cast<char>(0x80 | (cp & 0x3F)); }
      else { s += static_cast<char>(0xF0 | (cp >> 18)); s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F)); s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F)); s += static_cast<char>(0x80 | (cp & 0x3F)); }
    }
    auto ids = DeepSeekV3().Encode(s);
    ASSERT_TRUE(ids.ok());
    EXPECT_EQ(*DeepSeekV3().DecodeBytes(*ids), s);
  }
}

TEST(TokenizerTest, GgufTokenizerEqualsTheJsonOne) {
  // Write the DeepSeek-V3 tokenizer into GGUF metadata the way llama.cpp's converter does, load it
  // back, and expect the same ids on the corpus.
  const json tj = json::parse(testing::ReadTextFile(SourcePath("tests/fixtures/tokenizer/deepseek-v3/tokenizer.json")));
  std::vector<std::string> tokens(DeepSeekV3().vocab_size());
  std::vector<GgufValue> types(tokens.size(), GgufValue::I32(1));
  for (auto it = tj["model"]["vocab"].begin(); it != tj["model"]["vocab"].end(); ++it) tokens[it.value().get<size_t>()] = it.key();
  for (const auto& a : tj["added_tokens"]) {
    tokens[a["id"].get<size_t>()] = a["content"];
    types[a["id"].get<size_t>()] = GgufValue::I32(a["special"].get<bool>() ? 3 : 4);
  }
  std::vector<std::string> merges;
  for (const auto& m : tj["model"]["merges"]) merges.push_back(m.get<std::string>());
  GgufWriter w;
  w.SetValue("general.architecture", GgufValue::String("deepseek2"));
  w.SetValue("tokenizer.ggml.model", GgufValue::String("gpt2"));
  w.SetValue("tokenizer.ggml.pre", GgufValue::String("deepseek-v3"));
  w.SetValue("tokenizer.ggml.tokens", GgufValue::StringArray(tokens));
  w.SetValue("tokenizer.ggml.token_type", GgufValue::Array(GgufValueType::kI32, types));
  w.SetValue("tokenizer.ggml.merges", GgufValue::StringArray(merges));
  w.SetValue("tokenizer.ggml.bos_token_id", GgufValue::U32(0));
  w.SetValue("tokenizer.ggml.eos_token_id", GgufValue::U32(1));
  w.SetValue("tokenizer.ggml.add_bos_token", GgufValue::Bool(true));
  auto bytes = w.Serialize();
  ASSERT_TRUE(bytes.ok());
  auto gguf = GgufFile::Parse(*bytes);
  ASSERT_TRUE(gguf.ok()) << gguf.status().message();
  auto tok = LoadTokenizerFromGguf(**gguf);
  ASSERT_TRUE(tok.ok()) << tok.status().message();
  const json corpus = json::parse(testing::ReadTextFile(SourcePath("tests/fixtures/tokenizer/corpus.json")));
  for (const auto& c : corpus) {
    EXPECT_EQ(*(*tok)->Encode(c["text"].get<std::string>(), true), *DeepSeekV3().Encode(c["text"].get<std::string>(), true))
        << c["name"];
  }
}

TEST(TokenizerTest, UnknownPreTokenizersAreErrors) {
  auto r = PreTokenizer::FromPreset("gpt-4o");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("deepseek-v3"), std::string::npos);
  auto p = PreTokenizer::FromPatterns({"\\w+"});
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("not one Enclave supports"), std::string::npos);
  for (const auto& name : PreTokenizer::PresetNames()) EXPECT_TRUE(PreTokenizer::FromPreset(name).ok()) << name;
  auto bad = LoadTokenizerFromHfJson(R"({"model": {"type": "Unigram"}})", "");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("only byte-level BPE"), std::string::npos);
}

}  // namespace
}  // namespace enclave::tokenizer
