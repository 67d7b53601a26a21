#include "governance/pii/detectors.h"

#include <algorithm>

#include <fmt/format.h>

#include "governance/pii/builtin_detectors.h"

namespace enclave::governance::pii {
namespace {

// Bytes at the end of `text` that begin an incomplete UTF-8 sequence (0-3). A stream never
// releases half a character: the rest may arrive in the next chunk.
size_t IncompleteUtf8Tail(std::string_view text) {
  const size_t n = text.size();
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    const auto c = static_cast<uint8_t>(text[n - back]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte: look further back
    size_t need = 1;
    if ((c & 0xE0) == 0xC0) need = 2;
    else if ((c & 0xF0) == 0xE0) need = 3;
    else if ((c & 0xF8) == 0xF0) need = 4;
    return need > back ? back : 0;
  }
  return 0;
}

// Candidates before the resolution: Finding plus the rank that breaks ties.
struct Candidate {
  Finding finding;
  int rank = 0;
};

}  // namespace

Result<uint32_t> ParseTypeList(std::string_view list) {
  uint32_t bits = 0;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string_view::npos) comma = list.size();
    std::string_view item = list.substr(start, comma - start);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item == "all" || item == "ALL") {
      bits |= kAllBuiltinTypes;
    } else if (auto type = BuiltinTypeFromName(item)) {
      bits |= 1u << static_cast<int>(*type);
    } else {
      return InvalidArgumentError(
          fmt::format("unknown PII type '{}' (known: {}, or all)", item, BuiltinTypeList()));
    }
    start = comma + 1;
  }
  return bits;
}

PiiDetector::~PiiDetector() = default;

Result<std::unique_ptr<PiiDetector>> PiiDetector::Create(DetectorConfig config) {
  if ((config.builtin_types & ~kAllBuiltinTypes) != 0) {
    return InvalidArgumentError(fmt::format("unknown built-in PII type bits {:#x}", config.builtin_types));
  }
  if (config.regexes.size() > 1000) return InvalidArgumentError("more than 1000 regex detectors");
  if (config.max_holdback_bytes < internal::kMaxAttemptBytes * 2) {
    return InvalidArgumentError(fmt::format("max_holdback_bytes must be at least {} (the built-in detectors need it)",
                                            internal::kMaxAttemptBytes * 2));
  }
  std::unique_ptr<PiiDetector> d(new PiiDetector());
  for (int i = 0; i < kBuiltinTypeCount; ++i) {
    if (config.builtin_types & (1u << i)) d->builtins_.push_back(static_cast<PiiType>(i));
  }
  for (const RegexDetectorSpec& spec : config.regexes) {
    ASSIGN_OR_RETURN(auto re, RegexDetector::Compile(spec));
    for (const auto& other : d->regexes_) {
      if (other->name() == re->name()) {
        return InvalidArgumentError(fmt::format("two regex detectors are named '{}'", re->name()));
      }
    }
    d->regexes_.push_back(std::move(re));
  }
  d->config_ = std::move(config);
  return d;
}

std::string_view PiiDetector::TypeName(const Finding& finding) const {
  if (finding.type == PiiType::kCustom && finding.custom < regexes_.size()) return regexes_[finding.custom]->name();
  return PiiTypeName(finding.type);
}

Result<std::vector<Finding>> PiiDetector::Scan(std::string_view text) const {
  ASSIGN_OR_RETURN(PartialScan scan, ScanFrom(text, 0, /*final=*/true));
  return std::move(scan.findings);
}

Result<PiiDetector::PartialScan> PiiDetector::ScanFrom(std::string_view text, size_t from, bool final) const {
  if (from > text.size()) return InternalError("PII scan started past the end of its text");
  const internal::ScanText t(text, final);
  std::vector<Candidate> candidates;
  // `open`: the first start whose attempt read past the end of a non-final text. Nothing from
  // there on is decided, so the scan stops there.
  size_t open = text.size();
  for (size_t p = from; p < open; ++p) {
    if (!internal::MayStartBuiltin(t, p)) continue;
    for (size_t i = 0; i < builtins_.size(); ++i) {
      t.BeginAttempt();
      const size_t len = internal::MatchBuiltin(builtins_[i], t, p);
      if (t.AttemptHitEnd()) {
        open = p;
        break;
      }
      if (len > 0) candidates.push_back({{builtins_[i], 0, p, p + len}, static_cast<int>(i)});
    }
  }
  for (size_t r = 0; r < regexes_.size(); ++r) {
    std::vector<RegexDetector::Match> matches;
    RETURN_IF_ERROR(regexes_[r]->FindAll(text, from, open, final, &matches, &open));
    const int rank = static_cast<int>(builtins_.size() + r);
    for (const auto& m : matches) {
      candidates.push_back({{PiiType::kCustom, static_cast<uint16_t>(r), m.start, m.end}, rank});
    }
  }
  // Candidates found before a later detector lowered `open` may start at or after it.
  std::erase_if(candidates, [open](const Candidate& c) { return c.finding.start >= open; });
  std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
    if (a.finding.start != b.finding.start) return a.finding.start < b.finding.start;
    if (a.finding.end != b.finding.end) return a.finding.end > b.finding.end;
    return a.rank < b.rank;
  });

  PartialScan out;
  size_t taken_end = from;
  for (const Candidate& c : candidates) {
    if (c.finding.start < taken_end) continue;
    out.findings.push_back(c.finding);
    taken_end = c.finding.end;
  }
  if (final) {
    out.safe_end = text.size();
    return out;
  }
  // The release point must not cut any candidate, taken or not: a taken one would be split, and
  // an overlapped one could be taken once the scan resumes there (the resumed scan starts fresh).
  size_t safe = std::max(from, std::min(open, text.size() - IncompleteUtf8Tail(text)));
  for (bool moved = true; moved;) {
    moved = false;
    for (const Candidate& c : candidates) {
      if (c.finding.start < safe && c.finding.end > safe) {
        safe = c.finding.start;
        moved = true;
      }
    }
  }
  std::erase_if(out.findings, [safe](const Finding& f) { return f.end > safe; });
  out.safe_end = safe;
  return out;
}

}  // namespace enclave::governance::pii
