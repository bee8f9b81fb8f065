// The serving engine against single-sequence generation (infer/generate.cpp, one
// cache, no scheduler): continuous batching, queueing, the prefix cache and
// cancellation must not change a greedy answer.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "core/error.h"
#include "engine_test_model.h"
#include "model/synth.h"

namespace frugal {
namespace {

using namespace std::chrono_literals;

using test::read_all;
using test::reference_greedy;
using test::some_prompt;
using test::tiny;

// 8 prompts of different lengths; with max_batch 3 requests queue, join and leave
// at different steps; with prefill_chunk 5 long prompts take several steps while
// others decode; with a budget of 7 rows per step, prefills wait behind decodes.
TEST(Engine, GreedyAnswersMatchSingleSequenceGeneration) {
  ThreadPool pool(2);
  std::vector<std::vector<int32_t>> prompts;
  for (int i = 0; i < 8; ++i) prompts.push_back(some_prompt(3 + 5 * i, uint32_t(i + 1)));
  const std::vector<EngineOptions> configs = {{.context = 512, .max_batch = 8, .prefill_chunk = 5},
                                              {.context = 512, .max_batch = 3, .prefill_chunk = 5},
                                              {.context = 512, .max_batch = 8, .max_step_rows = 7}};
  for (const EngineOptions& opt : configs) {
    const int64_t max_batch = opt.max_batch;
    Engine engine(*tiny().model, opt, pool);
    std::vector<std::shared_ptr<RequestStream>> streams;
    for (size_t i = 0; i < prompts.size(); ++i)
      streams.push_back(engine.submit({.prompt = prompts[i], .max_tokens = int64_t(6 + 2 * i)}));
    for (size_t i = 0; i < prompts.size(); ++i) {
      EXPECT_EQ(read_all(*streams[i]), reference_greedy(prompts[i], int64_t(6 + 2 * i)))
          << "request " << i << ", max_batch " << max_batch << ", max_step_rows " << opt.max_step_rows;
      EXPECT_EQ(streams[i]->finish_reason(), FinishReason::Length);
    }
    const EngineStats st = engine.stats();
    EXPECT_GT(st.step_sequences, st.steps) << "requests were batched";
    EXPECT_EQ(st.caches_busy, 0);
  }
}

TEST(Engine, StopTokenEndsTheAnswerAndIsNotReturned) {
  ThreadPool pool(2);
  const std::vector<int32_t> prompt = some_prompt(9, 3);
  const std::vector<int32_t> ref = reference_greedy(prompt, 8);
  Engine engine(*tiny().model, {.context = 512}, pool);
  auto s = engine.submit({.prompt = prompt, .max_tokens = 8, .stop_tokens = {ref[4]}});
  const std::vector<int32_t> got = read_all(*s);
  const auto first_stop = std::find(ref.begin(), ref.end(), ref[4]);
  EXPECT_EQ(got, std::vector<int32_t>(ref.begin(), first_stop));
  EXPECT_EQ(s->finish_reason(), FinishReason::Stop);
}

TEST(Engine, PrefixCacheReusesLatentsAndKeepsAnswers) {
  ThreadPool pool(2);
  Engine engine(*tiny().model, {.context = 512, .max_batch = 2}, pool);
  const std::vector<int32_t> a = some_prompt(60, 11);
  std::vector<int32_t> b(a.begin(), a.begin() + 45);
  for (int32_t t : some_prompt(10, 12)) b.push_back(t);

  auto sa = engine.submit({.prompt = a, .max_tokens = 5});
  EXPECT_EQ(read_all(*sa), reference_greedy(a, 5));
  EXPECT_EQ(sa->cached_tokens(), 0);
  auto sb = engine.submit({.prompt = b, .max_tokens = 5});
  EXPECT_EQ(read_all(*sb), reference_greedy(b, 5));
  EXPECT_EQ(sb->cached_tokens(), 45);
  // The same prompt again: all but its last token come from the cache.
  auto sa2 = engine.submit({.prompt = a, .max_tokens = 5});
  EXPECT_EQ(read_all(*sa2), reference_greedy(a, 5));
  EXPECT_EQ(sa2->cached_tokens(), 59);
  EXPECT_EQ(engine.stats().cached_prompt_tokens, 45 + 59);
}

// While one request runs, a second with the same prefix shares the running
// request's full blocks: the first one by reference, the next one copied up to
// where they differ.
TEST(Engine, PrefixIsCopiedFromARunningRequest) {
  ThreadPool pool(2);
  Engine engine(*tiny().model, {.context = 512, .max_batch = 2}, pool);
  const std::vector<int32_t> a = some_prompt(40, 21);
  std::vector<int32_t> b(a.begin(), a.begin() + 30);
  b.push_back(5);
  auto sa = engine.submit({.prompt = a, .max_tokens = 200});
  std::vector<int32_t> first;
  ASSERT_TRUE(sa->read(first, 5000ms));  // a's prompt is in its cache
  auto sb = engine.submit({.prompt = b, .max_tokens = 6});
  EXPECT_EQ(read_all(*sb), reference_greedy(b, 6));
  EXPECT_EQ(sb->cached_tokens(), 30);
  sa->cancel();
  read_all(*sa);
}

TEST(Engine, CancelFreesTheCacheAtOnce) {
  ThreadPool pool(2);
  Engine engine(*tiny().model, {.context = 512, .max_batch = 2}, pool);
  auto s = engine.submit({.prompt = some_prompt(8, 5), .max_tokens = 500});
  std::vector<int32_t> got;
  ASSERT_TRUE(s->read(got, 5000ms));
  s->cancel();
  read_all(*s);
  EXPECT_EQ(s->finish_reason(), FinishReason::Cancelled);
  EXPECT_LT(s->generated_tokens(), 500);
  for (int i = 0; i < 100 && (engine.stats().caches_busy != 0 || engine.stats().running != 0); ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(engine.stats().caches_busy, 0);
  EXPECT_EQ(engine.stats().running, 0);
  EXPECT_EQ(engine.stats().requests_cancelled, 1);
}

TEST(Engine, FullQueueRefusesAndBadPromptsAreErrors) {
  ThreadPool pool(2);
  Engine engine(*tiny().model, {.context = 64, .max_batch = 1, .max_queue = 1}, pool);
  auto s1 = engine.submit({.prompt = some_prompt(4, 1), .max_tokens = 50});
  auto s2 = engine.submit({.prompt = some_prompt(4, 2), .max_tokens = 50});
  EXPECT_THROW(engine.submit({.prompt = some_prompt(4, 3), .max_tokens = 5}), EngineBusy);
  EXPECT_EQ(engine.stats().requests_rejected, 1);
  EXPECT_THROW(engine.submit({.prompt = some_prompt(64, 4)}), Error);  // no room for an answer
  EXPECT_THROW(engine.submit({.prompt = {}}), Error);
  EXPECT_THROW(engine.submit({.prompt = {100000}}), Error);
  read_all(*s1);
  read_all(*s2);
  // Room again once they ended; the context ends an answer that max_tokens would not.
  auto s3 = engine.submit({.prompt = some_prompt(60, 5), .max_tokens = 50});
  EXPECT_EQ(read_all(*s3).size(), 64u - 60u + 1u);
  EXPECT_EQ(s3->finish_reason(), FinishReason::Length);
}

// Context caching on disk: saved when an engine ends, loaded by the next one of
// the same model, dropped by a model with other weights.
TEST(Engine, PrefixCacheOnDiskServesTheSameModelOnly) {
  ThreadPool pool(2);
  const std::string dir = tiny().dir + "-prefix";
  const std::vector<int32_t> a = some_prompt(50, 31);
  {
    Engine engine(*tiny().model, {.context = 512, .prefix_cache_dir = dir}, pool);
    read_all(*engine.submit({.prompt = a, .max_tokens = 3}));
  }
  EXPECT_TRUE(std::filesystem::exists(dir + "/prefix-0.ids.npy"));
  {
    Engine engine(*tiny().model, {.context = 512, .prefix_cache_dir = dir}, pool);
    auto s = engine.submit({.prompt = a, .max_tokens = 5});
    EXPECT_EQ(read_all(*s), reference_greedy(a, 5));
    EXPECT_EQ(s->cached_tokens(), 48);  // the full blocks of 16 saved (50 + 2 fed rows)
  }
  const std::string other_dir = tiny().dir + "-other";
  synth_checkpoint({.like = "tiny", .dtype = SynthDType::BF16, .seed = 8}, other_dir);
  {
    auto other = model_load(other_dir);
    Engine engine(*other, {.context = 512, .prefix_cache_dir = dir}, pool);
    auto s = engine.submit({.prompt = a, .max_tokens = 2});
    read_all(*s);
    EXPECT_EQ(s->cached_tokens(), 0);
  }
  std::filesystem::remove_all(dir);
  std::filesystem::remove_all(other_dir);
}

}  // namespace
}  // namespace frugal
