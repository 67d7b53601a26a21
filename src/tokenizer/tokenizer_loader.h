// Loading a Tokenizer from what users bring: a GGUF file (tokenizer.ggml.* metadata), a Hugging
// Face model directory, or a directory holding only tokenizer.json (+ tokenizer_config.json).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"
#include "format/gguf_reader.h"
#include "tokenizer/tokenizer.h"

namespace enclave::tokenizer {

// `path`: a GGUF file or a directory with tokenizer.json.
Result<std::unique_ptr<Tokenizer>> LoadTokenizer(const std::string& path);

Result<std::unique_ptr<Tokenizer>> LoadTokenizerFromGguf(const GgufFile& gguf);
// tokenizer.json text, and tokenizer_config.json text (empty if absent).
Result<std::unique_ptr<Tokenizer>> LoadTokenizerFromHfJson(std::string_view tokenizer_json,
                                                           std::string_view tokenizer_config_json);

}  // namespace enclave::tokenizer
