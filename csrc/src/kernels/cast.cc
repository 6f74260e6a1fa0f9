// CAST between float32, float16, float64, int8, uint8, int16, uint16, int32,
// uint32, int64, uint64 and bool (the tensors' types decide; the options'
// in/out types are informational).
//
//   float -> integer: truncation toward zero, saturating at the target's
//                     range; NaN gives the target's maximum
//   integer -> integer: two's complement wrap (keep the low bits)
//   anything -> bool: value != 0 (NaN is true); bool -> number: 0 or 1
//   -> float16: round to nearest even, overflow to inf
// Values are converted as plain numbers: quantization parameters play no part.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "kernels/kernel.h"
#include "kernels/util/elementwise.h"

namespace tfc {
namespace {

struct Half {
  uint16_t bits;
};

inline uint32_t FloatBits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
inline float BitsFloat(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

inline float HalfToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t e = (h >> 10) & 0x1fu;
  const uint32_t m = h & 0x3ffu;
  if (e == 0) {
    const float v = static_cast<float>(m) * 5.9604644775390625e-8f;  // m * 2^-24
    return BitsFloat(FloatBits(v) | sign);
  }
  if (e == 31) return BitsFloat(sign | 0x7f800000u | (m << 13));
  return BitsFloat(sign | ((e + 112u) << 23) | (m << 13));
}

inline uint16_t FloatToHalf(float f) {
  const uint32_t u = FloatBits(f);
  const uint32_t sign = (u >> 16) & 0x8000u;
  uint32_t a = u & 0x7fffffffu;
  if (a >= 0x7f800000u) {  // inf, NaN (kept quiet, top payload bits kept)
    return static_cast<uint16_t>(sign | 0x7c00u | (a > 0x7f800000u ? 0x200u | ((a >> 13) & 0x3ffu) : 0u));
  }
  if (a >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // >= 65520: inf
  if (a < 0x38800000u) {
    // Below 2^-14: a multiple of 2^-24. Adding 0.5 puts 2^-24 at the last
    // mantissa bit, so the float adder does the round-to-nearest-even.
    const float t = BitsFloat(a) + 0.5f;
    return static_cast<uint16_t>(sign | (FloatBits(t) - 0x3f000000u));
  }
  const uint32_t odd = (a >> 13) & 1u;
  a = a - 0x38000000u + 0xfffu + odd;  // rebias 127 -> 15 and round
  return static_cast<uint16_t>(sign | (a >> 13));
}

template <class T>
constexpr bool IsFloatLike() {
  return std::is_floating_point<T>::value || std::is_same<T, Half>::value;
}

// Float value to integer type I: saturating truncation, NaN -> max.
template <class I>
inline I SaturatingFromDouble(double v) {
  if (v != v) return std::numeric_limits<I>::max();
  // 2^(digits) is the first value above the range (exactly representable).
  const double upper = std::ldexp(1.0, std::numeric_limits<I>::digits);
  if (v >= upper) return std::numeric_limits<I>::max();
  if (v <= static_cast<double>(std::numeric_limits<I>::min())) return std::numeric_limits<I>::min();
  return static_cast<I>(v);
}

template <class From>
inline double ToDouble(From v) {
  if constexpr (std::is_same<From, Half>::value) {
    return HalfToFloat(v.bits);
  } else {
    return static_cast<double>(v);
  }
}

template <class To, class From>
inline To Convert(From v) {
  if constexpr (std::is_same<To, bool>::value) {
    if constexpr (std::is_same<From, Half>::value) {
      return (v.bits & 0x7fffu) != 0;
    } else {
      return v != From(0);
    }
  } else if constexpr (std::is_same<From, bool>::value) {
    if constexpr (std::is_same<To, Half>::value) {
      return Half{static_cast<uint16_t>(v ? 0x3c00u : 0u)};
    } else {
      return static_cast<To>(v ? 1 : 0);
    }
  } else if constexpr (std::is_same<To, Half>::value) {
    if constexpr (std::is_same<From, Half>::value) {
      return v;
    } else {
      return Half{FloatToHalf(static_cast<float>(v))};
    }
  } else if constexpr (std::is_floating_point<To>::value) {
    if constexpr (std::is_same<From, Half>::value) {
      return static_cast<To>(HalfToFloat(v.bits));
    } else {
      return static_cast<To>(v);
    }
  } else if constexpr (IsFloatLike<From>()) {  // float -> integer
    return SaturatingFromDouble<To>(ToDouble(v));
  } else {  // integer -> integer: keep the low bits
    typedef typename std::make_unsigned<To>::type U;
    return static_cast<To>(static_cast<U>(v));
  }
}

// Storage type of each tensor type we convert (bool is read as bytes).
template <class To, class From>
void ConvertAll(const void* in, void* out, int64_t n) {
  typedef typename std::conditional<std::is_same<From, bool>::value, uint8_t, From>::type InStore;
  const InStore* __restrict x = static_cast<const InStore*>(in);
  To* __restrict y = static_cast<To*>(out);
  for (int64_t i = 0; i < n; ++i) {
    if constexpr (std::is_same<From, bool>::value) {
      y[i] = Convert<To, bool>(x[i] != 0);
    } else {
      y[i] = Convert<To, From>(x[i]);
    }
  }
}

bool Supported(TfLiteType t) {
  switch (t) {
    case kTfLiteFloat32: case kTfLiteFloat16: case kTfLiteFloat64:
    case kTfLiteInt8: case kTfLiteUInt8: case kTfLiteInt16: case kTfLiteUInt16:
    case kTfLiteInt32: case kTfLiteUInt32: case kTfLiteInt64: case kTfLiteUInt64:
    case kTfLiteBool:
      return true;
    default:
      return false;
  }
}

template <class From>
void ConvertFrom(TfLiteType to, const void* in, void* out, int64_t n) {
  switch (to) {
    case kTfLiteFloat32: ConvertAll<float, From>(in, out, n); break;
    case kTfLiteFloat16: ConvertAll<Half, From>(in, out, n); break;
    case kTfLiteFloat64: ConvertAll<double, From>(in, out, n); break;
    case kTfLiteInt8: ConvertAll<int8_t, From>(in, out, n); break;
    case kTfLiteUInt8: ConvertAll<uint8_t, From>(in, out, n); break;
    case kTfLiteInt16: ConvertAll<int16_t, From>(in, out, n); break;
    case kTfLiteUInt16: ConvertAll<uint16_t, From>(in, out, n); break;
    case kTfLiteInt32: ConvertAll<int32_t, From>(in, out, n); break;
    case kTfLiteUInt32: ConvertAll<uint32_t, From>(in, out, n); break;
    case kTfLiteInt64: ConvertAll<int64_t, From>(in, out, n); break;
    case kTfLiteUInt64: ConvertAll<uint64_t, From>(in, out, n); break;
    case kTfLiteBool: ConvertAll<bool, From>(in, out, n); break;
    default: break;
  }
}

void ConvertTensor(TfLiteType from, TfLiteType to, const void* in, void* out, int64_t n) {
  switch (from) {
    case kTfLiteFloat32: ConvertFrom<float>(to, in, out, n); break;
    case kTfLiteFloat16: ConvertFrom<Half>(to, in, out, n); break;
    case kTfLiteFloat64: ConvertFrom<double>(to, in, out, n); break;
    case kTfLiteInt8: ConvertFrom<int8_t>(to, in, out, n); break;
    case kTfLiteUInt8: ConvertFrom<uint8_t>(to, in, out, n); break;
    case kTfLiteInt16: ConvertFrom<int16_t>(to, in, out, n); break;
    case kTfLiteUInt16: ConvertFrom<uint16_t>(to, in, out, n); break;
    case kTfLiteInt32: ConvertFrom<int32_t>(to, in, out, n); break;
    case kTfLiteUInt32: ConvertFrom<uint32_t>(to, in, out, n); break;
    case kTfLiteInt64: ConvertFrom<int64_t>(to, in, out, n); break;
    case kTfLiteUInt64: ConvertFrom<uint64_t>(to, in, out, n); break;
    case kTfLiteBool: ConvertFrom<bool>(to, in, out, n); break;
    default: break;
  }
}

class Cast final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override {
    TFC_ENSURE(ctx, ctx.num_inputs() == 1 && ctx.num_outputs() == 1);
    const TfLiteTensor* in = ctx.input(0);
    const TfLiteTensor* out = ctx.output(0);
    TFC_ENSURE(ctx, in != nullptr && out != nullptr);
    TFC_ENSURE_MSG(ctx, Supported(in->type) && Supported(out->type),
                   "casting %s to %s is not supported", TypeName(in->type), TypeName(out->type));
    return ctx.ResizeOutput(0, in->dims);
  }

  TfLiteStatus Eval(OpContext& ctx) override {
    const TfLiteTensor* in = ctx.input(0);
    TfLiteTensor* out = ctx.output(0);
    const TfLiteType from = in->type, to = out->type;
    const char* x = static_cast<const char*>(in->data);
    char* y = static_cast<char*>(out->data);
    const size_t in_size = TypeSize(from), out_size = TypeSize(to);
    auto body = [&](int64_t begin, int64_t end) {
      ConvertTensor(from, to, x + begin * in_size, y + begin * out_size, end - begin);
    };
    ew::ParallelElements(ctx, in->num_elements(), ew::kParallelMinElements, body);
    return kTfLiteOk;
  }
};

}  // namespace

TFC_REGISTER_OP(CAST, 1, 9, Cast);

}  // namespace tfc
