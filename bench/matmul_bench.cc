// Prefill-shaped matrix-matrix products: Y[N, M] = X[N, K] W[M, K]^T with N = 16 or 64 tokens (a
// decode batch of the server, a prefill chunk), at the
// 1.5B FFN shapes, three ways: the best table as shipped (panel GEMM where the type has one), the
// same table without panel kernels (4-activation-row dot products), and without those either (one
// vec_dot per token and weight row). Prefill is
// compute-bound, so the counter that matters is tokens per second; both variants run in the same
// process so their ratio is meaningful on a noisy machine.
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "bench_util.h"
#include "kernels/kernels.h"
#include "kernels/matmul.h"
#include "platform/thread_pool.h"

namespace enclave::kernels {
namespace {

enum class Variant { kPanel, kFourRow, kOneRow };
const char* VariantName(Variant v) { return v == Variant::kPanel ? "panel" : v == Variant::kFourRow ? "x4" : "x1"; }

const KernelTable& TableFor(Variant v) {
  static const KernelTable four_row = [] {
    KernelTable t = BestKernels();
    for (auto& g : t.gemm) g = GemmKernel{};
    return t;
  }();
  static const KernelTable one_row = [] {
    KernelTable t = four_row;
    for (auto& fn : t.vec_dot_x4) fn = nullptr;
    return t;
  }();
  return v == Variant::kPanel ? BestKernels() : v == Variant::kFourRow ? four_row : one_row;
}

void BM_MatMul(benchmark::State& state, DType type, int64_t rows, int64_t cols, int64_t kTokens, Variant variant) {
  const int threads = static_cast<int>(state.range(0));
  const KernelTable& kernels = TableFor(variant);
  const size_t row_bytes = *RowBytes(type, cols);
  // One copy: each weight row is reused by all tokens, so DRAM traffic is not the limit here.
  const auto mats = bench::MakeWeightCopies(row_bytes * rows, 0);
  std::vector<float> x(kTokens * cols), y(kTokens * rows);
  std::mt19937 rng(5);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  for (auto& v : x) v = dist(rng);
  ThreadPool pool(threads);
  MatmulWorkspace ws;
  const WeightMatrix w{type, mats[0].get(), rows, cols, row_bytes};
  for (auto _ : state) {
    MatMul(kernels, pool, w, x.data(), kTokens, y.data(), ws);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["tok/s"] = benchmark::Counter(static_cast<double>(kTokens), benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(std::string(IsaName(kernels.isa)) + " " + VariantName(variant));
}

void RegisterAll() {
  const DType types[] = {DType::kQ4_K, DType::kQ6_K, DType::kQ8_0, DType::kQ5_0};
  const std::pair<const char*, std::pair<int64_t, int64_t>> shapes[] = {
      {"1536x8960", {1536, 8960}},
      {"8960x1536", {8960, 1536}},
  };
  for (DType t : types) {
    for (const auto& [name, shape] : shapes) {
      for (int64_t n : {16, 64}) {
        for (Variant v : {Variant::kPanel, Variant::kFourRow, Variant::kOneRow}) {
          const std::string bench_name = std::string("BM_MatMul/") + DTypeName(t) + "/" + name + "/n" +
                                         std::to_string(n) + "/" + VariantName(v);
          benchmark::RegisterBenchmark(bench_name.c_str(), [t, shape = shape, n, v](benchmark::State& s) {
            BM_MatMul(s, t, shape.first, shape.second, n, v);
          })->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
        }
      }
    }
  }
}

const bool kRegistered = (RegisterAll(), true);

}  // namespace
}  // namespace enclave::kernels
