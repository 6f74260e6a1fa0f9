// RELU RELU6 RELU_N1_TO_1 RELU_0_TO_1 LEAKY_RELU PRELU HARD_SWISH GELU TANH
// LOGISTIC on float32. Quantized int8/uint8/int16 inputs are rejected
// (kTfLiteUnresolvedOps).
//
//   RELU x<0 -> 0; RELU6 clamp [0,6]; RELU_N1_TO_1 clamp [-1,1];
//   RELU_0_TO_1 clamp [0,1] (NaN stays NaN)
//   LEAKY_RELU  x > 0 ? x : alpha*x               (alpha from options, default 0)
//   PRELU       x >= 0 ? x : alpha*x, alpha broadcast against x (NumPy rules)
//   HARD_SWISH  x * min(max(x+3, 0), 6) / 6
//   GELU        0.5 x (1 + erf(x/sqrt 2)), or with `approximate`
//               0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
//   TANH, LOGISTIC: vectorized from ew::Exp4 (about 2 ulp); tanh uses an odd
//               polynomial below |x| = 0.625 to stay accurate near 0.
#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/util/broadcast.h"
#include "kernels/util/elementwise.h"

namespace tfc {
namespace {

using ew::v4f;
using ew::v4i;

inline v4f Tanh4(v4f x) {
  const v4f ax = ew::Abs(x);
  // |x| < 0.625: x * P(x^2), least-squares fit of tanh(x)/x (about 1 ulp).
  const v4f t = ax * ax;
  v4f p = ew::Splat4(-0.005731194745749235f);
  p = p * t + ew::Splat4(0.020664723590016365f);
  p = p * t + ew::Splat4(-0.053748443722724915f);
  p = p * t + ew::Splat4(0.13331560790538788f);
  p = p * t + ew::Splat4(-0.3333328664302826f);
  p = p * t + ew::Splat4(1.0f);
  const v4f small = ax * p;
  // otherwise 1 - 2 / (e^{2|x|} + 1); e^{2|x|} = inf gives exactly 1.
  const v4f one = ew::Splat4(1.0f);
  const v4f big = one - ew::Splat4(2.0f) / (ew::Exp4(ax + ax) + one);
  v4f r = ew::Select(ax < ew::Splat4(0.625f), small, big);
  const v4i sign = (v4i)x & ew::Splat4i(static_cast<int32_t>(0x80000000u));
  return (v4f)((v4i)r | sign);  // NaN: big is NaN, sign kept
}

inline v4f Logistic4(v4f x) {
  const v4f one = ew::Splat4(1.0f);
  return one / (one + ew::Exp4(-x));
}

enum class Act { kRelu, kRelu6, kReluN1To1, kRelu0To1, kLeakyRelu, kHardSwish, kGelu, kTanh,
                 kLogistic };

const char* OpLabel(Act op) {
  switch (op) {
    case Act::kRelu: return "RELU";
    case Act::kRelu6: return "RELU6";
    case Act::kReluN1To1: return "RELU_N1_TO_1";
    case Act::kRelu0To1: return "RELU_0_TO_1";
    case Act::kLeakyRelu: return "LEAKY_RELU";
    case Act::kHardSwish: return "HARD_SWISH";
    case Act::kGelu: return "GELU";
    case Act::kTanh: return "TANH";
    case Act::kLogistic: return "LOGISTIC";
  }
  return "?";
}

template <Act OP>
class Activation final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override {
    TFC_ENSURE(ctx, ctx.num_inputs() == 1 && ctx.num_outputs() == 1);
    const TfLiteTensor* in = ctx.input(0);
    const TfLiteTensor* out = ctx.output(0);
    TFC_ENSURE(ctx, in != nullptr && out != nullptr);
    if (ew::IsQuantizedIntType(in->type)) return ew::RejectQuantized(ctx, in->type);
    TFC_ENSURE_MSG(ctx, in->type == kTfLiteFloat32, "%s does not support %s inputs", OpLabel(OP),
                   TypeName(in->type));
    TFC_ENSURE_TYPE(ctx, out, kTfLiteFloat32);
    if (OP == Act::kLeakyRelu) {
      auto* o = ctx.options<fb::LeakyReluOptions>();
      alpha_ = o ? o->alpha() : 0.0f;
    }
    if (OP == Act::kGelu) {
      auto* o = ctx.options<fb::GeluOptions>();
      approximate_ = o ? o->approximate() : false;
    }
    return ctx.ResizeOutput(0, in->dims);
  }

  TfLiteStatus Eval(OpContext& ctx) override {
    const TfLiteTensor* in = ctx.input(0);
    const float* x = in->data_as<const float>();
    float* y = ctx.output(0)->data_as<float>();
    const int64_t n = in->num_elements();
    const bool heavy = OP == Act::kGelu || OP == Act::kTanh || OP == Act::kLogistic;
    const float alpha = alpha_;
    const bool approximate = approximate_;
    auto body = [&](int64_t begin, int64_t end) {
      const float* xs = x + begin;
      float* ys = y + begin;
      const int64_t m = end - begin;
      switch (OP) {
        case Act::kRelu:
          ew::Map4(xs, ys, m, [](v4f v) {
            const v4f zero = ew::Splat4(0.0f);
            return ew::Select(v < zero, zero, v);
          });
          break;
        case Act::kRelu6:
          ew::Map4(xs, ys, m, [](v4f v) {
            return ew::ClampKeepNaN(v, ew::Splat4(0.0f), ew::Splat4(6.0f));
          });
          break;
        case Act::kReluN1To1:
          ew::Map4(xs, ys, m, [](v4f v) {
            return ew::ClampKeepNaN(v, ew::Splat4(-1.0f), ew::Splat4(1.0f));
          });
          break;
        case Act::kRelu0To1:
          ew::Map4(xs, ys, m, [](v4f v) {
            return ew::ClampKeepNaN(v, ew::Splat4(0.0f), ew::Splat4(1.0f));
          });
          break;
        case Act::kLeakyRelu:
          ew::Map4(xs, ys, m, [alpha](v4f v) {
            return ew::Select(v > ew::Splat4(0.0f), v, v * ew::Splat4(alpha));
          });
          break;
        case Act::kHardSwish:
          ew::Map4(xs, ys, m, [](v4f v) {
            const v4f r6 = ew::ClampKeepNaN(v + ew::Splat4(3.0f), ew::Splat4(0.0f),
                                            ew::Splat4(6.0f));
            return v * r6 / ew::Splat4(6.0f);
          });
          break;
        case Act::kGelu:
          if (approximate) {
            ew::Map4(xs, ys, m, [](v4f v) {
              const v4f k = ew::Splat4(0.7978845608028654f);  // sqrt(2/pi)
              const v4f inner = k * (v + ew::Splat4(0.044715f) * v * v * v);
              return ew::Splat4(0.5f) * v * (ew::Splat4(1.0f) + Tanh4(inner));
            });
          } else {
            // 0.5 x erfc(-x/sqrt2) == 0.5 x (1 + erf(x/sqrt2)), without the
            // cancellation for negative x.
            for (int64_t i = 0; i < m; ++i)
              ys[i] = 0.5f * xs[i] * std::erfc(-xs[i] * 0.70710678118654752f);
          }
          break;
        case Act::kTanh:
          ew::Map4(xs, ys, m, [](v4f v) { return Tanh4(v); });
          break;
        case Act::kLogistic:
          ew::Map4(xs, ys, m, [](v4f v) { return Logistic4(v); });
          break;
      }
    };
    ew::ParallelElements(ctx, n, heavy ? ew::kParallelMinElementsHeavy : ew::kParallelMinElements,
                         body);
    return kTfLiteOk;
  }

 private:
  float alpha_ = 0.0f;
  bool approximate_ = false;
};

class Prelu final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override {
    TFC_ENSURE(ctx, ctx.num_inputs() == 2 && ctx.num_outputs() == 1);
    const TfLiteTensor* in = ctx.input(0);
    const TfLiteTensor* alpha = ctx.input(1);
    const TfLiteTensor* out = ctx.output(0);
    TFC_ENSURE(ctx, in != nullptr && alpha != nullptr && out != nullptr);
    if (ew::IsQuantizedIntType(in->type)) return ew::RejectQuantized(ctx, in->type);
    TFC_ENSURE_MSG(ctx, in->type == kTfLiteFloat32, "PRELU does not support %s inputs",
                   TypeName(in->type));
    TFC_ENSURE_TYPE(ctx, alpha, kTfLiteFloat32);
    TFC_ENSURE_TYPE(ctx, out, kTfLiteFloat32);
    std::vector<int32_t> out_dims;
    char sa[96], sb[96];
    TFC_ENSURE_MSG(ctx, BroadcastShapes(in->dims, alpha->dims, &out_dims),
                   "alpha shape %s does not broadcast against input %s",
                   ShapeString(alpha->dims, sa, sizeof sa), ShapeString(in->dims, sb, sizeof sb));
    int64_t n = 0;
    TFC_ENSURE_MSG(ctx, ew::CheckedNumElements(out_dims, &n), "bad output shape %s",
                   ShapeString(out_dims, sa, sizeof sa));
    TFC_ENSURE_MSG(ctx, plan_.Init({&in->dims, &alpha->dims}, out_dims),
                   "broadcasting %s with %s needs more than %d dimensions",
                   ShapeString(in->dims, sa, sizeof sa), ShapeString(alpha->dims, sb, sizeof sb),
                   kMaxBroadcastDims);
    return ctx.ResizeOutput(0, out_dims);
  }

  TfLiteStatus Eval(OpContext& ctx) override {
    const float* px = ctx.input(0)->data_as<const float>();
    const float* pa = ctx.input(1)->data_as<const float>();
    float* py = ctx.output(0)->data_as<float>();
    const int64_t sx = plan_.inner_stride(0);
    const int64_t sa = plan_.inner_stride(1);
    const BroadcastPlan<2>& plan = plan_;
    auto body = [&](int64_t begin, int64_t end) {
      ForEachRow(plan, begin, end, [&](int64_t o, const int64_t* in, int64_t n) {
        const float* __restrict x = px + in[0];
        const float* __restrict a = pa + in[1];
        float* __restrict y = py + o;
        if (sx && sa) {
          for (int64_t i = 0; i < n; ++i) y[i] = x[i] >= 0.f ? x[i] : x[i] * a[i];
        } else if (sx) {
          const float av = a[0];
          for (int64_t i = 0; i < n; ++i) y[i] = x[i] >= 0.f ? x[i] : x[i] * av;
        } else {
          const float xv = x[0];
          for (int64_t i = 0; i < n; ++i) y[i] = xv >= 0.f ? xv : xv * a[i * sa];
        }
      });
    };
    ew::ParallelElements(ctx, plan_.size, ew::kParallelMinElements, body);
    return kTfLiteOk;
  }

 private:
  BroadcastPlan<2> plan_;
};

using Relu = Activation<Act::kRelu>;
using Relu6 = Activation<Act::kRelu6>;
using ReluN1To1 = Activation<Act::kReluN1To1>;
using Relu0To1 = Activation<Act::kRelu0To1>;
using LeakyRelu = Activation<Act::kLeakyRelu>;
using HardSwish = Activation<Act::kHardSwish>;
using Gelu = Activation<Act::kGelu>;
using Tanh = Activation<Act::kTanh>;
using Logistic = Activation<Act::kLogistic>;

}  // namespace

TFC_REGISTER_OP(RELU, 1, 3, Relu);
TFC_REGISTER_OP(RELU6, 1, 3, Relu6);
TFC_REGISTER_OP(RELU_N1_TO_1, 1, 1, ReluN1To1);
TFC_REGISTER_OP(RELU_0_TO_1, 1, 1, Relu0To1);
TFC_REGISTER_OP(LEAKY_RELU, 1, 2, LeakyRelu);
TFC_REGISTER_OP(PRELU, 1, 1, Prelu);
TFC_REGISTER_OP(HARD_SWISH, 1, 1, HardSwish);
TFC_REGISTER_OP(GELU, 1, 3, Gelu);
TFC_REGISTER_OP(TANH, 1, 3, Tanh);
TFC_REGISTER_OP(LOGISTIC, 1, 3, Logistic);

}  // namespace tfc
