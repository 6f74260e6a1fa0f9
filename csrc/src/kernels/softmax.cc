// SOFTMAX (with beta) and LOG_SOFTMAX over the last axis, float32.
//
//   SOFTMAX      y = e^{beta (x - max)} / sum_j e^{beta (x_j - max)}
//   LOG_SOFTMAX  y = (x - max) - log(sum_j e^{x_j - max})
// Subtracting the row maximum keeps e^ from overflowing. beta defaults to 0
// (the format's default) when the options are missing. Quantized
// int8/uint8/int16 inputs are rejected (kTfLiteUnresolvedOps).
#include <cmath>
#include <cstdint>

#include "kernels/kernel.h"
#include "kernels/util/elementwise.h"

namespace tfc {
namespace {

using ew::v4f;

inline float RowMax(const float* x, int64_t n) {
  int64_t i = 0;
  float m = x[0];
  if (n >= 8) {
    v4f m0 = ew::Load4(x), m1 = ew::Load4(x + 4);
    for (i = 8; i + 8 <= n; i += 8) {
      m0 = ew::Max(ew::Load4(x + i), m0);
      m1 = ew::Max(ew::Load4(x + i + 4), m1);
    }
    m0 = ew::Max(m0, m1);
    m = ew::Max(ew::Max(m0[0], m0[1]), ew::Max(m0[2], m0[3]));
  }
  for (; i < n; ++i) m = ew::Max(x[i], m);
  return m;
}

// y[i] = e^{scale (x[i] - shift)}; returns the sum of y (or only sums when
// y is null).
inline float ExpRow(const float* x, float* y, int64_t n, float shift, float scale) {
  const v4f vs = ew::Splat4(shift), vk = ew::Splat4(scale);
  v4f acc = ew::Splat4(0.0f);
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    v4f e = ew::Exp4((ew::Load4(x + i) - vs) * vk);
    if (y) ew::Store4(y + i, e);
    acc += e;
  }
  float sum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
  if (i < n) {
    float tmp[4] = {shift, shift, shift, shift};
    const int64_t rest = n - i;
    for (int64_t j = 0; j < rest; ++j) tmp[j] = x[i + j];
    v4f e = ew::Exp4((ew::Load4(tmp) - vs) * vk);
    for (int64_t j = 0; j < rest; ++j) {
      if (y) y[i + j] = e[j];
      sum += e[j];
    }
  }
  return sum;
}

template <bool LOG>
class SoftmaxKernel final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override {
    TFC_ENSURE(ctx, ctx.num_inputs() == 1 && ctx.num_outputs() == 1);
    const TfLiteTensor* in = ctx.input(0);
    const TfLiteTensor* out = ctx.output(0);
    TFC_ENSURE(ctx, in != nullptr && out != nullptr);
    if (ew::IsQuantizedIntType(in->type)) return ew::RejectQuantized(ctx, in->type);
    TFC_ENSURE_MSG(ctx, in->type == kTfLiteFloat32, "%s does not support %s inputs",
                   LOG ? "LOG_SOFTMAX" : "SOFTMAX", TypeName(in->type));
    TFC_ENSURE_TYPE(ctx, out, kTfLiteFloat32);
    TFC_ENSURE_MSG(ctx, in->rank() >= 1, "input must have rank >= 1, got a scalar");
    if (!LOG) {
      auto* o = ctx.options<fb::SoftmaxOptions>();
      beta_ = o ? o->beta() : 0.0f;
    }
    return ctx.ResizeOutput(0, in->dims);
  }

  TfLiteStatus Eval(OpContext& ctx) override {
    const TfLiteTensor* in = ctx.input(0);
    const float* x = in->data_as<const float>();
    float* y = ctx.output(0)->data_as<float>();
    const int64_t depth = in->dim(in->rank() - 1);
    if (depth <= 0) return kTfLiteOk;
    const int64_t rows = in->num_elements() / depth;
    const float beta = beta_;
    auto body = [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        const float* xr = x + r * depth;
        float* yr = y + r * depth;
        const float m = RowMax(xr, depth);
        if (LOG) {
          const float log_sum = std::log(ExpRow(xr, nullptr, depth, m, 1.0f));
          for (int64_t i = 0; i < depth; ++i) yr[i] = (xr[i] - m) - log_sum;
        } else {
          const float sum = ExpRow(xr, yr, depth, m, beta);
          const v4f vsum = ew::Splat4(sum);
          int64_t i = 0;
          for (; i + 4 <= depth; i += 4) ew::Store4(yr + i, ew::Load4(yr + i) / vsum);
          for (; i < depth; ++i) yr[i] = yr[i] / sum;
        }
      }
    };
    int64_t min_rows = ew::kParallelMinElementsHeavy / depth;
    if (min_rows < 1) min_rows = 1;
    ew::ParallelElements(ctx, rows, min_rows, body);
    return kTfLiteOk;
  }

 private:
  float beta_ = 0.0f;
};

using Softmax = SoftmaxKernel<false>;
using LogSoftmax = SoftmaxKernel<true>;

}  // namespace

TFC_REGISTER_OP(SOFTMAX, 1, 4, Softmax);
TFC_REGISTER_OP(LOG_SOFTMAX, 1, 2, LogSoftmax);

}  // namespace tfc
