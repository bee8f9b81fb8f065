// Exact rational numbers for the task verifiers: Countdown answers like
// (7 / 3 + 1) * 6 must be judged exactly, never with floating-point rounding.
// Values stay small in these tasks; any overflow of int64 is reported, not wrapped.
#pragma once

#include <cstdint>
#include <numeric>
#include <optional>

namespace frugal {

struct Rational {
  int64_t num = 0, den = 1;  // den > 0, gcd(|num|, den) == 1

  static std::optional<Rational> make(__int128 n, __int128 d) {
    if (d == 0) return std::nullopt;
    if (d < 0) n = -n, d = -d;
    __int128 a = n < 0 ? -n : n, b = d;
    while (b != 0) {
      __int128 t = a % b;
      a = b, b = t;
    }
    if (a > 1) n /= a, d /= a;
    if (n > INT64_MAX || n < -INT64_MAX || d > INT64_MAX) return std::nullopt;
    return Rational{int64_t(n), int64_t(d)};
  }
  static Rational integer(int64_t v) { return Rational{v, 1}; }

  bool is_integer() const { return den == 1; }
  bool operator==(const Rational&) const = default;
};

// Each returns nullopt on division by zero or overflow.
inline std::optional<Rational> rational_add(Rational a, Rational b) {
  return Rational::make(__int128(a.num) * b.den + __int128(b.num) * a.den, __int128(a.den) * b.den);
}
inline std::optional<Rational> rational_sub(Rational a, Rational b) {
  return Rational::make(__int128(a.num) * b.den - __int128(b.num) * a.den, __int128(a.den) * b.den);
}
inline std::optional<Rational> rational_mul(Rational a, Rational b) {
  return Rational::make(__int128(a.num) * b.num, __int128(a.den) * b.den);
}
inline std::optional<Rational> rational_div(Rational a, Rational b) {
  return Rational::make(__int128(a.num) * b.den, __int128(a.den) * b.num);
}

}  // namespace frugal
