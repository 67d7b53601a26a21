// The AVX-512 kernel table (F/BW/VL/DQ/VNNI, BF16 dot when the CPU has AVX512_BF16): the same
// kernels as AVX2 with VNNI dot products, mask-register bit expansion and 512-bit BF16 dots.
#include "kernels/kernels.h"
#include "kernels/x86_avx512/gemm_avx512.h"

#define ENCLAVE_SIMD_NAMESPACE avx512
#define ENCLAVE_SIMD_AVX512 1
#include "kernels/x86_common/simd_dot_impl.h"
#include "kernels/x86_common/simd_dot4_impl.h"

namespace enclave::kernels {
namespace avx512 {
AttentionFn AttentionKernel();                      // x86_avx512/attention_avx512.cc
void SiluMul(float* gate, const float* up, int64_t n);  // x86_avx512/attention_avx512.cc
}  // namespace avx512

const KernelTable& Avx512Kernels() {
  static const KernelTable table = [] {
    KernelTable t = RefKernels();
    t.isa = Isa::kAvx512;
    avx512::FillTable(&t);
    avx512::FillMultiRowTable(&t);
    avx512::FillGemmTable(&t);
    t.attention = avx512::AttentionKernel();
    t.silu_mul = avx512::SiluMul;
    return t;
  }();
  return table;
}

}  // namespace enclave::kernels
