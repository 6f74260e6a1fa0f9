// LOGICAL_AND LOGICAL_OR (NumPy broadcasting) and LOGICAL_NOT on bool
// tensors. Input bytes are read as bool (non-zero is true); outputs are 0/1.
#include <cstdint>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/util/broadcast.h"
#include "kernels/util/elementwise.h"

namespace tfc {
namespace {

template <bool AND>
class LogicalBinary final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override {
    TFC_ENSURE(ctx, ctx.num_inputs() == 2 && ctx.num_outputs() == 1);
    const TfLiteTensor* a = ctx.input(0);
    const TfLiteTensor* b = ctx.input(1);
    const TfLiteTensor* out = ctx.output(0);
    TFC_ENSURE(ctx, a != nullptr && b != nullptr && out != nullptr);
    TFC_ENSURE_TYPE(ctx, a, kTfLiteBool);
    TFC_ENSURE_TYPE(ctx, b, kTfLiteBool);
    TFC_ENSURE_TYPE(ctx, out, kTfLiteBool);
    std::vector<int32_t> out_dims;
    char sa[96], sb[96];
    TFC_ENSURE_MSG(ctx, BroadcastShapes(a->dims, b->dims, &out_dims),
                   "shapes %s and %s are not broadcastable", ShapeString(a->dims, sa, sizeof sa),
                   ShapeString(b->dims, sb, sizeof sb));
    int64_t n = 0;
    TFC_ENSURE_MSG(ctx, ew::CheckedNumElements(out_dims, &n), "bad output shape %s",
                   ShapeString(out_dims, sa, sizeof sa));
    TFC_ENSURE_MSG(ctx, plan_.Init({&a->dims, &b->dims}, out_dims),
                   "broadcasting %s with %s needs more than %d dimensions",
                   ShapeString(a->dims, sa, sizeof sa), ShapeString(b->dims, sb, sizeof sb),
                   kMaxBroadcastDims);
    return ctx.ResizeOutput(0, out_dims);
  }

  TfLiteStatus Eval(OpContext& ctx) override {
    const uint8_t* pa = ctx.input(0)->data_as<const uint8_t>();
    const uint8_t* pb = ctx.input(1)->data_as<const uint8_t>();
    uint8_t* po = ctx.output(0)->data_as<uint8_t>();
    const int64_t sa = plan_.inner_stride(0);
    const int64_t sb = plan_.inner_stride(1);
    const BroadcastPlan<2>& plan = plan_;
    auto body = [&](int64_t begin, int64_t end) {
      ForEachRow(plan, begin, end, [&](int64_t o, const int64_t* in, int64_t n) {
        const uint8_t* __restrict x = pa + in[0];
        const uint8_t* __restrict y = pb + in[1];
        uint8_t* __restrict z = po + o;
        for (int64_t i = 0; i < n; ++i) {
          const bool u = x[i * sa] != 0;
          const bool v = y[i * sb] != 0;
          z[i] = AND ? (u && v) : (u || v);
        }
      });
    };
    ew::ParallelElements(ctx, plan_.size, ew::kParallelMinElements, body);
    return kTfLiteOk;
  }

 private:
  BroadcastPlan<2> plan_;
};

class LogicalNot final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override {
    TFC_ENSURE(ctx, ctx.num_inputs() == 1 && ctx.num_outputs() == 1);
    const TfLiteTensor* in = ctx.input(0);
    const TfLiteTensor* out = ctx.output(0);
    TFC_ENSURE(ctx, in != nullptr && out != nullptr);
    TFC_ENSURE_TYPE(ctx, in, kTfLiteBool);
    TFC_ENSURE_TYPE(ctx, out, kTfLiteBool);
    return ctx.ResizeOutput(0, in->dims);
  }
  TfLiteStatus Eval(OpContext& ctx) override {
    const uint8_t* __restrict x = ctx.input(0)->data_as<const uint8_t>();
    uint8_t* __restrict z = ctx.output(0)->data_as<uint8_t>();
    const int64_t n = ctx.input(0)->num_elements();
    for (int64_t i = 0; i < n; ++i) z[i] = x[i] == 0;
    return kTfLiteOk;
  }
};

using LogicalAnd = LogicalBinary<true>;
using LogicalOr = LogicalBinary<false>;

}  // namespace

TFC_REGISTER_OP(LOGICAL_AND, 1, 1, LogicalAnd);
TFC_REGISTER_OP(LOGICAL_OR, 1, 1, LogicalOr);
TFC_REGISTER_OP(LOGICAL_NOT, 1, 1, LogicalNot);

}  // namespace tfc
