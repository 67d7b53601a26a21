// Engine behaviour the server's batching will rely on: a batch mixing sequences gives each the
// logits it would get alone; a forked prefix gives the same logits as recomputing it; chunked
// prefill equals one big batch; bad batches and a full KV pool are errors that change nothing.
#include <gtest/gtest.h>

#include <cmath>

#include "model/model.h"
#include "runtime/engine.h"
#include "synth_models.h"

namespace enclave {
namespace {

// F16 weights take f32 activations: with Q8_0 weights, the 8-bit rounding of activations turns the
// last-bit differences between the batched (panel GEMM) and single-token kernels into whole
// quantization steps, and "batched == token by token" could only be checked loosely.
const Model& TinyModel() {
  static std::unique_ptr<Model> model = testing::LoadSynthModel("qwen2", "tiny", 7);
  return *model;
}

std::unique_ptr<Engine> MakeEngine(int64_t kv_tokens = 1024, DType kv_type = DType::kF16) {
  EngineOptions o;
  o.kv_type = kv_type;
  o.threads = 2;
  o.context = 128;
  o.kv_tokens = kv_tokens;
  auto e = Engine::Create(TinyModel(), o);
  EXPECT_TRUE(e.ok()) << e.status().message();
  return std::move(*e);
}

std::vector<int32_t> Tokens(int n, int salt) {
  std::vector<int32_t> t;
  for (int i = 0; i < n; ++i) t.push_back((i * 37 + salt * 11 + 5) % 500);
  return t;
}

// Logits of the last token after running `tokens` as sequence `seq` in chunks of `chunk`.
std::vector<float> RunAlone(Engine& e, const std::vector<int32_t>& tokens, int32_t seq, int chunk) {
  std::vector<float> last;
  for (size_t begin = 0; begin < tokens.size(); begin += chunk) {
    Batch b;
    const size_t end = std::min(tokens.size(), begin + chunk);
    for (size_t i = begin; i < end; ++i) b.Add(tokens[i], static_cast<int32_t>(i), seq, i + 1 == tokens.size());
    auto r = e.Forward(b);
    EXPECT_TRUE(r.ok()) << r.status().message();
    if (r.ok() && !r->empty()) last.assign(r->begin(), r->end());
  }
  return last;
}

void ExpectClose(const std::vector<float>& a, const std::vector<float>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 1e-5f * (1 + std::abs(b[i]))) << "at " << i;
}

TEST(EngineTest, ChunkedPrefillEqualsOneBatchAndTokenByToken) {
  auto e = MakeEngine();
  const auto t = Tokens(40, 1);
  const auto whole = RunAlone(*e, t, 1, 64);
  const auto chunked = RunAlone(*e, t, 2, 7);
  const auto single = RunAlone(*e, t, 3, 1);
  ExpectClose(chunked, whole);
  ExpectClose(single, whole);
}

TEST(EngineTest, MixedBatchGivesEachSequenceItsOwnLogits) {
  auto e = MakeEngine();
  const auto a = Tokens(20, 2), b = Tokens(9, 3);
  const auto alone_a = RunAlone(*e, a, 10, 64);
  const auto alone_b = RunAlone(*e, b, 11, 64);
  // Sequence 20 prefills all of `a` while sequence 21, already holding b[0..7], decodes b[8].
  RunAlone(*e, std::vector<int32_t>(b.begin(), b.end() - 1), 21, 64);
  Batch mixed;
  for (size_t i = 0; i < a.size(); ++i) mixed.Add(a[i], static_cast<int32_t>(i), 20, i + 1 == a.size());
  mixed.Add(b.back(), static_cast<int32_t>(b.size() - 1), 21, true);
  auto r = e->Forward(mixed);
  ASSERT_TRUE(r.ok()) << r.status().message();
  const size_t v = TinyModel().config().n_vocab;
  ASSERT_EQ(r->size(), 2 * v);
  ExpectClose(std::vector<float>(r->begin(), r->begin() + v), alone_a);
  ExpectClose(std::vector<float>(r->begin() + v, r->end()), alone_b);
}

// deepseek2 (MLA + MoE): a mixed batch (one sequence prefilling, one decoding) gives each sequence
// the logits it gets alone, with MLA attention in the absorbed form, in the decompressed form
// (whose context rows then come from two sequences), and across the two forms.
TEST(EngineTest, DeepseekMixedBatchInBothMlaForms) {
  static std::unique_ptr<Model> model = testing::LoadSynthModel("deepseek2", "tiny-v3", 7);
  ASSERT_NE(model, nullptr);
  auto make = [&](MlaForm form) {
    EngineOptions o;
    o.threads = 2;
    o.context = 128;
    o.kv_tokens = 1024;
    o.mla_form = form;
    auto e = Engine::Create(*model, o);
    EXPECT_TRUE(e.ok()) << e.status().message();
    return std::move(*e);
  };
  const auto a = Tokens(40, 4), b = Tokens(12, 5);
  const size_t v = model->config().n_vocab;
  std::vector<float> reference_a, reference_b;
  for (MlaForm form : {MlaForm::kAbsorbed, MlaForm::kDecompressed}) {
    SCOPED_TRACE(form == MlaForm::kAbsorbed ? "absorbed" : "decompressed");
    auto e = make(form);
    const auto alone_a = RunAlone(*e, a, 1, 64);
    const auto alone_b = RunAlone(*e, b, 2, 64);
    RunAlone(*e, std::vector<int32_t>(b.begin(), b.end() - 1), 4, 5);  // chunked, then decode below
    Batch mixed;
    for (size_t i = 0; i < a.size(); ++i) mixed.Add(a[i], static_cast<int32_t>(i), 3, i + 1 == a.size());
    mixed.Add(b.back(), static_cast<int32_t>(b.size() - 1), 4, true);
    auto r = e->Forward(mixed);
    ASSERT_TRUE(r.ok()) << r.status().message();
    ASSERT_EQ(r->size(), 2 * v);
    ExpectClose(std::vector<float>(r->begin(), r->begin() + v), alone_a);
    ExpectClose(std::vector<float>(r->begin() + v, r->end()), alone_b);
    if (reference_a.empty()) {
      reference_a = alone_a;
      reference_b = alone_b;
      continue;
    }
    // The two forms compute the same function; their sums run in different orders.
    for (size_t i = 0; i < v; ++i) {
      ASSERT_NEAR(alone_a[i], reference_a[i], 1e-4f * (1 + std::abs(reference_a[i]))) << "at " << i;
      ASSERT_NEAR(alone_b[i], reference_b[i], 1e-4f * (1 + std::abs(reference_b[i]))) << "at " << i;
    }
  }
}

TEST(EngineTest, ForkedPrefixMatchesRecomputation) {
  auto e = MakeEngine();
  const auto prefix = Tokens(35, 4);  // crosses two 16-token blocks and ends inside a third
  auto full = prefix;
  full.push_back(123);
  full.push_back(45);
  const auto expected = RunAlone(*e, full, 30, 64);
  RunAlone(*e, prefix, 31, 64);
  ASSERT_TRUE(e->kv().Fork(31, 32, 35).ok());
  Batch b;
  b.Add(123, 35, 32, false);
  b.Add(45, 36, 32, true);
  auto r = e->Forward(b);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ExpectClose(std::vector<float>(r->begin(), r->end()), expected);
  // The fork wrote into the shared third block, so that block was copied; the first two are shared.
  EXPECT_NE(e->kv().Blocks(31)[2], e->kv().Blocks(32)[2]);
  EXPECT_EQ(e->kv().Blocks(31)[0], e->kv().Blocks(32)[0]);
  // And the source still continues correctly from its own, unmodified third block.
  Batch c;
  c.Add(123, 35, 31, false);
  c.Add(45, 36, 31, true);
  auto r2 = e->Forward(c);
  ASSERT_TRUE(r2.ok()) << r2.status().message();
  ExpectClose(std::vector<float>(r2->begin(), r2->end()), expected);
}

// The F16 cache (the default) stays within F16 rounding of the exact F32 cache.
TEST(EngineTest, F16KvCacheIsCloseToF32) {
  auto e16 = MakeEngine(1024, DType::kF16);
  auto e32 = MakeEngine(1024, DType::kF32);
  EXPECT_EQ(e16->kv().bytes() * 2, e32->kv().bytes());
  const auto t = Tokens(50, 6);
  const auto a = RunAlone(*e16, t, 1, 16), b = RunAlone(*e32, t, 1, 16);
  ASSERT_EQ(a.size(), b.size());
  double max_diff = 0, max_ref = 0, any_diff = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    max_diff = std::max<double>(max_diff, std::abs(a[i] - b[i]));
    max_ref = std::max<double>(max_ref, std::abs(b[i]));
    any_diff += a[i] != b[i];
  }
  EXPECT_LT(max_diff / max_ref, 2e-2);  // measured 8e-3: F16 rounding of every key and value
  EXPECT_GT(any_diff, 0);  // the two caches really differ
}

TEST(EngineTest, BadBatchesAreErrors) {
  auto e = MakeEngine();
  Batch b;
  b.Add(100000, 0, 1, true);
  EXPECT_FALSE(e->Forward(b).ok());  // token outside the vocabulary
  b.Clear();
  b.Add(1, 5, 1, true);
  EXPECT_FALSE(e->Forward(b).ok());  // gap: the sequence holds 0 tokens
  b.Clear();
  b.Add(1, 128, 1, true);
  EXPECT_FALSE(e->Forward(b).ok());  // beyond the context
  EXPECT_FALSE(e->kv().Has(1));
}

TEST(EngineTest, FullKvPoolIsAnErrorAndLeavesOtherSequencesIntact) {
  auto e = MakeEngine(/*kv_tokens=*/32);  // two blocks
  const auto t = Tokens(20, 5);
  const auto before = RunAlone(*e, t, 1, 64);
  Batch b;
  for (int i = 0; i < 20; ++i) b.Add(t[i], i, 2, i == 19);
  auto r = e->Forward(b);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("KV cache full"), std::string::npos);
  EXPECT_FALSE(e->kv().Has(2));
  EXPECT_EQ(e->kv().Length(1), 20);
}

}  // namespace
}  // namespace enclave
