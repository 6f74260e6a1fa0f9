// SPLIT: inputs (axis, value) -- the axis comes FIRST. Cuts `value` into
// num_splits equal parts along the axis. A non-constant axis makes all
// outputs dynamic.
#include <cstring>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/util/index_util.h"

namespace tfc {
namespace {

class Split final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override {
    const int n = ctx.num_outputs();
    TFC_ENSURE_MSG(ctx, ctx.num_inputs() == 2 && n >= 1, "expects 2 inputs and at least 1 output");
    const TfLiteTensor* axis = ctx.input(0);
    const TfLiteTensor* in = ctx.input(1);
    TFC_ENSURE(ctx, in != nullptr);
    const auto* opts = ctx.options<fb::SplitOptions>();
    if (opts != nullptr)
      TFC_ENSURE_MSG(ctx, opts->num_splits() == n, "num_splits is %d but the op has %d outputs",
                     opts->num_splits(), n);
    for (int i = 0; i < n; ++i) {
      TFC_ENSURE_MSG(ctx, ctx.output(i) != nullptr, "output %d is missing", i);
      TFC_OK(dm::CheckMovable(ctx, in, ctx.output(i)));
    }
    TFC_OK(dm::CheckIndexType(ctx, axis, "axis"));
    dims_.reserve(static_cast<size_t>(in->rank()));
    if (!axis->is_constant()) {
      for (int i = 0; i < n; ++i) ctx.MarkOutputDynamic(i);
      return kTfLiteOk;
    }
    return ResizeAll(ctx);
  }

  TfLiteStatus Eval(OpContext& ctx) override {
    if (!ctx.input(0)->is_constant()) TFC_OK(ResizeAll(ctx));
    const int n = ctx.num_outputs();
    const TfLiteTensor* in = ctx.input(1);
    const size_t esize = TypeSize(in->type);
    int64_t outer = 1;
    for (int d = 0; d < axis_; ++d) outer *= in->dim(d);
    int64_t inner = 1;
    for (int d = axis_ + 1; d < in->rank(); ++d) inner *= in->dim(d);
    const size_t in_row = static_cast<size_t>(in->dim(axis_) * inner) * esize;
    const size_t row = in_row / static_cast<size_t>(n);
    if (row == 0) return kTfLiteOk;
    for (int i = 0; i < n; ++i) {
      uint8_t* dst = static_cast<uint8_t*>(ctx.output(i)->data);
      const uint8_t* src = static_cast<const uint8_t*>(in->data) + static_cast<size_t>(i) * row;
      for (int64_t o = 0; o < outer; ++o) {
        std::memcpy(dst, src, row);
        dst += row;
        src += in_row;
      }
    }
    return kTfLiteOk;
  }

 private:
  TfLiteStatus ResizeAll(OpContext& ctx) {
    const int n = ctx.num_outputs();
    const TfLiteTensor* in = ctx.input(1);
    int64_t a = 0;
    TFC_OK(dm::ReadScalarIndex(ctx, ctx.input(0), "axis", &a));
    TFC_OK(dm::NormalizeAxis(ctx, a, in->rank(), &axis_));
    const int32_t size = in->dim(axis_);
    TFC_ENSURE_MSG(ctx, size % n == 0, "dimension %d of size %d does not split into %d parts",
                   axis_, size, n);
    dims_.assign(in->dims.begin(), in->dims.end());
    dims_[static_cast<size_t>(axis_)] = size / n;
    for (int i = 0; i < n; ++i) TFC_OK(ctx.ResizeOutput(i, dims_));
    return kTfLiteOk;
  }

  int axis_ = 0;
  std::vector<int32_t> dims_;
};

}  // namespace

TFC_REGISTER_OP(SPLIT, 1, 4, Split);

}  // namespace tfc
