// AVX2 / FMA versions of train_rows.h (compiled with -mavx2 -mfma -mf16c by
// cmake/frugal.cmake; called only when rows_fast()). Each loop runs 8 floats at a
// time with a scalar tail computed the same way lane by lane.
#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "train/train_rows.h"

namespace frugal::train::rows {

namespace {

// exp(x) for 8 floats: x = n ln2 + r with n = round(x / ln2), |r| <= ln2 / 2
// (ln2 split in a part exact in float and a correction, so n ln2 costs no
// rounding), e^r by its degree-6 minimax polynomial (Cephes' expf
// coefficients), times 2^n built in the exponent bits. x is clamped to
// [-87.3, 88.7] so 2^n stays a normal float: exp of anything below -87.3 comes
// out as ~1.2e-38 instead of a denormal or 0, harmless where it is used (softmax
// terms next to a 1, sigmoid of a large input). NaN stays NaN.
inline __m256 exp_ps(__m256 x) {
  x = _mm256_min_ps(_mm256_set1_ps(88.7228f), x);  // min(a, NaN) returns NaN (second operand)
  x = _mm256_max_ps(_mm256_set1_ps(-87.3365f), x);
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

inline __m256 sigmoid_ps(__m256 x) {
  const __m256 one = _mm256_set1_ps(1.0f);
  return _mm256_div_ps(one, _mm256_add_ps(one, exp_ps(_mm256_sub_ps(_mm256_setzero_ps(), x))));
}

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// The first `n` (< 8) lanes all set: loads and stores of a row's tail.
inline __m256i tail_mask(int64_t n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(int(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
inline __m256 load_tail(const float* p, __m256i mask) { return _mm256_maskload_ps(p, mask); }
inline void store_tail(float* p, __m256i mask, __m256 v) { _mm256_maskstore_ps(p, mask, v); }

}  // namespace

float sum_squares(const float* x, int64_t n) {
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256 a = _mm256_loadu_ps(x + i), b = _mm256_loadu_ps(x + i + 8);
    s0 = _mm256_fmadd_ps(a, a, s0);
    s1 = _mm256_fmadd_ps(b, b, s1);
  }
  for (; i < n; i += 8) {
    const __m256 a = load_tail(x + i, tail_mask(n - i));  // masked lanes load 0
    s0 = _mm256_fmadd_ps(a, a, s0);
  }
  return hsum(_mm256_add_ps(s0, s1));
}

void scale_mul(float* y, const float* x, float r, const float* w, int64_t n) {
  const __m256 rv = _mm256_set1_ps(r);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), rv), _mm256_loadu_ps(w + i)));
  if (i < n) {
    const __m256i m = tail_mask(n - i);
    store_tail(y + i, m, _mm256_mul_ps(_mm256_mul_ps(load_tail(x + i, m), rv), load_tail(w + i, m)));
  }
}

void rmsnorm_bwd_row(float* dx, float* dw, const float* dy, const float* x, const float* w, float r, int64_t n) {
  const __m256 rv = _mm256_set1_ps(r);
  __m256 dot = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 g = _mm256_loadu_ps(dy + i), xv = _mm256_loadu_ps(x + i);
    dot = _mm256_fmadd_ps(_mm256_mul_ps(g, _mm256_loadu_ps(w + i)), xv, dot);
    _mm256_storeu_ps(dw + i, _mm256_fmadd_ps(_mm256_mul_ps(g, xv), rv, _mm256_loadu_ps(dw + i)));
  }
  if (i < n) {
    const __m256i m = tail_mask(n - i);
    const __m256 g = load_tail(dy + i, m), xv = load_tail(x + i, m);
    dot = _mm256_fmadd_ps(_mm256_mul_ps(g, load_tail(w + i, m)), xv, dot);
    store_tail(dw + i, m, _mm256_fmadd_ps(_mm256_mul_ps(g, xv), rv, load_tail(dw + i, m)));
  }
  const __m256 k = _mm256_set1_ps(hsum(dot) * r * r * r / float(n));
  for (i = 0; i + 8 <= n; i += 8) {
    const __m256 t = _mm256_mul_ps(_mm256_mul_ps(rv, _mm256_loadu_ps(dy + i)), _mm256_loadu_ps(w + i));
    _mm256_storeu_ps(dx + i, _mm256_add_ps(_mm256_loadu_ps(dx + i), _mm256_fnmadd_ps(k, _mm256_loadu_ps(x + i), t)));
  }
  if (i < n) {
    const __m256i m = tail_mask(n - i);
    const __m256 t = _mm256_mul_ps(_mm256_mul_ps(rv, load_tail(dy + i, m)), load_tail(w + i, m));
    store_tail(dx + i, m, _mm256_add_ps(load_tail(dx + i, m), _mm256_fnmadd_ps(k, load_tail(x + i, m), t)));
  }
}

double exp_shift_sum(float* x, int64_t n, float shift, bool store) {
  // fp32 lanes over 1024 values at a time, then double: a 129k vocabulary sums as
  // accurately as with one double accumulator.
  const __m256 sh = _mm256_set1_ps(shift);
  double total = 0;
  for (int64_t i0 = 0; i0 < n; i0 += 1024) {
    const int64_t i1 = std::min(n, i0 + 1024);
    __m256 s = _mm256_setzero_ps();
    int64_t i = i0;
    for (; i + 8 <= i1; i += 8) {
      const __m256 e = exp_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), sh));
      if (store) _mm256_storeu_ps(x + i, e);
      s = _mm256_add_ps(s, e);
    }
    if (i < i1) {
      const __m256i m = tail_mask(i1 - i);
      const __m256 e = _mm256_and_ps(exp_ps(_mm256_sub_ps(load_tail(x + i, m), sh)), _mm256_castsi256_ps(m));
      if (store) store_tail(x + i, m, e);
      s = _mm256_add_ps(s, e);
    }
    total += double(hsum(s));
  }
  return total;
}

void swiglu_fwd(float* a, const float* g, const float* u, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 gv = _mm256_loadu_ps(g + i);
    _mm256_storeu_ps(a + i, _mm256_mul_ps(_mm256_mul_ps(gv, sigmoid_ps(gv)), _mm256_loadu_ps(u + i)));
  }
  if (i < n) {
    const __m256i m = tail_mask(n - i);
    const __m256 gv = load_tail(g + i, m);
    store_tail(a + i, m, _mm256_mul_ps(_mm256_mul_ps(gv, sigmoid_ps(gv)), load_tail(u + i, m)));
  }
}

namespace {
// du = da g sig;  dg = da u sig (1 + g (1 - sig))
inline void swiglu_bwd8(__m256 da, __m256 g, __m256 u, __m256* dg, __m256* du) {
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 sig = sigmoid_ps(g);
  *du = _mm256_mul_ps(_mm256_mul_ps(da, g), sig);
  *dg = _mm256_mul_ps(_mm256_mul_ps(_mm256_mul_ps(da, u), sig), _mm256_fmadd_ps(g, _mm256_sub_ps(one, sig), one));
}
}  // namespace

void swiglu_bwd(float* dg, float* du, const float* da, const float* g, const float* u, int64_t n) {
  int64_t i = 0;
  __m256 a, b;
  for (; i + 8 <= n; i += 8) {
    swiglu_bwd8(_mm256_loadu_ps(da + i), _mm256_loadu_ps(g + i), _mm256_loadu_ps(u + i), &a, &b);
    _mm256_storeu_ps(dg + i, a);
    _mm256_storeu_ps(du + i, b);
  }
  if (i < n) {
    const __m256i m = tail_mask(n - i);
    swiglu_bwd8(load_tail(da + i, m), load_tail(g + i, m), load_tail(u + i, m), &a, &b);
    store_tail(dg + i, m, a);
    store_tail(du + i, m, b);
  }
}

namespace {
inline void adamw8(float* value, const float* grad, float* m, float* v, __m256i mask, bool full,
                   const AdamWConsts& c) {
  auto ld = [&](const float* p) { return full ? _mm256_loadu_ps(p) : load_tail(p, mask); };
  auto st = [&](float* p, __m256 x) { full ? _mm256_storeu_ps(p, x) : store_tail(p, mask, x); };
  const __m256 g = _mm256_mul_ps(ld(grad), _mm256_set1_ps(c.g_scale));
  const __m256 mv = _mm256_add_ps(_mm256_mul_ps(_mm256_set1_ps(c.b1), ld(m)), _mm256_mul_ps(_mm256_set1_ps(1.0f - c.b1), g));
  const __m256 vv = _mm256_add_ps(_mm256_mul_ps(_mm256_set1_ps(c.b2), ld(v)),
                                  _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(1.0f - c.b2), g), g));
  const __m256 denom = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(vv), _mm256_set1_ps(c.bc2_sqrt)), _mm256_set1_ps(c.eps));
  const __m256 upd = _mm256_mul_ps(_mm256_set1_ps(c.step_size), _mm256_div_ps(mv, denom));
  st(m, mv);
  st(v, vv);
  st(value, _mm256_sub_ps(_mm256_mul_ps(ld(value), _mm256_set1_ps(c.decay)), upd));
}
}  // namespace

void adamw_update(float* value, const float* grad, float* m, float* v, int64_t n, const AdamWConsts& c) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) adamw8(value + i, grad + i, m + i, v + i, __m256i{}, true, c);
  if (i < n) adamw8(value + i, grad + i, m + i, v + i, tail_mask(n - i), false, c);
}

}  // namespace frugal::train::rows
