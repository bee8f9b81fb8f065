// Rollback: after steps that rejected drafts, the main cache holds exactly the
// latents of a run that never saw them (one prefill of the accepted tokens), and
// the MTP cache those of MTP module 0 run in one pass over that run's hidden
// states: nothing of the rejected drafts or of the chained rows is left.
#include <gtest/gtest.h>

#include <cmath>

#include "spec_test_model.h"

namespace frugal {
namespace {

using testing_util::max_abs_diff;

constexpr double kTol = 1e-4;  // the same tokens in differently shaped passes (fp32 sums in another order)

double cache_diff(const LatentKvCache& a, const LatentKvCache& b, int64_t positions) {
  double err = 0;
  for (int64_t l = 0; l < a.n_layers; ++l)
    err = std::max(err, max_abs_diff(a.row(l, 0), b.row(l, 0), positions * a.row_size()));
  return err;
}

// chunks: the prompt is prefilled in that many passes (spec_begin after each).
void expect_rollback_leaves_no_trace(float agree, int64_t chunks = 1) {
  auto t = test::spec_test_model(agree);
  const Model& m = *t.model;
  ThreadPool pool(1);
  const int64_t V = m.config.vocab_size, d = m.config.hidden_size, depth = 3;
  const std::vector<int32_t> prompt = test::some_tokens(7, V, 5);
  LatentKvCache cache = m.new_cache(96), mtp_cache = m.new_mtp_cache(96);
  Sampler sampler({});
  ForwardScratch fs;
  ForwardResult fr;
  SpecSequence seq{.cache = &cache, .mtp_cache = &mtp_cache, .sampler = &sampler, .depth = depth};
  const int64_t T = int64_t(prompt.size());
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t a = T * c / chunks, b = T * (c + 1) / chunks;
    transformer_fwd(m, prompt.data() + a, b - a, cache, {.all_logits = false}, fr, fs, pool);
    spec_begin(seq, prompt.data() + a, fr.hidden.data(), b - a, b < T ? prompt[size_t(b)] : argmax(fr.logits.data(), V), d);
  }
  std::vector<int32_t> tokens = prompt;  // t_0 .. t_{P-1}: what the cache must hold
  SpecScratch s;
  int64_t checked = 0;
  for (int step = 0; step < 10; ++step) {
    const int64_t before = cache.length;
    tokens.push_back(seq.current);
    spec_step(m, {&seq}, AttnMode::Auto, s, pool);
    tokens.insert(tokens.end(), seq.emitted.begin(), seq.emitted.end() - 1);
    const int64_t accepted = int64_t(seq.emitted.size()) - 1;
    ASSERT_EQ(cache.length, before + accepted + 1);
    ASSERT_EQ(cache.length, int64_t(tokens.size()));
    ASSERT_EQ(mtp_cache.length + int64_t(seq.owed_tokens.size()), cache.length);
    if (accepted == depth) continue;  // nothing rejected this step
    ++checked;

    // The run that never saw the rejected drafts.
    const int64_t P = cache.length, M = mtp_cache.length;
    LatentKvCache ref = m.new_cache(P), ref_mtp = m.new_mtp_cache(P);
    ForwardResult rr;
    transformer_fwd(m, tokens.data(), P, ref, {.all_logits = true}, rr, fs, pool);
    const double main_err = cache_diff(cache, ref, P);
    std::vector<float> mtp_logits;
    mtp_fwd(m, 0, rr.hidden.data(), tokens.data() + 1, M, ref_mtp, AttnMode::Auto, mtp_logits, fs, pool);
    const double mtp_err = cache_diff(mtp_cache, ref_mtp, M);
    EXPECT_LE(main_err, kTol) << "step " << step << ": main cache";
    EXPECT_LE(mtp_err, kTol) << "step " << step << ": MTP cache";
    // The rows owed to the MTP module are the reference's hidden states.
    EXPECT_LE(max_abs_diff(seq.owed_hidden.data(), rr.hidden.data() + M * d, (P - M) * d), kTol);
    std::vector<int32_t> owed(tokens.begin() + M + 1, tokens.end());
    owed.push_back(seq.current);
    EXPECT_EQ(seq.owed_tokens, owed);
  }
  EXPECT_GE(checked, 3);
}

TEST(SpeculativeCache, RollbackWithRandomDrafts) { expect_rollback_leaves_no_trace(-1.0f); }
TEST(SpeculativeCache, RollbackWithPartlyRightDrafts) { expect_rollback_leaves_no_trace(0.2f); }
TEST(SpeculativeCache, PromptPrefilledInChunks) { expect_rollback_leaves_no_trace(-1.0f, 3); }

// mtp_fwd's last-row outputs (what the drafting pass asks for) are the last rows
// of its all-row outputs, for each sequence of a batch.
TEST(SpeculativeCache, MtpLastRowOutputsAreTheLastRowsOfAll) {
  auto t = test::spec_test_model(-1.0f);
  const Model& m = *t.model;
  ThreadPool pool(1);
  const int64_t V = m.config.vocab_size, d = m.config.hidden_size;
  const std::vector<int32_t> ids = test::some_tokens(9, V, 8);
  std::vector<float> hidden(size_t(9 * d));
  for (size_t i = 0; i < hidden.size(); ++i) hidden[i] = float(std::sin(0.37 * double(i)));
  ForwardScratch fs;
  std::vector<float> all_logits, all_hidden, last_logits, last_hidden;
  for (bool all : {true, false}) {
    LatentKvCache a = m.new_mtp_cache(16), b = m.new_mtp_cache(16);
    const Batch batch = {{&a, 0, 4}, {&b, 4, 5}};
    mtp_fwd(m, 0, batch, hidden.data(), ids.data(), AttnMode::Auto, all ? all_logits : last_logits, fs, pool,
            {.all_logits = all, .hidden = all ? &all_hidden : &last_hidden});
  }
  ASSERT_EQ(last_logits.size(), size_t(2 * V));
  ASSERT_EQ(last_hidden.size(), size_t(2 * d));
  for (int64_t seq = 0; seq < 2; ++seq) {
    const int64_t row = seq == 0 ? 3 : 8;
    // the same rows through the head in a call of 2 rows instead of 9 (another summation order)
    EXPECT_LE(max_abs_diff(last_logits.data() + seq * V, all_logits.data() + row * V, V), 1e-5);
    EXPECT_EQ(max_abs_diff(last_hidden.data() + seq * d, all_hidden.data() + row * d, d), 0.0);
  }
}

}  // namespace
}  // namespace frugal
