// safetensors reader: one file, or a sharded set described by model.safetensors.index.json.
//
// Layout: u64 little-endian N, then N bytes of JSON header {name: {dtype, shape, data_offsets},
// "__metadata__": {str: str}}, then the data section. Everything in the header is validated
// before use (bounded size and nesting, known dtypes, shape x dtype size == byte range, ranges
// inside the data section, no overlaps and no holes, unique names); docs/formats-safetensors.md
// lists every rule. Tensor data is never copied: views point into the mapping (or the caller's
// bytes for Parse) and carry no alignment guarantee.
//
// Thread safety: SafetensorsFile and SafetensorsModel are immutable after construction; share
// them between threads freely.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/status.h"
#include "platform/mapped_file.h"

namespace enclave {

// Bounds on untrusted headers. The header limit matches the reference implementation's (100 MB);
// a DeepSeek-V3 shard's header is ~100 KB. The JSON parser recurses, hence the depth bound.
inline constexpr uint64_t kSafetensorsMaxHeaderBytes = 100'000'000;
inline constexpr int kSafetensorsMaxJsonDepth = 16;
// No checkpoint uses more than 5 dimensions (ggml handles 4); the bound keeps shapes small.
inline constexpr size_t kSafetensorsMaxDims = 8;
inline constexpr uint64_t kSafetensorsMaxIndexBytes = 256'000'000;

// Every dtype name the reference implementation (safetensors 0.8) accepts.
enum class StDType {
  kBool, kF4, kF6_E2M3, kF6_E3M2, kU8, kI8, kF8_E5M2, kF8_E4M3, kF8_E8M0, kF8_E4M3FNUZ,
  kF8_E5M2FNUZ, kI16, kU16, kF16, kBF16, kI32, kU32, kF32, kC64, kF64, kI64, kU64,
};

struct StDTypeInfo {
  StDType type;
  const char* name;   // as written in the header, e.g. "BF16", "F8_E4M3"
  int bits;           // per element; F4 and F6_* pack several elements per byte
  bool loadable;      // Enclave computes with it: F32, F16, BF16, F8_E4M3, I8, I32, I64, U8
};

std::optional<StDTypeInfo> StDTypeFromName(std::string_view name);
// All known dtypes, in the reference implementation's order.
std::span<const StDTypeInfo> AllStDTypes();

class SafetensorsFile;

// A view of one tensor. `data` and `file` live as long as the SafetensorsFile.
struct SafetensorsTensor {
  std::string name;
  StDTypeInfo dtype;
  std::vector<uint64_t> shape;     // PyTorch order: outermost first
  uint64_t n_elements = 0;
  uint64_t begin = 0, end = 0;     // data_offsets, relative to the data section
  uint64_t file_offset = 0;        // absolute: 8 + header length + begin
  std::span<const uint8_t> data;   // [file_offset, file_offset + end - begin), unaligned
  const SafetensorsFile* file = nullptr;  // the file (shard) holding the data

  // GGUF order (innermost first): the order `enclave inspect` prints and ggml uses.
  std::vector<uint64_t> GgufShape() const { return {shape.rbegin(), shape.rend()}; }
};

struct SafetensorsParseOptions {
  // Collect per-tensor problems instead of failing on the first (for `enclave inspect`). Damage
  // that hides the tensor list (header length, JSON syntax) is still an error.
  bool collect_problems = false;
};

class SafetensorsFile {
 public:
  // Maps `path` read-only; errors are labelled with its file name.
  static Result<std::unique_ptr<SafetensorsFile>> Open(const std::string& path,
                                                       SafetensorsParseOptions options = {});
  // Parses caller-owned bytes, which must outlive the object. `label` names them in errors.
  static Result<std::unique_ptr<SafetensorsFile>> Parse(std::span<const uint8_t> bytes, const std::string& label,
                                                        SafetensorsParseOptions options = {});

  const std::string& label() const { return label_; }
  uint64_t file_size() const { return bytes_.size(); }
  uint64_t header_size() const { return header_size_; }
  // Sorted by data offset (then name).
  const std::vector<SafetensorsTensor>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // Empty unless parsed with collect_problems; each is one line naming the file.
  const std::vector<std::string>& problems() const { return problems_; }
  const SafetensorsTensor* Find(std::string_view name) const;

 private:
  SafetensorsFile() = default;
  Status ParseHeader(bool collect);
  Status ParseEntry(std::string_view name, const nlohmann::json& entry, uint64_t data_size, bool collect);
  Status CheckCoverage(uint64_t data_size, bool collect, bool entries_dropped);
  Status Problem(bool collect, std::string message);

  std::unique_ptr<MappedFile> mapping_;
  std::span<const uint8_t> bytes_;
  std::string label_;
  uint64_t header_size_ = 0;
  std::vector<SafetensorsTensor> tensors_;
  std::map<std::string, size_t, std::less<>> index_;
  std::map<std::string, std::string> metadata_;
  std::vector<std::string> problems_;
};

// Parses model.safetensors.index.json: tensor name -> shard file name. Shard names must be
// plain file names (no directories, no "..").
Result<std::map<std::string, std::string>> ParseSafetensorsIndex(std::string_view json_text);

// A model's safetensors: one file, or shards listed by an index. Tensor names are unique across
// shards.
class SafetensorsModel {
 public:
  // `dir` holds model.safetensors.index.json (sharded) or *.safetensors files (usually one).
  static Result<std::unique_ptr<SafetensorsModel>> OpenDirectory(const std::string& dir,
                                                                 SafetensorsParseOptions options = {});
  // A model made of one already parsed file (tests, fuzzing, a lone .safetensors file).
  static std::unique_ptr<SafetensorsModel> FromFile(std::unique_ptr<SafetensorsFile> file);

  const std::vector<std::unique_ptr<SafetensorsFile>>& files() const { return files_; }
  // Cross-file problems (collect_problems), then each file's own, in file order.
  const std::vector<std::string>& problems() const { return problems_; }
  bool sharded() const { return sharded_; }
  size_t tensor_count() const { return where_.size(); }
  // The tensor (its `file` says which shard), or null.
  const SafetensorsTensor* Find(std::string_view name) const;

 private:
  SafetensorsModel() = default;
  Status AddFile(std::unique_ptr<SafetensorsFile> file, const std::map<std::string, std::string>* weight_map,
                 const std::function<Status(std::string)>& problem);

  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, std::pair<size_t, size_t>, std::less<>> where_;  // name -> (file, tensor)
  std::vector<std::string> problems_;
  bool sharded_ = false;
};

}  // namespace enclave
