// GGUF reader/writer tests: against files and expectations produced by the `gguf` Python package
// (scripts/ref/make_gguf_fixtures.py), the malformed corpus (scripts/ref/make_gguf_malformed.py),
// and write -> read -> write round trips.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "format/gguf_reader.h"
#include "format/gguf_writer.h"
#include "format/inspect.h"
#include "test_util.h"

namespace enclave {
namespace {

using nlohmann::json;
using testing::SourcePath;

const char kRegen[] = " (regenerate with: .venv/bin/python scripts/ref/make_gguf_fixtures.py)";

json Flatten(const json& v) {
  if (!v.is_array()) return v;
  json out = json::array();
  for (const auto& e : v) {
    json f = Flatten(e);
    if (f.is_array()) {
      for (const auto& x : f) out.push_back(x);
    } else {
      out.push_back(f);
    }
  }
  return out;
}

void ExpectJsonValueEq(const std::string& key, const json& ours, const json& expected) {
  if (expected.is_number_float() || ours.is_number_float()) {
    const double a = ours.get<double>(), b = expected.get<double>();
    EXPECT_NEAR(a, b, std::abs(b) * 1e-7) << key;
  } else if (expected.is_array()) {
    // gguf 0.19's ReaderField.contents() flattens nested arrays; compare flattened.
    const json a = Flatten(ours), b = Flatten(expected);
    ASSERT_EQ(a.size(), b.size()) << key;
    for (size_t i = 0; i < a.size(); ++i) ExpectJsonValueEq(key + "[" + std::to_string(i) + "]", a[i], b[i]);
  } else {
    EXPECT_EQ(ours, expected) << key;
  }
}

TEST(GgufTest, MatchesPythonGgufReaderOnEveryTypeAndValueType) {
  const json expected = json::parse(testing::ReadTextFile(SourcePath("tests/fixtures/gguf/all_types.expected.json")));
  auto report = InspectGgufFile(SourcePath("tests/fixtures/gguf/all_types.gguf"));
  ASSERT_TRUE(report.ok()) << report.status().message() << kRegen;
  EXPECT_TRUE(report->problems.empty());
  EXPECT_EQ(report->architecture, "llama");
  const json ours = json::parse(report->metadata.dump());
  for (auto it = expected["metadata"].begin(); it != expected["metadata"].end(); ++it) {
    ASSERT_TRUE(ours.contains(it.key())) << it.key() << kRegen;
    ExpectJsonValueEq(it.key(), ours[it.key()], it.value());
  }
  const auto& tensors = expected["tensors"];
  ASSERT_EQ(report->tensors.size(), tensors.size()) << kRegen;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& t = report->tensors[i];
    EXPECT_EQ(t.name, tensors[i]["name"]);
    EXPECT_EQ(t.type, tensors[i]["type"]) << t.name;
    EXPECT_EQ(json(t.shape), tensors[i]["shape"]) << t.name;
    EXPECT_EQ(t.bytes, tensors[i]["bytes"].get<uint64_t>()) << t.name;
    EXPECT_EQ(t.offset, tensors[i]["offset"].get<uint64_t>()) << t.name;
  }
}

TEST(GgufTest, CliJsonHasTheContractFields) {
  auto r = testing::RunCli("inspect --json " + SourcePath("tests/fixtures/gguf/all_types.gguf"));
  ASSERT_EQ(r.exit_code, 0);
  const json j = json::parse(r.out);
  ASSERT_TRUE(j["tensors"].is_array());
  EXPECT_EQ(j["tensors"][10]["name"], "t.Q4_K");
  EXPECT_EQ(j["tensors"][10]["type"], "Q4_K");
  EXPECT_EQ(j["tensors"][10]["shape"], json({512, 3}));
  EXPECT_EQ(j["metadata"]["general.architecture"], "llama");
  // Long arrays are summarised, short ones kept.
  EXPECT_EQ(j["metadata"]["test.array_long"]["length"], 100);
  EXPECT_EQ(j["metadata"]["test.array_i32"], json({1, -2, 3}));
}

TEST(GgufTest, ReadsVersion2AndVersion3) {
  for (const char* name : {"minimal_valid.gguf", "minimal_v2.gguf"}) {
    auto file = GgufFile::Open(SourcePath(std::string("tests/fixtures/gguf/") + name));
    ASSERT_TRUE(file.ok()) << name << ": " << file.status().message();
    EXPECT_EQ((*file)->tensors().size(), 2u);
    float v[8];
    std::memcpy(v, (*file)->FindTensor("b.weight")->data.data(), sizeof v);
    EXPECT_EQ(v[7], 15.0f);
  }
  EXPECT_EQ((*GgufFile::Open(SourcePath("tests/fixtures/gguf/minimal_v2.gguf")))->version(), 2u);
}

TEST(GgufTest, TypedGetters) {
  auto file = GgufFile::Open(SourcePath("tests/fixtures/gguf/all_types.gguf"));
  ASSERT_TRUE(file.ok()) << file.status().message();
  const GgufFile& f = **file;
  EXPECT_EQ(*f.GetString("general.architecture"), "llama");
  EXPECT_EQ(*f.GetUint("test.u32"), 4000000000u);
  EXPECT_EQ(*f.GetInt("test.i64"), -9000000000000000000LL);
  EXPECT_EQ(*f.GetFloat("test.f32"), 0.125);
  EXPECT_TRUE(*f.GetBool("test.bool"));
  EXPECT_EQ(f.GetStringArray("test.array_str")->at(2), "<｜User｜>");
  EXPECT_EQ(f.GetUint("test.i8").status().code(), StatusCode::kOutOfRange);
  auto wrong = f.GetString("test.u8");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().message(), "metadata 'test.u8' has type u8, expected string");
  EXPECT_EQ(f.GetUint("no.such.key").status().code(), StatusCode::kNotFound);
  const GgufTensorInfo* t = f.FindTensor("t.Q6_K");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->type, DType::kQ6_K);
  EXPECT_EQ(t->data.size(), 3u * 2 * 210);
}

TEST(GgufTest, MalformedCorpusGivesCleanErrors) {
  const std::string dir = SourcePath("tests/fixtures/gguf/malformed/");
  int n = 0;
  for (const auto& [name, word] : testing::ReadExpectedErrors(dir + "EXPECTED.tsv")) {
    std::string message;
    auto file = GgufFile::Open(dir + name);
    if (!file.ok()) {
      message = file.status().message();
    } else {
      // Only the architecture check lives above the reader (in the inspector).
      auto report = InspectGgufFile(dir + name);
      ASSERT_TRUE(report.ok());
      ASSERT_FALSE(report->problems.empty()) << name << " was accepted";
      message = report->problems.front();
    }
    EXPECT_NE(message.find(word), std::string::npos) << name << ": '" << message << "' lacks '" << word << "'";
    EXPECT_EQ(message.find('\n'), std::string::npos) << name;
    ++n;
  }
  EXPECT_GE(n, 35);
}

TEST(GgufTest, CollectsEveryTensorProblem) {
  GgufParseOptions collect;
  collect.collect_problems = true;
  // Two bad tensors in one file: both are reported.
  GgufWriter w;
  w.SetValue("general.architecture", GgufValue::String("llama"));
  std::vector<uint8_t> bytes(64);
  ASSERT_TRUE(w.AddTensor("a", DType::kF32, {16}, bytes).ok());
  auto serialized = w.Serialize();
  ASSERT_TRUE(serialized.ok());
  std::vector<uint8_t> file = *serialized;
  // Patch the type id of tensor "a" to IQ2_XXS (16) and duplicate the problem with a truncation.
  const char needle[] = {1, 0, 0, 0, 0, 0, 0, 0, 'a'};
  auto it = std::search(file.begin(), file.end(), needle, needle + sizeof needle);
  ASSERT_NE(it, file.end());
  const size_t type_at = (it - file.begin()) + sizeof needle + 4 + 8;
  file[type_at] = 16;
  file.resize(file.size() - 8);
  auto parsed = GgufFile::Parse(file, collect);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ((*parsed)->problems().size(), 1u);
  EXPECT_FALSE(GgufFile::Parse(file).ok());
}

GgufFile* Reparse(const std::vector<uint8_t>& bytes, std::unique_ptr<GgufFile>* holder) {
  auto parsed = GgufFile::Parse(bytes);
  EXPECT_TRUE(parsed.ok()) << parsed.status().message();
  if (!parsed.ok()) return nullptr;
  *holder = std::move(parsed).value();
  return holder->get();
}

TEST(GgufTest, WriterRoundTripsEveryValueTypeAndIsByteStable) {
  for (uint32_t alignment : {32u, 64u, 8u}) {
    GgufWriter w(alignment);
    w.SetValue("general.architecture", GgufValue::String("qwen2"));
    w.SetValue("a.u8", GgufValue::U8(255));
    w.SetValue("a.i8", GgufValue::I8(-128));
    w.SetValue("a.u16", GgufValue::U16(65535));
    w.SetValue("a.i16", GgufValue::I16(-32768));
    w.SetValue("a.u32", GgufValue::U32(0xFFFFFFFFu));
    w.SetValue("a.i32", GgufValue::I32(-5));
    w.SetValue("a.u64", GgufValue::U64(~0ull));
    w.SetValue("a.i64", GgufValue::I64(INT64_MIN));
    w.SetValue("a.f32", GgufValue::F32(1e-6f));
    w.SetValue("a.f64", GgufValue::F64(-2.5e300));
    w.SetValue("a.bool", GgufValue::Bool(false));
    w.SetValue("a.str", GgufValue::String(std::string("nul\0inside", 10)));
    w.SetValue("a.strs", GgufValue::StringArray({"x", "", "深度"}));
    w.SetValue("a.nested", GgufValue::Array(GgufValueType::kArray,
                                            {GgufValue::Array(GgufValueType::kI32, {GgufValue::I32(1)}),
                                             GgufValue::Array(GgufValueType::kI32, {})}));
    std::vector<uint8_t> q4k(2 * 144), f32(4 * 3 * 4);
    for (size_t i = 0; i < q4k.size(); ++i) q4k[i] = static_cast<uint8_t>(i * 7);
    for (size_t i = 0; i < f32.size(); ++i) f32[i] = static_cast<uint8_t>(i);
    ASSERT_TRUE(w.AddTensor("w.q4k", DType::kQ4_K, {512}, q4k).ok());
    ASSERT_TRUE(w.AddTensor("w.f32", DType::kF32, {4, 3}, f32).ok());
    EXPECT_FALSE(w.AddTensor("w.bad", DType::kQ4_K, {100}, q4k).ok());
    EXPECT_FALSE(w.AddTensor("w.f32", DType::kF32, {4, 3}, f32).ok());
    auto bytes = w.Serialize();
    ASSERT_TRUE(bytes.ok());

    std::unique_ptr<GgufFile> holder;
    GgufFile* f = Reparse(*bytes, &holder);
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->alignment(), alignment);
    EXPECT_EQ(f->Find("a.u8")->u, 255u);
    EXPECT_EQ(f->Find("a.i16")->i, -32768);
    EXPECT_EQ(f->Find("a.u64")->u, ~0ull);
    EXPECT_EQ(f->Find("a.i64")->i, INT64_MIN);
    EXPECT_EQ(static_cast<float>(f->Find("a.f32")->f), 1e-6f);
    EXPECT_EQ(f->Find("a.f64")->f, -2.5e300);
    EXPECT_EQ(f->Find("a.str")->str, std::string("nul\0inside", 10));
    EXPECT_EQ(f->Find("a.nested")->array[0].array[0].i, 1);
    EXPECT_TRUE(f->Find("a.nested")->array[1].array.empty());
    const GgufTensorInfo* t = f->FindTensor("w.q4k");
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->file_offset % alignment, 0u);
    EXPECT_EQ(0, std::memcmp(t->data.data(), q4k.data(), q4k.size()));
    EXPECT_EQ(f->FindTensor("w.f32")->dims, (std::vector<uint64_t>{4, 3}));

    // write(read(file)) reproduces the file byte for byte.
    GgufWriter again(alignment);
    for (const auto& kv : f->metadata()) {
      if (kv.key != "general.alignment") again.SetValue(kv.key, kv.value);
    }
    for (const auto& ti : f->tensors()) ASSERT_TRUE(again.AddTensor(ti.name, ti.type, ti.dims, ti.data).ok());
    auto bytes2 = again.Serialize();
    ASSERT_TRUE(bytes2.ok());
    EXPECT_EQ(*bytes, *bytes2);
  }
}

TEST(GgufTest, EveryTruncationOfAValidFileFailsCleanly) {
  const std::string text = testing::ReadTextFile(SourcePath("tests/fixtures/gguf/all_types.gguf"));
  const std::vector<uint8_t> bytes(text.begin(), text.end());
  auto full = GgufFile::Parse(bytes);
  ASSERT_TRUE(full.ok());
  size_t data_end = 0;  // trailing padding after the last tensor may go
  for (const auto& t : (*full)->tensors()) data_end = std::max<size_t>(data_end, t.file_offset + t.n_bytes);
  for (size_t len = 0; len < data_end; ++len) {
    std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + len);  // own buffer: ASan sees overreads
    auto parsed = GgufFile::Parse(cut);
    // The data of the last tensors is needed, so every strict truncation fails.
    ASSERT_FALSE(parsed.ok()) << "truncated at " << len << " was accepted";
  }
}

}  // namespace
}  // namespace enclave
