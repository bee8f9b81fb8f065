// Multi-head Latent Attention (DeepSeek-V2 report Sec. 2.1, eqs. 9-19).
#pragma once

#include <cstdint>
#include <vector>

#include "core/thread_pool.h"
#include "model/batch.h"
#include "model/config.h"
#include "model/kv_cache.h"
#include "model/rope.h"
#include "model/weights.h"

namespace frugal {

// naive: decompress per-head k_nope / v from the cached latent with kv_b_proj.
// absorb: fold kv_b_proj's k rows into the query and its v rows into the output,
//         attending over the latent directly (what makes MLA's cache small).
// auto:   per forward pass, whichever costs fewer flops for this batch: naive for
//         prefill (short dot products; decompression amortized over many queries),
//         absorbed for decode (no per-step decompression of the whole context).
enum class AttnMode { Naive, Absorb, Auto };

// The mode `Auto` picks for a batch (the other modes are returned unchanged).
AttnMode attn_mode_for(AttnMode mode, const ModelConfig& c, const Batch& batch);

struct MlaScratch {
  std::vector<float> q_a, q, kv_a, kv, q_lat, ctx, attn, cos, sin;
  std::vector<int64_t> row_seq, row_pos, kv_offset;
  std::vector<float> lat;                 // naive path: latents of paged caches gathered contiguous
  std::vector<const float*> lat_rows;     // naive path: each sequence's contiguous latents
  std::vector<int64_t> blocks;            // naive path: (sequence, first new row) of each query block
};

struct MlaArgs {
  const ModelConfig& cfg;
  const MlaWeights& w;
  const RopeTable& rope;
  AttnMode mode;
  int64_t layer;  // index into the cache
};

// x: [R, d] normalized input of the batch's rows (R = batch_rows(batch)); row
// batch[i].row0 + j is token j of sequence i, at position cache->length + j.
// Appends their latents to each sequence's cache (layer args.layer; the caller
// advances the lengths after the last layer) and writes the attention output y: [R, d].
void mla_fwd(const MlaArgs& args, const Batch& batch, const float* x, float* y, MlaScratch& s, ThreadPool& pool);

}  // namespace frugal
