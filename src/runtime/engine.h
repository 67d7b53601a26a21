// Engine: runs forward passes of one Model over batches from many sequences, owning the
// per-deployment state: thread pool, backend, paged KV cache, activation scratch.
//
// Thread safety: not thread-safe; one thread (the CLI loop or the server's scheduler) drives it.
// The Model is shared read-only and may back several Engines.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "base/status.h"
#include "model/arch/deepseek2.h"
#include "model/arch/dense_decoder.h"
#include "model/model.h"
#include "platform/thread_pool.h"
#include "runtime/batch.h"
#include "runtime/cpu_backend.h"
#include "runtime/kv_cache.h"

namespace enclave {

struct EngineOptions {
  int threads = 0;            // 0: one per hardware thread
  int64_t context = 4096;     // longest sequence (positions), capped by nothing but memory
  int64_t kv_tokens = 0;      // tokens the KV pool holds over all sequences; 0: `context`
  int block_tokens = 16;
  // KV cache element type: F16 (llama.cpp's default; half the memory) or F32 (exact, for tests
  // against F32 references).
  DType kv_type = DType::kF16;
  // deepseek2: which form of MLA attention a forward pass uses (arch/deepseek2.h). kAuto picks per
  // batch; the others are for tests and measurements.
  MlaForm mla_form = MlaForm::kAuto;
};

class Engine {
 public:
  static Result<std::unique_ptr<Engine>> Create(const Model& model, const EngineOptions& options);

  // Runs the batch: prepares KV blocks for it (an OutOfRange error when the pool is full, with
  // nothing changed), checks tokens/positions, and returns logits [batch.n_logits(), n_vocab],
  // valid until the next call.
  Result<std::span<const float>> Forward(const Batch& batch, const HiddenObserver& observer = nullptr);

  const Model& model() const { return model_; }
  KvCache& kv() { return *kv_; }
  ThreadPool& pool() { return *pool_; }
  const char* isa_name() const;
  int64_t context() const { return options_.context; }
  // MoE models: how often each routed expert was selected, [n_layers][n_experts] row-major, since
  // the engine was created (dense layers and dense models: empty or zero). For metrics.
  std::span<const uint64_t> expert_counts() const { return ds_scratch_.expert_counts; }

 private:
  Engine(const Model& model, const EngineOptions& options) : model_(model), options_(options) {}

  const Model& model_;
  EngineOptions options_;
  std::unique_ptr<ThreadPool> pool_;
  std::unique_ptr<CpuBackend> backend_;
  std::unique_ptr<KvCache> kv_;
  DenseScratch scratch_;
  DeepseekScratch ds_scratch_;
  std::vector<float> logits_;
};

}  // namespace enclave
