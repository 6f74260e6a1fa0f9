// FILL: a tensor of shape `dims` (input 0: rank-1 int32 or int64) with every
// element equal to `value` (input 1: a scalar of the output's type; any
// numeric or bool type, copied bit for bit). When `dims` is not constant the
// output shape is known only at Eval (dynamic output).
#include <cstdint>
#include <cstring>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/util/elementwise.h"

namespace tfc {
namespace {

constexpr int kMaxRank = 64;

class Fill final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override {
    TFC_ENSURE(ctx, ctx.num_inputs() == 2 && ctx.num_outputs() == 1);
    const TfLiteTensor* dims = ctx.input(0);
    const TfLiteTensor* value = ctx.input(1);
    const TfLiteTensor* out = ctx.output(0);
    TFC_ENSURE(ctx, dims != nullptr && value != nullptr && out != nullptr);
    TFC_ENSURE_MSG(ctx, dims->type == kTfLiteInt32 || dims->type == kTfLiteInt64,
                   "dims must be INT32 or INT64, got %s", TypeName(dims->type));
    TFC_ENSURE_MSG(ctx, dims->rank() == 1, "dims must have rank 1, got rank %d", dims->rank());
    TFC_ENSURE_MSG(ctx, dims->num_elements() <= kMaxRank, "dims has %lld entries; at most %d supported",
                   static_cast<long long>(dims->num_elements()), kMaxRank);
    TFC_ENSURE_MSG(ctx, value->num_elements() == 1, "value must be a scalar");
    TFC_ENSURE_TYPE(ctx, out, value->type);
    const size_t size = TypeSize(value->type);
    TFC_ENSURE_MSG(ctx, size == 1 || size == 2 || size == 4 || size == 8,
                   "%s values are not supported", TypeName(value->type));
    if ((!value->quant.empty() || !out->quant.empty()) && !ew::SameQuantization(value, out))
      return ctx.ErrorStatus(kTfLiteUnresolvedOps, "requantizing %s values is not supported yet",
                             TypeName(value->type));
    if (dims->is_constant()) {
      dynamic_ = false;
      TFC_OK(ComputeShape(ctx, dims));
      return ctx.ResizeOutput(0, shape_);
    }
    dynamic_ = true;
    shape_.reserve(static_cast<size_t>(dims->num_elements()));  // Eval only resizes within this
    ctx.MarkOutputDynamic(0);
    return kTfLiteOk;
  }

  TfLiteStatus Eval(OpContext& ctx) override {
    if (dynamic_) {
      TFC_OK(ComputeShape(ctx, ctx.input(0)));
      TFC_OK(ctx.ResizeOutput(0, shape_));
    }
    const TfLiteTensor* value = ctx.input(1);
    TfLiteTensor* out = ctx.output(0);
    const int64_t n = out->num_elements();
    switch (TypeSize(value->type)) {
      case 1: Splat<uint8_t>(value->data, out->data, n); break;
      case 2: Splat<uint16_t>(value->data, out->data, n); break;
      case 4: Splat<uint32_t>(value->data, out->data, n); break;
      case 8: Splat<uint64_t>(value->data, out->data, n); break;
      default: return ctx.Error("bad value type %s", TypeName(value->type));
    }
    return kTfLiteOk;
  }

 private:
  template <class T>
  static void Splat(const void* v, void* out, int64_t n) {
    T x;
    std::memcpy(&x, v, sizeof(T));
    T* __restrict y = static_cast<T*>(out);
    for (int64_t i = 0; i < n; ++i) y[i] = x;
  }

  // Reads dims into shape_ (its capacity is kept between Invokes).
  TfLiteStatus ComputeShape(OpContext& ctx, const TfLiteTensor* dims) {
    const int64_t rank = dims->num_elements();
    shape_.resize(static_cast<size_t>(rank));
    int64_t total = 1;
    for (int64_t i = 0; i < rank; ++i) {
      const int64_t d = dims->type == kTfLiteInt32 ? dims->data_as<const int32_t>()[i]
                                                  : dims->data_as<const int64_t>()[i];
      TFC_ENSURE_MSG(ctx, d >= 0 && d <= INT32_MAX, "bad dimension %lld at index %lld",
                     static_cast<long long>(d), static_cast<long long>(i));
      TFC_ENSURE_MSG(ctx, !__builtin_mul_overflow(total, d, &total), "output is too large");
      shape_[static_cast<size_t>(i)] = static_cast<int32_t>(d);
    }
    return kTfLiteOk;
  }

  std::vector<int32_t> shape_;
  bool dynamic_ = false;
};

}  // namespace

TFC_REGISTER_OP(FILL, 1, 5, Fill);

}  // namespace tfc
