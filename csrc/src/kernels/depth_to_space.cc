// DEPTH_TO_SPACE (NHWC): [N, H, W, C] -> [N, H*b, W*b, C/(b*b)];
// out[n, h*b+i, w*b+j, c] = in[n, h, w, (i*b+j)*C/(b*b) + c]. Byte copies for
// every type.
#include <cstring>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/util/index_util.h"

namespace tfc {
namespace {

class DepthToSpace final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override {
    TFC_ENSURE_MSG(ctx, ctx.num_inputs() == 1 && ctx.num_outputs() == 1,
                   "expects 1 input and 1 output");
    const TfLiteTensor* in = ctx.input(0);
    TfLiteTensor* out = ctx.output(0);
    TFC_ENSURE(ctx, in != nullptr && out != nullptr);
    TFC_OK(dm::CheckMovable(ctx, in, out));
    TFC_ENSURE_MSG(ctx, in->rank() == 4, "input must have rank 4, it has %d", in->rank());
    const auto* opts = ctx.options<fb::DepthToSpaceOptions>();
    block_ = opts ? opts->block_size() : 0;
    TFC_ENSURE_MSG(ctx, block_ >= 1 && block_ <= 65535, "block_size %d is invalid", block_);
    const int64_t bb = static_cast<int64_t>(block_) * block_;
    TFC_ENSURE_MSG(ctx, in->dim(3) % bb == 0, "depth %d is not a multiple of block_size^2 = %lld",
                   in->dim(3), static_cast<long long>(bb));
    const int64_t h = static_cast<int64_t>(in->dim(1)) * block_;
    const int64_t w = static_cast<int64_t>(in->dim(2)) * block_;
    TFC_ENSURE_MSG(ctx, h <= INT32_MAX && w <= INT32_MAX, "the output is too large");
    return ctx.ResizeOutput(0, {in->dim(0), static_cast<int32_t>(h), static_cast<int32_t>(w),
                                static_cast<int32_t>(in->dim(3) / bb)});
  }

  TfLiteStatus Eval(OpContext& ctx) override {
    const TfLiteTensor* in = ctx.input(0);
    TfLiteTensor* out = ctx.output(0);
    if (out->num_elements() == 0) return kTfLiteOk;
    const size_t es = TypeSize(in->type);
    const int64_t n = in->dim(0), h = in->dim(1), w = in->dim(2), c = in->dim(3);
    const int64_t b = block_, oc = c / (b * b);
    const size_t chunk = static_cast<size_t>(oc) * es;
    const uint8_t* src = static_cast<const uint8_t*>(in->data);
    uint8_t* dst = static_cast<uint8_t*>(out->data);
    for (int64_t ni = 0; ni < n; ++ni)
      for (int64_t hi = 0; hi < h; ++hi)
        for (int64_t bi = 0; bi < b; ++bi) {
          const uint8_t* row = src + static_cast<size_t>((ni * h + hi) * w * c) * es;
          for (int64_t wi = 0; wi < w; ++wi) {
            const uint8_t* px = row + static_cast<size_t>(wi * c + bi * b * oc) * es;
            const size_t span = static_cast<size_t>(b) * chunk;  // j = 0..b-1 are adjacent
            std::memcpy(dst, px, span);
            dst += span;
          }
        }
    return kTfLiteOk;
  }

 private:
  int block_ = 1;
};

}  // namespace

TFC_REGISTER_OP(DEPTH_TO_SPACE, 1, 2, DepthToSpace);

}  // namespace tfc
