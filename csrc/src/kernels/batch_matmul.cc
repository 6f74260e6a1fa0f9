// BATCH_MATMUL, float32.
//
// lhs [..., M, K] (or [..., K, M] with adj_x), rhs [..., K, N] (or [..., N, K]
// with adj_y), ranks 2..5; the batch dimensions broadcast like NumPy. Output
// [broadcast batch..., M, N]. Each rhs batch is packed as a GEMM B operand
// (once in Prepare when rhs is constant, else per Invoke into scratch); an
// adjoint lhs is transposed into scratch so its rows are contiguous.
#include <algorithm>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/util/activation.h"
#include "kernels/util/conv_util.h"
#include "kernels/util/gemm.h"

namespace tfc {
namespace {

constexpr int kMaxRank = 5;

class BatchMatMul final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override;
  TfLiteStatus Eval(OpContext& ctx) override;

 private:
  void PackRhs(const float* rhs, float* dst) const;

  size_t m_ = 0, k_ = 0, n_ = 0;
  bool adj_x_ = false, adj_y_ = false;
  size_t lhs_batches_ = 0, rhs_batches_ = 0;
  std::vector<size_t> lhs_index_, rhs_index_;  // per output batch
  bool rhs_packed_ = false;
  AlignedBuffer packed_;
  int scratch_rhs_ = -1;
  int scratch_lhs_ = -1;
};

TfLiteStatus BatchMatMul::Prepare(OpContext& ctx) {
  TFC_ENSURE_MSG(ctx, ctx.num_inputs() == 2, "expected 2 inputs, got %d", ctx.num_inputs());
  TFC_ENSURE_MSG(ctx, ctx.num_outputs() == 1, "expected 1 output, got %d", ctx.num_outputs());
  const TfLiteTensor* lhs = ctx.input(0);
  const TfLiteTensor* rhs = ctx.input(1);
  TfLiteTensor* output = ctx.output(0);
  TFC_ENSURE_MSG(ctx, lhs && rhs && output, "missing input or output tensor");
  if (lhs->type == kTfLiteInt8 || lhs->type == kTfLiteInt16 || lhs->type == kTfLiteUInt8 ||
      rhs->type == kTfLiteInt8)
    return ctx.ErrorStatus(kTfLiteUnresolvedOps, "%s/%s inputs are not supported yet",
                           TypeName(lhs->type), TypeName(rhs->type));
  TFC_ENSURE_TYPE(ctx, lhs, kTfLiteFloat32);
  TFC_ENSURE_TYPE(ctx, rhs, kTfLiteFloat32);
  TFC_ENSURE_TYPE(ctx, output, kTfLiteFloat32);
  const int lr = lhs->rank(), rr = rhs->rank();
  TFC_ENSURE_MSG(ctx, lr >= 2 && lr <= kMaxRank && rr >= 2 && rr <= kMaxRank,
                 "ranks must be 2..%d (got %d and %d)", kMaxRank, lr, rr);
  const auto* opt = ctx.options<fb::BatchMatMulOptions>();
  adj_x_ = opt && opt->adj_x();
  adj_y_ = opt && opt->adj_y();

  const int32_t lrows = lhs->dim(lr - 2), lcols = lhs->dim(lr - 1);
  const int32_t rrows = rhs->dim(rr - 2), rcols = rhs->dim(rr - 1);
  const int32_t m = adj_x_ ? lcols : lrows;
  const int32_t k = adj_x_ ? lrows : lcols;
  const int32_t k2 = adj_y_ ? rcols : rrows;
  const int32_t n = adj_y_ ? rrows : rcols;
  TFC_ENSURE_MSG(ctx, k == k2, "inner dimensions differ: lhs %d, rhs %d", k, k2);
  TFC_ENSURE_MSG(ctx, m >= 0 && k >= 0 && n >= 0, "bad shapes");

  // Broadcast the batch dimensions (aligned from the right).
  const int out_rank = std::max(lr, rr);
  const int nb = out_rank - 2;
  std::vector<int32_t> out_dims(static_cast<size_t>(out_rank));
  int32_t ldim[kMaxRank], rdim[kMaxRank], odim[kMaxRank];
  for (int i = 0; i < nb; ++i) {
    const int li = i - (out_rank - lr), ri = i - (out_rank - rr);
    ldim[i] = li >= 0 ? lhs->dim(li) : 1;
    rdim[i] = ri >= 0 ? rhs->dim(ri) : 1;
    TFC_ENSURE_MSG(ctx, ldim[i] == rdim[i] || ldim[i] == 1 || rdim[i] == 1,
                   "batch dimensions %d and %d do not broadcast", ldim[i], rdim[i]);
    odim[i] = (ldim[i] == 1) ? rdim[i] : ldim[i];
    out_dims[static_cast<size_t>(i)] = odim[i];
  }
  out_dims[static_cast<size_t>(nb)] = m;
  out_dims[static_cast<size_t>(nb) + 1] = n;
  int64_t ob = 1, lb = 1, rb = 1;
  for (int i = 0; i < nb; ++i) {
    TFC_ENSURE_MSG(ctx, CheckedMul(ob, odim[i], &ob) && CheckedMul(lb, ldim[i], &lb) &&
                            CheckedMul(rb, rdim[i], &rb),
                   "too many batches");
  }
  int64_t tmp = 0, outn = 0;
  TFC_ENSURE_MSG(ctx, CheckedMul(ob, m, &tmp) && CheckedMul(tmp, n, &outn, int64_t{1} << 40),
                 "output too large");
  m_ = static_cast<size_t>(m);
  k_ = static_cast<size_t>(k);
  n_ = static_cast<size_t>(n);
  lhs_batches_ = static_cast<size_t>(lb);
  rhs_batches_ = static_cast<size_t>(rb);
  lhs_index_.assign(static_cast<size_t>(ob), 0);
  rhs_index_.assign(static_cast<size_t>(ob), 0);
  for (int64_t b = 0; b < ob; ++b) {
    int64_t rem = b, li = 0, ri = 0, lstride = 1, rstride = 1;
    for (int i = nb - 1; i >= 0; --i) {
      const int64_t coord = rem % odim[i];
      rem /= odim[i];
      if (ldim[i] != 1) li += coord * lstride;
      if (rdim[i] != 1) ri += coord * rstride;
      lstride *= ldim[i];
      rstride *= rdim[i];
    }
    lhs_index_[static_cast<size_t>(b)] = static_cast<size_t>(li);
    rhs_index_[static_cast<size_t>(b)] = static_cast<size_t>(ri);
  }

  const size_t packed_floats = gemm::PackedSize(k_, n_) * rhs_batches_;
  scratch_rhs_ = scratch_lhs_ = -1;
  rhs_packed_ = rhs->is_constant();
  if (rhs_packed_) {
    if (!packed_.Reserve(packed_floats * sizeof(float))) return ctx.Error("out of memory");
    PackRhs(rhs->data_as<float>(), static_cast<float*>(packed_.data()));
  } else {
    packed_.Release();
    scratch_rhs_ = ctx.RequestScratch(packed_floats * sizeof(float));
  }
  if (adj_x_) scratch_lhs_ = ctx.RequestScratch(lhs_batches_ * m_ * k_ * sizeof(float));
  return ctx.ResizeOutput(0, out_dims);
}

void BatchMatMul::PackRhs(const float* rhs, float* dst) const {
  const size_t per = gemm::PackedSize(k_, n_);
  for (size_t b = 0; b < rhs_batches_; ++b) {
    const float* src = rhs + b * k_ * n_;
    if (adj_y_)  // [N, K]
      gemm::PackBStrided(k_, n_, src, 1, k_, nullptr, dst + b * per);
    else  // [K, N]
      gemm::PackBStrided(k_, n_, src, n_, 1, nullptr, dst + b * per);
  }
}

TfLiteStatus BatchMatMul::Eval(OpContext& ctx) {
  const TfLiteTensor* lhs = ctx.input(0);
  const TfLiteTensor* rhs = ctx.input(1);
  TfLiteTensor* output = ctx.output(0);
  const size_t batches = lhs_index_.size();
  float* out = output->data_as<float>();
  if (batches == 0 || m_ == 0 || n_ == 0) return kTfLiteOk;
  if (k_ == 0) {
    std::fill(out, out + batches * m_ * n_, 0.f);
    return kTfLiteOk;
  }
  const float* packed;
  if (rhs_packed_) {
    packed = static_cast<const float*>(packed_.data());
  } else {
    float* dst = static_cast<float*>(ctx.Scratch(scratch_rhs_));
    PackRhs(rhs->data_as<float>(), dst);
    packed = dst;
  }
  const float* a = lhs->data_as<float>();
  if (adj_x_) {  // [K, M] -> [M, K] per lhs batch
    float* t = static_cast<float*>(ctx.Scratch(scratch_lhs_));
    for (size_t b = 0; b < lhs_batches_; ++b) {
      const float* src = a + b * m_ * k_;
      float* d = t + b * m_ * k_;
      for (size_t kk = 0; kk < k_; ++kk)
        for (size_t i = 0; i < m_; ++i) d[i * k_ + kk] = src[kk * m_ + i];
    }
    a = t;
  }
  const size_t per = gemm::PackedSize(k_, n_);
  const size_t panels = gemm::NumPanels(n_);
  auto view = [&](size_t rb) {
    gemm::PackedB v;
    v.k = k_;
    v.n = n_;
    v.panels = panels;
    v.bias = packed + rb * per;
    v.data = v.bias + panels * gemm::kNR;
    return v;
  };
  const FloatRange none;
  const size_t k = k_;
  ThreadPool& pool = ctx.pool();
  const double batch_macs = static_cast<double>(m_) * n_ * k_;
  auto run_batch = [&](size_t b, bool parallel) {
    const float* lb = a + lhs_index_[b] * m_ * k_;
    auto row = [lb, k](size_t i) { return lb + i * k; };
    const gemm::PackedB v = view(rhs_index_[b]);
    float* c = out + b * m_ * n_;
    if (parallel)
      gemm::Gemm(pool, v, m_, row, c, n_, none);
    else
      gemm::GemmRange(v, row, 0, m_, 0, v.panels, c, n_, none);
  };
  if (batch_macs >= gemm::kMinParallelMacs || batches == 1) {
    for (size_t b = 0; b < batches; ++b) run_batch(b, true);
  } else if (batch_macs * static_cast<double>(batches) >= gemm::kMinParallelMacs) {
    pool.ParallelFor(static_cast<int64_t>(batches), 1, [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) run_batch(static_cast<size_t>(b), false);
    });
  } else {
    for (size_t b = 0; b < batches; ++b) run_batch(b, false);
  }
  return kTfLiteOk;
}

}  // namespace

TFC_REGISTER_OP(BATCH_MATMUL, 1, 4, BatchMatMul);

}  // namespace tfc
