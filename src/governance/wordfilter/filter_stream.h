// Filtering text that arrives in pieces (streamed model output), releasing as early as is safe.
//
// Push(chunk) scans the new bytes and releases everything before the earliest position where a
// term could still start: the start of the automaton's current partial match (at most
// max_term_chars characters with up to max_gap ignorable code points after each), and an
// incomplete UTF-8 tail. So a term split across chunks is still caught, at most
// WordFilter::MaxHeldBytes() bytes are held back, and the concatenated released text equals what
// WordFilter::Filter gives for the whole text, however the text is cut (tests split it at every
// byte).
//
// Fail closed: invalid UTF-8 is an error, after which every call returns that error and nothing
// more is released; a block hit ends the stream (out.blocked), after which calls release nothing
// and return the same block hit. Finish() after the last chunk releases the rest; a text ending
// inside a UTF-8 sequence is an error.
//
// One FilterStream per stream; not thread-safe. The WordFilter must outlive it.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "governance/wordfilter/word_filter.h"

namespace enclave::wordfilter {

class FilterStream {
 public:
  explicit FilterStream(const WordFilter& filter);

  Result<FilterOutput> Push(std::string_view chunk);
  Result<FilterOutput> Finish();

  size_t held_bytes() const { return held_.size(); }  // scanned or not, not yet released
  bool ended() const { return finished_ || blocked_.has_value() || !error_.ok(); }

 private:
  struct Match {
    uint64_t start;
    uint64_t end;
    uint32_t category;
  };
  struct Span {
    uint64_t start;
    uint64_t end;
  };

  // Scans `data` (the stream from released_ on: held_, or the chunk when nothing was held) from
  // scanned_ up to an incomplete UTF-8 tail, or up to and including the first character that
  // completes a block term (then *block_at_end is set and block_hit_ filled).
  Status Scan(std::string_view data, bool* block_at_end);
  // Byte offset where the current partial match starts (scanned_ when there is none).
  uint64_t WindowStart() const;
  // Decides every pending match starting before `limit`; appends chosen hits to out.
  void Resolve(uint64_t limit, FilterOutput& out);
  // Appends the bytes of `data` (as for Scan) before stream offset `upto` to out.text, masked, and
  // advances released_; the caller drops them from held_.
  void Release(std::string_view data, uint64_t upto, FilterOutput& out);
  Status Fail(Status status);

  const WordFilter& filter_;
  std::string held_;       // stream bytes [released_, released_ + held_.size())
  uint64_t released_ = 0;  // stream offset of held_[0]
  uint64_t scanned_ = 0;   // stream offset up to which characters have been scanned
  uint32_t state_ = Automaton::kRoot;
  uint32_t gap_ = 0;       // consecutive ignorable code points just scanned
  uint64_t kept_ = 0;      // characters (non-ignorable code points) scanned so far
  // Stream offset of the first byte of each of the last 64 characters (kMaxTermChars <= 64).
  std::array<uint64_t, 64> char_start_{};
  std::vector<Match> pending_;      // found, not yet decided (all start >= the window start)
  std::vector<uint64_t> last_end_;  // per category: end of its last chosen hit
  std::deque<Span> masks_;          // chosen mask spans not fully released; sorted, disjoint
  std::optional<Hit> block_hit_;    // found by Scan in this call
  std::optional<Hit> blocked_;      // the stream was ended by this block hit
  Status error_;
  bool finished_ = false;
};

}  // namespace enclave::wordfilter
