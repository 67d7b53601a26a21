// A format-neutral description of a model file or directory, built by the GGUF and safetensors
// inspectors and printed by `enclave inspect` (text table or --json).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace enclave {

struct TensorReport {
  std::string name;
  std::string type;              // GGUF type name ("Q4_K", "F16") or safetensors dtype ("F8_E4M3")
  std::vector<uint64_t> shape;   // GGUF order: innermost (contiguous) dimension first
  uint64_t n_elements = 0;
  uint64_t bytes = 0;
  uint64_t offset = 0;           // absolute byte offset of the data in `file`
  std::string file;              // the file holding the data (shards differ per tensor)
};

struct ModelReport {
  std::string format;            // "gguf" or "safetensors"
  std::string path;
  std::string architecture;      // general.architecture, or config.json's model_type
  uint64_t file_size = 0;        // sum over all files
  nlohmann::ordered_json metadata = nlohmann::ordered_json::object();  // long arrays summarised
  std::vector<TensorReport> tensors;
  uint64_t parameter_count = 0;
  std::vector<std::string> problems;  // each one line; empty when the model is valid
};

// Replaces arrays longer than `max_items` by {"type": "array", "length": N, "head": [...]}.
nlohmann::ordered_json SummariseLongArrays(const nlohmann::ordered_json& value, size_t max_items);

std::string ModelReportToText(const ModelReport& report);
nlohmann::ordered_json ModelReportToJson(const ModelReport& report);

}  // namespace enclave
