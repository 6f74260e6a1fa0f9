// FULLY_CONNECTED, float32.
//
// Input [..., K] read as [M, K] (M = elements / K), weights [units, K], bias
// [units] (optional), output [M, units], or the input's leading dimensions
// followed by units when keep_num_dims is set. One GEMM with the weights
// packed once as B = weights^T (gemm::PackB); a batch of one runs the GEMM's
// one-row kernel split over output columns.
#include <algorithm>

#include "kernels/kernel.h"
#include "kernels/util/activation.h"
#include "kernels/util/conv_util.h"
#include "kernels/util/gemm.h"

namespace tfc {
namespace {

bool IsQuantizedType(TfLiteType t) {
  return t == kTfLiteInt8 || t == kTfLiteUInt8 || t == kTfLiteInt16 || t == kTfLiteInt4;
}

class FullyConnected final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override;
  TfLiteStatus Eval(OpContext& ctx) override;

 private:
  size_t m_ = 0, k_ = 0, n_ = 0;
  FloatRange act_;
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
  if (IsQuantizedType(input->type))
    return ctx.ErrorStatus(kTfLiteUnresolvedOps, "%s inputs are not supported yet",
                           TypeName(input->type));
  TFC_ENSURE_TYPE(ctx, input, kTfLiteFloat32);
  if (weights->type != kTfLiteFloat32)
    return ctx.ErrorStatus(kTfLiteUnresolvedOps,
                           "%s weights with FLOAT32 input (hybrid) are not supported yet",
                           TypeName(weights->type));
  TFC_ENSURE_TYPE(ctx, output, kTfLiteFloat32);
  if (weights->sparsity)
    return ctx.ErrorStatus(kTfLiteUnresolvedOps, "sparse weights are not supported");

  const auto* opt = ctx.options<fb::FullyConnectedOptions>();
  if (opt && opt->weights_format() != fb::FullyConnectedOptionsWeightsFormat_DEFAULT)
    return ctx.ErrorStatus(kTfLiteUnresolvedOps, "weights format %d is not supported",
                           static_cast<int>(opt->weights_format()));
  const bool keep_num_dims = opt && opt->keep_num_dims();
  bool act_ok = true;
  act_ = ActivationRange(
      opt ? opt->fused_activation_function() : fb::ActivationFunctionType_NONE, &act_ok);
  if (!act_ok)
    return ctx.Error("fused activation %d is not supported",
                     static_cast<int>(opt->fused_activation_function()));

  TFC_ENSURE_MSG(ctx, weights->rank() == 2, "weights must have rank 2, has %d", weights->rank());
  const int32_t units = weights->dim(0);
  const int32_t k = weights->dim(1);
  TFC_ENSURE_MSG(ctx, units >= 1 && k >= 1, "bad weights shape [%d, %d]", units, k);
  if (bias) {
    TFC_ENSURE_TYPE(ctx, bias, kTfLiteFloat32);
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

  const size_t packed_floats = gemm::PackedSize(k_, n_);
  const bool bias_const = !bias || bias->is_constant();
  weights_packed_ = weights->is_constant();
  bias_packed_ = weights_packed_ && bias_const;
  scratch_weights_ = scratch_bias_ = -1;
  if (weights_packed_) {
    if (!packed_.Reserve(packed_floats * sizeof(float))) return ctx.Error("out of memory");
    pb_ = gemm::PackBStrided(k_, n_, weights->data_as<float>(), 1, k_,
                             bias_const && bias ? bias->data_as<float>() : nullptr,
                             static_cast<float*>(packed_.data()));
    if (!bias_const)
      scratch_bias_ = ctx.RequestScratch(gemm::NumPanels(n_) * gemm::kNR * sizeof(float));
  } else {
    packed_.Release();
    pb_ = gemm::PackedB();
    scratch_weights_ = ctx.RequestScratch(packed_floats * sizeof(float));
  }
  return ctx.ResizeOutput(0, out_dims);
}

TfLiteStatus FullyConnected::Eval(OpContext& ctx) {
  const TfLiteTensor* input = ctx.input(0);
  const TfLiteTensor* weights = ctx.input(1);
  const TfLiteTensor* bias = ctx.input(2);
  TfLiteTensor* output = ctx.output(0);
  if (m_ == 0) return kTfLiteOk;
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
