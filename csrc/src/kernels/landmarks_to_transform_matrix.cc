// Landmarks2TransformMatrix: MediaPipe's crop matrix from landmarks (custom
// op, version 2; face landmark model with attention): the 4x4 matrix that
// maps an output_width x output_height crop, rotated and scaled to cover a
// subset of the landmarks, back onto the landmarks' coordinate space.
//
// Input 0: landmarks [N, K, 3] float32 (x, y, z). Output [N, 4, 4] float32,
// row-major. Options, a FlexBuffers map:
//   subset_idxs: [int] (landmark indices, read as pairs; an odd last one is
//     its own pair), left_rotation_idx: int, right_rotation_idx: int,
//   target_rotation_radians: float, output_height: int, output_width: int,
//   scale_x: float, scale_y: float.
// All indices must lie in [0, K); sizes and scales must be > 0.
// Computation, in float:
//   r = target_rotation_radians - atan2(ry - ly, rx - lx)   (l, r: the
//       left / right rotation landmarks)
//   every subset landmark p is rotated by R(r) = [[cos r, -sin r], [sin r, cos r]];
//   (min, max) of the rotated x and y give the crop size (w, h) = max - min
//   and its center c = R(-r) * (min + max) / 2;
//   M = T(c) * R4(-r) * S(scale_x * w / output_width, scale_y * h / output_height)
//       * T(-output_width / 2, -output_height / 2)
// with T a 4x4 translation in x/y, R4 the rotation in the x/y plane, S a
// scale in x/y (products accumulated over k in order, in float).
// (MediaPipe's kernel handles batch 0 only; here every batch gets its
// matrix.)
#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/util/custom_options.h"

namespace tfc {
namespace {

struct Mat4 {
  float v[16];
  static Mat4 Identity() {
    Mat4 m = {};
    m.v[0] = m.v[5] = m.v[10] = m.v[15] = 1.f;
    return m;
  }
  // this * b, each element summed over k = 0..3 in order.
  Mat4 operator*(const Mat4& b) const {
    Mat4 r;
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 4; ++j) {
        float s = 0.f;
        for (int k = 0; k < 4; ++k) s += v[i * 4 + k] * b.v[k * 4 + j];
        r.v[i * 4 + j] = s;
      }
    return r;
  }
};

class Landmarks2TransformMatrix final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override {
    TFC_ENSURE_MSG(ctx, ctx.num_inputs() == 1, "expected 1 input, got %d", ctx.num_inputs());
    TFC_ENSURE_MSG(ctx, ctx.num_outputs() == 1, "expected 1 output, got %d", ctx.num_outputs());
    const TfLiteTensor* input = ctx.input(0);
    TfLiteTensor* output = ctx.output(0);
    TFC_ENSURE_MSG(ctx, input && output, "missing input or output tensor");
    TFC_ENSURE_TYPE(ctx, input, kTfLiteFloat32);
    TFC_ENSURE_TYPE(ctx, output, kTfLiteFloat32);
    TFC_ENSURE_MSG(ctx, input->rank() == 3 && input->dim(2) == 3,
                   "landmarks must have shape [N, K, 3]");
    batches_ = input->dim(0);
    count_ = input->dim(1);

    FlexOptions o;
    TFC_OK(o.Open(ctx));
    TFC_OK(o.RequireIntVector(ctx, "subset_idxs", &subset_));
    TFC_OK(o.RequireInt(ctx, "left_rotation_idx", &left_));
    TFC_OK(o.RequireInt(ctx, "right_rotation_idx", &right_));
    TFC_OK(o.RequireFloat(ctx, "target_rotation_radians", &target_));
    TFC_OK(o.RequireInt(ctx, "output_height", &out_h_));
    TFC_OK(o.RequireInt(ctx, "output_width", &out_w_));
    TFC_OK(o.RequireFloat(ctx, "scale_x", &scale_x_));
    TFC_OK(o.RequireFloat(ctx, "scale_y", &scale_y_));
    TFC_ENSURE_MSG(ctx, !subset_.empty(), "subset_idxs is empty");
    for (size_t i = 0; i < subset_.size(); ++i)
      TFC_ENSURE_MSG(ctx, subset_[i] >= 0 && subset_[i] < count_,
                     "subset_idxs[%zu] = %d is not a landmark index (0..%d)", i, subset_[i],
                     count_ - 1);
    TFC_ENSURE_MSG(ctx, left_ >= 0 && left_ < count_ && right_ >= 0 && right_ < count_,
                   "rotation landmark indices (%d, %d) must lie in 0..%d", left_, right_,
                   count_ - 1);
    TFC_ENSURE_MSG(ctx, out_h_ >= 1 && out_w_ >= 1, "output size must be >= 1 (got %d x %d)",
                   out_h_, out_w_);
    TFC_ENSURE_MSG(ctx, scale_x_ > 0.f && scale_y_ > 0.f && std::isfinite(scale_x_) &&
                            std::isfinite(scale_y_),
                   "scale_x and scale_y must be finite and > 0");
    TFC_ENSURE_MSG(ctx, std::isfinite(target_), "target_rotation_radians must be finite");
    return ctx.ResizeOutput(0, {batches_, 4, 4});
  }

  TfLiteStatus Eval(OpContext& ctx) override {
    const float* in = ctx.input(0)->data_as<float>();
    float* out = ctx.output(0)->data_as<float>();
    for (int b = 0; b < batches_; ++b) {
      const Mat4 t = Compute(in + static_cast<size_t>(b) * count_ * 3);
      for (int i = 0; i < 16; ++i) out[static_cast<size_t>(b) * 16 + i] = t.v[i];
    }
    return kTfLiteOk;
  }

 private:
  Mat4 Compute(const float* lm) const {
    const float* l = lm + static_cast<size_t>(left_) * 3;
    const float* rt = lm + static_cast<size_t>(right_) * 3;
    const float rotation = target_ - std::atan2(rt[1] - l[1], rt[0] - l[0]);
    const float c = std::cos(rotation), s = std::sin(rotation);
    // Rotated (x, y, 1): row . (x, y, 1) accumulated in order.
    float min_x = 0.f, min_y = 0.f, max_x = 0.f, max_y = 0.f;
    for (size_t i = 0; i < subset_.size(); ++i) {
      const float* p = lm + static_cast<size_t>(subset_[i]) * 3;
      const float x = c * p[0] + -s * p[1] + 0.f * 1.f;
      const float y = s * p[0] + c * p[1] + 0.f * 1.f;
      if (i == 0) {
        min_x = max_x = x;
        min_y = max_y = y;
        continue;
      }
      if (max_x < x) max_x = x;
      if (max_y < y) max_y = y;
      if (min_x > x) min_x = x;
      if (min_y > y) min_y = y;
    }
    const float crop_w = max_x - min_x, crop_h = max_y - min_y;
    const float mid_x = (min_x + max_x) / 2, mid_y = (min_y + max_y) / 2;
    const float ci = std::cos(-rotation), si = std::sin(-rotation);
    const float crop_x = ci * mid_x + -si * mid_y + 0.f * 1.f;
    const float crop_y = si * mid_x + ci * mid_y + 0.f * 1.f;

    Mat4 shift = Mat4::Identity();
    shift.v[3] = crop_x;
    shift.v[7] = crop_y;
    const float nr = -rotation;
    Mat4 rot = Mat4::Identity();
    rot.v[0] = std::cos(nr);
    rot.v[1] = -std::sin(nr);
    rot.v[4] = std::sin(nr);
    rot.v[5] = std::cos(nr);
    Mat4 scale = Mat4::Identity();
    scale.v[0] = scale_x_ * crop_w / static_cast<float>(out_w_);
    scale.v[5] = scale_y_ * crop_h / static_cast<float>(out_h_);
    Mat4 shift2 = Mat4::Identity();
    shift2.v[3] = static_cast<float>(-1.0 * (out_w_ / 2.0));
    shift2.v[7] = static_cast<float>(-1.0 * (out_h_ / 2.0));
    return Mat4::Identity() * shift * rot * scale * shift2;
  }

  std::vector<int32_t> subset_;
  int32_t left_ = 0, right_ = 0, out_h_ = 0, out_w_ = 0;
  float target_ = 0.f, scale_x_ = 1.f, scale_y_ = 1.f;
  int batches_ = 0, count_ = 0;
};

}  // namespace

TFC_REGISTER_CUSTOM_OP("Landmarks2TransformMatrix", Landmarks2TransformMatrix, 2, 2,
                       Landmarks2TransformMatrix);

}  // namespace tfc
