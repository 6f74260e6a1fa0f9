// EQUAL NOT_EQUAL GREATER GREATER_EQUAL LESS LESS_EQUAL: elementwise
// comparison with NumPy broadcasting; the output is bool.
//
// Types: float32, int32, int64; bool for EQUAL and NOT_EQUAL; int8/uint8
// quantized per tensor, compared as TFLite does: each value brought to a
// common fixed-point form ((q - zp) << 8) * scale (scale as a fixed-point
// multiplier, reference rounding), then compared; int16 compares the raw
// values. Strings are not supported.
#include <cstdint>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/util/broadcast.h"
#include "kernels/util/elementwise.h"
#include "kernels/util/quant_binary.h"
#include "kernels/util/quant_params.h"

namespace tfc {
namespace {

enum class Cmp { kEq, kNe, kGt, kGe, kLt, kLe };

template <Cmp OP>
struct Compare {
  template <class T>
  bool operator()(T a, T b) const {
    switch (OP) {
      case Cmp::kEq: return a == b;
      case Cmp::kNe: return a != b;
      case Cmp::kGt: return a > b;
      case Cmp::kGe: return a >= b;
      case Cmp::kLt: return a < b;
      case Cmp::kLe: return a <= b;
    }
    return false;
  }
};

// Bool tensors are read as bytes (any non-zero byte is true).
template <Cmp OP>
struct CompareBytesAsBool {
  bool operator()(uint8_t a, uint8_t b) const { return Compare<OP>()(a != 0, b != 0); }
};

template <class T, class F>
inline void CompareRow(const T* __restrict a, int64_t sa, const T* __restrict b, int64_t sb,
                       bool* __restrict o, int64_t n, F f) {
  if (sa && sb) {
    for (int64_t i = 0; i < n; ++i) o[i] = f(a[i], b[i]);
  } else if (sa) {
    const T y = b[0];
    for (int64_t i = 0; i < n; ++i) o[i] = f(a[i], y);
  } else if (sb) {
    const T x = a[0];
    for (int64_t i = 0; i < n; ++i) o[i] = f(x, b[i]);
  } else {
    const bool v = f(a[0], b[0]);
    for (int64_t i = 0; i < n; ++i) o[i] = v;
  }
}

template <Cmp OP>
class Comparison final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override {
    TFC_ENSURE(ctx, ctx.num_inputs() == 2 && ctx.num_outputs() == 1);
    const TfLiteTensor* a = ctx.input(0);
    const TfLiteTensor* b = ctx.input(1);
    const TfLiteTensor* out = ctx.output(0);
    TFC_ENSURE(ctx, a != nullptr && b != nullptr && out != nullptr);
    const bool eq = OP == Cmp::kEq || OP == Cmp::kNe;
    rescale_ = a->type == kTfLiteInt8 || a->type == kTfLiteUInt8;
    if (rescale_) {
      TFC_ENSURE_TYPE(ctx, b, a->type);
      float s1, s2;
      TFC_OK(qp::PerTensor(ctx, a, &s1, &zp1_));
      TFC_OK(qp::PerTensor(ctx, b, &s2, &zp2_));
      QuantizeMultiplier(static_cast<double>(s1), &m1_, &e1_);
      QuantizeMultiplier(static_cast<double>(s2), &m2_, &e2_);
    }
    TFC_ENSURE_MSG(ctx,
                   a->type == kTfLiteFloat32 || a->type == kTfLiteInt32 ||
                       a->type == kTfLiteInt64 || (eq && a->type == kTfLiteBool) ||
                       qp::IsQuantType(a->type),
                   "%s inputs are not supported", TypeName(a->type));
    TFC_ENSURE_TYPE(ctx, b, a->type);
    TFC_ENSURE_TYPE(ctx, out, kTfLiteBool);

    std::vector<int32_t> out_dims;
    char sa[96], sb[96];
    TFC_ENSURE_MSG(ctx, BroadcastShapes(a->dims, b->dims, &out_dims),
                   "shapes %s and %s are not broadcastable", ShapeString(a->dims, sa, sizeof sa),
                   ShapeString(b->dims, sb, sizeof sb));
    int64_t n = 0;
    TFC_ENSURE_MSG(ctx, ew::CheckedNumElements(out_dims, &n), "bad output shape %s",
                   ShapeString(out_dims, sa, sizeof sa));
    TFC_ENSURE_MSG(ctx, plan_.Init({&a->dims, &b->dims}, out_dims),
                   "broadcasting %s with %s needs more than %d dimensions",
                   ShapeString(a->dims, sa, sizeof sa), ShapeString(b->dims, sb, sizeof sb),
                   kMaxBroadcastDims);
    return ctx.ResizeOutput(0, out_dims);
  }

  TfLiteStatus Eval(OpContext& ctx) override {
    const TfLiteTensor* a = ctx.input(0);
    const TfLiteTensor* b = ctx.input(1);
    TfLiteTensor* out = ctx.output(0);
    switch (a->type) {
      case kTfLiteFloat32: Run<float>(ctx, a, b, out, Compare<OP>()); break;
      case kTfLiteInt32: Run<int32_t>(ctx, a, b, out, Compare<OP>()); break;
      case kTfLiteInt64: Run<int64_t>(ctx, a, b, out, Compare<OP>()); break;
      case kTfLiteBool: Run<uint8_t>(ctx, a, b, out, CompareBytesAsBool<OP>()); break;
      case kTfLiteInt16: Run<int16_t>(ctx, a, b, out, Compare<OP>()); break;
      case kTfLiteInt8: Run<int8_t>(ctx, a, b, out, Scaled<int8_t>{this}); break;
      case kTfLiteUInt8: Run<uint8_t>(ctx, a, b, out, Scaled<uint8_t>{this}); break;
      default: return ctx.Error("unsupported type %s", TypeName(a->type));
    }
    return kTfLiteOk;
  }

 private:
  template <class T>
  struct Scaled {
    const Comparison* k;
    bool operator()(T a, T b) const {
      const int32_t x = qbin::MulSmallExp(WrappingShiftLeft(int32_t{a} - k->zp1_, 8), k->m1_, k->e1_);
      const int32_t y = qbin::MulSmallExp(WrappingShiftLeft(int32_t{b} - k->zp2_, 8), k->m2_, k->e2_);
      return Compare<OP>()(x, y);
    }
  };

  template <class T, class F>
  void Run(OpContext& ctx, const TfLiteTensor* a, const TfLiteTensor* b, TfLiteTensor* out, F f) {
    const T* pa = a->data_as<const T>();
    const T* pb = b->data_as<const T>();
    bool* po = out->data_as<bool>();
    const int64_t sa = plan_.inner_stride(0);
    const int64_t sb = plan_.inner_stride(1);
    const BroadcastPlan<2>& plan = plan_;
    auto body = [&](int64_t begin, int64_t end) {
      ForEachRow(plan, begin, end, [&](int64_t o, const int64_t* in, int64_t n) {
        CompareRow<T>(pa + in[0], sa, pb + in[1], sb, po + o, n, f);
      });
    };
    ew::ParallelElements(ctx, plan_.size, ew::kParallelMinElements, body);
  }

  BroadcastPlan<2> plan_;
  bool rescale_ = false;
  int32_t zp1_ = 0, zp2_ = 0, m1_ = 0, m2_ = 0;
  int e1_ = 0, e2_ = 0;
};

using Equal = Comparison<Cmp::kEq>;
using NotEqual = Comparison<Cmp::kNe>;
using Greater = Comparison<Cmp::kGt>;
using GreaterEqual = Comparison<Cmp::kGe>;
using Less = Comparison<Cmp::kLt>;
using LessEqual = Comparison<Cmp::kLe>;

}  // namespace

TFC_REGISTER_OP(EQUAL, 1, 5, Equal);
TFC_REGISTER_OP(NOT_EQUAL, 1, 4, NotEqual);
TFC_REGISTER_OP(GREATER, 1, 2, Greater);
TFC_REGISTER_OP(GREATER_EQUAL, 1, 3, GreaterEqual);
TFC_REGISTER_OP(LESS, 1, 3, Less);
TFC_REGISTER_OP(LESS_EQUAL, 1, 2, LessEqual);

}  // namespace tfc
