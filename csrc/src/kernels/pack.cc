// PACK: stacks N tensors of equal shape along a new dimension `axis`
// (in [-(rank+1), rank]). Byte copies for every type; quantized inputs must
// share the output's quantization.
#include <cstring>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/util/index_util.h"

namespace tfc {
namespace {

class Pack final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override {
    const int n = ctx.num_inputs();
    TFC_ENSURE_MSG(ctx, n >= 1 && ctx.num_outputs() == 1, "expects at least 1 input and 1 output");
    const auto* opts = ctx.options<fb::PackOptions>();
    if (opts != nullptr)
      TFC_ENSURE_MSG(ctx, opts->values_count() == n, "values_count is %d but the op has %d inputs",
                     opts->values_count(), n);
    const TfLiteTensor* in0 = ctx.input(0);
    TfLiteTensor* out = ctx.output(0);
    TFC_ENSURE(ctx, in0 != nullptr && out != nullptr);
    const int rank = in0->rank();
    const int64_t a = opts ? opts->axis() : 0;
    TFC_ENSURE_MSG(ctx, a >= -rank - 1 && a <= rank, "axis %lld is out of range for rank %d",
                   static_cast<long long>(a), rank + 1);
    axis_ = static_cast<int>(a < 0 ? a + rank + 1 : a);
    for (int i = 0; i < n; ++i) {
      const TfLiteTensor* in = ctx.input(i);
      TFC_ENSURE_MSG(ctx, in != nullptr, "input %d is missing", i);
      TFC_OK(dm::CheckMovable(ctx, in, out));
      TFC_ENSURE_MSG(ctx, in->dims == in0->dims, "input %d's shape differs from input 0's", i);
      TFC_OK(dm::CheckNoRequant(ctx, in, out));
    }
    std::vector<int32_t> dims = in0->dims;
    dims.insert(dims.begin() + axis_, n);
    int64_t count = 0;
    TFC_ENSURE_MSG(ctx, dm::CountElements(dims, &count), "the output shape is too large");
    return ctx.ResizeOutput(0, dims);
  }

  TfLiteStatus Eval(OpContext& ctx) override {
    const int n = ctx.num_inputs();
    const TfLiteTensor* in0 = ctx.input(0);
    TfLiteTensor* out = ctx.output(0);
    const size_t esize = TypeSize(out->type);
    int64_t outer = 1;
    for (int d = 0; d < axis_; ++d) outer *= in0->dim(d);
    int64_t inner = 1;
    for (int d = axis_; d < in0->rank(); ++d) inner *= in0->dim(d);
    const size_t row = static_cast<size_t>(inner) * esize;
    if (row == 0) return kTfLiteOk;
    uint8_t* dst = static_cast<uint8_t*>(out->data);
    for (int i = 0; i < n; ++i) {
      const uint8_t* src = static_cast<const uint8_t*>(ctx.input(i)->data);
      uint8_t* d = dst + static_cast<size_t>(i) * row;
      for (int64_t o = 0; o < outer; ++o) {
        std::memcpy(d, src, row);
        src += row;
        d += row * static_cast<size_t>(n);
      }
    }
    return kTfLiteOk;
  }

 private:
  int axis_ = 0;
};

}  // namespace

TFC_REGISTER_OP(PACK, 1, 4, Pack);

}  // namespace tfc
