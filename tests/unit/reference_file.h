// Reader of the transformers reference files tests/fixtures/models/*.ref, written by
// scripts/ref/make_model_fixtures.py (the format is described there and in
// docs/synthetic-models.md): "ENCREF01", u32 version 1, u32 header length L, L bytes of JSON, then
// raw little-endian float32 arrays placed by the header's "tensors" list. Header-only, for tests.
#pragma once

#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace enclave::testing {

struct RefTensor {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> data;  // row-major, shape's product elements
};

struct ReferenceFile {
  nlohmann::json header;
  std::vector<RefTensor> tensors;

  const RefTensor* Find(std::string_view name) const {
    for (const RefTensor& t : tensors) {
      if (t.name == name) return &t;
    }
    return nullptr;
  }
  // The command that rewrites the file, for failure messages.
  std::string Regenerate() const { return header.value("regenerate", std::string("(no regenerate command in header)")); }
};

inline constexpr char kReferenceMagic[8] = {'E', 'N', 'C', 'R', 'E', 'F', '0', '1'};
inline constexpr uint32_t kReferenceVersion = 1;

// Parses the bytes of a reference file; `label` names it in errors.
inline Result<ReferenceFile> ParseReferenceFile(std::string_view bytes, const std::string& label) {
  auto u32_at = [&](size_t off) {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<uint8_t>(bytes[off + i])) << (8 * i);
    return v;
  };
  if (bytes.size() < 16 || std::memcmp(bytes.data(), kReferenceMagic, 8) != 0) {
    return CorruptError(fmt::format("{}: not a reference file (magic 'ENCREF01' missing)", label));
  }
  const uint32_t version = u32_at(8);
  if (version != kReferenceVersion) {
    return UnsupportedError(fmt::format("{}: reference format version {}, this reader knows {}", label, version,
                                        kReferenceVersion));
  }
  const uint64_t header_len = u32_at(12);
  if (16 + header_len > bytes.size()) {
    return CorruptError(fmt::format("{}: truncated: header of {} bytes, file has {}", label, header_len, bytes.size()));
  }
  ReferenceFile ref;
  ref.header = nlohmann::json::parse(bytes.substr(16, header_len), nullptr, /*allow_exceptions=*/false);
  if (!ref.header.is_object() || !ref.header.contains("tensors") || !ref.header["tensors"].is_array()) {
    return CorruptError(fmt::format("{}: header is not a JSON object with a \"tensors\" list", label));
  }
  const std::string_view data = bytes.substr(16 + header_len);
  for (const auto& t : ref.header["tensors"]) {
    if (!t.is_object() || !t.contains("name") || !t["name"].is_string() || !t.contains("shape") ||
        !t["shape"].is_array() || !t.contains("offset") || !t["offset"].is_number_unsigned()) {
      return CorruptError(fmt::format("{}: a tensors entry lacks name, shape or offset", label));
    }
    RefTensor rt;
    rt.name = t["name"].get<std::string>();
    uint64_t n = 1;
    for (const auto& d : t["shape"]) {
      if (!d.is_number_unsigned() || d.get<uint64_t>() > (uint64_t{1} << 32)) {
        return CorruptError(fmt::format("{}: tensor '{}' has a bad dimension", label, rt.name));
      }
      rt.shape.push_back(d.get<int64_t>());
      n *= d.get<uint64_t>();
      if (n > (uint64_t{1} << 32)) return CorruptError(fmt::format("{}: tensor '{}' is too large", label, rt.name));
    }
    const uint64_t offset = t["offset"].get<uint64_t>();
    if (offset > data.size() || n * 4 > data.size() - offset) {
      return CorruptError(fmt::format("{}: truncated: tensor '{}' needs bytes [{}, {}) of a {}-byte data section",
                                      label, rt.name, offset, offset + n * 4, data.size()));
    }
    rt.data.resize(n);
    std::memcpy(rt.data.data(), data.data() + offset, n * 4);  // little-endian host
    ref.tensors.push_back(std::move(rt));
  }
  return ref;
}

inline Result<ReferenceFile> ReadReferenceFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError(fmt::format("cannot read reference file '{}'", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseReferenceFile(ss.str(), path);
}

}  // namespace enclave::testing
