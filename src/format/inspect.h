// Inspectors behind `enclave inspect`: read a model file or directory, validate everything, and
// describe it. An error Status means the input could not be read at all (one line, actionable);
// a report with non-empty `problems` means it was read but is not valid.
#pragma once

#include <string>

#include "base/status.h"
#include "format/model_report.h"

namespace enclave {

// A GGUF file (v2 or v3). Implemented in format/gguf_inspect.cc.
Result<ModelReport> InspectGgufFile(const std::string& path);

// A single .safetensors file. Implemented in format/hf_inspect.cc.
Result<ModelReport> InspectSafetensorsFile(const std::string& path);

// A Hugging Face model directory: config.json plus model.safetensors or a sharded set with
// model.safetensors.index.json. Implemented in format/hf_inspect.cc.
Result<ModelReport> InspectHfDirectory(const std::string& path);

// Chooses by what `path` is: a directory, a file starting with the GGUF magic, or a
// safetensors file.
Result<ModelReport> InspectModelPath(const std::string& path);

}  // namespace enclave
