#include "infer/kv_blocks.h"

#include <algorithm>

#include "core/error.h"

namespace frugal {

namespace {
// splitmix64's finalizer: a cheap, well-mixed 64-bit permutation.
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
}  // namespace

uint64_t kv_block_hash(uint64_t parent, const int32_t* tokens, int64_t n) {
  uint64_t h = mix(parent ^ 0x6b76626c6f636b31ull);
  for (int64_t i = 0; i < n; ++i) h = mix(h ^ uint64_t(uint32_t(tokens[i])));
  return h == 0 ? 1 : h;  // 0 names "no parent"
}

KvBlocks::KvBlocks(int64_t n_blocks, int64_t block_tokens, int64_t floats_per_block)
    : block_tokens_(block_tokens), floats_per_block_(floats_per_block),
      storage_(new float[size_t(n_blocks * floats_per_block)]),  // not value-initialized: pages stay untouched
      meta_(size_t(n_blocks)) {
  FRUGAL_CHECK(n_blocks > 0 && block_tokens > 0 && floats_per_block > 0, "kv blocks {} x {}", n_blocks,
               floats_per_block);
  for (int64_t b = n_blocks; b-- > 0;) free_.push_back(int32_t(b));  // block 0 first
}

int32_t KvBlocks::allocate() {
  int32_t b = -1;
  if (!free_.empty()) {
    b = free_.back();
    free_.pop_back();
  } else if (!lru_.empty()) {
    b = lru_.begin()->second;
    lru_.erase(lru_.begin());
    unregister(b);
  } else {
    return -1;
  }
  Meta& m = meta_[size_t(b)];
  m.refs = 1;
  m.mtp_ok = false;
  return b;
}

void KvBlocks::ref(int32_t b) {
  Meta& m = meta_[size_t(b)];
  if (m.refs == 0) {
    FRUGAL_CHECK(m.registered, "referencing free block {}", b);
    lru_.erase({m.released, b});
  }
  ++m.refs;
}

void KvBlocks::unref(int32_t b) {
  Meta& m = meta_[size_t(b)];
  FRUGAL_CHECK(m.refs > 0, "block {} released twice", b);
  if (--m.refs > 0) return;
  if (m.registered) {
    m.released = ++clock_;
    lru_.insert({m.released, b});
  } else {
    free_.push_back(b);
  }
}

int32_t KvBlocks::lookup(uint64_t hash, uint64_t parent, const int32_t* tokens) const {
  auto it = index_.find(hash);
  if (it == index_.end()) return -1;
  const Meta& m = meta_[size_t(it->second)];
  if (m.parent != parent || !std::equal(m.tokens.begin(), m.tokens.end(), tokens)) return -1;  // a collision
  return it->second;
}

std::vector<int32_t> KvBlocks::children(uint64_t parent) const {
  std::vector<int32_t> out;
  for (auto [it, end] = children_.equal_range(parent); it != end; ++it) out.push_back(it->second);
  return out;
}

bool KvBlocks::add(int32_t b, uint64_t hash, uint64_t parent, const int32_t* tokens) {
  Meta& m = meta_[size_t(b)];
  FRUGAL_CHECK(!m.registered && m.refs > 0, "registering block {} twice or unreferenced", b);
  if (index_.count(hash)) return false;
  m.registered = true;
  m.hash = hash;
  m.parent = parent;
  m.tokens.assign(tokens, tokens + block_tokens_);
  index_[hash] = b;
  children_.insert({parent, b});
  return true;
}

void KvBlocks::replace(int32_t old, int32_t b) {
  Meta& o = meta_[size_t(old)];
  FRUGAL_CHECK(o.registered && !meta_[size_t(b)].registered, "replacing block {} by {}", old, b);
  const uint64_t hash = o.hash, parent = o.parent;
  const std::vector<int32_t> tokens = o.tokens;
  unregister(old);
  if (o.refs == 0) {  // it was cached: now merely free
    lru_.erase({o.released, old});
    free_.push_back(old);
  }
  add(b, hash, parent, tokens.data());
}

void KvBlocks::unregister(int32_t b) {
  Meta& m = meta_[size_t(b)];
  if (!m.registered) return;
  index_.erase(m.hash);
  for (auto [it, end] = children_.equal_range(m.parent); it != end; ++it)
    if (it->second == b) {
      children_.erase(it);
      break;
    }
  m.registered = false;
  m.mtp_ok = false;
}

std::vector<int32_t> KvBlocks::registered_blocks() const {
  std::vector<int32_t> out;
  for (const auto& [h, b] : index_) out.push_back(b);
  std::sort(out.begin(), out.end());
  return out;
}

int32_t KvBlocks::by_hash(uint64_t hash) const {
  auto it = index_.find(hash);
  return it == index_.end() ? -1 : it->second;
}

}  // namespace frugal
