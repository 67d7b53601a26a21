#include "tokenizer/reasoning_split.h"

#include <algorithm>

namespace enclave::tokenizer {
namespace {

// Length of the longest suffix of `s` that is a proper prefix of `tag`.
size_t PartialTagSuffix(std::string_view s, std::string_view tag) {
  for (size_t n = std::min(s.size(), tag.size() - 1); n > 0; --n) {
    if (s.substr(s.size() - n) == tag.substr(0, n)) return n;
  }
  return 0;
}

bool IsSpace(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

}  // namespace

ReasoningSplitter::ReasoningSplitter(bool starts_in_reasoning, std::string open_tag, std::string close_tag)
    : state_(starts_in_reasoning ? State::kReasoning : State::kStart),
      open_(std::move(open_tag)),
      close_(std::move(close_tag)) {}

void ReasoningSplitter::Route(Delta* d, std::string_view s) const {
  (state_ == State::kReasoning ? d->reasoning : d->content).append(s);
}

ReasoningSplitter::Delta ReasoningSplitter::Push(std::string_view text) {
  Delta d;
  held_.append(text);
  for (;;) {
    if (state_ == State::kStart) {
      // Leading whitespace may precede the opening tag; decide once a non-space char arrives.
      size_t i = 0;
      while (i < held_.size() && IsSpace(held_[i])) ++i;
      const std::string_view rest = std::string_view(held_).substr(i);
      if (rest.empty()) return d;
      if (rest.size() < open_.size() && open_.compare(0, rest.size(), rest) == 0) return d;  // maybe the tag
      if (rest.substr(0, open_.size()) == open_) {
        held_.erase(0, i + open_.size());  // whitespace before the tag belongs to neither side
        state_ = State::kReasoning;
        continue;
      }
      state_ = State::kContent;  // no reasoning block: everything is content
      continue;
    }
    if (state_ == State::kContent) {
      d.content += held_;
      held_.clear();
      return d;
    }
    // Reasoning: look for the closing tag.
    const size_t at = held_.find(close_);
    if (at != std::string::npos) {
      d.reasoning.append(held_, 0, at);
      held_.erase(0, at + close_.size());
      state_ = State::kContent;
      continue;
    }
    const size_t keep = PartialTagSuffix(held_, close_);
    d.reasoning.append(held_, 0, held_.size() - keep);
    held_.erase(0, held_.size() - keep);
    return d;
  }
}

ReasoningSplitter::Delta ReasoningSplitter::Finish() {
  Delta d;
  if (state_ == State::kStart) state_ = State::kContent;
  Route(&d, held_);
  held_.clear();
  return d;
}

}  // namespace enclave::tokenizer
