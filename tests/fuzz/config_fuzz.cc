// libFuzzer target: the `enclave serve --config` reader on arbitrary file text. Must never crash,
// hang or throw: every input gives a Status. Whatever it accepts, ToYaml must print and read back.
#include <cstdint>
#include <string_view>

#include "base/check.h"
#include "config/config_yaml.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace enclave::config;
  ServeConfig config;
  if (!ApplyYamlText(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz", config).ok()) return 0;
  ServeConfig again;
  ENCLAVE_CHECK(ApplyYamlText(ToYaml(config), "printed", again).ok());
  for (const ConfigKey& key : ServeConfigKeys()) ENCLAVE_CHECK(key.GetText(again) == key.GetText(config));
  return 0;
}
