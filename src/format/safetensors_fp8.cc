#include "format/safetensors_fp8.h"

#include <fmt/format.h>

#include <cstring>
#include <limits>

#include "base/half.h"

namespace enclave {
namespace {

std::string Where(const SafetensorsTensor& t) { return fmt::format("{}: tensor '{}'", t.file->label(), t.name); }

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

Result<Fp8Weight> FindFp8Weight(const SafetensorsModel& model, std::string_view name, int64_t block_rows,
                                int64_t block_cols) {
  Fp8Weight w;
  w.weight = model.Find(name);
  if (w.weight == nullptr) return NotFoundError(fmt::format("tensor '{}' is not in the model", name));
  const SafetensorsTensor& t = *w.weight;
  if (t.dtype.type != StDType::kF8_E4M3 || t.shape.size() != 2) {
    return InvalidArgumentError(fmt::format("{}: expected a 2-D F8_E4M3 weight, found {} [{}]", Where(t),
                                            t.dtype.name, fmt::join(t.shape, ", ")));
  }
  const std::string scale_name = std::string(name) + std::string(kFp8ScaleSuffix);
  w.scale_inv = model.Find(scale_name);
  if (w.scale_inv == nullptr) {
    return CorruptError(fmt::format("{}: F8_E4M3 weight [{}, {}] has no '{}' tensor", Where(t), t.shape[0],
                                    t.shape[1], scale_name));
  }
  const SafetensorsTensor& s = *w.scale_inv;
  if ((s.dtype.type != StDType::kF32 && s.dtype.type != StDType::kBF16) || s.shape.size() != 2) {
    return CorruptError(fmt::format("{}: expected a 2-D F32 or BF16 scale, found {} [{}]", Where(s), s.dtype.name,
                                    fmt::join(s.shape, ", ")));
  }
  constexpr uint64_t kMax = std::numeric_limits<int64_t>::max();
  if (t.shape[0] > kMax || t.shape[1] > kMax || s.shape[0] > kMax || s.shape[1] > kMax) {
    return CorruptError(fmt::format("{}: shape too large", Where(t)));
  }
  w.shape = {static_cast<int64_t>(t.shape[0]), static_cast<int64_t>(t.shape[1]), static_cast<int64_t>(s.shape[0]),
             static_cast<int64_t>(s.shape[1]), block_rows, block_cols};
  if (Status st = CheckFp8BlockScaledShape(w.shape); !st.ok()) {
    return CorruptError(fmt::format("{}: {}", Where(t), st.message()));
  }
  return w;
}

Status DequantizeFp8Weight(const Fp8Weight& w, std::span<float> out) {
  // Views into the file carry no alignment: copy the (small) scale into floats.
  const SafetensorsTensor& s = *w.scale_inv;
  std::vector<float> scale(s.n_elements);
  if (s.dtype.type == StDType::kF32) {
    std::memcpy(scale.data(), s.data.data(), s.data.size());
  } else {
    for (size_t i = 0; i < scale.size(); ++i) {
      uint16_t b;
      std::memcpy(&b, s.data.data() + 2 * i, 2);
      scale[i] = Bf16ToF32(b);
    }
  }
  if (Status st = DequantizeFp8BlockScaled(w.weight->data, scale, w.shape, out); !st.ok()) {
    return InvalidArgumentError(fmt::format("{}: {}", Where(*w.weight), st.message()));
  }
  return Status::Ok();
}

std::vector<std::string> CheckFp8Scales(const SafetensorsModel& model, int64_t block_rows, int64_t block_cols) {
  std::vector<std::string> problems;
  for (const auto& file : model.files()) {
    for (const SafetensorsTensor& t : file->tensors()) {
      if (t.dtype.type == StDType::kF8_E4M3) {
        if (auto w = FindFp8Weight(model, t.name, block_rows, block_cols); !w.ok()) {
          problems.push_back(w.status().message());
        }
      } else if (EndsWith(t.name, kFp8ScaleSuffix)) {
        const std::string_view weight = std::string_view(t.name).substr(0, t.name.size() - kFp8ScaleSuffix.size());
        const SafetensorsTensor* wt = model.Find(weight);
        if (wt == nullptr || wt->dtype.type != StDType::kF8_E4M3) {
          problems.push_back(fmt::format("{}: scale without an F8_E4M3 weight '{}'", Where(t), weight));
        }
      }
    }
  }
  return problems;
}

}  // namespace enclave
