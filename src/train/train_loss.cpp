#include "train/train_loss.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "train/train_ops.h"

namespace frugal::train {


template <typename S>
CeSums cross_entropy_fwd(S* logits, const int32_t* targets, int64_t N, int64_t V, std::vector<S>& lse,
                         const CeOptions& o, ThreadPool& pool) {
  lse.resize(size_t(N));
  std::vector<CeSums> part(size_t(pool.size()));
  pool.parallel_for(N, [&](int64_t n0, int64_t n1, int t) {
    CeSums& s = part[size_t(t)];
    for (int64_t n = n0; n < n1; ++n) {
      const int32_t y = targets[n];
      if (o.target_logprob) o.target_logprob[n] = 0.0f;
      if (y < 0) continue;
      FRUGAL_CHECK(y < V, "target {} outside the vocabulary of {}", y, V);
      S* l = logits + n * V;
      const S mx = *std::max_element(l, l + V);
      const S ly = l[y];
      const double sum = exp_shift_sum(l, V, mx, o.to_probs);  // in double: V terms
      if (o.to_probs) {
        const S inv = S(1.0 / sum);
        for (int64_t v = 0; v < V; ++v) l[v] *= inv;
      }
      const double z = double(mx) + std::log(sum);
      lse[size_t(n)] = S(z);
      s.loss += z - double(ly);
      if (o.weights) s.weighted += double(o.weights[n]) * (z - double(ly));
      if (o.target_logprob) o.target_logprob[n] = float(double(ly) - z);
      s.z += z * z;
      ++s.count;
    }
  });
  CeSums total;
  for (const CeSums& s : part) {
    total.loss += s.loss;
    total.weighted += s.weighted;
    total.z += s.z;
    total.count += s.count;
  }
  return total;
}

template <typename S>
void cross_entropy_bwd(S* probs, const int32_t* targets, const S* lse, int64_t N, int64_t V, double ce_coef,
                       double z_coef, const float* weights, ThreadPool& pool) {
  pool.parallel_for(N, [&](int64_t n0, int64_t n1, int) {
    for (int64_t n = n0; n < n1; ++n) {
      S* l = probs + n * V;
      const int32_t y = targets[n];
      if (y < 0) {
        std::fill_n(l, V, S(0));
        continue;
      }
      // d/dlogit of c (lse - l_y) + z_coef lse^2 = (c + 2 z_coef lse) softmax - c onehot
      const double c = weights ? ce_coef * double(weights[n]) : ce_coef;
      const S z = lse[n], k = S(c + 2.0 * z_coef * double(z));
      for (int64_t v = 0; v < V; ++v) l[v] *= k;
      l[y] -= S(c);
    }
  });
}

template CeSums cross_entropy_fwd<float>(float*, const int32_t*, int64_t, int64_t, std::vector<float>&,
                                         const CeOptions&, ThreadPool&);
template CeSums cross_entropy_fwd<double>(double*, const int32_t*, int64_t, int64_t, std::vector<double>&,
                                          const CeOptions&, ThreadPool&);
template void cross_entropy_bwd<float>(float*, const int32_t*, const float*, int64_t, int64_t, double, double,
                                       const float*, ThreadPool&);
template void cross_entropy_bwd<double>(double*, const int32_t*, const double*, int64_t, int64_t, double, double,
                                        const float*, ThreadPool&);

}  // namespace frugal::train
