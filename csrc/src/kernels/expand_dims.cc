// EXPAND_DIMS: inserts a dimension of size 1 at the position given by the
// second input (a 1-element int tensor; -1 means last). A non-constant axis
// makes the output dynamic.
#include <cstring>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/util/index_util.h"

namespace tfc {
namespace {

class ExpandDims final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override {
    TFC_ENSURE_MSG(ctx, ctx.num_inputs() == 2 && ctx.num_outputs() == 1,
                   "expects 2 inputs and 1 output");
    const TfLiteTensor* in = ctx.input(0);
    const TfLiteTensor* axis = ctx.input(1);
    TfLiteTensor* out = ctx.output(0);
    TFC_ENSURE(ctx, in != nullptr && out != nullptr);
    TFC_OK(dm::CheckMovable(ctx, in, out));
    TFC_OK(dm::CheckNoRequant(ctx, in, out));
    TFC_OK(dm::CheckIndexType(ctx, axis, "axis"));
    dims_.reserve(static_cast<size_t>(in->rank()) + 1);
    if (!axis->is_constant()) {
      ctx.MarkOutputDynamic(0);
      return kTfLiteOk;
    }
    TFC_OK(Compute(ctx));
    return ctx.ResizeOutput(0, dims_);
  }

  TfLiteStatus Eval(OpContext& ctx) override {
    const TfLiteTensor* in = ctx.input(0);
    TfLiteTensor* out = ctx.output(0);
    if (!ctx.input(1)->is_constant()) {
      TFC_OK(Compute(ctx));
      TFC_OK(ctx.ResizeOutput(0, dims_));
    }
    const size_t bytes = static_cast<size_t>(in->num_elements()) * TypeSize(in->type);
    TFC_ENSURE_MSG(ctx, out->bytes >= bytes, "output buffer too small");
    if (bytes > 0 && out->data != in->data) std::memmove(out->data, in->data, bytes);
    return kTfLiteOk;
  }

 private:
  TfLiteStatus Compute(OpContext& ctx) {
    const TfLiteTensor* in = ctx.input(0);
    int64_t a = 0;
    TFC_OK(dm::ReadScalarIndex(ctx, ctx.input(1), "axis", &a));
    const int rank = in->rank();
    TFC_ENSURE_MSG(ctx, a >= -rank - 1 && a <= rank, "axis %lld is out of range for rank %d",
                   static_cast<long long>(a), rank);
    const int pos = static_cast<int>(a < 0 ? a + rank + 1 : a);
    dims_.clear();
    for (int i = 0; i < rank; ++i) {
      if (i == pos) dims_.push_back(1);
      dims_.push_back(in->dim(i));
    }
    if (pos == rank) dims_.push_back(1);
    return kTfLiteOk;
  }

  std::vector<int32_t> dims_;
};

}  // namespace

TFC_REGISTER_OP(EXPAND_DIMS, 1, 1, ExpandDims);

}  // namespace tfc
