// `enclave inspect` on safetensors files and Hugging Face directories: the CLI's --json output
// against <fixture>.expected.json (computed in Python from the raw headers and checked with
// safetensors.safe_open), and the malformed corpus (EXPECTED.tsv: words each error must contain).
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "format/hf_config.h"
#include "format/inspect.h"
#include "format/safetensors.h"
#include "format/safetensors_fp8.h"
#include "test_util.h"

namespace enclave {
namespace {

using nlohmann::json;
using testing::SourcePath;

const char kRegen[] = " (regenerate with: .venv/bin/python scripts/ref/make_safetensors_fixtures.py)";

void ExpectReportMatches(const json& got, const std::string& expected_path, bool whole_directory) {
  const json want = json::parse(testing::ReadTextFile(expected_path));
  EXPECT_EQ(got["format"], "safetensors");
  EXPECT_EQ(got["architecture"], want["architecture"]) << kRegen;
  EXPECT_EQ(got["parameter_count"], want["parameter_count"]) << kRegen;
  if (whole_directory) {
    EXPECT_EQ(got["file_size"], want["file_size"]) << kRegen;
  }
  EXPECT_EQ(got["metadata"]["safetensors.shards"], want["shards"]);
  EXPECT_EQ(got["problems"], json::array());
  if (!want["metadata"].is_null()) {
    EXPECT_EQ(got["metadata"]["safetensors.__metadata__"], want["metadata"]);
  }
  ASSERT_EQ(got["tensors"].size(), want["tensors"].size()) << kRegen;
  std::map<std::string, json> by_name;
  for (const json& t : got["tensors"]) by_name[t["name"]] = t;
  for (const json& w : want["tensors"]) {
    SCOPED_TRACE(w["name"].get<std::string>());
    ASSERT_TRUE(by_name.count(w["name"]));
    const json& t = by_name[w["name"]];
    for (const char* key : {"type", "shape", "n_elements", "bytes", "offset", "file"}) {
      EXPECT_EQ(t[key], w[key]) << key << kRegen;
    }
  }
}

TEST(SafetensorsInspectTest, CliJsonMatchesTheExpectedReport) {
  for (const char* name : {"single", "sharded", "fp8"}) {
    SCOPED_TRACE(name);
    const std::string dir = SourcePath(std::string("tests/fixtures/safetensors/") + name);
    auto r = testing::RunCli("inspect --json " + dir);
    ASSERT_EQ(r.exit_code, 0) << r.out;
    ExpectReportMatches(json::parse(r.out), dir + ".expected.json", true);
  }
  // A lone file: its config.json neighbour still names the family.
  auto r = testing::RunCli("inspect --json " + SourcePath("tests/fixtures/safetensors/single/model.safetensors"));
  ASSERT_EQ(r.exit_code, 0);
  ExpectReportMatches(json::parse(r.out), SourcePath("tests/fixtures/safetensors/single.expected.json"), false);
  r = testing::RunCli("inspect --json " + SourcePath("tests/fixtures/safetensors/all_dtypes.safetensors"));
  ASSERT_EQ(r.exit_code, 0);
  ExpectReportMatches(json::parse(r.out), SourcePath("tests/fixtures/safetensors/all_dtypes.expected.json"), true);
}

TEST(SafetensorsInspectTest, MetadataHoldsConfigFieldsInFileOrder) {
  auto r = InspectHfDirectory(SourcePath("tests/fixtures/safetensors/sharded"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->architecture, "deepseek_v3");
  EXPECT_EQ(r->metadata["config.hidden_size"], 7168);
  EXPECT_EQ(r->metadata["config.rope_scaling"]["mscale_all_dim"], 1.0);
  EXPECT_EQ(r->metadata["config.quantization_config"]["weight_block_size"], json({128, 128}));
  EXPECT_EQ(r->metadata["safetensors.sharded"], true);
  EXPECT_EQ(r->metadata.begin().key(), "config.architectures");  // the file's first key
  // Text output names the format and shapes in GGUF order.
  const std::string text = ModelReportToText(*r);
  EXPECT_NE(text.find("safetensors"), std::string::npos);
  EXPECT_NE(text.find("lm_head.weight"), std::string::npos);
}

TEST(SafetensorsInspectTest, ArchitectureFallsBackToArchitecturesWhenConfigIsInvalid) {
  auto r = InspectHfDirectory(SourcePath("tests/fixtures/safetensors/malformed/bad_config"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->architecture, "qwen2");  // model_type is still readable
  ASSERT_EQ(r->problems.size(), 1u);
  EXPECT_EQ(r->problems[0], "config.json: field 'hidden_size' must be an integer, found string");
  EXPECT_EQ(r->metadata["config.hidden_size"], "64");  // shown as written
  EXPECT_EQ(r->tensors.size(), 8u);                     // the tensors are still listed
}

TEST(SafetensorsInspectTest, DirectoryWithoutConfigIsInspectableWithAProblem) {
  auto r = InspectHfDirectory(SourcePath("tests/fixtures/safetensors/malformed/no_config"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->architecture, "");
  EXPECT_EQ(r->tensors.size(), 8u);
  ASSERT_EQ(r->problems.size(), 1u);
  EXPECT_NE(r->problems[0].find("config.json is missing"), std::string::npos);
}

// What a strict loader does: tensors, config.json and FP8 scales must all be valid.
Status StrictLoad(const std::string& path) {
  if (!std::filesystem::is_directory(path)) return SafetensorsFile::Open(path).status();
  ASSIGN_OR_RETURN(std::unique_ptr<SafetensorsModel> model, SafetensorsModel::OpenDirectory(path));
  RETURN_IF_ERROR(LoadHfConfig(path + "/config.json").status());
  for (const auto& f : model->files()) {
    for (const SafetensorsTensor& t : f->tensors()) {
      if (t.dtype.type == StDType::kF8_E4M3) RETURN_IF_ERROR(FindFp8Weight(*model, t.name).status());
    }
  }
  if (auto p = CheckFp8Scales(*model); !p.empty()) return CorruptError(p[0]);
  return Status::Ok();
}

TEST(SafetensorsInspectTest, MalformedCorpusGivesCleanErrors) {
  const std::string dir = SourcePath("tests/fixtures/safetensors/malformed/");
  int n = 0;
  for (const auto& [name, words] : testing::ReadExpectedErrors(dir + "EXPECTED.tsv")) {
    SCOPED_TRACE(name);
    auto report = InspectModelPath(dir + name);
    const std::string message = report.ok() ? (report->problems.empty() ? "" : report->problems.front())
                                            : report.status().message();
    ASSERT_FALSE(message.empty()) << name << " was accepted" << kRegen;
    EXPECT_NE(message.find(words), std::string::npos) << "'" << message << "' lacks '" << words << "'";
    EXPECT_EQ(message.find('\n'), std::string::npos);
    // Messages about one file's bytes name the file.
    if (name.ends_with(".safetensors")) {
      EXPECT_NE(message.find(name), std::string::npos) << message;
    }
    EXPECT_FALSE(StrictLoad(dir + name).ok()) << "a strict load accepts " << name;
    ++n;
  }
  EXPECT_GE(n, 45) << kRegen;
  // Every entry of the folder is in EXPECTED.tsv (a new case without an expectation is a bug).
  int entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) entries += e.path().filename() != "EXPECTED.tsv";
  EXPECT_EQ(entries, n);
}

}  // namespace
}  // namespace enclave
