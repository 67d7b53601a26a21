// libFuzzer target for everything that parses safetensors-side bytes: the file header (strict and
// collecting), the FP8 scale checks and dequantization on whatever parsed, config.json and
// model.safetensors.index.json. Every input goes to every parser, so the fixture files in
// tests/fuzz/safetensors.seeds seed all of them. Tensor views are read in full so ASan sees any
// view that leaves the input.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "format/hf_config.h"
#include "format/safetensors.h"
#include "format/safetensors_fp8.h"

namespace {

void Exercise(const enclave::SafetensorsModel& model) {
  using namespace enclave;
  uint64_t sum = 0;
  for (const auto& file : model.files()) {
    for (const SafetensorsTensor& t : file->tensors()) {
      for (uint8_t b : t.data) sum += b;
      if (t.dtype.type != StDType::kF8_E4M3) continue;
      auto w = FindFp8Weight(model, t.name);
      if (!w.ok()) continue;
      // n_elements == data bytes for F8, so the output is bounded by the input size.
      std::vector<float> out(t.n_elements);
      (void)DequantizeFp8Weight(*w, out);
    }
  }
  (void)CheckFp8Scales(model);
  volatile uint64_t sink = sum;
  (void)sink;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace enclave;
  // An exact-size copy, so reads past the end are caught.
  const std::vector<uint8_t> bytes(data, data + size);
  if (auto f = SafetensorsFile::Parse(bytes, "fuzz"); f.ok()) {
    Exercise(*SafetensorsModel::FromFile(std::move(f).value()));
  }
  SafetensorsParseOptions collect;
  collect.collect_problems = true;
  if (auto f = SafetensorsFile::Parse(bytes, "fuzz", collect); f.ok()) {
    Exercise(*SafetensorsModel::FromFile(std::move(f).value()));
  }
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  (void)ParseHfConfig(text);
  (void)ParseSafetensorsIndex(text);
  return 0;
}
