// GGUF metadata values: the typed tree read from (or written to) a GGUF header.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace enclave {

enum class GgufValueType : uint32_t {
  kU8 = 0,
  kI8 = 1,
  kU16 = 2,
  kI16 = 3,
  kU32 = 4,
  kI32 = 5,
  kF32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kU64 = 10,
  kI64 = 11,
  kF64 = 12,
};

const char* GgufValueTypeName(GgufValueType t);
bool IsKnownGgufValueType(uint32_t t);
// Bytes of one scalar of type t on disk; 0 for string and array.
uint64_t GgufScalarSize(GgufValueType t);

// One metadata value. Scalars keep their exact type; integers are stored widened.
// Arrays keep their element type (all elements share it) and their elements.
struct GgufValue {
  GgufValueType type = GgufValueType::kU8;
  uint64_t u = 0;        // unsigned integers and bool
  int64_t i = 0;         // signed integers
  double f = 0.0;        // f32 / f64
  std::string str;       // string
  GgufValueType array_type = GgufValueType::kU8;
  std::vector<GgufValue> array;

  bool IsInteger() const;
  bool IsFloat() const { return type == GgufValueType::kF32 || type == GgufValueType::kF64; }

  static GgufValue U8(uint8_t v) { return Unsigned(GgufValueType::kU8, v); }
  static GgufValue U16(uint16_t v) { return Unsigned(GgufValueType::kU16, v); }
  static GgufValue U32(uint32_t v) { return Unsigned(GgufValueType::kU32, v); }
  static GgufValue U64(uint64_t v) { return Unsigned(GgufValueType::kU64, v); }
  static GgufValue I8(int8_t v) { return Signed(GgufValueType::kI8, v); }
  static GgufValue I16(int16_t v) { return Signed(GgufValueType::kI16, v); }
  static GgufValue I32(int32_t v) { return Signed(GgufValueType::kI32, v); }
  static GgufValue I64(int64_t v) { return Signed(GgufValueType::kI64, v); }
  static GgufValue F32(float v);
  static GgufValue F64(double v);
  static GgufValue Bool(bool v) { return Unsigned(GgufValueType::kBool, v ? 1 : 0); }
  static GgufValue String(std::string v);
  static GgufValue Array(GgufValueType elem_type, std::vector<GgufValue> elems);
  static GgufValue StringArray(const std::vector<std::string>& v);

 private:
  static GgufValue Unsigned(GgufValueType t, uint64_t v);
  static GgufValue Signed(GgufValueType t, int64_t v);
};

struct GgufKeyValue {
  std::string key;
  GgufValue value;
};

// Typed access to one metadata value; `key` only names it in errors. Supported T: bool, the
// fixed-width integers (u8..u64, i8..i64), float, double, std::string and std::string_view (a view
// of `v`'s storage, valid while `v` lives).
//   - integers: any GGUF integer type is accepted when the value fits T, because converters
//     disagree about u32 vs i32 for counts; OutOfRange otherwise ("... is -1, which does not fit u32").
//   - float/double: f32 and f64 (an f64 beyond float's range is OutOfRange), and integers.
//   - bool and strings: only their own type.
// Anything else is InvalidArgument naming the key, the expected and the found type.
template <typename T>
Result<T> GgufValueAs(const GgufValue& v, std::string_view key);

// The elements of an array value converted with the rules above (the element type is checked
// once, ranges per element). Nested arrays are not flattened: use GgufValue::array directly.
template <typename T>
Result<std::vector<T>> GgufArrayAs(const GgufValue& v, std::string_view key);

}  // namespace enclave
