// The portable random source of `enclave synth`: splitmix64 for bits, Box-Muller in double for
// normals. Everything is integer arithmetic or IEEE double + - * / log sqrt cos (which glibc
// rounds correctly or nearly so), so the same seed gives the same weights on every machine and
// compiler; std::*_distribution is avoided because its algorithms are implementation-defined.
// Thread-compatible.
#pragma once

#include <cmath>
#include <cstdint>
#include <string_view>

namespace enclave::synth {

class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in (0, 1]: 53 random bits, never 0 (Box-Muller takes its log).
  double NextUnitOpen() { return (static_cast<double>(Next() >> 11) + 1.0) * 0x1.0p-53; }

 private:
  uint64_t state_;
};

// Standard normals, two per Box-Muller step (the second is kept for the next call).
class NormalSource {
 public:
  explicit NormalSource(uint64_t seed) : bits_(seed) {}
  double Next() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double u1 = bits_.NextUnitOpen();
    const double u2 = bits_.NextUnitOpen();
    const double r = std::sqrt(-2.0 * std::log(u1));
    const double theta = 6.283185307179586 * u2;
    spare_ = r * std::sin(theta);
    has_spare_ = true;
    return r * std::cos(theta);
  }

 private:
  SplitMix64 bits_;
  double spare_ = 0.0;
  bool has_spare_ = false;
};

// The seed of one tensor's stream: the model seed mixed with the FNV-1a hash of the tensor's
// Hugging Face name, so each tensor is reproducible on its own, whatever order it is made in.
inline uint64_t TensorSeed(uint64_t model_seed, std::string_view name) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : name) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  SplitMix64 mix(model_seed ^ h);
  return mix.Next();
}

}  // namespace enclave::synth
