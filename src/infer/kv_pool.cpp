#include "infer/kv_pool.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <unordered_set>

#include "core/error.h"
#include "core/npy.h"

namespace frugal {

namespace {

int64_t floats_per_block(const ModelConfig& c, const KvPoolOptions& opt) {
  return (c.num_hidden_layers + (opt.mtp ? 1 : 0)) * opt.block_tokens * (c.kv_lora_rank + c.qk_rope_head_dim);
}

int64_t physical(int64_t positions, bool mtp) { return positions + (mtp ? 1 : 0); }

int64_t default_blocks(const KvPoolOptions& opt) {
  if (opt.blocks > 0) return opt.blocks;
  const int64_t per_seq = (physical(opt.context, opt.mtp) + opt.block_tokens - 1) / opt.block_tokens;
  return 8 * per_seq;
}

// A LatentKvCache over pool blocks: `n_layers` layers starting at layer
// `layer0` of each block, position p in slot p + offset.
LatentKvCache view(KvBlocks& blocks, const std::vector<int32_t>& pages, int64_t n_layers, int64_t layer0,
                   int64_t offset, int64_t capacity, const ModelConfig& c) {
  LatentKvCache v;
  v.n_layers = n_layers;
  v.capacity = capacity;
  v.kv_lora_rank = c.kv_lora_rank;
  v.rope_dim = c.qk_rope_head_dim;
  v.block_tokens = blocks.block_tokens();
  v.offset = offset;
  for (int32_t b : pages) v.blocks.push_back(blocks.data(b) + layer0 * v.block_tokens * v.row_size());
  return v;
}

}  // namespace

KvPool::KvPool(const Model& m, const KvPoolOptions& opt)
    : model_(m), opt_(opt), layers_(m.config.num_hidden_layers),
      row_(m.config.kv_lora_rank + m.config.qk_rope_head_dim),
      blocks_(default_blocks(opt), opt.block_tokens, floats_per_block(m.config, opt)) {
  FRUGAL_CHECK(opt.context > 1 && opt.block_tokens > 0, "kv pool of context {}, blocks of {}", opt.context,
               opt.block_tokens);
}

int64_t KvPool::blocks_for(int64_t positions) const {
  return (physical(positions, opt_.mtp) + opt_.block_tokens - 1) / opt_.block_tokens;
}

int64_t KvPool::bytes_per_block() const { return floats_per_block(model_.config, opt_) * int64_t(sizeof(float)); }

int64_t KvPool::busy() const {
  return std::count_if(seqs_.begin(), seqs_.end(), [](const auto& s) { return s->busy; });
}

int KvPool::new_seq() {
  for (size_t i = 0; i < seqs_.size(); ++i)
    if (!seqs_[i]->busy) return int(i);
  seqs_.push_back(std::make_unique<Seq>());
  return int(seqs_.size()) - 1;
}

void KvPool::map_views(Seq& s, int64_t positions) {
  s.cache = view(blocks_, s.pages, layers_, 0, 0, positions, model_.config);
  if (opt_.mtp) s.mtp = view(blocks_, s.pages, 1, layers_, 1, positions, model_.config);
}

std::optional<KvLease> KvPool::acquire(const std::vector<int32_t>& prompt, int64_t positions, bool mtp) {
  const int64_t B = opt_.block_tokens, P = int64_t(prompt.size());
  FRUGAL_CHECK(P > 0 && P < positions && positions <= opt_.context, "a prompt of {} for {} positions of {}", P,
               positions, opt_.context);
  mtp = mtp && opt_.mtp;
  // The prompt's leading full blocks, by name.
  std::vector<int32_t> src;
  uint64_t parent = 0;
  while (int64_t(src.size() + 1) * B <= P) {
    const int32_t* t = prompt.data() + src.size() * size_t(B);
    const uint64_t h = kv_block_hash(parent, t, B);
    const int32_t b = blocks_.lookup(h, parent, t);
    if (b < 0) break;
    src.push_back(b);
    parent = h;
  }
  int64_t common = int64_t(src.size()) * B;
  // Then the registered block after them that shares the most further tokens.
  if (common < P) {
    int32_t best = -1;
    int64_t best_n = 0;
    for (int32_t c : blocks_.children(parent)) {
      const int32_t* t = blocks_.tokens(c);
      int64_t n = 0;
      while (n < std::min(B, P - common) && t[n] == prompt[size_t(common + n)]) ++n;
      if (n > best_n) best = c, best_n = n;
    }
    if (best >= 0) src.push_back(best), common += best_n;
  }
  int64_t r = std::min(common, P - 1);
  if (mtp) {
    int64_t ok = 0;
    while (ok < int64_t(src.size()) && blocks_.mtp_ok(src[size_t(ok)])) ++ok;
    r = std::clamp<int64_t>(std::min(r - 1, ok * B - 1), 0, r);
  }
  // Blocks 0 .. shared-1 are never written again: mapped by reference. The block
  // the sequence writes first is copied when it holds rows to keep (main rows
  // below r, or with MTP the row of position r - 1, stored at slot r).
  const int64_t shared = r / B;
  const int32_t copy = shared < int64_t(src.size()) && r > 0 && (r % B != 0 || mtp) ? src[size_t(shared)] : -1;
  const int64_t need = blocks_for(positions) - shared;
  FRUGAL_CHECK(need > 0, "{} blocks for {} positions, {} shared", blocks_for(positions), positions, shared);
  int64_t pinned = 0;  // cached blocks about to be referenced: not evictable
  for (int64_t k = 0; k < shared; ++k) pinned += blocks_.refcount(src[size_t(k)]) == 0;
  if (copy >= 0) pinned += blocks_.refcount(copy) == 0;
  if (need > blocks_.free_blocks() + blocks_.cached() - pinned) return std::nullopt;

  const int slot = new_seq();
  Seq& s = *seqs_[size_t(slot)];
  s.pages.clear();
  s.names.clear();
  for (int64_t k = 0; k < shared; ++k) {
    blocks_.ref(src[size_t(k)]);
    s.pages.push_back(src[size_t(k)]);
    s.names.push_back(blocks_.hash(src[size_t(k)]));
  }
  if (copy >= 0) blocks_.ref(copy);
  for (int64_t k = 0; k < need; ++k) {
    const int32_t b = blocks_.allocate();
    FRUGAL_CHECK(b >= 0, "block pool ran out after counting");
    if (k == 0 && copy >= 0) std::memcpy(blocks_.data(b), blocks_.data(copy), size_t(bytes_per_block()));
    s.pages.push_back(b);
  }
  if (copy >= 0) blocks_.unref(copy);
  s.busy = true;
  s.uses_mtp = mtp;
  s.committed = shared;
  s.mtp_marked = mtp ? shared : 0;
  map_views(s, positions);
  s.cache.length = r;
  s.mtp.length = mtp ? r : 0;
  s.ids.assign(prompt.begin(), prompt.begin() + r);
  return KvLease{.slot = slot, .reused = r};
}

void KvPool::commit(int slot) {
  Seq& s = *seqs_[size_t(slot)];
  const int64_t B = opt_.block_tokens;
  const int64_t final_rows = std::min(s.cache.length, int64_t(s.ids.size()));
  while ((s.committed + 1) * B <= final_rows) {
    const int64_t k = s.committed;
    const int32_t* t = s.ids.data() + k * B;
    const uint64_t parent = k > 0 ? s.names[size_t(k - 1)] : 0, h = kv_block_hash(parent, t, B);
    const int32_t b = s.pages[size_t(k)];
    // add() fails when a twin holds the name: this block then stays private.
    if (!blocks_.registered(b)) blocks_.add(b, h, parent, t);
    s.names.push_back(h);
    ++s.committed;
  }
  if (!s.uses_mtp) return;
  // Block k's MTP rows are those of positions kB-1 .. (k+1)B-2.
  while (s.mtp_marked < s.committed && s.mtp.length >= (s.mtp_marked + 1) * B - 1) {
    const int32_t b = s.pages[size_t(s.mtp_marked)];
    if (!blocks_.registered(b)) {
      // A twin without MTP rows gives its name to this complete block.
      const int32_t twin = blocks_.by_hash(s.names[size_t(s.mtp_marked)]);
      if (twin >= 0 && !blocks_.mtp_ok(twin)) blocks_.replace(twin, b);
    }
    if (blocks_.registered(b)) blocks_.set_mtp_ok(b);
    ++s.mtp_marked;
  }
}

void KvPool::release(int slot) {
  Seq& s = *seqs_[size_t(slot)];
  FRUGAL_CHECK(s.busy, "releasing free sequence {}", slot);
  FRUGAL_CHECK(int64_t(s.ids.size()) == s.cache.length, "sequence {} holds {} rows for {} ids", slot, s.cache.length,
               s.ids.size());
  commit(slot);
  discard(slot);
}

void KvPool::discard(int slot) {
  Seq& s = *seqs_[size_t(slot)];
  FRUGAL_CHECK(s.busy, "discarding free sequence {}", slot);
  // Last block first: a chain's tail is then evicted before its head, which
  // every longer prefix needs.
  for (size_t k = s.pages.size(); k-- > 0;) blocks_.unref(s.pages[k]);
  s.pages.clear();
  s.names.clear();
  s.ids.clear();
  s.cache = LatentKvCache();
  s.mtp = LatentKvCache();
  s.busy = false;
}

void KvPool::save(const std::string& dir) const {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) fail("cannot create the prefix cache folder {}: {}", dir, ec.message());
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().filename().string().rfind("prefix-", 0) == 0) fs::remove(e.path(), ec);
  const std::vector<int32_t> all = blocks_.registered_blocks();
  std::unordered_set<uint64_t> parents;
  for (int32_t b : all) parents.insert(blocks_.parent(b));
  KvBlocks& store = const_cast<KvBlocks&>(blocks_);  // view() takes mutable pointers; nothing is written
  const int64_t B = opt_.block_tokens;
  int n_saved = 0;
  std::vector<float> rows;
  for (int32_t leaf : all) {
    if (parents.count(blocks_.hash(leaf))) continue;  // a longer chain holds it
    std::vector<int32_t> chain{leaf};
    while (chain.back() >= 0 && blocks_.parent(chain.back()) != 0) chain.push_back(blocks_.by_hash(blocks_.parent(chain.back())));
    if (chain.back() < 0) continue;  // an evicted ancestor: unreachable
    std::reverse(chain.begin(), chain.end());
    const int64_t n = int64_t(chain.size()) * B;
    std::vector<int32_t> ids;
    for (int32_t b : chain) ids.insert(ids.end(), blocks_.tokens(b), blocks_.tokens(b) + B);
    const LatentKvCache main = view(store, chain, layers_, 0, 0, n, model_.config);
    rows.resize(size_t(layers_ * n * row_));
    for (int64_t l = 0; l < layers_; ++l)
      main.for_each_run(l, 0, n, [&](const float* src, int64_t first, int64_t cnt) {
        std::copy_n(src, cnt * row_, rows.data() + (l * n + first) * row_);
      });
    const std::string base = dir + "/prefix-" + std::to_string(n_saved++);
    npy_write(base + ".latents.npy", DType::F32, {layers_, n, row_}, rows.data());
    int64_t ok = 0;
    while (ok < int64_t(chain.size()) && blocks_.mtp_ok(chain[size_t(ok)])) ++ok;
    const int64_t m = ok * B - 1;  // MTP rows of the leading complete blocks
    if (opt_.mtp && m > 0) {
      const LatentKvCache mtp = view(store, chain, 1, layers_, 1, n, model_.config);
      rows.resize(size_t(m * row_));
      for (int64_t j = 0; j < m; ++j) std::copy_n(mtp.row(0, j), row_, rows.data() + j * row_);
      npy_write(base + ".mtp.npy", DType::F32, {1, m, row_}, rows.data());
    }
    npy_write(base + ".ids.npy", DType::I32, {n}, ids.data());  // last: a pair is complete when its ids exist
  }
}

std::vector<int> KvPool::load(const std::string& dir) {
  std::vector<int> loaded;
  const int64_t B = opt_.block_tokens;
  for (int i = 0;; ++i) {
    const std::string base = dir + "/prefix-" + std::to_string(i);
    if (!std::filesystem::exists(base + ".ids.npy")) break;
    try {
      const NpyArray ids = npy_read(base + ".ids.npy");
      const NpyArray lat = npy_read(base + ".latents.npy");
      const int64_t n_file = ids.numel();
      if (ids.dtype != DType::I32 || lat.shape != std::vector<int64_t>{layers_, n_file, row_} ||
          n_file >= opt_.context)
        fail("shape {} for {} ids does not fit this model and context", lat.shape_str(), n_file);
      const int32_t* id = reinterpret_cast<const int32_t*>(ids.bytes.data());
      for (int64_t k = 0; k < n_file; ++k)
        if (id[k] < 0 || id[k] >= model_.config.vocab_size) fail("token id {} is outside the vocabulary", id[k]);
      const int64_t n = n_file / B * B;  // only full blocks are shared
      if (n == 0) continue;
      if (blocks_for(n) > blocks_.free_blocks() + blocks_.cached()) {
        std::fprintf(stderr, "frugal: prefix cache %s and later ones skipped: the pool is full\n", base.c_str());
        break;
      }
      const int slot = new_seq();
      Seq& s = *seqs_[size_t(slot)];
      s.pages.clear();
      s.names.clear();
      for (int64_t k = 0; k < blocks_for(n); ++k) s.pages.push_back(blocks_.allocate());
      s.busy = true;
      s.uses_mtp = opt_.mtp;
      s.committed = s.mtp_marked = 0;
      map_views(s, n);
      s.ids.assign(id, id + n);
      for (int64_t l = 0; l < layers_; ++l)
        for (int64_t p = 0; p < n; ++p) std::copy_n(lat.f32() + (l * n_file + p) * row_, row_, s.cache.row(l, p));
      s.cache.length = n;
      // The MTP rows, when the file has them (saved by a speculative server);
      // without them no block is mtp_ok, so a speculative server gets no hit.
      s.mtp.length = 0;
      if (opt_.mtp && std::filesystem::exists(base + ".mtp.npy")) {
        const NpyArray mtp = npy_read(base + ".mtp.npy");
        const int64_t m = mtp.shape.size() == 3 ? mtp.shape[1] : -1;
        if (mtp.dtype != DType::F32 || mtp.shape != std::vector<int64_t>{1, m, row_} || m > n_file) {
          discard(slot);
          fail("MTP rows of shape {} do not fit this model", mtp.shape_str());
        }
        s.mtp.length = std::min(m, n - 1);
        for (int64_t j = 0; j < s.mtp.length; ++j) std::copy_n(mtp.f32() + j * row_, row_, s.mtp.row(0, j));
      }
      loaded.push_back(slot);
    } catch (const Error& e) {
      std::fprintf(stderr, "frugal: prefix cache %s skipped: %s\n", base.c_str(), e.what());
    }
  }
  return loaded;
}

}  // namespace frugal
