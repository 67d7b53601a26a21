#include "format/safetensors.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "base/checked_math.h"
#include "format/json_limits.h"
#include "format/utf8.h"

namespace enclave {
namespace {

constexpr StDTypeInfo kDTypes[] = {
    {StDType::kBool, "BOOL", 1, false},      {StDType::kU8, "U8", 1, true},
    {StDType::kI8, "I8", 1, true},           {StDType::kF8_E4M3, "F8_E4M3", 1, true},
    {StDType::kF8_E5M2, "F8_E5M2", 1, false}, {StDType::kI16, "I16", 2, false},
    {StDType::kU16, "U16", 2, false},        {StDType::kF16, "F16", 2, true},
    {StDType::kBF16, "BF16", 2, true},       {StDType::kI32, "I32", 4, true},
    {StDType::kU32, "U32", 4, false},        {StDType::kF32, "F32", 4, true},
    {StDType::kI64, "I64", 8, true},         {StDType::kU64, "U64", 8, false},
    {StDType::kF64, "F64", 8, false},
};

}  // namespace

std::optional<StDTypeInfo> StDTypeFromName(std::string_view name) {
  for (const auto& d : kDTypes) {
    if (name == d.name) return d;
  }
  return std::nullopt;
}

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
  RETURN_IF_ERROR(f->ParseHeader(options));
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

Status SafetensorsFile::ParseHeader(SafetensorsParseOptions options) {
  const bool collect = options.collect_problems;
  if (bytes_.size() < 8) {
    return CorruptError(fmt::format("{}: {} bytes, too small for the 8-byte header length", label_, bytes_.size()));
  }
  uint64_t n;
  std::memcpy(&n, bytes_.data(), 8);
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
  ASSIGN_OR_RETURN(nlohmann::json header, ParseJsonLimited(text, label_ + ": header", limits));
  if (!header.is_object()) {
    return CorruptError(fmt::format("{}: header is JSON {} but must be an object", label_, header.type_name()));
  }
  const uint64_t data_start = 8 + n;
  const uint64_t data_size = bytes_.size() - data_start;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    if (name == "__metadata__") {
      if (!it->is_object()) return CorruptError(fmt::format("{}: __metadata__ must be an object", label_));
      for (auto m = it->begin(); m != it->end(); ++m) {
        if (!m->is_string()) {
          RETURN_IF_ERROR(Problem(collect, fmt::format("{}: __metadata__ value '{}' is not a string", label_, m.key())));
          continue;
        }
        metadata_[m.key()] = m->get<std::string>();
      }
      continue;
    }
    const std::string where = fmt::format("{}: tensor '{}'", label_, name);
    const nlohmann::json& e = *it;
    if (!e.is_object() || !e.contains("dtype") || !e.contains("shape") || !e.contains("data_offsets")) {
      RETURN_IF_ERROR(Problem(collect, where + ": entry must be an object with dtype, shape and data_offsets"));
      continue;
    }
    if (!e["dtype"].is_string()) {
      RETURN_IF_ERROR(Problem(collect, where + ": dtype is not a string"));
      continue;
    }
    const auto dtype = StDTypeFromName(e["dtype"].get<std::string>());
    if (!dtype) {
      RETURN_IF_ERROR(Problem(collect, fmt::format("{}: unknown dtype '{}'", where, e["dtype"].get<std::string>())));
      continue;
    }
    SafetensorsTensor t;
    t.name = name;
    t.dtype = *dtype;
    bool ok = e["shape"].is_array() && e["shape"].size() <= 8;
    uint64_t count = 1;
    if (ok) {
      for (const auto& d : e["shape"]) {
        if (!d.is_number_unsigned()) {
          ok = false;
          break;
        }
        const uint64_t v = d.get<uint64_t>();
        t.shape.push_back(v);
        auto m = CheckedMul(count, v);
        if (!m) {
          RETURN_IF_ERROR(Problem(collect, where + ": element count overflows"));
          ok = false;
          count = 0;
          break;
        }
        count = *m;
      }
    }
    if (!ok) {
      if (count != 0) RETURN_IF_ERROR(Problem(collect, where + ": shape must be an array of at most 8 non-negative integers"));
      continue;
    }
    t.n_elements = count;
    const auto& off = e["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned()) {
      RETURN_IF_ERROR(Problem(collect, where + ": data_offsets must be two non-negative integers"));
      continue;
    }
    t.begin = off[0].get<uint64_t>();
    t.end = off[1].get<uint64_t>();
    if (t.begin > t.end) {
      RETURN_IF_ERROR(Problem(collect, fmt::format("{}: data_offsets [{}, {}) begin after they end", where, t.begin, t.end)));
      continue;
    }
    const auto bytes = CheckedMul(count, static_cast<uint64_t>(dtype->bytes));
    if (!bytes || *bytes != t.end - t.begin) {
      RETURN_IF_ERROR(Problem(collect, fmt::format("{}: shape [{}] of {} needs {} bytes but data_offsets [{}, {}) hold {}",
                                                   where, fmt::join(t.shape, ", "), dtype->name,
                                                   bytes ? fmt::to_string(*bytes) : std::string("overflowing"),
                                                   t.begin, t.end, t.end - t.begin)));
      continue;
    }
    if (t.end > data_size) {
      RETURN_IF_ERROR(Problem(collect, fmt::format("{}: data_offsets [{}, {}) run past the data section ({} bytes)",
                                                   where, t.begin, t.end, data_size)));
      continue;
    }
    t.file_offset = data_start + t.begin;
    t.data = bytes_.subspan(t.file_offset, t.end - t.begin);
    index_.emplace(t.name, tensors_.size());
    tensors_.push_back(std::move(t));
  }
  // Like the reference implementation: ranges must tile the data section exactly, with neither
  // overlaps nor holes (a hole is bytes no tensor accounts for).
  std::vector<const SafetensorsTensor*> sorted;
  for (const auto& t : tensors_) sorted.push_back(&t);
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->begin < b->begin || (a->begin == b->begin && a->end < b->end); });
  uint64_t expected = 0;
  const SafetensorsTensor* prev = nullptr;
  for (const auto* t : sorted) {
    if (t->begin < expected) {
      RETURN_IF_ERROR(Problem(collect, fmt::format("{}: tensors '{}' [{}, {}) and '{}' [{}, {}) overlap", label_,
                                                   prev->name, prev->begin, prev->end, t->name, t->begin, t->end)));
    } else if (t->begin > expected) {
      RETURN_IF_ERROR(Problem(collect, fmt::format("{}: bytes [{}, {}) of the data section belong to no tensor",
                                                   label_, expected, t->begin)));
    }
    expected = std::max(expected, t->end);
    prev = t;
  }
  if (expected != data_size && problems_.empty()) {
    RETURN_IF_ERROR(Problem(collect, fmt::format("{}: data section is {} bytes but the tensors cover {}", label_,
                                                 data_size, expected)));
  }
  // Keep file order stable and readable: sort by offset.
  std::sort(tensors_.begin(), tensors_.end(), [](const auto& a, const auto& b) { return a.begin < b.begin; });
  index_.clear();
  for (size_t i = 0; i < tensors_.size(); ++i) index_.emplace(tensors_[i].name, i);
  return Status::Ok();
}

const SafetensorsTensor* SafetensorsFile::Find(std::string_view name) const {
  auto it = index_.find(std::string(name));
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

Result<std::unique_ptr<SafetensorsModel>> SafetensorsModel::OpenDirectory(const std::string& dir,
                                                                          SafetensorsParseOptions options) {
  namespace fs = std::filesystem;
  auto model = std::make_unique<SafetensorsModel>();
  const bool collect = options.collect_problems;
  auto problem = [&](std::string m) -> Status {
    if (!collect) return CorruptError(std::move(m));
    model->problems_.push_back(std::move(m));
    return Status::Ok();
  };
  std::vector<std::string> names;
  std::map<std::string, std::string> weight_map;
  const fs::path index_path = fs::path(dir) / "model.safetensors.index.json";
  std::error_code ec;
  if (fs::exists(index_path, ec)) {
    model->sharded_ = true;
    ASSIGN_OR_RETURN(std::unique_ptr<MappedFile> idx, MappedFile::Open(index_path.string()));
    const std::string_view text(reinterpret_cast<const char*>(idx->data().data()), idx->size());
    ASSIGN_OR_RETURN(nlohmann::json j, ParseJsonLimited(text, "model.safetensors.index.json"));
    if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object()) {
      return CorruptError("model.safetensors.index.json: no \"weight_map\" object");
    }
    for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
      if (!it->is_string()) return CorruptError(fmt::format("model.safetensors.index.json: weight_map['{}'] is not a file name", it.key()));
      const std::string file = it->get<std::string>();
      if (file.empty() || file.find('/') != std::string::npos || file.find('\\') != std::string::npos || file == "." || file == "..") {
        return CorruptError(fmt::format("model.safetensors.index.json: weight_map['{}'] = '{}' is not a plain file name in the model directory", it.key(), file));
      }
      weight_map[it.key()] = file;
      if (std::find(names.begin(), names.end(), file) == names.end()) names.push_back(file);
    }
    std::sort(names.begin(), names.end());
  } else {
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      if (entry.is_regular_file() && entry.path().extension() == ".safetensors") names.push_back(entry.path().filename().string());
    }
    if (ec) return IoError(fmt::format("cannot list '{}': {}", dir, ec.message()));
    std::sort(names.begin(), names.end());
    if (names.empty()) return NotFoundError(fmt::format("'{}' holds no .safetensors file and no model.safetensors.index.json", dir));
  }
  for (const auto& name : names) {
    const fs::path p = fs::path(dir) / name;
    if (!fs::exists(p, ec)) {
      RETURN_IF_ERROR(problem(fmt::format("model.safetensors.index.json names shard '{}', which does not exist", name)));
      continue;
    }
    auto file = SafetensorsFile::Open(p.string(), options);
    if (!file.ok()) {
      if (!collect) return file.status();
      model->problems_.push_back(file.status().message());
      continue;
    }
    const size_t fi = model->files_.size();
    for (const auto& pr : (*file)->problems()) model->problems_.push_back(pr);
    for (size_t ti = 0; ti < (*file)->tensors().size(); ++ti) {
      const auto& t = (*file)->tensors()[ti];
      if (model->where_.count(t.name)) {
        RETURN_IF_ERROR(problem(fmt::format("tensor '{}' appears in more than one shard ({} and {})", t.name,
                                            model->files_[model->where_[t.name].first]->label(), name)));
        continue;
      }
      if (model->sharded_) {
        auto wm = weight_map.find(t.name);
        if (wm == weight_map.end()) {
          RETURN_IF_ERROR(problem(fmt::format("{}: tensor '{}' is not listed in model.safetensors.index.json", name, t.name)));
        } else if (wm->second != name) {
          RETURN_IF_ERROR(problem(fmt::format("tensor '{}' is in {} but the index says {}", t.name, name, wm->second)));
        }
      }
      model->where_[t.name] = {fi, ti};
    }
    model->files_.push_back(std::move(file).value());
  }
  if (model->sharded_) {
    for (const auto& [tensor, file] : weight_map) {
      if (!model->where_.count(tensor) && fs::exists(fs::path(dir) / file, ec)) {
        RETURN_IF_ERROR(problem(fmt::format("model.safetensors.index.json puts tensor '{}' in {}, which does not hold it", tensor, file)));
      }
    }
  }
  return model;
}

const SafetensorsTensor* SafetensorsModel::Find(std::string_view name, const SafetensorsFile** file) const {
  auto it = where_.find(name);
  if (it == where_.end()) return nullptr;
  if (file) *file = files_[it->second.first].get();
  return &files_[it->second.first]->tensors()[it->second.second];
}

}  // namespace enclave
