// Helpers shared by the elementwise, activation and normalization kernels:
// float vectors written with GCC/Clang vector extensions (4 lanes: SSE on
// x86_64, NEON on ARM, plain scalar code on ARMv6; 8 lanes in an AVX2 variant
// picked at run time on x86_64), vectorized exp/tanh/logistic/erf, the
// threading policy for elementwise loops, and type checks.
//
// Vector code is generic over the vector type V (v4f or v8f); a kernel writes
// its per-vector function once as a functor with `template <class V> V
// operator()(V) const` and runs it with ew::MapFloat (dispatches on the CPU).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "cpu_features.h"
#include "kernels/kernel.h"
#include "kernels/util/activation.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define TFC_EW_AVX2 1
#define TFC_EW_TARGET_AVX2 __attribute__((target("avx2,fma")))
#else
#define TFC_EW_AVX2 0
#define TFC_EW_TARGET_AVX2
#endif
#if defined(__GNUC__) && !defined(__clang__)
// The 8-lane helpers are always inlined into AVX2 functions, so the note that
// passing 32-byte vectors without AVX changes the ABI does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"
#endif
// Helpers are forced inline so that, inside an AVX2 function, they compile to
// AVX2 code (a callee without target attributes may inline into a caller with
// more ISA features).
#define TFC_EW_INLINE inline __attribute__((always_inline))

namespace tfc {
namespace ew {

typedef float v4f __attribute__((vector_size(16)));
typedef int32_t v4i __attribute__((vector_size(16)));
typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));

template <class V>
struct IntVecOf;
template <>
struct IntVecOf<v4f> {
  typedef v4i type;
};
template <>
struct IntVecOf<v8f> {
  typedef v8i type;
};
template <class V>
using IntVec = typename IntVecOf<V>::type;

template <class V>
constexpr int Lanes() {
  return static_cast<int>(sizeof(V) / sizeof(float));
}

template <class V>
TFC_EW_INLINE V Load(const float* p) {
  V v;
  std::memcpy(&v, p, sizeof(V));
  return v;
}
template <class V>
TFC_EW_INLINE void Store(float* p, const V& v) {
  std::memcpy(p, &v, sizeof(V));
}
template <class V>
TFC_EW_INLINE V Splat(float x) {
  return V{} + x;
}
template <class VI>
TFC_EW_INLINE VI SplatI(int32_t x) {
  return VI{} + x;
}

// Older spellings for 4 lanes.
TFC_EW_INLINE v4f Load4(const float* p) { return Load<v4f>(p); }
TFC_EW_INLINE void Store4(float* p, v4f v) { Store<v4f>(p, v); }
TFC_EW_INLINE v4f Splat4(float x) { return Splat<v4f>(x); }
TFC_EW_INLINE v4i Splat4i(int32_t x) { return SplatI<v4i>(x); }

// mask lanes are all ones (true) or all zeros (false), as comparisons give.
template <class V, class VI>
TFC_EW_INLINE V Select(const VI& mask, const V& a, const V& b) {
  return (V)((mask & (VI)a) | (~mask & (VI)b));
}

// Max(a, b) = a > b ? a : b and Min(a, b) = a < b ? a : b, per lane: with a
// NaN operand the second one wins (the semantics of MAXIMUM/MINIMUM).
template <class T>
TFC_EW_INLINE T Max(const T& a, const T& b) {
  if constexpr (std::is_arithmetic<T>::value) {
    return a > b ? a : b;
  } else {
    return Select(a > b, a, b);
  }
}
template <class T>
TFC_EW_INLINE T Min(const T& a, const T& b) {
  if constexpr (std::is_arithmetic<T>::value) {
    return a < b ? a : b;
  } else {
    return Select(a < b, a, b);
  }
}
template <class V>
TFC_EW_INLINE V Abs(const V& a) {
  typedef IntVec<V> VI;
  return (V)((VI)a & SplatI<VI>(0x7fffffff));
}
TFC_EW_INLINE float Abs(float a) { return std::fabs(a); }

// Clamp to [lo, hi] that keeps NaN (a fused activation never turns NaN into a
// number).
template <class T>
TFC_EW_INLINE T ClampKeepNaN(const T& x, const T& lo, const T& hi) {
  if constexpr (std::is_arithmetic<T>::value) {
    return x < lo ? lo : (hi < x ? hi : x);
  } else {
    // Max(lo, x) keeps x when it is NaN; so does Min(hi, .).
    return Min(hi, Max(lo, x));
  }
}

// Round to nearest integer (ties to even) for |x| < 2^22.
template <class V>
TFC_EW_INLINE V RoundSmall(const V& x) {
  const V magic = Splat<V>(12582912.0f);  // 1.5 * 2^23
  return (x + magic) - magic;
}

// e^x, all lanes. Relative error about 2 ulp over the normal range; exact
// inf/0 outside it, NaN propagates. Cody-Waite reduction x = n ln2 + r,
// |r| <= ln2/2, and the degree-7 Taylor polynomial of e^r (truncation error
// below 1e-8 relative on that interval); 2^n is applied as two factors so
// that results near the ends of the range neither overflow early nor lose
// subnormals.
template <class V>
TFC_EW_INLINE V Exp(const V& x) {
  typedef IntVec<V> VI;
  const V xc = Min(Max(x, Splat<V>(-104.0f)), Splat<V>(89.0f));
  const V n = RoundSmall(xc * Splat<V>(1.44269504088896341f));
  V r = xc - n * Splat<V>(0.693359375f);
  r = r - n * Splat<V>(-2.12194440e-4f);
  V p = Splat<V>(1.0f / 5040.0f);
  p = p * r + Splat<V>(1.0f / 720.0f);
  p = p * r + Splat<V>(1.0f / 120.0f);
  p = p * r + Splat<V>(1.0f / 24.0f);
  p = p * r + Splat<V>(1.0f / 6.0f);
  p = p * r + Splat<V>(0.5f);
  p = p * r + Splat<V>(1.0f);
  p = p * r + Splat<V>(1.0f);
  // n in [-150, 129]: two halves that are each a normal power of 2.
  const VI ni = __builtin_convertvector(n, VI);
  const VI n1 = ni >> 1;  // floor(n / 2)
  const VI n2 = ni - n1;
  const V s1 = (V)((n1 + 127) << 23);
  const V s2 = (V)((n2 + 127) << 23);
  const V y = (p * s1) * s2;
  return Select(x != x, x, y);  // NaN in, NaN out
}
TFC_EW_INLINE v4f Exp4(v4f x) { return Exp(x); }

inline float ExpScalar(float x) {
  v4f v = Exp(Splat<v4f>(x));
  return v[0];
}

// tanh: below |x| = 0.625 an odd polynomial (least-squares fit of tanh(x)/x
// in x^2, about 1 ulp); above, 1 - 2 / (e^{2|x|} + 1) (exactly 1 once e^ is
// inf). Sign restored from x; NaN propagates.
template <class V>
TFC_EW_INLINE V Tanh(const V& x) {
  typedef IntVec<V> VI;
  const V ax = Abs(x);
  const V t = ax * ax;
  V p = Splat<V>(-0.005731194745749235f);
  p = p * t + Splat<V>(0.020664723590016365f);
  p = p * t + Splat<V>(-0.053748443722724915f);
  p = p * t + Splat<V>(0.13331560790538788f);
  p = p * t + Splat<V>(-0.3333328664302826f);
  p = p * t + Splat<V>(1.0f);
  const V small = ax * p;
  const V one = Splat<V>(1.0f);
  const V big = one - Splat<V>(2.0f) / (Exp(ax + ax) + one);
  const V r = Select(ax < Splat<V>(0.625f), small, big);
  const VI sign = (VI)x & SplatI<VI>(static_cast<int32_t>(0x80000000u));
  return (V)((VI)r | sign);
}

// 1 / (1 + e^{-x}).
template <class V>
TFC_EW_INLINE V Logistic(const V& x) {
  const V one = Splat<V>(1.0f);
  return one / (one + Exp(-x));
}

// The standard normal CDF, Phi(x) = erfc(-x / sqrt 2) / 2. With z = |x|/sqrt2:
// z < 1: erf(z) = z P(z^2) (least-squares fit, about 2e-7 absolute);
// z >= 1: erfc(z) = t e^{-z^2 + Q(t)}, t = 1 / (1 + z/2) (fit of the log,
// about 6e-8 absolute). Phi(x) = 1/2 +- erf/2, or erfc/2 resp. 1 - erfc/2.
template <class V>
TFC_EW_INLINE V NormalCdf(const V& x) {
  const V half = Splat<V>(0.5f), one = Splat<V>(1.0f);
  const V z = Abs(x) * Splat<V>(0.70710678118654752f);
  const V z2 = z * z;
  V p = Splat<V>(-0.000569671334233135f);
  p = p * z2 + Splat<V>(0.004934519063681364f);
  p = p * z2 + Splat<V>(-0.026726989075541496f);
  p = p * z2 + Splat<V>(0.11280789226293564f);
  p = p * z2 + Splat<V>(-0.37612414360046387f);
  p = p * z2 + Splat<V>(1.1283791065216064f);
  const V erf_small = z * p;
  const V t = one / (one + half * z);
  V q = Splat<V>(-0.14007525146007538f);
  q = q * t + Splat<V>(0.6407837867736816f);
  q = q * t + Splat<V>(-0.9087882041931152f);
  q = q * t + Splat<V>(0.32223060727119446f);
  q = q * t + Splat<V>(-0.04319842532277107f);
  q = q * t + Splat<V>(0.39801812171936035f);
  q = q * t + Splat<V>(0.9977221488952637f);
  q = q * t + Splat<V>(-1.2654175758361816f);
  const V erfc_big = t * Exp(q - z2);
  const V negative = Splat<V>(0.0f);
  const auto is_small = z < one;
  const auto is_neg = x < negative;
  // Phi for x >= 0 and for x < 0 from each branch.
  const V pos = Select(is_small, half + half * erf_small, one - half * erfc_big);
  const V neg = Select(is_small, half - half * erf_small, half * erfc_big);
  const V r = Select(is_neg, neg, pos);
  return Select(x != x, x, r);
}

// Applies f (vector -> vector) to n floats; the tail goes through a padded
// block so that every element gets the same arithmetic.
template <class V, class F>
TFC_EW_INLINE void MapV(const float* __restrict in, float* __restrict out, int64_t n, const F& f) {
  constexpr int L = Lanes<V>();
  int64_t i = 0;
  for (; i + 2 * L <= n; i += 2 * L) {
    const V a = Load<V>(in + i);
    const V b = Load<V>(in + i + L);
    Store<V>(out + i, f(a));
    Store<V>(out + i + L, f(b));
  }
  for (; i + L <= n; i += L) Store<V>(out + i, f(Load<V>(in + i)));
  if (i < n) {
    float tmp[L];
    const int64_t rest = n - i;
    for (int j = 0; j < L; ++j) tmp[j] = j < rest ? in[i + j] : 0.0f;
    Store<V>(tmp, f(Load<V>(tmp)));
    for (int64_t j = 0; j < rest; ++j) out[i + j] = tmp[j];
  }
}
template <class F>
inline void Map4(const float* __restrict in, float* __restrict out, int64_t n, F f) {
  MapV<v4f>(in, out, n, f);
}

#if TFC_EW_AVX2
template <class F>
TFC_EW_TARGET_AVX2 void MapAvx2(const float* __restrict in, float* __restrict out, int64_t n,
                                const F& f) {
  MapV<v8f>(in, out, n, f);
}
#endif

// Whether the AVX2 variants may run (checked once).
inline bool UseAvx2() {
#if TFC_EW_AVX2
  static const bool use = cpu::HasAvx2Fma();
  return use;
#else
  return false;
#endif
}

// out[i] = f(in[i]) with f a functor `template <class V> V operator()(V)`.
template <class F>
inline void MapFloat(const float* in, float* out, int64_t n, const F& f) {
#if TFC_EW_AVX2
  if (UseAvx2()) {
    MapAvx2(in, out, n, f);
    return;
  }
#endif
  MapV<v4f>(in, out, n, f);
}

// Elementwise loops split over the pool only when big enough to pay for it.
constexpr int64_t kParallelMinElements = 1 << 16;       // memory-bound ops
// exp/tanh/erf...: 0.6 ns an element (AVX2), so 4K elements are 2.5 us of
// work per thread: YOLO's 735x21 LOGISTIC (15K) ran on one thread, 9.8 us.
constexpr int64_t kParallelMinElementsHeavy = 1 << 12;
// Binary arithmetic (ADD, MUL, ...) splits sooner: its inputs are mostly two
// layers' fresh outputs, half of them in the other core's cache at 2 threads;
// split, each thread reads the half its own core wrote. MobileNet v2 float32's
// ten ADDs (8K-75K elements) went from 41 to 33 us per invoke in all.
constexpr int64_t kParallelMinElementsBinary = 1 << 12;

// fn(begin, end) over [0, n): on the calling thread alone when n is small,
// otherwise split over the pool in chunks of at least min_chunk elements.
template <class Fn>
inline void ParallelElements(OpContext& ctx, int64_t n, int64_t min_chunk, Fn&& fn) {
  if (n <= 0) return;
  if (n < 2 * min_chunk || ctx.num_threads() <= 1) {
    fn(int64_t{0}, n);
    return;
  }
  ctx.pool().ParallelFor(n, min_chunk, fn);
}

// Types whose kernels need quantization parameters (added by another issue).
inline bool IsQuantizedIntType(TfLiteType t) {
  return t == kTfLiteInt8 || t == kTfLiteUInt8 || t == kTfLiteInt16;
}

// Prepare helper: the kUnresolvedOps error for quantized int inputs.
inline TfLiteStatus RejectQuantized(OpContext& ctx, TfLiteType t) {
  return ctx.ErrorStatus(kTfLiteUnresolvedOps, "%s inputs are not supported yet", TypeName(t));
}

// Same quantization parameters (both absent counts as equal).
inline bool SameQuantization(const TfLiteTensor* a, const TfLiteTensor* b) {
  return a->quant.scale == b->quant.scale && a->quant.zero_point == b->quant.zero_point &&
         (a->quant.scale.size() <= 1 || a->quant.quantized_dimension == b->quant.quantized_dimension);
}

// Clamp bounds of a fused activation for an arithmetic type.
template <class T>
struct Clamp {
  T lo, hi;
};
template <class T>
inline Clamp<T> ClampFor(const FloatRange& r) {
  Clamp<T> c;
  if constexpr (std::is_floating_point<T>::value) {
    c.lo = static_cast<T>(r.lo);
    c.hi = static_cast<T>(r.hi);
  } else {
    c.lo = std::isinf(r.lo) ? std::numeric_limits<T>::lowest() : static_cast<T>(r.lo);
    c.hi = std::isinf(r.hi) ? std::numeric_limits<T>::max() : static_cast<T>(r.hi);
  }
  return c;
}

// Element count of a shape; false when a dim is negative or the product
// overflows int64.
inline bool CheckedNumElements(const std::vector<int32_t>& dims, int64_t* n) {
  int64_t p = 1;
  for (int32_t d : dims) {
    if (d < 0 || __builtin_mul_overflow(p, static_cast<int64_t>(d), &p)) return false;
  }
  *n = p;
  return true;
}

// Wrapping integer arithmetic (two's complement, no UB on overflow).
template <class T>
inline T WrapAdd(T a, T b) {
  typedef typename std::make_unsigned<T>::type U;
  return static_cast<T>(static_cast<U>(static_cast<U>(a) + static_cast<U>(b)));
}
template <class T>
inline T WrapSub(T a, T b) {
  typedef typename std::make_unsigned<T>::type U;
  return static_cast<T>(static_cast<U>(static_cast<U>(a) - static_cast<U>(b)));
}
template <class T>
inline T WrapMul(T a, T b) {
  typedef typename std::make_unsigned<T>::type U;
  // unsigned short/char promote to int: multiply as unsigned int at least.
  typedef typename std::conditional<(sizeof(U) < sizeof(unsigned)), unsigned, U>::type W;
  return static_cast<T>(
      static_cast<U>(static_cast<W>(static_cast<U>(a)) * static_cast<W>(static_cast<U>(b))));
}
template <class T>
inline T WrapNeg(T a) {
  return WrapSub<T>(T(0), a);
}

}  // namespace ew
}  // namespace tfc
