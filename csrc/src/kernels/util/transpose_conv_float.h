// Float32 transpose convolution shared by TRANSPOSE_CONV and MediaPipe's
// Convolution2DTransposeBias (they differ only in where the output shape,
// padding and bias come from).
//
// Input [N, H, W, Cin], weights [Cout, KH, KW, Cin], output [N, OH, OW, Cout].
// Each input pixel scatters its contribution:
//   out[n, iy*sh - pad_t + ky, ix*sw - pad_l + kx, oc] += in[n, iy, ix, :] . w[oc, ky, kx, :]
// computed as one GEMM (M = N*H*W input pixels, K = Cin, N = KH*KW*Cout with
// the weights packed once when constant) into scratch, then a gather over
// output rows (col2im) that adds the bias and applies the activation clamp.
//
// Use: Prepare (every kernel Prepare, after the caller checked the input),
// then SetOutput once the output size and padding are known (Prepare, or Eval
// for a dynamic output shape), then Run in Eval.
#pragma once

#include <cstdint>
#include <cstring>
#include <limits>

#include "kernels/kernel.h"
#include "kernels/util/activation.h"
#include "kernels/util/conv_util.h"
#include "kernels/util/gemm.h"

namespace tfc {

class FloatTransposeConvCore {
 public:
  // Heap bytes of the packed weights (the kernel's OwnedBytes).
  size_t OwnedBytes() const { return HeapBytes(packed_); }
  // Checks the weights against the input geometry, packs constant weights
  // (once per Prepare) or plans scratch for packing them at Eval, and plans
  // the column scratch.
  TfLiteStatus Prepare(OpContext& ctx, const TfLiteTensor* weights, int batches, int in_h,
                       int in_w, int in_c) {
    TFC_ENSURE_TYPE(ctx, weights, kTfLiteFloat32);
    TFC_ENSURE_MSG(ctx, weights->rank() == 4, "weights must have rank 4, has %d", weights->rank());
    TFC_ENSURE_MSG(ctx, batches >= 0 && in_h >= 0 && in_w >= 0 && in_c >= 1, "bad input shape");
    batches_ = batches;
    in_h_ = in_h;
    in_w_ = in_w;
    in_c_ = in_c;
    out_c_ = weights->dim(0);
    kh_ = weights->dim(1);
    kw_ = weights->dim(2);
    TFC_ENSURE_MSG(ctx, out_c_ >= 1 && kh_ >= 1 && kw_ >= 1, "bad weights shape");
    TFC_ENSURE_MSG(ctx, weights->dim(3) == in_c_, "weights have %d input channels, input has %d",
                   weights->dim(3), in_c_);
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
      if (!ctx.ReserveWeights(packed_, gemm::PackedSize(k, n) * sizeof(float)))
        return ctx.Error("out of memory");
      PackWeights(weights->data_as<float>(), static_cast<float*>(packed_.data()));
    } else {
      packed_.Release();
      scratch_weights_ = ctx.RequestScratch(gemm::PackedSize(k, n) * sizeof(float));
    }
    scratch_col_ = ctx.RequestScratch(static_cast<size_t>(m) * n * sizeof(float));
    return kTfLiteOk;
  }

  int out_channels() const { return out_c_; }
  int kernel_h() const { return kh_; }
  int kernel_w() const { return kw_; }

  // The output's spatial size, strides, padding before the first output row
  // / column, and the clamp.
  void SetOutput(int out_h, int out_w, int sh, int sw, int pad_t, int pad_l, FloatRange act) {
    out_h_ = out_h;
    out_w_ = out_w;
    sh_ = sh;
    sw_ = sw;
    pad_t_ = pad_t;
    pad_l_ = pad_l;
    act_ = act;
  }

  // bias: Cout floats or nullptr.
  void Run(OpContext& ctx, const float* in, const TfLiteTensor* weights, const float* bias,
           float* out) {
    const int64_t rows = static_cast<int64_t>(batches_) * out_h_;
    if (rows == 0 || out_w_ == 0) return;
    const size_t m = static_cast<size_t>(batches_) * in_h_ * in_w_;
    ThreadPool& pool = ctx.pool();
    float* col = static_cast<float*>(ctx.Scratch(scratch_col_));
    if (m > 0) {
      if (!weights_packed_)
        PackWeights(weights->data_as<float>(), static_cast<float*>(ctx.Scratch(scratch_weights_)));
      const gemm::PackedB pb = pb_;
      const size_t k = static_cast<size_t>(in_c_);
      auto row = [in, k](size_t i) { return in + i * k; };
      gemm::Gemm(pool, pb, m, row, col, pb.n, FloatRange());
    }
    auto fn = [&](int64_t r0, int64_t r1) { Col2Im(col, bias, out, r0, r1); };
    const double work = static_cast<double>(rows) * out_w_ * out_c_ * kh_ * kw_;
    if (work >= gemm::kMinParallelMacs)
      pool.ParallelFor(rows, 1, fn);
    else
      fn(0, rows);
  }

 private:
  // B[ic][(ky, kx, oc)] = w[oc, ky, kx, ic].
  void PackWeights(const float* w, float* dst) {
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
  void Col2Im(const float* col, const float* bias, float* out, int64_t r0, int64_t r1) const {
    const size_t cout = static_cast<size_t>(out_c_);
    const size_t row_floats = static_cast<size_t>(kw_) * cout;        // one ky of a pixel
    const size_t pix_floats = static_cast<size_t>(kh_) * kw_ * cout;  // one input pixel
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
          // In 64 bits: a hostile stride times the column overflows an int.
          const int64_t ox64 = int64_t{ix} * sw_ - pad_l_;
          if (ox64 >= out_w_) break;  // this column's taps and every later one's are past the row
          const int ox0 = static_cast<int>(ox64);
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

  int batches_ = 0, in_h_ = 0, in_w_ = 0, in_c_ = 0;
  int out_h_ = 0, out_w_ = 0, out_c_ = 0;
  int kh_ = 0, kw_ = 0, sh_ = 1, sw_ = 1, pad_t_ = 0, pad_l_ = 0;
  FloatRange act_;
  bool weights_packed_ = false;
  AlignedBuffer packed_;
  gemm::PackedB pb_;
  int scratch_weights_ = -1;
  int scratch_col_ = -1;
};

}  // namespace tfc
