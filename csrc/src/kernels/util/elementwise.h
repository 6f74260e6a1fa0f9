// Helpers shared by the elementwise, activation and normalization kernels:
// 4-lane float vectors (GCC/Clang vector extensions: SSE on x86_64, NEON on
// ARM, scalar code on ARMv6), a vectorized exp, the threading policy for
// elementwise loops, and type checks.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/util/activation.h"

namespace tfc {
namespace ew {

typedef float v4f __attribute__((vector_size(16)));
typedef int32_t v4i __attribute__((vector_size(16)));

inline v4f Load4(const float* p) {
  v4f v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
inline void Store4(float* p, v4f v) { std::memcpy(p, &v, sizeof(v)); }
inline v4f Splat4(float x) { return v4f{x, x, x, x}; }
inline v4i Splat4i(int32_t x) { return v4i{x, x, x, x}; }

// mask lanes are all ones (true) or all zeros (false), as comparisons give.
inline v4f Select(v4i mask, v4f a, v4f b) {
  return (v4f)((mask & (v4i)a) | (~mask & (v4i)b));
}
// Same NaN behaviour as the scalar forms below: the second operand wins when
// the comparison is false.
inline v4f Max(v4f a, v4f b) { return Select(a > b, a, b); }
inline v4f Min(v4f a, v4f b) { return Select(a < b, a, b); }
inline v4f Abs(v4f a) { return (v4f)((v4i)a & Splat4i(0x7fffffff)); }

template <class T>
inline T Max(T a, T b) {
  return a > b ? a : b;
}
template <class T>
inline T Min(T a, T b) {
  return a < b ? a : b;
}

// Round to nearest integer (ties to even) for |x| < 2^22, as float lanes.
inline v4f RoundSmall(v4f x) {
  const v4f magic = Splat4(12582912.0f);  // 1.5 * 2^23
  return (x + magic) - magic;
}

// e^x, all lanes. Relative error about 2 ulp over the normal range; exact
// inf/0 outside it, NaN propagates. Cody-Waite reduction x = n ln2 + r,
// |r| <= ln2/2, and the degree-7 Taylor polynomial of e^r (truncation error
// below 1e-8 relative on that interval); 2^n is applied as two factors so
// that results near the ends of the range neither overflow early nor lose
// subnormals.
inline v4f Exp4(v4f x) {
  const v4f kLog2e = Splat4(1.44269504088896341f);
  const v4f kLn2Hi = Splat4(0.693359375f);
  const v4f kLn2Lo = Splat4(-2.12194440e-4f);
  v4f xc = Min(Max(x, Splat4(-104.0f)), Splat4(89.0f));
  v4f n = RoundSmall(xc * kLog2e);
  v4f r = xc - n * kLn2Hi;
  r = r - n * kLn2Lo;
  v4f p = Splat4(1.0f / 5040.0f);
  p = p * r + Splat4(1.0f / 720.0f);
  p = p * r + Splat4(1.0f / 120.0f);
  p = p * r + Splat4(1.0f / 24.0f);
  p = p * r + Splat4(1.0f / 6.0f);
  p = p * r + Splat4(0.5f);
  p = p * r + Splat4(1.0f);
  p = p * r + Splat4(1.0f);
  // n in [-150, 129]: split in two halves that are each a normal power of 2.
  v4i ni = __builtin_convertvector(n, v4i);
  v4i n1 = ni >> 1;  // arithmetic shift: floor(n / 2)
  v4i n2 = ni - n1;
  v4f s1 = (v4f)((n1 + Splat4i(127)) << 23);
  v4f s2 = (v4f)((n2 + Splat4i(127)) << 23);
  v4f y = (p * s1) * s2;
  return Select(x != x, x, y);  // NaN in, NaN out
}

inline float ExpScalar(float x) {
  v4f v = Exp4(Splat4(x));
  return v[0];
}

// Applies f (v4f -> v4f) to n floats; the tail goes through a padded block so
// every element gets the same arithmetic.
template <class F>
inline void Map4(const float* __restrict in, float* __restrict out, int64_t n, F f) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    v4f a = Load4(in + i);
    v4f b = Load4(in + i + 4);
    Store4(out + i, f(a));
    Store4(out + i + 4, f(b));
  }
  for (; i + 4 <= n; i += 4) Store4(out + i, f(Load4(in + i)));
  if (i < n) {
    float tmp[4] = {0.f, 0.f, 0.f, 0.f};
    const int64_t rest = n - i;
    for (int64_t j = 0; j < rest; ++j) tmp[j] = in[i + j];
    Store4(tmp, f(Load4(tmp)));
    for (int64_t j = 0; j < rest; ++j) out[i + j] = tmp[j];
  }
}

// Elementwise loops split over the pool only when big enough to pay for it.
constexpr int64_t kParallelMinElements = 1 << 16;  // memory-bound ops
constexpr int64_t kParallelMinElementsHeavy = 1 << 13;  // exp/tanh/erf...

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

// Clamp that keeps NaN (a fused activation never turns NaN into a number).
inline float ClampKeepNaN(float x, float lo, float hi) { return x < lo ? lo : (hi < x ? hi : x); }
inline v4f ClampKeepNaN(v4f x, v4f lo, v4f hi) { return Select(x < lo, lo, Select(hi < x, hi, x)); }
template <class T>
inline T ClampKeepNaN(T x, T lo, T hi) {
  return x < lo ? lo : (hi < x ? hi : x);
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
  return static_cast<T>(static_cast<U>(static_cast<W>(static_cast<U>(a)) * static_cast<W>(static_cast<U>(b))));
}
template <class T>
inline T WrapNeg(T a) {
  return WrapSub<T>(T(0), a);
}

}  // namespace ew
}  // namespace tfc
