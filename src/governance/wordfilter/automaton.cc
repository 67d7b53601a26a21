#include "governance/wordfilter/automaton.h"

#include <algorithm>
#include <numeric>
#include <string_view>

#include "base/check.h"

namespace enclave::wordfilter {
namespace {

// Complete transition rows go to the first states in breadth-first order (the shallowest, where
// text spends most of its time) until they fill this budget.
constexpr size_t kDenseBudgetBytes = 8u << 20;

// The trie as first built: first-child / next-sibling lists in insertion order.
struct TrieNode {
  uint32_t first_child = 0;
  uint32_t last_child = 0;
  uint32_t next_sibling = 0;
  uint32_t pattern = Automaton::kNoPattern;
  uint8_t label = 0;
};

}  // namespace

Automaton Automaton::Build(std::span<const std::string> patterns) {
  // 1. Trie from the patterns in byte order: each new string shares a prefix with the previous
  // one and its new children come after existing ones, so sibling lists end up sorted.
  std::vector<uint32_t> order(patterns.size());
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(),
            [&](uint32_t a, uint32_t b) { return std::string_view(patterns[a]) < std::string_view(patterns[b]); });
  std::vector<TrieNode> trie(1);
  std::vector<uint32_t> path{0};  // path[d]: the node after d bytes of the previous pattern
  std::string_view prev;
  for (uint32_t id : order) {
    const std::string_view s = patterns[id];
    size_t common = 0;
    while (common < s.size() && common < prev.size() && s[common] == prev[common]) ++common;
    path.resize(common + 1);
    for (size_t d = common; d < s.size(); ++d) {
      const uint32_t parent = path[d];
      const auto child = static_cast<uint32_t>(trie.size());
      trie.push_back({});
      trie.back().label = static_cast<uint8_t>(s[d]);
      if (trie[parent].first_child == 0) {
        trie[parent].first_child = child;
      } else {
        trie[trie[parent].last_child].next_sibling = child;
      }
      trie[parent].last_child = child;
      path.push_back(child);
    }
    ENCLAVE_CHECK(!s.empty() && trie[path[s.size()]].pattern == kNoPattern);  // non-empty, distinct
    trie[path[s.size()]].pattern = id;
    prev = s;
  }

  // 2. Renumber breadth-first so that children are contiguous.
  Automaton a;
  const size_t n = trie.size();
  a.nodes_.resize(n);
  a.labels_.assign(n, 0);
  a.pattern_.assign(n, kNoPattern);
  a.out_link_.assign(n, kRoot);
  std::vector<uint32_t> queue{0};  // old ids; new id = position
  queue.reserve(n);
  for (size_t q = 0; q < queue.size(); ++q) {
    const TrieNode& old = trie[queue[q]];
    Node& node = a.nodes_[q];
    node.first_child = static_cast<uint32_t>(queue.size());
    a.pattern_[q] = old.pattern;
    for (uint32_t c = old.first_child; c != 0; c = trie[c].next_sibling) {
      const auto id = static_cast<uint32_t>(queue.size());
      queue.push_back(c);
      a.labels_[id] = trie[c].label;
      const bool starts_char = (trie[c].label & 0xC0) != 0x80;
      a.nodes_[id].depth_chars = static_cast<uint8_t>(node.depth_chars + (starts_char ? 1 : 0));
      ++node.n_children;
    }
  }
  trie.clear();
  trie.shrink_to_fit();

  // 3. Byte classes: one per byte that occurs in a pattern, class 0 for the rest.
  uint8_t class_byte[256] = {};  // representative byte of each class
  for (uint32_t s = 1; s < n; ++s) a.byte_class_[a.labels_[s]] = 1;
  for (int b = 0; b < 256; ++b) {
    if (a.byte_class_[b] == 0) continue;
    class_byte[a.n_classes_] = static_cast<uint8_t>(b);
    a.byte_class_[b] = static_cast<uint8_t>(a.n_classes_++);
  }
  a.n_dense_ = static_cast<uint32_t>(std::max<size_t>(1, std::min(n, kDenseBudgetBytes / (4 * a.n_classes_))));
  a.dense_.assign(static_cast<size_t>(a.n_dense_) * a.n_classes_, kRoot);
  a.output_bits_.assign((n + 63) / 64, 0);

  // 4. Failure links, output links and rows, breadth-first: everything a state's links depend on
  // is shallower, hence already final.
  for (uint32_t s = 0; s < n; ++s) {
    const Node& node = a.nodes_[s];
    if (s < a.n_dense_) {
      uint32_t* r = a.dense_.data() + static_cast<size_t>(s) * a.n_classes_;
      if (s != kRoot) {
        for (uint32_t k = 1; k < a.n_classes_; ++k) r[k] = a.Next(node.fail, class_byte[k]);
      }
      for (uint32_t k = 0; k < node.n_children; ++k) {
        r[a.byte_class_[a.labels_[node.first_child + k]]] = node.first_child + k;
      }
    }
    for (uint32_t k = 0; k < node.n_children; ++k) {
      const uint32_t child = node.first_child + k;
      const uint32_t f = s == kRoot ? kRoot : a.Next(node.fail, a.labels_[child]);
      a.nodes_[child].fail = f;
      a.out_link_[child] = a.pattern_[f] != kNoPattern ? f : a.out_link_[f];
    }
    if (a.pattern_[s] != kNoPattern || a.out_link_[s] != kRoot) a.output_bits_[s >> 6] |= uint64_t{1} << (s & 63);
  }
  return a;
}

size_t Automaton::memory_bytes() const {
  return nodes_.size() * sizeof(Node) + labels_.size() + (pattern_.size() + out_link_.size()) * 4 +
         output_bits_.size() * 8 + dense_.size() * 4;
}

}  // namespace enclave::wordfilter
