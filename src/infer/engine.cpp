#include "infer/engine.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/error.h"

namespace frugal {

const char* finish_reason_name(FinishReason r) {
  switch (r) {
    case FinishReason::None: return "none";
    case FinishReason::Stop: return "stop";
    case FinishReason::Length: return "length";
    case FinishReason::Cancelled: return "cancelled";
    case FinishReason::Error: return "error";
  }
  return "none";
}

// ---- RequestStream

bool RequestStream::read(std::vector<int32_t>& out, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return !pending_.empty() || finish_ != FinishReason::None; });
  const bool got = !pending_.empty();
  out.insert(out.end(), pending_.begin(), pending_.end());
  pending_.clear();
  return finish_ == FinishReason::None || got;
}

FinishReason RequestStream::finish_reason() const {
  std::lock_guard lock(mu_);
  return finish_;
}

int64_t RequestStream::cached_tokens() const {
  std::lock_guard lock(mu_);
  return cached_;
}

int64_t RequestStream::generated_tokens() const {
  std::lock_guard lock(mu_);
  return generated_;
}

SpecCounters RequestStream::spec() const {
  std::lock_guard lock(mu_);
  return spec_;
}

void RequestStream::set_spec(const SpecCounters& c) {
  std::lock_guard lock(mu_);
  spec_ = c;
}

void RequestStream::push(int32_t token) {
  {
    std::lock_guard lock(mu_);
    pending_.push_back(token);
    ++generated_;
  }
  cv_.notify_all();
}

void RequestStream::admitted(int64_t cached) {
  std::lock_guard lock(mu_);
  cached_ = cached;
}

void RequestStream::finish(FinishReason r) {
  {
    std::lock_guard lock(mu_);
    finish_ = r;
  }
  cv_.notify_all();
}

// ---- Engine

int64_t engine_default_kv_blocks(int64_t context, int64_t block_tokens, bool mtp, int64_t max_batch) {
  return (context + (mtp ? 1 : 0) + block_tokens - 1) / block_tokens * max_batch;
}

int64_t Engine::positions_for(const EngineRequest& r) const {
  // The answer's tokens but the last are fed back; speculation verifies up to
  // its depth past the accepted ones, so it gets that much room too.
  return std::min(opt_.context, int64_t(r.prompt.size()) + std::max<int64_t>(r.max_tokens, 1) + 1 + opt_.speculative);
}

void Engine::update_cache_stats() {
  stats_.caches_busy = kv_.busy();
  stats_.kv_blocks_total = kv_.blocks().total();
  stats_.kv_blocks_used = kv_.blocks().used();
  stats_.kv_blocks_cached = kv_.blocks().cached();
}

Engine::Engine(const Model& m, const EngineOptions& opt, ThreadPool& pool)
    : model_(m),
      opt_(opt),
      pool_(pool),
      kv_(m, {.context = opt.context,
              .block_tokens = opt.kv_block_tokens,
              .blocks = opt.kv_blocks > 0 ? opt.kv_blocks
                                          : engine_default_kv_blocks(opt.context, opt.kv_block_tokens,
                                                                     opt.speculative > 0, opt.max_batch),
              .mtp = opt.speculative > 0}) {
  spec_check_model(m, opt.speculative);
  FRUGAL_CHECK(opt.max_batch > 0 && opt.prefill_chunk > 0 && opt.max_step_rows > 0 && opt.max_queue >= 0,
               "engine options");
  if (!opt.prefix_cache_dir.empty()) prefix_cache_load();
  thread_ = std::thread([this] { loop(); });
}

namespace {
// How far the first row of `fresh` is from that of `saved`, relative to its size.
double first_row_error(const LatentKvCache& fresh, const LatentKvCache& saved) {
  double err = 0, scale = 1e-6;
  for (int64_t l = 0; l < fresh.n_layers; ++l)
    for (int64_t k = 0; k < fresh.row_size(); ++k) {
      err = std::max(err, double(std::fabs(fresh.row(l, 0)[k] - saved.row(l, 0)[k])));
      scale = std::max(scale, double(std::fabs(fresh.row(l, 0)[k])));
    }
  return err / scale;
}
}  // namespace

// The latents of position 0 depend only on the first token and the weights that
// produce latents, so recomputing them tells whether an entry was written by
// this model (up to rounding: the saved rows may come from another batch shape).
// MTP row 0 likewise depends only on the first two tokens: checked the same way.
void Engine::prefix_cache_load() {
  ForwardScratch s;
  ForwardResult out;
  std::vector<float> logits;
  int64_t kept = 0;
  for (int slot : kv_.load(opt_.prefix_cache_dir)) {
    const std::vector<int32_t>& ids = kv_.ids(slot);
    LatentKvCache fresh = model_.new_cache(1);
    transformer_fwd(model_, ids.data(), 1, fresh, {.attn = opt_.attn, .all_logits = false}, out, s, pool_);
    if (first_row_error(fresh, kv_.cache(slot)) > 1e-3) {
      std::fprintf(stderr, "frugal: prefix cache entry of %zu tokens dropped: written by another model\n", ids.size());
      kv_.discard(slot);
      continue;
    }
    ++kept;
    LatentKvCache& mtp = kv_.mtp_cache(slot);
    if (opt_.speculative == 0 || mtp.length == 0) {
      kv_.release(slot);  // its full blocks join the prefix cache
      continue;
    }
    LatentKvCache fresh_mtp = model_.new_mtp_cache(1);
    if (ids.size() >= 2)
      mtp_fwd(model_, 0, out.hidden.data(), ids.data() + 1, 1, fresh_mtp, opt_.attn, logits, s, pool_);
    if (ids.size() < 2 || first_row_error(fresh_mtp, mtp) > 1e-3) {
      std::fprintf(stderr, "frugal: prefix cache entry of %zu tokens: MTP rows dropped (another MTP layer)\n",
                   ids.size());
      mtp.length = 0;
    }
    kv_.release(slot);
  }
  std::lock_guard lock(mu_);
  update_cache_stats();
  if (kept > 0) std::fprintf(stderr, "frugal: prefix cache: %lld entries from %s\n", (long long)kept,
                             opt_.prefix_cache_dir.c_str());
}

Engine::~Engine() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
  if (!opt_.prefix_cache_dir.empty()) {
    try {
      kv_.save(opt_.prefix_cache_dir);
    } catch (const Error& e) {
      std::fprintf(stderr, "frugal: the prefix cache was not saved: %s\n", e.what());
    }
  }
}

std::shared_ptr<RequestStream> Engine::submit(EngineRequest req) {
  if (req.prompt.empty()) fail("the prompt is empty");
  if (int64_t(req.prompt.size()) >= opt_.context)
    fail("the prompt has {} tokens and the context holds {} (prompt and answer together)", req.prompt.size(),
         opt_.context);
  for (int32_t t : req.prompt)
    if (t < 0 || t >= model_.config.vocab_size) fail("token id {} is outside the vocabulary [0, {})", t,
                                                     model_.config.vocab_size);
  const int64_t positions = positions_for(req);
  if (kv_.blocks_for(positions) > kv_.blocks().total())
    fail("the request needs {} KV cache blocks ({} positions: prompt and max_tokens) and the pool has {}: "
         "lower max_tokens or raise --kv-blocks",
         kv_.blocks_for(positions), positions, kv_.blocks().total());
  auto stream = std::make_shared<RequestStream>();
  stream->prompt_tokens_ = int64_t(req.prompt.size());
  {
    std::lock_guard lock(mu_);
    if (stopping_) throw EngineBusy("the server is shutting down");
    if (in_flight_ >= opt_.max_batch + opt_.max_queue) {
      ++stats_.requests_rejected;
      throw EngineBusy("the request queue is full");
    }
    ++in_flight_;
    queue_.push_back({stream, std::move(req)});
    stats_.queued = int64_t(queue_.size());
  }
  cv_.notify_all();
  return stream;
}

EngineStats Engine::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void Engine::loop() {
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty() || !active_.empty(); });
      if (stopping_) {
        for (Queued& q : queue_) q.stream->finish(FinishReason::Cancelled);
        in_flight_ -= int64_t(queue_.size());
        queue_.clear();
        lock.unlock();
        while (!active_.empty()) retire(active_.size() - 1, FinishReason::Cancelled);
        return;
      }
    }
    admit();
    // Cancelled requests leave before the step: their caches are free at once.
    for (size_t i = active_.size(); i-- > 0;)
      if (active_[i].stream->cancelled()) retire(i, FinishReason::Cancelled);
    if (!active_.empty()) step();
    // Rows that became final: their full blocks are shared from now on.
    for (const Active& a : active_) kv_.commit(a.slot);
    std::lock_guard lock(mu_);
    stats_.running = int64_t(active_.size());
    update_cache_stats();
  }
}

void Engine::admit() {
  std::unique_lock lock(mu_);
  while (!queue_.empty() && int64_t(active_.size()) < opt_.max_batch) {
    Queued& q = queue_.front();
    if (q.stream->cancelled()) {
      q.stream->finish(FinishReason::Cancelled);
      ++stats_.requests_cancelled;
      --in_flight_;
      queue_.pop_front();
      continue;
    }
    std::optional<KvLease> lease = kv_.acquire(q.req.prompt, positions_for(q.req), q.req.speculative);
    if (!lease) break;
    Active a;
    a.stream = std::move(q.stream);
    a.req = std::move(q.req);
    a.slot = lease->slot;
    a.fed = lease->reused;
    a.sampler = std::make_unique<Sampler>(a.req.sampling);
    if (opt_.speculative > 0)
      a.spec = {.cache = &kv_.cache(a.slot),
                .mtp_cache = a.req.speculative ? &kv_.mtp_cache(a.slot) : nullptr,
                .sampler = a.sampler.get(),
                .depth = opt_.speculative};
    a.stream->admitted(lease->reused);
    stats_.prompt_tokens += int64_t(a.req.prompt.size());
    stats_.cached_prompt_tokens += lease->reused;
    queue_.pop_front();
    active_.push_back(std::move(a));
  }
  stats_.queued = int64_t(queue_.size());
  stats_.running = int64_t(active_.size());
  update_cache_stats();
}

void Engine::retire(size_t i, FinishReason r) {
  Active a = std::move(active_[i]);
  active_.erase(active_.begin() + int64_t(i));
  kv_.release(a.slot);
  {
    // The counters are right before the owner hears of the end.
    std::lock_guard lock(mu_);
    ++(r == FinishReason::Cancelled ? stats_.requests_cancelled : stats_.requests_finished);
    --in_flight_;
    stats_.running = int64_t(active_.size());
    update_cache_stats();
  }
  a.stream->finish(r);
}

bool Engine::emit(Active& a, int32_t token, int64_t& generated) {
  if (std::find(a.req.stop_tokens.begin(), a.req.stop_tokens.end(), token) != a.req.stop_tokens.end()) {
    a.generated = -1;  // marks Stop in step()
    return false;
  }
  ++a.generated;
  ++generated;
  a.stream->push(token);
  return a.generated < a.req.max_tokens;
}

int64_t Engine::step_speculative(int64_t& generated) {
  spec_seqs_.clear();
  owner_.clear();
  tokens_.clear();  // each one's current token, fed by the verify pass
  for (size_t i = 0; i < active_.size(); ++i) {
    Active& a = active_[i];
    if (a.fed < int64_t(a.req.prompt.size())) continue;
    spec_seqs_.push_back(&a.spec);
    owner_.push_back(i);
    tokens_.push_back(a.spec.current);
  }
  if (spec_seqs_.empty()) return 0;
  std::vector<SpecCounters> before;
  for (const SpecSequence* q : spec_seqs_) before.push_back(q->counts);
  spec_step(model_, spec_seqs_, opt_.attn, spec_scratch_, pool_);
  SpecCounters added;
  for (size_t i = 0; i < spec_seqs_.size(); ++i) {
    Active& a = active_[owner_[i]];
    const SpecSequence& q = a.spec;
    // The main cache now holds the old current and the accepted drafts: all
    // emitted tokens but the last (the new current).
    std::vector<int32_t>& ids = kv_.ids(a.slot);
    ids.push_back(tokens_[i]);
    ids.insert(ids.end(), q.emitted.begin(), q.emitted.end() - 1);
    FRUGAL_CHECK(int64_t(ids.size()) == q.cache->length, "{} ids for {} cached rows", ids.size(), q.cache->length);
    for (int32_t t : q.emitted)
      if (!emit(a, t, generated)) break;
    for (size_t k = 0; k < added.reached.size(); ++k) {
      added.reached[k] += q.counts.reached[k] - before[i].reached[k];
      added.accepted[k] += q.counts.accepted[k] - before[i].accepted[k];
    }
    added.steps += q.counts.steps - before[i].steps;
    added.tokens += q.counts.tokens - before[i].tokens;
    added.mtp_passes += q.counts.mtp_passes - before[i].mtp_passes;
    a.stream->set_spec(q.counts);
  }
  std::lock_guard lock(mu_);
  stats_.spec += added;
  return batch_rows(spec_scratch_.batch);
}

void Engine::step() {
  const bool spec = opt_.speculative > 0;
  const auto t0 = std::chrono::steady_clock::now();
  int64_t generated = 0, rows = 0, sequences = 0;
  try {
    // With speculation the requests decoding take their own passes first.
    if (spec) {
      rows = step_speculative(generated);
      sequences = int64_t(spec_seqs_.size());
    }
    // Rows: the last sampled token of every request decoding (without
    // speculation), then prompt chunks of the requests still prefilling, oldest
    // first, while the step's row budget lasts (a burst of new prompts must not
    // stall the answers being decoded).
    batch_.clear();
    tokens_.clear();
    owner_.clear();
    for (size_t i = 0; i < active_.size() && !spec; ++i) {
      Active& a = active_[i];
      if (a.fed < int64_t(a.req.prompt.size())) continue;
      batch_.push_back({&kv_.cache(a.slot), int64_t(tokens_.size()), 1});
      tokens_.push_back(a.next);
      owner_.push_back(i);
    }
    for (size_t i = 0; i < active_.size(); ++i) {
      Active& a = active_[i];
      const int64_t budget = opt_.max_step_rows - rows - int64_t(tokens_.size());
      if (a.fed >= int64_t(a.req.prompt.size())) continue;
      if (budget <= 0 && rows + int64_t(tokens_.size()) > 0) break;
      const int64_t n =
          std::min({opt_.prefill_chunk, int64_t(a.req.prompt.size()) - a.fed, std::max<int64_t>(budget, 1)});
      batch_.push_back({&kv_.cache(a.slot), int64_t(tokens_.size()), n});
      tokens_.insert(tokens_.end(), a.req.prompt.begin() + a.fed, a.req.prompt.begin() + a.fed + n);
      owner_.push_back(i);
    }
    if (!batch_.empty())
      transformer_fwd(model_, batch_, tokens_.data(), {.attn = opt_.attn, .all_logits = false}, out_, scratch_, pool_);
  } catch (const Error&) {
    // Inputs are checked at submit(), so this is not expected; fail the batch, keep serving.
    for (size_t i = active_.size(); i-- > 0;) {
      const int64_t n = int64_t(kv_.ids(active_[i].slot).size());
      kv_.cache(active_[i].slot).length = n;
      if (spec) {
        LatentKvCache& mtp = kv_.mtp_cache(active_[i].slot);
        mtp.length = std::min(mtp.length, n);
      }
      retire(i, FinishReason::Error);
    }
    return;
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const int64_t V = model_.config.vocab_size, d = model_.config.hidden_size;
  for (size_t i = 0; i < batch_.size(); ++i) {
    Active& a = active_[owner_[i]];
    const int32_t* fed = tokens_.data() + batch_[i].row0;
    std::vector<int32_t>& ids = kv_.ids(a.slot);
    ids.insert(ids.end(), fed, fed + batch_[i].n);
    const bool prefill = a.fed < int64_t(a.req.prompt.size());
    if (prefill) a.fed += batch_[i].n;
    const bool prompt_done = a.fed == int64_t(a.req.prompt.size());
    if (prompt_done) a.next = a.sampler->sample(out_.logits.data() + int64_t(i) * V, V);
    // The chunk's hidden states are owed to the MTP module (spec_begin); the
    // token after the chunk is the prompt's next one until the prompt is done.
    if (spec && prefill)
      spec_begin(a.spec, fed, out_.hidden.data() + batch_[i].row0 * d, batch_[i].n,
                 prompt_done ? a.next : a.req.prompt[size_t(a.fed)], d);
    if (prompt_done) emit(a, a.next, generated);
  }
  {
    std::lock_guard lock(mu_);
    ++stats_.steps;
    stats_.step_sequences += sequences + int64_t(batch_.size());
    stats_.step_rows += rows + int64_t(tokens_.size());
    stats_.step_seconds += secs;
    stats_.generated_tokens += generated;
    stats_.last_batch = sequences + int64_t(batch_.size());
  }
  for (size_t i = active_.size(); i-- > 0;) {
    Active& a = active_[i];
    if (a.generated < 0) {
      retire(i, FinishReason::Stop);
    } else if (a.fed == int64_t(a.req.prompt.size()) &&
               (a.generated >= a.req.max_tokens || kv_.cache(a.slot).length >= kv_.cache(a.slot).capacity)) {
      retire(i, FinishReason::Length);
    }
  }
}

}  // namespace frugal
