// SQUEEZE: removes dimensions of size 1 (all of them, or those listed in
// SqueezeOptions.squeeze_dims, negative entries counting from the end).
#include <cstring>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/util/index_util.h"

namespace tfc {
namespace {

class Squeeze final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override {
    TFC_ENSURE_MSG(ctx, ctx.num_inputs() == 1 && ctx.num_outputs() == 1,
                   "expects 1 input and 1 output");
    const TfLiteTensor* in = ctx.input(0);
    TfLiteTensor* out = ctx.output(0);
    TFC_ENSURE(ctx, in != nullptr && out != nullptr);
    TFC_OK(dm::CheckMovable(ctx, in, out));
    const int rank = in->rank();
    std::vector<bool> drop(static_cast<size_t>(rank), false);
    const auto* opts = ctx.options<fb::SqueezeOptions>();
    if (opts != nullptr && opts->squeeze_dims() != nullptr && opts->squeeze_dims()->size() > 0) {
      for (int32_t d : *opts->squeeze_dims()) {
        int axis = 0;
        TFC_OK(dm::NormalizeAxis(ctx, d, rank, &axis));
        TFC_ENSURE_MSG(ctx, in->dim(axis) == 1, "cannot squeeze dimension %d of size %d", d,
                       in->dim(axis));
        drop[static_cast<size_t>(axis)] = true;
      }
    } else {
      for (int i = 0; i < rank; ++i) drop[static_cast<size_t>(i)] = in->dim(i) == 1;
    }
    std::vector<int32_t> dims;
    for (int i = 0; i < rank; ++i)
      if (!drop[static_cast<size_t>(i)]) dims.push_back(in->dim(i));
    return ctx.ResizeOutput(0, dims);
  }

  TfLiteStatus Eval(OpContext& ctx) override {
    const TfLiteTensor* in = ctx.input(0);
    TfLiteTensor* out = ctx.output(0);
    const size_t bytes = static_cast<size_t>(in->num_elements()) * TypeSize(in->type);
    TFC_ENSURE_MSG(ctx, out->bytes >= bytes, "output buffer too small");
    if (bytes > 0 && out->data != in->data) std::memmove(out->data, in->data, bytes);
    return kTfLiteOk;
  }
};

}  // namespace

TFC_REGISTER_OP(SQUEEZE, 1, 2, Squeeze);

}  // namespace tfc
