// TEMPORARY during issue #2 bring-up: replaced by the GGUF reader's inspector in this session.
#include "format/inspect.h"

namespace enclave {
Result<ModelReport> InspectGgufFile(const std::string& path) {
  return UnsupportedError("GGUF reader not built yet");
}
}  // namespace enclave
