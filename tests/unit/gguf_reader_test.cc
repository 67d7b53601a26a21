// GGUF reader: versions, typed metadata access, zero-copy views, the limits, strict vs collecting
// validation, the malformed corpus (scripts/ref/make_gguf_malformed.py) and every truncation of a
// valid file. Files built here come from GgufWriter and are patched byte by byte where a test needs
// something the writer refuses to produce.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "format/gguf_reader.h"
#include "format/gguf_writer.h"
#include "format/inspect.h"
#include "test_util.h"

namespace enclave {
namespace {

using testing::SourcePath;

std::vector<uint8_t> ReadBytes(const std::string& path) {
  const std::string text = testing::ReadTextFile(path);
  return std::vector<uint8_t>(text.begin(), text.end());
}

std::unique_ptr<GgufFile> MustParse(const std::vector<uint8_t>& bytes, GgufParseOptions options = {}) {
  auto parsed = GgufFile::Parse(bytes, options);
  EXPECT_TRUE(parsed.ok()) << parsed.status().message();
  return parsed.ok() ? std::move(parsed).value() : nullptr;
}

// Offset of the first occurrence of `needle` in `bytes` (the test files are tiny and unambiguous).
size_t Find(const std::vector<uint8_t>& bytes, std::string_view needle) {
  auto it = std::search(bytes.begin(), bytes.end(), needle.begin(), needle.end());
  EXPECT_NE(it, bytes.end()) << needle;
  return static_cast<size_t>(it - bytes.begin());
}

// Offset of the u32 type id in the tensor info of `name` (name, n_dims, dims, *type*, offset).
size_t TensorTypeAt(const std::vector<uint8_t>& bytes, const std::string& name, uint32_t n_dims) {
  return Find(bytes, name) + name.size() + 4 + 8 * n_dims;
}

TEST(GgufReaderTest, ReadsVersion2AndVersion3) {
  for (const char* name : {"minimal_valid.gguf", "minimal_v2.gguf"}) {
    auto file = GgufFile::Open(SourcePath(std::string("tests/fixtures/gguf/") + name));
    ASSERT_TRUE(file.ok()) << name << ": " << file.status().message();
    EXPECT_EQ((*file)->tensors().size(), 2u);
    EXPECT_EQ(*(*file)->GetU32("x.count"), 7u);
    float v[8];
    std::memcpy(v, (*file)->FindTensor("b.weight")->data.data(), sizeof v);
    EXPECT_EQ(v[7], 15.0f);  // the generator writes 8..15 into b.weight
  }
  EXPECT_EQ((*GgufFile::Open(SourcePath("tests/fixtures/gguf/minimal_v2.gguf")))->version(), 2u);
  EXPECT_EQ((*GgufFile::Open(SourcePath("tests/fixtures/gguf/minimal_valid.gguf")))->version(), 3u);
}

TEST(GgufReaderTest, TensorViewsPointIntoTheBufferWithoutCopying) {
  const auto bytes = ReadBytes(SourcePath("tests/fixtures/gguf/all_types.gguf"));
  auto f = MustParse(bytes);
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(f->tensors().size(), 13u);
  for (const auto& t : f->tensors()) {
    EXPECT_EQ(t.data.data(), bytes.data() + t.file_offset) << t.name;
    EXPECT_EQ(t.data.size(), t.n_bytes) << t.name;
    EXPECT_EQ(t.file_offset, f->data_offset() + t.relative_offset) << t.name;
    EXPECT_EQ(t.file_offset % f->alignment(), 0u) << t.name;
  }
  const GgufTensorInfo* q6k = f->FindTensor("t.Q6_K");
  ASSERT_NE(q6k, nullptr);
  EXPECT_EQ(q6k->type, DType::kQ6_K);
  EXPECT_EQ(q6k->dims, (std::vector<uint64_t>{512, 3}));
  EXPECT_EQ(q6k->n_elements, 512u * 3);
  EXPECT_EQ(q6k->n_bytes, 3u * 2 * 210);
  EXPECT_EQ(f->FindTensor("no.such.tensor"), nullptr);
}

TEST(GgufReaderTest, MetadataIsKeptInFileOrder) {
  auto f = GgufFile::Open(SourcePath("tests/fixtures/gguf/all_types.gguf"));
  ASSERT_TRUE(f.ok());
  std::vector<std::string> keys;
  for (const auto& kv : (*f)->metadata()) keys.push_back(kv.key);
  ASSERT_GE(keys.size(), 4u);
  // As the generator adds them: the architecture first (GGUFWriter's constructor), then test.u8 ...
  EXPECT_EQ(keys[0], "general.architecture");
  EXPECT_EQ(keys[1], "test.u8");
  EXPECT_EQ(keys[2], "test.i8");
  EXPECT_EQ(keys.back(), "tokenizer.chat_template");
}

TEST(GgufReaderTest, TypedGettersConvertOrNameKeyAndTypes) {
  auto file = GgufFile::Open(SourcePath("tests/fixtures/gguf/all_types.gguf"));
  ASSERT_TRUE(file.ok()) << file.status().message();
  const GgufFile& f = **file;
  EXPECT_EQ(*f.GetString("general.architecture"), "llama");
  EXPECT_EQ(*f.Get<std::string_view>("test.string"), "DeepSeek 深度求索 ✓");
  EXPECT_EQ(*f.GetU32("test.u32"), 4000000000u);
  EXPECT_EQ(*f.GetU64("test.u64"), 18000000000000000000ull);
  EXPECT_EQ(*f.GetI64("test.i64"), -9000000000000000000LL);
  EXPECT_EQ(*f.GetI32("test.i16"), -30000);  // widening is always fine
  EXPECT_EQ(*f.Get<uint8_t>("test.u8"), 200);
  EXPECT_EQ(*f.GetF32("test.f32"), 0.125f);
  EXPECT_EQ(*f.GetF64("test.f64"), 3.141592653589793);
  EXPECT_EQ(*f.GetF32("test.u16"), 60000.0f);  // integers convert to floats
  EXPECT_TRUE(*f.GetBool("test.bool"));
  EXPECT_EQ(f.GetStringArray("test.array_str")->at(2), "<｜User｜>");
  EXPECT_EQ(*f.GetArrayOf<int32_t>("test.array_i32"), (std::vector<int32_t>{1, -2, 3}));
  EXPECT_EQ(*f.GetArrayOf<int64_t>("test.array_i32"), (std::vector<int64_t>{1, -2, 3}));
  EXPECT_EQ(f.GetArrayOf<std::string_view>("test.array_str")->size(), 3u);
  auto nested = f.GetArray("test.array_nested");
  ASSERT_TRUE(nested.ok());
  ASSERT_EQ(nested->size(), 2u);
  EXPECT_EQ((*nested)[1].array[2].i, 5);

  // Values that do not fit, with the key and the value in the message.
  auto neg = f.GetU64("test.i8");
  EXPECT_EQ(neg.status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(neg.status().message(), "metadata 'test.i8' is -100, which does not fit u64");
  EXPECT_EQ(f.GetI32("test.u32").status().message(), "metadata 'test.u32' is 4000000000, which does not fit i32");
  EXPECT_EQ(f.Get<int8_t>("test.u8").status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(f.GetUint("test.i8").status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(f.GetArrayOf<uint32_t>("test.array_i32").status().message(),
            "metadata 'test.array_i32[1]' is -2, which does not fit u32");
  // Wrong types: expected and found.
  EXPECT_EQ(f.GetString("test.u8").status().message(), "metadata 'test.u8' has type u8, expected string");
  EXPECT_EQ(f.GetU32("test.string").status().message(), "metadata 'test.string' has type string, expected u32");
  EXPECT_EQ(f.GetBool("test.u8").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(f.GetU32("test.f32").status().message(), "metadata 'test.f32' has type f32, expected u32");
  EXPECT_EQ(f.GetStringArray("test.array_i32").status().message(),
            "metadata 'test.array_i32' has type array of i32, expected array of string");
  EXPECT_EQ(f.GetArrayOf<int32_t>("test.u8").status().message(),
            "metadata 'test.u8' has type u8, expected array of i32");
  EXPECT_EQ(f.GetArray("test.string").status().message(), "metadata 'test.string' has type string, expected array");
  // Missing keys; GetOr falls back only when the key is absent.
  EXPECT_EQ(f.GetU32("no.such.key").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(f.GetU32("no.such.key").status().message(), "metadata 'no.such.key' is missing");
  EXPECT_EQ(*f.GetOr<uint32_t>("no.such.key", 7), 7u);
  EXPECT_EQ(*f.GetOr<uint32_t>("test.u16", 7), 60000u);
  EXPECT_EQ(f.GetOr<uint32_t>("test.string", 7).status().code(), StatusCode::kInvalidArgument);
}

TEST(GgufReaderTest, FloatGetterRejectsF64BeyondFloat) {
  GgufWriter w;
  w.SetValue("big", GgufValue::F64(1e300));
  w.SetValue("inf", GgufValue::F64(std::numeric_limits<double>::infinity()));
  auto f = MustParse(*w.Serialize());
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->GetF32("big").status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(*f->GetF64("big"), 1e300);
  EXPECT_TRUE(std::isinf(*f->GetF32("inf")));
}

TEST(GgufReaderTest, AlignmentIsAnyPowerOfTwoLikeLlamaCpp) {
  for (uint32_t alignment : {1u, 4u, 8u, 64u, 4096u}) {
    GgufWriter w(alignment);
    std::vector<uint8_t> data(4 * 3);
    ASSERT_TRUE(w.AddTensor("a", DType::kF32, {3}, data).ok());
    ASSERT_TRUE(w.AddTensor("b", DType::kF32, {3}, data).ok());
    auto f = MustParse(*w.Serialize());
    ASSERT_NE(f, nullptr) << alignment;
    EXPECT_EQ(f->alignment(), alignment);
    EXPECT_EQ(f->FindTensor("b")->relative_offset, (12 + alignment - 1) / alignment * alignment);
  }
}

TEST(GgufReaderTest, TensorNamesUpTo64Bytes) {
  std::vector<uint8_t> data(4);
  GgufWriter w;
  const std::string name64(64, 'n');
  ASSERT_TRUE(w.AddTensor(name64, DType::kF32, {1}, data).ok());
  EXPECT_FALSE(w.AddTensor(name64 + "x", DType::kF32, {1}, data).ok());
  auto bytes = *w.Serialize();
  ASSERT_NE(MustParse(bytes), nullptr);
  // Lengthen the stored name by one byte (its length field is the 8 bytes before it).
  const size_t at = Find(bytes, name64);
  bytes[at - 8] = 65;
  bytes.insert(bytes.begin() + static_cast<std::ptrdiff_t>(at), 'n');
  auto parsed = GgufFile::Parse(bytes);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().message(), "tensor #0 has a name of 65 bytes, above the limit of 64 bytes");
}

TEST(GgufReaderTest, BigEndianAndUnknownVersionsAreNamed) {
  for (const auto& [name, message] : std::vector<std::pair<std::string, std::string>>{
           {"version_1.gguf", "unsupported GGUF version 1: it predates 64-bit counts; convert the model again "
                              "with a current converter"},
           {"version_99.gguf", "unsupported GGUF version 99 (Enclave reads versions 2 and 3)"},
           {"big_endian.gguf", "big-endian GGUF (version 3) is not supported: Enclave reads little-endian files only"},
       }) {
    auto parsed = GgufFile::Parse(ReadBytes(SourcePath("tests/fixtures/gguf/malformed/" + name)));
    ASSERT_FALSE(parsed.ok()) << name;
    EXPECT_EQ(parsed.status().code(), StatusCode::kUnsupported) << name;
    EXPECT_EQ(parsed.status().message(), message);
  }
}

TEST(GgufReaderTest, OpenErrorsNameThePath) {
  const std::string path = SourcePath("tests/fixtures/gguf/malformed/wrong_magic.gguf");
  auto f = GgufFile::Open(path);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().message(), path + ": not a GGUF file: the magic (first 4 bytes) is 47 47 55 58, expected 'GGUF' (47 47 55 46)");
  EXPECT_FALSE(GgufFile::Open(SourcePath("tests/fixtures/gguf/no_such_file.gguf")).ok());
}

TEST(GgufReaderTest, MalformedCorpusGivesCleanErrors) {
  const std::string dir = SourcePath("tests/fixtures/gguf/malformed/");
  int n = 0;
  for (const auto& [name, word] : testing::ReadExpectedErrors(dir + "EXPECTED.tsv")) {
    SCOPED_TRACE(name);
    const auto bytes = ReadBytes(dir + name);  // an exact-size heap copy: ASan sees any overread
    std::string message;
    auto strict = GgufFile::Parse(bytes);
    if (!strict.ok()) {
      message = strict.status().message();
      EXPECT_NE(strict.status().code(), StatusCode::kOk);
    } else {
      // Only the architecture check lives above the reader (in the inspector).
      auto report = InspectGgufFile(dir + name);
      ASSERT_TRUE(report.ok());
      ASSERT_FALSE(report->problems.empty()) << name << " was accepted";
      message = report->problems.front();
    }
    EXPECT_NE(message.find(word), std::string::npos) << "'" << message << "' lacks '" << word << "'";
    EXPECT_EQ(message.find('\n'), std::string::npos);
    ++n;
    // Collecting mode: the same structural error, or problems; never a silent success.
    GgufParseOptions collect;
    collect.collect_problems = true;
    auto collected = GgufFile::Parse(bytes, collect);
    if (strict.ok()) continue;  // valid for the reader: the architecture case above
    if (collected.ok()) {
      EXPECT_FALSE((*collected)->problems().empty());
    }
  }
  EXPECT_EQ(n, 50);
}

TEST(GgufReaderTest, CollectingModeReportsEveryBadTensor) {
  const auto bytes = ReadBytes(SourcePath("tests/fixtures/gguf/malformed/several_bad_tensors.gguf"));
  GgufParseOptions collect;
  collect.collect_problems = true;
  auto f = MustParse(bytes, collect);
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(f->problems().size(), 3u);
  EXPECT_EQ(f->problems()[0], "tensor 'a.weight' has type IQ2_XXS (16), which Enclave cannot load");
  EXPECT_EQ(f->problems()[1], "tensor 'b.weight': data offset 40 is not a multiple of the alignment 32");
  EXPECT_EQ(f->problems()[2], "tensor 'c.weight' has a zero dimension (0); every dimension must be at least 1");
  // All three are still listed, without data.
  ASSERT_EQ(f->tensors().size(), 3u);
  for (const auto& t : f->tensors()) EXPECT_TRUE(t.data.empty()) << t.name;
  EXPECT_EQ(f->tensors()[0].n_elements, 8u);  // counted even though the type is unknown
  // Strict mode stops at the first.
  auto strict = GgufFile::Parse(bytes);
  ASSERT_FALSE(strict.ok());
  EXPECT_EQ(strict.status().message(), f->problems()[0]);
}

TEST(GgufReaderTest, DuplicateKeysAndNamesAreProblemsNotCrashes) {
  GgufWriter w;
  w.SetValue("k1", GgufValue::U8(1));
  w.SetValue("k2", GgufValue::U8(2));
  std::vector<uint8_t> data(16);
  ASSERT_TRUE(w.AddTensor("t1", DType::kF32, {4}, data).ok());
  ASSERT_TRUE(w.AddTensor("t2", DType::kF32, {4}, data).ok());
  auto bytes = *w.Serialize();
  bytes[Find(bytes, "k2") + 1] = '1';
  bytes[Find(bytes, "t2") + 1] = '1';
  GgufParseOptions collect;
  collect.collect_problems = true;
  auto f = MustParse(bytes, collect);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->problems(), (std::vector<std::string>{"metadata key 'k1' appears more than once",
                                                     "tensor 't1' appears more than once"}));
  EXPECT_EQ(f->metadata().size(), 1u);
  EXPECT_EQ(f->Find("k1")->u, 1u);  // the first one wins
  EXPECT_EQ(f->FindTensor("t1")->relative_offset, 0u);
}

TEST(GgufReaderTest, OverlapsAreFoundWhateverTheTensorOrder) {
  GgufWriter w;
  std::vector<uint8_t> data(64);
  ASSERT_TRUE(w.AddTensor("first", DType::kF32, {16}, data).ok());
  ASSERT_TRUE(w.AddTensor("second", DType::kF32, {16}, data).ok());
  auto bytes = *w.Serialize();
  // Point "first" at "second"'s data (offset 64): same range, reported once, naming both.
  bytes[TensorTypeAt(bytes, "first", 1) + 4] = 64;
  auto parsed = GgufFile::Parse(bytes);
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("overlap"), std::string::npos) << parsed.status().message();
  EXPECT_NE(parsed.status().message().find("'first'"), std::string::npos);
  EXPECT_NE(parsed.status().message().find("'second'"), std::string::npos);
}

TEST(GgufReaderTest, EmptyModelIsValid) {
  GgufWriter w;
  w.SetValue("general.architecture", GgufValue::String("llama"));
  auto f = MustParse(*w.Serialize());
  ASSERT_NE(f, nullptr);
  EXPECT_TRUE(f->tensors().empty());
  EXPECT_EQ(f->metadata().size(), 1u);
}

TEST(GgufReaderTest, EveryTruncationOfAValidFileFailsCleanly) {
  const auto bytes = ReadBytes(SourcePath("tests/fixtures/gguf/extra_types.gguf"));
  auto full = MustParse(bytes);
  ASSERT_NE(full, nullptr);
  size_t data_end = 0;  // trailing padding after the last tensor may go
  for (const auto& t : full->tensors()) data_end = std::max<size_t>(data_end, t.file_offset + t.n_bytes);
  GgufParseOptions collect;
  collect.collect_problems = true;
  for (size_t len = 0; len < data_end; ++len) {
    std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(len));
    auto strict = GgufFile::Parse(cut);
    ASSERT_FALSE(strict.ok()) << "truncated at " << len << " was accepted";
    ASSERT_EQ(strict.status().message().find('\n'), std::string::npos);
    auto collected = GgufFile::Parse(cut, collect);  // never accepted without a problem either
    if (collected.ok()) {
      ASSERT_FALSE((*collected)->problems().empty()) << len;
    }
  }
}

TEST(GgufReaderTest, LyingCountsDoNotAllocate) {
  // 2^50 u32 elements claimed by a 256-byte file: refused before anything is reserved (the
  // message proves that check fired, not an allocation failure).
  auto bytes = ReadBytes(SourcePath("tests/fixtures/gguf/malformed/lying_array_length.gguf"));
  auto parsed = GgufFile::Parse(bytes);
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("array claims 1125899906842624 elements of type u32"), std::string::npos)
      << parsed.status().message();
}

}  // namespace
}  // namespace enclave
