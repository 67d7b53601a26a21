// PII masking cost: MaskText over a whole text and StreamMasker fed in 4-byte chunks (about one
// token each, as a streamed response arrives), on mixed English/Chinese text with a value every
// ~200 bytes. Counter: bytes per second. For the issue #7 budget (masking + filter <= 5% of
// end-to-end latency at 16 streams), compare with the per-token decode time.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include "governance/pii/detectors.h"
#include "governance/pii/masker.h"
#include "governance/pii/stream_masker.h"

namespace enclave::governance::pii {
namespace {

std::string MixedText(size_t bytes) {
  static const char* kParts[] = {
      "The customer asked about the balance of the account and the next payment date. ",
      "客户询问了账户余额以及下一次还款日期，我们已经记录。", "Contact: 13800138000. ",
      "Reference ID 110101199003074514, card 6222021234567890128. ", "mail zhang.san@example.com; ",
      "Server 192.168.1.1 responded in 12 ms, version 2.4.1. ", "Order 2024-11-30 total 1,234.56 CNY. "};
  std::string text;
  for (size_t i = 0; text.size() < bytes; ++i) text += kParts[(i * 5) % 7];
  return text;
}

const PiiDetector& Detector() {
  static const auto d = std::move(PiiDetector::Create({})).value();
  return *d;
}

void BM_MaskWhole(benchmark::State& state) {
  const std::string text = MixedText(64 << 10);
  for (auto _ : state) {
    auto r = MaskText(Detector(), PiiPolicy::kMask, text, nullptr);
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_MaskWhole);

void BM_MaskStream4(benchmark::State& state) {
  const std::string text = MixedText(64 << 10);
  for (auto _ : state) {
    StreamMasker masker(Detector(), PiiPolicy::kMask, nullptr);
    for (size_t pos = 0; pos < text.size(); pos += 4) {
      auto r = masker.Push(std::string_view(text).substr(pos, 4));
      benchmark::DoNotOptimize(r);
    }
    auto r = masker.Finish();
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_MaskStream4);

}  // namespace
}  // namespace enclave::governance::pii
