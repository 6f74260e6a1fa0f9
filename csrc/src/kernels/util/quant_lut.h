// Helpers of the quantized activation kernels (k-act): 256-entry lookup
// tables for 8-bit elementwise functions, built at Prepare from float math as
// TensorFlow Lite builds them, and the fixed-point pieces its int8 kernels
// share (inverse square root multiplier, 16-bit fixed-point multiplies).
//
// Table construction, for every 8-bit input value v (int8 or uint8):
//   x = in_scale * (v - in_zp)                  float
//   y = f(x)                                     float function (expf, tanhf...)
//   q = (int32) (round(y * (1 / out_scale)) + out_zp)   round() half away
//   table[(uint8) v] = clamp(q, type range)
// The float -> int32 conversion behaves as x86's cvttss2si does: NaN and
// values out of the int32 range give INT32_MIN (which the clamp then maps to
// the type's minimum), so infinities and NaN from f land on the minimum.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "cpu_features.h"
#include "kernels/util/quant_math.h"

namespace tfc {

// (int32) x, truncating, with the x86 result for NaN / out-of-range values.
inline int32_t TruncToInt32X86(float x) {
  if (!(x >= -2147483648.0f && x < 2147483648.0f)) return std::numeric_limits<int32_t>::min();
  return static_cast<int32_t>(x);
}
inline int32_t TruncToInt32X86(double x) {
  if (!(x >= -2147483648.0 && x < 2147483648.0)) return std::numeric_limits<int32_t>::min();
  return static_cast<int32_t>(x);
}

// Range of an 8-bit quantized type.
template <class T>
struct Range8 {
  static constexpr int32_t kMin = std::numeric_limits<T>::min();
  static constexpr int32_t kMax = std::numeric_limits<T>::max();
};

// Fills table[256] (indexed by the input's byte, i.e. (uint8_t) v) for
// y = fn(x). FN is any callable float -> float.
template <class T, class FN>
void BuildLut8(float in_scale, int32_t in_zp, float out_scale, int32_t out_zp, FN fn,
               uint8_t* table) {
  const float inv_out = 1.0f / out_scale;
  for (int32_t v = Range8<T>::kMin; v <= Range8<T>::kMax; ++v) {
    const float x = in_scale * static_cast<float>(v - in_zp);
    const float y = fn(x);
    const float r = std::round(y * inv_out);
    const float shifted = r + static_cast<float>(out_zp);
    int32_t q = TruncToInt32X86(shifted);
    q = q < Range8<T>::kMin ? Range8<T>::kMin : (q > Range8<T>::kMax ? Range8<T>::kMax : q);
    table[static_cast<uint8_t>(v & 0xff)] = static_cast<uint8_t>(q & 0xff);
  }
}

// table[b] = (uint8_t) f(v) for every input byte b, v its value as In (int8_t
// or uint8_t): any function of one 8-bit value (a fixed-point requantization,
// LEAKY_RELU, HARD_SWISH) becomes one lookup per value, bit-exact by
// construction.
template <class In, class F>
void TabulateLut8(F f, uint8_t* table) {
  static_assert(sizeof(In) == 1, "8-bit inputs only");
  for (int b = 0; b < 256; ++b) {
    const uint8_t byte = static_cast<uint8_t>(b);
    In v;
    std::memcpy(&v, &byte, 1);
    table[b] = static_cast<uint8_t>(f(v));
  }
}

#if defined(__x86_64__)
// 64 lookups per step: vpermi2b picks from two 64-byte quarters of the table
// (index bits 0-6), and the index's top bit chooses between the two halves.
__attribute__((target("avx512f,avx512bw,avx512vbmi"))) inline void ApplyLut8Vbmi(
    const uint8_t* __restrict x, uint8_t* __restrict y, int64_t n, const uint8_t* __restrict table) {
  const __m512i t0 = _mm512_loadu_si512(table), t1 = _mm512_loadu_si512(table + 64);
  const __m512i t2 = _mm512_loadu_si512(table + 128), t3 = _mm512_loadu_si512(table + 192);
  for (int64_t i = 0; i < n; i += 64) {
    const __mmask64 m = n - i >= 64 ? ~__mmask64{0} : (__mmask64{1} << (n - i)) - 1;
    const __m512i v = _mm512_maskz_loadu_epi8(m, x + i);
    const __m512i lo = _mm512_permutex2var_epi8(t0, v, t1);
    const __m512i hi = _mm512_permutex2var_epi8(t2, v, t3);
    _mm512_mask_storeu_epi8(y + i, m, _mm512_mask_blend_epi8(_mm512_movepi8_mask(v), lo, hi));
  }
}
#endif

// y[i] = table[(uint8) x[i]].
template <class T>
inline void ApplyLut8(const T* __restrict x, T* __restrict y, int64_t n,
                      const uint8_t* __restrict table) {
  const uint8_t* xs = reinterpret_cast<const uint8_t*>(x);
  uint8_t* ys = reinterpret_cast<uint8_t*>(y);
#if defined(__x86_64__)
  if (cpu::HasAvx512Vbmi()) {
    ApplyLut8Vbmi(xs, ys, n, table);
    return;
  }
#endif
  for (int64_t i = 0; i < n; ++i) ys[i] = table[xs[i]];
}

// ---------------------------------------------------------------------------
// int16 tables: 513 entries over the input range, linear interpolation on the
// low 7 bits of the input (TensorFlow Lite's int16 LUT scheme). Each of the
// 512 samples is corrected by half the error of the interpolated midpoint.
// ---------------------------------------------------------------------------

constexpr int kLut16Size = 513;

// (int16) of a value already clamped to [-32768, 32767], or NaN (x86 gives 0:
// the low 16 bits of INT32_MIN): Int16FromClamped below.
template <class F>
inline F ClampKeepNaNT(F v, F lo, F hi) {
  // std::min(std::max(v, lo), hi) with the NaN behaviour of std::max/min.
  const F a = (v < lo) ? lo : v;
  return (hi < a) ? hi : a;
}

inline int16_t Int16FromClamped(double x) {
  return static_cast<int16_t>(static_cast<uint32_t>(TruncToInt32X86(x)) & 0xffffu);
}

// F is float (the usual tables) or double (SOFTMAX int16's tables).
template <class F, class FN>
void BuildLut16(F in_scale, int32_t in_zp, F out_scale, int32_t out_zp, FN fn, int16_t* lut) {
  const F input_min = in_scale * static_cast<F>(-32768 - in_zp);
  const F input_max = in_scale * static_cast<F>(32767 - in_zp);
  const F output_min = out_scale * static_cast<F>(-32768 - out_zp);
  const F output_max = out_scale * static_cast<F>(32767 - out_zp);
  const int steps = 512;
  const F step = (input_max - input_min) / static_cast<F>(steps);
  const F half_step = step / 2;
  const F out_range = output_max - output_min;
  const F inv = static_cast<F>(65536) / out_range;
  const F tmin = -32768, tmax = 32767;
  for (int i = 0; i < steps; ++i) {
    const F x0 = input_min + static_cast<F>(i) * step;
    const F xm = x0 + half_step;
    const F x1 = input_min + static_cast<F>(i + 1) * step;
    const F v0 = fn(x0);
    const F vm = fn(xm);
    const F v1 = fn(x1);
    const F sample = std::round(v0 * inv);
    const F next_scaled = v1 * inv;
    const F interp = std::round((next_scaled + sample) / 2);
    const F mid = std::round(vm * inv);
    const F err = interp - mid;
    const F bias = std::round(err / 2);
    lut[i] = Int16FromClamped(static_cast<double>(ClampKeepNaNT<F>(sample - bias, tmin, tmax)));
  }
  lut[steps] = Int16FromClamped(
      static_cast<double>(ClampKeepNaNT<F>(std::round(fn(input_max) * inv), tmin, tmax)));
}

inline int16_t Lut16Lookup(int16_t v, const int16_t* lut) {
  const int index = 256 + (v >> 7);
  const int32_t frac = v & 0x7f;
  const int16_t base = lut[index];
  const int16_t slope = static_cast<int16_t>(lut[index + 1] - lut[index]);
  const int32_t delta = (int32_t{slope} * frac + 64) >> 7;
  return static_cast<int16_t>(base + delta);
}

// ---------------------------------------------------------------------------
// Fixed point (gemmlowp conventions): a raw int32 with I integer bits holds
// raw / 2^(31 - I).
// ---------------------------------------------------------------------------

// x * 2^e with saturation, e in [1, 30] (gemmlowp's SaturatingRoundingMultiplyByPOT
// for positive exponents).
inline int32_t SaturatingShiftLeft32(int32_t x, int e) {
  const int32_t threshold = static_cast<int32_t>((uint32_t{1} << (31 - e)) - 1u);
  if (x > threshold) return std::numeric_limits<int32_t>::max();
  if (x < -threshold) return std::numeric_limits<int32_t>::min();
  return WrappingShiftLeft(x, e);
}

inline int CountLeadingZeros32(uint32_t x) { return x == 0 ? 32 : __builtin_clz(x); }

// 1 / sqrt(input) as a multiplier and shift, TensorFlow Lite's
// GetInvSqrtQuantizedMultiplierExp with reverse_shift = -1: the result r is
// such that MultiplyByQuantizedMultiplier(x, *multiplier, *shift) ~= x /
// sqrt(input). Five Newton-Raphson steps on x <- x (3 - a x^2) / 2 in Q3.28
// from x = 1, after the input is normalized to [2^27, 2^29) by shifts of two
// bits. input <= 1 gives (INT32_MAX, 0).
inline void InvSqrtMultiplierExp(int32_t input, int32_t* multiplier, int* shift) {
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
  const unsigned headroom = static_cast<unsigned>(CountLeadingZeros32(static_cast<uint32_t>(input))) - 1u;
  const unsigned pairs = headroom / 2u - 1u;
  s -= static_cast<int>(pairs);
  input = WrappingShiftLeft(input, static_cast<int>(2u * pairs));
  // Q3.28 values.
  const int32_t a = input >> 1;                       // the normalized input
  const int32_t half_a = RoundingDivideByPOT(a, 1);   // a / 2
  const int32_t three_halves = (1 << 28) + (1 << 27);  // 1.5
  int32_t x = 1 << 28;                                 // 1.0
  for (int i = 0; i < 5; ++i) {
    const int32_t x2 = SaturatingRoundingDoublingHighMul(x, x);          // Q6
    const int32_t x3 = SaturatingShiftLeft32(SaturatingRoundingDoublingHighMul(x2, x), 6);  // Q9 -> Q3
    const int32_t t1 = SaturatingRoundingDoublingHighMul(three_halves, x);  // Q6
    const int32_t t2 = SaturatingRoundingDoublingHighMul(half_a, x3);       // Q6
    x = SaturatingShiftLeft32(WrapToInt32(int64_t{t1} - int64_t{t2}), 3);   // Q6 -> Q3
  }
  const int32_t half_sqrt2 = 1518500250;  // sqrt(2) / 2 in Q0.31
  x = SaturatingRoundingDoublingHighMul(x, half_sqrt2);
  if (s < 0) {
    x = WrappingShiftLeft(x, -s);
    s = 0;
  }
  *multiplier = x;
  *shift = -s;
}

// ---------------------------------------------------------------------------
// 16-bit fixed point (HARD_SWISH)
// ---------------------------------------------------------------------------

// Q0.31 multiplier reduced to Q0.15, rounding (saturating at INT16_MAX).
inline int16_t MultiplierToInt16(int32_t m) {
  if (m >= std::numeric_limits<int32_t>::max() - (1 << 15)) return std::numeric_limits<int16_t>::max();
  return static_cast<int16_t>((m + (1 << 15)) >> 16);
}

inline int16_t SaturatingRoundingDoublingHighMul16(int16_t a, int16_t b) {
  if (a == b && a == std::numeric_limits<int16_t>::min()) return std::numeric_limits<int16_t>::max();
  const int32_t ab = int32_t{a} * int32_t{b};
  const int32_t nudge = ab >= 0 ? (1 << 14) : (1 - (1 << 14));
  return static_cast<int16_t>((ab + nudge) / (1 << 15));
}

// The non-rounding variant: a * b * 2 / 2^16 truncated toward zero.
inline int16_t SaturatingDoublingHighMul16(int16_t a, int16_t b) {
  if (a == b && a == std::numeric_limits<int16_t>::min()) return std::numeric_limits<int16_t>::max();
  const int32_t ab = int32_t{a} * int32_t{b};
  return static_cast<int16_t>(ab / (1 << 15));
}

inline int16_t RoundingDivideByPOT16(int16_t x, int exponent) {
  if (exponent <= 0) return x;
  const int32_t mask = (1 << exponent) - 1;
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return static_cast<int16_t>((x >> exponent) + (remainder > threshold ? 1 : 0));
}

inline int16_t SaturatingShiftLeft16(int16_t x, int amount) {
  const int64_t r = int64_t{x} * (int64_t{1} << amount);
  return static_cast<int16_t>(r > 32767 ? 32767 : (r < -32768 ? -32768 : r));
}

}  // namespace tfc

// ---------------------------------------------------------------------------
// Prepare helpers
// ---------------------------------------------------------------------------

#include "kernels/kernel.h"

namespace tfc {

inline bool IsQuant8Or16(TfLiteType t) {
  return t == kTfLiteInt8 || t == kTfLiteUInt8 || t == kTfLiteInt16;
}

inline void QuantTypeRange(TfLiteType t, int32_t* lo, int32_t* hi) {
  switch (t) {
    case kTfLiteInt8: *lo = -128; *hi = 127; break;
    case kTfLiteUInt8: *lo = 0; *hi = 255; break;
    case kTfLiteInt16: *lo = -32768; *hi = 32767; break;
    default: *lo = std::numeric_limits<int32_t>::min(); *hi = std::numeric_limits<int32_t>::max(); break;
  }
}

// Reads the per-tensor (scale, zero point) of a quantized tensor: one scale,
// positive and finite, the zero point inside the type's range.
inline TfLiteStatus ReadPerTensorQuant(OpContext& ctx, const TfLiteTensor* t, float* scale,
                                       int32_t* zero_point) {
  const Quantization& q = t->quant;
  TFC_ENSURE_MSG(ctx, q.scale.size() == 1,
                 "tensor '%s' of type %s needs one (per-tensor) scale, has %zu", t->name.c_str(),
                 TypeName(t->type), q.scale.size());
  TFC_ENSURE_MSG(ctx, q.zero_point.size() <= 1, "tensor '%s' has %zu zero points",
                 t->name.c_str(), q.zero_point.size());
  const float s = q.scale[0];
  TFC_ENSURE_MSG(ctx, std::isfinite(s) && s > 0.f,
                 "tensor '%s' has scale %g; scales must be positive and finite", t->name.c_str(),
                 static_cast<double>(s));
  const int64_t zp = q.zero_point.empty() ? 0 : q.zero_point[0];
  int32_t lo = 0, hi = 0;
  QuantTypeRange(t->type, &lo, &hi);
  TFC_ENSURE_MSG(ctx, zp >= lo && zp <= hi, "tensor '%s' has zero point %lld outside the range of %s",
                 t->name.c_str(), static_cast<long long>(zp), TypeName(t->type));
  *scale = s;
  *zero_point = static_cast<int32_t>(zp);
  return kTfLiteOk;
}

}  // namespace tfc
