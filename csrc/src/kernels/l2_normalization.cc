// L2_NORMALIZATION over the last axis, float32:
//   y = x / max(sqrt(sum_j x_j^2), 1e-6)
// Only a NONE fused activation is valid for this op.
// Quantized int8 / uint8 (output scale 1/128, zero point 0 / 128), as
// TensorFlow Lite computes them (bit-exact): per row the integer sum of
// squares of (q - zp), its inverse square root as a fixed-point multiplier
// (util/quant_lut.h), then per element
//   int8:  MultiplyByQuantizedMultiplier(q - zp, m, shift + 7)
//   uint8: 128 + RoundingDivideByPOT(SRDHM(128 (q - zp), m), -shift)
// clamped to the type. int16 inputs are rejected (kTfLiteUnresolvedOps).
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "kernels/kernel.h"
#include "kernels/util/elementwise.h"
#include "kernels/util/quant_lut.h"

namespace tfc {
namespace {

using ew::v4f;

constexpr float kEpsilon = 1e-6f;

class L2Normalization final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override {
    TFC_ENSURE(ctx, ctx.num_inputs() == 1 && ctx.num_outputs() == 1);
    const TfLiteTensor* in = ctx.input(0);
    const TfLiteTensor* out = ctx.output(0);
    TFC_ENSURE(ctx, in != nullptr && out != nullptr);
    type_ = in->type;
    TFC_ENSURE_MSG(ctx, in->rank() >= 1, "input must have rank >= 1, got a scalar");
    if (in->type == kTfLiteInt8 || in->type == kTfLiteUInt8) {
      TFC_ENSURE_TYPE(ctx, out, in->type);
      float in_scale = 0.f, out_scale = 0.f;
      int32_t out_zp = 0;
      TFC_OK(ReadPerTensorQuant(ctx, in, &in_scale, &in_zp_));
      TFC_OK(ReadPerTensorQuant(ctx, out, &out_scale, &out_zp));
      const int32_t want_zp = in->type == kTfLiteUInt8 ? 128 : 0;
      TFC_ENSURE_MSG(ctx, out_scale == 1.0f / 128 && out_zp == want_zp,
                     "%s output needs scale 1/128 and zero point %d (has %g, %d)",
                     TypeName(in->type), want_zp, static_cast<double>(out_scale), out_zp);
    } else if (ew::IsQuantizedIntType(in->type)) {
      return ew::RejectQuantized(ctx, in->type);
    } else {
      TFC_ENSURE_MSG(ctx, in->type == kTfLiteFloat32,
                     "L2_NORMALIZATION does not support %s inputs", TypeName(in->type));
      TFC_ENSURE_TYPE(ctx, out, kTfLiteFloat32);
    }
    auto* o = ctx.options<fb::L2NormOptions>();
    const auto act = o ? o->fused_activation_function() : fb::ActivationFunctionType_NONE;
    TFC_ENSURE_MSG(ctx, act == fb::ActivationFunctionType_NONE,
                   "fused activation %d is not valid for L2_NORMALIZATION", static_cast<int>(act));
    return ctx.ResizeOutput(0, in->dims);
  }

  TfLiteStatus Eval(OpContext& ctx) override {
    const TfLiteTensor* in = ctx.input(0);
    if (type_ == kTfLiteInt8) return EvalQuant<int8_t>(ctx, in);
    if (type_ == kTfLiteUInt8) return EvalQuant<uint8_t>(ctx, in);
    const float* x = in->data_as<const float>();
    float* y = ctx.output(0)->data_as<float>();
    const int64_t depth = in->dim(in->rank() - 1);
    if (depth <= 0) return kTfLiteOk;
    const int64_t rows = in->num_elements() / depth;
    auto body = [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        const float* __restrict xr = x + r * depth;
        float* __restrict yr = y + r * depth;
        v4f acc = ew::Splat4(0.0f);
        int64_t i = 0;
        for (; i + 4 <= depth; i += 4) {
          const v4f v = ew::Load4(xr + i);
          acc += v * v;
        }
        float sum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
        for (; i < depth; ++i) sum += xr[i] * xr[i];
        float norm = std::sqrt(sum);
        if (!(norm >= kEpsilon)) norm = norm != norm ? norm : kEpsilon;
        const v4f vn = ew::Splat4(norm);
        i = 0;
        for (; i + 4 <= depth; i += 4) ew::Store4(yr + i, ew::Load4(xr + i) / vn);
        for (; i < depth; ++i) yr[i] = xr[i] / norm;
      }
    };
    int64_t min_rows = ew::kParallelMinElements / depth;
    if (min_rows < 1) min_rows = 1;
    ew::ParallelElements(ctx, rows, min_rows, body);
    return kTfLiteOk;
  }

 private:
  template <class T>
  TfLiteStatus EvalQuant(OpContext& ctx, const TfLiteTensor* in) {
    const T* x = in->data_as<const T>();
    T* y = ctx.output(0)->data_as<T>();
    const int64_t depth = in->dim(in->rank() - 1);
    if (depth <= 0) return kTfLiteOk;
    const int64_t rows = in->num_elements() / depth;
    const int32_t zp = in_zp_;
    auto body = [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        const T* xr = x + r * depth;
        T* yr = y + r * depth;
        // Sum of squares, wrapping as int32 arithmetic does on hardware.
        uint32_t acc = 0;
        for (int64_t i = 0; i < depth; ++i) {
          const int32_t d = int32_t{xr[i]} - zp;
          acc += static_cast<uint32_t>(d * d);
        }
        int32_t m = 0;
        int shift = 0;
        InvSqrtMultiplierExp(static_cast<int32_t>(acc), &m, &shift);
        for (int64_t i = 0; i < depth; ++i) {
          const int32_t d = int32_t{xr[i]} - zp;
          int32_t o;
          if (std::is_same<T, int8_t>::value) {
            o = MultiplyByQuantizedMultiplier(d, m, shift + 7);
            o = o < -128 ? -128 : (o > 127 ? 127 : o);
          } else {
            o = 128 + RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(128 * d, m), -shift);
            o = o < 0 ? 0 : (o > 255 ? 255 : o);
          }
          yr[i] = static_cast<T>(o);
        }
      }
    };
    int64_t min_rows = ew::kParallelMinElements / depth;
    if (min_rows < 1) min_rows = 1;
    ew::ParallelElements(ctx, rows, min_rows, body);
    return kTfLiteOk;
  }

  TfLiteType type_ = kTfLiteNoType;
  int32_t in_zp_ = 0;
};

}  // namespace

TFC_REGISTER_OP(L2_NORMALIZATION, 1, 2, L2Normalization);

}  // namespace tfc
