// `enclave inspect PATH [--json]`: describe and validate a GGUF file, a .safetensors file or a
// Hugging Face model directory.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "format/inspect.h"
#include "tools/enclave/commands.h"

namespace enclave::cli {
namespace {

struct InspectOptions {
  std::string path;
  bool json = false;
  size_t max_array_items = 16;
};

int RunInspect(const InspectOptions& opt) {
  Result<ModelReport> report = InspectModelPath(opt.path);
  if (!report.ok()) {
    std::fprintf(stderr, "error: %s\n", report.status().message().c_str());
    return 1;
  }
  report->metadata = SummariseLongArrays(report->metadata, opt.max_array_items);
  if (opt.json) {
    std::cout << ModelReportToJson(*report).dump(2, ' ', false,
                                                 nlohmann::json::error_handler_t::replace)
              << "\n";
  } else {
    std::cout << ModelReportToText(*report);
  }
  if (!report->problems.empty()) {
    std::fprintf(stderr, "error: %s%s\n", report->problems.front().c_str(),
                 report->problems.size() > 1
                     ? (" (and " + std::to_string(report->problems.size() - 1) + " more problems)")
                           .c_str()
                     : "");
    return 1;
  }
  return 0;
}

}  // namespace

void RegisterInspect(CLI::App& app, CommandRegistry& registry) {
  auto opt = std::make_shared<InspectOptions>();
  CLI::App* cmd = app.add_subcommand(
      "inspect",
      "Describe and validate a model: a GGUF file, a .safetensors file, or a Hugging Face model "
      "directory (config.json + safetensors). Prints architecture, metadata, the tensor table "
      "(name, type, shape in GGUF order, bytes, offset), parameter count, file size and every "
      "problem found. Exits 0 only for a valid model.");
  cmd->add_option("path", opt->path, "GGUF file, .safetensors file, or HF model directory")
      ->required();
  cmd->add_flag("--json", opt->json,
                "Print one JSON object (keys: path, format, architecture, file_size, "
                "parameter_count, metadata, tensors[{name,type,shape,n_elements,bytes,offset,file}], "
                "problems)");
  cmd->add_option("--max-array-items", opt->max_array_items,
                  "Summarise metadata arrays longer than this (default 16)")
      ->check(CLI::PositiveNumber);
  cmd->callback([opt, &registry] { registry.exit_code = RunInspect(*opt); });
}

}  // namespace enclave::cli
