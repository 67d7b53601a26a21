// libFuzzer target: PII detection and masking on arbitrary bytes. Invariants: no crash; findings
// sorted, non-overlapping and inside the text; streaming the text in chunks (sizes taken from the
// input) releases exactly what masking it whole gives, under the mask and placeholder policies;
// placeholders restore to the original text.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "governance/pii/detectors.h"
#include "governance/pii/masker.h"
#include "governance/pii/stream_masker.h"

namespace pii = enclave::governance::pii;

namespace {

const pii::PiiDetector& Detector() {
  static const auto d = [] {
    pii::DetectorConfig config;
    config.regexes = {{"EMPLOYEE_ID", "EMP-[0-9]{6}"}, {"CASE", "(?<![A-Z])CASE#[0-9]{1,8}\\b"}};
    auto r = pii::PiiDetector::Create(config);
    if (!r.ok()) std::abort();
    return std::move(r).value();
  }();
  return *d;
}

void CheckStreaming(std::string_view text, uint8_t seed, pii::PiiPolicy policy) {
  pii::PlaceholderTable whole_table;
  auto whole = pii::MaskText(Detector(), policy, text, &whole_table);
  if (!whole.ok()) std::abort();  // built-ins never fail; these regexes stay under the match limit
  pii::PlaceholderTable table;
  pii::StreamMasker masker(Detector(), policy, &table);
  std::string out;
  size_t pos = 0;
  uint32_t state = seed;
  while (pos < text.size()) {
    state = state * 1103515245u + 12345u;
    const size_t n = std::min<size_t>(text.size() - pos, (state >> 16) % 9);
    auto r = masker.Push(text.substr(pos, n));
    if (!r.ok()) std::abort();
    out += *r;
    pos += n;
  }
  auto r = masker.Finish();
  if (!r.ok()) std::abort();
  out += *r;
  if (out != whole->text || masker.findings() != whole->findings) std::abort();
  if (policy == pii::PiiPolicy::kPlaceholder && text.find('[') == std::string_view::npos &&
      pii::RestorePlaceholders(out, table) != text) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t seed = data[0];
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto findings = Detector().Scan(text);
  if (!findings.ok()) std::abort();
  size_t prev_end = 0;
  for (const pii::Finding& f : *findings) {
    if (f.start < prev_end || f.start >= f.end || f.end > text.size()) std::abort();
    prev_end = f.end;
  }
  CheckStreaming(text, seed, pii::PiiPolicy::kMask);
  CheckStreaming(text, seed, pii::PiiPolicy::kPlaceholder);
  return 0;
}
