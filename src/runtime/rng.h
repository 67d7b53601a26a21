// A small, portable pseudo-random generator for sampling: xoshiro256** seeded through splitmix64
// (Blackman & Vigna, https://prng.di.unimi.it/). Written out here rather than taken from <random>
// because std::mt19937 is portable but std::*_distribution is not: libstdc++ and libc++ turn the
// same engine output into different numbers, and a seed must reproduce the same tokens on every
// build. Thread-compatible value type (one per sequence).
#pragma once

#include <cstdint>

namespace enclave::runtime {

// splitmix64: expands one 64-bit seed into well-mixed words (used to fill xoshiro's state, which
// must not be all zero; splitmix64 never yields four zero words in a row).
inline uint64_t SplitMix64(uint64_t* state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

class Rng {
 public:
  explicit Rng(uint64_t seed) {
    uint64_t sm = seed;
    for (uint64_t& w : s_) w = SplitMix64(&sm);
  }

  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, 1) with 53 random bits: every value is a multiple of 2^-53.
  double UniformDouble() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace enclave::runtime
