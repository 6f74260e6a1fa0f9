// UNIDIRECTIONAL_SEQUENCE_LSTM, float32.
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
// The input contributions of all steps are one GEMM before the loop (weights
// of the gates packed side by side, bias fused when there is no layer norm);
// each step then runs one recurrent GEMM over the batch.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/kernel.h"
#include "kernels/util/activation.h"
#include "kernels/util/conv_util.h"
#include "kernels/util/gemm.h"

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

 private:
  size_t PackedFloats() const;
  void Pack(OpContext& ctx, float* dst);
  void ApplyActivation(float* v, size_t n) const;

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
};

TfLiteStatus UnidirectionalSequenceLstm::Prepare(OpContext& ctx) {
  TFC_ENSURE_MSG(ctx, ctx.num_inputs() == 20 || ctx.num_inputs() == 24,
                 "expected 20 or 24 inputs, got %d", ctx.num_inputs());
  TFC_ENSURE_MSG(ctx, ctx.num_outputs() == 1, "expected 1 output, got %d", ctx.num_outputs());
  const TfLiteTensor* input = ctx.input(kInput);
  TfLiteTensor* output = ctx.output(0);
  TFC_ENSURE_MSG(ctx, input && output, "missing input or output tensor");
  if (input->type == kTfLiteInt8 || input->type == kTfLiteUInt8 || input->type == kTfLiteInt16)
    return ctx.ErrorStatus(kTfLiteUnresolvedOps, "%s inputs are not supported yet",
                           TypeName(input->type));
  TFC_ENSURE_TYPE(ctx, input, kTfLiteFloat32);
  TFC_ENSURE_TYPE(ctx, output, kTfLiteFloat32);
  for (int i = 1; i < ctx.num_inputs(); ++i) {
    const TfLiteTensor* t = ctx.input(i);
    if (!t || t->type == kTfLiteFloat32) continue;
    if (t->type == kTfLiteInt8 || t->type == kTfLiteUInt8)
      return ctx.ErrorStatus(kTfLiteUnresolvedOps,
                             "%s weights with FLOAT32 input (hybrid) are not supported yet",
                             TypeName(t->type));
    return ctx.Error("input %d has type %s, expected FLOAT32", i, TypeName(t->type));
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
  TFC_ENSURE_TYPE(ctx, hs, kTfLiteFloat32);
  TFC_ENSURE_TYPE(ctx, cs, kTfLiteFloat32);
  TFC_ENSURE_MSG(ctx, hs->num_elements() == static_cast<int64_t>(b_) * n_output_,
                 "output_state must have %d x %d elements", b_, n_output_);
  TFC_ENSURE_MSG(ctx, cs->num_elements() == static_cast<int64_t>(b_) * n_cell_,
                 "cell_state must have %d x %d elements", b_, n_cell_);

  int64_t rows = 0, tmp = 0;
  TFC_ENSURE_MSG(ctx,
                 CheckedMul(t_, b_, &rows) && CheckedMul(rows, int64_t{gates_} * n_cell_, &tmp,
                                                         int64_t{1} << 40),
                 "sequence too large");

  // Weights: packed once when every one of them is constant.
  packed_const_ = true;
  for (int i = 1; i < ctx.num_inputs(); ++i) {
    if (i == kOutputState || i == kCellState) continue;
    const TfLiteTensor* t = ctx.input(i);
    if (t && !t->is_constant()) packed_const_ = false;
  }
  scratch_pack_ = -1;
  if (packed_const_) {
    if (!packed_.Reserve(PackedFloats() * sizeof(float))) return ctx.Error("out of memory");
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

}  // namespace

TFC_REGISTER_OP(UNIDIRECTIONAL_SEQUENCE_LSTM, 1, 4, UnidirectionalSequenceLstm);

}  // namespace tfc
