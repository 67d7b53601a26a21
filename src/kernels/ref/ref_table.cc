// The scalar reference kernel table.
#include "kernels/kernels.h"
#include "kernels/ref/ref_kernels.h"

namespace enclave::kernels {

const KernelTable& RefKernels() {
  static const KernelTable table = [] {
    KernelTable t;
    t.isa = Isa::kScalar;
    auto set = [&t](DType type, DequantizeRowFn deq, VecDotFn dot) {
      t.dequantize_row[static_cast<uint32_t>(type)] = deq;
      t.vec_dot[static_cast<uint32_t>(type)] = dot;
    };
    set(DType::kF32, ref::DequantizeF32, ref::DotF32);
    set(DType::kF16, ref::DequantizeF16, ref::DotF16);
    set(DType::kBF16, ref::DequantizeBF16, ref::DotBF16);
    set(DType::kQ4_0, ref::DequantizeQ4_0, ref::DotQ4_0);
    set(DType::kQ4_1, ref::DequantizeQ4_1, ref::DotQ4_1);
    set(DType::kQ5_0, ref::DequantizeQ5_0, ref::DotQ5_0);
    set(DType::kQ5_1, ref::DequantizeQ5_1, ref::DotQ5_1);
    set(DType::kQ8_0, ref::DequantizeQ8_0, ref::DotQ8_0);
    set(DType::kQ8_1, ref::DequantizeQ8_1, nullptr);
    set(DType::kQ2_K, ref::DequantizeQ2_K, ref::DotQ2_K);
    set(DType::kQ3_K, ref::DequantizeQ3_K, ref::DotQ3_K);
    set(DType::kQ4_K, ref::DequantizeQ4_K, ref::DotQ4_K);
    set(DType::kQ5_K, ref::DequantizeQ5_K, ref::DotQ5_K);
    set(DType::kQ6_K, ref::DequantizeQ6_K, ref::DotQ6_K);
    set(DType::kQ8_K, ref::DequantizeQ8_K, nullptr);
    auto act = [&t](DType type, QuantizeRowFn fn) { t.quantize_activation[static_cast<uint32_t>(type)] = fn; };
    act(DType::kF32, ref::QuantizeActF32);
    act(DType::kBF16, ref::QuantizeActBF16);
    act(DType::kQ8_0, ref::QuantizeActQ8_0);
    act(DType::kQ8_1, ref::QuantizeActQ8_1);
    act(DType::kQ8_K, ref::QuantizeActQ8_K);
    t.attention = ref::Attend;
    t.silu_mul = ref::SiluMul;
    return t;
  }();
  return table;
}

}  // namespace enclave::kernels
