// SPACE_TO_DEPTH (NHWC): [N, H, W, C] -> [N, H/b, W/b, C*b*b];
// out[n, h, w, (i*b+j)*C + c] = in[n, h*b+i, w*b+j, c]. Byte copies for every
// type.
#include <cstring>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/util/index_util.h"

namespace tfc {
namespace {

class SpaceToDepth final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override {
    TFC_ENSURE_MSG(ctx, ctx.num_inputs() == 1 && ctx.num_outputs() == 1,
                   "expects 1 input and 1 output");
    const TfLiteTensor* in = ctx.input(0);
    TfLiteTensor* out = ctx.output(0);
    TFC_ENSURE(ctx, in != nullptr && out != nullptr);
    TFC_OK(dm::CheckMovable(ctx, in, out));
    TFC_ENSURE_MSG(ctx, in->rank() == 4, "input must have rank 4, it has %d", in->rank());
    const auto* opts = ctx.options<fb::SpaceToDepthOptions>();
    block_ = opts ? opts->block_size() : 0;
    TFC_ENSURE_MSG(ctx, block_ >= 1 && block_ <= 65535, "block_size %d is invalid", block_);
    TFC_ENSURE_MSG(ctx, in->dim(1) % block_ == 0 && in->dim(2) % block_ == 0,
                   "height %d and width %d must be multiples of block_size %d", in->dim(1),
                   in->dim(2), block_);
    const int64_t c = static_cast<int64_t>(in->dim(3)) * block_ * block_;
    TFC_ENSURE_MSG(ctx, c <= INT32_MAX, "the output is too large");
    return ctx.ResizeOutput(0, {in->dim(0), in->dim(1) / block_, in->dim(2) / block_,
                                static_cast<int32_t>(c)});
  }

  TfLiteStatus Eval(OpContext& ctx) override {
    const TfLiteTensor* in = ctx.input(0);
    TfLiteTensor* out = ctx.output(0);
    if (out->num_elements() == 0) return kTfLiteOk;
    const size_t es = TypeSize(in->type);
    const int64_t n = in->dim(0), h = in->dim(1), w = in->dim(2), c = in->dim(3);
    const int64_t b = block_, oh = h / b, ow = w / b;
    const size_t span = static_cast<size_t>(b * c) * es;  // j = 0..b-1 adjacent in the input
    const uint8_t* src = static_cast<const uint8_t*>(in->data);
    uint8_t* dst = static_cast<uint8_t*>(out->data);
    for (int64_t ni = 0; ni < n; ++ni)
      for (int64_t y = 0; y < oh; ++y)
        for (int64_t x = 0; x < ow; ++x)
          for (int64_t i = 0; i < b; ++i) {
            const uint8_t* px =
                src + static_cast<size_t>(((ni * h + y * b + i) * w + x * b) * c) * es;
            std::memcpy(dst, px, span);
            dst += span;
          }
    return kTfLiteOk;
  }

 private:
  int block_ = 1;
};

}  // namespace

TFC_REGISTER_OP(SPACE_TO_DEPTH, 1, 2, SpaceToDepth);

}  // namespace tfc
