#include "format/gguf_types.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <type_traits>
#include <utility>

namespace enclave {

const char* GgufValueTypeName(GgufValueType t) {
  switch (t) {
    case GgufValueType::kU8: return "u8";
    case GgufValueType::kI8: return "i8";
    case GgufValueType::kU16: return "u16";
    case GgufValueType::kI16: return "i16";
    case GgufValueType::kU32: return "u32";
    case GgufValueType::kI32: return "i32";
    case GgufValueType::kF32: return "f32";
    case GgufValueType::kBool: return "bool";
    case GgufValueType::kString: return "string";
    case GgufValueType::kArray: return "array";
    case GgufValueType::kU64: return "u64";
    case GgufValueType::kI64: return "i64";
    case GgufValueType::kF64: return "f64";
  }
  return "unknown";
}

bool IsKnownGgufValueType(uint32_t t) { return t <= 12; }

uint64_t GgufScalarSize(GgufValueType t) {
  switch (t) {
    case GgufValueType::kU8:
    case GgufValueType::kI8:
    case GgufValueType::kBool: return 1;
    case GgufValueType::kU16:
    case GgufValueType::kI16: return 2;
    case GgufValueType::kU32:
    case GgufValueType::kI32:
    case GgufValueType::kF32: return 4;
    case GgufValueType::kU64:
    case GgufValueType::kI64:
    case GgufValueType::kF64: return 8;
    case GgufValueType::kString:
    case GgufValueType::kArray: return 0;
  }
  return 0;
}

bool GgufValue::IsInteger() const {
  switch (type) {
    case GgufValueType::kU8: case GgufValueType::kI8: case GgufValueType::kU16:
    case GgufValueType::kI16: case GgufValueType::kU32: case GgufValueType::kI32:
    case GgufValueType::kU64: case GgufValueType::kI64: return true;
    default: return false;
  }
}

GgufValue GgufValue::Unsigned(GgufValueType t, uint64_t v) {
  GgufValue out;
  out.type = t;
  out.u = v;
  out.i = static_cast<int64_t>(v);
  return out;
}

GgufValue GgufValue::Signed(GgufValueType t, int64_t v) {
  GgufValue out;
  out.type = t;
  out.i = v;
  out.u = static_cast<uint64_t>(v);
  return out;
}

GgufValue GgufValue::F32(float v) {
  GgufValue out;
  out.type = GgufValueType::kF32;
  out.f = v;
  return out;
}

GgufValue GgufValue::F64(double v) {
  GgufValue out;
  out.type = GgufValueType::kF64;
  out.f = v;
  return out;
}

GgufValue GgufValue::String(std::string v) {
  GgufValue out;
  out.type = GgufValueType::kString;
  out.str = std::move(v);
  return out;
}

GgufValue GgufValue::Array(GgufValueType elem_type, std::vector<GgufValue> elems) {
  GgufValue out;
  out.type = GgufValueType::kArray;
  out.array_type = elem_type;
  out.array = std::move(elems);
  return out;
}

GgufValue GgufValue::StringArray(const std::vector<std::string>& v) {
  std::vector<GgufValue> elems;
  elems.reserve(v.size());
  for (const auto& s : v) elems.push_back(String(s));
  return Array(GgufValueType::kString, std::move(elems));
}

namespace {

bool IsSignedInteger(GgufValueType t) {
  return t == GgufValueType::kI8 || t == GgufValueType::kI16 || t == GgufValueType::kI32 ||
         t == GgufValueType::kI64;
}

// The name of T in error messages, in GGUF's vocabulary.
template <typename T>
constexpr const char* Label() {
  if constexpr (std::is_same_v<T, bool>) return "bool";
  else if constexpr (std::is_same_v<T, uint8_t>) return "u8";
  else if constexpr (std::is_same_v<T, uint16_t>) return "u16";
  else if constexpr (std::is_same_v<T, uint32_t>) return "u32";
  else if constexpr (std::is_same_v<T, uint64_t>) return "u64";
  else if constexpr (std::is_same_v<T, int8_t>) return "i8";
  else if constexpr (std::is_same_v<T, int16_t>) return "i16";
  else if constexpr (std::is_same_v<T, int32_t>) return "i32";
  else if constexpr (std::is_same_v<T, int64_t>) return "i64";
  else if constexpr (std::is_same_v<T, float>) return "f32";
  else if constexpr (std::is_same_v<T, double>) return "f64";
  else return "string";
}

// What a value holds, for "expected X, found Y": arrays name their element type.
std::string Describe(const GgufValue& v) {
  if (v.type != GgufValueType::kArray) return GgufValueTypeName(v.type);
  return fmt::format("array of {}", GgufValueTypeName(v.array_type));
}

// `key` plus an element index when converting array elements ("k[3]").
std::string Where(std::string_view key, size_t index, bool in_array) {
  return in_array ? fmt::format("{}[{}]", key, index) : std::string(key);
}

template <typename T>
Result<T> Convert(const GgufValue& v, std::string_view key, size_t index, bool in_array) {
  const auto mismatch = [&] {
    return InvalidArgumentError(fmt::format("metadata '{}' has type {}, expected {}",
                                            Where(key, index, in_array), Describe(v), Label<T>()));
  };
  if constexpr (std::is_same_v<T, bool>) {
    if (v.type != GgufValueType::kBool) return mismatch();
    return v.u != 0;
  } else if constexpr (std::is_integral_v<T>) {
    if (!v.IsInteger()) return mismatch();
    if (IsSignedInteger(v.type) ? std::in_range<T>(v.i) : std::in_range<T>(v.u)) {
      return IsSignedInteger(v.type) ? static_cast<T>(v.i) : static_cast<T>(v.u);
    }
    return OutOfRangeError(fmt::format("metadata '{}' is {}, which does not fit {}", Where(key, index, in_array),
                                       IsSignedInteger(v.type) ? fmt::to_string(v.i) : fmt::to_string(v.u),
                                       Label<T>()));
  } else if constexpr (std::is_floating_point_v<T>) {
    if (v.IsInteger()) return IsSignedInteger(v.type) ? static_cast<T>(v.i) : static_cast<T>(v.u);
    if (!v.IsFloat()) return mismatch();
    if (std::isfinite(v.f) && std::fabs(v.f) > static_cast<double>(std::numeric_limits<T>::max())) {
      return OutOfRangeError(fmt::format("metadata '{}' is {}, which does not fit {}", Where(key, index, in_array),
                                         v.f, Label<T>()));
    }
    return static_cast<T>(v.f);
  } else {
    static_assert(std::is_same_v<T, std::string> || std::is_same_v<T, std::string_view>);
    if (v.type != GgufValueType::kString) return mismatch();
    return T(v.str);
  }
}

}  // namespace

template <typename T>
Result<T> GgufValueAs(const GgufValue& v, std::string_view key) {
  return Convert<T>(v, key, 0, false);
}

template <typename T>
Result<std::vector<T>> GgufArrayAs(const GgufValue& v, std::string_view key) {
  if (v.type != GgufValueType::kArray) {
    return InvalidArgumentError(fmt::format("metadata '{}' has type {}, expected array of {}", key,
                                            Describe(v), Label<T>()));
  }
  std::vector<T> out;
  out.reserve(v.array.size());
  for (size_t k = 0; k < v.array.size(); ++k) {
    auto e = Convert<T>(v.array[k], key, k, true);
    if (!e.ok()) {
      // A wrong element type is a property of the whole array: say so once, without an index.
      if (e.status().code() == StatusCode::kInvalidArgument) {
        return InvalidArgumentError(fmt::format("metadata '{}' has type {}, expected array of {}", key,
                                                Describe(v), Label<T>()));
      }
      return e.status();
    }
    out.push_back(std::move(e).value());
  }
  return out;
}

#define ENCLAVE_GGUF_INSTANTIATE(T)                                              \
  template Result<T> GgufValueAs<T>(const GgufValue&, std::string_view);         \
  template Result<std::vector<T>> GgufArrayAs<T>(const GgufValue&, std::string_view);
ENCLAVE_GGUF_INSTANTIATE(bool)
ENCLAVE_GGUF_INSTANTIATE(uint8_t)
ENCLAVE_GGUF_INSTANTIATE(uint16_t)
ENCLAVE_GGUF_INSTANTIATE(uint32_t)
ENCLAVE_GGUF_INSTANTIATE(uint64_t)
ENCLAVE_GGUF_INSTANTIATE(int8_t)
ENCLAVE_GGUF_INSTANTIATE(int16_t)
ENCLAVE_GGUF_INSTANTIATE(int32_t)
ENCLAVE_GGUF_INSTANTIATE(int64_t)
ENCLAVE_GGUF_INSTANTIATE(float)
ENCLAVE_GGUF_INSTANTIATE(double)
ENCLAVE_GGUF_INSTANTIATE(std::string)
ENCLAVE_GGUF_INSTANTIATE(std::string_view)
#undef ENCLAVE_GGUF_INSTANTIATE

}  // namespace enclave
