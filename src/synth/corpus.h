// The built-in text `enclave synth` trains its tokenizer on: a few KB of English, Chinese, code
// and digits, so the tiny vocabulary has merges for all of them. Changing it changes every
// synthetic tokenizer (and so the committed reference fixtures).
#pragma once

#include <string_view>

namespace enclave::synth {

std::string_view TrainingCorpus();

}  // namespace enclave::synth
