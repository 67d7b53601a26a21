#include "format/inspect.h"

#include <cstring>
#include <filesystem>
#include <fstream>

namespace enclave {

Result<ModelReport> InspectModelPath(const std::string& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) {
    return NotFoundError("'" + path + "': no such file or directory");
  }
  if (std::filesystem::is_directory(status)) return InspectHfDirectory(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) return IoError("cannot open '" + path + "'");
  char magic[4] = {};
  in.read(magic, 4);
  if (in.gcount() == 4 && std::memcmp(magic, "GGUF", 4) == 0) return InspectGgufFile(path);
  if (path.size() >= 12 && path.compare(path.size() - 12, 12, ".safetensors") == 0) {
    return InspectSafetensorsFile(path);
  }
  if (in.gcount() < 4) {
    return CorruptError("'" + path + "' is too small to be a model file (" +
                        std::to_string(in.gcount()) + " bytes)");
  }
  return UnsupportedError("'" + path +
                          "' is neither a GGUF file (no 'GGUF' magic), a .safetensors file, nor "
                          "a Hugging Face model directory");
}

}  // namespace enclave
