#include "governance/wordfilter/filter_stream.h"

#include <algorithm>
#include <limits>

#include "governance/wordfilter/utf8_codec.h"

namespace enclave::wordfilter {

static_assert(kMaxTermChars <= 64, "char_start_ holds the starts of the last 64 characters");

FilterStream::FilterStream(const WordFilter& filter)
    : filter_(filter), last_end_(filter.num_categories(), 0) {}

Status FilterStream::Fail(Status status) {
  error_ = status;
  held_.clear();
  pending_.clear();
  masks_.clear();
  return status;
}

Result<FilterOutput> FilterStream::Push(std::string_view chunk) {
  if (!error_.ok()) return error_;
  FilterOutput out;
  if (blocked_) {
    out.blocked = blocked_;
    return out;
  }
  if (finished_) return Fail(InternalError("word filter: Push after Finish"));
  // With nothing held (whole texts; streams between terms) the chunk is scanned where it is and
  // only the part that stays held is copied.
  const bool in_place = held_.empty();
  if (!in_place) held_.append(chunk);
  const std::string_view data = in_place ? chunk : std::string_view(held_);
  bool block = false;
  RETURN_IF_ERROR(Scan(data, &block));
  const uint64_t window = WindowStart();
  Resolve(window, out);
  const auto released = static_cast<size_t>(window - released_);
  Release(data, window, out);
  if (block) {
    blocked_ = block_hit_;
    out.blocked = blocked_;
    held_.clear();
    pending_.clear();
    masks_.clear();
  } else if (in_place) {
    held_.assign(chunk.substr(released));
  } else {
    held_.erase(0, released);
  }
  return out;
}

Result<FilterOutput> FilterStream::Finish() {
  if (!error_.ok()) return error_;
  FilterOutput out;
  if (blocked_) {
    out.blocked = blocked_;
    return out;
  }
  if (finished_) return out;
  if (scanned_ != released_ + held_.size()) {
    return Fail(InvalidArgumentError("text is not valid UTF-8: it ends inside a character at byte " +
                                     std::to_string(scanned_)));
  }
  finished_ = true;
  Resolve(std::numeric_limits<uint64_t>::max(), out);
  Release(held_, scanned_, out);
  held_.clear();
  return out;
}

Status FilterStream::Scan(std::string_view data, bool* block_at_end) {
  const Automaton& ac = filter_.automaton();
  const SymbolMap& symbols = filter_.symbols();
  const auto max_gap = static_cast<uint32_t>(filter_.max_gap());
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  const size_t n = data.size();
  const uint64_t base = released_;  // stream offset of p[0]
  uint64_t* const char_start = char_start_.data();
  size_t i = static_cast<size_t>(scanned_ - base);
  uint32_t state = state_;
  uint32_t gap = gap_;
  uint64_t kept = kept_;
  while (i < n) {
    uint32_t cp = p[i];
    size_t len = 1;
    if (cp >= 0x80) {
      // Valid three-byte sequences (CJK) inline; everything else through DecodeUtf8, which also
      // tells an incomplete sequence from an invalid one.
      if ((cp & 0xF0) == 0xE0 && n - i >= 3 && ((p[i + 1] ^ 0x80u) | (p[i + 2] ^ 0x80u)) < 0x40) {
        const uint32_t v = ((cp & 0x0Fu) << 12) | ((p[i + 1] & 0x3Fu) << 6) | (p[i + 2] & 0x3Fu);
        if (v >= 0x800 && v - 0xD800 >= 0x800) {  // not overlong, not a surrogate
          cp = v;
          len = 3;
        }
      }
      if (len == 1) {
        const int r = DecodeUtf8(p + i, n - i, &cp);
        if (r == 0) break;  // incomplete: wait for the next chunk
        if (r < 0) {
          return Fail(InvalidArgumentError("text is not valid UTF-8 at byte " + std::to_string(base + i)));
        }
        len = static_cast<size_t>(r);
      }
    }
    const uint32_t sym = symbols.Lookup(cp);
    if (sym == SymbolMap::kIgnorable) {  // bridged up to max_gap times, then it separates terms
      if (gap <= max_gap && ++gap > max_gap) state = Automaton::kRoot;
      i += len;
      continue;
    }
    gap = 0;
    char_start[kept & 63] = base + i;
    ++kept;
    state = sym == 0 ? Automaton::kRoot : ac.Next(state, sym);  // symbol 0: in no term
    i += len;
    if (!ac.HasOutput(state)) continue;
    const uint64_t end = base + i;
    bool block = false;
    ac.ForEachMatch(state, [&](uint32_t pattern_id) {
      const WordFilter::Pattern& pat = filter_.pattern(pattern_id);
      const uint64_t start = char_start_[(kept - pat.chars) & 63];
      for (uint32_t cat : filter_.pattern_categories(pat)) {
        if (filter_.category_action(cat) == Action::kBlock) {
          // The leftmost block hit ending here decides the category reported.
          if (!block || start < block_hit_->start) block_hit_ = Hit{cat, Action::kBlock, start, end};
          block = true;
        } else {
          pending_.push_back({start, end, cat});
        }
      }
    });
    if (block) {
      *block_at_end = true;
      break;
    }
  }
  scanned_ = base + i;
  state_ = state;
  gap_ = gap;
  kept_ = kept;
  return Status::Ok();
}

uint64_t FilterStream::WindowStart() const {
  const uint32_t depth = filter_.automaton().DepthChars(state_);
  if (depth == 0) return scanned_;
  return char_start_[(kept_ - depth) & 63];
}

void FilterStream::Resolve(uint64_t limit, FilterOutput& out) {
  if (pending_.empty()) return;
  // Every match starting before `limit` is known (later ones start inside the current window), so
  // these can be chosen leftmost-longest per category now.
  auto ready_end = std::partition(pending_.begin(), pending_.end(), [&](const Match& m) { return m.start < limit; });
  std::sort(pending_.begin(), ready_end, [](const Match& a, const Match& b) {
    if (a.start != b.start) return a.start < b.start;
    if (a.end != b.end) return a.end > b.end;
    return a.category < b.category;
  });
  for (auto it = pending_.begin(); it != ready_end; ++it) {
    if (it->start < last_end_[it->category]) continue;  // overlaps a chosen hit of its category
    last_end_[it->category] = it->end;
    const Action action = filter_.category_action(it->category);
    out.hits.push_back({it->category, action, it->start, it->end});
    if (action != Action::kMask) continue;
    // Chosen starts never decrease, so merging with the last span keeps masks_ sorted.
    if (!masks_.empty() && it->start <= masks_.back().end) {
      masks_.back().end = std::max(masks_.back().end, it->end);
    } else {
      masks_.push_back({it->start, it->end});
    }
  }
  pending_.erase(pending_.begin(), ready_end);
}

void FilterStream::Release(std::string_view data, uint64_t upto, FilterOutput& out) {
  uint64_t pos = released_;
  while (pos < upto) {
    if (!masks_.empty() && masks_.front().start <= pos) {
      const uint64_t e = std::min(masks_.front().end, upto);
      for (uint64_t q = pos; q < e; ++q) {
        if ((static_cast<uint8_t>(data[q - released_]) & 0xC0) != 0x80) out.text += '*';  // one per character
      }
      pos = e;
      if (pos == masks_.front().end) masks_.pop_front();
    } else {
      const uint64_t e = masks_.empty() ? upto : std::min(upto, masks_.front().start);
      out.text.append(data.substr(pos - released_, e - pos));
      pos = e;
    }
  }
  released_ = upto;
}

}  // namespace enclave::wordfilter
