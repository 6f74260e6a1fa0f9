// TransformLandmarks: MediaPipe's affine transform of 2D/3D landmarks by a
// 4x4 matrix (custom op; version 2 in MediaPipe's face landmark model with
// attention, version 1 also accepted).
//
// Inputs: 0 landmarks, float32; 1 matrix, float32, 16 values per batch (or
// 16 shared by every batch), row-major 4x4 of which the first two rows are
// used. Output: the landmarks' shape. Every landmark (x, y[, z]) becomes
//   x' = m00 * x + m01 * y + m02 * 0 + m03 * s
//   y' = m10 * x + m11 * y + m12 * 0 + m13 * s
//   z' = z
// - version 2: landmarks [N, K, D] with D = 2 or 3 floats per landmark;
//   no options; s = 1.
// - version 1: landmarks [N, H, W, C]; options a FlexBuffers map
//   {dimensions: int (2 or 3), scale: float (!= 0; default 1)}; C must be a
//   multiple of dimensions; every run of `dimensions` floats is a landmark;
//   s = scale.
// (MediaPipe's kernel reads batch 0 only; here each batch uses its own
// matrix, or the single matrix given.)
#include <cmath>
#include <cstdint>

#include "kernels/kernel.h"
#include "kernels/util/custom_options.h"

namespace tfc {
namespace {

class TransformLandmarks final : public OpKernel {
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
    scale_ = 1.f;
    if (ctx.version() == 1) {
      TFC_ENSURE_MSG(ctx, input->rank() == 4, "version 1 takes landmarks of rank 4, got rank %d",
                     input->rank());
      FlexOptions o;
      TFC_OK(o.Open(ctx));
      int32_t dims = 0;
      TFC_OK(o.RequireInt(ctx, "dimensions", &dims));
      TFC_OK(o.GetFloat(ctx, "scale", 1.f, &scale_));
      TFC_ENSURE_MSG(ctx, dims == 2 || dims == 3, "dimensions must be 2 or 3, got %d", dims);
      TFC_ENSURE_MSG(ctx, scale_ != 0.f && std::isfinite(scale_),
                     "scale must be finite and non-zero, got %g", static_cast<double>(scale_));
      TFC_ENSURE_MSG(ctx, input->dim(3) % dims == 0,
                     "the last dimension (%d) must be a multiple of dimensions (%d)",
                     input->dim(3), dims);
      dims_ = dims;
    } else {
      TFC_ENSURE_MSG(ctx, input->rank() == 3, "landmarks must have rank 3, got rank %d",
                     input->rank());
      dims_ = input->dim(2);
      TFC_ENSURE_MSG(ctx, dims_ == 2 || dims_ == 3,
                     "landmarks must have 2 or 3 values each, got %d", dims_);
    }
    batches_ = input->dim(0);
    per_batch_ = batches_ > 0 ? input->num_elements() / batches_ : 0;
    const int64_t mn = matrix->num_elements();
    TFC_ENSURE_MSG(ctx, mn == 16 || mn == int64_t{16} * batches_,
                   "the matrix must hold 16 values (4x4), or 16 per batch; it has %lld",
                   static_cast<long long>(mn));
    matrix_stride_ = mn == 16 ? 0 : 16;
    return ctx.ResizeOutput(0, input->dims);
  }

  TfLiteStatus Eval(OpContext& ctx) override {
    const float* in = ctx.input(0)->data_as<float>();
    const float* mat = ctx.input(1)->data_as<float>();
    float* out = ctx.output(0)->data_as<float>();
    const int64_t count = per_batch_ / dims_;
    for (int b = 0; b < batches_; ++b) {
      const float* m = mat + static_cast<size_t>(b) * matrix_stride_;
      const float x0 = m[0], x1 = m[1], x2 = m[2], x3 = m[3] * scale_;
      const float y0 = m[4], y1 = m[5], y2 = m[6], y3 = m[7] * scale_;
      const float* src = in + static_cast<size_t>(b) * per_batch_;
      float* dst = out + static_cast<size_t>(b) * per_batch_;
      for (int64_t i = 0; i < count; ++i) {
        const float* l = src + i * dims_;
        float* o = dst + i * dims_;
        const float x = l[0], y = l[1];
        o[0] = x0 * x + x1 * y + x2 * 0.f + x3 * 1.f;
        o[1] = y0 * x + y1 * y + y2 * 0.f + y3 * 1.f;
        if (dims_ == 3) o[2] = l[2];
      }
    }
    return kTfLiteOk;
  }

 private:
  int dims_ = 2;
  float scale_ = 1.f;
  int batches_ = 0;
  int64_t per_batch_ = 0;
  int matrix_stride_ = 0;
};

}  // namespace

TFC_REGISTER_CUSTOM_OP("TransformLandmarks", TransformLandmarks, 1, 2, TransformLandmarks);

}  // namespace tfc
