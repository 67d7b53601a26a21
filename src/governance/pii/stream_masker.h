// StreamMasker: applies a PII policy to text that arrives in chunks (a prompt read from the
// network, a model's streamed output) and releases as much as is already decided.
//
// After each Push it holds back only the suffix where a value could still begin or change: an
// undecided detector attempt (a trailing digit run, a word that could be an e-mail's local part,
// an unclosed "+86 ..."), any candidate value that would be cut, and an incomplete UTF-8
// character. Built-in attempts read at most internal::kMaxAttemptBytes, so the hold-back stays
// around a few hundred bytes at most; config().max_holdback_bytes is a hard limit beyond which
// the stream fails (only long undecided custom-regex matches get there).
//
// Guarantee: the concatenation of every Push result and Finish equals ApplyPolicy of the whole
// text (MaskText), wherever the chunks were cut; placeholders are numbered in the same order.
//
// Fail closed: after any error (a regex match limit, the hold-back limit, a block) every later
// call returns that error and nothing held back is ever released.
//
// Borrows the detector and the table (both must outlive it). One per stream; not thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "governance/pii/detectors.h"
#include "governance/pii/masker.h"

namespace enclave::governance::pii {

class StreamMasker {
 public:
  // `table` may be null unless the policy is kPlaceholder.
  StreamMasker(const PiiDetector& detector, PiiPolicy policy, PlaceholderTable* table);

  // Text safe to release now (possibly empty).
  Result<std::string> Push(std::string_view chunk);
  // The rest, at the end of the stream. Calling Push after Finish is an error.
  Result<std::string> Finish();

  size_t held_bytes() const { return pending_.size(); }
  // Findings released so far, in byte offsets of the whole input stream.
  const std::vector<Finding>& findings() const { return findings_; }

 private:
  // Bytes of released text kept as left context: the built-in detectors look back at most
  // internal::kMaxLookbehindBytes, custom regexes at most 32 characters (128 bytes of UTF-8).
  static constexpr size_t kContextBytes = 128;

  Result<std::string> Step(bool final);

  const PiiDetector& detector_;
  PiiPolicy policy_;
  PlaceholderTable* table_;
  std::string context_;     // the last released input bytes (at most kContextBytes)
  std::string pending_;     // input not released yet
  size_t released_ = 0;     // input bytes released so far
  std::vector<Finding> findings_;
  Status error_;
  bool finished_ = false;
};

}  // namespace enclave::governance::pii
