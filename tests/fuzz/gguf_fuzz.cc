// libFuzzer target: the GGUF parser on arbitrary bytes, in strict and collecting modes. Whatever it
// accepts must then be safe to use:
//   - every typed getter on every key returns a value or an error (never crashes);
//   - the reference dequantizer runs over the start of every tensor view (views stay in the input);
//   - a strictly valid file rewritten by GgufWriter parses again to the same metadata and tensor
//     bytes (the writer accepts everything the reader accepts, and the reader reads what it writes);
//   - the model hyperparameters derived from it (llama / qwen2 / deepseek2 keys) are an error or a
//     config whose rotary frequencies can be computed.
// Seeds: the fixture globs in tests/fuzz/gguf.seeds (scripts/fuzz.sh).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

#include "format/gguf_reader.h"
#include "format/gguf_writer.h"
#include "kernels/kernels.h"
#include "model/model.h"
#include "model/model_config.h"

namespace {

using namespace enclave;

// A property violation: crash so that libFuzzer saves the input.
void Require(bool condition) {
  if (!condition) std::abort();
}

void UseGetters(const GgufFile& f) {
  for (const auto& kv : f.metadata()) {
    (void)f.Get<bool>(kv.key);
    (void)f.Get<uint8_t>(kv.key);
    (void)f.Get<int32_t>(kv.key);
    (void)f.Get<uint64_t>(kv.key);
    (void)f.Get<float>(kv.key);
    (void)f.Get<std::string_view>(kv.key);
    (void)f.GetArrayOf<int32_t>(kv.key);
    (void)f.GetArrayOf<std::string_view>(kv.key);
    (void)f.GetArray(kv.key);
  }
}

void Dequantize(const GgufFile& f) {
  std::vector<float> out;
  for (const auto& t : f.tensors()) {
    if (!t.type_known || t.data.empty()) continue;
    const auto deq = kernels::RefKernels().dequantize(t.type);
    if (deq == nullptr) continue;
    const int64_t block = Traits(t.type).block_elems;
    const int64_t n = std::min<int64_t>(static_cast<int64_t>(t.dims[0]), 4096) / block * block;
    if (n == 0) continue;
    Require(*RowBytes(t.type, static_cast<uint64_t>(n)) <= t.data.size());
    out.resize(static_cast<size_t>(n));
    deq(t.data.data(), out.data(), n);
  }
}

bool SameValue(const GgufValue& a, const GgufValue& b) {
  if (a.type != b.type || a.u != b.u || a.i != b.i || a.str != b.str) return false;
  if (std::memcmp(&a.f, &b.f, sizeof a.f) != 0) return false;  // NaN payloads included
  if (a.type != GgufValueType::kArray) return true;
  if (a.array_type != b.array_type || a.array.size() != b.array.size()) return false;
  for (size_t k = 0; k < a.array.size(); ++k) {
    if (!SameValue(a.array[k], b.array[k])) return false;
  }
  return true;
}

void RewriteAndCompare(const GgufFile& f) {
  GgufWriter w(f.alignment());
  for (const auto& kv : f.metadata()) w.SetValue(kv.key, kv.value);
  for (const auto& t : f.tensors()) Require(w.AddTensor(t.name, t.type, t.dims, t.data).ok());
  auto bytes = w.Serialize();
  Require(bytes.ok());
  auto again = GgufFile::Parse(*bytes);
  Require(again.ok());
  const GgufFile& g = **again;
  Require(g.metadata().size() == f.metadata().size() + (f.Find("general.alignment") == nullptr &&
                                                        f.alignment() != kGgufDefaultAlignment));
  for (size_t k = 0; k < f.metadata().size(); ++k) {
    Require(g.metadata()[k].key == f.metadata()[k].key);
    Require(SameValue(g.metadata()[k].value, f.metadata()[k].value));
  }
  Require(g.tensors().size() == f.tensors().size());
  for (size_t k = 0; k < f.tensors().size(); ++k) {
    const auto& a = f.tensors()[k];
    const auto& b = g.tensors()[k];
    Require(a.name == b.name && a.type_id == b.type_id && a.dims == b.dims && a.data.size() == b.data.size());
    Require(std::memcmp(a.data.data(), b.data.data(), a.data.size()) == 0);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Own copy of exactly `size` bytes so ASan flags any read past the end.
  const std::vector<uint8_t> bytes(data, data + size);
  auto strict = GgufFile::Parse(bytes);
  GgufParseOptions collect;
  collect.collect_problems = true;
  auto collected = GgufFile::Parse(bytes, collect);
  // Strict success implies collecting success without problems.
  if (strict.ok()) Require(collected.ok() && (*collected)->problems().empty());
  if (collected.ok()) {
    UseGetters(**collected);
    Dequantize(**collected);
  }
  if (strict.ok()) {
    RewriteAndCompare(**strict);
    if (auto config = ModelConfigFromGguf(**strict); config.ok()) {
      Require(RopeInverseFrequencies(config->rope).size() == static_cast<size_t>(config->rope.n_rot / 2));
    }
  }
  return 0;
}
