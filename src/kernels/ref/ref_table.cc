// The scalar reference kernel table.
#include "kernels/kernels.h"

namespace enclave::kernels {

const KernelTable& RefKernels() {
  static const KernelTable table = [] {
    KernelTable t;
    t.isa = Isa::kScalar;
    return t;
  }();
  return table;
}

}  // namespace enclave::kernels
