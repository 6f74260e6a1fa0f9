// Integer helpers shared by the quantized convolution kernels (CONV_2D,
// DEPTHWISE_CONV_2D, TRANSPOSE_CONV): parameter validation, per-channel
// output multipliers, on-the-fly quantization of float activations for the
// hybrid (dynamic-range) kernels, and the int16 x int16 -> int32 dot products
// of the quantized GEMMs.
//
// The quantized GEMMs work on "centered" operands: activations as
// (q - input_zero_point) and weights as (w - filter_zero_point), both held in
// int16 (exact for int8/uint8 data), with exact int32 accumulation. Every
// way of summing these products gives the same integers, so the result does
// not depend on the blocking; only the output stages (fixed-point multiplier,
// float scaling order) have to follow TensorFlow Lite's optimized kernels.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <type_traits>
#include <vector>

// TFC_QGEMM_PORTABLE_ONLY (a test build) keeps x86 on the portable loops.
#if (defined(__x86_64__) || defined(__i386__)) && !defined(TFC_QGEMM_PORTABLE_ONLY)
#include <immintrin.h>
#define TFC_QGEMM_X86 1
#else
#define TFC_QGEMM_X86 0
#endif
// TFC_QGEMM_DOT: the aarch64 8-bit GEMM with the dot product (q8gemm_dot.inc) is built.
#if defined(__aarch64__) && !defined(TFC_QGEMM_PORTABLE_ONLY)
#include <arm_neon.h>
#define TFC_QGEMM_DOT 1
#else
#define TFC_QGEMM_DOT 0
#endif

#include "cpu_features.h"
#include "kernels/util/gemm.h"
#include "kernels/util/qmatmul.h"
#include "kernels/util/quant_math.h"
#include "tensor.h"
#include "thread_pool.h"

namespace tfc {
namespace qconv {

inline bool IsQuantType(TfLiteType t) {
  return t == kTfLiteInt8 || t == kTfLiteUInt8 || t == kTfLiteInt16;
}

inline void TypeRange(TfLiteType t, int32_t* lo, int32_t* hi) {
  switch (t) {
    case kTfLiteUInt8: *lo = 0; *hi = 255; break;
    case kTfLiteInt16: *lo = -32768; *hi = 32767; break;
    default: *lo = -128; *hi = 127; break;
  }
}

inline bool ValidScale(float s) { return std::isfinite(s) && s > 0.f; }

// Checks a per-tensor quantized activation: one finite positive scale and a
// zero point inside the type's range. Returns nullptr when fine, else a reason.
inline const char* CheckActivationQuant(const TfLiteTensor* t) {
  if (t->quant.scale.empty()) return "is not quantized";
  if (!ValidScale(t->quant.scale[0])) return "has a non-positive or non-finite scale";
  int32_t lo, hi;
  TypeRange(t->type, &lo, &hi);
  const int64_t zp = t->quant.zero_point.empty() ? 0 : t->quant.zero_point[0];
  if (zp < lo || zp > hi) return "has a zero point outside its type's range";
  if (t->type == kTfLiteInt16 && zp != 0) return "is int16 with a non-zero zero point";
  return nullptr;
}

inline float ScaleOf(const TfLiteTensor* t) { return t->quant.scale.empty() ? 0.f : t->quant.scale[0]; }
inline int32_t ZeroPointOf(const TfLiteTensor* t) {
  return t->quant.zero_point.empty() ? 0 : static_cast<int32_t>(t->quant.zero_point[0]);
}

// Filter scales expanded to one per output channel (`channels` of them,
// along axis `axis` of the filter). Returns nullptr when fine.
inline const char* FilterScales(const TfLiteTensor* f, int channels, int axis, bool symmetric,
                                std::vector<float>* scales, std::vector<int32_t>* zero_points) {
  const auto& q = f->quant;
  if (q.scale.empty()) return "filter is not quantized";
  const size_t n = q.scale.size();
  if (n != 1 && n != static_cast<size_t>(channels)) return "filter has a per-channel scale count that differs from its channel count";
  if (n > 1 && q.quantized_dimension != axis) return "filter is quantized along an unexpected dimension";
  if (!q.zero_point.empty() && q.zero_point.size() != n && q.zero_point.size() != 1)
    return "filter has a zero-point count that differs from its scale count";
  scales->assign(static_cast<size_t>(channels), 0.f);
  zero_points->assign(static_cast<size_t>(channels), 0);
  int32_t lo, hi;
  TypeRange(f->type, &lo, &hi);
  for (int c = 0; c < channels; ++c) {
    const size_t i = n == 1 ? 0 : static_cast<size_t>(c);
    const float s = q.scale[i];
    if (!ValidScale(s)) return "filter has a non-positive or non-finite scale";
    const int64_t zp = q.zero_point.empty() ? 0 : q.zero_point[q.zero_point.size() == 1 ? 0 : i];
    if (zp < lo || zp > hi) return "filter has a zero point outside its type's range";
    if (symmetric && zp != 0) return "int8 filter must be symmetric (zero point 0)";
    (*scales)[static_cast<size_t>(c)] = s;
    (*zero_points)[static_cast<size_t>(c)] = static_cast<int32_t>(zp);
  }
  return nullptr;
}

// Per-channel output multipliers of int8/int16 kernels:
// input_scale * filter_scale[c] / output_scale, all in double.
inline void PerChannelMultipliers(float input_scale, const std::vector<float>& filter_scales,
                                  float output_scale, std::vector<int32_t>* mult,
                                  std::vector<int>* shift) {
  mult->resize(filter_scales.size());
  shift->resize(filter_scales.size());
  for (size_t c = 0; c < filter_scales.size(); ++c) {
    const double product =
        static_cast<double>(input_scale) * static_cast<double>(filter_scales[c]);
    QuantizeMultiplier(product / static_cast<double>(output_scale), &(*mult)[c], &(*shift)[c]);
  }
}

// The uint8 (legacy, per-tensor) multiplier: the scale product in double.
inline void PerTensorMultiplierUint8(float input_scale, float filter_scale, float output_scale,
                                     int32_t* mult, int* shift) {
  const double product = static_cast<double>(input_scale) * static_cast<double>(filter_scale);
  QuantizeMultiplier(product / static_cast<double>(output_scale), mult, shift);
}

// Output stage of the 8-bit kernels: acc (bias included) scaled, offset and
// clamped.
inline int32_t Requantize8(int32_t acc, int32_t mult, int shift, int32_t out_zp, int32_t lo,
                           int32_t hi) {
  const int64_t v = int64_t{MultiplyByQuantizedMultiplier(acc, mult, shift)} + out_zp;
  return static_cast<int32_t>(v < lo ? lo : (v > hi ? hi : v));
}

// The same with the rounding of the GEMM library behind TensorFlow Lite's
// optimized 8-bit CONV_2D (ruy): the doubling high multiply as above, but the
// final right shift rounds ties upward ((x + 2^(e-1)) >> e) instead of away
// from zero. Differs from Requantize8 only on negative exact ties.
inline int32_t MultiplyByQuantizedMultiplierTiesUp(int32_t x, int32_t mult, int shift) {
  const int left = shift > 0 ? shift : 0;
  const int right = shift > 0 ? 0 : -shift;
  const int32_t high = SaturatingRoundingDoublingHighMul(WrappingShiftLeft(x, left), mult);
  if (right == 0) return high;
  return static_cast<int32_t>((int64_t{high} + (int64_t{1} << (right - 1))) >> right);
}

inline int32_t Requantize8TiesUp(int32_t acc, int32_t mult, int shift, int32_t out_zp, int32_t lo,
                                 int32_t hi) {
  const int64_t v = int64_t{MultiplyByQuantizedMultiplierTiesUp(acc, mult, shift)} + out_zp;
  return static_cast<int32_t>(v < lo ? lo : (v > hi ? hi : v));
}

// Whether the 16x8 output stage (MultiplyByQuantizedMultiplier64) handles every channel's shift: at most
// 14, a scale ratio input * filter / output below 2^14. Above, its shift is negative (TensorFlow Lite's
// is undefined there): the kernels reject such models in Prepare.
inline bool Shifts16x8Ok(const std::vector<int>& shift) {
  for (int s : shift)
    if (s > 14) return false;
  return true;
}
constexpr const char* kShifts16x8Error =
    "16x8: input scale x filter scale / output scale is 2^14 or more on some channel, beyond the 16x8 "
    "output stage; check the model's quantization parameters";

// Output stage of the 16x8 kernels (64-bit accumulator).
inline int32_t Requantize16(int64_t acc, int32_t mult, int shift, int32_t out_zp, int32_t lo,
                            int32_t hi) {
  const int64_t v = int64_t{MultiplyByQuantizedMultiplier64(acc, mult, shift)} + out_zp;
  return static_cast<int32_t>(v < lo ? lo : (v > hi ? hi : v));
}

// ---------------------------------------------------------------------------
// On-the-fly quantization of float activations (hybrid kernels)
// ---------------------------------------------------------------------------

// On-the-fly quantization q = clamp(rounded(x * inv) + zp, lo, hi), as
// TensorFlow Lite's x86 build does it (its NEON code through an SSE
// emulation): elements in whole groups of 8 round as trunc(v +- 0.5) (v + 0.5
// is itself rounded in float, so e.g. 0.49999997 goes to 1), the remaining
// tail rounds exactly (ties away from zero). v is bounded to +-512 first (NaN
// to the low end), which leaves every clamped result unchanged.
inline float BoundForRounding(float v) {
  if (!(v >= -512.f)) v = -512.f;
  return v > 512.f ? 512.f : v;
}
inline int32_t RoundVectorStyle(float v) {  // trunc(v +- 0.5) in float
  v = BoundForRounding(v);
  return static_cast<int32_t>(v + (v < 0.f ? -0.5f : 0.5f));
}
inline int32_t RoundExact(float v) {  // ties away from zero
  v = BoundForRounding(v);
  int32_t i = static_cast<int32_t>(v);
  const float d = v - static_cast<float>(i);
  return i + (d >= 0.5f ? 1 : 0) - (d <= -0.5f ? 1 : 0);
}
inline int32_t ClampInt(int32_t v, int32_t lo, int32_t hi) { return v < lo ? lo : (v > hi ? hi : v); }

#if TFC_QGEMM_X86
// AVX2 forms of the loops below (same results, element by element).
__attribute__((target("avx2"))) inline void MinMaxAvx2(const float* x, size_t n, float* lo,
                                                       float* hi, size_t* done) {
  __m256 vlo = _mm256_set1_ps(*lo), vhi = _mm256_set1_ps(*hi);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    vlo = _mm256_min_ps(v, vlo);  // NaN in v keeps vlo
    vhi = _mm256_max_ps(v, vhi);
  }
  alignas(32) float a[8], b[8];
  _mm256_store_ps(a, vlo);
  _mm256_store_ps(b, vhi);
  for (int j = 0; j < 8; ++j) {
    *lo = a[j] < *lo ? a[j] : *lo;
    *hi = b[j] > *hi ? b[j] : *hi;
  }
  *done = i;
}

// The whole groups of 8 (vector-style rounding); returns the count done.
__attribute__((target("avx2"))) inline size_t QuantizeGroupsAvx2(const float* x, size_t n8,
                                                                 float inv, int32_t zp,
                                                                 int32_t lo, int32_t hi,
                                                                 int8_t* q) {
  const __m256 vinv = _mm256_set1_ps(inv);
  const __m256 vmin = _mm256_set1_ps(-512.f), vmax = _mm256_set1_ps(512.f);
  const __m256 half = _mm256_set1_ps(0.5f), mhalf = _mm256_set1_ps(-0.5f);
  const __m256 zero = _mm256_setzero_ps();
  const __m256i izp = _mm256_set1_epi32(zp);
  const __m256i ilo = _mm256_set1_epi32(lo), ihi = _mm256_set1_epi32(hi);
  alignas(32) int32_t t[8];
  size_t i = 0;
  for (; i < n8; i += 8) {
    __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + i), vinv);
    v = _mm256_max_ps(v, vmin);  // NaN -> -512
    v = _mm256_min_ps(v, vmax);
    const __m256 add = _mm256_blendv_ps(half, mhalf, _mm256_cmp_ps(v, zero, _CMP_LT_OQ));
    __m256i k = _mm256_cvttps_epi32(_mm256_add_ps(v, add));
    k = _mm256_add_epi32(k, izp);
    k = _mm256_min_epi32(_mm256_max_epi32(k, ilo), ihi);
    _mm256_store_si256(reinterpret_cast<__m256i*>(t), k);
    for (int j = 0; j < 8; ++j) q[i + j] = static_cast<int8_t>(t[j]);
  }
  return i;
}
#endif

inline void QuantizeLoop(const float* x, size_t n, float inv, int32_t zp, int32_t lo, int32_t hi,
                         int8_t* q) {
  const size_t n8 = n / 8 * 8;
  size_t i = 0;
#if TFC_QGEMM_X86
  static const bool avx2 = cpu::HasAvx2Fma();
  if (avx2) i = QuantizeGroupsAvx2(x, n8, inv, zp, lo, hi, q);
#endif
  for (; i < n8; ++i) q[i] = static_cast<int8_t>(ClampInt(RoundVectorStyle(x[i] * inv) + zp, lo, hi));
  for (; i < n; ++i) q[i] = static_cast<int8_t>(ClampInt(RoundExact(x[i] * inv) + zp, lo, hi));
}

// *lo = min(*lo, x...), *hi = max(*hi, x...), NaN ignored.
inline void MinMax(const float* x, size_t n, float* lo, float* hi) {
  size_t i = 0;
#if TFC_QGEMM_X86
  static const bool avx2 = cpu::HasAvx2Fma();
  if (avx2) MinMaxAvx2(x, n, lo, hi, &i);
#endif
  for (; i < n; ++i) {
    *lo = x[i] < *lo ? x[i] : *lo;
    *hi = x[i] > *hi ? x[i] : *hi;
  }
}

// Symmetric: scale = max|x| / 127, q = rounded(x * (127 / max|x|)) clamped to
// [-127, 127]; all zeros give scale 1. Returns the scale.
inline float QuantizeSymmetric(const float* x, size_t n, int8_t* q) {
  float lo = 0.f, hi = 0.f;
  if (n > 0) {
    lo = hi = x[0];
    MinMax(x + 1, n - 1, &lo, &hi);
  }
  const float range = std::max(std::fabs(lo), std::fabs(hi));
  if (range == 0.f) {
    std::memset(q, 0, n);
    return 1.f;
  }
  const float inv = 127.f / range;
  QuantizeLoop(x, n, inv, 0, -127, 127, q);
  return range / 127.f;
}

// Asymmetric over [min(0, min x), max(0, max x)] to [-128, 127]: the range
// rmax - rmin in float, the scale (range / 255) and the zero point in double,
// the scale stored as float; q = rounded(x * inv) + zp with inv = 1 / scale
// (in double, stored as float). A constant-zero input gives scale 0 and zero
// point 0 (all q = 0). Returns the scale.
inline float QuantizeAsymmetric(const float* x, size_t n, int8_t* q, int32_t* zero_point) {
  float lo = 0.f, hi = 0.f;
  MinMax(x, n, &lo, &hi);
  float fscale = 0.f;
  int32_t zp = 0;
  if (lo != hi) {
    const double qmin = -128.0, qmax = 127.0;
    const float range = hi - lo;
    const double scale = static_cast<double>(range) / (qmax - qmin);
    const double rmin = lo, rmax = hi;
    const double zp_from_min = qmin - rmin / scale;
    const double zp_from_max = qmax - rmax / scale;
    const double err_min = std::fabs(qmin) + std::fabs(rmin / scale);
    const double err_max = std::fabs(qmax) + std::fabs(rmax / scale);
    const double zpd = err_min < err_max ? zp_from_min : zp_from_max;
    if (zpd < qmin)
      zp = -128;
    else if (zpd > qmax)
      zp = 127;
    else
      zp = static_cast<int32_t>(std::round(zpd));
    fscale = static_cast<float>(scale);
  }
  const float inv = fscale == 0.f ? 0.f : static_cast<float>(1.0 / static_cast<double>(fscale));
  QuantizeLoop(x, n, inv, zp, -128, 127, q);
  *zero_point = zp;
  return fscale;
}


#if TFC_QGEMM_X86
// CenterCopy's 8-bit case with AVX2: 16 values a step, then 8, then one at a time.
template <class T>
__attribute__((target("avx2"))) inline void CenterCopy8Avx2(const T* s, int16_t* d, size_t n, int32_t zp) {
  constexpr bool kSigned = static_cast<T>(-1) < 0;
  const __m256i z = _mm256_set1_epi16(static_cast<int16_t>(zp));
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i));
    const __m256i y = kSigned ? _mm256_cvtepi8_epi16(x) : _mm256_cvtepu8_epi16(x);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(d + i), _mm256_sub_epi16(y, z));
  }
  if (i + 8 <= n) {
    const __m128i x = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(s + i));
    const __m128i y = kSigned ? _mm_cvtepi8_epi16(x) : _mm_cvtepu8_epi16(x);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(d + i), _mm_sub_epi16(y, _mm256_castsi256_si128(z)));
    i += 8;
  }
  for (; i < n; ++i) d[i] = static_cast<int16_t>(int32_t{s[i]} - zp);
}
#endif

// d[i] = s[i] - zp as int16, for 8-bit or 16-bit quantized values: 16 at a
// time through vector conversions, then the tail (8-bit with AVX2: also 8 at
// a time; the im2col rows of a 24-channel layer spent a third of their time
// in the tail).
template <class T>
inline void CenterCopy(const T* s, int16_t* d, size_t n, int32_t zp) {
  size_t i = 0;
  if constexpr (sizeof(T) == 1) {
#if TFC_QGEMM_X86
    static const bool avx2 = cpu::HasAvx2Fma();
    if (avx2) return CenterCopy8Avx2(s, d, n, zp);
#endif
    typedef T v16src __attribute__((vector_size(16)));
    typedef int16_t v16i16 __attribute__((vector_size(32)));
    const v16i16 z = v16i16{} + static_cast<int16_t>(zp);
    for (; i + 16 <= n; i += 16) {
      v16src x;
      std::memcpy(&x, s + i, 16);
      const v16i16 y = __builtin_convertvector(x, v16i16) - z;
      std::memcpy(d + i, &y, 32);
    }
  }
  for (; i < n; ++i) d[i] = static_cast<int16_t>(int32_t{s[i]} - zp);
}

// ---------------------------------------------------------------------------
// Dot products
// ---------------------------------------------------------------------------

inline int32_t DotI16(const int16_t* a, const int16_t* b, size_t k) {
  uint32_t s = 0;  // wrapping sum (no signed overflow)
  for (size_t i = 0; i < k; ++i) s += static_cast<uint32_t>(int32_t{a[i]} * int32_t{b[i]});
  return static_cast<int32_t>(s);
}

// Four weight rows against one activation row.
inline void Dot4I16(const int16_t* a, const int16_t* b0, const int16_t* b1, const int16_t* b2,
                    const int16_t* b3, size_t k, int32_t* out) {
  uint32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;  // wrapping sums (no signed overflow)
  for (size_t i = 0; i < k; ++i) {
    const int32_t x = a[i];
    s0 += static_cast<uint32_t>(x * b0[i]);
    s1 += static_cast<uint32_t>(x * b1[i]);
    s2 += static_cast<uint32_t>(x * b2[i]);
    s3 += static_cast<uint32_t>(x * b3[i]);
  }
  out[0] = static_cast<int32_t>(s0);
  out[1] = static_cast<int32_t>(s1);
  out[2] = static_cast<int32_t>(s2);
  out[3] = static_cast<int32_t>(s3);
}

// Dot products of one centered activation row (k values) with `n` weight
// rows of `stride` values each (int32 results). The products of int8/uint8
// data fit int32 for any realistic k (< 2^16 at |v| <= 255).
inline void RowTimesWeights(const int16_t* a, const int16_t* w, size_t n, size_t k,
                            size_t stride, int32_t* out) {
  size_t c = 0;
  for (; c + 4 <= n; c += 4)
    Dot4I16(a, w + c * stride, w + (c + 1) * stride, w + (c + 2) * stride, w + (c + 3) * stride, k,
            out + c);
  for (; c < n; ++c) out[c] = DotI16(a, w + c * stride, k);
}


// ---------------------------------------------------------------------------
// Packed int16 GEMM (int32 accumulation)
// ---------------------------------------------------------------------------
//
// C[m][n] = sum_k A[m][k] * B[n][k] on centered int16 operands. B (the
// filter, n output channels of k values) is packed once into panels of
// kQNR = 16 channels, k taken in pairs: panel[k/2][16 channels][2]. A rows
// are int16 with k rounded up to even (zero tail). A tile is kQMR = 4 rows x
// 16 channels; on x86 with AVX2 one vpmaddwd per row and 8 channels adds two
// products at a time; elsewhere plain loops.
constexpr size_t kQNR = 16;
constexpr size_t kQMR = 4;

inline size_t PairCount(size_t k) { return (k + 1) / 2; }
inline size_t QPanels(size_t n) { return (n + kQNR - 1) / kQNR; }
inline size_t PackedQBSize(size_t k, size_t n) { return QPanels(n) * PairCount(k) * kQNR * 2; }

// w: [n][k] centered weights (row stride k).
inline void PackQB(const int16_t* w, size_t n, size_t k, int16_t* dst) {
  const size_t pairs = PairCount(k);
  for (size_t p = 0; p < QPanels(n); ++p)
    for (size_t kk = 0; kk < pairs; ++kk)
      for (size_t j = 0; j < kQNR; ++j)
        for (size_t t = 0; t < 2; ++t) {
          const size_t c = p * kQNR + j, ki = 2 * kk + t;
          *dst++ = (c < n && ki < k) ? w[c * k + ki] : int16_t{0};
        }
}

// out[r][0..16) = rows a[r] (r < 4, 2*pairs values each) times one panel.
inline void QTilePortable(const int16_t* const* a, const int16_t* b, size_t pairs,
                          int32_t* out) {
  uint32_t acc[kQMR][kQNR] = {};  // wrapping sums (no signed overflow)
  for (size_t kk = 0; kk < pairs; ++kk, b += 2 * kQNR) {
    for (size_t r = 0; r < kQMR; ++r) {
      const int32_t x0 = a[r][2 * kk], x1 = a[r][2 * kk + 1];
      for (size_t j = 0; j < kQNR; ++j)
        acc[r][j] += static_cast<uint32_t>(x0 * int32_t{b[2 * j]} + x1 * int32_t{b[2 * j + 1]});
    }
  }
  for (size_t r = 0; r < kQMR; ++r)
    for (size_t j = 0; j < kQNR; ++j) out[r * kQNR + j] = static_cast<int32_t>(acc[r][j]);
}

#if TFC_QGEMM_X86
// The sums of QTileAvx2 (rows a[0..3] times one panel) added to c (row r's
// channels 0-7 in c[2r], 8-15 in c[2r + 1]).
__attribute__((target("avx2"))) inline void QAccAvx2(const int16_t* const* a, const int16_t* b, size_t pairs,
                                                     __m256i& c00, __m256i& c01, __m256i& c10, __m256i& c11,
                                                     __m256i& c20, __m256i& c21, __m256i& c30, __m256i& c31) {
  const int16_t* a0 = a[0];
  const int16_t* a1 = a[1];
  const int16_t* a2 = a[2];
  const int16_t* a3 = a[3];
  for (size_t kk = 0; kk < pairs; ++kk, b += 2 * kQNR) {
    const __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b));
    const __m256i w1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + kQNR));
    int32_t v;
    std::memcpy(&v, a0 + 2 * kk, 4);
    __m256i x = _mm256_set1_epi32(v);
    c00 = _mm256_add_epi32(c00, _mm256_madd_epi16(x, w0));
    c01 = _mm256_add_epi32(c01, _mm256_madd_epi16(x, w1));
    std::memcpy(&v, a1 + 2 * kk, 4);
    x = _mm256_set1_epi32(v);
    c10 = _mm256_add_epi32(c10, _mm256_madd_epi16(x, w0));
    c11 = _mm256_add_epi32(c11, _mm256_madd_epi16(x, w1));
    std::memcpy(&v, a2 + 2 * kk, 4);
    x = _mm256_set1_epi32(v);
    c20 = _mm256_add_epi32(c20, _mm256_madd_epi16(x, w0));
    c21 = _mm256_add_epi32(c21, _mm256_madd_epi16(x, w1));
    std::memcpy(&v, a3 + 2 * kk, 4);
    x = _mm256_set1_epi32(v);
    c30 = _mm256_add_epi32(c30, _mm256_madd_epi16(x, w0));
    c31 = _mm256_add_epi32(c31, _mm256_madd_epi16(x, w1));
  }
}

// A 4x16 tile held in registers (row r's channels 0-7 in cr0, 8-15 in cr1)
// stored as out[4][16].
__attribute__((target("avx2"), always_inline)) inline void StoreTileAvx2(int32_t* out, __m256i c00, __m256i c01,
                                                                         __m256i c10, __m256i c11, __m256i c20,
                                                                         __m256i c21, __m256i c30, __m256i c31) {
  __m256i* o = reinterpret_cast<__m256i*>(out);
  _mm256_storeu_si256(o + 0, c00);
  _mm256_storeu_si256(o + 1, c01);
  _mm256_storeu_si256(o + 2, c10);
  _mm256_storeu_si256(o + 3, c11);
  _mm256_storeu_si256(o + 4, c20);
  _mm256_storeu_si256(o + 5, c21);
  _mm256_storeu_si256(o + 6, c30);
  _mm256_storeu_si256(o + 7, c31);
}

__attribute__((target("avx2"))) inline void QTileAvx2(const int16_t* const* a, const int16_t* b,
                                                      size_t pairs, int32_t* out) {
  __m256i c00 = _mm256_setzero_si256(), c01 = c00, c10 = c00, c11 = c00;
  __m256i c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  QAccAvx2(a, b, pairs, c00, c01, c10, c11, c20, c21, c30, c31);
  StoreTileAvx2(out, c00, c01, c10, c11, c20, c21, c30, c31);
}
#endif

using QTileFn = void (*)(const int16_t* const*, const int16_t*, size_t, int32_t*);

inline QTileFn SelectQTile() {
#if TFC_QGEMM_X86
  static const QTileFn fn = cpu::HasAvx2Fma() ? QTileAvx2 : QTilePortable;
  return fn;
#else
  return QTilePortable;
#endif
}

// The tiles of rows[r] (r < m, row stride `lda` int16 with a zero tail up to
// 2 * PairCount(k)) against packed B's panels from p0 on: emit(t, r0, mr, c0,
// nc) with each tile's sums t ([kQMR][kQNR]) for rows [r0, r0 + mr) and
// channels [c0, c0 + nc).
template <class Emit>
inline void QGemmTiles(const int16_t* rows, size_t m, size_t lda, const int16_t* packed, size_t k,
                       size_t n, Emit&& emit, size_t p0 = 0) {
  const QTileFn tile = SelectQTile();
  const size_t pairs = PairCount(k);
  alignas(32) int32_t t[kQMR * kQNR];
  for (size_t p = p0; p < QPanels(n); ++p) {
    const int16_t* b = packed + p * pairs * kQNR * 2;
    const size_t c0 = p * kQNR, nc = std::min(kQNR, n - c0);
    for (size_t r0 = 0; r0 < m; r0 += kQMR) {
      const size_t mr = std::min(kQMR, m - r0);
      const int16_t* a[kQMR];
      for (size_t r = 0; r < kQMR; ++r) a[r] = rows + (r0 + (r < mr ? r : 0)) * lda;
      tile(a, b, pairs, t);
      emit(t, r0, mr, c0, nc);
    }
  }
}

// acc[r][0..n) for rows[r] (as QGemmTiles); acc row stride `ldc`.
inline void QGemmRows(const int16_t* rows, size_t m, size_t lda, const int16_t* packed,
                      size_t k, size_t n, int32_t* acc, size_t ldc) {
  QGemmTiles(rows, m, lda, packed, k, n, [&](const int32_t* t, size_t r0, size_t mr, size_t c0, size_t nc) {
    for (size_t r = 0; r < mr; ++r)
      std::memcpy(acc + (r0 + r) * ldc + c0, t + r * kQNR, nc * sizeof(int32_t));
  });
}


// ---------------------------------------------------------------------------
// Vectorized per-channel requantization of one output row
// ---------------------------------------------------------------------------
//
// q[c] = clamp(round(high(acc[c] + bias[c]) / 2^r[c]) + zp), high() being the
// rounding doubling high multiply by mult[c] after the left shift l[c], and
// the final shift rounding ties upward (ruy's and TFLite's NEON output
// stages) or away from zero (TFLite's scalar MultiplyByQuantizedMultiplier),
// per channel. Both as closed forms without branches:
//   high  = ((x << l) * m + 2^30) >> 31                  (64-bit product)
//   q     = (high + round - (away && high < 0)) >> r      round = 2^(r-1) or 0
//
// Or the float output stage of the XNNPACK delegate (the official runtime's
// default), set by InitFloat: in float32 arithmetic,
//   q     = clamp(round_to_even(float(acc[c] + bias[c]) * scale[c]) + zp)
// with scale[c] = input scale * filter scale[c] / output scale (float32,
// in that order). Faster, and what users of the official runtime get.
struct ChannelRequant {
  std::vector<int32_t> mult, lshift, rshift, round, away;
  std::vector<float> scale;  // the float output stage's; empty for the fixed-point one
  // Where ties round upward, the two roundings nest into one floor:
  //   q = ((x << l) * m + 2^30 + [r > 0] 2^(30 + r)) >> (31 + r)  (64-bit)
  // These hold that addend and shift per channel as 64-bit lanes for the
  // vector output stage: per block of 16 channels, 8 for its even channels
  // then 8 for its odd ones (the tail block padded).
  std::vector<int64_t> round64, shift64;
  int32_t zp = 0, lo = 0, hi = 0;

  // vec_end: channels [0, vec_end) round ties upward, the rest away from 0.
  void Init(const std::vector<int32_t>& m, const std::vector<int>& shift, size_t vec_end,
            int32_t out_zp, int32_t out_lo, int32_t out_hi) {
    const size_t n = m.size();
    mult = m;
    lshift.assign(n, 0);
    rshift.assign(n, 0);
    round.assign(n, 0);
    away.assign(n, 0);
    for (size_t c = 0; c < n; ++c) {
      lshift[c] = shift[c] > 0 ? shift[c] : 0;
      rshift[c] = shift[c] > 0 ? 0 : -shift[c];
      round[c] = rshift[c] > 0 ? static_cast<int32_t>(uint32_t{1} << (rshift[c] - 1)) : 0;
      away[c] = (c >= vec_end && rshift[c] > 0) ? -1 : 0;
    }
    Lanes64();
    scale.clear();
    zp = out_zp;
    lo = out_lo;
    hi = out_hi;
  }

  // The float output stage with these per-channel scales.
  void InitFloat(const std::vector<float>& channel_scale, int32_t out_zp, int32_t out_lo,
                 int32_t out_hi) {
    for (auto* v : {&mult, &lshift, &rshift, &round, &away}) v->clear();
    round64.clear();
    shift64.clear();
    scale = channel_scale;
    zp = out_zp;
    lo = out_lo;
    hi = out_hi;
  }

  bool is_float() const { return !scale.empty(); }

  // Float scale per channel: input_scale * filter_scale[c] / output_scale,
  // float32 throughout (as the XNNPACK delegate computes it).
  static std::vector<float> FloatScales(float input_scale, const std::vector<float>& filter_scale,
                                        float output_scale) {
    std::vector<float> s(filter_scale.size());
    for (size_t c = 0; c < s.size(); ++c) s[c] = input_scale * filter_scale[c] / output_scale;
    return s;
  }

  // The same output stage for `lanes` channels, channel v having channel v %
  // n's parameters: n channels repeated, for kernels that put several pixels
  // of few channels side by side in one vector.
  ChannelRequant Repeated(size_t lanes) const {
    ChannelRequant r = *this;
    if (is_float()) {
      r.scale.resize(lanes);
      for (size_t c = 0; c < lanes; ++c) r.scale[c] = scale[c % scale.size()];
      return r;
    }
    const size_t n = mult.size();
    for (auto* v : {&r.mult, &r.lshift, &r.rshift, &r.round, &r.away}) {
      const std::vector<int32_t> base = *v;
      v->resize(lanes);
      for (size_t c = 0; c < lanes; ++c) (*v)[c] = base[c % n];
    }
    r.Lanes64();
    return r;
  }

  // round64 / shift64 from rshift.
  void Lanes64() {
    const size_t n = mult.size(), padded = (n + 15) / 16 * 16;
    round64.assign(padded, int64_t{1} << 30);
    shift64.assign(padded, 31);
    for (size_t c = 0; c < n; ++c) {
      const size_t slot = c / 16 * 16 + (c % 2) * 8 + (c % 16) / 2;
      round64[slot] = (int64_t{1} << 30) + (rshift[c] > 0 ? int64_t{1} << (30 + rshift[c]) : 0);
      shift64[slot] = 31 + rshift[c];
    }
  }

  size_t Bytes() const {
    return (mult.capacity() + lshift.capacity() + rshift.capacity() + round.capacity() +
            away.capacity()) * sizeof(int32_t) +
           (round64.capacity() + shift64.capacity()) * sizeof(int64_t) +
           scale.capacity() * sizeof(float);
  }

  int32_t One(int32_t x, size_t c) const {
    if (is_float()) {
      float y = static_cast<float>(x) * scale[c];
      y = std::min(std::max(y, static_cast<float>(lo - zp)), static_cast<float>(hi - zp));
      // |y| <= 510: adding 1.5 * 2^23 leaves y rounded (ties to even) in the low bits.
      const float biased = y + 12582912.0f;
      int32_t bits;
      std::memcpy(&bits, &biased, sizeof bits);
      return bits - 0x4B400000 + zp;
    }
    const int64_t prod = int64_t{WrappingShiftLeft(x, lshift[c])} * mult[c];
    const int32_t high = static_cast<int32_t>((prod + (int64_t{1} << 30)) >> 31);
    const int32_t adj = (high < 0) ? away[c] : 0;
    const int64_t v = ((int64_t{high} + round[c] + adj) >> rshift[c]) + zp;
    return static_cast<int32_t>(v < lo ? lo : (v > hi ? hi : v));
  }
};

#if TFC_QGEMM_X86
// The float output stage of 8 channels with its constants given: the sums v
// times s, clamped to [lo, hi] (the range less the zero point), zp added.
__attribute__((target("avx2"))) inline __m256i FloatStage8Avx2(__m256i v, __m256 s, __m256 lo, __m256 hi,
                                                               __m256i zp) {
  const __m256 y = _mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(v), s), lo), hi);
  return _mm256_add_epi32(_mm256_cvtps_epi32(y), zp);
}

// The 8 sums at acc8, channels [c0, c0 + 8) (+ bias[c0..]), requantized: clamped, zero point added.
__attribute__((target("avx2"))) inline __m256i Requant8Avx2(const ChannelRequant& q,
                                                            const int32_t* acc8,
                                                            const int32_t* bias, size_t c0) {
  const __m256i b = bias ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bias + c0)) : _mm256_setzero_si256();
  __m256i x = _mm256_add_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(acc8)), b);
  if (q.is_float())
    return FloatStage8Avx2(x, _mm256_loadu_ps(q.scale.data() + c0), _mm256_set1_ps(static_cast<float>(q.lo - q.zp)),
                           _mm256_set1_ps(static_cast<float>(q.hi - q.zp)), _mm256_set1_epi32(q.zp));
  x = _mm256_sllv_epi32(x, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q.lshift.data() + c0)));
  __m256i high =
      HighMulAvx2(x, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q.mult.data() + c0)));
  const __m256i neg = _mm256_cmpgt_epi32(_mm256_setzero_si256(), high);
  const __m256i adj =
      _mm256_and_si256(neg, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q.away.data() + c0)));
  high = _mm256_add_epi32(high, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q.round.data() + c0)));
  high = _mm256_add_epi32(high, adj);
  high = _mm256_srav_epi32(high, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q.rshift.data() + c0)));
  high = _mm256_add_epi32(high, _mm256_set1_epi32(q.zp));
  high = _mm256_max_epi32(high, _mm256_set1_epi32(q.lo));
  return _mm256_min_epi32(high, _mm256_set1_epi32(q.hi));
}

// The 8 values (already clamped to T's range) narrowed to the 8-bit T and stored at out.
template <class T>
__attribute__((target("avx2"))) inline void Store8Avx2(__m256i v, T* out) {
  static_assert(sizeof(T) == 1, "8-bit outputs only");
  const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  const __m128i b = static_cast<T>(-1) > 0 ? _mm_packus_epi16(w, w) : _mm_packs_epi16(w, w);
  _mm_storel_epi64(reinterpret_cast<__m128i*>(out), b);
}

// RequantizeSpan's whole blocks of 8 channels; returns how many it did.
template <class T>
__attribute__((target("avx2"))) inline size_t RequantizeSpanAvx2(const ChannelRequant& q, const int32_t* acc,
                                                                 const int32_t* bias, size_t c0, size_t count,
                                                                 T* out) {
  size_t j = 0;
  for (; j + 8 <= count; j += 8) Store8Avx2(Requant8Avx2(q, acc + j, bias, c0 + j), out + j);
  return j;
}

// Row r's 16 sums c0 (channels 0-7), c1 (8-15) through the float stage into 16 bytes at out.
template <class T>
__attribute__((target("avx2"))) inline void FloatStage16Avx2(__m256i c0, __m256i c1, __m256 s0, __m256 s1,
                                                             __m256 lo, __m256 hi, __m256i zp, T* out) {
  const __m256i v0 = FloatStage8Avx2(c0, s0, lo, hi, zp), v1 = FloatStage8Avx2(c1, s1, lo, hi, zp);
  // 16 int32 -> 16 int16 (lanes interleaved by 128-bit halves) -> 16 bytes in order
  const __m256i w = _mm256_permute4x64_epi64(_mm256_packs_epi32(v0, v1), 0xD8);
  const __m128i lo16 = _mm256_castsi256_si128(w), hi16 = _mm256_extracti128_si256(w, 1);
  const __m128i bytes = static_cast<T>(-1) > 0 ? _mm_packus_epi16(lo16, hi16) : _mm_packs_epi16(lo16, hi16);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out), bytes);
}

// A tile of 16 channels from c0 held in registers (row r's channels 0-7 in
// cr0, 8-15 in cr1, bias included) through the float stage, the channels'
// constants loaded once: rows r < mr (<= 4) into out + r * ldo. Always
// inlined: as a call, its eight vector arguments went through the stack and
// the stage took 13% of mobilenet_v2 int8 (avx2vnni).
template <class T>
__attribute__((target("avx2"), always_inline)) inline void FloatStageTileAvx2(const ChannelRequant& q, size_t c0, size_t mr, T* out,
                                                               size_t ldo, __m256i c00, __m256i c01, __m256i c10,
                                                               __m256i c11, __m256i c20, __m256i c21, __m256i c30,
                                                               __m256i c31) {
  const __m256 s0 = _mm256_loadu_ps(q.scale.data() + c0), s1 = _mm256_loadu_ps(q.scale.data() + c0 + 8);
  const __m256 lo = _mm256_set1_ps(static_cast<float>(q.lo - q.zp));
  const __m256 hi = _mm256_set1_ps(static_cast<float>(q.hi - q.zp));
  const __m256i zp = _mm256_set1_epi32(q.zp);
  FloatStage16Avx2(c00, c01, s0, s1, lo, hi, zp, out);
  if (mr > 1) FloatStage16Avx2(c10, c11, s0, s1, lo, hi, zp, out + ldo);
  if (mr > 2) FloatStage16Avx2(c20, c21, s0, s1, lo, hi, zp, out + 2 * ldo);
  if (mr > 3) FloatStage16Avx2(c30, c31, s0, s1, lo, hi, zp, out + 3 * ldo);
}

// QTileAvx2 with the float stage fused: rows a[0..3] times the panel of
// channels [c0, c0 + 16), the sums started from the bias and put through the
// stage from registers; rows r < mr to out + r * ldo.
template <class T>
__attribute__((target("avx2"))) inline void QTileFloatAvx2(const int16_t* const* a, const int16_t* b, size_t pairs,
                                                           const ChannelRequant& q, const int32_t* bias,
                                                           size_t c0, size_t mr, T* out, size_t ldo) {
  const __m256i zero = _mm256_setzero_si256();
  __m256i c00 = bias ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bias + c0)) : zero;
  __m256i c01 = bias ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bias + c0 + 8)) : zero;
  __m256i c10 = c00, c11 = c01, c20 = c00, c21 = c01, c30 = c00, c31 = c01;
  QAccAvx2(a, b, pairs, c00, c01, c10, c11, c20, c21, c30, c31);
  FloatStageTileAvx2(q, c0, mr, out, ldo, c00, c01, c10, c11, c20, c21, c30, c31);
}

#endif

// The same on AVX-512 (F, BW, VL; checked with the VNNI kernels, which need
// all of them): 16 channels at a time, the tail masked. TFC_QGEMM_AVX512: this
// AVX-512 code (also the 8-bit GEMM below and the int8 depthwise) is built.
#if TFC_QGEMM_X86 && defined(__x86_64__)
#define TFC_QGEMM_AVX512 1
#define TFC_VNNI_FN __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))

// The output stage of ChannelRequant::One for 16 channels at once.
// The steps no channel of the block needs are skipped: the bias add (no
// bias, or the caller started its sums from it), the left shift (all 0), the
// away-from-zero adjustment (no channel rounds so), and the clamp when the
// range is all of int8 (the saturating narrowing in Q8Store is that clamp;
// lo = -128 and hi = 127 never occur for uint8 outputs).
struct Q8Params {
  __m512i bias, lshift, mult, mult_odd, rshift, round, away;  // mult_odd: odd lanes' in even
  __m512i round_even, round_odd, shift_even, shift_odd;  // round64, shift64 (no away)
  __m512 scale, lo_less_zp, hi_less_zp;  // the float output stage
  bool has_bias, has_lshift, has_away, clamp, is_float;
};

// Channels c0 + [0, 16) masked by m; bias may be null.
TFC_VNNI_FN inline Q8Params Q8Load(const ChannelRequant& q, const int32_t* bias, size_t c0,
                                   __mmask16 m) {
  Q8Params p;
  p.bias = bias ? _mm512_maskz_loadu_epi32(m, bias + c0) : _mm512_setzero_si512();
  p.has_bias = bias != nullptr;
  p.is_float = q.is_float();
  if (p.is_float) {
    p.scale = _mm512_maskz_loadu_ps(m, q.scale.data() + c0);
    p.lo_less_zp = _mm512_set1_ps(static_cast<float>(q.lo - q.zp));
    p.hi_less_zp = _mm512_set1_ps(static_cast<float>(q.hi - q.zp));
    return p;
  }
  p.lshift = _mm512_maskz_loadu_epi32(m, q.lshift.data() + c0);
  p.mult = _mm512_maskz_loadu_epi32(m, q.mult.data() + c0);
  p.mult_odd = _mm512_srli_epi64(p.mult, 32);
  p.away = _mm512_maskz_loadu_epi32(m, q.away.data() + c0);
  p.has_away = _mm512_test_epi32_mask(p.away, p.away) != 0;
  if (p.has_away) {
    p.rshift = _mm512_maskz_loadu_epi32(m, q.rshift.data() + c0);
    p.round = _mm512_maskz_loadu_epi32(m, q.round.data() + c0);
  } else {  // c0 is a multiple of 16: a whole (padded) block of round64 / shift64, if any lane
    const __mmask8 any = m ? static_cast<__mmask8>(0xFF) : static_cast<__mmask8>(0);
    p.round_even = _mm512_maskz_loadu_epi64(any, q.round64.data() + c0);
    p.round_odd = _mm512_maskz_loadu_epi64(any, q.round64.data() + c0 + 8);
    p.shift_even = _mm512_maskz_loadu_epi64(any, q.shift64.data() + c0);
    p.shift_odd = _mm512_maskz_loadu_epi64(any, q.shift64.data() + c0 + 8);
  }
  p.has_lshift = _mm512_test_epi32_mask(p.lshift, p.lshift) != 0;
  p.clamp = !(q.lo == -128 && q.hi == 127);
  return p;
}

// 16 accumulators (bias not yet added, unless p has none) requantized (int32,
// clamped unless Q8Store's saturation is the clamp); the same closed form as
// Requant8Avx2. Every constant is a caller's register.
TFC_VNNI_FN inline __m512i Q8Requant(const Q8Params& p, __m512i x, __m512i zp, __m512i lo,
                                     __m512i hi) {
  if (p.has_bias) x = _mm512_add_epi32(x, p.bias);
  if (p.is_float) {  // clamped as floats, so the conversion never overflows
    __m512 y = _mm512_mul_ps(_mm512_cvtepi32_ps(x), p.scale);
    y = _mm512_min_ps(_mm512_max_ps(y, p.lo_less_zp), p.hi_less_zp);
    return _mm512_add_epi32(_mm512_cvtps_epi32(y), zp);
  }
  if (p.has_lshift) x = _mm512_sllv_epi32(x, p.lshift);
  if (!p.has_away) {  // one 64-bit floor per product (round64, shift64)
    const __m512i pe = _mm512_srav_epi64(
        _mm512_add_epi64(_mm512_mul_epi32(x, p.mult), p.round_even), p.shift_even);
    const __m512i po = _mm512_srav_epi64(
        _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(x, 32), p.mult_odd), p.round_odd),
        p.shift_odd);
    // The results are the low halves of the 64-bit lanes: po's move up into the odd lanes.
    __m512i v = _mm512_mask_shuffle_epi32(pe, static_cast<__mmask16>(0xAAAA), po, _MM_PERM_CCAA);
    v = _mm512_add_epi32(v, zp);
    return p.clamp ? _mm512_min_epi32(_mm512_max_epi32(v, lo), hi) : v;
  }
  const __m512i nudge = _mm512_set1_epi64(int64_t{1} << 30);
  const __m512i pe = _mm512_add_epi64(_mm512_mul_epi32(x, p.mult), nudge);
  const __m512i po = _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(x, 32), p.mult_odd), nudge);
  // Bits 31..62 of each 64-bit product: the low half of pe >> 31, the high half of po << 1.
  __m512i high = _mm512_mask_blend_epi32(static_cast<__mmask16>(0xAAAA), _mm512_srli_epi64(pe, 31),
                                         _mm512_slli_epi64(po, 1));
  if (p.has_away) {
    const __mmask16 neg = _mm512_cmplt_epi32_mask(high, _mm512_setzero_si512());
    high = _mm512_mask_add_epi32(high, neg, high, p.away);
  }
  high = _mm512_add_epi32(_mm512_srav_epi32(_mm512_add_epi32(high, p.round), p.rshift), zp);
  return p.clamp ? _mm512_min_epi32(_mm512_max_epi32(high, lo), hi) : high;
}

// The lanes of m (already clamped to T's range) narrowed to the 8-bit T and stored at out.
template <class T>
TFC_VNNI_FN inline void Q8Store(__mmask16 m, T* out, __m512i v) {
  static_assert(sizeof(T) == 1, "8-bit outputs only");
  const __m128i b = static_cast<T>(-1) > 0 ? _mm512_cvtusepi32_epi8(v) : _mm512_cvtsepi32_epi8(v);
  _mm_mask_storeu_epi8(out, m, b);
}

inline __mmask16 Q8Mask(size_t left) {
  return left >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << left) - 1);
}

template <class T>
TFC_VNNI_FN inline void RequantizeRowAvx512(const ChannelRequant& q, const int32_t* acc,
                                            const int32_t* bias, size_t n, T* out) {
  const __m512i zp = _mm512_set1_epi32(q.zp), lo = _mm512_set1_epi32(q.lo),
                hi = _mm512_set1_epi32(q.hi);
  for (size_t c = 0; c < n; c += 16) {
    const __mmask16 m = Q8Mask(n - c);
    const Q8Params p = Q8Load(q, bias, c, m);
    Q8Store(m, out + c, Q8Requant(p, _mm512_maskz_loadu_epi32(m, acc + c), zp, lo, hi));
  }
}

#else
#define TFC_QGEMM_AVX512 0
#endif

// The float output stage (ChannelRequant::One's, step for step) 4 channels at
// a time with vector extensions (NEON on ARM, SSE2 on x86 without AVX2): the
// portable path's only vector output stage; returns how many it did.
template <class T>
inline size_t RequantizeSpanFloat4(const ChannelRequant& q, const int32_t* acc, const int32_t* bias, size_t c0,
                                   size_t count, T* out) {
  typedef uint32_t v4u __attribute__((vector_size(16)));
  typedef uint32_t v4uu __attribute__((vector_size(16), aligned(4), may_alias));
  typedef int32_t v4i __attribute__((vector_size(16)));
  const gemm::v4f lo = gemm::SplatV4(static_cast<float>(q.lo - q.zp));
  const gemm::v4f hi = gemm::SplatV4(static_cast<float>(q.hi - q.zp));
  const gemm::v4f magic = gemm::SplatV4(12582912.0f);
  const v4u offset = v4u{} + static_cast<uint32_t>(q.zp - 0x4B400000);
  size_t j = 0;
  for (; j + 4 <= count; j += 4) {
    v4u x = *reinterpret_cast<const v4uu*>(acc + j);  // wrapping sums, as One's callers add them
    if (bias) x += *reinterpret_cast<const v4uu*>(bias + c0 + j);
    gemm::v4f y = __builtin_convertvector((v4i)x, gemm::v4f) * gemm::LoadV4(q.scale.data() + c0 + j);
    y = gemm::MinV4(gemm::MaxV4(y, lo), hi) + magic;
    const v4u r = (v4u)y + offset;  // the bits, as One's memcpy
    for (int i = 0; i < 4; ++i) out[j + i] = static_cast<T>(static_cast<int32_t>(r[i]));
  }
  return j;
}

// Channels [c0, c0 + count) of one output row: acc and out point at channel
// c0's values; bias (nullable) and q are indexed by channel.
template <class T>
inline void RequantizeSpan(const ChannelRequant& q, const int32_t* acc, const int32_t* bias, size_t c0,
                           size_t count, T* out) {
  size_t j = 0;
#if TFC_QGEMM_X86
  static const bool avx2 = cpu::HasAvx2Fma();
  if (avx2) j = RequantizeSpanAvx2(q, acc, bias, c0, count, out);
#endif
  if (j == 0 && q.is_float()) j = RequantizeSpanFloat4(q, acc, bias, c0, count, out);
  for (; j < count; ++j) {
    const size_t c = c0 + j;
    const int32_t x =
        bias ? static_cast<int32_t>(static_cast<uint32_t>(acc[j]) + static_cast<uint32_t>(bias[c]))
             : acc[j];
    out[j] = static_cast<T>(q.One(x, c));
  }
}

// One row of n channels: out[c] = requantized acc[c] + bias[c] (bias may be null).
template <class T>
inline void RequantizeRow(const ChannelRequant& q, const int32_t* acc, const int32_t* bias,
                          size_t n, T* out) {
#if TFC_QGEMM_AVX512
  static const bool avx512 = cpu::HasAvx512Vnni();
  if (avx512) return RequantizeRowAvx512(q, acc, bias, n, out);
#endif
  RequantizeSpan(q, acc, bias, 0, n, out);
}

// QGemmRows with the output stage fused (8-bit T, ChannelRequant q, bias
// nullable): each tile's sums go from the kernel's block straight into out
// (row stride ldo). As a second pass over int32 rows written to memory
// (RequantizeRow) the output stage took a fifth of mobilenet_v2 int8 with
// the AVX2 kernels.
template <class T>
inline void QGemmRowsRequant(const int16_t* rows, size_t m, size_t lda, const int16_t* packed, size_t k,
                             size_t n, const ChannelRequant& q, const int32_t* bias, T* out, size_t ldo) {
#if TFC_QGEMM_X86
  // AVX2 and the float stage: whole panels through QTileFloatAvx2, the sums never leaving the registers
  // (a store and reload of every tile and the stage's bias add took a fifth of the stage's time).
  static const bool avx2 = cpu::HasAvx2Fma();
  const size_t whole = avx2 && q.is_float() ? n / kQNR : 0;
  const size_t pairs = PairCount(k);
  for (size_t p = 0; p < whole; ++p) {
    const int16_t* b = packed + p * pairs * kQNR * 2;
    for (size_t r0 = 0; r0 < m; r0 += kQMR) {
      const size_t mr = std::min(kQMR, m - r0);
      const int16_t* a[kQMR];
      for (size_t r = 0; r < kQMR; ++r) a[r] = rows + (r0 + (r < mr ? r : 0)) * lda;
      QTileFloatAvx2(a, b, pairs, q, bias, p * kQNR, mr, out + r0 * ldo + p * kQNR, ldo);
    }
  }
#else
  const size_t whole = 0;
#endif
  // The rest (every panel without AVX2 or with the fixed-point stage; else the last, partial one).
  QGemmTiles(rows, m, lda, packed, k, n, [&](const int32_t* t, size_t r0, size_t mr, size_t c0, size_t nc) {
    for (size_t r = 0; r < mr; ++r) RequantizeSpan(q, t + r * kQNR, bias, c0, nc, out + (r0 + r) * ldo + c0);
  }, whole);
}

// ---------------------------------------------------------------------------
// 8-bit GEMM with AVX-512 VNNI (int8 activations, symmetric int8 weights)
// ---------------------------------------------------------------------------
//
// vpdpbusd adds four u8 x s8 products into each int32 lane. Activations are
// biased to unsigned (a + 128, i.e. the byte XOR 0x80) and the weights stay
// raw, so the GEMM gives sum((a + 128) * w); the caller removes
// (128 + input_zero_point) * sum(w) per channel (PackQ8B's offsets) to get the
// centered sum((a - zp) * w) exactly (all arithmetic mod 2^32, as the int16
// GEMM). B is packed into panels of kQ8NR = 16 channels, k in quads:
// panel[k/4][16 channels][4]; A rows are k rounded up to a multiple of 4.
// A tile is kQ8MR = 8 rows x 16 or 32 channels.
constexpr size_t kQ8NR = 16;
constexpr size_t kQ8MR = 8;

inline size_t QuadCount(size_t k) { return (k + 3) / 4; }
inline size_t Q8RowStride(size_t k) { return 4 * QuadCount(k); }
inline size_t PackedQ8BSize(size_t k, size_t n) { return QPanels(n) * QuadCount(k) * kQ8NR * 4; }

// Which kernels run the 8-bit GEMM here: AVX-512 VNNI (512-bit), AVX-VNNI
// (256-bit, q8gemm256.inc), the same 256-bit kernels through AVX-512 VL
// (cpu::AvxVnniIsEvex: a test setting), the aarch64 dot product
// (q8gemm_dot.inc), or none (the int16 GEMM runs instead).
enum class Q8Isa { kNone, kAvx512, kAvxVnni, kAvxVnniEvex, kDotProd };

inline Q8Isa Q8IsaHere() {
#if TFC_QGEMM_X86 && defined(__x86_64__)
  static const Q8Isa isa = cpu::HasAvx512Vnni() ? Q8Isa::kAvx512
                           : !cpu::HasAvxVnni()  ? Q8Isa::kNone
                           : cpu::AvxVnniIsEvex() ? Q8Isa::kAvxVnniEvex
                                                  : Q8Isa::kAvxVnni;
  return isa;
#elif TFC_QGEMM_DOT
  static const Q8Isa isa = cpu::HasDotProd() ? Q8Isa::kDotProd : Q8Isa::kNone;
  return isa;
#else
  return Q8Isa::kNone;
#endif
}

// The constant PackQ8B removes from the rows' values: 128 + zp where the
// kernels multiply the unsigned rows (vpdpbusd), zp where they flip the rows
// back to signed (sdot).
inline int32_t Q8OffsetShift(int32_t zp) { return (Q8IsaHere() == Q8Isa::kDotProd ? 0 : 128) + zp; }

// Packs w ([n][k] int8 weights, row stride k) into dst (PackedQ8BSize(k, n)
// bytes, every one written: no need to clear it) and sets the GEMM's starting
// sums, which make them centered: with the rows q + 128 (unsigned),
// offsets[c] = -(128 + zp) * sum_k w[c][k] (mod 2^32), zp the rows' zero
// point (-zp * sum on aarch64: Q8OffsetShift). Reads the weights once, at
// allocation, panel by panel; `read` hears after each panel where the weights
// read so far end (a ReadBehind).
template <class Read = gemm::NoReadBehind>
void PackQ8B(const int8_t* w, size_t n, size_t k, int32_t zp, int8_t* dst, int32_t* offsets, Read read = Read()) {
  const size_t quads = QuadCount(k), full = k / 4, step = kQ8NR * 4;
  if (n % kQ8NR) std::memset(dst + n / kQ8NR * quads * step, 0, quads * step);  // unused channels
  const uint32_t shift = static_cast<uint32_t>(Q8OffsetShift(zp));
  // A panel's quads are what the float GEMM's panel holds in its floats
  // (gemm::PackBStrided): 4 channels x 4 quads at a time, as a 4x4 transpose,
  // for a whole panel's first `done` quads; the rest one channel at a time.
  const size_t done = full / 4 * 4;
  for (size_t p = 0; p * kQ8NR < n; ++p) {
    const size_t c0 = p * kQ8NR, nc = std::min(kQ8NR, n - c0);
    const int8_t* rows = w + c0 * k;
    int8_t* out = dst + p * quads * step;
    const bool whole = nc == kQ8NR;
    for (size_t q = 0; whole && q < done; q += 4)
      for (size_t g = 0; g < kQ8NR; g += 4) {
        gemm::v4f r[4];
        for (size_t i = 0; i < 4; ++i) std::memcpy(&r[i], rows + (g + i) * k + 4 * q, 16);
        gemm::TransposeV4(r);
        for (size_t i = 0; i < 4; ++i) std::memcpy(out + (q + i) * step + 4 * g, &r[i], 16);
      }
    for (size_t c = 0; c < nc; ++c) {
      int8_t* d = out + c * 4;
      const int8_t* s = rows + c * k;
      for (size_t kk = whole ? done : 0; kk < full; ++kk) std::memcpy(d + kk * step, s + 4 * kk, 4);
      if (full < quads) {
        int8_t last[4] = {0, 0, 0, 0};
        std::memcpy(last, s + 4 * full, k - 4 * full);
        std::memcpy(d + full * step, last, 4);
      }
      int32_t sum;
      qmm::RowSums(s, 1, k, &sum);
      offsets[c0 + c] = static_cast<int32_t>(0u - shift * static_cast<uint32_t>(sum));
    }
    read(rows + nc * k);
  }
}

// Whether the last panel of a GEMM over n channels is a single one (an odd
// panel count) that Q8OctetLastPanel can turn into octets: its runs of
// tap_quads quads pair up (an even count).
// Only the AVX-512 kernels read octets.
inline bool Q8OctetsFit(size_t n, size_t tap_quads) {
  return Q8IsaHere() == Q8Isa::kAvx512 && QPanels(n) % 2 == 1 && tap_quads % 2 == 0;
}

// Rewrites the last panel of packed B (PackQ8B, k bytes per channel, k a
// multiple of 8) in octets: quads 2o and 2o + 1 as panel[o][16 channels][8],
// channels 0-7 in the first 64 bytes. Q8TileOctets then broadcasts 8 bytes
// of a row for two vpdpbusd where a lone panel's quads take one broadcast
// each: the broadcasts were the bound of 16-channel convolutions.
inline void Q8OctetLastPanel(int8_t* packed, size_t k, size_t n) {
  const size_t quads = QuadCount(k), step = kQ8NR * 4;
  int8_t* panel = packed + (QPanels(n) - 1) * quads * step;
  int8_t pair[2 * kQ8NR * 4];
  for (size_t q = 0; q + 1 < quads; q += 2) {
    int8_t* d = panel + q * step;
    std::memcpy(pair, d, sizeof(pair));
    for (size_t c = 0; c < kQ8NR; ++c) {
      std::memcpy(d + 8 * c, pair + 4 * c, 4);
      std::memcpy(d + 8 * c + 4, pair + step + 4 * c, 4);
    }
  }
}

#if TFC_QGEMM_AVX512
// d[i] = s[i] + 128 as unsigned bytes (the sign bit flipped), where the VNNI
// GEMM runs: 64 bytes a step, the tail masked (im2col runs are often 8-27 bytes).
TFC_VNNI_FN inline void BiasToUnsigned512(const int8_t* s, uint8_t* d, size_t n) {
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  size_t i = 0;
  for (; i + 64 <= n; i += 64)
    _mm512_storeu_si512(d + i, _mm512_xor_si512(_mm512_loadu_si512(s + i), flip));
  if (i < n) {
    const __mmask64 m = (__mmask64{1} << (n - i)) - 1;
    _mm512_mask_storeu_epi8(d + i, m, _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, s + i), flip));
  }
}
#endif

// out[i] = in[i] + 128 as unsigned bytes. Only where the 8-bit GEMM runs: with
// AVX-512 64 bytes a step, else (AVX-VNNI) 16.
inline void ToUnsigned(const int8_t* in, uint8_t* out, size_t n) {
  size_t i = 0;
#if TFC_QGEMM_AVX512
  if (Q8IsaHere() == Q8Isa::kAvx512) return BiasToUnsigned512(in, out, n);
  const __m128i flip = _mm_set1_epi8(static_cast<char>(0x80));
  for (; i + 16 <= n; i += 16)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i),
                     _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i)), flip));
#endif
  for (; i < n; ++i) out[i] = static_cast<uint8_t>(in[i] ^ 0x80);
}

// in (count int8 values) made unsigned into u8, then pad_bytes of the zero
// point's byte (zp + 128) after it, for the GEMM rows to point or copy from;
// split over the pool when `parallel`.
inline void UnsignedImage(ThreadPool& pool, bool parallel, const int8_t* in, size_t count,
                          int32_t zp, size_t pad_bytes, uint8_t* u8) {
  std::memset(u8 + count, static_cast<uint8_t>(zp + 128), pad_bytes);
  auto convert = [&](int64_t b, int64_t e) { ToUnsigned(in + b, u8 + b, static_cast<size_t>(e - b)); };
  if (parallel)
    pool.ParallelFor(static_cast<int64_t>(count), 1 << 14, convert);
  else
    convert(0, static_cast<int64_t>(count));
}

// The m rows of in ([m][k] int8) as the rows of the 8-bit GEMM: unsigned
// (q + 128), row stride lda >= Q8RowStride(k), zeros past k.
inline void ToUnsignedRows(const int8_t* in, size_t m, size_t k, uint8_t* rows, size_t lda) {
  for (size_t r = 0; r < m; ++r) {
    uint8_t* d = rows + r * lda;
    ToUnsigned(in + r * k, d, k);
    std::memset(d + k, 0, lda - k);
  }
}

// Whether Q8GemmRequant can run here.
inline bool HasQ8Gemm() { return Q8IsaHere() != Q8Isa::kNone; }

#if TFC_QGEMM_AVX512
// Eight rows times NP panels (b, b + panel_stride). Row r is `taps` runs of
// tap_quads * 4 bytes, run t at a[r * taps + t] (one run: a plain row; one
// per filter tap: the rows of an indirect convolution, which point into the
// input itself). The sums start from bias (may be null). Rows r < mr go to
// out + r * ldo, channels c0 + [0, nc), nc <= 16 * NP: requantized by *q for
// an int8 Out, as they are (mod 2^32) for int32. The accumulators are named
// variables so that they stay in registers.
// MR: the rows computed (a last tile of mr < 8 rows takes the smallest MR
// of 1, 2, 4, 8 that holds them: a 7x7 layer's 49 rows were computed as 56).
#define TFC_Q8_ROW(r)                                             \
  do {                                                            \
    if constexpr (MR > r) {                                       \
      int32_t v;                                                  \
      std::memcpy(&v, a##r + off, 4);                             \
      const __m512i x = _mm512_set1_epi32(v);                     \
      c##r##0 = _mm512_dpbusd_epi32(c##r##0, x, w0);              \
      if (NP == 2) c##r##1 = _mm512_dpbusd_epi32(c##r##1, x, w1); \
    }                                                             \
  } while (0)

template <int NP, class Out, int MR = 8>
TFC_VNNI_FN inline void Q8TileVnni(const uint8_t* const* a, size_t taps, size_t tap_quads,
                                   const int8_t* b, size_t panel_stride, const ChannelRequant* q,
                                   const int32_t* bias, Out* out, size_t ldo, size_t c0,
                                   size_t mr, size_t nc) {
  static_assert(NP == 1 || NP == 2, "one or two panels");
  // The sums start from the bias, so the output stage has no bias to add.
  const __m512i zero = _mm512_setzero_si512();
  __m512i c00 = bias ? _mm512_maskz_loadu_epi32(Q8Mask(nc), bias + c0) : zero;
  __m512i c01 = bias && NP == 2 && nc > kQ8NR
                    ? _mm512_maskz_loadu_epi32(Q8Mask(nc - kQ8NR), bias + c0 + kQ8NR)
                    : zero;
  __m512i c10 = c00, c20 = c00, c30 = c00, c40 = c00, c50 = c00, c60 = c00, c70 = c00;
  __m512i c11 = c01, c21 = c01, c31 = c01, c41 = c01, c51 = c01, c61 = c01, c71 = c01;
  for (size_t t = 0; t < taps; ++t) {
    const uint8_t *a0 = a[t], *a1 = a[taps + t], *a2 = a[2 * taps + t], *a3 = a[3 * taps + t];
    const uint8_t *a4 = a[4 * taps + t], *a5 = a[5 * taps + t], *a6 = a[6 * taps + t],
                  *a7 = a[7 * taps + t];
    const int8_t* b0 = b + t * tap_quads * kQ8NR * 4;
    const int8_t* b1 = b0 + (NP == 2 ? panel_stride : 0);
    for (size_t kk = 0; kk < tap_quads; ++kk) {
      const size_t off = 4 * kk;
      const __m512i w0 = _mm512_loadu_si512(b0 + kk * kQ8NR * 4);
      const __m512i w1 = NP == 2 ? _mm512_loadu_si512(b1 + kk * kQ8NR * 4) : w0;
      TFC_Q8_ROW(0);
      TFC_Q8_ROW(1);
      TFC_Q8_ROW(2);
      TFC_Q8_ROW(3);
      TFC_Q8_ROW(4);
      TFC_Q8_ROW(5);
      TFC_Q8_ROW(6);
      TFC_Q8_ROW(7);
    }
  }
  const __m512i rows0[kQ8MR] = {c00, c10, c20, c30, c40, c50, c60, c70};
  const __m512i rows1[kQ8MR] = {c01, c11, c21, c31, c41, c51, c61, c71};
  for (int p = 0; p < NP; ++p) {
    const size_t done = static_cast<size_t>(p) * kQ8NR;
    if (nc <= done) break;
    const size_t left = nc - done;
    const __mmask16 m = Q8Mask(left);
    const __m512i* v = p == 0 ? rows0 : rows1;
    if constexpr (std::is_same<Out, int32_t>::value) {
      for (size_t r = 0; r < mr; ++r) _mm512_mask_storeu_epi32(out + r * ldo + c0 + done, m, v[r]);
    } else {
      const Q8Params ch = Q8Load(*q, nullptr, c0 + done, m);
      const __m512i zp = _mm512_set1_epi32(q->zp), lo = _mm512_set1_epi32(q->lo),
                    hi = _mm512_set1_epi32(q->hi);
      for (size_t r = 0; r < mr; ++r)
        Q8Store(m, out + r * ldo + c0 + done, Q8Requant(ch, v[r], zp, lo, hi));
    }
  }
}
#undef TFC_Q8_ROW

// A tile of mr <= 8 rows: Q8TileVnni computing the fewest of 1, 2, 4 or 8
// rows that hold them.
template <int NP, class Out>
TFC_VNNI_FN inline void Q8Tile(const uint8_t* const* a, size_t taps, size_t tap_quads,
                               const int8_t* b, size_t panel_stride, const ChannelRequant* q,
                               const int32_t* bias, Out* out, size_t ldo, size_t c0, size_t mr,
                               size_t nc) {
  if (mr == 1)
    Q8TileVnni<NP, Out, 1>(a, taps, tap_quads, b, panel_stride, q, bias, out, ldo, c0, mr, nc);
  else if (mr == 2)
    Q8TileVnni<NP, Out, 2>(a, taps, tap_quads, b, panel_stride, q, bias, out, ldo, c0, mr, nc);
  else if (mr <= 4)
    Q8TileVnni<NP, Out, 4>(a, taps, tap_quads, b, panel_stride, q, bias, out, ldo, c0, mr, nc);
  else
    Q8TileVnni<NP, Out, 8>(a, taps, tap_quads, b, panel_stride, q, bias, out, ldo, c0, mr, nc);
}

// Eight rows times the last panel in octets (Q8OctetLastPanel), int8 out:
// each row's 8 bytes broadcast once for two vpdpbusd, channels 0-7 and 8-15,
// whose lanes hold a channel's two quads' sums side by side; the pairs are
// added at the end. Otherwise as Q8TileVnni<1>: tap_quads even.
#define TFC_Q8_OCT(r)                                  \
  do {                                                 \
    int64_t v;                                         \
    std::memcpy(&v, a##r + off, 8);                    \
    const __m512i x = _mm512_set1_epi64(v);            \
    l##r = _mm512_dpbusd_epi32(l##r, x, w0);           \
    h##r = _mm512_dpbusd_epi32(h##r, x, w1);           \
  } while (0)

TFC_VNNI_FN inline void Q8TileOctets(const uint8_t* const* a, size_t taps, size_t tap_quads,
                                     const int8_t* b, const ChannelRequant* q, const int32_t* bias,
                                     int8_t* out, size_t ldo, size_t c0, size_t mr, size_t nc) {
  const __m512i zero = _mm512_setzero_si512();
  __m512i l0 = zero, l1 = zero, l2 = zero, l3 = zero, l4 = zero, l5 = zero, l6 = zero, l7 = zero;
  __m512i h0 = zero, h1 = zero, h2 = zero, h3 = zero, h4 = zero, h5 = zero, h6 = zero, h7 = zero;
  for (size_t t = 0; t < taps; ++t) {
    const uint8_t *a0 = a[t], *a1 = a[taps + t], *a2 = a[2 * taps + t], *a3 = a[3 * taps + t];
    const uint8_t *a4 = a[4 * taps + t], *a5 = a[5 * taps + t], *a6 = a[6 * taps + t],
                  *a7 = a[7 * taps + t];
    const int8_t* bt = b + t * tap_quads * kQ8NR * 4;
    for (size_t kk = 0; kk < tap_quads; kk += 2) {
      const size_t off = 4 * kk;
      const __m512i w0 = _mm512_loadu_si512(bt + kk * kQ8NR * 4);
      const __m512i w1 = _mm512_loadu_si512(bt + kk * kQ8NR * 4 + 64);
      TFC_Q8_OCT(0);
      TFC_Q8_OCT(1);
      TFC_Q8_OCT(2);
      TFC_Q8_OCT(3);
      TFC_Q8_OCT(4);
      TFC_Q8_OCT(5);
      TFC_Q8_OCT(6);
      TFC_Q8_OCT(7);
    }
  }
  const __mmask16 m = Q8Mask(nc);
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
  const __m512i b16 = bias ? _mm512_maskz_loadu_epi32(m, bias + c0) : zero;
  const __m512i lo8[kQ8MR] = {l0, l1, l2, l3, l4, l5, l6, l7};
  const __m512i hi8[kQ8MR] = {h0, h1, h2, h3, h4, h5, h6, h7};
  const Q8Params ch = Q8Load(*q, nullptr, c0, m);
  const __m512i zp = _mm512_set1_epi32(q->zp), lo = _mm512_set1_epi32(q->lo), hi = _mm512_set1_epi32(q->hi);
  for (size_t r = 0; r < mr; ++r) {
    const __m512i sum = _mm512_add_epi32(_mm512_add_epi32(_mm512_permutex2var_epi32(lo8[r], even, hi8[r]),
                                                          _mm512_permutex2var_epi32(lo8[r], odd, hi8[r])),
                                         b16);
    Q8Store(m, out + r * ldo + c0, Q8Requant(ch, sum, zp, lo, hi));
  }
}
#undef TFC_Q8_OCT

// The panel loop of the GEMMs below over panels [p0, p1) (p0 even):
// row_runs(r0, mr) gives the run pointers of the tile of rows r0 + [0, 8)
// (rows past mr repeat valid ones).
// octets: the last panel is in octets (Q8OctetLastPanel; int8 Out).
template <class RowRuns, class Out>
TFC_VNNI_FN inline void Q8Panels(RowRuns row_runs, size_t m, size_t taps, size_t tap_quads,
                                 const int8_t* packed, size_t n, const ChannelRequant* q,
                                 const int32_t* bias, Out* out, size_t ldo, size_t p0, size_t p1,
                                 bool octets = false) {
  const size_t panel = taps * tap_quads * kQ8NR * 4;
  for (size_t p = p0; p < p1; p += 2) {
    const int8_t* b = packed + p * panel;
    const size_t c0 = p * kQ8NR, nc = std::min(2 * kQ8NR, n - c0);
    for (size_t r0 = 0; r0 < m; r0 += kQ8MR) {
      const size_t mr = std::min(kQ8MR, m - r0);
      const uint8_t* const* a = row_runs(r0, mr);
      if (p + 1 < p1) {
        Q8Tile<2, Out>(a, taps, tap_quads, b, panel, q, bias, out + r0 * ldo, ldo, c0, mr, nc);
      } else if constexpr (std::is_same<Out, int8_t>::value) {
        if (octets)
          Q8TileOctets(a, taps, tap_quads, b, q, bias, out + r0 * ldo, ldo, c0, mr, nc);
        else
          Q8Tile<1, Out>(a, taps, tap_quads, b, panel, q, bias, out + r0 * ldo, ldo, c0, mr, nc);
      } else {
        Q8Tile<1, Out>(a, taps, tap_quads, b, panel, q, bias, out + r0 * ldo, ldo, c0, mr, nc);
      }
    }
  }
}
#endif

#if TFC_QGEMM_AVX512
// Panel p's 16 channels of bias (zeros past n or without bias).
TFC_VNNI_FN inline __m512i Q8PanelBias(const int32_t* bias, size_t n, size_t p) {
  const size_t c = p * kQ8NR;
  return bias ? _mm512_maskz_loadu_epi32(Q8Mask(n - c), bias + c) : _mm512_setzero_si512();
}

// Panel p's 16 sums (bias included) requantized into out.
TFC_VNNI_FN inline void Q8PanelStore(const ChannelRequant& q, size_t n, size_t p, __m512i acc,
                                     int8_t* out) {
  const size_t c = p * kQ8NR;
  const __mmask16 m = Q8Mask(n - c);
  Q8Store(m, out + c,
          Q8Requant(Q8Load(q, nullptr, c, m), acc, _mm512_set1_epi32(q.zp),
                    _mm512_set1_epi32(q.lo), _mm512_set1_epi32(q.hi)));
}

// One row a (u8, `quads` quads) times the panels [p0, p1) of packed B, each
// channel's sum starting from bias (may be null), requantized by q into
// out[c]: four panels at a time with one accumulator each, so every weight
// byte is read once per row (the 8-row tile would read it once per 8 rows
// and compute 7 of them for nothing when there is one row).
TFC_VNNI_FN inline void Q8RowPanels(const uint8_t* a, size_t quads, const int8_t* packed, size_t n,
                                    const ChannelRequant& q, const int32_t* bias, int8_t* out,
                                    size_t p0, size_t p1) {
  const size_t pstride = quads * kQ8NR * 4;
  size_t p = p0;
  for (; p + 4 <= p1; p += 4) {
    __m512i c0 = Q8PanelBias(bias, n, p), c1 = Q8PanelBias(bias, n, p + 1),
            c2 = Q8PanelBias(bias, n, p + 2), c3 = Q8PanelBias(bias, n, p + 3);
    const int8_t* b = packed + p * pstride;
    for (size_t kk = 0; kk < quads; ++kk) {
      int32_t v;
      std::memcpy(&v, a + 4 * kk, 4);
      const __m512i x = _mm512_set1_epi32(v);
      const int8_t* w = b + kk * kQ8NR * 4;
      c0 = _mm512_dpbusd_epi32(c0, x, _mm512_loadu_si512(w));
      c1 = _mm512_dpbusd_epi32(c1, x, _mm512_loadu_si512(w + pstride));
      c2 = _mm512_dpbusd_epi32(c2, x, _mm512_loadu_si512(w + 2 * pstride));
      c3 = _mm512_dpbusd_epi32(c3, x, _mm512_loadu_si512(w + 3 * pstride));
    }
    Q8PanelStore(q, n, p, c0, out);
    Q8PanelStore(q, n, p + 1, c1, out);
    Q8PanelStore(q, n, p + 2, c2, out);
    Q8PanelStore(q, n, p + 3, c3, out);
  }
  for (; p < p1; ++p) {
    __m512i c0 = Q8PanelBias(bias, n, p);
    const int8_t* b = packed + p * pstride;
    for (size_t kk = 0; kk < quads; ++kk) {
      int32_t v;
      std::memcpy(&v, a + 4 * kk, 4);
      c0 = _mm512_dpbusd_epi32(c0, _mm512_set1_epi32(v), _mm512_loadu_si512(b + kk * kQ8NR * 4));
    }
    Q8PanelStore(q, n, p, c0, out);
  }
}
#endif

#if TFC_QGEMM_AVX512
// The 256-bit kernels (Q8Isa::kAvxVnni and kAvxVnniEvex).
#define TFC_Q8_256_NS q8vex
#define TFC_Q8_256_FN __attribute__((target("avx2,fma,avxvnni")))
#define TFC_Q8_256_DPBUSD _mm256_dpbusd_avx_epi32
#include "kernels/util/q8gemm256.inc"
#undef TFC_Q8_256_NS
#undef TFC_Q8_256_FN
#undef TFC_Q8_256_DPBUSD
#define TFC_Q8_256_NS q8evex
#define TFC_Q8_256_FN TFC_VNNI_FN
#define TFC_Q8_256_DPBUSD _mm256_dpbusd_epi32
#include "kernels/util/q8gemm256.inc"
#undef TFC_Q8_256_NS
#undef TFC_Q8_256_FN
#undef TFC_Q8_256_DPBUSD

#endif

#if TFC_QGEMM_DOT
#include "kernels/util/q8gemm_dot.inc"
#endif

// TFC_Q8GEMM: some 8-bit GEMM kernels are built (Q8IsaHere() may be other than kNone).
#define TFC_Q8GEMM (TFC_QGEMM_AVX512 || TFC_QGEMM_DOT)

#if TFC_Q8GEMM
// Panels [p0, p1) over m rows (row_runs as for Q8Panels) with the kernels of isa.
template <class RowRuns, class Out>
inline void Q8PanelsOn(Q8Isa isa, RowRuns row_runs, size_t m, size_t taps, size_t tap_quads,
                       const int8_t* packed, size_t n, const ChannelRequant* q, const int32_t* bias,
                       Out* out, size_t ldo, size_t p0, size_t p1, bool octets) {
#if TFC_QGEMM_AVX512
  if (isa == Q8Isa::kAvx512)
    Q8Panels(row_runs, m, taps, tap_quads, packed, n, q, bias, out, ldo, p0, p1, octets);
  else if (isa == Q8Isa::kAvxVnni)
    q8vex::Panels(row_runs, m, taps, tap_quads, packed, n, q, bias, out, ldo, p0, p1);
  else if (isa == Q8Isa::kAvxVnniEvex)
    q8evex::Panels(row_runs, m, taps, tap_quads, packed, n, q, bias, out, ldo, p0, p1);
#else
  (void)octets;
  if (isa == Q8Isa::kDotProd) q8dot::Panels(row_runs, m, taps, tap_quads, packed, n, q, bias, out, ldo, p0, p1);
#endif
}

// One row times panels [p0, p1) (as Q8RowPanels) with the kernels of isa.
inline void Q8RowPanelsOn(Q8Isa isa, const uint8_t* a, size_t quads, const int8_t* packed, size_t n,
                          const ChannelRequant& q, const int32_t* bias, int8_t* out, size_t p0, size_t p1) {
#if TFC_QGEMM_AVX512
  if (isa == Q8Isa::kAvx512)
    Q8RowPanels(a, quads, packed, n, q, bias, out, p0, p1);
  else if (isa == Q8Isa::kAvxVnni)
    q8vex::RowPanels(a, quads, packed, n, q, bias, out, p0, p1);
  else if (isa == Q8Isa::kAvxVnniEvex)
    q8evex::RowPanels(a, quads, packed, n, q, bias, out, p0, p1);
#else
  if (isa == Q8Isa::kDotProd) q8dot::RowPanels(a, quads, packed, n, q, bias, out, p0, p1);
#endif
}
#endif

// The GEMMs below cover the channels of panels [p0, p1) (p0 even; p1 past
// the last panel: to the end), by default all.
constexpr size_t kAllPanels = ~size_t{0};

// out[r][0..n) = q(sum_k rows[r][k] * w[c][k] + bias[c]) for rows r < m
// (u8, row stride lda >= Q8RowStride(k), any values past k; bias of n
// values), packed B (PackQ8B); out row stride ldo. Only where HasQ8Gemm().
// For an int32_t Out, q is unused (may be null) and out gets the sums plus
// bias as they are (mod 2^32).
template <class Out>
inline void Q8Gemm(const uint8_t* rows, size_t m, size_t lda, const int8_t* packed, size_t k,
                   size_t n, const ChannelRequant* q, const int32_t* bias, Out* out, size_t ldo,
                   size_t p0 = 0, size_t p1 = kAllPanels) {
#if TFC_Q8GEMM
  const Q8Isa isa = Q8IsaHere();
  const uint8_t* a[kQ8MR];
  auto row_runs = [&](size_t r0, size_t mr) {
    for (size_t r = 0; r < kQ8MR; ++r) a[r] = rows + (r0 + (r < mr ? r : 0)) * lda;
    return a;
  };
  p1 = std::min(p1, QPanels(n));
  // int8 out: the rows past the last whole tile (all of them when there are
  // fewer than 8, as a matrix-vector product) one at a time, which costs them
  // 1/8 of a tile each instead of a whole tile.
  constexpr bool kRowTail = std::is_same<Out, int8_t>::value;
  const size_t tiled = kRowTail ? m / kQ8MR * kQ8MR : m;
  if (tiled > 0) Q8PanelsOn(isa, row_runs, tiled, 1, QuadCount(k), packed, n, q, bias, out, ldo, p0, p1, false);
  if constexpr (kRowTail) {
    for (size_t r = tiled; r < m; ++r)
      Q8RowPanelsOn(isa, rows + r * lda, QuadCount(k), packed, n, *q, bias, out + r * ldo, p0, p1);
  }
#else
  (void)rows, (void)m, (void)lda, (void)packed, (void)k, (void)n, (void)q, (void)bias;
  (void)out, (void)ldo, (void)p0, (void)p1;
#endif
}

inline void Q8GemmRequant(const uint8_t* rows, size_t m, size_t lda, const int8_t* packed,
                          size_t k, size_t n, const ChannelRequant& q, const int32_t* bias,
                          int8_t* out, size_t ldo, size_t p0 = 0, size_t p1 = kAllPanels) {
  Q8Gemm(rows, m, lda, packed, k, n, &q, bias, out, ldo, p0, p1);
}

// The same for an indirect convolution: row r is `taps` runs of run_bytes
// (a multiple of 4; K = taps * run_bytes, packed as PackQ8B packs it), run t
// at runs[r * taps + t]; runs holds whole tiles (m rounded up to 8 rows, the
// extra rows pointing anywhere readable). octets: the last panel is in octets
// (Q8OctetsFit, Q8OctetLastPanel).
inline void Q8GemmRequantIndirect(const uint8_t* const* runs, size_t m, size_t taps, size_t run_bytes,
                                  const int8_t* packed, size_t n, const ChannelRequant& q,
                                  const int32_t* bias, int8_t* out, size_t ldo, size_t p0 = 0,
                                  size_t p1 = kAllPanels, bool octets = false) {
#if TFC_Q8GEMM
  auto row_runs = [&](size_t r0, size_t) { return runs + r0 * taps; };
  Q8PanelsOn(Q8IsaHere(), row_runs, m, taps, run_bytes / 4, packed, n, &q, bias, out, ldo, p0,
             std::min(p1, QPanels(n)), octets);
#else
  (void)runs, (void)m, (void)taps, (void)run_bytes, (void)packed, (void)n, (void)q, (void)bias;
  (void)out, (void)ldo, (void)p0, (void)p1, (void)octets;
#endif
}

}  // namespace qconv
}  // namespace tfc
