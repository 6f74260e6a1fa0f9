// PAD and PADV2: pads with a constant (zero, the output zero point for
// quantized types, or PADV2's constant_values). paddings is an int [rank, 2]
// tensor of (before, after) counts. Byte copies for every type; quantized
// values are copied as they are (TFLite does not requantize, whatever the
// output's parameters); PADV2's constant_values must be quantized as the
// output. A non-constant paddings tensor makes
// the output dynamic.
#include <cstring>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/util/index_util.h"

namespace tfc {
namespace {

class Pad final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override {
    TFC_ENSURE_MSG(ctx, (ctx.num_inputs() == 2 || ctx.num_inputs() == 3) && ctx.num_outputs() == 1,
                   "expects 2 or 3 inputs and 1 output");
    const TfLiteTensor* in = ctx.input(0);
    TfLiteTensor* out = ctx.output(0);
    TFC_ENSURE(ctx, in != nullptr && out != nullptr);
    TFC_OK(dm::CheckMovable(ctx, in, out));
    TFC_ENSURE_MSG(ctx, in->rank() <= dm::kMaxRank, "rank %d is above the supported %d",
                   in->rank(), dm::kMaxRank);
    TFC_OK(dm::CheckIndexType(ctx, ctx.input(1), "paddings", 2));
    const TfLiteTensor* cv = ctx.num_inputs() == 3 ? ctx.input(2) : nullptr;
    const size_t esize = TypeSize(in->type);
    std::memset(value_, 0, sizeof(value_));
    if (cv != nullptr) {
      TFC_ENSURE_MSG(ctx, cv->type == in->type, "constant_values has type %s, the input %s",
                     TypeName(cv->type), TypeName(in->type));
      TFC_ENSURE_MSG(ctx, cv->num_elements() == 1, "constant_values must hold one value");
      if (dm::IsQuantizedType(out->type) && !dm::SameQuant(cv, out))
        return ctx.Error("constant_values must have the output's quantization parameters");
    } else if (dm::IsQuantizedType(out->type) && !out->quant.zero_point.empty()) {
      const int64_t zp = out->quant.zero_point[0];
      switch (out->type) {
        case kTfLiteInt8: {
          TFC_ENSURE_MSG(ctx, zp >= -128 && zp <= 127, "zero point %lld out of range",
                         static_cast<long long>(zp));
          const int8_t v = static_cast<int8_t>(zp);
          std::memcpy(value_, &v, 1);
          break;
        }
        case kTfLiteUInt8: {
          TFC_ENSURE_MSG(ctx, zp >= 0 && zp <= 255, "zero point %lld out of range",
                         static_cast<long long>(zp));
          value_[0] = static_cast<uint8_t>(zp);
          break;
        }
        default: {
          TFC_ENSURE_MSG(ctx, zp >= -32768 && zp <= 32767, "zero point %lld out of range",
                         static_cast<long long>(zp));
          const int16_t v = static_cast<int16_t>(zp);
          std::memcpy(value_, &v, 2);
        }
      }
    }
    TFC_ENSURE(ctx, esize <= sizeof(value_));
    dims_.reserve(static_cast<size_t>(in->rank()));
    if (!ctx.input(1)->is_constant()) {
      ctx.MarkOutputDynamic(0);
      return kTfLiteOk;
    }
    TFC_OK(Plan(ctx));
    return ctx.ResizeOutput(0, dims_);
  }

  TfLiteStatus Eval(OpContext& ctx) override {
    if (!ctx.input(1)->is_constant()) {
      TFC_OK(Plan(ctx));
      TFC_OK(ctx.ResizeOutput(0, dims_));
    }
    const TfLiteTensor* in = ctx.input(0);
    TfLiteTensor* out = ctx.output(0);
    if (out->num_elements() == 0) return kTfLiteOk;
    esize_ = TypeSize(in->type);
    const TfLiteTensor* cv = ctx.num_inputs() == 3 ? ctx.input(2) : nullptr;
    if (cv != nullptr) {
      TFC_ENSURE_MSG(ctx, cv->data != nullptr && cv->bytes >= esize_, "constant_values has no data");
      std::memcpy(value_, cv->data, esize_);
    }
    // Merge a dim without padding into its outer neighbour: both stay one
    // contiguous run in input and output.
    r_ = 0;
    for (int d = 0; d < in->rank(); ++d) {
      const int64_t dim = in->dim(d);
      if (r_ > 0 && before_[d] == 0 && after_[d] == 0) {
        idim_[r_ - 1] *= dim;
        pb_[r_ - 1] *= dim;
        pa_[r_ - 1] *= dim;
        continue;
      }
      idim_[r_] = dim;
      pb_[r_] = before_[d];
      pa_[r_] = after_[d];
      ++r_;
    }
    if (r_ == 0) {
      std::memcpy(out->data, in->data, esize_);
      return kTfLiteOk;
    }
    // Element strides of input and output blocks.
    int64_t si = 1, so = 1;
    for (int d = r_ - 1; d >= 0; --d) {
      istride_[d] = si;
      ostride_[d] = so;
      si *= idim_[d];
      so *= idim_[d] + pb_[d] + pa_[d];
    }
    Dim(0, static_cast<const uint8_t*>(in->data), static_cast<uint8_t*>(out->data));
    return kTfLiteOk;
  }

 private:
  void Dim(int d, const uint8_t* src, uint8_t* dst) const {
    const int64_t ob = ostride_[d];
    dm::FillValue(dst, pb_[d] * ob, value_, esize_);
    dst += pb_[d] * ob * static_cast<int64_t>(esize_);
    if (d == r_ - 1) {
      const size_t n = static_cast<size_t>(idim_[d]) * esize_;
      if (n > 0) std::memcpy(dst, src, n);
      dst += n;
    } else {
      const int64_t ib = istride_[d] * static_cast<int64_t>(esize_);
      const int64_t obb = ob * static_cast<int64_t>(esize_);
      for (int64_t i = 0; i < idim_[d]; ++i) {
        Dim(d + 1, src, dst);
        src += ib;
        dst += obb;
      }
    }
    dm::FillValue(dst, pa_[d] * ob, value_, esize_);
  }

  TfLiteStatus Plan(OpContext& ctx) {
    const TfLiteTensor* in = ctx.input(0);
    const TfLiteTensor* p = ctx.input(1);
    TFC_OK(dm::CheckIndexTensor(ctx, p, "paddings", 2));
    const int rank = in->rank();
    TFC_ENSURE_MSG(ctx, p->rank() == 2 && p->dim(0) == rank && p->dim(1) == 2,
                   "paddings must have shape [%d, 2]", rank);
    int64_t odims[dm::kMaxRank];
    for (int d = 0; d < rank; ++d) {
      const int64_t b = dm::IntAt(p, 2 * d), a = dm::IntAt(p, 2 * d + 1);
      TFC_ENSURE_MSG(ctx, b >= 0 && a >= 0 && b <= INT32_MAX && a <= INT32_MAX,
                     "paddings for dimension %d (%lld, %lld) are invalid", d,
                     static_cast<long long>(b), static_cast<long long>(a));
      before_[d] = b;
      after_[d] = a;
      odims[d] = in->dim(d) + b + a;
    }
    int64_t count = 0;
    TFC_ENSURE_MSG(ctx, dm::CountElements(odims, rank, &count), "the output shape is too large");
    dims_.clear();
    for (int d = 0; d < rank; ++d) dims_.push_back(static_cast<int32_t>(odims[d]));
    return kTfLiteOk;
  }

  uint8_t value_[16] = {};
  size_t esize_ = 1;
  int64_t before_[dm::kMaxRank] = {}, after_[dm::kMaxRank] = {};
  // Eval-time merged plan.
  int r_ = 0;
  int64_t idim_[dm::kMaxRank] = {}, pb_[dm::kMaxRank] = {}, pa_[dm::kMaxRank] = {};
  int64_t istride_[dm::kMaxRank] = {}, ostride_[dm::kMaxRank] = {};
  std::vector<int32_t> dims_;
};

}  // namespace

TFC_REGISTER_OP(PAD, 1, 4, Pad);
TFC_REGISTER_OP(PADV2, 1, 4, Pad);

}  // namespace tfc
