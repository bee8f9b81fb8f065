// Training throughput of the DeepSeek-V3 training forward + backward
// (src/train/train_model.h) on a config.json, e.g. the DESIGN.md target model:
//   build/bench/train_model_bench /work/shared/bench/train-v3-9m.json 8 256 5 2 [--optimizer] [--peak] [--json]
// (config, B, T, timed steps, threads). Reports tokens/s of forward_backward
// (MTP, balance loss on). --optimizer: each timed step is a whole optimizer step
// as the Trainer does it (zero_grad, forward_backward, global-norm clip + AdamW,
// router-bias update), the work bench/train_vs_pytorch.py compares with PyTorch.
// --peak: also measure the fp32 FMA peak of this many threads (machine_limits.h).
// --json: one JSON line instead of the text. Not a test.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>
#include <sys/resource.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "kernels/machine_limits.h"
#include "train/adamw.h"
#include "train/bias_balance.h"
#include "train/train_model.h"

namespace {

// Process CPU seconds: on a shared (loaded) machine, tokens per CPU-second x
// threads estimates the unloaded rate (assumes the threads are kept busy).
double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + 1e-6 * double(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace frugal;
  std::vector<std::string> pos;
  bool optimizer = false, peak = false, as_json = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--optimizer")) optimizer = true;
    else if (!std::strcmp(argv[i], "--peak")) peak = true;
    else if (!std::strcmp(argv[i], "--json")) as_json = true;
    else pos.emplace_back(argv[i]);
  }
  if (pos.empty()) {
    std::fprintf(stderr, "usage: %s CONFIG.json [B=8] [T=256] [steps=5] [threads=0] [--optimizer] [--peak] [--json]\n",
                 argv[0]);
    return 2;
  }
  const int64_t B = pos.size() > 1 ? std::atoll(pos[1].c_str()) : 8, T = pos.size() > 2 ? std::atoll(pos[2].c_str()) : 256;
  const int steps = pos.size() > 3 ? std::atoi(pos[3].c_str()) : 5, threads = pos.size() > 4 ? std::atoi(pos[4].c_str()) : 0;
  try {
    const ModelConfig c = config_load(pos[0]);
    auto m = train_model_create(c, {.seed = 1, .init_std = 0.006f});
    int64_t n_params = 0;
    for (const ParamTensor& p : m->params()) n_params += p.numel();
    ThreadPool pool(threads);
    std::mt19937 rng(1);
    TrainBatch b{.B = B, .T = T};
    for (int64_t i = 0; i < B * T; ++i) {
      b.tokens.push_back(int32_t(rng() % uint32_t(c.vocab_size)));
      b.doc.push_back(int32_t(i % T / 64));
    }
    for (int64_t i = 0; i < B * T; ++i) b.labels.push_back(i % T + 1 < T ? b.tokens[size_t(i + 1)] : -1);
    const LossOptions opt{.mtp_lambda = 0.3f, .balance_alpha = 1e-4f};
    AdamW adamw(m->params(), {});
    BiasBalancer balancer(m->params(), c, {.gamma = 0.001});
    auto step = [&] {
      if (optimizer) adamw.zero_grad(pool);
      LossStats st = m->forward_backward(b, opt, pool);
      if (optimizer) {  // as Trainer::train_step
        adamw.step(1e-3, 1.0, pool);
        if (balancer.layers() > 0) {
          balancer.add_load(st.expert_load);
          balancer.update(adamw.steps_taken() - 1);
        }
      }
      return st;
    };
    step();  // warm-up: allocations
    const double cpu0 = cpu_seconds();
    double best = 1e30, total = 0;
    LossStats st;
    for (int s = 0; s < steps; ++s) {
      auto t0 = std::chrono::steady_clock::now();
      st = step();
      const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      best = std::min(best, dt);
      total += dt;
    }
    const double cpu = cpu_seconds() - cpu0;
    const double fma = peak ? measure_machine_limits(pool, int64_t(1) << 24, 3).fma_gflop_per_s : 0;
    const double tokens = double(B * T);
    if (as_json) {
      std::printf("%s\n", nlohmann::json{{"config", pos[0]}, {"params", n_params}, {"B", B}, {"T", T},
                                         {"threads", pool.size()}, {"optimizer", optimizer}, {"steps", steps},
                                         {"mean_s", total / steps}, {"best_s", best},
                                         {"tokens_per_s_mean", tokens * steps / total},
                                         {"tokens_per_s_best", tokens / best},
                                         {"tokens_per_cpu_s", tokens * steps / cpu}, {"fma_gflop_per_s", fma},
                                         {"loss", st.loss}}
                                  .dump()
                                  .c_str());
      return 0;
    }
    std::printf("CPU time %.3f s/step -> %.0f tokens per CPU-second; x %d threads = %.0f tokens/s (estimate for an "
                "idle machine)\n",
                cpu / steps, tokens * steps / cpu, pool.size(), tokens * steps / cpu * pool.size());
    std::printf("%s: %.2fM params, batch %lld x %lld, %d threads%s: %.3f s/step (mean), best %.3f s -> "
                "%.0f tokens/s (mean), %.0f tokens/s (best); loss %.4f\n",
                pos[0].c_str(), double(n_params) / 1e6, (long long)B, (long long)T, pool.size(),
                optimizer ? ", optimizer step included" : "", total / steps, best, tokens * steps / total,
                tokens / best, st.loss);
    if (peak) std::printf("fp32 FMA peak of %d threads: %.1f GFLOP/s\n", pool.size(), fma);
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
