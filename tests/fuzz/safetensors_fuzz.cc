// libFuzzer target: the safetensors header parser (strict and collecting) and the config.json
// parser on arbitrary bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "format/hf_config.h"
#include "format/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace enclave;
  const std::vector<uint8_t> bytes(data, data + size);
  (void)SafetensorsFile::Parse(bytes, "fuzz");
  SafetensorsParseOptions collect;
  collect.collect_problems = true;
  if (auto f = SafetensorsFile::Parse(bytes, "fuzz", collect); f.ok()) {
    uint64_t sum = 0;
    for (const auto& t : (*f)->tensors()) {
      for (uint8_t b : t.data) sum += b;  // every view must lie inside the input
    }
    (void)sum;
  }
  (void)ParseHfConfig(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  return 0;
}
