// Greedy speculative decoding emits exactly the tokens of plain greedy decoding,
// at depths 1..4, one sequence at a time and in batches whose sequences accept
// different lengths in the same step; and what it costs to ask it of a model
// without an MTP layer.
#include <gtest/gtest.h>

#include <set>

#include "core/error.h"
#include "spec_test_model.h"

namespace frugal {
namespace {

using test::generate_plain;
using test::generate_spec;
using test::some_tokens;
using test::spec_test_model;

constexpr int64_t kPrompts = 24, kGen = 32;

std::vector<std::vector<int32_t>> prompts(int64_t vocab) {
  std::vector<std::vector<int32_t>> p;
  for (int64_t i = 0; i < kPrompts; ++i) p.push_back(some_tokens(1 + (i * 5) % 11, vocab, uint32_t(100 + i)));
  return p;
}

// Greedy decoding of every prompt at depths 1..4 must equal plain greedy
// decoding; returns the acceptance counts per depth (index depth - 1). agree:
// < 0 random MTP layer (drafts almost always rejected), else the agreeable
// model's alpha (spec_test_model.h).
std::vector<SpecCounters> expect_same_as_plain(float agree, SynthDType dtype = SynthDType::F32) {
  auto t = spec_test_model(agree, 3, nlohmann::json::object(), dtype);
  const Model& m = *t.model;
  ThreadPool pool(1);  // a tiny model gains nothing from threads
  const auto ps = prompts(m.config.vocab_size);
  std::vector<std::vector<int32_t>> want;
  for (const auto& prompt : ps) want.push_back(generate_plain(m, prompt, kGen, {}, pool));
  std::vector<SpecCounters> by_depth(kSpecMaxDepth);
  for (int64_t depth = 1; depth <= kSpecMaxDepth; ++depth) {
    SpecCounters& counts = by_depth[size_t(depth - 1)];
    for (size_t i = 0; i < ps.size(); ++i) {
      const std::vector<int32_t> got = generate_spec(m, ps[i], kGen, depth, {}, pool, &counts);
      EXPECT_EQ(got, want[i]) << "depth " << depth << ", prompt of " << ps[i].size() << " tokens";
    }
    std::printf("[ measured ] agree %.2f depth %lld: first-draft acceptance %.3f, %.2f tokens per step\n", agree,
                (long long)depth, double(counts.accepted[0]) / double(counts.reached[0]), counts.tokens_per_step());
    EXPECT_GE(counts.tokens, kPrompts * (kGen - 1));  // the first token of each comes from the prefill
  }
  return by_depth;
}

TEST(SpeculativeGreedy, RandomMtpLayerSameTokensAsPlain) {
  for (const SpecCounters& c : expect_same_as_plain(-1.0f)) EXPECT_LT(c.accepted[0], c.reached[0] / 10);
}

// fp8 weights with block scales: the verify pass (2..5 rows) and plain decode
// (1 row) take different kernel paths and must still pick the same tokens.
TEST(SpeculativeGreedy, RandomMtpLayerFp8SameTokensAsPlain) {
  for (const SpecCounters& c : expect_same_as_plain(-1.0f, SynthDType::FP8)) EXPECT_LT(c.accepted[0], c.reached[0] / 10);
}

// alpha 0: every draft right, each step keeps all of its drafts (fewer than
// `depth` only in the last steps, where the context ends).
TEST(SpeculativeGreedy, PerfectDraftsSameTokensAsPlain) {
  const auto by_depth = expect_same_as_plain(0.0f);
  for (size_t depth = 1; depth <= by_depth.size(); ++depth) {
    const SpecCounters& c = by_depth[depth - 1];
    for (size_t k = 0; k < depth; ++k) EXPECT_EQ(c.accepted[k], c.reached[k]) << "depth " << depth;
    EXPECT_GE(c.reached[depth - 1], c.steps - 2 * kPrompts) << "depth " << depth;
  }
}

// alpha 0.2: drafts partly right (about half the first ones), so that every
// accepted length 0..depth occurs: position k is reached, kept and rejected.
TEST(SpeculativeGreedy, PartlyRightDraftsSameTokensAsPlain) {
  const auto by_depth = expect_same_as_plain(0.2f);
  for (size_t depth = 1; depth <= by_depth.size(); ++depth)
    for (size_t k = 0; k < depth; ++k) {
      const SpecCounters& c = by_depth[depth - 1];
      EXPECT_GT(c.accepted[k], 0) << "depth " << depth << " position " << k;
      EXPECT_LT(c.accepted[k], c.reached[k]) << "depth " << depth << " position " << k;
    }
}

// Several sequences in one batch: different prompt lengths, depths and
// accepted lengths per step; each must emit its own plain greedy tokens.
TEST(SpeculativeGreedy, BatchOfSequencesAcceptingDifferentLengths) {
  auto t = spec_test_model(0.2f);
  const Model& m = *t.model;
  ThreadPool pool(1);
  const int64_t B = 6, V = m.config.vocab_size, d = m.config.hidden_size;
  const auto ps = prompts(V);
  std::vector<LatentKvCache> caches, mtp_caches;
  std::vector<Sampler> samplers;
  std::vector<SpecSequence> seqs(B);
  std::vector<std::vector<int32_t>> got(B);
  for (int64_t i = 0; i < B; ++i) {
    caches.push_back(m.new_cache(128));
    mtp_caches.push_back(m.new_mtp_cache(128));
    samplers.emplace_back(SamplerOptions{});
  }
  ForwardScratch fs;
  ForwardResult fr;
  for (int64_t i = 0; i < B; ++i) {
    const auto& p = ps[size_t(i)];
    transformer_fwd(m, p.data(), int64_t(p.size()), caches[size_t(i)], {.all_logits = false}, fr, fs, pool);
    const int32_t first = argmax(fr.logits.data(), V);
    // Depths 1..4, and one sequence without MTP cache: plain steps in the same batch.
    seqs[size_t(i)] = {.cache = &caches[size_t(i)], .mtp_cache = i == B - 1 ? nullptr : &mtp_caches[size_t(i)],
                       .sampler = &samplers[size_t(i)], .depth = 1 + i % kSpecMaxDepth};
    spec_begin(seqs[size_t(i)], p.data(), fr.hidden.data(), int64_t(p.size()), first, d);
    got[size_t(i)].push_back(first);
  }
  std::vector<SpecSequence*> batch;
  for (auto& s : seqs) batch.push_back(&s);
  SpecScratch scratch;
  int64_t steps_with_different_lengths = 0;
  for (int step = 0; step < 12; ++step) {
    spec_step(m, batch, AttnMode::Auto, scratch, pool);
    std::set<size_t> lengths;
    for (int64_t i = 0; i < B; ++i) {
      const auto& e = seqs[size_t(i)].emitted;
      got[size_t(i)].insert(got[size_t(i)].end(), e.begin(), e.end());
      lengths.insert(e.size());
    }
    steps_with_different_lengths += lengths.size() > 1;
  }
  EXPECT_GT(steps_with_different_lengths, 3);
  EXPECT_EQ(got[size_t(B - 1)].size(), 13u);  // the plain one: one token per step
  for (int64_t i = 0; i < B; ++i) {
    const auto& p = ps[size_t(i)];
    const std::vector<int32_t> want = generate_plain(m, p, int64_t(got[size_t(i)].size()), {}, pool);
    EXPECT_EQ(got[size_t(i)], want) << "sequence " << i << " (depth " << seqs[size_t(i)].depth << ")";
  }
}

TEST(SpeculativeGreedy, ModelWithoutMtpIsAClearError) {
  auto t = spec_test_model(-1.0f, 3, {{"num_nextn_predict_layers", 0}});
  ThreadPool pool(1);
  ASSERT_FALSE(t.model->has_mtp());
  try {
    generate_spec(*t.model, {1, 2, 3}, 4, 2, {}, pool);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no MTP layer"), std::string::npos) << e.what();
  }
  // --speculative 0 on the same model decodes as before.
  EXPECT_EQ(generate_spec(*t.model, {1, 2, 3}, 6, 0, {}, pool), generate_plain(*t.model, {1, 2, 3}, 6, {}, pool));
}

TEST(SpeculativeGreedy, DepthOutOfRangeIsAClearError) {
  auto t = spec_test_model(-1.0f);
  ThreadPool pool(1);
  EXPECT_THROW(generate_spec(*t.model, {1, 2, 3}, 4, kSpecMaxDepth + 1, {}, pool), Error);
}

}  // namespace
}  // namespace frugal
