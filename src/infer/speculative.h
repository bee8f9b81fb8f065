// Speculative decoding with the model's own MTP module as the draft model
// (DeepSeek-V3 report Sec. 2.2 and 5.4.3), for a batch of sequences.
//
// One step, for every sequence of the batch together:
//   1. draft: MTP module 0 runs over the rows it is owed (main hidden state at
//      each new position + the token after it) and proposes d_1; chaining the
//      module on its own output proposes d_2 .. d_N (depth N, the way public GPU
//      servers use DeepSeek-V3's single MTP layer);
//   2. verify: the main model scores [current, d_1 .. d_N] in one batched
//      forward pass (all rows' logits);
//   3. accept (speculative_accept.h) a prefix of the drafts plus one token of the
//      main model's own; rejected positions are dropped from the main cache and
//      the chained rows from the MTP cache by setting their lengths back (no
//      copies), so each sequence moves on by its own accepted length.
//
// Positions and caches. The main cache holds the latents of tokens t_0..t_{P-1};
// `current` = t_P is chosen but not yet in it. MTP row j combines the main
// hidden state h_j with the token t_{j+1} and predicts t_{j+2} (transformer.h,
// mtp_fwd); its cache holds rows 0..M-1 computed from true main hidden states,
// and the rows M..P-1 it is owed are kept here until the next step runs them.
// Chained rows (hidden taken from the MTP module itself) are only ever temporary.
#pragma once

#include <cstdint>
#include <vector>

#include "core/thread_pool.h"
#include "infer/sampler.h"
#include "infer/speculative_accept.h"
#include "model/transformer.h"

namespace frugal {

constexpr int64_t kSpecMaxDepth = 4;

// Per draft position k (0-based: d_{k+1}): how often it was checked (every
// earlier draft was kept) and kept. Acceptance at k = accepted[k] / reached[k].
struct SpecCounters {
  std::vector<int64_t> reached = std::vector<int64_t>(kSpecMaxDepth, 0);
  std::vector<int64_t> accepted = std::vector<int64_t>(kSpecMaxDepth, 0);
  int64_t steps = 0;       // verify passes
  int64_t tokens = 0;      // tokens they chose (accepted drafts + 1 each)
  int64_t mtp_passes = 0;  // MTP forward passes this sequence took part in
  double tokens_per_step() const { return steps ? double(tokens) / double(steps) : 0.0; }
  SpecCounters& operator+=(const SpecCounters& o);
};

// One sequence. The caches and sampler belong to the caller (the engine, or
// generate()); spec_begin / spec_step keep the rest between steps.
struct SpecSequence {
  LatentKvCache* cache = nullptr;      // main model
  LatentKvCache* mtp_cache = nullptr;  // MTP module 0 (Model::new_mtp_cache), same capacity; null:
                                       // never drafts (a plain step in the same batch)
  Sampler* sampler = nullptr;          // this sequence's sampling options and generator
  int64_t depth = 1;                   // drafts per step (1..kSpecMaxDepth); fewer near the cache's end

  int32_t current = -1;               // t_P: chosen, not yet in `cache`
  std::vector<float> owed_hidden;     // [P - M, d] main hidden states h_M .. h_{P-1}
  std::vector<int32_t> owed_tokens;   // [P - M] t_{M+1} .. t_P
  std::vector<int32_t> emitted;       // out of spec_step: the tokens it chose, in order
  SpecCounters counts;
};

struct SpecScratch {
  ForwardScratch main, mtp;  // apart, so that each pass's expert count can be read
  ForwardResult verify;
  std::vector<float> mtp_logits, mtp_hidden, hidden_in;
  std::vector<int32_t> tokens;
  Batch batch;
  std::vector<std::vector<float>> chain_hidden, q;  // per sequence: [d], [depth, V]
  std::vector<std::vector<int32_t>> drafts;         // per sequence: [depth]
  SpecVerifyScratch accept;
};

// Whether `m` can draft; throws a clear frugal::Error naming the flag otherwise.
void spec_check_model(const Model& m, int64_t depth);

// Starts a sequence after a prefill: tokens[0..n) were just appended to seq.cache
// in one pass whose final-normed hidden states are `hidden` [n, d], and `next`
// was chosen from its last logits. The MTP cache must hold exactly the positions
// before the prefill (mtp_cache->length == cache->length - n) on a fresh
// SpecSequence. A prompt prefilled in chunks: call it after each chunk, with
// `next` the token after the chunk (the next chunk's first, then the chosen one);
// the MTP rows are owed until the first spec_step.
void spec_begin(SpecSequence& seq, const int32_t* tokens, const float* hidden, int64_t n, int32_t next,
                int64_t d);

// One draft-verify-accept step of every sequence in `seqs`; each one's `emitted`
// receives the 1 .. depth + 1 tokens it chose; its main cache is left holding
// exactly the positions before its new `current`, its MTP cache the positions
// before the old one (the rows in between are owed to the next step).
void spec_step(const Model& m, const std::vector<SpecSequence*>& seqs, AttnMode attn, SpecScratch& s,
               ThreadPool& pool);

}  // namespace frugal
