// ABS EXP LOG NEG SQRT RSQRT SQUARE FLOOR CEIL SIN COS ELU ROUND SIGN:
// elementwise unary math.
//
// Types: float32 for all; int32 for ABS NEG SIGN; int64 for NEG. Integer ABS
// and NEG wrap (the most negative value maps to itself). Quantized
// int8/uint8/int16 inputs are rejected (kTfLiteUnresolvedOps).
// ROUND rounds half to even; RSQRT is 1/sqrt(x) (inf at 0, NaN below);
// ELU is x for x >= 0 and e^x - 1 below.
#include <cmath>
#include <cstdint>

#include "kernels/kernel.h"
#include "kernels/util/elementwise.h"

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

template <Un OP>
class UnaryMath final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override {
    TFC_ENSURE(ctx, ctx.num_inputs() == 1 && ctx.num_outputs() == 1);
    const TfLiteTensor* in = ctx.input(0);
    const TfLiteTensor* out = ctx.output(0);
    TFC_ENSURE(ctx, in != nullptr && out != nullptr);
    if (ew::IsQuantizedIntType(in->type)) return ew::RejectQuantized(ctx, in->type);
    TFC_ENSURE_MSG(ctx, SupportsType<OP>(in->type), "%s does not support %s inputs", OpLabel(OP),
                   TypeName(in->type));
    TFC_ENSURE_TYPE(ctx, out, in->type);
    return ctx.ResizeOutput(0, in->dims);
  }

  TfLiteStatus Eval(OpContext& ctx) override {
    const TfLiteTensor* in = ctx.input(0);
    TfLiteTensor* out = ctx.output(0);
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
