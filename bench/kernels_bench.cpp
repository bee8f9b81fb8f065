// Kernel micro-benchmarks, reported as ratios to this machine's limits measured
// in the same process the same way `frugal bench` does (kernels/machine_limits.h):
//   stream/threads:N          streaming read GB/s (the decode roofline)
//   fma/threads:N             fp32 FMA GFLOP/s (the prefill roofline)
//   matvec/DTYPE/RxC/T/thr    y = x W^T for T tokens: GB/s of weight bytes read
//                             (bw% of the stream figure) and GFLOP/s (peak%)
//   prefill/...               the same at T = 512 (GFLOP/s, peak%)
//   sgemm_f32/...             OpenBLAS sgemm on fp32 weights, for comparison
//   xw/...                    y = x W (absorbed attention) at decode
//   pool_overhead/threads:N   one empty ThreadPool::parallel_for
//   e4m3_decode/...           fp8 decode by bit trick vs table gather (one thread)
// Rates use wall time with 2 threads and the thread's CPU time with 1 (robust to
// time slices lost on a shared machine; shared caches and memory still interfere:
// take the best of --benchmark_repetitions).
// Matrices smaller than 256 MB are replicated and cycled through, so that every
// call streams its weights from memory, as decode does with the experts of MoE.
// Shapes are DeepSeek-V2-Lite's: [2048, 10944] dense down_proj, [1408, 2048] an
// expert's gate/up, [102400, 2048] lm_head; [256, 2048] fits in L2 (decode speed
// without the memory limit).
#include <benchmark/benchmark.h>

#include <cblas.h>

#include <chrono>
#include <ctime>
#include <cstring>
#include <map>
#include <memory>
#include <vector>

#include "core/dtype.h"
#include "kernels/dispatch.h"
#include "kernels/machine_limits.h"
#include "kernels/matmul.h"

namespace frugal {

// kernels_bench_avx2.cpp
double bench_e4m3_matvec(const uint8_t* w, int64_t rows, int64_t cols, const float* x, float* y, int mode);

namespace {

using Clock = std::chrono::steady_clock;

// Seconds of this thread's CPU time: with one thread all the work runs on it, and
// (on a shared machine) time slices lost to other processes do not count.
double thread_cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

// Times a call: wall clock with several threads, this thread's CPU time with one.
template <typename F>
double timed(int threads, F&& f) {
  if (threads == 1) {
    const double c0 = thread_cpu_seconds();
    f();
    return thread_cpu_seconds() - c0;
  }
  const auto t0 = Clock::now();
  f();
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

ThreadPool& pool(int threads) {
  static std::map<int, std::unique_ptr<ThreadPool>> pools;
  auto& p = pools[threads];
  if (!p) p = std::make_unique<ThreadPool>(threads);
  return *p;
}

const MachineLimits& limits(int threads) {
  static std::map<int, MachineLimits> cache;
  auto it = cache.find(threads);
  if (it == cache.end()) it = cache.emplace(threads, measure_machine_limits(pool(threads), int64_t(1) << 30, 3)).first;
  return it->second;
}

struct Shape {
  int64_t rows, cols;
};
constexpr Shape kShapes[] = {{2048, 10944}, {1408, 2048}, {102400, 2048}, {256, 2048}};
constexpr DType kDTypes[] = {DType::F32, DType::BF16, DType::F16, DType::F8_E4M3, DType::Q8_0, DType::Q4_0};

uint64_t next(uint64_t& s) {  // xorshift64*
  s ^= s >> 12;
  s ^= s << 25;
  s ^= s >> 27;
  return s * 2685821657736338717ull;
}

// Random weights stored in `dtype`, replicated `copies` times (one cache entry at a time).
struct BenchWeight {
  DType dtype;
  Shape shape;
  std::vector<uint8_t> bytes;
  std::vector<float> scales;
  std::vector<MatrixView> views;
  int64_t view_bytes = 0;  // weights + block scales read per call
};

void fill(DType dt, uint8_t* p, int64_t rows, int64_t cols, uint64_t seed) {
  uint64_t s = seed | 1;
  const int64_t rb = dtype_row_bytes(dt, cols);
  for (int64_t r = 0; r < rows; ++r) {
    uint8_t* row = p + r * rb;
    switch (dt) {
      case DType::F32:
        for (int64_t c = 0; c < cols; ++c) {
          const float v = float(int32_t(next(s) >> 32)) * 0x1p-31f;
          std::memcpy(row + 4 * c, &v, 4);
        }
        break;
      case DType::BF16:
        for (int64_t c = 0; c < cols; ++c) {
          const float v = float(int32_t(next(s) >> 32)) * 0x1p-31f;
          const uint16_t h = f32_to_bf16(v);
          std::memcpy(row + 2 * c, &h, 2);
        }
        break;
      case DType::F16:
        for (int64_t c = 0; c < cols; ++c) {
          const uint64_t r64 = next(s);
          const uint16_t h = uint16_t((r64 & 0x8000) | ((9 + (r64 >> 20) % 6) << 10) | ((r64 >> 40) & 0x3FF));
          std::memcpy(row + 2 * c, &h, 2);
        }
        break;
      case DType::F8_E4M3:
        for (int64_t c = 0; c < cols; c += 8) {
          uint64_t r64 = next(s);
          for (int j = 0; j < 8 && c + j < cols; ++j, r64 >>= 8) {
            uint8_t b = uint8_t(r64);
            if ((b & 0x7F) == 0x7F) b ^= 1;  // no NaN
            row[c + j] = b;
          }
        }
        break;
      case DType::Q8_0:
      case DType::Q4_0: {
        const int64_t bb = dtype_size(dt);
        for (int64_t b = 0; b < cols / kQBlock; ++b) {
          uint8_t* blk = row + b * bb;
          const uint16_t d = dt == DType::Q8_0 ? 0x2000 : 0x2400;
          std::memcpy(blk, &d, 2);
          for (int64_t j = 2; j < bb; j += 8) {
            const uint64_t r64 = next(s);
            std::memcpy(blk + j, &r64, size_t(std::min<int64_t>(8, bb - j)));
          }
        }
        break;
      }
      default: break;
    }
  }
}

BenchWeight& weight(DType dt, Shape sh) {
  static std::unique_ptr<BenchWeight> cached;
  if (cached && cached->dtype == dt && cached->shape.rows == sh.rows && cached->shape.cols == sh.cols) return *cached;
  cached.reset();
  auto w = std::make_unique<BenchWeight>();
  w->dtype = dt;
  w->shape = sh;
  const int64_t bytes = sh.rows * dtype_row_bytes(dt, sh.cols);
  const bool in_cache = sh.rows == 256;
  const int64_t copies = in_cache ? 1 : std::max<int64_t>(1, (int64_t(256) << 20) / bytes);
  w->bytes.resize(size_t(bytes * copies));
  for (int64_t i = 0; i < copies; ++i) fill(dt, w->bytes.data() + i * bytes, sh.rows, sh.cols, 7 + uint64_t(i));
  MatrixView v{.dtype = dt, .rows = sh.rows, .cols = sh.cols};
  w->view_bytes = bytes;
  if (dt == DType::F8_E4M3) {
    w->scales.resize(size_t(((sh.rows + 127) / 128) * ((sh.cols + 127) / 128)));
    uint64_t s = 3;
    for (float& f : w->scales) f = 1e-3f + float(next(s) % 1000) * 1e-5f;
    v.scale_inv = w->scales.data();
    w->view_bytes += int64_t(w->scales.size() * sizeof(float));
  }
  for (int64_t i = 0; i < copies; ++i) {
    v.data = w->bytes.data() + i * bytes;
    w->views.push_back(v);
  }
  cached = std::move(w);
  return *cached;
}

std::vector<float> activations(int64_t n) {
  std::vector<float> x(static_cast<size_t>(n));
  uint64_t s = 11;
  for (float& v : x) v = float(int32_t(next(s) >> 32)) * 0x1p-31f;
  return x;
}

// Sets GB/s, bw%, GFLOP/s and peak% from a timed loop.
void report(benchmark::State& st, int threads, double seconds, double bytes, double flops) {
  const MachineLimits& lim = limits(threads);
  const double gbs = bytes / seconds / 1e9, gflops = flops / seconds / 1e9;
  st.counters["GB/s"] = gbs;
  st.counters["bw%"] = 100 * gbs / lim.read_gb_per_s;
  st.counters["GFLOP/s"] = gflops;
  st.counters["peak%"] = 100 * gflops / lim.fma_gflop_per_s;
}

enum class Kernel { Fast, Generic };

void BM_matmul(benchmark::State& st, DType dt, Shape sh, int64_t T, int threads, Kernel kernel) {
  limits(threads);  // measured before the timed loop
  BenchWeight& w = weight(dt, sh);
  ThreadPool& p = pool(threads);
  const std::vector<float> x = activations(T * sh.cols);
  std::vector<float> y(size_t(T * sh.rows));
  size_t i = 0;
  double seconds = 0;
  for (auto _ : st) {
    const MatrixView& v = w.views[i++ % w.views.size()];
    seconds += timed(threads, [&] {
      if (kernel == Kernel::Fast) matmul_xwt_fast(y.data(), sh.rows, x.data(), sh.cols, T, v, {0, sh.rows}, p);
      else matmul_xwt_generic(y.data(), sh.rows, x.data(), sh.cols, T, v, {0, sh.rows}, p);
    });
    benchmark::DoNotOptimize(y.data());
  }
  const double n = double(st.iterations());
  report(st, threads, seconds, n * double(w.view_bytes), n * 2.0 * double(T) * double(sh.rows * sh.cols));
}

// y = x W over a head's slice of kv_b_proj: rows 128 of [4096, 512], T tokens.
void BM_xw(benchmark::State& st, DType dt, int64_t T, int threads) {
  limits(threads);
  const Shape sh{4096, 512};
  BenchWeight& w = weight(dt, sh);
  ThreadPool& p = pool(threads);
  const std::vector<float> x = activations(T * 128);
  std::vector<float> y(size_t(T * sh.cols));
  size_t i = 0;
  int64_t head = 0;
  double seconds = 0;
  for (auto _ : st) {
    const MatrixView& v = w.views[i++ % w.views.size()];
    seconds += timed(threads, [&] { matmul_xw_fast(y.data(), sh.cols, x.data(), 128, T, v, {head * 128, 128}, p); });
    head = (head + 1) % 32;
    benchmark::DoNotOptimize(y.data());
  }
  const double n = double(st.iterations());
  report(st, threads, seconds, n * double(128 * dtype_row_bytes(dt, sh.cols)), n * 2.0 * double(T * 128 * sh.cols));
}

// OpenBLAS sgemm on fp32 weights: each pool thread one sgemm over its rows.
void BM_sgemm(benchmark::State& st, Shape sh, int64_t T, int threads) {
  limits(threads);
  kernels_init();
  BenchWeight& w = weight(DType::F32, sh);
  ThreadPool& p = pool(threads);
  const std::vector<float> x = activations(T * sh.cols);
  std::vector<float> y(size_t(T * sh.rows));
  size_t i = 0;
  double seconds = 0;
  for (auto _ : st) {
    const float* W = static_cast<const float*>(w.views[i++ % w.views.size()].data);
    seconds += timed(threads, [&] {
      p.parallel_for(sh.rows, [&](int64_t b, int64_t e, int) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(T), int(e - b), int(sh.cols), 1.0f, x.data(),
                    int(sh.cols), W + b * sh.cols, int(sh.cols), 0.0f, y.data() + b, int(sh.rows));
      }, 16);
    });
    benchmark::DoNotOptimize(y.data());
  }
  const double n = double(st.iterations());
  report(st, threads, seconds, n * double(w.view_bytes), n * 2.0 * double(T) * double(sh.rows * sh.cols));
}

void BM_stream(benchmark::State& st, int threads) {
  for (auto _ : st) {
    const MachineLimits& lim = limits(threads);
    st.counters["GB/s"] = lim.read_gb_per_s;
    st.counters["GFLOP/s"] = lim.fma_gflop_per_s;
  }
}

void BM_pool_overhead(benchmark::State& st, int threads) {
  ThreadPool& p = pool(threads);
  std::vector<int64_t> sink(64);
  for (auto _ : st) p.parallel_for(threads, [&](int64_t b, int64_t, int t) { sink[size_t(t) * 8] += b; });
  benchmark::DoNotOptimize(sink.data());
}

void BM_e4m3_decode(benchmark::State& st, Shape sh, int mode) {
  if (!cpu_has_avx2_fma()) return st.SkipWithError("no AVX2");
  BenchWeight& w = weight(DType::F8_E4M3, sh);
  const std::vector<float> x = activations(sh.cols);
  std::vector<float> y(size_t(sh.rows));
  size_t i = 0;
  double seconds = 0;
  for (auto _ : st) {
    const auto* data = static_cast<const uint8_t*>(w.views[i++ % w.views.size()].data);
    seconds += timed(1, [&] { bench_e4m3_matvec(data, sh.rows, sh.cols, x.data(), y.data(), mode); });
  }
  const double n = double(st.iterations());
  report(st, 1, seconds, n * double(sh.rows * sh.cols), n * 2.0 * double(sh.rows * sh.cols));
}

constexpr const char* kE4M3Modes[] = {"fp16_trick", "table_gather", "fp32_trick_mul", "fp32_trick_folded"};

std::string shape_name(Shape s) { return std::to_string(s.rows) + "x" + std::to_string(s.cols); }

void register_all() {
  const int kThreads[] = {1, 2};
  for (int th : kThreads)
    benchmark::RegisterBenchmark(("stream/threads:" + std::to_string(th)).c_str(), BM_stream, th)->Iterations(1);
  for (int th : kThreads)
    benchmark::RegisterBenchmark(("pool_overhead/threads:" + std::to_string(th)).c_str(), BM_pool_overhead, th)
        ->UseRealTime();
  for (Shape sh : kShapes)
    for (DType dt : kDTypes)
      for (int th : kThreads)
        for (int64_t T : {1, 2, 3, 4, 5, 8, 16, 32, 64}) {
          if (T > 1 && sh.rows != 2048) continue;
          const std::string name = "matvec/" + std::string(dtype_name(dt)) + "/" + shape_name(sh) + "/T:" +
                                   std::to_string(T) + "/threads:" + std::to_string(th);
          benchmark::RegisterBenchmark(name.c_str(), BM_matmul, dt, sh, T, th, Kernel::Fast)
              ->UseRealTime()->MinTime(0.3);
          if (T == 1 && sh.rows == 2048)
            benchmark::RegisterBenchmark(("generic_" + name).c_str(), BM_matmul, dt, sh, T, th, Kernel::Generic)
                ->UseRealTime()->MinTime(0.3);
        }
  for (DType dt : kDTypes)
    for (int th : kThreads)
      for (int64_t T : {1, 4})
        benchmark::RegisterBenchmark(("xw/" + std::string(dtype_name(dt)) + "/128x512/T:" + std::to_string(T) +
                                      "/threads:" + std::to_string(th)).c_str(),
                                     BM_xw, dt, T, th)
            ->UseRealTime()->MinTime(0.3);
  for (Shape sh : {Shape{1408, 2048}, Shape{2048, 10944}})
    for (DType dt : kDTypes)
      for (int th : kThreads) {
        const std::string name = "prefill/" + std::string(dtype_name(dt)) + "/" + shape_name(sh) + "/T:512/threads:" +
                                 std::to_string(th);
        benchmark::RegisterBenchmark(name.c_str(), BM_matmul, dt, sh, 512, th, Kernel::Fast)->UseRealTime()->MinTime(1.0);
        if (sh.rows == 1408)
          benchmark::RegisterBenchmark(("generic_" + name).c_str(), BM_matmul, dt, sh, 512, th, Kernel::Generic)
              ->UseRealTime()->MinTime(1.0);
      }
  for (Shape sh : {Shape{1408, 2048}, Shape{2048, 10944}})
    for (int th : kThreads)
      benchmark::RegisterBenchmark(("sgemm_f32/" + shape_name(sh) + "/T:512/threads:" + std::to_string(th)).c_str(),
                                   BM_sgemm, sh, 512, th)
          ->UseRealTime()->MinTime(1.0);
  for (Shape sh : {Shape{2048, 10944}, Shape{256, 2048}})
    for (int mode : {0, 1, 2, 3})
      benchmark::RegisterBenchmark(("e4m3_decode/" + std::string(kE4M3Modes[mode]) + "/" + shape_name(sh)).c_str(),
                                   BM_e4m3_decode, sh, mode)
          ->UseRealTime()->MinTime(0.3);
}

}  // namespace
}  // namespace frugal

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  frugal::register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
