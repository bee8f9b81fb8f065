// A small deterministic generator for task problems: problem i of a seed is the
// same on every machine and every run (std::mt19937's distributions are not
// specified to be portable, so draws are done by hand from splitmix64).
#pragma once

#include <cstdint>

namespace frugal {

class TaskRng {
 public:
  explicit TaskRng(uint64_t seed) : state_(seed) {}
  TaskRng(uint64_t seed, uint64_t stream) : state_(seed ^ (stream * 0xD1B54A32D192ED03ull + 0x8CB92BA72F3D8DD7ull)) {}

  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform integer in [lo, hi] (hi - lo small; the modulo bias is below 2^-40).
  int64_t uniform(int64_t lo, int64_t hi) { return lo + int64_t(next() % uint64_t(hi - lo + 1)); }
  // Uniform in [0, 1).
  double unit() { return double(next() >> 11) * 0x1.0p-53; }

 private:
  uint64_t state_;
};

// A stable 64-bit hash for split membership (FNV-1a over the bytes).
inline uint64_t task_hash(const void* data, size_t n, uint64_t h = 0xCBF29CE484222325ull) {
  const unsigned char* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001B3ull;
  return h;
}

}  // namespace frugal
