// The engine over the paged KV pool: requests with a common prefix share its
// blocks while they run, a pool too small for two requests admits them one
// after the other and evicts the prefix cache, and every answer still equals
// single-sequence greedy generation (infer/generate.cpp: one contiguous cache,
// no pool).
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <thread>

#include "core/error.h"
#include "engine_test_model.h"

namespace frugal {
namespace {

using namespace std::chrono_literals;

using test::read_all;
using test::reference_greedy;
using test::some_prompt;

const Model& tiny() { return *test::tiny().model; }

bool wait_for(const std::function<bool()>& cond) {
  for (int i = 0; i < 500 && !cond(); ++i) std::this_thread::sleep_for(10ms);
  return cond();
}

// b shares 96 of a's tokens (6 blocks of 16) while a runs: b's page table maps
// them, so the two hold 16 + 10 blocks instead of 16 + 16, and b's prefill
// skips them.
TEST(EnginePaged, RunningRequestsSharePrefixBlocks) {
  ThreadPool pool(2);
  Engine engine(tiny(), {.context = 256, .max_batch = 2, .kv_block_tokens = 16}, pool);
  const std::vector<int32_t> a = some_prompt(100, 1);
  std::vector<int32_t> b(a.begin(), a.begin() + 96);
  for (int32_t t : some_prompt(5, 2)) b.push_back(t);
  auto sa = engine.submit({.prompt = a, .max_tokens = 200});  // 256 positions: 16 blocks
  std::vector<int32_t> got_a, got_b;
  ASSERT_TRUE(sa->read(got_a, 10000ms));
  auto sb = engine.submit({.prompt = b, .max_tokens = 150});  // 101 + 150 + 1 positions: 16 blocks, 6 shared
  ASSERT_TRUE(sb->read(got_b, 10000ms));
  EXPECT_EQ(sb->cached_tokens(), 96);
  EXPECT_TRUE(wait_for([&] { return engine.stats().kv_blocks_used == 16 + 10; })) << engine.stats().kv_blocks_used;
  EXPECT_EQ(engine.stats().kv_blocks_total, 2 * 16);
  for (int32_t t : read_all(*sb)) got_b.push_back(t);
  EXPECT_EQ(got_b, reference_greedy(b, 150));
  sa->cancel();  // after b's 150 steps a holds at least 250 rows (or ended at the context, 255)
  read_all(*sa);
  EXPECT_TRUE(wait_for([&] { return engine.stats().kv_blocks_used == 0; }));
  EXPECT_EQ(engine.stats().caches_busy, 0);
  // The prefix cache: a's 15 full blocks and b's 15, 6 of them a's.
  EXPECT_GE(engine.stats().kv_blocks_cached, 15 + 9);
  // a again: its prompt from the cache, the answer that of a run with no cache.
  auto sa2 = engine.submit({.prompt = a, .max_tokens = 8});
  EXPECT_EQ(read_all(*sa2), reference_greedy(a, 8));
  EXPECT_EQ(sa2->cached_tokens(), 99);
}

// A pool of 8 blocks of 8 positions holds one request of 51 positions (7
// blocks): a second one waits for the first to end; later prompts evict the
// earlier ones' blocks; the answers never change.
TEST(EnginePaged, SmallPoolQueuesRequestsAndEvictsThePrefixCache) {
  ThreadPool pool(2);
  Engine engine(tiny(), {.context = 64, .max_batch = 2, .kv_blocks = 8, .kv_block_tokens = 8}, pool);
  const std::vector<int32_t> p1 = some_prompt(40, 3), p2 = some_prompt(40, 4), p3 = some_prompt(40, 5);
  auto s1 = engine.submit({.prompt = p1, .max_tokens = 10});
  auto s2 = engine.submit({.prompt = p2, .max_tokens = 10});
  EXPECT_EQ(read_all(*s1), reference_greedy(p1, 10));
  EXPECT_EQ(read_all(*s2), reference_greedy(p2, 10));
  EXPECT_EQ(engine.stats().step_sequences, engine.stats().steps);  // never together
  auto s3 = engine.submit({.prompt = p3, .max_tokens = 10});
  EXPECT_EQ(read_all(*s3), reference_greedy(p3, 10));
  auto s3b = engine.submit({.prompt = p3, .max_tokens = 10});
  EXPECT_EQ(read_all(*s3b), reference_greedy(p3, 10));
  EXPECT_EQ(s3b->cached_tokens(), 39);
  auto s1b = engine.submit({.prompt = p1, .max_tokens = 10});  // evicted by p2 and p3
  EXPECT_EQ(read_all(*s1b), reference_greedy(p1, 10));
  EXPECT_EQ(s1b->cached_tokens(), 0);
  // More than the whole pool can never run: a clear error at once.
  read_all(*engine.submit({.prompt = some_prompt(60, 6), .max_tokens = 1}));  // 62 positions: 8 blocks fit
  try {
    Engine small(tiny(), {.context = 64, .kv_blocks = 4, .kv_block_tokens = 8}, pool);
    small.submit({.prompt = p1, .max_tokens = 10});
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("KV cache blocks"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace frugal
