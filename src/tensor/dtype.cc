#include "tensor/dtype.h"

#include <array>
#include <string>

#include "base/check.h"
#include "base/checked_math.h"

namespace enclave {
namespace {

constexpr DTypeTraits kTraits[] = {
    {DType::kF32, "F32", 1, 4, false},
    {DType::kF16, "F16", 1, 2, false},
    {DType::kQ4_0, "Q4_0", 32, 18, true},
    {DType::kQ4_1, "Q4_1", 32, 20, true},
    {DType::kQ5_0, "Q5_0", 32, 22, true},
    {DType::kQ5_1, "Q5_1", 32, 24, true},
    {DType::kQ8_0, "Q8_0", 32, 34, true},
    {DType::kQ8_1, "Q8_1", 32, 36, true},
    {DType::kQ2_K, "Q2_K", 256, 84, true},
    {DType::kQ3_K, "Q3_K", 256, 110, true},
    {DType::kQ4_K, "Q4_K", 256, 144, true},
    {DType::kQ5_K, "Q5_K", 256, 176, true},
    {DType::kQ6_K, "Q6_K", 256, 210, true},
    {DType::kQ8_K, "Q8_K", 256, 292, true},
    {DType::kI8, "I8", 1, 1, false},
    {DType::kI16, "I16", 1, 2, false},
    {DType::kI32, "I32", 1, 4, false},
    {DType::kI64, "I64", 1, 8, false},
    {DType::kF64, "F64", 1, 8, false},
    {DType::kBF16, "BF16", 1, 2, false},
};

// All ggml type names by id, so that errors can name types we do not load.
constexpr std::array<const char*, 40> kGgmlNames = {
    "F32",     "F16",    "Q4_0",   "Q4_1",    "Q4_2",   "Q4_3",  "Q5_0",  "Q5_1",
    "Q8_0",    "Q8_1",   "Q2_K",   "Q3_K",    "Q4_K",   "Q5_K",  "Q6_K",  "Q8_K",
    "IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ1_S",  "IQ4_NL", "IQ3_S", "IQ2_S", "IQ4_XS",
    "I8",      "I16",    "I32",    "I64",     "F64",    "IQ1_M", "BF16",  "Q4_0_4_4",
    "Q4_0_4_8", "Q4_0_8_8", "TQ1_0", "TQ2_0", "IQ4_NL_4_4", "IQ4_NL_4_8", "IQ4_NL_8_8", "MXFP4",
};

}  // namespace

std::optional<DTypeTraits> TraitsOf(uint32_t id) {
  for (const auto& t : kTraits) {
    if (static_cast<uint32_t>(t.type) == id) return t;
  }
  return std::nullopt;
}

const DTypeTraits& Traits(DType type) {
  for (const auto& t : kTraits) {
    if (t.type == type) return t;
  }
  ENCLAVE_CHECK(false && "unknown DType");
  return kTraits[0];
}

const char* DTypeName(DType type) { return Traits(type).name; }

std::optional<DType> DTypeFromName(std::string_view name) {
  for (const auto& t : kTraits) {
    if (name == t.name) return t.type;
  }
  return std::nullopt;
}

std::string_view GgmlTypeName(uint32_t id) {
  if (id < kGgmlNames.size()) return kGgmlNames[id];
  thread_local std::string buf;
  buf = "type#" + std::to_string(id);
  return buf;
}

std::optional<uint64_t> RowBytes(DType type, uint64_t n_elements) {
  const DTypeTraits& t = Traits(type);
  if (n_elements % static_cast<uint64_t>(t.block_elems) != 0) return std::nullopt;
  return CheckedMul(n_elements / static_cast<uint64_t>(t.block_elems),
                    static_cast<uint64_t>(t.block_bytes));
}

}  // namespace enclave
