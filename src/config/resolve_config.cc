#include "config/resolve_config.h"

#include <fmt/format.h>

#include "config/config_yaml.h"

namespace enclave::config {

Result<ServeConfig> ResolveServeConfig(const ConfigSources& sources) {
  // Lowest precedence first, each source overwriting what it sets.
  ServeConfig config;
  if (!sources.file.empty()) RETURN_IF_ERROR(ApplyYamlFile(sources.file, config));
  RETURN_IF_ERROR(ApplyEnvironment(sources.env, config));
  for (const auto& [key, text] : sources.flags) {
    if (Status s = key->SetFromText(text, config); !s.ok()) {
      const std::string& flags = key->flag;
      return InvalidArgumentError(fmt::format("{}: {}", flags.substr(flags.rfind(',') + 1), s.message()));
    }
  }
  return config;
}

}  // namespace enclave::config
