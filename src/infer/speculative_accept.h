// The acceptance rule of speculative decoding, for one sequence's drafts.
//
// Sampling (Leviathan et al. 2023, "Fast Inference from Transformers via
// Speculative Decoding", Alg. 1; Chen et al. 2023, "modified rejection
// sampling"): a draft x drawn from the draft distribution q is kept with
// probability min(1, p(x) / q(x)), p being the target's distribution; at the
// first rejection the token is drawn from normalize(max(0, p - q)) instead, and
// when every draft is kept one more token is drawn from the target's next p.
// Each emitted token is then distributed exactly as p, whatever q is:
//   P(x) = q(x) min(1, p(x)/q(x)) + (1 - sum_y min(q(y), p(y))) (p(x) - q(x))+ / Z
//        = min(q(x), p(x)) + (p(x) - q(x))+ = p(x),   since Z = 1 - sum_y min(q(y), p(y)).
// p and q are the distributions the sampler draws from (after temperature,
// top-k, top-p, min-p: Sampler::distribution), so the output is exactly what
// plain sampling with the same options would produce, in distribution.
//
// Greedy: the longest prefix of drafts equal to the target's argmax is kept,
// then the target's own argmax after it (the rule above with one-hot p and q).
#pragma once

#include <cstdint>
#include <vector>

#include "infer/sampler.h"

namespace frugal {

// Keep a draft with target probability p_x and draft probability q_x > 0, given
// u drawn uniformly from [0, 1): u < p_x / q_x (always when p_x >= q_x).
bool spec_accept(float p_x, float q_x, double u);

// out = normalize(max(0, p - q)) over `vocab` entries. An empty residual (p <= q
// everywhere: p == q up to rounding, when rejection has probability 0) gives p.
void spec_residual(const float* p, const float* q, int64_t vocab, std::vector<float>& out);

struct SpecVerdict {
  int64_t accepted = 0;  // drafts kept (a prefix)
  int32_t next = -1;     // the token after them: resampled at the rejection, or the bonus token
};

struct SpecVerifyScratch {
  std::vector<float> p, residual;
};

// Verifies n drafts of one sequence. logits: [n + 1, vocab] rows of the target
// (row i scores the token after draft i - 1; row 0 the token after the current
// one); q: [n, vocab] the draft distributions the drafts were drawn from (unused
// when the sampler is greedy); drafts: [n]. Draws with the sampler's generator.
SpecVerdict spec_verify(const float* logits, const float* q, const int32_t* drafts, int64_t n, int64_t vocab,
                        Sampler& sampler, SpecVerifyScratch& s);

}  // namespace frugal
