// The serving engine: requests from many threads, one scheduler thread that runs
// them together with continuous batching. Every step is one transformer_fwd over
// a batch (model/batch.h) holding the next prompt chunk of each request still
// prefilling and the last sampled token of each one decoding; requests join
// and leave between any two steps. Caches are page tables into one paged KvPool
// shared by all requests, which maps the blocks of prompt prefixes seen before
// into new requests by reference (prompt_cache_hit_tokens). A request is
// admitted when the pool has the blocks for its prompt + max_tokens; until then
// it waits in the queue (FIFO).
//
// With `speculative` > 0 the requests decoding are stepped together by
// spec_step (infer/speculative.h): the model's MTP module drafts up to that
// many tokens per request, one batched pass of the main model verifies them,
// and each request moves on by its own accepted length. Every block of the pool
// then has an MTP layer too, shared with the main rows on a prefix hit (kv_pool.h).
// Prompt chunks run in a pass of their own in the same step.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/thread_pool.h"
#include "infer/kv_pool.h"
#include "infer/sampler.h"
#include "infer/speculative.h"
#include "model/transformer.h"

namespace frugal {

struct EngineOptions {
  int64_t context = 4096;       // positions per request (prompt + answer)
  int64_t max_batch = 8;        // requests in one forward pass
  int64_t max_queue = 64;       // requests waiting beyond the running ones; more are refused
  int64_t prefill_chunk = 256;  // prompt tokens per request per step
  int64_t max_step_rows = 512;  // rows per step (decode rows first): bounds a step's latency
  int64_t kv_blocks = 0;        // blocks of the paged KV pool; 0: room for max_batch full contexts
  int64_t kv_block_tokens = 16;  // positions per block
  AttnMode attn = AttnMode::Auto;
  int64_t speculative = 0;      // MTP draft depth (0: off); the model must have an MTP layer
  // Context caching on disk: the prefix cache is loaded from here at start
  // (entries another model wrote are dropped) and saved here when the engine ends.
  std::string prefix_cache_dir;
};

// The pool's default size: `max_batch` sequences of `context` positions.
int64_t engine_default_kv_blocks(int64_t context, int64_t block_tokens, bool mtp, int64_t max_batch);

struct EngineRequest {
  std::vector<int32_t> prompt;
  int64_t max_tokens = 256;
  SamplerOptions sampling;
  std::vector<int32_t> stop_tokens;  // ends the answer; not returned
  bool speculative = true;           // false: never drafts (plain steps) even when the engine does
};

enum class FinishReason { None, Stop, Length, Cancelled, Error };
const char* finish_reason_name(FinishReason r);  // "stop", "length", ...

// The queue is full: the caller should retry later (HTTP 429).
struct EngineBusy : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// One request's tokens as the scheduler produces them; shared by the scheduler
// and the thread that submitted it.
class RequestStream {
 public:
  // Moves the tokens produced since the last call into `out` (appended). Waits
  // up to `timeout` for one; returns false once finished and everything was read.
  bool read(std::vector<int32_t>& out, std::chrono::milliseconds timeout);
  // Stops generation; the scheduler frees the request's cache at its next step.
  void cancel() { cancelled_ = true; }
  bool cancelled() const { return cancelled_; }

  // Valid once read() returned false.
  FinishReason finish_reason() const;
  int64_t prompt_tokens() const { return prompt_tokens_; }
  int64_t cached_tokens() const;  // prompt tokens whose latents came from the prefix cache
  int64_t generated_tokens() const;
  // Speculative decoding so far: drafts proposed (counts.mtp_passes), checked
  // and kept per draft position (zero without speculation).
  SpecCounters spec() const;

 private:
  friend class Engine;
  void push(int32_t token);
  void set_spec(const SpecCounters& c);
  void admitted(int64_t cached);
  void finish(FinishReason r);

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<int32_t> pending_;
  int64_t prompt_tokens_ = 0, cached_ = 0, generated_ = 0;
  FinishReason finish_ = FinishReason::None;
  SpecCounters spec_;
  std::atomic<bool> cancelled_{false};
};

// Counters for /metrics: totals since start and the state now.
struct EngineStats {
  int64_t requests_finished = 0, requests_cancelled = 0, requests_rejected = 0;
  int64_t prompt_tokens = 0, cached_prompt_tokens = 0, generated_tokens = 0;
  int64_t steps = 0, step_sequences = 0, step_rows = 0;  // sums over steps (batch sizes)
  double step_seconds = 0;
  int64_t queued = 0, running = 0, caches_busy = 0, last_batch = 0;
  int64_t kv_blocks_total = 0, kv_blocks_used = 0, kv_blocks_cached = 0;  // paged pool: referenced / prefix cache only
  SpecCounters spec;  // speculative decoding, all requests: drafts proposed (mtp_passes), per-position acceptance
};

class Engine {
 public:
  Engine(const Model& m, const EngineOptions& opt, ThreadPool& pool);
  ~Engine();  // cancels what is left and joins the scheduler
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Queues a request. Throws frugal::Error when it cannot fit the context or the
  // KV pool and EngineBusy when the queue is full.
  std::shared_ptr<RequestStream> submit(EngineRequest req);
  EngineStats stats() const;
  const EngineOptions& options() const { return opt_; }
  int64_t context() const { return opt_.context; }

 private:
  struct Active {
    std::shared_ptr<RequestStream> stream;
    EngineRequest req;
    int slot = -1;
    int64_t fed = 0;     // prompt tokens in the cache
    int32_t next = -1;   // sampled, to be fed at the next step
    int64_t generated = 0;
    std::unique_ptr<Sampler> sampler;
    SpecSequence spec;  // with opt.speculative: its caches, sampler and the rows owed to the MTP module
  };
  struct Queued {
    std::shared_ptr<RequestStream> stream;
    EngineRequest req;
  };

  void prefix_cache_load();
  void loop();
  void admit();                           // queue -> active while blocks and batch room last
  int64_t positions_for(const EngineRequest& r) const;  // the cache positions a request may fill
  void update_cache_stats();              // under mu_
  void retire(size_t i, FinishReason r);  // frees active_[i]'s cache
  void step();
  // The requests decoding, through spec_step; returns the verify rows.
  int64_t step_speculative(int64_t& generated);
  // Hands one chosen token to a's owner; false when the answer ends with it.
  bool emit(Active& a, int32_t token, int64_t& generated);

  const Model& model_;
  EngineOptions opt_;
  ThreadPool& pool_;
  KvPool kv_;

  mutable std::mutex mu_;  // guards queue_, stats_, stopping_
  std::condition_variable cv_;
  std::deque<Queued> queue_;
  int64_t in_flight_ = 0;  // submitted and not finished: at most max_batch + max_queue
  EngineStats stats_;
  bool stopping_ = false;

  // Scheduler thread only.
  std::vector<Active> active_;
  ForwardScratch scratch_;
  ForwardResult out_;
  std::vector<int32_t> tokens_;
  Batch batch_;
  std::vector<size_t> owner_;  // batch_[i] belongs to active_[owner_[i]]
  SpecScratch spec_scratch_;
  std::vector<SpecSequence*> spec_seqs_;
  std::thread thread_;
};

}  // namespace frugal
