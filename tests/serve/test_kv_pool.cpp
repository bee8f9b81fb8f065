// The paged KV pool (infer/kv_pool.h): attention over pool views must give the
// logits of contiguous caches (model/kv_cache.h, the path pinned against the
// PyTorch reference in tests/model); prefixes are shared by reference in whole
// blocks, the first written block is copied, MTP rows follow the rule of
// kv_pool.h, and unreferenced blocks are evicted least recently released first.
#include <gtest/gtest.h>

#include "../common/temp_dir.h"
#include "engine_test_model.h"
#include "infer/kv_pool.h"

namespace frugal {
namespace {

const Model& tiny() { return *test::tiny().model; }
std::vector<int32_t> tokens(int64_t n, uint32_t seed) { return test::some_prompt(n, seed); }

// Rows with values that name their place: row (l, pos) starts with 1000 l + pos + tag.
void fill(LatentKvCache& c, int64_t from, int64_t to, float tag) {
  for (int64_t l = 0; l < c.n_layers; ++l)
    for (int64_t pos = from; pos < to; ++pos)
      for (int64_t k = 0; k < c.row_size(); ++k) c.row(l, pos)[k] = float(1000 * l + pos) + tag + 0.001f * float(k);
}

// Three sequences of odd lengths through chunked prefill and decode, as one
// batch, once with contiguous caches and once with views of a pool of 5-position
// blocks: the same rows in the same batch shapes, so the logits must be equal
// bit for bit on both attention paths.
TEST(KvPool, PagedViewsGiveTheLogitsOfContiguousCaches) {
  const Model& m = tiny();
  const int64_t V = m.config.vocab_size;
  const std::vector<std::vector<int32_t>> prompts = {tokens(13, 1), tokens(7, 2), tokens(22, 3)};
  for (AttnMode mode : {AttnMode::Naive, AttnMode::Absorb}) {
    ThreadPool pool(2);
    KvPool kv(m, {.context = 40, .block_tokens = 5, .blocks = 30});
    std::vector<LatentKvCache> flat;
    std::vector<int> slots;
    for (const auto& p : prompts) {
      flat.push_back(m.new_cache(40));
      auto lease = kv.acquire(p, 40, false);
      ASSERT_TRUE(lease);
      EXPECT_EQ(lease->reused, 0);
      slots.push_back(lease->slot);
    }
    std::vector<int64_t> fed(prompts.size(), 0);
    std::vector<int32_t> next(prompts.size(), -1);
    ForwardScratch s1, s2;
    ForwardResult o1, o2;
    for (int step = 0; step < 8; ++step) {
      // Prompts in chunks of 6, then one sampled token per step.
      Batch b1, b2;
      std::vector<int32_t> in;
      for (size_t i = 0; i < prompts.size(); ++i) {
        const int64_t P = int64_t(prompts[i].size());
        const int64_t n = fed[i] < P ? std::min<int64_t>(6, P - fed[i]) : 1;
        b1.push_back({&flat[i], int64_t(in.size()), n});
        b2.push_back({&kv.cache(slots[i]), int64_t(in.size()), n});
        if (fed[i] < P)
          in.insert(in.end(), prompts[i].begin() + fed[i], prompts[i].begin() + fed[i] + n);
        else
          in.push_back(next[i]);
        fed[i] += n;
      }
      transformer_fwd(m, b1, in.data(), {.attn = mode, .all_logits = true}, o1, s1, pool);
      transformer_fwd(m, b2, in.data(), {.attn = mode, .all_logits = true}, o2, s2, pool);
      ASSERT_EQ(o1.logits, o2.logits) << "step " << step;
      for (size_t i = 0; i < prompts.size(); ++i) {
        const float* last = o1.logits.data() + (b1[i].row0 + b1[i].n - 1) * V;
        next[i] = int32_t(std::max_element(last, last + V) - last);
        EXPECT_EQ(kv.cache(slots[i]).length, flat[i].length);
      }
    }
    EXPECT_GT(kv.cache(slots[2]).length, 25);  // crossed several block boundaries
  }
}

TEST(KvPool, PrefixBlocksAreSharedByReferenceAndTheWrittenBlockIsCopied) {
  const Model& m = tiny();
  KvPool kv(m, {.context = 32, .block_tokens = 4, .blocks = 12});
  const std::vector<int32_t> p = tokens(11, 5);
  auto a = kv.acquire(p, 16, false);
  ASSERT_TRUE(a);
  EXPECT_EQ(kv.page_table(a->slot).size(), 4u);
  fill(kv.cache(a->slot), 0, 11, 0.25f);
  kv.cache(a->slot).length = 11;
  kv.ids(a->slot) = p;
  kv.commit(a->slot);  // blocks 0, 1 full; block 2 holds 3 rows
  EXPECT_EQ(kv.blocks().used(), 4);

  // 10 tokens in common: blocks 0 and 1 by reference, nothing after them registered.
  std::vector<int32_t> q(p.begin(), p.begin() + 10);
  q.insert(q.end(), {1, 1, 1});
  auto b = kv.acquire(q, 16, false);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->reused, 8);
  for (size_t k = 0; k < 2; ++k) {
    EXPECT_EQ(kv.page_table(b->slot)[k], kv.page_table(a->slot)[k]);
    EXPECT_EQ(kv.blocks().refcount(kv.page_table(a->slot)[k]), 2);
  }
  EXPECT_EQ(kv.cache(b->slot).row(1, 7), kv.cache(a->slot).row(1, 7));  // the same memory
  EXPECT_EQ(kv.blocks().used(), 4 + 2);  // b's 4 blocks, 2 of them a's

  // a's block 2 full: the next prompt shares 10 tokens, so block 2 is copied
  // (rows 8, 9 kept, the sequence writes row 10 next).
  fill(kv.cache(a->slot), 11, 12, 0.25f);
  kv.cache(a->slot).length = 12;
  kv.ids(a->slot).push_back(9);
  kv.commit(a->slot);
  auto c = kv.acquire(q, 16, false);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->reused, 10);
  EXPECT_NE(kv.page_table(c->slot)[2], kv.page_table(a->slot)[2]);
  for (int64_t pos = 8; pos < 10; ++pos) EXPECT_EQ(kv.cache(c->slot).row(1, pos)[3], kv.cache(a->slot).row(1, pos)[3]);
  EXPECT_EQ(kv.blocks().refcount(kv.page_table(a->slot)[0]), 3);

  // Released blocks stay as prefix cache: 3 registered blocks of a.
  kv.ids(b->slot).resize(8);
  kv.ids(c->slot).resize(10);
  kv.release(c->slot);
  kv.release(b->slot);
  kv.release(a->slot);
  EXPECT_EQ(kv.blocks().used(), 0);
  EXPECT_EQ(kv.blocks().cached(), 3);
  // The same prompt again: all but its last token (block 2 copied).
  auto d = kv.acquire(p, 16, false);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->reused, 10);
  EXPECT_EQ(kv.cache(d->slot).row(0, 9)[0], 9.25f);
  kv.ids(d->slot).resize(10);
  kv.release(d->slot);
}

TEST(KvPool, UnreferencedBlocksAreEvictedTailFirstAndAdmissionWaitsForBlocks) {
  const Model& m = tiny();
  KvPool kv(m, {.context = 32, .block_tokens = 4, .blocks = 10});
  const std::vector<int32_t> p = tokens(12, 6);
  auto a = kv.acquire(p, 13, false);  // 4 blocks
  ASSERT_TRUE(a);
  fill(kv.cache(a->slot), 0, 12, 0.5f);
  kv.cache(a->slot).length = 12;
  kv.ids(a->slot) = p;
  kv.release(a->slot);
  EXPECT_EQ(kv.blocks().cached(), 3);
  EXPECT_EQ(kv.blocks().free_blocks(), 7);
  // 8 blocks: the 7 free ones and the least recently released cached one, a's
  // last block (a chain's tail goes first).
  auto b = kv.acquire(tokens(20, 7), 32, false);
  ASSERT_TRUE(b);
  EXPECT_EQ(kv.blocks().cached(), 2);
  EXPECT_FALSE(kv.acquire(tokens(5, 8), 12, false));  // 3 blocks wanted, 2 evictable
  auto c = kv.acquire(tokens(5, 8), 8, false);           // 2 blocks: a's prefix is evicted
  ASSERT_TRUE(c);
  EXPECT_EQ(kv.blocks().cached(), 0);
  kv.discard(c->slot);
  kv.discard(b->slot);
  // What is left of a's chain is gone: no hit.
  auto d = kv.acquire(p, 13, false);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->reused, 0);
  kv.discard(d->slot);
}

// MTP rows sit one position later than the main rows: row j in slot j + 1.
// Blocks are shared for a speculative sequence only as far as their MTP rows
// are written, and never past the common prefix minus one.
TEST(KvPool, WithMtpReusesWhatTheMtpRowsCover) {
  const Model& m = tiny();
  KvPool kv(m, {.context = 32, .block_tokens = 4, .blocks = 20, .mtp = true});
  std::vector<int32_t> p = tokens(12, 9);
  auto a = kv.acquire(p, 16, true);
  ASSERT_TRUE(a);
  EXPECT_EQ(kv.page_table(a->slot).size(), 5u);  // 16 positions + the MTP shift
  LatentKvCache &ca = kv.cache(a->slot), &ma = kv.mtp_cache(a->slot);
  fill(ca, 0, 12, 0.0f);
  fill(ma, 0, 12, 0.5f);
  EXPECT_EQ(ma.row(0, 3), kv.blocks().data(kv.page_table(a->slot)[1]) + m.config.num_hidden_layers * 4 * ca.row_size());
  ca.length = 12;
  ma.length = 6;  // rows 6.. still owed by a's owner
  kv.ids(a->slot) = p;
  kv.commit(a->slot);  // blocks 0..2 registered; only block 0's MTP rows (0..2) all written
  std::vector<int32_t> q = p;
  q.push_back(4);
  auto b = kv.acquire(q, 16, true);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->reused, 3);
  EXPECT_EQ(kv.mtp_cache(b->slot).length, 3);
  EXPECT_NE(kv.page_table(b->slot)[0], kv.page_table(a->slot)[0]);  // copied: b writes main row 3 there
  for (int64_t j = 0; j < 3; ++j) EXPECT_EQ(kv.mtp_cache(b->slot).row(0, j)[0], float(j) + 0.5f);
  // A request that does not draft needs no MTP rows: 12 tokens, 3 blocks by reference.
  auto c = kv.acquire(q, 16, false);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->reused, 12);
  for (size_t k = 0; k < 3; ++k) EXPECT_EQ(kv.page_table(c->slot)[k], kv.page_table(a->slot)[k]);
  kv.discard(c->slot);
  kv.discard(b->slot);
  // a's owner runs its owed rows: blocks 1 and 2 complete (rows up to 10).
  fill(ma, 6, 12, 0.5f);
  ma.length = 12;
  kv.commit(a->slot);
  auto d = kv.acquire(q, 16, true);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->reused, 11);  // common prefix 12, less one
  for (size_t k = 0; k < 2; ++k) EXPECT_EQ(kv.page_table(d->slot)[k], kv.page_table(a->slot)[k]);
  EXPECT_NE(kv.page_table(d->slot)[2], kv.page_table(a->slot)[2]);
  EXPECT_EQ(kv.mtp_cache(d->slot).row(0, 10)[0], 10.5f);
  EXPECT_EQ(kv.cache(d->slot).row(1, 10)[0], 1010.0f);
  kv.discard(d->slot);
  kv.release(a->slot);
}

// Context caching on disk: the registered chains round-trip through save/load.
TEST(KvPool, SaveAndLoadKeepFullBlocks) {
  const Model& m = tiny();
  test::TempDir dir("kv-pool-save");
  const std::vector<int32_t> p = tokens(10, 11);
  {
    KvPool kv(m, {.context = 32, .block_tokens = 4, .blocks = 10});
    auto a = kv.acquire(p, 12, false);
    ASSERT_TRUE(a);
    fill(kv.cache(a->slot), 0, 10, 0.75f);
    kv.cache(a->slot).length = 10;
    kv.ids(a->slot) = p;
    kv.release(a->slot);
    kv.save(dir.str());
  }
  KvPool kv(m, {.context = 32, .block_tokens = 4, .blocks = 10});
  const std::vector<int> slots = kv.load(dir.str());
  ASSERT_EQ(slots.size(), 1u);
  EXPECT_EQ(kv.ids(slots[0]), std::vector<int32_t>(p.begin(), p.begin() + 8));
  kv.release(slots[0]);
  auto b = kv.acquire(p, 12, false);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->reused, 8);
  EXPECT_EQ(kv.cache(b->slot).row(1, 7)[2], 1007.75f + 0.002f);
  kv.discard(b->slot);
}

}  // namespace
}  // namespace frugal
