// The AVX2 (+FMA, F16C) kernel table: the reference table with SIMD dot products and activation
// quantizers filled in.
#include "kernels/kernels.h"

#define ENCLAVE_SIMD_NAMESPACE avx2
#define ENCLAVE_SIMD_AVX512 0
#include "kernels/x86_common/simd_dot_impl.h"
#include "kernels/x86_common/simd_dot4_impl.h"

namespace enclave::kernels {
namespace avx2 {
AttentionFn AttentionKernel();  // x86_avx2/attention_avx2.cc
}  // namespace avx2

const KernelTable& Avx2Kernels() {
  static const KernelTable table = [] {
    KernelTable t = RefKernels();
    t.isa = Isa::kAvx2;
    avx2::FillTable(&t);
    avx2::FillMultiRowTable(&t);
    t.attention = avx2::AttentionKernel();
    return t;
  }();
  return table;
}

}  // namespace enclave::kernels
