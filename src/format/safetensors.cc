#include "format/safetensors.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include <nlohmann/json.hpp>

#include "base/check.h"
#include "base/checked_math.h"
#include "format/json_limits.h"
#include "format/utf8.h"

namespace enclave {
namespace {

using nlohmann::json;

constexpr char kIndexName[] = "model.safetensors.index.json";

// The reference implementation's order and element sizes (safetensors 0.8, Dtype::bitsize).
constexpr StDTypeInfo kDTypes[] = {
    {StDType::kBool, "BOOL", 8, false},
    {StDType::kF4, "F4", 4, false},
    {StDType::kF6_E2M3, "F6_E2M3", 6, false},
    {StDType::kF6_E3M2, "F6_E3M2", 6, false},
    {StDType::kU8, "U8", 8, true},
    {StDType::kI8, "I8", 8, true},
    {StDType::kF8_E5M2, "F8_E5M2", 8, false},
    {StDType::kF8_E4M3, "F8_E4M3", 8, true},
    {StDType::kF8_E8M0, "F8_E8M0", 8, false},
    {StDType::kF8_E4M3FNUZ, "F8_E4M3FNUZ", 8, false},
    {StDType::kF8_E5M2FNUZ, "F8_E5M2FNUZ", 8, false},
    {StDType::kI16, "I16", 16, false},
    {StDType::kU16, "U16", 16, false},
    {StDType::kF16, "F16", 16, true},
    {StDType::kBF16, "BF16", 16, true},
    {StDType::kI32, "I32", 32, true},
    {StDType::kU32, "U32", 32, false},
    {StDType::kF32, "F32", 32, true},
    {StDType::kC64, "C64", 64, false},
    {StDType::kF64, "F64", 64, false},
    {StDType::kI64, "I64", 64, true},
    {StDType::kU64, "U64", 64, false},
};

uint64_t LoadLe64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

std::string ShapeString(const std::vector<uint64_t>& shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

}  // namespace

std::optional<StDTypeInfo> StDTypeFromName(std::string_view name) {
  for (const auto& d : kDTypes) {
    if (name == d.name) return d;
  }
  return std::nullopt;
}

std::span<const StDTypeInfo> AllStDTypes() { return kDTypes; }

Status SafetensorsFile::Problem(bool collect, std::string message) {
  if (!collect) return CorruptError(std::move(message));
  problems_.push_back(std::move(message));
  return Status::Ok();
}

Result<std::unique_ptr<SafetensorsFile>> SafetensorsFile::Parse(std::span<const uint8_t> bytes,
                                                                const std::string& label,
                                                                SafetensorsParseOptions options) {
  std::unique_ptr<SafetensorsFile> f(new SafetensorsFile());
  f->bytes_ = bytes;
  f->label_ = label;
  RETURN_IF_ERROR(f->ParseHeader(options.collect_problems));
  return f;
}

Result<std::unique_ptr<SafetensorsFile>> SafetensorsFile::Open(const std::string& path,
                                                               SafetensorsParseOptions options) {
  ASSIGN_OR_RETURN(std::unique_ptr<MappedFile> mapping, MappedFile::Open(path));
  const std::string label = std::filesystem::path(path).filename().string();
  ASSIGN_OR_RETURN(std::unique_ptr<SafetensorsFile> f, Parse(mapping->data(), label, options));
  f->mapping_ = std::move(mapping);
  return f;
}

Status SafetensorsFile::ParseHeader(bool collect) {
  if (bytes_.size() < 8) {
    return CorruptError(fmt::format("{}: {} bytes, too small for the 8-byte header length", label_, bytes_.size()));
  }
  const uint64_t n = LoadLe64(bytes_.data());
  if (n > kSafetensorsMaxHeaderBytes) {
    return CorruptError(fmt::format("{}: header length {} exceeds the {} byte limit", label_, n,
                                    kSafetensorsMaxHeaderBytes));
  }
  if (n > bytes_.size() - 8) {
    return CorruptError(fmt::format("{}: header length {} runs past the end of the file ({} bytes)", label_, n,
                                    bytes_.size()));
  }
  header_size_ = n;
  const std::string_view text(reinterpret_cast<const char*>(bytes_.data() + 8), n);
  if (!IsValidUtf8(text)) return CorruptError(fmt::format("{}: header is not valid UTF-8", label_));
  JsonLimits limits;
  limits.max_depth = kSafetensorsMaxJsonDepth;
  limits.reject_duplicate_keys_at_depth = 1;  // two entries for one tensor name
  ASSIGN_OR_RETURN(json header, ParseJsonLimited(text, label_ + ": header", limits));
  if (!header.is_object()) {
    return CorruptError(fmt::format("{}: header is JSON {} but must be an object", label_, header.type_name()));
  }
  const uint64_t data_size = bytes_.size() - 8 - n;
  const size_t problems_before = problems_.size();
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (it->is_null()) continue;  // the reference implementation accepts null
      if (!it->is_object()) {
        RETURN_IF_ERROR(Problem(collect, fmt::format("{}: __metadata__ must be an object of strings, found {}",
                                                     label_, it->type_name())));
        continue;
      }
      for (auto m = it->begin(); m != it->end(); ++m) {
        if (!m->is_string()) {
          RETURN_IF_ERROR(Problem(collect, fmt::format("{}: __metadata__ value '{}' is {}, not a string", label_,
                                                       m.key(), m->type_name())));
          continue;
        }
        metadata_[m.key()] = m->get<std::string>();
      }
      continue;
    }
    RETURN_IF_ERROR(ParseEntry(it.key(), *it, data_size, collect));
  }
  RETURN_IF_ERROR(CheckCoverage(data_size, collect, problems_.size() > problems_before));
  for (size_t i = 0; i < tensors_.size(); ++i) index_.emplace(tensors_[i].name, i);
  return Status::Ok();
}

Status SafetensorsFile::ParseEntry(std::string_view name, const json& e, uint64_t data_size, bool collect) {
  const std::string where = fmt::format("{}: tensor '{}'", label_, name);
  if (!e.is_object() || !e.contains("dtype") || !e.contains("shape") || !e.contains("data_offsets")) {
    return Problem(collect, where + ": entry must be an object with dtype, shape and data_offsets");
  }
  if (!e["dtype"].is_string()) return Problem(collect, where + ": dtype is not a string");
  const std::string dtype_name = e["dtype"].get<std::string>();
  const std::optional<StDTypeInfo> dtype = StDTypeFromName(dtype_name);
  if (!dtype) return Problem(collect, fmt::format("{}: unknown dtype '{}'", where, dtype_name));

  SafetensorsTensor t;
  t.name = std::string(name);
  t.dtype = *dtype;
  const json& shape = e["shape"];
  if (!shape.is_array() || shape.size() > kSafetensorsMaxDims) {
    return Problem(collect, fmt::format("{}: shape must be an array of at most {} non-negative integers", where,
                                        kSafetensorsMaxDims));
  }
  uint64_t count = 1;
  bool overflow = false;
  for (const json& d : shape) {
    // JSON integers that fit u64 parse as "unsigned"; negative ones, floats and larger numbers do not.
    if (!d.is_number_unsigned()) {
      return Problem(collect, fmt::format("{}: shape entry {} is not a non-negative integer", where, d.dump()));
    }
    t.shape.push_back(d.get<uint64_t>());
    const std::optional<uint64_t> m = CheckedMul(count, t.shape.back());
    overflow = overflow || !m;
    count = m.value_or(0);
  }
  if (overflow) return Problem(collect, fmt::format("{}: shape {} element count overflows 64 bits", where, ShapeString(t.shape)));
  t.n_elements = count;

  const json& off = e["data_offsets"];
  if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned()) {
    return Problem(collect, where + ": data_offsets must be two non-negative integers [begin, end]");
  }
  t.begin = off[0].get<uint64_t>();
  t.end = off[1].get<uint64_t>();
  if (t.begin > t.end) {
    return Problem(collect, fmt::format("{}: data_offsets [{}, {}) begin after they end", where, t.begin, t.end));
  }
  const std::optional<uint64_t> bits = CheckedMul(count, static_cast<uint64_t>(dtype->bits));
  if (bits && *bits % 8 != 0) {
    return Problem(collect, fmt::format("{}: shape {} of {} is {} bits, not a whole number of bytes", where,
                                        ShapeString(t.shape), dtype->name, *bits));
  }
  if (!bits || *bits / 8 != t.end - t.begin) {
    return Problem(collect, fmt::format("{}: shape {} of {} needs {} bytes but data_offsets [{}, {}) hold {}", where,
                                        ShapeString(t.shape), dtype->name,
                                        bits ? fmt::to_string(*bits / 8) : std::string("more than 2^61"), t.begin,
                                        t.end, t.end - t.begin));
  }
  if (t.end > data_size) {
    return Problem(collect, fmt::format("{}: data_offsets [{}, {}) run past the data section ({} bytes)", where,
                                        t.begin, t.end, data_size));
  }
  t.file_offset = 8 + header_size_ + t.begin;
  t.data = bytes_.subspan(t.file_offset, t.end - t.begin);
  t.file = this;
  tensors_.push_back(std::move(t));
  return Status::Ok();
}

// Like the reference implementation, ranges must tile the data section exactly: no overlaps and
// no holes (bytes no tensor accounts for could hide data a reader would silently ignore).
Status SafetensorsFile::CheckCoverage(uint64_t data_size, bool collect, bool entries_dropped) {
  std::sort(tensors_.begin(), tensors_.end(), [](const SafetensorsTensor& a, const SafetensorsTensor& b) {
    if (a.begin != b.begin) return a.begin < b.begin;
    if (a.end != b.end) return a.end < b.end;
    return a.name < b.name;
  });
  uint64_t covered = 0;                      // [0, covered) accounted for so far
  const SafetensorsTensor* furthest = nullptr;  // the tensor ending at `covered`
  for (const SafetensorsTensor& t : tensors_) {
    if (t.begin < covered) {
      RETURN_IF_ERROR(Problem(collect, fmt::format("{}: tensors '{}' [{}, {}) and '{}' [{}, {}) overlap", label_,
                                                   furthest->name, furthest->begin, furthest->end, t.name, t.begin,
                                                   t.end)));
    } else if (t.begin > covered && !entries_dropped) {
      // With entries dropped (collect mode) the hole is where a rejected tensor was: said already.
      RETURN_IF_ERROR(Problem(collect, fmt::format("{}: bytes [{}, {}) of the data section belong to no tensor",
                                                   label_, covered, t.begin)));
    }
    if (t.end > covered || furthest == nullptr) {
      covered = std::max(covered, t.end);
      furthest = &t;
    }
  }
  if (covered != data_size && !entries_dropped) {
    RETURN_IF_ERROR(Problem(collect, fmt::format("{}: data section is {} bytes but the tensors cover only [0, {})",
                                                 label_, data_size, covered)));
  }
  return Status::Ok();
}

const SafetensorsTensor* SafetensorsFile::Find(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

Result<std::map<std::string, std::string>> ParseSafetensorsIndex(std::string_view text) {
  JsonLimits limits;
  limits.max_depth = kSafetensorsMaxJsonDepth;
  limits.reject_duplicate_keys_at_depth = 2;  // a tensor listed twice in "weight_map"
  ASSIGN_OR_RETURN(json j, ParseJsonLimited(text, kIndexName, limits));
  if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object()) {
    return CorruptError(fmt::format("{}: no \"weight_map\" object mapping tensor names to shard files", kIndexName));
  }
  std::map<std::string, std::string> weight_map;
  for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
    if (!it->is_string()) {
      return CorruptError(fmt::format("{}: weight_map['{}'] is {}, not a file name", kIndexName, it.key(),
                                      it->type_name()));
    }
    const std::string file = it->get<std::string>();
    // The index is untrusted: it must not send us outside the model directory.
    if (file.empty() || file.find_first_of("/\\") != std::string::npos || file == "." || file == ".." ||
        file.find('\0') != std::string::npos) {
      return CorruptError(fmt::format("{}: weight_map['{}'] = '{}' is not a plain file name in the model directory",
                                      kIndexName, it.key(), file));
    }
    weight_map.emplace(it.key(), file);
  }
  return weight_map;
}

std::unique_ptr<SafetensorsModel> SafetensorsModel::FromFile(std::unique_ptr<SafetensorsFile> file) {
  std::unique_ptr<SafetensorsModel> model(new SafetensorsModel());
  // One file has unique names (the header parser rejects duplicates), so nothing can fail.
  const Status s = model->AddFile(std::move(file), nullptr, [](std::string m) { return CorruptError(std::move(m)); });
  ENCLAVE_CHECK(s.ok());
  return model;
}

Status SafetensorsModel::AddFile(std::unique_ptr<SafetensorsFile> file,
                                 const std::map<std::string, std::string>* weight_map,
                                 const std::function<Status(std::string)>& problem) {
  const size_t fi = files_.size();
  for (const std::string& p : file->problems()) problems_.push_back(p);
  for (size_t ti = 0; ti < file->tensors().size(); ++ti) {
    const SafetensorsTensor& t = file->tensors()[ti];
    if (auto it = where_.find(t.name); it != where_.end()) {
      RETURN_IF_ERROR(problem(fmt::format("tensor '{}' appears in both {} and {}", t.name,
                                          files_[it->second.first]->label(), file->label())));
      continue;
    }
    if (weight_map != nullptr) {
      auto wm = weight_map->find(t.name);
      if (wm == weight_map->end()) {
        RETURN_IF_ERROR(problem(fmt::format("{}: tensor '{}' is not listed in {}", file->label(), t.name, kIndexName)));
      } else if (wm->second != file->label()) {
        RETURN_IF_ERROR(problem(fmt::format("{}: tensor '{}' is here but {} says {}", file->label(), t.name,
                                            kIndexName, wm->second)));
      }
    }
    where_.emplace(t.name, std::make_pair(fi, ti));
  }
  files_.push_back(std::move(file));
  return Status::Ok();
}

Result<std::unique_ptr<SafetensorsModel>> SafetensorsModel::OpenDirectory(const std::string& dir,
                                                                          SafetensorsParseOptions options) {
  namespace fs = std::filesystem;
  std::unique_ptr<SafetensorsModel> model(new SafetensorsModel());
  const bool collect = options.collect_problems;
  const std::function<Status(std::string)> problem = [&](std::string m) -> Status {
    if (!collect) return CorruptError(std::move(m));
    model->problems_.push_back(std::move(m));
    return Status::Ok();
  };
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return NotFoundError(fmt::format("'{}' is not a directory", dir));

  std::vector<std::string> shards;
  std::map<std::string, std::string> weight_map;
  const fs::path index_path = fs::path(dir) / kIndexName;
  if (fs::exists(index_path, ec)) {
    model->sharded_ = true;
    ASSIGN_OR_RETURN(std::unique_ptr<MappedFile> idx, MappedFile::Open(index_path.string()));
    if (idx->size() > kSafetensorsMaxIndexBytes) {
      return CorruptError(fmt::format("{}: {} bytes exceeds the {} byte limit", kIndexName, idx->size(),
                                      kSafetensorsMaxIndexBytes));
    }
    ASSIGN_OR_RETURN(weight_map, ParseSafetensorsIndex(std::string_view(
                                     reinterpret_cast<const char*>(idx->data().data()), idx->size())));
    if (weight_map.empty()) RETURN_IF_ERROR(problem(fmt::format("{}: weight_map lists no tensors", kIndexName)));
    for (const auto& [tensor, shard] : weight_map) shards.push_back(shard);
    std::sort(shards.begin(), shards.end());
    shards.erase(std::unique(shards.begin(), shards.end()), shards.end());
  } else {
    fs::directory_iterator it(dir, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
      std::error_code type_ec;
      if (it->path().extension() == ".safetensors" && it->is_regular_file(type_ec)) {
        shards.push_back(it->path().filename().string());
      }
    }
    if (ec) return IoError(fmt::format("cannot list '{}': {}", dir, ec.message()));
    std::sort(shards.begin(), shards.end());
    if (shards.empty()) {
      return NotFoundError(fmt::format("'{}' holds no .safetensors file and no {}", dir, kIndexName));
    }
  }

  std::set<std::string> unreadable;  // shards whose tensors we cannot check against the index
  for (const std::string& shard : shards) {
    const fs::path p = fs::path(dir) / shard;
    if (!fs::exists(p, ec)) {
      RETURN_IF_ERROR(problem(fmt::format("{} names shard '{}', which does not exist", kIndexName, shard)));
      unreadable.insert(shard);
      continue;
    }
    Result<std::unique_ptr<SafetensorsFile>> file = SafetensorsFile::Open(p.string(), options);
    if (!file.ok()) {
      if (!collect) return file.status();
      model->problems_.push_back(file.status().message());
      unreadable.insert(shard);
      continue;
    }
    RETURN_IF_ERROR(model->AddFile(std::move(file).value(), model->sharded_ ? &weight_map : nullptr, problem));
  }
  for (const auto& [tensor, shard] : weight_map) {
    if (!model->where_.count(tensor) && !unreadable.count(shard)) {
      RETURN_IF_ERROR(problem(fmt::format("{} puts tensor '{}' in {}, which does not hold it", kIndexName, tensor, shard)));
    }
  }
  return model;
}

const SafetensorsTensor* SafetensorsModel::Find(std::string_view name) const {
  auto it = where_.find(name);
  if (it == where_.end()) return nullptr;
  return &files_[it->second.first]->tensors()[it->second.second];
}

}  // namespace enclave
