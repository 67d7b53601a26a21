// UTF-8 validation (RFC 3629: no overlongs, no surrogates, at most U+10FFFF).
#pragma once

#include <string_view>

namespace enclave {

bool IsValidUtf8(std::string_view s);

}  // namespace enclave
