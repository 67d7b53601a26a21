// safetensors writer for tools and tests (`enclave synth`): the header is written first, from the
// declared tensor list, then each tensor's bytes are streamed in that order, so a 16 GB model
// never has to sit in memory. The header is padded with spaces to a multiple of 8 bytes, as the
// reference implementation does, so F32 data is 8-byte aligned in the file. Thread-compatible.
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "format/safetensors.h"

namespace enclave {

struct SafetensorsEntry {
  std::string name;
  StDType dtype = StDType::kF32;
  std::vector<uint64_t> shape;  // PyTorch order: outermost first
};

// Bytes of one entry's data; nullopt for sub-byte dtypes (F4, F6_*) or on overflow.
std::optional<uint64_t> SafetensorsEntryBytes(const SafetensorsEntry& entry);

// The header bytes (u64 length + padded JSON) for `entries` laid out in order.
Result<std::string> SafetensorsHeader(const std::vector<SafetensorsEntry>& entries,
                                      const std::map<std::string, std::string>& metadata);

class SafetensorsWriter {
 public:
  // Creates `path` and writes the header. Errors: a duplicate or empty name, an unsupported
  // dtype, an unwritable path.
  static Result<std::unique_ptr<SafetensorsWriter>> Create(const std::string& path,
                                                           std::vector<SafetensorsEntry> entries,
                                                           const std::map<std::string, std::string>& metadata = {});
  ~SafetensorsWriter();
  SafetensorsWriter(const SafetensorsWriter&) = delete;
  SafetensorsWriter& operator=(const SafetensorsWriter&) = delete;

  // The next entry's data (the entries in Create order); its size must match exactly.
  Status Append(std::span<const uint8_t> data);
  // Checks that every entry was written and closes the file.
  Status Finish();

 private:
  SafetensorsWriter() = default;
  std::string path_;
  std::vector<SafetensorsEntry> entries_;
  size_t next_ = 0;
  FILE* file_ = nullptr;
};

}  // namespace enclave
