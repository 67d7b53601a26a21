#include "model/arch/deepseek2.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace enclave {
namespace {

float* Grow(std::vector<float>& v, int64_t size) {
  if (static_cast<int64_t>(v.size()) < size) v.resize(size);
  return v.data();
}

// dst [n, width] = columns [col0, col0 + width) of src [n, stride].
void Gather(const float* src, int64_t n, int64_t stride, int64_t col0, int64_t width, float* dst) {
  for (int64_t t = 0; t < n; ++t) std::copy_n(src + t * stride + col0, width, dst + t * width);
}

// Columns [col0, col0 + width) of dst [n, stride] = src [n, width].
void Scatter(const float* src, int64_t n, int64_t width, float* dst, int64_t stride, int64_t col0) {
  for (int64_t t = 0; t < n; ++t) std::copy_n(src + t * width, width, dst + t * stride + col0);
}

void RunFfn(Backend& be, const FfnWeights& f, const float* x, int64_t n, float* gate, float* up, float* out) {
  const kernels::WeightMatrix* gate_up[] = {&f.gate, &f.up};
  float* gate_up_out[] = {gate, up};
  be.MatMulShared(gate_up, x, n, gate_up_out);
  be.SiluMul(gate, up, n * f.gate.rows);
  be.MatMul(f.down, gate, n, out);
}

// Keeps the topk_group groups with the highest group scores; experts of the other groups get
// `masked` in `choice`.
void MaskGroups(const MoeConfig& moe, const std::vector<float>& group_score, float masked, std::vector<float>& choice) {
  const int per_group = moe.n_experts / moe.n_group;
  std::vector<int> groups(moe.n_group);
  std::iota(groups.begin(), groups.end(), 0);
  std::stable_sort(groups.begin(), groups.end(), [&](int a, int b) { return group_score[a] > group_score[b]; });
  for (int g = moe.topk_group; g < moe.n_group; ++g) {
    std::fill_n(choice.begin() + groups[g] * per_group, per_group, masked);
  }
}

// For every head h and token t: out[t][h][0..rows) = mats[h] · in[t][h][0..width), where `in` rows
// hold the heads `in_head` apart and `out` rows `out_head` apart (mats[h].rows values each). One
// pool dispatch for a single token (decode); per-head GEMMs over gathered columns for a batch.
void PerHeadProducts(Backend& be, DeepseekScratch& s, const std::vector<kernels::WeightMatrix>& mats, const float* in,
                     int64_t in_head, int64_t width, float* out, int64_t out_head, int64_t n, float* head_in,
                     float* head_out) {
  const int64_t H = static_cast<int64_t>(mats.size());
  if (n == 1) {
    s.tasks.clear();
    for (int64_t h = 0; h < H; ++h) s.tasks.push_back({&mats[h], in + h * in_head, out + h * out_head});
    be.MatVecMany(s.tasks);
    return;
  }
  for (int64_t h = 0; h < H; ++h) {
    Gather(in, n, H * in_head, h * in_head, width, head_in);
    be.MatMul(mats[h], head_in, n, head_out);
    Scatter(head_out, n, mats[h].rows, out, H * out_head, h * out_head);
  }
}

// The context rows a forward pass decompresses (the non-absorbed form), when it does.
struct DecompressionPlan {
  struct Seq {
    int32_t seq;
    int64_t row0, count;  // rows [row0, row0 + count) hold positions 0..count-1
  };
  bool decompress = false;
  int64_t rows = 0;
  std::vector<Seq> seqs;
  std::vector<int64_t> token_row0;  // [n_tokens]: the first row of the token's sequence
};

DecompressionPlan PlanDecompression(const ModelConfig& c, const Batch& batch, MlaForm form) {
  DecompressionPlan plan;
  const int64_t n = batch.size();
  if (form == MlaForm::kAbsorbed || (form == MlaForm::kAuto && n < 2)) return plan;
  int64_t pairs = 0;
  for (int64_t t = 0; t < n; ++t) {
    const int32_t seq = batch.seq_ids[t], pos = batch.positions[t];
    pairs += pos + 1;
    auto it = std::find_if(plan.seqs.begin(), plan.seqs.end(), [&](const auto& s) { return s.seq == seq; });
    if (it == plan.seqs.end()) {
      plan.seqs.push_back({seq, 0, pos + 1});
    } else {
      it->count = std::max<int64_t>(it->count, pos + 1);
    }
  }
  for (auto& s : plan.seqs) {
    s.row0 = plan.rows;
    plan.rows += s.count;
  }
  const MlaConfig& a = c.mla;
  const int64_t bytes = static_cast<int64_t>(sizeof(float)) * plan.rows *
                        (a.cache_dim() + a.kv_lora_rank + c.n_heads * (a.qk_nope_head_dim + a.qk_head_dim() + a.v_head_dim));
  plan.decompress = form == MlaForm::kDecompressed ||
                    (pairs >= kDecompressMinPairsPerRow * plan.rows && bytes <= kDecompressMaxBytes);
  if (!plan.decompress) return plan;
  plan.token_row0.resize(n);
  for (int64_t t = 0; t < n; ++t) {
    for (const auto& s : plan.seqs) {
      if (s.seq == batch.seq_ids[t]) plan.token_row0[t] = s.row0;
    }
  }
  return plan;
}

// What both MLA forms pass to the attention kernel alike: the batch's queries, positions and
// sequences, the layer's cache, the softmax scale.
AttentionArgs BatchAttention(const Model& model, KvCache& kv, const Batch& batch, int l, const float* q) {
  AttentionArgs args;
  args.layer = l;
  args.n_tokens = batch.size();
  args.q = q;
  args.positions = batch.positions.data();
  args.seq_ids = batch.seq_ids.data();
  args.scale = model.config().attn_scale;
  args.kv = &kv;
  return args;
}

// MLA in the absorbed form: queries [W_UK[h]ᵀ q_nope ; q_pe] against the cached latent rows (one
// key head of kv_lora + rope, its value the latent), then W_UV[h] on each head's latent output.
// Writes o [n, H * v_head].
void AbsorbedAttention(const Model& model, Backend& be, KvCache& kv, const Batch& batch, int l, const float* q,
                       const float* qpe, DeepseekScratch& s, float* o) {
  const ModelConfig& c = model.config();
  const MlaConfig& a = c.mla;
  const DeepseekLayerWeights& w = model.deepseek_layers()[l];
  const int64_t n = batch.size();
  const int64_t H = c.n_heads, QK = a.qk_head_dim(), CD = a.cache_dim();
  const int64_t nope = a.qk_nope_head_dim, rope = a.qk_rope_head_dim, kvl = a.kv_lora_rank, vh = a.v_head_dim;
  float* qfull = Grow(s.qfull, n * H * CD);
  float* head_in = Grow(s.head_in, n * std::max(nope, kvl));
  float* head_out = Grow(s.head_out, n * std::max(kvl, vh));
  float* latent = Grow(s.latent, n * H * kvl);
  for (int64_t t = 0; t < n * H; ++t) std::copy_n(qpe + t * rope, rope, qfull + t * CD + kvl);
  PerHeadProducts(be, s, w.wk_b_t, q, QK, nope, qfull, CD, n, head_in, head_out);
  AttentionArgs args = BatchAttention(model, kv, batch, l, qfull);
  args.n_heads = static_cast<int>(H);
  args.n_kv_heads = 1;
  args.head_dim = static_cast<int>(rope);
  args.k_dim = static_cast<int>(CD);
  args.v_dim = static_cast<int>(kvl);
  args.values_in_keys = true;
  args.out = latent;
  be.Attention(args);
  PerHeadProducts(be, s, w.wv_b, latent, kvl, kvl, o, vh, n, head_in, head_out);
}

// MLA in the non-absorbed form, for long prefills (see DecompressionPlan): every context row of the
// batch's sequences is decompressed from the cached latent into per-head keys [W_UK[h] c ; k_pe]
// and values W_UV[h] c, then it is ordinary multi-head attention with keys of qk_nope + qk_rope
// and values of v_head. The same function as the absorbed form; about a third of its attention
// arithmetic per (query, key) pair, plus the decompression, which is linear in the context.
void DecompressedAttention(const Model& model, Backend& be, KvCache& kv, const Batch& batch,
                           const DecompressionPlan& plan, int l, const float* q, const float* qpe, DeepseekScratch& s,
                           float* o) {
  const ModelConfig& c = model.config();
  const MlaConfig& a = c.mla;
  const DeepseekLayerWeights& w = model.deepseek_layers()[l];
  const int64_t n = batch.size(), R = plan.rows;
  const int64_t H = c.n_heads, QK = a.qk_head_dim(), CD = a.cache_dim();
  const int64_t nope = a.qk_nope_head_dim, rope = a.qk_rope_head_dim, kvl = a.kv_lora_rank, vh = a.v_head_dim;
  float* rows = Grow(s.ctx_rows, R * CD);
  for (const auto& [seq, row0, count] : plan.seqs) be.LoadKeys(kv, l, seq, count, rows + row0 * CD);
  float* latent = Grow(s.ctx_latent, R * kvl);
  Gather(rows, R, CD, 0, kvl, latent);
  float* knope = Grow(s.ctx_knope, H * R * nope);
  float* keys = Grow(s.ctx_keys, H * R * QK);
  float* values = Grow(s.ctx_values, H * R * vh);
  s.mats.clear();
  s.outs.clear();
  for (int64_t h = 0; h < H; ++h) {
    s.mats.push_back(&w.wk_b[h]);
    s.outs.push_back(knope + h * R * nope);
    s.mats.push_back(&w.wv_b[h]);
    s.outs.push_back(values + h * R * vh);
  }
  be.MatMulShared(s.mats, latent, R, s.outs);
  for (int64_t h = 0; h < H; ++h) {
    for (int64_t r = 0; r < R; ++r) {
      float* key = keys + (h * R + r) * QK;
      std::copy_n(knope + (h * R + r) * nope, nope, key);
      std::copy_n(rows + r * CD + kvl, rope, key + nope);
    }
  }
  float* qfull = Grow(s.qfull, n * H * QK);
  for (int64_t t = 0; t < n * H; ++t) {
    std::copy_n(q + t * QK, nope, qfull + t * QK);
    std::copy_n(qpe + t * rope, rope, qfull + t * QK + nope);
  }
  AttentionArgs args = BatchAttention(model, kv, batch, l, qfull);
  args.n_heads = static_cast<int>(H);
  args.n_kv_heads = static_cast<int>(H);
  args.head_dim = static_cast<int>(QK);
  args.k_dim = static_cast<int>(QK);
  args.v_dim = static_cast<int>(vh);
  args.ext_k = keys;
  args.ext_v = values;
  args.ext_rows = R;
  args.ext_row0 = plan.token_row0.data();
  args.out = o;
  be.Attention(args);
}

// One token's MoE block (decode): the gate and up projections of its top_k experts and the shared
// experts in one pass, one SwiGLU over all of them, the down projections in one pass, then the
// weighted sum. Adds up in the same order as the batched path (experts by id, then shared), so
// a token gives the same result alone as in a batch.
void DecodeExperts(Backend& be, const DeepseekLayerWeights& w, const MoeConfig& moe, DeepseekScratch& s,
                   const float* xn, int64_t E, float* out) {
  const int K = moe.top_k;
  std::vector<const FfnWeights*> ffns;
  for (int k = 0; k < K; ++k) {
    const int e = s.expert_ids[k];
    ffns.push_back(&w.experts[e]);
    s.expert_counts[s.layer_offset + e] += 1;
  }
  if (moe.n_shared > 0) ffns.push_back(&w.shared);
  int64_t total_ff = 0;
  for (const FfnWeights* f : ffns) total_ff += f->gate.rows;
  // Own buffers: the forward pass holds pointers into s.gate / s.up.
  float* gate = Grow(s.token_gate, total_ff);
  float* up = Grow(s.token_up, total_ff);
  float* down = Grow(s.token_down, static_cast<int64_t>(ffns.size()) * E);
  s.mats.clear();
  s.outs.clear();
  int64_t offset = 0;
  for (const FfnWeights* f : ffns) {
    s.mats.push_back(&f->gate);
    s.outs.push_back(gate + offset);
    s.mats.push_back(&f->up);
    s.outs.push_back(up + offset);
    offset += f->gate.rows;
  }
  be.MatMulShared(s.mats, xn, 1, s.outs);
  be.SiluMul(gate, up, total_ff);
  s.tasks.clear();
  offset = 0;
  for (size_t i = 0; i < ffns.size(); ++i) {
    s.tasks.push_back({&ffns[i]->down, gate + offset, down + static_cast<int64_t>(i) * E});
    offset += ffns[i]->gate.rows;
  }
  be.MatVecMany(s.tasks);
  std::fill_n(out, E, 0.0f);
  for (int k = 0; k < K; ++k) {
    const float wk = s.expert_weights[k];
    const float* src = down + k * E;
    for (int64_t j = 0; j < E; ++j) out[j] += wk * src[j];
  }
  if (moe.n_shared > 0) be.Add(out, down + K * E, E);
}

}  // namespace

void RouteTokens(const MoeConfig& moe, const float* logits, std::span<const float> bias, int64_t n, int32_t* ids,
                 float* weights) {
  const int E = moe.n_experts, K = moe.top_k, per_group = E / moe.n_group;
  std::vector<float> scores(E), choice(E), group_score(moe.n_group);
  std::vector<int> order(E);
  for (int64_t t = 0; t < n; ++t) {
    const float* l = logits + t * E;
    if (moe.scoring == MoeScoring::kSoftmax) {
      const float m = *std::max_element(l, l + E);
      double sum = 0;
      for (int e = 0; e < E; ++e) sum += std::exp(static_cast<double>(l[e]) - m);
      for (int e = 0; e < E; ++e) scores[e] = static_cast<float>(std::exp(static_cast<double>(l[e]) - m) / sum);
    } else {
      for (int e = 0; e < E; ++e) scores[e] = static_cast<float>(1.0 / (1.0 + std::exp(-static_cast<double>(l[e]))));
    }
    choice = scores;
    switch (moe.method) {
      case MoeTopk::kGreedy:
        break;
      case MoeTopk::kGroupLimitedGreedy:  // group score: its best expert; masked experts score 0
        for (int g = 0; g < moe.n_group; ++g) {
          group_score[g] = *std::max_element(choice.begin() + g * per_group, choice.begin() + (g + 1) * per_group);
        }
        MaskGroups(moe, group_score, 0.0f, choice);
        break;
      case MoeTopk::kNoauxTc:  // selection on score + bias; group score: sum of its best two
        for (int e = 0; e < E; ++e) choice[e] += bias[e];
        for (int g = 0; g < moe.n_group; ++g) {
          float best = -std::numeric_limits<float>::infinity(), second = best;
          for (int e = g * per_group; e < (g + 1) * per_group; ++e) {
            if (choice[e] > best) {
              second = best;
              best = choice[e];
            } else if (choice[e] > second) {
              second = choice[e];
            }
          }
          group_score[g] = best + (per_group > 1 ? second : 0.0f);
        }
        MaskGroups(moe, group_score, -std::numeric_limits<float>::infinity(), choice);
        break;
    }
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + K, order.end(),
                      [&](int a, int b) { return choice[a] > choice[b] || (choice[a] == choice[b] && a < b); });
    std::sort(order.begin(), order.begin() + K);
    float sum = 0;
    for (int k = 0; k < K; ++k) sum += scores[order[k]];  // the unbiased scores weigh the experts
    for (int k = 0; k < K; ++k) {
      float w = scores[order[k]];
      if (moe.norm_topk) w /= sum + 1e-20f;
      ids[t * K + k] = order[k];
      weights[t * K + k] = w * moe.routed_scale;
    }
  }
}

void DeepseekForward(const Model& model, Backend& be, KvCache& kv, const Batch& batch, DeepseekScratch& s,
                     float* logits, const HiddenObserver& observer) {
  const ModelConfig& c = model.config();
  const MlaConfig& a = c.mla;
  const MoeConfig& moe = c.moe;
  const int64_t n = batch.size();
  const int64_t E = c.n_embd, H = c.n_heads, QK = a.qk_head_dim(), CD = a.cache_dim();
  const int64_t nope = a.qk_nope_head_dim, rope = a.qk_rope_head_dim, kvl = a.kv_lora_rank, vh = a.v_head_dim;
  const int64_t ff = std::max<int64_t>({c.n_ff, static_cast<int64_t>(moe.n_ff_expert) * std::max(1, moe.n_shared)});
  float* x = Grow(s.x, n * E);
  float* xn = Grow(s.xn, n * E);
  float* cq = Grow(s.cq, n * std::max(1, a.q_lora_rank));
  float* q = Grow(s.q, n * H * QK);
  float* kva = Grow(s.kva, n * CD);
  float* rows = Grow(s.cache_rows, n * CD);
  float* qpe = Grow(s.qpe, n * H * rope);
  float* head_in = Grow(s.head_in, n * std::max({nope, kvl, E}));
  float* head_out = Grow(s.head_out, n * std::max({kvl, vh, E}));
  float* o = Grow(s.o, n * H * vh);
  float* proj = Grow(s.proj, n * E);
  float* gate = Grow(s.gate, n * ff);
  float* up = Grow(s.up, n * ff);
  if (s.expert_counts.size() != static_cast<size_t>(c.n_layers) * moe.n_experts) {
    s.expert_counts.assign(static_cast<size_t>(c.n_layers) * moe.n_experts, 0);
  }

  const DecompressionPlan plan = PlanDecompression(c, batch, s.mla_form);
  be.Embed(model.token_embd(), batch.tokens.data(), n, x);
  if (observer) observer(0, x, n);
  for (int l = 0; l < c.n_layers; ++l) {
    const DeepseekLayerWeights& w = model.deepseek_layers()[l];
    s.layer_offset = static_cast<size_t>(l) * moe.n_experts;
    // --- MLA ---
    be.RmsNorm(x, w.attn_norm, c.rms_eps, n, xn);
    if (a.q_lora_rank > 0) {
      be.MatMul(w.wq_a, xn, n, cq);
      be.RmsNorm(cq, w.q_a_norm, c.rms_eps, n, cq);
      be.MatMul(w.wq_b, cq, n, q);
    } else {
      be.MatMul(w.wq, xn, n, q);
    }
    be.MatMul(w.wkv_a, xn, n, kva);
    // Cache row: [RMSNorm(c_kv) ; RoPE(k_pe)].
    Gather(kva, n, CD, 0, kvl, head_in);
    be.RmsNorm(head_in, w.kv_a_norm, c.rms_eps, n, head_in);
    Scatter(head_in, n, kvl, rows, CD, 0);
    Gather(kva, n, CD, kvl, rope, head_out);
    be.Rope(head_out, n, 1, static_cast<int>(rope), batch.positions.data(), c.rope.style, model.rope_inv_freq());
    Scatter(head_out, n, rope, rows, CD, kvl);
    be.StoreKv(kv, l, rows, nullptr, n, batch.positions.data(), batch.seq_ids.data());
    // Query of head h: [W_UK[h]ᵀ q_nope ; RoPE(q_pe)]. The rope parts of all heads are rotated in
    // one call ([n, H, rope]).
    for (int64_t t = 0; t < n * H; ++t) std::copy_n(q + t * QK + nope, rope, qpe + t * rope);
    be.Rope(qpe, n, static_cast<int>(H), static_cast<int>(rope), batch.positions.data(), c.rope.style,
            model.rope_inv_freq());
    if (plan.decompress) {
      DecompressedAttention(model, be, kv, batch, plan, l, q, qpe, s, o);
    } else {
      AbsorbedAttention(model, be, kv, batch, l, q, qpe, s, o);
    }
    be.MatMul(w.wo, o, n, proj);
    be.Add(x, proj, n * E);

    // --- FFN: dense or mixture of experts ---
    be.RmsNorm(x, w.ffn_norm, c.rms_eps, n, xn);
    if (l < moe.first_dense) {
      RunFfn(be, w.dense, xn, n, gate, up, proj);
      be.Add(x, proj, n * E);
      if (observer) observer(l + 1, x, n);
      continue;
    }
    const int K = moe.top_k;
    float* router = Grow(s.router, n * moe.n_experts);
    s.expert_ids.resize(n * K);
    s.expert_weights.resize(n * K);
    be.MatMul(w.router, xn, n, router);
    RouteTokens(moe, router, w.router_bias, n, s.expert_ids.data(), s.expert_weights.data());
    if (n == 1) {
      DecodeExperts(be, w, moe, s, xn, E, proj);
      be.Add(x, proj, E);
      if (observer) observer(l + 1, x, n);
      continue;
    }
    float* moe_in = Grow(s.moe_in, n * E);
    float* moe_out = Grow(s.moe_out, n * E);
    std::fill_n(moe_out, n * E, 0.0f);
    // Tokens grouped by expert: each selected expert's weights are read once for the whole batch.
    std::vector<int64_t> rows_of;
    std::vector<float> weight_of;
    for (int e = 0; e < moe.n_experts; ++e) {
      rows_of.clear();
      weight_of.clear();
      for (int64_t i = 0; i < n * K; ++i) {
        if (s.expert_ids[i] == e) {
          rows_of.push_back(i / K);
          weight_of.push_back(s.expert_weights[i]);
        }
      }
      if (rows_of.empty()) continue;
      s.expert_counts[static_cast<size_t>(l) * moe.n_experts + e] += rows_of.size();
      const int64_t m = static_cast<int64_t>(rows_of.size());
      for (int64_t i = 0; i < m; ++i) std::copy_n(xn + rows_of[i] * E, E, moe_in + i * E);
      RunFfn(be, w.experts[e], moe_in, m, gate, up, head_out);
      for (int64_t i = 0; i < m; ++i) {
        float* dst = moe_out + rows_of[i] * E;
        const float* src = head_out + i * E;
        for (int64_t j = 0; j < E; ++j) dst[j] += weight_of[i] * src[j];
      }
    }
    if (moe.n_shared > 0) {
      RunFfn(be, w.shared, xn, n, gate, up, proj);
      be.Add(moe_out, proj, n * E);
    }
    be.Add(x, moe_out, n * E);
    if (observer) observer(l + 1, x, n);
  }
  ProjectLogits(model, be, batch, x, s.selected, logits, observer);
}

}  // namespace enclave
