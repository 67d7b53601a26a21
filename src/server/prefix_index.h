// The prefix cache's index: which kept sequence shares the longest prefix with a new prompt.
//
// A radix tree over token blocks (the KV cache's block size): each node is one full block of
// tokens, its children the blocks that followed it in some kept sequence. A lookup walks the
// prompt's full blocks from the root, so its cost grows with the prompt, not with the number of
// kept sequences; the last, partial block is then compared token by token against the sequences
// through the deepest node reached, because the KV cache can share a partly filled block too
// (copy-on-write).
//
// Kept sequences share their common blocks in the KV cache (a request forked from a kept sequence
// is kept in its turn), so a system prompt used by a thousand requests is stored and indexed once
// per block, whatever the number of entries.
//
// Not thread-safe (the scheduler thread owns it).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

namespace enclave::server {

class PrefixIndex {
 public:
  explicit PrefixIndex(int64_t block_tokens);

  // Sequence `seq` (not yet in the index) holds the KV of `tokens`.
  void Insert(int32_t seq, std::vector<int32_t> tokens);
  // Removes `seq` (no-op if absent) and any nodes no other sequence passes through.
  void Erase(int32_t seq);

  struct Match {
    int32_t seq = -1;     // -1: no sequence shares a whole block with the prompt
    int64_t tokens = 0;   // tokens of the prompt whose KV `seq` holds
  };
  // The sequence sharing the longest prefix with `prompt`, counting at most `max_tokens` tokens;
  // only matches of at least one full block count.
  Match Longest(std::span<const int32_t> prompt, int64_t max_tokens) const;

  size_t size() const { return tokens_.size(); }
  size_t nodes() const { return node_count_; }
  const std::vector<int32_t>* tokens(int32_t seq) const;

 private:
  struct Node {
    std::map<std::vector<int32_t>, std::unique_ptr<Node>> children;  // keyed by the block's tokens
    std::vector<int32_t> seqs;  // the sequences whose tokens run through this block
  };

  int64_t block_tokens_;
  Node root_;
  size_t node_count_ = 0;
  std::unordered_map<int32_t, std::vector<int32_t>> tokens_;  // seq -> what its KV holds
};

}  // namespace enclave::server
