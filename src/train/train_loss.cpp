#include "train/train_loss.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace frugal::train {

template <typename S>
CeSums cross_entropy_fwd(S* logits, const int32_t* targets, int64_t N, int64_t V, std::vector<S>& lse, bool to_probs,
                         ThreadPool& pool) {
  lse.resize(size_t(N));
  std::vector<CeSums> part(size_t(pool.size()));
  pool.parallel_for(N, [&](int64_t n0, int64_t n1, int t) {
    CeSums& s = part[size_t(t)];
    for (int64_t n = n0; n < n1; ++n) {
      const int32_t y = targets[n];
      if (y < 0) continue;
      FRUGAL_CHECK(y < V, "target {} outside the vocabulary of {}", y, V);
      S* l = logits + n * V;
      const S mx = *std::max_element(l, l + V);
      const S ly = l[y];
      double sum = 0;  // in double: V terms
      if (to_probs) {
        for (int64_t v = 0; v < V; ++v) sum += double(l[v] = std::exp(l[v] - mx));
        const S inv = S(1.0 / sum);
        for (int64_t v = 0; v < V; ++v) l[v] *= inv;
      } else {
        for (int64_t v = 0; v < V; ++v) sum += double(std::exp(l[v] - mx));
      }
      const double z = double(mx) + std::log(sum);
      lse[size_t(n)] = S(z);
      s.loss += z - double(ly);
      s.z += z * z;
      ++s.count;
    }
  });
  CeSums total;
  for (const CeSums& s : part) {
    total.loss += s.loss;
    total.z += s.z;
    total.count += s.count;
  }
  return total;
}

template <typename S>
void cross_entropy_bwd(S* probs, const int32_t* targets, const S* lse, int64_t N, int64_t V, double ce_coef,
                       double z_coef, ThreadPool& pool) {
  pool.parallel_for(N, [&](int64_t n0, int64_t n1, int) {
    for (int64_t n = n0; n < n1; ++n) {
      S* l = probs + n * V;
      const int32_t y = targets[n];
      if (y < 0) {
        std::fill_n(l, V, S(0));
        continue;
      }
      // d/dlogit of ce_coef (lse - l_y) + z_coef lse^2 = (ce_coef + 2 z_coef lse) softmax - ce_coef onehot
      const S z = lse[n], k = S(ce_coef + 2.0 * z_coef * double(z));
      for (int64_t v = 0; v < V; ++v) l[v] *= k;
      l[y] -= S(ce_coef);
    }
  });
}

template CeSums cross_entropy_fwd<float>(float*, const int32_t*, int64_t, int64_t, std::vector<float>&, bool,
                                         ThreadPool&);
template CeSums cross_entropy_fwd<double>(double*, const int32_t*, int64_t, int64_t, std::vector<double>&, bool,
                                          ThreadPool&);
template void cross_entropy_bwd<float>(float*, const int32_t*, const float*, int64_t, int64_t, double, double,
                                       ThreadPool&);
template void cross_entropy_bwd<double>(double*, const int32_t*, const double*, int64_t, int64_t, double, double,
                                        ThreadPool&);

}  // namespace frugal::train
