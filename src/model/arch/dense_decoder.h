// The forward pass of dense decoder-only transformers: llama (deepseek-llm, deepseek-coder,
// R1-Distill-Llama) and qwen2 (R1-Distill-Qwen). Pre-norm blocks: RMSNorm → GQA attention with
// rotary positions (q/k/v biases for qwen2) → residual; RMSNorm → SwiGLU FFN → residual; a final
// RMSNorm and the output projection for the tokens whose logits are wanted.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "model/model.h"
#include "runtime/backend.h"
#include "runtime/batch.h"
#include "runtime/kv_cache.h"

namespace enclave {

// Activations reused between calls (grown, never shrunk). Not shared between threads.
struct DenseScratch {
  std::vector<float> x, xn, q, k, v, attn, proj, gate, up, selected;
};

// Called with the residual stream [n_tokens, n_embd] after the embedding (index 0) and after each
// layer (index 1 + layer), and with the final-normed rows (index n_layers + 1, selected tokens
// only, as transformers' last hidden state). For tests and debugging.
using HiddenObserver = std::function<void(int index, const float* x, int64_t n_tokens)>;

// The tail every architecture shares: the rows of the residual stream x [batch.size(), n_embd] whose
// logits are wanted go through the final RMSNorm (reported to `observer` as index n_layers + 1)
// and the output projection into logits [batch.n_logits(), n_vocab]. `selected` is scratch.
void ProjectLogits(const Model& model, Backend& backend, const Batch& batch, const float* x,
                   std::vector<float>& selected, float* logits, const HiddenObserver& observer);

// Runs `batch` through the model. The KV cache must already have PrepareWrite'd every (seq,
// position) of the batch. Writes logits [batch.n_logits(), n_vocab] to `logits`.
void DenseForward(const Model& model, Backend& backend, KvCache& kv, const Batch& batch, DenseScratch& s,
                  float* logits, const HiddenObserver& observer = nullptr);

}  // namespace enclave
