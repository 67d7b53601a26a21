// KernelTable::attention on the shapes of the 1.5B model (head size 128, 6 query heads per KV
// head, F16 cache): a decode item (1 token: 6 queries) and a prefill item (16 tokens: 96 queries)
// over a cache of `keys` positions, single thread, keys scattered in 16-token blocks as in the
// paged cache. Counter: keys per second (one key = one position of one KV head). The third argument
// is how many layers' caches the iterations rotate through: 28 (the model's) makes every call read
// its keys and values from DRAM, as a decoded token does.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "base/half.h"
#include "kernels/kernels.h"

namespace enclave::kernels {
namespace {

void BM_Attention(benchmark::State& state) {
  const int tokens = static_cast<int>(state.range(0));
  const int keys = static_cast<int>(state.range(1));
  const int layers = static_cast<int>(state.range(2));
  constexpr int kHead = 128, kGroup = 6, kBlock = 16;
  const int n_queries = tokens * kGroup;
  std::mt19937 rng(3);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  // The cache as blocks of 16 rows of 2 KV heads, in shuffled block order.
  const int n_blocks = (keys + kBlock - 1) / kBlock;
  const size_t layer_elems = static_cast<size_t>(n_blocks) * kBlock * 2 * kHead;
  std::vector<uint16_t> k_pool(layer_elems * layers), v_pool(k_pool.size());
  for (auto& h : k_pool) h = F32ToFp16(dist(rng));
  for (auto& h : v_pool) h = F32ToFp16(dist(rng));
  std::vector<int> order(n_blocks);
  for (int i = 0; i < n_blocks; ++i) order[i] = (i * 7) % n_blocks;
  std::vector<const uint8_t*> kp(static_cast<size_t>(keys) * layers), vp(kp.size());
  for (int l = 0; l < layers; ++l) {
    for (int p = 0; p < keys; ++p) {
      const size_t row = l * layer_elems + (static_cast<size_t>(order[p / kBlock]) * kBlock + p % kBlock) * 2 * kHead;
      kp[static_cast<size_t>(l) * keys + p] = reinterpret_cast<const uint8_t*>(k_pool.data() + row);
      vp[static_cast<size_t>(l) * keys + p] = reinterpret_cast<const uint8_t*>(v_pool.data() + row);
    }
  }
  std::vector<float> q(static_cast<size_t>(n_queries) * kHead), out(q.size());
  for (auto& x : q) x = dist(rng);
  std::vector<const float*> qs(n_queries);
  std::vector<float*> os(n_queries);
  std::vector<int32_t> last(n_queries);
  for (int i = 0; i < n_queries; ++i) {
    qs[i] = q.data() + i * kHead;
    os[i] = out.data() + i * kHead;
    last[i] = keys - tokens + i / kGroup;
  }
  std::vector<float> scratch(AttentionScratchFloats(n_queries, kHead, kHead));
  AttentionItem item;
  item.n_queries = n_queries;
  item.queries = qs.data();
  item.outputs = os.data();
  item.last_key = last.data();
  item.k_dim = item.v_dim = kHead;
  item.scale = 0.088f;
  item.kv_type = DType::kF16;
  item.keys = kp.data();
  item.values = vp.data();
  item.scratch = scratch.data();
  const KernelTable& k = BestKernels();
  int layer = 0;
  for (auto _ : state) {
    item.keys = kp.data() + static_cast<size_t>(layer) * keys;
    item.values = vp.data() + static_cast<size_t>(layer) * keys;
    layer = (layer + 1) % layers;
    k.attention(item);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["keys/s"] = benchmark::Counter(static_cast<double>(keys), benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(IsaName(k.isa));
}

BENCHMARK(BM_Attention)->Args({1, 1024, 1})->Args({1, 1024, 28})->Args({16, 1024, 1})->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace enclave::kernels
