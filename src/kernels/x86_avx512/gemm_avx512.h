// AVX-512 VNNI panel GEMM kernels (KernelTable::gemm): Q4_K, Q6_K and Q8_0 weights. See GemmKernel in
// kernels/kernels.h for the panel layout's purpose.
#pragma once

#include "kernels/kernels.h"

namespace enclave::kernels::avx512 {

// Sets table->gemm for the weight types that have a panel kernel.
void FillGemmTable(KernelTable* table);

}  // namespace enclave::kernels::avx512
