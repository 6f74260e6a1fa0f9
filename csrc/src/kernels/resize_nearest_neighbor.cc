// RESIZE_NEAREST_NEIGHBOR (NHWC): inputs (input, size = [new_height,
// new_width]). Source coordinate of output x (TensorFlow Lite's rule):
//   scale = align_corners && out > 1 ? (in - 1) / (out - 1) : in / out
//   s = (x + (half_pixel_centers ? 0.5 : 0)) * scale, in float;
//   src = align_corners ? round-half-away(s) : floor(s), capped at in - 1,
//   and at least 0 with half_pixel_centers.
// Byte copies for every type. A non-constant size makes the output dynamic.
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/util/index_util.h"

namespace tfc {
namespace {

int32_t NearestSource(int32_t x, int32_t in_size, int32_t out_size, bool align_corners,
                      bool half_pixel) {
  const float scale = (align_corners && out_size > 1)
                          ? static_cast<float>(in_size - 1) / static_cast<float>(out_size - 1)
                          : static_cast<float>(in_size) / static_cast<float>(out_size);
  const float s = (static_cast<float>(x) + (half_pixel ? 0.5f : 0.0f)) * scale;
  int32_t v = align_corners ? static_cast<int32_t>(std::round(s)) : static_cast<int32_t>(std::floor(s));
  if (v > in_size - 1) v = in_size - 1;
  if (half_pixel && v < 0) v = 0;
  return v;
}

class ResizeNearestNeighbor final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override {
    TFC_ENSURE_MSG(ctx, ctx.num_inputs() == 2 && ctx.num_outputs() == 1,
                   "expects 2 inputs and 1 output");
    const TfLiteTensor* in = ctx.input(0);
    const TfLiteTensor* size = ctx.input(1);
    TfLiteTensor* out = ctx.output(0);
    TFC_ENSURE(ctx, in != nullptr && out != nullptr);
    TFC_OK(dm::CheckMovable(ctx, in, out));
    TFC_ENSURE_MSG(ctx, in->rank() == 4, "input must have rank 4, it has %d", in->rank());
    TFC_OK(dm::CheckIndexType(ctx, size, "size"));
    TFC_ENSURE_MSG(ctx, size->num_elements() == 2, "size must hold 2 values");
    const auto* o = ctx.options<fb::ResizeNearestNeighborOptions>();
    align_corners_ = o ? o->align_corners() : false;
    half_pixel_ = o ? o->half_pixel_centers() : false;
    ys_.clear();
    xs_.clear();
    dynamic_ = !size->is_constant();
    if (dynamic_) {
      ctx.MarkOutputDynamic(0);
      return kTfLiteOk;
    }
    TFC_OK(ReadSize(ctx));
    ys_.resize(static_cast<size_t>(oh_));
    xs_.resize(static_cast<size_t>(ow_));
    for (int32_t y = 0; y < oh_; ++y)
      ys_[static_cast<size_t>(y)] = NearestSource(y, in->dim(1), oh_, align_corners_, half_pixel_);
    for (int32_t x = 0; x < ow_; ++x)
      xs_[static_cast<size_t>(x)] = NearestSource(x, in->dim(2), ow_, align_corners_, half_pixel_);
    return ctx.ResizeOutput(0, {in->dim(0), oh_, ow_, in->dim(3)});
  }

  TfLiteStatus Eval(OpContext& ctx) override {
    const TfLiteTensor* in = ctx.input(0);
    TfLiteTensor* out = ctx.output(0);
    if (dynamic_) {
      TFC_OK(ReadSize(ctx));
      TFC_OK(ctx.ResizeOutput(0, {in->dim(0), oh_, ow_, in->dim(3)}));
    }
    if (out->num_elements() == 0) return kTfLiteOk;
    const int64_t n = in->dim(0), h = in->dim(1), w = in->dim(2), c = in->dim(3);
    const size_t es = TypeSize(in->type);
    const size_t px = static_cast<size_t>(c) * es;
    const uint8_t* src = static_cast<const uint8_t*>(in->data);
    uint8_t* dst = static_cast<uint8_t*>(out->data);
    const int32_t oh = oh_, ow = ow_;
    const bool ac = align_corners_, hp = half_pixel_;
    const int32_t* ys = dynamic_ ? nullptr : ys_.data();
    const int32_t* xs = dynamic_ ? nullptr : xs_.data();
    auto rows = [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        const int64_t ni = r / oh;
        const int32_t y = static_cast<int32_t>(r % oh);
        const int32_t sy = ys ? ys[y] : NearestSource(y, static_cast<int32_t>(h), oh, ac, hp);
        const uint8_t* row = src + static_cast<size_t>((ni * h + sy) * w) * px;
        uint8_t* o = dst + static_cast<size_t>(r * ow) * px;
        for (int32_t x = 0; x < ow; ++x) {
          const int32_t sx = xs ? xs[x] : NearestSource(x, static_cast<int32_t>(w), ow, ac, hp);
          std::memcpy(o, row + static_cast<size_t>(sx) * px, px);
          o += px;
        }
      }
    };
    const int64_t total_rows = n * oh;
    const int64_t row_bytes = static_cast<int64_t>(ow) * static_cast<int64_t>(px);
    const int64_t min_rows = row_bytes > 0 ? 1 + (64 * 1024) / row_bytes : total_rows;
    if (total_rows > min_rows && ctx.num_threads() > 1) {
      ctx.pool().ParallelFor(total_rows, min_rows, rows);
    } else {
      rows(0, total_rows);
    }
    return kTfLiteOk;
  }

 private:
  TfLiteStatus ReadSize(OpContext& ctx) {
    const TfLiteTensor* size = ctx.input(1);
    TFC_OK(dm::CheckIndexTensor(ctx, size, "size"));
    TFC_ENSURE_MSG(ctx, size->num_elements() == 2, "size must hold 2 values");
    const int64_t h = dm::IntAt(size, 0), w = dm::IntAt(size, 1);
    TFC_ENSURE_MSG(ctx, h > 0 && w > 0 && h <= INT32_MAX && w <= INT32_MAX,
                   "output size %lld x %lld is invalid", static_cast<long long>(h),
                   static_cast<long long>(w));
    const TfLiteTensor* in = ctx.input(0);
    int64_t count = 0;
    const int64_t od[4] = {in->dim(0), h, w, in->dim(3)};
    TFC_ENSURE_MSG(ctx, dm::CountElements(od, 4, &count), "the output shape is too large");
    TFC_ENSURE_MSG(ctx, in->dim(1) > 0 && in->dim(2) > 0, "the input has an empty spatial size");
    oh_ = static_cast<int32_t>(h);
    ow_ = static_cast<int32_t>(w);
    return kTfLiteOk;
  }

  bool align_corners_ = false, half_pixel_ = false, dynamic_ = false;
  int32_t oh_ = 0, ow_ = 0;
  std::vector<int32_t> ys_, xs_;
};

}  // namespace

TFC_REGISTER_OP(RESIZE_NEAREST_NEIGHBOR, 1, 4, ResizeNearestNeighbor);

}  // namespace tfc
