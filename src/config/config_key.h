// One configuration key of `enclave serve`: where it lives in the YAML file (`section.name`), its
// command-line flag and environment variable, the values it accepts, and the field of ServeConfig it
// sets. The file, the environment and the flags all go through SetFromText, so a value is checked the
// same way whichever source it came from. Immutable after construction; thread-compatible.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/status.h"

namespace enclave::config {

struct ServeConfig;

// A pointer to the field a key sets. Adding a value type means one alternative here and in
// ValueType, plus its parse and format cases in config_key.cc.
using FieldRef = std::variant<std::string*, int*, int64_t*, double*, bool*>;
enum class ValueType { kString, kInteger, kReal, kBool };

struct ConfigKey {
  std::string section;  // "server"
  std::string name;     // "port"
  std::string flag;     // CLI11 names, "--port" or "-m,--model"; empty: file and environment only
  std::string help;     // one line, for --help and docs/configuration.md
  double min = 0;       // numbers: the accepted range, inclusive
  double max = 0;
  std::vector<std::string> choices;  // strings: the accepted values ("" among them: may be empty); none: any
  ValueType type = ValueType::kString;     // what `field` points to (int and int64_t are both kInteger)
  std::function<FieldRef(ServeConfig&)> field;

  std::string Path() const { return section + "." + name; }  // "server.port"
  std::string EnvName() const;                               // "ENCLAVE_SERVER_PORT"

  // What the key accepts, for messages: "an integer 0..65535", "one of f16, f32", "true or false".
  std::string Expected() const;

  // Parses `text` and stores it in `config`. The error names neither the key nor the source (the
  // caller prefixes "server.port", "ENCLAVE_SERVER_PORT" or "--port"):
  // "expected an integer 0..65535, got 'abc'".
  Status SetFromText(std::string_view text, ServeConfig& config) const;

  // The key's value in `config` as text SetFromText accepts: "8080", "0.5", "f16".
  std::string GetText(const ServeConfig& config) const;

  // "INT", "FLOAT", "BOOL" or "TEXT", for --help.
  std::string TypeName() const;
};

}  // namespace enclave::config
