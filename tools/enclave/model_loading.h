// Loading a model for a CLI command: a progress bar on stderr while loading, then one line with
// what was loaded, how long it took, the memory in use and the kernel variant chosen.
#pragma once

#include <memory>
#include <string>

#include "base/status.h"
#include "model/model.h"
#include "runtime/engine.h"

namespace enclave::cli {

struct CliModelOptions {
  std::string path;
  std::string quantize;  // "", "q8_0" or "q4_k"
  int threads = 0;
  int64_t context = 4096;
  int64_t kv_tokens = 0;  // KV pool size over all sequences; 0: `context`
  std::string kv_type = "f16";  // "f16" or "f32"
  std::string mla = "auto";     // deepseek2 attention form: "auto", "absorbed" or "decompressed"
  bool quiet = false;    // no progress bar or summary
};

struct LoadedModel {
  std::unique_ptr<Model> model;
  std::unique_ptr<Engine> engine;
};

Result<LoadedModel> LoadModelForCli(const CliModelOptions& options);

// "1.23 GiB", "456.0 MiB"
std::string FormatBytes(uint64_t bytes);

}  // namespace enclave::cli
