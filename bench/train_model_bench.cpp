// Training throughput of the DeepSeek-V3 training forward + backward
// (src/train/train_model.h) on a config.json, e.g. the DESIGN.md target model:
//   build/bench/train_model_bench /work/shared/bench/train-v3-9m.json 8 256 5 2
// (config, B, T, timed steps, threads). Reports tokens/s of forward_backward
// (MTP, balance loss on; the optimizer step is not included). Not a test.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <sys/resource.h>

#include "core/error.h"
#include "train/train_model.h"

int main(int argc, char** argv) {
  using namespace frugal;
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CONFIG.json [B=8] [T=256] [steps=5] [threads=0]\n", argv[0]);
    return 2;
  }
  const int64_t B = argc > 2 ? std::atoll(argv[2]) : 8, T = argc > 3 ? std::atoll(argv[3]) : 256;
  const int steps = argc > 4 ? std::atoi(argv[4]) : 5, threads = argc > 5 ? std::atoi(argv[5]) : 0;
  try {
    const ModelConfig c = config_load(argv[1]);
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
    m->forward_backward(b, opt, pool);  // warm-up: allocations
    // Process CPU seconds: on a shared (loaded) machine, tokens per CPU-second x
    // threads estimates the unloaded rate (assumes the threads are kept busy).
    auto cpu_seconds = [] {
      rusage u{};
      getrusage(RUSAGE_SELF, &u);
      return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + 1e-6 * double(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
    };
    const double cpu0 = cpu_seconds();
    double best = 1e30, total = 0;
    LossStats st;
    for (int s = 0; s < steps; ++s) {
      auto t0 = std::chrono::steady_clock::now();
      st = m->forward_backward(b, opt, pool);
      const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      best = std::min(best, dt);
      total += dt;
    }
    const double cpu = cpu_seconds() - cpu0;
    std::printf("CPU time %.3f s/step -> %.0f tokens per CPU-second; x %d threads = %.0f tokens/s (estimate for an "
                "idle machine)\n",
                cpu / steps, double(B * T) * steps / cpu, pool.size(), double(B * T) * steps / cpu * pool.size());
    std::printf("%s: %.2fM params, batch %lld x %lld, %d threads: %.3f s/step (mean), best %.3f s -> "
                "%.0f tokens/s (mean), %.0f tokens/s (best); loss %.4f\n",
                argv[1], double(n_params) / 1e6, (long long)B, (long long)T, pool.size(), total / steps, best,
                double(B * T) * steps / total, double(B * T) / best, st.loss);
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
