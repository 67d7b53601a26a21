// The operations model code calls. Model files (model/arch/) express a forward pass only through
// this interface, so a second backend (CUDA) can run the same model code; the CPU backend
// implements it with the quantized kernels and the thread pool.
//
// Buffers are row-major F32 [rows, cols] in memory the backend can address (host memory for the
// CPU backend). A Backend is used by one thread at a time (the one running the forward pass).
#pragma once

#include <cstdint>
#include <span>

#include "kernels/matmul.h"
#include "model/model_config.h"

namespace enclave {

class KvCache;

struct AttentionArgs {
  int layer = 0;
  int64_t n_tokens = 0;
  const float* q = nullptr;          // F32 [n_tokens, n_heads * head_dim] (or k_dim), rotated
  const int32_t* positions = nullptr;  // [n_tokens]
  const int32_t* seq_ids = nullptr;    // [n_tokens]
  int n_heads = 0, n_kv_heads = 0, head_dim = 0;
  // Key and value sizes when they differ from head_dim (MLA: queries and keys of kv_lora + rope,
  // values of kv_lora). q is then [n_tokens, n_heads * k_dim], out [n_tokens, n_heads * v_dim].
  int k_dim = 0, v_dim = 0;
  // The value of a position is the first v_dim elements of its key row (MLA's latent); the cache
  // has no V.
  bool values_in_keys = false;
  float scale = 1.0f;                // applied to q·k
  KvCache* kv = nullptr;             // holds this batch's keys/values already
  // Keys and values from F32 buffers instead of the cache (deepseek2's non-absorbed prefill): KV
  // head g's key rows of the sequence of batch token t start at
  // ext_k + (g * ext_rows + ext_row0[t]) * k_dim, one row per position from 0; values likewise.
  const float* ext_k = nullptr;
  const float* ext_v = nullptr;
  int64_t ext_rows = 0;
  const int64_t* ext_row0 = nullptr;  // [n_tokens]
  float* out = nullptr;              // F32 [n_tokens, n_heads * head_dim] (or v_dim)
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;

  // y[n, w.rows] = x[n, w.cols] · wᵀ
  virtual void MatMul(const kernels::WeightMatrix& w, const float* x, int64_t n, float* y) = 0;
  // ys[i] = x · ws[i]ᵀ for matrices sharing one input (Q/K/V, gate/up): one pass where possible.
  virtual void MatMulShared(std::span<const kernels::WeightMatrix* const> ws, const float* x, int64_t n,
                            std::span<float* const> ys) = 0;
  // Independent matrix-vector products, in one pass where possible (kernels::MatVecMany).
  virtual void MatVecMany(std::span<const kernels::MatVecTask> tasks) = 0;
  // out[n, table.cols] = rows ids[i] of the table (dequantized).
  virtual void Embed(const kernels::WeightMatrix& table, const int32_t* ids, int64_t n, float* out) = 0;
  // y[i] = x[i] / sqrt(mean(x[i]²) + eps) * weight, for n rows of weight.size() elements.
  virtual void RmsNorm(const float* x, std::span<const float> weight, float eps, int64_t n, float* y) = 0;
  // y[i] += bias, for n rows of bias.size() elements.
  virtual void AddBias(float* y, std::span<const float> bias, int64_t n) = 0;
  // Rotates the first n_rot dimensions of every head of x[n, n_heads * head_dim] by position.
  virtual void Rope(float* x, int64_t n, int n_heads, int head_dim, const int32_t* positions, RopeStyle style,
                    std::span<const double> inv_freq) = 0;
  // Writes k/v [n, kv_dim] into the cache at (seq_ids[i], positions[i]); v is null for a
  // keys-only cache (MLA).
  virtual void StoreKv(KvCache& kv, int layer, const float* k, const float* v, int64_t n, const int32_t* positions,
                       const int32_t* seq_ids) = 0;
  // out[n_rows, kv_dim] = the cached K rows of positions 0..n_rows-1 of a sequence, as F32.
  virtual void LoadKeys(KvCache& kv, int layer, int32_t seq_id, int64_t n_rows, float* out) = 0;
  // Causal attention of each token over its own sequence's positions <= its position.
  virtual void Attention(const AttentionArgs& args) = 0;
  // gate[i] = silu(gate[i]) * up[i]
  virtual void SiluMul(float* gate, const float* up, int64_t count) = 0;
  // x[i] += y[i]
  virtual void Add(float* x, const float* y, int64_t count) = 0;
};

}  // namespace enclave
