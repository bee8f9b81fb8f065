// Chi-square goodness-of-fit for the sampling tests: observed counts against
// expected probabilities, or two samples of equal size against each other.
// Bins with too little expected mass are pooled (the chi-square approximation
// needs about 5 per bin). The critical value is the Wilson-Hilferty
// approximation of the chi-square quantile (Wilson & Hilferty 1931):
//   chi2_{1-a}(k) ~ k (1 - 2/(9k) + z_{1-a} sqrt(2/(9k)))^3,
// with z = 3.719 for a = 1e-4: a correct sampler fails one comparison with
// probability 1e-4 (and the seeds are fixed, so a pass stays a pass).
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

namespace frugal::test {

struct ChiSquare {
  double stat = 0;
  int64_t df = 0;
  double critical() const {
    const double k = double(df), z = 3.719;
    return k * std::pow(1 - 2 / (9 * k) + z * std::sqrt(2 / (9 * k)), 3);
  }
  bool ok() const { return df > 0 && stat < critical(); }
};

// counts[i] against n * p[i].
inline ChiSquare chi_square_fit(const std::vector<int64_t>& counts, const std::vector<double>& p) {
  int64_t n = 0;
  for (int64_t c : counts) n += c;
  ChiSquare r;
  double pooled_o = 0, pooled_e = 0;
  int64_t bins = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    const double e = double(n) * p[i];
    if (e < 5) {
      pooled_o += double(counts[i]);
      pooled_e += e;
      continue;
    }
    r.stat += (double(counts[i]) - e) * (double(counts[i]) - e) / e;
    ++bins;
  }
  if (pooled_e > 0) {
    r.stat += (pooled_o - pooled_e) * (pooled_o - pooled_e) / pooled_e;
    ++bins;
  } else if (pooled_o > 0) {
    r.stat = INFINITY;  // tokens the distribution cannot produce
  }
  r.df = bins - 1;
  return r;
}

// Two samples of equal size: sum (a - b)^2 / (a + b), df = bins - 1.
inline ChiSquare chi_square_two_sample(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  ChiSquare r;
  double pa = 0, pb = 0;
  int64_t bins = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double x = double(a[i]), y = double(b[i]);
    if (x + y < 10) {
      pa += x;
      pb += y;
      continue;
    }
    r.stat += (x - y) * (x - y) / (x + y);
    ++bins;
  }
  if (pa + pb > 0) {
    r.stat += (pa - pb) * (pa - pb) / (pa + pb);
    ++bins;
  }
  r.df = bins - 1;
  return r;
}

}  // namespace frugal::test
