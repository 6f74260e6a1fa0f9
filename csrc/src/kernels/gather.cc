// GATHER: out = params[..., indices, ...] along `axis`, with `batch_dims`
// leading dimensions shared by params and indices. Indices are int16, int32
// or int64; an index outside [0, dim) is an error. Byte copies for every
// params type.
#include <cstring>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/util/index_util.h"

namespace tfc {
namespace {

template <class I>
bool GatherRows(const uint8_t* params, const I* idx, uint8_t* dst, int64_t batch, int64_t outer,
                int64_t axis_size, int64_t nidx, size_t row, int64_t* bad) {
  for (int64_t b = 0; b < batch; ++b) {
    const I* bi = idx + b * nidx;
    for (int64_t o = 0; o < outer; ++o) {
      const uint8_t* base = params + static_cast<size_t>((b * outer + o) * axis_size) * row;
      for (int64_t k = 0; k < nidx; ++k) {
        const int64_t v = static_cast<int64_t>(bi[k]);
        if (v < 0 || v >= axis_size) {
          *bad = v;
          return false;
        }
        std::memcpy(dst, base + static_cast<size_t>(v) * row, row);
        dst += row;
      }
    }
  }
  return true;
}

class Gather final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override {
    TFC_ENSURE_MSG(ctx, ctx.num_inputs() == 2 && ctx.num_outputs() == 1,
                   "expects 2 inputs and 1 output");
    const TfLiteTensor* params = ctx.input(0);
    const TfLiteTensor* indices = ctx.input(1);
    TfLiteTensor* out = ctx.output(0);
    TFC_ENSURE(ctx, params != nullptr && indices != nullptr && out != nullptr);
    TFC_OK(dm::CheckMovable(ctx, params, out));
    TFC_ENSURE_MSG(ctx,
                   indices->type == kTfLiteInt32 || indices->type == kTfLiteInt64 ||
                       indices->type == kTfLiteInt16,
                   "indices have type %s; expected INT16, INT32 or INT64", TypeName(indices->type));
    const auto* opts = ctx.options<fb::GatherOptions>();
    const int prank = params->rank();
    const int irank = indices->rank();
    TFC_OK(dm::NormalizeAxis(ctx, opts ? opts->axis() : 0, prank, &axis_));
    int64_t bd = opts ? opts->batch_dims() : 0;
    if (bd < 0) bd += irank;
    TFC_ENSURE_MSG(ctx, bd >= 0 && bd <= irank, "batch_dims %d is out of range for indices rank %d",
                   opts ? opts->batch_dims() : 0, irank);
    TFC_ENSURE_MSG(ctx, bd <= axis_, "batch_dims %lld must not exceed axis %d",
                   static_cast<long long>(bd), axis_);
    batch_dims_ = static_cast<int>(bd);
    for (int d = 0; d < batch_dims_; ++d)
      TFC_ENSURE_MSG(ctx, params->dim(d) == indices->dim(d),
                     "batch dimension %d differs: params %d, indices %d", d, params->dim(d),
                     indices->dim(d));
    std::vector<int32_t> dims;
    for (int d = 0; d < axis_; ++d) dims.push_back(params->dim(d));
    for (int d = batch_dims_; d < irank; ++d) dims.push_back(indices->dim(d));
    for (int d = axis_ + 1; d < prank; ++d) dims.push_back(params->dim(d));
    int64_t count = 0;
    TFC_ENSURE_MSG(ctx, dm::CountElements(dims, &count), "the output shape is too large");
    return ctx.ResizeOutput(0, dims);
  }

  TfLiteStatus Eval(OpContext& ctx) override {
    const TfLiteTensor* params = ctx.input(0);
    const TfLiteTensor* indices = ctx.input(1);
    TfLiteTensor* out = ctx.output(0);
    int64_t batch = 1, outer = 1, inner = 1, nidx = 1;
    for (int d = 0; d < batch_dims_; ++d) batch *= params->dim(d);
    for (int d = batch_dims_; d < axis_; ++d) outer *= params->dim(d);
    for (int d = axis_ + 1; d < params->rank(); ++d) inner *= params->dim(d);
    for (int d = batch_dims_; d < indices->rank(); ++d) nidx *= indices->dim(d);
    const int64_t axis_size = params->dim(axis_);
    const size_t row = static_cast<size_t>(inner) * TypeSize(params->type);
    if (out->num_elements() == 0) return kTfLiteOk;
    const uint8_t* p = static_cast<const uint8_t*>(params->data);
    uint8_t* dst = static_cast<uint8_t*>(out->data);
    int64_t bad = 0;
    bool ok;
    switch (indices->type) {
      case kTfLiteInt64:
        ok = GatherRows(p, indices->data_as<const int64_t>(), dst, batch, outer, axis_size, nidx,
                        row, &bad);
        break;
      case kTfLiteInt16:
        ok = GatherRows(p, indices->data_as<const int16_t>(), dst, batch, outer, axis_size, nidx,
                        row, &bad);
        break;
      default:
        ok = GatherRows(p, indices->data_as<const int32_t>(), dst, batch, outer, axis_size, nidx,
                        row, &bad);
    }
    if (!ok)
      return ctx.Error("index %lld is out of range [0, %lld)", static_cast<long long>(bad),
                       static_cast<long long>(axis_size));
    return kTfLiteOk;
  }

 private:
  int axis_ = 0;
  int batch_dims_ = 0;
};

}  // namespace

TFC_REGISTER_OP(GATHER, 1, 7, Gather);

}  // namespace tfc
