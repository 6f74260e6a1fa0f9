// TransformTensorBilinear: MediaPipe's affine resampling of a feature map
// through a 4x4 matrix with bilinear interpolation (custom op; version 2 in
// MediaPipe's face landmark model with attention; version 1, also named
// "TransformTensor", accepted too).
//
// Inputs: 0 data [N, H, W, C] float32; 1 matrix, float32, 16 values per
// batch (or 16 shared by every batch), row-major 4x4 of which the first two
// rows are used. Output [N, OH, OW, C] float32.
// Options, a FlexBuffers map:
// - version 2: {output_height: int, output_width: int};
// - version 1: {output_size: [height, width], mode: "bilinear" (optional;
//   any other mode is refused)}.
// For every output pixel (ox, oy) the source point is
//   sx = m00 * ox + m01 * oy + m02 * 0 + m03
//   sy = m10 * ox + m11 * oy + m12 * 0 + m13
// where version 2 first shifts the matrix for pixel centers (align corners):
//   m03 += 0.5 * m00 + 0.5 * m01 - 0.5,  m13 += 0.5 * m10 + 0.5 * m11 - 0.5
// (computed in double, stored as float). A point outside [0, W-1] x [0, H-1]
// (or not a number) gives 0 in every channel; else the four neighbours
// (floor(sx) + {0, 1}, floor(sy) + {0, 1}), a neighbour outside the input
// counting as 0, are blended with the fractional parts, in double:
//   upper = (1 - fx) * q(y0, x0) + fx * q(y0, x1)   (rounded to float)
//   lower = (1 - fx) * q(y1, x0) + fx * q(y1, x1)   (rounded to float)
//   out   = fy * lower + (1 - fy) * upper
// (MediaPipe's kernel reads batch 0 only; here each batch uses its own
// matrix, or the single matrix given.)
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/util/conv_util.h"
#include "kernels/util/custom_options.h"

namespace tfc {
namespace {

class TransformTensorBilinear final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override {
    TFC_ENSURE_MSG(ctx, ctx.num_inputs() == 2, "expected 2 inputs, got %d", ctx.num_inputs());
    TFC_ENSURE_MSG(ctx, ctx.num_outputs() == 1, "expected 1 output, got %d", ctx.num_outputs());
    const TfLiteTensor* input = ctx.input(0);
    const TfLiteTensor* matrix = ctx.input(1);
    TfLiteTensor* output = ctx.output(0);
    TFC_ENSURE_MSG(ctx, input && matrix && output, "missing input or output tensor");
    TFC_ENSURE_TYPE(ctx, input, kTfLiteFloat32);
    TFC_ENSURE_TYPE(ctx, matrix, kTfLiteFloat32);
    TFC_ENSURE_TYPE(ctx, output, kTfLiteFloat32);
    TFC_ENSURE_MSG(ctx, input->rank() == 4, "input must have rank 4, has %d", input->rank());

    FlexOptions o;
    TFC_OK(o.Open(ctx));
    align_corners_ = ctx.version() >= 2;
    if (align_corners_) {
      TFC_OK(o.RequireInt(ctx, "output_height", &out_h_));
      TFC_OK(o.RequireInt(ctx, "output_width", &out_w_));
    } else {
      std::vector<int32_t> size;
      TFC_OK(o.RequireIntVector(ctx, "output_size", &size));
      TFC_ENSURE_MSG(ctx, size.size() == 2, "output_size must hold 2 values (height, width), has %zu",
                     size.size());
      out_h_ = size[0];
      out_w_ = size[1];
      std::string mode;
      TFC_OK(o.GetString(ctx, "mode", "bilinear", &mode));
      TFC_ENSURE_MSG(ctx, mode == "bilinear", "mode '%s' is not supported (only 'bilinear')",
                     mode.c_str());
    }
    TFC_ENSURE_MSG(ctx, out_h_ >= 1 && out_w_ >= 1, "output size must be >= 1 (got %d x %d)",
                   out_h_, out_w_);
    batches_ = input->dim(0);
    in_h_ = input->dim(1);
    in_w_ = input->dim(2);
    channels_ = input->dim(3);
    int64_t tmp = 0;
    TFC_ENSURE_MSG(ctx,
                   CheckedMul(batches_, out_h_, &tmp) && CheckedMul(tmp, out_w_, &tmp) &&
                       CheckedMul(tmp, channels_, &tmp, int64_t{1} << 40),
                   "output too large");
    const int64_t mn = matrix->num_elements();
    TFC_ENSURE_MSG(ctx, mn == 16 || mn == int64_t{16} * batches_,
                   "the matrix must hold 16 values (4x4), or 16 per batch; it has %lld",
                   static_cast<long long>(mn));
    matrix_stride_ = mn == 16 ? 0 : 16;
    return ctx.ResizeOutput(0, {batches_, out_h_, out_w_, channels_});
  }

  TfLiteStatus Eval(OpContext& ctx) override {
    const float* in = ctx.input(0)->data_as<float>();
    const float* mat = ctx.input(1)->data_as<float>();
    float* out = ctx.output(0)->data_as<float>();
    const int64_t rows = static_cast<int64_t>(batches_) * out_h_;
    if (rows == 0 || channels_ == 0) return kTfLiteOk;
    auto fn = [&](int64_t r0, int64_t r1) { Rows(in, mat, out, r0, r1); };
    const double work = static_cast<double>(rows) * out_w_ * channels_;
    if (work >= 1 << 16)
      ctx.pool().ParallelFor(rows, 1, fn);
    else
      fn(0, rows);
    return kTfLiteOk;
  }

 private:
  void Rows(const float* in, const float* mat, float* out, int64_t r0, int64_t r1) const {
    const size_t c_n = static_cast<size_t>(channels_);
    const float w_max = static_cast<float>(in_w_ - 1), h_max = static_cast<float>(in_h_ - 1);
    for (int64_t r = r0; r < r1; ++r) {
      const int b = static_cast<int>(r / out_h_);
      const int oy = static_cast<int>(r % out_h_);
      const float* m = mat + static_cast<size_t>(b) * matrix_stride_;
      float x3 = m[3], y3 = m[7];
      if (align_corners_) {
        x3 = static_cast<float>(x3 + (m[0] * 0.5 + m[1] * 0.5 - 0.5));
        y3 = static_cast<float>(y3 + (m[4] * 0.5 + m[5] * 0.5 - 0.5));
      }
      const float* src = in + static_cast<size_t>(b) * in_h_ * in_w_ * c_n;
      float* orow = out + static_cast<size_t>(r) * out_w_ * c_n;
      const float fy_out = static_cast<float>(oy);
      for (int ox = 0; ox < out_w_; ++ox) {
        float* o = orow + static_cast<size_t>(ox) * c_n;
        const float fx_out = static_cast<float>(ox);
        const float sx = m[0] * fx_out + m[1] * fy_out + m[2] * 0.f + x3 * 1.f;
        const float sy = m[4] * fx_out + m[5] * fy_out + m[6] * 0.f + y3 * 1.f;
        // Written to fail for NaN as well.
        if (!(sx >= 0.f && sx <= w_max && sy >= 0.f && sy <= h_max)) {
          std::memset(o, 0, c_n * sizeof(float));
          continue;
        }
        const float flx = std::floor(sx), fly = std::floor(sy);
        const int x0 = static_cast<int>(flx), y0 = static_cast<int>(fly);
        const double fx = sx - flx, fy = sy - fly;
        // Neighbours at x0 + 1 / y0 + 1 may lie past the edge (sx == W-1):
        // they count as 0.
        const bool has_x1 = x0 + 1 < in_w_, has_y1 = y0 + 1 < in_h_;
        const float* p00 = src + (static_cast<size_t>(y0) * in_w_ + x0) * c_n;
        const float* p01 = has_x1 ? p00 + c_n : nullptr;
        const float* p10 = has_y1 ? p00 + static_cast<size_t>(in_w_) * c_n : nullptr;
        const float* p11 = has_x1 && has_y1 ? p10 + c_n : nullptr;
        for (size_t c = 0; c < c_n; ++c) {
          const float q00 = p00[c];
          const float q01 = p01 ? p01[c] : 0.f;
          const float q10 = p10 ? p10[c] : 0.f;
          const float q11 = p11 ? p11[c] : 0.f;
          const float upper = static_cast<float>((1.0 - fx) * q00 + fx * q01);
          const float lower = static_cast<float>((1.0 - fx) * q10 + fx * q11);
          o[c] = static_cast<float>(fy * lower + (1.0 - fy) * upper);
        }
      }
    }
  }

  bool align_corners_ = true;
  int32_t out_h_ = 0, out_w_ = 0;
  int batches_ = 0, in_h_ = 0, in_w_ = 0, channels_ = 0;
  int matrix_stride_ = 0;
};

}  // namespace

TFC_REGISTER_CUSTOM_OP("TransformTensorBilinear", TransformTensorBilinear, 1, 2,
                       TransformTensorBilinear);
TFC_REGISTER_CUSTOM_OP("TransformTensor", TransformTensor, 1, 1, TransformTensorBilinear);

}  // namespace tfc
