// PiiDetector: finds personal data in text with the built-in validated detectors and any
// configured regex detectors. Built once from a DetectorConfig (e.g. per server route), then
// immutable: Scan and ScanFrom are const and safe to call from many threads at once.
//
// Findings are resolved leftmost-longest: candidates are taken in order of start; at one start
// the longest wins, then the type that comes first in PiiType (custom detectors last, in
// configuration order); a candidate overlapping one already taken is dropped. The result is
// sorted, non-overlapping and inside the text. Offsets are bytes.
//
// docs/pii-masking.md lists the exact rules of every detector.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "governance/pii/pii_types.h"
#include "governance/pii/regex_detector.h"

namespace enclave::governance::pii {

struct DetectorConfig {
  uint32_t builtin_types = kAllBuiltinTypes;  // bit (1 << PiiType) per enabled built-in detector
  std::vector<RegexDetectorSpec> regexes;
  // A stream that must hold back more than this (only a custom regex with a long undecided match
  // can) fails closed with ResourceExhausted.
  size_t max_holdback_bytes = 4096;
};

// Parses "ID_CARD,EMAIL" (case-insensitive; "all" for every type) into DetectorConfig bits.
Result<uint32_t> ParseTypeList(std::string_view list);

class PiiDetector {
 public:
  static Result<std::unique_ptr<PiiDetector>> Create(DetectorConfig config);
  ~PiiDetector();

  // Every finding in a whole text. Errors come only from custom regexes (match limits).
  Result<std::vector<Finding>> Scan(std::string_view text) const;

  struct PartialScan {
    std::vector<Finding> findings;  // all inside [from, safe_end)
    size_t safe_end = 0;            // text[from..safe_end) is decided; final: the whole text
  };
  // Scans text[from..), with text[0..from) as already-released left context (it gives boundaries
  // and lookbehind; nothing found there is reported). When not `final`, stops at the first byte
  // where a value could still begin or change with more input: the findings before safe_end are
  // exactly those a scan of the complete text would report there, whatever follows.
  Result<PartialScan> ScanFrom(std::string_view text, size_t from, bool final) const;

  // "ID_CARD", ..., or the custom detector's upper-case name.
  std::string_view TypeName(const Finding& finding) const;
  const DetectorConfig& config() const { return config_; }

 private:
  PiiDetector() = default;
  DetectorConfig config_;
  std::vector<PiiType> builtins_;  // enabled built-ins, in priority order
  std::vector<std::unique_ptr<RegexDetector>> regexes_;
};

}  // namespace enclave::governance::pii
