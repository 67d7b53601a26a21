// InspectSafetensorsFile / InspectHfDirectory: the safetensors half of `enclave inspect`.
//
// Report contract (docs/formats-safetensors.md): format "safetensors"; architecture = config.json
// model_type, else architectures[0]; metadata = every config.json field as "config.<key>", the
// files' "__metadata__" and the shard count; tensor types are safetensors dtype names ("BF16",
// "F8_E4M3"); shapes in GGUF order (innermost first, the reverse of PyTorch's); offsets absolute
// within the tensor's shard; every tensor counts as parameters, FP8 scale_inv included.
#include <fmt/format.h>

#include <filesystem>
#include <optional>

#include "format/hf_config.h"
#include "format/inspect.h"
#include "format/json_limits.h"
#include "format/safetensors.h"
#include "format/safetensors_fp8.h"

namespace enclave {
namespace {

namespace fs = std::filesystem;

// Reads config.json into the report. Returns the parsed config when it is valid. For a directory
// the config is part of the model (`required`: its absence or damage is a problem); a lone file is
// judged on its own bytes and only borrows names from a neighbouring config.
std::optional<HfConfig> AddConfig(const fs::path& path, bool required, ModelReport* r) {
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    if (required) r->problems.push_back("config.json is missing: the model family and hyper-parameters are unknown");
    return std::nullopt;
  }
  Result<std::unique_ptr<MappedFile>> file = MappedFile::Open(path.string());
  if (!file.ok()) {
    if (required) r->problems.push_back(file.status().message());
    return std::nullopt;
  }
  const std::string_view text(reinterpret_cast<const char*>((*file)->data().data()), (*file)->size());
  // Show what the file says even when a field is invalid; only unparsable JSON shows nothing.
  Result<nlohmann::json> checked = ParseJsonLimited(text, "config.json");
  if (checked.ok() && checked->is_object()) {
    // Parsed again to keep the file's key order; the limits above already held.
    const auto ordered = nlohmann::ordered_json::parse(text.begin(), text.end());
    for (auto it = ordered.begin(); it != ordered.end(); ++it) r->metadata["config." + it.key()] = it.value();
    const nlohmann::json& j = *checked;
    if (j.contains("model_type") && j["model_type"].is_string()) {
      r->architecture = j["model_type"].get<std::string>();
    } else if (j.contains("architectures") && j["architectures"].is_array() && !j["architectures"].empty() &&
               j["architectures"][0].is_string()) {
      r->architecture = j["architectures"][0].get<std::string>();
    }
  }
  Result<HfConfig> config = ParseHfConfig(text);
  if (!config.ok()) {
    if (required) r->problems.push_back(config.status().message());
    return std::nullopt;
  }
  return std::move(config).value();
}

void AddTensors(const SafetensorsModel& model, ModelReport* r) {
  r->metadata["safetensors.shards"] = model.files().size();
  nlohmann::ordered_json per_file = nlohmann::ordered_json::object();
  bool all_equal = true;
  for (const auto& file : model.files()) {
    for (const SafetensorsTensor& t : file->tensors()) {
      TensorReport tr;
      tr.name = t.name;
      tr.type = t.dtype.name;
      tr.shape = t.GgufShape();
      tr.n_elements = t.n_elements;
      tr.bytes = t.end - t.begin;
      tr.offset = t.file_offset;
      tr.file = file->label();
      r->parameter_count += t.n_elements;
      r->tensors.push_back(std::move(tr));
    }
    r->file_size += file->file_size();
    all_equal = all_equal && file->metadata() == model.files().front()->metadata();
    if (!file->metadata().empty()) per_file[file->label()] = file->metadata();
  }
  // Shards normally carry the same {"format": "pt"}: show it once.
  if (!per_file.empty()) {
    r->metadata["safetensors.__metadata__"] =
        all_equal && model.files().size() == per_file.size() ? per_file.front() : per_file;
  }
  for (const std::string& p : model.problems()) r->problems.push_back(p);
}

// Block-scaled FP8 is declared by config.json (quant_method "fp8") or shown by *_scale_inv tensors;
// other F8_E4M3 tensors (per-tensor scales, plain storage) are not ours to judge.
void AddFp8Problems(const SafetensorsModel& model, const std::optional<HfConfig>& config, ModelReport* r) {
  const HfQuantizationConfig* q =
      config && config->quantization_config ? &*config->quantization_config : nullptr;
  bool block_scaled = q != nullptr && q->quant_method == "fp8";
  for (const auto& file : model.files()) {
    for (const SafetensorsTensor& t : file->tensors()) block_scaled = block_scaled || t.name.ends_with(kFp8ScaleSuffix);
  }
  if (!block_scaled) return;
  int64_t block_rows = kFp8BlockSize, block_cols = kFp8BlockSize;
  if (q != nullptr && q->weight_block_size.size() == 2) {
    block_rows = q->weight_block_size[0];
    block_cols = q->weight_block_size[1];
  }
  for (std::string& p : CheckFp8Scales(model, block_rows, block_cols)) r->problems.push_back(std::move(p));
}

}  // namespace

Result<ModelReport> InspectSafetensorsFile(const std::string& path) {
  SafetensorsParseOptions options;
  options.collect_problems = true;
  ASSIGN_OR_RETURN(std::unique_ptr<SafetensorsFile> file, SafetensorsFile::Open(path, options));
  std::unique_ptr<SafetensorsModel> model = SafetensorsModel::FromFile(std::move(file));
  ModelReport r;
  r.format = "safetensors";
  r.path = path;
  // A lone file needs no config.json, but one beside it names the family.
  const fs::path dir = fs::path(path).parent_path();
  const std::optional<HfConfig> config = AddConfig(dir / "config.json", /*required=*/false, &r);
  AddTensors(*model, &r);
  // One shard of a sharded model may hold a weight whose scale sits in the next shard.
  std::error_code ec;
  if (!fs::exists(dir / "model.safetensors.index.json", ec)) AddFp8Problems(*model, config, &r);
  return r;
}

Result<ModelReport> InspectHfDirectory(const std::string& path) {
  SafetensorsParseOptions options;
  options.collect_problems = true;
  // Without readable tensors the directory is not a model: one error line says why.
  ASSIGN_OR_RETURN(std::unique_ptr<SafetensorsModel> model, SafetensorsModel::OpenDirectory(path, options));
  ModelReport r;
  r.format = "safetensors";
  r.path = path;
  const std::optional<HfConfig> config = AddConfig(fs::path(path) / "config.json", /*required=*/true, &r);
  r.metadata["safetensors.sharded"] = model->sharded();
  AddTensors(*model, &r);
  AddFp8Problems(*model, config, &r);
  return r;
}

}  // namespace enclave
