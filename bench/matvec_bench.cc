// Kernel benchmarks: the machine's read bandwidth, and matrix-vector products per weight type at
// the shapes of DeepSeek-R1-Distill-Qwen-1.5B (1536 x 8960 FFN) and -7B (3584 x 18944 FFN), in
// both orientations (up/gate: rows = n_ff; down: rows = n_embd).
//
// Weights are far larger than the last-level cache: each benchmark cycles through enough copies
// of the matrix to cover >= 4x the LLC, so every iteration streams from DRAM like token
// generation does. Counters: bytes_per_second (weight bytes), and frac_of_read_bw, the fraction
// of the read bandwidth measured by BM_ReadBandwidth with the same thread count.
#include <benchmark/benchmark.h>

#include <cstring>
#include <chrono>
#include <memory>
#include <random>
#include <vector>

#include "kernels/kernels.h"
#include "kernels/matmul.h"
#include "platform/thread_pool.h"
#include "bench_util.h"

namespace enclave::kernels {
namespace {

constexpr size_t kLlcBytes = 32ull << 20;       // this machine's L3; over-estimating is harmless
constexpr size_t kStreamBytes = 4 * kLlcBytes;  // minimum bytes touched per rotation

void BM_ReadBandwidth(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  const size_t bytes = 1ull << 30;
  static const uint8_t* buf = bench::ProbeBuffer(bytes);
  ThreadPool pool(threads);
  for (auto _ : state) TimeReadPass(pool, std::span<const uint8_t>(buf, bytes));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(bytes));
}

struct Shape {
  int64_t rows, cols;
};

void BM_MatVec(benchmark::State& state, DType type, Shape shape) {
  const int threads = static_cast<int>(state.range(0));
  const KernelTable& kernels = BestKernels();
  const size_t row_bytes = *RowBytes(type, shape.cols);
  const size_t matrix_bytes = row_bytes * shape.rows;
  const auto mats = bench::MakeWeightCopies(matrix_bytes, kStreamBytes);
  const size_t copies = mats.size();
  std::vector<float> x(shape.cols, 0.5f), y(shape.rows);
  ThreadPool pool(threads);
  MatmulWorkspace ws;
  const double bw_before = bench::MeasureReadBandwidth(pool, 3);
  size_t c = 0;
  for (auto _ : state) {
    const WeightMatrix w{type, mats[c].get(), shape.rows, shape.cols, row_bytes};
    MatVec(kernels, pool, w, x.data(), y.data(), ws);
    benchmark::DoNotOptimize(y.data());
    c = (c + 1) % copies;
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(matrix_bytes));
  const double bw = 0.5 * (bw_before + bench::MeasureReadBandwidth(pool, 3));
  state.counters["read_bw"] = benchmark::Counter(bw, benchmark::Counter::kDefaults, benchmark::Counter::kIs1024);
  state.counters["frac_of_read_bw"] = benchmark::Counter(
      static_cast<double>(matrix_bytes) / bw, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(std::string(IsaName(kernels.isa)));
}

void RegisterAll() {
  const DType types[] = {DType::kQ4_K, DType::kQ6_K, DType::kQ8_0, DType::kQ5_K, DType::kQ4_0, DType::kQ4_1,
                         DType::kQ5_0, DType::kQ5_1, DType::kQ2_K, DType::kQ3_K, DType::kF16, DType::kBF16,
                         DType::kF32};
  const std::pair<const char*, Shape> shapes[] = {
      {"1536x8960", {1536, 8960}},    // 1.5B down_proj: rows = n_embd
      {"8960x1536", {8960, 1536}},    // 1.5B up/gate
      {"3584x18944", {3584, 18944}},  // 7B down_proj
      {"18944x3584", {18944, 3584}},  // 7B up/gate
  };
  benchmark::RegisterBenchmark("BM_ReadBandwidth", BM_ReadBandwidth)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
  for (DType t : types) {
    for (const auto& [name, shape] : shapes) {
      benchmark::RegisterBenchmark((std::string("BM_MatVec/") + DTypeName(t) + "/" + name).c_str(),
                                   [t, shape = shape](benchmark::State& s) { BM_MatVec(s, t, shape); })
          ->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMicrosecond);
    }
  }
}

const bool kRegistered = (RegisterAll(), true);

}  // namespace
}  // namespace enclave::kernels
