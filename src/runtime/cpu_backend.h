// The CPU implementation of Backend: quantized matrix kernels chosen for this CPU (kernels/),
// work split over a ThreadPool. Not thread-safe: one forward pass at a time.
#pragma once

#include <vector>

#include "kernels/kernels.h"
#include "platform/thread_pool.h"
#include "runtime/backend.h"

namespace enclave {

class CpuBackend final : public Backend {
 public:
  CpuBackend(const kernels::KernelTable& kernels, ThreadPool& pool) : kernels_(kernels), pool_(pool) {}
  const char* name() const override { return "cpu"; }
  const kernels::KernelTable& kernels() const { return kernels_; }

  void MatMul(const kernels::WeightMatrix& w, const float* x, int64_t n, float* y) override;
  void MatVecMany(std::span<const kernels::MatVecTask> tasks) override;
  void MatMulShared(std::span<const kernels::WeightMatrix* const> ws, const float* x, int64_t n,
                    std::span<float* const> ys) override;
  void Embed(const kernels::WeightMatrix& table, const int32_t* ids, int64_t n, float* out) override;
  void RmsNorm(const float* x, std::span<const float> weight, float eps, int64_t n, float* y) override;
  void AddBias(float* y, std::span<const float> bias, int64_t n) override;
  void Rope(float* x, int64_t n, int n_heads, int head_dim, const int32_t* positions, RopeStyle style,
            std::span<const double> inv_freq) override;
  void StoreKv(KvCache& kv, int layer, const float* k, const float* v, int64_t n, const int32_t* positions,
               const int32_t* seq_ids) override;
  void LoadKeys(KvCache& kv, int layer, int32_t seq_id, int64_t n_rows, float* out) override;
  void Attention(const AttentionArgs& args) override;
  void SiluMul(float* gate, const float* up, int64_t count) override;
  void Add(float* x, const float* y, int64_t count) override;

 private:
  const kernels::KernelTable& kernels_;
  ThreadPool& pool_;
  kernels::MatmulWorkspace workspace_;
  // Attention work items of the current call and each thread's buffers for them.
  struct AttentionWork {
    int64_t t0, t1;  // batch tokens [t0, t1), one sequence
    int kv_head;
    int h0, h1;      // the query heads [h0, h1) of the KV head's group
    int64_t cost;    // keys attended, summed over the tokens
  };
  struct AttentionThreadState {
    std::vector<const float*> queries;
    std::vector<float*> outputs;
    std::vector<int32_t> last_key;
    std::vector<const uint8_t*> keys, values;
    std::vector<float> scratch;
  };
  std::vector<AttentionWork> attention_items_;
  std::vector<AttentionThreadState> attention_threads_;
  // Rotary cos/sin of the last batch's positions.
  const double* rope_freq_ = nullptr;
  std::vector<int32_t> rope_positions_;
  std::vector<float> rope_cos_, rope_sin_;
};

}  // namespace enclave
