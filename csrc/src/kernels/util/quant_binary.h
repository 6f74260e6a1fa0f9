// Quantized binary arithmetic (ADD SUB MUL SQUARED_DIFFERENCE DIV) on
// per-tensor int8/uint8/int16 values, with the integer arithmetic of TensorFlow
// Lite's builtin kernels.
//
// ADD/SUB (8-bit, and 16-bit with general scales): both inputs are brought to
// a common scale 2 * max(s1, s2) with 20 (8-bit) or 15 (16-bit) bits of
// headroom, added, and the sum is scaled to the output:
//   x1 = (q1 - z1) << left, x1 = x1 * M1 (M1 = s1 / (2 max), < 1), same for x2,
//   q = (x1 +- x2) * Mo + zo, Mo = 2 max / (2^left so), clamped.
// The official optimized 8-bit kernel, on same-shape inputs, runs blocks of 16
// elements through SIMD code that folds the input exponent into the left
// shift ((q - z) << (left + e1), then the rounding doubling high multiply);
// the remaining elements, and broadcasts, use the reference rounding (high
// multiply, then rounding right shift). Both are reproduced here.
// int16 ADD/SUB with zero points 0, power-of-two scales and the
// pot_scale_int16 option: one input is rounding-shifted to the output scale,
// the sum saturates.
// MUL: q = (q1 - z1) (q2 - z2) * (s1 s2 / so) + zo.
// SQUARED_DIFFERENCE (int8): inputs at 7 bits of headroom as ADD does, the
// difference squared, scaled by (2 max)^2 / (2^14 so).
// DIV (int8/uint8): the quotient from a fixed-point reciprocal of the divisor
// (Newton-Raphson, gemmlowp's one_over_one_plus_x), scaled by s1 / (s2 so).
//
// 8-bit ADD in one step (Params::one_step), the arithmetic of the XNNPACK
// delegate that the official runtime applies by default: with r1 = s1 / so and
// r2 = s2 / so in float32 and e the binary exponent of max(r1, r2), shift =
// 20 - e, Mi = round_to_even(ri * 2^shift) (21 bits), and
//   q = ((bias + q1 M1 + q2 M2) >> shift) + zo, clamped,
// bias = 2^(shift - 1) - M1 z1 - M2 z2 (so the shift rounds half up). The
// delegate takes the op only for r1, r2 in [2^-10, 2^8); other scales keep
// the builtin arithmetic.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define TFC_QBIN_X86 1
#else
#define TFC_QBIN_X86 0
#endif

#include "cpu_features.h"
#include "kernels/util/quant_math.h"
#include "tensor.h"

namespace tfc {
namespace qbin {

enum class Kind { kAdd, kSub, kMul, kSqDiff, kDiv };

struct Params {
  Kind kind = Kind::kAdd;
  TfLiteType type = kTfLiteInt8;
  int32_t zp1 = 0, zp2 = 0, out_zp = 0;
  int left_shift = 0;
  int32_t m1 = 0, m2 = 0, mo = 0;
  int e1 = 0, e2 = 0, eo = 0;
  bool pot16 = false;  // int16 power-of-two ADD/SUB
  int pot_shift1 = 0, pot_shift2 = 0;
  int32_t act_min = 0, act_max = 0;
  // 8-bit ADD in one step (see the top): multipliers, bias and shift.
  bool one_step = false;
  int32_t step_m1 = 0, step_m2 = 0, step_bias = 0;
  int step_shift = 0;
};

// Switches an 8-bit ADD's p (after Init) to the one-step arithmetic when the
// scales allow it; false (p unchanged) when they do not.
inline bool InitOneStep(float s1, float s2, float so, Params* p) {
  const float r1 = s1 / so, r2 = s2 / so;
  const float lo = std::ldexp(1.0f, -10), hi = std::ldexp(1.0f, 8);
  if (!(r1 >= lo && r1 < hi && r2 >= lo && r2 < hi)) return false;
  int e = 0;
  std::frexp(std::max(r1, r2), &e);  // max = f * 2^e, f in [0.5, 1): binary exponent e - 1
  const int shift = 20 - (e - 1);
  p->step_m1 = static_cast<int32_t>(std::nearbyint(std::ldexp(r1, shift)));
  p->step_m2 = static_cast<int32_t>(std::nearbyint(std::ldexp(r2, shift)));
  p->step_shift = shift;
  const int64_t bias = (int64_t{1} << (shift - 1)) - int64_t{p->step_m1} * p->zp1 - int64_t{p->step_m2} * p->zp2;
  p->step_bias = static_cast<int32_t>(static_cast<uint32_t>(bias));  // kept modulo 2^32, as the sums are
  p->one_step = true;
  return true;
}

// log2(x) when x is a power of two (within float rounding), as TFLite's
// CheckedLog2 decides it.
inline bool CheckedLog2(float x, int* log2_result) {
  const float x_log2 = std::log(x) * (1.0f / std::log(2.0f));
  const float x_log2_rounded = std::round(x_log2);
  const float x_log2_fracpart = x_log2 - x_log2_rounded;
  *log2_result = static_cast<int>(x_log2_rounded);
  return std::abs(x_log2_fracpart) < 1e-3f;
}

// Fills p (act_min/act_max must be set by the caller); returns an error
// message for an unsupported parameter combination, nullptr when fine.
inline const char* Init(Kind kind, TfLiteType type, float s1, int32_t z1, float s2, int32_t z2,
                        float so, int32_t zo, bool pot_option, Params* p) {
  p->kind = kind;
  p->type = type;
  p->one_step = false;
  p->zp1 = z1;
  p->zp2 = z2;
  p->out_zp = zo;
  const bool is16 = type == kTfLiteInt16;
  if (kind == Kind::kAdd || kind == Kind::kSub) {
    bool general = !is16;
    if (is16) {
      general = !pot_option;
      if (!general) {
        if (z1 != 0 || z2 != 0 || zo != 0) return "int16 ADD/SUB needs zero points 0";
        int l1, l2, lo;
        const bool pot = CheckedLog2(s1, &l1) && CheckedLog2(s2, &l2) && CheckedLog2(so, &lo);
        general = !pot;
        if (pot) {
          p->pot16 = true;
          p->pot_shift1 = l1 - lo;
          p->pot_shift2 = l2 - lo;
          if (!(p->pot_shift1 == 0 || p->pot_shift2 == 0) || p->pot_shift1 > 0 ||
              p->pot_shift2 > 0)
            return "int16 ADD/SUB with power-of-two scales: one input must have the output "
                   "scale and the other a smaller one";
          return nullptr;
        }
      }
    }
    (void)general;
    p->left_shift = is16 ? 15 : 20;
    const double twice_max = 2.0 * static_cast<double>(std::max(s1, s2));
    QuantizeMultiplier(static_cast<double>(s1) / twice_max, &p->m1, &p->e1);
    QuantizeMultiplier(static_cast<double>(s2) / twice_max, &p->m2, &p->e2);
    const float scaled_out = static_cast<float>(1 << p->left_shift) * so;
    QuantizeMultiplier(twice_max / static_cast<double>(scaled_out), &p->mo, &p->eo);
    return nullptr;
  }
  if (kind == Kind::kMul) {
    if (is16 && (z1 != 0 || z2 != 0 || zo != 0)) return "int16 MUL needs zero points 0";
    // (in float, as TFLite evaluates scale1 * scale2 / scale_out)
    const float real = s1 * s2 / so;
    QuantizeMultiplier(static_cast<double>(real), &p->mo, &p->eo);
    return nullptr;
  }
  if (kind == Kind::kSqDiff) {
    p->left_shift = 7;
    const double twice_max = 2.0 * static_cast<double>(std::max(s1, s2));
    QuantizeMultiplier(static_cast<double>(s1) / twice_max, &p->m1, &p->e1);
    QuantizeMultiplier(static_cast<double>(s2) / twice_max, &p->m2, &p->e2);
    const double real_out =
        (twice_max * twice_max) / (static_cast<double>(1 << (2 * p->left_shift)) * so);
    QuantizeMultiplier(real_out, &p->mo, &p->eo);
    return nullptr;
  }
  // kDiv
  const float real = s1 / (s2 * so);  // in float, as TFLite evaluates it
  QuantizeMultiplier(static_cast<double>(real), &p->mo, &p->eo);
  return nullptr;
}

// ---- fixed-point pieces ----

// x * 2^s with s >= 0 saturating, or an arithmetic (truncating) right shift
// for s < 0: the SIMD shift (vshlq) of the official kernel.
inline int32_t ShiftTrunc(int32_t x, int s) {
  if (s >= 0) return WrappingShiftLeft(x, s > 31 ? 31 : s);
  return x >> (s < -31 ? 31 : -s);
}

// (x * m) rounded as the reference kernels' MultiplyByQuantizedMultiplierSmallerThanOneExp:
// high multiply, then rounding right shift (a left shift for e > 0).
inline int32_t MulSmallExp(int32_t x, int32_t m, int e) {
  const int32_t h = SaturatingRoundingDoublingHighMul(x, m);
  if (e > 0) return WrappingShiftLeft(h, e > 31 ? 31 : e);
  return RoundingDivideByPOT(h, -e < 31 ? -e : 31);
}

inline int32_t SaturatingShiftLeft(int32_t x, int s) {
  const int32_t hi = std::numeric_limits<int32_t>::max() >> s;
  const int32_t lo = std::numeric_limits<int32_t>::min() >> s;
  if (x > hi) return std::numeric_limits<int32_t>::max();
  if (x < lo) return std::numeric_limits<int32_t>::min();
  return WrappingShiftLeft(x, s);
}

inline int CountLeadingZeros32(uint32_t x) { return x == 0 ? 32 : __builtin_clz(x); }

// Redundant leading sign bits of x (31 for 0), as TFLite's
// CountLeadingSignBits evaluates with GCC's __builtin_clrsb.
inline int CountLeadingSignBits(int32_t x) {
  const uint32_t u = static_cast<uint32_t>(x);
  const uint32_t v = x < 0 ? ~u : u;  // leading sign bits become leading zeros
  return CountLeadingZeros32(v) - 1;
}

// 1 / (1 + a) for a in [0, 1) as Q0.31 (gemmlowp's Newton-Raphson with three
// iterations in Q2.29).
inline int32_t OneOverOnePlusX(int32_t a) {
  const int64_t sum = int64_t{a} + int64_t{std::numeric_limits<int32_t>::max()};
  const int32_t half_den = static_cast<int32_t>((sum + (sum >= 0 ? 1 : -1)) / 2);
  const int32_t c48_17 = 1515870810, cn32_17 = -1010580540;
  int32_t x = static_cast<int32_t>(static_cast<uint32_t>(c48_17) +
                                   static_cast<uint32_t>(SaturatingRoundingDoublingHighMul(half_den, cn32_17)));
  const int32_t one_q2 = 1 << 29;
  for (int i = 0; i < 3; ++i) {
    const int32_t hd_x = SaturatingRoundingDoublingHighMul(half_den, x);
    const int32_t one_minus = static_cast<int32_t>(static_cast<uint32_t>(one_q2) - static_cast<uint32_t>(hd_x));
    const int32_t prod = SaturatingShiftLeft(SaturatingRoundingDoublingHighMul(x, one_minus), 2);
    x = static_cast<int32_t>(static_cast<uint32_t>(x) + static_cast<uint32_t>(prod));
  }
  return SaturatingShiftLeft(x, 1);
}

// Reciprocal of x > 0 as a Q0.31 mantissa; *bits_over_unit the exponent.
inline int32_t Reciprocal(int32_t x, int integer_digits, int* bits_over_unit) {
  const int headroom_plus_one = CountLeadingZeros32(static_cast<uint32_t>(x));
  *bits_over_unit = integer_digits - headroom_plus_one;
  const int32_t shifted_minus_one = static_cast<int32_t>(
      (static_cast<uint32_t>(x) << headroom_plus_one) - (uint32_t{1} << 31));
  return OneOverOnePlusX(shifted_minus_one);
}

// RoundingDivideByPOT for any exponent, computed the way the official x86
// build evaluates gemmlowp's formula when the exponent leaves [0, 31] (as
// DIV's total shift can): the mask is the low 32 bits of 2^(e mod 64) - 1 and
// the arithmetic shift counts modulo 32. For 0 <= e <= 31 this is the usual
// rounding right shift.
inline int32_t RoundingDivideByPOTAsX86(int32_t x, int e) {
  const unsigned e64 = static_cast<unsigned>(e) & 63u;
  const int32_t mask = static_cast<int32_t>(static_cast<uint32_t>((uint64_t{1} << e64) - 1u));
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> (static_cast<unsigned>(e) & 31u)) + (remainder > threshold ? 1 : 0);
}

// ---- one element ----

// DIV of the offset values a / b (b != 0) before the output clamp: a negative
// divisor flips both signs (the reciprocal is of |b|).
inline int32_t DivValue(const Params& p, int32_t a, int32_t b) {
  const int32_t num = b < 0 ? -a : a, den = b < 0 ? -b : b;
  int recip_shift = 0;
  const int32_t inv = Reciprocal(den, 31, &recip_shift);
  const int headroom = CountLeadingSignBits(num);
  const int32_t unscaled = SaturatingRoundingDoublingHighMul(WrappingShiftLeft(num, headroom), inv);
  const int total_shift = p.eo - recip_shift - headroom;
  return RoundingDivideByPOTAsX86(SaturatingRoundingDoublingHighMul(unscaled, p.mo), -total_shift) +
         p.out_zp;
}

// Reference-rounded result before the output clamp.
inline int32_t RefValue(const Params& p, int32_t q1, int32_t q2) {
  const int32_t a = q1 - p.zp1, b = q2 - p.zp2;
  switch (p.kind) {
    case Kind::kAdd:
    case Kind::kSub: {
      if (p.pot16) {
        const int32_t x = p.pot_shift1 == 0 ? a : RoundingDivideByPOT(a, -p.pot_shift1);
        const int32_t y = p.pot_shift2 == 0 ? b : RoundingDivideByPOT(b, -p.pot_shift2);
        const int32_t r = p.kind == Kind::kAdd ? x + y : x - y;
        return std::min(32767, std::max(-32768, r));
      }
      const int32_t x = MulSmallExp(WrappingShiftLeft(a, p.left_shift), p.m1, p.e1);
      const int32_t y = MulSmallExp(WrappingShiftLeft(b, p.left_shift), p.m2, p.e2);
      const int32_t s = static_cast<int32_t>(p.kind == Kind::kAdd
                                                 ? static_cast<uint32_t>(x) + static_cast<uint32_t>(y)
                                                 : static_cast<uint32_t>(x) - static_cast<uint32_t>(y));
      return WrapToInt32(int64_t{MulSmallExp(s, p.mo, p.eo)} + p.out_zp);
    }
    case Kind::kMul:
      return WrapToInt32(int64_t{MultiplyByQuantizedMultiplier(a * b, p.mo, p.eo)} + p.out_zp);
    case Kind::kSqDiff: {
      const int32_t x = MulSmallExp(WrappingShiftLeft(a, p.left_shift), p.m1, p.e1);
      const int32_t y = MulSmallExp(WrappingShiftLeft(b, p.left_shift), p.m2, p.e2);
      const int32_t d = WrapToInt32(int64_t{x} - y);
      const int32_t sq = static_cast<int32_t>(static_cast<uint32_t>(d) * static_cast<uint32_t>(d));
      return WrapToInt32(int64_t{MultiplyByQuantizedMultiplier(sq, p.mo, p.eo)} + p.out_zp);
    }
    case Kind::kDiv:
      return DivValue(p, a, b);
  }
  return 0;
}

template <class T>
inline T Clamp(const Params& p, int32_t v) {
  return static_cast<T>(std::min(p.act_max, std::max(p.act_min, v)));
}

// The SIMD blocks of the optimized 8-bit ADD (see the top). `after`: the
// input exponent is applied by a truncating shift after the multiply (uint8,
// and the scalar-broadcast loop) instead of being folded into the left shift.
template <class T>
inline T AddSimd(const Params& p, int32_t q1, int32_t q2, bool after = std::is_same<T, uint8_t>::value) {
  const int32_t a = q1 - p.zp1, b = q2 - p.zp2;
  int32_t x, y;
  if (after) {
    // the uint8 kernel shifts after the multiply
    x = ShiftTrunc(SaturatingRoundingDoublingHighMul(WrappingShiftLeft(a, p.left_shift), p.m1), p.e1);
    y = ShiftTrunc(SaturatingRoundingDoublingHighMul(WrappingShiftLeft(b, p.left_shift), p.m2), p.e2);
  } else {
    x = SaturatingRoundingDoublingHighMul(ShiftTrunc(a, p.left_shift + p.e1), p.m1);
    y = SaturatingRoundingDoublingHighMul(ShiftTrunc(b, p.left_shift + p.e2), p.m2);
  }
  const int32_t s = static_cast<int32_t>(p.kind == Kind::kAdd
                                             ? static_cast<uint32_t>(x) + static_cast<uint32_t>(y)
                                             : static_cast<uint32_t>(x) - static_cast<uint32_t>(y));
  int32_t r = MulSmallExp(s, p.mo, p.eo);
  // narrowed to int16 (wrapping), offset added in int16, saturated to 8 bits
  r = static_cast<int16_t>(static_cast<uint16_t>(static_cast<uint32_t>(r)));
  r = static_cast<int16_t>(static_cast<uint16_t>(static_cast<uint32_t>(r + p.out_zp)));
  const int32_t tmin = std::numeric_limits<T>::min(), tmax = std::numeric_limits<T>::max();
  r = std::min(tmax, std::max(tmin, r));
  return Clamp<T>(p, r);
}

// One-step ADD of q1 and q2 before the output clamp.
inline int32_t OneStepValue(const Params& p, int32_t q1, int32_t q2) {
  const uint32_t acc = static_cast<uint32_t>(p.step_bias) + static_cast<uint32_t>(q1 * p.step_m1) +
                       static_cast<uint32_t>(q2 * p.step_m2);  // wraps as int32 does in SIMD
  return (static_cast<int32_t>(acc) >> p.step_shift) + p.out_zp;
}

#if TFC_QBIN_X86
// AVX2 forms of the arithmetic above, 8 lanes of int32 (the same results;
// the doubling high multiply is quant_math.h's HighMulAvx2).
// ShiftTrunc with a uniform s.
__attribute__((target("avx2"))) inline __m256i ShiftTruncAvx2(__m256i x, int s) {
  if (s >= 0) return _mm256_sll_epi32(x, _mm_cvtsi32_si128(s > 31 ? 31 : s));
  return _mm256_sra_epi32(x, _mm_cvtsi32_si128(s < -31 ? 31 : -s));
}

// MulSmallExp with a uniform exponent.
__attribute__((target("avx2"))) inline __m256i MulSmallExpAvx2(__m256i x, __m256i m, int e) {
  const __m256i h = HighMulAvx2(x, m);
  if (e > 0) return _mm256_sll_epi32(h, _mm_cvtsi32_si128(e > 31 ? 31 : e));
  const int r = -e < 31 ? -e : 31;
  if (r == 0) return h;
  const __m256i mask = _mm256_set1_epi32(static_cast<int32_t>((uint32_t{1} << r) - 1u));
  const __m256i rem = _mm256_and_si256(h, mask);
  // threshold = mask >> 1, plus 1 where h < 0 (cmpgt gives -1 there)
  const __m256i thr = _mm256_sub_epi32(_mm256_srli_epi32(mask, 1),
                                       _mm256_cmpgt_epi32(_mm256_setzero_si256(), h));
  const __m256i up = _mm256_cmpgt_epi32(rem, thr);  // -1 where rounding up
  return _mm256_sub_epi32(_mm256_sra_epi32(h, _mm_cvtsi32_si128(r)), up);
}

// 8 bytes widened to int32.
template <class T>
__attribute__((target("avx2"))) inline __m256i Load8Avx2(const T* q) {
  const __m128i v = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(q));
  return std::is_same<T, uint8_t>::value ? _mm256_cvtepu8_epi32(v) : _mm256_cvtepi8_epi32(v);
}

// The low 16 bits of each lane, sign-extended (int16 wraparound).
__attribute__((target("avx2"))) inline __m256i Wrap16Avx2(__m256i v) {
  return _mm256_srai_epi32(_mm256_slli_epi32(v, 16), 16);
}

// RefValue on 8 lanes (q1, q2 widened to int32) for ADD / SUB (not the int16
// power-of-two form) and MUL; RefLanes says which.
inline bool RefLanes(const Params& p) {
  return p.kind == Kind::kMul || ((p.kind == Kind::kAdd || p.kind == Kind::kSub) && !p.pot16);
}

__attribute__((target("avx2"))) inline __m256i RefValueAvx2(const Params& p, __m256i q1, __m256i q2) {
  const __m256i a = _mm256_sub_epi32(q1, _mm256_set1_epi32(p.zp1));
  const __m256i b = _mm256_sub_epi32(q2, _mm256_set1_epi32(p.zp2));
  __m256i r;
  if (p.kind == Kind::kMul) {  // MultiplyByQuantizedMultiplier(a * b, mo, eo)
    const __m256i ab = _mm256_mullo_epi32(a, b);
    r = p.eo > 0 ? HighMulAvx2(ShiftTruncAvx2(ab, p.eo), _mm256_set1_epi32(p.mo))
                 : MulSmallExpAvx2(ab, _mm256_set1_epi32(p.mo), p.eo);
  } else {
    const __m256i x = MulSmallExpAvx2(ShiftTruncAvx2(a, p.left_shift), _mm256_set1_epi32(p.m1), p.e1);
    const __m256i y = MulSmallExpAvx2(ShiftTruncAvx2(b, p.left_shift), _mm256_set1_epi32(p.m2), p.e2);
    const __m256i s = p.kind == Kind::kAdd ? _mm256_add_epi32(x, y) : _mm256_sub_epi32(x, y);
    r = MulSmallExpAvx2(s, _mm256_set1_epi32(p.mo), p.eo);
  }
  r = _mm256_add_epi32(r, _mm256_set1_epi32(p.out_zp));
  return _mm256_min_epi32(_mm256_max_epi32(r, _mm256_set1_epi32(p.act_min)),
                          _mm256_set1_epi32(p.act_max));
}

// Clamp(RefValue) for out[i], i in [0, n8) (a multiple of 8), a and b read
// with strides sa, sb of 0 (one value repeated) or 1.
template <class T>
__attribute__((target("avx2"))) inline void RefBlocksAvx2(const Params& p, const T* a, int64_t sa,
                                                          const T* b, int64_t sb, T* out, int64_t n8) {
  const __m256i a0 = _mm256_set1_epi32(a[0]), b0 = _mm256_set1_epi32(b[0]);
  for (int64_t i = 0; i < n8; i += 8) {
    const __m256i r = RefValueAvx2(p, sa ? Load8Avx2(a + i) : a0, sb ? Load8Avx2(b + i) : b0);
    const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(r), _mm256_extracti128_si256(r, 1));
    const __m128i q = std::is_same<T, uint8_t>::value ? _mm_packus_epi16(w, w) : _mm_packs_epi16(w, w);
    _mm_storel_epi64(reinterpret_cast<__m128i*>(out + i), q);
  }
}

// AddSimd on 8 elements at a time for i in [0, n8), n8 a multiple of 8.
template <class T>
__attribute__((target("avx2"))) inline void AddBlocksAvx2(const Params& p, const T* a, const T* b,
                                                          T* out, int64_t n8, bool after) {
  const __m256i zp1 = _mm256_set1_epi32(p.zp1), zp2 = _mm256_set1_epi32(p.zp2);
  const __m256i m1 = _mm256_set1_epi32(p.m1), m2 = _mm256_set1_epi32(p.m2);
  const __m256i mo = _mm256_set1_epi32(p.mo), ozp = _mm256_set1_epi32(p.out_zp);
  const int32_t tmin = std::numeric_limits<T>::min(), tmax = std::numeric_limits<T>::max();
  const __m256i tlo = _mm256_set1_epi32(tmin), thi = _mm256_set1_epi32(tmax);
  const __m256i lo = _mm256_set1_epi32(p.act_min), hi = _mm256_set1_epi32(p.act_max);
  for (int64_t i = 0; i < n8; i += 8) {
    const __m256i x0 = _mm256_sub_epi32(Load8Avx2(a + i), zp1);
    const __m256i y0 = _mm256_sub_epi32(Load8Avx2(b + i), zp2);
    __m256i x, y;
    if (after) {
      x = ShiftTruncAvx2(HighMulAvx2(ShiftTruncAvx2(x0, p.left_shift), m1), p.e1);
      y = ShiftTruncAvx2(HighMulAvx2(ShiftTruncAvx2(y0, p.left_shift), m2), p.e2);
    } else {
      x = HighMulAvx2(ShiftTruncAvx2(x0, p.left_shift + p.e1), m1);
      y = HighMulAvx2(ShiftTruncAvx2(y0, p.left_shift + p.e2), m2);
    }
    __m256i r = MulSmallExpAvx2(_mm256_add_epi32(x, y), mo, p.eo);
    r = Wrap16Avx2(_mm256_add_epi32(Wrap16Avx2(r), ozp));
    r = _mm256_min_epi32(_mm256_max_epi32(r, tlo), thi);
    r = _mm256_min_epi32(_mm256_max_epi32(r, lo), hi);
    const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(r), _mm256_extracti128_si256(r, 1));
    const __m128i q = std::is_same<T, uint8_t>::value ? _mm_packus_epi16(w, w) : _mm_packs_epi16(w, w);
    _mm_storel_epi64(reinterpret_cast<__m128i*>(out + i), q);
  }
}
#endif

#if TFC_QBIN_X86
// 16 bytes widened to int32.
template <class T>
__attribute__((target("avx512f"))) inline __m512i Load16Avx512(const T* q) {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q));
  return std::is_same<T, uint8_t>::value ? _mm512_cvtepu8_epi32(v) : _mm512_cvtepi8_epi32(v);
}

// One-step ADD of 16 elements at a time (a, b advance by sa, sb of 0 or 1).
template <class T>
__attribute__((target("avx512f"))) inline void OneStepBlocksAvx512(const Params& p, const T* a, int64_t sa,
                                                                  const T* b, int64_t sb, T* out, int64_t n16) {
  const __m512i m1 = _mm512_set1_epi32(p.step_m1), m2 = _mm512_set1_epi32(p.step_m2);
  const __m512i bias = _mm512_set1_epi32(p.step_bias), zp = _mm512_set1_epi32(p.out_zp);
  const __m512i lo = _mm512_set1_epi32(p.act_min), hi = _mm512_set1_epi32(p.act_max);
  const __m128i shift = _mm_cvtsi32_si128(p.step_shift);
  const __m512i a0 = _mm512_set1_epi32(a[0]), b0 = _mm512_set1_epi32(b[0]);
  for (int64_t i = 0; i < n16; i += 16) {
    const __m512i x = sa ? Load16Avx512(a + i) : a0, y = sb ? Load16Avx512(b + i) : b0;
    __m512i acc = _mm512_add_epi32(bias, _mm512_mullo_epi32(x, m1));
    acc = _mm512_add_epi32(acc, _mm512_mullo_epi32(y, m2));
    __m512i q = _mm512_add_epi32(_mm512_sra_epi32(acc, shift), zp);
    q = _mm512_min_epi32(_mm512_max_epi32(q, lo), hi);  // within T's range: narrowing keeps it
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), _mm512_cvtepi32_epi8(q));
  }
}

template <class T>
__attribute__((target("avx2"))) inline void OneStepBlocksAvx2(const Params& p, const T* a, int64_t sa,
                                                             const T* b, int64_t sb, T* out, int64_t n8) {
  const __m256i m1 = _mm256_set1_epi32(p.step_m1), m2 = _mm256_set1_epi32(p.step_m2);
  const __m256i bias = _mm256_set1_epi32(p.step_bias), zp = _mm256_set1_epi32(p.out_zp);
  const __m256i lo = _mm256_set1_epi32(p.act_min), hi = _mm256_set1_epi32(p.act_max);
  const __m128i shift = _mm_cvtsi32_si128(p.step_shift);
  const __m256i a0 = _mm256_set1_epi32(a[0]), b0 = _mm256_set1_epi32(b[0]);
  for (int64_t i = 0; i < n8; i += 8) {
    const __m256i x = sa ? Load8Avx2(a + i) : a0, y = sb ? Load8Avx2(b + i) : b0;
    __m256i acc = _mm256_add_epi32(bias, _mm256_mullo_epi32(x, m1));
    acc = _mm256_add_epi32(acc, _mm256_mullo_epi32(y, m2));
    __m256i q = _mm256_add_epi32(_mm256_sra_epi32(acc, shift), zp);
    q = _mm256_min_epi32(_mm256_max_epi32(q, lo), hi);
    const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
    const __m128i v = std::is_same<T, uint8_t>::value ? _mm_packus_epi16(w, w) : _mm_packs_epi16(w, w);
    _mm_storel_epi64(reinterpret_cast<__m128i*>(out + i), v);
  }
}
#endif

// One-step ADD of out[i] = a[i * sa] + b[i * sb], i < n (sa, sb 0 or 1).
template <class T>
inline void OneStepRow(const Params& p, const T* a, int64_t sa, const T* b, int64_t sb, T* out, int64_t n) {
  int64_t i = 0;
#if TFC_QBIN_X86
  static const bool avx512 = cpu::HasAvx512F(), avx2 = cpu::HasAvx2Fma();
  if (avx512) {
    i = n / 16 * 16;
    OneStepBlocksAvx512(p, a, sa, b, sb, out, i);
  } else if (avx2) {
    i = n / 8 * 8;
    OneStepBlocksAvx2(p, a, sa, b, sb, out, i);
  }
#endif
  for (; i < n; ++i) out[i] = Clamp<T>(p, OneStepValue(p, a[i * sa], b[i * sb]));
}

template <class T>
inline void Elementwise(const Params& p, const T* a, const T* b, T* out, int64_t n) {
  if constexpr (sizeof(T) == 1) {
    if (p.one_step) return OneStepRow(p, a, 1, b, 1, out, n);
  }
  int64_t i = 0;
  if (sizeof(T) == 1 && p.kind == Kind::kAdd) {
    const int64_t blocks = n / 16 * 16;
#if TFC_QBIN_X86
    if constexpr (sizeof(T) == 1) {
      static const bool avx2 = cpu::HasAvx2Fma();
      if (avx2) {
        AddBlocksAvx2(p, a, b, out, blocks, std::is_same<T, uint8_t>::value);
        i = blocks;
      }
    }
#endif
    for (; i < blocks; ++i) out[i] = AddSimd<T>(p, a[i], b[i]);
  }
  if (sizeof(T) == 2 && p.kind == Kind::kAdd && !p.pot16) {
    // int16 with general scales: the folded input shift too, in blocks of 8.
    const int64_t blocks = n / 8 * 8;
    for (; i < blocks; ++i) {
      const int32_t x = SaturatingRoundingDoublingHighMul(ShiftTrunc(a[i] - p.zp1, p.left_shift + p.e1), p.m1);
      const int32_t y = SaturatingRoundingDoublingHighMul(ShiftTrunc(b[i] - p.zp2, p.left_shift + p.e2), p.m2);
      const int32_t sum = static_cast<int32_t>(static_cast<uint32_t>(x) + static_cast<uint32_t>(y));
      out[i] = Clamp<T>(p, WrapToInt32(int64_t{MulSmallExp(sum, p.mo, p.eo)} + p.out_zp));
    }
  }
#if TFC_QBIN_X86
  if constexpr (sizeof(T) == 1) {  // the reference arithmetic, 8 lanes at a time
    static const bool avx2 = cpu::HasAvx2Fma();
    if (avx2 && p.kind != Kind::kAdd && RefLanes(p)) {
      const int64_t n8 = n / 8 * 8;
      RefBlocksAvx2(p, a, 1, b, 1, out, n8);
      i = n8;
    }
  }
#endif
  for (; i < n; ++i) out[i] = Clamp<T>(p, RefValue(p, a[i], b[i]));
}

// The parameters with the two inputs' roles exchanged.
inline Params Swapped(const Params& p) {
  Params q = p;
  q.zp1 = p.zp2;
  q.zp2 = p.zp1;
  q.m1 = p.m2;
  q.m2 = p.m1;
  q.e1 = p.e2;
  q.e2 = p.e1;
  q.step_m1 = p.step_m2;
  q.step_m2 = p.step_m1;
  return q;
}

// The scalar-broadcast loop of the optimized 8-bit ADD: x (with input 1's
// parameters) plus each of b[0..n) (input 2's): blocks of 8 in SIMD, the rest
// with the reference rounding.
template <class T>
inline void AddScalarRow(const Params& p, T x, const T* b, T* out, int64_t n) {
  if constexpr (sizeof(T) == 1) {
    if (p.one_step) return OneStepRow(p, &x, 0, b, 1, out, n);
  }
  int64_t i = 0;
  const int64_t blocks = n / 8 * 8;
#if TFC_QBIN_X86
  if constexpr (sizeof(T) == 1) {
    static const bool avx2 = cpu::HasAvx2Fma();
    if (avx2 && blocks > 0) {
      T xs[8];
      for (T& v : xs) v = x;
      // the same x in every lane: a broadcast row of 8 against b's blocks
      for (; i < blocks; i += 8) AddBlocksAvx2(p, xs, b + i, out + i, 8, true);
    }
  }
#endif
  for (; i < blocks; ++i) out[i] = AddSimd<T>(p, x, b[i], true);
  for (; i < n; ++i) out[i] = Clamp<T>(p, RefValue(p, x, b[i]));
}

// Broadcasting of the optimized 8-bit ADD (TFLite's fivefold pattern). The
// shapes are split, from the innermost dim, into [y0, y1, y2, y3, y4] where
// the "fast-broadcasting" input has extent 1 along y3 and the other along y1.
struct FiveFold {
  bool generic = true;      // no fivefold split: reference loop
  bool swap = false;        // the second input is the fast-broadcasting one
  int64_t y[5] = {1, 1, 1, 1, 1};

  // TFLite's ProcessBroadcastShapes on the two input shapes (not equal).
  void Init(const std::vector<int32_t>& s0, const std::vector<int32_t>& s1) {
    const size_t r = std::max(s0.size(), s1.size());
    std::vector<int64_t> a(r, 1), b(r, 1);
    for (size_t i = 0; i < s0.size(); ++i) a[r - s0.size() + i] = s0[i];
    for (size_t i = 0; i < s1.size(); ++i) b[r - s1.size() + i] = s1[i];
    generic = true;
    int cat = 0;  // 1: first broadcasts fast, 2: second
    for (int i = static_cast<int>(r) - 1; i >= 0; --i) {
      if (a[i] == b[i]) continue;
      if (a[i] == 1) { cat = 1; break; }
      if (b[i] == 1) { cat = 2; break; }
      return;
    }
    if (cat == 0) return;
    swap = cat == 2;
    const std::vector<int64_t>& sa = swap ? b : a;
    const std::vector<int64_t>& sb = swap ? a : b;
    for (int k = 0; k < 5; ++k) y[k] = 1;
    int i = static_cast<int>(r) - 1;
    for (; i >= 0 && sa[i] == sb[i]; --i) y[4] *= sb[i];
    for (; i >= 0 && sa[i] == 1; --i) y[3] *= sb[i];
    for (; i >= 0 && sa[i] == sb[i]; --i) y[2] *= sa[i];
    for (; i >= 0 && sb[i] == 1; --i) y[1] *= sa[i];
    for (; i >= 0 && sa[i] == sb[i]; --i) y[0] *= sb[i];
    generic = i >= 0;
  }
};

// ADD over a fivefold split (f.generic false): input1/input2 as given to the
// op; out in output order.
template <class T>
inline void AddFiveFold(const Params& unswitched, const FiveFold& f, const T* in1, const T* in2,
                        T* out) {
  const Params p = f.swap ? Swapped(unswitched) : unswitched;
  const T* a = f.swap ? in2 : in1;  // the fast-broadcasting input
  const T* b_reset = f.swap ? in1 : in2;
  const int64_t y0 = f.y[0], y1 = f.y[1], y2 = f.y[2], y3 = f.y[3], y4 = f.y[4];
  T* o = out;
  if (y4 > 1) {
    for (int64_t i0 = 0; i0 < y0; ++i0) {
      const T* b = b_reset;
      for (int64_t i1 = 0; i1 < y1; ++i1) {
        b = b_reset;
        for (int64_t i2 = 0; i2 < y2; ++i2) {
          for (int64_t i3 = 0; i3 < y3; ++i3) {
            Elementwise(p, a, b, o, y4);
            b += y4;
            o += y4;
          }
          a += y4;
        }
      }
      b_reset = b;
    }
  } else {
    for (int64_t i0 = 0; i0 < y0; ++i0) {
      const T* b = b_reset;
      for (int64_t i1 = 0; i1 < y1; ++i1) {
        b = b_reset;
        for (int64_t i2 = 0; i2 < y2; ++i2) {
          AddScalarRow(p, *a, b, o, y3);
          b += y3;
          o += y3;
          ++a;
        }
      }
      b_reset = b;
    }
  }
}

// One broadcast row: sa/sb are 0 (repeat) or 1 (advance).
template <class T>
inline void Row(const Params& p, const T* a, int64_t sa, const T* b, int64_t sb, T* out,
                int64_t n) {
  if constexpr (sizeof(T) == 1) {
    if (p.one_step) return OneStepRow(p, a, sa, b, sb, out, n);
  }
  int64_t i = 0;
#if TFC_QBIN_X86
  if constexpr (sizeof(T) == 1) {
    static const bool avx2 = cpu::HasAvx2Fma();
    if (avx2 && RefLanes(p)) {
      i = n / 8 * 8;
      RefBlocksAvx2(p, a, sa, b, sb, out, i);
    }
  }
#endif
  for (; i < n; ++i) out[i] = Clamp<T>(p, RefValue(p, a[i * sa], b[i * sb]));
}

}  // namespace qbin
}  // namespace tfc
