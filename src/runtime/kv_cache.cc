#include "runtime/kv_cache.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "base/check.h"

namespace enclave {

Result<std::unique_ptr<KvCache>> KvCache::Create(const KvCacheOptions& o) {
  if (o.n_layers <= 0 || o.kv_dim <= 0 || o.block_tokens <= 0 || o.n_blocks <= 0) {
    return InvalidArgumentError("KV cache needs positive layers, kv_dim, block size and block count");
  }
  if (o.type != DType::kF16 && o.type != DType::kF32) {
    return InvalidArgumentError(fmt::format("KV cache type {} is not supported (f16 or f32)", DTypeName(o.type)));
  }
  const double bytes = (o.keys_only ? 1.0 : 2.0) * o.n_layers * o.n_blocks * o.block_tokens * o.kv_dim * (o.type == DType::kF16 ? 2 : 4);
  if (bytes > 1e12 || o.n_blocks > (1 << 30)) {
    return InvalidArgumentError(fmt::format("KV cache of {:.1f} GiB is too large", bytes / (1 << 30)));
  }
  return std::unique_ptr<KvCache>(new KvCache(o));
}

KvCache::KvCache(const KvCacheOptions& o)
    : options_(o), row_bytes_(static_cast<size_t>(o.kv_dim) * (o.type == DType::kF16 ? 2 : 4)) {
  const size_t n = static_cast<size_t>(o.n_layers) * o.n_blocks * o.block_tokens * row_bytes_;
  k_.assign(n, 0);
  if (!o.keys_only) v_.assign(n, 0);
  refs_.assign(o.n_blocks, 0);
  free_.reserve(o.n_blocks);
  // Hand out low block ids first (pop_back from the end of a descending list).
  for (int64_t b = o.n_blocks - 1; b >= 0; --b) free_.push_back(static_cast<int32_t>(b));
}

int32_t KvCache::Allocate() {
  ENCLAVE_CHECK(!free_.empty());
  const int32_t b = free_.back();
  free_.pop_back();
  refs_[b] = 1;
  return b;
}

void KvCache::Release(int32_t block) {
  ENCLAVE_CHECK(refs_[block] > 0);
  if (--refs_[block] == 0) free_.push_back(block);
}

void KvCache::CopyBlock(int32_t from, int32_t to) {
  const size_t block_bytes = static_cast<size_t>(options_.block_tokens) * row_bytes_;
  for (int layer = 0; layer < options_.n_layers; ++layer) {
    const size_t off_from = (static_cast<size_t>(layer) * options_.n_blocks + from) * block_bytes;
    const size_t off_to = (static_cast<size_t>(layer) * options_.n_blocks + to) * block_bytes;
    std::memcpy(k_.data() + off_to, k_.data() + off_from, block_bytes);
    if (!v_.empty()) std::memcpy(v_.data() + off_to, v_.data() + off_from, block_bytes);
  }
}

Status KvCache::PrepareWrite(int32_t seq, int64_t begin, int64_t end) {
  if (begin < 0 || end < begin) return InvalidArgumentError(fmt::format("bad KV range [{}, {})", begin, end));
  Table& t = tables_[seq];
  const int64_t bt = options_.block_tokens;
  const int64_t need_blocks = (end + bt - 1) / bt;
  // Count what this write needs before changing anything, so a failure leaves the cache as it was.
  int64_t needed = std::max<int64_t>(0, need_blocks - static_cast<int64_t>(t.blocks.size()));
  for (int64_t b = begin / bt; b < std::min<int64_t>(need_blocks, t.blocks.size()); ++b) {
    if (refs_[t.blocks[b]] > 1) ++needed;
  }
  if (needed > free_blocks()) {
    if (t.blocks.empty()) tables_.erase(seq);
    return OutOfRangeError(fmt::format("KV cache full: {} more blocks of {} tokens needed, {} free", needed, bt,
                                       free_blocks()));
  }
  for (int64_t b = begin / bt; b < std::min<int64_t>(need_blocks, t.blocks.size()); ++b) {
    if (refs_[t.blocks[b]] > 1) {  // copy on write
      const int32_t copy = Allocate();
      CopyBlock(t.blocks[b], copy);
      Release(t.blocks[b]);
      t.blocks[b] = copy;
    }
  }
  while (static_cast<int64_t>(t.blocks.size()) < need_blocks) t.blocks.push_back(Allocate());
  t.length = std::max(t.length, end);
  return Status::Ok();
}

Status KvCache::Fork(int32_t src, int32_t dst, int64_t n_tokens) {
  auto it = tables_.find(src);
  if (it == tables_.end()) return NotFoundError(fmt::format("KV sequence {} does not exist", src));
  if (tables_.count(dst)) return InvalidArgumentError(fmt::format("KV sequence {} already exists", dst));
  if (n_tokens < 0 || n_tokens > it->second.length) {
    return InvalidArgumentError(fmt::format("cannot share {} tokens of a sequence of {}", n_tokens, it->second.length));
  }
  const int64_t n_blocks = (n_tokens + options_.block_tokens - 1) / options_.block_tokens;
  Table t;
  t.blocks.assign(it->second.blocks.begin(), it->second.blocks.begin() + n_blocks);
  for (int32_t b : t.blocks) ++refs_[b];
  t.length = n_tokens;
  tables_[dst] = std::move(t);
  return Status::Ok();
}

void KvCache::Truncate(int32_t seq, int64_t n_tokens) {
  auto it = tables_.find(seq);
  if (it == tables_.end()) return;
  Table& t = it->second;
  const int64_t keep = (std::max<int64_t>(0, n_tokens) + options_.block_tokens - 1) / options_.block_tokens;
  while (static_cast<int64_t>(t.blocks.size()) > keep) {
    Release(t.blocks.back());
    t.blocks.pop_back();
  }
  t.length = std::min(t.length, std::max<int64_t>(0, n_tokens));
}

void KvCache::Free(int32_t seq) {
  auto it = tables_.find(seq);
  if (it == tables_.end()) return;
  for (int32_t b : it->second.blocks) Release(b);
  tables_.erase(it);
}

int64_t KvCache::Length(int32_t seq) const {
  auto it = tables_.find(seq);
  return it == tables_.end() ? 0 : it->second.length;
}

}  // namespace enclave
