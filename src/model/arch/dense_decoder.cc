#include "model/arch/dense_decoder.h"

#include <cmath>

namespace enclave {

void DenseForward(const Model& model, Backend& be, KvCache& kv, const Batch& batch, DenseScratch& s, float* logits,
                  const HiddenObserver& observer) {
  const ModelConfig& c = model.config();
  const int64_t n = batch.size();
  const int64_t E = c.n_embd, Q = c.q_dim(), KV = c.kv_dim(), F = c.n_ff;
  auto grow = [](std::vector<float>& v, int64_t size) {
    if (static_cast<int64_t>(v.size()) < size) v.resize(size);
    return v.data();
  };
  float* x = grow(s.x, n * E);          // F32 [n, E] residual stream
  float* xn = grow(s.xn, n * E);        // F32 [n, E] normed
  float* q = grow(s.q, n * Q);          // F32 [n, Q]
  float* k = grow(s.k, n * KV);         // F32 [n, KV]
  float* v = grow(s.v, n * KV);         // F32 [n, KV]
  float* attn = grow(s.attn, n * Q);    // F32 [n, Q]
  float* proj = grow(s.proj, n * E);    // F32 [n, E]
  float* gate = grow(s.gate, n * F);    // F32 [n, F]
  float* up = grow(s.up, n * F);        // F32 [n, F]

  be.Embed(model.token_embd(), batch.tokens.data(), n, x);
  if (observer) observer(0, x, n);
  const float scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
  for (int l = 0; l < c.n_layers; ++l) {
    const LayerWeights& w = model.layers()[l];
    be.RmsNorm(x, w.attn_norm, c.rms_eps, n, xn);
    const kernels::WeightMatrix* qkv[] = {&w.wq, &w.wk, &w.wv};
    float* qkv_out[] = {q, k, v};
    be.MatMulShared(qkv, xn, n, qkv_out);
    if (!w.bq.empty()) {
      be.AddBias(q, w.bq, n);
      be.AddBias(k, w.bk, n);
      be.AddBias(v, w.bv, n);
    }
    be.Rope(q, n, c.n_heads, c.head_dim, batch.positions.data(), c.rope.style, model.rope_inv_freq());
    be.Rope(k, n, c.n_kv_heads, c.head_dim, batch.positions.data(), c.rope.style, model.rope_inv_freq());
    be.StoreKv(kv, l, k, v, n, batch.positions.data(), batch.seq_ids.data());
    AttentionArgs args;
    args.layer = l;
    args.n_tokens = n;
    args.q = q;
    args.positions = batch.positions.data();
    args.seq_ids = batch.seq_ids.data();
    args.n_heads = c.n_heads;
    args.n_kv_heads = c.n_kv_heads;
    args.head_dim = c.head_dim;
    args.scale = scale;
    args.kv = &kv;
    args.out = attn;
    be.Attention(args);
    be.MatMul(w.wo, attn, n, proj);
    be.Add(x, proj, n * E);

    be.RmsNorm(x, w.ffn_norm, c.rms_eps, n, xn);
    const kernels::WeightMatrix* gate_up[] = {&w.w_gate, &w.w_up};
    float* gate_up_out[] = {gate, up};
    be.MatMulShared(gate_up, xn, n, gate_up_out);
    be.SiluMul(gate, up, n * F);
    be.MatMul(w.w_down, gate, n, proj);
    be.Add(x, proj, n * E);
    if (observer) observer(l + 1, x, n);
  }

  ProjectLogits(model, be, batch, x, s.selected, logits, observer);
}

void ProjectLogits(const Model& model, Backend& be, const Batch& batch, const float* x, std::vector<float>& selected,
                   float* logits, const HiddenObserver& observer) {
  // Only the rows whose logits are wanted go through the (large) output projection.
  const ModelConfig& c = model.config();
  const int64_t E = c.n_embd, n = batch.size();
  const int64_t m = batch.n_logits();
  if (m == 0) return;
  if (static_cast<int64_t>(selected.size()) < m * E) selected.resize(m * E);
  float* sel = selected.data();
  int64_t j = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (batch.want_logits[i]) std::copy(x + i * E, x + (i + 1) * E, sel + (j++) * E);
  }
  be.RmsNorm(sel, model.output_norm(), c.rms_eps, m, sel);
  if (observer) observer(c.n_layers + 1, sel, m);
  be.MatMul(model.output(), sel, m, logits);
}

}  // namespace enclave
