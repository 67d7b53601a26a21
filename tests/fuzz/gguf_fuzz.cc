// libFuzzer target: the GGUF parser on arbitrary bytes, in both strict and collecting modes, then
// the reference dequantizer over the start of every tensor it accepted (the tensor views must
// stay inside the input).
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "format/gguf_reader.h"
#include "kernels/kernels.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace enclave;
  // Own copy of exactly `size` bytes so ASan flags any read past the end.
  const std::vector<uint8_t> bytes(data, data + size);
  (void)GgufFile::Parse(bytes);
  GgufParseOptions collect;
  collect.collect_problems = true;
  auto file = GgufFile::Parse(bytes, collect);
  if (!file.ok()) return 0;
  std::vector<float> out;
  for (const auto& t : (*file)->tensors()) {
    if (!t.type_known || t.data.empty()) continue;
    const auto deq = kernels::RefKernels().dequantize(t.type);
    if (deq == nullptr) continue;
    const int64_t block = Traits(t.type).block_elems;
    const int64_t n = std::min<int64_t>(static_cast<int64_t>(t.dims[0]), 4096) / block * block;
    if (n == 0 || static_cast<uint64_t>(*RowBytes(t.type, n)) > t.data.size()) continue;
    out.resize(n);
    deq(t.data.data(), out.data(), n);
  }
  return 0;
}
