#include "infer/kv_pool.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "core/error.h"
#include "core/npy.h"

namespace frugal {

namespace {
int64_t common_prefix(const std::vector<int32_t>& a, const std::vector<int32_t>& b, int64_t limit) {
  int64_t n = 0;
  const int64_t end = std::min({int64_t(a.size()), int64_t(b.size()), limit});
  while (n < end && a[size_t(n)] == b[size_t(n)]) ++n;
  return n;
}

void copy_rows(const LatentKvCache& src, LatentKvCache& dst, int64_t n) {
  for (int64_t l = 0; l < src.n_layers; ++l)
    std::memcpy(dst.row(l, 0), src.row(l, 0), size_t(n * src.row_size()) * sizeof(float));
}
}  // namespace

std::unique_ptr<KvPool::Slot> KvPool::new_slot() const {
  auto s = std::make_unique<Slot>();
  s->cache = model_.new_cache(opt_.context);
  if (opt_.mtp) s->mtp = model_.new_mtp_cache(opt_.context);
  return s;
}

int64_t KvPool::usable(size_t i, int64_t common) const {
  if (!opt_.mtp) return common;
  return std::clamp<int64_t>(std::min(common - 1, slots_[i]->mtp.length), 0, common);
}

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
  std::vector<int64_t> common(slots_.size()), use(slots_.size());
  for (size_t i = 0; i < slots_.size(); ++i) {
    common[i] = common_prefix(slots_[i]->ids, prompt, std::min(limit, slots_[i]->cache.length));
    use[i] = usable(i, common[i]);
    if (use[i] > source_len) source = int(i), source_len = use[i];
  }
  // Where to write, losing as little cached content as possible: a free cache
  // that holds only a prefix of the prompt (the longest), else a new cache, else
  // the least recently used free one (its content is evicted).
  int target = -1;
  for (size_t i = 0; i < slots_.size(); ++i) {
    const Slot& s = *slots_[i];
    if (!s.busy && common[i] == int64_t(s.ids.size()) && (target < 0 || use[i] > use[size_t(target)]))
      target = int(i);
  }
  if (target < 0 && int64_t(slots_.size()) < opt_.slots) {
    slots_.push_back(new_slot());
    use.push_back(0);
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
  int64_t reused = use[size_t(target)];
  if (source_len > reused) {
    // Copy rows [0, source_len) of every layer from the cache that holds them.
    copy_rows(slots_[size_t(source)]->cache, t.cache, source_len);
    if (opt_.mtp) copy_rows(slots_[size_t(source)]->mtp, t.mtp, source_len);
    reused = source_len;
  }
  t.cache.length = reused;
  t.mtp.length = reused;
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

void KvPool::forget(int slot) {
  Slot& s = *slots_[size_t(slot)];
  FRUGAL_CHECK(!s.busy, "forgetting busy cache {}", slot);
  s.ids.clear();
  s.cache.length = 0;
  s.mtp.length = 0;
}

void KvPool::save(const std::string& dir) const {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) fail("cannot create the prefix cache folder {}: {}", dir, ec.message());
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().filename().string().rfind("prefix-", 0) == 0) fs::remove(e.path(), ec);
  int n_saved = 0;
  std::vector<float> rows;
  for (const auto& sp : slots_) {
    const Slot& s = *sp;
    const int64_t n = int64_t(s.ids.size()), L = s.cache.n_layers, R = s.cache.row_size();
    if (n < 2) continue;
    rows.resize(size_t(L * n * R));
    for (int64_t l = 0; l < L; ++l) std::memcpy(rows.data() + l * n * R, s.cache.row(l, 0), size_t(n * R) * sizeof(float));
    const std::string base = dir + "/prefix-" + std::to_string(n_saved++);
    npy_write(base + ".latents.npy", DType::F32, {L, n, R}, rows.data());
    const int64_t m = std::min(s.mtp.length, n);
    if (opt_.mtp && m > 0) npy_write(base + ".mtp.npy", DType::F32, {1, m, s.mtp.row_size()}, s.mtp.row(0, 0));
    npy_write(base + ".ids.npy", DType::I32, {n}, s.ids.data());  // last: a pair is complete when its ids exist
  }
}

std::vector<int> KvPool::load(const std::string& dir) {
  std::vector<int> loaded;
  const LatentKvCache probe = model_.new_cache(1);
  for (int i = 0; int64_t(slots_.size()) < opt_.slots; ++i) {
    const std::string base = dir + "/prefix-" + std::to_string(i);
    if (!std::filesystem::exists(base + ".ids.npy")) break;
    try {
      const NpyArray ids = npy_read(base + ".ids.npy");
      const NpyArray lat = npy_read(base + ".latents.npy");
      const int64_t n = ids.numel();
      if (ids.dtype != DType::I32 || lat.shape != std::vector<int64_t>{probe.n_layers, n, probe.row_size()} ||
          n >= opt_.context)
        fail("shape {} for {} ids does not fit this model and context", lat.shape_str(), n);
      std::unique_ptr<Slot> s = new_slot();
      const int32_t* id = reinterpret_cast<const int32_t*>(ids.bytes.data());
      s->ids.assign(id, id + n);
      for (int32_t t : s->ids)
        if (t < 0 || t >= model_.config.vocab_size) fail("token id {} is outside the vocabulary", t);
      const int64_t R = probe.row_size();
      for (int64_t l = 0; l < probe.n_layers; ++l)
        std::memcpy(s->cache.row(l, 0), lat.f32() + l * n * R, size_t(n * R) * sizeof(float));
      s->cache.length = n;
      // The MTP rows, when the file has them (saved by a speculative server);
      // without them usable() is 0 with opt.mtp.
      if (opt_.mtp && std::filesystem::exists(base + ".mtp.npy")) {
        const NpyArray mtp = npy_read(base + ".mtp.npy");
        const int64_t m = mtp.shape.size() == 3 ? mtp.shape[1] : -1;
        if (mtp.dtype != DType::F32 || mtp.shape != std::vector<int64_t>{1, m, s->mtp.row_size()} || m > n)
          fail("MTP rows of shape {} do not fit this model", mtp.shape_str());
        std::memcpy(s->mtp.row(0, 0), mtp.f32(), size_t(m * s->mtp.row_size()) * sizeof(float));
        s->mtp.length = m;
      }
      s->last_used = ++clock_;
      slots_.push_back(std::move(s));
      loaded.push_back(int(slots_.size()) - 1);
    } catch (const Error& e) {
      std::fprintf(stderr, "frugal: prefix cache %s skipped: %s\n", base.c_str(), e.what());
    }
  }
  return loaded;
}

}  // namespace frugal
