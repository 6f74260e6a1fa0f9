// RANGE: inputs (start, limit, delta), scalars of one type (int32, int64 or
// float32); out = [start, start + delta, ...) up to limit (exclusive), the
// values accumulated by repeated addition. Non-constant inputs make the
// output dynamic.
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/util/index_util.h"

namespace tfc {
namespace {

template <class T>
T Scalar(const TfLiteTensor* t) {
  T v;
  std::memcpy(&v, t->data, sizeof(T));
  return v;
}

class Range final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override {
    TFC_ENSURE_MSG(ctx, ctx.num_inputs() == 3 && ctx.num_outputs() == 1,
                   "expects 3 inputs and 1 output");
    TfLiteTensor* out = ctx.output(0);
    TFC_ENSURE(ctx, out != nullptr);
    const TfLiteType t = out->type;
    if (t != kTfLiteInt32 && t != kTfLiteInt64 && t != kTfLiteFloat32)
      return ctx.ErrorStatus(kTfLiteUnresolvedOps, "%s outputs are not supported yet", TypeName(t));
    bool all_constant = true;
    for (int i = 0; i < 3; ++i) {
      const TfLiteTensor* in = ctx.input(i);
      TFC_ENSURE_MSG(ctx, in != nullptr, "input %d is missing", i);
      TFC_ENSURE_MSG(ctx, in->type == t, "input %d has type %s, the output %s", i,
                     TypeName(in->type), TypeName(t));
      TFC_ENSURE_MSG(ctx, in->num_elements() == 1, "input %d must be a scalar", i);
      all_constant &= in->is_constant();
    }
    dynamic_ = !all_constant;
    if (dynamic_) {
      ctx.MarkOutputDynamic(0);
      return kTfLiteOk;
    }
    int64_t n = 0;
    TFC_OK(Size(ctx, &n));
    return ctx.ResizeOutput(0, {static_cast<int32_t>(n)});
  }

  TfLiteStatus Eval(OpContext& ctx) override {
    int64_t n = 0;
    TFC_OK(Size(ctx, &n));
    if (dynamic_) TFC_OK(ctx.ResizeOutput(0, {static_cast<int32_t>(n)}));
    TfLiteTensor* out = ctx.output(0);
    TFC_ENSURE_MSG(ctx, out->num_elements() == n, "output size changed");
    switch (out->type) {
      case kTfLiteInt32: Fill<int32_t>(ctx, out, n); break;
      case kTfLiteInt64: Fill<int64_t>(ctx, out, n); break;
      default: Fill<float>(ctx, out, n); break;
    }
    return kTfLiteOk;
  }

 private:
  template <class T>
  void Fill(OpContext& ctx, TfLiteTensor* out, int64_t n) {
    const T start = Scalar<T>(ctx.input(0)), delta = Scalar<T>(ctx.input(2));
    T* o = out->data_as<T>();
    T v = start;
    for (int64_t i = 0; i < n; ++i) {
      o[i] = v;
      v = static_cast<T>(v + delta);
    }
  }

  template <class T>
  TfLiteStatus IntSize(OpContext& ctx, int64_t* n) {
    const int64_t start = Scalar<T>(ctx.input(0)), limit = Scalar<T>(ctx.input(1)),
                  delta = Scalar<T>(ctx.input(2));
    TFC_ENSURE_MSG(ctx, delta != 0, "delta must not be 0");
    TFC_ENSURE_MSG(ctx, !((start < limit && delta < 0) || (start > limit && delta > 0)),
                   "start %lld cannot reach limit %lld with delta %lld",
                   static_cast<long long>(start), static_cast<long long>(limit),
                   static_cast<long long>(delta));
    const uint64_t span = start < limit ? static_cast<uint64_t>(limit) - static_cast<uint64_t>(start)
                                        : static_cast<uint64_t>(start) - static_cast<uint64_t>(limit);
    const uint64_t step = delta > 0 ? static_cast<uint64_t>(delta)
                                    : static_cast<uint64_t>(0) - static_cast<uint64_t>(delta);
    const uint64_t count = span / step + (span % step != 0 ? 1 : 0);
    TFC_ENSURE_MSG(ctx, count <= static_cast<uint64_t>(INT32_MAX), "the range is too long");
    *n = static_cast<int64_t>(count);
    return kTfLiteOk;
  }

  TfLiteStatus Size(OpContext& ctx, int64_t* n) {
    for (int i = 0; i < 3; ++i) {
      const TfLiteTensor* in = ctx.input(i);
      TFC_ENSURE_MSG(ctx, in->data != nullptr && in->bytes >= TypeSize(in->type),
                     "input %d has no data", i);
    }
    switch (ctx.output(0)->type) {
      case kTfLiteInt32: return IntSize<int32_t>(ctx, n);
      case kTfLiteInt64: return IntSize<int64_t>(ctx, n);
      default: break;
    }
    const float start = Scalar<float>(ctx.input(0)), limit = Scalar<float>(ctx.input(1)),
                delta = Scalar<float>(ctx.input(2));
    TFC_ENSURE_MSG(ctx, delta != 0.f, "delta must not be 0");
    TFC_ENSURE_MSG(ctx, !((start < limit && delta < 0) || (start > limit && delta > 0)),
                   "start %g cannot reach limit %g with delta %g", start, limit, delta);
    const float count = std::ceil(std::fabs((limit - start) / delta));
    TFC_ENSURE_MSG(ctx, std::isfinite(count) && count <= static_cast<float>(INT32_MAX / 2),
                   "the range is too long or not finite");
    *n = static_cast<int64_t>(count);
    return kTfLiteOk;
  }

  bool dynamic_ = false;
};

}  // namespace

TFC_REGISTER_OP(RANGE, 1, 2, Range);

}  // namespace tfc
