// AVERAGE_POOL_2D and MAX_POOL_2D, float32 and quantized int8/uint8/int16.
//
// Quantized (per-tensor, input and output with the same parameters as
// TFLite requires): the maximum of the raw values, or the raw sum divided by
// the in-bounds count rounding half away from zero ((s +- count/2) / count,
// truncated), then clamped to the fused activation's quantized range.
//
// Input [N, H, W, C], output [N, OH, OW, C] with the conv geometry of
// conv_util.h (dilation 1). Only window positions inside the input count:
// the average divides by the number of in-bounds positions, the maximum
// ignores the padding. The fused activation clamps the result. Vectorized
// over channels; output rows are split over the thread pool.
#include <algorithm>
#include <cstring>
#include <limits>
#include <type_traits>

#include "kernels/kernel.h"
#include "kernels/util/activation.h"
#include "kernels/util/conv_util.h"
#include "kernels/util/gemm.h"
#include "kernels/util/quant_params.h"

namespace tfc {
namespace {

using gemm::LoadV4;
using gemm::MaxV4;
using gemm::MinV4;
using gemm::SplatV4;
using gemm::StoreV4;
using gemm::v4f;

// The most taps the 8-bit max pooling keeps pointers to (a 7x7 window).
constexpr int kMaxTaps8 = 49;
// 16 unsigned bytes as one vector (GCC/Clang vector extensions: SSE2, NEON, scalar on ARMv6).
typedef uint8_t Bytes16 __attribute__((vector_size(16)));

template <bool kMax>
class Pool2D final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override;
  TfLiteStatus Eval(OpContext& ctx) override;

 private:
  void Rows(const float* in, float* out, int64_t r0, int64_t r1) const;
  template <class T>
  void QRows(const T* in, T* out, int64_t r0, int64_t r1) const;
  template <class T>
  void MaxRows8(const T* in, T* out, int64_t r0, int64_t r1) const;
  template <class T>
  void QEval(OpContext& ctx, const TfLiteTensor* input, TfLiteTensor* output);

  int batches_ = 0, in_h_ = 0, in_w_ = 0, c_ = 0, out_h_ = 0, out_w_ = 0;
  int fh_ = 1, fw_ = 1, sh_ = 1, sw_ = 1, pad_t_ = 0, pad_l_ = 0;
  FloatRange act_;
  int32_t qmin_ = 0, qmax_ = 0;
};

template <bool kMax>
TfLiteStatus Pool2D<kMax>::Prepare(OpContext& ctx) {
  TFC_ENSURE_MSG(ctx, ctx.num_inputs() == 1, "expected 1 input, got %d", ctx.num_inputs());
  TFC_ENSURE_MSG(ctx, ctx.num_outputs() == 1, "expected 1 output, got %d", ctx.num_outputs());
  const TfLiteTensor* input = ctx.input(0);
  TfLiteTensor* output = ctx.output(0);
  TFC_ENSURE_MSG(ctx, input && output, "missing input or output tensor");
  const bool quant = qp::IsQuantType(input->type);
  if (!quant) TFC_ENSURE_TYPE(ctx, input, kTfLiteFloat32);
  TFC_ENSURE_TYPE(ctx, output, input->type);
  TFC_ENSURE_MSG(ctx, input->rank() == 4, "input must have rank 4, has %d", input->rank());
  const auto* opt = ctx.options<fb::Pool2DOptions>();
  TFC_ENSURE_MSG(ctx, opt != nullptr, "missing Pool2DOptions");
  sw_ = opt->stride_w();
  sh_ = opt->stride_h();
  fw_ = opt->filter_width();
  fh_ = opt->filter_height();
  bool act_ok = true;
  act_ = ActivationRange(opt->fused_activation_function(), &act_ok);
  if (!act_ok)
    return ctx.Error("fused activation %d is not supported",
                     static_cast<int>(opt->fused_activation_function()));
  if (quant) {
    float si, so;
    int32_t zi, zo;
    TFC_OK(qp::PerTensor(ctx, input, &si, &zi));
    TFC_OK(qp::PerTensor(ctx, output, &so, &zo));
    if (input->type == kTfLiteInt16) {
      TFC_OK(qp::RequireZeroPoint0(ctx, input, zi));
      TFC_OK(qp::RequireZeroPoint0(ctx, output, zo));
    }
    qp::ActivationBounds(act_, output->type, so, zo, &qmin_, &qmax_);
  }
  TFC_ENSURE_MSG(ctx, sw_ >= 1 && sh_ >= 1, "strides must be >= 1 (got %d, %d)", sh_, sw_);
  TFC_ENSURE_MSG(ctx, fw_ >= 1 && fh_ >= 1, "filter size must be >= 1 (got %d, %d)", fh_, fw_);
  batches_ = input->dim(0);
  in_h_ = input->dim(1);
  in_w_ = input->dim(2);
  c_ = input->dim(3);
  TFC_ENSURE_MSG(ctx, batches_ >= 0 && in_h_ >= 0 && in_w_ >= 0 && c_ >= 0, "bad input shape");
  ConvGeometry gh, gw;
  TFC_ENSURE_MSG(ctx,
                 ComputeConvGeometry(opt->padding(), in_h_, fh_, sh_, 1, &gh) &&
                     ComputeConvGeometry(opt->padding(), in_w_, fw_, sw_, 1, &gw),
                 "invalid padding/stride/filter");
  out_h_ = gh.out;
  out_w_ = gw.out;
  pad_t_ = gh.pad_start;
  pad_l_ = gw.pad_start;
  return ctx.ResizeOutput(0, {batches_, out_h_, out_w_, c_});
}

template <bool kMax>
void Pool2D<kMax>::Rows(const float* in, float* out, int64_t r0, int64_t r1) const {
  const size_t c = static_cast<size_t>(c_);
  const size_t c4 = c / 4 * 4;
  const v4f vlo = SplatV4(act_.lo), vhi = SplatV4(act_.hi);
  const float init = kMax ? std::numeric_limits<float>::lowest() : 0.f;
  for (int64_t row = r0; row < r1; ++row) {
    const int64_t b = row / out_h_;
    const int oy = static_cast<int>(row % out_h_);
    const float* img = in + static_cast<size_t>(b) * in_h_ * in_w_ * c;
    const int iy0 = oy * sh_ - pad_t_;
    int ky0, ky1;
    ValidTaps(iy0, fh_, 1, in_h_, &ky0, &ky1);
    for (int ox = 0; ox < out_w_; ++ox) {
      const int ix0 = ox * sw_ - pad_l_;
      int kx0, kx1;
      ValidTaps(ix0, fw_, 1, in_w_, &kx0, &kx1);
      float* o = out + (static_cast<size_t>(row) * out_w_ + ox) * c;
      const int count = (ky1 - ky0) * (kx1 - kx0);
      const float divisor = count > 0 ? static_cast<float>(count) : 1.f;
      // Channel blocks of 16, then of 4, then single channels.
      size_t ch = 0;
      for (; ch + 16 <= c; ch += 16) {
        v4f a0 = SplatV4(init), a1 = a0, a2 = a0, a3 = a0;
        for (int ky = ky0; ky < ky1; ++ky) {
          const float* p = img + (static_cast<size_t>(iy0 + ky) * in_w_ + (ix0 + kx0)) * c + ch;
          for (int kx = kx0; kx < kx1; ++kx, p += c) {
            if (kMax) {
              a0 = MaxV4(a0, LoadV4(p));
              a1 = MaxV4(a1, LoadV4(p + 4));
              a2 = MaxV4(a2, LoadV4(p + 8));
              a3 = MaxV4(a3, LoadV4(p + 12));
            } else {
              a0 += LoadV4(p);
              a1 += LoadV4(p + 4);
              a2 += LoadV4(p + 8);
              a3 += LoadV4(p + 12);
            }
          }
        }
        if (!kMax) {
          const v4f d = SplatV4(divisor);
          a0 /= d;
          a1 /= d;
          a2 /= d;
          a3 /= d;
        }
        StoreV4(o + ch, MinV4(MaxV4(a0, vlo), vhi));
        StoreV4(o + ch + 4, MinV4(MaxV4(a1, vlo), vhi));
        StoreV4(o + ch + 8, MinV4(MaxV4(a2, vlo), vhi));
        StoreV4(o + ch + 12, MinV4(MaxV4(a3, vlo), vhi));
      }
      for (; ch < c4; ch += 4) {
        v4f a0 = SplatV4(init);
        for (int ky = ky0; ky < ky1; ++ky) {
          const float* p = img + (static_cast<size_t>(iy0 + ky) * in_w_ + (ix0 + kx0)) * c + ch;
          for (int kx = kx0; kx < kx1; ++kx, p += c) a0 = kMax ? MaxV4(a0, LoadV4(p)) : a0 + LoadV4(p);
        }
        if (!kMax) a0 /= SplatV4(divisor);
        StoreV4(o + ch, MinV4(MaxV4(a0, vlo), vhi));
      }
      for (; ch < c; ++ch) {
        float a = init;
        for (int ky = ky0; ky < ky1; ++ky) {
          const float* p = img + (static_cast<size_t>(iy0 + ky) * in_w_ + (ix0 + kx0)) * c + ch;
          for (int kx = kx0; kx < kx1; ++kx, p += c) a = kMax ? std::max(a, *p) : a + *p;
        }
        if (!kMax) a /= divisor;
        o[ch] = act_.Apply(a);
      }
    }
  }
}

template <bool kMax>
template <class T>
void Pool2D<kMax>::QRows(const T* in, T* out, int64_t r0, int64_t r1) const {
  const size_t c = static_cast<size_t>(c_);
  for (int64_t row = r0; row < r1; ++row) {
    const int64_t b = row / out_h_;
    const int oy = static_cast<int>(row % out_h_);
    const T* img = in + static_cast<size_t>(b) * in_h_ * in_w_ * c;
    const int iy0 = oy * sh_ - pad_t_;
    int ky0, ky1;
    ValidTaps(iy0, fh_, 1, in_h_, &ky0, &ky1);
    for (int ox = 0; ox < out_w_; ++ox) {
      const int ix0 = ox * sw_ - pad_l_;
      int kx0, kx1;
      ValidTaps(ix0, fw_, 1, in_w_, &kx0, &kx1);
      T* o = out + (static_cast<size_t>(row) * out_w_ + ox) * c;
      const int32_t count = (ky1 - ky0) * (kx1 - kx0);
      // Channels in blocks, taps inside: every tap is a contiguous run of
      // channels, so the inner loops vectorize.
      constexpr size_t kBlock = 64;
      int32_t acc[kBlock];
      for (size_t c0 = 0; c0 < c; c0 += kBlock) {
        const size_t nc = std::min(kBlock, c - c0);
        for (size_t i = 0; i < nc; ++i) acc[i] = kMax ? std::numeric_limits<T>::lowest() : 0;
        for (int ky = ky0; ky < ky1; ++ky) {
          const T* p = img + (static_cast<size_t>(iy0 + ky) * in_w_ + (ix0 + kx0)) * c + c0;
          for (int kx = kx0; kx < kx1; ++kx, p += c) {
            for (size_t i = 0; i < nc; ++i) {
              const int32_t v = p[i];
              acc[i] = kMax ? (v > acc[i] ? v : acc[i]) : acc[i] + v;
            }
          }
        }
        for (size_t i = 0; i < nc; ++i) {
          int32_t a = acc[i];
          if (!kMax && count > 0) a = a > 0 ? (a + count / 2) / count : (a - count / 2) / count;
          o[c0 + i] = static_cast<T>(std::min(qmax_, std::max(qmin_, a)));
        }
      }
    }
  }
}

// 8-bit MAX_POOL_2D: in T itself, 16 channels at a time in a register over every tap of the window,
// then the activation's clamp. Along each output row the windows inside the image share one list of tap
// offsets; the others (and channels past the last 16) go one value at a time. The int32 path (QRows)
// took 4.7x the official runtime's time on U-Net's 128x128x16 pooling.
template <bool kMax>
template <class T>
void Pool2D<kMax>::MaxRows8(const T* in, T* out, int64_t r0, int64_t r1) const {
  // Vectors of unsigned bytes, int8 with its sign bit flipped (an order-preserving map), so that the
  // max is one unsigned byte max (SSE2 has no signed one).
  using V = Bytes16;
  const uint8_t flip_bit = std::is_signed<T>::value ? 0x80 : 0;
  const size_t c = static_cast<size_t>(c_), c16 = c / 16 * 16;
  const T lo = static_cast<T>(qmin_), hi = static_cast<T>(qmax_);
  const bool clamp = lo != std::numeric_limits<T>::lowest() || hi != std::numeric_limits<T>::max();
  const V flip = V{} + flip_bit;
  const V vlo = V{} + static_cast<uint8_t>(static_cast<uint8_t>(lo) ^ flip_bit),
          vhi = V{} + static_cast<uint8_t>(static_cast<uint8_t>(hi) ^ flip_bit);
  size_t offsets[kMaxTaps8];
  // ox in [inner0, inner1): the window lies inside the image horizontally
  const int inner0 = std::min(out_w_, (pad_l_ + sw_ - 1) / sw_);
  const int inner1 = std::max(inner0, in_w_ - fw_ + pad_l_ < 0 ? 0 : std::min(out_w_, (in_w_ - fw_ + pad_l_) / sw_ + 1));
  auto one = [&](const T* img, int iy0, int ky0, int ky1, int ox, T* o) {  // a window, one value at a time
    const int ix0 = ox * sw_ - pad_l_;
    int kx0, kx1;
    ValidTaps(ix0, fw_, 1, in_w_, &kx0, &kx1);
    for (size_t i = 0; i < c; ++i) {
      int32_t a = std::numeric_limits<T>::lowest();
      for (int ky = ky0; ky < ky1; ++ky)
        for (int kx = kx0; kx < kx1; ++kx)
          a = std::max<int32_t>(a, img[(static_cast<size_t>(iy0 + ky) * in_w_ + (ix0 + kx)) * c + i]);
      o[i] = static_cast<T>(std::min(qmax_, std::max(qmin_, a)));
    }
  };
  for (int64_t row = r0; row < r1; ++row) {
    const int64_t b = row / out_h_;
    const int oy = static_cast<int>(row % out_h_);
    const T* img = in + static_cast<size_t>(b) * in_h_ * in_w_ * c;
    T* orow = out + static_cast<size_t>(row) * out_w_ * c;
    const int iy0 = oy * sh_ - pad_t_;
    int ky0, ky1;
    ValidTaps(iy0, fh_, 1, in_h_, &ky0, &ky1);
    const int nt = (ky1 - ky0) * fw_;
    if (nt == 0 || nt > kMaxTaps8) {
      for (int ox = 0; ox < out_w_; ++ox) one(img, iy0, ky0, ky1, ox, orow + static_cast<size_t>(ox) * c);
      continue;
    }
    int t = 0;
    for (int ky = ky0; ky < ky1; ++ky)
      for (int kx = 0; kx < fw_; ++kx) offsets[t++] = (static_cast<size_t>(ky) * in_w_ + kx) * c;
    for (int ox = 0; ox < inner0; ++ox) one(img, iy0, ky0, ky1, ox, orow + static_cast<size_t>(ox) * c);
    for (int ox = inner0; ox < inner1; ++ox) {
      const T* base = img + (static_cast<size_t>(iy0) * in_w_ + static_cast<size_t>(ox * sw_ - pad_l_)) * c;
      T* o = orow + static_cast<size_t>(ox) * c;
      for (size_t i = 0; i < c16; i += 16) {
        V a, v;
        std::memcpy(&a, base + offsets[0] + i, 16);
        a ^= flip;
        for (int k = 1; k < nt; ++k) {
          std::memcpy(&v, base + offsets[k] + i, 16);
          v ^= flip;
          a = v > a ? v : a;
        }
        if (clamp) {
          a = a < vlo ? vlo : a;
          a = a > vhi ? vhi : a;
        }
        a ^= flip;
        std::memcpy(o + i, &a, 16);
      }
      for (size_t i = c16; i < c; ++i) {
        T a = base[offsets[0] + i];
        for (int k = 1; k < nt; ++k) a = std::max(a, base[offsets[k] + i]);
        o[i] = std::min(hi, std::max(lo, a));
      }
    }
    for (int ox = inner1; ox < out_w_; ++ox) one(img, iy0, ky0, ky1, ox, orow + static_cast<size_t>(ox) * c);
  }
}

template <bool kMax>
template <class T>
void Pool2D<kMax>::QEval(OpContext& ctx, const TfLiteTensor* input, TfLiteTensor* output) {
  const int64_t rows = static_cast<int64_t>(batches_) * out_h_;
  const T* in = input->data_as<const T>();
  T* out = output->data_as<T>();
  const double work = static_cast<double>(rows) * out_w_ * c_ * fh_ * fw_;
  auto fn = [&](int64_t r0, int64_t r1) {
    if constexpr (kMax && sizeof(T) == 1)
      MaxRows8<T>(in, out, r0, r1);
    else
      QRows<T>(in, out, r0, r1);
  };
  if (work >= gemm::kMinParallelTaps)
    ctx.pool().ParallelFor(rows, 1, fn);
  else
    fn(0, rows);
}

template <bool kMax>
TfLiteStatus Pool2D<kMax>::Eval(OpContext& ctx) {
  const TfLiteTensor* input = ctx.input(0);
  TfLiteTensor* output = ctx.output(0);
  if (input->type != kTfLiteFloat32) {
    if (static_cast<int64_t>(batches_) * out_h_ * out_w_ * c_ == 0) return kTfLiteOk;
    switch (input->type) {
      case kTfLiteInt8: QEval<int8_t>(ctx, input, output); break;
      case kTfLiteUInt8: QEval<uint8_t>(ctx, input, output); break;
      case kTfLiteInt16: QEval<int16_t>(ctx, input, output); break;
      default: return ctx.Error("unsupported type %s", TypeName(input->type));
    }
    return kTfLiteOk;
  }
  const int64_t rows = static_cast<int64_t>(batches_) * out_h_;
  if (rows == 0 || out_w_ == 0 || c_ == 0) return kTfLiteOk;
  const float* in = input->data_as<float>();
  float* out = output->data_as<float>();
  const double work = static_cast<double>(rows) * out_w_ * c_ * fh_ * fw_;
  auto fn = [&](int64_t r0, int64_t r1) { Rows(in, out, r0, r1); };
  if (work >= gemm::kMinParallelTaps)
    ctx.pool().ParallelFor(rows, 1, fn);
  else
    fn(0, rows);
  return kTfLiteOk;
}

using AveragePool2D = Pool2D<false>;
using MaxPool2D = Pool2D<true>;

}  // namespace

TFC_REGISTER_OP(AVERAGE_POOL_2D, 1, 3, AveragePool2D);
TFC_REGISTER_OP(MAX_POOL_2D, 1, 3, MaxPool2D);

}  // namespace tfc
