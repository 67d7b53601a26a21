#include "format/gguf_types.h"

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

}  // namespace enclave
