// BATCH_MATMUL: float32, full-integer quantized and hybrid.
//
// lhs [..., M, K] (or [..., K, M] with adj_x), rhs [..., K, N] (or [..., N, K]
// with adj_y), ranks 2..5; the batch dimensions broadcast like NumPy. Output
// [broadcast batch..., M, N].
//
// Float: each rhs batch is packed as a GEMM B operand (once in Prepare when
// rhs is constant, else per Invoke into scratch); an adjoint lhs is
// transposed into scratch so its rows are contiguous.
//
// Quantized (as the official kernel, which is the reference one): INT8 x
// INT8 -> INT8 (zero points on both sides, int32 accumulation, TensorFlow
// Lite's double-rounding multiplier) or -> INT32 (raw products, zero points
// ignored as the official kernel does); INT16 x INT16 and INT16 x INT8 ->
// INT16 (zero points 0, int64 accumulation). Hybrid: FLOAT32 lhs x INT8 rhs
// -> FLOAT32, each lhs row quantized on the fly (symmetric, or
// asymmetric with asymmetric_quantize_inputs), per-tensor or per-channel (N)
// rhs scales, with the official kernel's float arithmetic.
//
// The integer products run on rows of lhs against rows of rhs^T
// (util/qmatmul.h): a non-adjoint rhs is transposed to [N, K] (once when
// constant).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/util/activation.h"
#include "kernels/util/conv_util.h"
#include "kernels/util/gemm.h"
#include "kernels/util/qmatmul.h"
#include "kernels/util/quant_math.h"

namespace tfc {
namespace {

constexpr int kMaxRank = 5;

// dst[b][c][r] = src[b][r][c] for `batches` matrices of rows x cols.
template <class T>
void TransposeBatches(const T* src, size_t batches, size_t rows, size_t cols, T* dst) {
  for (size_t b = 0; b < batches; ++b) {
    const T* s = src + b * rows * cols;
    T* d = dst + b * rows * cols;
    for (size_t r = 0; r < rows; ++r)
      for (size_t c = 0; c < cols; ++c) d[c * rows + r] = s[r * cols + c];
  }
}

// Per-tensor (scale, zero point) of a quantized tensor, validated.
TfLiteStatus TensorQuant(OpContext& ctx, const TfLiteTensor* t, int32_t lo, int32_t hi,
                         float* scale, int32_t* zp) {
  const Quantization& q = t->quant;
  if (q.scale.size() != 1)
    return ctx.Error("tensor '%s' needs one quantization scale, has %zu", t->name.c_str(),
                     q.scale.size());
  const float s = q.scale[0];
  if (!(std::isfinite(s) && s > 0.f))
    return ctx.Error("tensor '%s' has scale %g; scales must be positive and finite",
                     t->name.c_str(), static_cast<double>(s));
  const int64_t z = q.zero_point.empty() ? 0 : q.zero_point[0];
  if (z < lo || z > hi)
    return ctx.Error("tensor '%s' has zero point %lld outside the range of %s", t->name.c_str(),
                     static_cast<long long>(z), TypeName(t->type));
  *scale = s;
  *zp = static_cast<int32_t>(z);
  return kTfLiteOk;
}

class BatchMatMul final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override;
  TfLiteStatus Eval(OpContext& ctx) override;
  size_t OwnedBytes() const override {
    return HeapBytes(rows8_, colterm_, packed_w16_, channel_scales_, w_sums_, lhs_index_, rhs_index_,
                     packed_);
  }

 private:
  enum class Mode { kFloat, kInt8, kInt8ToInt32, kInt16, kInt16x8, kHybrid };
  void PackRhs(const float* rhs, float* dst) const;
  TfLiteStatus PrepareQuantized(OpContext& ctx, const TfLiteTensor* lhs, const TfLiteTensor* rhs,
                                const TfLiteTensor* output);
  TfLiteStatus PrepareHybrid(OpContext& ctx, const TfLiteTensor* lhs, const TfLiteTensor* rhs);
  template <class TA, class TW, class TO>
  TfLiteStatus EvalInteger(OpContext& ctx, size_t chunk);
  TfLiteStatus EvalHybrid(OpContext& ctx);
  // rhs as [rhs_batches][N][K] of T: the tensor itself (adj_y) or a transposed copy.
  template <class T>
  const T* RhsRows(OpContext& ctx) const;

  Mode mode_ = Mode::kFloat;
  int32_t lhs_zp_ = 0, rhs_zp_ = 0;
  int32_t multiplier_ = 0;
  int shift_ = 0;
  qmm::Requant rq_;
  bool rhs_rows_const_ = false;    // rows8_ holds the constant rhs^T
  std::vector<int8_t> rows8_;      // constant int8 rhs as [rb][N][K]
  std::vector<int64_t> colterm_;   // constant: per rhs batch and column
  int scratch_rows_ = -1, scratch_colterm_ = -1, scratch_wsums_ = -1;
  // INT8 x INT8 with several rows: the packed GEMM (qmatmul.h)
  bool use_packed_ = false;
  std::vector<int16_t> packed_w16_;  // constant rhs, packed per rhs batch
  int scratch_packed_w_ = -1, scratch_packed_a_ = -1;
  // hybrid
  bool asymmetric_ = false;
  float rhs_scale_ = 1.f;
  std::vector<float> channel_scales_;
  std::vector<int32_t> w_sums_;  // [rb][N]
  int scratch_q_ = -1, scratch_scale_ = -1, scratch_zp_ = -1;

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
  if (lhs->type == kTfLiteFloat32 && rhs->type == kTfLiteFloat32) {
    mode_ = Mode::kFloat;
    TFC_ENSURE_TYPE(ctx, output, kTfLiteFloat32);
  } else if (lhs->type == kTfLiteFloat32 && rhs->type == kTfLiteInt8) {
    mode_ = Mode::kHybrid;
    TFC_ENSURE_TYPE(ctx, output, kTfLiteFloat32);
  } else if (lhs->type == kTfLiteInt8 && rhs->type == kTfLiteInt8 &&
             (output->type == kTfLiteInt8 || output->type == kTfLiteInt32)) {
    mode_ = output->type == kTfLiteInt8 ? Mode::kInt8 : Mode::kInt8ToInt32;
  } else if (lhs->type == kTfLiteInt16 && rhs->type == kTfLiteInt16 &&
             output->type == kTfLiteInt16) {
    mode_ = Mode::kInt16;
  } else if (lhs->type == kTfLiteInt16 && rhs->type == kTfLiteInt8 &&
             output->type == kTfLiteInt16) {
    mode_ = Mode::kInt16x8;
  } else {
    return ctx.ErrorStatus(kTfLiteUnresolvedOps,
                           "lhs %s, rhs %s, output %s: supported are FLOAT32 x FLOAT32, "
                           "FLOAT32 x INT8 (hybrid), INT8 x INT8 -> INT8/INT32, "
                           "INT16 x INT16/INT8 -> INT16",
                           TypeName(lhs->type), TypeName(rhs->type), TypeName(output->type));
  }
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

  if (mode_ != Mode::kFloat) {
    scratch_rhs_ = scratch_lhs_ = -1;
    packed_.Release();
    if (mode_ == Mode::kHybrid)
      TFC_OK(PrepareHybrid(ctx, lhs, rhs));
    else
      TFC_OK(PrepareQuantized(ctx, lhs, rhs, output));
    return ctx.ResizeOutput(0, out_dims);
  }

  const size_t packed_floats = gemm::PackedSize(k_, n_) * rhs_batches_;
  scratch_rhs_ = scratch_lhs_ = -1;
  rhs_packed_ = rhs->is_constant();
  if (rhs_packed_) {
    if (!ctx.ReserveWeights(packed_, packed_floats * sizeof(float))) return ctx.Error("out of memory");
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

TfLiteStatus BatchMatMul::PrepareQuantized(OpContext& ctx, const TfLiteTensor* lhs,
                                           const TfLiteTensor* rhs, const TfLiteTensor* output) {
  const bool wide = mode_ == Mode::kInt16 || mode_ == Mode::kInt16x8;
  const int32_t lhs_lo = wide ? -32768 : -128, lhs_hi = wide ? 32767 : 127;
  const int32_t rhs_lo = mode_ == Mode::kInt16 ? -32768 : -128;
  const int32_t rhs_hi = mode_ == Mode::kInt16 ? 32767 : 127;
  float ls = 0.f, rs = 0.f, os = 1.f;
  int32_t ozp = 0;
  if (mode_ == Mode::kInt8ToInt32) {
    // The official kernel multiplies the raw values (no zero points, no
    // scales): only the inputs' quantization must be readable.
    lhs_zp_ = rhs_zp_ = 0;
  } else {
    TFC_OK(TensorQuant(ctx, lhs, lhs_lo, lhs_hi, &ls, &lhs_zp_));
    TFC_OK(TensorQuant(ctx, rhs, rhs_lo, rhs_hi, &rs, &rhs_zp_));
    TFC_OK(TensorQuant(ctx, output, wide ? -32768 : -128, wide ? 32767 : 127, &os, &ozp));
    if (wide)
      TFC_ENSURE_MSG(ctx, lhs_zp_ == 0 && rhs_zp_ == 0 && ozp == 0,
                     "INT16 operands need zero point 0 (have %d, %d, %d)", lhs_zp_, rhs_zp_, ozp);
    const double real =
        static_cast<double>(ls) * static_cast<double>(rs) / static_cast<double>(os);
    QuantizeMultiplier(real, &multiplier_, &shift_);
    // The 64-bit multiply of the INT16 kernels shifts right by 15 - shift.
    TFC_ENSURE_MSG(ctx, !wide || shift_ <= 14,
                   "lhs scale x rhs scale / output scale = %g is too large (at most 2^14)", real);
  }
  rq_ = qmm::Requant();
  rq_.multiplier = &multiplier_;
  rq_.shift = &shift_;
  rq_.per_channel = false;
  rq_.out_zp = ozp;
  rq_.qmin = wide ? -32768 : -128;
  rq_.qmax = wide ? 32767 : 127;
  rq_.mode = wide ? qmm::Requant::kRef64 : qmm::Requant::kRef32;
  if (mode_ == Mode::kInt8ToInt32) rq_.mode = qmm::Requant::kRaw;

  const size_t per = n_ * k_;
  const size_t wsize = mode_ == Mode::kInt16 ? sizeof(int16_t) : sizeof(int8_t);
  rhs_rows_const_ = false;
  scratch_rows_ = scratch_colterm_ = -1;
  colterm_.assign(rhs_batches_ * n_, 0);
  if (rhs->is_constant() && wsize == 1) {
    rows8_.resize(rhs_batches_ * per);
    if (adj_y_)
      std::memcpy(rows8_.data(), rhs->data, rows8_.size());
    else
      TransposeBatches(rhs->data_as<int8_t>(), rhs_batches_, k_, n_, rows8_.data());
    rhs_rows_const_ = true;
    for (size_t b = 0; b < rhs_batches_; ++b)
      qmm::ColumnTerms(rows8_.data() + b * per, n_, k_, static_cast<const int32_t*>(nullptr),
                       lhs_zp_, rhs_zp_, colterm_.data() + b * n_);
  } else {
    rows8_.clear();
    if (!adj_y_) scratch_rows_ = ctx.RequestScratch(rhs_batches_ * per * wsize + 64);
    scratch_colterm_ = ctx.RequestScratch(rhs_batches_ * n_ * sizeof(int64_t) + 64);
  }
  if (adj_x_) {
    const size_t asize = wide ? sizeof(int16_t) : sizeof(int8_t);
    scratch_lhs_ = ctx.RequestScratch(lhs_batches_ * m_ * k_ * asize + 64);
  }
  use_packed_ = (mode_ == Mode::kInt8 || mode_ == Mode::kInt8ToInt32) &&
                m_ >= qmm::kPackMinRows && k_ <= qmm::ChunkFor(128, 128) &&
                qmm::PackedGemmAvailable();
  scratch_packed_w_ = scratch_packed_a_ = -1;
  packed_w16_.clear();
  if (use_packed_) {
    const size_t pw = qmm::PackedW16Size(n_, k_);
    if (rhs_rows_const_) {
      packed_w16_.resize(rhs_batches_ * pw);
      for (size_t b = 0; b < rhs_batches_; ++b)
        qmm::PackW16(rows8_.data() + b * per, n_, k_, packed_w16_.data() + b * pw);
    } else {
      scratch_packed_w_ = ctx.RequestScratch(rhs_batches_ * pw * sizeof(int16_t) + 64);
    }
    scratch_packed_a_ = ctx.RequestScratch(qmm::PackedA16Size(m_, k_) * sizeof(int32_t) + 64);
  }
  return kTfLiteOk;
}

TfLiteStatus BatchMatMul::PrepareHybrid(OpContext& ctx, const TfLiteTensor* lhs,
                                        const TfLiteTensor* rhs) {
  (void)lhs;
  const auto* opt = ctx.options<fb::BatchMatMulOptions>();
  asymmetric_ = opt && opt->asymmetric_quantize_inputs();
  const Quantization& q = rhs->quant;
  const size_t ns = q.scale.size();
  TFC_ENSURE_MSG(ctx, ns >= 1, "rhs '%s' has no quantization scale", rhs->name.c_str());
  for (size_t c = 0; c < ns; ++c)
    TFC_ENSURE_MSG(ctx, std::isfinite(q.scale[c]) && q.scale[c] > 0.f,
                   "rhs '%s' has scale %g; scales must be positive and finite",
                   rhs->name.c_str(), static_cast<double>(q.scale[c]));
  channel_scales_.clear();
  if (ns > 1) {
    const int rr = rhs->rank();
    const int n_dim = adj_y_ ? rr - 2 : rr - 1;
    TFC_ENSURE_MSG(ctx, q.quantized_dimension == n_dim && ns == n_,
                   "rhs '%s': %zu scales along dimension %d; per-channel scales must run along "
                   "the output columns (dimension %d, %zu of them)",
                   rhs->name.c_str(), ns, q.quantized_dimension, n_dim, n_);
    channel_scales_.assign(q.scale.begin(), q.scale.end());
  } else {
    rhs_scale_ = q.scale[0];
  }
  // rhs^T and its row sums: once here for a constant rhs, else per Eval.
  const size_t per = n_ * k_;
  rhs_rows_const_ = rhs->is_constant();
  scratch_rows_ = scratch_wsums_ = -1;
  if (rhs_rows_const_) {
    rows8_.resize(rhs_batches_ * per);
    if (adj_y_)
      std::memcpy(rows8_.data(), rhs->data, rows8_.size());
    else
      TransposeBatches(rhs->data_as<int8_t>(), rhs_batches_, k_, n_, rows8_.data());
    w_sums_.assign(rhs_batches_ * n_, 0);
    for (size_t b = 0; b < rhs_batches_; ++b)
      qmm::RowSumsHybrid(rows8_.data() + b * per, n_, k_, w_sums_.data() + b * n_);
  } else {
    rows8_.clear();
    w_sums_.clear();
    if (!adj_y_) scratch_rows_ = ctx.RequestScratch(rhs_batches_ * per + 64);
    scratch_wsums_ = ctx.RequestScratch(rhs_batches_ * n_ * sizeof(int32_t) + 64);
  }
  const size_t rows = lhs_batches_ * m_;
  if (adj_x_) scratch_lhs_ = ctx.RequestScratch(rows * k_ * sizeof(float) + 64);
  scratch_q_ = ctx.RequestScratch(rows * k_ + 64);
  scratch_scale_ = ctx.RequestScratch(rows * sizeof(float) + 64);
  scratch_zp_ = ctx.RequestScratch(rows * sizeof(int32_t) + 64);
  return kTfLiteOk;
}

template <class T>
const T* BatchMatMul::RhsRows(OpContext& ctx) const {
  const TfLiteTensor* rhs = ctx.input(1);
  if (adj_y_) return rhs->data_as<T>();
  T* dst = static_cast<T*>(ctx.Scratch(scratch_rows_));
  TransposeBatches(rhs->data_as<T>(), rhs_batches_, k_, n_, dst);
  return dst;
}

template <class TA, class TW, class TO>
TfLiteStatus BatchMatMul::EvalInteger(OpContext& ctx, size_t chunk) {
  const TfLiteTensor* lhs = ctx.input(0);
  TfLiteTensor* output = ctx.output(0);
  const size_t per = n_ * k_;
  const TW* rows;
  const int64_t* colterm;
  if (rhs_rows_const_) {
    rows = reinterpret_cast<const TW*>(rows8_.data());
    colterm = colterm_.data();
  } else {
    rows = RhsRows<TW>(ctx);
    int64_t* ct = static_cast<int64_t*>(ctx.Scratch(scratch_colterm_));
    for (size_t b = 0; b < rhs_batches_; ++b)
      qmm::ColumnTerms(rows + b * per, n_, k_, static_cast<const int32_t*>(nullptr), lhs_zp_,
                       rhs_zp_, ct + b * n_);
    colterm = ct;
  }
  const TA* a = lhs->data_as<TA>();
  if (adj_x_) {
    TA* t = static_cast<TA*>(ctx.Scratch(scratch_lhs_));
    TransposeBatches(a, lhs_batches_, k_, m_, t);
    a = t;
  }
  TO* out = output->data_as<TO>();
  const int16_t* packed_w = nullptr;
  int32_t* packed_a = nullptr;
  const size_t pw = qmm::PackedW16Size(n_, k_);
  if (use_packed_) {
    if (rhs_rows_const_) {
      packed_w = packed_w16_.data();
    } else {
      int16_t* dst = static_cast<int16_t*>(ctx.Scratch(scratch_packed_w_));
      for (size_t b = 0; b < rhs_batches_; ++b)
        qmm::PackW16(reinterpret_cast<const int8_t*>(rows) + b * per, n_, k_, dst + b * pw);
      packed_w = dst;
    }
    packed_a = static_cast<int32_t*>(ctx.Scratch(scratch_packed_a_));
  }
  for (size_t b = 0; b < lhs_index_.size(); ++b) {
    const size_t ri = rhs_index_[b];
    qmm::QuantMatMul(ctx.pool(), a + lhs_index_[b] * m_ * k_, m_, k_, rows + ri * per, n_,
                     rhs_zp_, colterm + ri * n_, rq_, out + b * m_ * n_, n_, chunk,
                     packed_w ? packed_w + ri * pw : nullptr, packed_a);
  }
  return kTfLiteOk;
}

TfLiteStatus BatchMatMul::EvalHybrid(OpContext& ctx) {
  const TfLiteTensor* lhs = ctx.input(0);
  TfLiteTensor* output = ctx.output(0);
  const float* a = lhs->data_as<float>();
  if (adj_x_) {
    float* t = static_cast<float*>(ctx.Scratch(scratch_lhs_));
    TransposeBatches(a, lhs_batches_, k_, m_, t);
    a = t;
  }
  const size_t rows = lhs_batches_ * m_;
  int8_t* q = static_cast<int8_t*>(ctx.Scratch(scratch_q_));
  float* scales = static_cast<float*>(ctx.Scratch(scratch_scale_));
  int32_t* zps = static_cast<int32_t*>(ctx.Scratch(scratch_zp_));
  for (size_t r = 0; r < rows; ++r) {
    if (asymmetric_) {
      qmm::QuantizeAsymmetric(a + r * k_, k_, q + r * k_, &scales[r], &zps[r]);
    } else {
      qmm::QuantizeSymmetric(a + r * k_, k_, q + r * k_, &scales[r]);
      zps[r] = 0;
    }
    if (channel_scales_.empty()) scales[r] *= rhs_scale_;
  }
  // The official kernel: total = int32(float(dot) - float(row_sum) * float(zp)),
  // out = 0 + scale * float(total), scale = row scale x channel scale.
  const size_t per = n_ * k_;
  const int8_t* rows8 = rows8_.data();
  const int32_t* all_sums = w_sums_.data();
  if (!rhs_rows_const_) {
    rows8 = RhsRows<int8_t>(ctx);
    int32_t* ws = static_cast<int32_t*>(ctx.Scratch(scratch_wsums_));
    for (size_t b = 0; b < rhs_batches_; ++b)
      qmm::RowSumsHybrid(rows8 + b * per, n_, k_, ws + b * n_);
    all_sums = ws;
  }
  const float* cs = channel_scales_.empty() ? nullptr : channel_scales_.data();
  float* out = output->data_as<float>();
  const size_t chunk = qmm::ChunkFor(128, 128);
  for (size_t b = 0; b < lhs_index_.size(); ++b) {
    const size_t li = lhs_index_[b], ri = rhs_index_[b];
    const int8_t* w = rows8 + ri * per;
    const int32_t* sums = all_sums + ri * n_;
    qmm::ParallelRowsCols(ctx.pool(), m_, n_, k_, [&](size_t m0, size_t m1, size_t n0, size_t n1) {
      int64_t dots[qmm::kBlockN];
      for (size_t i = m0; i < m1; ++i) {
        const size_t r = li * m_ + i;
        const float zpf = static_cast<float>(zps[r]);
        const float rs = scales[r];
        float* o = out + (b * m_ + i) * n_;
        for (size_t j0 = n0; j0 < n1; j0 += qmm::kBlockN) {
          const size_t j1 = std::min(n1, j0 + qmm::kBlockN);
          qmm::DotBlock(q + r * k_, k_, 1, w, k_, j0, j1, chunk, dots, qmm::kBlockN);
          for (size_t j = j0; j < j1; ++j) {
            const float offset = static_cast<float>(sums[j]) * zpf;
            const float diff = static_cast<float>(WrapToInt32(dots[j - j0])) - offset;
            const int32_t total = SaturatingDoubleToInt32(diff, INT32_MIN, INT32_MAX, 0);
            const float scale = cs ? rs * cs[j] : rs;
            const float prod = scale * static_cast<float>(total);
            o[j] = 0.0f + prod;
          }
        }
      }
    });
  }
  return kTfLiteOk;
}

TfLiteStatus BatchMatMul::Eval(OpContext& ctx) {
  if (mode_ != Mode::kFloat) {
    if (lhs_index_.empty() || m_ == 0 || n_ == 0) return kTfLiteOk;
    switch (mode_) {
      case Mode::kHybrid:
        if (k_ == 0) {
          std::fill(ctx.output(0)->data_as<float>(),
                    ctx.output(0)->data_as<float>() + lhs_index_.size() * m_ * n_, 0.f);
          return kTfLiteOk;
        }
        return EvalHybrid(ctx);
      case Mode::kInt8:
        return EvalInteger<int8_t, int8_t, int8_t>(ctx, qmm::ChunkFor(255, 255));
      case Mode::kInt8ToInt32:
        return EvalInteger<int8_t, int8_t, int32_t>(ctx, qmm::ChunkFor(128, 128));
      case Mode::kInt16:
        return EvalInteger<int16_t, int16_t, int16_t>(ctx, 1);
      case Mode::kInt16x8:
        return EvalInteger<int16_t, int8_t, int16_t>(ctx, qmm::ChunkFor(32768, 128));
      default:
        return kTfLiteOk;
    }
  }
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
