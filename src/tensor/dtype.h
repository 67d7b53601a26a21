// Tensor element types. Numeric ids equal GGML's `ggml_type` values so that GGUF files map
// directly; block layouts are bit-compatible with llama.cpp's (see docs/formats.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace enclave {

enum class DType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ8_1 = 9,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kQ8_K = 15,
  kI8 = 24,
  kI16 = 25,
  kI32 = 26,
  kI64 = 27,
  kF64 = 28,
  kBF16 = 30,
};

// One past the largest id above; sizes lookup tables indexed by DType.
inline constexpr uint32_t kDTypeTableSize = 31;

struct DTypeTraits {
  DType type;
  const char* name;      // GGUF/ggml name, e.g. "Q4_K"
  int64_t block_elems;   // elements per block (1 for plain types)
  int64_t block_bytes;   // bytes per block
  bool quantized;
};

// Traits of a type we know; nullopt for ids we do not support (e.g. IQ* types).
std::optional<DTypeTraits> TraitsOf(uint32_t ggml_type_id);
// Traits of a supported type (CHECKs that `type` is one of the enumerators above).
const DTypeTraits& Traits(DType type);

const char* DTypeName(DType type);
std::optional<DType> DTypeFromName(std::string_view name);

// Name for any ggml type id, including ones we cannot load ("IQ2_XXS"), or "type#N".
std::string_view GgmlTypeName(uint32_t ggml_type_id);

// Bytes for `n_elements` elements laid out along rows; nullopt if n_elements is not a multiple of
// the block size or the product overflows.
std::optional<uint64_t> RowBytes(DType type, uint64_t n_elements);

}  // namespace enclave
