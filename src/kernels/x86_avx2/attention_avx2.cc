// The attention kernel built for AVX2 + FMA + F16C.
#include "kernels/kernels.h"

#define ENCLAVE_SIMD_NAMESPACE avx2_attention
#define ENCLAVE_SIMD_AVX512 0
#include "kernels/x86_common/attention_x86.h"

namespace enclave::kernels::avx2 {
AttentionFn AttentionKernel() { return avx2_attention::Attend; }
}  // namespace enclave::kernels::avx2
