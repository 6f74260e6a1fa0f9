// TRANSPOSE_CONV: float32 (below), and quantized / hybrid
// (QuantTransposeConv, further down; TransposeConv at the end picks one).
//
// Float32:
// Inputs: 0 output_shape (int32 [4]), 1 weights [Cout, KH, KW, Cin],
// 2 input [N, H, W, Cin], 3 bias [Cout] (optional). Output [N, OH, OW, Cout]
// as given by output_shape. Each input pixel scatters its contribution:
//   out[n, iy*sh - pad_t + ky, ix*sw - pad_l + kx, oc] += in[n, iy, ix, :] . w[oc, ky, kx, :]
// computed by FloatTransposeConvCore (util/transpose_conv_float.h, shared with
// MediaPipe's Convolution2DTransposeBias): one GEMM of the input pixels by the
// packed weights into scratch, then a gather over output rows (col2im) that
// adds bias and applies the fused activation.
// Padding: as for the forward conv mapping the output onto the input
// (conv_util.h ComputeTransposeConvPadding).
#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/util/activation.h"
#include "kernels/util/conv_util.h"
#include "kernels/util/gemm.h"
#include "kernels/util/qgemm.h"
#include "kernels/util/quant_math.h"
#include "kernels/util/transpose_conv_float.h"

namespace tfc {
namespace {

class FloatTransposeConv final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override;
  TfLiteStatus Eval(OpContext& ctx) override;
  size_t OwnedBytes() const override { return core_.OwnedBytes(); }

 private:
  TfLiteStatus Configure(OpContext& ctx, const int32_t* shape);

  FloatTransposeConvCore core_;
  int batches_ = 0, out_c_ = 0, sh_ = 1, sw_ = 1;
  fb::Padding padding_ = fb::Padding_SAME;
  FloatRange act_;
  bool dynamic_ = false;  // output_shape not constant: shape set at Eval
};

TfLiteStatus FloatTransposeConv::Prepare(OpContext& ctx) {
  TFC_ENSURE_MSG(ctx, ctx.num_inputs() == 3 || ctx.num_inputs() == 4,
                 "expected 3 or 4 inputs, got %d", ctx.num_inputs());
  TFC_ENSURE_MSG(ctx, ctx.num_outputs() == 1, "expected 1 output, got %d", ctx.num_outputs());
  const TfLiteTensor* shape = ctx.input(0);
  const TfLiteTensor* weights = ctx.input(1);
  const TfLiteTensor* input = ctx.input(2);
  const TfLiteTensor* bias = ctx.input(3);
  TfLiteTensor* output = ctx.output(0);
  TFC_ENSURE_MSG(ctx, shape && weights && input && output, "missing input or output tensor");
  TFC_ENSURE_TYPE(ctx, input, kTfLiteFloat32);
  TFC_ENSURE_TYPE(ctx, output, kTfLiteFloat32);
  TFC_ENSURE_TYPE(ctx, shape, kTfLiteInt32);
  TFC_ENSURE_MSG(ctx, shape->rank() == 1 && shape->dim(0) == 4,
                 "output_shape must be an int32 vector of 4 elements");
  TFC_ENSURE_MSG(ctx, input->rank() == 4, "input must have rank 4, has %d", input->rank());
  batches_ = input->dim(0);
  TFC_OK(core_.Prepare(ctx, weights, batches_, input->dim(1), input->dim(2), input->dim(3)));
  out_c_ = core_.out_channels();
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

  dynamic_ = !shape->is_constant();
  if (dynamic_) {
    ctx.MarkOutputDynamic(0);
    return kTfLiteOk;
  }
  return Configure(ctx, shape->data_as<int32_t>());
}

// Output shape and padding from the output_shape values.
TfLiteStatus FloatTransposeConv::Configure(OpContext& ctx, const int32_t* shape) {
  TFC_ENSURE_MSG(ctx, shape[0] == batches_, "output_shape batch %d differs from input batch %d",
                 shape[0], batches_);
  TFC_ENSURE_MSG(ctx, shape[3] == out_c_, "output_shape depth %d differs from weights' %d",
                 shape[3], out_c_);
  TFC_ENSURE_MSG(ctx, shape[1] >= 0 && shape[2] >= 0, "negative output_shape");
  const int out_h = shape[1], out_w = shape[2];
  ConvGeometry gh, gw;
  TFC_ENSURE_MSG(ctx,
                 ComputeTransposeConvPadding(padding_, out_h, core_.kernel_h(), sh_, &gh) &&
                     ComputeTransposeConvPadding(padding_, out_w, core_.kernel_w(), sw_, &gw),
                 "invalid padding/stride");
  int64_t tmp = 0, outn = 0;
  TFC_ENSURE_MSG(ctx,
                 CheckedMul(batches_, out_h, &tmp) && CheckedMul(tmp, out_w, &tmp) &&
                     CheckedMul(tmp, out_c_, &outn, int64_t{1} << 40),
                 "output too large");
  core_.SetOutput(out_h, out_w, sh_, sw_, gh.pad_start, gw.pad_start, act_);
  return ctx.ResizeOutput(0, {batches_, out_h, out_w, out_c_});
}

TfLiteStatus FloatTransposeConv::Eval(OpContext& ctx) {
  const TfLiteTensor* shape = ctx.input(0);
  const TfLiteTensor* bias = ctx.input(3);
  if (dynamic_) TFC_OK(Configure(ctx, shape->data_as<int32_t>()));
  core_.Run(ctx, ctx.input(2)->data_as<float>(), ctx.input(1),
            bias ? bias->data_as<float>() : nullptr, ctx.output(0)->data_as<float>());
  return kTfLiteOk;
}

// ---------------------------------------------------------------------------
// Quantized and hybrid TRANSPOSE_CONV
// ---------------------------------------------------------------------------
//
// int8 x int8 (per-channel), uint8 x uint8 (per-tensor), int16 x int8 (16x8)
// and hybrid (float input, int8 weights; the input quantized per batch,
// asymmetric). Computed per output row as a gather: every (input pixel, tap)
// landing on the row adds its exact dot product over Cin of
// (q - zp) * (w - wzp) into int32 (int64 for 16x8) accumulators; the row is
// then requantized (bias, fixed-point multiplier, zero point, clamp) or, for
// the hybrid kernel, scaled back to float. The output shape must be constant.
// 8-bit and hybrid kernels get the dot products from one packed GEMM of all
// input pixels (qconv::QGemmRows) into a column buffer first; int8 with
// VNNI (qconv::HasQ8Gemm) from the 8-bit GEMM (qconv::Q8Gemm) on the input made
// unsigned (q + 128), each column's sums starting from -(128 + zp) times its
// weights' sum, so that they come out centered.
// The hybrid kernel is within float rounding of TensorFlow Lite's (which
// accumulates in float), not bit-exact.
enum class TcKind { kInt8, kUint8, k16x8, kHybrid };

class QuantTransposeConv final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override;
  TfLiteStatus Eval(OpContext& ctx) override;
  size_t OwnedBytes() const override {
    size_t phases = 0;
    for (const Phase& ph : phases8_) phases += HeapBytes(ph.dy, ph.dx, ph.packed, ph.correction);
    return HeapBytes(weights_, packed_, packed8_, col_init8_, filter_scale_, filter_zp_, mult_q_,
                     shift_q_, phases8_) +
           requant_.Bytes() + phases;
  }

 private:
  template <class T>
  void Rows(const T* in, const int32_t* batch_zp, const float* batch_scale, const void* bias,
            void* out, char* slot, const int32_t* col, int64_t r0, int64_t r1) const;
  template <class F>
  void ForEachSource(int b, int oy, F fn) const;
  template <class A>
  void GatherCols(const int32_t* col, A* acc, int b, int oy) const;
  void GatherRow8(const int32_t* col, const void* bias, void* out, uint32_t* acc, int b, int oy,
                  int64_t r) const;
  template <class T>
  void ColBlock(const T* in, const int32_t* batch_zp, int16_t* rows, int32_t* col, size_t m0,
                size_t m1) const;
  void ColBlock8(const int8_t* in, uint8_t* rows, int32_t* col, size_t m0, size_t m1) const;
  void PreparePhases8();
  void EvalPhases8(OpContext& ctx, const int8_t* in, const int32_t* bias, int8_t* out);
  // One worker's A rows: col_block_ rows of lda_ int16 (bytes for q8_).
  size_t ArowsBytes() const { return col_block_ * lda_ * (q8_ ? 1 : sizeof(int16_t)); }

  TcKind kind_ = TcKind::kInt8;
  int batches_ = 0, in_h_ = 0, in_w_ = 0, in_c_ = 0;
  int out_h_ = 0, out_w_ = 0, out_c_ = 0;
  int kh_ = 0, kw_ = 0, sh_ = 1, sw_ = 1, pad_t_ = 0, pad_l_ = 0;
  std::vector<int16_t> weights_;  // [ky][kx][oc][ic], centered
  // 8-bit and hybrid kernels: the weights packed for qconv::QGemmRows as
  // n = KH*KW*Cout rows of Cin; the GEMM of all input pixels fills `col`
  // ([pixel][tap][oc] int32), then each output row gathers its sums.
  std::vector<int16_t> packed_;
  // int8 on VNNI (q8_): the same weights for qconv::Q8Gemm, and the columns'
  // initial sums; A rows of lda_ bytes then.
  bool q8_ = false;
  std::vector<int8_t> packed8_;
  std::vector<int32_t> col_init8_;
  // int8 on VNNI with Cin a multiple of 4, every phase with a tap: the output
  // pixels split by their position modulo the stride (a phase). Every pixel
  // of a phase takes the same filter taps at the same input offsets, so a
  // phase is an ordinary convolution with those taps: the tap-pointer 8-bit
  // GEMM with the output stage fused, one output row of a phase at a time
  // (no column buffer, no gather).
  struct Phase {
    std::vector<int> dy, dx;  // per tap: the input row / column offset from (oy / sh, ox / sw)
    std::vector<int8_t> packed;       // the taps' weights ([Cout][taps * Cin]), PackQ8B
    std::vector<int32_t> correction;  // PackQ8B's offsets: -(128 + input zero point) * their sum (x86)
  };
  std::vector<Phase> phases8_;  // [oy % sh][ox % sw]
  size_t phase_taps_ = 0;       // the most taps of a phase
  int scratch_u8_ = -1, scratch_bias8_ = -1, scratch_runs_ = -1;
  size_t lda_ = 0, col_block_ = 0;
  int scratch_col_ = -1, scratch_arows_ = -1;
  std::vector<float> filter_scale_;
  std::vector<int32_t> filter_zp_, mult_q_;
  std::vector<int> shift_q_;
  qconv::ChannelRequant requant_;  // 8-bit output stage
  int32_t in_zp_ = 0, out_zp_ = 0, act_lo_ = 0, act_hi_ = 0;
  FloatRange act_;
  bool bias64_ = false;
  int workers_ = 1;
  int scratch_slot_ = -1, scratch_qin_ = -1, scratch_bparams_ = -1;
  size_t slot_bytes_ = 0;
};

TfLiteStatus QuantTransposeConv::Prepare(OpContext& ctx) {
  TFC_ENSURE_MSG(ctx, ctx.num_inputs() == 3 || ctx.num_inputs() == 4,
                 "expected 3 or 4 inputs, got %d", ctx.num_inputs());
  TFC_ENSURE_MSG(ctx, ctx.num_outputs() == 1, "expected 1 output, got %d", ctx.num_outputs());
  const TfLiteTensor* shape = ctx.input(0);
  const TfLiteTensor* weights = ctx.input(1);
  const TfLiteTensor* input = ctx.input(2);
  const TfLiteTensor* bias = ctx.input(3);
  TfLiteTensor* output = ctx.output(0);
  TFC_ENSURE_MSG(ctx, shape && weights && input && output, "missing input or output tensor");
  const TfLiteType it = input->type, ft = weights->type;
  if (it == kTfLiteInt8 && ft == kTfLiteInt8)
    kind_ = TcKind::kInt8;
  else if (it == kTfLiteUInt8 && ft == kTfLiteUInt8)
    kind_ = TcKind::kUint8;
  else if (it == kTfLiteInt16 && ft == kTfLiteInt8)
    kind_ = TcKind::k16x8;
  else if (it == kTfLiteFloat32 && ft == kTfLiteInt8)
    kind_ = TcKind::kHybrid;
  else
    return ctx.ErrorStatus(kTfLiteUnresolvedOps, "%s input with %s weights is not supported",
                           TypeName(it), TypeName(ft));
  TFC_ENSURE_MSG(ctx, output->type == it, "output type %s differs from input type %s",
                 TypeName(output->type), TypeName(it));
  TFC_ENSURE_TYPE(ctx, shape, kTfLiteInt32);
  TFC_ENSURE_MSG(ctx, shape->rank() == 1 && shape->dim(0) == 4,
                 "output_shape must be an int32 vector of 4 elements");
  if (!shape->is_constant())
    return ctx.ErrorStatus(kTfLiteUnresolvedOps,
                           "quantized TRANSPOSE_CONV with a non-constant output_shape is not "
                           "supported");
  TFC_ENSURE_MSG(ctx, weights->is_constant(), "quantized TRANSPOSE_CONV needs constant weights");
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
  const char* why = qconv::FilterScales(weights, out_c_, 0, ft == kTfLiteInt8, &filter_scale_,
                                        &filter_zp_);
  if (why) return ctx.Error("%s", why);
  const auto* opt = ctx.options<fb::TransposeConvOptions>();
  bool act_ok = true;
  act_ = ActivationRange(
      opt ? opt->fused_activation_function() : fb::ActivationFunctionType_NONE, &act_ok);
  if (!act_ok) return ctx.Error("unsupported fused activation");
  if (kind_ == TcKind::kHybrid) {
    if (bias) TFC_ENSURE_TYPE(ctx, bias, kTfLiteFloat32);
  } else {
    if ((why = qconv::CheckActivationQuant(input))) return ctx.Error("input %s", why);
    if ((why = qconv::CheckActivationQuant(output))) return ctx.Error("output %s", why);
    in_zp_ = qconv::ZeroPointOf(input);
    out_zp_ = qconv::ZeroPointOf(output);
    const float in_s = qconv::ScaleOf(input), out_s = qconv::ScaleOf(output);
    if (kind_ == TcKind::kUint8) {
      TFC_ENSURE_MSG(ctx, weights->quant.scale.size() == 1,
                     "uint8 TRANSPOSE_CONV takes per-tensor quantized weights");
      int32_t m;
      int s;
      qconv::PerTensorMultiplierUint8(in_s, filter_scale_[0], out_s, &m, &s);
      mult_q_.assign(static_cast<size_t>(out_c_), m);
      shift_q_.assign(static_cast<size_t>(out_c_), s);
    } else {
      qconv::PerChannelMultipliers(in_s, filter_scale_, out_s, &mult_q_, &shift_q_);
    }
    TFC_ENSURE_MSG(ctx, kind_ != TcKind::k16x8 || qconv::Shifts16x8Ok(shift_q_), "%s", qconv::kShifts16x8Error);
    bias64_ = false;
    if (bias) {
      if (kind_ == TcKind::k16x8) {
        TFC_ENSURE_MSG(ctx, bias->type == kTfLiteInt64 || bias->type == kTfLiteInt32,
                       "16x8 TRANSPOSE_CONV takes an int64 or int32 bias, got %s",
                       TypeName(bias->type));
        bias64_ = bias->type == kTfLiteInt64;
      } else {
        TFC_ENSURE_TYPE(ctx, bias, kTfLiteInt32);
      }
    }
    int32_t lo, hi;
    qconv::TypeRange(it, &lo, &hi);
    QuantizedClampRange(act_.lo, act_.hi, out_s, out_zp_, lo, hi, &act_lo_, &act_hi_);
  }
  if (bias)
    TFC_ENSURE_MSG(ctx, bias->num_elements() == out_c_, "bias has %lld elements, expected %d",
                   static_cast<long long>(bias->num_elements()), out_c_);
  const fb::Padding padding = opt ? opt->padding() : fb::Padding_SAME;
  sw_ = opt ? opt->stride_w() : 1;
  sh_ = opt ? opt->stride_h() : 1;
  TFC_ENSURE_MSG(ctx, sw_ >= 1 && sh_ >= 1, "strides must be >= 1 (got %d, %d)", sh_, sw_);
  const int32_t* sv = shape->data_as<int32_t>();
  TFC_ENSURE_MSG(ctx, sv[0] == batches_, "output_shape batch %d differs from input batch %d",
                 sv[0], batches_);
  TFC_ENSURE_MSG(ctx, sv[3] == out_c_, "output_shape depth %d differs from weights' %d", sv[3],
                 out_c_);
  TFC_ENSURE_MSG(ctx, sv[1] >= 0 && sv[2] >= 0, "negative output_shape");
  out_h_ = sv[1];
  out_w_ = sv[2];
  ConvGeometry gh, gw;
  TFC_ENSURE_MSG(ctx,
                 ComputeTransposeConvPadding(padding, out_h_, kh_, sh_, &gh) &&
                     ComputeTransposeConvPadding(padding, out_w_, kw_, sw_, &gw),
                 "invalid padding/stride");
  pad_t_ = gh.pad_start;
  pad_l_ = gw.pad_start;
  int64_t tmp = 0, outn = 0, inn = 0, wn = 0;
  TFC_ENSURE_MSG(ctx,
                 CheckedMul(batches_, out_h_, &tmp) && CheckedMul(tmp, out_w_, &tmp) &&
                     CheckedMul(tmp, out_c_, &outn, int64_t{1} << 40),
                 "output too large");
  TFC_ENSURE_MSG(ctx, CheckedMul(batches_, in_h_, &tmp) && CheckedMul(tmp, in_w_, &inn) &&
                          CheckedMul(inn, in_c_, &inn, int64_t{1} << 40),
                 "input too large");
  TFC_ENSURE_MSG(ctx, CheckedMul(kh_, kw_, &tmp) && CheckedMul(tmp, out_c_, &wn) &&
                          CheckedMul(wn, in_c_, &wn) && in_c_ < 65536,
                 "weights too large");

  const size_t cin = static_cast<size_t>(in_c_), cout = static_cast<size_t>(out_c_);
  const size_t taps = static_cast<size_t>(kh_) * kw_;
  weights_.resize(static_cast<size_t>(wn));
  for (size_t oc = 0; oc < cout; ++oc)
    for (size_t t = 0; t < taps; ++t)
      for (size_t ic = 0; ic < cin; ++ic) {
        const size_t src = (oc * taps + t) * cin + ic;
        const int32_t w = ft == kTfLiteUInt8 ? int32_t{weights->data_as<uint8_t>()[src]}
                                             : int32_t{weights->data_as<int8_t>()[src]};
        weights_[(t * cout + oc) * cin + ic] = static_cast<int16_t>(w - filter_zp_[oc]);
      }
  // Fixed point: TensorFlow Lite's x86 build runs its NEON output stage
  // (through an SSE emulation) on whole groups of 8 channels, which rounds
  // ties upward; the remaining channels round ties away from zero.
  if (kind_ == TcKind::kInt8 || kind_ == TcKind::kUint8) {
    if (ctx.fixed_point_requantization())
      requant_.Init(mult_q_, shift_q_, cout / 8 * 8, out_zp_, act_lo_, act_hi_);
    else
      requant_.InitFloat(qconv::ChannelRequant::FloatScales(qconv::ScaleOf(input), filter_scale_,
                                                            qconv::ScaleOf(output)),
                         out_zp_, act_lo_, act_hi_);
  }
  workers_ = std::max(1, ctx.num_threads());
  scratch_col_ = scratch_arows_ = -1;
  packed_.clear();
  packed8_.clear();
  col_init8_.clear();
  q8_ = kind_ == TcKind::kInt8 && qconv::HasQ8Gemm();
  PreparePhases8();
  scratch_u8_ = scratch_bias8_ = scratch_runs_ = -1;
  if (!phases8_.empty()) {
    scratch_u8_ = ctx.RequestScratch(static_cast<size_t>(inn) + cin);
    scratch_bias8_ = ctx.RequestScratch(phases8_.size() * cout * sizeof(int32_t));
    const size_t row_runs = (static_cast<size_t>(out_w_) + qconv::kQ8MR - 1) / qconv::kQ8MR *
                            qconv::kQ8MR * phase_taps_;
    scratch_runs_ = ctx.RequestScratch(static_cast<size_t>(workers_) * row_runs * sizeof(uint8_t*));
  } else if (kind_ != TcKind::k16x8) {
    const size_t n = taps * cout;
    if (q8_) {  // int8 weights (zero point 0): weights_ holds them as they are
      const std::vector<int8_t> w8(weights_.begin(), weights_.end());
      packed8_.resize(qconv::PackedQ8BSize(cin, n));
      col_init8_.resize(n);
      qconv::PackQ8B(w8.data(), n, cin, in_zp_, packed8_.data(), col_init8_.data());
      lda_ = qconv::Q8RowStride(cin);
      col_block_ = std::max<size_t>(qconv::kQ8MR, std::min<size_t>(64, 32768 / lda_) / 8 * 8);
    } else {
      packed_.resize(qconv::PackedQBSize(cin, n));
      qconv::PackQB(weights_.data(), n, cin, packed_.data());
      lda_ = 2 * qconv::PairCount(cin);
      col_block_ = std::max<size_t>(qconv::kQMR, std::min<size_t>(64, 16384 / lda_) / 4 * 4);
    }
    int64_t coln = 0;
    TFC_ENSURE_MSG(ctx, CheckedMul(inn / in_c_, static_cast<int64_t>(n), &coln, int64_t{1} << 36),
                   "input too large");
    scratch_col_ = ctx.RequestScratch(static_cast<size_t>(coln) * sizeof(int32_t));
    scratch_arows_ = ctx.RequestScratch(static_cast<size_t>(workers_) * ArowsBytes());
  }
  // Per worker: accumulators of one output row (int64), one centered input
  // pixel, one tap's dot products.
  slot_bytes_ = (static_cast<size_t>(out_w_) * cout * sizeof(int64_t) + cin * sizeof(int16_t) +
                 cout * sizeof(int32_t) + 3 * 64 + 63) / 64 * 64;
  scratch_slot_ = ctx.RequestScratch(static_cast<size_t>(workers_) * slot_bytes_);
  scratch_qin_ = scratch_bparams_ = -1;
  if (kind_ == TcKind::kHybrid) {
    scratch_qin_ = ctx.RequestScratch(static_cast<size_t>(inn) + 1);
    scratch_bparams_ =
        ctx.RequestScratch((static_cast<size_t>(batches_) + 1) * (sizeof(int32_t) + sizeof(float)));
  }
  return ctx.ResizeOutput(0, {batches_, out_h_, out_w_, out_c_});
}

template <class T>
void QuantTransposeConv::Rows(const T* in, const int32_t* batch_zp, const float* batch_scale,
                              const void* bias, void* out, char* slot, const int32_t* col,
                              int64_t r0, int64_t r1) const {
  const size_t cin = static_cast<size_t>(in_c_), cout = static_cast<size_t>(out_c_);
  const size_t row_n = static_cast<size_t>(out_w_) * cout;
  int64_t* acc = reinterpret_cast<int64_t*>(slot);
  int16_t* pix = reinterpret_cast<int16_t*>(slot + (row_n * sizeof(int64_t) + 63) / 64 * 64);
  int32_t* dots =
      reinterpret_cast<int32_t*>(reinterpret_cast<char*>(pix) + (cin * sizeof(int16_t) + 63) / 64 * 64);
  const bool wide = kind_ == TcKind::k16x8;
  for (int64_t r = r0; r < r1; ++r) {
    const int b = static_cast<int>(r / out_h_);
    const int oy = static_cast<int>(r % out_h_);
    const int32_t zp = batch_zp ? batch_zp[b] : in_zp_;
    if (col && kind_ != TcKind::kHybrid) {  // 8-bit: sums wrap to int32 anyway
      GatherRow8(col, bias, out, reinterpret_cast<uint32_t*>(slot), b, oy, r);
      continue;
    }
    if (col) {  // hybrid
      GatherCols(col, acc, b, oy);
    } else {  // 16x8: each input pixel centered once, times the weights of its taps
      for (size_t i = 0; i < row_n; ++i) acc[i] = 0;
      ForEachSource(b, oy, [&](size_t pixel, int ky, int ox0) {
        const T* p = in + pixel * cin;
        for (size_t c = 0; c < cin; ++c) pix[c] = static_cast<int16_t>(int32_t{p[c]} - zp);
        for (int kx = 0; kx < kw_; ++kx) {
          const int ox = ox0 + kx;
          if (ox < 0 || ox >= out_w_) continue;
          const int16_t* w =
              weights_.data() + (static_cast<size_t>(ky) * kw_ + kx) * cout * cin;
          int64_t* a = acc + static_cast<size_t>(ox) * cout;
          if (wide) {
            for (size_t oc = 0; oc < cout; ++oc) {
              const int16_t* wr = w + oc * cin;
              int64_t s = 0;
              for (size_t c = 0; c < cin; ++c) s += int64_t{int32_t{pix[c]} * int32_t{wr[c]}};
              a[oc] += s;
            }
          } else {
            qconv::RowTimesWeights(pix, w, cout, cin, cin, dots);
            for (size_t oc = 0; oc < cout; ++oc) a[oc] += dots[oc];
          }
        }
      });
    }
    const size_t o0 = static_cast<size_t>(r) * row_n;
    for (size_t i = 0; i < row_n; ++i) {
      const size_t c = i % cout;
      switch (kind_) {
        case TcKind::kHybrid: {
          const float* bi = static_cast<const float*>(bias);
          const float s = filter_scale_[c] * batch_scale[b];
          float v = static_cast<float>(acc[i]) * s;
          if (bi) v += bi[c];
          v = std::max(v, act_.lo);
          static_cast<float*>(out)[o0 + i] = std::min(v, act_.hi);
          break;
        }
        case TcKind::k16x8: {
          int64_t v = acc[i];
          if (bias)
            v += bias64_ ? static_cast<const int64_t*>(bias)[c]
                         : int64_t{static_cast<const int32_t*>(bias)[c]};
          static_cast<int16_t*>(out)[o0 + i] = static_cast<int16_t>(
              qconv::Requantize16(v, mult_q_[c], shift_q_[c], out_zp_, act_lo_, act_hi_));
          break;
        }
        default:  // 8-bit: above
          break;
      }
    }
  }
}

// fn(pixel, ky, ox0) for every input pixel of batch b whose filter row ky
// lands on output row oy and whose taps reach the row somewhere: its taps kx
// land on ox0 + kx (those inside [0, out_w) count).
template <class F>
void QuantTransposeConv::ForEachSource(int b, int oy, F fn) const {
  for (int ky = 0; ky < kh_; ++ky) {
    const int t = oy + pad_t_ - ky;
    if (t < 0 || t % sh_ != 0) continue;
    const int iy = t / sh_;
    if (iy >= in_h_) continue;
    for (int ix = 0; ix < in_w_; ++ix) {
      // In 64 bits: a hostile stride times the column overflows an int.
      const int64_t ox0 = int64_t{ix} * sw_ - pad_l_;
      if (ox0 >= out_w_) break;  // this column's taps and every later one's are past the row
      if (ox0 + kw_ <= 0) continue;
      fn((static_cast<size_t>(b) * in_h_ + iy) * in_w_ + ix, ky, static_cast<int>(ox0));
    }
  }
}

// acc (out_w * Cout values of type A) = the col sums of every (input pixel,
// tap) landing on output row oy of batch b.
template <class A>
void QuantTransposeConv::GatherCols(const int32_t* col, A* acc, int b, int oy) const {
  const size_t ncol = static_cast<size_t>(kh_) * kw_ * out_c_;
  const size_t cout = static_cast<size_t>(out_c_);
  std::memset(acc, 0, static_cast<size_t>(out_w_) * cout * sizeof(A));
  ForEachSource(b, oy, [&](size_t pixel, int ky, int ox0) {
    for (int kx = 0; kx < kw_; ++kx) {
      const int ox = ox0 + kx;
      if (ox < 0 || ox >= out_w_) continue;
      const int32_t* src = col + pixel * ncol + (static_cast<size_t>(ky) * kw_ + kx) * cout;
      A* a = acc + static_cast<size_t>(ox) * cout;
      for (size_t oc = 0; oc < cout; ++oc) a[oc] += static_cast<A>(src[oc]);
    }
  });
}

// Output row r (batch b, row oy) of the 8-bit kernels: the col sums of every
// (input pixel, tap) landing on it added in uint32 (the int32 wrap of the
// reference's int64 sums), then requantized. acc: out_w * Cout values.
void QuantTransposeConv::GatherRow8(const int32_t* col, const void* bias, void* out,
                                   uint32_t* acc, int b, int oy, int64_t r) const {
  const size_t cout = static_cast<size_t>(out_c_);
  const size_t row_n = static_cast<size_t>(out_w_) * cout;
  GatherCols(col, acc, b, oy);
  const int32_t* bi = static_cast<const int32_t*>(bias);
  const int32_t* a32 = reinterpret_cast<const int32_t*>(acc);
  const size_t o0 = static_cast<size_t>(r) * row_n;
  for (size_t p = 0; p < row_n; p += cout) {
    if (kind_ == TcKind::kInt8)
      qconv::RequantizeRow(requant_, a32 + p, bi, cout, static_cast<int8_t*>(out) + o0 + p);
    else
      qconv::RequantizeRow(requant_, a32 + p, bi, cout, static_cast<uint8_t*>(out) + o0 + p);
  }
}

// col rows [m0, m1) (input pixels): centered input rows times the packed weights.
template <class T>
void QuantTransposeConv::ColBlock(const T* in, const int32_t* batch_zp, int16_t* rows,
                                  int32_t* col, size_t m0, size_t m1) const {
  const size_t cin = static_cast<size_t>(in_c_);
  const size_t n = static_cast<size_t>(kh_) * kw_ * out_c_;
  const size_t plane = static_cast<size_t>(in_h_) * in_w_;
  for (size_t b0 = m0; b0 < m1; b0 += col_block_) {
    const size_t b1 = std::min(m1, b0 + col_block_);
    for (size_t m = b0; m < b1; ++m) {
      const int32_t zp = batch_zp ? batch_zp[m / plane] : in_zp_;
      const T* p = in + m * cin;
      int16_t* d = rows + (m - b0) * lda_;
      qconv::CenterCopy(p, d, cin, zp);
      if (lda_ > cin) d[cin] = 0;
    }
    qconv::QGemmRows(rows, b1 - b0, lda_, packed_.data(), cin, n, col + b0 * n, n);
  }
}

// The same for int8 on VNNI (q8_): the input rows made unsigned, then the 8-bit GEMM.
void QuantTransposeConv::ColBlock8(const int8_t* in, uint8_t* rows, int32_t* col, size_t m0,
                                   size_t m1) const {
#if TFC_Q8GEMM
  const size_t cin = static_cast<size_t>(in_c_);
  const size_t n = static_cast<size_t>(kh_) * kw_ * out_c_;
  for (size_t b0 = m0; b0 < m1; b0 += col_block_) {
    const size_t b1 = std::min(m1, b0 + col_block_);
    if (lda_ == cin) {  // Cin a multiple of 4: the rows are one run
      qconv::ToUnsigned(in + b0 * cin, rows, (b1 - b0) * cin);
    } else {
      for (size_t m = b0; m < b1; ++m) {
        uint8_t* d = rows + (m - b0) * lda_;
        qconv::ToUnsigned(in + m * cin, d, cin);
        std::memset(d + cin, 0, lda_ - cin);
      }
    }
    qconv::Q8Gemm(rows, b1 - b0, lda_, packed8_.data(), cin, n,
                  static_cast<const qconv::ChannelRequant*>(nullptr), col_init8_.data(),
                  col + b0 * n, n);
  }
#else
  (void)in, (void)rows, (void)col, (void)m0, (void)m1;
#endif
}

// phases8_ (see there) from weights_, when the 8-bit GEMM runs, Cin is a
// multiple of 4 and every phase has a tap; else empty.
void QuantTransposeConv::PreparePhases8() {
  phases8_.clear();
  phase_taps_ = 0;
  if (!q8_ || in_c_ % 4 != 0) return;
  const size_t cin = static_cast<size_t>(in_c_), cout = static_cast<size_t>(out_c_);
  for (int py = 0; py < sh_; ++py) {
    for (int px = 0; px < sw_; ++px) {
      // Output oy = sh * i + py takes filter row ky from input row i + (py + pad_t - ky) / sh
      // when that divides evenly; columns alike.
      Phase ph;
      std::vector<size_t> taps;
      for (int ky = 0; ky < kh_; ++ky) {
        const int a = py + pad_t_ - ky;
        if (a % sh_ != 0) continue;
        for (int kx = 0; kx < kw_; ++kx) {
          const int b = px + pad_l_ - kx;
          if (b % sw_ != 0) continue;
          taps.push_back(static_cast<size_t>(ky) * kw_ + kx);
          ph.dy.push_back(a / sh_);
          ph.dx.push_back(b / sw_);
        }
      }
      if (taps.empty()) {  // a stride beyond the filter: that phase is the bias alone
        phases8_.clear();
        return;
      }
      const size_t k = taps.size() * cin;
      std::vector<int8_t> w8(cout * k);
      for (size_t oc = 0; oc < cout; ++oc)
        for (size_t t = 0; t < taps.size(); ++t)
          for (size_t ic = 0; ic < cin; ++ic)
            w8[oc * k + t * cin + ic] = static_cast<int8_t>(weights_[(taps[t] * cout + oc) * cin + ic]);
      ph.packed.resize(qconv::PackedQ8BSize(k, cout));
      ph.correction.resize(cout);
      qconv::PackQ8B(w8.data(), cout, k, in_zp_, ph.packed.data(), ph.correction.data());
      phase_taps_ = std::max(phase_taps_, taps.size());
      phases8_.push_back(std::move(ph));
    }
  }
}

// The phases8_ path: the input made unsigned once (then one padding pixel of
// the zero point, for taps outside the image), each phase's bias with its
// correction, then the output rows split over the workers; a row's pixels of
// phase (oy % sh, px) are the GEMM rows, ox = px + sw * j, out stride sw * Cout.
void QuantTransposeConv::EvalPhases8(OpContext& ctx, const int8_t* in, const int32_t* bias,
                                     int8_t* out) {
#if TFC_Q8GEMM
  const size_t cin = static_cast<size_t>(in_c_), cout = static_cast<size_t>(out_c_);
  const size_t count = static_cast<size_t>(batches_) * in_h_ * in_w_ * cin;
  const int64_t rows = static_cast<int64_t>(batches_) * out_h_;
  ThreadPool& pool = ctx.pool();
  const double macs = static_cast<double>(count) * kh_ * kw_ * cout;
  const int workers = gemm::Workers(pool, macs, gemm::kMinParallelMacs, rows, workers_);
  uint8_t* u8 = static_cast<uint8_t*>(ctx.Scratch(scratch_u8_));
  qconv::UnsignedImage(pool, workers > 1, in, count, in_zp_, cin, u8);
  const uint8_t* pad = u8 + count;
  int32_t* bias8 = static_cast<int32_t*>(ctx.Scratch(scratch_bias8_));
  for (size_t p = 0; p < phases8_.size(); ++p)
    for (size_t oc = 0; oc < cout; ++oc)
      bias8[p * cout + oc] = static_cast<int32_t>(static_cast<uint32_t>(bias ? bias[oc] : 0) +
                                                  static_cast<uint32_t>(phases8_[p].correction[oc]));
  const uint8_t** runs_all = static_cast<const uint8_t**>(ctx.Scratch(scratch_runs_));
  const size_t runs_per_worker = (static_cast<size_t>(out_w_) + qconv::kQ8MR - 1) / qconv::kQ8MR *
                                 qconv::kQ8MR * phase_taps_;
  auto chunk = [&](int64_t r0, int64_t r1, int thread) {
    const uint8_t** runs = runs_all + static_cast<size_t>(thread) * runs_per_worker;
    for (int64_t r = r0; r < r1; ++r) {
      const int n = static_cast<int>(r / out_h_), oy = static_cast<int>(r % out_h_);
      const int py = oy % sh_, i = oy / sh_;
      for (int px = 0; px < sw_ && px < out_w_; ++px) {
        const Phase& ph = phases8_[static_cast<size_t>(py) * sw_ + px];
        const size_t taps = ph.dy.size();
        const size_t cols = static_cast<size_t>((out_w_ - px + sw_ - 1) / sw_);
        const uint8_t** run = runs;
        for (size_t j = 0; j < cols; ++j)
          for (size_t t = 0; t < taps; ++t) {
            const int iy = i + ph.dy[t], ix = static_cast<int>(j) + ph.dx[t];
            *run++ = iy >= 0 && iy < in_h_ && ix >= 0 && ix < in_w_
                         ? u8 + ((static_cast<size_t>(n) * in_h_ + iy) * in_w_ + ix) * cin
                         : pad;
          }
        const size_t tail = (cols + qconv::kQ8MR - 1) / qconv::kQ8MR * qconv::kQ8MR;
        for (size_t k = cols * taps; k < tail * taps; ++k) runs[k] = pad;
        const size_t p = static_cast<size_t>(py) * sw_ + px;
        int8_t* o = out + ((static_cast<size_t>(n) * out_h_ + oy) * out_w_ + px) * cout;
        qconv::Q8GemmRequantIndirect(runs, cols, taps, cin, ph.packed.data(), cout, requant_,
                                     bias8 + p * cout, o, static_cast<size_t>(sw_) * cout);
      }
    }
  };
  if (workers == 1)
    chunk(0, rows, 0);
  else
    pool.ParallelFor(rows, 1, chunk);
#else
  (void)ctx, (void)in, (void)bias, (void)out;
#endif
}

TfLiteStatus QuantTransposeConv::Eval(OpContext& ctx) {
  const TfLiteTensor* input = ctx.input(2);
  const TfLiteTensor* bias = ctx.input(3);
  TfLiteTensor* output = ctx.output(0);
  const int64_t rows = static_cast<int64_t>(batches_) * out_h_;
  if (rows == 0 || out_w_ == 0) return kTfLiteOk;
  if (!phases8_.empty()) {
    EvalPhases8(ctx, input->data_as<int8_t>(), bias ? bias->data_as<int32_t>() : nullptr,
                output->data_as<int8_t>());
    return kTfLiteOk;
  }
  const void* bias_data = bias ? bias->data : nullptr;
  void* out = output->data;
  char* scratch = static_cast<char*>(ctx.Scratch(scratch_slot_));
  const int32_t* batch_zp = nullptr;
  const float* batch_scale = nullptr;
  const int8_t* qin = nullptr;
  if (kind_ == TcKind::kHybrid) {
    int8_t* q = static_cast<int8_t*>(ctx.Scratch(scratch_qin_));
    char* bp = static_cast<char*>(ctx.Scratch(scratch_bparams_));
    int32_t* zps = reinterpret_cast<int32_t*>(bp);
    float* scales =
        reinterpret_cast<float*>(bp + (static_cast<size_t>(batches_) + 1) * sizeof(int32_t));
    const size_t per_batch = static_cast<size_t>(in_h_) * in_w_ * in_c_;
    const float* x = input->data_as<float>();
    for (int b = 0; b < batches_; ++b) {
      const size_t off = static_cast<size_t>(b) * per_batch;
      scales[b] = qconv::QuantizeAsymmetric(x + off, per_batch, q + off, &zps[b]);
    }
    qin = q;
    batch_zp = zps;
    batch_scale = scales;
  }
  ThreadPool& pool = ctx.pool();
  const double macs = static_cast<double>(batches_) * in_h_ * in_w_ * kh_ * kw_ * out_c_ * in_c_;
  const int workers = gemm::Workers(pool, macs, gemm::kMinParallelMacs, rows, workers_);
  int32_t* col = nullptr;
  if (kind_ != TcKind::k16x8) {
    col = static_cast<int32_t*>(ctx.Scratch(scratch_col_));
    char* arows = static_cast<char*>(ctx.Scratch(scratch_arows_));
    const size_t pixels = static_cast<size_t>(batches_) * in_h_ * in_w_;
    auto gemm_chunk = [&](int64_t b, int64_t e, int thread) {
      char* a = arows + static_cast<size_t>(thread) * ArowsBytes();
      const size_t m0 = static_cast<size_t>(b), m1 = static_cast<size_t>(e);
      if (q8_) {
        ColBlock8(input->data_as<int8_t>(), reinterpret_cast<uint8_t*>(a), col, m0, m1);
        return;
      }
      int16_t* a16 = reinterpret_cast<int16_t*>(a);
      switch (kind_) {
        case TcKind::kHybrid: ColBlock(qin, batch_zp, a16, col, m0, m1); break;
        case TcKind::kInt8: ColBlock(input->data_as<int8_t>(), nullptr, a16, col, m0, m1); break;
        default: ColBlock(input->data_as<uint8_t>(), nullptr, a16, col, m0, m1); break;
      }
    };
    if (workers == 1)
      gemm_chunk(0, static_cast<int64_t>(pixels), 0);
    else
      pool.ParallelFor(static_cast<int64_t>(pixels), 1, gemm_chunk);
  }
  auto chunk = [&](int64_t r0, int64_t r1, int thread) {
    char* slot = scratch + static_cast<size_t>(thread) * slot_bytes_;
    switch (kind_) {
      case TcKind::kHybrid:
        Rows(qin, batch_zp, batch_scale, bias_data, out, slot, col, r0, r1);
        break;
      case TcKind::kInt8:
        Rows(input->data_as<int8_t>(), nullptr, nullptr, bias_data, out, slot, col, r0, r1);
        break;
      case TcKind::kUint8:
        Rows(input->data_as<uint8_t>(), nullptr, nullptr, bias_data, out, slot, col, r0, r1);
        break;
      case TcKind::k16x8:
        Rows(input->data_as<int16_t>(), nullptr, nullptr, bias_data, out, slot, nullptr, r0, r1);
        break;
    }
  };
  if (workers == 1)
    chunk(0, rows, 0);
  else
    pool.ParallelFor(rows, 1, chunk);
  return kTfLiteOk;
}

// Picks the float or the quantized / hybrid implementation from the types.
class TransposeConv final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override {
    const TfLiteTensor* weights = ctx.input(1);
    const TfLiteTensor* input = ctx.input(2);
    const bool quant = input && weights &&
                       (input->type == kTfLiteInt8 || input->type == kTfLiteUInt8 ||
                        input->type == kTfLiteInt16 ||
                        (input->type == kTfLiteFloat32 && weights->type != kTfLiteFloat32));
    if (!impl_ || quant != quant_) {
      if (quant)
        impl_ = std::make_unique<QuantTransposeConv>();
      else
        impl_ = std::make_unique<FloatTransposeConv>();
      quant_ = quant;
    }
    return impl_->Prepare(ctx);
  }
  TfLiteStatus Eval(OpContext& ctx) override { return impl_->Eval(ctx); }
  size_t OwnedBytes() const override { return HeapBytes(impl_); }

 private:
  std::unique_ptr<OpKernel> impl_;
  bool quant_ = false;
};

}  // namespace

TFC_REGISTER_OP(TRANSPOSE_CONV, 1, 5, TransposeConv);

}  // namespace tfc
