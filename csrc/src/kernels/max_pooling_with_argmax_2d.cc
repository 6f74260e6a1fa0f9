// MaxPoolingWithArgmax2D: MediaPipe's max pooling that also outputs where
// each maximum was (custom op, version 1; hair segmentation models).
//
// Input 0 [N, H, W, C] float32. Outputs: 0 the pooled values, 1 the indices,
// both [N, OH, OW, C] float32. Options: raw TfLitePoolParams
// (util/pool_params.h). Output size and padding as for MAX_POOL_2D
// (conv_util.h). For each output element the window's taps are scanned row
// by row (ky, then kx, over the taps inside the input) and the first strict
// maximum wins (start value: the lowest float, index 0). The index is the
// tap's position in the whole filter window, ky * filter_width + kx, stored
// as a float plus 0.1 (so that truncating it back to an integer is safe).
// The fused activation clamps the value output only.
#include <cstdint>
#include <limits>

#include "kernels/kernel.h"
#include "kernels/util/activation.h"
#include "kernels/util/conv_util.h"
#include "kernels/util/pool_params.h"

namespace tfc {
namespace {

class MaxPoolingWithArgmax2D final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override {
    TFC_ENSURE_MSG(ctx, ctx.num_inputs() == 1, "expected 1 input, got %d", ctx.num_inputs());
    TFC_ENSURE_MSG(ctx, ctx.num_outputs() == 2, "expected 2 outputs, got %d", ctx.num_outputs());
    const TfLiteTensor* input = ctx.input(0);
    TfLiteTensor* values = ctx.output(0);
    TfLiteTensor* indices = ctx.output(1);
    TFC_ENSURE_MSG(ctx, input && values && indices, "missing input or output tensor");
    TFC_ENSURE_TYPE(ctx, input, kTfLiteFloat32);
    TFC_ENSURE_TYPE(ctx, values, kTfLiteFloat32);
    TFC_ENSURE_TYPE(ctx, indices, kTfLiteFloat32);
    TFC_ENSURE_MSG(ctx, input->rank() == 4, "input must have rank 4, has %d", input->rank());
    TFC_OK(ReadRawPoolParams(ctx, &p_));
    act_ = ActivationRange(static_cast<fb::ActivationFunctionType>(p_.activation));
    batches_ = input->dim(0);
    in_h_ = input->dim(1);
    in_w_ = input->dim(2);
    channels_ = input->dim(3);
    const fb::Padding padding = p_.padding == 1 ? fb::Padding_SAME : fb::Padding_VALID;
    ConvGeometry gh, gw;
    TFC_ENSURE_MSG(ctx,
                   ComputeConvGeometry(padding, in_h_, p_.filter_h, p_.stride_h, 1, &gh) &&
                       ComputeConvGeometry(padding, in_w_, p_.filter_w, p_.stride_w, 1, &gw),
                   "invalid pooling geometry");
    out_h_ = gh.out;
    out_w_ = gw.out;
    pad_t_ = gh.pad_start;
    pad_l_ = gw.pad_start;
    int64_t tmp = 0;
    TFC_ENSURE_MSG(ctx,
                   CheckedMul(batches_, out_h_, &tmp) && CheckedMul(tmp, out_w_, &tmp) &&
                       CheckedMul(tmp, channels_, &tmp, int64_t{1} << 40) &&
                       CheckedMul(p_.filter_h, p_.filter_w, &tmp, int64_t{1} << 24),
                   "output or filter window too large");
    TFC_OK(ctx.ResizeOutput(0, {batches_, out_h_, out_w_, channels_}));
    return ctx.ResizeOutput(1, {batches_, out_h_, out_w_, channels_});
  }

  TfLiteStatus Eval(OpContext& ctx) override {
    const float* in = ctx.input(0)->data_as<float>();
    float* values = ctx.output(0)->data_as<float>();
    float* indices = ctx.output(1)->data_as<float>();
    const int64_t rows = static_cast<int64_t>(batches_) * out_h_;
    if (rows == 0 || out_w_ == 0 || channels_ == 0) return kTfLiteOk;
    auto fn = [&](int64_t r0, int64_t r1) { Rows(in, values, indices, r0, r1); };
    const double work = static_cast<double>(rows) * out_w_ * channels_ * p_.filter_h * p_.filter_w;
    if (work >= 1 << 16)
      ctx.pool().ParallelFor(rows, 1, fn);
    else
      fn(0, rows);
    return kTfLiteOk;
  }

 private:
  void Rows(const float* in, float* values, float* indices, int64_t r0, int64_t r1) const {
    const size_t c_n = static_cast<size_t>(channels_);
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t b = r / out_h_;
      const int oy = static_cast<int>(r % out_h_);
      const int iy0 = oy * p_.stride_h - pad_t_;
      int ky0, ky1;
      ValidTaps(iy0, p_.filter_h, 1, in_h_, &ky0, &ky1);
      for (int ox = 0; ox < out_w_; ++ox) {
        const int ix0 = ox * p_.stride_w - pad_l_;
        int kx0, kx1;
        ValidTaps(ix0, p_.filter_w, 1, in_w_, &kx0, &kx1);
        const size_t o = (static_cast<size_t>(r) * out_w_ + ox) * c_n;
        float* __restrict mv = values + o;
        float* __restrict mi = indices + o;
        // The running argmax tap, kept in `indices` (exact: Prepare limits
        // the window to 2^24 taps).
        for (size_t c = 0; c < c_n; ++c) {
          mv[c] = std::numeric_limits<float>::lowest();
          mi[c] = 0.f;
        }
        for (int ky = ky0; ky < ky1; ++ky) {
          const float* irow =
              in + ((static_cast<size_t>(b) * in_h_ + (iy0 + ky)) * in_w_) * c_n;
          for (int kx = kx0; kx < kx1; ++kx) {
            const float* __restrict px = irow + static_cast<size_t>(ix0 + kx) * c_n;
            const float t = static_cast<float>(ky * p_.filter_w + kx);
            for (size_t c = 0; c < c_n; ++c) {
              if (px[c] > mv[c]) {
                mv[c] = px[c];
                mi[c] = t;
              }
            }
          }
        }
        for (size_t c = 0; c < c_n; ++c) {
          mi[c] += 0.1f;
          mv[c] = act_.Apply(mv[c]);
        }
      }
    }
  }

  RawPoolParams p_;
  FloatRange act_;
  int batches_ = 0, in_h_ = 0, in_w_ = 0, channels_ = 0;
  int out_h_ = 0, out_w_ = 0, pad_t_ = 0, pad_l_ = 0;
};

}  // namespace

TFC_REGISTER_CUSTOM_OP("MaxPoolingWithArgmax2D", MaxPoolingWithArgmax2D, 1, 1,
                       MaxPoolingWithArgmax2D);

}  // namespace tfc
