// The raw TfLitePoolParams struct that MediaPipe's MaxPoolingWithArgmax2D and
// MaxUnpooling2D read from their custom options: little-endian int32 fields
//   {padding (1 SAME, 2 VALID), stride_width, stride_height,
//    filter_width, filter_height, activation (TfLiteFusedActivation)}
// followed in newer structs by computed padding values, which are ignored.
#pragma once

#include <cstdint>

#include "kernels/kernel.h"
#include "kernels/util/custom_options.h"

namespace tfc {

struct RawPoolParams {
  int32_t padding = 0, stride_w = 0, stride_h = 0, filter_w = 0, filter_h = 0, activation = 0;
};

// Reads and validates the struct: padding SAME or VALID, strides and filter
// sizes >= 1, activation one of NONE, RELU, RELU_N1_TO_1, RELU6.
inline TfLiteStatus ReadRawPoolParams(OpContext& ctx, RawPoolParams* p) {
  bool out_of_line = false;
  const CustomOptions opts = GetCustomOptions(ctx, &out_of_line);
  TFC_ENSURE_MSG(ctx, !out_of_line, "options stored outside the model's flatbuffer are not supported");
  int32_t f[6];
  if (!ReadRawInt32Fields(opts, 6, f))
    return ctx.Error("custom options must hold TfLitePoolParams {padding, stride_width, "
                     "stride_height, filter_width, filter_height, activation} (>= 24 bytes), "
                     "got %zu bytes",
                     opts.size);
  p->padding = f[0];
  p->stride_w = f[1];
  p->stride_h = f[2];
  p->filter_w = f[3];
  p->filter_h = f[4];
  p->activation = f[5];
  TFC_ENSURE_MSG(ctx, p->padding == 1 || p->padding == 2,
                 "padding must be 1 (SAME) or 2 (VALID), got %d", p->padding);
  TFC_ENSURE_MSG(ctx, p->stride_w >= 1 && p->stride_h >= 1, "strides must be >= 1 (got %d, %d)",
                 p->stride_h, p->stride_w);
  TFC_ENSURE_MSG(ctx, p->filter_w >= 1 && p->filter_h >= 1,
                 "filter sizes must be >= 1 (got %d, %d)", p->filter_h, p->filter_w);
  TFC_ENSURE_MSG(ctx, p->activation >= 0 && p->activation <= 3,
                 "activation %d is not supported (NONE, RELU, RELU_N1_TO_1 or RELU6)",
                 p->activation);
  return kTfLiteOk;
}

}  // namespace tfc
