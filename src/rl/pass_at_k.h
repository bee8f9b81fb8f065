// The unbiased pass@k estimator (Chen et al. 2021, "Evaluating Large Language
// Models Trained on Code", Eq. 1): with n samples of which c are correct,
//   pass@k = 1 - C(n - c, k) / C(n, k) = 1 - prod_{i = n-c+1}^{n} (1 - k / i).
#pragma once

#include <cstdint>

namespace frugal {

inline double pass_at_k(int64_t n, int64_t c, int64_t k) {
  if (n - c < k) return 1.0;
  double miss = 1.0;
  for (int64_t i = n - c + 1; i <= n; ++i) miss *= 1.0 - double(k) / double(i);
  return 1.0 - miss;
}

}  // namespace frugal
