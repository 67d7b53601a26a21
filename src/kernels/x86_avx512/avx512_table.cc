// The AVX-512 kernel table: starts from the AVX2 table and overrides what AVX-512 speeds up.
#include "kernels/kernels.h"

namespace enclave::kernels {

const KernelTable& Avx512Kernels() {
  static const KernelTable table = [] {
    KernelTable t = Avx2Kernels();
    t.isa = Isa::kAvx512;
    return t;
  }();
  return table;
}

}  // namespace enclave::kernels
