// Runtime choice of the kernel table. Compiled without ISA flags: it only reads CPUID results
// and hands out pointers to tables whose code was compiled for wider ISAs in other files.
#include "base/check.h"
#include "kernels/kernels.h"
#include "platform/cpu_features.h"

namespace enclave::kernels {

const char* IsaName(Isa isa) {
  switch (isa) {
    case Isa::kScalar: return "scalar";
    case Isa::kAvx2: return "avx2";
    case Isa::kAvx512: return "avx512";
  }
  return "unknown";
}

DType VecDotType(DType w) {
  switch (w) {
    case DType::kF32:
    case DType::kF16: return DType::kF32;
    case DType::kBF16: return DType::kBF16;
    case DType::kQ4_0:
    case DType::kQ5_0:
    case DType::kQ8_0: return DType::kQ8_0;
    case DType::kQ4_1:
    case DType::kQ5_1: return DType::kQ8_1;
    case DType::kQ2_K:
    case DType::kQ3_K:
    case DType::kQ4_K:
    case DType::kQ5_K:
    case DType::kQ6_K: return DType::kQ8_K;
    default: return DType::kF32;
  }
}

bool IsMatmulWeightType(DType t) {
  switch (t) {
    case DType::kF32: case DType::kF16: case DType::kBF16:
    case DType::kQ4_0: case DType::kQ4_1: case DType::kQ5_0: case DType::kQ5_1: case DType::kQ8_0:
    case DType::kQ2_K: case DType::kQ3_K: case DType::kQ4_K: case DType::kQ5_K: case DType::kQ6_K:
      return true;
    default:
      return false;
  }
}

bool IsaSupported(Isa isa) {
  const CpuFeatures& f = GetCpuFeatures();
  switch (isa) {
    case Isa::kScalar: return true;
    case Isa::kAvx2: return f.HasAvx2Level();
    case Isa::kAvx512: return f.HasAvx512Level();
  }
  return false;
}

const KernelTable& KernelsFor(Isa isa) {
  ENCLAVE_CHECK(IsaSupported(isa));
  switch (isa) {
    case Isa::kScalar: return RefKernels();
    case Isa::kAvx2: return Avx2Kernels();
    case Isa::kAvx512: return Avx512Kernels();
  }
  return RefKernels();
}

const KernelTable& BestKernels() {
  static const KernelTable& best = [] () -> const KernelTable& {
    if (IsaSupported(Isa::kAvx512)) return Avx512Kernels();
    if (IsaSupported(Isa::kAvx2)) return Avx2Kernels();
    return RefKernels();
  }();
  return best;
}

}  // namespace enclave::kernels
