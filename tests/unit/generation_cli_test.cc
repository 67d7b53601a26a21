// The generation commands end to end through the CLI binary, on a synthetic model whose greedy
// continuation transformers recorded (tests/fixtures/models/qwen2-tiny.ref): `enclave run` prints
// exactly that text, `bench --json` and `perplexity --json` print their contract fields, and
// errors are one line on stderr with a non-zero exit.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "reference_file.h"
#include "synth/synth_model.h"
#include "test_util.h"
#include "tokenizer/tokenizer_loader.h"

namespace enclave {
namespace {

namespace fs = std::filesystem;

class GenerationCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string((fs::temp_directory_path() / ("enclave_gen_cli_" + std::to_string(getpid()))).string());
    synth::SynthOptions o;
    o.arch = "qwen2";
    o.preset = "tiny";
    o.seed = 1;
    o.out_dir = *dir_;
    o.gguf = {"f32"};
    o.force = true;
    const Status s = synth::Synthesize(o);
    ASSERT_TRUE(s.ok()) << s.message();
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    fs::remove_all(*dir_, ec);
    delete dir_;
  }
  static std::string* dir_;
};
std::string* GenerationCliTest::dir_ = nullptr;

// Single-quoted for the shell.
std::string Quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

TEST_F(GenerationCliTest, RunPrintsTheGreedyContinuationOfTransformers) {
  auto ref = testing::ReadReferenceFile(testing::SourcePath("tests/fixtures/models/qwen2-tiny.ref"));
  ASSERT_TRUE(ref.ok()) << ref.status().message();
  const std::string prompt = ref->header["prompt"].get<std::string>();
  const auto greedy = ref->header["greedy_ids"].get<std::vector<int32_t>>();
  auto tok = tokenizer::LoadTokenizer(*dir_);
  ASSERT_TRUE(tok.ok()) << tok.status().message();
  auto expected = (*tok)->DecodeBytes(greedy, /*skip_special=*/true);
  ASSERT_TRUE(expected.ok());
  for (const std::string& model : {*dir_, *dir_ + "/gguf/model-f32.gguf"}) {
    const auto r = testing::RunCli("run -m " + Quote(model) + " -p " + Quote(prompt) + " --temp 0 -n " +
                                   std::to_string(greedy.size()) + " --kv-type f32 -t 2 2>/dev/null");
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_EQ(r.out, *expected) << model;
  }
}

// A vocabulary padded past the tokenizer (vocab_size 2048, 512 tokens; large weights so that the
// 1536 padding ids win the argmax almost everywhere): generation only ever picks ids the tokenizer
// can turn into text, from the HF directory and from the GGUF file.
TEST(GenerationPaddedVocabTest, NeverSamplesPaddingIds) {
  const std::string dir = (fs::temp_directory_path() / ("enclave_gen_pad_" + std::to_string(getpid()))).string();
  synth::SynthOptions o;
  o.arch = "qwen2";
  o.preset = "tiny";
  o.out_dir = dir;
  o.gguf = {"f32"};
  o.vocab_size = 2048;
  o.std = 0.2;
  o.force = true;
  ASSERT_TRUE(synth::Synthesize(o).ok());
  for (const std::string& model : {dir, dir + "/gguf/model-f32.gguf"}) {
    for (const char* temp : {"0", "1.5"}) {
      const auto r = testing::RunCli("run -m " + Quote(model) + " -p 'hello world' --temp " + temp +
                                     " --seed 3 -n 24 -t 2 2>&1");
      EXPECT_EQ(r.exit_code, 0) << model << " --temp " << temp << ": " << r.out;
      EXPECT_EQ(r.out.find("outside the vocabulary"), std::string::npos) << r.out;
    }
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
}

TEST_F(GenerationCliTest, BenchJsonHasTheContractFields) {
  const auto r = testing::RunCli("bench -m " + Quote(*dir_ + "/gguf/model-f32.gguf") + " -p 32 -n 8 -r 1 -t 2 --json 2>/dev/null");
  ASSERT_EQ(r.exit_code, 0);
  const auto j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.out;
  for (const char* key : {"prefill_tok_s", "decode_tok_s", "peak_rss_bytes", "decode_bandwidth_fraction"}) {
    ASSERT_TRUE(j.contains(key)) << key;
    EXPECT_GT(j[key].get<double>(), 0) << key;
  }
}

TEST_F(GenerationCliTest, PerplexityPrintsItsLastLineAndJson) {
  const std::string text = Quote(testing::SourcePath("tests/fixtures/models/perplexity.txt"));
  const auto plain = testing::RunCli("perplexity -m " + Quote(*dir_) + " -f " + text + " -c 64 -t 2 2>/dev/null");
  ASSERT_EQ(plain.exit_code, 0);
  const std::string last = plain.out.substr(plain.out.rfind("perplexity: "));
  EXPECT_EQ(last.back(), '\n');
  const auto json = testing::RunCli("perplexity -m " + Quote(*dir_) + " -f " + text + " -c 64 -t 2 --kl-base " +
                                    Quote(*dir_ + "/gguf/model-f32.gguf") + " --json 2>/dev/null");
  ASSERT_EQ(json.exit_code, 0);
  const auto j = nlohmann::json::parse(json.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << json.out;
  for (const char* key : {"perplexity", "nll_mean", "tokens", "kl_mean", "top1_agreement"}) EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_NEAR(std::stod(last.substr(12)), j["perplexity"].get<double>(), 1e-3 * j["perplexity"].get<double>());
  // The HF directory and its F32 GGUF are the same model: the same top token everywhere.
  EXPECT_EQ(j["top1_agreement"].get<double>(), 1.0);
}

// Regression: a turn cut by -n left its last sampled token out of the KV cache while the chat loop
// counted it as cached, so the next turn failed ("sequence 0 holds N tokens, not N+1").
TEST_F(GenerationCliTest, ChatContinuesAfterATurnCutByLength) {
  const auto r = testing::RunCli("run -m " + Quote(*dir_) + " --chat --chat-template qwen2 --temp 0 -n 3 -t 2 2>&1 <<'EOF'\nhello\nagain\nthird\nEOF");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out.find("error"), std::string::npos) << r.out;
  size_t turns = 0;
  for (size_t at = r.out.find("finish: length"); at != std::string::npos; at = r.out.find("finish: length", at + 1)) ++turns;
  EXPECT_EQ(turns, 3u) << r.out;
}

TEST_F(GenerationCliTest, ErrorsAreOneLine) {
  for (const std::string& args : std::vector<std::string>{"run -m /nonexistent -p hi", "run -m " + Quote(*dir_) + " -p hi --quantize q3",
                                 "bench -m " + Quote(*dir_) + " -p 0 -n 0",
                                 "perplexity -m " + Quote(*dir_) + " -f /nonexistent"}) {
    const auto r = testing::RunCli(args + " 2>&1 >/dev/null");
    EXPECT_NE(r.exit_code, 0) << args;
    EXPECT_EQ(r.out.rfind("error: ", 0), 0u) << args << ": " << r.out;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << args << ": " << r.out;
  }
}

}  // namespace
}  // namespace enclave
