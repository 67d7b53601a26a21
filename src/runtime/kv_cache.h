// Paged key/value cache: one pool of fixed-size blocks shared by all sequences, a block table per
// sequence, and reference counts so that sequences can share a prefix (a fork copies no data;
// a block is copied only when a sequence writes into a block another sequence still reads).
//
// Layout: for each layer, K and V are [n_blocks][block_tokens][kv_dim] of `type` (F16, as
// llama.cpp stores it by default, or F32 where results must match an F32 reference exactly). A
// token at position p of sequence s lives in block table(s)[p / block_tokens], slot p % block_tokens.
//
// Thread safety: not thread-safe for mutation (one scheduler thread owns it). Pointers returned by
// K()/V() stay valid until the next call that allocates or frees blocks; the forward pass reads
// and writes through them from many threads after PrepareWrite has run.
#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "tensor/dtype.h"

namespace enclave {

struct KvCacheOptions {
  int n_layers = 0;
  int kv_dim = 0;          // n_kv_heads * head_dim
  int block_tokens = 16;
  int64_t n_blocks = 0;
  DType type = DType::kF16;  // kF16 or kF32
  // Only K rows (MLA: the latent row holds key and value); V()/VBlock() must not be used.
  bool keys_only = false;
};

class KvCache {
 public:
  static Result<std::unique_ptr<KvCache>> Create(const KvCacheOptions& options);

  // Makes positions [begin, end) of `seq` writable: allocates missing blocks, and copies any
  // block in that range that is shared with another sequence. Creates the sequence if new.
  // ResourceExhausted-like error (OutOfRange) when the pool has too few free blocks; the cache is
  // then unchanged.
  Status PrepareWrite(int32_t seq, int64_t begin, int64_t end);
  // `dst` (which must not exist) shares the first `n_tokens` positions of `src`.
  Status Fork(int32_t src, int32_t dst, int64_t n_tokens);
  // Drops positions >= n_tokens of `seq` (freeing whole blocks past them).
  void Truncate(int32_t seq, int64_t n_tokens);
  void Free(int32_t seq);
  bool Has(int32_t seq) const { return tables_.count(seq) != 0; }
  // Positions written so far (1 + the largest position prepared).
  int64_t Length(int32_t seq) const;

  // The kv_dim elements (of type()) of one position.
  void* K(int layer, int32_t seq, int64_t pos) { return Slot(k_, layer, seq, pos); }
  void* V(int layer, int32_t seq, int64_t pos) { return Slot(v_, layer, seq, pos); }
  // The block table of a sequence, for kernels that walk it block by block.
  const std::vector<int32_t>& Blocks(int32_t seq) const { return tables_.at(seq).blocks; }
  // Start of a block: block_tokens rows of kv_dim elements, row_bytes() apart.
  const uint8_t* KBlock(int layer, int32_t block) const { return BlockPtr(k_, layer, block); }
  const uint8_t* VBlock(int layer, int32_t block) const { return BlockPtr(v_, layer, block); }
  DType type() const { return options_.type; }
  size_t row_bytes() const { return row_bytes_; }

  int block_tokens() const { return options_.block_tokens; }
  int kv_dim() const { return options_.kv_dim; }
  int64_t n_blocks() const { return options_.n_blocks; }
  int64_t free_blocks() const { return static_cast<int64_t>(free_.size()); }
  size_t bytes() const { return k_.size() + v_.size(); }
  int ref_count(int32_t block) const { return refs_[block]; }

 private:
  struct Table {
    std::vector<int32_t> blocks;
    int64_t length = 0;
  };
  explicit KvCache(const KvCacheOptions& options);
  uint8_t* Slot(std::vector<uint8_t>& pool, int layer, int32_t seq, int64_t pos) {
    const Table& t = tables_.at(seq);
    const int32_t block = t.blocks[pos / options_.block_tokens];
    return pool.data() + ((static_cast<int64_t>(layer) * options_.n_blocks + block) * options_.block_tokens +
                          pos % options_.block_tokens) * row_bytes_;
  }
  const uint8_t* BlockPtr(const std::vector<uint8_t>& pool, int layer, int32_t block) const {
    return pool.data() + (static_cast<int64_t>(layer) * options_.n_blocks + block) * options_.block_tokens *
                             row_bytes_;
  }
  int32_t Allocate();
  void Release(int32_t block);
  void CopyBlock(int32_t from, int32_t to);

  KvCacheOptions options_;
  size_t row_bytes_ = 0;  // one position of one layer
  std::vector<uint8_t> k_, v_;
  std::vector<int> refs_;
  std::vector<int32_t> free_;
  std::unordered_map<int32_t, Table> tables_;
};

}  // namespace enclave
