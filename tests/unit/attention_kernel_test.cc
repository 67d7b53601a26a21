// KernelTable::attention (one-pass "online softmax" over 16-key chunks) against a direct two-pass
// softmax in double, for every ISA: F16 and F32 keys, queries with different causal limits in one
// item (some ending inside a chunk, some before the item's last chunk), head sizes that are and
// are not multiples of 16, and separate key and value sizes.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "base/half.h"
#include "kernels/kernels.h"

namespace enclave::kernels {
namespace {

struct Case {
  DType kv_type;
  int k_dim, v_dim, n_queries;
  std::vector<int32_t> last_key;
};

void CheckCase(const KernelTable& k, const Case& c, std::mt19937_64& rng) {
  std::normal_distribution<float> dist(0.0f, 1.0f);
  int32_t max_key = 0;
  for (int32_t l : c.last_key) max_key = std::max(max_key, l);
  const int n_keys = max_key + 1;
  const size_t elem = c.kv_type == DType::kF16 ? 2 : 4;
  std::vector<float> kf(n_keys * c.k_dim), vf(n_keys * c.v_dim);
  for (auto& x : kf) x = dist(rng);
  for (auto& x : vf) x = dist(rng);
  std::vector<uint8_t> kb(kf.size() * elem), vb(vf.size() * elem);
  auto store = [&](const std::vector<float>& f, std::vector<uint8_t>& b, std::vector<float>& exact) {
    exact = f;
    for (size_t i = 0; i < f.size(); ++i) {
      if (c.kv_type == DType::kF16) {
        const uint16_t h = F32ToFp16(f[i]);
        std::memcpy(&b[2 * i], &h, 2);
        exact[i] = Fp16ToF32(h);
      } else {
        std::memcpy(&b[4 * i], &f[i], 4);
      }
    }
  };
  std::vector<float> ke, ve;
  store(kf, kb, ke);
  store(vf, vb, ve);
  std::vector<const uint8_t*> keys(n_keys), values(n_keys);
  for (int p = 0; p < n_keys; ++p) {
    keys[p] = kb.data() + p * c.k_dim * elem;
    values[p] = vb.data() + p * c.v_dim * elem;
  }
  std::vector<float> q(c.n_queries * c.k_dim), out(c.n_queries * c.v_dim, NAN);
  for (auto& x : q) x = dist(rng) * 2.0f;
  std::vector<const float*> qp(c.n_queries);
  std::vector<float*> op(c.n_queries);
  for (int i = 0; i < c.n_queries; ++i) {
    qp[i] = q.data() + i * c.k_dim;
    op[i] = out.data() + i * c.v_dim;
  }
  std::vector<float> scratch(AttentionScratchFloats(c.n_queries, c.k_dim, c.v_dim));
  AttentionItem item;
  item.n_queries = c.n_queries;
  item.queries = qp.data();
  item.outputs = op.data();
  item.last_key = c.last_key.data();
  item.k_dim = c.k_dim;
  item.v_dim = c.v_dim;
  item.scale = 1.0f / std::sqrt(static_cast<float>(c.k_dim));
  item.kv_type = c.kv_type;
  item.keys = keys.data();
  item.values = values.data();
  item.scratch = scratch.data();
  k.attention(item);
  for (int i = 0; i < c.n_queries; ++i) {
    const int n = c.last_key[i] + 1;
    std::vector<double> s(n);
    double mx = -INFINITY;
    for (int p = 0; p < n; ++p) {
      double dot = 0;
      for (int d = 0; d < c.k_dim; ++d) dot += static_cast<double>(q[i * c.k_dim + d]) * ke[p * c.k_dim + d];
      s[p] = dot * item.scale;
      mx = std::max(mx, s[p]);
    }
    double sum = 0;
    for (double& x : s) sum += (x = std::exp(x - mx));
    for (int d = 0; d < c.v_dim; ++d) {
      double expect = 0;
      for (int p = 0; p < n; ++p) expect += s[p] / sum * ve[p * c.v_dim + d];
      ASSERT_NEAR(out[i * c.v_dim + d], expect, 2e-5)
          << IsaName(k.isa) << " " << DTypeName(c.kv_type) << " k_dim=" << c.k_dim << " query " << i
          << " (last key " << c.last_key[i] << ") dim " << d;
    }
  }
}

TEST(AttentionKernelTest, MatchesTwoPassSoftmax) {
  std::mt19937_64 rng(21);
  std::vector<Case> cases;
  for (DType t : {DType::kF16, DType::kF32}) {
    cases.push_back({t, 128, 128, 12, {0, 0, 5, 5, 15, 15, 16, 16, 40, 40, 47, 47}});
    cases.push_back({t, 64, 64, 3, {99, 3, 64}});
    cases.push_back({t, 24, 24, 4, {17, 0, 31, 32}});  // not a multiple of 16
    cases.push_back({t, 192, 128, 2, {70, 33}});         // MLA-like: keys wider than values
  }
  for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512}) {
    if (!IsaSupported(isa)) continue;
    for (const Case& c : cases) CheckCase(KernelsFor(isa), c, rng);
  }
}

}  // namespace
}  // namespace enclave::kernels
