// FULLY_CONNECTED: float32, full-integer quantized and hybrid.
//
// Input [..., K] read as [M, K] (M = elements / K), weights [units, K], bias
// [units] (optional), output [M, units], or the input's leading dimensions
// followed by units when keep_num_dims is set.
//
// Float: one GEMM with the weights packed once as B = weights^T
// (gemm::PackB); a batch of one with large weights (gemm::DotRowsFits) reads
// them unpacked instead, a dot product per unit (gemm::DotRows).
//
// Quantized: INT8 input x INT8 weights (per-tensor, or
// per-channel along units) -> INT8; UINT8 x UINT8 (per-tensor, asymmetric
// weights) -> UINT8; INT16 x INT8 ("16x8", INT32 or INT64 bias) -> INT16.
// Integer dot products (util/qmatmul.h), the bias and zero-point terms
// folded per unit at Prepare, the output multiplier per unit rounded as the
// official optimized kernels do (16x8 with an INT64 bias or non-zero zero
// points goes through the official reference kernel, which scales in double).
//
// Hybrid (FLOAT32 input, INT8 weights, FLOAT32 output): each input row is
// quantized to int8 on the fly (symmetric, or asymmetric when
// asymmetric_quantize_inputs is set), multiplied in integers, and scaled back
// by row scale x weight scale (per channel where given), as the official
// optimized hybrid kernel does.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/util/activation.h"
#include "kernels/util/conv_util.h"
#include "kernels/util/gemm.h"
#include "kernels/util/qgemm.h"
#include "kernels/util/qmatmul.h"
#include "kernels/util/quant_math.h"

namespace tfc {
namespace {

bool IsQuantizedType(TfLiteType t) {
  return t == kTfLiteInt8 || t == kTfLiteUInt8 || t == kTfLiteInt16 || t == kTfLiteInt4;
}

bool TypeRange(TfLiteType t, int32_t* lo, int32_t* hi) {
  switch (t) {
    case kTfLiteInt8:
      *lo = -128;
      *hi = 127;
      return true;
    case kTfLiteUInt8:
      *lo = 0;
      *hi = 255;
      return true;
    case kTfLiteInt16:
      *lo = -32768;
      *hi = 32767;
      return true;
    default:
      return false;
  }
}

// Per-tensor (scale, zero point) of a tensor, validated.
TfLiteStatus TensorQuant(OpContext& ctx, const TfLiteTensor* t, float* scale, int32_t* zp) {
  const Quantization& q = t->quant;
  if (q.scale.size() != 1)
    return ctx.Error("tensor '%s' needs one quantization scale, has %zu", t->name.c_str(),
                     q.scale.size());
  const float s = q.scale[0];
  if (!(std::isfinite(s) && s > 0.f))
    return ctx.Error("tensor '%s' has scale %g; scales must be positive and finite",
                     t->name.c_str(), static_cast<double>(s));
  int32_t lo = 0, hi = 0;
  TypeRange(t->type, &lo, &hi);
  const int64_t z = q.zero_point.empty() ? 0 : q.zero_point[0];
  if (z < lo || z > hi)
    return ctx.Error("tensor '%s' has zero point %lld outside the range of %s", t->name.c_str(),
                     static_cast<long long>(z), TypeName(t->type));
  *scale = s;
  *zp = static_cast<int32_t>(z);
  return kTfLiteOk;
}

class FullyConnected final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override;
  TfLiteStatus Eval(OpContext& ctx) override;
  size_t OwnedBytes() const override {
    return HeapBytes(packed_w16_, packed8_, init8_, colterm_, multipliers_, shifts_, real_scales_,
                     channel_scales_, w_sums_, packed_) +
           requant8_.Bytes();
  }

 private:
  enum class Mode { kFloat, kHybrid, kQuant };
  TfLiteStatus PrepareQuantized(OpContext& ctx, const TfLiteTensor* input,
                                const TfLiteTensor* weights, const TfLiteTensor* bias,
                                const TfLiteTensor* output, fb::ActivationFunctionType act);
  TfLiteStatus PrepareHybrid(OpContext& ctx, const TfLiteTensor* input,
                             const TfLiteTensor* weights, const TfLiteTensor* bias,
                             const fb::FullyConnectedOptions* opt);
  TfLiteStatus EvalQuantized(OpContext& ctx);
  void EvalQ8(ThreadPool& pool, const int8_t* in, uint8_t* rows, int8_t* out) const;
  void ComputeColumnTerms(const TfLiteTensor* weights, const TfLiteTensor* bias,
                          int64_t* colterm) const;
  TfLiteStatus EvalHybrid(OpContext& ctx);

  Mode mode_ = Mode::kFloat;
  // quantized
  TfLiteType in_type_ = kTfLiteNoType, w_type_ = kTfLiteNoType, out_type_ = kTfLiteNoType;
  int32_t w_zp_ = 0, in_zp_ = 0;
  TfLiteType bias_type_ = kTfLiteNoType;
  bool runtime_terms_ = false;  // weights or bias computed at run time
  int scratch_colterm_ = -1, scratch_wsums_ = -1;
  // INT8 x INT8 with several rows: the packed GEMM (qmatmul.h)
  bool use_packed_ = false;
  std::vector<int16_t> packed_w16_;  // constant weights, packed
  int scratch_packed_w_ = -1, scratch_packed_a_ = -1;
  std::vector<int64_t> colterm_;
  // INT8 with constant weights and bias on VNNI (q8_, qconv::HasQ8Gemm): the weights
  // packed for the 8-bit GEMM (qconv::Q8GemmRequant), whose rows are the
  // input made unsigned (q + 128); so each unit's sums start from its column
  // term less 128 (qconv::Q8OffsetShift) times its weights' sum (mod 2^32, where the official
  // kernel wraps too). The output stage is kHalfUp's, as a ChannelRequant.
  bool q8_ = false;
  AlignedBuffer packed8_;
  const int8_t* packed8() const { return static_cast<const int8_t*>(packed8_.data()); }
  std::vector<int32_t> init8_;
  qconv::ChannelRequant requant8_;
  int scratch_rows8_ = -1;
  std::vector<int32_t> multipliers_;
  std::vector<int> shifts_;
  std::vector<double> real_scales_;
  qmm::Requant rq_;
  size_t chunk_ = 0;
  // hybrid
  bool asymmetric_ = false;
  float weight_scale_ = 1.f;
  std::vector<float> channel_scales_;
  std::vector<int32_t> w_sums_;
  qmm::SignQuirk quirk_;
  int scratch_q_ = -1, scratch_scale_ = -1, scratch_zp_ = -1;

  size_t m_ = 0, k_ = 0, n_ = 0;
  FloatRange act_;
  bool dot_ = false;  // gemm::DotRowsFits: gemm::DotRows on the weights as stored
  bool weights_packed_ = false;
  bool bias_packed_ = false;
  AlignedBuffer packed_;
  gemm::PackedB pb_;
  int scratch_weights_ = -1;
  int scratch_bias_ = -1;
};

TfLiteStatus FullyConnected::Prepare(OpContext& ctx) {
  TFC_ENSURE_MSG(ctx, ctx.num_inputs() == 2 || ctx.num_inputs() == 3,
                 "expected 2 or 3 inputs, got %d", ctx.num_inputs());
  TFC_ENSURE_MSG(ctx, ctx.num_outputs() == 1, "expected 1 output, got %d", ctx.num_outputs());
  const TfLiteTensor* input = ctx.input(0);
  const TfLiteTensor* weights = ctx.input(1);
  const TfLiteTensor* bias = ctx.input(2);
  TfLiteTensor* output = ctx.output(0);
  TFC_ENSURE_MSG(ctx, input && weights && output, "missing input, weights or output tensor");
  if (IsQuantizedType(input->type)) {
    mode_ = Mode::kQuant;
  } else {
    TFC_ENSURE_TYPE(ctx, input, kTfLiteFloat32);
    if (weights->type == kTfLiteFloat32) {
      mode_ = Mode::kFloat;
    } else if (weights->type == kTfLiteInt8 || weights->type == kTfLiteUInt8) {
      mode_ = Mode::kHybrid;
    } else {
      return ctx.ErrorStatus(kTfLiteUnresolvedOps,
                             "%s weights with FLOAT32 input are not supported",
                             TypeName(weights->type));
    }
    TFC_ENSURE_TYPE(ctx, output, kTfLiteFloat32);
  }
  if (weights->sparsity)
    return ctx.ErrorStatus(kTfLiteUnresolvedOps, "sparse weights are not supported");

  const auto* opt = ctx.options<fb::FullyConnectedOptions>();
  if (opt && opt->weights_format() != fb::FullyConnectedOptionsWeightsFormat_DEFAULT)
    return ctx.ErrorStatus(kTfLiteUnresolvedOps,
                           "weights format %d (shuffled 4x16 uint8 weights) is not supported",
                           static_cast<int>(opt->weights_format()));
  const bool keep_num_dims = opt && opt->keep_num_dims();
  const fb::ActivationFunctionType act_type =
      opt ? opt->fused_activation_function() : fb::ActivationFunctionType_NONE;
  bool act_ok = true;
  act_ = ActivationRange(act_type, &act_ok);
  if (!act_ok)
    return ctx.ErrorStatus(kTfLiteUnresolvedOps, "fused activation %d is not supported",
                           static_cast<int>(act_type));

  TFC_ENSURE_MSG(ctx, weights->rank() == 2, "weights must have rank 2, has %d", weights->rank());
  const int32_t units = weights->dim(0);
  const int32_t k = weights->dim(1);
  TFC_ENSURE_MSG(ctx, units >= 1 && k >= 1, "bad weights shape [%d, %d]", units, k);
  if (bias) {
    if (mode_ != Mode::kQuant) TFC_ENSURE_TYPE(ctx, bias, kTfLiteFloat32);
    TFC_ENSURE_MSG(ctx, bias->num_elements() == units, "bias has %lld elements, expected %d",
                   static_cast<long long>(bias->num_elements()), units);
  }
  TFC_ENSURE_MSG(ctx, input->rank() >= 1, "input must have rank >= 1");
  const int64_t elements = input->num_elements();
  TFC_ENSURE_MSG(ctx, elements % k == 0,
                 "input has %lld elements, not a multiple of the weights' depth %d",
                 static_cast<long long>(elements), k);
  std::vector<int32_t> out_dims;
  if (keep_num_dims) {
    TFC_ENSURE_MSG(ctx, input->dim(input->rank() - 1) == k,
                   "keep_num_dims: input's last dimension %d differs from the weights' depth %d",
                   input->dim(input->rank() - 1), k);
    out_dims = input->dims;
    out_dims.back() = units;
  } else {
    const int64_t batches = elements / k;
    TFC_ENSURE_MSG(ctx, batches <= INT32_MAX, "input too large");
    out_dims = {static_cast<int32_t>(batches), units};
  }
  m_ = static_cast<size_t>(elements / k);
  k_ = static_cast<size_t>(k);
  n_ = static_cast<size_t>(units);
  int64_t outn = 0;
  TFC_ENSURE_MSG(ctx, CheckedMul(static_cast<int64_t>(m_), units, &outn, int64_t{1} << 40),
                 "output too large");

  if (mode_ == Mode::kQuant) {
    TFC_OK(PrepareQuantized(ctx, input, weights, bias, output, act_type));
    return ctx.ResizeOutput(0, out_dims);
  }
  if (mode_ == Mode::kHybrid) {
    TFC_OK(PrepareHybrid(ctx, input, weights, bias, opt));
    return ctx.ResizeOutput(0, out_dims);
  }

  const size_t packed_floats = gemm::PackedSize(k_, n_);
  const bool bias_const = !bias || bias->is_constant();
  dot_ = gemm::DotRowsFits(m_, k_, n_);
  weights_packed_ = weights->is_constant() && !dot_;
  bias_packed_ = weights_packed_ && bias_const;
  scratch_weights_ = scratch_bias_ = -1;
  if (dot_) {  // the weights read where they are
    packed_.Release();
    pb_ = gemm::PackedB();
  } else if (weights_packed_) {
    if (!ctx.ReserveWeights(packed_, packed_floats * sizeof(float))) return ctx.Error("out of memory");
    float* dst = static_cast<float*>(packed_.data());
    pb_ = gemm::PackedBView(k_, n_, dst);
    ctx.PackWeights([k = k_, n = n_, w = weights->data_as<float>(),
                     b = bias_const && bias ? bias->data_as<float>() : nullptr, dst,
                     read = ctx.ReadBehindInput(1)] {
                      gemm::PackBStrided(k, n, w, 1, k, b, dst, read);
                    });
    ctx.ReleaseConstantInput(1);
    if (bias_const) ctx.ReleaseConstantInput(2);
    if (!bias_const)
      scratch_bias_ = ctx.RequestScratch(gemm::NumPanels(n_) * gemm::kNR * sizeof(float));
  } else {
    packed_.Release();
    pb_ = gemm::PackedB();
    scratch_weights_ = ctx.RequestScratch(packed_floats * sizeof(float));
  }
  return ctx.ResizeOutput(0, out_dims);
}

TfLiteStatus FullyConnected::PrepareQuantized(OpContext& ctx, const TfLiteTensor* input,
                                              const TfLiteTensor* weights,
                                              const TfLiteTensor* bias,
                                              const TfLiteTensor* output,
                                              fb::ActivationFunctionType act) {
  in_type_ = input->type;
  w_type_ = weights->type;
  out_type_ = output->type;
  const bool int8 = in_type_ == kTfLiteInt8 && w_type_ == kTfLiteInt8 && out_type_ == kTfLiteInt8;
  const bool uint8 =
      in_type_ == kTfLiteUInt8 && w_type_ == kTfLiteUInt8 && out_type_ == kTfLiteUInt8;
  const bool x16x8 =
      in_type_ == kTfLiteInt16 && w_type_ == kTfLiteInt8 && out_type_ == kTfLiteInt16;
  if (!int8 && !uint8 && !x16x8)
    return ctx.ErrorStatus(kTfLiteUnresolvedOps,
                           "input %s, weights %s, output %s: supported are INT8 x INT8 -> INT8, "
                           "UINT8 x UINT8 -> UINT8 and INT16 x INT8 -> INT16",
                           TypeName(in_type_), TypeName(w_type_), TypeName(out_type_));
  if (act != fb::ActivationFunctionType_NONE && act != fb::ActivationFunctionType_RELU &&
      act != fb::ActivationFunctionType_RELU6 && act != fb::ActivationFunctionType_RELU_N1_TO_1)
    return ctx.Error("fused activation %d is not supported for quantized inputs",
                     static_cast<int>(act));
  float in_scale = 0.f, out_scale = 0.f;
  int32_t in_zp = 0, out_zp = 0;
  TFC_OK(TensorQuant(ctx, input, &in_scale, &in_zp));
  TFC_OK(TensorQuant(ctx, output, &out_scale, &out_zp));

  // Weight scales: one, or one per unit (quantized_dimension 0).
  const Quantization& wq = weights->quant;
  const size_t nscales = wq.scale.size();
  TFC_ENSURE_MSG(ctx, nscales == 1 || nscales == n_,
                 "weights '%s' have %zu scales; expected 1 or %zu (one per unit)",
                 weights->name.c_str(), nscales, n_);
  const bool per_channel = nscales > 1;
  if (per_channel) {
    TFC_ENSURE_MSG(ctx, wq.quantized_dimension == 0,
                   "weights '%s' are quantized along dimension %d; expected 0",
                   weights->name.c_str(), wq.quantized_dimension);
    TFC_ENSURE_MSG(ctx, !uint8, "per-channel UINT8 weights are not supported");
  }
  TFC_ENSURE_MSG(ctx, wq.zero_point.empty() || wq.zero_point.size() == nscales,
                 "weights '%s' have %zu scales but %zu zero points", weights->name.c_str(),
                 nscales, wq.zero_point.size());
  for (size_t c = 0; c < nscales; ++c) {
    const float s = wq.scale[c];
    TFC_ENSURE_MSG(ctx, std::isfinite(s) && s > 0.f,
                   "weights '%s' have scale %g; scales must be positive and finite",
                   weights->name.c_str(), static_cast<double>(s));
  }
  int32_t wlo = 0, whi = 0;
  TypeRange(w_type_, &wlo, &whi);
  const int64_t wz = wq.zero_point.empty() ? 0 : wq.zero_point[0];
  TFC_ENSURE_MSG(ctx, wz >= wlo && wz <= whi,
                 "weights '%s' have zero point %lld outside the range of %s",
                 weights->name.c_str(), static_cast<long long>(wz), TypeName(w_type_));
  // Per-channel kernels take the weights as symmetric (the zero point is not
  // read), as the official ones do.
  w_zp_ = per_channel ? 0 : static_cast<int32_t>(wz);

  // Bias: INT32 (INT64 allowed for 16x8), one per unit.
  TfLiteType bias_type = kTfLiteNoType;
  if (bias) {
    bias_type = bias->type;
    const bool ok = bias_type == kTfLiteInt32 || (x16x8 && bias_type == kTfLiteInt64);
    TFC_ENSURE_MSG(ctx, ok, "bias '%s' has type %s; expected INT32%s", bias->name.c_str(),
                   TypeName(bias_type), x16x8 ? " or INT64" : "");
  }
  if (x16x8) {
    TFC_ENSURE_MSG(ctx, in_zp == 0 && out_zp == 0,
                   "INT16 input and output need zero point 0 (have %d and %d)", in_zp, out_zp);
  }

  // Multipliers: input_scale * weight_scale / output_scale, in double.
  multipliers_.assign(nscales, 0);
  shifts_.assign(nscales, 0);
  real_scales_.assign(nscales, 0.0);
  for (size_t c = 0; c < nscales; ++c) {
    const double real = static_cast<double>(in_scale) * static_cast<double>(wq.scale[c]) /
                        static_cast<double>(out_scale);
    real_scales_[c] = real;
    QuantizeMultiplier(real, &multipliers_[c], &shifts_[c]);
  }
  int32_t qmin = 0, qmax = 0;
  TypeRange(out_type_, &qmin, &qmax);
  QuantizedClampRange(act_.lo, act_.hi, out_scale, out_zp, qmin, qmax, &rq_.qmin, &rq_.qmax);
  rq_.out_zp = out_zp;
  rq_.per_channel = per_channel;
  rq_.multiplier = multipliers_.data();
  rq_.shift = shifts_.data();
  rq_.real_scale = real_scales_.data();
  rq_.mode = qmm::Requant::kHalfUp;
  rq_.Finalize(nscales);
  // 16x8 with an INT64 bias or a non-zero weight zero point: the official
  // runtime runs its reference kernel, which scales in double and rounds
  // half away from zero (accumulating in the bias type).
  const auto* opt = ctx.options<fb::FullyConnectedOptions>();
  const bool int64_bias_type =
      opt && opt->quantized_bias_type() == fb::TensorType_INT64;
  if (x16x8 && int64_bias_type && bias)
    TFC_ENSURE_MSG(ctx, bias_type == kTfLiteInt64,
                   "quantized_bias_type is INT64 but bias '%s' is %s", bias->name.c_str(),
                   TypeName(bias_type));
  if (x16x8 && (bias_type == kTfLiteInt64 || int64_bias_type || w_zp_ != 0)) {
    rq_.mode = qmm::Requant::kDouble;
    rq_.wrap32 = bias_type != kTfLiteInt64 && !int64_bias_type;
  }

  // Column terms: bias - in_zp * sum(w) + K * in_zp * w_zp, once here for
  // constant weights and bias, else at every Eval into scratch.
  in_zp_ = in_zp;
  bias_type_ = bias_type;
  runtime_terms_ = !weights->is_constant() || (bias && !bias->is_constant());
  scratch_colterm_ = -1;
  if (runtime_terms_) {
    colterm_.clear();
    scratch_colterm_ = ctx.RequestScratch(n_ * sizeof(int64_t) + 64);
  } else {
    colterm_.assign(n_, 0);
    ComputeColumnTerms(weights, bias, colterm_.data());
  }
  q8_ = int8 && qconv::HasQ8Gemm() && !runtime_terms_ && rq_.mode == qmm::Requant::kHalfUp &&
        w_zp_ == 0 && k_ < (size_t{1} << 23);
  if (!q8_) packed8_.Release();  // else packed again below, into the same block where it fits
  init8_.clear();
  scratch_rows8_ = -1;
  if (q8_) {
    const int8_t* w = weights->data_as<int8_t>();
    if (!ctx.ReserveWeights(packed8_, qconv::PackedQ8BSize(k_, n_))) return ctx.Error("out of memory");
    init8_.resize(n_);
    ctx.PackWeights([this, w, read = ctx.ReadBehindInput(1)] {
      // zero point 0: the input's is in colterm_
      qconv::PackQ8B(w, n_, k_, 0, static_cast<int8_t*>(packed8_.data()), init8_.data(), read);
      for (size_t j = 0; j < n_; ++j)
        init8_[j] = static_cast<int32_t>(static_cast<uint32_t>(init8_[j]) +
                                         static_cast<uint32_t>(WrapToInt32(colterm_[j])));
    });
    std::vector<int32_t> mult(n_);
    std::vector<int> shift(n_);
    for (size_t j = 0; j < n_; ++j) {
      mult[j] = multipliers_[per_channel ? j : 0];
      shift[j] = shifts_[per_channel ? j : 0];
    }
    requant8_.Init(mult, shift, n_, out_zp, rq_.qmin, rq_.qmax);
    scratch_rows8_ = ctx.RequestScratch(m_ * qconv::Q8RowStride(k_) + 64);
  }
  // Several INT8 rows on a CPU with the packed GEMM: pack the weights once
  // (or per Eval when computed at run time).
  use_packed_ = !q8_ && int8 && m_ >= qmm::kPackMinRows && k_ <= qmm::ChunkFor(128, 128) &&
                qmm::PackedGemmAvailable();
  scratch_packed_w_ = scratch_packed_a_ = -1;
  packed_w16_.clear();
  if (use_packed_) {
    if (weights->is_constant()) {
      packed_w16_.resize(qmm::PackedW16Size(n_, k_));
      qmm::PackW16(weights->data_as<int8_t>(), n_, k_, packed_w16_.data());
    } else {
      scratch_packed_w_ = ctx.RequestScratch(qmm::PackedW16Size(n_, k_) * sizeof(int16_t) + 64);
    }
    scratch_packed_a_ = ctx.RequestScratch(qmm::PackedA16Size(m_, k_) * sizeof(int32_t) + 64);
  }
  if (in_type_ == kTfLiteInt8)
    chunk_ = qmm::ChunkFor(128, 128);
  else if (in_type_ == kTfLiteUInt8)
    chunk_ = qmm::ChunkFor(255, 255);
  else
    chunk_ = qmm::ChunkFor(32768, 128);
  return kTfLiteOk;
}

void FullyConnected::ComputeColumnTerms(const TfLiteTensor* weights, const TfLiteTensor* bias,
                                        int64_t* colterm) const {
  if (w_type_ == kTfLiteInt8) {
    if (bias_type_ == kTfLiteInt64)
      qmm::ColumnTerms(weights->data_as<int8_t>(), n_, k_, bias->data_as<int64_t>(), in_zp_,
                       w_zp_, colterm);
    else
      qmm::ColumnTerms(weights->data_as<int8_t>(), n_, k_,
                       bias ? bias->data_as<int32_t>() : nullptr, in_zp_, w_zp_, colterm);
  } else {
    qmm::ColumnTerms(weights->data_as<uint8_t>(), n_, k_,
                     bias ? bias->data_as<int32_t>() : nullptr, in_zp_, w_zp_, colterm);
  }
}

TfLiteStatus FullyConnected::PrepareHybrid(OpContext& ctx, const TfLiteTensor* input,
                                           const TfLiteTensor* weights, const TfLiteTensor* bias,
                                           const fb::FullyConnectedOptions* opt) {
  (void)input;
  (void)bias;
  asymmetric_ = opt && opt->asymmetric_quantize_inputs();
  const Quantization& wq = weights->quant;
  const size_t nscales = wq.scale.size();
  TFC_ENSURE_MSG(ctx, nscales == 1 || nscales == n_,
                 "weights '%s' have %zu scales; expected 1 or %zu (one per unit)",
                 weights->name.c_str(), nscales, n_);
  for (size_t c = 0; c < nscales; ++c) {
    const float s = wq.scale[c];
    TFC_ENSURE_MSG(ctx, std::isfinite(s) && s > 0.f,
                   "weights '%s' have scale %g; scales must be positive and finite",
                   weights->name.c_str(), static_cast<double>(s));
  }
  if (nscales > 1) {
    TFC_ENSURE_MSG(ctx, wq.quantized_dimension == 0,
                   "weights '%s' are quantized along dimension %d; expected 0",
                   weights->name.c_str(), wq.quantized_dimension);
    channel_scales_.assign(wq.scale.begin(), wq.scale.end());
  } else {
    channel_scales_.clear();
    weight_scale_ = wq.scale[0];
  }
  // The hybrid kernels take the weights as symmetric int8 (UINT8 weights are
  // read as INT8 bytes, as the official kernel does).
  // Row sums of the weights (asymmetric inputs): once here for constant
  // weights, else at every Eval into scratch.
  scratch_wsums_ = -1;
  if (weights->is_constant()) {
    w_sums_.assign(n_, 0);
    qmm::RowSumsHybrid(weights->data_as<int8_t>(), n_, k_, w_sums_.data());
    quirk_.Build(weights->data_as<int8_t>(), n_, k_);
  } else {
    quirk_ = qmm::SignQuirk();
    w_sums_.clear();
    scratch_wsums_ = ctx.RequestScratch(n_ * sizeof(int32_t) + 64);
  }
  // Several rows on a CPU with the packed GEMM: constant weights packed once.
  use_packed_ = m_ >= qmm::kPackMinRows && k_ <= qmm::ChunkFor(128, 128) &&
                qmm::PackedGemmAvailable();
  scratch_packed_w_ = scratch_packed_a_ = -1;
  packed_w16_.clear();
  if (use_packed_) {
    if (weights->is_constant()) {
      packed_w16_.resize(qmm::PackedW16Size(n_, k_));
      qmm::PackW16(weights->data_as<int8_t>(), n_, k_, packed_w16_.data());
    } else {
      scratch_packed_w_ = ctx.RequestScratch(qmm::PackedW16Size(n_, k_) * sizeof(int16_t) + 64);
    }
    scratch_packed_a_ = ctx.RequestScratch(qmm::PackedA16Size(m_, k_) * sizeof(int32_t) + 64);
  }
  scratch_q_ = ctx.RequestScratch(m_ * k_ + 64);
  scratch_scale_ = ctx.RequestScratch(m_ * sizeof(float) + 64);
  scratch_zp_ = ctx.RequestScratch(m_ * sizeof(int32_t) + 64);
  return kTfLiteOk;
}

TfLiteStatus FullyConnected::EvalQuantized(OpContext& ctx) {
  const TfLiteTensor* input = ctx.input(0);
  const TfLiteTensor* weights = ctx.input(1);
  TfLiteTensor* output = ctx.output(0);
  ThreadPool& pool = ctx.pool();
  const int64_t* colterm = colterm_.data();
  if (runtime_terms_) {
    int64_t* ct = static_cast<int64_t*>(ctx.Scratch(scratch_colterm_));
    ComputeColumnTerms(weights, ctx.input(2), ct);
    colterm = ct;
  }
  if (q8_) {
    EvalQ8(pool, input->data_as<int8_t>(), static_cast<uint8_t*>(ctx.Scratch(scratch_rows8_)),
           output->data_as<int8_t>());
  } else if (in_type_ == kTfLiteInt8) {
    const int16_t* packed_w = nullptr;
    int32_t* packed_a = nullptr;
    if (use_packed_) {
      if (scratch_packed_w_ >= 0) {
        int16_t* pw = static_cast<int16_t*>(ctx.Scratch(scratch_packed_w_));
        qmm::PackW16(weights->data_as<int8_t>(), n_, k_, pw);
        packed_w = pw;
      } else {
        packed_w = packed_w16_.data();
      }
      packed_a = static_cast<int32_t*>(ctx.Scratch(scratch_packed_a_));
    }
    qmm::QuantMatMul(pool, input->data_as<int8_t>(), m_, k_, weights->data_as<int8_t>(), n_,
                     w_zp_, colterm, rq_, output->data_as<int8_t>(), n_, chunk_, packed_w,
                     packed_a);
  } else if (in_type_ == kTfLiteUInt8) {
    qmm::QuantMatMul(pool, input->data_as<uint8_t>(), m_, k_, weights->data_as<uint8_t>(), n_,
                     w_zp_, colterm, rq_, output->data_as<uint8_t>(), n_, chunk_);
  } else {
    qmm::QuantMatMul(pool, input->data_as<int16_t>(), m_, k_, weights->data_as<int8_t>(), n_,
                     w_zp_, colterm, rq_, output->data_as<int16_t>(), n_, chunk_);
  }
  return kTfLiteOk;
}

// q8_: whole 8-row tiles split across the threads, or for fewer rows (batch
// 1) the rows one at a time, groups of four 16-unit panels split.
void FullyConnected::EvalQ8(ThreadPool& pool, const int8_t* in, uint8_t* rows, int8_t* out) const {
  const size_t lda = qconv::Q8RowStride(k_);
  qconv::ToUnsignedRows(in, m_, k_, rows, lda);
  const bool tiles = m_ >= qconv::kQ8MR;
  const size_t panels = qconv::QPanels(n_);
  const size_t units = tiles ? (m_ + qconv::kQ8MR - 1) / qconv::kQ8MR : (panels + 3) / 4;
  auto run = [&](int64_t b, int64_t e) {
    const size_t u0 = static_cast<size_t>(b), u1 = static_cast<size_t>(e);
    if (tiles) {
      const size_t r0 = u0 * qconv::kQ8MR, r1 = std::min(m_, u1 * qconv::kQ8MR);
      qconv::Q8GemmRequant(rows + r0 * lda, r1 - r0, lda, packed8(), k_, n_, requant8_,
                           init8_.data(), out + r0 * n_, n_);
    } else {
      qconv::Q8GemmRequant(rows, m_, lda, packed8(), k_, n_, requant8_, init8_.data(), out,
                           n_, 4 * u0, std::min(panels, 4 * u1));
    }
  };
  const double macs = static_cast<double>(m_) * static_cast<double>(n_) * static_cast<double>(k_);
  if (pool.num_threads() <= 1 || units < 2 || macs < gemm::kMinParallelMacs8)
    run(0, static_cast<int64_t>(units));
  else
    pool.ParallelFor(static_cast<int64_t>(units), 1, run);
}

TfLiteStatus FullyConnected::EvalHybrid(OpContext& ctx) {
  const TfLiteTensor* input = ctx.input(0);
  const TfLiteTensor* weights = ctx.input(1);
  const TfLiteTensor* bias = ctx.input(2);
  TfLiteTensor* output = ctx.output(0);
  const float* in = input->data_as<float>();
  // An all-zero input gives the bias (through the activation) exactly, as the
  // official kernel's shortcut does.
  bool all_zero = true;
  for (size_t i = 0, e = m_ * k_; i < e && all_zero; ++i) all_zero = in[i] == 0.f;
  if (all_zero) {
    float* out = output->data_as<float>();
    const float* b = bias ? bias->data_as<float>() : nullptr;
    for (size_t i = 0; i < m_; ++i)
      for (size_t j = 0; j < n_; ++j) out[i * n_ + j] = act_.Apply(b ? b[j] : 0.0f);
    return kTfLiteOk;
  }
  int8_t* q = static_cast<int8_t*>(ctx.Scratch(scratch_q_));
  float* scales = static_cast<float*>(ctx.Scratch(scratch_scale_));
  int32_t* zps = static_cast<int32_t*>(ctx.Scratch(scratch_zp_));
  for (size_t i = 0; i < m_; ++i) {
    if (asymmetric_) {
      qmm::QuantizeAsymmetric(in + i * k_, k_, q + i * k_, &scales[i], &zps[i]);
    } else {
      qmm::QuantizeSymmetric(in + i * k_, k_, q + i * k_, &scales[i]);
      zps[i] = 0;
    }
    if (channel_scales_.empty()) scales[i] *= weight_scale_;
  }
  if (scratch_wsums_ >= 0) quirk_.Scan(weights->data_as<int8_t>(), k_);  // run-time weights
  const int32_t* sums = w_sums_.data();
  if (scratch_wsums_ >= 0 && asymmetric_) {
    int32_t* ws = static_cast<int32_t*>(ctx.Scratch(scratch_wsums_));
    qmm::RowSumsHybrid(weights->data_as<int8_t>(), n_, k_, ws);
    sums = ws;
  }
  const int16_t* packed_w = nullptr;
  int32_t* packed_a = nullptr;
  if (use_packed_) {
    if (scratch_packed_w_ >= 0) {
      int16_t* pw = static_cast<int16_t*>(ctx.Scratch(scratch_packed_w_));
      qmm::PackW16(weights->data_as<int8_t>(), n_, k_, pw);
      packed_w = pw;
    } else {
      packed_w = packed_w16_.data();
    }
    packed_a = static_cast<int32_t*>(ctx.Scratch(scratch_packed_a_));
  }
  qmm::HybridMatMul(ctx.pool(), q, scales, asymmetric_ ? zps : nullptr, m_, k_,
                    weights->data_as<int8_t>(), n_, sums,
                    channel_scales_.empty() ? nullptr : channel_scales_.data(),
                    bias ? bias->data_as<float>() : nullptr, act_, output->data_as<float>(), n_,
                    packed_w, packed_a, &quirk_);
  return kTfLiteOk;
}

TfLiteStatus FullyConnected::Eval(OpContext& ctx) {
  if (m_ == 0) return kTfLiteOk;
  if (mode_ == Mode::kQuant) return EvalQuantized(ctx);
  if (mode_ == Mode::kHybrid) return EvalHybrid(ctx);
  const TfLiteTensor* input = ctx.input(0);
  const TfLiteTensor* weights = ctx.input(1);
  const TfLiteTensor* bias = ctx.input(2);
  TfLiteTensor* output = ctx.output(0);
  if (dot_) {
    gemm::DotRows(ctx.pool(), k_, n_, input->data_as<float>(), weights->data_as<float>(),
                  bias ? bias->data_as<float>() : nullptr, output->data_as<float>(), act_);
    return kTfLiteOk;
  }
  gemm::PackedB pb = pb_;
  if (!weights_packed_) {
    float* dst = static_cast<float*>(ctx.Scratch(scratch_weights_));
    pb = gemm::PackBStrided(k_, n_, weights->data_as<float>(), 1, k_,
                            bias ? bias->data_as<float>() : nullptr, dst);
  } else if (!bias_packed_) {
    float* dst = static_cast<float*>(ctx.Scratch(scratch_bias_));
    gemm::PackBias(n_, bias ? bias->data_as<float>() : nullptr, dst);
    pb.bias = dst;
  }
  const float* in = input->data_as<float>();
  const size_t k = k_;
  auto row = [in, k](size_t i) { return in + i * k; };
  gemm::Gemm(ctx.pool(), pb, m_, row, output->data_as<float>(), n_, act_);
  return kTfLiteOk;
}

}  // namespace

TFC_REGISTER_OP(FULLY_CONNECTED, 1, 13, FullyConnected);

}  // namespace tfc
