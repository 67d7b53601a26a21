// safetensors reader tests. Good files come from the `safetensors` package; the expected tensor
// lists (<name>.expected.json) were read from the headers by hand in Python and cross-checked with
// safetensors.safe_open (scripts/ref/make_safetensors_fixtures.py). Edge cases that need no file
// are built in memory here, with expectations taken from the format definition.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "format/safetensors.h"
#include "test_util.h"

namespace enclave {
namespace {

using nlohmann::json;
using testing::SourcePath;

const char kRegen[] = " (regenerate with: .venv/bin/python scripts/ref/make_safetensors_fixtures.py)";

std::string Fnv1a64(std::span<const uint8_t> data) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (uint8_t b : data) h = (h ^ b) * 0x100000001B3ull;
  return fmt::format("{:016x}", h);
}

// An in-memory safetensors file: u64 header length, header text, data.
std::vector<uint8_t> MakeFile(const std::string& header, size_t data_bytes = 0) {
  std::vector<uint8_t> out;
  out.reserve(8 + header.size() + data_bytes);
  const uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(n >> (8 * i)));
  out.insert(out.end(), header.begin(), header.end());
  for (size_t i = 0; i < data_bytes; ++i) out.push_back(static_cast<uint8_t>(i));
  return out;
}

std::string Entry(const std::string& dtype, const std::string& shape, uint64_t begin, uint64_t end) {
  return fmt::format(R"({{"dtype": "{}", "shape": {}, "data_offsets": [{}, {}]}})", dtype, shape, begin, end);
}

Status ParseStatus(const std::vector<uint8_t>& bytes) {
  return SafetensorsFile::Parse(bytes, "x.safetensors").status();
}

void ExpectMatchesExpected(const SafetensorsModel& model, const std::string& expected_path) {
  const json expected = json::parse(testing::ReadTextFile(expected_path));
  ASSERT_EQ(model.tensor_count(), expected["tensors"].size()) << expected_path << kRegen;
  ASSERT_EQ(model.files().size(), expected["shards"].get<size_t>());
  for (const json& e : expected["tensors"]) {
    const SafetensorsTensor* t = model.Find(e["name"].get<std::string>());
    ASSERT_NE(t, nullptr) << e["name"] << kRegen;
    EXPECT_EQ(t->dtype.name, e["type"].get<std::string>()) << t->name;
    EXPECT_EQ(json(t->GgufShape()), e["shape"]) << t->name;
    EXPECT_EQ(json(t->shape), json(std::vector<uint64_t>(e["shape"].rbegin(), e["shape"].rend()))) << t->name;
    EXPECT_EQ(t->n_elements, e["n_elements"].get<uint64_t>()) << t->name;
    EXPECT_EQ(t->data.size(), e["bytes"].get<uint64_t>()) << t->name;
    EXPECT_EQ(t->file_offset, e["offset"].get<uint64_t>()) << t->name;
    ASSERT_NE(t->file, nullptr);
    EXPECT_EQ(t->file->label(), e["file"].get<std::string>()) << t->name;
    EXPECT_EQ(Fnv1a64(t->data), e["fnv1a64"].get<std::string>()) << t->name << ": wrong bytes" << kRegen;
  }
  if (!expected["metadata"].is_null()) {
    for (const auto& f : model.files()) EXPECT_EQ(json(f->metadata()), expected["metadata"]) << f->label();
  }
}

TEST(SafetensorsReaderTest, MatchesTheReferenceReader) {
  for (const char* dir : {"single", "sharded", "fp8"}) {
    SCOPED_TRACE(dir);
    auto model = SafetensorsModel::OpenDirectory(SourcePath(std::string("tests/fixtures/safetensors/") + dir));
    ASSERT_TRUE(model.ok()) << model.status().message() << kRegen;
    EXPECT_TRUE((*model)->problems().empty());
    EXPECT_EQ((*model)->sharded(), std::string(dir) == "sharded");
    ExpectMatchesExpected(**model, SourcePath(std::string("tests/fixtures/safetensors/") + dir + ".expected.json"));
  }
}

TEST(SafetensorsReaderTest, EveryOfficialDTypeParsesAndIsNamed) {
  auto file = SafetensorsFile::Open(SourcePath("tests/fixtures/safetensors/all_dtypes.safetensors"));
  ASSERT_TRUE(file.ok()) << file.status().message();
  auto model = SafetensorsModel::FromFile(std::move(file).value());
  ExpectMatchesExpected(*model, SourcePath("tests/fixtures/safetensors/all_dtypes.expected.json"));
  EXPECT_EQ(AllStDTypes().size(), 22u);
  std::set<std::string> loadable;
  for (const StDTypeInfo& d : AllStDTypes()) {
    ASSERT_TRUE(StDTypeFromName(d.name).has_value());
    EXPECT_EQ(StDTypeFromName(d.name)->type, d.type);
    ASSERT_NE(model->Find(std::string("t.") + d.name), nullptr) << d.name;
    if (d.loadable) loadable.insert(d.name);
  }
  EXPECT_EQ(loadable, (std::set<std::string>{"F32", "F16", "BF16", "F8_E4M3", "I8", "I32", "I64", "U8"}));
  EXPECT_FALSE(StDTypeFromName("f32").has_value());  // names are case-sensitive, as in the reference
  EXPECT_FALSE(StDTypeFromName("F8_E4M3FN").has_value());
}

TEST(SafetensorsReaderTest, ViewsAreZeroCopyAndShapesKeepBothOrders) {
  const std::string path = SourcePath("tests/fixtures/safetensors/single/model.safetensors");
  auto model = SafetensorsModel::OpenDirectory(SourcePath("tests/fixtures/safetensors/single"));
  ASSERT_TRUE(model.ok());
  const SafetensorsTensor* ids = (*model)->Find("ids.int64");
  ASSERT_NE(ids, nullptr);
  EXPECT_EQ(ids->shape, (std::vector<uint64_t>{2, 3}));  // PyTorch order
  EXPECT_EQ(ids->GgufShape(), (std::vector<uint64_t>{3, 2}));
  int64_t v[6];
  ASSERT_EQ(ids->data.size(), sizeof v);
  std::memcpy(v, ids->data.data(), sizeof v);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(v[i], i);
  // The view points into the file's bytes at file_offset: same bytes as reading the file.
  const std::string raw = testing::ReadTextFile(path);
  EXPECT_EQ(std::memcmp(raw.data() + ids->file_offset, ids->data.data(), ids->data.size()), 0);
  EXPECT_EQ(ids->file_offset, 8 + ids->file->header_size() + ids->begin);
  const SafetensorsTensor* scalar = (*model)->Find("scalar");
  EXPECT_TRUE(scalar->shape.empty());
  EXPECT_EQ(scalar->n_elements, 1u);
  const SafetensorsTensor* empty = (*model)->Find("empty");
  EXPECT_EQ(empty->n_elements, 0u);
  EXPECT_EQ(empty->data.size(), 0u);
  EXPECT_EQ((*model)->files()[0]->metadata().at("format"), "pt");
  EXPECT_EQ((*model)->Find("no.such.tensor"), nullptr);
  // Tensors are listed by offset.
  const auto& ts = (*model)->files()[0]->tensors();
  for (size_t i = 1; i < ts.size(); ++i) EXPECT_LE(ts[i - 1].begin, ts[i].begin);
}

TEST(SafetensorsReaderTest, EveryTruncationFailsCleanly) {
  for (const char* f : {"single/model.safetensors", "fp8/model.safetensors", "all_dtypes.safetensors"}) {
    const std::string text = testing::ReadTextFile(SourcePath(std::string("tests/fixtures/safetensors/") + f));
    SafetensorsParseOptions collect;
    collect.collect_problems = true;
    for (size_t len = 0; len < text.size(); len += (len < 1024 ? 1 : 97)) {
      // A fresh buffer of exactly `len` bytes, so ASan sees any read past it.
      std::vector<uint8_t> cut(text.begin(), text.begin() + len);
      EXPECT_FALSE(SafetensorsFile::Parse(cut, "cut").ok()) << f << " cut at " << len;
      auto r = SafetensorsFile::Parse(cut, "cut", collect);
      EXPECT_TRUE(!r.ok() || !(*r)->problems().empty()) << f << " cut at " << len;
    }
  }
}

TEST(SafetensorsReaderTest, AcceptsWhatTheReferenceAccepts) {
  // Empty model; padding spaces around the JSON (save_file pads to 8 bytes); null __metadata__;
  // unknown entry fields; zero-sized tensors sharing an offset; sub-byte dtypes filling whole bytes.
  EXPECT_TRUE(ParseStatus(MakeFile("{}")).ok());
  EXPECT_TRUE(ParseStatus(MakeFile("  {\"a\": " + Entry("F32", "[1]", 0, 4) + "}    ", 4)).ok());
  EXPECT_TRUE(ParseStatus(MakeFile(R"({"__metadata__": null})")).ok());
  EXPECT_TRUE(ParseStatus(MakeFile(R"({"a": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2], "x": 1}})", 2)).ok());
  EXPECT_TRUE(ParseStatus(MakeFile("{\"a\": " + Entry("F32", "[0]", 0, 0) + ", \"b\": " + Entry("F32", "[0, 3]", 0, 0) +
                                   ", \"c\": " + Entry("F32", "[1]", 0, 4) + "}", 4)).ok());
  EXPECT_TRUE(ParseStatus(MakeFile("{\"a\": " + Entry("F4", "[4]", 0, 2) + ", \"b\": " + Entry("F6_E2M3", "[4]", 2, 5) +
                                   "}", 5)).ok());
}

TEST(SafetensorsReaderTest, ErrorsNameFileTensorAndNumbers) {
  EXPECT_EQ(ParseStatus(MakeFile("{\"model.layers.3.mlp.up_proj.weight\": " + Entry("F32", "[4]", 16, 32) + "}", 16))
                .message(),
            "x.safetensors: tensor 'model.layers.3.mlp.up_proj.weight': data_offsets [16, 32) run past the data "
            "section (16 bytes)");
  EXPECT_EQ(ParseStatus(MakeFile("{\"w\": " + Entry("BF16", "[2, 3]", 0, 8) + "}", 8)).message(),
            "x.safetensors: tensor 'w': shape [2, 3] of BF16 needs 12 bytes but data_offsets [0, 8) hold 8");
  EXPECT_EQ(ParseStatus(MakeFile("{\"w\": " + Entry("F4", "[3]", 0, 2) + "}", 2)).message(),
            "x.safetensors: tensor 'w': shape [3] of F4 is 12 bits, not a whole number of bytes");
  // A zero dimension followed by a bad one is still rejected (an early version let it through).
  EXPECT_EQ(ParseStatus(MakeFile(R"({"w": {"dtype": "F32", "shape": [0, "x"], "data_offsets": [0, 0]}})")).message(),
            "x.safetensors: tensor 'w': shape entry \"x\" is not a non-negative integer");
  // Each overlap is reported against the tensor that reaches furthest, not the previous one.
  SafetensorsParseOptions collect;
  collect.collect_problems = true;
  const std::vector<uint8_t> nested = MakeFile("{\"a\": " + Entry("F32", "[4]", 0, 16) + ", \"b\": " +
                                               Entry("F32", "[1]", 4, 8) + ", \"c\": " + Entry("F32", "[1]", 8, 12) + "}", 16);
  auto overlaps = SafetensorsFile::Parse(nested, "x.safetensors", collect);
  ASSERT_TRUE(overlaps.ok());
  EXPECT_EQ((*overlaps)->problems(), (std::vector<std::string>{
                                         "x.safetensors: tensors 'a' [0, 16) and 'b' [4, 8) overlap",
                                         "x.safetensors: tensors 'a' [0, 16) and 'c' [8, 12) overlap"}));
  EXPECT_EQ(ParseStatus(MakeFile("{\"a\": " + Entry("F32", "[2]", 0, 8) + ", \"z\": " + Entry("F32", "[0]", 4, 4) + "}", 8))
                .message(),
            "x.safetensors: tensors 'a' [0, 8) and 'z' [4, 4) overlap");
  // Header length bounds are checked before anything is read.
  std::vector<uint8_t> huge = MakeFile("{}");
  huge[0] = 0x01, huge[1] = 0xE1, huge[2] = 0xF5, huge[3] = 0x05;  // 100'000'001
  EXPECT_EQ(ParseStatus(huge).message(), "x.safetensors: header length 100000001 exceeds the 100000000 byte limit");
  EXPECT_EQ(ParseStatus(MakeFile("{}")).code(), StatusCode::kOk);
  EXPECT_EQ(ParseStatus(MakeFile("[]")).code(), StatusCode::kCorrupt);
}

TEST(SafetensorsReaderTest, CollectModeListsEveryBadTensorAndKeepsTheGoodOnes) {
  const std::string header = "{\"bad1\": " + Entry("Q4", "[4]", 0, 16) + ", \"good\": " + Entry("F32", "[4]", 16, 32) +
                             ", \"bad2\": " + Entry("F32", "[5]", 32, 48) + "}";
  const std::vector<uint8_t> bytes = MakeFile(header, 48);
  SafetensorsParseOptions collect;
  collect.collect_problems = true;
  auto f = SafetensorsFile::Parse(bytes, "x.safetensors", collect);
  ASSERT_TRUE(f.ok());
  ASSERT_EQ((*f)->problems().size(), 2u);  // no extra "hole" lines where the bad tensors were
  EXPECT_EQ((*f)->problems()[0], "x.safetensors: tensor 'bad1': unknown dtype 'Q4'");
  EXPECT_NE((*f)->problems()[1].find("tensor 'bad2'"), std::string::npos);
  ASSERT_EQ((*f)->tensors().size(), 1u);
  EXPECT_EQ((*f)->tensors()[0].name, "good");
  EXPECT_FALSE(SafetensorsFile::Parse(bytes, "x.safetensors").ok());
}

TEST(SafetensorsReaderTest, IndexNamesPlainShardFiles) {
  auto ok = ParseSafetensorsIndex(R"({"metadata": {"total_size": 8}, "weight_map": {"a": "m-1.safetensors", "b": "m-2.safetensors"}})");
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(ok->at("b"), "m-2.safetensors");
  for (const char* bad : {"../m.safetensors", "sub/m.safetensors", "..", ".", "", "a\\\\b", "/etc/passwd"}) {
    auto r = ParseSafetensorsIndex(fmt::format(R"({{"weight_map": {{"a": "{}"}}}})", bad));
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find("not a plain file name"), std::string::npos) << r.status().message();
  }
  EXPECT_FALSE(ParseSafetensorsIndex(R"({"weight_map": {"a": 1}})").ok());
  EXPECT_FALSE(ParseSafetensorsIndex(R"({"weight_map": []})").ok());
  EXPECT_FALSE(ParseSafetensorsIndex(R"([])").ok());
  EXPECT_FALSE(ParseSafetensorsIndex(R"({"weight_map": {"a": "x", "a": "y"}})").ok());
}

// A scratch directory removed at the end of the test.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& name)
      : path_(std::filesystem::temp_directory_path() / fmt::format("enclave_st_{}_{}", name, ::getpid())) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() { std::filesystem::remove_all(path_); }
  void Write(const std::string& name, const std::vector<uint8_t>& bytes) const {
    std::ofstream(path_ / name, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

TEST(SafetensorsReaderTest, DirectoryWithoutIndexReadsEveryFileAndRejectsDuplicates) {
  ScratchDir dir("noindex");
  dir.Write("a.safetensors", MakeFile("{\"x\": " + Entry("U8", "[2]", 0, 2) + "}", 2));
  dir.Write("b.safetensors", MakeFile("{\"y\": " + Entry("U8", "[1]", 0, 1) + "}", 1));
  dir.Write("notes.txt", {1, 2, 3});
  auto model = SafetensorsModel::OpenDirectory(dir.path());
  ASSERT_TRUE(model.ok()) << model.status().message();
  EXPECT_FALSE((*model)->sharded());
  EXPECT_EQ((*model)->tensor_count(), 2u);
  EXPECT_EQ((*model)->Find("y")->file->label(), "b.safetensors");

  dir.Write("c.safetensors", MakeFile("{\"x\": " + Entry("U8", "[1]", 0, 1) + "}", 1));
  auto dup = SafetensorsModel::OpenDirectory(dir.path());
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.status().message(), "tensor 'x' appears in both a.safetensors and c.safetensors");

  EXPECT_EQ(SafetensorsModel::OpenDirectory(dir.path() + "/missing").status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace enclave
