// Convolution2DTransposeBias: MediaPipe's transpose convolution with a bias
// input and an output shape computed from the input (custom op, version 1;
// used by the selfie segmentation models).
//
// Inputs: 0 input [N, H, W, Cin], 1 weights [Cout, KH, KW, Cin],
// 2 bias [Cout]; all float32. Output [N, OH, OW, Cout] float32.
// Options: the raw struct TfLiteTransposeConvParams, little-endian int32
// fields {padding (1 SAME, 2 VALID), stride_width, stride_height, ...}; only
// the first three are read (later fields, such as a fused activation, are
// ignored, as MediaPipe's kernel does).
// Output size along an axis (in, k, s):
//   VALID: s * (in - 1) + k
//   SAME:  s * (in - 1) + k - P, with P = max(0, k - (in - 1) % s - 1)
// and the padding before the first output element is P / 2 (0 for VALID);
// the arithmetic itself is TRANSPOSE_CONV's (util/transpose_conv_float.h).
#include <algorithm>
#include <cstdint>
#include <limits>

#include "kernels/kernel.h"
#include "kernels/util/activation.h"
#include "kernels/util/conv_util.h"
#include "kernels/util/custom_options.h"
#include "kernels/util/transpose_conv_float.h"

namespace tfc {
namespace {

// Output size and leading padding along one axis; false on overflow.
bool TransposeBiasGeometry(bool same, int64_t in, int64_t k, int64_t s, int* out, int* pad) {
  int64_t total = 0;
  if (same) total = std::max<int64_t>(0, k - (in - 1) % s - 1);
  const int64_t size = s * (in - 1) + k - total;
  if (size < 0 || size > std::numeric_limits<int32_t>::max()) return false;
  *out = static_cast<int>(size);
  *pad = static_cast<int>(total / 2);
  return true;
}

class Convolution2DTransposeBias final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override {
    TFC_ENSURE_MSG(ctx, ctx.num_inputs() == 3, "expected 3 inputs, got %d", ctx.num_inputs());
    TFC_ENSURE_MSG(ctx, ctx.num_outputs() == 1, "expected 1 output, got %d", ctx.num_outputs());
    const TfLiteTensor* input = ctx.input(0);
    const TfLiteTensor* weights = ctx.input(1);
    const TfLiteTensor* bias = ctx.input(2);
    TfLiteTensor* output = ctx.output(0);
    TFC_ENSURE_MSG(ctx, input && weights && bias && output, "missing input or output tensor");
    TFC_ENSURE_TYPE(ctx, input, kTfLiteFloat32);
    TFC_ENSURE_TYPE(ctx, bias, kTfLiteFloat32);
    TFC_ENSURE_TYPE(ctx, output, kTfLiteFloat32);
    TFC_ENSURE_MSG(ctx, input->rank() == 4, "input must have rank 4, has %d", input->rank());

    bool out_of_line = false;
    const CustomOptions opts = GetCustomOptions(ctx, &out_of_line);
    TFC_ENSURE_MSG(ctx, !out_of_line, "options stored outside the model's flatbuffer are not supported");
    int32_t f[3];
    if (!ReadRawInt32Fields(opts, 3, f))
      return ctx.Error("custom options must hold TfLiteTransposeConvParams "
                       "{padding, stride_width, stride_height} (>= 12 bytes), got %zu bytes",
                       opts.size);
    const int32_t padding = f[0], sw = f[1], sh = f[2];
    TFC_ENSURE_MSG(ctx, padding == 1 || padding == 2,
                   "padding must be 1 (SAME) or 2 (VALID), got %d", padding);
    TFC_ENSURE_MSG(ctx, sw >= 1 && sh >= 1, "strides must be >= 1 (got %d, %d)", sh, sw);

    const int batches = input->dim(0), in_h = input->dim(1), in_w = input->dim(2);
    TFC_ENSURE_MSG(ctx, in_h >= 1 && in_w >= 1, "input height and width must be >= 1 (got %d, %d)",
                   in_h, in_w);
    TFC_OK(core_.Prepare(ctx, weights, batches, in_h, in_w, input->dim(3)));
    const int out_c = core_.out_channels();
    TFC_ENSURE_MSG(ctx, bias->rank() == 1 && bias->dim(0) == out_c,
                   "bias must be a vector of %d elements (the weights' output channels)", out_c);
    int out_h = 0, out_w = 0, pad_t = 0, pad_l = 0;
    TFC_ENSURE_MSG(ctx,
                   TransposeBiasGeometry(padding == 1, in_h, core_.kernel_h(), sh, &out_h, &pad_t) &&
                       TransposeBiasGeometry(padding == 1, in_w, core_.kernel_w(), sw, &out_w,
                                             &pad_l),
                   "output too large");
    int64_t tmp = 0, outn = 0;
    TFC_ENSURE_MSG(ctx,
                   CheckedMul(batches, out_h, &tmp) && CheckedMul(tmp, out_w, &tmp) &&
                       CheckedMul(tmp, out_c, &outn, int64_t{1} << 40),
                   "output too large");
    core_.SetOutput(out_h, out_w, sh, sw, pad_t, pad_l, FloatRange());
    return ctx.ResizeOutput(0, {batches, out_h, out_w, out_c});
  }

  size_t OwnedBytes() const override { return core_.OwnedBytes(); }

  TfLiteStatus Eval(OpContext& ctx) override {
    core_.Run(ctx, ctx.input(0)->data_as<float>(), ctx.input(1), ctx.input(2)->data_as<float>(),
              ctx.output(0)->data_as<float>());
    return kTfLiteOk;
  }

 private:
  FloatTransposeConvCore core_;
};

}  // namespace

TFC_REGISTER_CUSTOM_OP("Convolution2DTransposeBias", Convolution2DTransposeBias, 1, 1,
                       Convolution2DTransposeBias);

}  // namespace tfc
