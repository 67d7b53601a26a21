#include "format/gguf_writer.h"

#include <fmt/format.h>

#include <cstdio>
#include <cstring>
#include <memory>

#include "base/checked_math.h"
#include "format/gguf_reader.h"
#include "format/utf8.h"

namespace enclave {
namespace {

class ByteSink {
 public:
  explicit ByteSink(std::vector<uint8_t>* out) : out_(out) {}
  template <typename T>
  void Put(T v) {
    const size_t at = out_->size();
    out_->resize(at + sizeof(T));
    std::memcpy(out_->data() + at, &v, sizeof(T));
  }
  void PutString(const std::string& s) {
    Put<uint64_t>(s.size());
    out_->insert(out_->end(), s.begin(), s.end());
  }
  void PadTo(uint64_t alignment) {
    while (out_->size() % alignment != 0) out_->push_back(0);
  }

 private:
  std::vector<uint8_t>* out_;
};

void PutValue(ByteSink& sink, const GgufValue& v) {
  switch (v.type) {
    case GgufValueType::kU8: sink.Put<uint8_t>(static_cast<uint8_t>(v.u)); break;
    case GgufValueType::kI8: sink.Put<int8_t>(static_cast<int8_t>(v.i)); break;
    case GgufValueType::kU16: sink.Put<uint16_t>(static_cast<uint16_t>(v.u)); break;
    case GgufValueType::kI16: sink.Put<int16_t>(static_cast<int16_t>(v.i)); break;
    case GgufValueType::kU32: sink.Put<uint32_t>(static_cast<uint32_t>(v.u)); break;
    case GgufValueType::kI32: sink.Put<int32_t>(static_cast<int32_t>(v.i)); break;
    case GgufValueType::kU64: sink.Put<uint64_t>(v.u); break;
    case GgufValueType::kI64: sink.Put<int64_t>(v.i); break;
    case GgufValueType::kF32: sink.Put<float>(static_cast<float>(v.f)); break;
    case GgufValueType::kF64: sink.Put<double>(v.f); break;
    case GgufValueType::kBool: sink.Put<uint8_t>(v.u ? 1 : 0); break;
    case GgufValueType::kString: sink.PutString(v.str); break;
    case GgufValueType::kArray:
      sink.Put<uint32_t>(static_cast<uint32_t>(v.array_type));
      sink.Put<uint64_t>(v.array.size());
      for (const auto& e : v.array) PutValue(sink, e);
      break;
  }
}

// The writer must never produce a file our reader rejects: check what the builder was given.
Status CheckValue(const std::string& key, const GgufValue& v, uint32_t depth) {
  if (v.type == GgufValueType::kString && v.str.size() > kGgufMaxStringBytes) {
    return InvalidArgumentError(fmt::format("metadata '{}': string of {} bytes is above the limit of {}",
                                            key, v.str.size(), kGgufMaxStringBytes));
  }
  if (v.type != GgufValueType::kArray) return Status::Ok();
  if (depth >= kGgufMaxArrayDepth) {
    return InvalidArgumentError(fmt::format("metadata '{}': arrays nested deeper than {} levels", key,
                                            kGgufMaxArrayDepth));
  }
  for (const auto& e : v.array) {
    if (e.type != v.array_type) {
      return InvalidArgumentError(fmt::format("metadata '{}': array of {} holds a {} element", key,
                                              GgufValueTypeName(v.array_type), GgufValueTypeName(e.type)));
    }
    RETURN_IF_ERROR(CheckValue(key, e, depth + 1));
  }
  return Status::Ok();
}

}  // namespace

void GgufWriter::SetValue(const std::string& key, GgufValue value) {
  for (auto& kv : metadata_) {
    if (kv.key == key) {
      kv.value = std::move(value);
      return;
    }
  }
  metadata_.push_back({key, std::move(value)});
}

Status GgufWriter::AddTensor(const std::string& name, DType type, std::vector<uint64_t> dims,
                             std::span<const uint8_t> data) {
  if (name.empty() || name.size() > kGgufMaxTensorNameBytes || !IsValidUtf8(name)) {
    return InvalidArgumentError(fmt::format("tensor name '{}' must be 1 to {} bytes of UTF-8", name,
                                            kGgufMaxTensorNameBytes));
  }
  if (dims.empty() || dims.size() > kGgufMaxDims) {
    return InvalidArgumentError(fmt::format("tensor '{}': {} dimensions (must be 1 to 4)", name, dims.size()));
  }
  uint64_t n = 1;
  for (uint64_t d : dims) {
    if (d == 0) return InvalidArgumentError(fmt::format("tensor '{}' has a zero dimension", name));
    auto m = CheckedMul(n, d);
    if (!m) return InvalidArgumentError(fmt::format("tensor '{}': element count overflows", name));
    n = *m;
  }
  if (dims[0] % static_cast<uint64_t>(Traits(type).block_elems) != 0) {
    return InvalidArgumentError(fmt::format("tensor '{}': first dimension {} is not a multiple of {}",
                                            name, dims[0], Traits(type).block_elems));
  }
  auto bytes = RowBytes(type, n);
  if (!bytes || *bytes != data.size()) {
    return InvalidArgumentError(fmt::format("tensor '{}': {} bytes given, {} needed for {} {} elements",
                                            name, data.size(), bytes ? *bytes : 0, n, DTypeName(type)));
  }
  for (const auto& t : tensors_) {
    if (t.name == name) return InvalidArgumentError(fmt::format("tensor '{}' added twice", name));
  }
  if (spill_ != nullptr) {
    if (std::fwrite(data.data(), 1, data.size(), spill_) != data.size()) {
      return IoError(fmt::format("cannot write tensor '{}' to '{}'", name, spill_path_));
    }
    tensors_.push_back({name, type, std::move(dims), {}, data.size(), spill_size_});
    spill_size_ += data.size();
    return Status::Ok();
  }
  tensors_.push_back({name, type, std::move(dims), std::vector<uint8_t>(data.begin(), data.end()), data.size(), 0});
  return Status::Ok();
}

Status GgufWriter::SpillTensorDataTo(const std::string& temp_path) {
  if (!tensors_.empty() || spill_ != nullptr) return InvalidArgumentError("spill must be chosen before any tensor");
  spill_ = std::fopen(temp_path.c_str(), "w+b");
  if (spill_ == nullptr) return IoError(fmt::format("cannot create '{}'", temp_path));
  spill_path_ = temp_path;
  return Status::Ok();
}

GgufWriter::~GgufWriter() {
  if (spill_ != nullptr) {
    std::fclose(spill_);
    std::remove(spill_path_.c_str());
  }
}

Result<std::vector<uint8_t>> GgufWriter::SerializeHeader() const {
  if (alignment_ == 0 || (alignment_ & (alignment_ - 1)) != 0 || alignment_ > kGgufMaxAlignment) {
    return InvalidArgumentError(fmt::format("alignment {} is not a power of two up to 2^30", alignment_));
  }
  std::vector<GgufKeyValue> metadata = metadata_;
  bool has_alignment = false;
  for (const auto& kv : metadata) {
    if (kv.key.empty() || kv.key.size() > kGgufMaxKeyBytes || !IsValidUtf8(kv.key)) {
      return InvalidArgumentError(fmt::format("metadata key '{}' must be 1 to {} bytes of UTF-8", kv.key,
                                              kGgufMaxKeyBytes));
    }
    RETURN_IF_ERROR(CheckValue(kv.key, kv.value, 0));
    if (kv.key == "general.alignment") {
      // A stated alignment that differs from the one the data is laid out with breaks the file.
      if (kv.value.type != GgufValueType::kU32 || kv.value.u != alignment_) {
        return InvalidArgumentError(fmt::format(
            "metadata general.alignment must be the u32 {} this writer aligns to", alignment_));
      }
      has_alignment = true;
    }
  }
  if (!has_alignment && alignment_ != kGgufDefaultAlignment) {
    metadata.push_back({"general.alignment", GgufValue::U32(alignment_)});
  }

  std::vector<uint8_t> out;
  ByteSink sink(&out);
  out.reserve(4096);
  for (char c : {'G', 'G', 'U', 'F'}) out.push_back(static_cast<uint8_t>(c));
  sink.Put<uint32_t>(3);
  sink.Put<uint64_t>(tensors_.size());
  sink.Put<uint64_t>(metadata.size());
  for (const auto& kv : metadata) {
    sink.PutString(kv.key);
    sink.Put<uint32_t>(static_cast<uint32_t>(kv.value.type));
    PutValue(sink, kv.value);
  }
  uint64_t offset = 0;
  for (const auto& t : tensors_) {
    sink.PutString(t.name);
    sink.Put<uint32_t>(static_cast<uint32_t>(t.dims.size()));
    for (uint64_t d : t.dims) sink.Put<uint64_t>(d);
    sink.Put<uint32_t>(static_cast<uint32_t>(t.type));
    sink.Put<uint64_t>(offset);
    offset = *CheckedAlignUp(offset + t.size, alignment_);
  }
  sink.PadTo(alignment_);
  return out;
}

Result<std::vector<uint8_t>> GgufWriter::Serialize() const {
  if (spill_ != nullptr) return InvalidArgumentError("tensor data is spilled to a file: use WriteFile");
  ASSIGN_OR_RETURN(std::vector<uint8_t> out, SerializeHeader());
  ByteSink sink(&out);
  for (const auto& t : tensors_) {
    out.insert(out.end(), t.data.begin(), t.data.end());
    sink.PadTo(alignment_);
  }
  return out;
}

Status GgufWriter::WriteFile(const std::string& path) const {
  ASSIGN_OR_RETURN(std::vector<uint8_t> header, SerializeHeader());
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "wb"), &std::fclose);
  if (!f) return IoError(fmt::format("cannot create '{}'", path));
  auto put = [&](const uint8_t* p, size_t n) { return std::fwrite(p, 1, n, f.get()) == n; };
  if (!put(header.data(), header.size())) return IoError(fmt::format("short write to '{}'", path));
  uint64_t written = header.size();
  std::vector<uint8_t> chunk;
  const std::vector<uint8_t> zeros(alignment_, 0);
  for (const auto& t : tensors_) {
    if (spill_ == nullptr) {
      if (!put(t.data.data(), t.data.size())) return IoError(fmt::format("short write to '{}'", path));
    } else {
      if (std::fseek(spill_, static_cast<long>(t.spill_offset), SEEK_SET) != 0) {
        return IoError(fmt::format("cannot read back '{}'", spill_path_));
      }
      chunk.resize(std::min<uint64_t>(t.size, 64u << 20));
      for (uint64_t done = 0; done < t.size;) {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(chunk.size(), t.size - done));
        if (std::fread(chunk.data(), 1, n, spill_) != n) return IoError(fmt::format("cannot read back '{}'", spill_path_));
        if (!put(chunk.data(), n)) return IoError(fmt::format("short write to '{}'", path));
        done += n;
      }
    }
    written += t.size;
    const uint64_t pad = (alignment_ - written % alignment_) % alignment_;
    if (pad > 0 && !put(zeros.data(), pad)) return IoError(fmt::format("short write to '{}'", path));
    written += pad;
  }
  if (std::fclose(f.release()) != 0) return IoError(fmt::format("cannot finish writing '{}'", path));
  return Status::Ok();
}

}  // namespace enclave
