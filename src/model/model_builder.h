// Internal to src/model: assembles a Model from a GGUF file or a safetensors directory.
#pragma once

#include <memory>
#include <string>

#include "model/model.h"

namespace enclave {

class ModelBuilder {
 public:
  static Result<std::unique_ptr<Model>> FromGguf(const std::string& path, const ModelLoadOptions& options);
  static Result<std::unique_ptr<Model>> FromHfDirectory(const std::string& dir, const ModelLoadOptions& options);

  // Storage owned by the model for converted tensors.
  static std::span<uint8_t> Own(Model& m, size_t bytes) {
    m.owned_.emplace_back(bytes);
    return m.owned_.back();
  }
};

}  // namespace enclave
