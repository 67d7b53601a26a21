// The command-line flags of the configuration keys (src/config/serve_config.h): one CLI11 option per
// key that has a flag, made from the key table, so a flag accepts exactly what the file and the
// environment accept and --help shows the same ranges. Values are kept as typed; which flags were
// given decides precedence (src/config/resolve_config.h).
//
// Register once; the object must stay where it is afterwards (CLI11 holds pointers into it).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "config/config_key.h"

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace enclave::cli {

class ConfigFlags {
 public:
  void Register(CLI::App& command);

  // After parsing: the flags given on the command line, as (key, text).
  std::vector<std::pair<const config::ConfigKey*, std::string>> Given() const;

 private:
  std::vector<const config::ConfigKey*> keys_;
  std::vector<CLI::Option*> options_;
  std::vector<std::string> values_;  // sized once in Register: CLI11 writes into these
};

}  // namespace enclave::cli
