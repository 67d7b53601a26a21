// Which chat template a CLI command renders with: --chat-template (a built-in name first, then a
// Jinja file), else the model's own, else the built-in of its family with a note on stderr.
#pragma once

#include <string>

#include "base/status.h"
#include "tokenizer/tokenizer.h"

namespace enclave::cli {

Result<std::string> ChooseChatTemplate(const std::string& override_name_or_file, const std::string& model_label,
                                       const tokenizer::Tokenizer& tok);

}  // namespace enclave::cli
