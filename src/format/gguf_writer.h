// GGUF v3 writer for tools and tests: collect metadata and tensors, then write one file.
// Thread-compatible.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "format/gguf_types.h"
#include "tensor/dtype.h"

namespace enclave {

class GgufWriter {
 public:
  explicit GgufWriter(uint32_t alignment = 32) : alignment_(alignment) {}

  // Adds (or replaces) a metadata entry; keys keep the order of first insertion.
  void SetValue(const std::string& key, GgufValue value);
  // Adds a tensor. `dims` in GGUF order (innermost first); `data` must hold exactly the tensor's
  // bytes for `type`. The bytes are copied.
  Status AddTensor(const std::string& name, DType type, std::vector<uint64_t> dims,
                   std::span<const uint8_t> data);

  // The whole file. general.alignment is written when it differs from the default 32.
  Result<std::vector<uint8_t>> Serialize() const;
  Status WriteFile(const std::string& path) const;

 private:
  struct Tensor {
    std::string name;
    DType type;
    std::vector<uint64_t> dims;
    std::vector<uint8_t> data;
  };
  uint32_t alignment_;
  std::vector<GgufKeyValue> metadata_;
  std::vector<Tensor> tensors_;
};

}  // namespace enclave
