// ARG_MAX and ARG_MIN: index of the largest / smallest value along one axis
// (the first one on ties). Inputs (input, axis: a 1-element int tensor);
// output int32 or int64 (the output tensor's type, ArgMaxOptions.output_type).
// Input types: float32, int32, int64, int8, uint8, int16, bool. A
// non-constant axis makes the output dynamic.
#include <cstring>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/util/index_util.h"

namespace tfc {
namespace {

template <bool kMax, class T, class I>
void ArgLoop(const T* in, I* out, int64_t outer, int64_t n, int64_t inner) {
  for (int64_t o = 0; o < outer; ++o) {
    const T* base = in + o * n * inner;
    I* res = out + o * inner;
    if (inner == 1) {
      T best = base[0];
      int64_t bi = 0;
      for (int64_t k = 1; k < n; ++k) {
        const T v = base[k];
        if (kMax ? (v > best) : (v < best)) {
          best = v;
          bi = k;
        }
      }
      res[0] = static_cast<I>(bi);
      continue;
    }
    for (int64_t j = 0; j < inner; ++j) res[j] = 0;
    for (int64_t k = 1; k < n; ++k) {
      const T* row = base + k * inner;
      for (int64_t j = 0; j < inner; ++j) {
        const T best = base[static_cast<int64_t>(res[j]) * inner + j];
        if (kMax ? (row[j] > best) : (row[j] < best)) res[j] = static_cast<I>(k);
      }
    }
  }
}

template <bool kMax>
class ArgMinMax final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override {
    TFC_ENSURE_MSG(ctx, ctx.num_inputs() == 2 && ctx.num_outputs() == 1,
                   "expects 2 inputs and 1 output");
    const TfLiteTensor* in = ctx.input(0);
    TfLiteTensor* out = ctx.output(0);
    TFC_ENSURE(ctx, in != nullptr && out != nullptr);
    const TfLiteType t = in->type;
    if (t != kTfLiteFloat32 && t != kTfLiteInt32 && t != kTfLiteInt64 && t != kTfLiteInt8 &&
        t != kTfLiteUInt8 && t != kTfLiteInt16 && t != kTfLiteBool)
      return ctx.ErrorStatus(kTfLiteUnresolvedOps, "%s inputs are not supported yet", TypeName(t));
    TFC_ENSURE_MSG(ctx, out->type == kTfLiteInt32 || out->type == kTfLiteInt64,
                   "the output has type %s; expected INT32 or INT64", TypeName(out->type));
    TFC_ENSURE_MSG(ctx, in->rank() >= 1, "the input must have rank >= 1");
    TFC_OK(dm::CheckIndexType(ctx, ctx.input(1), "axis"));
    dims_.reserve(static_cast<size_t>(in->rank()));
    if (!ctx.input(1)->is_constant()) {
      ctx.MarkOutputDynamic(0);
      return kTfLiteOk;
    }
    TFC_OK(Plan(ctx));
    return ctx.ResizeOutput(0, dims_);
  }

  TfLiteStatus Eval(OpContext& ctx) override {
    if (!ctx.input(1)->is_constant()) {
      TFC_OK(Plan(ctx));
      TFC_OK(ctx.ResizeOutput(0, dims_));
    }
    const TfLiteTensor* in = ctx.input(0);
    TfLiteTensor* out = ctx.output(0);
    if (out->num_elements() == 0) return kTfLiteOk;
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < axis_; ++d) outer *= in->dim(d);
    for (int d = axis_ + 1; d < in->rank(); ++d) inner *= in->dim(d);
    const int64_t n = in->dim(axis_);
    TFC_ENSURE_MSG(ctx, n > 0, "cannot take the arg%s over an empty dimension",
                   kMax ? "max" : "min");
    if (out->type == kTfLiteInt64) return Dispatch<int64_t>(ctx, in, out, outer, n, inner);
    return Dispatch<int32_t>(ctx, in, out, outer, n, inner);
  }

 private:
  template <class I>
  TfLiteStatus Dispatch(OpContext& ctx, const TfLiteTensor* in, TfLiteTensor* out, int64_t outer,
                        int64_t n, int64_t inner) {
    I* o = out->data_as<I>();
    switch (in->type) {
      case kTfLiteFloat32: ArgLoop<kMax>(in->data_as<const float>(), o, outer, n, inner); break;
      case kTfLiteInt32: ArgLoop<kMax>(in->data_as<const int32_t>(), o, outer, n, inner); break;
      case kTfLiteInt64: ArgLoop<kMax>(in->data_as<const int64_t>(), o, outer, n, inner); break;
      case kTfLiteInt8: ArgLoop<kMax>(in->data_as<const int8_t>(), o, outer, n, inner); break;
      case kTfLiteUInt8: ArgLoop<kMax>(in->data_as<const uint8_t>(), o, outer, n, inner); break;
      case kTfLiteInt16: ArgLoop<kMax>(in->data_as<const int16_t>(), o, outer, n, inner); break;
      case kTfLiteBool: ArgLoop<kMax>(in->data_as<const bool>(), o, outer, n, inner); break;
      default: return ctx.Error("unexpected type %s", TypeName(in->type));
    }
    return kTfLiteOk;
  }

  TfLiteStatus Plan(OpContext& ctx) {
    const TfLiteTensor* in = ctx.input(0);
    int64_t a = 0;
    TFC_OK(dm::ReadScalarIndex(ctx, ctx.input(1), "axis", &a));
    TFC_OK(dm::NormalizeAxis(ctx, a, in->rank(), &axis_));
    dims_.clear();
    for (int d = 0; d < in->rank(); ++d)
      if (d != axis_) dims_.push_back(in->dim(d));
    return kTfLiteOk;
  }

  int axis_ = 0;
  std::vector<int32_t> dims_;
};

using ArgMax = ArgMinMax<true>;
using ArgMin = ArgMinMax<false>;

}  // namespace

TFC_REGISTER_OP(ARG_MAX, 1, 3, ArgMax);
TFC_REGISTER_OP(ARG_MIN, 1, 3, ArgMin);

}  // namespace tfc
