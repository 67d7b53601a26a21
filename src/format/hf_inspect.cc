// InspectSafetensorsFile / InspectHfDirectory: the safetensors half of `enclave inspect`.
#include <fmt/format.h>

#include <filesystem>

#include "format/hf_config.h"
#include "format/inspect.h"
#include "format/safetensors.h"

namespace enclave {
namespace {

void AddTensors(const SafetensorsFile& file, const std::string& file_label, ModelReport* r) {
  for (const auto& t : file.tensors()) {
    TensorReport tr;
    tr.name = t.name;
    tr.type = t.dtype.name;
    tr.shape = t.GgufShape();
    tr.n_elements = t.n_elements;
    tr.bytes = t.end - t.begin;
    tr.offset = t.file_offset;
    tr.file = file_label;
    r->parameter_count += t.n_elements;
    r->tensors.push_back(std::move(tr));
  }
  r->file_size += file.file_size();
  if (!file.metadata().empty()) {
    nlohmann::ordered_json m = nlohmann::ordered_json::object();
    for (const auto& [k, v] : file.metadata()) m[k] = v;
    r->metadata["safetensors.__metadata__"] = m;
  }
}

}  // namespace

Result<ModelReport> InspectSafetensorsFile(const std::string& path) {
  SafetensorsParseOptions options;
  options.collect_problems = true;
  ASSIGN_OR_RETURN(std::unique_ptr<SafetensorsFile> file, SafetensorsFile::Open(path, options));
  ModelReport r;
  r.format = "safetensors";
  r.path = path;
  r.metadata["safetensors.shards"] = 1;
  AddTensors(*file, file->label(), &r);
  r.problems = file->problems();
  // A lone file has no config.json beside it by contract; look for one to name the family.
  const auto config = std::filesystem::path(path).parent_path() / "config.json";
  std::error_code ec;
  if (std::filesystem::exists(config, ec)) {
    if (auto c = LoadHfConfig(config.string()); c.ok()) r.architecture = c->model_type;
  }
  return r;
}

Result<ModelReport> InspectHfDirectory(const std::string& path) {
  namespace fs = std::filesystem;
  ModelReport r;
  r.format = "safetensors";
  r.path = path;
  std::error_code ec;
  const fs::path config_path = fs::path(path) / "config.json";
  if (fs::exists(config_path, ec)) {
    auto config = LoadHfConfig(config_path.string());
    if (config.ok()) {
      r.architecture = config->model_type;
      nlohmann::ordered_json cfg = nlohmann::ordered_json::parse(config->raw.dump());
      for (auto it = cfg.begin(); it != cfg.end(); ++it) r.metadata["config." + it.key()] = it.value();
    } else {
      r.problems.push_back(config.status().message());
    }
  } else {
    r.problems.push_back("config.json is missing: the model family and hyper-parameters are unknown");
  }
  SafetensorsParseOptions options;
  options.collect_problems = true;
  auto model = SafetensorsModel::OpenDirectory(path, options);
  // Without readable tensors the directory is not a model: one line says why.
  if (!model.ok()) return model.status();
  r.metadata["safetensors.shards"] = (*model)->files().size();
  r.metadata["safetensors.sharded"] = (*model)->sharded();
  for (const auto& f : (*model)->files()) AddTensors(*f, f->label(), &r);
  for (const auto& p : (*model)->problems()) r.problems.push_back(p);
  return r;
}

}  // namespace enclave
