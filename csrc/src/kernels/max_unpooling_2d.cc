// MaxUnpooling2D: MediaPipe's inverse of MaxPoolingWithArgmax2D (custom op,
// version 1; hair segmentation models).
//
// Inputs: 0 values [N, H, W, C], 1 indices [N, H, W, C] (as written by
// MaxPoolingWithArgmax2D), both float32. Output [N, H * filter_height,
// W * filter_width, C] float32. Options: raw TfLitePoolParams
// (util/pool_params.h); the padding field is validated but, as in
// MediaPipe's kernel, not used: the padding is the one a forward pool from
// the output size to the input size would have,
//   pad = max(0, ((in - 1) * stride + filter - out) / 2)   (per axis),
// and the activation is not applied.
// The output is zeroed, then every input element (in order n, y, x, c) is
// written at
//   oy = y * stride_h - pad_t + idx / filter_w,  ox = x * stride_w - pad_l + idx % filter_w
// with idx the index truncated to an integer (C semantics: toward zero, and
// / and % of a negative idx round toward zero too); a later element landing
// on the same place overwrites. Elements whose index is not finite or whose
// position falls outside the output are skipped.
#include <cmath>
#include <cstdint>
#include <cstring>

#include "kernels/kernel.h"
#include "kernels/util/conv_util.h"
#include "kernels/util/pool_params.h"

namespace tfc {
namespace {

class MaxUnpooling2D final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override {
    TFC_ENSURE_MSG(ctx, ctx.num_inputs() == 2, "expected 2 inputs, got %d", ctx.num_inputs());
    TFC_ENSURE_MSG(ctx, ctx.num_outputs() == 1, "expected 1 output, got %d", ctx.num_outputs());
    const TfLiteTensor* input = ctx.input(0);
    const TfLiteTensor* indices = ctx.input(1);
    TfLiteTensor* output = ctx.output(0);
    TFC_ENSURE_MSG(ctx, input && indices && output, "missing input or output tensor");
    TFC_ENSURE_TYPE(ctx, input, kTfLiteFloat32);
    TFC_ENSURE_TYPE(ctx, indices, kTfLiteFloat32);
    TFC_ENSURE_TYPE(ctx, output, kTfLiteFloat32);
    TFC_ENSURE_MSG(ctx, input->rank() == 4, "input must have rank 4, has %d", input->rank());
    TFC_ENSURE_MSG(ctx, indices->dims == input->dims, "indices must have the input's shape");
    TFC_OK(ReadRawPoolParams(ctx, &p_));
    batches_ = input->dim(0);
    in_h_ = input->dim(1);
    in_w_ = input->dim(2);
    channels_ = input->dim(3);
    int64_t oh = 0, ow = 0, tmp = 0;
    TFC_ENSURE_MSG(ctx,
                   CheckedMul(in_h_, p_.filter_h, &oh) && CheckedMul(in_w_, p_.filter_w, &ow) &&
                       CheckedMul(batches_, oh, &tmp) && CheckedMul(tmp, ow, &tmp) &&
                       CheckedMul(tmp, channels_, &tmp, int64_t{1} << 40),
                   "output too large");
    out_h_ = static_cast<int>(oh);
    out_w_ = static_cast<int>(ow);
    pad_t_ = Padding(in_h_, p_.stride_h, p_.filter_h, out_h_);
    pad_l_ = Padding(in_w_, p_.stride_w, p_.filter_w, out_w_);
    return ctx.ResizeOutput(0, {batches_, out_h_, out_w_, channels_});
  }

  TfLiteStatus Eval(OpContext& ctx) override {
    const float* in = ctx.input(0)->data_as<float>();
    const float* idx = ctx.input(1)->data_as<float>();
    TfLiteTensor* output = ctx.output(0);
    float* out = output->data_as<float>();
    std::memset(out, 0, static_cast<size_t>(output->num_elements()) * sizeof(float));
    const size_t c_n = static_cast<size_t>(channels_);
    // Sequential: the overwrite order on collisions is part of the result.
    for (int b = 0; b < batches_; ++b) {
      float* ob = out + static_cast<size_t>(b) * out_h_ * out_w_ * c_n;
      for (int y = 0; y < in_h_; ++y) {
        for (int x = 0; x < in_w_; ++x) {
          const size_t i0 = ((static_cast<size_t>(b) * in_h_ + y) * in_w_ + x) * c_n;
          const int64_t oy0 = static_cast<int64_t>(y) * p_.stride_h - pad_t_;
          const int64_t ox0 = static_cast<int64_t>(x) * p_.stride_w - pad_l_;
          for (size_t c = 0; c < c_n; ++c) {
            const float f = idx[i0 + c];
            // Integers past +-2^31 cannot be converted; none is a valid tap.
            if (!(f > -2147483648.f && f < 2147483648.f)) continue;
            const int64_t t = static_cast<int32_t>(f);
            const int64_t oy = oy0 + t / p_.filter_w;
            const int64_t ox = ox0 + t % p_.filter_w;
            if (oy < 0 || oy >= out_h_ || ox < 0 || ox >= out_w_) continue;
            ob[(static_cast<size_t>(oy) * out_w_ + static_cast<size_t>(ox)) * c_n + c] = in[i0 + c];
          }
        }
      }
    }
    return kTfLiteOk;
  }

 private:
  // Padding of the forward pool mapping `out` (the unpooled size) to `in`.
  static int64_t Padding(int in, int stride, int filter, int out) {
    const int64_t p = (static_cast<int64_t>(in - 1) * stride + filter - out) / 2;
    return p > 0 ? p : 0;
  }

  RawPoolParams p_;
  int batches_ = 0, in_h_ = 0, in_w_ = 0, channels_ = 0;
  int out_h_ = 0, out_w_ = 0;
  int64_t pad_t_ = 0, pad_l_ = 0;
};

}  // namespace

TFC_REGISTER_CUSTOM_OP("MaxUnpooling2D", MaxUnpooling2D, 1, 1, MaxUnpooling2D);

}  // namespace tfc
