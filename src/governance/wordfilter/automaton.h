// Aho-Corasick automaton over symbols: each code point that occurs in some normalized term is one
// symbol (1..num_symbols, numbered by decreasing frequency in the terms); every other code point is
// symbol 0, which always leads back to the root. Walking code points instead of UTF-8 bytes costs
// one step per character (a CJK character used to take three).
//
// Layout: the children of a state are contiguous (first_child, n_children) and their labels sit
// side by side, sorted, in labels_; a missing transition follows the failure link. Most steps
// are one load:
//  - the root has a complete row over all symbols;
//  - the first states in numbering order (as many as fit a memory budget, 8 MiB by default) have
//    complete rows over the frequent symbols [0, row_width);
//  - states are numbered so that those rows go where text spends its time: children of a state are
//    numbered together, states closer to the root (counting a rare symbol as 4 steps, as rows do
//    not cover it) first.
// A step on a rare symbol from a state other than the root checks a 32-bit mask of the children's
// labels, searches the children only if the mask allows it, then follows failure links down to the
// root's row.
//
// Immutable after Build; thread-safe to share.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace enclave::wordfilter {

class Automaton {
 public:
  static constexpr uint32_t kNoPattern = UINT32_MAX;
  static constexpr uint32_t kRoot = 0;

  // Patterns: pattern i is symbols[offsets[i], offsets[i + 1]); distinct, non-empty strings of
  // symbols in 1..num_symbols, at most 255 long. Pattern ids are the i. Rows cover symbols
  // [0, row_width), row_width a power of two from 1 to num_symbols + 1 rounded up; symbols should
  // be numbered by decreasing frequency so that the frequent ones are the covered ones. Rows go to
  // the first states until they fill row_budget_bytes (the root always has one).
  static Automaton Build(std::span<const uint32_t> symbols, std::span<const uint32_t> offsets,
                         uint32_t num_symbols, uint32_t row_width, size_t row_budget_bytes);

  // The state after `sym` (0..num_symbols) from `state`.
  uint32_t Next(uint32_t state, uint32_t sym) const {
    if (sym < row_width_) {
      for (;;) {
        if (state < n_dense_) return dense_[(static_cast<size_t>(state) << row_shift_) + sym];
        const uint32_t c = Child(state, sym);
        if (c != kRoot) return c;
        state = nodes_[state].fail;  // the root has a row, so this ends
      }
    }
    for (;;) {
      if (state == kRoot) return root_row_[sym];
      const uint32_t c = Child(state, sym);
      if (c != kRoot) return c;
      state = nodes_[state].fail;
    }
  }

  // True when some pattern ends at `state` (itself or a suffix).
  bool HasOutput(uint32_t state) const { return (output_bits_[state >> 6] >> (state & 63)) & 1; }
  // Symbols (code points) spelled by the path to `state`.
  uint32_t DepthChars(uint32_t state) const { return depth_[state]; }

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
  uint32_t row_width() const { return row_width_; }
  size_t memory_bytes() const;

 private:
  struct Node {
    uint32_t first_child = 0;
    uint32_t fail = 0;
    uint32_t n_children = 0;
    uint32_t child_bits = 0;  // bit (label & 31) set for each child: most misses cost no search
  };

  // The child of `state` labelled `sym`, or kRoot (never a child) when there is none.
  uint32_t Child(uint32_t state, uint32_t sym) const {
    const Node& n = nodes_[state];
    if (((n.child_bits >> (sym & 31)) & 1) == 0) return kRoot;
    const uint32_t* labels = labels_.data() + n.first_child;
    if (n.n_children <= 16) {
      for (uint32_t k = 0; k < n.n_children; ++k) {
        if (labels[k] == sym) return n.first_child + k;
      }
      return kRoot;
    }
    uint32_t lo = 0;
    uint32_t hi = n.n_children;
    while (lo < hi) {  // labels are sorted
      const uint32_t mid = (lo + hi) / 2;
      if (labels[mid] < sym) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo < n.n_children && labels[lo] == sym ? n.first_child + lo : kRoot;
  }

  std::vector<Node> nodes_;
  std::vector<uint32_t> labels_;       // symbol of the edge into each state
  std::vector<uint8_t> depth_;         // symbols from the root
  std::vector<uint32_t> pattern_;      // pattern ending exactly here, or kNoPattern
  std::vector<uint32_t> out_link_;     // nearest proper suffix state with a pattern, or kRoot
  std::vector<uint64_t> output_bits_;  // bit per state: HasOutput
  std::vector<uint32_t> root_row_;     // [num_symbols + 1]: the root's transitions
  uint32_t row_width_ = 1;             // rows cover symbols [0, row_width_) (those > num_symbols: kRoot)
  uint32_t row_shift_ = 0;             // row_width_ == 1 << row_shift_
  uint32_t n_dense_ = 0;               // states [0, n_dense_) have rows
  std::vector<uint32_t> dense_;        // complete transition rows [n_dense_][row_width_]
};

}  // namespace enclave::wordfilter
