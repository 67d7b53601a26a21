// The AVX2 kernel table: starts from the reference table and overrides what AVX2 speeds up.
#include "kernels/kernels.h"

namespace enclave::kernels {

const KernelTable& Avx2Kernels() {
  static const KernelTable table = [] {
    KernelTable t = RefKernels();
    t.isa = Isa::kAvx2;
    return t;
  }();
  return table;
}

}  // namespace enclave::kernels
