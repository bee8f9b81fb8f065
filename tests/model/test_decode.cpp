// Internal consistency of the forward pass on random checkpoints of every
// family: naive and absorbed attention agree; decoding token by token from the
// latent KV cache (and in uneven chunks) agrees with one full-sequence pass.
#include "model/quantize_checkpoint.h"
#include "model/synth.h"
#include "model_test_util.h"

namespace frugal {
namespace {

using namespace testing_util;

constexpr double kTol = 1e-4;

std::vector<int32_t> some_tokens(int64_t n, int64_t vocab, uint32_t seed) {
  std::vector<int32_t> ids;
  uint32_t s = seed;
  for (int64_t i = 0; i < n; ++i) {
    s = s * 1664525u + 1013904223u;
    ids.push_back(int32_t((s >> 8) % uint32_t(vocab)));
  }
  return ids;
}

struct DecodeCase {
  const char* like;
  SynthDType dtype;
  int64_t n_tokens;
};
void PrintTo(const DecodeCase& c, std::ostream* os) { *os << c.like << " dtype " << int(c.dtype); }


class Decode : public ::testing::TestWithParam<DecodeCase> {
 protected:
  void SetUp() override {
    dir_ = std::make_unique<TempDir>("decode");
    SynthOptions o;
    o.like = GetParam().like;
    o.dtype = GetParam().dtype;
    o.seed = 7;
    synth_checkpoint(o, dir_->str());
    model_ = model_load(dir_->str());
    ids_ = some_tokens(GetParam().n_tokens, model_->config.vocab_size, 11);
  }
  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<Model> model_;
  std::vector<int32_t> ids_;
};

TEST_P(Decode, NaiveAndAbsorbedAgree) {
  ThreadPool pool(2);
  std::vector<float> a = all_logits(*model_, ids_, AttnMode::Naive, pool);
  std::vector<float> b = all_logits(*model_, ids_, AttnMode::Absorb, pool);
  double err = max_abs_diff(a.data(), b.data(), int64_t(a.size()));
  std::printf("[ measured ] %s naive vs absorb: %.3g\n", GetParam().like, err);
  EXPECT_LE(err, kTol);
}

TEST_P(Decode, IncrementalDecodeMatchesFullPass) {
  ThreadPool pool(2);
  const int64_t V = model_->config.vocab_size, T = int64_t(ids_.size());
  for (AttnMode attn : {AttnMode::Absorb, AttnMode::Naive}) {
    std::vector<float> full = all_logits(*model_, ids_, attn, pool);
    // chunks of 1, then 3, 1, 5, ... tokens: prefill and decode mixed
    LatentKvCache cache = model_->new_cache(T);
    ForwardScratch s;
    ForwardResult r;
    int64_t pos = 0, step = 0;
    const int64_t chunk_sizes[] = {1, 3, 1, 5, 2, 1, 1, 7};
    double err = 0;
    while (pos < T) {
      int64_t n = std::min(T - pos, chunk_sizes[step++ % 8]);
      transformer_fwd(*model_, ids_.data() + pos, n, cache, {.attn = attn, .all_logits = true}, r, s, pool);
      err = std::max(err, max_abs_diff(r.logits.data(), full.data() + pos * V, n * V));
      pos += n;
    }
    EXPECT_EQ(cache.length, T);
    std::printf("[ measured ] %s %s chunked decode vs full: %.3g\n", GetParam().like,
                attn == AttnMode::Naive ? "naive" : "absorb", err);
    EXPECT_LE(err, kTol);
  }
}

INSTANTIATE_TEST_SUITE_P(Families, Decode,
                         ::testing::Values(DecodeCase{"tiny", SynthDType::BF16, 24},
                                           DecodeCase{"tiny", SynthDType::FP8, 24},
                                           DecodeCase{"tiny-v2", SynthDType::F32, 24},
                                           DecodeCase{"tiny-v2-lite", SynthDType::BF16, 80}),
                         [](const auto& info) {
                           std::string n = std::string(info.param.like) + "_" + std::to_string(int(info.param.dtype));
                           for (char& ch : n) if (ch == '-') ch = '_';
                           return n;
                         });

TEST(Decode, ContextOverflowIsAClearError) {
  TempDir dir("overflow");
  synth_checkpoint({.like = "tiny"}, dir.str());
  auto m = model_load(dir.str());
  ThreadPool pool(1);
  LatentKvCache cache = m->new_cache(4);
  ForwardScratch s;
  ForwardResult r;
  std::vector<int32_t> ids = {1, 2, 3, 4, 5};
  EXPECT_THROW(transformer_fwd(*m, ids.data(), 5, cache, {}, r, s, pool), Error);
  EXPECT_EQ(cache.length, 0);
  std::vector<int32_t> bad = {1, 100000};
  EXPECT_THROW(transformer_fwd(*m, bad.data(), 2, cache, {}, r, s, pool), Error);
}

}  // namespace
}  // namespace frugal

namespace frugal {
namespace {

using namespace testing_util;

// Several sequences in one forward pass (different lengths, some prefilling
// while others decode) give each sequence the logits it gets alone.
TEST(Batch, MixedBatchEqualsSeparateRuns) {
  for (AttnMode attn : {AttnMode::Absorb, AttnMode::Naive}) {
    TempDir dir("batch");
    synth_checkpoint({.like = "tiny", .dtype = SynthDType::FP8, .seed = 9}, dir.str());
    auto m = model_load(dir.str());
    ThreadPool pool(2);
    const int64_t V = m->config.vocab_size;
    std::vector<std::vector<int32_t>> seqs = {some_tokens(9, V, 1), some_tokens(4, V, 2), some_tokens(13, V, 3),
                                              some_tokens(1, V, 4)};
    std::vector<std::vector<float>> alone;
    for (const auto& s : seqs) alone.push_back(all_logits(*m, s, attn, pool));

    // Step 1: prefill the first 3 tokens of each (1 for the last); then feed the
    // rest in steps of 1 or 2 tokens per sequence, all sequences together.
    std::vector<LatentKvCache> caches;
    for (const auto& s : seqs) caches.push_back(m->new_cache(int64_t(s.size())));
    std::vector<int64_t> done(seqs.size(), 0);
    ForwardScratch scratch;
    ForwardResult out;
    double err = 0;
    for (int step = 0;; ++step) {
      Batch batch;
      std::vector<int32_t> tokens;
      for (size_t i = 0; i < seqs.size(); ++i) {
        int64_t left = int64_t(seqs[i].size()) - done[i];
        int64_t n = std::min<int64_t>(left, step == 0 ? 3 : 1 + int64_t((i + step) % 2));
        if (n <= 0) continue;
        batch.push_back({&caches[i], int64_t(tokens.size()), n});
        tokens.insert(tokens.end(), seqs[i].begin() + done[i], seqs[i].begin() + done[i] + n);
      }
      if (batch.empty()) break;
      transformer_fwd(*m, batch, tokens.data(), {.attn = attn, .all_logits = true}, out, scratch, pool);
      for (const BatchSeq& b : batch) {
        size_t i = size_t(&*b.cache - caches.data());
        err = std::max(err, max_abs_diff(out.logits.data() + b.row0 * V, alone[i].data() + done[i] * V, b.n * V));
        done[i] += b.n;
      }
    }
    std::printf("[ measured ] batch of 4 mixed prefill/decode vs alone: %.3g\n", err);
    EXPECT_LE(err, 1e-4);
  }
}

}  // namespace
}  // namespace frugal

namespace frugal {
namespace {

// Auto picks naive attention for a long prefill and absorbed for decode steps,
// and both choices are the same function (see NaiveAndAbsorbedAgree).
TEST(AttnAuto, PicksNaiveForPrefillAndAbsorbedForDecode) {
  ModelConfig c = config_from_json(synth_preset("deepseek-v2-lite"), "v2-lite");
  LatentKvCache empty(1, 4096, c.kv_lora_rank, c.qk_rope_head_dim), long_ctx = empty;
  long_ctx.length = 2000;
  EXPECT_EQ(attn_mode_for(AttnMode::Auto, c, Batch{{&empty, 0, 512}}), AttnMode::Naive);
  EXPECT_EQ(attn_mode_for(AttnMode::Auto, c, Batch{{&long_ctx, 0, 1}}), AttnMode::Absorb);
  EXPECT_EQ(attn_mode_for(AttnMode::Naive, c, Batch{{&long_ctx, 0, 1}}), AttnMode::Naive);
}

}  // namespace
}  // namespace frugal

namespace frugal {
namespace {

using namespace testing_util;

// Greedy generation of 4 sequences decoded together (one forward pass per step)
// gives the same tokens as 4 batch-1 runs, on fp8, bf16, Q8_0 and Q4_0 weights
// (the decode steps: bit for bit, matmul.h; the batched prefill of 17 rows takes
// other kernel paths than the prompts alone, which only round differently).
TEST(Batch, GreedyBatchOf4EqualsFourSingleRuns) {
  for (const char* format : {"fp8", "bf16", "q8", "q4"}) {
    SCOPED_TRACE(format);
    TempDir dir("greedy4");
    const bool q = format[0] == 'q';
    synth_checkpoint({.like = "tiny", .dtype = format == std::string("fp8") ? SynthDType::FP8 : SynthDType::BF16,
                      .seed = 21},
                     dir.str("orig"));
    if (q) quantize_checkpoint(dir.str("orig"), dir.str("q"), {.format = format[1] == '8' ? DType::Q8_0 : DType::Q4_0});
    auto m = model_load(dir.str(q ? "q" : "orig"));
    ThreadPool pool(2);
    const int64_t V = m->config.vocab_size, steps = 12;
    std::vector<std::vector<int32_t>> prompts = {some_tokens(5, V, 1), some_tokens(2, V, 2), some_tokens(9, V, 3),
                                                 some_tokens(1, V, 4)};
    auto greedy_alone = [&](const std::vector<int32_t>& prompt) {
      LatentKvCache cache = m->new_cache(int64_t(prompt.size()) + steps);
      ForwardScratch s;
      ForwardResult out;
      std::vector<int32_t> gen;
      transformer_fwd(*m, prompt.data(), int64_t(prompt.size()), cache, {.all_logits = false}, out, s, pool);
      for (int64_t i = 0; i < steps; ++i) {
        int32_t next = int32_t(std::max_element(out.logits.begin(), out.logits.end()) - out.logits.begin());
        gen.push_back(next);
        transformer_fwd(*m, &next, 1, cache, {.all_logits = false}, out, s, pool);
      }
      return gen;
    };
    // Together: prefill all prompts in one pass, then one pass per step.
    std::vector<LatentKvCache> caches;
    Batch batch;
    std::vector<int32_t> tokens;
    for (const auto& p : prompts) caches.push_back(m->new_cache(int64_t(p.size()) + steps));
    for (size_t i = 0; i < prompts.size(); ++i) {
      batch.push_back({&caches[i], int64_t(tokens.size()), int64_t(prompts[i].size())});
      tokens.insert(tokens.end(), prompts[i].begin(), prompts[i].end());
    }
    ForwardScratch s;
    ForwardResult out;
    std::vector<std::vector<int32_t>> together(prompts.size());
    transformer_fwd(*m, batch, tokens.data(), {.all_logits = false}, out, s, pool);
    for (int64_t step = 0; step < steps; ++step) {
      tokens.assign(prompts.size(), 0);
      for (size_t i = 0; i < prompts.size(); ++i) {
        const float* row = out.logits.data() + int64_t(i) * V;
        tokens[i] = int32_t(std::max_element(row, row + V) - row);
        together[i].push_back(tokens[i]);
        batch[i] = {&caches[i], int64_t(i), 1};
      }
      transformer_fwd(*m, batch, tokens.data(), {.all_logits = false}, out, s, pool);
    }
    for (size_t i = 0; i < prompts.size(); ++i) EXPECT_EQ(together[i], greedy_alone(prompts[i])) << "sequence " << i;
  }
}

}  // namespace
}  // namespace frugal
