// QUANTIZE: float32 -> INT8 / UINT8 / INT16, and requantization between
// integer types (INT8 / UINT8 / INT16 -> INT8 / UINT8 / INT16 / INT32).
//
// Float input, per tensor, as TensorFlow Lite's optimized builtin kernel
// computes it (bit-exact): the elements up to the last multiple of 8 as
// q = clamp(rint(x * (1 / scale)) + zero_point), the reciprocal and product
// in float and ties rounded to even; the remaining tail as its reference
// kernel does, q = clamp(round(x / scale) + zero_point), ties away from
// zero. Per channel (scale[c], zero_point[c] along quantized_dimension): the reference
// form, round(x / scale[c]), ties away from zero. Per tensor, values whose
// x / scale is NaN or outside the int32 range give what x86's conversion
// gives there (INT32_MIN, plus the zero point with wrap-around, then the
// clamp), as the optimized kernel does: NaN and +-inf quantize to the type's
// minimum (or maximum for a negative zero point). Per channel, out-of-range
// values and +-inf saturate and NaN quantizes to the zero point.
//
// Integer input: q_out = clamp(M * (q_in - zp_in) + zp_out) with
// M = in_scale / out_scale as a fixed-point multiplier (util/quant_math.h),
// bit-exact with TensorFlow Lite's integer requantization.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "kernels/kernel.h"
#include "kernels/util/elementwise.h"
#include "kernels/util/quant_lut.h"
#include "kernels/util/quant_math.h"

namespace tfc {
namespace {

bool IntRange(TfLiteType t, int32_t* lo, int32_t* hi) {
  switch (t) {
    case kTfLiteInt8:
      *lo = -128;
      *hi = 127;
      return true;
    case kTfLiteUInt8:
      *lo = 0;
      *hi = 255;
      return true;
    case kTfLiteInt16:
      *lo = -32768;
      *hi = 32767;
      return true;
    case kTfLiteInt32:
      *lo = std::numeric_limits<int32_t>::min();
      *hi = std::numeric_limits<int32_t>::max();
      return true;
    default:
      return false;
  }
}

// round(y) (ties away from zero) for |y| < 2^24, by truncation, in a form
// the compiler vectorizes (no libm call).
inline int32_t RoundHalfAwaySmall(float y) {
  const int32_t t = static_cast<int32_t>(y);
  const float frac = y - static_cast<float>(t);  // exact
  return t + (frac >= 0.5f ? 1 : 0) - (frac <= -0.5f ? 1 : 0);
}

// q = clamp(round(x / scale) + zero_point) over a run, the division in float
// as TensorFlow Lite's reference kernel does it. The quotient is clamped to
// just outside the representable window before rounding, which leaves the
// clamped result unchanged and keeps the integer conversion in range; so
// +-inf and huge values saturate, NaN gives the zero point.
template <class T>
void QuantizeRun(const float* __restrict in, T* __restrict out, int64_t n, float scale,
                  int32_t zero_point, int32_t qmin, int32_t qmax) {
  const float lo = static_cast<float>(qmin - zero_point - 1);
  const float hi = static_cast<float>(qmax - zero_point + 1);
  for (int64_t i = 0; i < n; ++i) {
    float y = in[i] / scale;
    y = y > lo ? y : (y != y ? 0.0f : lo);  // NaN -> 0 (the zero point)
    y = y < hi ? y : hi;
    int32_t q = RoundHalfAwaySmall(y) + zero_point;
    q = q < qmin ? qmin : (q > qmax ? qmax : q);
    out[i] = static_cast<T>(q);
  }
}

// The optimized per-tensor form: q = clamp(rint(x * inv_scale) + zero_point).
template <class T>
TFC_EW_INLINE void QuantizeRunRecipBody(const float* __restrict in, T* __restrict out, int64_t n,
                                        float inv_scale, int32_t zero_point, int32_t qmin, int32_t qmax) {
  const float lo = static_cast<float>(qmin - zero_point - 1);
  const float hi = static_cast<float>(qmax - zero_point + 1);
  const float magic = 12582912.0f;  // 1.5 * 2^23: (y + magic) - magic rounds |y| < 2^22 to even
  // x86's float -> int32 conversion of NaN / out-of-range values, plus the
  // zero point, wrapping.
  const int32_t overflow_q = static_cast<int32_t>(0x80000000u + static_cast<uint32_t>(zero_point));
  const int32_t overflow_out = overflow_q < qmin ? qmin : (overflow_q > qmax ? qmax : overflow_q);
  for (int64_t i = 0; i < n; ++i) {
    float y = in[i] * inv_scale;
    const bool in_range = y > -2147483648.5f && y < 2147483647.5f;
    y = y > lo ? y : lo;
    y = y < hi ? y : hi;
    const float big = y + magic;
    const float r = big - magic;
    int32_t q = static_cast<int32_t>(r) + zero_point;
    q = q < qmin ? qmin : (q > qmax ? qmax : q);
    out[i] = static_cast<T>(in_range ? q : overflow_out);
  }
}

#if TFC_EW_AVX2
// The same 8 values at a time with AVX2, the rest by the body (which the compiler leaves scalar: 1.5 ns
// a value, YOLO's 15K-value quantize of its class scores took 23 us). NaN and values beyond int32 give
// overflow_out as there; max_ps(y, lo) is lo for a NaN y, as y > lo ? y : lo.
template <class T>
TFC_EW_TARGET_AVX2 void QuantizeRunRecipAvx2(const float* in, T* out, int64_t n, float inv_scale,
                                             int32_t zero_point, int32_t qmin, int32_t qmax) {
  const __m256 scale = _mm256_set1_ps(inv_scale), magic = _mm256_set1_ps(12582912.0f);
  const __m256 lo = _mm256_set1_ps(static_cast<float>(qmin - zero_point - 1));
  const __m256 hi = _mm256_set1_ps(static_cast<float>(qmax - zero_point + 1));
  const __m256 min_ok = _mm256_set1_ps(-2147483648.5f), max_ok = _mm256_set1_ps(2147483647.5f);
  const int32_t overflow_q = static_cast<int32_t>(0x80000000u + static_cast<uint32_t>(zero_point));
  const __m256i overflow_out =
      _mm256_set1_epi32(overflow_q < qmin ? qmin : (overflow_q > qmax ? qmax : overflow_q));
  const __m256i zp = _mm256_set1_epi32(zero_point), qlo = _mm256_set1_epi32(qmin),
                qhi = _mm256_set1_epi32(qmax);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 y = _mm256_mul_ps(_mm256_loadu_ps(in + i), scale);
    const __m256 ok = _mm256_and_ps(_mm256_cmp_ps(y, min_ok, _CMP_GT_OQ), _mm256_cmp_ps(y, max_ok, _CMP_LT_OQ));
    y = _mm256_min_ps(_mm256_max_ps(y, lo), hi);
    const __m256 r = _mm256_sub_ps(_mm256_add_ps(y, magic), magic);
    __m256i q = _mm256_add_epi32(_mm256_cvttps_epi32(r), zp);
    q = _mm256_min_epi32(_mm256_max_epi32(q, qlo), qhi);
    q = _mm256_blendv_epi8(overflow_out, q, _mm256_castps_si256(ok));
    const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
    if constexpr (sizeof(T) == 2) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), w);
    } else {
      const __m128i b = std::is_signed<T>::value ? _mm_packs_epi16(w, w) : _mm_packus_epi16(w, w);
      _mm_storel_epi64(reinterpret_cast<__m128i*>(out + i), b);
    }
  }
  QuantizeRunRecipBody(in + i, out + i, n - i, inv_scale, zero_point, qmin, qmax);
}
#endif

template <class T>
void QuantizeRunRecip(const float* in, T* out, int64_t n, float inv_scale, int32_t zero_point, int32_t qmin,
                      int32_t qmax) {
#if TFC_EW_AVX2
  if (ew::UseAvx2()) {
    QuantizeRunRecipAvx2(in, out, n, inv_scale, zero_point, qmin, qmax);
    return;
  }
#endif
  QuantizeRunRecipBody(in, out, n, inv_scale, zero_point, qmin, qmax);
}

// The optimized kernel's scalar tail: q = clamp(round(x / scale) + zero_point)
// with the same x86 result for NaN / out-of-range quotients.
template <class T>
void QuantizeRunTail(const float* __restrict in, T* __restrict out, int64_t n, float scale,
                     int32_t zero_point, int32_t qmin, int32_t qmax) {
  const float lo = static_cast<float>(qmin - zero_point - 1);
  const float hi = static_cast<float>(qmax - zero_point + 1);
  const int32_t overflow_q = static_cast<int32_t>(0x80000000u + static_cast<uint32_t>(zero_point));
  const int32_t overflow_out = overflow_q < qmin ? qmin : (overflow_q > qmax ? qmax : overflow_q);
  for (int64_t i = 0; i < n; ++i) {
    float y = in[i] / scale;
    const float rounded = RoundHalfAway(y);
    const bool in_range = rounded >= -2147483648.0f && rounded < 2147483648.0f;
    y = y > lo ? y : lo;
    y = y < hi ? y : hi;
    int32_t q = RoundHalfAwaySmall(y) + zero_point;
    q = q < qmin ? qmin : (q > qmax ? qmax : q);
    out[i] = static_cast<T>(in_range ? q : overflow_out);
  }
}

template <class In, class Out>
void RequantizeRun(const In* __restrict in, Out* __restrict out, int64_t n, const Requantizer& rq) {
  // Scale ratio exactly 1 (multiplier 2^30, shift 1 is exact): only the zero
  // points move, e.g. UINT8 <-> INT8 at the ends of uint8-io models.
  if (rq.multiplier == (int32_t{1} << 30) && rq.shift == 1) {
    const int64_t offset = int64_t{rq.out_zero_point} - rq.in_zero_point;
    for (int64_t i = 0; i < n; ++i) {
      const int64_t q = static_cast<int64_t>(in[i]) + offset;
      out[i] = static_cast<Out>(q < rq.qmin ? rq.qmin : (q > rq.qmax ? rq.qmax : q));
    }
    return;
  }
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<Out>(rq(static_cast<int32_t>(in[i])));
}

class Quantize final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override {
    TFC_ENSURE(ctx, ctx.num_inputs() == 1 && ctx.num_outputs() == 1);
    const TfLiteTensor* in = ctx.input(0);
    const TfLiteTensor* out = ctx.output(0);
    TFC_ENSURE_MSG(ctx, in != nullptr && out != nullptr, "input and output are required");
    in_type_ = in->type;
    out_type_ = out->type;

    const bool float_in = in_type_ == kTfLiteFloat32;
    const bool int_in =
        in_type_ == kTfLiteInt8 || in_type_ == kTfLiteUInt8 || in_type_ == kTfLiteInt16;
    if (!float_in && !int_in) {
      return ctx.ErrorStatus(kTfLiteUnresolvedOps,
                             "input '%s' has type %s; QUANTIZE takes FLOAT32, INT8, UINT8 or "
                             "INT16",
                             in->name.c_str(), TypeName(in_type_));
    }
    const bool out_ok = out_type_ == kTfLiteInt8 || out_type_ == kTfLiteUInt8 ||
                        out_type_ == kTfLiteInt16 || (int_in && out_type_ == kTfLiteInt32);
    if (!out_ok) {
      return ctx.ErrorStatus(kTfLiteUnresolvedOps,
                             "output '%s' has type %s; QUANTIZE from %s produces INT8, UINT8, "
                             "INT16%s",
                             out->name.c_str(), TypeName(out_type_), TypeName(in_type_),
                             int_in ? " or INT32" : "");
    }
    IntRange(out_type_, &qmin_, &qmax_);

    // Output parameters.
    const Quantization& oq = out->quant;
    TFC_ENSURE_MSG(ctx, !oq.empty(), "output '%s' has no quantization parameters",
                   out->name.c_str());
    const size_t channels = oq.scale.size();
    TFC_ENSURE_MSG(ctx, oq.zero_point.empty() || oq.zero_point.size() == channels,
                   "output '%s' has %zu scales but %zu zero points", out->name.c_str(), channels,
                   oq.zero_point.size());
    scales_.assign(oq.scale.begin(), oq.scale.end());
    zero_points_.assign(channels, 0);
    for (size_t c = 0; c < channels; ++c) {
      TFC_ENSURE_MSG(ctx, std::isfinite(scales_[c]) && scales_[c] > 0.f,
                     "output '%s' has scale %g; scales must be positive and finite",
                     out->name.c_str(), static_cast<double>(scales_[c]));
      const int64_t zp = oq.zero_point.empty() ? 0 : oq.zero_point[c];
      TFC_ENSURE_MSG(ctx, zp >= qmin_ && zp <= qmax_,
                     "output '%s' has zero point %lld outside the range of %s",
                     out->name.c_str(), static_cast<long long>(zp), TypeName(out_type_));
      zero_points_[c] = static_cast<int32_t>(zp);
    }

    outer_ = 1;
    channels_ = 1;
    inner_ = in->num_elements();
    if (channels > 1) {
      TFC_ENSURE_MSG(ctx, float_in,
                     "per-channel output quantization needs a FLOAT32 input (input is %s)",
                     TypeName(in_type_));
      const int axis = oq.quantized_dimension;
      TFC_ENSURE_MSG(ctx, axis >= 0 && axis < in->rank(),
                     "output '%s' has quantized_dimension %d for rank %d", out->name.c_str(),
                     axis, in->rank());
      TFC_ENSURE_MSG(ctx, static_cast<size_t>(in->dim(axis)) == channels,
                     "output '%s' has %zu scales for %d channels along dimension %d",
                     out->name.c_str(), channels, in->dim(axis), axis);
      inner_ = 1;
      for (int d = 0; d < axis; ++d) outer_ *= in->dim(d);
      for (int d = axis + 1; d < in->rank(); ++d) inner_ *= in->dim(d);
      channels_ = static_cast<int64_t>(channels);
    }

    if (int_in) {
      const Quantization& iq = in->quant;
      TFC_ENSURE_MSG(ctx, iq.scale.size() == 1,
                     "input '%s' needs one (per-tensor) scale to requantize, has %zu",
                     in->name.c_str(), iq.scale.size());
      const float in_scale = iq.scale[0];
      TFC_ENSURE_MSG(ctx, std::isfinite(in_scale) && in_scale > 0.f,
                     "input '%s' has scale %g; scales must be positive and finite",
                     in->name.c_str(), static_cast<double>(in_scale));
      const int64_t in_zp = iq.zero_point.empty() ? 0 : iq.zero_point[0];
      int32_t in_lo = 0, in_hi = 0;
      IntRange(in_type_, &in_lo, &in_hi);
      TFC_ENSURE_MSG(ctx, in_zp >= in_lo && in_zp <= in_hi,
                     "input '%s' has zero point %lld outside the range of %s", in->name.c_str(),
                     static_cast<long long>(in_zp), TypeName(in_type_));
      const double ratio = static_cast<double>(in_scale) / static_cast<double>(scales_[0]);
      TFC_ENSURE_MSG(ctx, ratio < 1073741824.0,
                     "input/output scale ratio %g is too large to requantize", ratio);
      rq_.Init(in_scale, static_cast<int32_t>(in_zp), scales_[0], zero_points_[0], qmin_, qmax_);
      // 8-bit to 8-bit: the requantization of each of the 256 input bytes, once.
      const bool out8 = out_type_ == kTfLiteInt8 || out_type_ == kTfLiteUInt8;
      if (in_type_ == kTfLiteInt8 && out8) {
        TabulateLut8<int8_t>([this](int8_t v) { return rq_(v); }, lut_);
      } else if (in_type_ == kTfLiteUInt8 && out8) {
        TabulateLut8<uint8_t>([this](uint8_t v) { return rq_(v); }, lut_);
      }
    }
    return ctx.ResizeOutput(0, in->dims);
  }

  TfLiteStatus Eval(OpContext& ctx) override {
    const TfLiteTensor* in = ctx.input(0);
    TfLiteTensor* out = ctx.output(0);
    const int64_t n = in->num_elements();
    if (n == 0) return kTfLiteOk;
    TFC_ENSURE_MSG(ctx, in->data != nullptr && out->data != nullptr, "tensors not allocated");
    if (in_type_ == kTfLiteFloat32) {
      const float* src = in->data_as<const float>();
      switch (out_type_) {
        case kTfLiteInt8:
          FromFloat(ctx, src, out->data_as<int8_t>());
          break;
        case kTfLiteUInt8:
          FromFloat(ctx, src, out->data_as<uint8_t>());
          break;
        case kTfLiteInt16:
          FromFloat(ctx, src, out->data_as<int16_t>());
          break;
        default:
          return ctx.Error("unexpected output type %s", TypeName(out_type_));
      }
      return kTfLiteOk;
    }
    switch (in_type_) {
      case kTfLiteInt8:
        return FromInt(ctx, in->data_as<const int8_t>(), out, n);
      case kTfLiteUInt8:
        return FromInt(ctx, in->data_as<const uint8_t>(), out, n);
      case kTfLiteInt16:
        return FromInt(ctx, in->data_as<const int16_t>(), out, n);
      default:
        return ctx.Error("unexpected input type %s", TypeName(in_type_));
    }
  }

  size_t OwnedBytes() const override { return HeapBytes(scales_, zero_points_); }

 private:
  template <class T>
  void FromFloat(OpContext& ctx, const float* src, T* dst) const {
    if (channels_ == 1) {
      const float scale = scales_[0];
      const float inv_scale = 1.0f / scale;
      const int32_t zp = zero_points_[0];
      const int64_t n8 = inner_ / 8 * 8;
      ctx.pool().ParallelFor(inner_, kMinChunk, [&](int64_t b, int64_t e) {
        const int64_t mid = b > n8 ? b : (e < n8 ? e : n8);
        QuantizeRunRecip(src + b, dst + b, mid - b, inv_scale, zp, qmin_, qmax_);
        QuantizeRunTail(src + mid, dst + mid, e - mid, scale, zp, qmin_, qmax_);
      });
      return;
    }
    const int64_t rows = outer_ * channels_;
    const int64_t min_rows = inner_ >= kMinChunk ? 1 : kMinChunk / (inner_ > 0 ? inner_ : 1);
    ctx.pool().ParallelFor(rows, min_rows, [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) {
        const size_t c = static_cast<size_t>(r % channels_);
        QuantizeRun(src + r * inner_, dst + r * inner_, inner_, scales_[c], zero_points_[c],
                     qmin_, qmax_);
      }
    });
  }

  template <class In>
  TfLiteStatus FromInt(OpContext& ctx, const In* src, TfLiteTensor* out, int64_t n) const {
    switch (out_type_) {
      case kTfLiteInt8:
        Requantize(ctx, src, out->data_as<int8_t>(), n);
        return kTfLiteOk;
      case kTfLiteUInt8:
        Requantize(ctx, src, out->data_as<uint8_t>(), n);
        return kTfLiteOk;
      case kTfLiteInt16:
        Requantize(ctx, src, out->data_as<int16_t>(), n);
        return kTfLiteOk;
      case kTfLiteInt32:
        Requantize(ctx, src, out->data_as<int32_t>(), n);
        return kTfLiteOk;
      default:
        return ctx.Error("unexpected output type %s", TypeName(out_type_));
    }
  }

  template <class In, class Out>
  void Requantize(OpContext& ctx, const In* src, Out* dst, int64_t n) const {
    const Requantizer& rq = rq_;
    ctx.pool().ParallelFor(n, kMinChunk, [&](int64_t b, int64_t e) {
      if constexpr (sizeof(In) == 1 && sizeof(Out) == 1) {
        ApplyLut8(reinterpret_cast<const uint8_t*>(src + b), reinterpret_cast<uint8_t*>(dst + b),
                  e - b, lut_);
      } else {
        RequantizeRun(src + b, dst + b, e - b, rq);
      }
    });
  }

  static constexpr int64_t kMinChunk = 1 << 14;

  TfLiteType in_type_ = kTfLiteNoType;
  TfLiteType out_type_ = kTfLiteNoType;
  int32_t qmin_ = 0;
  int32_t qmax_ = 0;
  std::vector<float> scales_;
  std::vector<int32_t> zero_points_;
  int64_t outer_ = 1;
  int64_t channels_ = 1;
  int64_t inner_ = 1;
  Requantizer rq_;
  uint8_t lut_[256] = {};  // 8-bit to 8-bit: the output byte of each input byte
};

}  // namespace

TFC_REGISTER_OP(QUANTIZE, 1, 4, Quantize);

}  // namespace tfc
