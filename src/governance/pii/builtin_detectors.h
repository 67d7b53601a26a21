// The built-in detectors as match functions: each tries to match one value starting exactly at a
// position and returns its length (0: no value starts there). Internal to the pii library.
//
// Every function reads the text only through ScanText, which records whether a match attempt
// looked past the end of the text seen so far. In a stream that attempt is still undecided (more
// bytes could complete it, extend it or refute it), which is how the scanner knows what to hold
// back. Each attempt reads a bounded number of bytes (at most kMaxAttemptBytes), so hold-back is
// bounded too. Attempts look back at most one byte (the left boundary).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "governance/pii/pii_types.h"

namespace enclave::governance::pii::internal {

// The most bytes one attempt reads from its start: an e-mail address (64-byte local part, '@', a
// domain that may overrun 253 bytes by one 63-byte label before it is refused) plus lookahead.
inline constexpr size_t kMaxAttemptBytes = 64 + 1 + 253 + 64 + 2;

inline constexpr size_t kMaxLookbehindBytes = 5;

class ScanText {
 public:
  // final: the text ends here (a whole text, or the end of a stream); otherwise more may follow.
  ScanText(std::string_view text, bool final) : text_(text), final_(final) {}

  // The byte at i (0..255), or -1 past the end; in a non-final text reading past the end marks the
  // current attempt undecided.
  int At(size_t i) const {
    if (i < text_.size()) return static_cast<uint8_t>(text_[i]);
    if (!final_) hit_end_ = true;
    return -1;
  }
  // The byte before i, or -1 at the start of the text.
  int Before(size_t i) const { return Back(i, 1); }
  // The byte k positions before i (k <= kMaxLookbehindBytes), or -1 before the start of the text.
  int Back(size_t i, size_t k) const { return k > i ? -1 : static_cast<uint8_t>(text_[i - k]); }
  std::string_view Slice(size_t start, size_t end) const { return text_.substr(start, end - start); }
  size_t size() const { return text_.size(); }

  void BeginAttempt() const { hit_end_ = false; }
  bool AttemptHitEnd() const { return hit_end_; }

 private:
  std::string_view text_;
  bool final_;
  mutable bool hit_end_ = false;
};

inline bool IsDigit(int c) { return c >= '0' && c <= '9'; }
inline bool IsAlpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
inline bool IsAlnum(int c) { return IsDigit(c) || IsAlpha(c); }
inline bool IsHex(int c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// Length of the value of `type` (a built-in type) starting at p, or 0.
size_t MatchBuiltin(PiiType type, const ScanText& t, size_t p);

// Whether any built-in detector can start at p (a cheap filter run on every byte).
bool MayStartBuiltin(const ScanText& t, size_t p);

// Strict textual IPv4 / IPv6 validation of a whole string (exposed for tests).
bool IsIpv4Text(std::string_view s);
bool IsIpv6Text(std::string_view s);

}  // namespace enclave::governance::pii::internal
