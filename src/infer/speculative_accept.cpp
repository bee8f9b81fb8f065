#include "infer/speculative_accept.h"

#include "core/error.h"

namespace frugal {

bool spec_accept(float p_x, float q_x, double u) {
  FRUGAL_CHECK(q_x > 0, "a draft the draft distribution gives probability {}", q_x);
  if (p_x >= q_x) return true;
  return u < double(p_x) / double(q_x);
}

void spec_residual(const float* p, const float* q, int64_t vocab, std::vector<float>& out) {
  out.resize(size_t(vocab));
  double total = 0;
  for (int64_t i = 0; i < vocab; ++i) {
    const float r = p[i] - q[i];
    out[size_t(i)] = r > 0 ? r : 0.0f;
    total += out[size_t(i)];
  }
  if (total <= 0) {
    out.assign(p, p + vocab);
    return;
  }
  for (float& r : out) r = float(r / total);
}

SpecVerdict spec_verify(const float* logits, const float* q, const int32_t* drafts, int64_t n, int64_t vocab,
                        Sampler& sampler, SpecVerifyScratch& s) {
  SpecVerdict v;
  if (sampler.greedy()) {
    for (; v.accepted < n; ++v.accepted)
      if (drafts[v.accepted] != argmax(logits + v.accepted * vocab, vocab)) break;
    v.next = argmax(logits + v.accepted * vocab, vocab);
    return v;
  }
  for (; v.accepted < n; ++v.accepted) {
    const int64_t i = v.accepted;
    sampler.distribution(logits + i * vocab, vocab, s.p);
    const float* qi = q + i * vocab;
    const int32_t x = drafts[i];
    if (spec_accept(s.p[size_t(x)], qi[x], sampler.uniform())) continue;
    spec_residual(s.p.data(), qi, vocab, s.residual);
    v.next = sampler.draw(s.residual.data(), vocab);
    return v;
  }
  sampler.distribution(logits + n * vocab, vocab, s.p);  // all kept: the bonus token
  v.next = sampler.draw(s.p.data(), vocab);
  return v;
}

}  // namespace frugal
