// ADD SUB MUL DIV MAXIMUM MINIMUM SQUARED_DIFFERENCE POW FLOOR_DIV FLOOR_MOD:
// elementwise binary arithmetic with NumPy broadcasting.
//
// Types: float32 for all; int32 for all; int64 for ADD SUB MUL MAXIMUM MINIMUM
// FLOOR_MOD. Quantized (per-tensor): ADD SUB MUL MAXIMUM MINIMUM on
// int8/uint8/int16, SQUARED_DIFFERENCE on int8, DIV on int8/uint8 (see
// QuantBinary below); other quantized combinations are rejected
// (kTfLiteUnresolvedOps).
// Integer arithmetic wraps (two's complement). Integer division by zero (and
// float FLOOR_DIV by zero) and an int32 POW with a negative exponent fail at
// Eval. The fused activation of ADD/SUB/MUL/DIV clamps float and integer
// results alike; with NONE, float ADD/SUB/MUL/DIV results are still clamped to
// the finite float range (an overflow gives +-FLT_MAX, not inf), as in the
// official builtin and reference kernels. NaN stays NaN.
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/util/activation.h"
#include "kernels/util/broadcast.h"
#include "kernels/util/elementwise.h"
#include "kernels/util/quant_binary.h"
#include "kernels/util/quant_params.h"

namespace tfc {
namespace {

enum class Bin { kAdd, kSub, kMul, kDiv, kMax, kMin, kSqDiff, kPow, kFloorDiv, kFloorMod };

// ---- the operations ----
// Float ops with a vector form (kVec) go through the 4-lane loop.

template <Bin OP>
struct FloatOp;
template <>
struct FloatOp<Bin::kAdd> {
  static constexpr bool kVec = true;
  template <class V>
  TFC_EW_INLINE V operator()(const V& a, const V& b) const { return a + b; }
};
template <>
struct FloatOp<Bin::kSub> {
  static constexpr bool kVec = true;
  template <class V>
  TFC_EW_INLINE V operator()(const V& a, const V& b) const { return a - b; }
};
template <>
struct FloatOp<Bin::kMul> {
  static constexpr bool kVec = true;
  template <class V>
  TFC_EW_INLINE V operator()(const V& a, const V& b) const { return a * b; }
};
template <>
struct FloatOp<Bin::kDiv> {
  static constexpr bool kVec = true;
  template <class V>
  TFC_EW_INLINE V operator()(const V& a, const V& b) const { return a / b; }
};
template <>
struct FloatOp<Bin::kMax> {
  static constexpr bool kVec = true;
  template <class V>
  TFC_EW_INLINE V operator()(const V& a, const V& b) const { return ew::Max(a, b); }
};
template <>
struct FloatOp<Bin::kMin> {
  static constexpr bool kVec = true;
  template <class V>
  TFC_EW_INLINE V operator()(const V& a, const V& b) const { return ew::Min(a, b); }
};
template <>
struct FloatOp<Bin::kSqDiff> {
  static constexpr bool kVec = true;
  template <class V>
  TFC_EW_INLINE V operator()(const V& a, const V& b) const {
    V d = a - b;
    return d * d;
  }
};
template <>
struct FloatOp<Bin::kPow> {
  static constexpr bool kVec = false;
  float operator()(float a, float b) const { return std::pow(a, b); }
};
template <>
struct FloatOp<Bin::kFloorDiv> {
  static constexpr bool kVec = false;
  float operator()(float a, float b) const { return std::floor(a / b); }
};
template <>
struct FloatOp<Bin::kFloorMod> {
  static constexpr bool kVec = false;
  float operator()(float a, float b) const {
    float r = std::fmod(a, b);
    if (r != 0.f && ((b < 0.f) != (r < 0.f))) r += b;
    return r;
  }
};

// Integer ops; divisors were checked non-zero and POW exponents non-negative
// before these run.
template <Bin OP, class T>
struct IntOp;
template <class T>
struct IntOp<Bin::kAdd, T> {
  T operator()(T a, T b) const { return ew::WrapAdd(a, b); }
};
template <class T>
struct IntOp<Bin::kSub, T> {
  T operator()(T a, T b) const { return ew::WrapSub(a, b); }
};
template <class T>
struct IntOp<Bin::kMul, T> {
  T operator()(T a, T b) const { return ew::WrapMul(a, b); }
};
template <class T>
struct IntOp<Bin::kDiv, T> {  // truncates toward zero; MIN / -1 saturates to MAX
  T operator()(T a, T b) const {
    if (b == -1) return a == std::numeric_limits<T>::min() ? std::numeric_limits<T>::max() : static_cast<T>(-a);
    return static_cast<T>(a / b);
  }
};
template <class T>
struct IntOp<Bin::kMax, T> {
  T operator()(T a, T b) const { return a > b ? a : b; }
};
template <class T>
struct IntOp<Bin::kMin, T> {
  T operator()(T a, T b) const { return a < b ? a : b; }
};
template <class T>
struct IntOp<Bin::kSqDiff, T> {
  T operator()(T a, T b) const {
    T d = ew::WrapSub(a, b);
    return ew::WrapMul(d, d);
  }
};
// Exact when a^b fits in T; otherwise T's minimum (what the official kernel
// gives on x86, where it converts a double result out of range).
template <class T>
struct IntOp<Bin::kPow, T> {
  T operator()(T a, T b) const {
    T result = 1;
    T base = a;
    while (b > 0) {
      if ((b & 1) && __builtin_mul_overflow(result, base, &result))
        return std::numeric_limits<T>::min();
      b = static_cast<T>(b >> 1);
      if (b && __builtin_mul_overflow(base, base, &base)) return std::numeric_limits<T>::min();
    }
    return result;
  }
};
template <class T>
struct IntOp<Bin::kFloorDiv, T> {
  T operator()(T a, T b) const {
    if (b == -1) return ew::WrapNeg(a);
    T q = static_cast<T>(a / b);
    if (a % b != 0 && ((a < 0) != (b < 0))) --q;
    return q;
  }
};
template <class T>
struct IntOp<Bin::kFloorMod, T> {
  T operator()(T a, T b) const {
    if (b == -1) return 0;
    T r = static_cast<T>(a % b);
    if (r != 0 && ((b < 0) != (r < 0))) r = static_cast<T>(r + b);
    return r;
  }
};

// Fused activation applied after the op (NaN stays NaN).
template <class F, class T, bool CLAMP>
struct Clamped {
  F f;
  T lo, hi;
  static constexpr bool kVec = std::is_same<T, float>::value && F::kVec;
  TFC_EW_INLINE T operator()(T a, T b) const {
    T r = f(a, b);
    return CLAMP ? ew::ClampKeepNaN(r, lo, hi) : r;
  }
  template <class V, class = typename std::enable_if<!std::is_arithmetic<V>::value>::type>
  TFC_EW_INLINE V operator()(const V& a, const V& b) const {
    V r = f(a, b);
    return CLAMP ? ew::ClampKeepNaN(r, ew::Splat<V>(lo), ew::Splat<V>(hi)) : r;
  }
};
template <Bin OP, class T>
struct IntOpVec : IntOp<OP, T> {
  static constexpr bool kVec = false;
};

// ---- one row: sa/sb are the inputs' element steps (0 or 1) ----

template <class V, class F>
TFC_EW_INLINE void RowVecV(const float* __restrict a, int64_t sa, const float* __restrict b,
                           int64_t sb, float* __restrict o, int64_t n, const F& f) {
  constexpr int L = ew::Lanes<V>();
  int64_t i = 0;
  if (sa && sb) {
    for (; i + 2 * L <= n; i += 2 * L) {
      ew::Store<V>(o + i, f(ew::Load<V>(a + i), ew::Load<V>(b + i)));
      ew::Store<V>(o + i + L, f(ew::Load<V>(a + i + L), ew::Load<V>(b + i + L)));
    }
    for (; i + L <= n; i += L) ew::Store<V>(o + i, f(ew::Load<V>(a + i), ew::Load<V>(b + i)));
    for (; i < n; ++i) o[i] = f(a[i], b[i]);
  } else if (sa) {
    const float y = b[0];
    const V vy = ew::Splat<V>(y);
    for (; i + 2 * L <= n; i += 2 * L) {
      ew::Store<V>(o + i, f(ew::Load<V>(a + i), vy));
      ew::Store<V>(o + i + L, f(ew::Load<V>(a + i + L), vy));
    }
    for (; i + L <= n; i += L) ew::Store<V>(o + i, f(ew::Load<V>(a + i), vy));
    for (; i < n; ++i) o[i] = f(a[i], y);
  } else if (sb) {
    const float x = a[0];
    const V vx = ew::Splat<V>(x);
    for (; i + 2 * L <= n; i += 2 * L) {
      ew::Store<V>(o + i, f(vx, ew::Load<V>(b + i)));
      ew::Store<V>(o + i + L, f(vx, ew::Load<V>(b + i + L)));
    }
    for (; i + L <= n; i += L) ew::Store<V>(o + i, f(vx, ew::Load<V>(b + i)));
    for (; i < n; ++i) o[i] = f(x, b[i]);
  } else {
    const float v = f(a[0], b[0]);
    for (; i < n; ++i) o[i] = v;
  }
}

#if TFC_EW_AVX2
template <class F>
TFC_EW_TARGET_AVX2 void RowVecAvx2(const float* a, int64_t sa, const float* b, int64_t sb,
                                   float* o, int64_t n, const F& f) {
  RowVecV<ew::v8f>(a, sa, b, sb, o, n, f);
}
#endif

template <class F>
inline void RowVec(const float* a, int64_t sa, const float* b, int64_t sb, float* o, int64_t n,
                   const F& f) {
#if TFC_EW_AVX2
  // Short rows stay on the 4-lane path (no gain from 8 lanes there).
  if (n >= 16 && ew::UseAvx2()) return RowVecAvx2(a, sa, b, sb, o, n, f);
#endif
  RowVecV<ew::v4f>(a, sa, b, sb, o, n, f);
}

template <class T, class F>
inline void RowScalar(const T* __restrict a, int64_t sa, const T* __restrict b, int64_t sb,
                      T* __restrict o, int64_t n, const F& f) {
  if (sa && sb) {
    for (int64_t i = 0; i < n; ++i) o[i] = f(a[i], b[i]);
  } else if (sa) {
    const T y = b[0];
    for (int64_t i = 0; i < n; ++i) o[i] = f(a[i], y);
  } else if (sb) {
    const T x = a[0];
    for (int64_t i = 0; i < n; ++i) o[i] = f(x, b[i]);
  } else {
    const T v = f(a[0], b[0]);
    for (int64_t i = 0; i < n; ++i) o[i] = v;
  }
}

const char* OpLabel(Bin op) {
  switch (op) {
    case Bin::kAdd: return "ADD";
    case Bin::kSub: return "SUB";
    case Bin::kMul: return "MUL";
    case Bin::kDiv: return "DIV";
    case Bin::kMax: return "MAXIMUM";
    case Bin::kMin: return "MINIMUM";
    case Bin::kSqDiff: return "SQUARED_DIFFERENCE";
    case Bin::kPow: return "POW";
    case Bin::kFloorDiv: return "FLOOR_DIV";
    case Bin::kFloorMod: return "FLOOR_MOD";
  }
  return "?";
}

template <Bin OP>
bool SupportsType(TfLiteType t) {
  if (t == kTfLiteFloat32 || t == kTfLiteInt32) return true;
  if (t == kTfLiteInt64)
    return OP == Bin::kAdd || OP == Bin::kSub || OP == Bin::kMul || OP == Bin::kMax ||
           OP == Bin::kMin || OP == Bin::kFloorMod;
  return false;
}

template <Bin OP>
fb::ActivationFunctionType FusedActivation(const OpContext& ctx) {
  switch (OP) {
    case Bin::kAdd: {
      auto* o = ctx.options<fb::AddOptions>();
      return o ? o->fused_activation_function() : fb::ActivationFunctionType_NONE;
    }
    case Bin::kSub: {
      auto* o = ctx.options<fb::SubOptions>();
      return o ? o->fused_activation_function() : fb::ActivationFunctionType_NONE;
    }
    case Bin::kMul: {
      auto* o = ctx.options<fb::MulOptions>();
      return o ? o->fused_activation_function() : fb::ActivationFunctionType_NONE;
    }
    case Bin::kDiv: {
      auto* o = ctx.options<fb::DivOptions>();
      return o ? o->fused_activation_function() : fb::ActivationFunctionType_NONE;
    }
    default:
      return fb::ActivationFunctionType_NONE;
  }
}

template <Bin OP>
class BinaryArithmetic final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override {
    TFC_ENSURE(ctx, ctx.num_inputs() == 2 && ctx.num_outputs() == 1);
    const TfLiteTensor* a = ctx.input(0);
    const TfLiteTensor* b = ctx.input(1);
    const TfLiteTensor* out = ctx.output(0);
    TFC_ENSURE(ctx, a != nullptr && b != nullptr && out != nullptr);
    quant_ = ew::IsQuantizedIntType(a->type);
    if (quant_) TFC_OK(PrepareQuant(ctx, a, b, out));
    same_shape_ = SameExtendedShape(a->dims, b->dims);
    fivefold_ = qbin::FiveFold();
    if (quant_ && !same_shape_) fivefold_.Init(a->dims, b->dims);
    if (!quant_) TFC_ENSURE_MSG(ctx, SupportsType<OP>(a->type), "%s does not support %s inputs", OpLabel(OP),
                   TypeName(a->type));
    TFC_ENSURE_TYPE(ctx, b, a->type);
    TFC_ENSURE_TYPE(ctx, out, a->type);

    bool act_ok = true;
    range_ = ActivationRange(FusedActivation<OP>(ctx), &act_ok);
    TFC_ENSURE_MSG(ctx, act_ok, "unsupported fused activation %d",
                   static_cast<int>(FusedActivation<OP>(ctx)));
    clamp_ = FusedActivation<OP>(ctx) != fb::ActivationFunctionType_NONE;
    if (OP == Bin::kAdd || OP == Bin::kSub || OP == Bin::kMul || OP == Bin::kDiv) {
      // Float results are always clamped to the finite range.
      float_clamp_ = true;
      float_range_.lo = ew::Max(range_.lo, std::numeric_limits<float>::lowest());
      float_range_.hi = ew::Min(range_.hi, std::numeric_limits<float>::max());
    } else {
      float_clamp_ = clamp_;
      float_range_ = range_;
    }

    std::vector<int32_t> out_dims;
    char sa[96], sb[96];
    TFC_ENSURE_MSG(ctx, BroadcastShapes(a->dims, b->dims, &out_dims),
                   "shapes %s and %s are not broadcastable", ShapeString(a->dims, sa, sizeof sa),
                   ShapeString(b->dims, sb, sizeof sb));
    int64_t n = 0;
    TFC_ENSURE_MSG(ctx, ew::CheckedNumElements(out_dims, &n), "bad output shape %s",
                   ShapeString(out_dims, sa, sizeof sa));
    TFC_ENSURE_MSG(ctx, plan_.Init({&a->dims, &b->dims}, out_dims),
                   "broadcasting %s with %s needs more than %d dimensions",
                   ShapeString(a->dims, sa, sizeof sa), ShapeString(b->dims, sb, sizeof sb),
                   kMaxBroadcastDims);
    PlanTiling();
    return ctx.ResizeOutput(0, out_dims);
  }

  TfLiteStatus Eval(OpContext& ctx) override {
    const TfLiteTensor* a = ctx.input(0);
    const TfLiteTensor* b = ctx.input(1);
    TfLiteTensor* out = ctx.output(0);
    if (plan_.size == 0) return kTfLiteOk;
    if (quant_) return EvalQuant(ctx, a, b, out);
    switch (a->type) {
      case kTfLiteFloat32:
        if (OP == Bin::kFloorDiv && HasZero<float>(b))
          return ctx.Error("Division by 0");
        return float_clamp_ ? RunFloat<true>(ctx, a, b, out) : RunFloat<false>(ctx, a, b, out);
      case kTfLiteInt32:
        return RunInt<int32_t>(ctx, a, b, out);
      case kTfLiteInt64:
        return RunInt<int64_t>(ctx, a, b, out);
      default:
        return ctx.Error("unsupported type %s", TypeName(a->type));
    }
  }

 private:
  // Equal after prepending 1s to the shorter shape.
  static bool SameExtendedShape(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
    const size_t r = std::max(a.size(), b.size());
    for (size_t i = 0; i < r; ++i) {
      const int32_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
      const int32_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
      if (da != db) return false;
    }
    return true;
  }

  TfLiteStatus PrepareQuant(OpContext& ctx, const TfLiteTensor* a, const TfLiteTensor* b,
                            const TfLiteTensor* out) {
    const TfLiteType t = a->type;
    bool ok = false;
    switch (OP) {
      case Bin::kAdd: case Bin::kSub: case Bin::kMul: case Bin::kMax: case Bin::kMin:
        ok = true;
        break;
      case Bin::kSqDiff:
        ok = t == kTfLiteInt8;
        break;
      case Bin::kDiv:
        ok = t == kTfLiteUInt8 || t == kTfLiteInt8;
        break;
      default:
        break;
    }
    if (!ok)
      return ctx.ErrorStatus(kTfLiteUnresolvedOps, "%s does not support quantized %s inputs",
                             OpLabel(OP), TypeName(t));
    TFC_ENSURE_TYPE(ctx, b, t);
    TFC_ENSURE_TYPE(ctx, out, t);
    if (OP == Bin::kMax || OP == Bin::kMin) return kTfLiteOk;  // compares raw values
    float s1, s2, so;
    int32_t z1, z2, zo;
    TFC_OK(qp::PerTensor(ctx, a, &s1, &z1));
    TFC_OK(qp::PerTensor(ctx, b, &s2, &z2));
    TFC_OK(qp::PerTensor(ctx, out, &so, &zo));
    bool act_ok = true;
    const FloatRange r = ActivationRange(FusedActivation<OP>(ctx), &act_ok);
    TFC_ENSURE_MSG(ctx, act_ok, "unsupported fused activation %d",
                   static_cast<int>(FusedActivation<OP>(ctx)));
    qp::ActivationBounds(r, t, so, zo, &qparams_.act_min, &qparams_.act_max);
    qbin::Kind kind = qbin::Kind::kAdd;
    switch (OP) {
      case Bin::kAdd: kind = qbin::Kind::kAdd; break;
      case Bin::kSub: kind = qbin::Kind::kSub; break;
      case Bin::kMul: kind = qbin::Kind::kMul; break;
      case Bin::kSqDiff: kind = qbin::Kind::kSqDiff; break;
      case Bin::kDiv: kind = qbin::Kind::kDiv; break;
      default: break;
    }
    bool pot_option = true;
    if (OP == Bin::kAdd) {
      auto* o = ctx.options<fb::AddOptions>();
      pot_option = o ? o->pot_scale_int16() : true;
    } else if (OP == Bin::kSub) {
      auto* o = ctx.options<fb::SubOptions>();
      pot_option = o ? o->pot_scale_int16() : true;
    }
    const char* err = qbin::Init(kind, t, s1, z1, s2, z2, so, zo, pot_option, &qparams_);
    if (err) return ctx.Error("%s", err);
    // 8-bit ADD: the XNNPACK delegate's arithmetic where the official runtime applies it (as the
    // convolutions' float output stage, kernels/util/qgemm.h)
    if (OP == Bin::kAdd && t != kTfLiteInt16 && !ctx.fixed_point_requantization())
      qbin::InitOneStep(s1, s2, so, &qparams_);
    return kTfLiteOk;
  }

  TfLiteStatus EvalQuant(OpContext& ctx, const TfLiteTensor* a, const TfLiteTensor* b,
                         TfLiteTensor* out) {
    switch (a->type) {
      case kTfLiteInt8: return RunQuant<int8_t>(ctx, a, b, out);
      case kTfLiteUInt8: return RunQuant<uint8_t>(ctx, a, b, out);
      case kTfLiteInt16: return RunQuant<int16_t>(ctx, a, b, out);
      default: return ctx.Error("unsupported type %s", TypeName(a->type));
    }
  }

  template <class T>
  TfLiteStatus RunQuant(OpContext& ctx, const TfLiteTensor* a, const TfLiteTensor* b,
                        TfLiteTensor* out) {
    const T* pa = a->data_as<const T>();
    const T* pb = b->data_as<const T>();
    T* po = out->data_as<T>();
    if (OP == Bin::kMax || OP == Bin::kMin) {
      Clamped<IntOpVec<OP, T>, T, false> f{IntOpVec<OP, T>(), T(0), T(0)};
      return Run<T>(ctx, a, b, out, f);
    }
    if (OP == Bin::kDiv) {
      const int64_t nb = b->num_elements();
      for (int64_t i = 0; i < nb; ++i)
        if (static_cast<int32_t>(pb[i]) == qparams_.zp2) return ctx.Error("Division by 0");
    }
    const qbin::Params& p = qparams_;
    if (same_shape_ && OP != Bin::kSub) {
      // Same shapes: the official optimized kernel's elementwise loop, split
      // from 8K elements on (about a cycle each), in whole blocks of 16: only
      // the last part has the tail that it computes the reference way.
      const int64_t n = plan_.size;
      ew::ParallelElements(ctx, (n + 15) / 16, int64_t{1} << 8, [&](int64_t b, int64_t e) {
        qbin::Elementwise(p, pa + 16 * b, pb + 16 * b, po + 16 * b, std::min(n, 16 * e) - 16 * b);
      });
      return kTfLiteOk;
    }
    if (OP == Bin::kAdd && sizeof(T) == 1 && !fivefold_.generic) {
      qbin::AddFiveFold(p, fivefold_, pa, pb, po);
      return kTfLiteOk;
    }
    const int64_t sa = plan_.inner_stride(0);
    const int64_t sb = plan_.inner_stride(1);
    ForEachRow(plan_, 0, plan_.size, [&](int64_t o, const int64_t* in, int64_t n) {
      qbin::Row(p, pa + in[0], sa, pb + in[1], sb, po + o, n);
    });
    return kTfLiteOk;
  }

  template <class T>
  static bool HasZero(const TfLiteTensor* t) {
    const T* p = t->data_as<T>();
    const int64_t n = t->num_elements();
    bool zero = false;
    for (int64_t i = 0; i < n; ++i) zero |= (p[i] == T(0));
    return zero;
  }
  template <class T>
  static bool HasNegative(const TfLiteTensor* t) {
    const T* p = t->data_as<T>();
    const int64_t n = t->num_elements();
    bool neg = false;
    for (int64_t i = 0; i < n; ++i) neg |= (p[i] < T(0));
    return neg;
  }

  template <class T, class F>
  TfLiteStatus Run(OpContext& ctx, const TfLiteTensor* a, const TfLiteTensor* b, TfLiteTensor* out,
                   const F& f) {
    const T* pa = a->data_as<const T>();
    const T* pb = b->data_as<const T>();
    T* po = out->data_as<T>();
    const int64_t sa = plan_.inner_stride(0);
    const int64_t sb = plan_.inner_stride(1);
    const BroadcastPlan<2>& plan = plan_;
    auto body = [&](int64_t begin, int64_t end) {
      ForEachRow(plan, begin, end, [&](int64_t o, const int64_t* in, int64_t n) {
        if constexpr (F::kVec) {
          RowVec(pa + in[0], sa, pb + in[1], sb, po + o, n, f);
        } else {
          RowScalar<T>(pa + in[0], sa, pb + in[1], sb, po + o, n, f);
        }
      });
    };
    if constexpr (F::kVec) {
      if (tiled_ > 0) {
        // Short broadcast rows ([N,H,W,3] + [3]): one input is contiguous
        // over the last two dims, the other repeats a row of `row` elements;
        // that row is tiled to kTile-ish elements so each inner loop is long.
        const BroadcastPlan<2>& blocks = tile_plan_;
        const int64_t row = tile_row_, block = tile_block_, tile_len = tile_len_;
        const int tiled = tiled_;
        auto tiled_body = [&](int64_t begin, int64_t end) {
          ForEachRow(blocks, begin, end, [&](int64_t o, const int64_t* in, int64_t n) {
            T tile[kMaxTile];
            const T* src = tiled == 1 ? pb + in[1] : pa + in[0];
            const T* full = tiled == 1 ? pa + in[0] : pb + in[1];
            const int64_t phase = (o % block) % row;
            for (int64_t t = 0, c = phase; t < tile_len; ++t) {
              tile[t] = src[c];
              if (++c == row) c = 0;
            }
            for (int64_t j = 0; j < n; j += tile_len) {
              const int64_t m = n - j < tile_len ? n - j : tile_len;
              if (tiled == 1) {
                RowVec(full + j, 1, tile, 1, po + o + j, m, f);
              } else {
                RowVec(tile, 1, full + j, 1, po + o + j, m, f);
              }
            }
          });
        };
        ew::ParallelElements(ctx, plan_.size, ew::kParallelMinElements, tiled_body);
        return kTfLiteOk;
      }
    }
    const bool heavy = OP == Bin::kPow || OP == Bin::kFloorMod || OP == Bin::kFloorDiv;
    ew::ParallelElements(ctx, plan_.size,
                         heavy ? ew::kParallelMinElementsHeavy : ew::kParallelMinElementsBinary, body);
    return kTfLiteOk;
  }

  template <bool CLAMP>
  TfLiteStatus RunFloat(OpContext& ctx, const TfLiteTensor* a, const TfLiteTensor* b,
                        TfLiteTensor* out) {
    Clamped<FloatOp<OP>, float, CLAMP> f{FloatOp<OP>(), float_range_.lo, float_range_.hi};
    return Run<float>(ctx, a, b, out, f);
  }

  template <class T>
  TfLiteStatus RunInt(OpContext& ctx, const TfLiteTensor* a, const TfLiteTensor* b,
                      TfLiteTensor* out) {
    if ((OP == Bin::kDiv || OP == Bin::kFloorDiv || OP == Bin::kFloorMod) && HasZero<T>(b))
      return ctx.Error("Division by 0");
    if (OP == Bin::kPow && HasNegative<T>(b))
      return ctx.Error("POW does not support negative exponents for integer inputs");
    const ew::Clamp<T> c = ew::ClampFor<T>(range_);
    if (clamp_) {
      Clamped<IntOpVec<OP, T>, T, true> f{IntOpVec<OP, T>(), c.lo, c.hi};
      return Run<T>(ctx, a, b, out, f);
    }
    Clamped<IntOpVec<OP, T>, T, false> f{IntOpVec<OP, T>(), c.lo, c.hi};
    return Run<T>(ctx, a, b, out, f);
  }

  // Decides whether Run uses the tiled path (see there): the last two merged
  // dims [d0, d1] with d1 short, input k contiguous over both and the other
  // input reading the same d1 elements for every d0 (strides {0, 1}).
  void PlanTiling() {
    tiled_ = -1;
    const int r = plan_.rank;
    if (r < 2) return;
    const int64_t d0 = plan_.dims[r - 2], d1 = plan_.dims[r - 1];
    if (d1 >= kShortRow || d0 < 2) return;
    for (int k = 0; k < 2; ++k) {
      const int other = 1 - k;
      if (plan_.strides[k][r - 1] == 1 && plan_.strides[k][r - 2] == d1 &&
          plan_.strides[other][r - 1] == 1 && plan_.strides[other][r - 2] == 0) {
        tiled_ = other == 1 ? 1 : 2;
      }
    }
    if (tiled_ < 0) return;
    tile_row_ = d1;
    tile_block_ = d0 * d1;
    tile_len_ = ((kTileTarget + d1 - 1) / d1) * d1;
    // The blocks: merge the last two dims; the tiled input stays at the row
    // start (stride 0), the full one advances by 1.
    tile_plan_ = plan_;
    tile_plan_.rank = r - 1;
    tile_plan_.dims[r - 2] = d0 * d1;
    const int full = tiled_ == 1 ? 0 : 1;
    tile_plan_.strides[full][r - 2] = 1;
    tile_plan_.strides[1 - full][r - 2] = 0;
  }

  static constexpr int64_t kShortRow = 32;    // rows shorter than this get tiled
  static constexpr int64_t kTileTarget = 64;  // tile length (rounded up to rows)
  static constexpr int64_t kMaxTile = kTileTarget + kShortRow;

  BroadcastPlan<2> plan_;
  BroadcastPlan<2> tile_plan_;
  int tiled_ = -1;  // -1: no tiling; 1: b is tiled; 2: a is tiled
  int64_t tile_row_ = 0, tile_block_ = 0, tile_len_ = 0;
  FloatRange range_;        // the fused activation
  FloatRange float_range_;  // what float results are clamped to
  bool clamp_ = false;
  bool float_clamp_ = false;
  bool quant_ = false;
  bool same_shape_ = false;
  qbin::FiveFold fivefold_;
  qbin::Params qparams_;
};

using Add = BinaryArithmetic<Bin::kAdd>;
using Sub = BinaryArithmetic<Bin::kSub>;
using Mul = BinaryArithmetic<Bin::kMul>;
using Div = BinaryArithmetic<Bin::kDiv>;
using Maximum = BinaryArithmetic<Bin::kMax>;
using Minimum = BinaryArithmetic<Bin::kMin>;
using SquaredDifference = BinaryArithmetic<Bin::kSqDiff>;
using Pow = BinaryArithmetic<Bin::kPow>;
using FloorDiv = BinaryArithmetic<Bin::kFloorDiv>;
using FloorMod = BinaryArithmetic<Bin::kFloorMod>;

}  // namespace

TFC_REGISTER_OP(ADD, 1, 6, Add);
TFC_REGISTER_OP(SUB, 1, 5, Sub);
TFC_REGISTER_OP(MUL, 1, 8, Mul);
TFC_REGISTER_OP(DIV, 1, 2, Div);
TFC_REGISTER_OP(MAXIMUM, 1, 4, Maximum);
TFC_REGISTER_OP(MINIMUM, 1, 4, Minimum);
TFC_REGISTER_OP(SQUARED_DIFFERENCE, 1, 2, SquaredDifference);
TFC_REGISTER_OP(POW, 1, 1, Pow);
TFC_REGISTER_OP(FLOOR_DIV, 1, 3, FloorDiv);
TFC_REGISTER_OP(FLOOR_MOD, 1, 2, FloorMod);

}  // namespace tfc
