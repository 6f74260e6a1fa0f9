// SPLIT_V: inputs (value, size_splits, axis). Cuts `value` along the axis into
// parts of the given sizes; one size may be -1 (the rest). Non-constant sizes
// or axis make all outputs dynamic.
#include <cstring>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/util/index_util.h"

namespace tfc {
namespace {

class SplitV final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override {
    const int n = ctx.num_outputs();
    TFC_ENSURE_MSG(ctx, ctx.num_inputs() == 3 && n >= 1, "expects 3 inputs and at least 1 output");
    const TfLiteTensor* in = ctx.input(0);
    const TfLiteTensor* sizes = ctx.input(1);
    const TfLiteTensor* axis = ctx.input(2);
    TFC_ENSURE(ctx, in != nullptr);
    const auto* opts = ctx.options<fb::SplitVOptions>();
    if (opts != nullptr)
      TFC_ENSURE_MSG(ctx, opts->num_splits() == n, "num_splits is %d but the op has %d outputs",
                     opts->num_splits(), n);
    for (int i = 0; i < n; ++i) {
      TFC_ENSURE_MSG(ctx, ctx.output(i) != nullptr, "output %d is missing", i);
      TFC_OK(dm::CheckMovable(ctx, in, ctx.output(i)));
    }
    TFC_OK(dm::CheckIndexType(ctx, sizes, "size_splits"));
    TFC_OK(dm::CheckIndexType(ctx, axis, "axis"));
    TFC_ENSURE_MSG(ctx, sizes->num_elements() == n, "size_splits has %lld entries for %d outputs",
                   static_cast<long long>(sizes->num_elements()), n);
    sizes_.assign(static_cast<size_t>(n), 0);
    dims_.reserve(static_cast<size_t>(in->rank()));
    if (!sizes->is_constant() || !axis->is_constant()) {
      for (int i = 0; i < n; ++i) ctx.MarkOutputDynamic(i);
      return kTfLiteOk;
    }
    return ResizeAll(ctx);
  }

  TfLiteStatus Eval(OpContext& ctx) override {
    if (!ctx.input(1)->is_constant() || !ctx.input(2)->is_constant()) TFC_OK(ResizeAll(ctx));
    const int n = ctx.num_outputs();
    const TfLiteTensor* in = ctx.input(0);
    const size_t esize = TypeSize(in->type);
    int64_t outer = 1;
    for (int d = 0; d < axis_; ++d) outer *= in->dim(d);
    int64_t inner = 1;
    for (int d = axis_ + 1; d < in->rank(); ++d) inner *= in->dim(d);
    const size_t unit = static_cast<size_t>(inner) * esize;
    const size_t in_row = static_cast<size_t>(in->dim(axis_)) * unit;
    size_t offset = 0;
    for (int i = 0; i < n; ++i) {
      const size_t row = static_cast<size_t>(sizes_[static_cast<size_t>(i)]) * unit;
      if (row > 0) {
        uint8_t* dst = static_cast<uint8_t*>(ctx.output(i)->data);
        const uint8_t* src = static_cast<const uint8_t*>(in->data) + offset;
        for (int64_t o = 0; o < outer; ++o) {
          std::memcpy(dst, src, row);
          dst += row;
          src += in_row;
        }
      }
      offset += row;
    }
    return kTfLiteOk;
  }

 private:
  TfLiteStatus ResizeAll(OpContext& ctx) {
    const int n = ctx.num_outputs();
    const TfLiteTensor* in = ctx.input(0);
    const TfLiteTensor* sizes = ctx.input(1);
    TFC_OK(dm::CheckIndexTensor(ctx, sizes, "size_splits"));
    TFC_ENSURE_MSG(ctx, sizes->num_elements() == n, "size_splits has %lld entries for %d outputs",
                   static_cast<long long>(sizes->num_elements()), n);
    int64_t a = 0;
    TFC_OK(dm::ReadScalarIndex(ctx, ctx.input(2), "axis", &a));
    TFC_OK(dm::NormalizeAxis(ctx, a, in->rank(), &axis_));
    const int64_t size = in->dim(axis_);
    int stretch = -1;
    int64_t total = 0;
    for (int i = 0; i < n; ++i) {
      const int64_t s = dm::IntAt(sizes, i);
      if (s == -1) {
        TFC_ENSURE_MSG(ctx, stretch < 0, "size_splits has more than one -1");
        stretch = i;
        continue;
      }
      TFC_ENSURE_MSG(ctx, s >= 0 && s <= size, "size_splits[%d] = %lld is invalid for size %lld",
                     i, static_cast<long long>(s), static_cast<long long>(size));
      total += s;
      sizes_[static_cast<size_t>(i)] = s;
    }
    if (stretch >= 0) {
      TFC_ENSURE_MSG(ctx, total <= size, "size_splits add up to %lld, more than %lld",
                     static_cast<long long>(total), static_cast<long long>(size));
      sizes_[static_cast<size_t>(stretch)] = size - total;
      total = size;
    }
    TFC_ENSURE_MSG(ctx, total == size, "size_splits add up to %lld, the dimension is %lld",
                   static_cast<long long>(total), static_cast<long long>(size));
    dims_.assign(in->dims.begin(), in->dims.end());
    for (int i = 0; i < n; ++i) {
      dims_[static_cast<size_t>(axis_)] = static_cast<int32_t>(sizes_[static_cast<size_t>(i)]);
      TFC_OK(ctx.ResizeOutput(i, dims_));
    }
    return kTfLiteOk;
  }

  int axis_ = 0;
  std::vector<int64_t> sizes_;
  std::vector<int32_t> dims_;
};

}  // namespace

TFC_REGISTER_OP(SPLIT_V, 1, 2, SplitV);

}  // namespace tfc
