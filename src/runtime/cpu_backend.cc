#include "runtime/cpu_backend.h"

#include <algorithm>
#include <atomic>
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

void CpuBackend::MatVecMany(std::span<const kernels::MatVecTask> tasks) {
  kernels::MatVecMany(kernels_, pool_, tasks, workspace_);
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
    void* vd = v != nullptr ? kv.V(layer, seq_ids[t], positions[t]) : nullptr;
    if (kv.type() == DType::kF16) {
      // Round to nearest even, as llama.cpp stores its cache.
      kernels::QuantizeWeightsRow(DType::kF16, k + t * kv_dim, kd, kv_dim);
      if (vd != nullptr) kernels::QuantizeWeightsRow(DType::kF16, v + t * kv_dim, vd, kv_dim);
    } else {
      std::memcpy(kd, k + t * kv_dim, kv_dim * sizeof(float));
      if (vd != nullptr) std::memcpy(vd, v + t * kv_dim, kv_dim * sizeof(float));
    }
  }
}

void CpuBackend::LoadKeys(KvCache& kv, int layer, int32_t seq_id, int64_t n_rows, float* out) {
  const int64_t kv_dim = kv.kv_dim();
  const kernels::DequantizeRowFn convert = kernels_.dequantize(kv.type());
  for (int64_t p = 0; p < n_rows; ++p) {
    convert(kv.K(layer, seq_id, static_cast<int32_t>(p)), out + p * kv_dim, kv_dim);
  }
}

void CpuBackend::Attention(const AttentionArgs& a) {
  // Work items: a run of up to kAttentionTokens consecutive batch tokens of one sequence, times
  // one KV head; the item's queries are those tokens' query heads of that head's group, so every
  // converted key and value chunk serves group x tokens queries. Items differ in cost (causal:
  // later positions attend to more keys), so the longest go first and threads take the next
  // item as they finish.
  constexpr int64_t kAttentionTokens = 16;
  const int group = a.n_heads / a.n_kv_heads;
  const int kd = a.k_dim > 0 ? a.k_dim : a.head_dim;
  const int vd = a.v_dim > 0 ? a.v_dim : a.head_dim;
  attention_items_.clear();
  for (int64_t t0 = 0; t0 < a.n_tokens;) {
    int64_t t1 = t0 + 1;
    int64_t cost = a.positions[t0] + 1;
    while (t1 < a.n_tokens && t1 - t0 < kAttentionTokens && a.seq_ids[t1] == a.seq_ids[t0]) {
      cost += a.positions[t1] + 1;
      ++t1;
    }
    for (int g = 0; g < a.n_kv_heads; ++g) attention_items_.push_back({t0, t1, g, 0, group, cost});
    t0 = t1;
  }
  // Few items and wide groups (MLA: every query head shares the one latent head): split the
  // group so that every thread has work.
  const int64_t want = 2 * static_cast<int64_t>(pool_.size());
  if (static_cast<int64_t>(attention_items_.size()) < want && group > 1) {
    const int parts = static_cast<int>(std::min<int64_t>(group, (want + attention_items_.size() - 1) / attention_items_.size()));
    std::vector<AttentionWork> split;
    for (const AttentionWork& w : attention_items_) {
      for (int p = 0; p < parts; ++p) {
        const int h0 = group * p / parts, h1 = group * (p + 1) / parts;
        if (h1 > h0) split.push_back({w.t0, w.t1, w.kv_head, h0, h1, w.cost * (h1 - h0) / group});
      }
    }
    attention_items_ = std::move(split);
  }
  std::stable_sort(attention_items_.begin(), attention_items_.end(),
                   [](const AttentionWork& x, const AttentionWork& y) { return x.cost > y.cost; });

  const int bt = a.kv->block_tokens();
  const size_t row_bytes = a.kv->row_bytes();
  const size_t head_bytes = row_bytes / a.n_kv_heads;
  const int max_queries = static_cast<int>(kAttentionTokens) * group;
  attention_threads_.resize(pool_.size());
  std::atomic<size_t> next{0};
  pool_.Run([&](int thread, int) {
    AttentionThreadState& st = attention_threads_[thread];
    st.queries.resize(max_queries);
    st.outputs.resize(max_queries);
    st.last_key.resize(max_queries);
    st.scratch.resize(kernels::AttentionScratchFloats(max_queries, kd, vd));
    for (size_t w = next.fetch_add(1); w < attention_items_.size(); w = next.fetch_add(1)) {
      const AttentionWork& work = attention_items_[w];
      int n_queries = 0;
      int32_t max_key = 0;
      for (int64_t t = work.t0; t < work.t1; ++t) {
        max_key = std::max(max_key, a.positions[t]);
        for (int hh = work.h0; hh < work.h1; ++hh) {
          const int64_t h = static_cast<int64_t>(work.kv_head) * group + hh;
          st.queries[n_queries] = a.q + (t * a.n_heads + h) * kd;
          st.outputs[n_queries] = a.out + (t * a.n_heads + h) * vd;
          st.last_key[n_queries] = a.positions[t];
          ++n_queries;
        }
      }
      st.keys.resize(max_key + 1);
      st.values.resize(max_key + 1);
      if (a.ext_k != nullptr) {
        const int64_t row0 = work.kv_head * a.ext_rows + a.ext_row0[work.t0];
        for (int32_t p = 0; p <= max_key; ++p) {
          st.keys[p] = reinterpret_cast<const uint8_t*>(a.ext_k + (row0 + p) * kd);
          st.values[p] = reinterpret_cast<const uint8_t*>(a.ext_v + (row0 + p) * vd);
        }
      } else {
        const std::vector<int32_t>& blocks = a.kv->Blocks(a.seq_ids[work.t0]);
        for (int32_t p = 0; p <= max_key; ++p) {
          const size_t offset = static_cast<size_t>(p % bt) * row_bytes + work.kv_head * head_bytes;
          st.keys[p] = a.kv->KBlock(a.layer, blocks[p / bt]) + offset;
          st.values[p] = a.values_in_keys ? st.keys[p] : a.kv->VBlock(a.layer, blocks[p / bt]) + offset;
        }
      }
      kernels::AttentionItem item;
      item.n_queries = n_queries;
      item.queries = st.queries.data();
      item.outputs = st.outputs.data();
      item.last_key = st.last_key.data();
      item.k_dim = kd;
      item.v_dim = vd;
      item.scale = a.scale;
      item.kv_type = a.ext_k != nullptr ? DType::kF32 : a.kv->type();
      item.keys = st.keys.data();
      item.values = st.values.data();
      item.scratch = st.scratch.data();
      kernels_.attention(item);
    }
  });
}

void CpuBackend::SiluMul(float* gate, const float* up, int64_t count) {
  constexpr int64_t kGrain = 4096;  // below this a second thread costs more than it saves
  if (count < 2 * kGrain) {
    kernels_.silu_mul(gate, up, count);
    return;
  }
  pool_.Run([&](int t, int nt) {
    int64_t begin, end;
    ThreadPool::SplitRange(count, kGrain, t, nt, &begin, &end);
    if (end > begin) kernels_.silu_mul(gate + begin, up + begin, end - begin);
  });
}

void CpuBackend::Add(float* x, const float* y, int64_t count) {
  for (int64_t i = 0; i < count; ++i) x[i] += y[i];
}

}  // namespace enclave
