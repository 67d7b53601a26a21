// Runtime CPU feature detection (CPUID + XGETBV). This file is compiled without ISA flags so it
// runs on any x86-64; kernels built for wider ISAs are only called when these report support.
#pragma once

#include <string>

namespace enclave {

struct CpuFeatures {
  bool avx2 = false;
  bool fma = false;
  bool f16c = false;
  bool avx512f = false;
  bool avx512bw = false;
  bool avx512vl = false;
  bool avx512dq = false;
  bool avx512vnni = false;
  bool avx512bf16 = false;
  bool avxvnni = false;

  // All of: AVX2, FMA, F16C, OS-enabled YMM state.
  bool HasAvx2Level() const { return avx2 && fma && f16c; }
  // AVX2 level plus AVX-512 F/BW/VL/DQ/VNNI with OS-enabled ZMM state.
  bool HasAvx512Level() const {
    return HasAvx2Level() && avx512f && avx512bw && avx512vl && avx512dq && avx512vnni;
  }
  std::string ToString() const;
};

// Detected once, cached. Thread-safe.
const CpuFeatures& GetCpuFeatures();

}  // namespace enclave
