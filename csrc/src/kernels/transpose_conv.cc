// TRANSPOSE_CONV, float32.
//
// Inputs: 0 output_shape (int32 [4]), 1 weights [Cout, KH, KW, Cin],
// 2 input [N, H, W, Cin], 3 bias [Cout] (optional). Output [N, OH, OW, Cout]
// as given by output_shape. Each input pixel scatters its contribution:
//   out[n, iy*sh - pad_t + ky, ix*sw - pad_l + kx, oc] += in[n, iy, ix, :] . w[oc, ky, kx, :]
// computed as one GEMM (M = N*H*W input pixels, K = Cin, N = KH*KW*Cout with
// the weights packed once) into scratch, then a gather over output rows
// (col2im) that adds bias and applies the fused activation.
// Padding: as for the forward conv mapping the output onto the input
// (conv_util.h ComputeTransposeConvPadding).
#include <algorithm>
#include <cstring>
#include <limits>

#include "kernels/kernel.h"
#include "kernels/util/activation.h"
#include "kernels/util/conv_util.h"
#include "kernels/util/gemm.h"

namespace tfc {
namespace {

class TransposeConv final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override;
  TfLiteStatus Eval(OpContext& ctx) override;

 private:
  TfLiteStatus Configure(OpContext& ctx, const int32_t* shape);
  void PackWeights(const float* w, float* dst);
  void Col2Im(const float* col, const float* bias, float* out, int64_t r0, int64_t r1) const;

  int batches_ = 0, in_h_ = 0, in_w_ = 0, in_c_ = 0;
  int out_h_ = 0, out_w_ = 0, out_c_ = 0;
  int kh_ = 0, kw_ = 0, sh_ = 1, sw_ = 1, pad_t_ = 0, pad_l_ = 0;
  fb::Padding padding_ = fb::Padding_SAME;
  FloatRange act_;
  bool dynamic_ = false;  // output_shape not constant: shape set at Eval
  bool weights_packed_ = false;
  AlignedBuffer packed_;
  gemm::PackedB pb_;
  int scratch_weights_ = -1;
  int scratch_col_ = -1;
};

TfLiteStatus TransposeConv::Prepare(OpContext& ctx) {
  TFC_ENSURE_MSG(ctx, ctx.num_inputs() == 3 || ctx.num_inputs() == 4,
                 "expected 3 or 4 inputs, got %d", ctx.num_inputs());
  TFC_ENSURE_MSG(ctx, ctx.num_outputs() == 1, "expected 1 output, got %d", ctx.num_outputs());
  const TfLiteTensor* shape = ctx.input(0);
  const TfLiteTensor* weights = ctx.input(1);
  const TfLiteTensor* input = ctx.input(2);
  const TfLiteTensor* bias = ctx.input(3);
  TfLiteTensor* output = ctx.output(0);
  TFC_ENSURE_MSG(ctx, shape && weights && input && output, "missing input or output tensor");
  if (input->type == kTfLiteInt8 || input->type == kTfLiteUInt8 || input->type == kTfLiteInt16)
    return ctx.ErrorStatus(kTfLiteUnresolvedOps, "%s inputs are not supported yet",
                           TypeName(input->type));
  TFC_ENSURE_TYPE(ctx, input, kTfLiteFloat32);
  if (weights->type != kTfLiteFloat32)
    return ctx.ErrorStatus(kTfLiteUnresolvedOps,
                           "%s weights with FLOAT32 input (hybrid) are not supported yet",
                           TypeName(weights->type));
  TFC_ENSURE_TYPE(ctx, output, kTfLiteFloat32);
  TFC_ENSURE_TYPE(ctx, shape, kTfLiteInt32);
  TFC_ENSURE_MSG(ctx, shape->rank() == 1 && shape->dim(0) == 4,
                 "output_shape must be an int32 vector of 4 elements");
  TFC_ENSURE_MSG(ctx, input->rank() == 4, "input must have rank 4, has %d", input->rank());
  TFC_ENSURE_MSG(ctx, weights->rank() == 4, "weights must have rank 4, has %d", weights->rank());
  batches_ = input->dim(0);
  in_h_ = input->dim(1);
  in_w_ = input->dim(2);
  in_c_ = input->dim(3);
  out_c_ = weights->dim(0);
  kh_ = weights->dim(1);
  kw_ = weights->dim(2);
  TFC_ENSURE_MSG(ctx, batches_ >= 0 && in_h_ >= 0 && in_w_ >= 0 && in_c_ >= 1,
                 "bad input shape");
  TFC_ENSURE_MSG(ctx, out_c_ >= 1 && kh_ >= 1 && kw_ >= 1, "bad weights shape");
  TFC_ENSURE_MSG(ctx, weights->dim(3) == in_c_, "weights have %d input channels, input has %d",
                 weights->dim(3), in_c_);
  if (bias) {
    TFC_ENSURE_TYPE(ctx, bias, kTfLiteFloat32);
    TFC_ENSURE_MSG(ctx, bias->num_elements() == out_c_, "bias has %lld elements, expected %d",
                   static_cast<long long>(bias->num_elements()), out_c_);
  }
  const auto* opt = ctx.options<fb::TransposeConvOptions>();
  padding_ = opt ? opt->padding() : fb::Padding_SAME;
  sw_ = opt ? opt->stride_w() : 1;
  sh_ = opt ? opt->stride_h() : 1;
  bool act_ok = true;
  act_ = ActivationRange(
      opt ? opt->fused_activation_function() : fb::ActivationFunctionType_NONE, &act_ok);
  if (!act_ok)
    return ctx.Error("fused activation %d is not supported",
                     static_cast<int>(opt->fused_activation_function()));
  TFC_ENSURE_MSG(ctx, sw_ >= 1 && sh_ >= 1, "strides must be >= 1 (got %d, %d)", sh_, sw_);

  int64_t cols = 0, tmp = 0, m = 0;
  TFC_ENSURE_MSG(ctx, CheckedMul(kh_, kw_, &tmp) && CheckedMul(tmp, out_c_, &cols),
                 "weights too large");
  TFC_ENSURE_MSG(ctx,
                 CheckedMul(batches_, in_h_, &tmp) && CheckedMul(tmp, in_w_, &m) &&
                     CheckedMul(m, cols, &tmp, int64_t{1} << 40),
                 "input too large");
  const size_t k = static_cast<size_t>(in_c_), n = static_cast<size_t>(cols);
  scratch_weights_ = -1;
  weights_packed_ = weights->is_constant();
  if (weights_packed_) {
    if (!packed_.Reserve(gemm::PackedSize(k, n) * sizeof(float))) return ctx.Error("out of memory");
    PackWeights(weights->data_as<float>(), static_cast<float*>(packed_.data()));
  } else {
    packed_.Release();
    scratch_weights_ = ctx.RequestScratch(gemm::PackedSize(k, n) * sizeof(float));
  }
  scratch_col_ = ctx.RequestScratch(static_cast<size_t>(m) * n * sizeof(float));

  dynamic_ = !shape->is_constant();
  if (dynamic_) {
    ctx.MarkOutputDynamic(0);
    return kTfLiteOk;
  }
  return Configure(ctx, shape->data_as<int32_t>());
}

// Output shape and padding from the output_shape values.
TfLiteStatus TransposeConv::Configure(OpContext& ctx, const int32_t* shape) {
  TFC_ENSURE_MSG(ctx, shape[0] == batches_, "output_shape batch %d differs from input batch %d",
                 shape[0], batches_);
  TFC_ENSURE_MSG(ctx, shape[3] == out_c_, "output_shape depth %d differs from weights' %d",
                 shape[3], out_c_);
  TFC_ENSURE_MSG(ctx, shape[1] >= 0 && shape[2] >= 0, "negative output_shape");
  out_h_ = shape[1];
  out_w_ = shape[2];
  ConvGeometry gh, gw;
  TFC_ENSURE_MSG(ctx,
                 ComputeTransposeConvPadding(padding_, out_h_, kh_, sh_, &gh) &&
                     ComputeTransposeConvPadding(padding_, out_w_, kw_, sw_, &gw),
                 "invalid padding/stride");
  pad_t_ = gh.pad_start;
  pad_l_ = gw.pad_start;
  int64_t tmp = 0, outn = 0;
  TFC_ENSURE_MSG(ctx,
                 CheckedMul(batches_, out_h_, &tmp) && CheckedMul(tmp, out_w_, &tmp) &&
                     CheckedMul(tmp, out_c_, &outn, int64_t{1} << 40),
                 "output too large");
  return ctx.ResizeOutput(0, {batches_, out_h_, out_w_, out_c_});
}

// B[ic][(ky, kx, oc)] = w[oc, ky, kx, ic].
void TransposeConv::PackWeights(const float* w, float* dst) {
  const size_t k = static_cast<size_t>(in_c_);
  const size_t taps = static_cast<size_t>(kh_) * kw_;
  const size_t cout = static_cast<size_t>(out_c_);
  pb_ = gemm::PackB(k, taps * cout, nullptr,
                    [w, k, taps, cout](size_t ic, size_t j) {
                      const size_t tap = j / cout, oc = j % cout;
                      return w[(oc * taps + tap) * k + ic];
                    },
                    dst);
}

// Output rows [r0, r1) of batch*out_h: bias, plus every (input pixel, tap)
// landing on the row, then the activation clamp.
void TransposeConv::Col2Im(const float* col, const float* bias, float* out, int64_t r0,
                           int64_t r1) const {
  const size_t cout = static_cast<size_t>(out_c_);
  const size_t row_floats = static_cast<size_t>(kw_) * cout;             // one ky of a pixel
  const size_t pix_floats = static_cast<size_t>(kh_) * kw_ * cout;       // one input pixel
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t b = r / out_h_;
    const int oy = static_cast<int>(r % out_h_);
    float* orow = out + static_cast<size_t>(r) * out_w_ * cout;
    for (int ox = 0; ox < out_w_; ++ox) {
      float* o = orow + static_cast<size_t>(ox) * cout;
      if (bias)
        std::memcpy(o, bias, cout * sizeof(float));
      else
        std::memset(o, 0, cout * sizeof(float));
    }
    // iy * sh = oy + pad_t - ky
    for (int ky = 0; ky < kh_; ++ky) {
      const int t = oy + pad_t_ - ky;
      if (t < 0 || t % sh_ != 0) continue;
      const int iy = t / sh_;
      if (iy >= in_h_) continue;
      const float* crow =
          col + ((static_cast<size_t>(b) * in_h_ + iy) * in_w_) * pix_floats + ky * row_floats;
      for (int ix = 0; ix < in_w_; ++ix) {
        const float* cp = crow + static_cast<size_t>(ix) * pix_floats;
        const int ox0 = ix * sw_ - pad_l_;
        for (int kx = 0; kx < kw_; ++kx) {
          const int ox = ox0 + kx;
          if (ox < 0 || ox >= out_w_) continue;
          float* __restrict o = orow + static_cast<size_t>(ox) * cout;
          const float* __restrict s = cp + static_cast<size_t>(kx) * cout;
          for (size_t c = 0; c < cout; ++c) o[c] += s[c];
        }
      }
    }
    if (act_.lo > -std::numeric_limits<float>::infinity() ||
        act_.hi < std::numeric_limits<float>::infinity()) {
      const size_t total = static_cast<size_t>(out_w_) * cout;
      for (size_t i = 0; i < total; ++i) orow[i] = act_.Apply(orow[i]);
    }
  }
}

TfLiteStatus TransposeConv::Eval(OpContext& ctx) {
  const TfLiteTensor* shape = ctx.input(0);
  const TfLiteTensor* weights = ctx.input(1);
  const TfLiteTensor* input = ctx.input(2);
  const TfLiteTensor* bias = ctx.input(3);
  if (dynamic_) TFC_OK(Configure(ctx, shape->data_as<int32_t>()));
  TfLiteTensor* output = ctx.output(0);
  const int64_t rows = static_cast<int64_t>(batches_) * out_h_;
  if (rows == 0 || out_w_ == 0) return kTfLiteOk;
  float* out = output->data_as<float>();
  const size_t m = static_cast<size_t>(batches_) * in_h_ * in_w_;
  ThreadPool& pool = ctx.pool();
  float* col = static_cast<float*>(ctx.Scratch(scratch_col_));
  if (m > 0) {
    gemm::PackedB pb = pb_;
    if (!weights_packed_) {
      PackWeights(weights->data_as<float>(), static_cast<float*>(ctx.Scratch(scratch_weights_)));
      pb = pb_;
    }
    const float* in = input->data_as<float>();
    const size_t k = static_cast<size_t>(in_c_);
    auto row = [in, k](size_t i) { return in + i * k; };
    gemm::Gemm(pool, pb, m, row, col, pb.n, FloatRange());
  }
  const float* bs = bias ? bias->data_as<float>() : nullptr;
  auto fn = [&](int64_t r0, int64_t r1) { Col2Im(col, bs, out, r0, r1); };
  const double work = static_cast<double>(rows) * out_w_ * out_c_ * kh_ * kw_;
  if (work >= gemm::kMinParallelMacs)
    pool.ParallelFor(rows, 1, fn);
  else
    fn(0, rows);
  return kTfLiteOk;
}

}  // namespace

TFC_REGISTER_OP(TRANSPOSE_CONV, 1, 5, TransposeConv);

}  // namespace tfc
