#include "infer/kv_pool.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"

namespace frugal {

namespace {
int64_t common_prefix(const std::vector<int32_t>& a, const std::vector<int32_t>& b, int64_t limit) {
  int64_t n = 0;
  const int64_t end = std::min({int64_t(a.size()), int64_t(b.size()), limit});
  while (n < end && a[size_t(n)] == b[size_t(n)]) ++n;
  return n;
}
}  // namespace

KvPool::KvPool(const Model& m, const KvPoolOptions& opt) : model_(m), opt_(opt) {
  FRUGAL_CHECK(opt.slots > 0 && opt.context > 1, "kv pool of {} caches x {} positions", opt.slots, opt.context);
}

int64_t KvPool::busy() const {
  return std::count_if(slots_.begin(), slots_.end(), [](const auto& s) { return s->busy; });
}

int64_t KvPool::bytes_per_cache() const { return opt_.context * model_.new_cache(1).bytes_per_token(); }

std::optional<KvLease> KvPool::acquire(const std::vector<int32_t>& prompt) {
  const int64_t limit = int64_t(prompt.size()) - 1;
  // The longest prefix held anywhere (busy caches too: their rows below their
  // length are final).
  int source = -1;
  int64_t source_len = 0;
  std::vector<int64_t> common(slots_.size());
  for (size_t i = 0; i < slots_.size(); ++i) {
    common[i] = common_prefix(slots_[i]->ids, prompt, std::min(limit, slots_[i]->cache.length));
    if (common[i] > source_len) source = int(i), source_len = common[i];
  }
  // Where to write, losing as little cached content as possible: a free cache
  // that holds only a prefix of the prompt (the longest), else a new cache, else
  // the least recently used free one (its content is evicted).
  int target = -1;
  for (size_t i = 0; i < slots_.size(); ++i) {
    const Slot& s = *slots_[i];
    if (!s.busy && common[i] == int64_t(s.ids.size()) && (target < 0 || common[i] > common[size_t(target)]))
      target = int(i);
  }
  if (target < 0 && int64_t(slots_.size()) < opt_.slots) {
    auto s = std::make_unique<Slot>();
    s->cache = model_.new_cache(opt_.context);
    slots_.push_back(std::move(s));
    common.push_back(0);
    target = int(slots_.size()) - 1;
  }
  for (size_t i = 0; target < 0 && i < slots_.size(); ++i) {
    if (slots_[i]->busy) continue;
    int lru = int(i);
    for (size_t j = i + 1; j < slots_.size(); ++j)
      if (!slots_[j]->busy && slots_[j]->last_used < slots_[size_t(lru)]->last_used) lru = int(j);
    target = lru;
  }
  if (target < 0) return std::nullopt;
  Slot& t = *slots_[size_t(target)];
  t.busy = true;
  t.last_used = ++clock_;
  int64_t reused = common[size_t(target)];
  if (source_len > reused) {
    // Copy rows [0, source_len) of every layer from the cache that holds them.
    const LatentKvCache& src = slots_[size_t(source)]->cache;
    for (int64_t l = 0; l < src.n_layers; ++l)
      std::memcpy(t.cache.row(l, 0), src.row(l, 0), size_t(source_len * src.row_size()) * sizeof(float));
    reused = source_len;
  }
  t.cache.length = reused;
  t.ids.assign(prompt.begin(), prompt.begin() + reused);
  return KvLease{.slot = target, .reused = reused};
}

void KvPool::release(int slot) {
  Slot& s = *slots_[size_t(slot)];
  FRUGAL_CHECK(s.busy, "releasing free cache {}", slot);
  FRUGAL_CHECK(int64_t(s.ids.size()) == s.cache.length, "cache {} holds {} rows for {} ids", slot, s.cache.length,
               s.ids.size());
  s.busy = false;
  s.last_used = ++clock_;
}

}  // namespace frugal
