// CONV_2D: float32 (below), and quantized / hybrid (QuantConv2D, further
// down; Conv2D at the end picks one from the tensor types).
//
// Float32:
// Input [N, H, W, Cin], filter [Cout, KH, KW, Cin], bias [Cout] (optional),
// output [N, OH, OW, Cout]. Computed as a GEMM with M = N*OH*OW output pixels,
// K = KH*KW*Cin and the filter packed once (gemm::PackB) as B = filter^T,
// bias and fused activation applied by the GEMM's store. A is fed by mode:
// - kPointwise (1x1 filters): straight from the NHWC input, a pixel being a
//   row of Cin floats, whatever the stride; one output pixel with a large
//   filter (a classifier on a 1x1 image) takes dot products with the filter
//   unpacked instead (gemm::DotRows);
// - kRowRuns (no horizontal dilation): indirect GEMM over KH segments of
//   KW*Cin floats, each one filter row lying contiguously in the input; rows
//   that cross the left/right edge are copied zero-padded into scratch;
// - kTaps (horizontal dilation, Cin >= 24): indirect GEMM over KH*KW
//   segments of Cin floats;
// - kIm2col (otherwise): blocks of im2col rows copied into per-worker scratch.
// The indirection tables are built per block of rows by each worker.
#include <algorithm>
#include <cstring>
#include <memory>
#include <type_traits>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/util/activation.h"
#include "kernels/util/conv_util.h"
#include "kernels/util/gemm.h"
#include "kernels/util/qgemm.h"
#include "kernels/util/quant_math.h"

namespace tfc {
namespace {

// Bytes of im2col rows (or edge copies) one worker builds per block.
constexpr size_t kIm2colBlockBytes = 96 * 1024;
// Dilated filters with at least this many input channels use kTaps.
constexpr int kTapsMinChannels = 24;
// Output pixels per kTaps indirection block.
constexpr size_t kTapsBlockRows = 4 * gemm::kRowAlign;

enum class Mode { kPointwise, kRowRuns, kTaps, kIm2col };

bool IsQuantizedType(TfLiteType t) {
  return t == kTfLiteInt8 || t == kTfLiteUInt8 || t == kTfLiteInt16 || t == kTfLiteInt4;
}

// Copies n floats. Runs of 4..16 (im2col of thin inputs, e.g. 3x3 RGB
// rows of 9 floats) use two possibly overlapping vector pairs instead of a
// library call.
inline void CopyFloats(float* d, const float* s, size_t n) {
  using gemm::LoadV4;
  using gemm::StoreV4;
  if (n >= 8 && n <= 16) {
    const gemm::v4f a = LoadV4(s), b = LoadV4(s + 4);
    const gemm::v4f c = LoadV4(s + n - 8), e = LoadV4(s + n - 4);
    StoreV4(d, a);
    StoreV4(d + 4, b);
    StoreV4(d + n - 8, c);
    StoreV4(d + n - 4, e);
  } else if (n >= 4 && n < 8) {
    const gemm::v4f a = LoadV4(s), b = LoadV4(s + n - 4);
    StoreV4(d, a);
    StoreV4(d + n - 4, b);
  } else if (n < 4) {
    if (n > 0) d[0] = s[0];
    if (n > 1) d[1] = s[1];
    if (n > 2) d[2] = s[2];
  } else {
    std::memcpy(d, s, n * sizeof(float));
  }
}

class FloatConv2D final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override;
  TfLiteStatus Eval(OpContext& ctx) override;
  size_t OwnedBytes() const override { return HeapBytes(packed_, zero_); }

 private:
  void FillIm2col(const float* in, float* dst, size_t m0, size_t m1) const;
  void FillTaps(const float* in, const float** dst, size_t m0, size_t m1) const;
  void FillRowRuns(const float* in, const float** dst, float* patch, size_t m0, size_t m1) const;

  int batches_ = 0, in_h_ = 0, in_w_ = 0, in_c_ = 0;
  int out_h_ = 0, out_w_ = 0, out_c_ = 0;
  int kh_ = 0, kw_ = 0, sh_ = 1, sw_ = 1, dh_ = 1, dw_ = 1, pad_t_ = 0, pad_l_ = 0;
  size_t k_ = 0;  // KH*KW*Cin
  FloatRange act_;
  Mode mode_ = Mode::kIm2col;
  bool dot_ = false;             // gemm::DotRowsFits: gemm::DotRows on the filter as stored
  bool weights_packed_ = false;  // constant filter packed in packed_
  bool bias_packed_ = false;     // bias (or its absence) packed in packed_
  AlignedBuffer packed_;
  gemm::PackedB pb_;
  int scratch_weights_ = -1;  // non-constant filter: packed at Eval
  int scratch_bias_ = -1;     // non-constant bias
  int scratch_im2col_ = -1;
  size_t block_rows_ = 0;      // rows per block (a multiple of gemm::kRowAlign)
  size_t slot_bytes_ = 0;      // scratch bytes per worker
  AlignedBuffer zero_;         // KW*Cin zeros: segments that fall into the padding
  int workers_ = 1;
};

TfLiteStatus FloatConv2D::Prepare(OpContext& ctx) {
  TFC_ENSURE_MSG(ctx, ctx.num_inputs() == 2 || ctx.num_inputs() == 3,
                 "expected 2 or 3 inputs, got %d", ctx.num_inputs());
  TFC_ENSURE_MSG(ctx, ctx.num_outputs() == 1, "expected 1 output, got %d", ctx.num_outputs());
  const TfLiteTensor* input = ctx.input(0);
  const TfLiteTensor* filter = ctx.input(1);
  const TfLiteTensor* bias = ctx.input(2);
  TfLiteTensor* output = ctx.output(0);
  TFC_ENSURE_MSG(ctx, input && filter && output, "missing input, filter or output tensor");
  TFC_ENSURE_TYPE(ctx, input, kTfLiteFloat32);
  TFC_ENSURE_TYPE(ctx, filter, kTfLiteFloat32);
  TFC_ENSURE_TYPE(ctx, output, kTfLiteFloat32);
  if (filter->sparsity)
    return ctx.ErrorStatus(kTfLiteUnresolvedOps, "sparse filters are not supported");
  TFC_ENSURE_MSG(ctx, input->rank() == 4, "input must have rank 4, has %d", input->rank());
  TFC_ENSURE_MSG(ctx, filter->rank() == 4, "filter must have rank 4, has %d", filter->rank());

  batches_ = input->dim(0);
  in_h_ = input->dim(1);
  in_w_ = input->dim(2);
  in_c_ = input->dim(3);
  out_c_ = filter->dim(0);
  kh_ = filter->dim(1);
  kw_ = filter->dim(2);
  const int filter_c = filter->dim(3);
  TFC_ENSURE_MSG(ctx, batches_ >= 0 && in_h_ >= 0 && in_w_ >= 0 && in_c_ >= 1,
                 "bad input shape");
  TFC_ENSURE_MSG(ctx, out_c_ >= 1 && kh_ >= 1 && kw_ >= 1 && filter_c >= 1, "bad filter shape");
  if (filter_c != in_c_) {
    if (in_c_ % filter_c == 0)
      return ctx.ErrorStatus(kTfLiteUnresolvedOps,
                             "grouped convolution (input channels %d, filter channels %d) is "
                             "not supported yet",
                             in_c_, filter_c);
    return ctx.Error("filter has %d input channels, input has %d", filter_c, in_c_);
  }
  if (bias) {
    TFC_ENSURE_TYPE(ctx, bias, kTfLiteFloat32);
    TFC_ENSURE_MSG(ctx, bias->num_elements() == out_c_, "bias has %lld elements, expected %d",
                   static_cast<long long>(bias->num_elements()), out_c_);
  }

  const auto* opt = ctx.options<fb::Conv2DOptions>();
  const fb::Padding padding = opt ? opt->padding() : fb::Padding_SAME;
  sw_ = opt ? opt->stride_w() : 1;
  sh_ = opt ? opt->stride_h() : 1;
  dw_ = opt ? opt->dilation_w_factor() : 1;
  dh_ = opt ? opt->dilation_h_factor() : 1;
  bool act_ok = true;
  act_ = ActivationRange(
      opt ? opt->fused_activation_function() : fb::ActivationFunctionType_NONE, &act_ok);
  if (!act_ok)
    return ctx.Error("fused activation %d is not supported",
                     static_cast<int>(opt->fused_activation_function()));
  TFC_ENSURE_MSG(ctx, sw_ >= 1 && sh_ >= 1, "strides must be >= 1 (got %d, %d)", sh_, sw_);
  TFC_ENSURE_MSG(ctx, dw_ >= 1 && dh_ >= 1, "dilations must be >= 1 (got %d, %d)", dh_, dw_);
  ConvGeometry gh, gw;
  TFC_ENSURE_MSG(ctx,
                 ComputeConvGeometry(padding, in_h_, kh_, sh_, dh_, &gh) &&
                     ComputeConvGeometry(padding, in_w_, kw_, sw_, dw_, &gw),
                 "invalid padding/stride/dilation");
  out_h_ = gh.out;
  out_w_ = gw.out;
  pad_t_ = gh.pad_start;
  pad_l_ = gw.pad_start;

  int64_t k64 = 0, tmp = 0;
  TFC_ENSURE_MSG(ctx, CheckedMul(kh_, kw_, &tmp) && CheckedMul(tmp, in_c_, &k64),
                 "filter too large");
  int64_t pix = 0, outn = 0;
  TFC_ENSURE_MSG(ctx,
                 CheckedMul(batches_, out_h_, &tmp) && CheckedMul(tmp, out_w_, &pix) &&
                     CheckedMul(pix, out_c_, &outn, int64_t{1} << 40),
                 "output too large");
  k_ = static_cast<size_t>(k64);
  if (kh_ == 1 && kw_ == 1)
    mode_ = Mode::kPointwise;
  else if (dw_ == 1)
    mode_ = Mode::kRowRuns;
  else if (in_c_ >= kTapsMinChannels)
    mode_ = Mode::kTaps;
  else
    mode_ = Mode::kIm2col;

  // Weights: pack constant ones now.
  const size_t packed_floats = gemm::PackedSize(k_, static_cast<size_t>(out_c_));
  const bool bias_const = !bias || bias->is_constant();
  dot_ = mode_ == Mode::kPointwise && gemm::DotRowsFits(static_cast<size_t>(pix), k_,
                                                               static_cast<size_t>(out_c_));
  weights_packed_ = filter->is_constant() && !dot_;
  bias_packed_ = weights_packed_ && bias_const;
  scratch_weights_ = scratch_bias_ = scratch_im2col_ = -1;
  if (dot_) {  // the filter read where it is
    packed_.Release();
    pb_ = gemm::PackedB();
  } else if (weights_packed_) {
    if (!ctx.ReserveWeights(packed_, packed_floats * sizeof(float))) return ctx.Error("out of memory");
    float* dst = static_cast<float*>(packed_.data());
    pb_ = gemm::PackedBView(k_, static_cast<size_t>(out_c_), dst);
    ctx.PackWeights([k = k_, n = static_cast<size_t>(out_c_), w = filter->data_as<float>(),
                     b = bias_const && bias ? bias->data_as<float>() : nullptr, dst,
                     read = ctx.ReadBehindInput(1)] {
                      gemm::PackBStrided(k, n, w, 1, k, b, dst, read);
                    });
    ctx.ReleaseConstantInput(1);
    if (bias_const) ctx.ReleaseConstantInput(2);
    if (!bias_const)
      scratch_bias_ = ctx.RequestScratch(gemm::NumPanels(out_c_) * gemm::kNR * sizeof(float));
  } else {
    packed_.Release();
    pb_ = gemm::PackedB();
    scratch_weights_ = ctx.RequestScratch(packed_floats * sizeof(float));
  }

  workers_ = std::max(1, ctx.num_threads());
  const size_t align = gemm::kRowAlign;
  const size_t m = static_cast<size_t>(pix);
  const size_t per_worker =
      (m + static_cast<size_t>(workers_) - 1) / static_cast<size_t>(workers_);
  const size_t max_rows = std::max<size_t>(align, (per_worker + align - 1) / align * align);
  size_t rows = kIm2colBlockBytes / (k_ * sizeof(float));
  rows = std::min(max_rows, std::max<size_t>(align, rows / align * align));
  const size_t run = static_cast<size_t>(kw_) * static_cast<size_t>(in_c_);
  switch (mode_) {
    case Mode::kPointwise:
      block_rows_ = slot_bytes_ = 0;
      break;
    case Mode::kRowRuns:  // table of KH pointers per row + edge copies
      block_rows_ = rows;
      slot_bytes_ = rows * static_cast<size_t>(kh_) * sizeof(const float*) + rows * k_ * sizeof(float);
      break;
    case Mode::kTaps:
      block_rows_ = std::min(kTapsBlockRows, max_rows);
      slot_bytes_ = block_rows_ * static_cast<size_t>(kh_) * kw_ * sizeof(const float*);
      break;
    case Mode::kIm2col:
      block_rows_ = rows;
      slot_bytes_ = rows * k_ * sizeof(float);
      break;
  }
  if (mode_ != Mode::kPointwise) {
    if (!zero_.Reserve(run * sizeof(float))) return ctx.Error("out of memory");
    std::memset(zero_.data(), 0, run * sizeof(float));
    slot_bytes_ = (slot_bytes_ + 63) / 64 * 64;
    scratch_im2col_ = ctx.RequestScratch(static_cast<size_t>(workers_) * slot_bytes_);
  }
  return ctx.ResizeOutput(0, {batches_, out_h_, out_w_, out_c_});
}

// Rows [m0, m1) of the im2col matrix (one row per output pixel, K floats in
// (ky, kx, c) order, zeros where the filter hangs over the padding).
void FloatConv2D::FillIm2col(const float* in, float* dst, size_t m0, size_t m1) const {
  if (m0 >= m1) return;
  const size_t plane = static_cast<size_t>(out_h_) * out_w_;
  const size_t cin = static_cast<size_t>(in_c_);
  const size_t run = static_cast<size_t>(kw_) * cin;  // one filter row, when contiguous
  const size_t img_size = static_cast<size_t>(in_h_) * in_w_ * cin;
  size_t n = m0 / plane;
  int oy = static_cast<int>((m0 % plane) / out_w_);
  int ox = static_cast<int>(m0 % out_w_);
  float* d = dst;
  for (size_t m = m0; m < m1; ++m) {
    const int iy0 = oy * sh_ - pad_t_;
    const int ix0 = ox * sw_ - pad_l_;
    const float* img = in + n * img_size;
    const bool row_inside = dw_ == 1 && ix0 >= 0 && ix0 + kw_ <= in_w_;
    for (int ky = 0; ky < kh_; ++ky) {
      const int iy = iy0 + ky * dh_;
      if (iy < 0 || iy >= in_h_) {
        std::memset(d, 0, run * sizeof(float));
        d += run;
        continue;
      }
      const float* src_row = img + static_cast<size_t>(iy) * in_w_ * cin;
      if (row_inside) {  // the whole filter row is one contiguous run
        CopyFloats(d, src_row + static_cast<size_t>(ix0) * cin, run);
        d += run;
        continue;
      }
      for (int kx = 0; kx < kw_; ++kx) {
        const int ix = ix0 + kx * dw_;
        if (ix < 0 || ix >= in_w_)
          std::memset(d, 0, cin * sizeof(float));
        else
          CopyFloats(d, src_row + static_cast<size_t>(ix) * cin, cin);
        d += cin;
      }
    }
    if (++ox == out_w_) {
      ox = 0;
      if (++oy == out_h_) {
        oy = 0;
        ++n;
      }
    }
  }
}

// The indirection table of rows [m0, m1) (m0 a whole number of tiles from
// the chunk start): per tile of TileRows() rows, [tap][row] pointers to Cin
// input floats, or to zeros for taps in the padding. Rows past m1 repeat the
// last row.
void FloatConv2D::FillTaps(const float* in, const float** dst, size_t m0, size_t m1) const {
  const size_t plane = static_cast<size_t>(out_h_) * out_w_;
  const size_t cin = static_cast<size_t>(in_c_);
  const size_t img_size = static_cast<size_t>(in_h_) * in_w_ * cin;
  const size_t taps = static_cast<size_t>(kh_) * kw_;
  const float* zero = static_cast<const float*>(zero_.data());
  const size_t tr = static_cast<size_t>(gemm::TileRows());
  size_t n = m0 / plane;
  int oy = static_cast<int>((m0 % plane) / out_w_);
  int ox = static_cast<int>(m0 % out_w_);
  for (size_t m = m0; m < m1; m += tr) {
    const float** tile = dst + ((m - m0) / tr) * taps * tr;
    for (size_t r = 0; r < tr; ++r) {
      if (m + r >= m1) {  // past the end: repeat the last valid row
        for (size_t t = 0; t < taps; ++t) tile[t * tr + r] = tile[t * tr + r - 1];
        continue;
      }
      const int iy0 = oy * sh_ - pad_t_;
      const int ix0 = ox * sw_ - pad_l_;
      const float* img = in + n * img_size;
      if (++ox == out_w_) {
        ox = 0;
        if (++oy == out_h_) {
          oy = 0;
          ++n;
        }
      }
      size_t t = 0;
      for (int ky = 0; ky < kh_; ++ky) {
        const int iy = iy0 + ky * dh_;
        const bool row_ok = iy >= 0 && iy < in_h_;
        for (int kx = 0; kx < kw_; ++kx, ++t) {
          const int ix = ix0 + kx * dw_;
          tile[t * tr + r] =
              (row_ok && ix >= 0 && ix < in_w_)
                  ? img + (static_cast<size_t>(iy) * in_w_ + static_cast<size_t>(ix)) * cin
                  : zero;
        }
      }
    }
  }
}

// The kRowRuns table of rows [m0, m1): per tile of TileRows() rows, [ky][row]
// pointers to the KW*Cin floats of filter row ky: in the input when the run
// lies inside it, else a zero-padded copy in `patch` (or the zero run when the
// whole row is in the padding). Rows past m1 repeat the last row.
void FloatConv2D::FillRowRuns(const float* in, const float** dst, float* patch, size_t m0,
                              size_t m1) const {
  // The members in locals: the table's stores would otherwise make the compiler
  // load them again for every pointer (a 3x3 RGB layer's table cost as much as
  // its GEMM).
  const int in_h = in_h_, in_w = in_w_, out_h = out_h_, out_w = out_w_, kh = kh_, kw = kw_;
  const int sh = sh_, sw = sw_, dh = dh_, pad_t = pad_t_, pad_l = pad_l_;
  const size_t cin = static_cast<size_t>(in_c_);
  const size_t run = static_cast<size_t>(kw) * cin;
  const size_t in_row = static_cast<size_t>(in_w) * cin;
  const size_t img_size = static_cast<size_t>(in_h) * in_row;
  const size_t ky_step = static_cast<size_t>(dh) * in_row;
  const size_t plane = static_cast<size_t>(out_h) * out_w;
  const float* zero = static_cast<const float*>(zero_.data());
  const size_t tr = static_cast<size_t>(gemm::TileRows());
  const int last_ky = (kh - 1) * dh;
  // Output position of row m0, then stepped along (no divisions per row).
  size_t n = m0 / plane;
  int oy = static_cast<int>((m0 % plane) / out_w);
  int ox = static_cast<int>(m0 % out_w);
  for (size_t m = m0; m < m1; m += tr) {
    const float** tile = dst + ((m - m0) / tr) * kh * tr;
    for (size_t r = 0; r < tr; ++r) {
      if (m + r >= m1) {  // past the end: repeat the last valid row
        for (int ky = 0; ky < kh; ++ky) tile[ky * tr + r] = tile[ky * tr + r - 1];
        continue;
      }
      const int iy0 = oy * sh - pad_t;
      const int ix0 = ox * sw - pad_l;
      const float* img = in + n * img_size;
      if (++ox == out_w) {
        ox = 0;
        if (++oy == out_h) {
          oy = 0;
          ++n;
        }
      }
      const bool inside = ix0 >= 0 && ix0 + kw <= in_w;
      if (inside && iy0 >= 0 && iy0 + last_ky < in_h) {  // the whole window in the image
        const float* p = img + static_cast<size_t>(iy0) * in_row + static_cast<size_t>(ix0) * cin;
        for (int ky = 0; ky < kh; ++ky, p += ky_step) tile[ky * tr + r] = p;
        continue;
      }
      for (int ky = 0; ky < kh; ++ky) {
        const int iy = iy0 + ky * dh;
        const float** slot = &tile[static_cast<size_t>(ky) * tr + r];
        if (iy < 0 || iy >= in_h) {
          *slot = zero;
          continue;
        }
        const float* src_row = img + static_cast<size_t>(iy) * in_row;
        if (inside) {
          *slot = src_row + static_cast<size_t>(ix0) * cin;
          continue;
        }
        float* d = patch;
        for (int kx = 0; kx < kw; ++kx, d += cin) {
          const int ix = ix0 + kx;
          if (ix < 0 || ix >= in_w)
            std::memset(d, 0, cin * sizeof(float));
          else
            CopyFloats(d, src_row + static_cast<size_t>(ix) * cin, cin);
        }
        *slot = patch;
        patch += run;
      }
    }
  }
}

TfLiteStatus FloatConv2D::Eval(OpContext& ctx) {
  const TfLiteTensor* input = ctx.input(0);
  const TfLiteTensor* filter = ctx.input(1);
  const TfLiteTensor* bias = ctx.input(2);
  TfLiteTensor* output = ctx.output(0);
  const size_t m = static_cast<size_t>(batches_) * out_h_ * out_w_;
  if (m == 0) return kTfLiteOk;
  const float* in = input->data_as<float>();
  float* out = output->data_as<float>();
  const size_t n = static_cast<size_t>(out_c_);

  if (dot_) {  // the one pixel: input element 0 on, whatever the stride
    gemm::DotRows(ctx.pool(), k_, n, in, filter->data_as<float>(), bias ? bias->data_as<float>() : nullptr,
                  out, act_);
    return kTfLiteOk;
  }
  gemm::PackedB pb = pb_;
  if (!weights_packed_) {
    float* dst = static_cast<float*>(ctx.Scratch(scratch_weights_));
    pb = gemm::PackBStrided(k_, n, filter->data_as<float>(), 1, k_,
                            bias ? bias->data_as<float>() : nullptr, dst);
  } else if (!bias_packed_) {
    float* dst = static_cast<float*>(ctx.Scratch(scratch_bias_));
    gemm::PackBias(n, bias ? bias->data_as<float>() : nullptr, dst);
    pb.bias = dst;
  }

  ThreadPool& pool = ctx.pool();
  if (mode_ == Mode::kPointwise) {
    const size_t cin = static_cast<size_t>(in_c_);
    if (sh_ == 1 && sw_ == 1) {
      auto row = [in, cin](size_t i) { return in + i * cin; };
      gemm::Gemm(pool, pb, m, row, out, n, act_);
    } else {
      const size_t ow = static_cast<size_t>(out_w_), plane = ow * out_h_;
      const size_t ih = static_cast<size_t>(in_h_), iw = static_cast<size_t>(in_w_);
      const size_t sh = static_cast<size_t>(sh_), sw = static_cast<size_t>(sw_);
      auto row = [=](size_t i) {
        const size_t b = i / plane, r = i % plane;
        const size_t oy = r / ow, ox = r % ow;
        return in + ((b * ih + oy * sh) * iw + ox * sw) * cin;
      };
      gemm::Gemm(pool, pb, m, row, out, n, act_);
    }
    return kTfLiteOk;
  }

  // Chunks of row tiles or of panels, claimed by the threads as they go;
  // each thread owns a slice of the scratch.
  char* scratch = static_cast<char*>(ctx.Scratch(scratch_im2col_));
  const double macs = static_cast<double>(m) * n * k_;
  // Rows or panels: one row (a 1x1 image, as a classifier's last layer) still splits its panels.
  const int workers = gemm::Workers(pool, macs, gemm::kMinParallelMacs,
                                    static_cast<int64_t>(std::max(m, pb.panels)), workers_);
  const bool split_rows = workers == 1 || gemm::SplitRows(m, pb.panels, workers);
  const size_t tr = static_cast<size_t>(gemm::TileRows());
  const size_t block = block_rows_;
  const size_t k = k_;
  const size_t kh = static_cast<size_t>(kh_);
  auto chunk = [&](int64_t u0, int64_t u1, int thread) {
    char* slot = scratch + static_cast<size_t>(thread) * slot_bytes_;
    size_t r0 = 0, r1 = m, p0 = 0, p1 = pb.panels;
    if (split_rows) {
      r0 = std::min(m, static_cast<size_t>(u0) * tr);
      r1 = std::min(m, static_cast<size_t>(u1) * tr);
    } else {
      p0 = static_cast<size_t>(u0);
      p1 = static_cast<size_t>(u1);
    }
    for (size_t b0 = r0; b0 < r1; b0 += block) {
      const size_t b1 = std::min(r1, b0 + block);
      switch (mode_) {
        case Mode::kRowRuns: {
          const float** table = reinterpret_cast<const float**>(slot);
          float* patch = reinterpret_cast<float*>(slot + block * kh * sizeof(const float*));
          FillRowRuns(in, table, patch, b0, b1);
          gemm::IndirectGemmRange(pb, kh, static_cast<size_t>(kw_) * in_c_, table, b0, b1, p0, p1,
                                  out, n, act_);
          break;
        }
        case Mode::kTaps: {
          const float** table = reinterpret_cast<const float**>(slot);
          FillTaps(in, table, b0, b1);
          gemm::IndirectGemmRange(pb, kh * kw_, static_cast<size_t>(in_c_), table, b0, b1, p0, p1,
                                  out, n, act_);
          break;
        }
        default: {
          float* rows = reinterpret_cast<float*>(slot);
          FillIm2col(in, rows, b0, b1);
          auto row = [rows, b0, k](size_t i) { return rows + (i - b0) * k; };
          gemm::GemmRange(pb, row, b0, b1, p0, p1, out, n, act_);
          break;
        }
      }
    }
  };
  const size_t units = split_rows ? (m + tr - 1) / tr : pb.panels;
  if (workers == 1)
    chunk(0, static_cast<int64_t>(units), 0);
  else
    pool.ParallelFor(static_cast<int64_t>(units), 1, chunk);
  return kTfLiteOk;
}

// ---------------------------------------------------------------------------
// Quantized and hybrid CONV_2D
// ---------------------------------------------------------------------------
//
// Full-integer: int8 input x int8 filter (per-channel or per-tensor scales,
// symmetric) with int32 bias; uint8 x uint8 (per-tensor, filter zero point
// allowed); int16 x int8 ("16x8") with int64 or int32 bias. Hybrid: float
// input and output with an int8 filter; the input is quantized per batch on
// the fly as TensorFlow Lite does (asymmetric when the filter scales differ
// per channel, symmetric otherwise).
//
// All variants run the same im2col GEMM on centered int16 operands: a block
// of output pixels is expanded into rows of K = KH*KW*Cin values
// (q - input_zero_point, 0 in the padding) and multiplied by the filter
// packed once as (w - filter_zero_point) (qconv::QGemmRows), giving exact
// int32 sums (16x8: int64, plain loops). int8 x int8 on a CPU with VNNI
// (AVX-512 or AVX-VNNI) takes 8-bit rows instead (q + 128, qconv::Q8GemmRequant, which also
// requantizes) and folds the
// (128 + input_zero_point) * sum(w) correction (qconv::Q8OffsetShift) into the bias: the same
// integers, four times fewer instructions. The output stage then requantizes
// or scales back to float, following TensorFlow Lite's optimized kernel:
// - 8-bit: multiplier from input_scale * filter_scale / output_scale in
//   double; the final rounding shift breaks ties upward (its GEMM library's
//   output stage), not away from zero;
// - 16x8: the 64-bit reference requantization;
// - hybrid per-channel: float(acc) * (filter_scale * input_scale) + bias;
//   per-tensor: float(acc) * (input_scale * filter_scale) + bias.
enum class QKind { kInt8, kUint8, k16x8, kHybridPerChannel, kHybridPerTensor };

// Output pixels per im2col block: as many as fit kQBlockBytes of int16 rows,
// a multiple of the GEMM tile's rows, at most kQMaxBlockRows.
constexpr size_t kQBlockBytes = 64 * 1024;
constexpr size_t kQMaxBlockRows = 64;

class QuantConv2D final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override;
  TfLiteStatus Eval(OpContext& ctx) override;
  size_t OwnedBytes() const override {
    return HeapBytes(weights_, packed_, packed8_, correction_, bias8_, mult_, shift_,
                     filter_scale_, filter_zp_, tap_offsets_) +
           requant_.Bytes();
  }

 private:
  template <class T>
  void FillRows(const T* in, const int32_t* batch_zp, int16_t* dst, size_t m0, size_t m1) const;
  void FillRows8(const int8_t* in, uint8_t* dst, size_t m0, size_t m1) const;
  template <class F>
  void ForEachPixel(size_t m0, size_t m1, F fn) const;
  void FillTapRuns(const uint8_t* in8, const uint8_t** runs, size_t m0, size_t m1) const;
  void PaddedUnsignedImage(ThreadPool& pool, bool parallel, const int8_t* in, uint8_t* out) const;
  size_t RowsBytes() const;
  // indirect8_: the run pointers of block_rows_ rows rounded up to whole
  // tiles.
  size_t RunPointerBytes() const {
    const size_t tiles = (block_rows_ + qconv::kQ8MR - 1) / qconv::kQ8MR;
    return (tiles * qconv::kQ8MR * run_taps_ * sizeof(uint8_t*) + 63) / 64 * 64;
  }
  template <class T, class D, class Seg>
  void Im2Col(const T* in, D* dst, size_t lda, size_t m0, size_t m1, Seg seg) const;
  template <class T, class D, class Seg>
  void Im2ColPixel(const T* in, D* d, size_t lda, size_t n, int iy0, int ix0, Seg seg) const;
  // Rows [m0, m1); on the 8-bit GEMM only the channels of panels [p0, p1).
  template <class T>
  void RunRows(const T* in, const int32_t* batch_zp, const float* batch_scale, const void* bias,
               void* out, int16_t* rows, void* acc, size_t m0, size_t m1,
               size_t p0 = 0, size_t p1 = qconv::kAllPanels) const;

  QKind kind_ = QKind::kInt8;
  int batches_ = 0, in_h_ = 0, in_w_ = 0, in_c_ = 0;
  int out_h_ = 0, out_w_ = 0, out_c_ = 0;
  int kh_ = 0, kw_ = 0, sh_ = 1, sw_ = 1, dh_ = 1, dw_ = 1, pad_t_ = 0, pad_l_ = 0;
  size_t k_ = 0;
  std::vector<int16_t> weights_;  // [Cout][K], centered (16x8 kernel)
  std::vector<int16_t> packed_;   // the same packed for qconv::QGemmRows (8-bit, hybrid)
  bool q8_ = false;               // int8 x int8 through qconv::Q8GemmRequant (qconv::HasQ8Gemm)
  AlignedBuffer packed8_;         // the raw int8 filter packed for it
  const int8_t* packed8() const { return static_cast<const int8_t*>(packed8_.data()); }
  std::vector<int32_t> correction_;  // PackQ8B's offsets: -(128 + input_zero_point) * sum(w) per channel (x86)
  std::vector<int32_t> bias8_;    // bias + correction, filled by Eval
  size_t lda8_ = 0;               // its row stride: K rounded up to a multiple of 4
  bool pointwise_ = false;  // 1x1, stride 1, no padding: the im2col rows are the input's pixels
  bool contiguous_rows8_ = false;  // pointwise_ with rows of lda8_ == K bytes
  bool indirect8_ = false;  // its rows are tap pointers into the input made unsigned (Cin % 4 == 0)
  // indirect8_ rows: run_taps_ runs of run_bytes_ each: a filter row's KW
  // taps, contiguous in the input, as one run (no horizontal dilation), else
  // one run per tap, into the padded image (PaddedUnsignedImage).
  size_t run_taps_ = 0, run_bytes_ = 0;
  bool octets_ = false;  // indirect8_ with a lone last panel packed in octets (qconv::Q8OctetLastPanel)
  // The other 8-bit rows copy their runs from the input made unsigned once per
  // Eval too (unsigned8_: indirect8_ or im2col rows).
  bool unsigned8_ = false;
  int scratch_u8_ = -1;  // unsigned8_: the input as unsigned bytes, padded for indirect8_, else with 16 bytes slack
  std::vector<size_t> tap_offsets_;  // indirect8_: each run's byte offset from the window's corner
  // indirect8_: the input made unsigned with its padding around it (the zero point's byte): padded_h_ x
  // padded_w_ pixels per batch, so that every run lies in it and the run pointers need no patches.
  int padded_h_ = 0, padded_w_ = 0;
  size_t lda_ = 0;                // im2col row stride: K rounded up to even
  size_t block_rows_ = 0;
  std::vector<int32_t> mult_;
  std::vector<int> shift_;
  qconv::ChannelRequant requant_;  // 8-bit output stage (ties rounded upward, as ruy)
  std::vector<float> filter_scale_;
  std::vector<int32_t> filter_zp_;
  int32_t in_zp_ = 0, out_zp_ = 0, act_lo_ = 0, act_hi_ = 0;
  FloatRange act_;
  bool bias64_ = false;
  int scratch_rows_ = -1;    // per worker: block_rows_ im2col rows + their accumulators
  int scratch_qin_ = -1;     // hybrid: quantized input
  int scratch_bparams_ = -1; // hybrid: per-batch zero points and scales
  size_t slot_bytes_ = 0;
  int workers_ = 1;
};

TfLiteStatus QuantConv2D::Prepare(OpContext& ctx) {
  TFC_ENSURE_MSG(ctx, ctx.num_inputs() == 2 || ctx.num_inputs() == 3,
                 "expected 2 or 3 inputs, got %d", ctx.num_inputs());
  TFC_ENSURE_MSG(ctx, ctx.num_outputs() == 1, "expected 1 output, got %d", ctx.num_outputs());
  const TfLiteTensor* input = ctx.input(0);
  const TfLiteTensor* filter = ctx.input(1);
  const TfLiteTensor* bias = ctx.input(2);
  TfLiteTensor* output = ctx.output(0);
  TFC_ENSURE_MSG(ctx, input && filter && output, "missing input, filter or output tensor");
  if (filter->sparsity)
    return ctx.ErrorStatus(kTfLiteUnresolvedOps, "sparse filters are not supported");
  TFC_ENSURE_MSG(ctx, input->rank() == 4, "input must have rank 4, has %d", input->rank());
  TFC_ENSURE_MSG(ctx, filter->rank() == 4, "filter must have rank 4, has %d", filter->rank());
  TFC_ENSURE_MSG(ctx, filter->is_constant(), "quantized CONV_2D needs a constant filter");

  const TfLiteType it = input->type, ft = filter->type;
  if (it == kTfLiteInt8 && ft == kTfLiteInt8)
    kind_ = QKind::kInt8;
  else if (it == kTfLiteUInt8 && ft == kTfLiteUInt8)
    kind_ = QKind::kUint8;
  else if (it == kTfLiteInt16 && ft == kTfLiteInt8)
    kind_ = QKind::k16x8;
  else if (it == kTfLiteFloat32 && ft == kTfLiteInt8)
    kind_ = QKind::kHybridPerChannel;  // refined below
  else
    return ctx.ErrorStatus(kTfLiteUnresolvedOps, "%s input with %s filter is not supported",
                           TypeName(it), TypeName(ft));
  const bool hybrid = kind_ == QKind::kHybridPerChannel;
  TFC_ENSURE_MSG(ctx, output->type == it, "output type %s differs from input type %s",
                 TypeName(output->type), TypeName(it));

  batches_ = input->dim(0);
  in_h_ = input->dim(1);
  in_w_ = input->dim(2);
  in_c_ = input->dim(3);
  out_c_ = filter->dim(0);
  kh_ = filter->dim(1);
  kw_ = filter->dim(2);
  TFC_ENSURE_MSG(ctx, batches_ >= 0 && in_h_ >= 0 && in_w_ >= 0 && in_c_ >= 1,
                 "bad input shape");
  TFC_ENSURE_MSG(ctx, out_c_ >= 1 && kh_ >= 1 && kw_ >= 1, "bad filter shape");
  if (filter->dim(3) != in_c_)
    return ctx.ErrorStatus(kTfLiteUnresolvedOps,
                           "filter has %d input channels, input has %d (grouped convolution is "
                           "not supported)",
                           filter->dim(3), in_c_);

  // Quantization parameters.
  const char* why = qconv::FilterScales(filter, out_c_, 0, ft == kTfLiteInt8, &filter_scale_,
                                        &filter_zp_);
  if (why) return ctx.Error("%s", why);
  if (hybrid) {
    bool differ = false;
    for (float s : filter_scale_) differ = differ || s != filter_scale_[0];
    kind_ = filter->quant.scale.size() > 1 && differ ? QKind::kHybridPerChannel
                                                      : QKind::kHybridPerTensor;
    TFC_ENSURE_TYPE(ctx, output, kTfLiteFloat32);
    if (bias) TFC_ENSURE_TYPE(ctx, bias, kTfLiteFloat32);
  } else {
    if ((why = qconv::CheckActivationQuant(input))) return ctx.Error("input %s", why);
    if ((why = qconv::CheckActivationQuant(output))) return ctx.Error("output %s", why);
    in_zp_ = qconv::ZeroPointOf(input);
    out_zp_ = qconv::ZeroPointOf(output);
    const float in_s = qconv::ScaleOf(input), out_s = qconv::ScaleOf(output);
    if (kind_ == QKind::kUint8) {
      TFC_ENSURE_MSG(ctx, filter->quant.scale.size() == 1,
                     "uint8 CONV_2D takes a per-tensor quantized filter");
      int32_t m;
      int s;
      qconv::PerTensorMultiplierUint8(in_s, filter_scale_[0], out_s, &m, &s);
      mult_.assign(static_cast<size_t>(out_c_), m);
      shift_.assign(static_cast<size_t>(out_c_), s);
    } else {
      qconv::PerChannelMultipliers(in_s, filter_scale_, out_s, &mult_, &shift_);
    }
    TFC_ENSURE_MSG(ctx, kind_ != QKind::k16x8 || qconv::Shifts16x8Ok(shift_), "%s", qconv::kShifts16x8Error);
    bias64_ = false;
    if (bias) {
      if (kind_ == QKind::k16x8) {
        TFC_ENSURE_MSG(ctx, bias->type == kTfLiteInt64 || bias->type == kTfLiteInt32,
                       "16x8 CONV_2D takes an int64 or int32 bias, got %s", TypeName(bias->type));
        bias64_ = bias->type == kTfLiteInt64;
      } else {
        TFC_ENSURE_TYPE(ctx, bias, kTfLiteInt32);
      }
    }
    int32_t lo, hi;
    qconv::TypeRange(it, &lo, &hi);
    bool ok = true;
    const FloatRange r = ActivationRange(
        ctx.options<fb::Conv2DOptions>() ? ctx.options<fb::Conv2DOptions>()->fused_activation_function()
                                         : fb::ActivationFunctionType_NONE,
        &ok);
    if (!ok) return ctx.Error("unsupported fused activation");
    QuantizedClampRange(r.lo, r.hi, out_s, out_zp_, lo, hi, &act_lo_, &act_hi_);
  }
  if (bias)
    TFC_ENSURE_MSG(ctx, bias->num_elements() == out_c_, "bias has %lld elements, expected %d",
                   static_cast<long long>(bias->num_elements()), out_c_);

  const auto* opt = ctx.options<fb::Conv2DOptions>();
  const fb::Padding padding = opt ? opt->padding() : fb::Padding_SAME;
  sw_ = opt ? opt->stride_w() : 1;
  sh_ = opt ? opt->stride_h() : 1;
  dw_ = opt ? opt->dilation_w_factor() : 1;
  dh_ = opt ? opt->dilation_h_factor() : 1;
  bool act_ok = true;
  act_ = ActivationRange(
      opt ? opt->fused_activation_function() : fb::ActivationFunctionType_NONE, &act_ok);
  if (!act_ok) return ctx.Error("unsupported fused activation");
  TFC_ENSURE_MSG(ctx, sw_ >= 1 && sh_ >= 1, "strides must be >= 1 (got %d, %d)", sh_, sw_);
  TFC_ENSURE_MSG(ctx, dw_ >= 1 && dh_ >= 1, "dilations must be >= 1 (got %d, %d)", dh_, dw_);
  ConvGeometry gh, gw;
  TFC_ENSURE_MSG(ctx,
                 ComputeConvGeometry(padding, in_h_, kh_, sh_, dh_, &gh) &&
                     ComputeConvGeometry(padding, in_w_, kw_, sw_, dw_, &gw),
                 "invalid padding/stride/dilation");
  out_h_ = gh.out;
  out_w_ = gw.out;
  pad_t_ = gh.pad_start;
  pad_l_ = gw.pad_start;
  int64_t k64 = 0, tmp = 0, pix = 0, outn = 0, inn = 0;
  TFC_ENSURE_MSG(ctx, CheckedMul(kh_, kw_, &tmp) && CheckedMul(tmp, in_c_, &k64) && k64 < 65536,
                 "filter too large");
  TFC_ENSURE_MSG(ctx,
                 CheckedMul(batches_, out_h_, &tmp) && CheckedMul(tmp, out_w_, &pix) &&
                     CheckedMul(pix, out_c_, &outn, int64_t{1} << 40),
                 "output too large");
  TFC_ENSURE_MSG(ctx, CheckedMul(batches_, in_h_, &tmp) && CheckedMul(tmp, in_w_, &inn) &&
                          CheckedMul(inn, in_c_, &inn, int64_t{1} << 40),
                 "input too large");
  k_ = static_cast<size_t>(k64);

  q8_ = kind_ == QKind::kInt8 && qconv::HasQ8Gemm();
  if (!q8_) packed8_.Release();  // else packed again below, into the same block where it fits
  contiguous_rows8_ = indirect8_ = unsigned8_ = octets_ = false;
  pointwise_ = kh_ == 1 && kw_ == 1 && sh_ == 1 && sw_ == 1 && pad_t_ == 0 && pad_l_ == 0 &&
               out_h_ == in_h_ && out_w_ == in_w_ && k_ == static_cast<size_t>(in_c_);
  correction_.clear();
  bias8_.clear();
  if (q8_) {  // the raw int8 filter packed for qconv::Q8GemmRequant (its zero point is 0)
    const size_t n = static_cast<size_t>(out_c_);
    const int8_t* w8 = filter->data_as<int8_t>();
    lda8_ = qconv::Q8RowStride(k_);
    contiguous_rows8_ = pointwise_ && lda8_ == k_;
    indirect8_ = !contiguous_rows8_ && in_c_ % 4 == 0 && k_ == static_cast<size_t>(kh_) * kw_ * in_c_;
    unsigned8_ = !contiguous_rows8_;
    tap_offsets_.clear();
    const int run_kx = dw_ == 1 ? 1 : kw_;  // runs per filter row
    run_taps_ = indirect8_ ? static_cast<size_t>(kh_) * run_kx : 0;
    run_bytes_ = indirect8_ ? static_cast<size_t>(in_c_) * (dw_ == 1 ? kw_ : 1) : 0;
    // The padding the windows reach on each side: top and left as the geometry gives them, bottom and
    // right as far as the last window goes past the image.
    padded_h_ = pad_t_ + std::max(in_h_, (out_h_ - 1) * sh_ + (kh_ - 1) * dh_ + 1 - pad_t_);
    padded_w_ = pad_l_ + std::max(in_w_, (out_w_ - 1) * sw_ + (kw_ - 1) * dw_ + 1 - pad_l_);
    for (int ky = 0; indirect8_ && ky < kh_; ++ky)
      for (int kx = 0; kx < run_kx; ++kx)
        tap_offsets_.push_back((static_cast<size_t>(ky) * dh_ * padded_w_ + static_cast<size_t>(kx) * dw_) *
                               static_cast<size_t>(in_c_));
    if (!ctx.ReserveWeights(packed8_, qconv::PackedQ8BSize(k_, n))) return ctx.Error("out of memory");
    correction_.resize(n);
    octets_ = indirect8_ && qconv::Q8OctetsFit(n, run_bytes_ / 4);
    ctx.PackWeights([this, w8, n, read = ctx.ReadBehindInput(1)] {
      qconv::PackQ8B(w8, n, k_, in_zp_, static_cast<int8_t*>(packed8_.data()), correction_.data(), read);
      if (octets_) qconv::Q8OctetLastPanel(static_cast<int8_t*>(packed8_.data()), k_, n);
    });
    bias8_.resize(n);
  }

  // The int16 GEMM's weights (not for the 8-bit GEMM): the filter centered, [Cout][K], kept as it is
  // for 16x8 and packed (qconv::PackQB) for the other kinds.
  const size_t n_centered = q8_ ? 0 : static_cast<size_t>(out_c_);
  const bool pack16 = !q8_ && kind_ != QKind::k16x8;
  weights_.resize(kind_ == QKind::k16x8 ? n_centered * k_ : 0);
  weights_.shrink_to_fit();
  if (pack16)
    packed_.resize(qconv::PackedQBSize(k_, n_centered));
  else
    packed_.clear();
  if (n_centered)
    ctx.PackWeights([this, w8 = filter->data_as<int8_t>(), u8 = ft == kTfLiteUInt8, n_centered, pack16,
                     read = ctx.ReadBehindInput(1)]() mutable {
      std::vector<int16_t> centered(pack16 ? n_centered * k_ : 0);
      int16_t* dst = pack16 ? centered.data() : weights_.data();
      for (size_t c = 0; c < n_centered; ++c) {
        const int32_t zp = filter_zp_[c];
        for (size_t i = 0; i < k_; ++i) {
          const size_t j = c * k_ + i;
          const int32_t w = u8 ? int32_t{static_cast<uint8_t>(w8[j])} : int32_t{w8[j]};
          dst[j] = static_cast<int16_t>(w - zp);
        }
        read(w8 + (c + 1) * k_);
      }
      if (pack16) qconv::PackQB(centered.data(), n_centered, k_, packed_.data());
    });
  ctx.ReleaseConstantInput(1);  // Eval reads weights_ / packed_ only

  if (kind_ == QKind::kInt8 || kind_ == QKind::kUint8) {
    if (ctx.fixed_point_requantization())
      requant_.Init(mult_, shift_, static_cast<size_t>(out_c_), out_zp_, act_lo_, act_hi_);
    else
      requant_.InitFloat(qconv::ChannelRequant::FloatScales(qconv::ScaleOf(input), filter_scale_,
                                                            qconv::ScaleOf(output)),
                         out_zp_, act_lo_, act_hi_);
  }
  lda_ = 2 * qconv::PairCount(k_);
  // Blocks of whole tiles: 4 rows for the int16 GEMM, 8 for the 8-bit one.
  const size_t tile_rows = q8_ ? qconv::kQ8MR : qconv::kQMR;
  block_rows_ = kQBlockBytes / (lda_ * sizeof(int16_t));
  block_rows_ = std::min(kQMaxBlockRows, std::max(tile_rows, block_rows_ / tile_rows * tile_rows));
  workers_ = std::max(1, ctx.num_threads());
  // int32 sums of a block (hybrid), or one row's int64 ones (16x8); the 8-bit kinds requantize
  // in the GEMM and keep none.
  const bool keeps_sums = kind_ != QKind::kInt8 && kind_ != QKind::kUint8;
  const size_t acc_bytes = keeps_sums ? std::max(block_rows_ * static_cast<size_t>(out_c_) * sizeof(int32_t),
                                                 static_cast<size_t>(out_c_) * sizeof(int64_t))
                                      : 0;
  slot_bytes_ = RowsBytes() + (acc_bytes + 63) / 64 * 64;
  scratch_rows_ = ctx.RequestScratch(static_cast<size_t>(workers_) * slot_bytes_);
  scratch_qin_ = scratch_bparams_ = scratch_u8_ = -1;
  if (indirect8_)  // the padded image
    scratch_u8_ = ctx.RequestScratch(static_cast<size_t>(batches_) * padded_h_ * padded_w_ * in_c_);
  else if (unsigned8_)  // the slack: 16-byte copies of shorter runs
    scratch_u8_ = ctx.RequestScratch(static_cast<size_t>(inn) + 16);
  if (hybrid) {
    scratch_qin_ = ctx.RequestScratch(static_cast<size_t>(inn) + 1);
    scratch_bparams_ =
        ctx.RequestScratch((static_cast<size_t>(batches_) + 1) * (sizeof(int32_t) + sizeof(float)));
  }
  return ctx.ResizeOutput(0, {batches_, out_h_, out_w_, out_c_});
}

// Bytes of a worker's row area: block_rows_ im2col rows (for the 8-bit
// GEMM's copied rows, with the 16 bytes a last 16-byte copy may write past
// them), or for indirect8_ the run pointers of block_rows_ rows.
size_t QuantConv2D::RowsBytes() const {
  size_t bytes = block_rows_ * lda_ * sizeof(int16_t);
  if (unsigned8_ && !indirect8_) bytes = std::max(bytes, block_rows_ * lda8_ + 16);
  if (indirect8_) bytes = std::max(bytes, RunPointerBytes());
  return (bytes + 63) / 64 * 64;
}

// fn(m, n, iy0, ix0) for the output pixels m in [m0, m1) (batch n, the
// window's top-left input corner iy0, ix0, padding included), stepping along
// the output rather than dividing m out.
template <class F>
void QuantConv2D::ForEachPixel(size_t m0, size_t m1, F fn) const {
  const size_t plane = static_cast<size_t>(out_h_) * out_w_;
  size_t n = m0 / plane;
  int oy = static_cast<int>((m0 % plane) / out_w_);
  int ox = static_cast<int>(m0 % out_w_) - 1;
  for (size_t m = m0; m < m1; ++m) {
    if (++ox == out_w_) {
      ox = 0;
      if (++oy == out_h_) {
        oy = 0;
        ++n;
      }
    }
    fn(m, n, oy * sh_ - pad_t_, ox * sw_ - pad_l_);
  }
}

// Walks the im2col rows [m0, m1): row m (output pixel (n, oy, ox)) starts at
// dst + (m - m0) * lda and is filled by Im2ColPixel.
template <class T, class D, class Seg>
void QuantConv2D::Im2Col(const T* in, D* dst, size_t lda, size_t m0, size_t m1, Seg seg) const {
  ForEachPixel(m0, m1, [&](size_t m, size_t n, int iy0, int ix0) {
    Im2ColPixel(in, dst + (m - m0) * lda, lda, n, iy0, ix0, seg);
  });
}

// Fills the im2col row d of the window at (iy0, ix0) in batch n by
// seg(src, d, count, n) once per run of `count` values: src the input run, or
// null for a run in the padding. Entries from K to lda are zeroed.
template <class T, class D, class Seg>
void QuantConv2D::Im2ColPixel(const T* in, D* d, size_t lda, size_t n, int iy0, int ix0, Seg seg) const {
  const size_t cin = static_cast<size_t>(in_c_);
  const size_t run = static_cast<size_t>(kw_) * cin;
  if (lda > k_) std::memset(d + k_, 0, (lda - k_) * sizeof(D));
  const T* img = in + n * static_cast<size_t>(in_h_) * in_w_ * cin;
  // Filter rows lying inside the image (no horizontal dilation) are one
  // contiguous run of KW*Cin values.
  const bool row_inside = dw_ == 1 && ix0 >= 0 && ix0 + kw_ <= in_w_;
  for (int ky = 0; ky < kh_; ++ky) {
    const int iy = iy0 + ky * dh_;
    if (iy < 0 || iy >= in_h_) {
      seg(nullptr, d, run, n);
      d += run;
      continue;
    }
    const T* src_row = img + static_cast<size_t>(iy) * in_w_ * cin;
    if (row_inside) {
      seg(src_row + static_cast<size_t>(ix0) * cin, d, run, n);
      d += run;
      continue;
    }
    for (int kx = 0; kx < kw_; ++kx, d += cin) {
      const int ix = ix0 + kx * dw_;
      const bool inside = ix >= 0 && ix < in_w_;
      seg(inside ? src_row + static_cast<size_t>(ix) * cin : nullptr, d, cin, n);
    }
  }
}

// im2col rows [m0, m1): K centered values per output pixel, 0 in the padding.
template <class T>
void QuantConv2D::FillRows(const T* in, const int32_t* batch_zp, int16_t* dst, size_t m0,
                           size_t m1) const {
  if (pointwise_ && lda_ == k_ && !batch_zp) {  // rows m0..m1 are one run (the per-pixel walk: 5% of v2 int8)
    qconv::CenterCopy(in + m0 * k_, dst, (m1 - m0) * k_, in_zp_);
    return;
  }
  Im2Col(in, dst, lda_, m0, m1, [&](const T* src, int16_t* d, size_t count, size_t n) {
    if (src)
      qconv::CenterCopy(src, d, count, batch_zp ? batch_zp[n] : in_zp_);
    else
      std::memset(d, 0, count * sizeof(int16_t));
  });
}

// The same for int8 input as unsigned bytes q + 128 (the zero point's byte
// in the padding), row stride lda8_: for contiguous_rows8_ converted here,
// else copied from `in` already made unsigned (unsigned8_). A run of up to 16
// bytes is one 16-byte copy (the input has slack after it, RowsBytes() room
// after the last row; what lands past a run is overwritten by the next run
// or sits where the packed weights are 0).
// Only where the 8-bit GEMM runs (qconv::HasQ8Gemm).
void QuantConv2D::FillRows8(const int8_t* in, uint8_t* dst, size_t m0, size_t m1) const {
#if TFC_Q8GEMM
  if (contiguous_rows8_) {  // 1x1, stride 1, K a multiple of 4: rows m0..m1 are one run
    qconv::ToUnsigned(in + m0 * k_, dst, (m1 - m0) * k_);
    return;
  }
  const uint8_t pad = static_cast<uint8_t>(in_zp_ + 128);
  const uint8_t* u8 = reinterpret_cast<const uint8_t*>(in);
  auto copy16 = [](const uint8_t* src, uint8_t* d) { std::memcpy(d, src, 16); };
  auto seg = [pad, copy16](const uint8_t* src, uint8_t* d, size_t count, size_t) {
    if (!src)
      std::memset(d, pad, count);
    else if (count <= 16)
      copy16(src, d);
    else
      std::memcpy(d, src, count);
  };
  if (dw_ != 1 || static_cast<size_t>(kw_) * in_c_ > 16) {
    ForEachPixel(m0, m1, [&](size_t m, size_t n, int iy0, int ix0) {
      Im2ColPixel(u8, dst + (m - m0) * lda8_, lda8_, n, iy0, ix0, seg);
    });
    return;
  }
  // Filter rows of at most 16 bytes (a 3x3 filter over 3 channels: 9) and the
  // window inside the image: the row is its KH runs, one 16-byte copy each,
  // and nothing zeroed. The generic walk with its memset per row took 1.1x the
  // 8-bit GEMM's time on MobileNet's 224x224x3 first layer. One output row at
  // a time: the pixels whose window lies inside (found once per row, not
  // tested per pixel) step along the input by the stride, with the members in
  // locals (the stores would have them loaded again for every copy: the
  // per-pixel walk took 10% of mobilenet_v1_025_128 int8); the others take
  // the general walk.
  const int kh = kh_, kw = kw_, in_h = in_h_, in_w = in_w_, out_h = out_h_, out_w = out_w_;
  const int sh = sh_, sw = sw_, pad_t = pad_t_, pad_l = pad_l_;
  const size_t cin = static_cast<size_t>(in_c_), lda = lda8_;
  const size_t run = static_cast<size_t>(kw) * cin;
  const size_t in_row = static_cast<size_t>(in_w) * cin;
  const size_t img_size = static_cast<size_t>(in_h) * in_row;
  const size_t row_step = static_cast<size_t>(dh_) * in_row;
  const size_t px_step = static_cast<size_t>(sw) * cin;
  const int last_ky = (kh - 1) * dh_;
  // Output columns [ox_lo, ox_hi) have their window's columns inside the image.
  const int ox_lo = std::min(out_w, (pad_l + sw - 1) / sw);
  const int span = in_w - kw + pad_l;  // the last inside column's window start, padding included
  const int ox_hi = span < 0 ? ox_lo : std::max(ox_lo, std::min(out_w, span / sw + 1));
  const size_t plane = static_cast<size_t>(out_h) * out_w;
  size_t n = m0 / plane;
  int oy = static_cast<int>((m0 % plane) / out_w);
  int ox = static_cast<int>(m0 % out_w);
  for (size_t m = m0; m < m1;) {
    const int iy0 = oy * sh - pad_t;
    const int ox_end = static_cast<int>(std::min<size_t>(out_w, static_cast<size_t>(ox) + (m1 - m)));
    const int in_lo = iy0 >= 0 && iy0 + last_ky < in_h ? std::max(ox, ox_lo) : ox_end;
    const int in_hi = std::max(in_lo, std::min(ox_end, ox_hi));
    for (; ox < in_lo; ++ox, ++m)
      Im2ColPixel(u8, dst + (m - m0) * lda, lda, n, iy0, ox * sw - pad_l, seg);
    if (ox < in_hi) {
      const uint8_t* src = u8 + n * img_size + static_cast<size_t>(iy0) * in_row +
                           static_cast<size_t>(ox * sw - pad_l) * cin;
      uint8_t* d = dst + (m - m0) * lda;
      for (; ox < in_hi; ++ox, ++m, src += px_step, d += lda) {
        const uint8_t* s_ky = src;
        uint8_t* d_ky = d;
        for (int ky = 0; ky < kh; ++ky, s_ky += row_step, d_ky += run) copy16(s_ky, d_ky);
      }
    }
    for (; ox < ox_end; ++ox, ++m)
      Im2ColPixel(u8, dst + (m - m0) * lda, lda, n, iy0, ox * sw - pad_l, seg);
    if (ox == out_w) {
      ox = 0;
      if (++oy == out_h) {
        oy = 0;
        ++n;
      }
    }
  }
#else
  (void)in, (void)dst, (void)m0, (void)m1;
#endif
}

// Run pointers of the indirect8_ rows [m0, m1): row m's run t at
// runs[(m - m0) * run_taps_ + t], into in8, the padded image (PaddedUnsignedImage):
// the window's corner plus the run's offset. Rows up to the next multiple of 8
// repeat the first run.
void QuantConv2D::FillTapRuns(const uint8_t* in8, const uint8_t** runs, size_t m0, size_t m1) const {
  const size_t cin = static_cast<size_t>(in_c_), wp = static_cast<size_t>(padded_w_);
  const size_t img_size = static_cast<size_t>(padded_h_) * wp * cin;
  const size_t taps = run_taps_;
  const size_t* offsets = tap_offsets_.data();
  const size_t ow = static_cast<size_t>(out_w_), plane = static_cast<size_t>(out_h_) * ow;
  const size_t step = static_cast<size_t>(sw_) * cin;
  const uint8_t** r = runs;
  for (size_t m = m0; m < m1;) {  // a run of output pixels along one output row at a time
    const size_t n = m / plane, oy = m % plane / ow, ox = m % ow, end = std::min(m1, m + ow - ox);
    const uint8_t* base = in8 + n * img_size + (oy * static_cast<size_t>(sh_) * wp + ox * sw_) * cin;
    for (; m < end; ++m, base += step, r += taps)
      for (size_t t = 0; t < taps; ++t) r[t] = base + offsets[t];
  }
  const size_t tail = (m1 - m0 + qconv::kQ8MR - 1) / qconv::kQ8MR * qconv::kQ8MR;
  for (size_t i = (m1 - m0) * taps; i < tail * taps; ++i) runs[i] = in8;
}

// The indirect8_ input: each image as unsigned bytes (q + 128) with pad_t_ rows above, pad_l_ pixels to
// the left and what the windows reach below and to the right of the zero point's byte (128 + zp), the
// padded rows split over the threads.
void QuantConv2D::PaddedUnsignedImage(ThreadPool& pool, bool parallel, const int8_t* in, uint8_t* out) const {
  const size_t cin = static_cast<size_t>(in_c_), wp = static_cast<size_t>(padded_w_);
  const size_t row_bytes = wp * cin, in_row = static_cast<size_t>(in_w_) * cin;
  const size_t left = static_cast<size_t>(pad_l_) * cin, right = row_bytes - left - in_row;
  const uint8_t pad = static_cast<uint8_t>(in_zp_ + 128);
  const int64_t rows = static_cast<int64_t>(batches_) * padded_h_;
  auto fill = [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      uint8_t* d = out + static_cast<size_t>(r) * row_bytes;
      const int64_t n = r / padded_h_, y = r % padded_h_ - pad_t_;
      if (y < 0 || y >= in_h_) {
        std::memset(d, pad, row_bytes);
        continue;
      }
      std::memset(d, pad, left);
      qconv::ToUnsigned(in + (static_cast<size_t>(n) * in_h_ + static_cast<size_t>(y)) * in_row, d + left, in_row);
      std::memset(d + left + in_row, pad, right);
    }
  };
  const int64_t min_rows = std::max<int64_t>(1, static_cast<int64_t>((16 << 10) / std::max<size_t>(1, row_bytes)));
  if (parallel && rows >= 2 * min_rows)
    pool.ParallelFor(rows, min_rows, fill);
  else
    fill(0, rows);
}

template <class T>
void QuantConv2D::RunRows(const T* in, const int32_t* batch_zp, const float* batch_scale,
                          const void* bias, void* out, int16_t* rows, void* acc_mem, size_t m0,
                          size_t m1, size_t p0, size_t p1) const {
  const size_t n_out = static_cast<size_t>(out_c_);
  const size_t plane = static_cast<size_t>(out_h_) * out_w_;
  for (size_t b0 = m0; b0 < m1; b0 += block_rows_) {
    const size_t b1 = std::min(m1, b0 + block_rows_);
    if constexpr (std::is_same<T, int8_t>::value) {
      if (indirect8_) {
        const uint8_t** runs = reinterpret_cast<const uint8_t**>(rows);
        FillTapRuns(reinterpret_cast<const uint8_t*>(in), runs, b0, b1);
        qconv::Q8GemmRequantIndirect(runs, b1 - b0, run_taps_, run_bytes_, packed8(), n_out,
                                     requant_, bias8_.data(), static_cast<int8_t*>(out) + b0 * n_out,
                                     n_out, p0, p1, octets_);
        continue;
      }
      if (q8_) {
        uint8_t* rows8 = reinterpret_cast<uint8_t*>(rows);
        FillRows8(in, rows8, b0, b1);
        qconv::Q8GemmRequant(rows8, b1 - b0, lda8_, packed8(), k_, n_out, requant_,
                             bias8_.data(), static_cast<int8_t*>(out) + b0 * n_out, n_out, p0, p1);
        continue;
      }
    }
    FillRows(in, batch_zp, rows, b0, b1);
    if (kind_ == QKind::kInt8 || kind_ == QKind::kUint8) {  // the output stage fused into the GEMM
      const int32_t* bi = static_cast<const int32_t*>(bias);
      if (kind_ == QKind::kInt8)
        qconv::QGemmRowsRequant(rows, b1 - b0, lda_, packed_.data(), k_, n_out, requant_, bi,
                                static_cast<int8_t*>(out) + b0 * n_out, n_out);
      else
        qconv::QGemmRowsRequant(rows, b1 - b0, lda_, packed_.data(), k_, n_out, requant_, bi,
                                static_cast<uint8_t*>(out) + b0 * n_out, n_out);
      continue;
    }
    if (kind_ != QKind::k16x8)
      qconv::QGemmRows(rows, b1 - b0, lda_, packed_.data(), k_, n_out,
                       static_cast<int32_t*>(acc_mem), n_out);
    for (size_t m = b0; m < b1; ++m) {
      const int16_t* a = rows + (m - b0) * lda_;
      if (kind_ == QKind::k16x8) {
        int64_t* acc = static_cast<int64_t*>(acc_mem);
        for (size_t c = 0; c < n_out; ++c) {
          const int16_t* w = weights_.data() + c * k_;
          int64_t s = 0;
          for (size_t i = 0; i < k_; ++i) s += int64_t{int32_t{a[i]} * int32_t{w[i]}};
          acc[c] = s;
        }
        int16_t* o = static_cast<int16_t*>(out) + m * n_out;
        for (size_t c = 0; c < n_out; ++c) {
          int64_t v = acc[c];
          if (bias)
            v += bias64_ ? static_cast<const int64_t*>(bias)[c]
                         : int64_t{static_cast<const int32_t*>(bias)[c]};
          o[c] = static_cast<int16_t>(
              qconv::Requantize16(v, mult_[c], shift_[c], out_zp_, act_lo_, act_hi_));
        }
        continue;
      }
      const int32_t* acc = static_cast<int32_t*>(acc_mem) + (m - b0) * n_out;
      switch (kind_) {
        case QKind::kHybridPerChannel: {
          const float* bi = static_cast<const float*>(bias);
          const float in_scale = batch_scale[m / plane];
          float* o = static_cast<float*>(out) + m * n_out;
          for (size_t c = 0; c < n_out; ++c) {
            const float s = filter_scale_[c] * in_scale;
            const float p = static_cast<float>(acc[c]) * s;
            float v = bi ? p + bi[c] : p;
            v = std::min(v, act_.hi);
            o[c] = std::max(v, act_.lo);
          }
          break;
        }
        case QKind::kHybridPerTensor: {
          const float* bi = static_cast<const float*>(bias);
          const float s = batch_scale[m / plane];  // already times the filter scale
          float* o = static_cast<float*>(out) + m * n_out;
          for (size_t c = 0; c < n_out; ++c) {
            const float p = static_cast<float>(acc[c]) * s;
            float v = bi ? p + bi[c] : p;
            v = std::max(v, act_.lo);
            o[c] = std::min(v, act_.hi);
          }
          break;
        }
        default:
          break;
      }
    }
  }
}

TfLiteStatus QuantConv2D::Eval(OpContext& ctx) {
  const TfLiteTensor* input = ctx.input(0);
  const TfLiteTensor* bias = ctx.input(2);
  TfLiteTensor* output = ctx.output(0);
  const size_t m = static_cast<size_t>(batches_) * out_h_ * out_w_;
  if (m == 0) return kTfLiteOk;
  const void* bias_data = bias ? bias->data : nullptr;
  void* out = output->data;
  char* scratch = static_cast<char*>(ctx.Scratch(scratch_rows_));

  const int32_t* batch_zp = nullptr;
  const float* batch_scale = nullptr;
  const int8_t* qin = nullptr;
  if (kind_ == QKind::kHybridPerChannel || kind_ == QKind::kHybridPerTensor) {
    int8_t* q = static_cast<int8_t*>(ctx.Scratch(scratch_qin_));
    char* bp = static_cast<char*>(ctx.Scratch(scratch_bparams_));
    int32_t* zps = reinterpret_cast<int32_t*>(bp);
    float* scales = reinterpret_cast<float*>(bp + (static_cast<size_t>(batches_) + 1) * sizeof(int32_t));
    const size_t per_batch = static_cast<size_t>(in_h_) * in_w_ * in_c_;
    const float* x = input->data_as<float>();
    for (int b = 0; b < batches_; ++b) {
      const size_t off = static_cast<size_t>(b) * per_batch;
      if (kind_ == QKind::kHybridPerChannel) {
        scales[b] = qconv::QuantizeAsymmetric(x + off, per_batch, q + off, &zps[b]);
      } else {
        scales[b] = qconv::QuantizeSymmetric(x + off, per_batch, q + off) * filter_scale_[0];
        zps[b] = 0;
      }
    }
    qin = q;
    batch_zp = zps;
    batch_scale = scales;
  }

  if (q8_) {  // the bias (may change between invokes) with the zero-point correction
    const int32_t* b = bias ? bias->data_as<int32_t>() : nullptr;
    for (size_t c = 0; c < bias8_.size(); ++c)
      bias8_[c] = static_cast<int32_t>(static_cast<uint32_t>(b ? b[c] : 0) +
                                       static_cast<uint32_t>(correction_[c]));
  }

  ThreadPool& pool = ctx.pool();
  const double macs = static_cast<double>(m) * out_c_ * k_;
  const size_t pairs = (qconv::QPanels(static_cast<size_t>(out_c_)) + 1) / 2;
  // Rows, or on the 8-bit GEMM panel pairs: there one row (a 1x1 image, as a classifier's last layer)
  // still splits.
  const int workers = gemm::Workers(pool, macs, q8_ ? gemm::kMinParallelMacs8 : gemm::kMinParallelMacs,
                                    static_cast<int64_t>(q8_ ? std::max(m, pairs) : m), workers_);
  const int8_t* in8 = input->type == kTfLiteInt8 ? input->data_as<int8_t>() : nullptr;
  if (unsigned8_) {  // the input made unsigned once (padded for indirect8_); rows point or copy from it
    uint8_t* u8 = static_cast<uint8_t*>(ctx.Scratch(scratch_u8_));
    if (indirect8_)
      PaddedUnsignedImage(pool, workers > 1, in8, u8);
    else
      qconv::UnsignedImage(pool, workers > 1, in8, static_cast<size_t>(batches_) * in_h_ * in_w_ * in_c_,
                           in_zp_, 0, u8);
    in8 = reinterpret_cast<const int8_t*>(u8);
  }
  const size_t rows_bytes = RowsBytes();
  // Chunks of row tiles (8 rows on the 8-bit GEMM), claimed by the threads as
  // they go; each thread owns a slot of the scratch. Where whole tiles would
  // load the threads unevenly (few rows) and panel pairs less so, the 8-bit
  // GEMM splits the pairs instead: every thread then fills all rows (the
  // cheap part) for its own channels.
  const size_t align = q8_ ? qconv::kQ8MR : 1;
  const bool by_panels =
      q8_ && workers > 1 &&
      !gemm::SplitTileRows((m + qconv::kQ8MR - 1) / qconv::kQ8MR, pairs, workers);
  auto chunk = [&](int64_t u0, int64_t u1, int thread) {
    char* slot = scratch + static_cast<size_t>(thread) * slot_bytes_;
    int16_t* rows = reinterpret_cast<int16_t*>(slot);
    void* acc = slot + rows_bytes;
    size_t r0 = 0, r1 = m, p0 = 0, p1 = qconv::kAllPanels;
    if (by_panels) {  // past the last panel: clamped
      p0 = 2 * static_cast<size_t>(u0);
      p1 = 2 * static_cast<size_t>(u1);
    } else {
      r0 = std::min(m, static_cast<size_t>(u0) * align);
      r1 = std::min(m, static_cast<size_t>(u1) * align);
    }
    switch (input->type) {
      case kTfLiteFloat32:
        RunRows(qin, batch_zp, batch_scale, bias_data, out, rows, acc, r0, r1);
        break;
      case kTfLiteInt8:  // for unsigned8_, the unsigned copy
        RunRows(in8, nullptr, nullptr, bias_data, out, rows, acc, r0, r1, p0, p1);
        break;
      case kTfLiteUInt8:
        RunRows(input->data_as<uint8_t>(), nullptr, nullptr, bias_data, out, rows, acc, r0, r1);
        break;
      default:
        RunRows(input->data_as<int16_t>(), nullptr, nullptr, bias_data, out, rows, acc, r0, r1);
        break;
    }
  };
  const size_t units = by_panels ? pairs : (m + align - 1) / align;
  if (workers == 1)
    chunk(0, static_cast<int64_t>(units), 0);
  else
    pool.ParallelFor(static_cast<int64_t>(units), 1, chunk);
  return kTfLiteOk;
}

// Picks the float or the quantized / hybrid implementation from the types.
class Conv2D final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override {
    const TfLiteTensor* input = ctx.input(0);
    const TfLiteTensor* filter = ctx.input(1);
    const bool quant = input && filter &&
                       (IsQuantizedType(input->type) ||
                        (input->type == kTfLiteFloat32 && filter->type != kTfLiteFloat32));
    if (!impl_ || quant != quant_) {
      if (quant)
        impl_ = std::make_unique<QuantConv2D>();
      else
        impl_ = std::make_unique<FloatConv2D>();
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

TFC_REGISTER_OP(CONV_2D, 1, 8, Conv2D);

}  // namespace tfc
