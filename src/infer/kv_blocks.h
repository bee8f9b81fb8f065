// The block store under the paged KV pool (infer/kv_pool.h): a fixed number of
// blocks of latent rows, reference counted, with the prefix index.
//
// A full block is named by the hash of (its parent's hash, its token ids), as in
// vLLM's automatic prefix caching: equal hashes mean equal token prefixes, hence
// equal latents (causal attention). Registered blocks are found by hash; the
// tokens and parent are stored too, so a hash collision is a miss, never a wrong
// hit. A block nobody references stays registered as prefix cache and is evicted
// least recently released first when a free block is needed.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <unordered_map>
#include <vector>

namespace frugal {

// The hash of a full block of `n` tokens after the block hashed `parent` (0:
// the first block).
uint64_t kv_block_hash(uint64_t parent, const int32_t* tokens, int64_t n);

class KvBlocks {
 public:
  // n_blocks blocks of floats_per_block floats; memory is reserved, not touched
  // until a block is written.
  KvBlocks(int64_t n_blocks, int64_t block_tokens, int64_t floats_per_block);

  int64_t total() const { return int64_t(meta_.size()); }
  int64_t free_blocks() const { return int64_t(free_.size()); }
  int64_t cached() const { return int64_t(lru_.size()); }      // unreferenced, kept as prefix cache
  int64_t used() const { return total() - free_blocks() - cached(); }
  int64_t block_tokens() const { return block_tokens_; }
  float* data(int32_t b) { return storage_.get() + int64_t(b) * floats_per_block_; }
  const float* data(int32_t b) const { return storage_.get() + int64_t(b) * floats_per_block_; }

  // A block with refcount 1: a free one, else the least recently released
  // cached one (evicted: unregistered); -1 when every block is referenced.
  int32_t allocate();
  void ref(int32_t b);    // +1; a cached block leaves the eviction list
  void unref(int32_t b);  // -1; at 0 a registered block is cached, another one free
  int64_t refcount(int32_t b) const { return meta_[size_t(b)].refs; }

  // The registered block named `hash` holding `tokens` after `parent`, or -1.
  int32_t lookup(uint64_t hash, uint64_t parent, const int32_t* tokens) const;
  // Registered blocks whose parent is `parent` (candidates for a partial match).
  std::vector<int32_t> children(uint64_t parent) const;
  // Names block b (full, its rows final); false when the name is taken.
  bool add(int32_t b, uint64_t hash, uint64_t parent, const int32_t* tokens);
  // Points the name of registered block `old` at b instead (same content).
  void replace(int32_t old, int32_t b);
  bool registered(int32_t b) const { return meta_[size_t(b)].registered; }
  uint64_t hash(int32_t b) const { return meta_[size_t(b)].hash; }
  uint64_t parent(int32_t b) const { return meta_[size_t(b)].parent; }
  const int32_t* tokens(int32_t b) const { return meta_[size_t(b)].tokens.data(); }
  // With MTP: whether every MTP row the block holds is written (kv_pool.h).
  bool mtp_ok(int32_t b) const { return meta_[size_t(b)].mtp_ok; }
  void set_mtp_ok(int32_t b) { meta_[size_t(b)].mtp_ok = true; }
  // Every registered block, for saving.
  std::vector<int32_t> registered_blocks() const;
  int32_t by_hash(uint64_t hash) const;  // -1 when absent

 private:
  struct Meta {
    int64_t refs = 0;
    bool registered = false, mtp_ok = false;
    uint64_t hash = 0, parent = 0, released = 0;
    std::vector<int32_t> tokens;
  };
  void unregister(int32_t b);

  int64_t block_tokens_, floats_per_block_;
  std::unique_ptr<float[]> storage_;
  std::vector<Meta> meta_;
  std::vector<int32_t> free_;
  std::set<std::pair<uint64_t, int32_t>> lru_;  // (released, block) of cached blocks
  std::unordered_map<uint64_t, int32_t> index_;  // hash -> registered block
  std::multimap<uint64_t, int32_t> children_;   // parent hash -> registered block
  uint64_t clock_ = 0;
};

}  // namespace frugal
