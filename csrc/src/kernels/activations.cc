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
//   TANH, LOGISTIC, GELU: vectorized (ew::Tanh, ew::Logistic, ew::NormalCdf;
//               about 2 ulp for tanh/logistic, ~2e-7 absolute for the erf).
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/util/broadcast.h"
#include "kernels/util/elementwise.h"

namespace tfc {
namespace {


constexpr float kInf = std::numeric_limits<float>::infinity();

// Per-vector functions (V is ew::v4f or ew::v8f).
struct ClampFn {
  float lo, hi;
  template <class V>
  TFC_EW_INLINE V operator()(const V& v) const {
    return ew::ClampKeepNaN(v, ew::Splat<V>(lo), ew::Splat<V>(hi));
  }
};
struct LeakyReluFn {
  float alpha;
  template <class V>
  TFC_EW_INLINE V operator()(const V& v) const {
    return ew::Select(v > ew::Splat<V>(0.0f), v, v * ew::Splat<V>(alpha));
  }
};
struct HardSwishFn {
  template <class V>
  TFC_EW_INLINE V operator()(const V& v) const {
    const V r6 = ew::ClampKeepNaN(v + ew::Splat<V>(3.0f), ew::Splat<V>(0.0f), ew::Splat<V>(6.0f));
    return v * r6 / ew::Splat<V>(6.0f);
  }
};
struct GeluFn {  // x * Phi(x)
  template <class V>
  TFC_EW_INLINE V operator()(const V& v) const {
    return v * ew::NormalCdf(v);
  }
};
struct GeluTanhFn {  // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
  template <class V>
  TFC_EW_INLINE V operator()(const V& v) const {
    const V inner = ew::Splat<V>(0.7978845608028654f) * (v + ew::Splat<V>(0.044715f) * v * v * v);
    return ew::Splat<V>(0.5f) * v * (ew::Splat<V>(1.0f) + ew::Tanh(inner));
  }
};
struct TanhFn {
  template <class V>
  TFC_EW_INLINE V operator()(const V& v) const {
    return ew::Tanh(v);
  }
};
struct LogisticFn {
  template <class V>
  TFC_EW_INLINE V operator()(const V& v) const {
    return ew::Logistic(v);
  }
};

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
        case Act::kRelu: ew::MapFloat(xs, ys, m, ClampFn{0.0f, kInf}); break;
        case Act::kRelu6: ew::MapFloat(xs, ys, m, ClampFn{0.0f, 6.0f}); break;
        case Act::kReluN1To1: ew::MapFloat(xs, ys, m, ClampFn{-1.0f, 1.0f}); break;
        case Act::kRelu0To1: ew::MapFloat(xs, ys, m, ClampFn{0.0f, 1.0f}); break;
        case Act::kLeakyRelu: ew::MapFloat(xs, ys, m, LeakyReluFn{alpha}); break;
        case Act::kHardSwish: ew::MapFloat(xs, ys, m, HardSwishFn{}); break;
        case Act::kGelu:
          if (approximate) {
            ew::MapFloat(xs, ys, m, GeluTanhFn{});
          } else {
            ew::MapFloat(xs, ys, m, GeluFn{});
          }
          break;
        case Act::kTanh: ew::MapFloat(xs, ys, m, TanhFn{}); break;
        case Act::kLogistic: ew::MapFloat(xs, ys, m, LogisticFn{}); break;
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

// One PRELU row: x and alpha step by sx / sa (0 or 1).
template <class V>
TFC_EW_INLINE void PreluRowV(const float* __restrict x, int64_t sx, const float* __restrict a,
                             int64_t sa, float* __restrict y, int64_t n) {
  constexpr int L = ew::Lanes<V>();
  const V zero = ew::Splat<V>(0.0f);
  int64_t i = 0;
  if (sx) {
    for (; i + L <= n; i += L) {
      const V v = ew::Load<V>(x + i);
      const V al = sa ? ew::Load<V>(a + i) : ew::Splat<V>(a[0]);
      ew::Store<V>(y + i, ew::Select(v >= zero, v, v * al));
    }
  }
  for (; i < n; ++i) {
    const float v = x[i * sx];
    const float al = a[i * sa];
    y[i] = v >= 0.f ? v : v * al;
  }
}
#if TFC_EW_AVX2
TFC_EW_TARGET_AVX2 void PreluRowAvx2(const float* x, int64_t sx, const float* a, int64_t sa,
                                     float* y, int64_t n) {
  PreluRowV<ew::v8f>(x, sx, a, sa, y, n);
}
#endif
inline void PreluRow(const float* x, int64_t sx, const float* a, int64_t sa, float* y, int64_t n) {
#if TFC_EW_AVX2
  if (ew::UseAvx2()) return PreluRowAvx2(x, sx, a, sa, y, n);
#endif
  PreluRowV<ew::v4f>(x, sx, a, sa, y, n);
}

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
        PreluRow(px + in[0], sx, pa + in[1], sa, py + o, n);
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
