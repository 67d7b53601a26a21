#include "governance/wordfilter/automaton.h"

#include <algorithm>
#include <numeric>

#include "base/check.h"

namespace enclave::wordfilter {
namespace {

// A symbol that rows do not cover counts as this many steps when states are numbered.
constexpr uint32_t kRareWeight = 4;

// The trie as first built: first-child / next-sibling lists, sorted by label.
struct TrieNode {
  uint32_t first_child = 0;
  uint32_t last_child = 0;
  uint32_t next_sibling = 0;
  uint32_t pattern = Automaton::kNoPattern;
  uint32_t label = 0;
};

}  // namespace

Automaton Automaton::Build(std::span<const uint32_t> symbols, std::span<const uint32_t> offsets,
                           uint32_t num_symbols, uint32_t row_width, size_t row_budget_bytes) {
  ENCLAVE_CHECK(row_width >= 1 && (row_width & (row_width - 1)) == 0 && row_width / 2 < num_symbols + 1);
  ENCLAVE_CHECK(!offsets.empty() && offsets.back() == symbols.size());
  const auto n_patterns = static_cast<uint32_t>(offsets.size() - 1);
  auto pattern = [&](uint32_t id) { return symbols.subspan(offsets[id], offsets[id + 1] - offsets[id]); };
  // 1. Trie from the patterns in lexicographic order: each new string shares a prefix with the
  // previous one and its new children come after existing ones, so sibling lists end up sorted.
  std::vector<uint32_t> order(n_patterns);
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    const auto pa = pattern(a);
    const auto pb = pattern(b);
    return std::lexicographical_compare(pa.begin(), pa.end(), pb.begin(), pb.end());
  });
  std::vector<TrieNode> trie(1);
  std::vector<uint32_t> path{0};  // path[d]: the node after d symbols of the previous pattern
  std::span<const uint32_t> prev;
  for (uint32_t id : order) {
    const std::span<const uint32_t> s = pattern(id);
    ENCLAVE_CHECK(!s.empty() && s.size() <= 255);
    size_t common = 0;
    while (common < s.size() && common < prev.size() && s[common] == prev[common]) ++common;
    path.resize(common + 1);
    for (size_t d = common; d < s.size(); ++d) {
      ENCLAVE_CHECK(s[d] >= 1 && s[d] <= num_symbols);
      const uint32_t parent = path[d];
      const auto child = static_cast<uint32_t>(trie.size());
      trie.push_back({});
      trie.back().label = s[d];
      if (trie[parent].first_child == 0) {
        trie[parent].first_child = child;
      } else {
        trie[trie[parent].last_child].next_sibling = child;
      }
      trie[parent].last_child = child;
      path.push_back(child);
    }
    ENCLAVE_CHECK(trie[path[s.size()]].pattern == kNoPattern);  // distinct
    trie[path[s.size()]].pattern = id;
    prev = s;
  }

  // 2. Number the states. The children of a state are numbered together, parents in order of
  // weighted depth (a symbol without a row entry weighs kRareWeight) plus the weight of their
  // lightest child: rows, which go to the first numbers, cover shallow states reached through
  // frequent symbols first. Keys grow strictly from parent to child, so one sweep over the buckets
  // in key order numbers every state.
  Automaton a;
  a.row_width_ = row_width;
  while ((1u << a.row_shift_) < row_width) ++a.row_shift_;
  const size_t n = trie.size();
  auto weight = [&](uint32_t sym) { return sym < row_width ? 1u : kRareWeight; };
  // Children are sorted, so the first one has the smallest label and the lightest weight.
  auto key = [&](uint32_t old, uint32_t wdepth) { return wdepth + weight(trie[trie[old].first_child].label); };
  a.nodes_.resize(n);
  a.labels_.assign(n, 0);
  a.depth_.assign(n, 0);
  a.pattern_.assign(n, kNoPattern);
  a.out_link_.assign(n, kRoot);
  std::vector<uint32_t> new_id(n, 0);
  std::vector<uint32_t> wdepth(n, 0);
  std::vector<std::vector<uint32_t>> buckets(kRareWeight * 256 + 2);  // parents (old ids) by key
  uint32_t next = 1;
  if (trie[0].first_child != 0) buckets[key(0, 0)].push_back(0);
  for (auto& bucket : buckets) {
    for (const uint32_t old : bucket) {  // keys of children are larger: the bucket does not grow
      Node& node = a.nodes_[new_id[old]];
      node.first_child = next;
      for (uint32_t c = trie[old].first_child; c != 0; c = trie[c].next_sibling) {
        const uint32_t id = next++;
        new_id[c] = id;
        a.labels_[id] = trie[c].label;
        a.depth_[id] = static_cast<uint8_t>(a.depth_[new_id[old]] + 1);
        a.pattern_[id] = trie[c].pattern;
        wdepth[c] = wdepth[old] + weight(trie[c].label);
        ++node.n_children;
        node.child_bits |= 1u << (trie[c].label & 31);
        if (trie[c].first_child != 0) buckets[key(c, wdepth[c])].push_back(c);
      }
    }
    bucket.clear();
    bucket.shrink_to_fit();
  }
  ENCLAVE_CHECK(next == n);
  a.pattern_[kRoot] = trie[0].pattern;
  trie.clear();
  trie.shrink_to_fit();

  // 3. Tables: the root's complete row, and rows for the first states.
  a.root_row_.assign(static_cast<size_t>(num_symbols) + 1, kRoot);
  for (uint32_t k = 0; k < a.nodes_[kRoot].n_children; ++k) {
    const uint32_t c = a.nodes_[kRoot].first_child + k;
    a.root_row_[a.labels_[c]] = c;
  }
  a.n_dense_ = static_cast<uint32_t>(std::max<size_t>(1, std::min(n, row_budget_bytes / (4 * row_width))));
  a.dense_.assign(static_cast<size_t>(a.n_dense_) * row_width, kRoot);
  a.output_bits_.assign((n + 63) / 64, 0);

  // 4. Failure links, output links and rows, breadth-first by depth: everything a state's links
  // and row depend on is shallower, hence already final.
  std::vector<uint32_t> bfs(n);
  {
    std::vector<uint32_t> count(257, 0);
    for (size_t s = 0; s < n; ++s) ++count[a.depth_[s] + 1u];
    for (size_t d = 1; d < count.size(); ++d) count[d] += count[d - 1];
    for (uint32_t s = 0; s < n; ++s) bfs[count[a.depth_[s]]++] = s;
  }
  for (const uint32_t s : bfs) {
    const Node& node = a.nodes_[s];
    if (s < a.n_dense_) {
      uint32_t* r = a.dense_.data() + static_cast<size_t>(s) * row_width;
      const uint32_t covered = std::min(row_width, num_symbols + 1);  // the rest is padding
      if (s == kRoot) {
        std::copy(a.root_row_.begin(), a.root_row_.begin() + covered, r);
      } else {
        for (uint32_t k = 1; k < covered; ++k) r[k] = a.Next(node.fail, k);
        for (uint32_t k = 0; k < node.n_children; ++k) {
          const uint32_t c = node.first_child + k;
          if (a.labels_[c] < row_width) r[a.labels_[c]] = c;
        }
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
  return nodes_.size() * sizeof(Node) + (labels_.size() + pattern_.size() + out_link_.size()) * 4 +
         depth_.size() + output_bits_.size() * 8 + (root_row_.size() + dense_.size()) * 4;
}

}  // namespace enclave::wordfilter
