// GGUF v2/v3 reader: parses and validates the header, metadata and tensor table of a GGUF file held
// in memory (normally a MappedFile), and gives zero-copy views of tensor data.
//
// Nothing from the file is trusted: every count, length, offset and size is checked against the
// bytes actually present before it is used, with overflow-checked arithmetic. A GgufFile is
// immutable after parsing and safe to share between threads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "format/gguf_types.h"
#include "platform/mapped_file.h"
#include "tensor/dtype.h"

namespace enclave {

// Limits on what we accept, each far above what real models use; docs/formats-gguf.md says why.
inline constexpr uint64_t kGgufMaxStringBytes = 64ull << 20;   // one metadata string value
inline constexpr uint64_t kGgufMaxKeyBytes = 64ull << 10;      // one metadata key
inline constexpr uint32_t kGgufMaxArrayDepth = 4;              // arrays of arrays of ...
inline constexpr uint64_t kGgufMaxMetadataElements = 8ull << 20;  // all array elements together
// Our spec's limit (llama.cpp's GGML_MAX_NAME is 64 with the NUL, so it writes at most 63).
inline constexpr uint64_t kGgufMaxTensorNameBytes = 64;
inline constexpr uint32_t kGgufMaxDims = 4;
inline constexpr uint64_t kGgufMaxElements = uint64_t{1} << 62;  // one tensor
inline constexpr uint32_t kGgufDefaultAlignment = 32;
inline constexpr uint32_t kGgufMaxAlignment = 1u << 30;  // general.alignment: a power of two up to this

struct GgufTensorInfo {
  std::string name;
  uint32_t type_id = 0;            // raw ggml type id from the file
  DType type = DType::kF32;        // valid only when the id is a type we know
  bool type_known = false;
  std::vector<uint64_t> dims;      // GGUF order: dims[0] is the contiguous (innermost) dimension
  uint64_t n_elements = 0;
  uint64_t n_bytes = 0;
  uint64_t relative_offset = 0;    // as stored: relative to the data section
  uint64_t file_offset = 0;        // absolute offset in the file
  std::span<const uint8_t> data;   // empty when the tensor failed validation
};

struct GgufParseOptions {
  // When true, problems with individual tensors or keys (unknown tensor type, overlap, data past
  // the end, duplicate names, ...) are collected in GgufFile::problems() and parsing goes on so
  // that a report can list all of them. When false, the first problem is returned as an error.
  bool collect_problems = false;
};

class GgufFile {
 public:
  // Maps and parses `path`; strict (any problem is an error).
  static Result<std::unique_ptr<GgufFile>> Open(const std::string& path,
                                                GgufParseOptions options = {});
  // Parses bytes owned by the caller; they must outlive the GgufFile.
  static Result<std::unique_ptr<GgufFile>> Parse(std::span<const uint8_t> bytes,
                                                 GgufParseOptions options = {});

  uint32_t version() const { return version_; }
  uint32_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }
  uint64_t file_size() const { return bytes_.size(); }

  const std::vector<GgufKeyValue>& metadata() const { return metadata_; }
  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const std::vector<std::string>& problems() const { return problems_; }

  const GgufValue* Find(std::string_view key) const;
  const GgufTensorInfo* FindTensor(std::string_view name) const;

  // Typed getters, for model loaders. NotFound when the key is absent; otherwise the conversion
  // rules of GgufValueAs (format/gguf_types.h): integers of any width when the value fits,
  // InvalidArgument naming the key with the expected and found types, OutOfRange when a value
  // does not fit. T: bool, u8..u64, i8..i64, float, double, std::string, std::string_view (valid
  // while this GgufFile lives).
  template <typename T>
  Result<T> Get(std::string_view key) const {
    const GgufValue* v = Find(key);
    if (v == nullptr) return Missing(key);
    return GgufValueAs<T>(*v, key);
  }
  // For optional keys: `fallback` when absent, but still an error when present and wrong, so a
  // mistyped value is never silently replaced by the default.
  template <typename T>
  Result<T> GetOr(std::string_view key, T fallback) const {
    const GgufValue* v = Find(key);
    if (v == nullptr) return fallback;
    return GgufValueAs<T>(*v, key);
  }
  // A flat array converted element by element (tokenizer.ggml.tokens as std::string_view, ...).
  template <typename T>
  Result<std::vector<T>> GetArrayOf(std::string_view key) const {
    const GgufValue* v = Find(key);
    if (v == nullptr) return Missing(key);
    return GgufArrayAs<T>(*v, key);
  }
  // Any array, nested ones included, as its elements.
  Result<std::span<const GgufValue>> GetArray(std::string_view key) const;

  Result<std::string> GetString(std::string_view key) const { return Get<std::string>(key); }
  Result<bool> GetBool(std::string_view key) const { return Get<bool>(key); }
  Result<uint32_t> GetU32(std::string_view key) const { return Get<uint32_t>(key); }
  Result<int32_t> GetI32(std::string_view key) const { return Get<int32_t>(key); }
  Result<uint64_t> GetU64(std::string_view key) const { return Get<uint64_t>(key); }
  Result<int64_t> GetI64(std::string_view key) const { return Get<int64_t>(key); }
  Result<float> GetF32(std::string_view key) const { return Get<float>(key); }
  Result<double> GetF64(std::string_view key) const { return Get<double>(key); }
  // Older spellings of GetU64 / GetI64 / GetF64, kept for existing callers.
  Result<uint64_t> GetUint(std::string_view key) const { return Get<uint64_t>(key); }
  Result<int64_t> GetInt(std::string_view key) const { return Get<int64_t>(key); }
  Result<double> GetFloat(std::string_view key) const { return Get<double>(key); }
  Result<std::vector<std::string>> GetStringArray(std::string_view key) const {
    return GetArrayOf<std::string>(key);
  }

 private:
  GgufFile() = default;
  friend class GgufParser;

  static Status Missing(std::string_view key);

  std::unique_ptr<MappedFile> mapping_;  // set when opened from a path
  std::span<const uint8_t> bytes_;
  uint32_t version_ = 0;
  uint32_t alignment_ = kGgufDefaultAlignment;
  uint64_t data_offset_ = 0;
  std::vector<GgufKeyValue> metadata_;
  std::unordered_map<std::string, size_t> key_index_;
  std::vector<GgufTensorInfo> tensors_;
  std::unordered_map<std::string, size_t> tensor_index_;
  std::vector<std::string> problems_;
};

}  // namespace enclave
