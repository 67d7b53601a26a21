// The forward pass (dense llama/qwen2, and deepseek2's MLA + MoE) against Hugging Face transformers: for each tiny synthetic preset, the
// committed reference file (tests/fixtures/models/*.ref, written by
// scripts/ref/make_model_fixtures.py) holds transformers' logits and hidden states for a prompt,
// its greedy continuation and its perplexity over a text. We synthesize the same model (same seed)
// and compare: from the HF directory and from the F32 GGUF (llama.cpp's layout, Q/K permuted)
// within 1e-4, identical greedy tokens, the same perplexity; F16/Q8_0/Q4_K GGUF by agreement.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <optional>

#include "model/model.h"
#include "reference_file.h"
#include "runtime/engine.h"
#include "runtime/perplexity.h"
#include "synth/synth_model.h"
#include "test_util.h"

namespace enclave {
namespace {

namespace fs = std::filesystem;

struct Case {
  std::string arch, preset;
};
void PrintTo(const Case& c, std::ostream* os) { *os << c.arch << "/" << c.preset; }
const std::vector<Case> kCases = {
    {"llama", "tiny"},           {"llama", "tiny-rope-linear"}, {"llama", "tiny-rope-llama3"},
    {"qwen2", "tiny"},           {"qwen2", "tiny-tied"},        {"deepseek2", "tiny-v2-lite"},
    {"deepseek2", "tiny-v2"},    {"deepseek2", "tiny-v3"},      {"deepseek2", "tiny-v3-fp8"}};


fs::path Root() {
  static const fs::path root = fs::temp_directory_path() / ("enclave_forward_test_" + std::to_string(getpid()));
  return root;
}

class Cleanup : public ::testing::Environment {
 public:
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(Root(), ec);
  }
};
const auto* const kCleanup = ::testing::AddGlobalTestEnvironment(new Cleanup);

std::string Synth(const Case& c, double std = 0.02) {
  static std::map<std::string, std::string> made;
  const std::string key = c.arch + "-" + c.preset + (std == 0.02 ? "" : "-std" + std::to_string(std));
  if (auto it = made.find(key); it != made.end()) return it->second;
  synth::SynthOptions o;
  o.arch = c.arch;
  o.preset = c.preset;
  o.seed = 1;
  o.std = std;
  o.out_dir = (Root() / key).string();
  const Status s = synth::Synthesize(o);
  EXPECT_TRUE(s.ok()) << s.message();
  made[key] = o.out_dir;
  return o.out_dir;
}

// max |a - b| / max |b|: relative to the tensor's scale, so near-zero entries do not dominate.
double MaxRelativeError(const float* a, const float* b, size_t n) {
  double max_diff = 0, max_ref = 0;
  for (size_t i = 0; i < n; ++i) {
    max_diff = std::max(max_diff, std::abs(static_cast<double>(a[i]) - b[i]));
    max_ref = std::max(max_ref, std::abs(static_cast<double>(b[i])));
  }
  return max_ref > 0 ? max_diff / max_ref : max_diff;
}

std::vector<int32_t> Ids(const nlohmann::json& j) { return j.get<std::vector<int32_t>>(); }

struct Loaded {
  std::unique_ptr<Model> model;
  std::unique_ptr<Engine> engine;
};

Loaded Load(const std::string& path, std::optional<DType> quantize = std::nullopt,
            kernels::QuantEffort effort = kernels::QuantEffort::kFast, MlaForm mla_form = MlaForm::kAuto) {
  Loaded l;
  ModelLoadOptions lo;
  lo.quantize = quantize;
  lo.quantize_effort = effort;
  auto m = Model::Load(path, lo);
  EXPECT_TRUE(m.ok()) << path << ": " << m.status().message();
  if (!m.ok()) return l;
  l.model = std::move(*m);
  EngineOptions eo;
  eo.threads = 2;
  eo.context = 256;
  eo.kv_type = DType::kF32;  // transformers keeps keys and values in F32
  eo.mla_form = mla_form;
  auto e = Engine::Create(*l.model, eo);
  EXPECT_TRUE(e.ok()) << e.status().message();
  if (e.ok()) l.engine = std::move(*e);
  return l;
}

// Logits for every prompt position, and the hidden states the observer saw.
std::vector<float> PromptLogits(Engine& e, const std::vector<int32_t>& ids, std::map<int, std::vector<float>>* hidden) {
  e.kv().Free(0);
  Batch b;
  for (size_t i = 0; i < ids.size(); ++i) b.Add(ids[i], static_cast<int32_t>(i), 0, true);
  const int64_t E = e.model().config().n_embd;
  auto r = e.Forward(b, [&](int index, const float* x, int64_t n) {
    if (hidden) (*hidden)[index].assign(x, x + n * E);
  });
  EXPECT_TRUE(r.ok()) << r.status().message();
  e.kv().Free(0);
  return r.ok() ? std::vector<float>(r->begin(), r->end()) : std::vector<float>();
}

// Greedy continuation, one token per forward pass (exercises the KV cache), lowest id on ties.
std::vector<int32_t> Greedy(Engine& e, const std::vector<int32_t>& prompt, int n) {
  e.kv().Free(0);
  const int64_t V = e.model().config().n_vocab;
  Batch b;
  for (size_t i = 0; i < prompt.size(); ++i) b.Add(prompt[i], static_cast<int32_t>(i), 0, i + 1 == prompt.size());
  std::vector<int32_t> out;
  int32_t pos = static_cast<int32_t>(prompt.size());
  for (int i = 0; i < n; ++i) {
    auto r = e.Forward(b);
    EXPECT_TRUE(r.ok()) << r.status().message();
    if (!r.ok()) break;
    const float* row = r->data();
    const int32_t next = static_cast<int32_t>(std::max_element(row, row + V) - row);
    out.push_back(next);
    b.Clear();
    b.Add(next, pos++, 0, true);
  }
  e.kv().Free(0);
  return out;
}

class ForwardReferenceTest : public ::testing::TestWithParam<Case> {};

TEST_P(ForwardReferenceTest, MatchesTransformers) {
  const Case& c = GetParam();
  const std::string ref_path = testing::SourcePath("tests/fixtures/models/" + c.arch + "-" + c.preset + ".ref");
  auto ref = testing::ReadReferenceFile(ref_path);
  ASSERT_TRUE(ref.ok()) << ref.status().message();
  const std::string regenerate = "regenerate with: " + ref->Regenerate();
  const std::string dir = Synth(c);
  const std::vector<int32_t> input = Ids(ref->header["input_ids"]);
  const std::vector<int32_t> greedy_ref = Ids(ref->header["greedy_ids"]);
  const testing::RefTensor* logits_ref = ref->Find("logits");
  ASSERT_NE(logits_ref, nullptr);

  // deepseek2: both forms of MLA attention, each for prefill and decode alike.
  const std::vector<MlaForm> forms = c.arch == "deepseek2" ? std::vector<MlaForm>{MlaForm::kAbsorbed, MlaForm::kDecompressed}
                                                           : std::vector<MlaForm>{MlaForm::kAuto};
  std::vector<std::pair<std::string, MlaForm>> runs;
  for (MlaForm form : forms) {
    for (const std::string& path : {dir, dir + "/gguf/model-f32.gguf"}) runs.emplace_back(path, form);
  }
  for (const auto& [path, form] : runs) {
    SCOPED_TRACE(path + (form == MlaForm::kDecompressed ? " (MLA decompressed)" : ""));
    Loaded l = Load(path, std::nullopt, kernels::QuantEffort::kFast, form);
    ASSERT_TRUE(l.engine);
    const int n_layers = l.model->config().n_layers;
    // V3's MTP layers are recognised (HF config / GGUF key) and skipped.
    EXPECT_EQ(l.model->config().mtp_layers, c.preset == "tiny-v3-fp8" && path == dir ? 1 : 0);
    std::map<int, std::vector<float>> hidden;
    const std::vector<float> logits = PromptLogits(*l.engine, input, &hidden);
    // MoE: every layer routed every prompt token to the experts transformers' router chose
    // (compared as per-expert counts: the engine's selection counters).
    const std::span<const uint64_t> counts = l.engine->expert_counts();
    const int n_experts = l.model->config().moe.n_experts;
    for (int layer = 0; layer < n_layers; ++layer) {
      const testing::RefTensor* chosen = ref->Find("experts." + std::to_string(layer));
      if (chosen == nullptr) continue;
      std::vector<uint64_t> want(n_experts, 0);
      for (float id : chosen->data) ++want[static_cast<int>(id)];
      const std::vector<uint64_t> got(counts.begin() + static_cast<size_t>(layer) * n_experts,
                                      counts.begin() + static_cast<size_t>(layer + 1) * n_experts);
      EXPECT_EQ(got, want) << "experts chosen in layer " << layer;
    }
    ASSERT_EQ(logits.size(), logits_ref->data.size());
    EXPECT_LE(MaxRelativeError(logits.data(), logits_ref->data.data(), logits.size()), 1e-4) << regenerate;
    // transformers' hidden.0 is the embedding output, hidden.i the residual after layer i, and the
    // last one is after the final norm (our observer's index n_layers + 1).
    for (int i = 0; i <= n_layers; ++i) {
      const testing::RefTensor* h = ref->Find("hidden." + std::to_string(i));
      ASSERT_NE(h, nullptr);
      const std::vector<float>& ours = hidden[i == n_layers ? n_layers + 1 : i];
      ASSERT_EQ(ours.size(), h->data.size()) << "hidden." << i;
      EXPECT_LE(MaxRelativeError(ours.data(), h->data.data(), ours.size()), 1e-4) << "hidden." << i << "; " << regenerate;
    }
    EXPECT_EQ(Greedy(*l.engine, input, static_cast<int>(greedy_ref.size())), greedy_ref) << regenerate;

    const nlohmann::json& ppl = ref->header["perplexity"];
    const std::vector<int32_t> text_ids = Ids(ppl["token_ids"]);
    auto r = ComputePerplexity(*l.engine, nullptr, text_ids, ppl["ctx"].get<int64_t>());
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_NEAR(r->perplexity / ppl["perplexity"].get<double>(), 1.0, 1e-4) << regenerate;
  }
}

// Quantized GGUF variants against the F32 GGUF on the perplexity text: F16 and Q8_0 must agree on
// the top token almost everywhere; Q4_K's cost is reported. Random weights make this a hard test:
// with std 0.02 the output distribution is nearly uniform (perplexity ≈ vocabulary size), so at
// some positions the top two tokens differ by less than Q8_0's rounding moves them (Q8_0 agrees at
// 95.6–99.2 % of positions; larger std does not help: the network becomes chaotic and amplifies
// rounding). So the bounds are on KL divergence, which does not depend on near-ties, plus top-1
// agreement floors that these models meet with margin; trained models are measured by
// `enclave perplexity --kl-base` (bench/RESULTS.md).
TEST_P(ForwardReferenceTest, QuantizedVariantsAgreeWithF32) {
  const Case& c = GetParam();
  const std::string ref_path = testing::SourcePath("tests/fixtures/models/" + c.arch + "-" + c.preset + ".ref");
  auto ref = testing::ReadReferenceFile(ref_path);
  ASSERT_TRUE(ref.ok()) << ref.status().message();
  const std::string dir = Synth(c);
  const nlohmann::json& ppl = ref->header["perplexity"];
  const std::vector<int32_t> text_ids = Ids(ppl["token_ids"]);
  const int64_t ctx = ppl["ctx"].get<int64_t>();
  Loaded base = Load(dir + "/gguf/model-f32.gguf");
  ASSERT_TRUE(base.engine);
  struct Bound {
    std::string variant;
    double min_top1, max_kl;
  };
  // MoE models are more sensitive: a rounding that flips an expert choice changes the output by a
  // whole expert (and V2's routed_scaling_factor of 16 amplifies the routed experts).
  const std::vector<Bound> bounds =
      c.arch == "deepseek2"
          ? std::vector<Bound>{{"f16", 0.99, 1e-5}, {"q8_0", 0.9, 1e-3}, {"q4_k", 0.5, 3e-2}}
          : std::vector<Bound>{{"f16", 0.99, 1e-6}, {"q8_0", 0.93, 1e-4}, {"q4_k", 0.6, 1e-2}};
  for (const auto& [variant, min_top1, max_kl] : bounds) {
    SCOPED_TRACE(variant);
    Loaded q = Load(dir + "/gguf/model-" + variant + ".gguf");
    ASSERT_TRUE(q.engine);
    auto r = ComputePerplexity(*q.engine, base.engine.get(), text_ids, ctx);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_GE(r->top1_agreement, min_top1);
    EXPECT_LE(r->kl_mean, max_kl);
    EXPECT_GT(r->kl_mean, 0.0);  // a quantized model that equals F32 exactly would mean F32 was not loaded
    RecordProperty(variant + "_kl_mean", std::to_string(r->kl_mean));
    std::printf("%s-%s %s: KL %.3g, top-1 agreement %.4f, perplexity %.4f\n", c.arch.c_str(), c.preset.c_str(),
                variant.c_str(), r->kl_mean, r->top1_agreement, r->perplexity);
    if (variant == "f16") continue;
    const DType qtype = variant == "q8_0" ? DType::kQ8_0 : DType::kQ4_K;
    // The same quantization done while loading the HF directory (--quantize) with the full search
    // gives the same weights as the GGUF variant (llama's Q/K rows are permuted there, so float
    // rounding differs slightly). Not for deepseek2: its GGUF stores W_UK/W_UV split and re-laid
    // out (attn_k_b, attn_v_b), quantized apart from the HF directory's kv_b_proj.
    if (c.arch != "deepseek2") {
      Loaded hq = Load(dir, qtype, kernels::QuantEffort::kBest);
      ASSERT_TRUE(hq.engine);
      EXPECT_EQ(hq.model->layers()[0].wq.type, qtype);
      auto rq = ComputePerplexity(*hq.engine, q.engine.get(), text_ids, ctx);
      ASSERT_TRUE(rq.ok()) << rq.status().message();
      EXPECT_LT(rq->kl_mean, 1e-6) << "HF --quantize " << variant << " differs from the GGUF " << variant;
    }
    // The default on-load search (QuantEffort::kFast) stays within the variant's bounds and, where
    // the HF and GGUF weights are laid out alike (not deepseek2, see above), near the full search:
    // at most 15 % more KL against F32.
    Loaded fq = Load(dir, qtype, kernels::QuantEffort::kFast);
    ASSERT_TRUE(fq.engine);
    auto rf = ComputePerplexity(*fq.engine, base.engine.get(), text_ids, ctx);
    ASSERT_TRUE(rf.ok()) << rf.status().message();
    EXPECT_GE(rf->top1_agreement, min_top1);
    EXPECT_LE(rf->kl_mean, c.arch == "deepseek2" ? max_kl : std::min(max_kl, r->kl_mean * 1.15))
        << "fast on-load " << variant << " vs GGUF " << r->kl_mean;
    std::printf("%s-%s %s fast on-load: KL %.3g, top-1 agreement %.4f\n", c.arch.c_str(), c.preset.c_str(),
                variant.c_str(), rf->kl_mean, rf->top1_agreement);
    RecordProperty(variant + "_top1_agreement", std::to_string(r->top1_agreement));
  }
}

INSTANTIATE_TEST_SUITE_P(Presets, ForwardReferenceTest, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           std::string name = info.param.arch + "_" + info.param.preset;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace
}  // namespace enclave
