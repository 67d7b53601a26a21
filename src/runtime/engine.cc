#include "runtime/engine.h"

#include <algorithm>
#include <map>
#include <thread>

#include <fmt/format.h>

#include "kernels/kernels.h"

namespace enclave {

Result<std::unique_ptr<Engine>> Engine::Create(const Model& model, const EngineOptions& options) {
  EngineOptions o = options;
  if (o.threads <= 0) o.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (o.threads > 1024) return InvalidArgumentError(fmt::format("{} threads is too many", o.threads));
  if (o.context <= 0 || o.context > (1 << 24)) {
    return InvalidArgumentError(fmt::format("context size {} is outside [1, 16777216]", o.context));
  }
  if (o.kv_tokens <= 0) o.kv_tokens = o.context;
  std::unique_ptr<Engine> e(new Engine(model, o));
  e->pool_ = std::make_unique<ThreadPool>(o.threads);
  e->backend_ = std::make_unique<CpuBackend>(kernels::BestKernels(), *e->pool_);
  KvCacheOptions kv;
  kv.n_layers = model.config().n_layers;
  kv.kv_dim = model.config().kv_dim();
  kv.block_tokens = o.block_tokens;
  kv.n_blocks = (o.kv_tokens + o.block_tokens - 1) / o.block_tokens;
  kv.type = o.kv_type;
  kv.keys_only = model.config().is_deepseek2();  // MLA: the latent row is key and value
  ASSIGN_OR_RETURN(e->kv_, KvCache::Create(kv));
  return e;
}

const char* Engine::isa_name() const { return kernels::IsaName(backend_->kernels().isa); }

Result<std::span<const float>> Engine::Forward(const Batch& batch, const HiddenObserver& observer) {
  const int64_t n = batch.size();
  if (n == 0) return std::span<const float>();
  if (batch.positions.size() != batch.tokens.size() || batch.seq_ids.size() != batch.tokens.size() ||
      batch.want_logits.size() != batch.tokens.size()) {
    return InvalidArgumentError("batch arrays differ in length");
  }
  const int n_vocab = model_.config().n_vocab;
  // Per sequence: the range of positions this batch writes. Positions must continue the
  // sequence without gaps, so attention never reads a slot nobody wrote.
  std::map<int32_t, std::pair<int64_t, int64_t>> ranges;
  for (int64_t i = 0; i < n; ++i) {
    if (batch.tokens[i] < 0 || batch.tokens[i] >= n_vocab) {
      return InvalidArgumentError(fmt::format("token id {} is outside the vocabulary [0, {})", batch.tokens[i], n_vocab));
    }
    if (batch.positions[i] < 0 || batch.positions[i] >= options_.context) {
      return InvalidArgumentError(
          fmt::format("position {} is outside the context of {} tokens", batch.positions[i], options_.context));
    }
    auto [it, fresh] = ranges.try_emplace(batch.seq_ids[i], batch.positions[i], batch.positions[i] + 1);
    if (!fresh) {
      it->second.first = std::min<int64_t>(it->second.first, batch.positions[i]);
      it->second.second = std::max<int64_t>(it->second.second, batch.positions[i] + 1);
    }
  }
  for (const auto& [seq, range] : ranges) {
    if (range.first > kv_->Length(seq)) {
      return InvalidArgumentError(fmt::format("sequence {} continues at position {} but holds {} tokens", seq,
                                              range.first, kv_->Length(seq)));
    }
  }
  for (const auto& [seq, range] : ranges) {
    Status st = kv_->PrepareWrite(seq, range.first, range.second);
    if (!st.ok()) return st;
  }
  logits_.resize(static_cast<size_t>(batch.n_logits()) * n_vocab);
  if (model_.config().is_deepseek2()) {
    ds_scratch_.mla_form = options_.mla_form;
    DeepseekForward(model_, *backend_, *kv_, batch, ds_scratch_, logits_.data(), observer);
  } else {
    DenseForward(model_, *backend_, *kv_, batch, scratch_, logits_.data(), observer);
  }
  return std::span<const float>(logits_);
}

}  // namespace enclave
