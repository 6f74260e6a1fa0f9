// Integer arithmetic of quantized kernels, bit-exact with TensorFlow Lite's
// reference kernels (OpResolverType.BUILTIN_REF, which the op goldens in
// tests/data/ops use).
//
// Quantized tensors hold q with real = scale * (q - zero_point). A kernel that
// must multiply by a real factor M (e.g. input_scale / output_scale) does it
// in integers: M is stored once, at Prepare, as a 32-bit fixed-point mantissa
// in [0.5, 1) (Q0.31, i.e. multiplier / 2^31) and a power-of-two exponent:
//
//     M ~= multiplier * 2^(shift - 31)
//
// and at Eval every value goes through MultiplyByQuantizedMultiplier, which
// rounds exactly as TensorFlow Lite's default build does ("double rounding":
// a rounding doubling high multiply, then a rounding right shift).
//
//   int32_t m; int shift;                                                    // Prepare
//   QuantizeMultiplier(double(in_scale) / double(out_scale), &m, &shift);
//   int32_t out = MultiplyByQuantizedMultiplier(q - in_zp, m, shift) + out_zp; // Eval
//   out = std::min(std::max(out, -128), 127);
//
// Requantizer packages exactly this (QUANTIZE int -> int uses it).
//
// Every function here is defined for every input (no undefined behaviour on
// overflow): where TensorFlow Lite's arithmetic would overflow in practice we
// wrap around as two's-complement hardware does.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace tfc {

// ---------------------------------------------------------------------------
// Rounding of floats
// ---------------------------------------------------------------------------

// Round to nearest, ties away from zero (C's round()): the rounding of
// TensorFlow Lite's quantize and activation-range helpers. Where the CPU has
// no instruction for it (x86-64 below SSE4.1, 32-bit ARM), std::round is a
// libm call per value, which also keeps loops around it scalar; there it is
// computed inline, bit for bit std::round (checked over every float, and
// 4e8 doubles plus the halves around every integer up to 1e5 and every power
// of two): below 2^23 (2^52) the truncation t and the fraction x - t are
// exact; at and above it x is an integer already (or inf, or NaN, given back
// as it is).
#if defined(__aarch64__) || defined(__SSE4_1__)
inline double RoundHalfAway(double x) { return std::round(x); }
inline float RoundHalfAway(float x) { return std::round(x); }
#else
inline double RoundHalfAway(double x) {
  if (!(std::fabs(x) < 4503599627370496.0)) return x;
  const double t = static_cast<double>(static_cast<int64_t>(x));
  const double d = x - t;
  return std::copysign(t + (d >= 0.5 ? 1.0 : 0.0) - (d <= -0.5 ? 1.0 : 0.0), x);
}
inline float RoundHalfAway(float x) {
  if (!(std::fabs(x) < 8388608.0f)) return x;
  const float t = static_cast<float>(static_cast<int32_t>(x));
  const float d = x - t;
  return std::copysign(t + (d >= 0.5f ? 1.0f : 0.0f) - (d <= -0.5f ? 1.0f : 0.0f), x);
}
#endif

// Clamps a double to [lo, hi] and converts it to int32. NaN gives `nan_value`.
// (static_cast of an out-of-range double to int32 is undefined in C++.)
inline int32_t SaturatingDoubleToInt32(double x, int32_t lo, int32_t hi, int32_t nan_value) {
  if (std::isnan(x)) return nan_value;
  if (x <= static_cast<double>(lo)) return lo;
  if (x >= static_cast<double>(hi)) return hi;
  return static_cast<int32_t>(x);
}

// q = clamp(round(x / scale) + zero_point, qmin, qmax): quantization of one
// float as TensorFlow Lite's QUANTIZE reference kernel and its activation-range
// helper do it (the division in float, round() ties away from zero).
// Out-of-range values and +-inf saturate; NaN gives the zero point (clamped).
inline int32_t QuantizeToInt(float x, float scale, int32_t zero_point, int32_t qmin,
                             int32_t qmax) {
  const double r =
      static_cast<double>(RoundHalfAway(x / scale)) + static_cast<double>(zero_point);
  const int32_t zp = zero_point < qmin ? qmin : (zero_point > qmax ? qmax : zero_point);
  return SaturatingDoubleToInt32(r, qmin, qmax, zp);
}

// Quantized clamp bounds of a float range [lo, hi] (a fused activation's,
// e.g. ActivationRange() of util/activation.h; +-inf for no bound) for an
// output with (scale, zero_point) and type limits [qmin, qmax]:
// *out_lo = max(qmin, zp + round(lo / scale)), *out_hi = min(qmax, zp + round(hi / scale)).
inline void QuantizedClampRange(float lo, float hi, float scale, int32_t zero_point,
                                int32_t qmin, int32_t qmax, int32_t* out_lo, int32_t* out_hi) {
  *out_lo = std::isinf(lo) && lo < 0 ? qmin : QuantizeToInt(lo, scale, zero_point, qmin, qmax);
  *out_hi = std::isinf(hi) && hi > 0 ? qmax : QuantizeToInt(hi, scale, zero_point, qmin, qmax);
}

// ---------------------------------------------------------------------------
// Fixed-point multipliers
// ---------------------------------------------------------------------------

// Splits a real multiplier m >= 0 into a Q0.31 mantissa and an exponent:
// m ~= *multiplier * 2^(*shift - 31), *multiplier in [2^30, 2^31) (0 for m == 0).
// The mantissa is round(frac * 2^31) with frac = frexp(m) in [0.5, 1), ties
// away from zero; a mantissa that rounds up to 2^31 is halved (shift + 1).
// Multipliers below 2^-32 become 0 (shift 0). From 2^30 up the shift would
// pass 30 (where the left shift of MultiplyByQuantizedMultiplier overflows
// anyway): such multipliers saturate to (2^31 - 1, shift 30). Negative or non-finite m also give 0 (callers
// validate scales in Prepare; kernels must reject such models).
inline void QuantizeMultiplier(double m, int32_t* multiplier, int* shift) {
  if (!(m > 0.0) || !std::isfinite(m)) {
    *multiplier = 0;
    *shift = 0;
    return;
  }
  int exponent = 0;
  const double frac = std::frexp(m, &exponent);  // m = frac * 2^exponent
  int64_t mantissa = static_cast<int64_t>(RoundHalfAway(frac * 2147483648.0));
  if (mantissa == (int64_t{1} << 31)) {
    mantissa >>= 1;
    ++exponent;
  }
  if (exponent < -31) {
    mantissa = 0;
    exponent = 0;
  }
  if (exponent > 30) {
    mantissa = (int64_t{1} << 31) - 1;
    exponent = 30;
  }
  *multiplier = static_cast<int32_t>(mantissa);
  *shift = exponent;
}

// For multipliers known to be < 1 (shift <= 0); returns false otherwise.
inline bool QuantizeMultiplierSmallerThanOne(double m, int32_t* multiplier, int* shift) {
  if (!(m >= 0.0 && m < 1.0)) return false;
  QuantizeMultiplier(m, multiplier, shift);
  return *shift <= 0;
}

// Two's-complement wrapping helpers (no signed-overflow UB).
inline int32_t WrapToInt32(int64_t x) {
  return static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(x)));
}
inline int32_t WrappingShiftLeft(int32_t x, int s) {  // x * 2^s modulo 2^32, 0 <= s <= 31
  return static_cast<int32_t>(static_cast<uint32_t>(x) << s);
}

// a * b / 2^31 rounded to nearest, computed as gemmlowp and TensorFlow Lite
// do: (a*b + (a*b >= 0 ? 2^30 : 1 - 2^30)) / 2^31 with the division
// truncating toward zero. Ties round up (toward +inf) on both signs: 2.5 -> 3,
// -2.5 -> -2. The one overflowing case, a == b == INT32_MIN, saturates to
// INT32_MAX.
inline int32_t SaturatingRoundingDoublingHighMul(int32_t a, int32_t b) {
  if (a == b && a == std::numeric_limits<int32_t>::min()) {
    return std::numeric_limits<int32_t>::max();
  }
  const int64_t ab = static_cast<int64_t>(a) * static_cast<int64_t>(b);
  const int64_t nudge = ab >= 0 ? (int64_t{1} << 30) : (int64_t{1} - (int64_t{1} << 30));
  return static_cast<int32_t>((ab + nudge) / (int64_t{1} << 31));
}

// x / 2^exponent rounded to nearest, ties away from zero; 0 <= exponent <= 31.
inline int32_t RoundingDivideByPOT(int32_t x, int exponent) {
  if (exponent <= 0) return x;
  const int32_t mask = static_cast<int32_t>((uint32_t{1} << exponent) - 1u);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

// x * multiplier * 2^(shift - 31), rounded as TensorFlow Lite's default build:
// for shift > 0 x is first multiplied by 2^shift (wrapping on overflow, as the
// hardware does), then SaturatingRoundingDoublingHighMul, then for shift < 0 a
// RoundingDivideByPOT by 2^-shift. shift in [-31, 30].
inline int32_t MultiplyByQuantizedMultiplier(int32_t x, int32_t multiplier, int shift) {
  const int left = shift > 0 ? shift : 0;
  const int right = shift > 0 ? 0 : -shift;
  return RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(WrappingShiftLeft(x, left), multiplier),
                             right);
}

// The two special cases TensorFlow Lite names separately (same results as
// MultiplyByQuantizedMultiplier for their shift ranges).
inline int32_t MultiplyByQuantizedMultiplierSmallerThanOneExp(int32_t x, int32_t multiplier,
                                                              int shift /* <= 0 */) {
  return RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x, multiplier), -shift);
}
inline int32_t MultiplyByQuantizedMultiplierGreaterThanOne(int32_t x, int32_t multiplier,
                                                           int shift /* >= 0 */) {
  return SaturatingRoundingDoublingHighMul(WrappingShiftLeft(x, shift), multiplier);
}

// The 64-bit-accumulator variant (16x8 kernels with int64 bias): the
// multiplier is first reduced to Q0.15, r = round(multiplier / 2^16)
// (saturating at 2^15 - 1), then result = (x * r + 2^(14 - shift)) >> (15 - shift),
// an arithmetic shift (rounding half up). Valid for |x| < 2^47, shift in [-31, 14];
// the result is wrapped to int32.
inline int32_t MultiplyByQuantizedMultiplier64(int64_t x, int32_t multiplier, int shift) {
  const int64_t reduced =
      multiplier < 0x7FFF0000 ? ((static_cast<int64_t>(multiplier) + (1 << 15)) >> 16) : 0x7FFF;
  const int total_shift = 15 - shift;
  const int64_t round = int64_t{1} << (total_shift - 1);
  const uint64_t product = static_cast<uint64_t>(x) * static_cast<uint64_t>(reduced);
  const int64_t sum = static_cast<int64_t>(product + static_cast<uint64_t>(round));
  return WrapToInt32(sum >> total_shift);
}

// ---------------------------------------------------------------------------
// Requantization
// ---------------------------------------------------------------------------

// Precomputed parameters of q_out = clamp(M * (q_in - in_zp) + out_zp) with
// M = in_scale / out_scale (in double, as TensorFlow Lite computes it).
struct Requantizer {
  int32_t in_zero_point = 0;
  int32_t out_zero_point = 0;
  int32_t multiplier = 0;
  int shift = 0;
  int32_t qmin = 0;
  int32_t qmax = 0;

  void Init(float in_scale, int32_t in_zp, float out_scale, int32_t out_zp, int32_t out_min,
            int32_t out_max) {
    in_zero_point = in_zp;
    out_zero_point = out_zp;
    qmin = out_min;
    qmax = out_max;
    QuantizeMultiplier(static_cast<double>(in_scale) / static_cast<double>(out_scale), &multiplier,
                       &shift);
  }
  int32_t operator()(int32_t q) const {
    const int32_t scaled = MultiplyByQuantizedMultiplier(WrapToInt32(int64_t{q} - in_zero_point),
                                                         multiplier, shift);
    const int64_t out = int64_t{scaled} + out_zero_point;
    return static_cast<int32_t>(out < qmin ? qmin : (out > qmax ? qmax : out));
  }
};

#if defined(__x86_64__) || defined(__i386__)
// SaturatingRoundingDoublingHighMul on 8 lanes (AVX2) for positive
// multipliers m (every multiplier QuantizeMultiplier makes), where it never
// saturates and equals floor((x * m + 2^30) / 2^31): the even and the odd
// lanes as 64-bit products, the high halves blended back.
__attribute__((target("avx2"))) inline __m256i HighMulAvx2(__m256i x, __m256i m) {
  const __m256i nudge = _mm256_set1_epi64x(int64_t{1} << 30);
  const __m256i pe = _mm256_add_epi64(_mm256_mul_epi32(x, m), nudge);
  const __m256i po =
      _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(x, 32), _mm256_srli_epi64(m, 32)), nudge);
  return _mm256_blend_epi32(_mm256_srli_epi64(pe, 31), _mm256_slli_epi64(_mm256_srli_epi64(po, 31), 32),
                            0xAA);
}
#endif

}  // namespace tfc
