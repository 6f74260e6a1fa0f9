// TILE: out.dim(d) = in.dim(d) * multiples[d]. Byte copies for every type;
// a non-constant multiples tensor makes the output dynamic.
#include <cstring>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/util/index_util.h"

namespace tfc {
namespace {

class Tile final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override {
    TFC_ENSURE_MSG(ctx, ctx.num_inputs() == 2 && ctx.num_outputs() == 1,
                   "expects 2 inputs and 1 output");
    const TfLiteTensor* in = ctx.input(0);
    TfLiteTensor* out = ctx.output(0);
    TFC_ENSURE(ctx, in != nullptr && out != nullptr);
    TFC_OK(dm::CheckMovable(ctx, in, out));
    TFC_ENSURE_MSG(ctx, in->rank() <= dm::kMaxRank, "rank %d is above the supported %d",
                   in->rank(), dm::kMaxRank);
    TFC_OK(dm::CheckIndexType(ctx, ctx.input(1), "multiples"));
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
    const int rank = in->rank();
    int64_t idims[dm::kMaxRank];
    for (int d = 0; d < rank; ++d) idims[d] = in->dim(d);
    dm::Tiler tiler;
    tiler.Init(idims, mult_, rank, TypeSize(in->type));
    tiler.Run(in->data, out->data);
    return kTfLiteOk;
  }

 private:
  TfLiteStatus Plan(OpContext& ctx) {
    const TfLiteTensor* in = ctx.input(0);
    const TfLiteTensor* m = ctx.input(1);
    TFC_OK(dm::CheckIndexTensor(ctx, m, "multiples"));
    const int rank = in->rank();
    TFC_ENSURE_MSG(ctx, m->num_elements() == rank, "multiples has %lld entries for rank %d",
                   static_cast<long long>(m->num_elements()), rank);
    int64_t odims[dm::kMaxRank];
    for (int d = 0; d < rank; ++d) {
      const int64_t v = dm::IntAt(m, d);
      TFC_ENSURE_MSG(ctx, v >= 0 && v <= INT32_MAX, "multiples[%d] = %lld is invalid", d,
                     static_cast<long long>(v));
      mult_[d] = v;
      odims[d] = in->dim(d) * v;
    }
    int64_t count = 0;
    TFC_ENSURE_MSG(ctx, dm::CountElements(odims, rank, &count), "the output shape is too large");
    dims_.clear();
    for (int d = 0; d < rank; ++d) dims_.push_back(static_cast<int32_t>(odims[d]));
    return kTfLiteOk;
  }

  int64_t mult_[dm::kMaxRank] = {};
  std::vector<int32_t> dims_;
};

}  // namespace

TFC_REGISTER_OP(TILE, 1, 3, Tile);

}  // namespace tfc
