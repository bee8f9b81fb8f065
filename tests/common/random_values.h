// Normally distributed test inputs: n values of N(0, std^2) from a fixed seed.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace frugal::test {

inline std::vector<float> randn(int64_t n, float std, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, std);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = nd(rng);
  return v;
}

}  // namespace frugal::test
