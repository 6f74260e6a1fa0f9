// Reading and checking per-tensor quantization parameters in Prepare, for the
// quantized elementwise, pooling, reduction and data-movement kernels.
//
//   float s; int32_t zp;
//   TFC_OK(qp::PerTensor(ctx, in, &s, &zp));   // error unless one finite scale > 0
//   int32_t lo, hi;
//   qp::TypeRange(out->type, &lo, &hi);        // [-128, 127] for INT8 ...
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/kernel.h"
#include "kernels/util/activation.h"
#include "kernels/util/quant_math.h"

namespace tfc {
namespace qp {

// Whether t is one of the quantized integer activation types.
inline bool IsQuantType(TfLiteType t) {
  return t == kTfLiteInt8 || t == kTfLiteUInt8 || t == kTfLiteInt16;
}

// The value range of a quantized type (int32 otherwise).
inline void TypeRange(TfLiteType t, int32_t* lo, int32_t* hi) {
  switch (t) {
    case kTfLiteInt8: *lo = -128; *hi = 127; return;
    case kTfLiteUInt8: *lo = 0; *hi = 255; return;
    case kTfLiteInt16: *lo = -32768; *hi = 32767; return;
    default: *lo = INT32_MIN; *hi = INT32_MAX; return;
  }
}

// The per-tensor (scale, zero point) of t. A tensor without parameters reads
// as (0, 0) and is rejected, like a per-channel one, a non-positive or
// non-finite scale, or a zero point outside t's type range.
inline TfLiteStatus PerTensor(OpContext& ctx, const TfLiteTensor* t, float* scale,
                              int32_t* zero_point) {
  const Quantization& q = t->quant;
  if (q.scale.size() != 1 || q.zero_point.size() > 1)
    return ctx.Error("tensor '%s' needs per-tensor quantization parameters (has %zu scales)",
                     t->name.c_str(), q.scale.size());
  const float s = q.scale[0];
  if (!(s > 0.f) || !std::isfinite(s))
    return ctx.Error("tensor '%s' has scale %g; scales must be positive and finite",
                     t->name.c_str(), static_cast<double>(s));
  const int64_t zp = q.zero_point.empty() ? 0 : q.zero_point[0];
  int32_t lo, hi;
  TypeRange(t->type, &lo, &hi);
  if (zp < lo || zp > hi)
    return ctx.Error("tensor '%s' has zero point %lld outside the %s range", t->name.c_str(),
                     static_cast<long long>(zp), TypeName(t->type));
  *scale = s;
  *zero_point = static_cast<int32_t>(zp);
  return kTfLiteOk;
}

// Zero point of a per-tensor quantized int16 tensor must be 0 where TFLite
// requires symmetric int16 activations.
inline TfLiteStatus RequireZeroPoint0(OpContext& ctx, const TfLiteTensor* t, int32_t zp) {
  if (zp != 0)
    return ctx.Error("tensor '%s' (%s) needs zero point 0, has %d", t->name.c_str(),
                     TypeName(t->type), zp);
  return kTfLiteOk;
}

// Quantized clamp bounds of a fused activation on an output (TFLite's
// CalculateActivationRangeQuantized).
inline void ActivationBounds(const FloatRange& r, TfLiteType type, float scale, int32_t zp,
                             int32_t* lo, int32_t* hi) {
  int32_t qmin, qmax;
  TypeRange(type, &qmin, &qmax);
  QuantizedClampRange(r.lo, r.hi, scale, zp, qmin, qmax, lo, hi);
}

// Checks that in and out carry identical per-tensor parameters (ops that move
// quantized values without requantizing).
inline TfLiteStatus RequireSameQuant(OpContext& ctx, const TfLiteTensor* in,
                                     const TfLiteTensor* out) {
  float si, so;
  int32_t zi, zo;
  TFC_OK(PerTensor(ctx, in, &si, &zi));
  TFC_OK(PerTensor(ctx, out, &so, &zo));
  if (si != so || zi != zo)
    return ctx.Error("input '%s' (scale %g, zero point %d) and output '%s' (scale %g, zero point "
                     "%d) must have the same quantization",
                     in->name.c_str(), static_cast<double>(si), zi, out->name.c_str(),
                     static_cast<double>(so), zo);
  return kTfLiteOk;
}

}  // namespace qp
}  // namespace tfc
