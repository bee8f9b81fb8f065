// The paged latent KV cache shared by all requests, which is also the prefix
// cache. One block store (infer/kv_blocks.h) of fixed blocks of B positions,
// each [layers, B, row]; every running sequence holds a page table of block ids
// and sees it as a LatentKvCache view (model/kv_cache.h), so MLA reads the
// blocks directly, run by run.
//
// Prefix sharing by reference: the latents of a position depend only on the
// tokens up to it (causal attention), so a full block is named by the hash of
// (previous block's name, its tokens). As a sequence's rows become final its
// full blocks are registered (commit()); acquire() maps the prompt's leading
// full blocks found by name into the new page table (refcount + 1, no copy),
// then looks among the registered children of the last one for the block that
// shares the most further tokens. The block holding the first position the new
// sequence writes is copied (copy on write) when it holds rows to keep; later
// blocks are fresh. Released blocks stay registered as prefix cache until
// allocate() evicts them, least recently released first.
//
// Admission: acquire() takes every block the sequence may need (prompt + answer,
// `positions`) at once, so a running sequence never runs out; it returns nullopt
// while the free and evictable blocks do not suffice (the caller waits).
//
// With `mtp` (speculative decoding, infer/speculative.h) every block has one
// more layer for MTP module 0's rows. MTP row j combines the main hidden state
// h_j with token t_{j+1}, so it depends on tokens 0..j+1: it is stored one
// position later (view offset 1), in the block of position j+1, so a block's
// MTP rows depend on its own name only. A block's MTP rows may be written after
// its main rows (the owner owes them to the MTP module), so a block is marked
// mtp_ok once all its MTP rows are written; a sequence with MTP reuses r
// positions only when the MTP rows 0..r-1 are in mtp_ok blocks, and r is at
// most the common prefix minus one (row r-1 needs this prompt's t_r). The hidden
// states are not kept, so missing MTP rows cannot be rebuilt without the main
// model: the prefix is shortened instead and the main model recomputes those
// positions.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "infer/kv_blocks.h"
#include "model/transformer.h"

namespace frugal {

struct KvPoolOptions {
  int64_t context = 4096;    // positions per sequence at most
  int64_t block_tokens = 16;  // B
  int64_t blocks = 0;        // blocks in the pool; 0: blocks_for(context) x 8
  bool mtp = false;          // an MTP layer in every block (speculative decoding)
};

struct KvLease {
  int slot = -1;
  int64_t reused = 0;  // prompt tokens whose latents are already in the cache
};

class KvPool {
 public:
  KvPool(const Model& m, const KvPoolOptions& opt);

  // Blocks a sequence of `positions` positions takes.
  int64_t blocks_for(int64_t positions) const;
  // A sequence for `prompt` with room for `positions` positions (prompt.size() <
  // positions <= context), holding the longest prefix of the prompt the cache
  // has (at most prompt.size() - 1 tokens, so the last one is fed again for its
  // logits). mtp: the sequence keeps MTP rows (limits the reuse, see above).
  // nullopt while the pool lacks blocks.
  std::optional<KvLease> acquire(const std::vector<int32_t>& prompt, int64_t positions, bool mtp);
  // Registers the sequence's full blocks whose rows are final (main rows below
  // cache(slot).length; with MTP, marks those whose MTP rows are written).
  void commit(int slot);
  // commit(), then the sequence's blocks are released; registered ones stay as
  // prefix cache.
  void release(int slot);
  // Releases without registering anything (content not to be trusted).
  void discard(int slot);

  LatentKvCache& cache(int slot) { return seqs_[size_t(slot)]->cache; }
  // With opt.mtp: MTP module 0's rows; its length is how many rows are valid
  // (at most cache(slot).length), which its owner keeps true.
  LatentKvCache& mtp_cache(int slot) { return seqs_[size_t(slot)]->mtp; }
  // The tokens whose latents the cache holds: the owner appends what it feeds.
  std::vector<int32_t>& ids(int slot) { return seqs_[size_t(slot)]->ids; }
  const std::vector<int32_t>& page_table(int slot) const { return seqs_[size_t(slot)]->pages; }
  const KvBlocks& blocks() const { return blocks_; }

  // Context caching on disk: save() writes every chain of registered blocks
  // that no longer chain extends to `dir` (prefix-N.ids.npy [n] int32,
  // prefix-N.latents.npy [layers, n, row] f32, with opt.mtp prefix-N.mtp.npy
  // [1, m < n, row] f32: MTP rows 0..m-1), replacing what was there; load()
  // reads their full blocks back into new sequences and returns their slots:
  // the caller checks they belong to this model, then release()s or discard()s
  // them. Files of another shape are skipped with a warning; throws
  // frugal::Error when `dir` cannot be written.
  void save(const std::string& dir) const;
  std::vector<int> load(const std::string& dir);

  int64_t busy() const;  // sequences holding blocks
  int64_t context() const { return opt_.context; }
  int64_t bytes_per_block() const;

 private:
  struct Seq {
    LatentKvCache cache, mtp;  // views of `pages`; mtp: empty without opt.mtp
    std::vector<int32_t> ids;
    std::vector<int32_t> pages;
    bool busy = false, uses_mtp = false;
    int64_t committed = 0;        // leading blocks registered (or whose name a twin holds)
    std::vector<uint64_t> names;  // names of the committed blocks
    int64_t mtp_marked = 0;  // leading blocks whose MTP rows are known written
  };
  int new_seq();
  void map_views(Seq& s, int64_t positions);

  const Model& model_;
  KvPoolOptions opt_;
  int64_t layers_, row_;
  KvBlocks blocks_;
  std::vector<std::unique_ptr<Seq>> seqs_;
};

}  // namespace frugal
