// L2_NORMALIZATION over the last axis, float32:
//   y = x / max(sqrt(sum_j x_j^2), 1e-6)
// Only a NONE fused activation is valid for this op. Quantized
// int8/uint8/int16 inputs are rejected (kTfLiteUnresolvedOps).
#include <cmath>
#include <cstdint>

#include "kernels/kernel.h"
#include "kernels/util/elementwise.h"

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
    if (ew::IsQuantizedIntType(in->type)) return ew::RejectQuantized(ctx, in->type);
    TFC_ENSURE_MSG(ctx, in->type == kTfLiteFloat32, "L2_NORMALIZATION does not support %s inputs",
                   TypeName(in->type));
    TFC_ENSURE_TYPE(ctx, out, kTfLiteFloat32);
    TFC_ENSURE_MSG(ctx, in->rank() >= 1, "input must have rank >= 1, got a scalar");
    auto* o = ctx.options<fb::L2NormOptions>();
    const auto act = o ? o->fused_activation_function() : fb::ActivationFunctionType_NONE;
    TFC_ENSURE_MSG(ctx, act == fb::ActivationFunctionType_NONE,
                   "fused activation %d is not valid for L2_NORMALIZATION", static_cast<int>(act));
    return ctx.ResizeOutput(0, in->dims);
  }

  TfLiteStatus Eval(OpContext& ctx) override {
    const TfLiteTensor* in = ctx.input(0);
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
};

}  // namespace

TFC_REGISTER_OP(L2_NORMALIZATION, 1, 2, L2Normalization);

}  // namespace tfc
