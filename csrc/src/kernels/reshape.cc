// RESHAPE: same bytes, new shape. The shape comes from the second input when
// it is a 1-D int tensor, else from ReshapeOptions.new_shape; one entry may be
// -1 (inferred). A non-constant shape input makes the output dynamic.
#include <cstring>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/util/index_util.h"

namespace tfc {
namespace {

class Reshape final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override {
    TFC_ENSURE_MSG(ctx, (ctx.num_inputs() == 1 || ctx.num_inputs() == 2) && ctx.num_outputs() == 1,
                   "expects 1 or 2 inputs and 1 output, got %d and %d", ctx.num_inputs(),
                   ctx.num_outputs());
    const TfLiteTensor* in = ctx.input(0);
    TfLiteTensor* out = ctx.output(0);
    TFC_ENSURE(ctx, in != nullptr && out != nullptr);
    TFC_OK(dm::CheckMovable(ctx, in, out));
    const TfLiteTensor* shape = ctx.num_inputs() == 2 ? ctx.input(1) : nullptr;
    use_tensor_ = shape != nullptr && shape->rank() == 1 && dm::IsIndexType(shape->type);
    dims_.clear();
    if (use_tensor_) {
      TFC_OK(dm::CheckIndexType(ctx, shape, "shape"));
      dims_.reserve(static_cast<size_t>(shape->num_elements()));
      if (!shape->is_constant()) {
        ctx.MarkOutputDynamic(0);
        return kTfLiteOk;
      }
      TFC_OK(dm::CheckIndexTensor(ctx, shape, "shape"));
      for (int64_t i = 0; i < shape->num_elements(); ++i) {
        const int64_t v = dm::IntAt(shape, i);
        TFC_ENSURE_MSG(ctx, v >= -1 && v <= INT32_MAX, "shape entry %lld is invalid",
                       static_cast<long long>(v));
        dims_.push_back(static_cast<int32_t>(v));
      }
    } else {
      const auto* opts = ctx.options<fb::ReshapeOptions>();
      if (opts != nullptr && opts->new_shape() != nullptr) {
        for (int32_t v : *opts->new_shape()) dims_.push_back(v);
      }
      // Old converters wrote new_shape [0] for a scalar.
      if (dims_.size() == 1 && dims_[0] == 0) dims_.clear();
    }
    TFC_OK(Infer(ctx, in));
    return ctx.ResizeOutput(0, dims_);
  }

  TfLiteStatus Eval(OpContext& ctx) override {
    const TfLiteTensor* in = ctx.input(0);
    TfLiteTensor* out = ctx.output(0);
    if (use_tensor_ && !ctx.input(1)->is_constant()) {
      const TfLiteTensor* shape = ctx.input(1);
      TFC_OK(dm::CheckIndexTensor(ctx, shape, "shape"));
      TFC_ENSURE_MSG(ctx, static_cast<size_t>(shape->num_elements()) <= dims_.capacity(),
                     "the shape tensor changed size after Prepare");
      dims_.clear();
      for (int64_t i = 0; i < shape->num_elements(); ++i) {
        const int64_t v = dm::IntAt(shape, i);
        TFC_ENSURE_MSG(ctx, v >= -1 && v <= INT32_MAX, "shape entry %lld is invalid",
                       static_cast<long long>(v));
        dims_.push_back(static_cast<int32_t>(v));
      }
      TFC_OK(Infer(ctx, in));
      TFC_OK(ctx.ResizeOutput(0, dims_));
    }
    const size_t bytes = static_cast<size_t>(in->num_elements()) * TypeSize(in->type);
    TFC_ENSURE_MSG(ctx, out->bytes >= bytes, "output buffer too small");
    if (bytes > 0 && out->data != in->data) std::memmove(out->data, in->data, bytes);
    return kTfLiteOk;
  }

 private:
  // Resolves a -1 entry in dims_ and checks the element count.
  TfLiteStatus Infer(OpContext& ctx, const TfLiteTensor* in) {
    int64_t in_count = 0;
    TFC_ENSURE_MSG(ctx, dm::CountElements(in->dims, &in_count), "invalid input shape");
    int stretch = -1;
    int64_t known = 1;
    for (size_t i = 0; i < dims_.size(); ++i) {
      const int32_t d = dims_[i];
      if (d == -1) {
        TFC_ENSURE_MSG(ctx, stretch < 0, "the new shape has more than one -1");
        stretch = static_cast<int>(i);
      } else {
        TFC_ENSURE_MSG(ctx, d >= 0, "the new shape has a negative dimension %d", d);
        known *= d;
        TFC_ENSURE_MSG(ctx, known <= dm::kMaxElements, "the new shape is too large");
      }
    }
    if (stretch >= 0) {
      if (known == 0) {
        TFC_ENSURE_MSG(ctx, in_count == 0,
                       "cannot infer the -1 dimension with a zero-sized dimension");
        dims_[static_cast<size_t>(stretch)] = 0;
      } else {
        TFC_ENSURE_MSG(ctx, in_count % known == 0,
                       "cannot reshape %lld elements into a shape with a multiple of %lld",
                       static_cast<long long>(in_count), static_cast<long long>(known));
        TFC_ENSURE_MSG(ctx, in_count / known <= INT32_MAX, "the inferred dimension is too large");
        dims_[static_cast<size_t>(stretch)] = static_cast<int32_t>(in_count / known);
      }
      known = in_count;
    }
    TFC_ENSURE_MSG(ctx, known == in_count,
                   "cannot reshape %lld elements into a shape of %lld elements",
                   static_cast<long long>(in_count), static_cast<long long>(known));
    return kTfLiteOk;
  }

  bool use_tensor_ = false;
  std::vector<int32_t> dims_;
};

}  // namespace

TFC_REGISTER_OP(RESHAPE, 1, 1, Reshape);

}  // namespace tfc
