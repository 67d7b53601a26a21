// PII policies and how each rewrites a text, given the findings of a PiiDetector.
//
//   off          the text passes unchanged (nothing is scanned)
//   mask         each value is partly starred, keeping a type-specific prefix/suffix:
//                110101********1234, 138****8000, a***@example.com (docs/pii-masking.md)
//   placeholder  each value becomes a typed placeholder [ID_CARD_1] recorded in the request's
//                PlaceholderTable; RestorePlaceholders / PlaceholderRestorer map the model's
//                output back (the reversible policy)
//   block        a text holding any finding is refused with an error naming the types and byte
//                ranges found, never the values
//
// For a response under the placeholder policy, run the output through a StreamMasker with the
// mask policy first (values the model made up are masked), then a PlaceholderRestorer (the
// caller's own values come back): placeholders contain nothing a detector matches.
//
// Functions here are thread-safe for distinct tables; error messages never contain values.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "governance/pii/detectors.h"
#include "governance/pii/pii_types.h"
#include "governance/pii/placeholders.h"

namespace enclave::governance::pii {

enum class PiiPolicy { kOff, kMask, kPlaceholder, kBlock };

// "off", "mask", "placeholder", "block".
const char* PiiPolicyName(PiiPolicy policy);
Result<PiiPolicy> ParsePiiPolicy(std::string_view name);

// The masked form of one value found as `type` (kCustom: one '*' per character).
std::string MaskValue(PiiType type, std::string_view value);

// Rewrites `text` under `policy` given its sorted, non-overlapping findings. `table` is needed for
// kPlaceholder (InvalidArgument without one). `base_offset` is added to byte ranges in messages
// (a stream's position). kBlock with findings: InvalidArgument.
Result<std::string> ApplyPolicy(std::string_view text, const std::vector<Finding>& findings,
                                const PiiDetector& detector, PiiPolicy policy, PlaceholderTable* table,
                                size_t base_offset = 0);

struct MaskedText {
  std::string text;
  std::vector<Finding> findings;  // in the input's byte offsets
};

// Scans a whole text and applies `policy`. kOff does not scan (findings stay empty).
Result<MaskedText> MaskText(const PiiDetector& detector, PiiPolicy policy, std::string_view text,
                            PlaceholderTable* table);

}  // namespace enclave::governance::pii
