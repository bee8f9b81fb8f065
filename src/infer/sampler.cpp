#include "infer/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"

namespace frugal {

int32_t argmax(const float* x, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i)
    if (x[i] > x[best]) best = i;
  return int32_t(best);
}

Sampler::Sampler(const SamplerOptions& opt) : opt_(opt), rng_(opt.seed) {
  if (opt.temperature < 0) fail("temperature must be >= 0, got {}", opt.temperature);
  if (opt.top_p <= 0 || opt.top_p > 1) fail("top_p must be in (0, 1], got {}", opt.top_p);
  if (opt.min_p < 0 || opt.min_p > 1) fail("min_p must be in [0, 1], got {}", opt.min_p);
  if (opt.top_k < 0) fail("top_k must be >= 0, got {}", opt.top_k);
}

int64_t Sampler::filter(const float* logits, int64_t vocab) {
  // p = softmax(logits / T)
  probs_.resize(size_t(vocab));
  const float m = logits[argmax(logits, vocab)];
  double sum = 0;
  for (int64_t i = 0; i < vocab; ++i) sum += probs_[size_t(i)] = std::exp((logits[i] - m) / opt_.temperature);
  for (float& p : probs_) p = float(p / sum);
  // Candidates in descending probability.
  order_.resize(size_t(vocab));
  std::iota(order_.begin(), order_.end(), 0);
  int64_t keep = vocab;
  if (opt_.top_k > 0) keep = std::min(keep, opt_.top_k);
  std::partial_sort(order_.begin(), order_.begin() + keep, order_.end(),
                    [&](int32_t a, int32_t b) { return probs_[size_t(a)] > probs_[size_t(b)]; });
  if (opt_.top_p < 1.0f) {  // smallest prefix whose mass reaches top_p
    double mass = 0;
    for (int64_t i = 0; i < keep; ++i) {
      mass += probs_[size_t(order_[size_t(i)])];
      if (mass >= opt_.top_p) {
        keep = i + 1;
        break;
      }
    }
  }
  if (opt_.min_p > 0) {
    const float floor = opt_.min_p * probs_[size_t(order_[0])];
    int64_t i = 1;
    while (i < keep && probs_[size_t(order_[size_t(i)])] >= floor) ++i;
    keep = i;
  }
  // Renormalize over the kept candidates.
  std::vector<float>& kept = kept_;
  kept.assign(size_t(vocab), 0.0f);
  double total = 0;
  for (int64_t i = 0; i < keep; ++i) total += probs_[size_t(order_[size_t(i)])];
  for (int64_t i = 0; i < keep; ++i) kept[size_t(order_[size_t(i)])] = float(probs_[size_t(order_[size_t(i)])] / total);
  probs_.swap(kept);
  return keep;
}

int32_t Sampler::sample(const float* logits, int64_t vocab) {
  if (opt_.temperature == 0.0f) return argmax(logits, vocab);
  const int64_t keep = filter(logits, vocab);
  double u = uniform(), acc = 0;
  for (int64_t i = 0; i < keep; ++i) {
    acc += probs_[size_t(order_[size_t(i)])];
    if (u < acc) return order_[size_t(i)];
  }
  return order_[size_t(keep - 1)];
}

void Sampler::distribution(const float* logits, int64_t vocab, std::vector<float>& probs) {
  if (opt_.temperature == 0.0f) {
    probs.assign(size_t(vocab), 0.0f);
    probs[size_t(argmax(logits, vocab))] = 1.0f;
    return;
  }
  filter(logits, vocab);
  probs = probs_;
}

double Sampler::uniform() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng_); }

int32_t Sampler::draw(const float* probs, int64_t vocab) {
  const double u = uniform();
  double acc = 0;
  int64_t last = -1;
  for (int64_t i = 0; i < vocab; ++i) {
    if (probs[i] <= 0) continue;
    acc += probs[i];
    last = i;
    if (u < acc) return int32_t(i);
  }
  FRUGAL_CHECK(last >= 0, "draw from an all-zero distribution");
  return int32_t(last);  // rounding left u above the running sum
}

}  // namespace frugal
