// Shared geometry for convolution and pooling kernels: output sizes and
// padding as the .tflite format defines them, plus checked shape arithmetic.
//
//   effective filter  ek = (k - 1) * dilation + 1
//   SAME:  out = ceil(in / stride)
//   VALID: out = floor((in - ek) / stride) + 1   (0 when in < ek)
//   total padding = max((out - 1) * stride + ek - in, 0);
//   the start (top/left) gets total / 2, the end gets the rest.
#pragma once

#include <cstdint>
#include <limits>

#include "tflite_generated.h"

namespace tfc {

struct ConvGeometry {
  int out = 0;        // output size along this axis
  int pad_start = 0;  // padding before the first input element
  int pad_end = 0;    // padding after the last one (pad_start or one more)
};

// Output size and padding along one spatial axis. Returns false for
// nonsensical parameters (non-positive stride/dilation/filter, or results
// that do not fit an int).
inline bool ComputeConvGeometry(fb::Padding padding, int64_t in, int64_t filter, int64_t stride,
                                int64_t dilation, ConvGeometry* g) {
  if (in < 0 || filter < 1 || stride < 1 || dilation < 1) return false;
  const int64_t ek = (filter - 1) * dilation + 1;
  if (ek > std::numeric_limits<int32_t>::max()) return false;
  int64_t out;
  if (padding == fb::Padding_SAME) {
    out = (in + stride - 1) / stride;
  } else if (padding == fb::Padding_VALID) {
    out = in >= ek ? (in - ek) / stride + 1 : 0;
  } else {
    return false;
  }
  int64_t total = out > 0 ? (out - 1) * stride + ek - in : 0;
  if (total < 0) total = 0;
  if (out > std::numeric_limits<int32_t>::max() || total > std::numeric_limits<int32_t>::max())
    return false;
  g->out = static_cast<int>(out);
  g->pad_start = static_cast<int>(total / 2);
  g->pad_end = static_cast<int>(total - total / 2);
  return true;
}

// Padding of TRANSPOSE_CONV: the format computes it as for the forward conv
// that maps the (larger) output back onto the input, i.e. with `out_size`
// (the transpose conv's output) in the role of the forward conv's input.
inline bool ComputeTransposeConvPadding(fb::Padding padding, int64_t out_size, int64_t filter,
                                        int64_t stride, ConvGeometry* g) {
  return ComputeConvGeometry(padding, out_size, filter, stride, 1, g);
}

// a * b * ... with overflow detection (all factors >= 0). False on overflow
// past `limit`.
inline bool CheckedMul(int64_t a, int64_t b, int64_t* out,
                       int64_t limit = std::numeric_limits<int32_t>::max()) {
  if (a < 0 || b < 0) return false;
  if (a != 0 && b > limit / a) return false;
  *out = a * b;
  return true;
}

// The range [lo, hi) of filter taps t (0 <= t < filter) whose input position
// origin + t * dilation lies inside [0, in).
inline void ValidTaps(int origin, int filter, int dilation, int in, int* lo, int* hi) {
  int l = 0;
  if (origin < 0) l = (-origin + dilation - 1) / dilation;
  int h = filter;
  // origin + (h - 1) * dilation <= in - 1
  if (origin + static_cast<int64_t>(filter - 1) * dilation > in - 1) {
    int64_t r = static_cast<int64_t>(in) - 1 - origin;
    h = r < 0 ? 0 : static_cast<int>(r / dilation) + 1;
  }
  if (h < l) h = l;
  *lo = l;
  *hi = h;
}

}  // namespace tfc
