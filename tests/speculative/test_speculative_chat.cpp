// Speculative decoding in chat sessions (frugal chat / run -p): the same greedy
// answers as plain decoding over several turns that reuse the cached prefix,
// and after each turn both caches hold exactly the latents of the conversation
// so far (the MTP cache too, though a stale MTP row could only cost acceptance).
#include <gtest/gtest.h>

#include "../infer/tiny_chat_model.h"
#include "../model/model_test_util.h"
#include "infer/chat_session.h"

namespace frugal {
namespace {

using testing_util::max_abs_diff;

ChatSessionOptions greedy(int64_t speculative) {
  ChatSessionOptions o;
  o.context = 512;
  o.max_tokens = 16;
  o.sampling.temperature = 0;
  o.format = "deepseek-v3";
  o.speculative = speculative;
  return o;
}

double rows_diff(const LatentKvCache& a, const LatentKvCache& b, int64_t positions) {
  double err = 0;
  for (int64_t l = 0; l < a.n_layers; ++l)
    err = std::max(err, max_abs_diff(a.row(l, 0), b.row(l, 0), positions * a.row_size()));
  return err;
}

TEST(SpeculativeChat, SameAnswersAndCachesAsAFreshPrefill) {
  test::TinyChatModel t;
  const Model& m = *t.model;
  ThreadPool pool(1);
  const std::vector<std::string> turns = {"hello world", "in the world 123", "the end"};
  for (int64_t depth : {1, 3}) {
    ChatSession plain(m, *t.tokenizer, greedy(0), pool), spec(m, *t.tokenizer, greedy(depth), pool);
    int64_t cached = 0;
    for (const auto& turn : turns) {
      std::string want, got;
      plain.reply(turn, [&](const std::string& r, const std::string& c) { want += r + c; });
      ChatReplyStats st = spec.reply(turn, [&](const std::string& r, const std::string& c) { got += r + c; });
      EXPECT_EQ(got, want) << "depth " << depth << ", turn " << turn;
      EXPECT_GT(st.spec.steps, 0);
      cached += st.cached_tokens;

      // One prefill of the cached tokens, and MTP module 0 over its hidden states.
      const std::vector<int32_t>& ids = spec.cached_ids();
      const int64_t P = int64_t(ids.size()), M = spec.mtp_cache().length;
      ASSERT_EQ(spec.cache().length, P);
      ASSERT_GT(M, 0);
      ASSERT_LT(M, P);
      LatentKvCache ref = m.new_cache(P), ref_mtp = m.new_mtp_cache(P);
      ForwardScratch fs;
      ForwardResult fr;
      transformer_fwd(m, ids.data(), P, ref, {.all_logits = false}, fr, fs, pool);
      std::vector<float> logits;
      mtp_fwd(m, 0, fr.hidden.data(), ids.data() + 1, M, ref_mtp, AttnMode::Auto, logits, fs, pool);
      EXPECT_LE(rows_diff(spec.cache(), ref, P), 1e-4) << "turn " << turn;
      EXPECT_LE(rows_diff(spec.mtp_cache(), ref_mtp, M), 1e-4) << "turn " << turn;
    }
    EXPECT_GT(cached, 10) << "the conversation prefix was not reused";
  }
}

TEST(SpeculativeChat, ModelWithoutMtpIsAClearError) {
  test::TinyChatModel t;
  ThreadPool pool(1);
  t.model->weights.mtp.clear();  // as loaded from a checkpoint without MTP tensors
  try {
    ChatSession s(*t.model, *t.tokenizer, greedy(2), pool);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--speculative 2: this model has no MTP layer"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace frugal
