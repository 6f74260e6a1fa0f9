// SELECT and SELECT_V2: out = cond ? x : y, elementwise.
//
// SELECT: x and y have the same shape (the output's); cond has that shape,
// is a scalar, or is rank 1 with x's first dim (then it picks whole slices
// along dim 0). SELECT_V2: cond, x and y broadcast against each other (NumPy
// rules). cond is bool; x, y and the output share one type: any type of 1, 2,
// 4 or 8 bytes (values are copied bit for bit, quantized ones too, whatever
// their parameters, as TFLite does).
#include <cstdint>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/util/broadcast.h"
#include "kernels/util/elementwise.h"

namespace tfc {
namespace {

template <class T>
inline void SelectRow(const uint8_t* __restrict c, int64_t sc, const T* __restrict x, int64_t sx,
                      const T* __restrict y, int64_t sy, T* __restrict o, int64_t n) {
  if (sc == 0) {
    const T* src = c[0] ? x : y;
    const int64_t s = c[0] ? sx : sy;
    if (s) {
      for (int64_t i = 0; i < n; ++i) o[i] = src[i];
    } else {
      const T v = src[0];
      for (int64_t i = 0; i < n; ++i) o[i] = v;
    }
  } else if (sx && sy) {
    for (int64_t i = 0; i < n; ++i) o[i] = c[i] ? x[i] : y[i];
  } else {
    for (int64_t i = 0; i < n; ++i) o[i] = c[i] ? x[i * sx] : y[i * sy];
  }
}

template <bool V2>
class SelectKernel final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override {
    TFC_ENSURE(ctx, ctx.num_inputs() == 3 && ctx.num_outputs() == 1);
    const TfLiteTensor* c = ctx.input(0);
    const TfLiteTensor* x = ctx.input(1);
    const TfLiteTensor* y = ctx.input(2);
    const TfLiteTensor* out = ctx.output(0);
    TFC_ENSURE(ctx, c != nullptr && x != nullptr && y != nullptr && out != nullptr);
    TFC_ENSURE_TYPE(ctx, c, kTfLiteBool);
    TFC_ENSURE_TYPE(ctx, y, x->type);
    TFC_ENSURE_TYPE(ctx, out, x->type);
    const size_t size = TypeSize(x->type);
    TFC_ENSURE_MSG(ctx, size == 1 || size == 2 || size == 4 || size == 8,
                   "%s values are not supported", TypeName(x->type));
    // Quantized values are copied as they are, whatever the parameters of x,
    // y and the output (TFLite does not requantize here either).
    elem_size_ = static_cast<int>(size);

    char s1[96], s2[96], s3[96];
    std::vector<int32_t> out_dims;
    std::vector<int32_t> cond_dims = c->dims;
    if (V2) {
      std::vector<int32_t> xy;
      TFC_ENSURE_MSG(ctx, BroadcastShapes(x->dims, y->dims, &xy) &&
                              BroadcastShapes(c->dims, xy, &out_dims),
                     "shapes %s, %s and %s are not broadcastable",
                     ShapeString(c->dims, s1, sizeof s1), ShapeString(x->dims, s2, sizeof s2),
                     ShapeString(y->dims, s3, sizeof s3));
    } else {
      TFC_ENSURE_MSG(ctx, x->dims == y->dims, "x %s and y %s must have the same shape",
                     ShapeString(x->dims, s2, sizeof s2), ShapeString(y->dims, s3, sizeof s3));
      out_dims = x->dims;
      if (c->dims != x->dims) {
        const bool scalar = c->rank() == 0;
        const bool rows = c->rank() == 1 && x->rank() >= 1 && c->dim(0) == x->dim(0);
        TFC_ENSURE_MSG(ctx, scalar || rows,
                       "condition %s must match x %s, be a scalar, or be rank 1 of size %d",
                       ShapeString(c->dims, s1, sizeof s1), ShapeString(x->dims, s2, sizeof s2),
                       x->rank() >= 1 ? x->dim(0) : 1);
        if (rows) cond_dims.resize(x->dims.size(), 1);  // [N] -> [N,1,...,1]
      }
    }
    int64_t n = 0;
    TFC_ENSURE_MSG(ctx, ew::CheckedNumElements(out_dims, &n), "bad output shape %s",
                   ShapeString(out_dims, s1, sizeof s1));
    TFC_ENSURE_MSG(ctx, plan_.Init({&cond_dims, &x->dims, &y->dims}, out_dims),
                   "broadcasting needs more than %d dimensions", kMaxBroadcastDims);
    return ctx.ResizeOutput(0, out_dims);
  }

  TfLiteStatus Eval(OpContext& ctx) override {
    switch (elem_size_) {
      case 1: Run<uint8_t>(ctx); break;
      case 2: Run<uint16_t>(ctx); break;
      case 4: Run<uint32_t>(ctx); break;
      case 8: Run<uint64_t>(ctx); break;
      default: return ctx.Error("bad element size %d", elem_size_);
    }
    return kTfLiteOk;
  }

 private:
  template <class T>
  void Run(OpContext& ctx) {
    const uint8_t* pc = ctx.input(0)->data_as<const uint8_t>();
    const T* px = ctx.input(1)->data_as<const T>();
    const T* py = ctx.input(2)->data_as<const T>();
    T* po = ctx.output(0)->data_as<T>();
    const int64_t sc = plan_.inner_stride(0), sx = plan_.inner_stride(1),
                  sy = plan_.inner_stride(2);
    const BroadcastPlan<3>& plan = plan_;
    auto body = [&](int64_t begin, int64_t end) {
      ForEachRow(plan, begin, end, [&](int64_t o, const int64_t* in, int64_t n) {
        SelectRow<T>(pc + in[0], sc, px + in[1], sx, py + in[2], sy, po + o, n);
      });
    };
    ew::ParallelElements(ctx, plan_.size, ew::kParallelMinElements, body);
  }

  BroadcastPlan<3> plan_;
  int elem_size_ = 0;
};

using Select = SelectKernel<false>;
using SelectV2 = SelectKernel<true>;

}  // namespace

TFC_REGISTER_OP(SELECT, 1, 4, Select);
TFC_REGISTER_OP(SELECT_V2, 1, 2, SelectV2);

}  // namespace tfc
