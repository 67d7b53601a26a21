// Side-by-side matrix-vector benchmark: Enclave's kernels against llama.cpp's (ggml-cpu's vec_dot)
// on the same weight bytes, shapes, thread pool and row split, interleaved A/B in one process so
// that the machine's drifting bandwidth affects both alike. The read bandwidth is measured between
// rounds, so each line also gives both kernels' fraction of it.
//
// llama.cpp is loaded at run time from the libggml-cpu.so that `llama-cpp-python` builds
// (scripts/requirements-peer.txt); nothing of it is compiled in. The few declarations below mirror
// ggml-cpu.h's public ABI (struct ggml_type_traits_cpu).
//
// Usage: enclave_peer_bench [--lib DIR] [--threads N] [--rounds R]
#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "kernels/kernels.h"
#include "kernels/matmul.h"
#include "platform/thread_pool.h"
#include "bench_util.h"

namespace {

using namespace enclave;

// ---- the part of ggml-cpu.h we call -------------------------------------------------------
using GgmlFromFloat = void (*)(const float* x, void* y, int64_t k);
using GgmlVecDot = void (*)(int n, float* s, size_t bs, const void* x, size_t bx, const void* y, size_t by, int nrc);
struct GgmlTypeTraitsCpu {
  GgmlFromFloat from_float;
  GgmlVecDot vec_dot;
  int vec_dot_type;  // enum ggml_type
  int64_t nrows;
};
using GetTraitsFn = const GgmlTypeTraitsCpu* (*)(int);
using CpuInitFn = void (*)();

constexpr size_t kStreamBytes = 128ull << 20;
double Seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  std::string lib_dir = std::getenv("LLAMA_CPP_LIB") ? std::getenv("LLAMA_CPP_LIB") : "";
  int threads = 2, rounds = 7;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--lib") lib_dir = argv[i + 1];
    else if (a == "--threads") threads = std::atoi(argv[i + 1]);
    else if (a == "--rounds") rounds = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "usage: %s [--lib DIR] [--threads N] [--rounds R]\n", argv[0]);
      return 2;
    }
  }
  if (lib_dir.empty()) {
    for (const char* cand : {".venv/lib/python3.11/site-packages/llama_cpp/lib",
                             "/tmp/peer/venv/lib/python3.11/site-packages/llama_cpp/lib"}) {
      if (std::filesystem::exists(std::string(cand) + "/libggml-cpu.so")) {
        lib_dir = cand;
        break;
      }
    }
  }
  const std::string base = lib_dir + "/libggml-base.so", cpu = lib_dir + "/libggml-cpu.so";
  if (!dlopen(base.c_str(), RTLD_NOW | RTLD_GLOBAL)) {
    std::fprintf(stderr, "error: cannot load %s (%s). Install the peer with 'scripts/setup.sh --no-build --peer' "
                         "or pass --lib DIR holding libggml-base.so and libggml-cpu.so\n", base.c_str(), dlerror());
    return 1;
  }
  void* h = dlopen(cpu.c_str(), RTLD_NOW | RTLD_GLOBAL);
  if (!h) {
    std::fprintf(stderr, "error: cannot load %s (%s)\n", cpu.c_str(), dlerror());
    return 1;
  }
  auto get_traits = reinterpret_cast<GetTraitsFn>(dlsym(h, "ggml_get_type_traits_cpu"));
  auto cpu_init = reinterpret_cast<CpuInitFn>(dlsym(h, "ggml_cpu_init"));
  if (!get_traits || !cpu_init) {
    std::fprintf(stderr, "error: %s lacks ggml_get_type_traits_cpu / ggml_cpu_init\n", cpu.c_str());
    return 1;
  }
  cpu_init();

  ThreadPool pool(threads);
  const kernels::KernelTable& ours = kernels::BestKernels();
  std::printf("| type | shape (rows x cols) | threads | read bw GB/s | Enclave GB/s | llama.cpp GB/s | Enclave / llama.cpp | Enclave %% of bw | llama.cpp %% of bw |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|\n");
  const std::pair<int64_t, int64_t> shapes[] = {{1536, 8960}, {8960, 1536}, {3584, 18944}, {18944, 3584}};
  for (DType type : {DType::kQ4_K, DType::kQ6_K, DType::kQ8_0, DType::kQ5_K, DType::kQ4_0}) {
    const GgmlTypeTraitsCpu* wt = get_traits(static_cast<int>(type));
    const GgmlTypeTraitsCpu* at = get_traits(wt->vec_dot_type);
    for (auto [rows, cols] : shapes) {
      const size_t row_bytes = *RowBytes(type, cols);
      const size_t matrix_bytes = row_bytes * rows;
      const auto mats = bench::MakeWeightCopies(matrix_bytes, kStreamBytes);
      const size_t copies = mats.size();
      std::mt19937_64 rng(2);
      std::vector<float> x(cols), y(rows);
      for (auto& v : x) v = static_cast<float>(rng() % 1000) / 1000.0f - 0.5f;
      kernels::MatmulWorkspace ws;
      std::vector<uint8_t> act(*RowBytes(static_cast<DType>(wt->vec_dot_type), cols) + 64);
      std::vector<double> t_ours, t_peer, bws;
      size_t c = 0;
      for (int round = 0; round < rounds; ++round) {
        bws.push_back(bench::MeasureReadBandwidth(pool, 3));
        const int iters = static_cast<int>(copies);
        auto t0 = std::chrono::steady_clock::now();
        for (int it = 0; it < iters; ++it, c = (c + 1) % copies) {
          const kernels::WeightMatrix w{type, mats[c].get(), rows, cols, row_bytes};
          kernels::MatVec(ours, pool, w, x.data(), y.data(), ws);
        }
        t_ours.push_back(Seconds(t0) / iters);
        t0 = std::chrono::steady_clock::now();
        for (int it = 0; it < iters; ++it, c = (c + 1) % copies) {
          // llama.cpp's path for one token: quantize the activations once, then vec_dot per row,
          // rows split over the same pool exactly as Enclave's MatVec splits them.
          at->from_float(x.data(), act.data(), cols);
          const uint8_t* m = mats[c].get();
          pool.Run([&](int t, int nt) {
            int64_t b, e;
            ThreadPool::SplitRange(rows, 16, t, nt, &b, &e);
            for (int64_t r = b; r < e; ++r) wt->vec_dot(static_cast<int>(cols), &y[r], 0, m + r * row_bytes, 0, act.data(), 0, 1);
          });
        }
        t_peer.push_back(Seconds(t0) / iters);
      }
      const double bw = Median(bws), ours_bps = matrix_bytes / Median(t_ours), peer_bps = matrix_bytes / Median(t_peer);
      std::printf("| %s | %lldx%lld | %d | %.1f | %.1f | %.1f | %.2f | %.0f%% | %.0f%% |\n", DTypeName(type),
                  static_cast<long long>(rows), static_cast<long long>(cols), threads, bw / 1e9, ours_bps / 1e9,
                  peer_bps / 1e9, ours_bps / peer_bps, 100 * ours_bps / bw, 100 * peer_bps / bw);
      std::fflush(stdout);
    }
  }
  return 0;
}
