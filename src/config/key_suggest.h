// "Did you mean" hints for unknown configuration keys and sections. A hint is given only when one
// candidate is an obvious guess: a small typo ("prot"), another spelling ("max-body-mb",
// "maxBodyMb"), the right key in the wrong section ("server.threads"), or a flag's name ("ctx").
// Stateless; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace enclave::config {

// The path ("server.port") of the key most likely meant by `name` under `section` (empty
// `section`: any), preferring keys of that section; "" when none is close enough.
std::string SuggestKey(std::string_view section, std::string_view name);

// The section most likely meant by `section` ("server" for "servr"); "" when none is close.
std::string SuggestSection(std::string_view section);

// Edit distance counting an adjacent swap as one edit (optimal string alignment).
size_t EditDistance(std::string_view a, std::string_view b);

}  // namespace enclave::config
