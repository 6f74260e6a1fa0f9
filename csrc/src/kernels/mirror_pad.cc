// MIRROR_PAD: pads by mirroring the input at its borders. REFLECT leaves
// the border element out (padding <= dim - 1), SYMMETRIC repeats it
// (padding <= dim). paddings is an int [rank, 2] tensor. Byte copies for
// every type; a non-constant paddings tensor makes the output dynamic.
#include <cstring>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/util/index_util.h"

namespace tfc {
namespace {

class MirrorPad final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override {
    TFC_ENSURE_MSG(ctx, ctx.num_inputs() == 2 && ctx.num_outputs() == 1,
                   "expects 2 inputs and 1 output");
    const TfLiteTensor* in = ctx.input(0);
    TfLiteTensor* out = ctx.output(0);
    TFC_ENSURE(ctx, in != nullptr && out != nullptr);
    TFC_OK(dm::CheckMovable(ctx, in, out));
    TFC_OK(dm::CheckNoRequant(ctx, in, out));
    TFC_ENSURE_MSG(ctx, in->rank() <= dm::kMaxRank, "rank %d is above the supported %d",
                   in->rank(), dm::kMaxRank);
    TFC_OK(dm::CheckIndexType(ctx, ctx.input(1), "paddings", 2));
    const auto* opts = ctx.options<fb::MirrorPadOptions>();
    const int mode = opts ? static_cast<int>(opts->mode()) : 0;
    TFC_ENSURE_MSG(ctx, mode == fb::MirrorPadMode_REFLECT || mode == fb::MirrorPadMode_SYMMETRIC,
                   "unknown mirror pad mode %d", mode);
    symmetric_ = mode == fb::MirrorPadMode_SYMMETRIC;
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
    esize_ = TypeSize(in->type);
    rank_ = in->rank();
    if (rank_ == 0) {
      std::memcpy(out->data, in->data, esize_);
      return kTfLiteOk;
    }
    int64_t si = 1, so = 1;
    for (int d = rank_ - 1; d >= 0; --d) {
      idim_[d] = in->dim(d);
      istride_[d] = si;
      ostride_[d] = so;
      si *= idim_[d];
      so *= idim_[d] + before_[d] + after_[d];
    }
    Dim(0, static_cast<const uint8_t*>(in->data), static_cast<uint8_t*>(out->data));
    return kTfLiteOk;
  }

 private:
  // Input index that output position j (in [0, before + dim + after)) reads.
  int64_t Source(int d, int64_t j) const {
    const int64_t i = j - before_[d];
    const int64_t n = idim_[d];
    if (i < 0) return symmetric_ ? -i - 1 : -i;
    if (i >= n) return symmetric_ ? 2 * n - 1 - i : 2 * n - 2 - i;
    return i;
  }

  // Writes the output block of dim d at dst from the input block at src.
  void Dim(int d, const uint8_t* src, uint8_t* dst) const {
    const int64_t es = static_cast<int64_t>(esize_);
    const int64_t n = idim_[d], b = before_[d], a = after_[d];
    if (d == rank_ - 1) {
      for (int64_t j = 0; j < b; ++j) std::memcpy(dst + j * es, src + Source(d, j) * es, esize_);
      std::memcpy(dst + b * es, src, static_cast<size_t>(n * es));
      for (int64_t j = b + n; j < b + n + a; ++j)
        std::memcpy(dst + j * es, src + Source(d, j) * es, esize_);
      return;
    }
    const int64_t ib = istride_[d] * es, ob = ostride_[d] * es;
    for (int64_t i = 0; i < n; ++i) Dim(d + 1, src + i * ib, dst + (b + i) * ob);
    // Padding rows are copies of finished output rows.
    for (int64_t j = 0; j < b; ++j)
      std::memcpy(dst + j * ob, dst + (b + Source(d, j)) * ob, static_cast<size_t>(ob));
    for (int64_t j = b + n; j < b + n + a; ++j)
      std::memcpy(dst + j * ob, dst + (b + Source(d, j)) * ob, static_cast<size_t>(ob));
  }

  TfLiteStatus Plan(OpContext& ctx) {
    const TfLiteTensor* in = ctx.input(0);
    const TfLiteTensor* p = ctx.input(1);
    TFC_OK(dm::CheckIndexTensor(ctx, p, "paddings", 2));
    const int rank = in->rank();
    TFC_ENSURE_MSG(ctx, p->rank() == 2 && p->dim(0) == rank && p->dim(1) == 2,
                   "paddings must have shape [%d, 2]", rank);
    int64_t odims[dm::kMaxRank];
    for (int d = 0; d < rank; ++d) {
      const int64_t b = dm::IntAt(p, 2 * d), a = dm::IntAt(p, 2 * d + 1);
      int64_t limit = symmetric_ ? in->dim(d) : in->dim(d) - 1;
      if (limit < 0) limit = 0;
      TFC_ENSURE_MSG(ctx, b >= 0 && a >= 0 && b <= limit && a <= limit,
                     "paddings (%lld, %lld) for dimension %d of size %d must be in [0, %lld] "
                     "in %s mode",
                     static_cast<long long>(b), static_cast<long long>(a), d, in->dim(d),
                     static_cast<long long>(limit < 0 ? 0 : limit),
                     symmetric_ ? "SYMMETRIC" : "REFLECT");
      before_[d] = b;
      after_[d] = a;
      odims[d] = in->dim(d) + b + a;
    }
    int64_t count = 0;
    TFC_ENSURE_MSG(ctx, dm::CountElements(odims, rank, &count), "the output shape is too large");
    dims_.clear();
    for (int d = 0; d < rank; ++d) dims_.push_back(static_cast<int32_t>(odims[d]));
    return kTfLiteOk;
  }

  bool symmetric_ = false;
  size_t esize_ = 1;
  int rank_ = 0;
  int64_t before_[dm::kMaxRank] = {}, after_[dm::kMaxRank] = {};
  int64_t idim_[dm::kMaxRank] = {}, istride_[dm::kMaxRank] = {}, ostride_[dm::kMaxRank] = {};
  std::vector<int32_t> dims_;
};

}  // namespace

TFC_REGISTER_OP(MIRROR_PAD, 1, 3, MirrorPad);

}  // namespace tfc
