// How fast one core reads memory in the access patterns a matrix-vector kernel
// can use: one sequential stream, R side-by-side rows (64 bytes of each in turn,
// what a kernel keeping R rows' accumulators in registers does), and R rows taken
// from R parts of the range (each part a sequential stream). Loads and integer
// adds only, no arithmetic worth the name: it shows the memory side alone.
// docs/performance.md "Rows read as sequential streams" has this machine's figures.
//
//   g++ -O2 -mavx2 -o /tmp/access_patterns bench/access_patterns.cpp && /tmp/access_patterns
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>

namespace {

constexpr size_t kBytes = size_t(400) << 20;  // far beyond any cache

// Sum of the 64 bytes at p, into acc (two 256-bit loads).
inline __m256i add64(__m256i acc, const uint8_t* p) {
  acc = _mm256_add_epi32(acc, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  return _mm256_add_epi32(acc, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32)));
}

int32_t fold(const __m256i* acc, int n) {
  __m256i s = acc[0];
  for (int i = 1; i < n; ++i) s = _mm256_add_epi32(s, acc[i]);
  alignas(32) int32_t lanes[8];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), s);
  int32_t t = 0;
  for (int32_t v : lanes) t += v;
  return t;
}

__attribute__((noinline)) int32_t sequential(const uint8_t* p, size_t n) {
  __m256i acc[4] = {};
  for (size_t i = 0; i + 256 <= n; i += 256)
    for (int j = 0; j < 4; ++j) acc[j] = add64(acc[j], p + i + 64 * j);
  return fold(acc, 4);
}

// R rows side by side: rows i .. i + R - 1, then the next R. With prefetch, the
// same share of the next R rows is prefetched into L1 while these are read.
template <int R>
__attribute__((noinline)) int32_t side_by_side(const uint8_t* p, size_t n, size_t row, bool prefetch) {
  __m256i acc[R] = {};
  for (size_t blk = 0; blk + 2 * R * row <= n; blk += R * row) {
    const uint8_t* w = p + blk;
    const char* next = reinterpret_cast<const char*>(w + R * row);
    for (size_t k = 0; k + 64 <= row; k += 64) {
      if (prefetch)
        for (size_t o = k * R; o < (k + 64) * R; o += 64) _mm_prefetch(next + o, _MM_HINT_T0);
      for (int r = 0; r < R; ++r) acc[r] = add64(acc[r], w + r * row + k);
    }
  }
  return fold(acc, R);
}

// R rows from R parts: rows i, q + i, 2q + i, ... for i in [0, q).
template <int R>
__attribute__((noinline)) int32_t from_parts(const uint8_t* p, size_t n, size_t row) {
  __m256i acc[R] = {};
  const size_t q = n / row / R;
  for (size_t i = 0; i < q; ++i)
    for (size_t k = 0; k + 64 <= row; k += 64)
      for (int r = 0; r < R; ++r) acc[r] = add64(acc[r], p + (r * q + i) * row + k);
  return fold(acc, R);
}

void report(const std::string& name, const std::function<int32_t()>& f) {
  double best = 0;
  for (int run = 0; run < 5; ++run) {
    const auto t0 = std::chrono::steady_clock::now();
    volatile int32_t sink = f();
    (void)sink;
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, double(kBytes) / s / 1e9);
  }
  std::printf("%-56s %6.1f GB/s\n", name.c_str(), best);
}

}  // namespace

int main() {
  uint8_t* buf = static_cast<uint8_t*>(std::aligned_alloc(4096, kBytes));
  if (!buf) return 1;
  std::memset(buf, 1, kBytes);
  report("one sequential stream", [&] { return sequential(buf, kBytes); });
  for (size_t row : {size_t(1152), size_t(2048), size_t(10944)}) {
    const std::string r = " (rows of " + std::to_string(row) + " B)";
    report("4 side by side" + r, [&] { return side_by_side<4>(buf, kBytes, row, false); });
    report("4 side by side, next rows prefetched" + r, [&] { return side_by_side<4>(buf, kBytes, row, true); });
    report("8 side by side" + r, [&] { return side_by_side<8>(buf, kBytes, row, false); });
    report("2 from 2 parts" + r, [&] { return from_parts<2>(buf, kBytes, row); });
    report("4 from 4 parts" + r, [&] { return from_parts<4>(buf, kBytes, row); });
    report("8 from 8 parts" + r, [&] { return from_parts<8>(buf, kBytes, row); });
    report("1 row after the other" + r, [&] { return side_by_side<1>(buf, kBytes, row, false); });
  }
  std::free(buf);
}
