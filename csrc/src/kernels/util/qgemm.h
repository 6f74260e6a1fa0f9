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
#include <vector>

#include "kernels/util/quant_math.h"
#include "tensor.h"

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

// Per-channel output multipliers of int8/int16 kernels: input_scale *
// filter_scale[c] in float, then divided by output_scale in double.
inline void PerChannelMultipliers(float input_scale, const std::vector<float>& filter_scales,
                                  float output_scale, std::vector<int32_t>* mult,
                                  std::vector<int>* shift) {
  mult->resize(filter_scales.size());
  shift->resize(filter_scales.size());
  for (size_t c = 0; c < filter_scales.size(); ++c) {
    const double product = static_cast<double>(input_scale * filter_scales[c]);
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

// Output stage of the 16x8 kernels (64-bit accumulator).
inline int32_t Requantize16(int64_t acc, int32_t mult, int shift, int32_t out_zp, int32_t lo,
                            int32_t hi) {
  const int64_t v = int64_t{MultiplyByQuantizedMultiplier64(acc, mult, shift)} + out_zp;
  return static_cast<int32_t>(v < lo ? lo : (v > hi ? hi : v));
}

// ---------------------------------------------------------------------------
// On-the-fly quantization of float activations (hybrid kernels)
// ---------------------------------------------------------------------------

// Symmetric: scale = max|x| / 127, q = round(x * (127 / max|x|)) clamped to
// [-127, 127]; all zeros give scale 1. Returns the scale.
inline float QuantizeSymmetric(const float* x, size_t n, int8_t* q) {
  float lo = 0.f, hi = 0.f;
  if (n > 0) {
    lo = hi = x[0];
    for (size_t i = 1; i < n; ++i) {
      lo = x[i] < lo ? x[i] : lo;
      hi = x[i] > hi ? x[i] : hi;
    }
  }
  const float range = std::max(std::fabs(lo), std::fabs(hi));
  if (range == 0.f) {
    std::memset(q, 0, n);
    return 1.f;
  }
  const float inv = 127.f / range;
  for (size_t i = 0; i < n; ++i) {
    const float r = std::round(x[i] * inv);
    const float c = r < -127.f ? -127.f : (r > 127.f ? 127.f : r);
    q[i] = static_cast<int8_t>(c);
  }
  return range / 127.f;
}

// Asymmetric over [min(0, min x), max(0, max x)] to [-128, 127]: the range
// rmax - rmin in float, the scale (range / 255) and the zero point in double,
// the scale stored as float; q = round(zp + x * inv) with inv = 1 / scale
// (in double, stored as float). A constant-zero input gives scale 0 and zero
// point 0 (all q = 0). Returns the scale.
inline float QuantizeAsymmetric(const float* x, size_t n, int8_t* q, int32_t* zero_point) {
  float lo = 0.f, hi = 0.f;
  for (size_t i = 0; i < n; ++i) {
    lo = x[i] < lo ? x[i] : lo;
    hi = x[i] > hi ? x[i] : hi;
  }
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
  const float fzp = static_cast<float>(zp);
  for (size_t i = 0; i < n; ++i) {
    const float scaled = x[i] * inv;  // two statements: no fused multiply-add
    const float r = std::round(fzp + scaled);
    const float c = r < -128.f ? -128.f : (r > 127.f ? 127.f : r);
    q[i] = static_cast<int8_t>(c);
  }
  *zero_point = zp;
  return fscale;
}

// ---------------------------------------------------------------------------
// Dot products
// ---------------------------------------------------------------------------

inline int32_t DotI16(const int16_t* a, const int16_t* b, size_t k) {
  int32_t s = 0;
  for (size_t i = 0; i < k; ++i) s += int32_t{a[i]} * int32_t{b[i]};
  return s;
}

// Four weight rows against one activation row.
inline void Dot4I16(const int16_t* a, const int16_t* b0, const int16_t* b1, const int16_t* b2,
                    const int16_t* b3, size_t k, int32_t* out) {
  int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (size_t i = 0; i < k; ++i) {
    const int32_t x = a[i];
    s0 += x * b0[i];
    s1 += x * b1[i];
    s2 += x * b2[i];
    s3 += x * b3[i];
  }
  out[0] = s0;
  out[1] = s1;
  out[2] = s2;
  out[3] = s3;
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

}  // namespace qconv
}  // namespace tfc
