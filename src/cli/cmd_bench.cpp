// frugal bench -m DIR [--prompt N] [--gen N] [--batch 1,4,16] [--speculative 1,2,3] [--threads N] [--json]
// Measures this machine's limits first (streaming read bandwidth, fp32 FMA peak),
// then prefill and decode throughput, reported as ratios to those limits, and
// batch-1 greedy decoding with MTP speculative decoding against without.
#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>

#include "cli/commands.h"
#include "core/error.h"
#include "core/seconds_since.h"
#include "infer/memory_plan.h"
#include "infer/speculative.h"
#include "kernels/dispatch.h"
#include "kernels/machine_limits.h"
#include "model/transformer.h"

namespace frugal {

namespace {

struct BenchArgs {
  std::string model, batches = "1,4,16", attn = "auto", speculative;
  int64_t prompt = 512, gen = 32, repeat = 3;
  int threads = 0;
  bool json = false, mmap = false;
};

// Process CPU seconds (all threads). On a loaded machine wall time also counts
// the time slices other processes took; CPU time counts the work done (spin-waits
// of idle pool threads included), which is what compares two engines run there.
double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

// Wall and CPU seconds of one timed span.
struct SpanTimes {
  double wall = 0, cpu = 0;
};

struct SpanTimer {
  std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
  double cpu0 = process_cpu_seconds();
  SpanTimes elapsed() const { return {seconds_since(t0), process_cpu_seconds() - cpu0}; }
};

// Medians of wall and CPU seconds over `runs` spans of fn() (each taken separately):
// a shared machine's bandwidth moves between runs, one outlier should not decide.
template <typename Fn>
SpanTimes median_times(int64_t runs, Fn fn) {
  std::vector<double> w, c;
  for (int64_t i = 0; i < runs; ++i) {
    const SpanTimes t = fn();
    w.push_back(t.wall);
    c.push_back(t.cpu);
  }
  std::sort(w.begin(), w.end());
  std::sort(c.begin(), c.end());
  return {w[w.size() / 2], c[c.size() / 2]};
}

int64_t view_bytes(const MatrixView& v) {
  if (!v.data) return 0;
  int64_t b = v.rows * v.row_bytes();
  if (v.scale_inv) b += ((v.rows + v.block - 1) / v.block) * v.scale_cols() * 4;
  return b;
}
int64_t mlp_bytes(const MlpWeights& w) { return view_bytes(w.gate_proj) + view_bytes(w.up_proj) + view_bytes(w.down_proj); }
int64_t mlp_params(const MlpWeights& w) { return 3 * w.gate_proj.rows * w.gate_proj.cols; }

// What one token touches: every weight but the routed experts (counted per use).
struct WeightCosts {
  int64_t fixed_bytes = 0;   // per forward step, whatever the batch
  int64_t expert_bytes = 0;  // one routed expert
  int64_t params_per_token = 0;  // matmul parameters a token multiplies (2 flops each)
};

// Adds one decoder layer's weights to w.
void layer_costs(const ModelConfig& c, const LayerWeights& l, WeightCosts& w) {
  const MlaWeights& a = l.self_attn;
  for (const MatrixView* v : {&a.q_a_proj, &a.q_b_proj, &a.q_proj, &a.kv_a_proj_with_mqa, &a.kv_b_proj, &a.o_proj}) {
    w.fixed_bytes += view_bytes(*v);
    if (v->data) w.params_per_token += v->rows * v->cols;
  }
  if (l.is_moe) {
    w.fixed_bytes += view_bytes(l.moe.gate) + mlp_bytes(l.moe.shared_experts);
    w.params_per_token += l.moe.gate.rows * l.moe.gate.cols + (l.moe.shared_experts.gate_proj.data ? mlp_params(l.moe.shared_experts) : 0) +
                          c.num_experts_per_tok * mlp_params(l.moe.experts[0]);
    w.expert_bytes = mlp_bytes(l.moe.experts[0]);
  } else {
    w.fixed_bytes += mlp_bytes(l.mlp);
    w.params_per_token += mlp_params(l.mlp);
  }
}

WeightCosts weight_costs(const Model& m) {
  WeightCosts w;
  for (const LayerWeights& l : m.weights.layers) layer_costs(m.config, l, w);
  w.fixed_bytes += view_bytes(m.weights.lm_head);
  return w;
}

// One pass of MTP module 0: eh_proj, its decoder layer and its output head.
WeightCosts mtp_costs(const Model& m) {
  WeightCosts w;
  const MtpWeights& t = m.weights.mtp.at(0);
  layer_costs(m.config, t.layer, w);
  w.fixed_bytes += view_bytes(t.eh_proj) + view_bytes(t.shared_head_head);
  return w;
}

std::vector<int64_t> parse_list(const std::string& s, const char* flag) {
  std::vector<int64_t> out;
  for (int32_t v : parse_token_ids(s, flag)) {
    if (v <= 0) fail("{}: sizes must be positive", flag);
    out.push_back(v);
  }
  return out;
}

// One batch-1 greedy generation of `gen` tokens after `prompt`: plain decoding
// (depth 0) or speculative with `depth` drafts per step. Counts what the weight
// traffic depends on: forward passes of each kind and the routed experts they
// ran (a verify pass runs the union of its depth + 1 rows' experts).
struct SpecRun {
  double seconds = 0;
  std::vector<int32_t> tokens;  // all decoded (the last step may overshoot gen)
  int64_t steps = 0, main_experts = 0, mtp_experts = 0;
  SpecCounters counts;
};

SpecRun spec_run(const Model& m, const std::vector<int32_t>& prompt, int64_t gen, int64_t depth, AttnMode attn,
                 ThreadPool& pool) {
  const int64_t V = m.config.vocab_size, T = int64_t(prompt.size());
  LatentKvCache cache = m.new_cache(T + gen + kSpecMaxDepth + 1), mtp_cache = m.new_mtp_cache(cache.capacity);
  Sampler greedy({});
  SpecScratch s;
  SpecRun r;
  transformer_fwd(m, prompt.data(), T, cache, {.attn = attn, .all_logits = false}, s.verify, s.main, pool);
  int32_t next = argmax(s.verify.logits.data(), V);
  SpecSequence seq{.cache = &cache, .mtp_cache = &mtp_cache, .sampler = &greedy, .depth = depth};
  if (depth > 0) spec_begin(seq, prompt.data(), s.verify.hidden.data(), T, next, m.config.hidden_size);
  s.main.moe.experts_run = 0;
  const auto t0 = std::chrono::steady_clock::now();
  while (int64_t(r.tokens.size()) < gen) {
    if (depth == 0) {
      transformer_fwd(m, &next, 1, cache, {.attn = attn, .all_logits = false}, s.verify, s.main, pool);
      next = argmax(s.verify.logits.data(), V);
      r.tokens.push_back(next);
    } else {
      spec_step(m, {&seq}, attn, s, pool);
      r.tokens.insert(r.tokens.end(), seq.emitted.begin(), seq.emitted.end());
    }
    ++r.steps;
  }
  r.seconds = seconds_since(t0);
  r.main_experts = s.main.moe.experts_run;
  r.mtp_experts = s.mtp.moe.experts_run;
  r.counts = seq.counts;
  return r;
}

// Plain against speculative decoding at each depth (batch 1, greedy).
nlohmann::json bench_speculative(const Model& m, const std::vector<int64_t>& depths, int64_t gen, int64_t repeat,
                                 AttnMode attn, const MachineLimits& lim, ThreadPool& pool,
                                 const std::function<void(const std::string&)>& say) {
  std::mt19937 rng(2);
  std::vector<int32_t> prompt(8);
  for (int32_t& x : prompt) x = int32_t(rng() % uint32_t(m.config.vocab_size));
  const WeightCosts main = weight_costs(m), mtp = mtp_costs(m);
  auto measure = [&](int64_t depth) {
    SpecRun r;
    std::vector<double> t;
    for (int64_t i = 0; i < repeat; ++i) t.push_back((r = spec_run(m, prompt, gen, depth, attn, pool)).seconds);
    std::sort(t.begin(), t.end());
    r.seconds = t[t.size() / 2];
    return r;
  };
  const SpecRun plain = measure(0);
  const double plain_tps = double(plain.tokens.size()) / plain.seconds;
  const double plain_bytes = (double(main.fixed_bytes) * double(plain.steps) + double(plain.main_experts) * double(main.expert_bytes)) /
                             double(plain.tokens.size());
  nlohmann::json rows = nlohmann::json::array();
  rows.push_back({{"depth", 0}, {"tok_per_s", plain_tps}, {"weight_bytes_per_token", plain_bytes},
                  {"experts_per_main_pass", double(plain.main_experts) / double(plain.steps)},
                  {"seconds_per_step", plain.seconds / double(plain.steps)}});
  say(fmt::format("speculative, batch 1 greedy, {} tokens: plain {:.1f} tok/s, {:.3f} GB of weights per token, "
                  "{:.1f} routed experts per pass",
                  gen, plain_tps, plain_bytes / 1e9, double(plain.main_experts) / double(plain.steps)));
  for (int64_t depth : depths) {
    const SpecRun r = measure(depth);
    const double n = double(r.tokens.size()), tps = n / r.seconds;
    const double bytes = (double(main.fixed_bytes) * double(r.steps) + double(mtp.fixed_bytes) * double(r.counts.mtp_passes) +
                          double(r.main_experts + r.mtp_experts) * double(main.expert_bytes)) / n;
    std::vector<double> acceptance;
    for (int64_t k = 0; k < depth; ++k)
      acceptance.push_back(r.counts.reached[size_t(k)] ? double(r.counts.accepted[size_t(k)]) / double(r.counts.reached[size_t(k)]) : 0.0);
    const bool same = std::equal(plain.tokens.begin(), plain.tokens.begin() + gen, r.tokens.begin());
    const double step_ratio = (r.seconds / double(r.steps)) / (plain.seconds / double(plain.steps));
    rows.push_back({{"depth", depth}, {"tok_per_s", tps}, {"speedup", tps / plain_tps},
                    {"tokens_per_step", r.counts.tokens_per_step()}, {"acceptance", acceptance},
                    {"weight_bytes_per_token", bytes}, {"gb_per_s", bytes * tps / 1e9},
                    {"experts_per_main_pass", double(r.main_experts) / double(r.steps)},
                    {"mtp_passes_per_step", double(r.counts.mtp_passes) / double(r.steps)},
                    {"seconds_per_step", r.seconds / double(r.steps)}, {"step_cost_vs_plain", step_ratio},
                    {"same_tokens", same}});
    std::string acc;
    for (double x : acceptance) acc += fmt::format(" {:.2f}", x);
    say(fmt::format("speculative {}: {:.1f} tok/s ({:.2f}x), {:.2f} tokens per step, acceptance by position{}, "
                    "{:.3f} GB of weights per token ({:.0f}% of bandwidth), {:.1f} routed experts per verify pass, "
                    "a step costs {:.2f} plain steps, same tokens: {}",
                    depth, tps, tps / plain_tps, r.counts.tokens_per_step(), acc, bytes / 1e9,
                    100 * bytes * tps / 1e9 / lim.read_gb_per_s, double(r.main_experts) / double(r.steps), step_ratio,
                    same ? "yes" : "no"));
  }
  return rows;
}

}  // namespace

Command bench_command(CLI::App& app) {
  auto a = std::make_shared<BenchArgs>();
  CLI::App* sub = app.add_subcommand("bench", "Prefill / decode throughput as ratios to this machine's limits");
  sub->add_option("-m,--model", a->model, "Model directory")->required();
  sub->add_option("--prompt", a->prompt, "Prefill length in tokens")->check(CLI::PositiveNumber);
  sub->add_option("--gen", a->gen, "Decode steps per batch size")->check(CLI::PositiveNumber);
  sub->add_option("--batch", a->batches, "Decode batch sizes, comma-separated");
  sub->add_option("--attn", a->attn, "Attention path: naive, absorb(ed), or auto (naive for prefill, absorbed for decode)")->check(CLI::IsMember({"auto", "naive", "absorb"}));
  sub->add_option("-t,--threads", a->threads, "Threads (default: all cores)");
  sub->add_option("--repeat", a->repeat, "Runs of each measurement; the median is reported")->check(CLI::PositiveNumber);
  sub->add_option("--speculative", a->speculative,
                  "Also compare batch-1 greedy decoding with MTP speculative decoding at these draft depths (e.g. 1,2,3)");
  sub->add_flag("--json", a->json, "Print one JSON object instead of a table");
  mmap_flag_add(sub, a->mmap);
  bf16_activations_flag_add(sub);
  return {sub, [a] {
            const std::vector<int64_t> batches = parse_list(a->batches, "--batch");
            const std::vector<int64_t> depths = a->speculative.empty() ? std::vector<int64_t>{}
                                                                       : parse_list(a->speculative, "--speculative");
            ThreadPool pool(a->threads > 0 ? a->threads : default_threads());
            nlohmann::json r;
            auto say = [&](const std::string& line) {
              if (!a->json) std::printf("%s\n", line.c_str()), std::fflush(stdout);
            };
            say(fmt::format("measuring this machine with {} threads ...", pool.size()));
            MachineLimits lim = measure_machine_limits(pool);
            r["machine"] = {{"threads", lim.threads}, {"read_gb_per_s", lim.read_gb_per_s}, {"fma_gflop_per_s", lim.fma_gflop_per_s}};
            say(fmt::format("machine: streaming read {:.1f} GB/s, fp32 FMA peak {:.1f} GFLOP/s", lim.read_gb_per_s,
                            lim.fma_gflop_per_s));
            r["fp8_activations"] = !dpbf16_enabled() ? "f32" : dpbf16_x_single() ? "bf16" : "bf16x2";
            if (dpbf16_x_single()) say("fp8 products: activations rounded to one bf16 (--bf16-activations)");

            auto m = model_load(a->model, weight_load(a->mmap));
            for (int64_t depth : depths) spec_check_model(*m, depth);
            const ModelConfig& c = m->config;
            const AttnMode attn = attn_mode_parse(a->attn);
            const WeightCosts costs = weight_costs(*m);
            const int64_t max_batch = *std::max_element(batches.begin(), batches.end());
            memory_check(memory_plan(*m, std::max(a->prompt, int64_t(8) + a->gen), max_batch, std::max(a->prompt, max_batch)));
            std::mt19937 rng(1);
            auto random_tokens = [&](int64_t n) {
              std::vector<int32_t> t(static_cast<size_t>(n));
              for (auto& x : t) x = int32_t(rng() % uint32_t(c.vocab_size));
              return t;
            };
            ForwardScratch s;
            ForwardResult out;

            // Prefill: one pass over `prompt` tokens (logits of the last one only).
            {
              std::vector<int32_t> toks = random_tokens(a->prompt);
              const SpanTimes tm = median_times(a->repeat, [&] {
                LatentKvCache cache = m->new_cache(a->prompt);
                SpanTimer timer;
                transformer_fwd(*m, toks.data(), a->prompt, cache, {.attn = attn, .all_logits = false}, out, s, pool);
                return timer.elapsed();
              });
              const double dt = tm.wall;
              const double P = double(a->prompt);
              // 2 flops per parameter per token, plus the absorbed attention core
              // (scores over r_kv + d_rope and the context sum over r_kv per pair).
              const double pairs = P * (P + 1) / 2;
              const double flops = 2 * P * double(costs.params_per_token) + 2.0 * double(c.hidden_size) * double(c.vocab_size) +
                                   double(c.num_hidden_layers) * double(c.num_attention_heads) * pairs *
                                       (2.0 * double(c.kv_lora_rank + c.qk_rope_head_dim) + 2.0 * double(c.kv_lora_rank));
              r["prefill"] = {{"tokens", a->prompt}, {"seconds", dt}, {"tok_per_s", P / dt}, {"gflop_per_s", flops / dt / 1e9},
                              {"pct_fma_peak", 100 * flops / dt / 1e9 / lim.fma_gflop_per_s},
                              {"cpu_seconds", tm.cpu}, {"tok_per_cpu_s", P / tm.cpu}};
              say(fmt::format("prefill {} tokens: {:.1f} tok/s, {:.1f} GFLOP/s = {:.0f}% of FMA peak; {:.1f} tok per CPU-second",
                              a->prompt, P / dt, flops / dt / 1e9, 100 * flops / dt / 1e9 / lim.fma_gflop_per_s, P / tm.cpu));
            }

            // Decode: B sequences with an 8-token prompt each, then `gen` steps together.
            r["decode"] = nlohmann::json::array();
            for (int64_t B : batches) {
              const SpanTimes tm = median_times(a->repeat, [&] {
                std::vector<LatentKvCache> caches;
                for (int64_t i = 0; i < B; ++i) caches.push_back(m->new_cache(8 + a->gen));
                Batch batch;
                std::vector<int32_t> toks = random_tokens(8 * B);
                for (int64_t i = 0; i < B; ++i) batch.push_back({&caches[size_t(i)], 8 * i, 8});
                transformer_fwd(*m, batch, toks.data(), {.attn = attn, .all_logits = false}, out, s, pool);
                for (int64_t i = 0; i < B; ++i) batch[size_t(i)] = {&caches[size_t(i)], i, 1};
                s.moe.experts_run = 0;
                SpanTimer timer;
                for (int64_t step = 0; step < a->gen; ++step) {
                  toks = random_tokens(B);
                  transformer_fwd(*m, batch, toks.data(), {.attn = attn, .all_logits = false}, out, s, pool);
                }
                return timer.elapsed();
              });
              const double dt = tm.wall;
              const double bytes_per_step = double(costs.fixed_bytes) + double(s.moe.experts_run) / double(a->gen) * double(costs.expert_bytes);
              const double gbs = bytes_per_step * double(a->gen) / dt / 1e9;
              nlohmann::json row = {{"batch", B}, {"tok_per_s", double(B * a->gen) / dt},
                                    {"weight_bytes_per_step", bytes_per_step},
                                    {"weight_bytes_per_token", bytes_per_step / double(B)},
                                    {"gb_per_s", gbs}, {"pct_bandwidth", 100 * gbs / lim.read_gb_per_s},
                                    {"cpu_seconds", tm.cpu}, {"tok_per_cpu_s", double(B * a->gen) / tm.cpu}};
              r["decode"].push_back(row);
              say(fmt::format("decode batch {:2d}: {:8.1f} tok/s, {:.3f} GB of weights per step, {:.1f} GB/s = {:.0f}% of bandwidth; "
                              "{:.1f} tok per CPU-second",
                              B, double(B * a->gen) / dt, bytes_per_step / 1e9, gbs, 100 * gbs / lim.read_gb_per_s,
                              double(B * a->gen) / tm.cpu));
            }
            if (!depths.empty()) r["speculative"] = bench_speculative(*m, depths, a->gen, a->repeat, attn, lim, pool, say);
            const int64_t kv_per_token = c.num_hidden_layers * (c.kv_lora_rank + c.qk_rope_head_dim) * int64_t(sizeof(float));
            r["kv_bytes_per_token"] = kv_per_token;
            r["resident_bytes"] = resident_bytes();
            r["peak_resident_bytes"] = peak_resident_bytes();
            say(fmt::format("KV cache: {} bytes per token (fp32 latents); resident {:.2f} GiB, peak {:.2f} GiB", kv_per_token,
                            double(resident_bytes()) / (1 << 30), double(peak_resident_bytes()) / (1 << 30)));
            if (a->json) std::printf("%s\n", r.dump(2).c_str());
            return 0;
          }};
}

}  // namespace frugal
