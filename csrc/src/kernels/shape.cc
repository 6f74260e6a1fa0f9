// SHAPE: the input's dimensions as a 1-D int32 or int64 tensor (the output
// tensor's type, ShapeOptions.out_type). Works for inputs of any type.
#include <vector>

#include "kernels/kernel.h"

namespace tfc {
namespace {

class Shape final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override {
    TFC_ENSURE_MSG(ctx, ctx.num_inputs() == 1 && ctx.num_outputs() == 1,
                   "expects 1 input and 1 output");
    const TfLiteTensor* in = ctx.input(0);
    TfLiteTensor* out = ctx.output(0);
    TFC_ENSURE(ctx, in != nullptr && out != nullptr);
    TFC_ENSURE_MSG(ctx, out->type == kTfLiteInt32 || out->type == kTfLiteInt64,
                   "the output has type %s; expected INT32 or INT64", TypeName(out->type));
    return ctx.ResizeOutput(0, {in->rank()});
  }

  TfLiteStatus Eval(OpContext& ctx) override {
    const TfLiteTensor* in = ctx.input(0);
    TfLiteTensor* out = ctx.output(0);
    const int rank = in->rank();
    if (out->type == kTfLiteInt64) {
      int64_t* o = out->data_as<int64_t>();
      for (int i = 0; i < rank; ++i) o[i] = in->dim(i);
    } else {
      int32_t* o = out->data_as<int32_t>();
      for (int i = 0; i < rank; ++i) o[i] = in->dim(i);
    }
    return kTfLiteOk;
  }
};

}  // namespace

TFC_REGISTER_OP(SHAPE, 1, 1, Shape);

}  // namespace tfc
