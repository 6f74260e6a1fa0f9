// RELU RELU6 RELU_N1_TO_1 RELU_0_TO_1 LEAKY_RELU PRELU HARD_SWISH GELU TANH
// LOGISTIC on float32, and quantized as TensorFlow Lite's optimized builtin
// kernels compute them (bit-exact):
//
//   RELU*        int8, uint8 (RELU, RELU6 also int16): requantize by
//                in_scale / out_scale, clamp to the activation's quantized range
//   LEAKY_RELU   int8, uint8, int16: two multipliers (identity and alpha)
//   PRELU        int8, uint8: two multipliers, alpha quantized too
//   HARD_SWISH   int8, uint8: 16-bit fixed point with TensorFlow Lite's
//                "reluish" and output multipliers
//   LOGISTIC, TANH, GELU  int8, uint8: 256-entry table built from float math
//   LOGISTIC, TANH  int16: fixed point (util/quant_lut.h)
//
//   RELU x<0 -> 0; RELU6 clamp [0,6]; RELU_N1_TO_1 clamp [-1,1];
//   RELU_0_TO_1 clamp [0,1] (NaN stays NaN)
//   LEAKY_RELU  x > 0 ? x : alpha*x               (alpha from options, default 0)
//   PRELU       x >= 0 ? x : alpha*x, alpha broadcast against x (NumPy rules)
//   HARD_SWISH  x * min(max(x+3, 0), 6) / 6
//   GELU        0.5 x (1 + erf(x/sqrt 2)), or with `approximate`
//               0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
//   TANH, LOGISTIC, GELU: vectorized (ew::Tanh, ew::Logistic, ew::NormalCdf;
//               about 2 ulp for tanh/logistic, ~2e-7 absolute for the erf).
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/util/broadcast.h"
#include "kernels/util/elementwise.h"
#include "kernels/util/quant_lut.h"

namespace tfc {
namespace {


constexpr float kInf = std::numeric_limits<float>::infinity();

// Per-vector functions (V is ew::v4f or ew::v8f).
struct ClampFn {
  float lo, hi;
  template <class V>
  TFC_EW_INLINE V operator()(const V& v) const {
    return ew::ClampKeepNaN(v, ew::Splat<V>(lo), ew::Splat<V>(hi));
  }
};
struct LeakyReluFn {
  float alpha;
  template <class V>
  TFC_EW_INLINE V operator()(const V& v) const {
    return ew::Select(v > ew::Splat<V>(0.0f), v, v * ew::Splat<V>(alpha));
  }
};
struct HardSwishFn {
  template <class V>
  TFC_EW_INLINE V operator()(const V& v) const {
    const V r6 = ew::ClampKeepNaN(v + ew::Splat<V>(3.0f), ew::Splat<V>(0.0f), ew::Splat<V>(6.0f));
    return v * r6 / ew::Splat<V>(6.0f);
  }
};
struct GeluFn {  // x * Phi(x)
  template <class V>
  TFC_EW_INLINE V operator()(const V& v) const {
    return v * ew::NormalCdf(v);
  }
};
struct GeluTanhFn {  // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
  template <class V>
  TFC_EW_INLINE V operator()(const V& v) const {
    const V inner = ew::Splat<V>(0.7978845608028654f) * (v + ew::Splat<V>(0.044715f) * v * v * v);
    return ew::Splat<V>(0.5f) * v * (ew::Splat<V>(1.0f) + ew::Tanh(inner));
  }
};
struct TanhFn {
  template <class V>
  TFC_EW_INLINE V operator()(const V& v) const {
    return ew::Tanh(v);
  }
};
struct LogisticFn {
  template <class V>
  TFC_EW_INLINE V operator()(const V& v) const {
    return ew::Logistic(v);
  }
};

enum class Act { kRelu, kRelu6, kReluN1To1, kRelu0To1, kLeakyRelu, kHardSwish, kGelu, kTanh,
                 kLogistic };

const char* OpLabel(Act op) {
  switch (op) {
    case Act::kRelu: return "RELU";
    case Act::kRelu6: return "RELU6";
    case Act::kReluN1To1: return "RELU_N1_TO_1";
    case Act::kRelu0To1: return "RELU_0_TO_1";
    case Act::kLeakyRelu: return "LEAKY_RELU";
    case Act::kHardSwish: return "HARD_SWISH";
    case Act::kGelu: return "GELU";
    case Act::kTanh: return "TANH";
    case Act::kLogistic: return "LOGISTIC";
  }
  return "?";
}


// ---------------------------------------------------------------------------
// Quantized activations
// ---------------------------------------------------------------------------

// Float functions of the 8-bit tables (the float libm calls TensorFlow Lite
// makes when it builds them).
float LogisticF(float x) { return 1.0f / (1.0f + std::exp(-x)); }
float TanhF(float x) { return std::tanh(x); }
float GeluF(float x) { return 0.5f * x * std::erfc(x * static_cast<float>(-0.70710678118654752440)); }
float GeluTanhF(float x) {
  const float k = static_cast<float>(1.12837916709551257390 * 0.70710678118654752440);
  const float cube = 0.044715f * x * x * x;
  return 0.5f * x * (1.f + std::tanh(k * (x + cube)));
}

// TensorFlow Lite's QuantizeMultiplier also takes negative factors (the
// mantissa keeps the sign); LEAKY_RELU with a negative alpha needs it.
void QuantizeSignedMultiplier(double m, int32_t* multiplier, int* shift) {
  if (m >= 0.0) {
    QuantizeMultiplier(m, multiplier, shift);
    return;
  }
  if (!std::isfinite(m)) {
    *multiplier = 0;
    *shift = 0;
    return;
  }
  int e = 0;
  const double frac = std::frexp(m, &e);  // in (-1, -0.5]
  int64_t q = static_cast<int64_t>(std::round(frac * 2147483648.0));
  if (e < -31) {
    q = 0;
    e = 0;
  }
  if (e > 30) e = 30;
  *multiplier = static_cast<int32_t>(q);
  *shift = e;
}

// Fixed-point shift amount check: QuantizeMultiplier of factors we accept
// stays within [-31, 30].
enum class QMode { kNone, kLut, kRequant, kLeaky, kHardSwish, kTanh16, kLogistic16 };

struct QuantState {
  QMode mode = QMode::kNone;
  TfLiteType type = kTfLiteNoType;
  int32_t in_zp = 0, out_zp = 0;
  int32_t m1 = 0, m2 = 0;  // identity / alpha multipliers
  int s1 = 0, s2 = 0;
  int32_t lo = 0, hi = 0;  // output clamp
  // HARD_SWISH
  int16_t hs_out_m = 0, hs_relu_m = 0;
  int hs_out_e = 0, hs_relu_e = 0;
  // int16 TANH / LOGISTIC
  int32_t in_multiplier = 0;
  int in_left_shift = 0;
  uint8_t lut[256] = {};
};

// Quantized bound of a float activation limit (the clamp of RELU*):
// zp + (int32) roundf(limit / scale).
int32_t QuantizedLimit(float limit, float scale, int32_t zp) {
  const int64_t q = int64_t{zp} + TruncToInt32X86(std::round(limit / scale));
  return static_cast<int32_t>(q < INT32_MIN ? INT32_MIN : (q > INT32_MAX ? INT32_MAX : q));
}

template <class T>
void RequantClampRun(const T* x, T* y, int64_t n, const QuantState& q) {
  for (int64_t i = 0; i < n; ++i) {
    const int32_t v = int32_t{x[i]} - q.in_zp;
    int32_t o = WrapToInt32(int64_t{q.out_zp} + MultiplyByQuantizedMultiplier(v, q.m1, q.s1));
    o = o < q.lo ? q.lo : (o > q.hi ? q.hi : o);
    y[i] = static_cast<T>(o);
  }
}

template <class T>
void LeakyRun(const T* x, T* y, int64_t n, const QuantState& q) {
  for (int64_t i = 0; i < n; ++i) {
    const int32_t v = int32_t{x[i]} - q.in_zp;
    const int32_t scaled =
        v >= 0 ? MultiplyByQuantizedMultiplier(v, q.m1, q.s1) : MultiplyByQuantizedMultiplier(v, q.m2, q.s2);
    int64_t o = int64_t{q.out_zp} + scaled;
    o = o < q.lo ? q.lo : (o > q.hi ? q.hi : o);
    y[i] = static_cast<T>(o);
  }
}

// TensorFlow Lite's 16-bit fixed-point hard swish: the input is moved to a
// "high resolution" scale in_scale / 128, the ReLU6-like factor
// (x + 3) / 6 is computed in Q0.15 from it, and the product is rescaled to the
// output.
template <class T>
void HardSwishRun(const T* x, T* y, int64_t n, const QuantState& q) {
  for (int64_t i = 0; i < n; ++i) {
    const int16_t v = static_cast<int16_t>(int32_t{x[i]} - q.in_zp);
    const int16_t hires = static_cast<int16_t>(v * 128);
    const int16_t pre_out = SaturatingRoundingDoublingHighMul16(hires, q.hs_out_m);
    int16_t r = hires;
    if (q.hs_relu_e > 0) r = SaturatingShiftLeft16(r, q.hs_relu_e - 1);
    r = SaturatingRoundingDoublingHighMul16(r, q.hs_relu_m);
    if (q.hs_relu_e > 0) r = SaturatingShiftLeft16(r, 1);
    if (q.hs_relu_e < 0) r = RoundingDivideByPOT16(r, -q.hs_relu_e);
    // [-1, 1] in Q0.15 -> [0, 1].
    r = static_cast<int16_t>((int32_t{r} + (1 << 15)) >> 1);
    const int16_t pre = SaturatingDoublingHighMul16(r, pre_out);
    int32_t o = RoundingDivideByPOT16(pre, -q.hs_out_e);
    o = static_cast<int16_t>(o + q.out_zp);
    o = o < Range8<T>::kMin ? Range8<T>::kMin : (o > Range8<T>::kMax ? Range8<T>::kMax : o);
    y[i] = static_cast<T>(o);
  }
}

// int16 LOGISTIC / TANH for the power-of-two input scales 2^-12 (and 2^-11
// for TANH): 16-bit fixed point as gemmlowp defines it (input Q3.12, output
// Q0.15): exp on negative values by a Taylor step on [-1/4, 0) and a barrel
// shifter of exp(-2^k) factors, then 1 / (1 + x) or (1 - x) / (1 + x) by
// Newton-Raphson. Raw int16 arithmetic: + and - wrap, products are
// SaturatingRoundingDoublingHighMul16.
namespace fx16 {

inline int16_t Add(int16_t a, int16_t b) { return static_cast<int16_t>(a + b); }
inline int16_t Sub(int16_t a, int16_t b) { return static_cast<int16_t>(a - b); }
inline int16_t Neg(int16_t a) { return static_cast<int16_t>(-int32_t{a}); }
inline int16_t Mul(int16_t a, int16_t b) { return SaturatingRoundingDoublingHighMul16(a, b); }
inline int16_t SatAdd(int16_t a, int16_t b) {
  const int32_t r = int32_t{a} + b;
  return static_cast<int16_t>(r > 32767 ? 32767 : (r < -32768 ? -32768 : r));
}
inline int16_t HalfSum(int16_t a, int16_t b) {
  const int32_t sum = int32_t{a} + b;
  return static_cast<int16_t>((sum + (sum >= 0 ? 1 : -1)) / 2);
}
// x * 2^e, e > 0 saturating, e < 0 rounding.
inline int16_t MulPOT(int16_t x, int e) {
  if (e == 0) return x;
  if (e < 0) return RoundingDivideByPOT16(x, -e);
  const int32_t threshold = (1 << (15 - e)) - 1;
  if (x > threshold) return 32767;
  if (x < -threshold) return -32768;
  return static_cast<int16_t>(x * (1 << e));
}
// A 32-bit gemmlowp constant in the 16-bit format.
inline int16_t Const(int32_t v) { return static_cast<int16_t>(RoundingDivideByPOT(v, 16)); }

// exp(a) for a in [-1/4, 0), Q0.15.
inline int16_t ExpQuarter(int16_t a) {
  const int16_t c = Const(1895147668);      // exp(-1/8)
  const int16_t third = Const(715827883);   // 1/3
  const int16_t x = Add(a, 1 << 12);        // a + 1/8
  const int16_t x2 = Mul(x, x);
  const int16_t x3 = Mul(x2, x);
  const int16_t x4 = Mul(x2, x2);
  const int16_t x4_4 = MulPOT(x4, -2);
  const int16_t poly = MulPOT(Add(Mul(Add(x4_4, x3), third), x2), -1);
  return SatAdd(c, Mul(c, Add(x, poly)));
}

// exp(a) for a <= 0 with `ibits` integer bits (3 or 4), result Q0.15.
inline int16_t ExpNegative(int16_t a, int ibits) {
  const int fbits = 15 - ibits;
  const int16_t quarter = static_cast<int16_t>(1 << (fbits - 2));
  const int16_t mask = static_cast<int16_t>(quarter - 1);
  const int16_t mod = Sub(static_cast<int16_t>(a & mask), quarter);
  int16_t result = ExpQuarter(MulPOT(mod, ibits));
  const int16_t remainder = Sub(mod, a);
  static const int32_t kFactors[7] = {1672461947, 1302514674, 790015084, 290630308,
                                      39332535,   720401,     242};
  for (int k = 0; k < 7; ++k) {
    const int exponent = k - 2;
    if (ibits > exponent) {
      const int shift = fbits + exponent;
      if (remainder & (1 << shift)) result = Mul(result, Const(kFactors[k]));
    }
  }
  return a == 0 ? int16_t{32767} : result;
}

// Newton-Raphson on x ~ 1 / half_denominator in Q2.13.
inline int16_t NewtonRecip(int16_t half_den) {
  const int16_t c48 = Const(1515870810), c32 = Const(-1010580540);
  const int16_t one2 = 1 << 13;
  int16_t x = Add(c48, Mul(half_den, c32));
  for (int i = 0; i < 3; ++i) {
    const int16_t hx = Mul(half_den, x);
    const int16_t one_minus = Sub(one2, hx);
    x = Add(x, MulPOT(Mul(x, one_minus), 2));
  }
  return x;
}

inline int16_t Logistic(int16_t a) {  // a in Q3.12
  if (a == 0) return Const(1 << 30);
  const bool positive = a > 0;
  const int16_t abs_a = positive ? a : Neg(a);
  const int16_t e = ExpNegative(Neg(abs_a), 3);
  const int16_t half_den = HalfSum(e, 32767);
  const int16_t x = NewtonRecip(half_den);
  const int16_t pos = MulPOT(x, 2 - 1);  // ExactMulByPot<-1>: Q2 -> Q1, then Rescale<0>
  return positive ? pos : Sub(32767, pos);
}

inline int16_t Tanh(int16_t a) {  // a in Q3.12
  if (a == 0) return 0;
  const bool negative = a < 0;
  const int16_t n = negative ? a : Neg(a);
  const int16_t e = ExpNegative(n, 4);  // exp(2n): the same raw value read as Q4.11
  const int16_t half_den = HalfSum(e, 32767);
  const int16_t x = NewtonRecip(half_den);
  const int16_t t = MulPOT(Sub(x, 1 << 13), 2);
  return negative ? Neg(t) : t;
}

}  // namespace fx16

// int16 LOGISTIC / TANH (TensorFlow Lite's int16 kernels for scales that are
// not the powers of two its fixed-point path takes): the input is rescaled so
// that 3 * 4096 units are 1.0, and sigmoid is interpolated linearly in a
// 256-entry table of sigmoid(i / 24) in Q0.16 (tanh x = 2 sigmoid(2x) - 1).
const uint16_t kSigmoidTable[256] = {
    32768, 33451, 34133, 34813, 35493, 36169, 36843, 37513, 38180, 38841, 39498,
    40149, 40794, 41432, 42064, 42688, 43304, 43912, 44511, 45102, 45683, 46255,
    46817, 47369, 47911, 48443, 48964, 49475, 49975, 50464, 50942, 51409, 51865,
    52311, 52745, 53169, 53581, 53983, 54374, 54755, 55125, 55485, 55834, 56174,
    56503, 56823, 57133, 57433, 57724, 58007, 58280, 58544, 58800, 59048, 59288,
    59519, 59743, 59959, 60168, 60370, 60565, 60753, 60935, 61110, 61279, 61441,
    61599, 61750, 61896, 62036, 62172, 62302, 62428, 62549, 62666, 62778, 62886,
    62990, 63090, 63186, 63279, 63368, 63454, 63536, 63615, 63691, 63765, 63835,
    63903, 63968, 64030, 64090, 64148, 64204, 64257, 64308, 64357, 64405, 64450,
    64494, 64536, 64576, 64614, 64652, 64687, 64721, 64754, 64786, 64816, 64845,
    64873, 64900, 64926, 64950, 64974, 64997, 65019, 65039, 65060, 65079, 65097,
    65115, 65132, 65149, 65164, 65179, 65194, 65208, 65221, 65234, 65246, 65258,
    65269, 65280, 65291, 65301, 65310, 65319, 65328, 65337, 65345, 65352, 65360,
    65367, 65374, 65381, 65387, 65393, 65399, 65404, 65410, 65415, 65420, 65425,
    65429, 65433, 65438, 65442, 65445, 65449, 65453, 65456, 65459, 65462, 65465,
    65468, 65471, 65474, 65476, 65479, 65481, 65483, 65485, 65488, 65489, 65491,
    65493, 65495, 65497, 65498, 65500, 65501, 65503, 65504, 65505, 65507, 65508,
    65509, 65510, 65511, 65512, 65513, 65514, 65515, 65516, 65517, 65517, 65518,
    65519, 65520, 65520, 65521, 65522, 65522, 65523, 65523, 65524, 65524, 65525,
    65525, 65526, 65526, 65526, 65527, 65527, 65528, 65528, 65528, 65529, 65529,
    65529, 65529, 65530, 65530, 65530, 65530, 65531, 65531, 65531, 65531, 65531,
    65532, 65532, 65532, 65532, 65532, 65532, 65533, 65533, 65533, 65533, 65533,
    65533, 65533, 65533, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534,
    65534, 65534, 65535};

inline int32_t Int16Rescale(int16_t x, const QuantState& q, int32_t round) {
  return (int32_t{x} * q.in_multiplier + round) >> q.in_left_shift;
}

void Int16TanhRun(const int16_t* x, int16_t* y, int64_t n, const QuantState& q) {
  if (q.in_multiplier == 0) {  // power-of-two input scale: gemmlowp fixed point
    for (int64_t i = 0; i < n; ++i) {
      const int16_t v = q.in_left_shift == 1 ? fx16::MulPOT(x[i], 1) : x[i];
      y[i] = fx16::Tanh(v);
    }
    return;
  }
  const int32_t round = q.in_left_shift > 0 ? 1 << (q.in_left_shift - 1) : 0;
  for (int64_t i = 0; i < n; ++i) {
    const int32_t v = Int16Rescale(x[i], q, round);
    const uint32_t a = static_cast<uint32_t>(v < 0 ? -v : v);
    const uint32_t hi = a >> 8;
    uint32_t r;
    if (hi >= 255) {
      r = 0xFFFFu << 8;
    } else {
      const uint32_t t0 = kSigmoidTable[hi], t1 = kSigmoidTable[hi + 1];
      r = (t0 << 8) + (a & 0xFFu) * (t1 - t0);
    }
    const uint32_t half = 1u << 23, bias = 1u << 7;
    const uint32_t u = v >= 0 ? r - half + bias : half - r + bias - 1u;
    y[i] = static_cast<int16_t>(static_cast<int32_t>(u) >> 8);
  }
}

void Int16LogisticRun(const int16_t* x, int16_t* y, int64_t n, const QuantState& q) {
  if (q.in_multiplier == 0) {  // input scale 2^-12: gemmlowp fixed point
    for (int64_t i = 0; i < n; ++i) y[i] = fx16::Logistic(x[i]);
    return;
  }
  const int32_t round = q.in_left_shift > 0 ? 1 << (q.in_left_shift - 1) : 0;
  for (int64_t i = 0; i < n; ++i) {
    const int32_t v = Int16Rescale(x[i], q, round);
    const uint32_t a = static_cast<uint32_t>(v < 0 ? -v : v);
    const uint32_t hi = a >> 9;
    uint32_t r;
    if (hi >= 255) {
      r = 0x7FFFu << 10;
    } else {
      const uint32_t t0 = kSigmoidTable[hi], t1 = kSigmoidTable[hi + 1];
      r = (t0 << 9) + (a & 0x1FFu) * (t1 - t0);
    }
    r = v >= 0 ? r + (1u << 9) : (1u << 25) - r + (1u << 9) - 1u;
    y[i] = static_cast<int16_t>(r >> 10);
  }
}

// log2 of a scale when it is a power of two (within 1e-3 in the exponent).
bool ScaleLog2(float scale, int* log2) {
  const float l = std::log(scale) * (1.0f / std::log(2.0f));
  const float r = std::round(l);
  *log2 = static_cast<int>(r);
  return std::fabs(l - r) < 1e-3f;
}

TfLiteStatus PrepareInt16TanhLogistic(OpContext& ctx, bool tanh, float in_scale, float out_scale,
                                      QuantState* q) {
  const char* name = tanh ? "TANH" : "LOGISTIC";
  int out_log2 = 0;
  TFC_ENSURE_MSG(ctx, ScaleLog2(out_scale, &out_log2) && out_log2 == -15,
                 "int16 %s output scale must be 2^-15, got %g", name,
                 static_cast<double>(out_scale));
  if (!tanh) {
    TFC_ENSURE_MSG(ctx, out_scale == 1.0f / 32768, "int16 LOGISTIC output scale must be 1/32768");
  }
  int in_log2 = 0;
  const bool pot = ScaleLog2(in_scale, &in_log2);
  const int shift = 12 + in_log2;
  if (pot && (shift == 0 || (tanh && shift == 1))) {
    q->in_multiplier = 0;
    q->in_left_shift = shift;
    q->mode = tanh ? QMode::kTanh16 : QMode::kLogistic16;
    return kTfLiteOk;
  }
  double m = static_cast<double>(in_scale) * 4096.0 * 3.0;
  int left = 0;
  while (m <= 32767.0 / 2.0 && left <= 30) {
    ++left;
    m *= 2.0;
  }
  TFC_ENSURE_MSG(ctx, m < 2147483648.0 / 32768.0,
                 "int16 %s input scale %g is too large", name, static_cast<double>(in_scale));
  q->in_multiplier = static_cast<int32_t>(m);
  q->in_left_shift = left;
  q->mode = tanh ? QMode::kTanh16 : QMode::kLogistic16;
  return kTfLiteOk;
}

template <Act OP>
TfLiteStatus PrepareQuantActivation(OpContext& ctx, const TfLiteTensor* in, const TfLiteTensor* out,
                                    QuantState* q) {
  const TfLiteType t = in->type;
  TFC_ENSURE_MSG(ctx, out->type == t, "output '%s' has type %s; %s of %s produces %s",
                 out->name.c_str(), TypeName(out->type), OpLabel(OP), TypeName(t), TypeName(t));
  const bool is8 = t == kTfLiteInt8 || t == kTfLiteUInt8;
  bool ok = is8;
  if (t == kTfLiteInt16) {
    ok = OP == Act::kRelu || OP == Act::kRelu6 || OP == Act::kLeakyRelu || OP == Act::kTanh ||
         OP == Act::kLogistic;
  }
  if (!ok) {
    return ctx.ErrorStatus(kTfLiteUnresolvedOps, "%s does not support %s inputs", OpLabel(OP),
                           TypeName(t));
  }
  float in_scale = 0.f, out_scale = 0.f;
  TFC_OK(ReadPerTensorQuant(ctx, in, &in_scale, &q->in_zp));
  TFC_OK(ReadPerTensorQuant(ctx, out, &out_scale, &q->out_zp));
  q->type = t;
  QuantTypeRange(t, &q->lo, &q->hi);
  if (t == kTfLiteInt16) {
    TFC_ENSURE_MSG(ctx, q->in_zp == 0 && q->out_zp == 0,
                   "int16 %s needs zero points 0 (input %d, output %d)", OpLabel(OP), q->in_zp,
                   q->out_zp);
  }
  switch (OP) {
    case Act::kRelu:
    case Act::kRelu6:
    case Act::kReluN1To1:
    case Act::kRelu0To1: {
      q->mode = QMode::kRequant;
      const float ratio = in_scale / out_scale;
      TFC_ENSURE_MSG(ctx, ratio < 1073741824.0f, "input/output scale ratio %g is too large",
                     static_cast<double>(ratio));
      QuantizeMultiplier(static_cast<double>(ratio), &q->m1, &q->s1);
      float act_lo = 0.f, act_hi = kInf;
      if (OP == Act::kRelu6) act_hi = 6.f;
      if (OP == Act::kReluN1To1) { act_lo = -1.f; act_hi = 1.f; }
      if (OP == Act::kRelu0To1) act_hi = 1.f;
      int32_t tlo = 0, thi = 0;
      QuantTypeRange(t, &tlo, &thi);
      const int32_t qlo = QuantizedLimit(act_lo, out_scale, q->out_zp);
      q->lo = qlo > tlo ? qlo : tlo;
      if (std::isinf(act_hi)) {
        q->hi = thi;
      } else {
        const int32_t qhi = QuantizedLimit(act_hi, out_scale, q->out_zp);
        q->hi = qhi < thi ? qhi : thi;
      }
      return kTfLiteOk;
    }
    case Act::kLeakyRelu: {
      q->mode = QMode::kLeaky;
      auto* o = ctx.options<fb::LeakyReluOptions>();
      const float alpha = o ? o->alpha() : 0.0f;
      const float ratio = in_scale / out_scale;
      const float alpha_ratio = in_scale * alpha / out_scale;
      TFC_ENSURE_MSG(ctx, ratio < 1073741824.0f && std::fabs(alpha_ratio) < 1073741824.0f,
                     "scale ratios are too large (identity %g, alpha %g)",
                     static_cast<double>(ratio), static_cast<double>(alpha_ratio));
      QuantizeSignedMultiplier(static_cast<double>(alpha_ratio), &q->m2, &q->s2);
      QuantizeMultiplier(static_cast<double>(ratio), &q->m1, &q->s1);
      return kTfLiteOk;
    }
    case Act::kHardSwish: {
      q->mode = QMode::kHardSwish;
      const float hires_scale = (1.0f / 128.0f) * in_scale;
      const float reluish_scale = 3.0f / 32768.0f;
      const float out_m = hires_scale / out_scale;
      int32_t m32 = 0;
      QuantizeMultiplier(static_cast<double>(out_m), &m32, &q->hs_out_e);
      q->hs_out_m = MultiplierToInt16(m32);
      TFC_ENSURE_MSG(ctx, q->hs_out_e <= 0,
                     "input scale / output scale = %g is too large for the fixed-point hard swish",
                     static_cast<double>(in_scale / out_scale));
      const float relu_m = hires_scale / reluish_scale;
      QuantizeMultiplier(static_cast<double>(relu_m), &m32, &q->hs_relu_e);
      TFC_ENSURE_MSG(ctx, q->hs_relu_e <= 15 && q->hs_relu_e >= -15,
                     "input scale %g is out of range for the fixed-point hard swish",
                     static_cast<double>(in_scale));
      q->hs_relu_m = MultiplierToInt16(m32);
      return kTfLiteOk;
    }
    case Act::kLogistic:
    case Act::kTanh:
    case Act::kGelu: {
      if (t == kTfLiteInt16) return PrepareInt16TanhLogistic(ctx, OP == Act::kTanh, in_scale, out_scale, q);
      if (OP == Act::kLogistic) {
        TFC_ENSURE_MSG(ctx, out_scale == 1.0f / 256,
                       "LOGISTIC output scale must be 1/256, got %g", static_cast<double>(out_scale));
      }
      q->mode = QMode::kLut;
      float (*fn)(float) = OP == Act::kLogistic ? LogisticF : (OP == Act::kTanh ? TanhF : GeluF);
      if (OP == Act::kGelu) {
        auto* o = ctx.options<fb::GeluOptions>();
        if (o && o->approximate()) fn = GeluTanhF;
      }
      if (t == kTfLiteInt8) {
        BuildLut8<int8_t>(in_scale, q->in_zp, out_scale, q->out_zp, fn, q->lut);
      } else {
        BuildLut8<uint8_t>(in_scale, q->in_zp, out_scale, q->out_zp, fn, q->lut);
      }
      return kTfLiteOk;
    }
  }
  return ctx.Error("unexpected op");
}

template <class T>
void RunQuantTyped(const QuantState& q, const T* x, T* y, int64_t n) {
  switch (q.mode) {
    case QMode::kLut: ApplyLut8(x, y, n, q.lut); break;
    case QMode::kRequant: RequantClampRun(x, y, n, q); break;
    case QMode::kLeaky: LeakyRun(x, y, n, q); break;
    case QMode::kHardSwish:
      if constexpr (sizeof(T) == 1) HardSwishRun(x, y, n, q);
      break;
    case QMode::kTanh16:
    case QMode::kLogistic16:
      if constexpr (sizeof(T) == 2) {
        if (q.mode == QMode::kTanh16) {
          Int16TanhRun(x, y, n, q);
        } else {
          Int16LogisticRun(x, y, n, q);
        }
      }
      break;
    case QMode::kNone: break;
  }
}

// An 8-bit activation of any mode is a function of one byte: its 256 values
// computed once here make Eval one table lookup per value.
void TabulateQuant8(QuantState* q) {
  if (q->mode == QMode::kLut || q->mode == QMode::kNone) return;
  const QuantState fixed = *q;
  if (q->type == kTfLiteInt8) {
    TabulateLut8<int8_t>([&](int8_t v) { int8_t r; RunQuantTyped(fixed, &v, &r, 1); return r; }, q->lut);
  } else if (q->type == kTfLiteUInt8) {
    TabulateLut8<uint8_t>([&](uint8_t v) { uint8_t r; RunQuantTyped(fixed, &v, &r, 1); return r; },
                          q->lut);
  } else {
    return;
  }
  q->mode = QMode::kLut;
}

void RunQuant(OpContext& ctx, const QuantState& q, const TfLiteTensor* in, TfLiteTensor* out) {
  const int64_t n = in->num_elements();
  auto body = [&](int64_t b, int64_t e) {
    switch (q.type) {
      case kTfLiteInt8:
        RunQuantTyped(q, in->data_as<const int8_t>() + b, out->data_as<int8_t>() + b, e - b);
        break;
      case kTfLiteUInt8:
        RunQuantTyped(q, in->data_as<const uint8_t>() + b, out->data_as<uint8_t>() + b, e - b);
        break;
      case kTfLiteInt16:
        RunQuantTyped(q, in->data_as<const int16_t>() + b, out->data_as<int16_t>() + b, e - b);
        break;
      default: break;
    }
  };
  ew::ParallelElements(ctx, n, ew::kParallelMinElements, body);
}

template <Act OP>
class Activation final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override {
    TFC_ENSURE(ctx, ctx.num_inputs() == 1 && ctx.num_outputs() == 1);
    const TfLiteTensor* in = ctx.input(0);
    const TfLiteTensor* out = ctx.output(0);
    TFC_ENSURE(ctx, in != nullptr && out != nullptr);
    quant_.mode = QMode::kNone;
    if (IsQuant8Or16(in->type)) {
      TFC_OK(PrepareQuantActivation<OP>(ctx, in, out, &quant_));
      TabulateQuant8(&quant_);
      return ctx.ResizeOutput(0, in->dims);
    }
    TFC_ENSURE_MSG(ctx, in->type == kTfLiteFloat32, "%s does not support %s inputs", OpLabel(OP),
                   TypeName(in->type));
    TFC_ENSURE_TYPE(ctx, out, kTfLiteFloat32);
    if (OP == Act::kLeakyRelu) {
      auto* o = ctx.options<fb::LeakyReluOptions>();
      alpha_ = o ? o->alpha() : 0.0f;
    }
    if (OP == Act::kGelu) {
      auto* o = ctx.options<fb::GeluOptions>();
      approximate_ = o ? o->approximate() : false;
    }
    return ctx.ResizeOutput(0, in->dims);
  }

  TfLiteStatus Eval(OpContext& ctx) override {
    const TfLiteTensor* in = ctx.input(0);
    if (quant_.mode != QMode::kNone) {
      RunQuant(ctx, quant_, in, ctx.output(0));
      return kTfLiteOk;
    }
    const float* x = in->data_as<const float>();
    float* y = ctx.output(0)->data_as<float>();
    const int64_t n = in->num_elements();
    const bool heavy = OP == Act::kGelu || OP == Act::kTanh || OP == Act::kLogistic;
    const float alpha = alpha_;
    const bool approximate = approximate_;
    auto body = [&](int64_t begin, int64_t end) {
      const float* xs = x + begin;
      float* ys = y + begin;
      const int64_t m = end - begin;
      switch (OP) {
        case Act::kRelu: ew::MapFloat(xs, ys, m, ClampFn{0.0f, kInf}); break;
        case Act::kRelu6: ew::MapFloat(xs, ys, m, ClampFn{0.0f, 6.0f}); break;
        case Act::kReluN1To1: ew::MapFloat(xs, ys, m, ClampFn{-1.0f, 1.0f}); break;
        case Act::kRelu0To1: ew::MapFloat(xs, ys, m, ClampFn{0.0f, 1.0f}); break;
        case Act::kLeakyRelu: ew::MapFloat(xs, ys, m, LeakyReluFn{alpha}); break;
        case Act::kHardSwish: ew::MapFloat(xs, ys, m, HardSwishFn{}); break;
        case Act::kGelu:
          if (approximate) {
            ew::MapFloat(xs, ys, m, GeluTanhFn{});
          } else {
            ew::MapFloat(xs, ys, m, GeluFn{});
          }
          break;
        case Act::kTanh: ew::MapFloat(xs, ys, m, TanhFn{}); break;
        case Act::kLogistic: ew::MapFloat(xs, ys, m, LogisticFn{}); break;
      }
    };
    ew::ParallelElements(ctx, n, heavy ? ew::kParallelMinElementsHeavy : ew::kParallelMinElements,
                         body);
    return kTfLiteOk;
  }

 private:
  float alpha_ = 0.0f;
  bool approximate_ = false;
  QuantState quant_;
};

// One PRELU row: x and alpha step by sx / sa (0 or 1).
template <class V>
TFC_EW_INLINE void PreluRowV(const float* __restrict x, int64_t sx, const float* __restrict a,
                             int64_t sa, float* __restrict y, int64_t n) {
  constexpr int L = ew::Lanes<V>();
  const V zero = ew::Splat<V>(0.0f);
  int64_t i = 0;
  if (sx) {
    for (; i + L <= n; i += L) {
      const V v = ew::Load<V>(x + i);
      const V al = sa ? ew::Load<V>(a + i) : ew::Splat<V>(a[0]);
      ew::Store<V>(y + i, ew::Select(v >= zero, v, v * al));
    }
  }
  for (; i < n; ++i) {
    const float v = x[i * sx];
    const float al = a[i * sa];
    y[i] = v >= 0.f ? v : v * al;
  }
}
#if TFC_EW_AVX2
TFC_EW_TARGET_AVX2 void PreluRowAvx2(const float* x, int64_t sx, const float* a, int64_t sa,
                                     float* y, int64_t n) {
  PreluRowV<ew::v8f>(x, sx, a, sa, y, n);
}
#endif
inline void PreluRow(const float* x, int64_t sx, const float* a, int64_t sa, float* y, int64_t n) {
#if TFC_EW_AVX2
  if (ew::UseAvx2()) return PreluRowAvx2(x, sx, a, sa, y, n);
#endif
  PreluRowV<ew::v4f>(x, sx, a, sa, y, n);
}

// Quantized PRELU parameters: x >= 0 scales by in_scale / out_scale, x < 0
// by in_scale * alpha_scale / out_scale applied to (x - zp) (alpha - alpha_zp).
struct QuantPrelu {
  int32_t in_zp = 0, alpha_zp = 0, out_zp = 0;
  int32_t m1 = 0, m2 = 0;
  int s1 = 0, s2 = 0;
};

template <class T>
void PreluRowQ(const T* x, int64_t sx, const T* a, int64_t sa, T* y, int64_t n,
               const QuantPrelu& q) {
  constexpr int32_t lo = std::numeric_limits<T>::min(), hi = std::numeric_limits<T>::max();
  for (int64_t i = 0; i < n; ++i) {
    const int32_t v = int32_t{x[i * sx]} - q.in_zp;
    int32_t o;
    if (v >= 0) {
      o = MultiplyByQuantizedMultiplier(v, q.m1, q.s1);
    } else {
      const int32_t al = int32_t{a[i * sa]} - q.alpha_zp;
      o = MultiplyByQuantizedMultiplier(v * al, q.m2, q.s2);
    }
    const int64_t r = int64_t{o} + q.out_zp;
    y[i] = static_cast<T>(r < lo ? lo : (r > hi ? hi : r));
  }
}

class Prelu final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override {
    TFC_ENSURE(ctx, ctx.num_inputs() == 2 && ctx.num_outputs() == 1);
    const TfLiteTensor* in = ctx.input(0);
    const TfLiteTensor* alpha = ctx.input(1);
    const TfLiteTensor* out = ctx.output(0);
    TFC_ENSURE(ctx, in != nullptr && alpha != nullptr && out != nullptr);
    type_ = in->type;
    if (in->type == kTfLiteInt8 || in->type == kTfLiteUInt8) {
      TFC_ENSURE_TYPE(ctx, alpha, in->type);
      TFC_ENSURE_TYPE(ctx, out, in->type);
      float in_scale = 0.f, alpha_scale = 0.f, out_scale = 0.f;
      TFC_OK(ReadPerTensorQuant(ctx, in, &in_scale, &quant_.in_zp));
      TFC_OK(ReadPerTensorQuant(ctx, alpha, &alpha_scale, &quant_.alpha_zp));
      TFC_OK(ReadPerTensorQuant(ctx, out, &out_scale, &quant_.out_zp));
      const float r1 = in_scale / out_scale;
      const float r2 = in_scale * alpha_scale / out_scale;
      TFC_ENSURE_MSG(ctx, r1 < 1073741824.0f && r2 < 1073741824.0f,
                     "scale ratios are too large (%g, %g)", static_cast<double>(r1),
                     static_cast<double>(r2));
      QuantizeMultiplier(static_cast<double>(r1), &quant_.m1, &quant_.s1);
      QuantizeMultiplier(static_cast<double>(r2), &quant_.m2, &quant_.s2);
    } else if (ew::IsQuantizedIntType(in->type)) {
      return ew::RejectQuantized(ctx, in->type);
    } else {
      TFC_ENSURE_MSG(ctx, in->type == kTfLiteFloat32, "PRELU does not support %s inputs",
                     TypeName(in->type));
      TFC_ENSURE_TYPE(ctx, alpha, kTfLiteFloat32);
      TFC_ENSURE_TYPE(ctx, out, kTfLiteFloat32);
    }
    std::vector<int32_t> out_dims;
    char sa[96], sb[96];
    TFC_ENSURE_MSG(ctx, BroadcastShapes(in->dims, alpha->dims, &out_dims),
                   "alpha shape %s does not broadcast against input %s",
                   ShapeString(alpha->dims, sa, sizeof sa), ShapeString(in->dims, sb, sizeof sb));
    int64_t n = 0;
    TFC_ENSURE_MSG(ctx, ew::CheckedNumElements(out_dims, &n), "bad output shape %s",
                   ShapeString(out_dims, sa, sizeof sa));
    TFC_ENSURE_MSG(ctx, plan_.Init({&in->dims, &alpha->dims}, out_dims),
                   "broadcasting %s with %s needs more than %d dimensions",
                   ShapeString(in->dims, sa, sizeof sa), ShapeString(alpha->dims, sb, sizeof sb),
                   kMaxBroadcastDims);
    return ctx.ResizeOutput(0, out_dims);
  }

  TfLiteStatus Eval(OpContext& ctx) override {
    if (type_ == kTfLiteInt8) return EvalQuant<int8_t>(ctx);
    if (type_ == kTfLiteUInt8) return EvalQuant<uint8_t>(ctx);
    const float* px = ctx.input(0)->data_as<const float>();
    const float* pa = ctx.input(1)->data_as<const float>();
    float* py = ctx.output(0)->data_as<float>();
    const int64_t sx = plan_.inner_stride(0);
    const int64_t sa = plan_.inner_stride(1);
    const BroadcastPlan<2>& plan = plan_;
    auto body = [&](int64_t begin, int64_t end) {
      ForEachRow(plan, begin, end, [&](int64_t o, const int64_t* in, int64_t n) {
        PreluRow(px + in[0], sx, pa + in[1], sa, py + o, n);
      });
    };
    ew::ParallelElements(ctx, plan_.size, ew::kParallelMinElements, body);
    return kTfLiteOk;
  }

 private:
  template <class T>
  TfLiteStatus EvalQuant(OpContext& ctx) {
    const T* px = ctx.input(0)->data_as<const T>();
    const T* pa = ctx.input(1)->data_as<const T>();
    T* py = ctx.output(0)->data_as<T>();
    const int64_t sx = plan_.inner_stride(0);
    const int64_t sa = plan_.inner_stride(1);
    const BroadcastPlan<2>& plan = plan_;
    const QuantPrelu& q = quant_;
    auto body = [&](int64_t begin, int64_t end) {
      ForEachRow(plan, begin, end, [&](int64_t o, const int64_t* in, int64_t n) {
        PreluRowQ(px + in[0], sx, pa + in[1], sa, py + o, n, q);
      });
    };
    ew::ParallelElements(ctx, plan_.size, ew::kParallelMinElements, body);
    return kTfLiteOk;
  }

  BroadcastPlan<2> plan_;
  TfLiteType type_ = kTfLiteNoType;
  QuantPrelu quant_;
};

using Relu = Activation<Act::kRelu>;
using Relu6 = Activation<Act::kRelu6>;
using ReluN1To1 = Activation<Act::kReluN1To1>;
using Relu0To1 = Activation<Act::kRelu0To1>;
using LeakyRelu = Activation<Act::kLeakyRelu>;
using HardSwish = Activation<Act::kHardSwish>;
using Gelu = Activation<Act::kGelu>;
using Tanh = Activation<Act::kTanh>;
using Logistic = Activation<Act::kLogistic>;

}  // namespace

TFC_REGISTER_OP(RELU, 1, 3, Relu);
TFC_REGISTER_OP(RELU6, 1, 3, Relu6);
TFC_REGISTER_OP(RELU_N1_TO_1, 1, 1, ReluN1To1);
TFC_REGISTER_OP(RELU_0_TO_1, 1, 1, Relu0To1);
TFC_REGISTER_OP(LEAKY_RELU, 1, 2, LeakyRelu);
TFC_REGISTER_OP(PRELU, 1, 1, Prelu);
TFC_REGISTER_OP(HARD_SWISH, 1, 1, HardSwish);
TFC_REGISTER_OP(GELU, 1, 3, Gelu);
TFC_REGISTER_OP(TANH, 1, 3, Tanh);
TFC_REGISTER_OP(LOGISTIC, 1, 3, Logistic);

}  // namespace tfc
