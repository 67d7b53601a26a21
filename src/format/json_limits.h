// Parsing untrusted JSON with nlohmann::json under limits: bounded nesting depth (its parser is
// recursive) and duplicate keys reported instead of silently keeping the last value.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace enclave {

struct JsonLimits {
  int max_depth = 32;
  // When set, a duplicated key inside an object at this depth (1 = top level) is an error.
  int reject_duplicate_keys_at_depth = 1;
};

// Parses `text`; errors say what is wrong and where ("at byte N"), prefixed by `what`.
Result<nlohmann::json> ParseJsonLimited(std::string_view text, const std::string& what, JsonLimits limits = {});

}  // namespace enclave
