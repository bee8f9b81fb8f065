// Legend: B sequences, P a sequence's cache length before the step, n its drafts
// this step, d hidden, V vocab.
#include "infer/speculative.h"

#include <algorithm>

#include "core/error.h"

namespace frugal {

SpecCounters& SpecCounters::operator+=(const SpecCounters& o) {
  for (size_t k = 0; k < reached.size(); ++k) {
    reached[k] += o.reached[k];
    accepted[k] += o.accepted[k];
  }
  steps += o.steps;
  tokens += o.tokens;
  mtp_passes += o.mtp_passes;
  return *this;
}

void spec_check_model(const Model& m, int64_t depth) {
  if (depth < 0 || depth > kSpecMaxDepth)
    fail("--speculative {}: the draft depth must be 0 (off) to {}", depth, kSpecMaxDepth);
  if (depth > 0 && !m.has_mtp())
    fail("--speculative {}: this model has no MTP layer to draft with (config.json num_nextn_predict_layers = {}, "
         "or its weights are missing); use --speculative 0",
         depth, m.config.num_nextn_predict_layers);
}

void spec_begin(SpecSequence& seq, const int32_t* tokens, const float* hidden, int64_t n, int32_t next, int64_t d) {
  FRUGAL_CHECK(n > 0, "an empty prefill");
  seq.current = next;
  seq.emitted.clear();
  if (!seq.mtp_cache) return;  // never drafts: plain steps only
  FRUGAL_CHECK(seq.mtp_cache->length + int64_t(seq.owed_tokens.size()) == seq.cache->length - n,
               "MTP cache at {} with {} rows owed, for a prefill of {} ending at {}", seq.mtp_cache->length,
               seq.owed_tokens.size(), n, seq.cache->length);
  seq.owed_hidden.insert(seq.owed_hidden.end(), hidden, hidden + n * d);  // h_{P-n} .. h_{P-1}
  seq.owed_tokens.insert(seq.owed_tokens.end(), tokens + 1, tokens + n);  // t_{P-n+1} .. t_{P-1}
  seq.owed_tokens.push_back(next);                                        // t_P
}

namespace {

// A draft from MTP logits: the argmax when greedy, else a draw from the
// sampler's processed distribution q, which is kept (appended to `q`) for the
// acceptance test.
int32_t draft_token(Sampler& sampler, const float* logits, int64_t V, std::vector<float>& q, std::vector<float>& tmp) {
  if (sampler.greedy()) return argmax(logits, V);
  sampler.distribution(logits, V, tmp);
  q.insert(q.end(), tmp.begin(), tmp.end());
  return sampler.draw(tmp.data(), V);
}

}  // namespace

void spec_step(const Model& m, const std::vector<SpecSequence*>& seqs, AttnMode attn, SpecScratch& s,
               ThreadPool& pool) {
  const int64_t d = m.config.hidden_size, V = m.config.vocab_size, B = int64_t(seqs.size());
  FRUGAL_CHECK(B > 0, "an empty speculative batch");
  s.chain_hidden.resize(size_t(B));
  s.q.resize(size_t(B));
  s.drafts.resize(size_t(B));
  std::vector<float>& tmp = s.accept.p;
  // n_i: drafts that fit (verify writes positions P .. P + n).
  auto drafts_of = [&](int64_t i) {
    const SpecSequence& q = *seqs[size_t(i)];
    if (!q.mtp_cache) return int64_t(0);
    return std::clamp<int64_t>(std::min(q.depth, q.cache->capacity - q.cache->length - 1), 0, kSpecMaxDepth);
  };
  int64_t max_n = 0;
  for (int64_t i = 0; i < B; ++i) {
    s.drafts[size_t(i)].clear();
    s.q[size_t(i)].clear();
    max_n = std::max(max_n, drafts_of(i));
    FRUGAL_CHECK(seqs[size_t(i)]->current >= 0, "spec_step before spec_begin");
  }

  // 1. MTP over the rows each drafting sequence is owed (positions M .. P-1);
  //    the last one (h_{P-1}, t_P) proposes d_1.                             [sum r_i, d]
  s.batch.clear();
  s.hidden_in.clear();
  s.tokens.clear();
  const SpecSequence* only = nullptr;  // one drafting sequence: its rows are used in place
  for (int64_t i = 0; i < B; ++i) {
    SpecSequence& q = *seqs[size_t(i)];
    if (drafts_of(i) == 0) continue;
    const int64_t r = int64_t(q.owed_tokens.size());
    FRUGAL_CHECK(r > 0 && q.mtp_cache->length + r == q.cache->length, "MTP cache at {} with {} rows owed, main at {}",
                 q.mtp_cache->length, r, q.cache->length);
    s.batch.push_back({q.mtp_cache, int64_t(s.tokens.size() + (only ? only->owed_tokens.size() : 0)), r});
    if (s.batch.size() == 1) {
      only = &q;
      continue;
    }
    if (only) {  // a second one: gather the first's rows after all
      s.hidden_in.assign(only->owed_hidden.begin(), only->owed_hidden.end());
      s.tokens.assign(only->owed_tokens.begin(), only->owed_tokens.end());
      only = nullptr;
    }
    s.hidden_in.insert(s.hidden_in.end(), q.owed_hidden.begin(), q.owed_hidden.end());
    s.tokens.insert(s.tokens.end(), q.owed_tokens.begin(), q.owed_tokens.end());
  }
  // Logits of each sequence's last row only: after a prefill the owed rows are
  // the whole prompt, whose other logits nobody needs.
  if (!s.batch.empty())
    mtp_fwd(m, 0, s.batch, only ? only->owed_hidden.data() : s.hidden_in.data(),
            only ? only->owed_tokens.data() : s.tokens.data(), attn, s.mtp_logits, s.mtp, pool,
            {.all_logits = false, .hidden = &s.mtp_hidden});
  for (int64_t i = 0, row = 0; i < B; ++i) {
    SpecSequence& q = *seqs[size_t(i)];
    if (drafts_of(i) == 0) continue;
    s.drafts[size_t(i)].push_back(draft_token(*q.sampler, s.mtp_logits.data() + row * V, V, s.q[size_t(i)], tmp));
    s.chain_hidden[size_t(i)].assign(s.mtp_hidden.begin() + row * d, s.mtp_hidden.begin() + (row + 1) * d);
    ++row;
    q.owed_hidden.clear();
    q.owed_tokens.clear();
    ++q.counts.mtp_passes;
  }

  // 2. Chain: the module's own output and its draft d_k propose d_{k+1}, one row
  //    per sequence at position P + k - 1.                                   [B', d]
  for (int64_t k = 1; k < max_n; ++k) {
    s.batch.clear();
    s.hidden_in.clear();
    s.tokens.clear();
    for (int64_t i = 0; i < B; ++i) {
      if (drafts_of(i) <= k) continue;
      s.batch.push_back({seqs[size_t(i)]->mtp_cache, int64_t(s.tokens.size()), 1});
      s.hidden_in.insert(s.hidden_in.end(), s.chain_hidden[size_t(i)].begin(), s.chain_hidden[size_t(i)].end());
      s.tokens.push_back(s.drafts[size_t(i)].back());
    }
    mtp_fwd(m, 0, s.batch, s.hidden_in.data(), s.tokens.data(), attn, s.mtp_logits, s.mtp, pool,
            {.hidden = &s.mtp_hidden});
    for (int64_t i = 0, row = 0; i < B; ++i) {
      if (drafts_of(i) <= k) continue;
      SpecSequence& q = *seqs[size_t(i)];
      s.drafts[size_t(i)].push_back(draft_token(*q.sampler, s.mtp_logits.data() + row * V, V, s.q[size_t(i)], tmp));
      s.chain_hidden[size_t(i)].assign(s.mtp_hidden.begin() + row * d, s.mtp_hidden.begin() + (row + 1) * d);
      ++q.counts.mtp_passes;
      ++row;
    }
  }
  // The chained rows were computed from the module's own guesses of h: drop them.
  for (int64_t i = 0; i < B; ++i) {
    SpecSequence& q = *seqs[size_t(i)];
    if (drafts_of(i) > 0) q.mtp_cache->length = q.cache->length;
  }

  // 3. Verify [current, d_1 .. d_n] of every sequence in one pass.          [sum (n_i + 1), V]
  s.batch.clear();
  s.tokens.clear();
  for (int64_t i = 0; i < B; ++i) {
    SpecSequence& q = *seqs[size_t(i)];
    s.batch.push_back({q.cache, int64_t(s.tokens.size()), 1 + int64_t(s.drafts[size_t(i)].size())});
    s.tokens.push_back(q.current);
    s.tokens.insert(s.tokens.end(), s.drafts[size_t(i)].begin(), s.drafts[size_t(i)].end());
  }
  transformer_fwd(m, s.batch, s.tokens.data(), {.attn = attn, .all_logits = true}, s.verify, s.main, pool);

  // 4. Accept a prefix, roll the main cache back to it, owe the MTP its rows.
  for (int64_t i = 0; i < B; ++i) {
    SpecSequence& q = *seqs[size_t(i)];
    const std::vector<int32_t>& dr = s.drafts[size_t(i)];
    const int64_t n = int64_t(dr.size()), row0 = s.batch[size_t(i)].row0;
    const int64_t P = q.cache->length - (n + 1);
    const SpecVerdict v = spec_verify(s.verify.logits.data() + row0 * V, s.q[size_t(i)].data(), dr.data(), n, V,
                                      *q.sampler, s.accept);
    const int64_t a = v.accepted;
    q.cache->length = P + a + 1;  // keeps t_P, d_1 .. d_a
    q.emitted.assign(dr.begin(), dr.begin() + a);
    q.emitted.push_back(v.next);
    if (q.mtp_cache) {
      q.owed_hidden.insert(q.owed_hidden.end(), s.verify.hidden.begin() + row0 * d,
                           s.verify.hidden.begin() + (row0 + a + 1) * d);
      q.owed_tokens.insert(q.owed_tokens.end(), q.emitted.begin(), q.emitted.end());
    }
    q.current = v.next;
    for (int64_t k = 0; k < n && k <= a; ++k) {
      ++q.counts.reached[size_t(k)];
      if (k < a) ++q.counts.accepted[size_t(k)];
    }
    ++q.counts.steps;
    q.counts.tokens += a + 1;
  }
}

}  // namespace frugal
