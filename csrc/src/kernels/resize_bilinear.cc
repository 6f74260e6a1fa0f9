// RESIZE_BILINEAR (NHWC): inputs (input, size = [new_height, new_width]).
// Coordinates follow TensorFlow Lite's reference kernels:
//   scale = align_corners && out > 1 ? (in - 1) / (out - 1) : in / out
//   s = half_pixel_centers ? (x + 0.5) * scale - 0.5 : x * scale
//   lo = max(floor(s), 0), hi = min(ceil(s), in - 1), weight of hi = s - lo.
// FLOAT32 interpolates in float. INT8 and INT16 use the reference's integer
// form (coordinates in 1/1024 steps, rounding half away from zero at 2^20).
// UINT8 interpolates in float as the optimized kernel does (corner weights
// (1-dy)(1-dx), (1-dy)dx, dy(1-dx), dy dx summed in that order, + 0.5,
// truncated). Quantized values are not requantized (TFLite copies them
// whatever the output's parameters). Tables are built in Prepare; a non-constant
// size makes the output dynamic and the coordinates are then computed inline.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "kernels/kernel.h"
#include "kernels/util/elementwise.h"
#include "kernels/util/index_util.h"

namespace tfc {
namespace {

struct FCoord {
  int32_t lo, hi;
  float frac;
};
struct ICoord {
  int32_t lo, hi;
  int32_t frac;  // 1/1024 steps above lo
};

// One INT8 output pixel: the four corners (a, b top; p, q bottom) weighted
// in 1/2^20 steps, rounded half away from zero. The weights sum to 2^20, so
// |v| <= 128 * 2^20 and int32 holds the reference's int64 sum exactly (and
// vectorizes).
TFC_EW_INLINE void BlendInt8Body(const int8_t* __restrict a, const int8_t* __restrict b,
                                 const int8_t* __restrict p, const int8_t* __restrict q,
                                 int32_t w00, int32_t w10, int32_t w01, int32_t w11,
                                 int8_t* __restrict o, int64_t c) {
  for (int64_t k = 0; k < c; ++k) {
    int32_t v = a[k] * w00 + p[k] * w10 + b[k] * w01 + q[k] * w11;
    v += v > 0 ? (1 << 19) : -(1 << 19);
    const int32_t r = v / (1 << 20);
    o[k] = static_cast<int8_t>(r < -128 ? -128 : (r > 127 ? 127 : r));
  }
}

#if TFC_EW_AVX2
// The same 16 channels at a time, in the separable form of the same sum: top = a (1024 - dx) + b dx and
// bottom = p (1024 - dx) + q dx with one pmaddwd each, v = top (1024 - dy) + bottom dy (exact: the
// integers are equal), rounded as |v| + 2^19 >> 20 with v's sign. The compiler's version of the body
// spilled registers: U-Net's 32x32x64 -> 64x64x64 upsampling took twice the official runtime's time.
TFC_EW_TARGET_AVX2 void BlendInt8Avx2(const int8_t* a, const int8_t* b, const int8_t* p,
                                      const int8_t* q, int32_t w00, int32_t w10, int32_t w01,
                                      int32_t w11, int8_t* o, int64_t c) {
  const int32_t dx = (w01 + w11) >> 10, dy = (w10 + w11) >> 10;
  const __m256i wx = _mm256_set1_epi32(static_cast<int32_t>((static_cast<uint32_t>(dx) << 16) |
                                                            static_cast<uint32_t>(1024 - dx)));
  const __m256i wy0 = _mm256_set1_epi32(1024 - dy), wy1 = _mm256_set1_epi32(dy);
  const __m256i half = _mm256_set1_epi32(1 << 19);
  int64_t k = 0;
  for (; k + 16 <= c; k += 16) {
    const __m256i va = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + k)));
    const __m256i vb = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + k)));
    const __m256i vp = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + k)));
    const __m256i vq = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q + k)));
    // pairs (a, b) and (p, q): channels 0-3 and 8-11 in the low halves, 4-7 and 12-15 in the high
    const __m256i top_lo = _mm256_madd_epi16(_mm256_unpacklo_epi16(va, vb), wx);
    const __m256i top_hi = _mm256_madd_epi16(_mm256_unpackhi_epi16(va, vb), wx);
    const __m256i bot_lo = _mm256_madd_epi16(_mm256_unpacklo_epi16(vp, vq), wx);
    const __m256i bot_hi = _mm256_madd_epi16(_mm256_unpackhi_epi16(vp, vq), wx);
    __m256i v_lo = _mm256_add_epi32(_mm256_mullo_epi32(top_lo, wy0), _mm256_mullo_epi32(bot_lo, wy1));
    __m256i v_hi = _mm256_add_epi32(_mm256_mullo_epi32(top_hi, wy0), _mm256_mullo_epi32(bot_hi, wy1));
    v_lo = _mm256_sign_epi32(_mm256_srai_epi32(_mm256_add_epi32(_mm256_abs_epi32(v_lo), half), 20), v_lo);
    v_hi = _mm256_sign_epi32(_mm256_srai_epi32(_mm256_add_epi32(_mm256_abs_epi32(v_hi), half), 20), v_hi);
    const __m256i w = _mm256_packs_epi32(v_lo, v_hi);  // channel order again, saturated to int16
    _mm_storeu_si128(reinterpret_cast<__m128i*>(o + k),
                     _mm_packs_epi16(_mm256_castsi256_si128(w), _mm256_extracti128_si256(w, 1)));
  }
  BlendInt8Body(a + k, b + k, p + k, q + k, w00, w10, w01, w11, o + k, c - k);
}
#endif

void BlendInt8(const int8_t* a, const int8_t* b, const int8_t* p, const int8_t* q, int32_t w00,
               int32_t w10, int32_t w01, int32_t w11, int8_t* o, int64_t c) {
#if TFC_EW_AVX2
  if (ew::UseAvx2()) {
    BlendInt8Avx2(a, b, p, q, w00, w10, w01, w11, o, c);
    return;
  }
#endif
  BlendInt8Body(a, b, p, q, w00, w10, w01, w11, o, c);
}

float Scale(int32_t in_size, int32_t out_size, bool align_corners) {
  return (align_corners && out_size > 1)
             ? static_cast<float>(in_size - 1) / static_cast<float>(out_size - 1)
             : static_cast<float>(in_size) / static_cast<float>(out_size);
}

FCoord FloatCoord(int32_t v, float scale, bool half_pixel, int32_t in_size) {
  const float s = half_pixel ? (static_cast<float>(v) + 0.5f) * scale - 0.5f
                             : static_cast<float>(v) * scale;
  FCoord c;
  c.lo = std::max(static_cast<int32_t>(std::floor(s)), 0);
  c.hi = std::min(static_cast<int32_t>(std::ceil(s)), in_size - 1);
  c.frac = s - static_cast<float>(c.lo);
  return c;
}

ICoord IntCoord(int32_t v, int64_t scale10, bool half_pixel, int32_t in_size) {
  const int64_t s = half_pixel ? v * scale10 + scale10 / 2 - 512 : v * scale10;
  ICoord c;
  c.lo = static_cast<int32_t>(std::max<int64_t>(s / 1024, 0));
  c.hi = static_cast<int32_t>(std::min<int64_t>((s + 1023) / 1024, in_size - 1));
  c.frac = static_cast<int32_t>(s - 1024 * static_cast<int64_t>(c.lo));
  return c;
}

int64_t Scale10(float scale) { return static_cast<int64_t>(std::round(scale * 1024.0f)); }

template <class T>
T SaturateCast(int64_t v) {
  const int64_t lo = std::numeric_limits<T>::min(), hi = std::numeric_limits<T>::max();
  return static_cast<T>(v < lo ? lo : v > hi ? hi : v);
}

class ResizeBilinear final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override {
    TFC_ENSURE_MSG(ctx, ctx.num_inputs() == 2 && ctx.num_outputs() == 1,
                   "expects 2 inputs and 1 output");
    const TfLiteTensor* in = ctx.input(0);
    const TfLiteTensor* size = ctx.input(1);
    TfLiteTensor* out = ctx.output(0);
    TFC_ENSURE(ctx, in != nullptr && out != nullptr);
    TFC_OK(dm::CheckMovable(ctx, in, out));
    type_ = in->type;
    if (type_ != kTfLiteFloat32 && type_ != kTfLiteInt8 && type_ != kTfLiteUInt8 &&
        type_ != kTfLiteInt16)
      return ctx.ErrorStatus(kTfLiteUnresolvedOps, "%s inputs are not supported yet",
                             TypeName(type_));
    TFC_ENSURE_MSG(ctx, in->rank() == 4, "input must have rank 4, it has %d", in->rank());
    TFC_ENSURE_MSG(ctx, in->dim(1) > 0 && in->dim(2) > 0, "the input has an empty spatial size");
    TFC_OK(dm::CheckIndexType(ctx, size, "size"));
    TFC_ENSURE_MSG(ctx, size->num_elements() == 2, "size must hold 2 values");
    const auto* o = ctx.options<fb::ResizeBilinearOptions>();
    align_corners_ = o ? o->align_corners() : false;
    half_pixel_ = o ? o->half_pixel_centers() : false;
    TFC_ENSURE_MSG(ctx, !(align_corners_ && half_pixel_),
                   "align_corners and half_pixel_centers cannot both be set");
    fy_.clear();
    fx_.clear();
    iy_.clear();
    ix_.clear();
    dynamic_ = !size->is_constant();
    if (dynamic_) {
      ctx.MarkOutputDynamic(0);
      return kTfLiteOk;
    }
    TFC_OK(ReadSize(ctx));
    TFC_OK(ctx.ResizeOutput(0, {in->dim(0), oh_, ow_, in->dim(3)}));   // first: it checks the size limits
    const int32_t h = in->dim(1), w = in->dim(2);
    if (UsesIntCoords()) {
      const int64_t sy = Scale10(Scale(h, oh_, align_corners_));
      const int64_t sx = Scale10(Scale(w, ow_, align_corners_));
      for (int32_t y = 0; y < oh_; ++y) iy_.push_back(IntCoord(y, sy, half_pixel_, h));
      for (int32_t x = 0; x < ow_; ++x) ix_.push_back(IntCoord(x, sx, half_pixel_, w));
    } else {
      const float sy = Scale(h, oh_, align_corners_), sx = Scale(w, ow_, align_corners_);
      for (int32_t y = 0; y < oh_; ++y) fy_.push_back(FloatCoord(y, sy, half_pixel_, h));
      for (int32_t x = 0; x < ow_; ++x) fx_.push_back(FloatCoord(x, sx, half_pixel_, w));
    }
    return kTfLiteOk;
  }

  TfLiteStatus Eval(OpContext& ctx) override {
    const TfLiteTensor* in = ctx.input(0);
    TfLiteTensor* out = ctx.output(0);
    if (dynamic_) {
      TFC_OK(ReadSize(ctx));
      TFC_OK(ctx.ResizeOutput(0, {in->dim(0), oh_, ow_, in->dim(3)}));
    }
    if (out->num_elements() == 0) return kTfLiteOk;
    switch (type_) {
      case kTfLiteFloat32: RunFloat(ctx, in, out); break;
      case kTfLiteUInt8: RunUint8(ctx, in, out); break;
      case kTfLiteInt8: RunInt<int8_t>(ctx, in, out); break;
      default: RunInt<int16_t>(ctx, in, out); break;
    }
    return kTfLiteOk;
  }

 private:
  bool UsesIntCoords() const { return type_ == kTfLiteInt8 || type_ == kTfLiteInt16; }

  // Runs rows(begin, end) over all N * out_height rows, in parallel when large.
  template <class F>
  void ForRows(OpContext& ctx, const TfLiteTensor* out, F& rows) {
    const int64_t total = static_cast<int64_t>(out->dim(0)) * oh_;
    const int64_t row_elems = static_cast<int64_t>(ow_) * out->dim(3);
    const int64_t min_rows = 1 + (32 * 1024) / std::max<int64_t>(row_elems, 1);
    if (total > min_rows && ctx.num_threads() > 1) {
      ctx.pool().ParallelFor(total, min_rows, rows);
    } else {
      rows(0, total);
    }
  }

  void RunFloat(OpContext& ctx, const TfLiteTensor* in, TfLiteTensor* out) {
    const int32_t h = in->dim(1), w = in->dim(2);
    const int64_t c = in->dim(3);
    const float* src = in->data_as<const float>();
    float* dst = out->data_as<float>();
    const FCoord* ty = dynamic_ ? nullptr : fy_.data();
    const FCoord* tx = dynamic_ ? nullptr : fx_.data();
    const float sy = Scale(h, oh_, align_corners_), sx = Scale(w, ow_, align_corners_);
    const bool hp = half_pixel_;
    const int32_t oh = oh_, ow = ow_;
    auto rows = [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        const int64_t n = r / oh;
        const int32_t y = static_cast<int32_t>(r % oh);
        const FCoord cy = ty ? ty[y] : FloatCoord(y, sy, hp, h);
        const float* r0 = src + (n * h + cy.lo) * w * c;
        const float* r1 = src + (n * h + cy.hi) * w * c;
        float* o = dst + r * ow * c;
        const float wy = cy.frac;
        for (int32_t x = 0; x < ow; ++x) {
          const FCoord cx = tx ? tx[x] : FloatCoord(x, sx, hp, w);
          const float* __restrict a = r0 + cx.lo * c;
          const float* __restrict b = r0 + cx.hi * c;
          const float* __restrict p = r1 + cx.lo * c;
          const float* __restrict q = r1 + cx.hi * c;
          const float wx = cx.frac;
          for (int64_t k = 0; k < c; ++k) {
            const float top = a[k] + (b[k] - a[k]) * wx;
            const float bot = p[k] + (q[k] - p[k]) * wx;
            o[k] = top + (bot - top) * wy;
          }
          o += c;
        }
      }
    };
    ForRows(ctx, out, rows);
  }

  void RunUint8(OpContext& ctx, const TfLiteTensor* in, TfLiteTensor* out) {
    const int32_t h = in->dim(1), w = in->dim(2);
    const int64_t c = in->dim(3);
    const uint8_t* src = in->data_as<const uint8_t>();
    uint8_t* dst = out->data_as<uint8_t>();
    const FCoord* ty = dynamic_ ? nullptr : fy_.data();
    const FCoord* tx = dynamic_ ? nullptr : fx_.data();
    const float sy = Scale(h, oh_, align_corners_), sx = Scale(w, ow_, align_corners_);
    const bool hp = half_pixel_;
    const int32_t oh = oh_, ow = ow_;
    auto rows = [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        const int64_t n = r / oh;
        const int32_t y = static_cast<int32_t>(r % oh);
        const FCoord cy = ty ? ty[y] : FloatCoord(y, sy, hp, h);
        const uint8_t* r0 = src + (n * h + cy.lo) * w * c;
        const uint8_t* r1 = src + (n * h + cy.hi) * w * c;
        uint8_t* o = dst + r * ow * c;
        const float dy = cy.frac;
        for (int32_t x = 0; x < ow; ++x) {
          const FCoord cx = tx ? tx[x] : FloatCoord(x, sx, hp, w);
          const float dx = cx.frac;
          const float w00 = (1.0f - dy) * (1.0f - dx), w01 = (1.0f - dy) * dx;
          const float w10 = dy * (1.0f - dx), w11 = dy * dx;
          const uint8_t* a = r0 + cx.lo * c;
          const uint8_t* b = r0 + cx.hi * c;
          const uint8_t* p = r1 + cx.lo * c;
          const uint8_t* q = r1 + cx.hi * c;
          for (int64_t k = 0; k < c; ++k) {
            // The optimized kernel's weights and order: (y0,x0) (y0,x1) (y1,x0)
            // (y1,x1), + 0.5, truncated.
            const float v = static_cast<float>(a[k]) * w00 + static_cast<float>(b[k]) * w01 +
                            static_cast<float>(p[k]) * w10 + static_cast<float>(q[k]) * w11 + 0.5f;
            const float rv = v;
            o[k] = static_cast<uint8_t>(rv < 0.f ? 0.f : rv > 255.f ? 255.f : rv);
          }
          o += c;
        }
      }
    };
    ForRows(ctx, out, rows);
  }

  template <class T>
  void RunInt(OpContext& ctx, const TfLiteTensor* in, TfLiteTensor* out) {
    const int32_t h = in->dim(1), w = in->dim(2);
    const int64_t c = in->dim(3);
    const T* src = in->data_as<const T>();
    T* dst = out->data_as<T>();
    const ICoord* ty = dynamic_ ? nullptr : iy_.data();
    const ICoord* tx = dynamic_ ? nullptr : ix_.data();
    const int64_t sy = Scale10(Scale(h, oh_, align_corners_));
    const int64_t sx = Scale10(Scale(w, ow_, align_corners_));
    const bool hp = half_pixel_;
    const int32_t oh = oh_, ow = ow_;
    auto rows = [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        const int64_t n = r / oh;
        const int32_t y = static_cast<int32_t>(r % oh);
        const ICoord cy = ty ? ty[y] : IntCoord(y, sy, hp, h);
        const T* r0 = src + (n * h + cy.lo) * w * c;
        const T* r1 = src + (n * h + cy.hi) * w * c;
        T* o = dst + r * ow * c;
        const int64_t dy = cy.frac;
        for (int32_t x = 0; x < ow; ++x) {
          const ICoord cx = tx ? tx[x] : IntCoord(x, sx, hp, w);
          const int64_t dx = cx.frac;
          const int64_t w00 = (1024 - dy) * (1024 - dx), w10 = dy * (1024 - dx);
          const int64_t w01 = (1024 - dy) * dx, w11 = dy * dx;
          const T* a = r0 + cx.lo * c;
          const T* b = r0 + cx.hi * c;
          const T* p = r1 + cx.lo * c;
          const T* q = r1 + cx.hi * c;
          if constexpr (sizeof(T) == 1) {
            BlendInt8(a, b, p, q, static_cast<int32_t>(w00), static_cast<int32_t>(w10),
                      static_cast<int32_t>(w01), static_cast<int32_t>(w11), o, c);
            o += c;
            continue;
          }
          for (int64_t k = 0; k < c; ++k) {
            const int64_t v = a[k] * w00 + p[k] * w10 + b[k] * w01 + q[k] * w11;
            const int64_t rounded = (v + (v > 0 ? (1 << 19) : -(1 << 19))) / (1 << 20);
            o[k] = SaturateCast<T>(rounded);
          }
          o += c;
        }
      }
    };
    ForRows(ctx, out, rows);
  }

  TfLiteStatus ReadSize(OpContext& ctx) {
    const TfLiteTensor* size = ctx.input(1);
    TFC_OK(dm::CheckIndexTensor(ctx, size, "size"));
    TFC_ENSURE_MSG(ctx, size->num_elements() == 2, "size must hold 2 values");
    const int64_t h = dm::IntAt(size, 0), w = dm::IntAt(size, 1);
    TFC_ENSURE_MSG(ctx, h > 0 && w > 0 && h <= INT32_MAX && w <= INT32_MAX,
                   "output size %lld x %lld is invalid", static_cast<long long>(h),
                   static_cast<long long>(w));
    const TfLiteTensor* in = ctx.input(0);
    int64_t count = 0;
    const int64_t od[4] = {in->dim(0), h, w, in->dim(3)};
    TFC_ENSURE_MSG(ctx, dm::CountElements(od, 4, &count), "the output shape is too large");
    oh_ = static_cast<int32_t>(h);
    ow_ = static_cast<int32_t>(w);
    return kTfLiteOk;
  }

  TfLiteType type_ = kTfLiteFloat32;
  bool align_corners_ = false, half_pixel_ = false, dynamic_ = false;
  int32_t oh_ = 0, ow_ = 0;
  std::vector<FCoord> fy_, fx_;
  std::vector<ICoord> iy_, ix_;
};

}  // namespace

TFC_REGISTER_OP(RESIZE_BILINEAR, 1, 4, ResizeBilinear);

}  // namespace tfc
