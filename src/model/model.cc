#include "model/model.h"

#include <cmath>
#include <filesystem>
#include <map>
#include <numbers>

#include <fmt/format.h>

#include "format/gguf_reader.h"
#include "format/safetensors.h"
#include "model/model_builder.h"

namespace enclave {

Model::Model() = default;
Model::~Model() = default;

Result<std::unique_ptr<Model>> Model::Load(const std::string& path, const ModelLoadOptions& options) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return ModelBuilder::FromHfDirectory(path, options);
  if (!std::filesystem::exists(path, ec)) {
    return NotFoundError(fmt::format("model '{}' does not exist (expected a .gguf file or a Hugging Face "
                                     "model directory)", path));
  }
  if (options.quantize) {
    return InvalidArgumentError("--quantize applies to Hugging Face directories; a GGUF file is used as stored "
                                "(convert it with a quantize tool instead)");
  }
  return ModelBuilder::FromGguf(path, options);
}

std::string Model::WeightTypeSummary() const {
  std::map<std::string, int> counts;
  auto add = [&](const kernels::WeightMatrix& w) {
    if (w.data != nullptr) ++counts[DTypeName(w.type)];
  };
  auto add_ffn = [&](const FfnWeights& f) {
    for (const auto* w : {&f.gate, &f.up, &f.down}) add(*w);
  };
  add(token_embd_);
  if (!tied_) add(output_);
  for (const LayerWeights& l : layers_) {
    for (const auto* w : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down}) add(*w);
  }
  for (const DeepseekLayerWeights& l : ds_layers_) {
    for (const auto* w : {&l.wq_a, &l.wq_b, &l.wq, &l.wkv_a, &l.wo, &l.router}) add(*w);
    for (const auto& w : l.wk_b_t) add(w);
    for (const auto& w : l.wv_b) add(w);
    add_ffn(l.dense);
    add_ffn(l.shared);
    for (const FfnWeights& e : l.experts) add_ffn(e);
  }
  std::string s;
  for (const auto& [name, n] : counts) s += fmt::format("{}{} {}", s.empty() ? "" : ", ", name, n);
  return s;
}

std::vector<double> RopeInverseFrequencies(const RopeConfig& rope) {
  const int pairs = rope.n_rot / 2;
  std::vector<double> inv(pairs);
  // YaRN (transformers' _compute_yarn_parameters, DEEPSEEK_SPEC.md §2.5): pairs below the
  // correction range keep their frequency, pairs above it are divided by `factor`, and the ones
  // between blend linearly.
  double yarn_low = 0, yarn_high = 0;
  if (rope.scaling == RopeScalingType::kYarn) {
    const double dim = rope.n_rot, base = rope.theta, context = static_cast<double>(rope.original_context);
    auto correction_dim = [&](double rotations) {
      return dim * std::log(context / (rotations * 2 * std::numbers::pi)) / (2 * std::log(base));
    };
    yarn_low = std::max(std::floor(correction_dim(rope.beta_fast)), 0.0);
    yarn_high = std::min(std::ceil(correction_dim(rope.beta_slow)), dim - 1);
    if (yarn_low == yarn_high) yarn_high += 0.001;
  }
  for (int i = 0; i < pairs; ++i) {
    double f = std::pow(rope.theta, -2.0 * i / rope.n_rot);
    switch (rope.scaling) {
      case RopeScalingType::kNone: break;
      case RopeScalingType::kLinear: f /= rope.factor; break;
      case RopeScalingType::kYarn: {
        const double keep = 1.0 - std::clamp((i - yarn_low) / (yarn_high - yarn_low), 0.0, 1.0);
        f = f / rope.factor * (1.0 - keep) + f * keep;
        break;
      }
      case RopeScalingType::kLlama3: {
        // Long wavelengths (low frequencies) are slowed by `factor`, short ones kept, and the
        // band between interpolated (transformers' _compute_llama3_parameters).
        const double wavelen = 2 * std::numbers::pi / f;
        const double low_wavelen = rope.original_context / rope.low_freq_factor;
        const double high_wavelen = rope.original_context / rope.high_freq_factor;
        if (wavelen > low_wavelen) {
          f /= rope.factor;
        } else if (wavelen >= high_wavelen) {
          const double smooth = (rope.original_context / wavelen - rope.low_freq_factor) /
                                (rope.high_freq_factor - rope.low_freq_factor);
          f = (1 - smooth) * f / rope.factor + smooth * f;
        }
        break;
      }
    }
    inv[i] = f;
  }
  return inv;
}

}  // namespace enclave
