// BROADCAST_TO: numpy-style broadcast of the input to the shape given by the
// second input (rank >= input rank; each input dim 1 or equal). Byte copies
// for every type; a non-constant shape makes the output dynamic. Version 1 of
// this op was withdrawn from the format, so versions are 2..3.
#include <cstring>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/util/index_util.h"

namespace tfc {
namespace {

class BroadcastTo final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override {
    TFC_ENSURE_MSG(ctx, ctx.num_inputs() == 2 && ctx.num_outputs() == 1,
                   "expects 2 inputs and 1 output");
    const TfLiteTensor* in = ctx.input(0);
    TfLiteTensor* out = ctx.output(0);
    TFC_ENSURE(ctx, in != nullptr && out != nullptr);
    TFC_OK(dm::CheckMovable(ctx, in, out));
    TFC_OK(dm::CheckIndexType(ctx, ctx.input(1), "shape"));
    TFC_ENSURE_MSG(ctx, ctx.input(1)->num_elements() <= dm::kMaxRank,
                   "the target rank %lld is above the supported %d",
                   static_cast<long long>(ctx.input(1)->num_elements()), dm::kMaxRank);
    dims_.reserve(dm::kMaxRank);
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
    dm::Tiler tiler;
    tiler.Init(idims_, mult_, rank_, TypeSize(in->type));
    tiler.Run(in->data, out->data);
    return kTfLiteOk;
  }

 private:
  TfLiteStatus Plan(OpContext& ctx) {
    const TfLiteTensor* in = ctx.input(0);
    const TfLiteTensor* shape = ctx.input(1);
    TFC_OK(dm::CheckIndexTensor(ctx, shape, "shape"));
    const int64_t r = shape->num_elements();
    TFC_ENSURE_MSG(ctx, r <= dm::kMaxRank && r >= in->rank(),
                   "cannot broadcast rank %d to rank %lld", in->rank(), static_cast<long long>(r));
    rank_ = static_cast<int>(r);
    const int lead = rank_ - in->rank();
    int64_t odims[dm::kMaxRank];
    for (int d = 0; d < rank_; ++d) {
      const int64_t t = dm::IntAt(shape, d);
      TFC_ENSURE_MSG(ctx, t >= 0 && t <= INT32_MAX, "shape[%d] = %lld is invalid", d,
                     static_cast<long long>(t));
      const int64_t s = d < lead ? 1 : in->dim(d - lead);
      TFC_ENSURE_MSG(ctx, s == t || s == 1, "cannot broadcast dimension of size %lld to %lld",
                     static_cast<long long>(s), static_cast<long long>(t));
      idims_[d] = s;
      mult_[d] = s == t ? 1 : t;
      odims[d] = t;
    }
    int64_t count = 0;
    TFC_ENSURE_MSG(ctx, dm::CountElements(odims, rank_, &count), "the output shape is too large");
    dims_.clear();
    for (int d = 0; d < rank_; ++d) dims_.push_back(static_cast<int32_t>(odims[d]));
    return kTfLiteOk;
  }

  int rank_ = 0;
  int64_t idims_[dm::kMaxRank] = {};
  int64_t mult_[dm::kMaxRank] = {};
  std::vector<int32_t> dims_;
};

}  // namespace

TFC_REGISTER_OP(BROADCAST_TO, 2, 3, BroadcastTo);

}  // namespace tfc
