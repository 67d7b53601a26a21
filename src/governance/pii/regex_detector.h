// A configured detector: a name and a PCRE2 pattern, compiled once (UTF-8, JIT when available).
// Immutable after Compile and safe to use from many threads at once (match data is per call).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace enclave::governance::pii {

struct RegexDetectorSpec {
  std::string name;     // [A-Za-z][A-Za-z0-9_]{0,31}; upper-cased it names placeholders: [NAME_1]
  std::string pattern;  // PCRE2 syntax, UTF-8
};

// Parses "NAME=PATTERN" (the --regex flag form).
Result<RegexDetectorSpec> ParseRegexSpec(std::string_view flag);

class RegexDetector {
 public:
  // Errors name the detector, and for a bad pattern the byte offset PCRE2 reports.
  static Result<std::unique_ptr<RegexDetector>> Compile(const RegexDetectorSpec& spec);
  ~RegexDetector();
  RegexDetector(const RegexDetector&) = delete;
  RegexDetector& operator=(const RegexDetector&) = delete;

  // Upper-case name, e.g. "EMPLOYEE_ID".
  const std::string& name() const { return name_; }

  struct Match {
    size_t start = 0;
    size_t end = 0;
  };
  // Successive non-empty leftmost matches in text[from..) (each search resumes at the previous
  // match's end; text[0..from) is context for lookbehind and \b). Searching stops at a match
  // starting at or after `stop`. When not `final`, a match that would need bytes past the end is
  // undecided: *open_start is set to where it starts and searching stops. Errors (match limits)
  // are returned, never ignored: the caller must fail closed.
  Status FindAll(std::string_view text, size_t from, size_t stop, bool final, std::vector<Match>* out,
                 size_t* open_start) const;

 private:
  RegexDetector() = default;
  struct Impl;
  std::string name_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace enclave::governance::pii
