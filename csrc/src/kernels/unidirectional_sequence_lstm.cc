// UNIDIRECTIONAL_SEQUENCE_LSTM: float32, hybrid (float activations, int8
// weights; see PrepareHybrid) and full integer (int8 activations, int16 cell
// state; see PrepareInteger). The states live in the variable inputs 18 and
// 19 across invokes (reset_all_variables resets them).
//
// Inputs (absent optional ones have index -1):
//   0 input [T, B, n_input] (time_major) or [B, T, n_input]
//   1..4  input_to_{input,forget,cell,output}_weights     [n_cell, n_input]
//   5..8  recurrent_to_{input,forget,cell,output}_weights [n_cell, n_output]
//         ([n_cell] each with diagonal_recurrent_tensors)
//   9..11 cell_to_{input,forget,output}_weights (peephole) [n_cell]
//   12..15 {input,forget,cell,output}_gate_bias           [n_cell]
//   16 projection_weights [n_output, n_cell], 17 projection_bias [n_output]
//   18 output_state [B, n_output], 19 cell_state [B, n_cell] (variables)
//   20..23 {input,forget,cell,output}_layer_norm_coefficients [n_cell]
// CIFG (no input gate) when input_to_input_weights is absent: i = 1 - f.
//
// Per step t, for each gate g: pre_g = Wx_g x_t + Wh_g h_{t-1} (+ peephole
// w_g * c_{t-1} for i and f); with layer norm pre_g = norm(pre_g) * ln_g +
// bias_g, else pre_g += bias_g. i, f, o use the logistic function, the cell
// gate the fused activation. c_t = f c_{t-1} + i g (clipped to +-cell_clip
// when > 0); o additionally sees w_o * c_t (peephole on the new cell);
// h_t = o * act(c_t) (see Eval for activation NONE), then projected (+ bias, clipped to +-proj_clip when > 0).
//
// Float: the input contributions of all steps are one GEMM before the loop
// (weights of the gates packed side by side, bias fused when there is no
// layer norm); each step then runs one recurrent GEMM over the batch.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/kernel.h"
#include "kernels/util/activation.h"
#include "kernels/util/conv_util.h"
#include "kernels/util/gemm.h"
#include "kernels/util/lstm_fixed_point.h"
#include "kernels/util/quant_math.h"

namespace tfc {
namespace {

enum : int {
  kInput = 0,
  kInputToInput = 1,    // .. 4
  kRecurrentToInput = 5,  // .. 8
  kCellToInput = 9,     // .. 11 (input, forget, output)
  kInputGateBias = 12,  // .. 15
  kProjectionWeights = 16,
  kProjectionBias = 17,
  kOutputState = 18,
  kCellState = 19,
  kInputLayerNorm = 20,  // .. 23
};
enum Gate : int { kI = 0, kF = 1, kC = 2, kO = 3 };

constexpr float kLayerNormEpsilon = 1e-8f;

inline float Logistic(float x) { return 1.f / (1.f + std::exp(-x)); }

// v = (v - mean(v)) / sqrt(var(v) + eps) * coeff + bias, with the mean and
// the (two-pass) variance accumulated in float as the format's kernels do.
void LayerNorm(float* v, size_t n, const float* coeff, const float* bias) {
  float sum = 0.f;
  for (size_t j = 0; j < n; ++j) sum += v[j];
  const float mean = sum / static_cast<float>(n);
  float sq = 0.f;
  for (size_t j = 0; j < n; ++j) sq += (v[j] - mean) * (v[j] - mean);
  const float inv = 1.f / std::sqrt(sq / static_cast<float>(n) + kLayerNormEpsilon);
  for (size_t j = 0; j < n; ++j) v[j] = (v[j] - mean) * inv * coeff[j] + bias[j];
}

class UnidirectionalSequenceLstm final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override;
  TfLiteStatus Eval(OpContext& ctx) override;
  size_t OwnedBytes() const override {
    size_t total = HeapBytes(packed_, row_sums_, proj_bias_eff_);
    for (const IntegerGate& g : igate_) total += HeapBytes(g.x_bias, g.h_bias);
    return total;
  }

 private:
  enum class Mode { kFloat, kHybrid, kInteger };

  size_t PackedFloats() const;
  void Pack(OpContext& ctx, float* dst);
  void ApplyActivation(float* v, size_t n) const;

  // Hybrid: float activations and states, int8 weights (see PrepareHybrid).
  TfLiteStatus PrepareHybrid(OpContext& ctx, int64_t rows);
  TfLiteStatus EvalHybrid(OpContext& ctx);
  void ComputeRowSums(OpContext& ctx);
  // Full integer "8x8_16" (see PrepareInteger).
  TfLiteStatus PrepareInteger(OpContext& ctx, int64_t rows);
  TfLiteStatus EvalInteger(OpContext& ctx);

  Mode mode_ = Mode::kFloat;

  int t_ = 0, b_ = 0, n_input_ = 0, n_cell_ = 0, n_output_ = 0;
  bool time_major_ = true;
  bool cifg_ = false, peephole_ = false, layer_norm_ = false, projection_ = false;
  bool diagonal_ = false;
  fb::ActivationFunctionType act_ = fb::ActivationFunctionType_TANH;
  float cell_clip_ = 0.f, proj_clip_ = 0.f;
  int gates_ = 4;          // 3 with CIFG
  int gate_slot_[4] = {};  // column block of each gate in the packed matrices (-1: none)
  bool packed_const_ = false;
  AlignedBuffer packed_;
  gemm::PackedB wx_, wh_, proj_;
  int scratch_pack_ = -1, scratch_xg_ = -1, scratch_hg_ = -1, scratch_h_ = -1;

  // ---- hybrid ----
  bool asymmetric_ = false;
  bool hybrid_weights_const_ = false;
  float wx_scale_[4] = {}, wh_scale_[4] = {}, peep_scale_[3] = {}, proj_scale_ = 0.f;
  // Row sums of the int8 matrices (asymmetric input quantization):
  // [0, 4) input weights, [4, 8) recurrent weights, 8 projection.
  std::vector<int32_t> row_sums_[9];
  int hs_qx_ = -1, hs_qh_ = -1, hs_qp_ = -1, hs_factors_ = -1, hs_gates_ = -1, hs_hbuf_ = -1,
      hs_peep_ = -1;

  // ---- integer ----
  struct IntegerGate {
    int32_t x_mult = 0, h_mult = 0, c_mult = 0, ln_mult = 0;
    int x_shift = 0, h_shift = 0, c_shift = 0, ln_shift = 0;
    int32_t variance_guard = 1;
    std::vector<int32_t> x_bias, h_bias;  // effective biases (zero points folded in)
  };
  IntegerGate igate_[4];
  int32_t hidden_mult_ = 0, proj_mult_ = 0;
  int hidden_shift_ = 0, proj_shift_ = 0;
  int32_t hidden_zp_ = 0, output_state_zp_ = 0;
  int cell_log2_ = 0;
  int16_t qcell_clip_ = 0;
  int8_t qproj_clip_ = 0;
  std::vector<int32_t> proj_bias_eff_;
  int is_gates_ = -1, is_hidden_ = -1;
};

inline int32_t DotInt8(const int8_t* a, const int8_t* b, size_t n) {
  int32_t acc = 0;
  for (size_t k = 0; k < n; ++k) acc += int32_t{a[k]} * int32_t{b[k]};
  return acc;
}

// Per-row quantization of float activations to int8 as the hybrid kernels of
// TensorFlow Lite do it. Symmetric: scale = max|x| / 127, q in [-127, 127].
// Asymmetric: [min(x, 0), max(x, 0)] mapped onto [-128, 127] with a nudged
// zero point. An all-zero row gets scale 1 (and zero point 0).
void QuantizeRowSymmetric(const float* x, size_t n, int8_t* q, float* scale) {
  float lo = x[0], hi = x[0];
  for (size_t i = 1; i < n; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
  const float range = std::max(std::fabs(lo), std::fabs(hi));
  if (range == 0.f) {
    std::memset(q, 0, n);
    *scale = 1.f;
    return;
  }
  *scale = range / 127.f;
  const float inv = 127.f / range;
  for (size_t i = 0; i < n; ++i) {
    const float r = RoundHalfAway(x[i] * inv);
    q[i] = static_cast<int8_t>(r > 127.f ? 127 : (r < -127.f ? -127 : static_cast<int32_t>(r)));
  }
}

void QuantizeRowAsymmetric(const float* x, size_t n, int8_t* q, float* scale, int32_t* zp) {
  float lo = x[0], hi = x[0];
  for (size_t i = 1; i < n; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
  const float rmin = std::min(0.f, lo);
  const float rmax = std::max(0.f, hi);
  if (rmin == rmax) {
    std::memset(q, 0, n);
    *scale = 1.f;
    *zp = 0;
    return;
  }
  // In float throughout, as the official runtime's optimized kernels.
  const float s = (rmax - rmin) / 255.f;
  const float min_over_s = rmin / s;
  const float max_over_s = rmax / s;
  const float zp_from_min = -128.f - min_over_s;
  const float zp_from_max = 127.f - max_over_s;
  const float err_min = 128.f + std::fabs(min_over_s);
  const float err_max = 127.f + std::fabs(max_over_s);
  const float zpf = err_min < err_max ? zp_from_min : zp_from_max;
  int32_t z = 0;
  if (!(zpf > -128.f))
    z = -128;
  else if (zpf >= 127.f)
    z = 127;
  else
    z = static_cast<int32_t>(std::round(zpf));
  *scale = s;
  *zp = z;
  const float inv = 1.f / s;
  const float zf = static_cast<float>(z);
  for (size_t i = 0; i < n; ++i) {
    const float prod = x[i] * inv;
    const float r = RoundHalfAway(zf + prod);
    q[i] = static_cast<int8_t>(r > 127.f ? 127 : (r < -128.f ? -128 : static_cast<int32_t>(r)));
  }
}

bool AllZero(const float* x, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (x[i] != 0.f) return false;
  return true;
}

// Scale of a per-tensor quantized tensor, or 0 when it has none / several.
float TensorScale(const TfLiteTensor* t) {
  if (!t || t->quant.scale.size() != 1) return 0.f;
  return t->quant.scale[0];
}
int32_t TensorZeroPoint(const TfLiteTensor* t) {
  if (!t || t->quant.zero_point.empty()) return 0;
  return static_cast<int32_t>(t->quant.zero_point[0]);
}
bool GoodScale(float s) { return std::isfinite(s) && s > 0.f; }

TfLiteStatus UnidirectionalSequenceLstm::Prepare(OpContext& ctx) {
  TFC_ENSURE_MSG(ctx, ctx.num_inputs() == 20 || ctx.num_inputs() == 24,
                 "expected 20 or 24 inputs, got %d", ctx.num_inputs());
  TFC_ENSURE_MSG(ctx, ctx.num_outputs() == 1, "expected 1 output, got %d", ctx.num_outputs());
  const TfLiteTensor* input = ctx.input(kInput);
  TfLiteTensor* output = ctx.output(0);
  TFC_ENSURE_MSG(ctx, input && output, "missing input or output tensor");
  const TfLiteTensor* wxf_type = ctx.input(kInputToInput + kF);
  TFC_ENSURE_MSG(ctx, wxf_type != nullptr, "missing input_to_forget_weights");
  if (input->type == kTfLiteFloat32 &&
      (wxf_type->type == kTfLiteInt8 || wxf_type->type == kTfLiteUInt8)) {
    mode_ = Mode::kHybrid;
  } else if (input->type == kTfLiteInt8) {
    mode_ = Mode::kInteger;
  } else if (input->type == kTfLiteUInt8 || input->type == kTfLiteInt16) {
    return ctx.ErrorStatus(kTfLiteUnresolvedOps, "%s inputs are not supported",
                           TypeName(input->type));
  } else {
    mode_ = Mode::kFloat;
    TFC_ENSURE_TYPE(ctx, input, kTfLiteFloat32);
    TFC_ENSURE_TYPE(ctx, output, kTfLiteFloat32);
    for (int i = 1; i < ctx.num_inputs(); ++i) {
      const TfLiteTensor* t = ctx.input(i);
      if (!t || t->type == kTfLiteFloat32) continue;
      return ctx.Error("input %d has type %s, expected FLOAT32", i, TypeName(t->type));
    }
  }
  TFC_ENSURE_MSG(ctx, input->rank() == 3, "input must have rank 3, has %d", input->rank());

  const auto* opt = ctx.options<fb::UnidirectionalSequenceLSTMOptions>();
  time_major_ = opt ? opt->time_major() : false;
  act_ = opt ? opt->fused_activation_function() : fb::ActivationFunctionType_NONE;
  cell_clip_ = opt ? opt->cell_clip() : 0.f;
  proj_clip_ = opt ? opt->proj_clip() : 0.f;
  diagonal_ = opt && opt->diagonal_recurrent_tensors();
  TFC_ENSURE_MSG(ctx, act_ != fb::ActivationFunctionType_SIGN_BIT &&
                          act_ >= fb::ActivationFunctionType_NONE &&
                          act_ <= fb::ActivationFunctionType_TANH,
                 "fused activation %d is not supported", static_cast<int>(act_));
  TFC_ENSURE_MSG(ctx, cell_clip_ >= 0.f && proj_clip_ >= 0.f, "negative clip value");

  t_ = time_major_ ? input->dim(0) : input->dim(1);
  b_ = time_major_ ? input->dim(1) : input->dim(0);
  n_input_ = input->dim(2);
  const TfLiteTensor* wxf = ctx.input(kInputToInput + kF);
  const TfLiteTensor* whf = ctx.input(kRecurrentToInput + kF);
  TFC_ENSURE_MSG(ctx, wxf && whf, "missing forget-gate weights");
  TFC_ENSURE_MSG(ctx, wxf->rank() == 2, "input_to_forget_weights must have rank 2");
  n_cell_ = wxf->dim(0);
  TFC_ENSURE_MSG(ctx, wxf->dim(1) == n_input_, "input_to_forget_weights has depth %d, input %d",
                 wxf->dim(1), n_input_);
  if (diagonal_) {
    TFC_ENSURE_MSG(ctx, whf->rank() == 1 && whf->dim(0) == n_cell_,
                   "diagonal recurrent weights must be [n_cell]");
    n_output_ = n_cell_;
  } else {
    TFC_ENSURE_MSG(ctx, whf->rank() == 2 && whf->dim(0) == n_cell_,
                   "recurrent_to_forget_weights must be [n_cell, n_output]");
    n_output_ = whf->dim(1);
  }
  TFC_ENSURE_MSG(ctx, t_ >= 0 && b_ >= 0 && n_input_ >= 1 && n_cell_ >= 1 && n_output_ >= 1,
                 "bad shapes");

  cifg_ = ctx.input(kInputToInput + kI) == nullptr;
  gates_ = cifg_ ? 3 : 4;
  int slot = 0;
  for (int g = 0; g < 4; ++g) gate_slot_[g] = (g == kI && cifg_) ? -1 : slot++;
  for (int g = 0; g < 4; ++g) {
    const TfLiteTensor* wx = ctx.input(kInputToInput + g);
    const TfLiteTensor* wh = ctx.input(kRecurrentToInput + g);
    const TfLiteTensor* bias = ctx.input(kInputGateBias + g);
    if (g == kI && cifg_) {
      TFC_ENSURE_MSG(ctx, !wh, "CIFG (no input_to_input_weights) with recurrent_to_input_weights");
      continue;
    }
    TFC_ENSURE_MSG(ctx, wx && wh && bias, "missing weights or bias of gate %d", g);
    TFC_ENSURE_MSG(ctx, wx->rank() == 2 && wx->dim(0) == n_cell_ && wx->dim(1) == n_input_,
                   "input weights of gate %d must be [%d, %d]", g, n_cell_, n_input_);
    if (diagonal_)
      TFC_ENSURE_MSG(ctx, wh->rank() == 1 && wh->dim(0) == n_cell_,
                     "diagonal recurrent weights of gate %d must be [%d]", g, n_cell_);
    else
      TFC_ENSURE_MSG(ctx, wh->rank() == 2 && wh->dim(0) == n_cell_ && wh->dim(1) == n_output_,
                     "recurrent weights of gate %d must be [%d, %d]", g, n_cell_, n_output_);
    TFC_ENSURE_MSG(ctx, bias->num_elements() == n_cell_, "bias of gate %d must have %d elements",
                   g, n_cell_);
  }
  // Peephole: all or none (the input one is absent with CIFG).
  const TfLiteTensor* pf = ctx.input(kCellToInput + 1);
  const TfLiteTensor* po = ctx.input(kCellToInput + 2);
  const TfLiteTensor* pi = ctx.input(kCellToInput + 0);
  peephole_ = pf || po || pi;
  if (peephole_) {
    TFC_ENSURE_MSG(ctx, pf && po && (cifg_ || pi), "incomplete peephole weights");
    TFC_ENSURE_MSG(ctx, !(cifg_ && pi), "CIFG with cell_to_input_weights");
    for (const TfLiteTensor* p : {pi, pf, po})
      if (p) TFC_ENSURE_MSG(ctx, p->num_elements() == n_cell_, "peephole weights must be [%d]", n_cell_);
  }
  // Projection.
  const TfLiteTensor* pw = ctx.input(kProjectionWeights);
  const TfLiteTensor* pb = ctx.input(kProjectionBias);
  projection_ = pw != nullptr;
  if (projection_) {
    TFC_ENSURE_MSG(ctx, pw->rank() == 2 && pw->dim(0) == n_output_ && pw->dim(1) == n_cell_,
                   "projection_weights must be [%d, %d]", n_output_, n_cell_);
    if (pb)
      TFC_ENSURE_MSG(ctx, pb->num_elements() == n_output_, "projection_bias must be [%d]",
                     n_output_);
  } else {
    TFC_ENSURE_MSG(ctx, !pb, "projection_bias without projection_weights");
    TFC_ENSURE_MSG(ctx, n_output_ == n_cell_,
                   "without projection the output size (%d) must equal the cell size (%d)",
                   n_output_, n_cell_);
  }
  // Layer norm: all or none.
  layer_norm_ = false;
  if (ctx.num_inputs() == 24) {
    int present = 0;
    for (int g = 0; g < 4; ++g) present += ctx.input(kInputLayerNorm + g) != nullptr;
    layer_norm_ = present > 0;
    if (layer_norm_) {
      for (int g = 0; g < 4; ++g) {
        const TfLiteTensor* ln = ctx.input(kInputLayerNorm + g);
        if (g == kI && cifg_) {
          TFC_ENSURE_MSG(ctx, !ln, "CIFG with input_layer_norm_coefficients");
          continue;
        }
        TFC_ENSURE_MSG(ctx, ln && ln->num_elements() == n_cell_,
                       "layer norm coefficients of gate %d must be [%d]", g, n_cell_);
      }
    }
  }
  // States.
  const TfLiteTensor* hs = ctx.input(kOutputState);
  const TfLiteTensor* cs = ctx.input(kCellState);
  TFC_ENSURE_MSG(ctx, hs && cs, "missing output_state or cell_state");
  TFC_ENSURE_MSG(ctx, hs->num_elements() == static_cast<int64_t>(b_) * n_output_,
                 "output_state must have %d x %d elements", b_, n_output_);
  TFC_ENSURE_MSG(ctx, cs->num_elements() == static_cast<int64_t>(b_) * n_cell_,
                 "cell_state must have %d x %d elements", b_, n_cell_);

  int64_t rows = 0, tmp = 0;
  TFC_ENSURE_MSG(ctx,
                 CheckedMul(t_, b_, &rows) && CheckedMul(rows, int64_t{gates_} * n_cell_, &tmp,
                                                         int64_t{1} << 40),
                 "sequence too large");

  if (mode_ == Mode::kHybrid) return PrepareHybrid(ctx, rows);
  if (mode_ == Mode::kInteger) return PrepareInteger(ctx, rows);
  TFC_ENSURE_TYPE(ctx, hs, kTfLiteFloat32);
  TFC_ENSURE_TYPE(ctx, cs, kTfLiteFloat32);

  // Weights: packed once when every one of them is constant.
  packed_const_ = true;
  for (int i = 1; i < ctx.num_inputs(); ++i) {
    if (i == kOutputState || i == kCellState) continue;
    const TfLiteTensor* t = ctx.input(i);
    if (t && !t->is_constant()) packed_const_ = false;
  }
  scratch_pack_ = -1;
  if (packed_const_) {
    if (!ctx.ReserveWeights(packed_, PackedFloats() * sizeof(float))) return ctx.Error("out of memory");
    Pack(ctx, static_cast<float*>(packed_.data()));
  } else {
    packed_.Release();
    scratch_pack_ = ctx.RequestScratch(PackedFloats() * sizeof(float));
  }
  const size_t gcols = static_cast<size_t>(gates_) * n_cell_;
  scratch_xg_ = ctx.RequestScratch(static_cast<size_t>(rows) * gcols * sizeof(float) + 64);
  scratch_hg_ = ctx.RequestScratch(static_cast<size_t>(b_) * gcols * sizeof(float) + 64);
  scratch_h_ = ctx.RequestScratch(static_cast<size_t>(b_) * n_cell_ * sizeof(float) + 64);
  if (time_major_) return ctx.ResizeOutput(0, {t_, b_, n_output_});
  return ctx.ResizeOutput(0, {b_, t_, n_output_});
}

size_t UnidirectionalSequenceLstm::PackedFloats() const {
  const size_t gcols = static_cast<size_t>(gates_) * n_cell_;
  size_t n = gemm::PackedSize(static_cast<size_t>(n_input_), gcols);
  if (!diagonal_) n += gemm::PackedSize(static_cast<size_t>(n_output_), gcols);
  if (projection_)
    n += gemm::PackedSize(static_cast<size_t>(n_cell_), static_cast<size_t>(n_output_));
  return n + gcols;  // + the gate biases side by side
}

// Packs the input and recurrent weights of the gates side by side (columns
// [slot * n_cell, (slot + 1) * n_cell) hold gate `slot`), and the projection.
void UnidirectionalSequenceLstm::Pack(OpContext& ctx, float* dst) {
  const size_t nc = static_cast<size_t>(n_cell_);
  const size_t gcols = static_cast<size_t>(gates_) * nc;
  const float* wx[4] = {};
  const float* wh[4] = {};
  float* bias = dst;  // gcols floats
  dst += gcols;
  for (int g = 0; g < 4; ++g) {
    const int s = gate_slot_[g];
    if (s < 0) continue;
    wx[s] = ctx.input(kInputToInput + g)->data_as<float>();
    wh[s] = ctx.input(kRecurrentToInput + g)->data_as<float>();
    std::memcpy(bias + static_cast<size_t>(s) * nc, ctx.input(kInputGateBias + g)->data_as<float>(),
                nc * sizeof(float));
  }
  const size_t ni = static_cast<size_t>(n_input_), no = static_cast<size_t>(n_output_);
  wx_ = gemm::PackB(ni, gcols, layer_norm_ ? nullptr : bias,
                    [&wx, nc, ni](size_t k, size_t j) { return wx[j / nc][(j % nc) * ni + k]; },
                    dst);
  dst += gemm::PackedSize(ni, gcols);
  if (!diagonal_) {
    wh_ = gemm::PackB(no, gcols, nullptr,
                      [&wh, nc, no](size_t k, size_t j) { return wh[j / nc][(j % nc) * no + k]; },
                      dst);
    dst += gemm::PackedSize(no, gcols);
  }
  if (projection_) {
    const TfLiteTensor* pb = ctx.input(kProjectionBias);
    proj_ = gemm::PackBStrided(nc, no, ctx.input(kProjectionWeights)->data_as<float>(), 1, nc,
                               pb ? pb->data_as<float>() : nullptr, dst);
  }
}

void UnidirectionalSequenceLstm::ApplyActivation(float* v, size_t n) const {
  switch (act_) {
    case fb::ActivationFunctionType_NONE:
      break;
    case fb::ActivationFunctionType_TANH:
      for (size_t i = 0; i < n; ++i) v[i] = std::tanh(v[i]);
      break;
    default: {
      const FloatRange r = ActivationRange(act_);
      for (size_t i = 0; i < n; ++i) v[i] = r.Apply(v[i]);
      break;
    }
  }
}

TfLiteStatus UnidirectionalSequenceLstm::Eval(OpContext& ctx) {
  if (mode_ == Mode::kHybrid) return EvalHybrid(ctx);
  if (mode_ == Mode::kInteger) return EvalInteger(ctx);
  const TfLiteTensor* input = ctx.input(kInput);
  TfLiteTensor* output = ctx.output(0);
  float* hstate = ctx.input(kOutputState)->data_as<float>();
  float* cstate = ctx.input(kCellState)->data_as<float>();
  if (t_ == 0 || b_ == 0) return kTfLiteOk;
  const float* packed;
  if (packed_const_) {
    packed = static_cast<const float*>(packed_.data());
  } else {
    float* p = static_cast<float*>(ctx.Scratch(scratch_pack_));
    Pack(ctx, p);
    packed = p;
  }
  const float* gate_bias = packed;  // [gates * n_cell], used with layer norm

  const size_t T = static_cast<size_t>(t_), B = static_cast<size_t>(b_);
  const size_t nc = static_cast<size_t>(n_cell_), no = static_cast<size_t>(n_output_);
  const size_t ni = static_cast<size_t>(n_input_);
  const size_t gcols = static_cast<size_t>(gates_) * nc;
  float* xg = static_cast<float*>(ctx.Scratch(scratch_xg_));
  float* hg = static_cast<float*>(ctx.Scratch(scratch_hg_));
  float* hbuf = static_cast<float*>(ctx.Scratch(scratch_h_));
  ThreadPool& pool = ctx.pool();
  const FloatRange none;

  // Input contributions of every step; row r = t * B + b.
  const float* in = input->data_as<float>();
  const bool tm = time_major_;
  auto xrow = [in, tm, T, B, ni](size_t r) {
    const size_t t = r / B, b = r % B;
    return in + (tm ? r : b * T + t) * ni;
  };
  gemm::Gemm(pool, wx_, T * B, xrow, xg, gcols, none);

  const float* peep[3] = {nullptr, nullptr, nullptr};  // i, f, o
  if (peephole_) {
    for (int p = 0; p < 3; ++p) {
      const TfLiteTensor* w = ctx.input(kCellToInput + p);
      peep[p] = w ? w->data_as<float>() : nullptr;
    }
  }
  const float* ln[4] = {nullptr, nullptr, nullptr, nullptr};
  if (layer_norm_)
    for (int g = 0; g < 4; ++g) {
      const TfLiteTensor* w = ctx.input(kInputLayerNorm + g);
      ln[g] = w ? w->data_as<float>() : nullptr;
    }
  const float* diag[4] = {nullptr, nullptr, nullptr, nullptr};
  if (diagonal_)
    for (int g = 0; g < 4; ++g)
      if (gate_slot_[g] >= 0) diag[gate_slot_[g]] = ctx.input(kRecurrentToInput + g)->data_as<float>();

  float* out = output->data_as<float>();
  const int si = gate_slot_[kI], sf = gate_slot_[kF], sc = gate_slot_[kC], so = gate_slot_[kO];
  for (size_t t = 0; t < T; ++t) {
    // Recurrent contributions from h_{t-1}.
    if (!diagonal_) {
      auto hrow = [hstate, no](size_t b) { return hstate + b * no; };
      gemm::Gemm(pool, wh_, B, hrow, hg, gcols, none);
    }
    for (size_t b = 0; b < B; ++b) {
      float* g = xg + (t * B + b) * gcols;  // updated in place into the gate values
      const float* h_prev = hstate + b * no;
      float* c = cstate + b * nc;
      if (diagonal_) {
        for (int s = 0; s < gates_; ++s)
          for (size_t j = 0; j < nc; ++j) g[s * nc + j] += diag[s][j] * h_prev[j];
      } else {
        const float* r = hg + b * gcols;
        for (size_t j = 0; j < gcols; ++j) g[j] += r[j];
      }
      float* gi = si >= 0 ? g + static_cast<size_t>(si) * nc : nullptr;
      float* gf = g + static_cast<size_t>(sf) * nc;
      float* gc = g + static_cast<size_t>(sc) * nc;
      float* go = g + static_cast<size_t>(so) * nc;
      if (peephole_) {
        if (gi)
          for (size_t j = 0; j < nc; ++j) gi[j] += peep[0][j] * c[j];
        for (size_t j = 0; j < nc; ++j) gf[j] += peep[1][j] * c[j];
      }
      if (layer_norm_) {
        // Every gate but the output one now; the output gate after its
        // peephole term (which needs the new cell state).
        for (int gate = 0; gate < 3; ++gate) {
          const int s = gate_slot_[gate];
          if (s < 0) continue;
          LayerNorm(g + static_cast<size_t>(s) * nc, nc, ln[gate],
                    gate_bias + static_cast<size_t>(s) * nc);
        }
      }
      for (size_t j = 0; j < nc; ++j) gf[j] = Logistic(gf[j]);
      if (gi)
        for (size_t j = 0; j < nc; ++j) gi[j] = Logistic(gi[j]);
      ApplyActivation(gc, nc);
      for (size_t j = 0; j < nc; ++j) {
        const float ig = gi ? gi[j] : 1.f - gf[j];
        float cv = gf[j] * c[j] + ig * gc[j];
        if (cell_clip_ > 0.f) cv = std::min(cell_clip_, std::max(-cell_clip_, cv));
        c[j] = cv;
      }
      if (peephole_)
        for (size_t j = 0; j < nc; ++j) go[j] += peep[2][j] * c[j];
      if (layer_norm_) {
        LayerNorm(go, nc, ln[kO], gate_bias + static_cast<size_t>(so) * nc);
      }
      // h = o * act(c), into hbuf (projected below) or straight into the state.
      // With activation NONE the official runtime multiplies the output gate
      // by the cell gate values rather than by the cell state (its
      // activation helper leaves the destination untouched for NONE, and the
      // destination holds the cell gate); we match it.
      float* h = projection_ ? hbuf + b * nc : hstate + b * no;
      if (act_ == fb::ActivationFunctionType_NONE) {
        std::memcpy(h, gc, nc * sizeof(float));
      } else {
        std::memcpy(h, c, nc * sizeof(float));
        ApplyActivation(h, nc);
      }
      for (size_t j = 0; j < nc; ++j) h[j] *= Logistic(go[j]);
    }
    if (projection_) {
      auto prow = [hbuf, nc](size_t b) { return hbuf + b * nc; };
      gemm::Gemm(pool, proj_, B, prow, hstate, no, none);
      if (proj_clip_ > 0.f)
        for (size_t j = 0; j < B * no; ++j)
          hstate[j] = std::min(proj_clip_, std::max(-proj_clip_, hstate[j]));
    }
    for (size_t b = 0; b < B; ++b) {
      float* o = out + (tm ? t * B + b : b * T + t) * no;
      std::memcpy(o, hstate + b * no, no * sizeof(float));
    }
  }
  return kTfLiteOk;
}


// ---------------------------------------------------------------------------
// Hybrid (dynamic-range) LSTM: float input, output and states; int8 weight
// matrices with one scale each (uint8 weights are read as int8, as the
// format's kernels do); float biases, float layer-norm coefficients, int8
// peephole weights. At each step every batch row of the input and of the
// output state is quantized on the fly (symmetric, or asymmetric with
// asymmetric_quantize_inputs); each gate is
//   bias + float(Wx qx - zp_x rowsum(Wx)) * (s_x * s_Wx) + (same for h)
// accumulated in that order in float, then peephole (dequantized weights),
// layer norm and activations as in the float kernel. The projection input
// is quantized the same way. A step skips the input (or recurrent)
// products when the whole input (output state) of the step is zero.
// ---------------------------------------------------------------------------

TfLiteStatus UnidirectionalSequenceLstm::PrepareHybrid(OpContext& ctx, int64_t rows) {
  const TfLiteTensor* input = ctx.input(kInput);
  TfLiteTensor* output = ctx.output(0);
  TFC_ENSURE_TYPE(ctx, output, kTfLiteFloat32);
  TFC_ENSURE_MSG(ctx, !diagonal_, "diagonal recurrent weights are not supported with int8 weights");
  const auto* opt = ctx.options<fb::UnidirectionalSequenceLSTMOptions>();
  asymmetric_ = opt && opt->asymmetric_quantize_inputs();
  const TfLiteType wtype = ctx.input(kInputToInput + kF)->type;
  auto check_weight = [&](int idx, float* scale) -> TfLiteStatus {
    const TfLiteTensor* w = ctx.input(idx);
    if (!w) return kTfLiteOk;
    if (w->type != wtype)
      return ctx.Error("input %d has type %s; the weights of a hybrid LSTM must all be %s", idx,
                       TypeName(w->type), TypeName(wtype));
    if (w->quant.scale.size() > 1)
      return ctx.Error("input %d: per-channel weights are not supported by the hybrid LSTM", idx);
    const float s = TensorScale(w);
    if (!GoodScale(s)) return ctx.Error("input %d: weight scale must be positive and finite", idx);
    *scale = s;
    return kTfLiteOk;
  };
  for (int g = 0; g < 4; ++g) {
    TFC_OK(check_weight(kInputToInput + g, &wx_scale_[g]));
    TFC_OK(check_weight(kRecurrentToInput + g, &wh_scale_[g]));
  }
  for (int p = 0; p < 3; ++p) TFC_OK(check_weight(kCellToInput + p, &peep_scale_[p]));
  TFC_OK(check_weight(kProjectionWeights, &proj_scale_));
  static const int kFloatInputs[] = {12, 13, 14, 15, 17, 18, 19, 20, 21, 22, 23};
  for (int i : kFloatInputs) {
    const TfLiteTensor* t = ctx.input(i);
    if (t && t->type != kTfLiteFloat32)
      return ctx.Error("input %d has type %s, expected FLOAT32 (hybrid LSTM)", i,
                       TypeName(t->type));
  }
  TFC_ENSURE_MSG(ctx, n_input_ <= (1 << 16) && n_output_ <= (1 << 16) && n_cell_ <= (1 << 16),
                 "hybrid LSTM sizes above 65536 are not supported");

  hybrid_weights_const_ = true;
  for (int i = 1; i < ctx.num_inputs(); ++i) {
    if (i == kOutputState || i == kCellState) continue;
    const TfLiteTensor* t = ctx.input(i);
    if (t && !t->is_constant()) hybrid_weights_const_ = false;
  }
  for (int g = 0; g < 4; ++g) {
    row_sums_[g].assign(static_cast<size_t>(n_cell_), 0);
    row_sums_[4 + g].assign(static_cast<size_t>(n_cell_), 0);
  }
  row_sums_[8].assign(projection_ ? static_cast<size_t>(n_output_) : 0, 0);
  if (hybrid_weights_const_) ComputeRowSums(ctx);

  const size_t B = static_cast<size_t>(b_), nc = static_cast<size_t>(n_cell_);
  hs_qx_ = ctx.RequestScratch(B * static_cast<size_t>(n_input_) + 64);
  hs_qh_ = ctx.RequestScratch(B * static_cast<size_t>(n_output_) + 64);
  hs_qp_ = ctx.RequestScratch(B * nc + 64);
  hs_factors_ = ctx.RequestScratch(6 * B * sizeof(float) + 64);
  hs_gates_ = ctx.RequestScratch(4 * B * nc * sizeof(float) + 64);
  hs_hbuf_ = ctx.RequestScratch(B * nc * sizeof(float) + 64);
  hs_peep_ = ctx.RequestScratch(nc * sizeof(float) + 64);
  (void)rows;
  (void)input;
  if (time_major_) return ctx.ResizeOutput(0, {t_, b_, n_output_});
  return ctx.ResizeOutput(0, {b_, t_, n_output_});
}

void UnidirectionalSequenceLstm::ComputeRowSums(OpContext& ctx) {
  auto sums = [](const TfLiteTensor* w, std::vector<int32_t>& out) {
    if (!w || out.empty()) return;
    const int8_t* p = w->data_as<int8_t>();
    const size_t cols = static_cast<size_t>(w->dim(1));
    for (size_t r = 0; r < out.size(); ++r) {
      int32_t s = 0;
      for (size_t c = 0; c < cols; ++c) s += p[r * cols + c];
      out[r] = s;
    }
  };
  for (int g = 0; g < 4; ++g) {
    sums(ctx.input(kInputToInput + g), row_sums_[g]);
    sums(ctx.input(kRecurrentToInput + g), row_sums_[4 + g]);
  }
  sums(ctx.input(kProjectionWeights), row_sums_[8]);
}

TfLiteStatus UnidirectionalSequenceLstm::EvalHybrid(OpContext& ctx) {
  if (t_ == 0 || b_ == 0) return kTfLiteOk;
  if (!hybrid_weights_const_) ComputeRowSums(ctx);
  const size_t T = static_cast<size_t>(t_), B = static_cast<size_t>(b_);
  const size_t nc = static_cast<size_t>(n_cell_), no = static_cast<size_t>(n_output_);
  const size_t ni = static_cast<size_t>(n_input_);
  const float* in = ctx.input(kInput)->data_as<float>();
  float* out = ctx.output(0)->data_as<float>();
  float* hstate = ctx.input(kOutputState)->data_as<float>();
  float* cstate = ctx.input(kCellState)->data_as<float>();
  int8_t* qx = static_cast<int8_t*>(ctx.Scratch(hs_qx_));
  int8_t* qh = static_cast<int8_t*>(ctx.Scratch(hs_qh_));
  int8_t* qp = static_cast<int8_t*>(ctx.Scratch(hs_qp_));
  float* factors = static_cast<float*>(ctx.Scratch(hs_factors_));
  float* sf_x = factors;
  float* sf_h = factors + B;
  float* sf_p = factors + 2 * B;
  int32_t* zp_x = reinterpret_cast<int32_t*>(factors + 3 * B);
  int32_t* zp_h = reinterpret_cast<int32_t*>(factors + 4 * B);
  int32_t* zp_p = reinterpret_cast<int32_t*>(factors + 5 * B);
  float* gates = static_cast<float*>(ctx.Scratch(hs_gates_));
  float* hbuf = static_cast<float*>(ctx.Scratch(hs_hbuf_));
  float* peep_rec = static_cast<float*>(ctx.Scratch(hs_peep_));

  const int8_t* wx[4] = {};
  const int8_t* wh[4] = {};
  const float* bias[4] = {};
  const float* ln[4] = {};
  for (int g = 0; g < 4; ++g) {
    const TfLiteTensor* a = ctx.input(kInputToInput + g);
    const TfLiteTensor* r = ctx.input(kRecurrentToInput + g);
    const TfLiteTensor* bt = ctx.input(kInputGateBias + g);
    wx[g] = a ? a->data_as<int8_t>() : nullptr;
    wh[g] = r ? r->data_as<int8_t>() : nullptr;
    bias[g] = bt ? bt->data_as<float>() : nullptr;
    const TfLiteTensor* l = layer_norm_ ? ctx.input(kInputLayerNorm + g) : nullptr;
    ln[g] = l ? l->data_as<float>() : nullptr;
  }
  const int8_t* peep[3] = {};
  for (int p = 0; p < 3; ++p) {
    const TfLiteTensor* w = peephole_ ? ctx.input(kCellToInput + p) : nullptr;
    peep[p] = w ? w->data_as<int8_t>() : nullptr;
  }
  const TfLiteTensor* pwt = ctx.input(kProjectionWeights);
  const TfLiteTensor* pbt = ctx.input(kProjectionBias);
  const int8_t* pw = pwt ? pwt->data_as<int8_t>() : nullptr;
  const float* pb = pbt ? pbt->data_as<float>() : nullptr;
  const bool asym = asymmetric_;

  auto quantize_rows = [asym](const float* src, size_t n, size_t b0, size_t nb, int8_t* q,
                              float* sf, int32_t* zp) {
    for (size_t b = b0; b < b0 + nb; ++b) {
      if (asym) {
        QuantizeRowAsymmetric(src + b * n, n, q + b * n, &sf[b], &zp[b]);
      } else {
        QuantizeRowSymmetric(src + b * n, n, q + b * n, &sf[b]);
        zp[b] = 0;
      }
    }
  };
  // out[j] += float(W[j] . q - zp * rowsum[j]) * (sf * wscale), j < rows.
  auto accumulate = [](const int8_t* w, const int32_t* rsum, size_t rows, size_t cols,
                       const int8_t* q, float sf, int32_t zp, float wscale, float* o) {
    const float scale = sf * wscale;
    for (size_t j = 0; j < rows; ++j) {
      const int32_t acc = DotInt8(w + j * cols, q, cols) - rsum[j] * zp;
      const float prod = static_cast<float>(acc) * scale;
      o[j] += prod;
    }
  };

  // One step over the batch rows [b0, b0 + nb) (the official runtime steps
  // the whole batch per time step when time-major, one batch row at a time
  // otherwise; only the all-zero shortcuts depend on that grouping).
  auto step = [&](size_t t, size_t b0, size_t nb) {
    const bool tm = time_major_;
    auto xrow = [&](size_t b) { return in + (tm ? t * B + b : b * T + t) * ni; };
    // Gather the input rows (they are strided when not time-major).
    bool x_zero = true, h_zero = true;
    for (size_t b = b0; b < b0 + nb; ++b) {
      x_zero = x_zero && AllZero(xrow(b), ni);
      h_zero = h_zero && AllZero(hstate + b * no, no);
    }
    if (!x_zero) {
      for (size_t b = b0; b < b0 + nb; ++b) {
        if (asym) {
          QuantizeRowAsymmetric(xrow(b), ni, qx + b * ni, &sf_x[b], &zp_x[b]);
        } else {
          QuantizeRowSymmetric(xrow(b), ni, qx + b * ni, &sf_x[b]);
          zp_x[b] = 0;
        }
      }
    }
    if (!h_zero) quantize_rows(hstate, no, b0, nb, qh, sf_h, zp_h);

    // Gate buffers as the official runtime lays them out in its scratch
    // tensor (input, cell, forget, output; no input gate with CIFG): the
    // offsets decide where its vectorized activations start.
    auto gate_offset = [&](int g) -> size_t {
      static const int kSlot[4] = {0, 2, 1, 3};  // i, f, c, o
      const int slot = cifg_ ? kSlot[g] - 1 : kSlot[g];
      return static_cast<size_t>(slot) * B * nc + b0 * nc;
    };
    auto activate = [&](float* v, size_t n, size_t offset, bool sigmoid) {
      if (sigmoid)
        lstm_fp::LogisticVector(v, n, offset);
      else if (act_ == fb::ActivationFunctionType_TANH)
        lstm_fp::TanhVector(v, v, n);
      else
        ApplyActivation(v, n);
    };
    auto gate = [&](int g, bool sigmoid) {
      float* base = gates + static_cast<size_t>(g) * B * nc;
      for (size_t b = b0; b < b0 + nb; ++b) {
        float* o = base + b * nc;
        if (ln[g])
          std::fill(o, o + nc, 0.f);
        else
          std::memcpy(o, bias[g], nc * sizeof(float));
        if (!x_zero)
          accumulate(wx[g], row_sums_[g].data(), nc, ni, qx + b * ni, sf_x[b], zp_x[b],
                     wx_scale_[g], o);
        if (!h_zero)
          accumulate(wh[g], row_sums_[4 + g].data(), nc, no, qh + b * no, sf_h[b], zp_h[b],
                     wh_scale_[g], o);
        const int p = g == kI ? 0 : (g == kF ? 1 : (g == kO ? 2 : -1));
        if (p >= 0 && peep[p]) {
          for (size_t j = 0; j < nc; ++j) peep_rec[j] = peep_scale_[p] * static_cast<float>(peep[p][j]);
          const float* c = cstate + b * nc;
          for (size_t j = 0; j < nc; ++j) {
            const float prod = peep_rec[j] * c[j];
            o[j] += prod;
          }
        }
        if (ln[g]) LayerNorm(o, nc, ln[g], bias[g]);
      }
      activate(base + b0 * nc, nb * nc, gate_offset(g), sigmoid);
    };
    if (!cifg_) gate(kI, true);
    gate(kF, true);
    gate(kC, false);
    // Cell update: c = f * c + i * g (i = 1 - f with CIFG), clipped.
    for (size_t b = b0; b < b0 + nb; ++b) {
      float* c = cstate + b * nc;
      const float* fg = gates + static_cast<size_t>(kF) * B * nc + b * nc;
      const float* ig = gates + static_cast<size_t>(kI) * B * nc + b * nc;
      const float* cg = gates + static_cast<size_t>(kC) * B * nc + b * nc;
      for (size_t j = 0; j < nc; ++j) {
        const float kept = fg[j] * c[j];
        const float in_gate = cifg_ ? 1.f - fg[j] : ig[j];
        const float added = cg[j] * in_gate;
        float cv = kept + added;
        if (cell_clip_ > 0.f) cv = std::max(std::min(cell_clip_, cv), -cell_clip_);
        c[j] = cv;
      }
    }
    gate(kO, true);
    // h = o * act(c), act(c) written over the cell gate as the official
    // runtime does (activation NONE leaves the cell gate there).
    {
      float* cg = gates + static_cast<size_t>(kC) * B * nc + b0 * nc;
      const size_t n = nb * nc;
      if (act_ == fb::ActivationFunctionType_TANH) {
        lstm_fp::TanhVector(cstate + b0 * nc, cg, n);
      } else if (act_ != fb::ActivationFunctionType_NONE) {
        std::memcpy(cg, cstate + b0 * nc, n * sizeof(float));
        ApplyActivation(cg, n);
      }
      const float* og = gates + static_cast<size_t>(kO) * B * nc + b0 * nc;
      float* h = hbuf + b0 * nc;
      for (size_t j = 0; j < n; ++j) h[j] = og[j] * cg[j];
    }
    if (projection_) {
      for (size_t b = b0; b < b0 + nb; ++b) {
        float* hs = hstate + b * no;
        if (pb)
          std::memcpy(hs, pb, no * sizeof(float));
        else
          std::fill(hs, hs + no, 0.f);
      }
      if (!AllZero(hbuf + b0 * nc, nb * nc)) {
        quantize_rows(hbuf, nc, b0, nb, qp, sf_p, zp_p);
        for (size_t b = b0; b < b0 + nb; ++b)
          accumulate(pw, row_sums_[8].data(), no, nc, qp + b * nc, sf_p[b], zp_p[b], proj_scale_,
                     hstate + b * no);
      }
      if (proj_clip_ > 0.f)
        for (size_t j = b0 * no; j < (b0 + nb) * no; ++j)
          hstate[j] = std::max(std::min(proj_clip_, hstate[j]), -proj_clip_);
    } else {
      std::memcpy(hstate + b0 * no, hbuf + b0 * nc, nb * no * sizeof(float));
    }
    for (size_t b = b0; b < b0 + nb; ++b)
      std::memcpy(out + (tm ? t * B + b : b * T + t) * no, hstate + b * no, no * sizeof(float));
  };

  if (time_major_) {
    for (size_t t = 0; t < T; ++t) step(t, 0, B);
  } else {
    for (size_t b = 0; b < B; ++b)
      for (size_t t = 0; t < T; ++t) step(t, b, 1);
  }
  return kTfLiteOk;
}


// ---------------------------------------------------------------------------
// Full-integer LSTM ("8x8_16"): int8 input, output and output state, int8
// weight matrices, int16 cell state with a power-of-two scale 2^k, int32
// biases, int16 peephole and layer-norm weights. The operator's five
// intermediates give the scales of the four gate pre-activations (used only
// with layer norm; 2^-12 otherwise) and of the hidden value o * tanh(c).
// Every gate is computed in int16 (Q3.12 pre-activation, Q0.15 after the
// fixed-point sigmoid / tanh); the input and recurrent products are rescaled
// separately to the gate scale, each with the input zero points folded into
// its bias at Prepare, and added with saturation. Multipliers are derived at
// Prepare from the scales exactly as the official runtime derives them (in
// float, some factors in double).
// ---------------------------------------------------------------------------

namespace {

// CheckedLog2 of the official runtime: log2(x) in float, rounded; true when
// x is a power of two up to a small tolerance.
bool Log2Exact(float x, int* out) {
  const float l = std::log(x) * (1.0f / std::log(2.0f));
  const float r = std::round(l);
  *out = static_cast<int>(r);
  return std::fabs(l - r) < 1e-3f;
}

inline int16_t Clamp16(int64_t v) {
  return static_cast<int16_t>(v > 32767 ? 32767 : (v < -32768 ? -32768 : v));
}
inline int8_t Clamp8(int64_t v) {
  return static_cast<int8_t>(v > 127 ? 127 : (v < -128 ? -128 : v));
}
inline int32_t WrapAdd(int32_t a, int32_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) + static_cast<uint32_t>(b));
}

// Integer layer normalization of one row of n int16 values (the official
// runtime's integer kernel): mean and variance in 10 extra fractional bits,
// 1/stddev as a fixed-point multiplier, then * weight + bias and rescaling.
void IntegerLayerNorm(int16_t* v, size_t n, const int16_t* weight, const int32_t* bias,
                      int32_t mult, int shift, int32_t variance_guard) {
  int64_t sum = 0, sum_sq = 0;
  for (size_t j = 0; j < n; ++j) {
    sum += v[j];
    sum_sq += int64_t{v[j]} * v[j];
  }
  const int64_t ni = static_cast<int64_t>(n);
  const int32_t mean = static_cast<int32_t>(sum * 1024 / ni);
  const int32_t temp = static_cast<int32_t>((int64_t{1} << 20) / ni);
  const int64_t variance = static_cast<int64_t>(static_cast<uint64_t>(sum_sq) * static_cast<uint64_t>(temp) -
                                                static_cast<uint64_t>(int64_t{mean} * mean));
  int32_t variance2 = static_cast<int32_t>(variance / (int64_t{1} << 20));
  if (variance2 < 1) variance2 = variance_guard;
  int32_t inv_mult = 0;
  int inv_shift = 0;
  lstm_fp::InvSqrtMultiplier(variance2, -1, &inv_mult, &inv_shift);
  for (size_t j = 0; j < n; ++j) {
    const int32_t shifted = WrapToInt32(int64_t{1024} * v[j] - mean);
    const int32_t rescaled = MultiplyByQuantizedMultiplier(shifted, inv_mult, inv_shift);
    // int32 arithmetic (wrapping) widened afterwards, as the official kernel.
    const int64_t val3 =
        WrapToInt32(int64_t{WrapToInt32(int64_t{rescaled} * weight[j])} + bias[j]);
    const int32_t val4 = WrapToInt32((val3 > 0 ? val3 + 512 : val3 - 512) / 1024);
    const int32_t val5 = MultiplyByQuantizedMultiplier(val4, mult, shift + 12);
    v[j] = Clamp16(val5);
  }
}

}  // namespace

TfLiteStatus UnidirectionalSequenceLstm::PrepareInteger(OpContext& ctx, int64_t rows) {
  (void)rows;
  const TfLiteTensor* input = ctx.input(kInput);
  TfLiteTensor* output = ctx.output(0);
  TFC_ENSURE_TYPE(ctx, output, kTfLiteInt8);
  TFC_ENSURE_MSG(ctx, !diagonal_, "diagonal recurrent weights are not supported with int8 weights");
  auto expect = [&](int idx, TfLiteType type) -> TfLiteStatus {
    const TfLiteTensor* t = ctx.input(idx);
    if (!t || t->type == type) return kTfLiteOk;
    return ctx.Error("input %d has type %s, expected %s (integer LSTM)", idx, TypeName(t->type),
                     TypeName(type));
  };
  for (int g = 0; g < 4; ++g) {
    TFC_OK(expect(kInputToInput + g, kTfLiteInt8));
    TFC_OK(expect(kRecurrentToInput + g, kTfLiteInt8));
    TFC_OK(expect(kInputGateBias + g, kTfLiteInt32));
    if (layer_norm_) TFC_OK(expect(kInputLayerNorm + g, kTfLiteInt16));
  }
  for (int p = 0; p < 3; ++p) TFC_OK(expect(kCellToInput + p, kTfLiteInt16));
  TFC_OK(expect(kProjectionWeights, kTfLiteInt8));
  TFC_OK(expect(kProjectionBias, kTfLiteInt32));
  TFC_OK(expect(kOutputState, kTfLiteInt8));
  TFC_OK(expect(kCellState, kTfLiteInt16));
  for (int i = 1; i < ctx.num_inputs(); ++i) {
    if (i == kOutputState || i == kCellState) continue;
    const TfLiteTensor* t = ctx.input(i);
    TFC_ENSURE_MSG(ctx, !t || t->is_constant(),
                   "input %d must be constant (the integer LSTM folds zero points into its biases)",
                   i);
  }
  TFC_ENSURE_MSG(ctx, ctx.num_intermediates() == 5,
                 "the integer LSTM needs 5 intermediate tensors, the model has %d",
                 ctx.num_intermediates());
  float inter_scale[5];
  int32_t inter_zp[5];
  for (int i = 0; i < 5; ++i) {
    const TfLiteTensor* t = ctx.intermediate(i);
    const bool needed = i == 4 || layer_norm_;
    if (needed) {
      TFC_ENSURE_MSG(ctx, t && !t->quant.empty() && GoodScale(t->quant.scale[0]),
                     "intermediate %d needs a positive scale", i);
      inter_scale[i] = t->quant.scale[0];
      inter_zp[i] = TensorZeroPoint(t);
    } else {
      inter_scale[i] = 1.f / 4096.f;  // Q3.12
      inter_zp[i] = 0;
    }
  }
  // Per-tensor scales (the official kernel reads one scale per tensor).
  auto scale_of = [&](int idx, float* s) -> TfLiteStatus {
    const TfLiteTensor* t = ctx.input(idx);
    if (!t) return kTfLiteOk;
    if (t->quant.scale.size() != 1 || !GoodScale(t->quant.scale[0]))
      return ctx.Error("input %d needs one positive scale (per-tensor quantization)", idx);
    *s = t->quant.scale[0];
    return kTfLiteOk;
  };
  float in_scale = 1.f, os_scale = 1.f, cs_scale = 1.f, out_scale = 1.f;
  TFC_ENSURE_MSG(ctx, input->quant.scale.size() == 1 && GoodScale(input->quant.scale[0]),
                 "input needs a positive per-tensor scale");
  in_scale = input->quant.scale[0];
  TFC_OK(scale_of(kOutputState, &os_scale));
  TFC_OK(scale_of(kCellState, &cs_scale));
  TFC_ENSURE_MSG(ctx, output->quant.scale.size() == 1 && GoodScale(output->quant.scale[0]),
                 "output needs a positive per-tensor scale");
  out_scale = output->quant.scale[0];
  const int32_t in_zp = TensorZeroPoint(input);
  output_state_zp_ = TensorZeroPoint(ctx.input(kOutputState));
  TFC_ENSURE_MSG(ctx, in_zp >= -128 && in_zp <= 127 && output_state_zp_ >= -128 &&
                          output_state_zp_ <= 127,
                 "zero points out of the int8 range");
  TFC_ENSURE_MSG(ctx, TensorZeroPoint(ctx.input(kCellState)) == 0,
                 "the cell state must be symmetric (zero point 0)");
  TFC_ENSURE_MSG(ctx, Log2Exact(cs_scale, &cell_log2_) && cell_log2_ >= -30 && cell_log2_ <= 0,
                 "the cell state scale must be a power of two in [2^-30, 1], is %g",
                 static_cast<double>(cs_scale));
  const int tanh_bits = 15 + cell_log2_;
  // Outside 0..6 integer bits the official runtime's tanh of the cell state
  // leaves its destination untouched; that buffer holds the input gate.
  TFC_ENSURE_MSG(ctx, (tanh_bits >= 0 && tanh_bits <= 6) || !cifg_,
                 "cell state scale 2^%d is not supported with CIFG", cell_log2_);
  hidden_zp_ = inter_zp[4];
  TFC_ENSURE_MSG(ctx, hidden_zp_ >= -128 && hidden_zp_ <= 127, "hidden zero point out of range");
  TFC_ENSURE_MSG(ctx, n_input_ <= (1 << 16) && n_output_ <= (1 << 16) && n_cell_ <= (1 << 16),
                 "integer LSTM sizes above 65536 are not supported");
  if (peephole_)
    TFC_ENSURE_MSG(ctx, n_output_ == n_cell_,
                   "peephole weights with a projection to another size are not supported");

  const float cell_clip = cell_clip_, proj_clip = proj_clip_;
  qcell_clip_ = cell_clip > 0.f
                    ? static_cast<int16_t>(std::min(std::max(cell_clip / cs_scale, -32768.f), 32767.f))
                    : 0;
  qproj_clip_ = proj_clip > 0.f
                    ? static_cast<int8_t>(std::min(std::max(proj_clip / out_scale, -128.f), 127.f))
                    : 0;

  const size_t ni = static_cast<size_t>(n_input_), no = static_cast<size_t>(n_output_);
  const size_t nc = static_cast<size_t>(n_cell_);
  auto row_sum_bias = [](const TfLiteTensor* w, const TfLiteTensor* bias, int32_t zp, size_t rows_n,
                         size_t cols, std::vector<int32_t>& out) {
    out.assign(rows_n, 0);
    if (bias) std::memcpy(out.data(), bias->data, rows_n * sizeof(int32_t));
    if (zp == 0) return;
    const int8_t* p = w->data_as<int8_t>();
    for (size_t r = 0; r < rows_n; ++r) {
      int32_t s = 0;
      for (size_t c = 0; c < cols; ++c) s += p[r * cols + c];
      out[r] = WrapAdd(out[r], WrapToInt32(int64_t{s} * zp));
    }
  };
  const double two_cell = std::pow(2.0, static_cast<double>(cell_log2_));
  for (int g = 0; g < 4; ++g) {
    IntegerGate& q = igate_[g];
    if (g == kI && cifg_) continue;
    float wx_s = 1.f, wh_s = 1.f;
    TFC_OK(scale_of(kInputToInput + g, &wx_s));
    TFC_OK(scale_of(kRecurrentToInput + g, &wh_s));
    const float ex = wx_s * in_scale / inter_scale[g];
    const float eh = wh_s * os_scale / inter_scale[g];
    QuantizeMultiplier(static_cast<double>(ex), &q.x_mult, &q.x_shift);
    QuantizeMultiplier(static_cast<double>(eh), &q.h_mult, &q.h_shift);
    const int p = g == kI ? 0 : (g == kF ? 1 : (g == kO ? 2 : -1));
    float ec = 1.f;
    if (peephole_ && p >= 0) {
      float pw_s = 1.f;
      TFC_OK(scale_of(kCellToInput + p, &pw_s));
      ec = static_cast<float>(two_cell * static_cast<double>(pw_s) /
                              static_cast<double>(inter_scale[g]));
    }
    QuantizeMultiplier(static_cast<double>(ec), &q.c_mult, &q.c_shift);
    float ln_s = 1.f;
    if (layer_norm_) TFC_OK(scale_of(kInputLayerNorm + g, &ln_s));
    QuantizeMultiplier(static_cast<double>(ln_s), &q.ln_mult, &q.ln_shift);
    TFC_ENSURE_MSG(ctx, q.ln_shift + 12 <= 30, "layer norm coefficient scale %g is too large",
                   static_cast<double>(ln_s));
    q.variance_guard = std::max(1, static_cast<int32_t>(10000.f * ln_s));
    const TfLiteTensor* bias = layer_norm_ ? nullptr : ctx.input(kInputGateBias + g);
    row_sum_bias(ctx.input(kInputToInput + g), bias, -in_zp, nc, ni, q.x_bias);
    row_sum_bias(ctx.input(kRecurrentToInput + g), nullptr, -output_state_zp_, nc, no, q.h_bias);
  }
  const float eff_hidden = static_cast<float>(std::pow(2.0, -15) /
                                              static_cast<double>(inter_scale[4]) *
                                              std::pow(2.0, -15));
  QuantizeMultiplier(static_cast<double>(eff_hidden), &hidden_mult_, &hidden_shift_);
  float proj_s = 1.f;
  TFC_OK(scale_of(kProjectionWeights, &proj_s));
  const float eff_proj = proj_s * inter_scale[4] / os_scale;
  QuantizeMultiplier(static_cast<double>(eff_proj), &proj_mult_, &proj_shift_);
  if (projection_)
    row_sum_bias(ctx.input(kProjectionWeights), ctx.input(kProjectionBias), hidden_zp_, no, nc,
                 proj_bias_eff_);
  else
    proj_bias_eff_.clear();

  const size_t B = static_cast<size_t>(b_);
  is_gates_ = ctx.RequestScratch(4 * B * nc * sizeof(int16_t) + 64);
  is_hidden_ = ctx.RequestScratch(B * nc + 64);
  if (time_major_) return ctx.ResizeOutput(0, {t_, b_, n_output_});
  return ctx.ResizeOutput(0, {b_, t_, n_output_});
}

TfLiteStatus UnidirectionalSequenceLstm::EvalInteger(OpContext& ctx) {
  if (t_ == 0 || b_ == 0) return kTfLiteOk;
  const size_t T = static_cast<size_t>(t_), B = static_cast<size_t>(b_);
  const size_t nc = static_cast<size_t>(n_cell_), no = static_cast<size_t>(n_output_);
  const size_t ni = static_cast<size_t>(n_input_);
  const int8_t* in = ctx.input(kInput)->data_as<int8_t>();
  int8_t* out = ctx.output(0)->data_as<int8_t>();
  int8_t* hstate = ctx.input(kOutputState)->data_as<int8_t>();
  int16_t* cstate = ctx.input(kCellState)->data_as<int16_t>();
  int16_t* gates = static_cast<int16_t*>(ctx.Scratch(is_gates_));
  int8_t* hidden = static_cast<int8_t*>(ctx.Scratch(is_hidden_));
  const int8_t* wx[4] = {};
  const int8_t* wh[4] = {};
  const int16_t* ln[4] = {};
  const int32_t* lnb[4] = {};
  for (int g = 0; g < 4; ++g) {
    const TfLiteTensor* a = ctx.input(kInputToInput + g);
    const TfLiteTensor* r = ctx.input(kRecurrentToInput + g);
    wx[g] = a ? a->data_as<int8_t>() : nullptr;
    wh[g] = r ? r->data_as<int8_t>() : nullptr;
    const TfLiteTensor* l = layer_norm_ ? ctx.input(kInputLayerNorm + g) : nullptr;
    ln[g] = l ? l->data_as<int16_t>() : nullptr;
    const TfLiteTensor* bt = ctx.input(kInputGateBias + g);
    lnb[g] = bt ? bt->data_as<int32_t>() : nullptr;
  }
  const int16_t* peep[3] = {};
  for (int p = 0; p < 3; ++p) {
    const TfLiteTensor* w = peephole_ ? ctx.input(kCellToInput + p) : nullptr;
    peep[p] = w ? w->data_as<int16_t>() : nullptr;
  }
  const TfLiteTensor* pwt = ctx.input(kProjectionWeights);
  const int8_t* pw = pwt ? pwt->data_as<int8_t>() : nullptr;
  const int tanh_bits = 15 + cell_log2_;
  const int cell_shift = 30 + cell_log2_;

  auto step = [&](const int8_t* x, size_t b) {
    auto gate_ptr = [&](int g) { return gates + (static_cast<size_t>(g) * B + b) * nc; };
    const int8_t* h = hstate + b * no;
    int16_t* c = cstate + b * nc;
    auto gate = [&](int g, bool sigmoid) {
      const IntegerGate& q = igate_[g];
      int16_t* o = gate_ptr(g);
      for (size_t j = 0; j < nc; ++j) {
        const int32_t ax = WrapAdd(q.x_bias[j], DotInt8(wx[g] + j * ni, x, ni));
        const int32_t vx = Clamp16(MultiplyByQuantizedMultiplier(ax, q.x_mult, q.x_shift));
        const int32_t ah = WrapAdd(q.h_bias[j], DotInt8(wh[g] + j * no, h, no));
        o[j] = Clamp16(int64_t{MultiplyByQuantizedMultiplier(ah, q.h_mult, q.h_shift)} + vx);
      }
      const int p = g == kI ? 0 : (g == kF ? 1 : (g == kO ? 2 : -1));
      if (p >= 0 && peep[p]) {
        for (size_t j = 0; j < nc; ++j) {
          const int32_t prod = int32_t{peep[p][j]} * int32_t{c[j]};
          o[j] = Clamp16(int64_t{MultiplyByQuantizedMultiplier(prod, q.c_mult, q.c_shift)} + o[j]);
        }
      }
      if (ln[g]) IntegerLayerNorm(o, nc, ln[g], lnb[g], q.ln_mult, q.ln_shift, q.variance_guard);
      if (sigmoid)
        lstm_fp::Logistic16Array(o, o, nc, 3);
      else
        lstm_fp::Tanh16Array(o, o, nc, 3);
    };
    if (!cifg_) gate(kI, true);
    gate(kF, true);
    gate(kC, false);
    {
      const int16_t* ig = gate_ptr(kI);
      const int16_t* fg = gate_ptr(kF);
      const int16_t* cg = gate_ptr(kC);
      for (size_t j = 0; j < nc; ++j) {
        const int16_t kept =
            lstm_fp::Wrap16(RoundingDivideByPOT(int32_t{fg[j]} * int32_t{c[j]}, 15));
        const int16_t in_gate = cifg_ ? lstm_fp::Wrap16(32767 - int32_t{fg[j]}) : ig[j];
        const int16_t added =
            lstm_fp::Wrap16(RoundingDivideByPOT(int32_t{in_gate} * int32_t{cg[j]}, cell_shift));
        int16_t cv = lstm_fp::SatAdd16(kept, added);
        if (qcell_clip_ > 0) cv = std::max<int16_t>(std::min<int16_t>(cv, qcell_clip_), static_cast<int16_t>(-qcell_clip_));
        c[j] = cv;
      }
    }
    gate(kO, true);
    const int16_t* og = gate_ptr(kO);
    // tanh(c) into the input gate's buffer (see PrepareInteger for the
    // out-of-range case, where that buffer keeps the input gate).
    int16_t* th = gate_ptr(kI);
    if (tanh_bits >= 0 && tanh_bits <= 6)
      lstm_fp::Tanh16Array(c, th, nc, tanh_bits);
    int8_t* hs = hstate + b * no;
    if (!projection_) {
      for (size_t j = 0; j < nc; ++j) {
        const int32_t prod = int32_t{og[j]} * int32_t{th[j]};
        hs[j] = Clamp8(int64_t{MultiplyByQuantizedMultiplier(prod, hidden_mult_, hidden_shift_)} +
                       hidden_zp_);
      }
    } else {
      int8_t* hid = hidden + b * nc;
      for (size_t j = 0; j < nc; ++j) {
        const int32_t prod = int32_t{og[j]} * int32_t{th[j]};
        hid[j] = Clamp8(int64_t{MultiplyByQuantizedMultiplier(prod, hidden_mult_, hidden_shift_)} -
                        hidden_zp_);
      }
      for (size_t j = 0; j < no; ++j) {
        const int32_t acc = WrapAdd(proj_bias_eff_[j], DotInt8(pw + j * nc, hid, nc));
        int8_t r = Clamp8(int64_t{MultiplyByQuantizedMultiplier(acc, proj_mult_, proj_shift_)} +
                          output_state_zp_);
        if (qproj_clip_ > 0) r = std::max<int8_t>(std::min<int8_t>(r, qproj_clip_), static_cast<int8_t>(-qproj_clip_));
        hs[j] = r;
      }
    }
  };

  if (time_major_) {
    for (size_t t = 0; t < T; ++t)
      for (size_t b = 0; b < B; ++b) {
        step(in + (t * B + b) * ni, b);
        std::memcpy(out + (t * B + b) * no, hstate + b * no, no);
      }
  } else {
    for (size_t b = 0; b < B; ++b)
      for (size_t t = 0; t < T; ++t) {
        step(in + (b * T + t) * ni, b);
        std::memcpy(out + (b * T + t) * no, hstate + b * no, no);
      }
  }
  return kTfLiteOk;
}

}  // namespace

TFC_REGISTER_OP(UNIDIRECTIONAL_SEQUENCE_LSTM, 1, 4, UnidirectionalSequenceLstm);

}  // namespace tfc
