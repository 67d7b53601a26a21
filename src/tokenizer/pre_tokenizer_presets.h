// The regex lists of the pre-tokenizers Enclave supports, as llama.cpp and the models'
// tokenizer.json files define them (see DEEPSEEK_SPEC §5.2). Non-ASCII code points are written
// as PCRE2 \x{...} escapes so that no editor or normalisation step can alter them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace enclave::tokenizer {

struct PreTokenizerPreset {
  std::string_view name;
  std::vector<std::string> patterns;
};

const std::vector<PreTokenizerPreset>& PreTokenizerPresets();

}  // namespace enclave::tokenizer
