// Tokenizer encode throughput on the committed corpus (tests/fixtures/tokenizer/corpus.json),
// single thread, with the real DeepSeek-V3 tokenizer. Run from the repository root (or set
// ENCLAVE_SOURCE_DIR). bench/peer/tokenizers_throughput.py puts Hugging Face `tokenizers` beside it.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tokenizer/tokenizer_loader.h"

namespace {

std::string Root() {
  const char* r = std::getenv("ENCLAVE_SOURCE_DIR");
  return r ? std::string(r) + "/" : std::string();
}

void BM_EncodeCorpus(benchmark::State& state) {
  auto tok = enclave::tokenizer::LoadTokenizer(Root() + "tests/fixtures/tokenizer/deepseek-v3");
  if (!tok.ok()) {
    state.SkipWithError(tok.status().message().c_str());
    return;
  }
  std::ifstream in(Root() + "tests/fixtures/tokenizer/corpus.json");
  std::stringstream ss;
  ss << in.rdbuf();
  std::vector<std::string> texts;
  for (const auto& c : nlohmann::json::parse(ss.str())) texts.push_back(c["text"]);
  size_t bytes = 0, tokens = 0;
  for (auto _ : state) {
    for (const auto& t : texts) {
      auto ids = (*tok)->Encode(t);
      tokens += ids->size();
      bytes += t.size();
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.counters["tokens_per_second"] = benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_EncodeCorpus)->Unit(benchmark::kMillisecond);

}  // namespace
