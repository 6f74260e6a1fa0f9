// TRANSPOSE: out.dim(i) = in.dim(perm[i]), up to rank 8. Byte copies for
// every type; dims that stay adjacent are merged so that unchanged inner
// blocks move with memcpy. A non-constant perm makes the output dynamic.
#include <cstring>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/util/index_util.h"

namespace tfc {
namespace {

// `outer` 2-D transposes of a rows x cols matrix of ES-byte elements, in
// tiles so that both sides stay in cache.
template <size_t ES>
void Transpose2D(const uint8_t* src, uint8_t* dst, int64_t rows, int64_t cols, int64_t outer) {
  constexpr int64_t kTile = 32;
  const size_t mat = static_cast<size_t>(rows * cols) * ES;
  for (int64_t m = 0; m < outer; ++m) {
    const uint8_t* s = src + m * mat;
    uint8_t* d = dst + m * mat;
    for (int64_t r0 = 0; r0 < rows; r0 += kTile) {
      const int64_t r1 = r0 + kTile < rows ? r0 + kTile : rows;
      for (int64_t c0 = 0; c0 < cols; c0 += kTile) {
        const int64_t c1 = c0 + kTile < cols ? c0 + kTile : cols;
        for (int64_t c = c0; c < c1; ++c)
          for (int64_t r = r0; r < r1; ++r)
            std::memcpy(d + (c * rows + r) * ES, s + (r * cols + c) * ES, ES);
      }
    }
  }
}

class Transpose final : public OpKernel {
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
    TFC_OK(dm::CheckIndexType(ctx, ctx.input(1), "perm"));
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
    const size_t esize = TypeSize(in->type);
    const int rank = in->rank();
    // Drop size-1 dims and merge input dims that stay adjacent in the output.
    int64_t idims[dm::kMaxRank];
    for (int d = 0; d < rank; ++d) idims[d] = in->dim(d);
    int p[dm::kMaxRank];
    int np = 0;
    for (int i = 0; i < rank; ++i)
      if (idims[perm_[i]] != 1) p[np++] = perm_[i];
    // Group runs p[i], p[i]+1, ... into one dim.
    int64_t gsize[dm::kMaxRank];
    int gfirst[dm::kMaxRank];
    int ng = 0;
    for (int i = 0; i < np;) {
      int j = i + 1;
      int64_t size = idims[p[i]];
      while (j < np && p[j] == p[j - 1] + 1) {
        size *= idims[p[j]];
        ++j;
      }
      gfirst[ng] = p[i];
      gsize[ng] = size;
      ++ng;
      i = j;
    }
    // Order of the groups in the input.
    int order[dm::kMaxRank];
    for (int g = 0; g < ng; ++g) order[g] = g;
    for (int a = 1; a < ng; ++a)
      for (int b = a; b > 0 && gfirst[order[b]] < gfirst[order[b - 1]]; --b) {
        const int t = order[b];
        order[b] = order[b - 1];
        order[b - 1] = t;
      }
    int64_t in_stride_of_group[dm::kMaxRank];
    int64_t s = 1;
    for (int k = ng - 1; k >= 0; --k) {
      in_stride_of_group[order[k]] = s;
      s *= gsize[order[k]];
    }
    const uint8_t* src = static_cast<const uint8_t*>(in->data);
    uint8_t* dst = static_cast<uint8_t*>(out->data);
    const size_t total = static_cast<size_t>(out->num_elements()) * esize;
    if (ng <= 1) {
      std::memcpy(dst, src, total);
      return kTfLiteOk;
    }
    // [outer, R, C] -> [outer, C, R] with small element sizes: tiled.
    const bool swap_last_two = ng >= 2 && order[ng - 1] == ng - 2 && order[ng - 2] == ng - 1;
    bool outer_in_order = true;
    for (int g = 0; g < ng - 2; ++g) outer_in_order &= order[g] == g;
    if (swap_last_two && outer_in_order && (esize == 1 || esize == 2 || esize == 4 || esize == 8)) {
      int64_t outer = 1;
      for (int g = 0; g < ng - 2; ++g) outer *= gsize[g];
      const int64_t rows = gsize[ng - 1], cols = gsize[ng - 2];
      switch (esize) {
        case 1: Transpose2D<1>(src, dst, rows, cols, outer); break;
        case 2: Transpose2D<2>(src, dst, rows, cols, outer); break;
        case 4: Transpose2D<4>(src, dst, rows, cols, outer); break;
        default: Transpose2D<8>(src, dst, rows, cols, outer); break;
      }
      return kTfLiteOk;
    }
    int64_t dst_stride[dm::kMaxRank];
    dm::ContiguousStrides(gsize, ng, dst_stride);
    dm::CopyBox(src, dst, ng, gsize, in_stride_of_group, dst_stride, esize);
    return kTfLiteOk;
  }

 private:
  TfLiteStatus Plan(OpContext& ctx) {
    const TfLiteTensor* in = ctx.input(0);
    const TfLiteTensor* perm = ctx.input(1);
    TFC_OK(dm::CheckIndexTensor(ctx, perm, "perm"));
    const int rank = in->rank();
    TFC_ENSURE_MSG(ctx, perm->num_elements() == rank, "perm has %lld entries for rank %d",
                   static_cast<long long>(perm->num_elements()), rank);
    bool seen[dm::kMaxRank] = {};
    dims_.clear();
    for (int i = 0; i < rank; ++i) {
      const int64_t v = dm::IntAt(perm, i);
      TFC_ENSURE_MSG(ctx, v >= 0 && v < rank && !seen[v], "perm is not a permutation of 0..%d",
                     rank - 1);
      seen[v] = true;
      perm_[i] = static_cast<int>(v);
      dims_.push_back(in->dim(perm_[i]));
    }
    return kTfLiteOk;
  }

  int perm_[dm::kMaxRank] = {};
  std::vector<int32_t> dims_;
};

}  // namespace

TFC_REGISTER_OP(TRANSPOSE, 1, 6, Transpose);

}  // namespace tfc
