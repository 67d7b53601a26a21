// The forward pass of DeepSeek-V2/V3 (architecture deepseek2): pre-norm blocks of multi-head latent
// attention (MLA) and a dense SwiGLU FFN (the first first_k_dense_replace layers) or a mixture of
// experts, then the final RMSNorm and output projection (DEEPSEEK_SPEC.md §2).
//
// The KV cache holds one row per token and layer, [c_kv after kv_a_layernorm ; k_pe after RoPE]
// (kv_lora_rank + qk_rope_head_dim values, e.g. 576). Decode and short batches run attention in the
// absorbed form: the query of head h becomes [W_UK[h]ᵀ q_nope ; q_pe], and the attention output
// (a latent) goes through W_UV[h] before o_proj; MQA with one wide key head whose value is the
// key's latent prefix. Long prefills decompress the context's latents into per-head keys
// [W_UK[h] c ; k_pe] and values W_UV[h] c and run ordinary attention over them: per (query, key)
// pair that is qk_head + v_head (320 for V2/V3) multiply-adds per head instead of
// 2 kv_lora + rope (1088), for a decompression linear in the context (bench/RESULTS.md has the
// measurements behind kDecompressMinPairsPerRow).
//
// MoE: router logits in f32; softmax + greedy / group_limited_greedy (V2) or sigmoid + noaux_tc
// with the correction bias used only for selection (V3); the batch's tokens are grouped by expert
// so that each selected expert's matrices are read once per forward pass.
#pragma once

#include <cstdint>
#include <vector>

#include "model/arch/dense_decoder.h"
#include "model/model.h"
#include "runtime/backend.h"
#include "runtime/batch.h"
#include "runtime/kv_cache.h"

namespace enclave {

// MLA attention in the absorbed form (over the latent cache directly) or decompressed into per-head
// keys and values first. kAuto: decompressed when the batch's (query, key) pairs per context row
// reach kDecompressMinPairsPerRow (long prefills) and the buffers stay under kDecompressMaxBytes.
enum class MlaForm { kAuto, kAbsorbed, kDecompressed };
inline constexpr int64_t kDecompressMinPairsPerRow = 32;
inline constexpr int64_t kDecompressMaxBytes = int64_t{1} << 30;

// Activations reused between calls (grown, never shrunk), and the expert-selection counters.
struct DeepseekScratch {
  std::vector<float> x, xn, cq, q, kva, cache_rows, qpe, qfull, head_in, head_out, latent, o, proj, gate, up;
  std::vector<float> router, moe_in, moe_out, selected, token_gate, token_up, token_down;
  std::vector<float> ctx_rows, ctx_latent, ctx_knope, ctx_keys, ctx_values;  // decompressed form
  MlaForm mla_form = MlaForm::kAuto;
  std::vector<int32_t> expert_ids;     // [n_tokens, top_k]
  std::vector<float> expert_weights;   // [n_tokens, top_k]
  // How many times each (layer, expert) was selected since the engine started: [n_layers][n_experts]
  // (dense layers stay zero).
  std::vector<uint64_t> expert_counts;
  size_t layer_offset = 0;  // the current layer's first counter
  std::vector<kernels::MatVecTask> tasks;
  std::vector<const kernels::WeightMatrix*> mats;
  std::vector<float*> outs;
};

// Routes the tokens of one MoE layer: for each of the n rows of `logits` [n, n_experts] (router
// output, f32) the top_k experts (ids ascending) and their weights, as transformers' DeepseekV2 /
// DeepseekV3 routers compute them. `bias`: e_score_correction_bias (noaux_tc), else empty.
void RouteTokens(const MoeConfig& moe, const float* logits, std::span<const float> bias, int64_t n, int32_t* ids,
                 float* weights);

void DeepseekForward(const Model& model, Backend& backend, KvCache& kv, const Batch& batch, DeepseekScratch& s,
                     float* logits, const HiddenObserver& observer = nullptr);

}  // namespace enclave
