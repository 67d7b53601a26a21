// GGUF writer: write -> read gives back every value and byte; write(read(f)) == f; the builder
// refuses what the reader would reject; and its output is read by the `gguf` Python package
// (tests/fixtures/gguf/enclave_written.gguf, checked by gguf_inspect_test against what
// GGUFReader read from it).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

#include "format/gguf_reader.h"
#include "format/gguf_writer.h"
#include "test_util.h"

namespace enclave {
namespace {

using testing::SourcePath;

std::vector<uint8_t> Pattern(size_t n, uint8_t mul) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(i * mul + 1);
  return v;
}

// Metadata of every value type and a few tensors; the same content makes enclave_written.gguf.
void FillReference(GgufWriter& w) {
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
  w.SetValue("a.str", GgufValue::String("深度求索 <｜User｜>"));
  w.SetValue("a.str_empty", GgufValue::String(""));
  w.SetValue("a.strs", GgufValue::StringArray({"x", "", "深度"}));
  w.SetValue("a.f32s", GgufValue::Array(GgufValueType::kF32, {GgufValue::F32(0.5f), GgufValue::F32(-3.0f)}));
  w.SetValue("a.bools", GgufValue::Array(GgufValueType::kBool, {GgufValue::Bool(true), GgufValue::Bool(false)}));
  w.SetValue("a.nested", GgufValue::Array(GgufValueType::kArray,
                                          {GgufValue::Array(GgufValueType::kI32, {GgufValue::I32(1), GgufValue::I32(-1)}),
                                           GgufValue::Array(GgufValueType::kI32, {GgufValue::I32(7)})}));
  w.SetValue("a.u8s_empty", GgufValue::Array(GgufValueType::kU8, {}));
  ASSERT_TRUE(w.AddTensor("w.f32", DType::kF32, {4, 3}, Pattern(4 * 3 * 4, 3)).ok());
  ASSERT_TRUE(w.AddTensor("w.q4_k", DType::kQ4_K, {256, 2}, Pattern(2 * 144, 7)).ok());
  ASSERT_TRUE(w.AddTensor("w.q8_0", DType::kQ8_0, {64}, Pattern(2 * 34, 5)).ok());
  ASSERT_TRUE(w.AddTensor("w.f16", DType::kF16, {8, 1, 2}, Pattern(8 * 2 * 2, 11)).ok());
}

TEST(GgufWriterTest, RoundTripsEveryValueTypeAndIsByteStable) {
  for (uint32_t alignment : {32u, 64u, 8u, 1u}) {
    SCOPED_TRACE(alignment);
    GgufWriter w(alignment);
    FillReference(w);
    w.SetValue("a.str", GgufValue::String(std::string("nul\0inside", 10)));  // replaces, keeps its place
    auto bytes = w.Serialize();
    ASSERT_TRUE(bytes.ok()) << bytes.status().message();

    auto parsed = GgufFile::Parse(*bytes);
    ASSERT_TRUE(parsed.ok()) << parsed.status().message();
    const GgufFile& f = **parsed;
    EXPECT_EQ(f.version(), 3u);
    EXPECT_EQ(f.alignment(), alignment);
    EXPECT_EQ(f.metadata()[12].key, "a.str");
    EXPECT_EQ(*f.GetU32("a.u32"), 0xFFFFFFFFu);
    EXPECT_EQ(f.Find("a.u8")->u, 255u);
    EXPECT_EQ(f.Find("a.i16")->i, -32768);
    EXPECT_EQ(*f.GetU64("a.u64"), ~0ull);
    EXPECT_EQ(*f.GetI64("a.i64"), INT64_MIN);
    EXPECT_EQ(*f.GetF32("a.f32"), 1e-6f);
    EXPECT_EQ(*f.GetF64("a.f64"), -2.5e300);
    EXPECT_FALSE(*f.GetBool("a.bool"));
    EXPECT_EQ(*f.GetString("a.str"), std::string("nul\0inside", 10));
    EXPECT_EQ(*f.GetStringArray("a.strs"), (std::vector<std::string>{"x", "", "深度"}));
    EXPECT_EQ(*f.GetArrayOf<float>("a.f32s"), (std::vector<float>{0.5f, -3.0f}));
    EXPECT_EQ(f.Find("a.nested")->array[0].array[1].i, -1);
    EXPECT_EQ(f.Find("a.nested")->array[1].array_type, GgufValueType::kI32);
    EXPECT_TRUE(f.GetArray("a.u8s_empty")->empty());
    EXPECT_EQ(f.Find("a.u8s_empty")->array_type, GgufValueType::kU8);
    ASSERT_EQ(f.tensors().size(), 4u);
    const GgufTensorInfo* t = f.FindTensor("w.q4_k");
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->file_offset % alignment, 0u);
    EXPECT_EQ(t->dims, (std::vector<uint64_t>{256, 2}));
    const auto q4k = Pattern(2 * 144, 7);
    ASSERT_EQ(t->data.size(), q4k.size());
    EXPECT_EQ(0, std::memcmp(t->data.data(), q4k.data(), q4k.size()));
    EXPECT_EQ(f.FindTensor("w.f16")->dims, (std::vector<uint64_t>{8, 1, 2}));

    // write(read(file)) reproduces the file byte for byte, general.alignment passed through.
    GgufWriter again(alignment);
    for (const auto& kv : f.metadata()) again.SetValue(kv.key, kv.value);
    for (const auto& ti : f.tensors()) ASSERT_TRUE(again.AddTensor(ti.name, ti.type, ti.dims, ti.data).ok());
    auto bytes2 = again.Serialize();
    ASSERT_TRUE(bytes2.ok()) << bytes2.status().message();
    EXPECT_EQ(*bytes, *bytes2);
  }
}

TEST(GgufWriterTest, OutputIsTheFileThePythonReaderChecked) {
  GgufWriter w(16);
  FillReference(w);
  auto bytes = w.Serialize();
  ASSERT_TRUE(bytes.ok()) << bytes.status().message();
  const std::string committed = testing::ReadTextFile(SourcePath("tests/fixtures/gguf/enclave_written.gguf"));
  const std::string ours(bytes->begin(), bytes->end());
  if (ours != committed) {
    const std::string out = ::testing::TempDir() + "enclave_written.gguf";
    ASSERT_TRUE(w.WriteFile(out).ok());
    FAIL() << "GgufWriter output differs from tests/fixtures/gguf/enclave_written.gguf. If the change is "
              "intended, copy " << out << " there and rerun .venv/bin/python scripts/ref/make_gguf_fixtures.py "
              "(the gguf package must still read it).";
  }
}

TEST(GgufWriterTest, WriteFileThenOpen) {
  GgufWriter w;
  FillReference(w);
  const std::string path = ::testing::TempDir() + "gguf_writer_test.gguf";
  ASSERT_TRUE(w.WriteFile(path).ok());
  auto f = GgufFile::Open(path);
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ((*f)->file_size(), w.Serialize()->size());
  EXPECT_EQ(*(*f)->GetString("general.architecture"), "qwen2");
  std::remove(path.c_str());
  EXPECT_EQ(w.WriteFile("/nonexistent-dir/x.gguf").code(), StatusCode::kIoError);
}

// Tensor data spilled to a temporary file (for files larger than memory) gives the same bytes as
// data kept in memory, and the temporary file is removed with the writer.
TEST(GgufWriterTest, SpilledDataWritesTheSameFile) {
  const std::string dir = ::testing::TempDir();
  const std::string spill = dir + "gguf_writer_spill.tmp";
  std::vector<uint8_t> expected;
  {
    GgufWriter w;
    ASSERT_TRUE(w.SpillTensorDataTo(spill).ok());
    FillReference(w);
    EXPECT_FALSE(w.Serialize().ok());  // the data is not in memory
    ASSERT_TRUE(w.WriteFile(dir + "spilled.gguf").ok());
    GgufWriter m;
    FillReference(m);
    expected = *m.Serialize();
  }
  std::ifstream in(dir + "spilled.gguf", std::ios::binary);
  const std::vector<uint8_t> got((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(got, expected);
  EXPECT_FALSE(std::ifstream(spill).good()) << "the spill file outlived the writer";
  std::remove((dir + "spilled.gguf").c_str());
  GgufWriter late;
  FillReference(late);
  EXPECT_FALSE(late.SpillTensorDataTo(spill).ok());  // must come before the first tensor
}

TEST(GgufWriterTest, RefusesWhatTheReaderWouldReject) {
  const auto data = Pattern(64, 1);
  GgufWriter w;
  EXPECT_FALSE(w.AddTensor("bad", DType::kQ4_K, {100}, data).ok());           // not a block multiple
  EXPECT_FALSE(w.AddTensor("bad", DType::kF32, {8}, data).ok());              // 32 bytes needed, 64 given
  EXPECT_FALSE(w.AddTensor("bad", DType::kF32, {16, 0}, {}).ok());            // zero dimension
  EXPECT_FALSE(w.AddTensor("bad", DType::kF32, {}, {}).ok());                 // no dimensions
  EXPECT_FALSE(w.AddTensor("bad", DType::kF32, {1, 1, 1, 1, 16}, data).ok()); // five
  EXPECT_FALSE(w.AddTensor("", DType::kF32, {16}, data).ok());
  EXPECT_FALSE(w.AddTensor("bad\xff", DType::kF32, {16}, data).ok());
  ASSERT_TRUE(w.AddTensor("ok", DType::kF32, {16}, data).ok());
  EXPECT_EQ(w.AddTensor("ok", DType::kF32, {16}, data).message(), "tensor 'ok' added twice");
  ASSERT_TRUE(w.Serialize().ok());

  const auto refused = [](GgufWriter& writer, const std::string& word) {
    auto r = writer.Serialize();
    ASSERT_FALSE(r.ok()) << word;
    EXPECT_NE(r.status().message().find(word), std::string::npos) << r.status().message();
  };
  {
    GgufWriter bad;
    bad.SetValue("k", GgufValue::Array(GgufValueType::kI32, {GgufValue::I32(1), GgufValue::U8(2)}));
    refused(bad, "array of i32 holds a u8 element");
  }
  {
    GgufValue v = GgufValue::Array(GgufValueType::kU8, {GgufValue::U8(1)});
    for (int depth = 0; depth < 4; ++depth) v = GgufValue::Array(GgufValueType::kArray, {v});
    GgufWriter bad;
    bad.SetValue("deep", v);
    refused(bad, "nested deeper than 4");
  }
  {
    GgufWriter bad;
    bad.SetValue("", GgufValue::U8(1));
    refused(bad, "must be 1 to");
  }
  {
    GgufWriter bad;
    bad.SetValue("bad\xc0\xafkey", GgufValue::U8(1));
    refused(bad, "UTF-8");
  }
  {
    GgufWriter bad(32);
    bad.SetValue("general.alignment", GgufValue::U32(64));
    refused(bad, "general.alignment");
  }
  {
    GgufWriter bad(24);
    refused(bad, "power of two");
  }
}

}  // namespace
}  // namespace enclave
