// ZEROS_LIKE: a tensor of zeros with the input's shape and type (any numeric
// or bool type). Quantized int8/uint8/int16 tensors (where the byte 0 need not
// mean 0.0) are rejected (kTfLiteUnresolvedOps).
#include <cstring>

#include "kernels/kernel.h"
#include "kernels/util/elementwise.h"

namespace tfc {
namespace {

class ZerosLike final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override {
    TFC_ENSURE(ctx, ctx.num_inputs() == 1 && ctx.num_outputs() == 1);
    const TfLiteTensor* in = ctx.input(0);
    const TfLiteTensor* out = ctx.output(0);
    TFC_ENSURE(ctx, in != nullptr && out != nullptr);
    TFC_ENSURE_MSG(ctx, TypeSize(in->type) > 0 && in->type != kTfLiteResource &&
                            in->type != kTfLiteVariant,
                   "%s inputs are not supported", TypeName(in->type));
    TFC_ENSURE_TYPE(ctx, out, in->type);
    if (ew::IsQuantizedIntType(in->type) && (!in->quant.empty() || !out->quant.empty()))
      return ew::RejectQuantized(ctx, in->type);
    return ctx.ResizeOutput(0, in->dims);
  }
  TfLiteStatus Eval(OpContext& ctx) override {
    TfLiteTensor* out = ctx.output(0);
    if (out->bytes) std::memset(out->data, 0, out->bytes);
    return kTfLiteOk;
  }
};

}  // namespace

TFC_REGISTER_OP(ZEROS_LIKE, 1, 1, ZerosLike);

}  // namespace tfc
