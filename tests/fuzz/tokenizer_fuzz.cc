// libFuzzer target: the DeepSeek-V3 tokenizer's encoder on arbitrary bytes. Invalid UTF-8 must be
// rejected cleanly; valid UTF-8 must round-trip through decode.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "format/utf8.h"
#include "tokenizer/tokenizer_loader.h"

namespace {

const enclave::tokenizer::Tokenizer* Get() {
  static std::unique_ptr<enclave::tokenizer::Tokenizer> t = [] {
    const char* dir = std::getenv("ENCLAVE_FUZZ_TOKENIZER");
    auto r = enclave::tokenizer::LoadTokenizer(dir ? dir : "tests/fixtures/tokenizer/deepseek-v3");
    if (!r.ok()) {
      std::fprintf(stderr, "tokenizer_fuzz: %s (run from the repository root or set ENCLAVE_FUZZ_TOKENIZER)\n",
                   r.status().message().c_str());
      std::abort();
    }
    return std::move(r).value();
  }();
  return t.get();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto ids = Get()->Encode(text, true);
  if (!enclave::IsValidUtf8(text)) {
    if (ids.ok()) std::abort();  // invalid UTF-8 must be an error
    return 0;
  }
  if (!ids.ok()) std::abort();
  auto back = Get()->DecodeBytes(*ids, /*skip_special=*/true);
  if (!back.ok()) std::abort();
  // Special tokens written in the text decode to themselves; skip_special drops only the BOS we added.
  auto full = Get()->DecodeBytes(*ids, false);
  if (!full.ok() || full->size() < text.size() || full->compare(full->size() - text.size(), text.size(), text) != 0) {
    std::abort();
  }
  return 0;
}
