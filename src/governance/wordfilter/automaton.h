// Aho-Corasick automaton over the bytes of normalized UTF-8 terms.
//
// Layout: states are numbered in breadth-first order, so the children of a state are contiguous
// (first_child, n_children) and their labels sit side by side in labels_; a missing transition
// follows the failure link. The first states in that order (the root and the shallow, busy ones,
// as many as fit a memory budget) instead get complete transition rows over byte classes (each
// byte used by some term is a class; all other bytes share class 0, which always leads to the
// root), so most bytes cost one load. A byte-level alphabet keeps rows small; a term's UTF-8
// bytes only occur at character boundaries of valid UTF-8, so byte-level matches are
// character-level matches.
//
// Immutable after Build; thread-safe to share.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace enclave::wordfilter {

class Automaton {
 public:
  static constexpr uint32_t kNoPattern = UINT32_MAX;
  static constexpr uint32_t kRoot = 0;

  // `patterns`: distinct, non-empty byte strings of valid UTF-8 of at most 255 code points.
  // Pattern ids are indexes into `patterns`.
  static Automaton Build(std::span<const std::string> patterns);

  uint32_t Next(uint32_t state, uint8_t byte) const {
    const uint32_t cls = byte_class_[byte];
    for (;;) {
      if (state < n_dense_) return dense_[static_cast<size_t>(state) * n_classes_ + cls];
      if (cls == 0) return kRoot;  // a byte no term contains
      const Node& n = nodes_[state];
      const uint8_t* labels = labels_.data() + n.first_child;
      for (uint32_t k = 0; k < n.n_children; ++k) {
        if (labels[k] == byte) return n.first_child + k;
      }
      state = n.fail;  // the root is dense, so this ends
    }
  }

  // True when some pattern ends at `state` (itself or a suffix).
  bool HasOutput(uint32_t state) const { return (output_bits_[state >> 6] >> (state & 63)) & 1; }
  // Code points spelled by the path to `state` (valid at character boundaries).
  uint32_t DepthChars(uint32_t state) const { return nodes_[state].depth_chars; }

  // Calls fn(pattern_id) for every pattern ending at `state`, longest first.
  template <typename Fn>
  void ForEachMatch(uint32_t state, Fn&& fn) const {
    uint32_t t = pattern_[state] != kNoPattern ? state : out_link_[state];
    while (t != kRoot) {
      fn(pattern_[t]);
      t = out_link_[t];
    }
  }

  size_t num_states() const { return nodes_.size(); }
  size_t num_dense_rows() const { return n_dense_; }
  size_t memory_bytes() const;

 private:
  struct Node {
    uint32_t first_child = 0;
    uint32_t fail = 0;
    uint16_t n_children = 0;
    uint8_t depth_chars = 0;
  };

  std::vector<Node> nodes_;
  std::vector<uint8_t> labels_;        // label of the edge into each state
  std::vector<uint32_t> pattern_;      // pattern ending exactly here, or kNoPattern
  std::vector<uint32_t> out_link_;     // nearest proper suffix state with a pattern, or kRoot
  std::vector<uint64_t> output_bits_;  // bit per state: HasOutput
  uint8_t byte_class_[256] = {};
  uint32_t n_classes_ = 1;
  uint32_t n_dense_ = 0;               // states [0, n_dense_) have rows
  std::vector<uint32_t> dense_;        // complete transition rows [n_dense_][n_classes_]
};

}  // namespace enclave::wordfilter
