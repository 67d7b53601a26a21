// Scalar reference kernels: the oracle every optimized kernel is tested against. Plain C++,
// compiled without ISA flags, written for clarity and exactness rather than speed.
#pragma once

#include <cstdint>

#include "kernels/kernels.h"

namespace enclave::kernels::ref {

// Dequantize n elements (a multiple of the block size) of each type into f32. The arithmetic
// follows the `gguf` package's numpy dequantizers operation for operation (f32, no FMA), so the
// results are bit-identical to that oracle.
void DequantizeF32(const void* src, float* dst, int64_t n);
void DequantizeF16(const void* src, float* dst, int64_t n);
void DequantizeBF16(const void* src, float* dst, int64_t n);
void DequantizeQ4_0(const void* src, float* dst, int64_t n);
void DequantizeQ4_1(const void* src, float* dst, int64_t n);
void DequantizeQ5_0(const void* src, float* dst, int64_t n);
void DequantizeQ5_1(const void* src, float* dst, int64_t n);
void DequantizeQ8_0(const void* src, float* dst, int64_t n);
void DequantizeQ8_1(const void* src, float* dst, int64_t n);
void DequantizeQ2_K(const void* src, float* dst, int64_t n);
void DequantizeQ3_K(const void* src, float* dst, int64_t n);
void DequantizeQ4_K(const void* src, float* dst, int64_t n);
void DequantizeQ5_K(const void* src, float* dst, int64_t n);
void DequantizeQ6_K(const void* src, float* dst, int64_t n);
void DequantizeQ8_K(const void* src, float* dst, int64_t n);

// Activation quantizers: round-to-nearest-even, symmetric (see docs/quant-formats.md).
void QuantizeActF32(const float* src, void* dst, int64_t n);
void QuantizeActBF16(const float* src, void* dst, int64_t n);
void QuantizeActQ8_0(const float* src, void* dst, int64_t n);
void QuantizeActQ8_1(const float* src, void* dst, int64_t n);
void QuantizeActQ8_K(const float* src, void* dst, int64_t n);

// Causal attention over one AttentionItem (kernels/attention_impl.h).
void Attend(const AttentionItem& item);
void SiluMul(float* gate, const float* up, int64_t n);

// Dot products of a weight row with an activation row of VecDotType(weight type).
float DotF32(int64_t n, const void* w, const void* a);
float DotF16(int64_t n, const void* w, const void* a);
float DotBF16(int64_t n, const void* w, const void* a);
float DotQ4_0(int64_t n, const void* w, const void* a);
float DotQ4_1(int64_t n, const void* w, const void* a);
float DotQ5_0(int64_t n, const void* w, const void* a);
float DotQ5_1(int64_t n, const void* w, const void* a);
float DotQ8_0(int64_t n, const void* w, const void* a);
float DotQ2_K(int64_t n, const void* w, const void* a);
float DotQ3_K(int64_t n, const void* w, const void* a);
float DotQ4_K(int64_t n, const void* w, const void* a);
float DotQ5_K(int64_t n, const void* w, const void* a);
float DotQ6_K(int64_t n, const void* w, const void* a);

}  // namespace enclave::kernels::ref
