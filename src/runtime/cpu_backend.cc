#include "runtime/cpu_backend.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/quantize.h"
#include "runtime/kv_cache.h"

namespace enclave {

void CpuBackend::MatMul(const kernels::WeightMatrix& w, const float* x, int64_t n, float* y) {
  if (n == 1) {
    kernels::MatVec(kernels_, pool_, w, x, y, workspace_);
  } else {
    kernels::MatMul(kernels_, pool_, w, x, n, y, workspace_);
  }
}

void CpuBackend::MatMulShared(std::span<const kernels::WeightMatrix* const> ws, const float* x, int64_t n,
                              std::span<float* const> ys) {
  kernels::MatMulShared(kernels_, pool_, ws, x, n, ys, workspace_);
}

void CpuBackend::Embed(const kernels::WeightMatrix& table, const int32_t* ids, int64_t n, float* out) {
  const auto* base = static_cast<const uint8_t*>(table.data);
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t* row = base + static_cast<size_t>(ids[i]) * table.row_stride;
    float* dst = out + i * table.cols;
    if (table.type == DType::kF32) {
      std::memcpy(dst, row, table.cols * sizeof(float));
    } else {
      kernels_.dequantize(table.type)(row, dst, table.cols);
    }
  }
}

void CpuBackend::RmsNorm(const float* x, std::span<const float> weight, float eps, int64_t n, float* y) {
  const int64_t dim = static_cast<int64_t>(weight.size());
  for (int64_t r = 0; r < n; ++r) {
    const float* xr = x + r * dim;
    float* yr = y + r * dim;
    double sum = 0;
    for (int64_t i = 0; i < dim; ++i) sum += static_cast<double>(xr[i]) * xr[i];
    const float scale = static_cast<float>(1.0 / std::sqrt(sum / dim + eps));
    for (int64_t i = 0; i < dim; ++i) yr[i] = xr[i] * scale * weight[i];
  }
}

void CpuBackend::AddBias(float* y, std::span<const float> bias, int64_t n) {
  const int64_t dim = static_cast<int64_t>(bias.size());
  for (int64_t r = 0; r < n; ++r) {
    for (int64_t i = 0; i < dim; ++i) y[r * dim + i] += bias[i];
  }
}

void CpuBackend::Rope(float* x, int64_t n, int n_heads, int head_dim, const int32_t* positions, RopeStyle style,
                      std::span<const double> inv_freq) {
  const int pairs = static_cast<int>(inv_freq.size());
  const int n_rot = 2 * pairs;
  // cos/sin depend only on the positions, which are the same for q and k of every layer of a
  // forward pass: compute them once per batch, not 2 x n_layers times.
  if (rope_freq_ != inv_freq.data() || rope_positions_.size() != static_cast<size_t>(n) ||
      !std::equal(rope_positions_.begin(), rope_positions_.end(), positions)) {
    rope_freq_ = inv_freq.data();
    rope_positions_.assign(positions, positions + n);
    rope_cos_.resize(n * pairs);
    rope_sin_.resize(n * pairs);
    for (int64_t t = 0; t < n; ++t) {
      for (int i = 0; i < pairs; ++i) {
        const double angle = positions[t] * inv_freq[i];
        rope_cos_[t * pairs + i] = static_cast<float>(std::cos(angle));
        rope_sin_[t * pairs + i] = static_cast<float>(std::sin(angle));
      }
    }
  }
  for (int64_t t = 0; t < n; ++t) {
    const float* cos_v = rope_cos_.data() + t * pairs;
    const float* sin_v = rope_sin_.data() + t * pairs;
    for (int h = 0; h < n_heads; ++h) {
      float* v = x + (t * n_heads + h) * head_dim;
      for (int i = 0; i < pairs; ++i) {
        // NeoX pairs dimension i with i + n_rot/2; "normal" pairs 2i with 2i+1.
        const int a = style == RopeStyle::kNeox ? i : 2 * i;
        const int b = style == RopeStyle::kNeox ? i + n_rot / 2 : 2 * i + 1;
        const float x0 = v[a], x1 = v[b];
        v[a] = x0 * cos_v[i] - x1 * sin_v[i];
        v[b] = x0 * sin_v[i] + x1 * cos_v[i];
      }
    }
  }
}

void CpuBackend::StoreKv(KvCache& kv, int layer, const float* k, const float* v, int64_t n, const int32_t* positions,
                         const int32_t* seq_ids) {
  const int64_t kv_dim = kv.kv_dim();
  for (int64_t t = 0; t < n; ++t) {
    void* kd = kv.K(layer, seq_ids[t], positions[t]);
    void* vd = kv.V(layer, seq_ids[t], positions[t]);
    if (kv.type() == DType::kF16) {
      // Round to nearest even, as llama.cpp stores its cache.
      kernels::QuantizeWeightsRow(DType::kF16, k + t * kv_dim, kd, kv_dim);
      kernels::QuantizeWeightsRow(DType::kF16, v + t * kv_dim, vd, kv_dim);
    } else {
      std::memcpy(kd, k + t * kv_dim, kv_dim * sizeof(float));
      std::memcpy(vd, v + t * kv_dim, kv_dim * sizeof(float));
    }
  }
}

void CpuBackend::Attention(const AttentionArgs& a) {
  const int64_t jobs = a.n_tokens * a.n_heads;
  const int group = a.n_heads / a.n_kv_heads;
  const int bt = a.kv->block_tokens();
  const DType type = a.kv->type();
  const size_t row_bytes = a.kv->row_bytes();
  const size_t head_bytes = row_bytes / a.n_kv_heads;
  // q·k with the dot product of the widest ISA this CPU has: the kernel table's F16 or F32
  // "weight" row (the cached key) against the F32 query.
  const kernels::VecDotFn dot = kernels_.dot(type);
  const kernels::DequantizeRowFn f16_to_f32 = kernels_.dequantize(DType::kF16);
  thread_scores_.resize(pool_.size());
  thread_values_.resize(pool_.size());
  pool_.Run([&](int thread, int n_threads) {
    int64_t begin, end;
    ThreadPool::SplitRange(jobs, 1, thread, n_threads, &begin, &end);
    std::vector<float>& scores = thread_scores_[thread];
    std::vector<float>& value = thread_values_[thread];
    value.resize(a.head_dim);
    for (int64_t job = begin; job < end; ++job) {
      const int64_t t = job / a.n_heads;
      const int h = static_cast<int>(job % a.n_heads);
      const int g = h / group;
      const int64_t n_pos = static_cast<int64_t>(a.positions[t]) + 1;
      const std::vector<int32_t>& blocks = a.kv->Blocks(a.seq_ids[t]);
      const float* q = a.q + (t * a.n_heads + h) * a.head_dim;
      if (static_cast<int64_t>(scores.size()) < n_pos) scores.resize(n_pos);
      float max_score = -INFINITY;
      for (int64_t p = 0; p < n_pos; ++p) {
        const uint8_t* k = a.kv->KBlock(a.layer, blocks[p / bt]) + (p % bt) * row_bytes + g * head_bytes;
        scores[p] = dot(a.head_dim, k, q) * a.scale;
        max_score = std::max(max_score, scores[p]);
      }
      double sum = 0;
      for (int64_t p = 0; p < n_pos; ++p) {
        scores[p] = std::exp(scores[p] - max_score);
        sum += scores[p];
      }
      const float inv = static_cast<float>(1.0 / sum);
      float* out = a.out + (t * a.n_heads + h) * a.head_dim;
      std::fill(out, out + a.head_dim, 0.0f);
      for (int64_t p = 0; p < n_pos; ++p) {
        const uint8_t* vp = a.kv->VBlock(a.layer, blocks[p / bt]) + (p % bt) * row_bytes + g * head_bytes;
        const float* v = reinterpret_cast<const float*>(vp);
        if (type == DType::kF16) {
          f16_to_f32(vp, value.data(), a.head_dim);
          v = value.data();
        }
        const float w = scores[p] * inv;
        for (int d = 0; d < a.head_dim; ++d) out[d] += w * v[d];
      }
    }
  });
}

void CpuBackend::SiluMul(float* gate, const float* up, int64_t count) {
  for (int64_t i = 0; i < count; ++i) gate[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

void CpuBackend::Add(float* x, const float* y, int64_t count) {
  for (int64_t i = 0; i < count; ++i) x[i] += y[i];
}

}  // namespace enclave
