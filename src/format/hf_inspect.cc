// TEMPORARY during issue #2 bring-up: replaced by the safetensors reader's inspector in this session.
#include "format/inspect.h"

namespace enclave {
Result<ModelReport> InspectSafetensorsFile(const std::string& path) {
  return UnsupportedError("safetensors reader not built yet");
}
Result<ModelReport> InspectHfDirectory(const std::string& path) {
  return UnsupportedError("safetensors reader not built yet");
}
}  // namespace enclave
