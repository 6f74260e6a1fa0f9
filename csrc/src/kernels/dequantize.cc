// DEQUANTIZE: float16 or affine-quantized integers -> float32.
//
// - FLOAT16 -> FLOAT32: exact widening (subnormals, infinities and NaN
//   payloads kept), by bit manipulation: no F16C or __fp16 needed.
// - INT8 / UINT8 / INT16 / INT4 -> FLOAT32: real = scale * (q - zero_point),
//   per tensor (one scale) or per channel along quantized_dimension. INT4
//   data is packed two values per byte, low nibble first (the format's
//   layout); one value per byte is accepted too.
//   Per channel and INT16 as TensorFlow Lite computes them (the product
//   rounded once). Per-tensor INT8 / UINT8 as its optimized builtin kernel:
//   the elements up to the last multiple of 8 as q*scale - zp*scale (two
//   float roundings), the remaining tail rounded once; bit-exact.
//
// When the input is a constant (fp16 or int8 weights of *_fp16 / *_dynamic
// models), the output is computed once at Prepare through FoldOutput: the node
// is then skipped at Invoke and the kernels downstream see constant float
// weights they can pack.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/util/elementwise.h"

namespace tfc {
namespace {

// ---- float16 -> float32 ----------------------------------------------------

inline uint32_t FloatBits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  return u;
}

// IEEE binary16 bit pattern -> binary32 bit pattern, exactly.
// binary16: 1 sign, 5 exponent (bias 15), 10 fraction bits.
inline uint32_t HalfToFloatBits(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t mag = h & 0x7fffu;
  // Normal: move exponent and fraction into place and add 127 - 15 = 112 to
  // the exponent field.
  const uint32_t normal = (mag << 13) + (112u << 23);
  // Infinity / NaN (exponent 31): exponent becomes 255, fraction (payload)
  // kept, so a signalling NaN stays signalling as numpy does it.
  const uint32_t special = (mag << 13) | 0x7f800000u;
  // Zero / subnormal (exponent 0): the value is mag * 2^-24, which float
  // represents exactly (mag < 2^10).
  const uint32_t tiny = FloatBits(static_cast<float>(mag) * 5.9604644775390625e-08f);
  // Branch-free selection (all-ones masks) so that loops vectorize.
  const uint32_t is_special = 0u - static_cast<uint32_t>(mag >= 0x7c00u);
  const uint32_t is_normal = (0u - static_cast<uint32_t>(mag >= 0x0400u)) & ~is_special;
  const uint32_t is_tiny = ~(is_special | is_normal);
  return sign | (special & is_special) | (normal & is_normal) | (tiny & is_tiny);
}

void HalfToFloat(const uint16_t* __restrict in, float* __restrict out, int64_t n) {
  uint32_t* o = reinterpret_cast<uint32_t*>(out);
  for (int64_t i = 0; i < n; ++i) o[i] = HalfToFloatBits(in[i]);
}

// ---- affine dequantization -------------------------------------------------

// out[i] = scale * (in[i] - zero_point) over a contiguous run.
template <class T>
void DequantizeRun(const T* __restrict in, float* __restrict out, int64_t n, float scale,
                   int32_t zero_point) {
  // |q - zp| < 2^24 (checked in Prepare): the float difference is exact, so
  // one float multiply rounds exactly like the reference's double product.
  const float zp = static_cast<float>(zero_point);
  for (int64_t i = 0; i < n; ++i) out[i] = scale * (static_cast<float>(in[i]) - zp);
}

// The optimized kernel's blocked form: out[i] = q*scale - zp*scale in float.
template <class T>
TFC_EW_INLINE void DequantizeRunTwoStepBody(const T* __restrict in, float* __restrict out, int64_t n,
                                            float scale, int32_t zero_point) {
  const float offset = static_cast<float>(zero_point) * scale;
  for (int64_t i = 0; i < n; ++i) {
    const float prod = static_cast<float>(in[i]) * scale;
    out[i] = prod - offset;
  }
}

#if TFC_EW_AVX2
// The same compiled for AVX2: YOLO's 18K-value dequantize of its head took 10.6 us with the baseline
// build's code, 1.3 us so. Without FMA: the product is rounded before the subtraction, as the optimized
// kernel computes it (a fused multiply-subtract differs in the last bit).
template <class T>
__attribute__((target("avx2"))) void DequantizeRunTwoStepAvx2(const T* in, float* out, int64_t n, float scale,
                                                 int32_t zero_point) {
  DequantizeRunTwoStepBody(in, out, n, scale, zero_point);
}
#endif

template <class T>
void DequantizeRunTwoStep(const T* in, float* out, int64_t n, float scale, int32_t zero_point) {
#if TFC_EW_AVX2
  if (ew::UseAvx2()) {
    DequantizeRunTwoStepAvx2(in, out, n, scale, zero_point);
    return;
  }
#endif
  DequantizeRunTwoStepBody(in, out, n, scale, zero_point);
}

inline int32_t Int4At(const uint8_t* packed, int64_t i) {
  const uint8_t byte = packed[i >> 1];
  const int nibble = (i & 1) ? (byte >> 4) : (byte & 0x0f);
  return nibble >= 8 ? nibble - 16 : nibble;
}

class Dequantize final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override {
    TFC_ENSURE(ctx, ctx.num_inputs() == 1 && ctx.num_outputs() == 1);
    const TfLiteTensor* in = ctx.input(0);
    const TfLiteTensor* out = ctx.output(0);
    TFC_ENSURE_MSG(ctx, in != nullptr && out != nullptr, "input and output are required");
    TFC_ENSURE_TYPE(ctx, out, kTfLiteFloat32);
    type_ = in->type;
    const int64_t n = in->num_elements();
    TFC_ENSURE_MSG(ctx, n >= 0, "input '%s' has a negative dimension", in->name.c_str());

    switch (type_) {
      case kTfLiteFloat16:
        TFC_ENSURE_MSG(ctx, !in->is_constant() || in->bytes == static_cast<size_t>(n) * 2,
                       "input '%s' holds %zu bytes for %lld float16 values", in->name.c_str(),
                       in->bytes, static_cast<long long>(n));
        break;
      case kTfLiteInt8:
      case kTfLiteUInt8:
      case kTfLiteInt16:
        TFC_ENSURE_MSG(ctx, !in->is_constant() || in->bytes == static_cast<size_t>(n) * TypeSize(type_),
                       "input '%s' holds %zu bytes for %lld values", in->name.c_str(), in->bytes,
                       static_cast<long long>(n));
        TFC_OK(PrepareAffine(ctx, *in));
        break;
      case kTfLiteInt4: {
        // INT4 tensors are constant weights: packed two per byte (low nibble
        // first), or one per byte.
        if (!in->is_constant()) {
          return ctx.ErrorStatus(kTfLiteUnresolvedOps,
                                 "INT4 input '%s' is not a constant; only constant INT4 "
                                 "weights are supported",
                                 in->name.c_str());
        }
        TFC_OK(PrepareAffine(ctx, *in));
        if (in->bytes == static_cast<size_t>((n + 1) / 2)) {
          int4_packed_ = true;
        } else if (in->bytes == static_cast<size_t>(n)) {
          int4_packed_ = false;
        } else {
          return ctx.Error("INT4 input '%s' holds %zu bytes for %lld values", in->name.c_str(),
                           in->bytes, static_cast<long long>(n));
        }
        break;
      }
      default:
        return ctx.ErrorStatus(kTfLiteUnresolvedOps,
                               "input '%s' has type %s; DEQUANTIZE takes FLOAT16, INT8, UINT8, "
                               "INT16 or INT4",
                               in->name.c_str(), TypeName(in->type));
    }

    TFC_OK(ctx.ResizeOutput(0, in->dims));
    folded_ = false;
    // A variable output (e.g. an LSTM state initialised from fp16 constants)
    // is rewritten on every Invoke, as the format means it to be.
    if (in->is_constant() && !ctx.output(0)->is_variable) {
      TFC_ENSURE_MSG(ctx, in->data != nullptr || n == 0, "constant input '%s' has no data",
                     in->name.c_str());
      TFC_OK(ctx.FoldOutput(0));
      TfLiteTensor* o = ctx.output(0);
      TFC_ENSURE_MSG(ctx, o->data != nullptr || n == 0, "folded output has no storage");
      TFC_ENSURE(ctx, o->bytes == static_cast<size_t>(n) * sizeof(float));
      Compute(ctx, *in, o);
      folded_ = true;
    }
    return kTfLiteOk;
  }

  TfLiteStatus Eval(OpContext& ctx) override {
    if (folded_) return kTfLiteOk;  // computed once at Prepare
    const TfLiteTensor* in = ctx.input(0);
    TfLiteTensor* out = ctx.output(0);
    if (in->num_elements() > 0) {
      TFC_ENSURE_MSG(ctx, in->data != nullptr && out->data != nullptr, "tensors not allocated");
    }
    Compute(ctx, *in, out);
    return kTfLiteOk;
  }

  size_t OwnedBytes() const override { return HeapBytes(scales_, zero_points_); }

 private:
  // Validates the quantization parameters and lays out the channel loop.
  TfLiteStatus PrepareAffine(OpContext& ctx, const TfLiteTensor& in) {
    const Quantization& q = in.quant;
    TFC_ENSURE_MSG(ctx, !q.empty(), "input '%s' of type %s has no quantization parameters",
                   in.name.c_str(), TypeName(in.type));
    const size_t channels = q.scale.size();
    TFC_ENSURE_MSG(ctx, q.zero_point.empty() || q.zero_point.size() == channels,
                   "input '%s' has %zu scales but %zu zero points", in.name.c_str(), channels,
                   q.zero_point.size());
    scales_.assign(q.scale.begin(), q.scale.end());
    zero_points_.assign(channels, 0);
    for (size_t c = 0; c < channels; ++c) {
      TFC_ENSURE_MSG(ctx, std::isfinite(scales_[c]), "input '%s' has a non-finite scale",
                     in.name.c_str());
      const int64_t zp = q.zero_point.empty() ? 0 : q.zero_point[c];
      // Keeps |q - zp| < 2^24 so that float arithmetic is exact.
      TFC_ENSURE_MSG(ctx, zp > -(int64_t{1} << 23) && zp < (int64_t{1} << 23),
                     "input '%s' has zero point %lld out of range", in.name.c_str(),
                     static_cast<long long>(zp));
      zero_points_[c] = static_cast<int32_t>(zp);
    }
    outer_ = 1;
    inner_ = 1;
    channels_ = 1;
    if (channels > 1) {
      const int axis = q.quantized_dimension;
      TFC_ENSURE_MSG(ctx, axis >= 0 && axis < in.rank(),
                     "input '%s' has quantized_dimension %d for rank %d", in.name.c_str(), axis,
                     in.rank());
      TFC_ENSURE_MSG(ctx, static_cast<size_t>(in.dim(axis)) == channels,
                     "input '%s' has %zu scales for %d channels along dimension %d",
                     in.name.c_str(), channels, in.dim(axis), axis);
      for (int d = 0; d < axis; ++d) outer_ *= in.dim(d);
      for (int d = axis + 1; d < in.rank(); ++d) inner_ *= in.dim(d);
      channels_ = static_cast<int64_t>(channels);
    } else {
      inner_ = in.num_elements();
    }
    return kTfLiteOk;
  }

  void Compute(OpContext& ctx, const TfLiteTensor& in, TfLiteTensor* out) const {
    float* dst = out->data_as<float>();
    const int64_t n = in.num_elements();
    if (n == 0) return;
    if (type_ == kTfLiteFloat16) {
      const uint16_t* src = static_cast<const uint16_t*>(in.data);
      ctx.pool().ParallelFor(n, kMinChunk, [&](int64_t b, int64_t e) {
        HalfToFloat(src + b, dst + b, e - b);
      });
      return;
    }
    if (type_ == kTfLiteInt4) {
      const uint8_t* src = static_cast<const uint8_t*>(in.data);
      const int8_t* unpacked = static_cast<const int8_t*>(in.data);
      for (int64_t r = 0; r < outer_ * channels_; ++r) {
        const int64_t c = r % channels_;
        const float scale = scales_[static_cast<size_t>(c)];
        const int32_t zp = zero_points_[static_cast<size_t>(c)];
        const int64_t base = r * inner_;
        for (int64_t i = 0; i < inner_; ++i) {
          const int32_t v = int4_packed_ ? Int4At(src, base + i) : unpacked[base + i];
          dst[base + i] = scale * static_cast<float>(v - zp);
        }
      }
      return;
    }
    switch (type_) {
      case kTfLiteInt8:
        Affine(ctx, static_cast<const int8_t*>(in.data), dst);
        break;
      case kTfLiteUInt8:
        Affine(ctx, static_cast<const uint8_t*>(in.data), dst);
        break;
      case kTfLiteInt16:
        Affine(ctx, static_cast<const int16_t*>(in.data), dst);
        break;
      default:
        break;
    }
  }

  template <class T>
  void Affine(OpContext& ctx, const T* src, float* dst) const {
    if (channels_ == 1) {
      const float scale = scales_[0];
      const int32_t zp = zero_points_[0];
      // 8-bit types: the first n8 elements in the two-step form.
      const int64_t n8 = sizeof(T) == 1 ? inner_ / 8 * 8 : 0;
      ctx.pool().ParallelFor(inner_, kMinChunk, [&](int64_t b, int64_t e) {
        const int64_t mid = b > n8 ? b : (e < n8 ? e : n8);
        DequantizeRunTwoStep(src + b, dst + b, mid - b, scale, zp);
        DequantizeRun(src + mid, dst + mid, e - mid, scale, zp);
      });
      return;
    }
    // One row per (outer, channel) pair, each a contiguous run of inner_.
    const int64_t rows = outer_ * channels_;
    const int64_t min_rows = inner_ >= kMinChunk ? 1 : kMinChunk / (inner_ > 0 ? inner_ : 1);
    ctx.pool().ParallelFor(rows, min_rows, [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) {
        const size_t c = static_cast<size_t>(r % channels_);
        DequantizeRun(src + r * inner_, dst + r * inner_, inner_, scales_[c], zero_points_[c]);
      }
    });
  }

  static constexpr int64_t kMinChunk = 1 << 14;

  TfLiteType type_ = kTfLiteNoType;
  bool folded_ = false;
  bool int4_packed_ = true;
  std::vector<float> scales_;
  std::vector<int32_t> zero_points_;
  int64_t outer_ = 1;     // product of the dims before quantized_dimension
  int64_t channels_ = 1;  // scales (1 when per tensor)
  int64_t inner_ = 1;     // product of the dims after it (all for per tensor)
};

}  // namespace

TFC_REGISTER_OP(DEQUANTIZE, 1, 6, Dequantize);

}  // namespace tfc
