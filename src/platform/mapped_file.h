// Read-only memory map of a whole file. Move-only; the mapping lives as long as the object.
// Thread-safe for concurrent reads of data().
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "base/status.h"

namespace enclave {

class MappedFile {
 public:
  // Maps `path` read-only. An empty file maps to an empty span.
  static Result<std::unique_ptr<MappedFile>> Open(const std::string& path);

  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::span<const uint8_t> data() const { return {data_, size_}; }
  uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }

  // Drops the resident pages wholly inside `range` (a part of data()) from this process: the data
  // stays readable (a later read faults it back in from the file), but memory that was only read
  // to convert it (weights quantized while loading) no longer counts as ours. Best effort.
  static void ReleasePages(std::span<const uint8_t> range);

 private:
  MappedFile(std::string path, const uint8_t* data, uint64_t size)
      : path_(std::move(path)), data_(data), size_(size) {}

  std::string path_;
  const uint8_t* data_;
  uint64_t size_;
};

}  // namespace enclave
