// 16-bit fixed-point logistic and tanh of TensorFlow Lite's integer LSTM
// (the "8x8_16" kernels), and the inverse square root of its integer layer
// normalization. TensorFlow Lite evaluates these with gemmlowp's fixed-point
// templates; the functions here redo the same sequence of integer operations
// (same constants, same rounding, same saturation and wrap-around), so the
// results are bit-identical.
//
// A value with I integer bits is stored in int16 as raw = real * 2^(15 - I)
// (int32: 2^(31 - I)). Products of values with I and J integer bits have
// I + J integer bits (rounding doubling high multiply of the raws).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

#include "cpu_features.h"
#include "kernels/util/quant_math.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define TFC_LSTM_AVX2 1
#define TFC_LSTM_AVX2_FN __attribute__((target("avx2")))
#else
#define TFC_LSTM_AVX2 0
#endif

namespace tfc {
namespace lstm_fp {

// ---- int16 primitives -----------------------------------------------------

inline int16_t Wrap16(int32_t x) {
  return static_cast<int16_t>(static_cast<uint16_t>(static_cast<uint32_t>(x)));
}
inline int16_t Add16(int16_t a, int16_t b) { return Wrap16(int32_t{a} + b); }
inline int16_t Sub16(int16_t a, int16_t b) { return Wrap16(int32_t{a} - b); }
inline int16_t Neg16(int16_t a) { return Wrap16(-int32_t{a}); }
inline int16_t SatAdd16(int16_t a, int16_t b) {
  const int32_t s = int32_t{a} + b;
  return static_cast<int16_t>(s > 32767 ? 32767 : (s < -32768 ? -32768 : s));
}

// a * b / 2^15, rounded to nearest (ties up), saturating the one overflow.
inline int16_t Mul16(int16_t a, int16_t b) {
  if (a == b && a == std::numeric_limits<int16_t>::min()) return std::numeric_limits<int16_t>::max();
  const int32_t ab = int32_t{a} * int32_t{b};
  const int32_t nudge = ab >= 0 ? (1 << 14) : (1 - (1 << 14));
  return Wrap16((ab + nudge) / (1 << 15));
}

// x / 2^e rounded to nearest, ties away from zero (0 <= e <= 15).
inline int16_t DivPot16(int16_t x, int e) {
  if (e <= 0) return x;
  const int32_t mask = (1 << e) - 1;
  const int32_t remainder = int32_t{x} & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return Wrap16((int32_t{x} >> e) + (remainder > threshold ? 1 : 0));
}

// x * 2^e saturating (e > 0) or rounding (e < 0).
inline int16_t MulPot16(int16_t x, int e) {
  if (e < 0) return DivPot16(x, -e);
  if (e == 0) return x;
  const int32_t threshold = (1 << (15 - e)) - 1;
  if (x > threshold) return std::numeric_limits<int16_t>::max();
  if (x < -threshold) return std::numeric_limits<int16_t>::min();
  return Wrap16(static_cast<int32_t>(static_cast<uint32_t>(int32_t{x}) << e));
}

// A 32-bit Q-format constant c (raw for int32) rescaled to int16 raw, as
// gemmlowp initializes its int16 constants: round(c / 2^16).
constexpr int16_t Const16(int32_t c) {
  return static_cast<int16_t>((c >> 16) + (((c & 0xFFFF) > (0x7FFF + (c < 0 ? 1 : 0))) ? 1 : 0));
}

// (a + b) / 2 rounded away from zero.
inline int16_t HalfSum16(int16_t a, int16_t b) {
  const int32_t s = int32_t{a} + b;
  return Wrap16((s + (s >= 0 ? 1 : -1)) / 2);
}

constexpr int16_t kOne0 = 32767;  // 1.0 with 0 integer bits (saturated)

// exp(a) for a in [-1/4, 0), a with 0 integer bits; result 0 integer bits.
inline int16_t ExpQuarter16(int16_t a) {
  const int16_t constant_term = Const16(1895147668);   // exp(-1/8)
  const int16_t one_third = Const16(715827883);        // 1/3
  const int16_t x = Add16(a, int16_t{1 << 12});         // a + 1/8
  const int16_t x2 = Mul16(x, x);
  const int16_t x3 = Mul16(x2, x);
  const int16_t x4 = Mul16(x2, x2);
  const int16_t x4_over_4 = MulPot16(x4, -2);
  const int16_t poly = MulPot16(Add16(Mul16(Add16(x4_over_4, x3), one_third), x2), -1);
  return SatAdd16(constant_term, Mul16(constant_term, Add16(x, poly)));
}

// exp(-2^k) for k = -2 .. 4, as 32-bit Q0.31 constants (ExpNegative16's
// factors for the bits of the input above a quarter).
constexpr int32_t kExpMultipliers[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};

// exp(a) for a <= 0 with `ib` integer bits (0 <= ib <= 7); result 0 integer bits.
inline int16_t ExpNegative16(int16_t a, int ib) {
  const int frac = 15 - ib;
  const int16_t quarter = static_cast<int16_t>(1 << (frac - 2));
  const int16_t mask = static_cast<int16_t>(quarter - 1);
  const int16_t a_mod = Sub16(static_cast<int16_t>(a & mask), quarter);
  int16_t result = ExpQuarter16(MulPot16(a_mod, ib));  // rescaled to 0 integer bits
  const int16_t remainder = Sub16(a_mod, a);
  for (int k = -2; k <= 4; ++k) {
    if (ib > k) {
      const int shift = frac + k;
      if ((int32_t{remainder} & (1 << shift)) != 0)
        result = Mul16(result, Const16(kExpMultipliers[k + 2]));
    }
  }
  if (ib > 5) {
    const int32_t clamp = -(1 << (36 - ib));  // -32 in the input format (int32 constant)
    if (a < Const16(clamp)) result = 0;
  }
  if (a == 0) result = kOne0;
  return result;
}

// Newton-Raphson for 1 / (1 + x), x in [0, 1] with 0 integer bits; returns
// the reciprocal with 2 integer bits.
inline int16_t Reciprocal2_16(int16_t half_denominator) {
  const int16_t c48_17 = Const16(1515870810);    // 48/17, 2 integer bits
  const int16_t cn32_17 = Const16(-1010580540);  // -32/17, 2 integer bits
  const int16_t one2 = int16_t{1 << 13};
  int16_t x = Add16(c48_17, Mul16(half_denominator, cn32_17));
  for (int i = 0; i < 3; ++i) {
    const int16_t hdx = Mul16(half_denominator, x);
    const int16_t one_minus = Sub16(one2, hdx);
    x = Add16(x, MulPot16(Mul16(x, one_minus), 2));
  }
  return x;
}

// logistic(a) for a with `ib` integer bits; result 0 integer bits.
inline int16_t Logistic16(int16_t a, int ib) {
  const int16_t abs_a = a > 0 ? a : Neg16(a);
  const int16_t e = ExpNegative16(Neg16(abs_a), ib);
  const int16_t half_den = HalfSum16(e, kOne0);
  const int16_t r = Reciprocal2_16(half_den);
  // 1/(1+e) = r / 2: same raw with 1 integer bit, rescaled to 0 integer bits.
  const int16_t pos = MulPot16(r, 1);
  if (a == 0) return int16_t{1 << 14};
  return a > 0 ? pos : Sub16(kOne0, pos);
}

// tanh(a) for a with `ib` integer bits (0 <= ib <= 6); result 0 integer bits.
inline int16_t Tanh16(int16_t a, int ib) {
  if (a == 0) return 0;
  const int16_t n = a < 0 ? a : Neg16(a);
  // (1 - e) / (1 + e) with e = exp(2n): 2n is the same raw with ib + 1 bits.
  const int16_t e = ExpNegative16(n, ib + 1);
  const int16_t half_den = HalfSum16(e, kOne0);
  const int16_t r = Reciprocal2_16(half_den);
  const int16_t t = MulPot16(Sub16(r, int16_t{1 << 13}), 2);
  return a < 0 ? Neg16(t) : t;
}

// ---- the same on 16 values at a time (AVX2) -------------------------------
//
// Each scalar step above maps to one lane-wise instruction sequence with the
// same result: Mul16 is vpmulhrsw (round half up, as the nudged division),
// but for -1 * -1, which vpmulhrsw wraps to -32768 and Mul16 saturates;
// MulPot16 by 2^e is e saturating doublings; DivPot16 a shift plus the
// rounding increment; HalfSum16 (only ever of non-negative sums here: e in
// [0, 1]) an unsigned average. Checked against the scalar functions on all
// 65536 inputs for every integer-bit count used.
#if TFC_LSTM_AVX2
namespace avx2 {

using V = __m256i;

TFC_LSTM_AVX2_FN inline V Splat(int16_t x) { return _mm256_set1_epi16(x); }

TFC_LSTM_AVX2_FN inline V Mul(V a, V b) {
  const V r = _mm256_mulhrs_epi16(a, b);
  return _mm256_xor_si256(r, _mm256_cmpeq_epi16(r, Splat(std::numeric_limits<int16_t>::min())));
}

TFC_LSTM_AVX2_FN inline V DivPot(V x, int e) {  // 1 <= e <= 15
  const int16_t mask = static_cast<int16_t>((1 << e) - 1);
  const V remainder = _mm256_and_si256(x, Splat(mask));
  const V threshold = _mm256_sub_epi16(Splat(static_cast<int16_t>(mask >> 1)), _mm256_srai_epi16(x, 15));
  const V up = _mm256_cmpgt_epi16(remainder, threshold);  // -1 where rounding up
  return _mm256_sub_epi16(_mm256_sra_epi16(x, _mm_cvtsi32_si128(e)), up);
}

TFC_LSTM_AVX2_FN inline V MulPot(V x, int e) {
  if (e < 0) return DivPot(x, -e);
  for (int i = 0; i < e; ++i) x = _mm256_adds_epi16(x, x);
  return x;
}

TFC_LSTM_AVX2_FN inline V Select(V mask, V yes, V no) { return _mm256_blendv_epi8(no, yes, mask); }

TFC_LSTM_AVX2_FN inline V ExpQuarter(V a) {
  const V constant_term = Splat(Const16(1895147668));
  const V x = _mm256_add_epi16(a, Splat(int16_t{1 << 12}));
  const V x2 = Mul(x, x);
  const V x3 = Mul(x2, x);
  const V x4 = Mul(x2, x2);
  const V x4_over_4 = DivPot(x4, 2);
  const V poly = DivPot(_mm256_add_epi16(Mul(_mm256_add_epi16(x4_over_4, x3), Splat(Const16(715827883))), x2), 1);
  return _mm256_adds_epi16(constant_term, Mul(constant_term, _mm256_add_epi16(x, poly)));
}

TFC_LSTM_AVX2_FN inline V ExpNegative(V a, int ib) {
  const int frac = 15 - ib;
  const int16_t quarter = static_cast<int16_t>(1 << (frac - 2));
  const V a_mod = _mm256_sub_epi16(_mm256_and_si256(a, Splat(static_cast<int16_t>(quarter - 1))), Splat(quarter));
  V result = ExpQuarter(MulPot(a_mod, ib));
  const V remainder = _mm256_sub_epi16(a_mod, a);
  const V zero = _mm256_setzero_si256();
  for (int k = -2; k <= 4 && k < ib; ++k) {
    const V bit = _mm256_and_si256(remainder, Splat(static_cast<int16_t>(1 << (frac + k))));
    result = Select(_mm256_cmpeq_epi16(bit, zero), result, Mul(result, Splat(Const16(kExpMultipliers[k + 2]))));
  }
  if (ib > 5) result = _mm256_andnot_si256(_mm256_cmpgt_epi16(Splat(Const16(-(1 << (36 - ib)))), a), result);
  return Select(_mm256_cmpeq_epi16(a, zero), Splat(kOne0), result);
}

TFC_LSTM_AVX2_FN inline V Reciprocal2(V half_denominator) {
  V x = _mm256_add_epi16(Splat(Const16(1515870810)), Mul(half_denominator, Splat(Const16(-1010580540))));
  for (int i = 0; i < 3; ++i) {
    const V one_minus = _mm256_sub_epi16(Splat(int16_t{1 << 13}), Mul(half_denominator, x));
    x = _mm256_add_epi16(x, MulPot(Mul(x, one_minus), 2));
  }
  return x;
}

// (e + 1) / 2 rounded up, e in [0, 32767]: HalfSum16(e, kOne0).
TFC_LSTM_AVX2_FN inline V HalfSumOne(V e) { return _mm256_avg_epu16(e, Splat(kOne0)); }

TFC_LSTM_AVX2_FN inline V Logistic(V a, int ib) {
  const V zero = _mm256_setzero_si256();
  const V e = ExpNegative(_mm256_sub_epi16(zero, _mm256_abs_epi16(a)), ib);
  const V pos = MulPot(Reciprocal2(HalfSumOne(e)), 1);
  const V r = Select(_mm256_cmpgt_epi16(a, zero), pos, _mm256_sub_epi16(Splat(kOne0), pos));
  return Select(_mm256_cmpeq_epi16(a, zero), Splat(int16_t{1 << 14}), r);
}

TFC_LSTM_AVX2_FN inline V Tanh(V a, int ib) {
  const V zero = _mm256_setzero_si256();
  const V e = ExpNegative(_mm256_sub_epi16(zero, _mm256_abs_epi16(a)), ib + 1);
  const V t = MulPot(_mm256_sub_epi16(Reciprocal2(HalfSumOne(e)), Splat(int16_t{1 << 13})), 2);
  const V r = Select(_mm256_cmpgt_epi16(zero, a), _mm256_sub_epi16(zero, t), t);
  return _mm256_andnot_si256(_mm256_cmpeq_epi16(a, zero), r);
}

// dst[i] = F(src[i], ib) for the whole blocks of 16; returns how many were done.
template <V (*F)(V, int)>
TFC_LSTM_AVX2_FN inline size_t Map(const int16_t* src, int16_t* dst, size_t n, int ib) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm256_storeu_si256(reinterpret_cast<V*>(dst + i), F(_mm256_loadu_si256(reinterpret_cast<const V*>(src + i)), ib));
  return i;
}

}  // namespace avx2
#endif  // TFC_LSTM_AVX2

// dst[i] = Logistic16(src[i], ib) / Tanh16(src[i], ib) for i < n (dst may be src).
inline void Logistic16Array(const int16_t* src, int16_t* dst, size_t n, int ib) {
  size_t i = 0;
#if TFC_LSTM_AVX2
  if (cpu::HasAvx2Fma()) i = avx2::Map<avx2::Logistic>(src, dst, n, ib);
#endif
  for (; i < n; ++i) dst[i] = Logistic16(src[i], ib);
}

inline void Tanh16Array(const int16_t* src, int16_t* dst, size_t n, int ib) {
  size_t i = 0;
#if TFC_LSTM_AVX2
  if (cpu::HasAvx2Fma()) i = avx2::Map<avx2::Tanh>(src, dst, n, ib);
#endif
  for (; i < n; ++i) dst[i] = Tanh16(src[i], ib);
}

// ---- int32 inverse square root (integer layer norm) -----------------------

inline int32_t Mul32(int32_t a, int32_t b) { return SaturatingRoundingDoublingHighMul(a, b); }
inline int32_t Sub32(int32_t a, int32_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) - static_cast<uint32_t>(b));
}
inline int32_t MulPot32(int32_t x, int e) {
  if (e < 0) return RoundingDivideByPOT(x, -e);
  if (e == 0) return x;
  const int32_t threshold = static_cast<int32_t>((int64_t{1} << (31 - e)) - 1);
  if (x > threshold) return std::numeric_limits<int32_t>::max();
  if (x < -threshold) return std::numeric_limits<int32_t>::min();
  return static_cast<int32_t>(static_cast<uint32_t>(x) << e);
}

// 1 / sqrt(input) as a multiplier and a shift (TensorFlow Lite's
// GetInvSqrtQuantizedMultiplierExp); reverse_shift multiplies the shift.
inline void InvSqrtMultiplier(int32_t input, int reverse_shift, int32_t* multiplier, int* shift) {
  if (input <= 1) {
    *multiplier = std::numeric_limits<int32_t>::max();
    *shift = 0;
    return;
  }
  int s = 11;
  while (input >= (1 << 29)) {
    input /= 4;
    ++s;
  }
  int clz = 0;
  for (uint32_t v = static_cast<uint32_t>(input); (v & 0x80000000u) == 0; v <<= 1) ++clz;
  const int pairs = (clz - 1) / 2 - 1;
  s -= pairs;
  input = static_cast<int32_t>(static_cast<uint32_t>(input) << (2 * pairs));
  // 3 integer bits.
  const int32_t x_in = input >> 1;
  const int32_t half_in = MulPot32(x_in, -1);
  const int32_t half_three = (1 << 28) + (1 << 27);
  int32_t x = 1 << 28;  // 1.0
  for (int i = 0; i < 5; ++i) {
    const int32_t x3 = MulPot32(Mul32(Mul32(x, x), x), 6);
    x = MulPot32(Sub32(Mul32(half_three, x), Mul32(half_in, x3)), 3);
  }
  x = Mul32(x, 1518500250);  // sqrt(2) / 2
  if (s < 0) {
    x = static_cast<int32_t>(static_cast<uint32_t>(x) << (-s));
    s = 0;
  }
  *multiplier = x;
  *shift = s * reverse_shift;
}

// ---- float sigmoid / tanh of the float and hybrid LSTM --------------------
//
// The official runtime applies them through Eigen's array functions, built
// for x86-64 with 4-float (SSE) packets and no FMA: a vectorized body
// bracketed by scalar elements, the body starting at the first element whose
// address is 16-byte aligned. The packet and scalar formulas of tanh agree;
// those of the logistic differ. Each multiply-add below is a multiply then an
// add, rounded separately (one statement each, so no contraction).

// tanh: a [9/8] odd/even rational function of the clamped input.
inline float TanhRational(float a) {
  const float c = 7.90738964080810547f;
  const float x = std::max(std::min(a, c), -c);
  const float x2 = x * x;
  const float x3 = x2 * x;
  static const float kNum[4] = {1.394553628e-8f, 2.102733560e-5f, 3.520756727e-3f, 1.340216100e-1f};
  static const float kDen[5] = {8.015776984e-7f, 3.326951409e-4f, 2.597254514e-2f, 4.673548340e-1f,
                                1.0f};
  float p = kNum[0];
  for (int i = 1; i < 4; ++i) {
    const float t = p * x2;
    p = t + kNum[i];
  }
  float q = kDen[0];
  for (int i = 1; i < 5; ++i) {
    const float t = q * x2;
    q = t + kDen[i];
  }
  const float px3 = x3 * p;
  const float num = px3 + x;
  return num / q;
}

// logistic, packet path: exp(x) from exp(x / 2) (a degree-5 polynomial after
// Cody-Waite reduction), squared, then e / (1 + e).
inline float LogisticPacket(float in) {
  if (in < -104.f) return 0.f;
  float x = std::min(in, 16.6355324f);
  x = x * 0.5f;
  const float t0 = x * 1.44269504088896341f;
  const float m = std::floor(t0 + 0.5f);
  const float mc1 = m * -0.693359375f;
  float r = mc1 + x;
  const float mc2 = m * 2.12194440e-4f;
  r = mc2 + r;
  const float r2 = r * r;
  const float e4 = r2 * 4.1898667812347412109375e-2f;
  const float p_even = e4 + 0.49999141693115234375f;
  const float o5 = r2 * 8.33471305668354034423828125e-3f;
  const float p_odd = o5 + 0.16666877269744873046875f;
  const float p_low = r + 1.0f;
  const float rp = r * p_odd;
  float p = rp + p_even;
  const float r2p = r2 * p;
  p = r2p + p_low;
  float e = std::ldexp(p, static_cast<int>(m));
  e = e * e;
  return e / (1.0f + e);
}

// logistic, scalar path.
inline float LogisticScalar(float x) {
  const float e = std::exp(std::min(x, 16.6355324f));
  return e / (1.0f + e);
}

// In-place logistic of v[0, n) where v[0] would sit `offset` floats after a
// 16-byte aligned address in the official runtime's buffers.
inline void LogisticVector(float* v, size_t n, size_t offset) {
  size_t head = (4 - offset % 4) % 4;
  if (head > n) head = n;
  const size_t body_end = head + (n - head) / 4 * 4;
  for (size_t i = 0; i < head; ++i) v[i] = LogisticScalar(v[i]);
  for (size_t i = head; i < body_end; ++i) v[i] = LogisticPacket(v[i]);
  for (size_t i = body_end; i < n; ++i) v[i] = LogisticScalar(v[i]);
}

inline void TanhVector(const float* src, float* dst, size_t n) {
  for (size_t i = 0; i < n; ++i) dst[i] = TanhRational(src[i]);
}

}  // namespace lstm_fp
}  // namespace tfc
