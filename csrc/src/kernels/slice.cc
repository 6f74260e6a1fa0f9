// SLICE: inputs (input, begin, size); size -1 means "to the end". Byte
// copies for every type. Non-constant begin/size make the output dynamic.
#include <cstring>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/util/index_util.h"

namespace tfc {
namespace {

class Slice final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override {
    TFC_ENSURE_MSG(ctx, ctx.num_inputs() == 3 && ctx.num_outputs() == 1,
                   "expects 3 inputs and 1 output");
    const TfLiteTensor* in = ctx.input(0);
    TfLiteTensor* out = ctx.output(0);
    TFC_ENSURE(ctx, in != nullptr && out != nullptr);
    TFC_OK(dm::CheckMovable(ctx, in, out));
    TFC_ENSURE_MSG(ctx, in->rank() <= dm::kMaxRank, "rank %d is above the supported %d",
                   in->rank(), dm::kMaxRank);
    TFC_OK(dm::CheckIndexType(ctx, ctx.input(1), "begin"));
    TFC_OK(dm::CheckIndexType(ctx, ctx.input(2), "size"));
    dims_.reserve(static_cast<size_t>(in->rank()));
    dynamic_ = !ctx.input(1)->is_constant() || !ctx.input(2)->is_constant();
    if (dynamic_) {
      ctx.MarkOutputDynamic(0);
      return kTfLiteOk;
    }
    TFC_OK(Plan(ctx));
    return ctx.ResizeOutput(0, dims_);
  }

  TfLiteStatus Eval(OpContext& ctx) override {
    if (dynamic_) {
      TFC_OK(Plan(ctx));
      TFC_OK(ctx.ResizeOutput(0, dims_));
    }
    const TfLiteTensor* in = ctx.input(0);
    TfLiteTensor* out = ctx.output(0);
    const int rank = in->rank();
    const size_t esize = TypeSize(in->type);
    int64_t in_dims[dm::kMaxRank], in_stride[dm::kMaxRank], out_stride[dm::kMaxRank];
    for (int d = 0; d < rank; ++d) in_dims[d] = in->dim(d);
    dm::ContiguousStrides(in_dims, rank, in_stride);
    dm::ContiguousStrides(count_, rank, out_stride);
    int64_t offset = 0;
    for (int d = 0; d < rank; ++d) offset += begin_[d] * in_stride[d];
    if (out->num_elements() == 0) return kTfLiteOk;
    dm::CopyBox(static_cast<const uint8_t*>(in->data) + offset * static_cast<int64_t>(esize),
                out->data, rank, count_, in_stride, out_stride, esize);
    return kTfLiteOk;
  }

 private:
  TfLiteStatus Plan(OpContext& ctx) {
    const TfLiteTensor* in = ctx.input(0);
    const TfLiteTensor* begin = ctx.input(1);
    const TfLiteTensor* size = ctx.input(2);
    TFC_OK(dm::CheckIndexTensor(ctx, begin, "begin"));
    TFC_OK(dm::CheckIndexTensor(ctx, size, "size"));
    const int rank = in->rank();
    TFC_ENSURE_MSG(ctx, begin->num_elements() == rank && size->num_elements() == rank,
                   "begin and size need %d entries, they have %lld and %lld", rank,
                   static_cast<long long>(begin->num_elements()),
                   static_cast<long long>(size->num_elements()));
    dims_.clear();
    for (int d = 0; d < rank; ++d) {
      const int64_t dim = in->dim(d);
      const int64_t b = dm::IntAt(begin, d);
      int64_t s = dm::IntAt(size, d);
      TFC_ENSURE_MSG(ctx, b >= 0 && b <= dim, "begin[%d] = %lld is out of range [0, %lld]", d,
                     static_cast<long long>(b), static_cast<long long>(dim));
      if (s == -1) s = dim - b;
      TFC_ENSURE_MSG(ctx, s >= 0 && s <= dim - b,
                     "size[%d] = %lld is invalid for begin %lld and dimension %lld", d,
                     static_cast<long long>(s), static_cast<long long>(b),
                     static_cast<long long>(dim));
      begin_[d] = b;
      count_[d] = s;
      dims_.push_back(static_cast<int32_t>(s));
    }
    return kTfLiteOk;
  }

  bool dynamic_ = false;
  int64_t begin_[dm::kMaxRank] = {};
  int64_t count_[dm::kMaxRank] = {};
  std::vector<int32_t> dims_;
};

}  // namespace

TFC_REGISTER_OP(SLICE, 1, 6, Slice);

}  // namespace tfc
