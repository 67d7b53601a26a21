#include "format/gguf_reader.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "base/checked_math.h"
#include "format/utf8.h"

namespace enclave {

// Reads little-endian values from a byte span; every read is bounds-checked and a failure names
// what was being read and where.
class GgufParser {
 public:
  GgufParser(std::span<const uint8_t> bytes, GgufParseOptions options, GgufFile* out)
      : bytes_(bytes), options_(options), out_(out) {}

  Status Run();

 private:
  uint64_t remaining() const { return bytes_.size() - pos_; }

  Status Truncated(const std::string& what, uint64_t need) const {
    return CorruptError(fmt::format(
        "file truncated while reading {} at offset {}: needs {} bytes, {} left (file is {} bytes)",
        what, pos_, need, remaining(), bytes_.size()));
  }

  template <typename T>
  Status Read(T* v, const std::string& what) {
    if (remaining() < sizeof(T)) return Truncated(what, sizeof(T));
    std::memcpy(v, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return Status::Ok();
  }

  Status ReadString(std::string* s, uint64_t max_len, const std::string& what) {
    uint64_t len = 0;
    RETURN_IF_ERROR(Read(&len, what + " length"));
    if (len > max_len) {
      return CorruptError(fmt::format("{} at offset {} has length {}, above the limit of {} bytes",
                                      what, pos_ - 8, len, max_len));
    }
    if (remaining() < len) return Truncated(what, len);
    s->assign(reinterpret_cast<const char*>(bytes_.data() + pos_), len);
    pos_ += len;
    return Status::Ok();
  }

  Status Problem(std::string message) {
    if (!options_.collect_problems) return CorruptError(std::move(message));
    out_->problems_.push_back(std::move(message));
    return Status::Ok();
  }

  Status ReadHeader();
  Status ReadValue(GgufValueType type, uint32_t depth, const std::string& key, GgufValue* v);
  Status ReadMetadata();
  Status ReadAlignment();
  Status ReadTensorInfos();
  Status ValidateTensors();

  std::span<const uint8_t> bytes_;
  GgufParseOptions options_;
  GgufFile* out_;
  uint64_t pos_ = 0;
  uint64_t tensor_count_ = 0;
  uint64_t kv_count_ = 0;
  uint64_t elements_ = 0;
};

Status GgufParser::Run() {
  out_->bytes_ = bytes_;
  RETURN_IF_ERROR(ReadHeader());
  RETURN_IF_ERROR(ReadMetadata());
  RETURN_IF_ERROR(ReadAlignment());
  RETURN_IF_ERROR(ReadTensorInfos());
  return ValidateTensors();
}

Status GgufParser::ReadHeader() {
  if (bytes_.size() < 4) {
    return CorruptError(fmt::format("not a GGUF file: {} bytes, too small for the magic", bytes_.size()));
  }
  if (std::memcmp(bytes_.data(), "GGUF", 4) != 0) {
    return CorruptError(fmt::format("not a GGUF file: the magic (first 4 bytes) is {:02x}, expected 'GGUF' "
                                    "(47 47 55 46)", fmt::join(bytes_.first(4), " ")));
  }
  pos_ = 4;
  uint32_t version = 0;
  RETURN_IF_ERROR(Read(&version, "the version"));
  if (version == 1) {
    return UnsupportedError("unsupported GGUF version 1: it predates 64-bit counts; "
                            "convert the model again with a current converter");
  }
  // gguf-py writes big-endian files on request; their version reads as 0x0N000000 here.
  if (version != 0 && (version & 0xFFFF) == 0 && __builtin_bswap32(version) <= 3) {
    return UnsupportedError(fmt::format("big-endian GGUF (version {}) is not supported: Enclave reads "
                                        "little-endian files only", __builtin_bswap32(version)));
  }
  if (version != 2 && version != 3) {
    return UnsupportedError(fmt::format("unsupported GGUF version {} (Enclave reads versions 2 and 3)", version));
  }
  out_->version_ = version;
  RETURN_IF_ERROR(Read(&tensor_count_, "the tensor count"));
  RETURN_IF_ERROR(Read(&kv_count_, "the metadata count"));
  // The smallest key/value takes 8 (length) + 1 (key) + 4 (type) + 1 (value) bytes, the smallest
  // tensor info 8 + 1 + 4 + 8 + 4 + 8: a count the remaining bytes cannot hold is a lie, and
  // rejecting it here keeps a 20-byte file from making us reserve gigabytes.
  constexpr uint64_t kMinKvBytes = 14, kMinTensorInfoBytes = 33;
  if (kv_count_ > remaining() / kMinKvBytes) {
    return CorruptError(fmt::format("header claims {} metadata entries, but only {} bytes follow",
                                    kv_count_, remaining()));
  }
  if (tensor_count_ > remaining() / kMinTensorInfoBytes) {
    return CorruptError(fmt::format("header claims {} tensors, but only {} bytes follow",
                                    tensor_count_, remaining()));
  }
  return Status::Ok();
}

Status GgufParser::ReadValue(GgufValueType type, uint32_t depth, const std::string& key,
                             GgufValue* v) {
  v->type = type;
  const std::string what = "the value of '" + key + "'";
  switch (type) {
    case GgufValueType::kU8: { uint8_t x = 0; RETURN_IF_ERROR(Read(&x, what)); v->u = x; v->i = x; break; }
    case GgufValueType::kI8: { int8_t x = 0; RETURN_IF_ERROR(Read(&x, what)); v->i = x; v->u = static_cast<uint64_t>(x); break; }
    case GgufValueType::kU16: { uint16_t x = 0; RETURN_IF_ERROR(Read(&x, what)); v->u = x; v->i = x; break; }
    case GgufValueType::kI16: { int16_t x = 0; RETURN_IF_ERROR(Read(&x, what)); v->i = x; v->u = static_cast<uint64_t>(x); break; }
    case GgufValueType::kU32: { uint32_t x = 0; RETURN_IF_ERROR(Read(&x, what)); v->u = x; v->i = x; break; }
    case GgufValueType::kI32: { int32_t x = 0; RETURN_IF_ERROR(Read(&x, what)); v->i = x; v->u = static_cast<uint64_t>(x); break; }
    case GgufValueType::kU64: { uint64_t x = 0; RETURN_IF_ERROR(Read(&x, what)); v->u = x; v->i = static_cast<int64_t>(x); break; }
    case GgufValueType::kI64: { int64_t x = 0; RETURN_IF_ERROR(Read(&x, what)); v->i = x; v->u = static_cast<uint64_t>(x); break; }
    case GgufValueType::kF32: { float x = 0; RETURN_IF_ERROR(Read(&x, what)); v->f = x; break; }
    case GgufValueType::kF64: { double x = 0; RETURN_IF_ERROR(Read(&x, what)); v->f = x; break; }
    case GgufValueType::kBool: {
      uint8_t x = 0;
      RETURN_IF_ERROR(Read(&x, what));
      if (x > 1) {
        return CorruptError(fmt::format("key '{}': bool value {} at offset {} is not 0 or 1", key, x, pos_ - 1));
      }
      v->u = x;
      v->i = x;
      break;
    }
    case GgufValueType::kString:
      RETURN_IF_ERROR(ReadString(&v->str, kGgufMaxStringBytes, what));
      break;
    case GgufValueType::kArray: {
      if (depth >= kGgufMaxArrayDepth) {
        return CorruptError(fmt::format("key '{}': arrays nested deeper than {} levels", key, kGgufMaxArrayDepth));
      }
      uint32_t elem_type = 0;
      uint64_t count = 0;
      RETURN_IF_ERROR(Read(&elem_type, what + " element type"));
      if (!IsKnownGgufValueType(elem_type)) {
        return CorruptError(fmt::format("key '{}': unknown array element type {} at offset {}", key,
                                        elem_type, pos_ - 4));
      }
      RETURN_IF_ERROR(Read(&count, what + " element count"));
      const auto et = static_cast<GgufValueType>(elem_type);
      uint64_t min_elem = GgufScalarSize(et);
      if (et == GgufValueType::kString) min_elem = 8;
      if (et == GgufValueType::kArray) min_elem = 12;
      if (count > remaining() / min_elem) {
        return CorruptError(fmt::format(
            "key '{}': array claims {} elements of type {}, but only {} bytes are left (truncated or a "
            "lying count)", key, count, GgufValueTypeName(et), remaining()));
      }
      // Each parsed element costs ~100 bytes of memory however small it is on disk; a total
      // budget keeps a file of lying-but-consistent counts from exhausting memory.
      if (count > kGgufMaxMetadataElements - elements_) {
        return CorruptError(fmt::format("key '{}': metadata holds more than {} array elements in total",
                                        key, kGgufMaxMetadataElements));
      }
      elements_ += count;
      v->array_type = et;
      v->array.resize(count);
      for (uint64_t k = 0; k < count; ++k) {
        RETURN_IF_ERROR(ReadValue(et, depth + 1, key, &v->array[k]));
      }
      break;
    }
    default:
      return CorruptError(fmt::format("key '{}': unknown value type {}", key, static_cast<uint32_t>(type)));
  }
  return Status::Ok();
}

Status GgufParser::ReadMetadata() {
  out_->metadata_.reserve(kv_count_);
  for (uint64_t k = 0; k < kv_count_; ++k) {
    GgufKeyValue kv;
    const uint64_t key_pos = pos_;
    RETURN_IF_ERROR(ReadString(&kv.key, kGgufMaxKeyBytes, fmt::format("metadata key #{}", k)));
    uint32_t type = 0;
    RETURN_IF_ERROR(Read(&type, "the value type of '" + kv.key + "'"));
    if (!IsKnownGgufValueType(type)) {
      return CorruptError(fmt::format("key '{}': unknown value type {} at offset {}", kv.key, type, pos_ - 4));
    }
    RETURN_IF_ERROR(ReadValue(static_cast<GgufValueType>(type), 0, kv.key, &kv.value));
    if (kv.key.empty()) {
      RETURN_IF_ERROR(Problem(fmt::format("metadata key #{} at offset {} is empty", k, key_pos)));
      continue;
    }
    if (!IsValidUtf8(kv.key)) {
      RETURN_IF_ERROR(Problem(fmt::format("metadata key #{} at offset {} is not valid UTF-8", k, key_pos)));
      continue;
    }
    if (out_->key_index_.count(kv.key)) {
      RETURN_IF_ERROR(Problem(fmt::format("metadata key '{}' appears more than once", kv.key)));
      continue;
    }
    out_->key_index_.emplace(kv.key, out_->metadata_.size());
    out_->metadata_.push_back(std::move(kv));
  }
  return Status::Ok();
}

Status GgufParser::ReadAlignment() {
  const GgufValue* a = out_->Find("general.alignment");
  if (a == nullptr) return Status::Ok();
  if (a->type != GgufValueType::kU32) {
    return CorruptError(fmt::format("general.alignment has type {}, expected u32", GgufValueTypeName(a->type)));
  }
  // llama.cpp accepts any nonzero power of two (our spec says "a multiple of 8", which every
  // writer meets); the cap only keeps the padding arithmetic small.
  if (a->u == 0 || (a->u & (a->u - 1)) != 0 || a->u > kGgufMaxAlignment) {
    return CorruptError(fmt::format("general.alignment is {}; it must be a power of two up to 2^30", a->u));
  }
  out_->alignment_ = static_cast<uint32_t>(a->u);
  return Status::Ok();
}

Status GgufParser::ReadTensorInfos() {
  out_->tensors_.reserve(tensor_count_);
  for (uint64_t t = 0; t < tensor_count_; ++t) {
    GgufTensorInfo info;
    // The name limit is checked later, as a per-tensor problem: the bytes are there to skip.
    RETURN_IF_ERROR(ReadString(&info.name, kGgufMaxStringBytes, fmt::format("the name of tensor #{}", t)));
    const std::string label = "tensor '" + info.name + "'";
    uint32_t n_dims = 0;
    RETURN_IF_ERROR(Read(&n_dims, label + " dimension count"));
    if (n_dims == 0 || n_dims > kGgufMaxDims) {
      return CorruptError(fmt::format("{}: {} dimensions (must be 1 to {})", label, n_dims, kGgufMaxDims));
    }
    info.dims.resize(n_dims);
    for (uint32_t d = 0; d < n_dims; ++d) RETURN_IF_ERROR(Read(&info.dims[d], label + " dimensions"));
    RETURN_IF_ERROR(Read(&info.type_id, label + " type"));
    RETURN_IF_ERROR(Read(&info.relative_offset, label + " offset"));
    out_->tensors_.push_back(std::move(info));
  }
  auto data_offset = CheckedAlignUp(pos_, out_->alignment_);
  if (!data_offset) return CorruptError("data section offset overflows");
  out_->data_offset_ = *data_offset;
  if (tensor_count_ > 0 && *data_offset > bytes_.size()) {
    return CorruptError(fmt::format(
        "file truncated: the tensor data section should start at offset {} but the file is {} bytes",
        *data_offset, bytes_.size()));
  }
  return Status::Ok();
}

Status GgufParser::ValidateTensors() {
  struct Range {
    uint64_t begin, end;
    size_t index;
  };
  std::vector<Range> ranges;
  ranges.reserve(out_->tensors_.size());
  for (size_t t = 0; t < out_->tensors_.size(); ++t) {
    GgufTensorInfo& info = out_->tensors_[t];
    const std::string label = "tensor '" + info.name + "'";
    if (info.name.empty() || !IsValidUtf8(info.name)) {
      RETURN_IF_ERROR(Problem(fmt::format("tensor #{} has an empty or non-UTF-8 name", t)));
      continue;
    }
    if (info.name.size() > kGgufMaxTensorNameBytes) {
      RETURN_IF_ERROR(Problem(fmt::format("tensor #{} has a name of {} bytes, above the limit of {} bytes",
                                          t, info.name.size(), kGgufMaxTensorNameBytes)));
      continue;
    }
    if (out_->tensor_index_.count(info.name)) {
      RETURN_IF_ERROR(Problem(fmt::format("{} appears more than once", label)));
      continue;
    }
    out_->tensor_index_.emplace(info.name, t);
    uint64_t n = 1;
    bool ok = true;
    for (uint64_t d : info.dims) {
      if (d == 0) {
        RETURN_IF_ERROR(Problem(fmt::format("{} has a zero dimension ({}); every dimension must be at least 1",
                                            label, fmt::join(info.dims, " x "))));
        ok = false;
        break;
      }
      auto m = CheckedMul(n, d);
      // 2^62 elements keeps every later byte-size and offset product far from wrapping.
      if (!m || *m > kGgufMaxElements) {
        RETURN_IF_ERROR(Problem(fmt::format("{}: element count of dimensions {} overflows (limit 2^62)", label,
                                            fmt::join(info.dims, " x "))));
        ok = false;
        break;
      }
      n = *m;
    }
    if (!ok) continue;
    info.n_elements = n;  // known even for types we cannot load, so reports can count them
    const auto traits = TraitsOf(info.type_id);
    if (!traits) {
      RETURN_IF_ERROR(Problem(fmt::format("{} has type {} ({}), which Enclave cannot load", label,
                                          GgmlTypeName(info.type_id), info.type_id)));
      continue;
    }
    info.type = traits->type;
    info.type_known = true;
    if (info.dims[0] % static_cast<uint64_t>(traits->block_elems) != 0) {
      RETURN_IF_ERROR(Problem(fmt::format("{}: first dimension {} is not a multiple of the {} block size {}",
                                          label, info.dims[0], traits->name, traits->block_elems)));
      continue;
    }
    auto bytes = RowBytes(info.type, n);
    if (!bytes) {
      RETURN_IF_ERROR(Problem(fmt::format("{}: byte size overflows", label)));
      continue;
    }
    info.n_bytes = *bytes;
    if (info.relative_offset % out_->alignment_ != 0) {
      RETURN_IF_ERROR(Problem(fmt::format("{}: data offset {} is not a multiple of the alignment {}",
                                          label, info.relative_offset, out_->alignment_)));
      continue;
    }
    auto begin = CheckedAdd(out_->data_offset_, info.relative_offset);
    auto end = begin ? CheckedAdd(*begin, *bytes) : std::nullopt;
    if (!end || *end > bytes_.size()) {
      RETURN_IF_ERROR(Problem(fmt::format(
          "{}: data [{}, {}) runs past end of file ({} bytes)", label,
          begin ? fmt::to_string(*begin) : std::string("overflow"),
          end ? fmt::to_string(*end) : std::string("overflow"), bytes_.size())));
      continue;
    }
    info.file_offset = *begin;
    info.data = bytes_.subspan(*begin, *bytes);
    ranges.push_back({*begin, *end, t});
  }
  std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) { return a.begin < b.begin; });
  for (size_t k = 1; k < ranges.size(); ++k) {
    if (ranges[k].begin < ranges[k - 1].end) {
      auto& a = out_->tensors_[ranges[k - 1].index];
      auto& b = out_->tensors_[ranges[k].index];
      RETURN_IF_ERROR(Problem(fmt::format("tensors '{}' [{}, {}) and '{}' [{}, {}) overlap", a.name,
                                          ranges[k - 1].begin, ranges[k - 1].end, b.name,
                                          ranges[k].begin, ranges[k].end)));
    }
  }
  return Status::Ok();
}

Result<std::unique_ptr<GgufFile>> GgufFile::Parse(std::span<const uint8_t> bytes, GgufParseOptions options) {
  std::unique_ptr<GgufFile> file(new GgufFile());
  GgufParser parser(bytes, options, file.get());
  RETURN_IF_ERROR(parser.Run());
  return file;
}

Result<std::unique_ptr<GgufFile>> GgufFile::Open(const std::string& path, GgufParseOptions options) {
  ASSIGN_OR_RETURN(std::unique_ptr<MappedFile> mapping, MappedFile::Open(path));
  auto parsed = Parse(mapping->data(), options);
  if (!parsed.ok()) return parsed.status().WithContext(path);
  std::unique_ptr<GgufFile> file = std::move(parsed).value();
  file->mapping_ = std::move(mapping);
  return file;
}

const GgufValue* GgufFile::Find(std::string_view key) const {
  auto it = key_index_.find(std::string(key));
  return it == key_index_.end() ? nullptr : &metadata_[it->second].value;
}

const GgufTensorInfo* GgufFile::FindTensor(std::string_view name) const {
  auto it = tensor_index_.find(std::string(name));
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

Status GgufFile::Missing(std::string_view key) {
  return NotFoundError(fmt::format("metadata '{}' is missing", key));
}

Result<std::span<const GgufValue>> GgufFile::GetArray(std::string_view key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return Missing(key);
  if (v->type != GgufValueType::kArray) {
    return InvalidArgumentError(fmt::format("metadata '{}' has type {}, expected array", key,
                                            GgufValueTypeName(v->type)));
  }
  return std::span<const GgufValue>(v->array);
}

}  // namespace enclave
