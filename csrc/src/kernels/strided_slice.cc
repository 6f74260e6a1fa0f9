// STRIDED_SLICE: inputs (input, begin, end, strides) with begin/end/ellipsis/
// new_axis/shrink_axis masks and the `offset` option (end counts from begin).
// Semantics follow TensorFlow's sparse-to-dense spec expansion, with
// TensorFlow Lite's rules where they differ: begin_mask also applies to a
// shrunk axis, several ellipsis bits are expanded one after the other, and
// new_axis wins over shrink_axis. Out-of-range shrink indices are errors.
// Byte copies for every type; non-constant begin/end/strides make the output
// dynamic.
#include <cstring>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/util/index_util.h"

namespace tfc {
namespace {

constexpr int64_t kIndexLimit = int64_t(1) << 40;

int64_t ClampIndex(int64_t v) { return v < -kIndexLimit ? -kIndexLimit : v > kIndexLimit ? kIndexLimit : v; }

class StridedSlice final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override {
    TFC_ENSURE_MSG(ctx, ctx.num_inputs() == 4 && ctx.num_outputs() == 1,
                   "expects 4 inputs and 1 output");
    const TfLiteTensor* in = ctx.input(0);
    TfLiteTensor* out = ctx.output(0);
    TFC_ENSURE(ctx, in != nullptr && out != nullptr);
    TFC_OK(dm::CheckMovable(ctx, in, out));
    TFC_ENSURE_MSG(ctx, in->rank() <= dm::kMaxRank, "rank %d is above the supported %d",
                   in->rank(), dm::kMaxRank);
    TFC_OK(dm::CheckIndexType(ctx, ctx.input(1), "begin"));
    TFC_OK(dm::CheckIndexType(ctx, ctx.input(2), "end"));
    TFC_OK(dm::CheckIndexType(ctx, ctx.input(3), "strides"));
    const auto* o = ctx.options<fb::StridedSliceOptions>();
    begin_mask_ = o ? static_cast<uint32_t>(o->begin_mask()) : 0;
    end_mask_ = o ? static_cast<uint32_t>(o->end_mask()) : 0;
    ellipsis_mask_ = o ? static_cast<uint32_t>(o->ellipsis_mask()) : 0;
    new_axis_mask_ = o ? static_cast<uint32_t>(o->new_axis_mask()) : 0;
    shrink_mask_ = o ? static_cast<uint32_t>(o->shrink_axis_mask()) : 0;
    offset_ = o ? o->offset() : false;
    dims_.reserve(static_cast<size_t>(in->rank() + ctx.input(1)->num_elements()));
    dynamic_ = !ctx.input(1)->is_constant() || !ctx.input(2)->is_constant() ||
               !ctx.input(3)->is_constant();
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
    int64_t in_dims[dm::kMaxRank], in_stride[dm::kMaxRank], src_stride[dm::kMaxRank],
        out_stride[dm::kMaxRank];
    for (int d = 0; d < rank; ++d) in_dims[d] = in->dim(d);
    dm::ContiguousStrides(in_dims, rank, in_stride);
    dm::ContiguousStrides(count_, rank, out_stride);
    int64_t offset = 0;
    for (int d = 0; d < rank; ++d) {
      if (count_[d] == 0) return kTfLiteOk;
      offset += start_[d] * in_stride[d];
      src_stride[d] = step_[d] * in_stride[d];
    }
    if (out->num_elements() == 0) return kTfLiteOk;
    dm::CopyBox(static_cast<const uint8_t*>(in->data) + offset * static_cast<int64_t>(esize),
                out->data, rank, count_, src_stride, out_stride, esize);
    return kTfLiteOk;
  }

 private:
  TfLiteStatus Plan(OpContext& ctx) {
    const TfLiteTensor* in = ctx.input(0);
    const TfLiteTensor* tb = ctx.input(1);
    const TfLiteTensor* te = ctx.input(2);
    const TfLiteTensor* ts = ctx.input(3);
    TFC_OK(dm::CheckIndexTensor(ctx, tb, "begin"));
    TFC_OK(dm::CheckIndexTensor(ctx, te, "end"));
    TFC_OK(dm::CheckIndexTensor(ctx, ts, "strides"));
    const int64_t n = tb->num_elements();
    TFC_ENSURE_MSG(ctx, te->num_elements() == n && ts->num_elements() == n,
                   "begin, end and strides have %lld, %lld and %lld entries",
                   static_cast<long long>(n), static_cast<long long>(te->num_elements()),
                   static_cast<long long>(ts->num_elements()));
    TFC_ENSURE_MSG(ctx, n <= 32, "%lld slice entries; the masks cover at most 32",
                   static_cast<long long>(n));
    TFC_ENSURE_MSG(ctx, static_cast<size_t>(n) + static_cast<size_t>(in->rank()) <= dims_.capacity(),
                   "the slice specification changed size after Prepare");
    const int rank = in->rank();
    // Dense spec: which sparse entry (or -1: whole dimension) each input dim takes.
    int spec_of[dm::kMaxRank];
    dims_.clear();
    // Output shape codes: >= 0 an input dim, -1 a new axis.
    int codes[dm::kMaxRank + 32];
    int ncodes = 0;
    int di = 0;
    for (int i = 0; i < n; ++i) {
      const uint32_t bit = 1u << i;
      if (ellipsis_mask_ & bit) {
        int new_after = 0;
        for (int j = i + 1; j < n; ++j) new_after += (new_axis_mask_ >> j) & 1u;
        const int64_t next64 = rank - (n - i) + 1 + new_after;
        const int next = next64 < rank ? static_cast<int>(next64) : rank;
        for (; di < next; ++di) {
          spec_of[di] = -1;
          codes[ncodes++] = di;
        }
      } else if (new_axis_mask_ & bit) {
        codes[ncodes++] = -1;
      } else {
        TFC_ENSURE_MSG(ctx, di < rank, "the slice has more dimensions than the input's %d", rank);
        spec_of[di] = i;
        if (!(shrink_mask_ & bit)) codes[ncodes++] = di;
        ++di;
      }
    }
    for (; di < rank; ++di) {
      spec_of[di] = -1;
      codes[ncodes++] = di;
    }

    for (int d = 0; d < rank; ++d) {
      const int64_t dim = in->dim(d);
      const int i = spec_of[d];
      if (i < 0) {
        start_[d] = 0;
        step_[d] = 1;
        count_[d] = dim;
        continue;
      }
      const uint32_t bit = 1u << i;
      const int64_t st = dm::IntAt(ts, i);
      TFC_ENSURE_MSG(ctx, st != 0, "strides[%d] is 0", i);
      TFC_ENSURE_MSG(ctx, st >= -INT32_MAX && st <= INT32_MAX, "strides[%d] is out of range", i);
      const int64_t lo = st > 0 ? 0 : -1;
      const int64_t hi = st > 0 ? dim : dim - 1;
      auto clamp = [lo, hi](int64_t v) { return v < lo ? lo : v > hi ? hi : v; };
      const int64_t b = ClampIndex(dm::IntAt(tb, i));
      const int64_t e = ClampIndex(dm::IntAt(te, i));
      if (shrink_mask_ & bit) {
        TFC_ENSURE_MSG(ctx, st > 0, "shrink_axis entry %d needs a positive stride", i);
        int64_t s = 0;
        if (!(begin_mask_ & bit)) s = b < 0 ? b + dim : b;
        TFC_ENSURE_MSG(ctx, s >= 0 && s < dim, "index %lld is out of range for dimension %d of size %lld",
                       static_cast<long long>(b), d, static_cast<long long>(dim));
        start_[d] = s;
        step_[d] = 1;
        count_[d] = 1;
        continue;
      }
      int64_t start;
      if (begin_mask_ & bit) {
        start = st > 0 ? 0 : dim - 1;
      } else {
        start = clamp(b < 0 ? b + dim : b);
      }
      int64_t stop;
      if (end_mask_ & bit) {
        stop = st > 0 ? dim : -1;
      } else if (offset_) {
        stop = clamp(start + e);
      } else {
        stop = clamp(e < 0 ? e + dim : e);
      }
      const int64_t interval = stop - start;
      int64_t count = 0;
      if (interval != 0 && (interval < 0) == (st < 0)) {
        count = st > 0 ? (interval + st - 1) / st : (interval + st + 1) / st;
      }
      start_[d] = start;
      step_[d] = st;
      count_[d] = count;
    }
    for (int c = 0; c < ncodes; ++c)
      dims_.push_back(codes[c] < 0 ? 1 : static_cast<int32_t>(count_[codes[c]]));
    return kTfLiteOk;
  }

  uint32_t begin_mask_ = 0, end_mask_ = 0, ellipsis_mask_ = 0, new_axis_mask_ = 0, shrink_mask_ = 0;
  bool offset_ = false;
  bool dynamic_ = false;
  int64_t start_[dm::kMaxRank] = {};
  int64_t step_[dm::kMaxRank] = {};
  int64_t count_[dm::kMaxRank] = {};
  std::vector<int32_t> dims_;
};

}  // namespace

TFC_REGISTER_OP(STRIDED_SLICE, 1, 8, StridedSlice);

}  // namespace tfc
