// Fast matmul kernels against the plain reference, over every weight dtype
// (f32, bf16, f16, fp8 e4m3 with block scales, Q8_0, Q4_0), odd shapes, T = 0..17
// and beyond (the register path T <= 4, the tiled path T >= 5, x W's T <= 16 /
// BLAS beyond; Q8_0 / Q4_0: the int8 kernels, 8 rows in the lanes up to T = 5,
// token-tiled from T = 6 to 64),
// row sub-ranges, strided inputs/outputs with guard values that must stay
// untouched, and 1..3 threads.
//
// Tolerances are derived, not tuned:
//  - fp32 paths (decoded weights are exact in fp32; only the order of the sums
//    differs): |fast - ref| <= 2^-24 (K / 8 + 16) sum_k |x_k w_k|, the bound for
//    K / 8 sequential additions per lane, the lane / chunk sums, and one
//    rounding of x_k * scale.
//  - Q8_0 / Q4_0 on AVX2 (x quantized to int8 per 32-block): plus
//    sum_blocks (amax_b(x) / 254) sum_{k in b} |w_k|, the largest effect of
//    rounding x to d_x = amax / 127 steps; and a second test compares that path
//    with an exact emulation of it (x quantized the same way, in double).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "core/dtype.h"
#include "kernels/dispatch.h"
#include "kernels/matmul.h"
#include "kernels/quantize.h"

namespace frugal {
namespace {

constexpr float kGuard = -12345.0f;
constexpr DType kAllTypes[] = {DType::F32, DType::BF16, DType::F16, DType::F8_E4M3, DType::Q8_0, DType::Q4_0};

bool is_block(DType t) { return t == DType::Q8_0 || t == DType::Q4_0; }

// A random weight matrix stored in `dtype`; fp8 always with block scales, others
// when `scaled`.
struct TestWeight {
  std::vector<uint8_t> bytes;
  std::vector<float> scales;
  MatrixView view;

  TestWeight(DType dtype, int64_t rows, int64_t cols, std::mt19937& rng, bool scaled = false, int64_t block = 128) {
    std::normal_distribution<float> nd(0.0f, 1.0f);
    const int64_t rb = dtype_row_bytes(dtype, cols);
    bytes.resize(size_t(rows * rb));
    std::vector<float> row(static_cast<size_t>(cols));
    for (int64_t r = 0; r < rows; ++r) {
      for (float& v : row) v = nd(rng);
      uint8_t* out = bytes.data() + r * rb;
      for (int64_t c = 0; c < cols; ++c) {
        const float v = row[size_t(c)];
        switch (dtype) {
          case DType::F32: std::memcpy(out + 4 * c, &v, 4); break;
          case DType::BF16: { const uint16_t h = f32_to_bf16(v); std::memcpy(out + 2 * c, &h, 2); break; }
          case DType::F16: { const uint16_t h = f32_to_f16(v); std::memcpy(out + 2 * c, &h, 2); break; }
          // x100: the whole e4m3 range, subnormals (|v| < 2^-6) included
          case DType::F8_E4M3: out[c] = f32_to_fp8_e4m3(v * 100.0f); break;
          default: break;
        }
      }
      if (is_block(dtype)) quantize_row(dtype, row.data(), cols, out);
    }
    view = MatrixView{.data = bytes.data(), .dtype = dtype, .rows = rows, .cols = cols, .block = block};
    if (dtype == DType::F8_E4M3 || scaled) {
      std::uniform_real_distribution<float> ud(0.001f, 0.02f);
      scales.resize(size_t(((rows + block - 1) / block) * ((cols + block - 1) / block)));
      for (float& s : scales) s = ud(rng);
      view.scale_inv = scales.data();
    }
  }
};

std::vector<float> random_vec(int64_t n, std::mt19937& rng) {
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = nd(rng);
  return v;
}

// The int8 kernels' instruction sets this CPU runs (AVX2 always listed: without
// it the scalar path runs whatever the choice).
std::vector<Int8Isa> int8_isas() {
  std::vector<Int8Isa> out{Int8Isa::Avx2};
  if (cpu_has_avx512_vnni()) out.push_back(Int8Isa::Avx512Vnni);
  else std::printf("no AVX512-VNNI on this CPU: its int8 kernel is not tested here\n");
  return out;
}

// Does the fast x W^T take the AVX512-BF16 kernel (matmul_xwt_dpbf16.cpp): fp8
// with block scales or (x as one bf16) bf16 without, whole 64-groups?
bool dpbf16_path(const MatrixView& W, int64_t T) {
  const bool fp8 = W.dtype == DType::F8_E4M3 && W.scale_inv && W.block % 64 == 0;
  const bool bf16 = W.dtype == DType::BF16 && !W.scale_inv && dpbf16_x_single();
  return (fp8 || bf16) && T >= 1 && dpbf16_enabled() && W.cols > 0 && W.cols % 64 == 0 && cpu_has_avx2_fma();
}

// A weight that vdpbf16ps reads as 0: an e4m3 or bf16 subnormal (exponent field 0).
bool subnormal_code(const MatrixView& W, int64_t r, int64_t k) {
  const uint8_t* row = static_cast<const uint8_t*>(W.data) + r * W.row_bytes();
  if (W.dtype == DType::F8_E4M3) return (row[k] & 0x78) == 0;
  uint16_t h;
  std::memcpy(&h, row + 2 * k, 2);
  return (h & 0x7F80) == 0;
}

// Does the fast x W^T quantize x to int8 for this case?
bool int8_path(const MatrixView& W, int64_t /*T*/) {
  return is_block(W.dtype) && !W.scale_inv && cpu_has_avx2_fma();
}

// Allowed |fast - ref| for y[t, i] = sum_k x[t, k] W[i, k] (see the file comment).
struct Bound {
  double mag = 0, quant = 0;
  double tol(int64_t K) const { return std::ldexp(double(K) / 8 + 16, -24) * mag + quant + 1e-30; }
};

void expect_close(const std::vector<float>& fast, const std::vector<float>& ref, const std::vector<double>& tol,
                  const char* what) {
  ASSERT_EQ(fast.size(), ref.size());
  for (size_t i = 0; i < fast.size(); ++i) {
    if (ref[i] == kGuard) {
      ASSERT_EQ(fast[i], kGuard) << what << ": guard value overwritten at " << i;
      continue;
    }
    ASSERT_NEAR(fast[i], ref[i], tol[i]) << what << " at " << i;
  }
}

struct Case {
  DType dtype;
  int64_t T, rows, cols, row0, nrows;
  bool scaled = false;
  int64_t block = 128;
};

std::vector<Case> cases() {
  std::vector<Case> out;
  for (DType dt : kAllTypes) {
    const bool q = is_block(dt);
    const std::vector<int64_t> cols = q ? std::vector<int64_t>{0, 32, 64, 96, 256, 544}
                                        : std::vector<int64_t>{0, 1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 63, 65, 129, 600};
    for (int64_t c : cols) out.push_back({dt, 2, 5, c, 0, 5});
    for (int64_t T = 0; T <= 17; ++T) out.push_back({dt, T, 70, q ? 160 : 130, 0, 70});
    for (int64_t T : {23, 32, 33, 64, 65}) out.push_back({dt, T, 13, q ? 96 : 130, 0, 13});
    out.push_back({dt, 3, 300, q ? 288 : 257, 0, 300});  // several 128-blocks, edge blocks on both axes
    out.push_back({dt, 6, 300, q ? 288 : 257, 0, 300});
    out.push_back({dt, 5, 224, 64, 56, 32});              // a head's slice, not block-aligned
    out.push_back({dt, 1, 224, 64, 200, 24});
    out.push_back({dt, 4, 129, q ? 160 : 129, 127, 2});   // straddles a block edge
    out.push_back({dt, 9, 129, q ? 160 : 129, 3, 123});
    out.push_back({dt, 1, 37, 1056, 0, 37});              // several kc chunks; 8-block groups + tail (Q)
    out.push_back({dt, 7, 37, 1056, 2, 33});
    // Large enough that every thread gets rows (small products run on one thread).
    for (int64_t T : {1, 5, 16}) out.push_back({dt, T, 700, q ? 1120 : 1100, 5, 690});
    if (!q || dt == DType::Q8_0) {                        // other scalings
      out.push_back({dt, 2, 200, 192, 0, 200, true, 64});
      out.push_back({dt, 8, 200, 192, 0, 200, true, 64});
      if (!q) out.push_back({dt, 3, 150, 250, 0, 150, true, 100});  // not a multiple of 32: generic path
    }
  }
  // fp8 and bf16 with whole 64-groups: the AVX512-BF16 kernel where the CPU has it;
  // 1..3 tokens (one tile), then token tiles of up to 3 over row blocks; fp8 scale
  // blocks of 128 rows straddled by a sub-range, several column blocks.
  for (int64_t T : {1, 2, 3, 4, 5, 6, 7, 11, 13, 16, 17, 33}) {
    for (DType dt : {DType::F8_E4M3, DType::BF16}) {
      out.push_back({dt, T, 300, 384, 0, 300});
      out.push_back({dt, T, 263, 256, 100, 161});
    }
    out.push_back({DType::F8_E4M3, T, 9, 128, 0, 9, true, 64});
    if (T <= 4) out.push_back({DType::F8_E4M3, T, 9, 96, 0, 9, true, 32});  // 32-groups: the F16C path
  }
  for (DType dt : {DType::F8_E4M3, DType::BF16}) {
    out.push_back({dt, 70, 13, 2048, 3, 10});   // two chunks of x' (64 + 6 tokens)
    out.push_back({dt, 9, 300, 2048, 0, 300});  // row blocks of 96 (192 KB): 2 per fp8 segment
  }
  // x larger than the caches' budget: the token-block loop order, 2 token blocks.
  out.push_back({DType::F8_E4M3, 130, 6, 1100, 0, 6});
  out.push_back({DType::BF16, 17, 9, 8000, 0, 9});
  out.push_back({DType::Q4_0, 130, 6, 1120, 0, 6});
  return out;
}

// y_ref, y_fast and the tolerances for one x W^T case.
void check_xwt(const Case& c, ThreadPool& pool, std::mt19937& rng, bool generic) {
  TestWeight w(c.dtype, c.rows, c.cols, rng, c.scaled, c.block);
  const int64_t ldx = c.cols + 3, ldy = c.nrows + 2;  // strided, with guards between rows
  std::vector<float> x = random_vec(c.T * ldx, rng);
  std::vector<float> y_ref(size_t(c.T * ldy), kGuard), y_fast(y_ref);
  std::vector<double> tol(y_ref.size(), 0);
  matmul_xwt_ref(y_ref.data(), ldy, x.data(), ldx, c.T, w.view, {c.row0, c.nrows});
  if (generic) matmul_xwt_generic(y_fast.data(), ldy, x.data(), ldx, c.T, w.view, {c.row0, c.nrows}, pool);
  else matmul_xwt_fast(y_fast.data(), ldy, x.data(), ldx, c.T, w.view, {c.row0, c.nrows}, pool);
  const bool quantized_x = !generic && int8_path(w.view, c.T);
  const bool bf16_x = !generic && dpbf16_path(w.view, c.T);
  for (int64_t t = 0; t < c.T; ++t)
    for (int64_t i = 0; i < c.nrows; ++i) {
      Bound b;
      for (int64_t k0 = 0; k0 < c.cols; k0 += kQBlock) {
        double amax = 0, wsum = 0;
        for (int64_t k = k0; k < std::min(c.cols, k0 + kQBlock); ++k) {
          const double xv = x[size_t(t * ldx + k)], wv = w.view.at(c.row0 + i, k);
          b.mag += std::fabs(xv * wv);
          if (bf16_x && subnormal_code(w.view, c.row0 + i, k)) b.quant += std::fabs(xv * wv);
          amax = std::max(amax, std::fabs(xv));
          wsum += std::fabs(wv);
        }
        if (quantized_x) b.quant += amax / 254.0 * wsum * (1 + 1e-6);
      }
      // x' as two bf16: |x' - hi - lo| <= 2^-9 |x' - hi| <= 2^-18 |x'| per product;
      // as one (--bf16-activations): |x' - hi| <= 2^-9 |x'|
      if (bf16_x) b.quant += std::ldexp(b.mag, dpbf16_x_single() ? -9 : -18);
      tol[size_t(t * ldy + i)] = b.tol(c.cols);
    }
  SCOPED_TRACE(testing::Message() << dtype_name(c.dtype) << " T=" << c.T << " W=[" << c.rows << "," << c.cols
                                  << "] rows " << c.row0 << "+" << c.nrows << " scaled=" << c.scaled << " block="
                                  << c.block << " threads=" << pool.size() << (generic ? " generic" : "")
                                  << (bf16_x ? " dpbf16" : ""));
  expect_close(y_fast, y_ref, tol, "xwt");
}

void check_xw(const Case& c, ThreadPool& pool, std::mt19937& rng, bool generic) {
  TestWeight w(c.dtype, c.rows, c.cols, rng, c.scaled, c.block);
  const int64_t ldx = c.nrows + 1, ldy = c.cols + 4;
  std::vector<float> x = random_vec(c.T * ldx, rng);
  std::vector<float> y_ref(size_t(c.T * ldy), kGuard), y_fast(y_ref);
  std::vector<double> tol(y_ref.size(), 0);
  matmul_xw_ref(y_ref.data(), ldy, x.data(), ldx, c.T, w.view, {c.row0, c.nrows});
  if (generic) matmul_xw_generic(y_fast.data(), ldy, x.data(), ldx, c.T, w.view, {c.row0, c.nrows}, pool);
  else matmul_xw_fast(y_fast.data(), ldy, x.data(), ldx, c.T, w.view, {c.row0, c.nrows}, pool);
  for (int64_t t = 0; t < c.T; ++t)
    for (int64_t k = 0; k < c.cols; ++k) {
      Bound b;
      for (int64_t i = 0; i < c.nrows; ++i) b.mag += std::fabs(double(x[size_t(t * ldx + i)]) * w.view.at(c.row0 + i, k));
      // x W sums over rows: one FMA chain of n terms per output, plus x * scale.
      tol[size_t(t * ldy + k)] = std::ldexp(double(c.nrows) + 16, -24) * b.mag + 1e-30;
    }
  SCOPED_TRACE(testing::Message() << dtype_name(c.dtype) << " T=" << c.T << " W=[" << c.rows << "," << c.cols
                                  << "] rows " << c.row0 << "+" << c.nrows << " scaled=" << c.scaled << " block="
                                  << c.block << " threads=" << pool.size() << (generic ? " generic" : ""));
  expect_close(y_fast, y_ref, tol, "xw");
}

TEST(Matmul, XWtFastMatchesReference) {
  std::mt19937 rng(1);
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    for (const Case& c : cases()) check_xwt(c, pool, rng, false);
  }
}

// The fp8 and bf16 cases alone.
void check_fp8_bf16_xwt_cases(uint32_t seed) {
  std::mt19937 rng(seed);
  for (int threads : {1, 3}) {
    ThreadPool pool(threads);
    for (const Case& c : cases())
      if (c.dtype == DType::F8_E4M3 || c.dtype == DType::BF16) check_xwt(c, pool, rng, false);
  }
}

// With the AVX512-BF16 kernel switched off: the F16C (fp8) and fp32 (bf16) paths
// it replaces stay covered on CPUs that have it.
TEST(Matmul, XWtWithoutAvx512Bf16MatchesReference) {
  const bool was = dpbf16_enabled();
  ASSERT_TRUE(dpbf16_set(false));
  check_fp8_bf16_xwt_cases(11);
  dpbf16_set(was);
}

// x rounded to one bf16 (--bf16-activations): within its own bound, for every T.
TEST(Matmul, XWtBf16ActivationsMatchReference) {
  dpbf16_x_single_set(true);
  check_fp8_bf16_xwt_cases(12);
  dpbf16_x_single_set(false);
}

TEST(Matmul, XWFastMatchesReference) {
  std::mt19937 rng(2);
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    for (const Case& c : cases()) check_xw(c, pool, rng, false);
  }
}

// The portable path (what runs on CPUs without AVX2), for every dtype.
TEST(Matmul, GenericMatchesReference) {
  std::mt19937 rng(3);
  for (int threads : {2}) {  // (one thread runs the same code)
    ThreadPool pool(threads);
    for (const Case& c : cases()) {
      if (c.T > 9 && c.T < 17) continue;  // enough Ts for BLAS's own paths
      check_xwt(c, pool, rng, true);
      check_xw(c, pool, rng, true);
    }
  }
}

// The int8 path against an exact emulation of it: x quantized the same way (d_x =
// amax / 127 per 32-block, round to nearest even), products summed in double.
// 45 rows: 5 groups of 8 and a partial one.
TEST(Matmul, Int8PathMatchesItsDefinition) {
  if (!cpu_has_avx2_fma()) GTEST_SKIP() << "no AVX2";
  std::mt19937 rng(4);
  ThreadPool pool1(1), pool3(3);
  const Int8Isa best = int8_isa();
  for (Int8Isa isa : int8_isas())
  for (DType dt : {DType::Q8_0, DType::Q4_0})
    for (int64_t T : {1, 2, 3, 4, 5, 6, 7, 8, 9, 16, 17, 33, 64}) {
      ASSERT_TRUE(int8_isa_set(isa));
      ThreadPool& pool = T % 2 ? pool3 : pool1;
      const int64_t rows = 45, cols = 544;
      TestWeight w(dt, rows, cols, rng);
      std::vector<float> x = random_vec(T * cols, rng);
      x[5] = 40.0f;  // an outlier in one block
      std::vector<float> y(size_t(T * rows));
      matmul_xwt_fast(y.data(), rows, x.data(), cols, T, w.view, {0, rows}, pool);
      for (int64_t t = 0; t < T; ++t) {
        std::vector<double> xq(static_cast<size_t>(cols));
        for (int64_t b = 0; b < cols / 32; ++b) {
          float amax = 0;
          for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[size_t(t * cols + 32 * b + j)]));
          const float d = amax / 127.0f;
          for (int j = 0; j < 32; ++j)
            xq[size_t(32 * b + j)] = d > 0 ? double(std::nearbyint(x[size_t(t * cols + 32 * b + j)] / d)) * d : 0.0;
        }
        for (int64_t i = 0; i < rows; ++i) {
          double want = 0, mag = 0;
          for (int64_t k = 0; k < cols; ++k) {
            want += xq[size_t(k)] * w.view.at(i, k);
            mag += std::fabs(xq[size_t(k)] * w.view.at(i, k));
          }
          ASSERT_NEAR(y[size_t(t * rows + i)], want, std::ldexp(double(cols) / 8 + 16, -24) * mag)
              << dtype_name(dt) << " T=" << T << " t=" << t << " row " << i << " isa " << int(isa);
        }
      }
    }
  int8_isa_set(best);
}

// A token's outputs do not depend on how many tokens share the call (T <= 4: the
// decode path, every format; Q8_0 / Q4_0 up to 5, a speculative verify pass of 4
// drafts): batched decode equals single-sequence decode bit for bit.
TEST(Matmul, BatchOfFourEqualsFourSingles) {
  std::mt19937 rng(5);
  ThreadPool pool(2);
  for (DType dt : kAllTypes) {
    TestWeight w(dt, 75, 320, rng);
    for (int64_t T : {2, 3, 4, 5}) {
      if (T > 4 && !is_block(dt)) continue;
      std::vector<float> x = random_vec(T * 320, rng), y(size_t(T * 75)), y1(75);
      matmul_xwt_fast(y.data(), 75, x.data(), 320, T, w.view, {0, 75}, pool);
      for (int64_t t = 0; t < T; ++t) {
        matmul_xwt_fast(y1.data(), 75, x.data() + t * 320, 320, 1, w.view, {0, 75}, pool);
        for (int64_t i = 0; i < 75; ++i)
          ASSERT_EQ(y[size_t(t * 75 + i)], y1[size_t(i)]) << dtype_name(dt) << " T=" << T << " t=" << t << " i=" << i;
      }
    }
  }
}

// Q8_0 / Q4_0 up to 64 tokens (the int8 kernels: rows in the lanes up to 5 tokens,
// AVX2 or AVX512-VNNI, token-tiled from 6): a token's outputs do not depend on the
// other tokens of the call, nor on which kernel or ISA ran (AVX2, AVX512-VNNI), nor on the threads or on
// where a row falls in the row groups: its results in calls of 1..9, 15..17, 33 and 64 tokens, over all rows
// or a range starting at row 3, are the same bits.
// Without AVX2 the scalar path runs: the same property must hold there too.
// Each of N tokens alone (T = 1) over all rows of W: the bits a batched call must
// reproduce for each of its tokens.
struct SingleTokenBits {
  const MatrixView& W;
  const std::vector<float>& x;  // [N, W.cols]
  int64_t N;
  std::vector<float> want;      // [N, W.rows]

  SingleTokenBits(const MatrixView& w, const std::vector<float>& xs, int64_t n, ThreadPool& pool)
      : W(w), x(xs), N(n), want(size_t(n * w.rows)) {
    for (int64_t t = 0; t < N; ++t)
      matmul_xwt_fast(want.data() + t * W.rows, W.rows, x.data() + t * W.cols, W.cols, 1, W, {0, W.rows}, pool);
  }

  // Tokens [N - T, N) in one call over rows [r0, W.rows) (each token at another
  // position of its call than in its single run): bit for bit `want`?
  testing::AssertionResult batch_matches(int64_t T, int64_t r0, ThreadPool& pool) const {
    const int64_t n = W.rows - r0, K = W.cols;
    std::vector<float> y(size_t(T * n));
    matmul_xwt_fast(y.data(), n, x.data() + (N - T) * K, K, T, W, {r0, n}, pool);
    for (int64_t t = 0; t < T; ++t)
      for (int64_t i = 0; i < n; ++i)
        if (y[size_t(t * n + i)] != want[size_t((N - T + t) * W.rows + r0 + i)])
          return testing::AssertionFailure() << "T=" << T << " t=" << t << " row " << r0 + i << ": "
                                             << y[size_t(t * n + i)] << " vs "
                                             << want[size_t((N - T + t) * W.rows + r0 + i)];
    return testing::AssertionSuccess();
  }
};

TEST(Matmul, Int8TokenIndependent) {
  std::mt19937 rng(8);
  ThreadPool pool1(1), pool3(3);
  constexpr int64_t kRows = 203, kCols = 1120;  // 3 threads get several chunks of rows
  constexpr int64_t kN = 200;                   // tokens: more than one 64-token chunk
  const Int8Isa best = int8_isa();
  for (DType dt : {DType::Q8_0, DType::Q4_0}) {
    TestWeight w(dt, kRows, kCols, rng);
    const std::vector<float> x = random_vec(kN * kCols, rng);
    // The reference bits: each token alone on the first ISA (AVX2, or scalar);
    // every ISA and every T must reproduce them.
    ASSERT_TRUE(int8_isa_set(int8_isas().front()));
    const SingleTokenBits single(w.view, x, kN, pool1);
    for (Int8Isa isa : int8_isas())
    for (int64_t T : {1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 33, 40, 48, 64, 65, 130, 200})
      for (int64_t r0 : {0, 3}) {
        ASSERT_TRUE(int8_isa_set(isa));
        ASSERT_TRUE(single.batch_matches(T, r0, T % 2 ? pool3 : pool1)) << dtype_name(dt) << " isa " << int(isa);
      }
  }
  int8_isa_set(best);
}

// The AVX512-BF16 kernel computes a token's result the same way whatever T and
// however rows are split (tiles of up to 3 tokens over blocks of rows): batched
// decode and prefill give batch-1's bits, for fp8 and bf16 weights. (Elsewhere
// they take the F16C / fp32 kernels, whose 1..4-token and tiled paths differ in
// the last bits: not checked there.)
TEST(Matmul, Dpbf16TokenIndependent) {
  if (!dpbf16_enabled()) GTEST_SKIP() << "no AVX512-BF16 on this CPU: its kernel cannot run here";
  std::mt19937 rng(9);
  ThreadPool pool1(1), pool3(3);
  constexpr int64_t kRows = 300, kCols = 2048;  // row blocks of 96 within fp8 segments of 128
  constexpr int64_t kN = 150;                   // tokens: more than one 64-token chunk of x'
  for (DType dt : {DType::F8_E4M3, DType::BF16}) {
    TestWeight w(dt, kRows, kCols, rng);
    const std::vector<float> x = random_vec(kN * kCols, rng);
    for (bool one_bf16 : {false, true}) {  // x as two bf16 (the default) or one (--bf16-activations)
      if (dt == DType::BF16 && !one_bf16) continue;  // bf16 weights: on the fp32 kernels then
      dpbf16_x_single_set(one_bf16);
      const SingleTokenBits single(w.view, x, kN, pool1);
      for (int64_t T : {2, 3, 4, 5, 6, 7, 9, 16, 17, 33, 64, 65, 150})
        for (int64_t r0 : {0, 5}) {
          ASSERT_TRUE(single.batch_matches(T, r0, T % 2 ? pool3 : pool1)) << dtype_name(dt) << " " << one_bf16;
        }
    }
  }
  dpbf16_x_single_set(false);
}

// bf16 weights that are inf or NaN give the reference's inf / NaN, for every T,
// and leave the other rows alone: on the fp32 kernels, and with x as one bf16 on
// the AVX512-BF16 one.
TEST(Matmul, Bf16NonFiniteWeightsMatchReference) {
  std::mt19937 rng(13);
  ThreadPool pool(2);
  constexpr int64_t N = 37, K = 256;
  for (bool one_bf16 : {false, true})
  for (int64_t T : {1, 3, 4, 8}) {
    dpbf16_x_single_set(one_bf16);
    TestWeight w(DType::BF16, N, K, rng);
    auto put = [&](int64_t r, int64_t k, uint16_t h) { std::memcpy(w.bytes.data() + 2 * (r * K + k), &h, 2); };
    put(5, 77, 0x7F80);      // +inf
    put(13, K - 1, 0xFF80);  // -inf
    put(36, 3, 0x7FC0);      // NaN
    std::vector<float> x = random_vec(T * K, rng), y(size_t(T * N)), y_ref(y.size());
    matmul_xwt_fast(y.data(), N, x.data(), K, T, w.view, {0, N}, pool);
    matmul_xwt_ref(y_ref.data(), N, x.data(), K, T, w.view, {0, N});
    for (size_t i = 0; i < y.size(); ++i) {
      const int64_t row = int64_t(i) % N;
      if (row == 5 || row == 13 || row == 36) {
        EXPECT_FALSE(std::isfinite(y_ref[i])) << i;
        EXPECT_EQ(std::isnan(y[i]), std::isnan(y_ref[i])) << "T=" << T << " " << i;
        if (std::isinf(y_ref[i])) {
          EXPECT_EQ(y[i], y_ref[i]) << "T=" << T << " " << i;
        }
      } else {
        double mag = 0;  // x as one bf16: 2^-9 sum |x w| (two: far less)
        for (int64_t k = 0; k < K; ++k) mag += std::fabs(double(x[size_t(int64_t(i) / N * K + k)]) * w.view.at(row, k));
        EXPECT_NEAR(y[i], y_ref[i], std::ldexp(mag, -9) + 1e-6) << "T=" << T << " " << i;
      }
    }
  }
  dpbf16_x_single_set(false);
}

// e4m3's only NaN (S.1111.111) must come out as NaN from every path, and leave the
// other rows alone. 200 columns take the F16C kernel; 256 (a multiple of 64) the
// AVX512-BF16 one where the CPU has it, whose rows come from 4 parts of the range
// (37 rows: parts of 9, then row 36 alone).
TEST(Matmul, Fp8NanWeightGivesNan) {
  std::mt19937 rng(6);
  ThreadPool pool(2);
  for (int64_t K : {200, 256})
    for (int64_t T : {1, 3, 4, 8}) {
      const int64_t N = 37;
      TestWeight w(DType::F8_E4M3, N, K, rng);
      w.bytes[size_t(5 * K + 77)] = 0x7F;        // row 5
      w.bytes[size_t(13 * K + K - 1)] = 0xFF;    // row 13, last column (F16C: the tail group)
      w.bytes[size_t(36 * K + 3)] = 0x7F;        // row 36, the remainder row
      // out[t, j] (T x n) is NaN exactly where bad(j), else near the reference.
      auto expect_nan_where = [&](const char* what, const std::vector<float>& out, const std::vector<float>& ref,
                                  int64_t n, auto bad) {
        for (int64_t t = 0; t < T; ++t)
          for (int64_t j = 0; j < n; ++j) {
            const float v = out[size_t(t * n + j)], r = ref[size_t(t * n + j)];
            if (bad(j)) EXPECT_TRUE(std::isnan(v)) << what << " K=" << K << " T=" << T << " " << j;
            else EXPECT_NEAR(v, r, 1e-3f * (1 + std::fabs(r))) << what << " K=" << K << " T=" << T << " " << j;
          }
      };
      std::vector<float> x = random_vec(T * K, rng), y(size_t(T * N)), y_ref(y.size());
      matmul_xwt_fast(y.data(), N, x.data(), K, T, w.view, {0, N}, pool);
      matmul_xwt_ref(y_ref.data(), N, x.data(), K, T, w.view, {0, N});
      expect_nan_where("x W^T row", y, y_ref, N, [](int64_t i) { return i == 5 || i == 13 || i == 36; });
      // x W: the NaNs poison columns 77, K - 1 and 3 only.
      std::vector<float> xs = random_vec(T * N, rng), z(size_t(T * K)), z_ref(z.size());
      matmul_xw_fast(z.data(), K, xs.data(), N, T, w.view, {0, N}, pool);
      matmul_xw_ref(z_ref.data(), K, xs.data(), N, T, w.view, {0, N});
      expect_nan_where("x W col", z, z_ref, K, [&](int64_t k) { return k == 77 || k == K - 1 || k == 3; });
    }
}

// Non-finite activations reach the outputs the way the reference computes them
// (the int8 path steps aside for them).
TEST(Matmul, NonFiniteActivationsPropagate) {
  std::mt19937 rng(7);
  ThreadPool pool(1);
  for (DType dt : kAllTypes) {
    TestWeight w(dt, 8, 64, rng);
    for (float bad : {std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN()}) {
      std::vector<float> x = random_vec(2 * 64, rng), y(16), y_ref(16);
      x[64 + 10] = bad;  // token 1
      matmul_xwt_fast(y.data(), 8, x.data(), 64, 2, w.view, {0, 8}, pool);
      matmul_xwt_ref(y_ref.data(), 8, x.data(), 64, 2, w.view, {0, 8});
      for (int i = 0; i < 16; ++i) {
        if (std::isfinite(y_ref[size_t(i)])) EXPECT_NEAR(y[size_t(i)], y_ref[size_t(i)], 0.05f) << dtype_name(dt) << i;
        else EXPECT_EQ(std::isnan(y[size_t(i)]), std::isnan(y_ref[size_t(i)])) << dtype_name(dt) << " " << i;
      }
    }
  }
}

TEST(MatmulDeathTest, BlockFormatsNeedWholeBlocks) {
  ThreadPool pool(1);
  std::vector<uint8_t> bytes(1024);
  float x[40] = {}, y[4];
  for (DType dt : {DType::Q8_0, DType::Q4_0}) {
    const MatrixView w{.data = bytes.data(), .dtype = dt, .rows = 2, .cols = 40};
    EXPECT_DEATH(matmul_xwt_fast(y, 2, x, 40, 1, w, {0, 2}, pool), "multiple of its 32-value blocks");
    EXPECT_DEATH(matmul_xw_ref(y, 40, x, 2, 1, w, {0, 2}), "multiple of its 32-value blocks");
  }
  const MatrixView w{.data = bytes.data(), .dtype = DType::F32, .rows = 2, .cols = 4};
  EXPECT_DEATH(matmul_xwt_fast(y, 2, x, 4, 1, w, {1, 2}, pool), "rows");
}

// The reference itself against values computed by hand: W = [[1, 2], [3, 4]] in
// bf16 (exact), fp8 block scales applied per 1x1 block, and the block formats.
TEST(Matmul, ReferenceOnKnownValues) {
  uint16_t wb[4] = {f32_to_bf16(1), f32_to_bf16(2), f32_to_bf16(3), f32_to_bf16(4)};
  MatrixView w{.data = wb, .dtype = DType::BF16, .rows = 2, .cols = 2};
  float x[2] = {1.0f, -1.0f}, y[2];
  matmul_xwt_ref(y, 2, x, 2, 1, w, {0, 2});
  EXPECT_EQ(y[0], -1.0f);  // 1*1 + 2*-1
  EXPECT_EQ(y[1], -1.0f);  // 3*1 + 4*-1
  matmul_xw_ref(y, 2, x, 2, 1, w, {0, 2});
  EXPECT_EQ(y[0], -2.0f);  // 1*1 + 3*-1
  EXPECT_EQ(y[1], -2.0f);  // 2*1 + 4*-1
  uint8_t q[4] = {f32_to_fp8_e4m3(1), f32_to_fp8_e4m3(2), f32_to_fp8_e4m3(3), f32_to_fp8_e4m3(4)};
  float scales[4] = {0.5f, 2.0f, 4.0f, 8.0f};
  MatrixView wq{.data = q, .dtype = DType::F8_E4M3, .rows = 2, .cols = 2, .scale_inv = scales, .block = 1};
  EXPECT_EQ(wq.at(0, 0), 0.5f);
  EXPECT_EQ(wq.at(0, 1), 4.0f);
  EXPECT_EQ(wq.at(1, 0), 12.0f);
  EXPECT_EQ(wq.at(1, 1), 32.0f);
  // Q8_0: d = 0.5 (fp16 0x3800), q = j - 16; Q4_0: d = -0.25 (0xB400), nibble j % 16.
  uint8_t b8[2 * kQ8_0Bytes] = {}, b4[2 * kQ4_0Bytes] = {};
  for (int r = 0; r < 2; ++r) {
    b8[r * kQ8_0Bytes] = 0x00, b8[r * kQ8_0Bytes + 1] = 0x38;
    b4[r * kQ4_0Bytes] = 0x00, b4[r * kQ4_0Bytes + 1] = 0xB4;
    for (int j = 0; j < 32; ++j) b8[r * kQ8_0Bytes + 2 + j] = uint8_t(int8_t(j - 16 + r));
    for (int j = 0; j < 16; ++j) b4[r * kQ4_0Bytes + 2 + j] = uint8_t(j | (15 - j) << 4);
  }
  const MatrixView w8{.data = b8, .dtype = DType::Q8_0, .rows = 2, .cols = 32};
  const MatrixView w4{.data = b4, .dtype = DType::Q4_0, .rows = 2, .cols = 32};
  EXPECT_EQ(w8.at(0, 0), -8.0f);
  EXPECT_EQ(w8.at(1, 31), 8.0f);
  EXPECT_EQ(w4.at(1, 0), 2.0f);    // (0 - 8) * -0.25
  EXPECT_EQ(w4.at(0, 16), -1.75f); // (15 - 8) * -0.25
  float row[32];
  w4.row_to_f32(1, 3, 20, row);
  for (int j = 0; j < 20; ++j) EXPECT_EQ(row[j], w4.at(1, 3 + j)) << j;
}

}  // namespace
}  // namespace frugal
