// safetensors reader: one file, or a sharded set described by model.safetensors.index.json.
//
// Layout: u64 little-endian N, then N bytes of JSON header {name: {dtype, shape, data_offsets},
// "__metadata__": {str: str}}, then the data section. Everything in the header is validated
// before use (bounded size and nesting, known dtypes, shape x dtype size == byte range, ranges
// inside the data section, no overlaps and no holes, unique names). Immutable after parsing;
// safe to share between threads.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "platform/mapped_file.h"

namespace enclave {

inline constexpr uint64_t kSafetensorsMaxHeaderBytes = 100ull << 20;
inline constexpr int kSafetensorsMaxJsonDepth = 16;

enum class StDType {
  kBool, kU8, kI8, kF8_E4M3, kF8_E5M2, kI16, kU16, kF16, kBF16, kI32, kU32, kF32, kI64, kU64, kF64,
};

struct StDTypeInfo {
  StDType type;
  const char* name;   // as written in the header, e.g. "BF16", "F8_E4M3"
  int bytes;
  bool loadable;      // Enclave can compute with it (F32, F16, BF16, F8_E4M3, I8, I32, I64, U8)
};

std::optional<StDTypeInfo> StDTypeFromName(std::string_view name);

struct SafetensorsTensor {
  std::string name;
  StDTypeInfo dtype;
  std::vector<uint64_t> shape;     // PyTorch order: outermost first
  uint64_t n_elements = 0;
  uint64_t begin = 0, end = 0;     // data_offsets, relative to the data section
  uint64_t file_offset = 0;        // absolute: 8 + header length + begin
  std::span<const uint8_t> data;

  // GGUF order (innermost first), the order `enclave inspect` prints.
  std::vector<uint64_t> GgufShape() const { return {shape.rbegin(), shape.rend()}; }
};

struct SafetensorsParseOptions {
  // Collect per-tensor problems instead of failing on the first (for `enclave inspect`).
  bool collect_problems = false;
};

class SafetensorsFile {
 public:
  static Result<std::unique_ptr<SafetensorsFile>> Open(const std::string& path,
                                                       SafetensorsParseOptions options = {});
  // Parses caller-owned bytes, which must outlive the object. `label` names them in errors.
  static Result<std::unique_ptr<SafetensorsFile>> Parse(std::span<const uint8_t> bytes, const std::string& label,
                                                        SafetensorsParseOptions options = {});

  const std::string& label() const { return label_; }
  uint64_t file_size() const { return bytes_.size(); }
  uint64_t header_size() const { return header_size_; }
  const std::vector<SafetensorsTensor>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::vector<std::string>& problems() const { return problems_; }
  const SafetensorsTensor* Find(std::string_view name) const;

 private:
  SafetensorsFile() = default;
  Status ParseHeader(SafetensorsParseOptions options);
  Status Problem(bool collect, std::string message);

  std::unique_ptr<MappedFile> mapping_;
  std::span<const uint8_t> bytes_;
  std::string label_;
  uint64_t header_size_ = 0;
  std::vector<SafetensorsTensor> tensors_;
  std::map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
  std::vector<std::string> problems_;
};

// A model's safetensors: one file, or shards listed by an index. Tensor names are unique across
// shards.
class SafetensorsModel {
 public:
  // `dir` holds model.safetensors.index.json (sharded) or *.safetensors files (usually one).
  static Result<std::unique_ptr<SafetensorsModel>> OpenDirectory(const std::string& dir,
                                                                 SafetensorsParseOptions options = {});

  const std::vector<std::unique_ptr<SafetensorsFile>>& files() const { return files_; }
  const std::vector<std::string>& problems() const { return problems_; }
  bool sharded() const { return sharded_; }
  // The tensor and the file holding it, or null.
  const SafetensorsTensor* Find(std::string_view name, const SafetensorsFile** file = nullptr) const;

 private:
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, std::pair<size_t, size_t>, std::less<>> where_;  // name -> (file, tensor)
  std::vector<std::string> problems_;
  bool sharded_ = false;
};

}  // namespace enclave
