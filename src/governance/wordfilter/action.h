// What a filter does when a term of a category is found. Callers map each lexicon category to one
// of these; the filter never chooses on its own.
#pragma once

#include <string_view>

#include "base/status.h"

namespace enclave::wordfilter {

// Ordered by severity: a text's verdict is the strongest action among its hits.
enum class Action : unsigned char {
  kNone = 0,  // no hit (only as a verdict)
  kFlag,      // release the text unchanged; the hit goes to the audit record
  kMask,      // replace every character of the term's span with '*'
  kBlock,     // release nothing from the term on; the request or stream ends (content_filter)
};

const char* ActionName(Action action);  // "none", "flag", "mask", "block"
// "flag", "mask" or "block" (lowercase); anything else is an error naming the choices.
Result<Action> ParseAction(std::string_view name);

}  // namespace enclave::wordfilter
