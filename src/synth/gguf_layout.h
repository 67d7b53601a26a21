// How a synthetic Hugging Face model becomes GGUF, following llama.cpp's convert_hf_to_gguf.py
// (LlamaModel, Qwen2Model) so our GGUF loader is tested on the layout real files have:
//   - tensor names: HF model.layers.N.self_attn.q_proj.weight -> blk.N.attn_q.weight, ...
//   - llama only: q_proj/k_proj rows permuted from HF's rotate-half order back to Meta's
//     interleaved order (LlamaModel.permute); qwen2 keeps HF's order.
//   - llama3 RoPE scaling: a rope_freqs.weight F32 tensor of per-dimension factors
//     (LlamaModel.generate_extra_tensors); linear scaling: rope.scaling.type/factor keys.
//   - types: 1-D tensors (norms, biases, rope_freqs) always F32; see GgufTensorType for the rest.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "format/gguf_writer.h"
#include "synth/presets.h"
#include "tensor/dtype.h"

namespace enclave::synth {

// One GGUF variant `enclave synth` writes: model-<name>.gguf.
struct GgufVariant {
  std::string name;      // "f32", "f16", "q8_0", "q4_k", "q4_k_m"
  DType main_type;       // of 2-D weights
  uint32_t file_type;    // general.file_type (llama_ftype): 0, 1, 7, 15 (MOSTLY_Q4_K_M)
};
std::optional<GgufVariant> FindGgufVariant(const std::string& name);
// The variants tiny presets get by default (f32 f16 q8_0 q4_k), and all of them (adds q4_k_m).
std::vector<std::string> GgufVariantNames();
std::vector<std::string> AllGgufVariantNames();

// The GGUF name of an HF tensor name; nullopt for names this mapping does not know.
std::optional<std::string> GgufTensorName(const std::string& hf_name);

// Rows of q_proj (n_head = n_heads) or k_proj (n_head = n_kv_heads), [n_head * head_dim, cols]
// row-major: row h*hd + 2j + i of the result is row h*hd + i*hd/2 + j of the input (i in {0,1},
// j < hd/2), i.e. reshape(n_head, 2, hd/2, cols).swapaxes(1, 2).
std::vector<float> PermuteRowsForGguf(std::span<const float> w, int64_t n_head, int64_t cols);

// llama3 rope_freqs: head_dim/2 factors computed in float32 as the converter does with torch.
std::vector<float> Llama3RopeFactors(const Preset& p);

// The type of a 2-D tensor in `variant`. q4_k is Q4_K_M's main choice: output.weight
// (token_embd.weight when tied, since it then serves as the output) in Q6_K and the rest in
// Q4_K. q4_k_m is llama-quantize's whole Q4_K_M mix for these architectures: also attn_v and
// ffn_down in Q6_K in the layers use_more_bits picks (first and last eighth, every third
// between) — the types of the real DeepSeek-R1-Distill-Qwen-7B Q4_K_M file, checked against its
// tensor table. Rows whose length is not a multiple of the type's block size fall back to Q8_0
// (if a multiple of 32) or F16 — never needed by the presets, whose rows are multiples of 256.
DType GgufTensorType(const GgufVariant& variant, const std::string& gguf_name, int64_t row_length, bool tied,
                     int64_t n_layers);

// general.* and {arch}.* keys, in the converter's order.
void AddGgufHparams(const Preset& p, int64_t vocab_size, const GgufVariant& variant, const std::string& model_name,
                    GgufWriter& w);

}  // namespace enclave::synth
