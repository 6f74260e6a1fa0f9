// SOFTMAX (with beta) and LOG_SOFTMAX over the last axis, float32.
//
//   SOFTMAX      y = e^{beta (x - max)} / sum_j e^{beta (x_j - max)}
//   LOG_SOFTMAX  y = (x - max) - log(sum_j e^{x_j - max})
// Subtracting the row maximum keeps e^ from overflowing. beta defaults to 0
// (the format's default) when the options are missing.
//
// Quantized (bit-exact with TensorFlow Lite's optimized builtin kernels, which
// compute these in float from a table):
//   SOFTMAX  int8 -> int8 / int16, uint8 -> uint8 / int16. At Prepare
//            table[255 - d] = expf(-in_scale * beta * d), d = 0..255; per row
//            e_j = table[255 - max + x_j] (= e^{beta in_scale (x_j - max)}),
//            sum in float in element order, then q_j = e_j * (1 / (sum *
//            out_scale)) rounded (uint8 output: + 0.5 and truncated, its zero
//            point ignored; int8 / int16: round() + zero point), clamped.
//   LOG_SOFTMAX int8 / uint8 (output scale 16/256, zero point 127 / 255):
//            the same table with beta 1, then
//            q_j = rint(in_scale/out_scale x_j - (in_scale max + log sum) / out_scale) + zp.
//   SOFTMAX  int16 -> int16 (zero points 0, output scale 1/32768, rank <= 4):
//            TensorFlow Lite's integer path: x - max rescaled so that
//            [-65535, 0] spans [-10, 0], exp from an interpolated 513-entry
//            table, the sum's reciprocal from a 1/(1+x) table, products
//            shifted back to Q0.15.
// LOG_SOFTMAX of int16 inputs is rejected (kTfLiteUnresolvedOps).
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/util/elementwise.h"
#include "kernels/util/quant_lut.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace tfc {
namespace {

template <class V>
TFC_EW_INLINE float RowMax(const float* x, int64_t n) {
  constexpr int L = ew::Lanes<V>();
  int64_t i = 0;
  float m = x[0];
  if (n >= 2 * L) {
    V m0 = ew::Load<V>(x), m1 = ew::Load<V>(x + L);
    for (i = 2 * L; i + 2 * L <= n; i += 2 * L) {
      m0 = ew::Max(ew::Load<V>(x + i), m0);
      m1 = ew::Max(ew::Load<V>(x + i + L), m1);
    }
    m0 = ew::Max(m0, m1);
    m = m0[0];
    for (int j = 1; j < L; ++j) m = ew::Max(m0[j], m);
  }
  for (; i < n; ++i) m = ew::Max(x[i], m);
  return m;
}

// y[i] = e^{scale (x[i] - shift)} (y may be null); returns the sum.
template <class V>
TFC_EW_INLINE float ExpRow(const float* x, float* y, int64_t n, float shift, float scale) {
  constexpr int L = ew::Lanes<V>();
  const V vs = ew::Splat<V>(shift), vk = ew::Splat<V>(scale);
  V acc = ew::Splat<V>(0.0f);
  int64_t i = 0;
  for (; i + L <= n; i += L) {
    const V e = ew::Exp((ew::Load<V>(x + i) - vs) * vk);
    if (y) ew::Store<V>(y + i, e);
    acc += e;
  }
  float sum = 0.0f;
  for (int j = 0; j < L; ++j) sum += acc[j];
  if (i < n) {
    float tmp[L];
    const int64_t rest = n - i;
    for (int j = 0; j < L; ++j) tmp[j] = j < rest ? x[i + j] : shift;
    const V e = ew::Exp((ew::Load<V>(tmp) - vs) * vk);
    for (int64_t j = 0; j < rest; ++j) {
      if (y) y[i + j] = e[j];
      sum += e[j];
    }
  }
  return sum;
}

template <class V>
TFC_EW_INLINE void SoftmaxRowV(const float* x, float* y, int64_t n, float beta) {
  constexpr int L = ew::Lanes<V>();
  const float m = RowMax<V>(x, n);
  const float sum = ExpRow<V>(x, y, n, m, beta);
  const V vsum = ew::Splat<V>(sum);
  int64_t i = 0;
  for (; i + L <= n; i += L) ew::Store<V>(y + i, ew::Load<V>(y + i) / vsum);
  for (; i < n; ++i) y[i] = y[i] / sum;
}

template <class V>
TFC_EW_INLINE void LogSoftmaxRowV(const float* x, float* y, int64_t n) {
  const float m = RowMax<V>(x, n);
  const float log_sum = std::log(ExpRow<V>(x, nullptr, n, m, 1.0f));
  for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - m) - log_sum;
}

#if TFC_EW_AVX2
TFC_EW_TARGET_AVX2 void SoftmaxRowAvx2(const float* x, float* y, int64_t n, float beta) {
  SoftmaxRowV<ew::v8f>(x, y, n, beta);
}
TFC_EW_TARGET_AVX2 void LogSoftmaxRowAvx2(const float* x, float* y, int64_t n) {
  LogSoftmaxRowV<ew::v8f>(x, y, n);
}
#endif

void SoftmaxRow(const float* x, float* y, int64_t n, float beta) {
#if TFC_EW_AVX2
  if (ew::UseAvx2()) return SoftmaxRowAvx2(x, y, n, beta);
#endif
  SoftmaxRowV<ew::v4f>(x, y, n, beta);
}
void LogSoftmaxRow(const float* x, float* y, int64_t n) {
#if TFC_EW_AVX2
  if (ew::UseAvx2()) return LogSoftmaxRowAvx2(x, y, n);
#endif
  LogSoftmaxRowV<ew::v4f>(x, y, n);
}


// ---- quantized ------------------------------------------------------------

struct QuantSoftmax {
  bool active = false;
  TfLiteType in_type = kTfLiteNoType;
  TfLiteType out_type = kTfLiteNoType;
  float in_scale = 0.f;
  float out_scale = 0.f;
  int32_t out_zp = 0;
  float table[256] = {};
  // Every table entry finite, output scale above 2^-22: SoftmaxRowQ's
  // vector path applies.
  bool bounded = false;
  // int16
  int32_t in_multiplier = 0;
  int in_shift = 0;
  std::vector<int16_t> exp_lut, recip_lut;
};

void SoftmaxRowInt16(const QuantSoftmax& q, const int16_t* x, int16_t* y, int64_t n) {
  int32_t m = -32768;
  for (int64_t j = 0; j < n; ++j) m = x[j] > m ? x[j] : m;
  int32_t sum = 0;
  for (int64_t j = 0; j < n; ++j) {
    const int32_t d = int32_t{x[j]} - m;
    const int32_t scaled = MultiplyByQuantizedMultiplier(d, q.in_multiplier, q.in_shift);
    int32_t c = scaled + 32767;
    c = c < -32768 ? -32768 : (c > 32767 ? 32767 : c);
    y[j] = Lut16Lookup(static_cast<int16_t>(c), q.exp_lut.data());
    sum = WrapToInt32(int64_t{sum} + y[j]);
  }
  const int h = CountLeadingZeros32(static_cast<uint32_t>(sum));
  const int64_t shifted = (static_cast<int64_t>(static_cast<uint64_t>(static_cast<uint32_t>(sum)) << (h > 0 ? h - 1 : 0)) + (1 << 13)) >> 14;
  int64_t sym = shifted - ((1 << 15) + (1 << 16));
  sym = sym < -32768 ? -32768 : (sym > 32767 ? 32767 : sym);
  const int16_t recip = Lut16Lookup(static_cast<int16_t>(sym), q.recip_lut.data());
  const int right = 31 - h;
  const int64_t round = right > 0 ? (int64_t{1} << (right - 1)) : 0;
  for (int64_t j = 0; j < n; ++j) {
    const int64_t r = (int64_t{y[j]} * int64_t{recip} + round) >> (right > 0 ? right : 0);
    const int32_t v = WrapToInt32(r);
    y[j] = static_cast<int16_t>(v < 0 ? 0 : (v > 32767 ? 32767 : v));
  }
}

// table[255 - d] = expf(scale * d) with scale = -in_scale * beta.
void BuildExpTable(float in_scale, float beta, float* table) {
  const float scale = -in_scale * beta;
  for (int32_t d = 0; d <= 255; ++d) {
    const float arg = scale * static_cast<float>(d);
    table[255 - d] = std::exp(arg);
  }
}

template <class In>
inline int32_t RowMaxQ(const In* x, int64_t n) {
  int32_t m = std::numeric_limits<In>::min();
  for (int64_t j = 0; j < n; ++j) m = x[j] > m ? int32_t{x[j]} : m;
  return m;
}

// y[0..3] = v, each lane already in Out's range.
template <class Out>
TFC_EW_INLINE void StoreNarrow4(Out* y, ew::v4i v) {
#if defined(__SSE2__)
  const __m128i w = _mm_packs_epi32(reinterpret_cast<__m128i>(v), reinterpret_cast<__m128i>(v));
  if (sizeof(Out) == 2) {
    _mm_storel_epi64(reinterpret_cast<__m128i*>(y), w);
  } else {
    const int32_t b = _mm_cvtsi128_si32(std::is_signed<Out>::value ? _mm_packs_epi16(w, w) : _mm_packus_epi16(w, w));
    std::memcpy(y, &b, 4);
  }
#else
  for (int k = 0; k < 4; ++k) y[k] = static_cast<Out>(v[k]);
#endif
}

template <class In, class Out>
void SoftmaxRowQ(const QuantSoftmax& q, const In* x, Out* y, int64_t n) {
  const int32_t m = RowMaxQ(x, n);
  // e(x) = table[255 - m + x]: x - m in [-255, 0]. (Indexing from q.table itself: a pointer
  // q.table + 255 - m would point outside the table for m < 0.)
  const float* t = q.table;
  const int32_t base = 255 - m;
  float sum = 0.0f;
  for (int64_t j = 0; j < n; ++j) sum += t[base + x[j]];
  const float denom = sum * q.out_scale;
  const float inv = 1.0f / denom;
  constexpr int32_t lo = std::numeric_limits<Out>::min();
  constexpr int32_t hi = std::numeric_limits<Out>::max();
  int64_t j = 0;
  if (q.bounded) {
    // The scalar loop below, 4 values at a time (MobileNet's 1000 classes:
    // the op took 6.2 us, 4.0 now). The table is finite and at most 1, and
    // the row's maximum adds e^0 = 1 to the sum, so p is in [0, 1 / out_scale]
    // (to within rounding) and 1 / out_scale < 2^22: the truncation `whole`
    // is exact and in range and so is p - whole, which makes whole + (frac >=
    // 0.5) round(p); trunc(p + 0.5) is the uint8 form's own rounding.
    const ew::v4f vinv = ew::Splat4(inv);
    const ew::v4i vzp = ew::Splat4i(std::is_same<Out, uint8_t>::value ? 0 : q.out_zp);
    const ew::v4i vlo = ew::Splat4i(lo), vhi = ew::Splat4i(hi);
    for (; j + 4 <= n; j += 4) {
      const ew::v4f p = ew::v4f{t[base + x[j]], t[base + x[j + 1]], t[base + x[j + 2]], t[base + x[j + 3]]} * vinv;
      ew::v4i v;
      if (std::is_same<Out, uint8_t>::value) {
        v = __builtin_convertvector(p + ew::Splat4(0.5f), ew::v4i);
      } else {
        const ew::v4i whole = __builtin_convertvector(p, ew::v4i);
        const ew::v4f frac = p - __builtin_convertvector(whole, ew::v4f);
        v = whole - (frac >= ew::Splat4(0.5f)) + vzp;  // a true comparison is -1
      }
      StoreNarrow4(y + j, ew::Min(ew::Max(v, vlo), vhi));
    }
  }
  for (; j < n; ++j) {
    const float p = t[base + x[j]] * inv;
    int32_t v;
    if (std::is_same<Out, uint8_t>::value) {
      const float shifted = p + 0.5f;
      v = TruncToInt32X86(shifted);
    } else {
      v = static_cast<int32_t>(static_cast<int64_t>(TruncToInt32X86(RoundHalfAway(p))) + q.out_zp);
    }
    y[j] = static_cast<Out>(v < lo ? lo : (v > hi ? hi : v));
  }
}

template <class T>
void LogSoftmaxRowQ(const QuantSoftmax& q, const T* x, T* y, int64_t n) {
  const int32_t m = RowMaxQ(x, n);
  const float* t = q.table;
  const int32_t base = 255 - m;
  float sum = 0.0f;
  for (int64_t j = 0; j < n; ++j) sum += t[base + x[j]];
  const float log_sum = std::log(sum);
  const float ratio = q.in_scale / q.out_scale;
  const float max_term = q.in_scale * static_cast<float>(m);
  const float shifted_sum = max_term + log_sum;
  const float offset = shifted_sum / q.out_scale;
  constexpr int32_t lo = std::numeric_limits<T>::min();
  constexpr int32_t hi = std::numeric_limits<T>::max();
  for (int64_t j = 0; j < n; ++j) {
    const float scaled = ratio * static_cast<float>(x[j]);
    const float lp = scaled - offset;
    const float r = std::nearbyint(lp) + static_cast<float>(q.out_zp);
    const int32_t v = TruncToInt32X86(r);
    y[j] = static_cast<T>(v < lo ? lo : (v > hi ? hi : v));
  }
}

template <bool LOG>
TfLiteStatus PrepareQuantSoftmax(OpContext& ctx, const TfLiteTensor* in, const TfLiteTensor* out,
                                 QuantSoftmax* q) {
  const char* name = LOG ? "LOG_SOFTMAX" : "SOFTMAX";
  q->active = false;
  q->in_type = in->type;
  q->out_type = out->type;
  if (in->type == kTfLiteInt16) {
    if (LOG) {
      return ctx.ErrorStatus(kTfLiteUnresolvedOps, "%s of INT16 inputs is not supported", name);
    }
    TFC_ENSURE_MSG(ctx, out->type == kTfLiteInt16, "SOFTMAX of INT16 inputs produces INT16, not %s",
                   TypeName(out->type));
    TFC_ENSURE_MSG(ctx, in->rank() >= 1 && in->rank() <= 4,
                   "INT16 SOFTMAX takes ranks 1 to 4, got %d", in->rank());
    int32_t in_zp = 0;
    TFC_OK(ReadPerTensorQuant(ctx, in, &q->in_scale, &in_zp));
    TFC_OK(ReadPerTensorQuant(ctx, out, &q->out_scale, &q->out_zp));
    TFC_ENSURE_MSG(ctx, in_zp == 0 && q->out_zp == 0 &&
                            std::fabs(q->out_scale - 1.f / 32768) <= 0.001f / 32768,
                   "INT16 SOFTMAX needs zero points 0 and output scale 1/32768");
    auto* o = ctx.options<fb::SoftmaxOptions>();
    const float beta = o ? o->beta() : 0.0f;
    const float scaled_beta = q->in_scale * beta;
    const double m = static_cast<double>(scaled_beta) / (10.0 / 65535.0);
    TFC_ENSURE_MSG(ctx, m >= 0.0 && m < 1073741824.0, "INT16 SOFTMAX input scale * beta %g is out of range",
                   static_cast<double>(scaled_beta));
    QuantizeMultiplier(m, &q->in_multiplier, &q->in_shift);
    const double range = 65535.0;
    q->exp_lut.assign(kLut16Size, 0);
    q->recip_lut.assign(kLut16Size, 0);
    BuildLut16<double>(10.0 / range, 32767, 2.0 / range, 0, [](double v) { return std::exp(v); },
                       q->exp_lut.data());
    BuildLut16<double>(1.0 / range, -32768, 2.0 / range, 0,
                       [](double v) { return 1.0 / (1.0 + v); }, q->recip_lut.data());
    q->active = true;
    return kTfLiteOk;
  }
  const bool out_ok = out->type == in->type || (!LOG && out->type == kTfLiteInt16);
  TFC_ENSURE_MSG(ctx, out_ok, "%s of %s inputs cannot produce %s outputs", name,
                 TypeName(in->type), TypeName(out->type));
  TFC_ENSURE_MSG(ctx, in->rank() >= 1, "input must have rank >= 1, got a scalar");
  int32_t in_zp = 0;
  TFC_OK(ReadPerTensorQuant(ctx, in, &q->in_scale, &in_zp));
  TFC_OK(ReadPerTensorQuant(ctx, out, &q->out_scale, &q->out_zp));
  float beta = 1.0f;
  if (LOG) {
    TFC_ENSURE_MSG(ctx, q->out_scale == 16.0f / 256,
                   "LOG_SOFTMAX output scale must be 16/256, got %g",
                   static_cast<double>(q->out_scale));
    const int32_t want_zp = in->type == kTfLiteUInt8 ? 255 : 127;
    TFC_ENSURE_MSG(ctx, q->out_zp == want_zp, "LOG_SOFTMAX %s output zero point must be %d, got %d",
                   TypeName(in->type), want_zp, q->out_zp);
  } else {
    auto* o = ctx.options<fb::SoftmaxOptions>();
    beta = o ? o->beta() : 0.0f;
    TFC_ENSURE_MSG(ctx, std::isfinite(beta), "beta %g is not finite", static_cast<double>(beta));
    if (in->type == kTfLiteInt8 && out->type == kTfLiteInt8) {
      TFC_ENSURE_MSG(ctx, q->out_zp == -128 && std::fabs(q->out_scale - 1.f / 256) <= 0.001f / 256,
                     "INT8 SOFTMAX output needs scale 1/256 and zero point -128 (has %g, %d)",
                     static_cast<double>(q->out_scale), q->out_zp);
    }
  }
  BuildExpTable(q->in_scale, beta, q->table);
  q->bounded = q->out_scale > 1.0f / 4194304;
  for (float e : q->table) q->bounded = q->bounded && std::isfinite(e);
  q->active = true;
  return kTfLiteOk;
}

template <bool LOG>
void RunQuantSoftmax(OpContext& ctx, const QuantSoftmax& q, const TfLiteTensor* in,
                     TfLiteTensor* out) {
  const int64_t depth = in->dim(in->rank() - 1);
  if (depth <= 0) return;
  const int64_t rows = in->num_elements() / depth;
  auto body = [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t o = r * depth;
      if (q.in_type == kTfLiteInt16) {
        SoftmaxRowInt16(q, in->data_as<const int16_t>() + o, out->data_as<int16_t>() + o, depth);
      } else if (q.in_type == kTfLiteInt8) {
        const int8_t* x = in->data_as<const int8_t>() + o;
        if (LOG) {
          LogSoftmaxRowQ(q, x, out->data_as<int8_t>() + o, depth);
        } else if (q.out_type == kTfLiteInt8) {
          SoftmaxRowQ(q, x, out->data_as<int8_t>() + o, depth);
        } else {
          SoftmaxRowQ(q, x, out->data_as<int16_t>() + o, depth);
        }
      } else {
        const uint8_t* x = in->data_as<const uint8_t>() + o;
        if (LOG) {
          LogSoftmaxRowQ(q, x, out->data_as<uint8_t>() + o, depth);
        } else if (q.out_type == kTfLiteUInt8) {
          SoftmaxRowQ(q, x, out->data_as<uint8_t>() + o, depth);
        } else {
          SoftmaxRowQ(q, x, out->data_as<int16_t>() + o, depth);
        }
      }
    }
  };
  int64_t min_rows = ew::kParallelMinElements / depth;
  if (min_rows < 1) min_rows = 1;
  ew::ParallelElements(ctx, rows, min_rows, body);
}

template <bool LOG>
class SoftmaxKernel final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override {
    TFC_ENSURE(ctx, ctx.num_inputs() == 1 && ctx.num_outputs() == 1);
    const TfLiteTensor* in = ctx.input(0);
    const TfLiteTensor* out = ctx.output(0);
    TFC_ENSURE(ctx, in != nullptr && out != nullptr);
    quant_.active = false;
    if (IsQuant8Or16(in->type)) {
      TFC_OK(PrepareQuantSoftmax<LOG>(ctx, in, out, &quant_));
      return ctx.ResizeOutput(0, in->dims);
    }
    TFC_ENSURE_MSG(ctx, in->type == kTfLiteFloat32, "%s does not support %s inputs",
                   LOG ? "LOG_SOFTMAX" : "SOFTMAX", TypeName(in->type));
    TFC_ENSURE_TYPE(ctx, out, kTfLiteFloat32);
    TFC_ENSURE_MSG(ctx, in->rank() >= 1, "input must have rank >= 1, got a scalar");
    if (!LOG) {
      auto* o = ctx.options<fb::SoftmaxOptions>();
      beta_ = o ? o->beta() : 0.0f;
    }
    return ctx.ResizeOutput(0, in->dims);
  }

  TfLiteStatus Eval(OpContext& ctx) override {
    const TfLiteTensor* in = ctx.input(0);
    if (quant_.active) {
      RunQuantSoftmax<LOG>(ctx, quant_, in, ctx.output(0));
      return kTfLiteOk;
    }
    const float* x = in->data_as<const float>();
    float* y = ctx.output(0)->data_as<float>();
    const int64_t depth = in->dim(in->rank() - 1);
    if (depth <= 0) return kTfLiteOk;
    const int64_t rows = in->num_elements() / depth;
    const float beta = beta_;
    auto body = [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        if (LOG) {
          LogSoftmaxRow(x + r * depth, y + r * depth, depth);
        } else {
          SoftmaxRow(x + r * depth, y + r * depth, depth, beta);
        }
      }
    };
    int64_t min_rows = ew::kParallelMinElementsHeavy / depth;
    if (min_rows < 1) min_rows = 1;
    ew::ParallelElements(ctx, rows, min_rows, body);
    return kTfLiteOk;
  }

 private:
  float beta_ = 0.0f;
  QuantSoftmax quant_;
};

using Softmax = SoftmaxKernel<false>;
using LogSoftmax = SoftmaxKernel<true>;

}  // namespace

TFC_REGISTER_OP(SOFTMAX, 1, 4, Softmax);
TFC_REGISTER_OP(LOG_SOFTMAX, 1, 2, LogSoftmax);

}  // namespace tfc
