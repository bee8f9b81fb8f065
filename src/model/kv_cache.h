// The latent KV cache of one sequence (DeepSeek-V2 report Sec. 2.1.2): per layer
// and position only the normalized latent c_kv [kv_lora_rank] and the rotated,
// head-shared k_pe [qk_rope_head_dim], stored side by side: 576 floats per token
// per layer for V3 shapes. Both attention paths read from it.
//
// Storage is a page table of blocks of `block_tokens` (B) positions, each block
// [n_layers, B, row]: block k holds positions [k*B - offset, (k+1)*B - offset).
// A cache built with the constructor owns one block of `capacity` positions (the
// contiguous cache of run / chat / bench / logits / training); the serving pool
// (infer/kv_pool.h) hands out views whose blocks live in a shared block pool,
// so a prompt prefix can be mapped into many sequences without a copy. Readers
// go block run by block run (for_each_run): within a block the rows of a layer
// are contiguous, so attention stays a tight loop over contiguous rows with no
// per-token indirection. `offset` lets a view start mid-block (the MTP rows of a
// pooled sequence sit one position later than the main rows; kv_pool.h).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "core/error.h"

namespace frugal {

// The storage a contiguous cache owns, left uninitialized: a cache sized for a
// long context (--ctx 1000000) then costs address space up front and memory only
// for the positions written (a large allocation gets fresh pages, touched when a
// row is written; attention never reads a row before it is written).
class CacheStorage {
 public:
  CacheStorage() = default;
  explicit CacheStorage(size_t n) : p_(n ? new float[n] : nullptr), n_(n) {}
  CacheStorage(const CacheStorage& o) : CacheStorage(o.n_) {
    if (n_) std::memcpy(p_.get(), o.p_.get(), n_ * sizeof(float));
  }
  CacheStorage& operator=(const CacheStorage& o) {
    if (this != &o) *this = CacheStorage(o);
    return *this;
  }
  CacheStorage(CacheStorage&&) = default;
  CacheStorage& operator=(CacheStorage&&) = default;
  float* data() { return p_.get(); }
  bool empty() const { return n_ == 0; }

 private:
  std::unique_ptr<float[]> p_;
  size_t n_ = 0;
};

struct LatentKvCache {
  int64_t n_layers = 0, capacity = 0, kv_lora_rank = 0, rope_dim = 0;
  int64_t length = 0;            // positions [0, length) are filled
  int64_t block_tokens = 0;      // B: positions per block
  int64_t offset = 0;            // position p is slot p + offset of the page table
  std::vector<float*> blocks;    // block k: [n_layers, B, row], layer l at blocks[k] + l * B * row
  CacheStorage data;             // the one block a contiguous cache owns; empty for a pool view

  LatentKvCache() = default;
  // A contiguous cache: one owned block of `capacity_` positions.
  LatentKvCache(int64_t n_layers_, int64_t capacity_, int64_t kv_lora_rank_, int64_t rope_dim_)
      : n_layers(n_layers_), capacity(capacity_), kv_lora_rank(kv_lora_rank_), rope_dim(rope_dim_),
        block_tokens(std::max<int64_t>(capacity_, 1)),
        data(size_t(n_layers_ * capacity_ * (kv_lora_rank_ + rope_dim_))) {
    blocks.push_back(data.data());
  }
  // Copies of a contiguous cache point at their own storage; a moved buffer
  // stays where it was, so moves need nothing.
  LatentKvCache(const LatentKvCache& o) { *this = o; }
  LatentKvCache& operator=(const LatentKvCache& o) {
    if (this == &o) return *this;
    n_layers = o.n_layers, capacity = o.capacity, kv_lora_rank = o.kv_lora_rank, rope_dim = o.rope_dim;
    length = o.length, block_tokens = o.block_tokens, offset = o.offset;
    data = o.data;
    blocks = o.data.empty() ? o.blocks : std::vector<float*>{data.data()};
    return *this;
  }
  LatentKvCache(LatentKvCache&&) = default;
  LatentKvCache& operator=(LatentKvCache&&) = default;

  int64_t row_size() const { return kv_lora_rank + rope_dim; }
  float* row(int64_t layer, int64_t pos) {
    const int64_t slot = pos + offset;
    FRUGAL_CHECK(layer < n_layers && pos < capacity && slot / block_tokens < int64_t(blocks.size()),
                 "cache row ({}, {}) of ({}, {})", layer, pos, n_layers, capacity);
    return blocks[size_t(slot / block_tokens)] + (layer * block_tokens + slot % block_tokens) * row_size();
  }
  const float* row(int64_t layer, int64_t pos) const { return const_cast<LatentKvCache*>(this)->row(layer, pos); }
  int64_t bytes_per_token() const { return n_layers * row_size() * int64_t(sizeof(float)); }

  // Calls fn(rows, first, n) for positions [begin, end) of `layer` split into
  // runs stored contiguously: rows[i * row_size()] is position first + i.
  template <typename Fn>
  void for_each_run(int64_t layer, int64_t begin, int64_t end, Fn&& fn) const {
    const int64_t B = block_tokens, R = row_size();
    for (int64_t pos = begin; pos < end;) {
      const int64_t slot = pos + offset, in = slot % B, n = std::min(end - pos, B - in);
      fn(static_cast<const float*>(blocks[size_t(slot / B)] + (layer * B + in) * R), pos, n);
      pos += n;
    }
  }
  // Whether positions [0, end) are one contiguous run.
  bool contiguous(int64_t end) const { return offset + end <= block_tokens; }
  // Positions [0, end) of `layer` as one contiguous [end, row] array: the cache
  // itself when it is one run, else a copy gathered into `scratch`.
  const float* rows(int64_t layer, int64_t end, float* scratch) const {
    if (contiguous(end)) return row(layer, 0);
    for_each_run(layer, 0, end, [&](const float* src, int64_t first, int64_t n) {
      std::copy_n(src, n * row_size(), scratch + first * row_size());
    });
    return scratch;
  }
};

}  // namespace frugal
