// safetensors, config.json and FP8 tests against files written and read by the `safetensors`
// package and values computed with numpy (scripts/ref/make_safetensors_fixtures.py).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <sstream>

#include "format/hf_config.h"
#include "format/inspect.h"
#include "format/safetensors.h"
#include "tensor/fp8.h"
#include "test_util.h"

namespace enclave {
namespace {

using nlohmann::json;
using testing::SourcePath;

const char kRegen[] = " (regenerate with: .venv/bin/python scripts/ref/make_safetensors_fixtures.py)";

void ExpectMatchesSafeOpen(const std::string& dir) {
  const json expected = json::parse(testing::ReadTextFile(SourcePath("tests/fixtures/safetensors/" + dir + ".expected.json")));
  auto model = SafetensorsModel::OpenDirectory(SourcePath("tests/fixtures/safetensors/" + dir));
  ASSERT_TRUE(model.ok()) << model.status().message() << kRegen;
  size_t n = 0;
  for (const auto& f : (*model)->files()) n += f->tensors().size();
  EXPECT_EQ(n, expected.size()) << dir;
  for (auto it = expected.begin(); it != expected.end(); ++it) {
    const SafetensorsFile* file = nullptr;
    const SafetensorsTensor* t = (*model)->Find(it.key(), &file);
    ASSERT_NE(t, nullptr) << it.key() << kRegen;
    EXPECT_EQ(file->label(), it.value()["file"]) << it.key();
    EXPECT_EQ(std::string(t->dtype.name), it.value()["dtype"]) << it.key();
    EXPECT_EQ(json(t->shape), it.value()["shape"]) << it.key();
  }
}

TEST(SafetensorsTest, MatchesSafeOpenSingleShardedAndFp8) {
  ExpectMatchesSafeOpen("single");
  ExpectMatchesSafeOpen("sharded");
  ExpectMatchesSafeOpen("fp8");
}

TEST(SafetensorsTest, ValuesAreZeroCopyViews) {
  auto model = SafetensorsModel::OpenDirectory(SourcePath("tests/fixtures/safetensors/single"));
  ASSERT_TRUE(model.ok());
  const SafetensorsTensor* ids = (*model)->Find("ids.int64");
  ASSERT_NE(ids, nullptr);
  int64_t v[6];
  ASSERT_EQ(ids->data.size(), sizeof v);
  std::memcpy(v, ids->data.data(), sizeof v);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(v[i], i);
  EXPECT_EQ(ids->GgufShape(), (std::vector<uint64_t>{3, 2}));
  EXPECT_EQ((*model)->Find("scalar")->shape.size(), 0u);
  EXPECT_EQ((*model)->files()[0]->metadata().at("format"), "pt");
}

TEST(Fp8Test, EveryCodeDecodesPerTheFormat) {
  EXPECT_EQ(Fp8E4M3ToF32(0x00), 0.0f);
  EXPECT_TRUE(std::signbit(Fp8E4M3ToF32(0x80)));
  EXPECT_EQ(Fp8E4M3ToF32(0x7E), 448.0f);
  EXPECT_EQ(Fp8E4M3ToF32(0xFE), -448.0f);
  EXPECT_TRUE(std::isnan(Fp8E4M3ToF32(0x7F)));
  EXPECT_TRUE(std::isnan(Fp8E4M3ToF32(0xFF)));
  EXPECT_EQ(Fp8E4M3ToF32(0x01), std::ldexp(1.0f, -9));  // smallest subnormal
  EXPECT_EQ(Fp8E4M3ToF32(0x08), std::ldexp(1.0f, -6));  // smallest normal
  EXPECT_EQ(Fp8E4M3ToF32(0x38), 1.0f);
  // Monotonic over the positive codes, and symmetric.
  for (int v = 1; v < 0x7F; ++v) {
    EXPECT_LT(Fp8E4M3ToF32(v - 1), Fp8E4M3ToF32(v)) << v;
    EXPECT_EQ(Fp8E4M3ToF32(v | 0x80), -Fp8E4M3ToF32(v)) << v;
  }
}

TEST(Fp8Test, BlockScaledDequantizationMatchesNumpy) {
  auto model = SafetensorsModel::OpenDirectory(SourcePath("tests/fixtures/safetensors/fp8"));
  ASSERT_TRUE(model.ok());
  const SafetensorsTensor* w = (*model)->Find("model.layers.0.mlp.up_proj.weight");
  const SafetensorsTensor* s = (*model)->Find("model.layers.0.mlp.up_proj.weight_scale_inv");
  ASSERT_TRUE(w && s);
  std::vector<float> scale(s->n_elements);
  std::memcpy(scale.data(), s->data.data(), s->data.size());
  std::vector<float> out(w->n_elements);
  ASSERT_TRUE(DequantizeFp8BlockScaled(w->data, 200, 300, scale, 2, 3, out).ok());
  const std::string expected = testing::ReadTextFile(SourcePath("tests/fixtures/safetensors/fp8/fp8_expected.f32"));
  ASSERT_EQ(expected.size(), out.size() * 4) << kRegen;
  for (size_t i = 0; i < out.size(); ++i) {
    float e;
    std::memcpy(&e, expected.data() + 4 * i, 4);
    ASSERT_EQ(out[i], e) << i;  // one exact decode and one f32 multiply on both sides
  }
  EXPECT_FALSE(DequantizeFp8BlockScaled(w->data, 200, 300, scale, 3, 3, out).ok());
}

TEST(SafetensorsTest, MalformedCorpusGivesCleanErrors) {
  const std::string dir = SourcePath("tests/fixtures/safetensors/malformed/");
  int n = 0;
  for (const auto& [name, word] : testing::ReadExpectedErrors(dir + "EXPECTED.tsv")) {
    auto report = InspectModelPath(dir + name);
    std::string message = report.ok() ? (report->problems.empty() ? "" : report->problems.front())
                                      : report.status().message();
    ASSERT_FALSE(message.empty()) << name << " was accepted";
    EXPECT_NE(message.find(word), std::string::npos) << name << ": '" << message << "' lacks '" << word << "'";
    // Strict parsing rejects it too.
    if (name.find(".safetensors") != std::string::npos) {
      EXPECT_FALSE(SafetensorsFile::Open(dir + name).ok()) << name;
    } else {
      EXPECT_FALSE(SafetensorsModel::OpenDirectory(dir + name).ok()) << name;
    }
    ++n;
  }
  EXPECT_GE(n, 20);
}

TEST(SafetensorsTest, EveryTruncationFailsCleanly) {
  const std::string text = testing::ReadTextFile(SourcePath("tests/fixtures/safetensors/single/model.safetensors"));
  for (size_t len = 0; len < text.size(); ++len) {
    std::vector<uint8_t> cut(text.begin(), text.begin() + len);
    EXPECT_FALSE(SafetensorsFile::Parse(cut, "cut").ok()) << len;
  }
}

TEST(HfConfigTest, ParsesTheFamiliesWeRun) {
  auto v3 = LoadHfConfig(SourcePath("tests/fixtures/safetensors/configs/deepseek_v3.json"));
  ASSERT_TRUE(v3.ok()) << v3.status().message();
  EXPECT_EQ(v3->model_type, "deepseek_v3");
  EXPECT_EQ(*v3->q_lora_rank, 1536);
  EXPECT_EQ(*v3->kv_lora_rank, 512);
  EXPECT_EQ(v3->rope_scaling->type, "yarn");
  EXPECT_EQ(*v3->rope_scaling->mscale_all_dim, 1.0);
  EXPECT_EQ(v3->quantization_config->weight_block_size, (std::vector<int64_t>{128, 128}));
  EXPECT_EQ(*v3->scoring_func, "sigmoid");
  EXPECT_EQ(*v3->routed_scaling_factor, 2.5);
  auto lite = LoadHfConfig(SourcePath("tests/fixtures/safetensors/configs/deepseek_v2_lite.json"));
  ASSERT_TRUE(lite.ok()) << lite.status().message();
  EXPECT_FALSE(lite->q_lora_rank.has_value());  // null in the file
  EXPECT_EQ(*lite->rope_scaling->mscale, 0.707);
  auto llama = LoadHfConfig(SourcePath("tests/fixtures/safetensors/configs/llama3.json"));
  ASSERT_TRUE(llama.ok());
  EXPECT_EQ(llama->rope_scaling->type, "llama3");
  EXPECT_EQ(*llama->rope_scaling->original_max_position_embeddings, 8192);
  EXPECT_EQ(llama->eos_token_id, (std::vector<int64_t>{128001, 128008, 128009}));
  EXPECT_EQ(llama->num_key_value_heads, 8);
  auto qwen = LoadHfConfig(SourcePath("tests/fixtures/safetensors/configs/qwen2.json"));
  ASSERT_TRUE(qwen.ok());
  EXPECT_FALSE(qwen->tie_word_embeddings);
  EXPECT_EQ(qwen->bos_token_id, (std::vector<int64_t>{151643}));
}

TEST(HfConfigTest, ErrorsNameTheField) {
  auto missing = ParseHfConfig(R"({"model_type": "llama", "hidden_size": 8, "num_attention_heads": 2, "vocab_size": 9})");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(), "config.json: required field 'num_hidden_layers' is missing");
  auto wrong = ParseHfConfig(R"({"model_type": "llama", "hidden_size": "8", "num_hidden_layers": 1, "num_attention_heads": 2, "vocab_size": 9})");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().message(), "config.json: field 'hidden_size' must be an integer, found string");
  EXPECT_FALSE(ParseHfConfig("{").ok());
  EXPECT_FALSE(ParseHfConfig(R"({"model_type": "x", "hidden_size": 0, "num_hidden_layers": 1, "num_attention_heads": 2, "vocab_size": 9})").ok());
}

TEST(SafetensorsTest, CliInspectsADirectoryAsJson) {
  auto r = testing::RunCli("inspect --json " + SourcePath("tests/fixtures/safetensors/sharded"));
  ASSERT_EQ(r.exit_code, 0);
  const json j = json::parse(r.out);
  EXPECT_EQ(j["format"], "safetensors");
  EXPECT_EQ(j["architecture"], "deepseek_v3");
  EXPECT_EQ(j["tensors"].size(), 4u);
  EXPECT_EQ(j["metadata"]["safetensors.shards"], 2);
  EXPECT_EQ(j["parameter_count"], 8 * 8 * 2 + 16 * 8 * 2);
  for (const auto& t : j["tensors"]) {
    if (t["name"] == "lm_head.weight") {
      EXPECT_EQ(t["type"], "F16");
      EXPECT_EQ(t["shape"], json({8, 16}));  // GGUF order: innermost first
      EXPECT_EQ(t["file"], "model-00002-of-00002.safetensors");
    }
  }
}

}  // namespace
}  // namespace enclave
