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

template <class V>
TFC_EW_INLINE float RowMax(const float* x, int64_t n) {
  constexpr int L = ew::Lanes<V>();
  int64_t i = 0;
  float m = x[0];
  if (n >= 2 * L) {
    V m0 = ew::Load<V>(x), m1 = ew::Load<V>(x + L);
    for (i = 2 * L; i + 2 * L <= n; i += 2 * L) {
      m0 = ew::Max(ew::Load<V>(x + i), m0);
      m1 = ew::Max(ew::Load<V>(x + i + L), m1);
    }
    m0 = ew::Max(m0, m1);
    m = m0[0];
    for (int j = 1; j < L; ++j) m = ew::Max(m0[j], m);
  }
  for (; i < n; ++i) m = ew::Max(x[i], m);
  return m;
}

// y[i] = e^{scale (x[i] - shift)} (y may be null); returns the sum.
template <class V>
TFC_EW_INLINE float ExpRow(const float* x, float* y, int64_t n, float shift, float scale) {
  constexpr int L = ew::Lanes<V>();
  const V vs = ew::Splat<V>(shift), vk = ew::Splat<V>(scale);
  V acc = ew::Splat<V>(0.0f);
  int64_t i = 0;
  for (; i + L <= n; i += L) {
    const V e = ew::Exp((ew::Load<V>(x + i) - vs) * vk);
    if (y) ew::Store<V>(y + i, e);
    acc += e;
  }
  float sum = 0.0f;
  for (int j = 0; j < L; ++j) sum += acc[j];
  if (i < n) {
    float tmp[L];
    const int64_t rest = n - i;
    for (int j = 0; j < L; ++j) tmp[j] = j < rest ? x[i + j] : shift;
    const V e = ew::Exp((ew::Load<V>(tmp) - vs) * vk);
    for (int64_t j = 0; j < rest; ++j) {
      if (y) y[i + j] = e[j];
      sum += e[j];
    }
  }
  return sum;
}

template <class V>
TFC_EW_INLINE void SoftmaxRowV(const float* x, float* y, int64_t n, float beta) {
  constexpr int L = ew::Lanes<V>();
  const float m = RowMax<V>(x, n);
  const float sum = ExpRow<V>(x, y, n, m, beta);
  const V vsum = ew::Splat<V>(sum);
  int64_t i = 0;
  for (; i + L <= n; i += L) ew::Store<V>(y + i, ew::Load<V>(y + i) / vsum);
  for (; i < n; ++i) y[i] = y[i] / sum;
}

template <class V>
TFC_EW_INLINE void LogSoftmaxRowV(const float* x, float* y, int64_t n) {
  const float m = RowMax<V>(x, n);
  const float log_sum = std::log(ExpRow<V>(x, nullptr, n, m, 1.0f));
  for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - m) - log_sum;
}

#if TFC_EW_AVX2
TFC_EW_TARGET_AVX2 void SoftmaxRowAvx2(const float* x, float* y, int64_t n, float beta) {
  SoftmaxRowV<ew::v8f>(x, y, n, beta);
}
TFC_EW_TARGET_AVX2 void LogSoftmaxRowAvx2(const float* x, float* y, int64_t n) {
  LogSoftmaxRowV<ew::v8f>(x, y, n);
}
#endif

void SoftmaxRow(const float* x, float* y, int64_t n, float beta) {
#if TFC_EW_AVX2
  if (ew::UseAvx2()) return SoftmaxRowAvx2(x, y, n, beta);
#endif
  SoftmaxRowV<ew::v4f>(x, y, n, beta);
}
void LogSoftmaxRow(const float* x, float* y, int64_t n) {
#if TFC_EW_AVX2
  if (ew::UseAvx2()) return LogSoftmaxRowAvx2(x, y, n);
#endif
  LogSoftmaxRowV<ew::v4f>(x, y, n);
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
        if (LOG) {
          LogSoftmaxRow(x + r * depth, y + r * depth, depth);
        } else {
          SoftmaxRow(x + r * depth, y + r * depth, depth, beta);
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
