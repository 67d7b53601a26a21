#include "config/config_env.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <string_view>

#include <fmt/format.h>

#include "config/key_suggest.h"

extern char** environ;

namespace enclave::config {
namespace {

constexpr std::string_view kPrefix = "ENCLAVE_";

std::string Upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// A variable under a section's prefix that is no key: the error, with the likely intended name.
Status UnknownVariable(const std::string& variable, const std::string& section) {
  const std::string rest = Lower(variable.substr(kPrefix.size() + section.size() + 1));
  std::string hint;
  if (const std::string path = SuggestKey(section, rest); !path.empty()) {
    const size_t dot = path.find('.');
    hint = fmt::format("; did you mean {}?", FindKey(path.substr(0, dot), path.substr(dot + 1))->EnvName());
  }
  return InvalidArgumentError(
      fmt::format("environment variable {} names no setting{} (see docs/configuration.md)", variable, hint));
}

}  // namespace

Environment ProcessEnvironment() {
  Environment env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string_view entry(*e);
    const size_t eq = entry.find('=');
    if (eq == std::string_view::npos || !entry.starts_with(kPrefix)) continue;
    env.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  return env;
}

Status ApplyEnvironment(const Environment& env, ServeConfig& config) {
  for (const ConfigKey& key : ServeConfigKeys()) {
    const std::string name = key.EnvName();
    auto it = env.find(name);
    if (it == env.end() || it->second.empty()) continue;
    if (Status s = key.SetFromText(it->second, config); !s.ok()) {
      return InvalidArgumentError(fmt::format("environment variable {} (sets {}): {}", name, key.Path(), s.message()));
    }
  }
  for (const auto& entry : env) {
    const std::string& variable = entry.first;  // not a structured binding: clang 14 cannot capture one
    for (const std::string& section : ServeConfigSections()) {
      const std::string section_prefix = std::string(kPrefix) + Upper(section) + "_";
      if (!variable.starts_with(section_prefix)) continue;
      const bool known = std::any_of(ServeConfigKeys().begin(), ServeConfigKeys().end(),
                                     [&](const ConfigKey& k) { return k.EnvName() == variable; });
      if (!known) return UnknownVariable(variable, section);
    }
  }
  return Status::Ok();
}

}  // namespace enclave::config
