// A pool of per-request latent KV caches (model/kv_cache.h) that doubles as the
// prefix cache. The latents of a position depend only on the tokens up to it
// (causal attention), so any cache holding the same token prefix holds the rows
// a new prompt needs. Every cache remembers the ids whose latents it holds; a
// released cache keeps them, and acquire() hands out the free cache with the
// longest common prefix (truncated to it), or copies the prefix rows from
// whichever cache holds the longest one (busy caches included: rows below their
// length never change). Nothing is paged: each cache is one contiguous
// [layers, context, row] block allocated on first use.
//
// With `mtp` (speculative decoding, infer/speculative.h) every cache has an MTP
// cache beside it, copied with it. MTP row j combines the main hidden state h_j
// with token t_{j+1}, so a reused prefix of r positions needs MTP rows 0..r-1
// built with this prompt's t_r: r is at most the common prefix minus one, and
// at most the MTP cache's length (its owner may leave rows unbuilt: the owed
// rows of the last step are never run). The hidden states are not kept, so
// missing MTP rows cannot be rebuilt without the main model: the prefix is
// shortened instead and the main model recomputes those positions.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "model/transformer.h"

namespace frugal {

struct KvPoolOptions {
  int64_t slots = 16;      // caches at most (running requests + idle prefix cache)
  int64_t context = 4096;  // positions per cache
  bool mtp = false;        // an MTP cache beside each cache (speculative decoding)
};

struct KvLease {
  int slot = -1;
  int64_t reused = 0;  // prompt tokens whose latents are already in the cache
};

class KvPool {
 public:
  KvPool(const Model& m, const KvPoolOptions& opt);

  // A free cache for `prompt`, holding its longest prefix available anywhere in
  // the pool (at most prompt.size() - 1 tokens, so the last one is fed again for
  // its logits); nullopt when every cache is busy.
  std::optional<KvLease> acquire(const std::vector<int32_t>& prompt);
  // The cache is free again; its latents stay for later prompts.
  void release(int slot);

  LatentKvCache& cache(int slot) { return slots_[size_t(slot)]->cache; }
  // With opt.mtp: MTP module 0's cache; its length is how many rows are valid
  // (at most cache(slot).length), which its owner keeps true.
  LatentKvCache& mtp_cache(int slot) { return slots_[size_t(slot)]->mtp; }
  // The tokens whose latents the cache holds: the owner appends what it feeds.
  std::vector<int32_t>& ids(int slot) { return slots_[size_t(slot)]->ids; }

  // Context caching on disk: save() writes every cache that holds tokens to
  // `dir` (prefix-N.ids.npy [n] int32, prefix-N.latents.npy [layers, n, row]
  // f32, with opt.mtp prefix-N.mtp.npy [1, m <= n, row] f32), replacing what
  // was there; load() reads them back into new caches and
  // returns their slots (the caller checks they belong to this model). Files of
  // another shape are skipped with a warning; throws frugal::Error when `dir`
  // cannot be written.
  void save(const std::string& dir) const;
  std::vector<int> load(const std::string& dir);
  void forget(int slot);  // drops a free cache's content

  int64_t busy() const;
  int64_t allocated() const { return int64_t(slots_.size()); }
  int64_t context() const { return opt_.context; }
  int64_t bytes_per_cache() const;

 private:
  struct Slot {
    LatentKvCache cache, mtp;  // mtp: empty without opt.mtp
    std::vector<int32_t> ids;
    bool busy = false;
    uint64_t last_used = 0;
  };
  std::unique_ptr<Slot> new_slot() const;
  // Positions of slot i reusable for `prompt`, given the main rows' common prefix.
  int64_t usable(size_t i, int64_t common) const;

  const Model& model_;
  KvPoolOptions opt_;
  std::vector<std::unique_ptr<Slot>> slots_;
  uint64_t clock_ = 0;
};

}  // namespace frugal
