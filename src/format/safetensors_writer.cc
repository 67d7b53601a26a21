#include "format/safetensors_writer.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <set>

namespace enclave {

std::optional<uint64_t> SafetensorsEntryBytes(const SafetensorsEntry& entry) {
  const StDTypeInfo* info = nullptr;
  for (const StDTypeInfo& i : AllStDTypes()) {
    if (i.type == entry.dtype) info = &i;
  }
  if (info == nullptr || info->bits % 8 != 0) return std::nullopt;
  uint64_t n = static_cast<uint64_t>(info->bits / 8);
  for (uint64_t d : entry.shape) {
    if (d != 0 && n > UINT64_MAX / d) return std::nullopt;
    n *= d;
  }
  return n;
}

Result<std::string> SafetensorsHeader(const std::vector<SafetensorsEntry>& entries,
                                      const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::set<std::string> names;
  uint64_t offset = 0;
  for (const SafetensorsEntry& e : entries) {
    if (e.name.empty() || e.name == "__metadata__" || !names.insert(e.name).second) {
      return InvalidArgumentError(fmt::format("safetensors writer: tensor name '{}' is empty, reserved or repeated", e.name));
    }
    const std::optional<uint64_t> bytes = SafetensorsEntryBytes(e);
    if (!bytes) return UnsupportedError(fmt::format("safetensors writer: tensor '{}' has a dtype or size it cannot write", e.name));
    const char* dtype_name = "";
    for (const StDTypeInfo& i : AllStDTypes()) {
      if (i.type == e.dtype) dtype_name = i.name;
    }
    header[e.name] = {{"dtype", dtype_name}, {"shape", e.shape}, {"data_offsets", {offset, offset + *bytes}}};
    offset += *bytes;
  }
  std::string json = header.dump();
  while (json.size() % 8 != 0) json += ' ';
  std::string out(8, '\0');
  const uint64_t n = json.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xFF);
  return out + json;
}

Result<std::unique_ptr<SafetensorsWriter>> SafetensorsWriter::Create(
    const std::string& path, std::vector<SafetensorsEntry> entries, const std::map<std::string, std::string>& metadata) {
  ASSIGN_OR_RETURN(std::string header, SafetensorsHeader(entries, metadata));
  std::unique_ptr<SafetensorsWriter> w(new SafetensorsWriter());
  w->path_ = path;
  w->entries_ = std::move(entries);
  w->file_ = std::fopen(path.c_str(), "wb");
  if (w->file_ == nullptr) return IoError(fmt::format("cannot create '{}'", path));
  if (std::fwrite(header.data(), 1, header.size(), w->file_) != header.size()) {
    return IoError(fmt::format("short write to '{}'", path));
  }
  return w;
}

SafetensorsWriter::~SafetensorsWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

Status SafetensorsWriter::Append(std::span<const uint8_t> data) {
  if (file_ == nullptr || next_ >= entries_.size()) {
    return InvalidArgumentError(fmt::format("'{}': more tensors appended than declared", path_));
  }
  const SafetensorsEntry& e = entries_[next_];
  if (data.size() != *SafetensorsEntryBytes(e)) {
    return InvalidArgumentError(fmt::format("'{}': tensor '{}' needs {} bytes, got {}", path_, e.name,
                                            *SafetensorsEntryBytes(e), data.size()));
  }
  if (std::fwrite(data.data(), 1, data.size(), file_) != data.size()) {
    return IoError(fmt::format("short write to '{}' (disk full?)", path_));
  }
  ++next_;
  return Status::Ok();
}

Status SafetensorsWriter::Finish() {
  if (file_ == nullptr) return InvalidArgumentError(fmt::format("'{}': already finished", path_));
  if (next_ != entries_.size()) {
    return InvalidArgumentError(fmt::format("'{}': {} of {} tensors written", path_, next_, entries_.size()));
  }
  const int rc = std::fclose(file_);
  file_ = nullptr;
  if (rc != 0) return IoError(fmt::format("cannot finish writing '{}'", path_));
  return Status::Ok();
}

}  // namespace enclave
