// UNPACK: splits a tensor along `axis` into dim(axis) outputs, dropping the
// dimension. Byte copies for every type.
#include <cstring>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/util/index_util.h"

namespace tfc {
namespace {

class Unpack final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override {
    const int n = ctx.num_outputs();
    TFC_ENSURE_MSG(ctx, ctx.num_inputs() == 1 && n >= 1, "expects 1 input and at least 1 output");
    const TfLiteTensor* in = ctx.input(0);
    TFC_ENSURE(ctx, in != nullptr);
    const auto* opts = ctx.options<fb::UnpackOptions>();
    const int rank = in->rank();
    TFC_OK(dm::NormalizeAxis(ctx, opts ? opts->axis() : 0, rank, &axis_));
    TFC_ENSURE_MSG(ctx, in->dim(axis_) == n, "dimension %d has size %d but the op has %d outputs",
                   axis_, in->dim(axis_), n);
    if (opts != nullptr && opts->num() != 0)
      TFC_ENSURE_MSG(ctx, opts->num() == n, "num is %d but the op has %d outputs", opts->num(), n);
    std::vector<int32_t> dims = in->dims;
    dims.erase(dims.begin() + axis_);
    for (int i = 0; i < n; ++i) {
      TfLiteTensor* out = ctx.output(i);
      TFC_ENSURE_MSG(ctx, out != nullptr, "output %d is missing", i);
      TFC_OK(dm::CheckMovable(ctx, in, out));
    TFC_OK(dm::CheckNoRequant(ctx, in, out));
      TFC_OK(ctx.ResizeOutput(i, dims));
    }
    return kTfLiteOk;
  }

  TfLiteStatus Eval(OpContext& ctx) override {
    const int n = ctx.num_outputs();
    const TfLiteTensor* in = ctx.input(0);
    const size_t esize = TypeSize(in->type);
    int64_t outer = 1;
    for (int d = 0; d < axis_; ++d) outer *= in->dim(d);
    int64_t inner = 1;
    for (int d = axis_ + 1; d < in->rank(); ++d) inner *= in->dim(d);
    const size_t row = static_cast<size_t>(inner) * esize;
    if (row == 0) return kTfLiteOk;
    const uint8_t* src = static_cast<const uint8_t*>(in->data);
    for (int i = 0; i < n; ++i) {
      uint8_t* dst = static_cast<uint8_t*>(ctx.output(i)->data);
      const uint8_t* s = src + static_cast<size_t>(i) * row;
      for (int64_t o = 0; o < outer; ++o) {
        std::memcpy(dst, s, row);
        dst += row;
        s += row * static_cast<size_t>(n);
      }
    }
    return kTfLiteOk;
  }

 private:
  int axis_ = 0;
};

}  // namespace

TFC_REGISTER_OP(UNPACK, 1, 4, Unpack);

}  // namespace tfc
