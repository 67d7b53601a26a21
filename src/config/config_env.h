// Environment overrides for `enclave serve`: ENCLAVE_<SECTION>_<KEY>, upper case, sets section.key
// (ENCLAVE_SERVER_PORT=9000 sets server.port). Values are checked exactly as the flag would be, and
// errors name the variable. An empty variable counts as unset. A variable that starts like a
// section's (ENCLAVE_SERVER_...) but names no key is an error with a "did you mean", since a typo
// would otherwise be ignored without a word. Stateless; thread-safe.
#pragma once

#include <map>
#include <string>

#include "base/status.h"
#include "config/serve_config.h"

namespace enclave::config {

// Variable name -> value.
using Environment = std::map<std::string, std::string>;

// The ENCLAVE_* variables of this process.
Environment ProcessEnvironment();

// Applies the ENCLAVE_* variables of `env` over `config`.
Status ApplyEnvironment(const Environment& env, ServeConfig& config);

}  // namespace enclave::config
