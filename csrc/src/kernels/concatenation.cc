// CONCATENATION: joins the inputs along `axis` (negative counts from the
// end). Byte copies for every type; the fused activation is applied for
// FLOAT32. Quantized inputs: int8 must share the output's parameters (as
// TFLite requires); int16 values are copied as they are whatever their
// parameters (as TFLite does); a uint8 input with other parameters is
// requantized as TFLite does it, in float:
//   q_out = clamp(round(q_in * s + b) + out_zp), s = in_scale * (1 / out_scale),
//   b = -in_zp * s.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/util/activation.h"
#include "kernels/util/index_util.h"
#include "kernels/util/quant_math.h"
#include "kernels/util/quant_params.h"

namespace tfc {
namespace {

class Concatenation final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override {
    const int n = ctx.num_inputs();
    TFC_ENSURE_MSG(ctx, n >= 1 && ctx.num_outputs() == 1, "expects at least 1 input and 1 output");
    TfLiteTensor* out = ctx.output(0);
    const TfLiteTensor* in0 = ctx.input(0);
    TFC_ENSURE(ctx, out != nullptr && in0 != nullptr);
    const auto* opts = ctx.options<fb::ConcatenationOptions>();
    const int64_t axis_opt = opts ? opts->axis() : 0;
    const auto act = opts ? opts->fused_activation_function() : fb::ActivationFunctionType_NONE;
    const int rank = in0->rank();
    TFC_OK(dm::NormalizeAxis(ctx, axis_opt, rank, &axis_));

    std::vector<int32_t> dims = in0->dims;
    int64_t axis_total = 0;
    for (int i = 0; i < n; ++i) {
      const TfLiteTensor* in = ctx.input(i);
      TFC_ENSURE_MSG(ctx, in != nullptr, "input %d is missing", i);
      TFC_OK(dm::CheckMovable(ctx, in, out));
      TFC_ENSURE_MSG(ctx, in->rank() == rank, "input %d has rank %d, input 0 has rank %d", i,
                     in->rank(), rank);
      for (int d = 0; d < rank; ++d) {
        if (d == axis_) continue;
        TFC_ENSURE_MSG(ctx, in->dim(d) == in0->dim(d),
                       "input %d has size %d in dimension %d, input 0 has %d", i, in->dim(d), d,
                       in0->dim(d));
      }
      TFC_ENSURE_MSG(ctx, in->dim(axis_) >= 0, "input %d has a negative dimension", i);
      axis_total += in->dim(axis_);
      if (out->type != kTfLiteInt16 && dm::IsQuantizedType(out->type) && !dm::SameQuant(in, out)) {
        if (out->type == kTfLiteInt8) TFC_OK(qp::RequireSameQuant(ctx, in, out));
        float si, so;
        int32_t zi, zo;
        TFC_OK(qp::PerTensor(ctx, in, &si, &zi));
        TFC_OK(qp::PerTensor(ctx, out, &so, &zo));
      }
    }
    TFC_ENSURE_MSG(ctx, axis_total <= INT32_MAX, "the concatenated dimension is too large");
    dims[static_cast<size_t>(axis_)] = static_cast<int32_t>(axis_total);
    int64_t count = 0;
    TFC_ENSURE_MSG(ctx, dm::CountElements(dims, &count), "the output shape is too large");

    clamp_ = false;
    if (act != fb::ActivationFunctionType_NONE) {
      bool supported = false;
      range_ = ActivationRange(act, &supported);
      if (!supported || out->type != kTfLiteFloat32)
        return ctx.ErrorStatus(kTfLiteUnresolvedOps,
                               "fused activation %d on %s is not supported yet",
                               static_cast<int>(act), TypeName(out->type));
      clamp_ = true;
    }
    return ctx.ResizeOutput(0, dims);
  }

  TfLiteStatus Eval(OpContext& ctx) override {
    TfLiteTensor* out = ctx.output(0);
    const int n = ctx.num_inputs();
    const size_t esize = TypeSize(out->type);
    int64_t outer = 1;
    for (int d = 0; d < axis_; ++d) outer *= out->dim(d);
    int64_t inner = 1;
    for (int d = axis_ + 1; d < out->rank(); ++d) inner *= out->dim(d);
    const size_t out_row = static_cast<size_t>(out->dim(axis_) * inner) * esize;
    if (outer == 0 || out_row == 0) return kTfLiteOk;
    // Output rows [o0, o1): each input's slice of them, then the activation. Split over the
    // threads in chunks of at least 16 KB: each thread copies the rows its core produced, for a
    // concatenation of two layers' outputs as U-Net's skip connections are.
    auto rows = [&](int64_t o0, int64_t o1) {
      uint8_t* dst = static_cast<uint8_t*>(out->data) + static_cast<size_t>(o0) * out_row;
      for (int i = 0; i < n; ++i) {
        const TfLiteTensor* in = ctx.input(i);
        const size_t row = static_cast<size_t>(in->dim(axis_) * inner) * esize;
        if (row == 0) continue;
        const uint8_t* src = static_cast<const uint8_t*>(in->data) + static_cast<size_t>(o0) * row;
        uint8_t* d = dst;
        if (out->type == kTfLiteUInt8 && !dm::SameQuant(in, out)) {
          const int64_t count = in->dim(axis_) * inner;
          const float s = in->quant.scale[0] * (1.0f / out->quant.scale[0]);
          const int32_t zi = in->quant.zero_point.empty() ? 0 : static_cast<int32_t>(in->quant.zero_point[0]);
          const int32_t zo = out->quant.zero_point.empty() ? 0 : static_cast<int32_t>(out->quant.zero_point[0]);
          const float b = -static_cast<float>(zi) * s;
          for (int64_t o = o0; o < o1; ++o, src += row, d += out_row) Requant<uint8_t>(src, d, count, s, b, zo);
        } else {
          dm::CopyRows(src, static_cast<int64_t>(row), d, static_cast<int64_t>(out_row), row, o1 - o0);
        }
        dst += row;
      }
      if (clamp_) {
        float* p = reinterpret_cast<float*>(static_cast<uint8_t*>(out->data) + static_cast<size_t>(o0) * out_row);
        const size_t count = static_cast<size_t>(o1 - o0) * out_row / sizeof(float);
        const float lo = range_.lo, hi = range_.hi;
        for (size_t i = 0; i < count; ++i) p[i] = std::min(std::max(p[i], lo), hi);
      }
    };
    const int64_t min_rows = std::max<int64_t>(1, static_cast<int64_t>((16 << 10) / out_row));
    if (ctx.num_threads() > 1 && outer >= 2 * min_rows)
      ctx.pool().ParallelFor(outer, min_rows, rows);
    else
      rows(0, outer);
    return kTfLiteOk;
  }

 private:
  template <class T>
  static void Requant(const uint8_t* src, uint8_t* dst, int64_t n, float s, float b, int32_t zo) {
    const T* in = reinterpret_cast<const T*>(src);
    T* out = reinterpret_cast<T*>(dst);
    const int32_t lo = std::numeric_limits<T>::min(), hi = std::numeric_limits<T>::max();
    for (int64_t j = 0; j < n; ++j) {
      float r = RoundHalfAway(static_cast<float>(in[j]) * s + b);
      r = std::min(std::max(r, -65536.0f), 65536.0f);  // (far outside the type: same clamp)
      const int32_t v = static_cast<int32_t>(r) + zo;
      out[j] = static_cast<T>(std::max(lo, std::min(hi, v)));
    }
  }

  int axis_ = 0;
  bool clamp_ = false;
  FloatRange range_;
};

}  // namespace

TFC_REGISTER_OP(CONCATENATION, 1, 4, Concatenation);

}  // namespace tfc
