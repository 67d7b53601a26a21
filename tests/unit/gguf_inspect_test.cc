// `enclave inspect` on GGUF files against the `gguf` Python package: for each fixture, the
// <name>.expected.json written by scripts/ref/make_gguf_fixtures.py holds what gguf.GGUFReader read
// (header counts, metadata in file order with nested arrays, tensor names, types, shapes, element
// counts, byte sizes, absolute offsets). InspectGgufFile and the CLI's --json output must agree with
// it field by field.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "format/inspect.h"
#include "tensor/dtype.h"
#include "test_util.h"

namespace enclave {
namespace {

using nlohmann::ordered_json;
using testing::SourcePath;

const char kRegen[] = " (regenerate with: .venv/bin/python scripts/ref/make_gguf_fixtures.py)";

// Exact comparison, recursing into arrays. Floats are exact too: both sides print the shortest
// representation that round-trips the same double.
void ExpectSameValue(const std::string& where, const ordered_json& ours, const ordered_json& expected) {
  if (expected.is_array()) {
    ASSERT_TRUE(ours.is_array()) << where << ": ours is " << ours.dump();
    ASSERT_EQ(ours.size(), expected.size()) << where;
    for (size_t i = 0; i < expected.size(); ++i) {
      ExpectSameValue(where + "[" + std::to_string(i) + "]", ours[i], expected[i]);
    }
  } else if (expected.is_number_float() || ours.is_number_float()) {
    ASSERT_TRUE(ours.is_number()) << where;
    EXPECT_EQ(ours.get<double>(), expected.get<double>()) << where;
  } else {
    EXPECT_EQ(ours, expected) << where;
  }
}

// `report` is ModelReportToJson's shape, from InspectGgufFile or from `enclave inspect --json`.
void ExpectMatchesPythonReader(const ordered_json& report, const ordered_json& expected, const std::string& file) {
  SCOPED_TRACE(file);
  EXPECT_EQ(report["format"], "gguf");
  EXPECT_EQ(report["file_size"], expected["file_size"]);
  EXPECT_EQ(report["architecture"], expected["metadata"]["general.architecture"]);
  const ordered_json& meta = report["metadata"];
  for (const auto& [key, value] : expected["header"].items()) EXPECT_EQ(meta[key], value) << key;
  // Same keys in the same (file) order, then the same values.
  std::vector<std::string> our_keys, expected_keys;
  for (const auto& [key, value] : meta.items()) {
    if (key.rfind("GGUF.", 0) != 0) our_keys.push_back(key);
  }
  for (const auto& [key, value] : expected["metadata"].items()) expected_keys.push_back(key);
  ASSERT_EQ(our_keys, expected_keys) << kRegen;
  for (const auto& [key, value] : expected["metadata"].items()) ExpectSameValue(key, meta[key], value);

  const ordered_json& tensors = report["tensors"];
  ASSERT_EQ(tensors.size(), expected["tensors"].size()) << kRegen;
  uint64_t parameters = 0;
  size_t unloadable = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const ordered_json& ours = tensors[i];
    const ordered_json& exp = expected["tensors"][i];
    const std::string name = exp["name"];
    EXPECT_EQ(ours["name"], exp["name"]);
    EXPECT_EQ(ours["type"], exp["type"]) << name;
    EXPECT_EQ(ours["shape"], exp["shape"]) << name;
    EXPECT_EQ(ours["n_elements"], exp["n_elements"]) << name;
    EXPECT_EQ(ours["offset"], exp["offset"]) << name;
    parameters += exp["n_elements"].get<uint64_t>();
    const uint32_t id = exp["type_id"];
    if (TraitsOf(id)) {
      EXPECT_EQ(ours["bytes"], exp["bytes"]) << name;
    } else {
      // Named but not loadable: one problem each, naming the tensor, type and id.
      const std::string problem = "tensor '" + name + "' has type " + exp["type"].get<std::string>() + " (" +
                                  std::to_string(id) + "), which Enclave cannot load";
      const auto& problems = report["problems"];
      EXPECT_NE(std::find(problems.begin(), problems.end(), problem), problems.end()) << problem;
      ++unloadable;
    }
  }
  EXPECT_EQ(report["parameter_count"], parameters);
  EXPECT_EQ(report["problems"].size(), unloadable) << report["problems"].dump();
}

const char* const kFixtures[] = {"all_types", "extra_types", "unloadable_types", "enclave_written"};

ordered_json Expected(const std::string& name) {
  return ordered_json::parse(
      testing::ReadTextFile(SourcePath("tests/fixtures/gguf/" + name + ".expected.json")));
}

TEST(GgufInspectTest, ReportMatchesPythonGgufReader) {
  for (const std::string name : kFixtures) {
    const std::string path = SourcePath("tests/fixtures/gguf/" + name + ".gguf");
    auto report = InspectGgufFile(path);
    ASSERT_TRUE(report.ok()) << name << ": " << report.status().message() << kRegen;
    // Through a JSON round trip, as the CLI prints it (long arrays not summarised here).
    const ordered_json j = ordered_json::parse(ModelReportToJson(*report).dump());
    ExpectMatchesPythonReader(j, Expected(name), name);
    for (const auto& t : report->tensors) EXPECT_EQ(t.file, path);
  }
}

TEST(GgufInspectTest, CliJsonMatchesPythonGgufReader) {
  for (const std::string name : kFixtures) {
    const std::string path = SourcePath("tests/fixtures/gguf/" + name + ".gguf");
    auto r = testing::RunCli("inspect --json --max-array-items 1000000 " + path + " 2>/dev/null");
    const ordered_json expected = Expected(name);
    bool has_problems = false;
    for (const auto& t : expected["tensors"]) has_problems |= !TraitsOf(t["type_id"].get<uint32_t>());
    EXPECT_EQ(r.exit_code, has_problems ? 1 : 0) << name;
    ExpectMatchesPythonReader(ordered_json::parse(r.out), expected, name);
  }
}

TEST(GgufInspectTest, CliSummarisesLongArraysByDefault) {
  auto r = testing::RunCli("inspect --json " + SourcePath("tests/fixtures/gguf/all_types.gguf"));
  ASSERT_EQ(r.exit_code, 0);
  const ordered_json j = ordered_json::parse(r.out);
  EXPECT_EQ(j["metadata"]["test.array_long"]["length"], 100);
  EXPECT_EQ(j["metadata"]["test.array_i32"], ordered_json({1, -2, 3}));
  EXPECT_EQ(j["tensors"][10]["type"], "Q4_K");
}

TEST(GgufInspectTest, TextOutputListsEveryProblem) {
  auto r = testing::RunCli("inspect " + SourcePath("tests/fixtures/gguf/malformed/several_bad_tensors.gguf") +
                           " 2>/dev/null");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("problems:      3"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("IQ2_XXS (16)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("not a multiple of the alignment 32"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("zero dimension"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace enclave
