#include "infer/batch_generate.h"

#include <algorithm>
#include <memory>

#include "core/error.h"
#include "infer/memory_plan.h"

namespace frugal {
namespace {

// Positions [0, src.length) of every layer, into a cache of its own capacity.
void cache_copy_prefix(const LatentKvCache& src, LatentKvCache& dst) {
  FRUGAL_CHECK(dst.capacity >= src.length && dst.row_size() == src.row_size(), "cache copy does not fit");
  for (int64_t l = 0; l < src.n_layers; ++l)
    std::copy_n(src.row(l, 0), src.length * src.row_size(), dst.row(l, 0));
  dst.length = src.length;
}

struct Sample {
  int64_t index;  // into the result
  LatentKvCache cache;
  std::unique_ptr<Sampler> sampler;
  int32_t next = 0;  // the token to feed at the next step
  bool done = false;
};

}  // namespace

uint64_t batch_generate_seed(uint64_t base, int64_t prompt, int64_t sample) {
  uint64_t z = base + 0x9E3779B97F4A7C15ull * uint64_t(prompt + 1) + 0xC2B2AE3D27D4EB4Full * uint64_t(sample + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

std::vector<Generation> batch_generate(const Model& m, const std::vector<std::vector<int32_t>>& prompts, int64_t G,
                                       const BatchGenerateOptions& opt, ThreadPool& pool,
                                       const std::function<void(int64_t, int64_t)>& on_progress) {
  if (G < 1) fail("samples per prompt must be at least 1, got {}", G);
  if (opt.max_new_tokens < 1) fail("max new tokens must be at least 1, got {}", opt.max_new_tokens);
  const int64_t P = int64_t(prompts.size()), V = m.config.vocab_size;
  int64_t longest = 0;
  for (size_t p = 0; p < prompts.size(); ++p) {
    if (prompts[p].empty()) fail("prompt {} is empty", p);
    for (int32_t t : prompts[p])
      if (t < 0 || t >= V) fail("prompt {} has token {} outside the vocabulary of {}", p, t, V);
    longest = std::max(longest, int64_t(prompts[p].size()));
  }
  const int64_t capacity = longest + opt.max_new_tokens;
  const int64_t group = std::max<int64_t>(1, opt.max_sequences / G);  // prompts per round
  memory_check(memory_plan(m, capacity, std::min(P, group) * G, longest));

  std::vector<Generation> out(size_t(P * G));
  ForwardScratch scratch;
  ForwardResult res;
  int64_t done_total = 0;
  for (int64_t p0 = 0; p0 < P; p0 += group) {
    const int64_t p1 = std::min(P, p0 + group);
    // Prefill the round's prompts together; keep each one's last logits.
    std::vector<LatentKvCache> prompt_caches;
    std::vector<int32_t> tokens;
    Batch batch;
    for (int64_t p = p0; p < p1; ++p) {
      prompt_caches.push_back(m.new_cache(int64_t(prompts[size_t(p)].size())));
      batch.push_back({nullptr, int64_t(tokens.size()), int64_t(prompts[size_t(p)].size())});
      tokens.insert(tokens.end(), prompts[size_t(p)].begin(), prompts[size_t(p)].end());
    }
    for (size_t i = 0; i < batch.size(); ++i) batch[i].cache = &prompt_caches[i];
    transformer_fwd(m, batch, tokens.data(), {.attn = opt.attn, .all_logits = false}, res, scratch, pool);

    std::vector<Sample> samples;
    for (int64_t p = p0; p < p1; ++p)
      for (int64_t g = 0; g < G; ++g) {
        Sample s{.index = p * G + g, .cache = m.new_cache(capacity)};
        cache_copy_prefix(prompt_caches[size_t(p - p0)], s.cache);
        SamplerOptions so = opt.sampling;
        so.seed = batch_generate_seed(opt.sampling.seed, p, g);
        s.sampler = std::make_unique<Sampler>(so);
        s.next = s.sampler->sample(res.logits.data() + (p - p0) * V, V);
        samples.push_back(std::move(s));
      }
    prompt_caches.clear();

    // Decode: record each sample's token, stop it or feed it back.
    for (;;) {
      batch.clear();
      tokens.clear();
      for (Sample& s : samples) {
        if (s.done) continue;
        Generation& gen = out[size_t(s.index)];
        gen.tokens.push_back(s.next);
        const bool stop = std::find(opt.stop_tokens.begin(), opt.stop_tokens.end(), s.next) != opt.stop_tokens.end();
        if (stop || int64_t(gen.tokens.size()) >= opt.max_new_tokens) {
          gen.stopped = stop;
          s.done = true;
          s.cache = LatentKvCache();  // free it now
          ++done_total;
          continue;
        }
        batch.push_back({&s.cache, int64_t(tokens.size()), 1});
        tokens.push_back(s.next);
      }
      if (on_progress) on_progress(done_total, P * G);
      if (batch.empty()) break;
      transformer_fwd(m, batch, tokens.data(), {.attn = opt.attn, .all_logits = false}, res, scratch, pool);
      int64_t row = 0;
      for (Sample& s : samples)
        if (!s.done) s.next = s.sampler->sample(res.logits.data() + (row++) * V, V);
    }
  }
  return out;
}

}  // namespace frugal
