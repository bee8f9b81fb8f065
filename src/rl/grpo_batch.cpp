#include "rl/grpo_batch.h"

#include <algorithm>

#include "core/error.h"

namespace frugal {

TrainBatch grpo_rows(const std::vector<GrpoRollout>& rollouts) {
  TrainBatch b;
  b.B = int64_t(rollouts.size());
  for (const GrpoRollout& r : rollouts) {
    FRUGAL_CHECK(!r.prompt.empty() && !r.completion.empty(), "a rollout needs a prompt and a completion");
    b.T = std::max(b.T, int64_t(r.prompt.size() + r.completion.size()) - 1);
  }
  b.tokens.assign(size_t(b.B * b.T), 0);
  b.labels.assign(size_t(b.B * b.T), -1);
  b.doc.assign(size_t(b.B * b.T), 1);  // padding: another document, so no MTP target crosses into it
  for (int64_t i = 0; i < b.B; ++i) {
    const GrpoRollout& r = rollouts[size_t(i)];
    std::vector<int32_t> seq = r.prompt;
    seq.insert(seq.end(), r.completion.begin(), r.completion.end());
    const int64_t P = int64_t(r.prompt.size());
    for (int64_t t = 0; t + 1 < int64_t(seq.size()); ++t) {
      const size_t at = size_t(i * b.T + t);
      b.tokens[at] = seq[size_t(t)];
      b.doc[at] = 0;
      if (t + 1 >= P) b.labels[at] = seq[size_t(t + 1)];
    }
  }
  return b;
}

GrpoStepStats grpo_weights(TrainBatch& batch, const std::vector<GrpoRollout>& rollouts,
                           const std::vector<float>& seq_weight, const std::vector<float>& logp,
                           const std::vector<float>& logp_old, const std::vector<float>& logp_ref,
                           const GrpoTokenOptions& opt) {
  const size_t n = size_t(batch.B * batch.T);
  FRUGAL_CHECK(rollouts.size() == size_t(batch.B) && seq_weight.size() == size_t(batch.B), "one weight per row");
  FRUGAL_CHECK((logp.empty() || logp.size() == n) && (logp_old.empty() || logp_old.size() == n) &&
                   (logp_ref.empty() || logp_ref.size() == n),
               "log-probabilities must be [B * T]");
  FRUGAL_CHECK(!logp_ref.empty() || opt.beta == 0.0f, "a KL coefficient needs the reference log-probabilities");
  FRUGAL_CHECK(!logp.empty() || !logp_old.empty() || logp_ref.empty(), "KL needs the policy's log-probabilities");
  batch.label_weight.assign(n, 0.0f);
  GrpoStepStats st;
  int64_t clipped = 0;
  for (int64_t i = 0; i < batch.B; ++i)
    for (int64_t t = 0; t < batch.T; ++t) {
      const size_t at = size_t(i * batch.T + t);
      if (batch.labels[at] < 0) continue;
      const float old = logp_old.empty() ? (logp.empty() ? 0.0f : logp[at]) : logp_old[at];
      const float cur = logp.empty() ? old : logp[at];
      const float ref = logp_ref.empty() ? cur : logp_ref[at];
      GrpoToken tok = grpo_token(cur, old, ref, rollouts[size_t(i)].advantage, opt);
      batch.label_weight[at] = seq_weight[size_t(i)] * tok.dobj_dlogp;
      st.objective += double(seq_weight[size_t(i)]) * tok.objective;
      st.kl += tok.kl;
      clipped += tok.clipped;
      ++st.tokens;
    }
  if (st.tokens > 0) {
    st.kl /= double(st.tokens);
    st.clip_fraction = double(clipped) / double(st.tokens);
  }
  return st;
}

}  // namespace frugal
