// The serving engine with speculative decoding (EngineOptions::speculative):
// greedy answers must equal plain single-sequence decoding (infer/generate.cpp
// without speculation: no engine, no MTP), batched, with chunked prefill and
// with prefix-cache hits; and a request's acceptance counts must equal those of
// single-sequence speculative decoding (generate() with opt.speculative), which
// a reused prefix's MTP rows (shared from the paged pool, kv_pool.h) must not change.
#include <gtest/gtest.h>

#include <chrono>

#include "../speculative/spec_test_model.h"
#include "core/error.h"
#include "infer/engine.h"

namespace frugal {
namespace {

using namespace std::chrono_literals;
using test::generate_plain;
using test::generate_spec;
using test::some_tokens;

// The agreeable model of spec_test_model.h (most drafts right, some wrong),
// with the MTP layer's attention given back: make_agreeable silences that layer,
// so its cache would not matter; with attention the drafts depend on the MTP
// cache's rows, and wrong rows change which drafts are accepted.
test::SpecTestModel mtp_model() {
  test::SpecTestModel t = test::spec_test_model(-1.0f, 5);
  const MatrixView o = t.model->weights.mtp.at(0).layer.self_attn.o_proj;
  t.make_agreeable(0.2f);
  t.model->weights.mtp.at(0).layer.self_attn.o_proj = t.scaled(o, 0.5f);
  return t;
}

test::SpecTestModel& model() {
  static test::SpecTestModel t = mtp_model();
  return t;
}

std::vector<int32_t> read_all(RequestStream& s) {
  std::vector<int32_t> out;
  while (s.read(out, 1000ms)) {
  }
  return out;
}

int64_t accepted(const SpecCounters& c) {
  int64_t n = 0;
  for (int64_t a : c.accepted) n += a;
  return n;
}

void expect_same_counts(const SpecCounters& got, const SpecCounters& want, const std::string& what) {
  EXPECT_EQ(got.reached, want.reached) << what;
  EXPECT_EQ(got.accepted, want.accepted) << what;
  EXPECT_EQ(got.steps, want.steps) << what;
  EXPECT_EQ(got.mtp_passes, want.mtp_passes) << what;
}

// 8 requests of different lengths at depths 1..3: all at once (max_batch 8)
// and queueing (max_batch 3), prompts prefilled in chunks of 5 (their MTP rows
// owed across chunks), one request opting out (plain steps in the same batch).
TEST(EngineSpeculative, GreedyAnswersMatchPlainDecodingInBatches) {
  const Model& m = *model().model;
  ThreadPool pool(2);
  std::vector<std::vector<int32_t>> prompts, want;
  for (int i = 0; i < 8; ++i) {
    prompts.push_back(some_tokens(3 + 4 * i, m.config.vocab_size, uint32_t(40 + i)));
    want.push_back(generate_plain(m, prompts.back(), 12 + i, {}, pool));
  }
  for (int64_t depth = 1; depth <= 3; ++depth) {
    for (int64_t max_batch : {8, 3}) {
      Engine engine(m, {.context = 256, .max_batch = max_batch, .prefill_chunk = 5, .speculative = depth}, pool);
      std::vector<std::shared_ptr<RequestStream>> streams;
      for (size_t i = 0; i < prompts.size(); ++i)
        streams.push_back(engine.submit({.prompt = prompts[i], .max_tokens = int64_t(12 + i), .speculative = i != 5}));
      SpecCounters sum;
      for (size_t i = 0; i < prompts.size(); ++i) {
        const std::string what = "request " + std::to_string(i) + ", depth " + std::to_string(depth) +
                                 ", max_batch " + std::to_string(max_batch);
        EXPECT_EQ(read_all(*streams[i]), want[i]) << what;
        EXPECT_EQ(streams[i]->finish_reason(), FinishReason::Length) << what;
        const SpecCounters c = streams[i]->spec();
        sum += c;
        if (i == 5) {
          EXPECT_EQ(c.mtp_passes, 0) << what;
          continue;
        }
        // Each verify pass checks depth drafts (fewer only near the context end).
        EXPECT_EQ(c.mtp_passes, depth * c.steps) << what;
        EXPECT_LE(accepted(c), c.mtp_passes) << what;
        // Every token but the first (from the prefill) came from a verify pass.
        EXPECT_GE(c.tokens, int64_t(want[i].size()) - 1) << what;
        EXPECT_LE(c.tokens, int64_t(want[i].size()) - 1 + depth) << what;
      }
      // Both outcomes of the acceptance test happened.
      EXPECT_GT(accepted(sum), sum.steps / 4) << "depth " << depth;
      EXPECT_LT(accepted(sum), sum.mtp_passes) << "depth " << depth;
      const EngineStats st = engine.stats();
      expect_same_counts(st.spec, sum, "engine totals");
      EXPECT_EQ(st.caches_busy, 0);
    }
  }
}

// Runs `prompt` alone in `engine` (attention Naive, context 256): the answer
// must be plain greedy decoding's, the acceptance counts those of
// single-sequence speculative decoding, which computes every MTP row itself.
void expect_as_single_sequence(Engine& engine, const std::vector<int32_t>& prompt, int64_t n, int64_t want_cached,
                               const std::string& what, ThreadPool& pool) {
  const Model& m = *model().model;
  auto s = engine.submit({.prompt = prompt, .max_tokens = n});
  const std::vector<int32_t> got = read_all(*s);  // before the reference: the pool serves one thread at a time
  EXPECT_EQ(got, generate_plain(m, prompt, n, {}, pool)) << what;
  EXPECT_EQ(s->cached_tokens(), want_cached) << what;
  // The same context (drafts are cut short near a cache's end) and attention path.
  const GenerateStats want =
      generate(m, prompt, {.max_tokens = n, .attn = AttnMode::Naive, .context = 256,
                           .speculative = engine.options().speculative},
               [](int32_t) { return true; }, pool);
  expect_same_counts(s->spec(), want.spec, what);
}

// One attention path throughout: Auto picks by cached length and rows, and the
// other path's rounding could flip a near-tie between drafts.
EngineOptions spec_options(std::string prefix_cache_dir = "", int64_t speculative = 2) {
  return {.context = 256, .max_batch = 2, .attn = AttnMode::Naive, .speculative = speculative,
          .prefix_cache_dir = std::move(prefix_cache_dir)};
}

// A prefix-cache hit reuses the MTP rows of the prefix with the main rows: the
// drafts, hence the acceptance counts, are those of a run that computed them all.
TEST(EngineSpeculative, PrefixCacheHitKeepsAnswersAndDrafts) {
  const Model& m = *model().model;
  ThreadPool pool(2);
  Engine engine(m, spec_options(), pool);
  const std::vector<int32_t> a = some_tokens(60, m.config.vocab_size, 71);
  std::vector<int32_t> b(a.begin(), a.begin() + 45);
  for (int32_t t : some_tokens(10, m.config.vocab_size, 72)) b.push_back(t);
  expect_as_single_sequence(engine, a, 10, 0, "a", pool);
  // 45 tokens in common; MTP row 44 combines h_44 with b's own token 45, so
  // the main model recomputes position 44 (the one position speculation costs).
  expect_as_single_sequence(engine, b, 10, 44, "b", pool);
  expect_as_single_sequence(engine, a, 10, 58, "a again", pool);  // all but the last token, less one
  EXPECT_EQ(engine.stats().cached_prompt_tokens, 44 + 58);
}

// Context caching on disk: a speculative engine saves the MTP rows beside the
// main rows and the next one reuses both; a folder written without speculation
// has no MTP rows, so a speculative engine gets no hit from it.
TEST(EngineSpeculative, PrefixCacheOnDiskKeepsTheMtpRows) {
  const Model& m = *model().model;
  ThreadPool pool(2);
  const std::vector<int32_t> a = some_tokens(50, m.config.vocab_size, 91);
  testing_util::TempDir spec_dir("spec-prefix"), plain_dir("plain-prefix");
  {
    Engine engine(m, spec_options(spec_dir.str()), pool);
    read_all(*engine.submit({.prompt = a, .max_tokens = 3}));
  }
  EXPECT_TRUE(std::filesystem::exists(spec_dir.str("prefix-0.mtp.npy")));
  {
    Engine engine(m, spec_options(spec_dir.str()), pool);
    // Full blocks only (48 of 50 + 2 fed rows), MTP rows 0..46 of them.
    expect_as_single_sequence(engine, a, 10, 47, "from disk", pool);
  }
  {
    Engine engine(m, spec_options(plain_dir.str(), 0), pool);
    read_all(*engine.submit({.prompt = a, .max_tokens = 3}));
  }
  EXPECT_FALSE(std::filesystem::exists(plain_dir.str("prefix-0.mtp.npy")));
  Engine engine(m, spec_options(plain_dir.str()), pool);
  expect_as_single_sequence(engine, a, 10, 0, "from a plain server's folder", pool);
}

// A stop token among the accepted drafts ends the answer there (not returned);
// drafts are cut short at the context's end, which ends the answer as without
// speculation (tests/serve/test_engine.cpp: 64 - 60 + 1 tokens).
TEST(EngineSpeculative, StopTokenAndContextEndAsWithoutSpeculation) {
  const Model& m = *model().model;
  ThreadPool pool(2);
  Engine engine(m, {.context = 64, .speculative = 3}, pool);
  const std::vector<int32_t> prompt = some_tokens(9, m.config.vocab_size, 81);
  const std::vector<int32_t> ref = generate_plain(m, prompt, 16, {}, pool);
  for (size_t k : {size_t(3), size_t(7), size_t(12)}) {
    auto s = engine.submit({.prompt = prompt, .max_tokens = 16, .stop_tokens = {ref[k]}});
    EXPECT_EQ(read_all(*s), std::vector<int32_t>(ref.begin(), std::find(ref.begin(), ref.end(), ref[k]))) << k;
    EXPECT_EQ(s->finish_reason(), FinishReason::Stop);
  }
  const std::vector<int32_t> long_prompt = some_tokens(60, m.config.vocab_size, 82);
  auto s = engine.submit({.prompt = long_prompt, .max_tokens = 50});
  const std::vector<int32_t> got = read_all(*s);
  EXPECT_EQ(got, generate_plain(m, long_prompt, 5, {}, pool));
  EXPECT_EQ(s->finish_reason(), FinishReason::Length);
}

TEST(EngineSpeculative, ModelWithoutMtpIsAClearError) {
  auto t = test::spec_test_model(-1.0f, 3, {{"num_nextn_predict_layers", 0}});
  ThreadPool pool(1);
  try {
    Engine engine(*t.model, {.context = 64, .speculative = 2}, pool);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no MTP layer"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace frugal
