// The effective `enclave serve` settings from all their sources. Each key takes its value from the
// first of these that sets it: a command-line flag, an environment variable (ENCLAVE_SERVER_PORT),
// the --config file, the built-in default. Stateless; thread-safe.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "config/config_env.h"
#include "config/serve_config.h"

namespace enclave::config {

struct ConfigSources {
  std::string file;  // the --config path; "": no file
  Environment env;   // the process environment (only ENCLAVE_* variables matter)
  // The flags given on the command line, as typed: (key, text), in any order.
  std::vector<std::pair<const ConfigKey*, std::string>> flags;
};

// The first error met, in the order file, environment, flags.
Result<ServeConfig> ResolveServeConfig(const ConfigSources& sources);

}  // namespace enclave::config
