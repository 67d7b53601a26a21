#include "server/prefix_index.h"

#include <algorithm>

namespace enclave::server {

PrefixIndex::PrefixIndex(int64_t block_tokens) : block_tokens_(std::max<int64_t>(1, block_tokens)) {}

const std::vector<int32_t>* PrefixIndex::tokens(int32_t seq) const {
  auto it = tokens_.find(seq);
  return it == tokens_.end() ? nullptr : &it->second;
}

void PrefixIndex::Insert(int32_t seq, std::vector<int32_t> tokens) {
  Erase(seq);
  const size_t bt = static_cast<size_t>(block_tokens_);
  Node* node = &root_;
  for (size_t start = 0; start + bt <= tokens.size(); start += bt) {
    std::vector<int32_t> key(tokens.begin() + static_cast<std::ptrdiff_t>(start),
                             tokens.begin() + static_cast<std::ptrdiff_t>(start + bt));
    auto& child = node->children[std::move(key)];
    if (!child) {
      child = std::make_unique<Node>();
      ++node_count_;
    }
    node = child.get();
    node->seqs.push_back(seq);
  }
  tokens_.emplace(seq, std::move(tokens));
}

void PrefixIndex::Erase(int32_t seq) {
  auto it = tokens_.find(seq);
  if (it == tokens_.end()) return;
  const std::vector<int32_t>& tokens = it->second;
  const size_t bt = static_cast<size_t>(block_tokens_);
  // Walk down recording the path, then remove the sequence and prune emptied nodes bottom-up.
  std::vector<std::pair<Node*, const std::vector<int32_t>*>> path;  // (parent, key of the child)
  Node* node = &root_;
  for (size_t start = 0; start + bt <= tokens.size(); start += bt) {
    std::vector<int32_t> key(tokens.begin() + static_cast<std::ptrdiff_t>(start),
                             tokens.begin() + static_cast<std::ptrdiff_t>(start + bt));
    auto child = node->children.find(key);
    if (child == node->children.end()) break;  // cannot happen: Insert made the whole path
    path.emplace_back(node, &child->first);
    node = child->second.get();
    std::erase(node->seqs, seq);
  }
  for (auto p = path.rbegin(); p != path.rend(); ++p) {
    auto child = p->first->children.find(*p->second);
    if (!child->second->seqs.empty()) break;
    p->first->children.erase(child);
    --node_count_;
  }
  tokens_.erase(it);
}

PrefixIndex::Match PrefixIndex::Longest(std::span<const int32_t> prompt, int64_t max_tokens) const {
  const size_t limit = static_cast<size_t>(std::clamp<int64_t>(max_tokens, 0, static_cast<int64_t>(prompt.size())));
  const size_t bt = static_cast<size_t>(block_tokens_);
  const Node* node = &root_;
  size_t matched = 0;
  std::vector<int32_t> key(bt);
  while (matched + bt <= limit) {
    std::copy_n(prompt.begin() + static_cast<std::ptrdiff_t>(matched), bt, key.begin());
    auto child = node->children.find(key);
    if (child == node->children.end()) break;
    node = child->second.get();
    matched += bt;
  }
  Match best;
  if (matched == 0) return best;
  // Every sequence through the deepest node shares `matched` tokens; the one that also shares the
  // most of the next, partial block wins (the most recently kept on ties).
  size_t best_len = 0;
  for (auto s = node->seqs.rbegin(); s != node->seqs.rend(); ++s) {
    const std::vector<int32_t>& t = tokens_.at(*s);
    size_t n = matched;
    const size_t end = std::min(t.size(), limit);
    while (n < end && t[n] == prompt[n]) ++n;
    if (best.seq < 0 || n > best_len) {
      best.seq = *s;
      best_len = n;
    }
  }
  best.tokens = static_cast<int64_t>(best_len);
  return best;
}

}  // namespace enclave::server
