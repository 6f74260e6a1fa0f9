// GATHER_ND: indices[..., depth] address slices params[i0, ..., i(depth-1)];
// out shape = indices.shape[:-1] + params.shape[depth:]. An index out of
// range is an error. Byte copies for every params type.
#include <cstring>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/util/index_util.h"

namespace tfc {
namespace {

template <class I>
bool GatherSlices(const uint8_t* params, const I* idx, uint8_t* dst, int64_t n, int depth,
                  const int64_t* dims, const int64_t* strides, size_t slice, int64_t* bad,
                  int* bad_dim) {
  for (int64_t k = 0; k < n; ++k) {
    int64_t off = 0;
    for (int j = 0; j < depth; ++j) {
      const int64_t v = static_cast<int64_t>(idx[j]);
      if (v < 0 || v >= dims[j]) {
        *bad = v;
        *bad_dim = j;
        return false;
      }
      off += v * strides[j];
    }
    std::memcpy(dst, params + static_cast<size_t>(off) * slice, slice);
    dst += slice;
    idx += depth;
  }
  return true;
}

class GatherNd final : public OpKernel {
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
    TFC_ENSURE_MSG(ctx, indices->rank() >= 1, "indices must have rank >= 1");
    const int depth = indices->dim(indices->rank() - 1);
    TFC_ENSURE_MSG(ctx, depth >= 0 && depth <= params->rank() && depth <= dm::kMaxRank,
                   "index depth %d is invalid for params of rank %d", depth, params->rank());
    std::vector<int32_t> dims(indices->dims.begin(), indices->dims.end() - 1);
    for (int d = depth; d < params->rank(); ++d) dims.push_back(params->dim(d));
    int64_t count = 0;
    TFC_ENSURE_MSG(ctx, dm::CountElements(dims, &count), "the output shape is too large");
    return ctx.ResizeOutput(0, dims);
  }

  TfLiteStatus Eval(OpContext& ctx) override {
    const TfLiteTensor* params = ctx.input(0);
    const TfLiteTensor* indices = ctx.input(1);
    TfLiteTensor* out = ctx.output(0);
    const int depth = indices->dim(indices->rank() - 1);
    int64_t n = 1;
    for (int d = 0; d < indices->rank() - 1; ++d) n *= indices->dim(d);
    int64_t slice_elems = 1;
    for (int d = depth; d < params->rank(); ++d) slice_elems *= params->dim(d);
    int64_t dims[dm::kMaxRank], strides[dm::kMaxRank];
    for (int j = 0; j < depth; ++j) dims[j] = params->dim(j);
    dm::ContiguousStrides(dims, depth, strides);
    if (out->num_elements() == 0) return kTfLiteOk;
    const size_t slice = static_cast<size_t>(slice_elems) * TypeSize(params->type);
    const uint8_t* p = static_cast<const uint8_t*>(params->data);
    uint8_t* dst = static_cast<uint8_t*>(out->data);
    int64_t bad = 0;
    int bad_dim = 0;
    bool ok;
    switch (indices->type) {
      case kTfLiteInt64:
        ok = GatherSlices(p, indices->data_as<const int64_t>(), dst, n, depth, dims, strides,
                          slice, &bad, &bad_dim);
        break;
      case kTfLiteInt16:
        ok = GatherSlices(p, indices->data_as<const int16_t>(), dst, n, depth, dims, strides,
                          slice, &bad, &bad_dim);
        break;
      default:
        ok = GatherSlices(p, indices->data_as<const int32_t>(), dst, n, depth, dims, strides,
                          slice, &bad, &bad_dim);
    }
    if (!ok)
      return ctx.Error("index %lld is out of range for dimension %d of size %lld",
                       static_cast<long long>(bad), bad_dim,
                       static_cast<long long>(dims[bad_dim]));
    return kTfLiteOk;
  }
};

}  // namespace

TFC_REGISTER_OP(GATHER_ND, 1, 5, GatherNd);

}  // namespace tfc
