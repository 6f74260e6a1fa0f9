// ABS EXP LOG NEG SQRT RSQRT SQUARE FLOOR CEIL SIN COS ELU ROUND SIGN:
// elementwise unary math.
//
// Types: float32 for all; int32 for ABS NEG SIGN; int64 for NEG. Integer ABS
// and NEG wrap (the most negative value maps to itself).
// Quantized, as TensorFlow Lite's builtin kernels compute them (bit-exact):
//   ABS    int8, int16: |q - zp_in| requantized by in_scale / out_scale
//          (int16 without quantization parameters: plain integer abs)
//   EXP    int8 (256-entry table), int16 (513-entry interpolated table)
//   LOG    int8, int16 tables (x <= 0 maps to the output's minimum)
//   SQRT   int8, int16: dequantize, sqrtf, divide by the output scale and
//          truncate; a negative input is an error at Invoke
//   RSQRT  int8: fixed-point inverse square root; int16: table; an input
//          below the zero point is an error at Invoke
//   ELU    int8 table (expm1f below 0)
// ROUND rounds half to even; RSQRT is 1/sqrt(x) (inf at 0, NaN below);
// ELU is x for x >= 0 and e^x - 1 below.
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/util/elementwise.h"
#include "kernels/util/quant_lut.h"

namespace tfc {
namespace {

enum class Un { kAbs, kExp, kLog, kNeg, kSqrt, kRsqrt, kSquare, kFloor, kCeil, kSin, kCos, kElu,
                kRound, kSign };

// Float forms: kVec ops work on v4f lanes, the rest per element.
template <Un OP>
struct FloatFn;
template <>
struct FloatFn<Un::kAbs> {
  static constexpr bool kVec = true;
  template <class V>
  TFC_EW_INLINE V operator()(const V& x) const { return ew::Abs(x); }
};
template <>
struct FloatFn<Un::kExp> {
  static constexpr bool kVec = true;
  template <class V>
  TFC_EW_INLINE V operator()(const V& x) const { return ew::Exp(x); }
};
template <>
struct FloatFn<Un::kNeg> {
  static constexpr bool kVec = true;
  template <class V>
  TFC_EW_INLINE V operator()(const V& x) const { return -x; }
};
template <>
struct FloatFn<Un::kSquare> {
  static constexpr bool kVec = true;
  template <class V>
  TFC_EW_INLINE V operator()(const V& x) const { return x * x; }
};
template <>
struct FloatFn<Un::kRound> {  // half to even; |x| >= 2^23 is already an integer
  static constexpr bool kVec = true;
  template <class V>
  TFC_EW_INLINE V operator()(const V& x) const {
    typedef ew::IntVec<V> VI;
    const V two23 = ew::Splat<V>(8388608.0f);
    const V ax = ew::Abs(x);
    V r = (ax + two23) - two23;
    const VI sign = (VI)x & ew::SplatI<VI>(static_cast<int32_t>(0x80000000u));
    r = (V)((VI)r | sign);
    return ew::Select(ax < two23, r, x);
  }
};
template <>
struct FloatFn<Un::kSign> {
  static constexpr bool kVec = true;
  template <class V>
  TFC_EW_INLINE V operator()(const V& x) const {
    const V one = ew::Splat<V>(1.0f), zero = ew::Splat<V>(0.0f);
    const V r = ew::Select(x > zero, one, ew::Select(x < zero, -one, zero));
    return ew::Select(x != x, x, r);
  }
};
template <>
struct FloatFn<Un::kLog> {
  static constexpr bool kVec = false;
  float operator()(float x) const { return std::log(x); }
};
template <>
struct FloatFn<Un::kSqrt> {
  static constexpr bool kVec = false;
  float operator()(float x) const { return std::sqrt(x); }
};
template <>
struct FloatFn<Un::kRsqrt> {
  static constexpr bool kVec = false;
  float operator()(float x) const { return 1.0f / std::sqrt(x); }
};
template <>
struct FloatFn<Un::kFloor> {
  static constexpr bool kVec = false;
  float operator()(float x) const { return std::floor(x); }
};
template <>
struct FloatFn<Un::kCeil> {
  static constexpr bool kVec = false;
  float operator()(float x) const { return std::ceil(x); }
};
template <>
struct FloatFn<Un::kSin> {
  static constexpr bool kVec = false;
  float operator()(float x) const { return std::sin(x); }
};
template <>
struct FloatFn<Un::kCos> {
  static constexpr bool kVec = false;
  float operator()(float x) const { return std::cos(x); }
};
template <>
struct FloatFn<Un::kElu> {
  static constexpr bool kVec = false;
  float operator()(float x) const { return x < 0.f ? std::expm1(x) : x; }
};

template <Un OP, class T>
inline T IntFn(T x) {
  switch (OP) {
    case Un::kAbs: return x < 0 ? ew::WrapNeg(x) : x;
    case Un::kNeg: return ew::WrapNeg(x);
    case Un::kSign: return static_cast<T>((x > 0) - (x < 0));
    default: return x;
  }
}

const char* OpLabel(Un op) {
  switch (op) {
    case Un::kAbs: return "ABS";
    case Un::kExp: return "EXP";
    case Un::kLog: return "LOG";
    case Un::kNeg: return "NEG";
    case Un::kSqrt: return "SQRT";
    case Un::kRsqrt: return "RSQRT";
    case Un::kSquare: return "SQUARE";
    case Un::kFloor: return "FLOOR";
    case Un::kCeil: return "CEIL";
    case Un::kSin: return "SIN";
    case Un::kCos: return "COS";
    case Un::kElu: return "ELU";
    case Un::kRound: return "ROUND";
    case Un::kSign: return "SIGN";
  }
  return "?";
}

template <Un OP>
bool SupportsType(TfLiteType t) {
  switch (t) {
    case kTfLiteFloat32: return true;
    case kTfLiteInt32: return OP == Un::kAbs || OP == Un::kNeg || OP == Un::kSign;
    case kTfLiteInt64: return OP == Un::kNeg;
    default: return false;
  }
}

// Ops that cost a libm call or a polynomial per element.
constexpr bool IsHeavy(Un op) {
  return op == Un::kExp || op == Un::kLog || op == Un::kSin || op == Un::kCos ||
         op == Un::kElu || op == Un::kSqrt || op == Un::kRsqrt;
}


// ---- quantized --------------------------------------------------------------

enum class QU { kNone, kAbs, kAbsPlain16, kLut8, kLut16, kSqrt, kRsqrt8 };

struct QuantUnary {
  QU mode = QU::kNone;
  TfLiteType type = kTfLiteNoType;
  float in_scale = 0.f, out_scale = 0.f;
  int32_t in_zp = 0, out_zp = 0;
  bool rescale = false;
  int32_t multiplier = 0;
  int shift = 0;
  uint8_t lut8[256] = {};
  std::vector<int16_t> lut16;
};

template <Un OP>
TfLiteStatus PrepareQuantUnary(OpContext& ctx, const TfLiteTensor* in, const TfLiteTensor* out,
                               QuantUnary* q) {
  const TfLiteType t = in->type;
  q->type = t;
  q->mode = QU::kNone;
  bool ok = false;
  switch (OP) {
    case Un::kAbs: ok = t == kTfLiteInt8 || t == kTfLiteInt16; break;
    case Un::kExp: case Un::kLog: case Un::kSqrt: case Un::kRsqrt:
      ok = t == kTfLiteInt8 || t == kTfLiteInt16;
      break;
    case Un::kElu: ok = t == kTfLiteInt8; break;
    default: break;
  }
  if (!ok) {
    return ctx.ErrorStatus(kTfLiteUnresolvedOps, "%s does not support %s inputs", OpLabel(OP),
                           TypeName(t));
  }
  TFC_ENSURE_TYPE(ctx, out, t);
  if (OP == Un::kAbs && t == kTfLiteInt16 && in->quant.empty()) {
    q->mode = QU::kAbsPlain16;
    return kTfLiteOk;
  }
  TFC_OK(ReadPerTensorQuant(ctx, in, &q->in_scale, &q->in_zp));
  TFC_OK(ReadPerTensorQuant(ctx, out, &q->out_scale, &q->out_zp));
  if (t == kTfLiteInt16) {
    TFC_ENSURE_MSG(ctx, q->in_zp == 0 && q->out_zp == 0,
                   "int16 %s needs zero points 0 (input %d, output %d)", OpLabel(OP), q->in_zp,
                   q->out_zp);
  }
  const float in_scale = q->in_scale, out_scale = q->out_scale;
  switch (OP) {
    case Un::kAbs: {
      q->mode = QU::kAbs;
      q->rescale = in_scale != out_scale;
      if (q->rescale) {
        const float ratio = in_scale / out_scale;
        TFC_ENSURE_MSG(ctx, ratio < 1073741824.0f, "input/output scale ratio %g is too large",
                       static_cast<double>(ratio));
        QuantizeMultiplier(static_cast<double>(ratio), &q->multiplier, &q->shift);
      }
      return kTfLiteOk;
    }
    case Un::kSqrt:
      q->mode = QU::kSqrt;
      return kTfLiteOk;
    case Un::kRsqrt:
      if (t == kTfLiteInt8) {
        q->mode = QU::kRsqrt8;
        const float root = std::sqrt(in_scale);
        const float prod = root * out_scale;
        const double m = 1. / static_cast<double>(prod);
        TFC_ENSURE_MSG(ctx, m < 1073741824.0, "RSQRT multiplier %g is too large", m);
        QuantizeMultiplier(m, &q->multiplier, &q->shift);
        TFC_ENSURE_MSG(ctx, q->shift - 20 >= -31, "RSQRT multiplier %g is too small", m);
        return kTfLiteOk;
      }
      break;
    default:
      break;
  }
  // Tables.
  const float out_min_value =
      static_cast<float>((t == kTfLiteInt8 ? -128 : -32768) - q->out_zp) * out_scale;
  const float rsqrt_zero_value = 32767.0f * out_scale;
  auto fn = [&](float x) -> float {
    switch (OP) {
      case Un::kExp: return std::exp(x);
      case Un::kLog: return x <= 0.0f ? out_min_value : std::log(x);
      case Un::kRsqrt: return x <= 0.0f ? rsqrt_zero_value : 1.0f / std::sqrt(x);
      case Un::kElu: return x < 0.0f ? std::expm1(x) : x;
      default: return x;
    }
  };
  if (t == kTfLiteInt8) {
    q->mode = QU::kLut8;
    BuildLut8<int8_t>(in_scale, q->in_zp, out_scale, q->out_zp, fn, q->lut8);
  } else {
    q->mode = QU::kLut16;
    q->lut16.assign(kLut16Size, 0);
    BuildLut16<float>(in_scale, q->in_zp, out_scale, q->out_zp, fn, q->lut16.data());
  }
  return kTfLiteOk;
}

template <class T>
void AbsQuantRun(const QuantUnary& q, const T* x, T* y, int64_t n) {
  constexpr int32_t lo = std::numeric_limits<T>::min(), hi = std::numeric_limits<T>::max();
  for (int64_t i = 0; i < n; ++i) {
    int32_t v = int32_t{x[i]} - q.in_zp;
    v = v < 0 ? -v : v;
    int32_t o = q.rescale ? MultiplyByQuantizedMultiplier(v, q.multiplier, q.shift) : v;
    o = WrapToInt32(int64_t{o} + q.out_zp);
    y[i] = static_cast<T>(o < lo ? lo : (o > hi ? hi : o));
  }
}

// Returns false on a negative input.
template <class T>
bool SqrtQuantRun(const QuantUnary& q, const T* x, T* y, int64_t n) {
  constexpr int32_t lo = std::numeric_limits<T>::min(), hi = std::numeric_limits<T>::max();
  for (int64_t i = 0; i < n; ++i) {
    const float d = q.in_scale * static_cast<float>(int32_t{x[i]} - q.in_zp);
    if (!(d >= 0.0f)) return false;
    const float r = std::sqrt(d);
    const float scaled = r / q.out_scale;
    const int64_t o = int64_t{TruncToInt32X86(scaled)} + q.out_zp;
    y[i] = static_cast<T>(o < lo ? lo : (o > hi ? hi : o));
  }
  return true;
}

bool Rsqrt8Run(const QuantUnary& q, const int8_t* x, int8_t* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    if (x[i] < q.in_zp) return false;
  }
  constexpr int kShift = 20;
  for (int64_t i = 0; i < n; ++i) {
    const int32_t v = int32_t{x[i]} - q.in_zp;
    if (v == 0) {
      y[i] = 127;
      continue;
    }
    int32_t m = 0;
    int s = 0;
    InvSqrtMultiplierExp(v, &m, &s);
    const int32_t scaled = MultiplyByQuantizedMultiplier(1, m, s + kShift);
    const int64_t o = int64_t{MultiplyByQuantizedMultiplier(scaled, q.multiplier, q.shift - kShift)} + q.out_zp;
    y[i] = static_cast<int8_t>(o < -128 ? -128 : (o > 127 ? 127 : o));
  }
  return true;
}

template <Un OP>
TfLiteStatus RunQuantUnary(OpContext& ctx, const QuantUnary& q, const TfLiteTensor* in,
                           TfLiteTensor* out) {
  const int64_t n = in->num_elements();
  switch (q.mode) {
    case QU::kAbsPlain16: {
      const int16_t* x = in->data_as<const int16_t>();
      int16_t* y = out->data_as<int16_t>();
      for (int64_t i = 0; i < n; ++i) y[i] = static_cast<int16_t>(x[i] < 0 ? -int32_t{x[i]} : x[i]);
      return kTfLiteOk;
    }
    case QU::kAbs:
      if (q.type == kTfLiteInt8) {
        AbsQuantRun(q, in->data_as<const int8_t>(), out->data_as<int8_t>(), n);
      } else {
        AbsQuantRun(q, in->data_as<const int16_t>(), out->data_as<int16_t>(), n);
      }
      return kTfLiteOk;
    case QU::kLut8:
      ApplyLut8(in->data_as<const int8_t>(), out->data_as<int8_t>(), n, q.lut8);
      return kTfLiteOk;
    case QU::kLut16: {
      const int16_t* x = in->data_as<const int16_t>();
      int16_t* y = out->data_as<int16_t>();
      if (OP == Un::kRsqrt) {
        for (int64_t i = 0; i < n; ++i) {
          TFC_ENSURE_MSG(ctx, x[i] >= q.in_zp, "RSQRT is only defined for positive values");
        }
      }
      for (int64_t i = 0; i < n; ++i) y[i] = Lut16Lookup(x[i], q.lut16.data());
      return kTfLiteOk;
    }
    case QU::kSqrt: {
      const bool ok = q.type == kTfLiteInt8
                          ? SqrtQuantRun(q, in->data_as<const int8_t>(), out->data_as<int8_t>(), n)
                          : SqrtQuantRun(q, in->data_as<const int16_t>(), out->data_as<int16_t>(), n);
      TFC_ENSURE_MSG(ctx, ok, "SQRT is only defined for non-negative values");
      return kTfLiteOk;
    }
    case QU::kRsqrt8:
      TFC_ENSURE_MSG(ctx, Rsqrt8Run(q, in->data_as<const int8_t>(), out->data_as<int8_t>(), n),
                     "RSQRT is only defined for positive values");
      return kTfLiteOk;
    case QU::kNone:
      break;
  }
  return ctx.Error("quantized kernel not prepared");
}

template <Un OP>
class UnaryMath final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override {
    TFC_ENSURE(ctx, ctx.num_inputs() == 1 && ctx.num_outputs() == 1);
    const TfLiteTensor* in = ctx.input(0);
    const TfLiteTensor* out = ctx.output(0);
    TFC_ENSURE(ctx, in != nullptr && out != nullptr);
    quant_.mode = QU::kNone;
    if (IsQuant8Or16(in->type)) {
      TFC_OK(PrepareQuantUnary<OP>(ctx, in, out, &quant_));
      return ctx.ResizeOutput(0, in->dims);
    }
    TFC_ENSURE_MSG(ctx, SupportsType<OP>(in->type), "%s does not support %s inputs", OpLabel(OP),
                   TypeName(in->type));
    TFC_ENSURE_TYPE(ctx, out, in->type);
    return ctx.ResizeOutput(0, in->dims);
  }

  TfLiteStatus Eval(OpContext& ctx) override {
    const TfLiteTensor* in = ctx.input(0);
    TfLiteTensor* out = ctx.output(0);
    if (quant_.mode != QU::kNone) return RunQuantUnary<OP>(ctx, quant_, in, out);
    const int64_t n = in->num_elements();
    switch (in->type) {
      case kTfLiteFloat32: {
        const float* x = in->data_as<const float>();
        float* y = out->data_as<float>();
        auto body = [&](int64_t begin, int64_t end) {
          const FloatFn<OP> f{};
          if constexpr (FloatFn<OP>::kVec) {
            ew::MapFloat(x + begin, y + begin, end - begin, f);
          } else {
            const float* __restrict xs = x;
            float* __restrict ys = y;
            for (int64_t i = begin; i < end; ++i) ys[i] = f(xs[i]);
          }
        };
        ew::ParallelElements(ctx, n, IsHeavy(OP) ? ew::kParallelMinElementsHeavy
                                                 : ew::kParallelMinElements, body);
        return kTfLiteOk;
      }
      case kTfLiteInt32:
        RunInt<int32_t>(in, out, n);
        return kTfLiteOk;
      case kTfLiteInt64:
        RunInt<int64_t>(in, out, n);
        return kTfLiteOk;
      default:
        return ctx.Error("unsupported type %s", TypeName(in->type));
    }
  }

 private:
  QuantUnary quant_;

  template <class T>
  static void RunInt(const TfLiteTensor* in, TfLiteTensor* out, int64_t n) {
    const T* __restrict x = in->data_as<const T>();
    T* __restrict y = out->data_as<T>();
    for (int64_t i = 0; i < n; ++i) y[i] = IntFn<OP, T>(x[i]);
  }
};

using Abs = UnaryMath<Un::kAbs>;
using Exp = UnaryMath<Un::kExp>;
using Log = UnaryMath<Un::kLog>;
using Neg = UnaryMath<Un::kNeg>;
using Sqrt = UnaryMath<Un::kSqrt>;
using Rsqrt = UnaryMath<Un::kRsqrt>;
using Square = UnaryMath<Un::kSquare>;
using Floor = UnaryMath<Un::kFloor>;
using Ceil = UnaryMath<Un::kCeil>;
using Sin = UnaryMath<Un::kSin>;
using Cos = UnaryMath<Un::kCos>;
using Elu = UnaryMath<Un::kElu>;
using Round = UnaryMath<Un::kRound>;
using Sign = UnaryMath<Un::kSign>;

}  // namespace

TFC_REGISTER_OP(ABS, 1, 5, Abs);
TFC_REGISTER_OP(EXP, 1, 2, Exp);
TFC_REGISTER_OP(LOG, 1, 2, Log);
TFC_REGISTER_OP(NEG, 1, 1, Neg);
TFC_REGISTER_OP(SQRT, 1, 2, Sqrt);
TFC_REGISTER_OP(RSQRT, 1, 3, Rsqrt);
TFC_REGISTER_OP(SQUARE, 1, 1, Square);
TFC_REGISTER_OP(FLOOR, 1, 1, Floor);
TFC_REGISTER_OP(CEIL, 1, 1, Ceil);
TFC_REGISTER_OP(SIN, 1, 2, Sin);
TFC_REGISTER_OP(COS, 1, 2, Cos);
TFC_REGISTER_OP(ELU, 1, 1, Elu);
TFC_REGISTER_OP(ROUND, 1, 1, Round);
TFC_REGISTER_OP(SIGN, 1, 2, Sign);

}  // namespace tfc
