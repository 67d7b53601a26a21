// InspectGgufFile: the GGUF half of `enclave inspect`.
#include <fmt/format.h>

#include "format/gguf_reader.h"
#include "format/inspect.h"

namespace enclave {
namespace {

nlohmann::ordered_json ValueToJson(const GgufValue& v) {
  switch (v.type) {
    case GgufValueType::kU8: case GgufValueType::kU16: case GgufValueType::kU32:
    case GgufValueType::kU64: return v.u;
    case GgufValueType::kI8: case GgufValueType::kI16: case GgufValueType::kI32:
    case GgufValueType::kI64: return v.i;
    case GgufValueType::kF32: return static_cast<float>(v.f);
    case GgufValueType::kF64: return v.f;
    case GgufValueType::kBool: return v.u != 0;
    case GgufValueType::kString: return v.str;
    case GgufValueType::kArray: {
      nlohmann::ordered_json a = nlohmann::ordered_json::array();
      for (const auto& e : v.array) a.push_back(ValueToJson(e));
      return a;
    }
  }
  return nullptr;
}

}  // namespace

Result<ModelReport> InspectGgufFile(const std::string& path) {
  GgufParseOptions options;
  options.collect_problems = true;
  ASSIGN_OR_RETURN(std::unique_ptr<GgufFile> file, GgufFile::Open(path, options));
  ModelReport r;
  r.format = "gguf";
  r.path = path;
  r.file_size = file->file_size();
  r.metadata["GGUF.version"] = file->version();
  r.metadata["GGUF.tensor_count"] = file->tensors().size();
  r.metadata["GGUF.kv_count"] = file->metadata().size();
  for (const auto& kv : file->metadata()) r.metadata[kv.key] = ValueToJson(kv.value);
  if (auto arch = file->GetString("general.architecture"); arch.ok()) {
    r.architecture = *arch;
  } else {
    r.problems.push_back(arch.status().code() == StatusCode::kNotFound
                             ? "metadata 'general.architecture' is missing: the model family is unknown"
                             : arch.status().message());
  }
  for (const auto& t : file->tensors()) {
    TensorReport tr;
    tr.name = t.name;
    tr.type = std::string(GgmlTypeName(t.type_id));
    tr.shape = t.dims;
    tr.n_elements = t.n_elements;
    tr.bytes = t.n_bytes;
    // Tensors that failed validation have no file_offset; show where the file claims they are
    // (saturating: the claim may overflow, which is the problem being reported).
    uint64_t claimed;
    if (__builtin_add_overflow(file->data_offset(), t.relative_offset, &claimed)) claimed = UINT64_MAX;
    tr.offset = t.data.empty() ? claimed : t.file_offset;
    tr.file = path;
    r.parameter_count += t.n_elements;
    r.tensors.push_back(std::move(tr));
  }
  for (const auto& p : file->problems()) r.problems.push_back(p);
  return r;
}

}  // namespace enclave
