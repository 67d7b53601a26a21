// `enclave serve` settings in a YAML file (yaml-cpp): one mapping per section, snake_case keys,
// every key optional (docs/configuration.md):
//
//   model:
//     path: models/SmolLM2-135M-Instruct.Q4_1.gguf
//   server:
//     port: 8080
//
// Reading applies the file's values over `config` and checks each one exactly as the flag would.
// Errors name the file, line and column, and say what was expected: "enclave.yaml:3:9: server.port:
// expected an integer 0..65535, got 'abc'"; an unknown key comes with a "did you mean" when one is
// obvious. Nothing here throws or aborts on bad input. Stateless; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"
#include "config/serve_config.h"

namespace enclave::config {

// Largest file read: a configuration is a few hundred bytes, so anything bigger is the wrong file.
inline constexpr size_t kMaxConfigFileBytes = 1 << 20;

// Applies the settings in `text` (named `source` in messages) over `config`. An empty document, an
// empty section and an empty value (`port:`) set nothing. On error `config` may be partly updated.
Status ApplyYamlText(std::string_view text, std::string_view source, ServeConfig& config);

// Reads the file at `path` and applies it as above.
Status ApplyYamlFile(const std::string& path, ServeConfig& config);

// Every key of `config` as a YAML document that ApplyYamlText reads back to the same values.
std::string ToYaml(const ServeConfig& config);

}  // namespace enclave::config
