// GGUF v3 writer for tools and tests: collect metadata and tensors, then write one file.
// Thread-compatible.
#pragma once

#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "format/gguf_types.h"
#include "tensor/dtype.h"

namespace enclave {

class GgufWriter {
 public:
  // `alignment` must be a power of two (checked by Serialize).
  explicit GgufWriter(uint32_t alignment = 32) : alignment_(alignment) {}

  // Adds (or replaces) a metadata entry; keys keep the order of first insertion. Keys and values
  // are checked by Serialize (UTF-8 keys, array elements of the array's type, the reader's limits).
  void SetValue(const std::string& key, GgufValue value);
  // Adds a tensor. `dims` in GGUF order (innermost first), none zero; `data` must hold exactly the
  // tensor's bytes for `type`. The bytes are copied. Names must be unique, 1 to 64 bytes of UTF-8.
  Status AddTensor(const std::string& name, DType type, std::vector<uint64_t> dims,
                   std::span<const uint8_t> data);

  // The whole file: header, metadata in insertion order, tensor infos and data in AddTensor order,
  // each tensor at the next multiple of the alignment. general.alignment is added when the
  // alignment differs from the default 32; one set explicitly must equal the alignment.
  Result<std::vector<uint8_t>> Serialize() const;
  Status WriteFile(const std::string& path) const;

  // Keeps tensor data in `temp_path` (created now, removed by the destructor) instead of memory,
  // so that files larger than RAM can be written; WriteFile then copies it after the header.
  // Serialize() is refused once data is spilled. Call before the first AddTensor.
  Status SpillTensorDataTo(const std::string& temp_path);
  ~GgufWriter();
  GgufWriter(const GgufWriter&) = delete;
  GgufWriter& operator=(const GgufWriter&) = delete;

 private:
  struct Tensor {
    std::string name;
    DType type;
    std::vector<uint64_t> dims;
    std::vector<uint8_t> data;  // empty when spilled
    uint64_t size = 0;
    uint64_t spill_offset = 0;
  };
  // Header, metadata and tensor infos, padded to the alignment; the data follows.
  Result<std::vector<uint8_t>> SerializeHeader() const;

  uint32_t alignment_;
  std::string spill_path_;
  std::FILE* spill_ = nullptr;
  uint64_t spill_size_ = 0;
  std::vector<GgufKeyValue> metadata_;
  std::vector<Tensor> tensors_;
};

}  // namespace enclave
