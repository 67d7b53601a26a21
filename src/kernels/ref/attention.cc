// The portable attention kernel (kernels/attention_impl.h) compiled without ISA flags: the
// reference table's entry and the oracle for the SIMD builds of the same code. Also the
// reference SwiGLU activation.
#include <cmath>
#include <cstring>
#include <vector>

#include "base/half.h"
#include "kernels/ref/ref_kernels.h"

#define ENCLAVE_SIMD_NAMESPACE ref_attention
#include "kernels/attention_impl.h"

namespace enclave::kernels::ref {

namespace {

struct ScalarOps {
  static void ConvertRow(DType type, const uint8_t* src, float* dst, int n) {
    if (type == DType::kF16) {
      for (int i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        dst[i] = Fp16ToF32(h);
      }
    } else {
      std::memcpy(dst, src, sizeof(float) * n);
    }
  }
  static void LoadKeysTransposed(DType type, const uint8_t* const* keys, int count, int k_dim, float* kt) {
    std::vector<float> row(k_dim);
    ref_attention::TransposeKeysGeneric<ScalarOps>(type, keys, count, k_dim, kt, row.data());
  }
};

}  // namespace

void Attend(const AttentionItem& item) { ref_attention::AttendItem<ScalarOps>(item); }

void SiluMul(float* gate, const float* up, int64_t n) {
  for (int64_t i = 0; i < n; ++i) gate[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

}  // namespace enclave::kernels::ref
