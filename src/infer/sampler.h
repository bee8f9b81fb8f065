// Picks the next token from a row of logits: greedy, or sampling with
// temperature, then top-k, top-p (nucleus) and min-p filters, from a seeded RNG.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace frugal {

struct SamplerOptions {
  float temperature = 0.0f;  // 0: greedy (argmax)
  int64_t top_k = 0;         // 0: off
  float top_p = 1.0f;        // 1: off
  float min_p = 0.0f;        // 0: off; keep tokens with p >= min_p * p_max
  uint64_t seed = 0;
};

class Sampler {
 public:
  explicit Sampler(const SamplerOptions& opt);
  int32_t sample(const float* logits, int64_t vocab);
  // The probabilities the last sample() drew from (after all filters), for tests.
  const std::vector<float>& last_probs() const { return probs_; }

  // The distribution sample() draws from for these logits, dense over the
  // vocabulary (temperature, top-k, top-p, min-p applied, zeros elsewhere):
  // one-hot at the argmax when greedy. Speculative sampling compares these (the
  // p and q of its acceptance rule), so that its output follows exactly what
  // sample() would have drawn. Does not use the random generator.
  void distribution(const float* logits, int64_t vocab, std::vector<float>& probs);
  // One draw from `probs` (summing to 1) with this sampler's generator.
  int32_t draw(const float* probs, int64_t vocab);
  // A uniform draw in [0, 1) from this sampler's generator.
  double uniform();
  bool greedy() const { return opt_.temperature == 0.0f; }

 private:
  // probs_ <- the filtered, renormalized distribution (dense); order_[0, keep)
  // the kept tokens in descending probability. Returns keep. Not for greedy.
  int64_t filter(const float* logits, int64_t vocab);

  SamplerOptions opt_;
  std::mt19937_64 rng_;
  std::vector<float> probs_, kept_;
  std::vector<int32_t> order_;
};

int32_t argmax(const float* x, int64_t n);

}  // namespace frugal
