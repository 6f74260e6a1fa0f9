// Reductions over a set of axes: MEAN, SUM, REDUCE_PROD, REDUCE_MAX,
// REDUCE_MIN, REDUCE_ANY, REDUCE_ALL. Inputs (input, axis); axis is an int
// scalar or vector, entries may be negative and repeat; an empty axis list
// copies the input. keep_dims (ReducerOptions) keeps reduced dims as 1.
// Types: MEAN float32 and int8/uint8/int16; SUM float32/int32/int64 and
// int8/uint8/int16; REDUCE_PROD float32/int32/int64 and int8/int16; REDUCE_MAX
// and REDUCE_MIN float32/int32/int64 and int8/uint8/int16 with the output's
// quantization; REDUCE_ANY/ALL bool. A non-constant axis makes the output
// dynamic.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/util/index_util.h"
#include "kernels/util/quant_lut.h"
#include "kernels/util/quant_math.h"
#include "kernels/util/quant_params.h"

namespace tfc {
namespace {

enum class Kind { kMean, kSum, kProd, kMax, kMin, kAny, kAll };

// Input dims with size-1 dims dropped and neighbours of the same kind
// (reduced or kept) merged.
struct ReducePlan {
  int n = 0;
  int64_t size[dm::kMaxRank];
  bool reduced[dm::kMaxRank];
  int64_t reduce_count = 1;  // input elements per output element
};

template <class T>
struct Ops {
  // Wrapping integer arithmetic without signed-overflow UB.
  static T Add(T a, T b) {
    if constexpr (std::is_integral<T>::value) {
      using U = typename std::make_unsigned<T>::type;
      return static_cast<T>(static_cast<U>(a) + static_cast<U>(b));
    } else {
      return a + b;
    }
  }
  static T Mul(T a, T b) {
    if constexpr (std::is_integral<T>::value) {
      using U = typename std::make_unsigned<T>::type;
      return static_cast<T>(static_cast<U>(a) * static_cast<U>(b));
    } else {
      return a * b;
    }
  }
};

template <Kind K, class T>
struct Reducer {
  static T Identity() {
    if constexpr (K == Kind::kSum || K == Kind::kMean) return T(0);
    if constexpr (K == Kind::kProd) return T(1);
    if constexpr (K == Kind::kMax) {
      if constexpr (std::is_floating_point<T>::value) return -std::numeric_limits<T>::infinity();
      else return std::numeric_limits<T>::lowest();
    }
    if constexpr (K == Kind::kMin) {
      if constexpr (std::is_floating_point<T>::value) return std::numeric_limits<T>::infinity();
      else return std::numeric_limits<T>::max();
    }
    if constexpr (K == Kind::kAny) return T(false);
    if constexpr (K == Kind::kAll) return T(true);
    return T(0);
  }
  static T Apply(T acc, T v) {
    if constexpr (K == Kind::kSum || K == Kind::kMean) return Ops<T>::Add(acc, v);
    if constexpr (K == Kind::kProd) return Ops<T>::Mul(acc, v);
    if constexpr (K == Kind::kMax) return v > acc ? v : acc;
    if constexpr (K == Kind::kMin) return v < acc ? v : acc;
    if constexpr (K == Kind::kAny) return acc || v;
    if constexpr (K == Kind::kAll) return acc && v;
    return acc;
  }
};

// Reduces `in` into `out` (of type A, the accumulator: T itself, or int32 for
// the sums of quantized values).
template <Kind K, class T, class A = T>
void RunReduce(const T* in, A* out, int64_t out_count, const ReducePlan& p) {
  using R = Reducer<K, A>;
  for (int64_t i = 0; i < out_count; ++i) out[i] = R::Identity();
  if (p.n == 0) {
    out[0] = R::Apply(out[0], in[0]);
  } else {
    // Output strides of the plan's dims (0 for reduced dims).
    int64_t ostride[dm::kMaxRank];
    int64_t s = 1;
    for (int d = p.n - 1; d >= 0; --d) {
      ostride[d] = p.reduced[d] ? 0 : s;
      if (!p.reduced[d]) s *= p.size[d];
    }
    const int inner = p.n - 1;
    const int64_t len = p.size[inner];
    const bool inner_reduced = p.reduced[inner];
    int64_t idx[dm::kMaxRank] = {0};
    A* o = out;
    for (;;) {
      if (inner_reduced) {
        A acc = *o;
        for (int64_t j = 0; j < len; ++j) acc = R::Apply(acc, in[j]);
        *o = acc;
      } else {
        A* __restrict oo = o;
        const T* __restrict ii = in;
        for (int64_t j = 0; j < len; ++j) oo[j] = R::Apply(oo[j], ii[j]);
      }
      in += len;
      int k = inner - 1;
      for (; k >= 0; --k) {
        o += ostride[k];
        if (++idx[k] < p.size[k]) break;
        o -= ostride[k] * p.size[k];
        idx[k] = 0;
      }
      if (k < 0) break;
    }
  }
  if constexpr (K == Kind::kMean && std::is_same<T, A>::value) {
    const T count = static_cast<T>(p.reduce_count);
    for (int64_t i = 0; i < out_count; ++i) out[i] = out[i] / count;
  }
}

// Sums of 8-bit values over the middle dim of [outer, rows, len] (added to
// sums, [outer, len]): as MEAN over H and W of a [N, H, W, C] image. Up to 256
// rows at a time are summed in 16-bit lanes (256 * 255 fits 16 bits, for
// int8 too), which the compiler vectorizes twice as wide as int32 sums and
// with fewer widenings: MobileNet's 7x7x1280 mean took 21 us one element at a
// time into int32.
template <class T>
void ColumnSums8(const T* in, int64_t outer, int64_t rows, int64_t len, int32_t* sums,
                 std::vector<uint16_t>& part_buf) {
  static_assert(sizeof(T) == 1, "8-bit values");
  using P = typename std::conditional<std::is_signed<T>::value, int16_t, uint16_t>::type;
  part_buf.resize(static_cast<size_t>(len));
  P* __restrict part = reinterpret_cast<P*>(part_buf.data());
  for (int64_t b = 0; b < outer; ++b, sums += len) {
    for (int64_t r0 = 0; r0 < rows; r0 += 256) {
      const int64_t r1 = std::min(rows, r0 + 256);
      std::memset(part, 0, static_cast<size_t>(len) * sizeof(P));
      for (int64_t r = r0; r < r1; ++r) {
        const T* __restrict x = in + (b * rows + r) * len;
        for (int64_t j = 0; j < len; ++j) part[j] = static_cast<P>(part[j] + x[j]);
      }
      for (int64_t j = 0; j < len; ++j) sums[j] += part[j];
    }
  }
}

template <Kind K>
class Reduce final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override {
    TFC_ENSURE_MSG(ctx, ctx.num_inputs() == 2 && ctx.num_outputs() == 1,
                   "expects 2 inputs and 1 output");
    const TfLiteTensor* in = ctx.input(0);
    const TfLiteTensor* axis = ctx.input(1);
    TfLiteTensor* out = ctx.output(0);
    TFC_ENSURE(ctx, in != nullptr && out != nullptr);
    TFC_ENSURE_MSG(ctx, in->type == out->type, "input has type %s, output %s",
                   TypeName(in->type), TypeName(out->type));
    TFC_OK(CheckType(ctx, in, out));
    TFC_ENSURE_MSG(ctx, in->rank() <= dm::kMaxRank, "rank %d is above the supported %d",
                   in->rank(), dm::kMaxRank);
    TFC_OK(dm::CheckIndexType(ctx, axis, "axis"));
    const auto* o = ctx.options<fb::ReducerOptions>();
    keep_dims_ = o ? o->keep_dims() : false;
    dims_.reserve(static_cast<size_t>(in->rank()));
    if (!axis->is_constant()) {
      ctx.MarkOutputDynamic(0);
      return kTfLiteOk;
    }
    TFC_OK(MakePlan(ctx));
    return ctx.ResizeOutput(0, dims_);
  }

  TfLiteStatus Eval(OpContext& ctx) override {
    if (!ctx.input(1)->is_constant()) {
      TFC_OK(MakePlan(ctx));
      TFC_OK(ctx.ResizeOutput(0, dims_));
    }
    const TfLiteTensor* in = ctx.input(0);
    TfLiteTensor* out = ctx.output(0);
    const int64_t out_count = out->num_elements();
    if (out_count == 0) return kTfLiteOk;
    if (K == Kind::kProd && (in->type == kTfLiteInt8 || in->type == kTfLiteInt16)) {
      if (in->type == kTfLiteInt8) return RunQuantProd<int8_t>(ctx, in, out, out_count);
      return RunQuantProd<int16_t>(ctx, in, out, out_count);
    }
    if ((K == Kind::kMean || K == Kind::kSum) && dm::IsQuantizedType(in->type)) {
      switch (in->type) {
        case kTfLiteInt8: return RunQuant<int8_t>(ctx, in, out, out_count);
        case kTfLiteUInt8: return RunQuant<uint8_t>(ctx, in, out, out_count);
        default: return RunQuant<int16_t>(ctx, in, out, out_count);
      }
    }
    switch (in->type) {
      case kTfLiteFloat32: Run<float>(in, out, out_count); break;
      case kTfLiteInt32: Run<int32_t>(in, out, out_count); break;
      case kTfLiteInt64: Run<int64_t>(in, out, out_count); break;
      case kTfLiteInt8: Run<int8_t>(in, out, out_count); break;
      case kTfLiteUInt8: Run<uint8_t>(in, out, out_count); break;
      case kTfLiteInt16: Run<int16_t>(in, out, out_count); break;
      case kTfLiteBool: Run<bool>(in, out, out_count); break;
      default: return ctx.Error("unexpected type %s", TypeName(in->type));
    }
    return kTfLiteOk;
  }

  size_t OwnedBytes() const override { return HeapBytes(sums_, part_, prods_, seen_, dims_); }

 private:
  // Quantized MEAN and SUM, as TFLite's builtin kernels compute them:
  // - MEAN of int8/uint8 over H and W of a 4-D input with keep_dims (axis
  //   given as {1, 2} or {2, 1}): the optimized kernel. Raw sums per channel,
  //   times in_scale / (count out_scale) as a fixed-point multiplier, plus
  //   out_zp - round(in_zp in_scale / out_scale) (in float); channels in
  //   blocks of 16 round the final shift half up (SIMD), the rest as
  //   MultiplyByQuantizedMultiplier.
  // - other MEAN: the integer mean of TFLite's builtin kernel: the sum of
  //   (q - in_zp) times in_scale / (out_scale count) as one fixed-point
  //   multiplier (see there), + out_zp, clamped.
  // - SUM in float: round(sum s - in_zp s count) + out_zp, s = in_scale /
  //   out_scale, clamped.
  template <class T>
  TfLiteStatus RunQuant(OpContext& ctx, const TfLiteTensor* in, TfLiteTensor* out,
                        int64_t out_count) {
    float si, so;
    int32_t zi, zo;
    TFC_OK(qp::PerTensor(ctx, in, &si, &zi));
    TFC_OK(qp::PerTensor(ctx, out, &so, &zo));
    T* o = out->data_as<T>();
    const int32_t tmin = std::numeric_limits<T>::min(), tmax = std::numeric_limits<T>::max();
    if (in->num_elements() == 0) {
      for (int64_t i = 0; i < out_count; ++i) o[i] = 0;
      return kTfLiteOk;
    }
    sums_.assign(static_cast<size_t>(out_count), 0);
    const ReducePlan& pl = plan_;  // [outer, rows, len] with the rows reduced: ColumnSums8
    const bool columns = pl.n >= 2 && pl.n <= 3 && !pl.reduced[pl.n - 1] && pl.reduced[pl.n - 2] &&
                         (pl.n == 2 || !pl.reduced[0]);
    if constexpr (sizeof(T) == 1) {
      if (columns)
        ColumnSums8(in->data_as<const T>(), pl.n == 3 ? pl.size[0] : 1, pl.size[pl.n - 2],
                    pl.size[pl.n - 1], sums_.data(), part_);
    }
    if (sizeof(T) != 1 || !columns)
      RunReduce<Kind::kSum, T, int32_t>(in->data_as<const T>(), sums_.data(), out_count, plan_);
    const int64_t count = plan_.reduce_count;
    if (K == Kind::kMean && mean_hw_ && sizeof(T) == 1) {
      const int depth = in->dim(3);
      const float n = static_cast<float>(int64_t{in->dim(1)} * in->dim(2));
      float temp = static_cast<float>(zi) * si / so;
      temp = temp > 0 ? temp + 0.5f : temp - 0.5f;
      // x86's conversion (INT32_MIN when out of range) and a wrapping subtraction, as the official
      // kernel computes it on the machines it is compared with; no UB for hostile scales.
      const int32_t bias = WrapToInt32(int64_t{zo} - TruncToInt32X86(temp));
      int32_t m;
      int shift;
      QuantizeMultiplier(static_cast<double>(si / (n * so)), &m, &shift);
      const int blocks = depth / 16 * 16;
      for (int64_t i = 0; i < out_count; ++i) {
        const int d = static_cast<int>(i % depth);
        int32_t v;
        if (d < blocks) {
          const int left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
          v = SaturatingRoundingDoublingHighMul(WrappingShiftLeft(sums_[i], left), m);
          if (right > 0) v = static_cast<int32_t>((int64_t{v} + (int64_t{1} << (right - 1))) >> right);
        } else {
          v = MultiplyByQuantizedMultiplier(sums_[i], m, shift);
        }
        v = WrapToInt32(int64_t{v} + bias);
        o[i] = static_cast<T>(std::min(tmax, std::max(tmin, v)));
      }
      return kTfLiteOk;
    }
    if (K == Kind::kMean) {
      // M = in_scale / out_scale as (m0, e0); the division by the count is
      // folded in: m = (m0 << k) / count (truncated), k = floor(log2 count)
      // capped at 32 and at 31 + e0, shift e0 - k.
      int32_t m0;
      int e0;
      QuantizeMultiplier(static_cast<double>(si) / static_cast<double>(so), &m0, &e0);
      int k = 63 - __builtin_clzll(static_cast<uint64_t>(count));
      k = std::min(k, 32);
      k = std::min(k, 31 + e0);
      const int32_t m = static_cast<int32_t>((static_cast<int64_t>(m0) << k) / count);
      const int shift = std::max(e0 - k, -31);
      const int32_t offset = WrapToInt32(int64_t{zi} * count);
      for (int64_t i = 0; i < out_count; ++i) {
        const int32_t acc = WrapToInt32(int64_t{sums_[i]} - offset);
        const int64_t v = int64_t{MultiplyByQuantizedMultiplier(acc, m, shift)} + zo;
        o[i] = static_cast<T>(std::min<int64_t>(tmax, std::max<int64_t>(tmin, v)));
      }
      return kTfLiteOk;
    }
    const float scale = si / so;
    {
      const float bias = -static_cast<float>(zi) * scale * static_cast<float>(count);
      for (int64_t i = 0; i < out_count; ++i) {
        const float r = RoundHalfAway(static_cast<float>(sums_[i]) * scale + bias);
        const int32_t v = SaturatingDoubleToInt32(r, INT32_MIN, INT32_MAX, 0) + zo;
        o[i] = static_cast<T>(std::min(tmax, std::max(tmin, v)));
      }
    }
    return kTfLiteOk;
  }

  // Quantized REDUCE_PROD (TFLite's rule): with s = in_scale /
  // out_scale^(1/n), n the reduced count, p = q0 - zp, then for each further
  // value p = (p * (q - zp)) * s (64-bit product, the 64-bit fixed-point
  // multiply); the result is p * s + out_zp, clamped. An empty input leaves
  // the output untouched (zeros).
  template <class T>
  TfLiteStatus RunQuantProd(OpContext& ctx, const TfLiteTensor* in, TfLiteTensor* out,
                            int64_t out_count) {
    float si, so;
    int32_t zi, zo;
    TFC_OK(qp::PerTensor(ctx, in, &si, &zi));
    TFC_OK(qp::PerTensor(ctx, out, &so, &zo));
    T* o = out->data_as<T>();
    const int64_t n_in = in->num_elements();
    if (n_in == 0) {
      for (int64_t i = 0; i < out_count; ++i) o[i] = 0;
      return kTfLiteOk;
    }
    const int64_t n = n_in / out_count;
    const double scaling =
        static_cast<double>(si) / std::pow(static_cast<double>(so), 1.0 / static_cast<double>(n));
    int32_t m;
    int shift;
    QuantizeMultiplier(scaling, &m, &shift);
    if (shift > 14)  // MultiplyByQuantizedMultiplier64's range
      return ctx.Error("quantized REDUCE_PROD: input scale / output scale^(1/%lld) = %g is too large "
                       "(at most 2^14)", static_cast<long long>(n), scaling);
    prods_.assign(static_cast<size_t>(out_count), 0);
    seen_.assign(static_cast<size_t>(out_count), 0);
    const T* x = in->data_as<const T>();
    // Output offset of each input element, in input order (plan dims).
    const ReducePlan& p = plan_;
    int64_t ostride[dm::kMaxRank];
    int64_t st = 1;
    for (int d = p.n - 1; d >= 0; --d) {
      ostride[d] = p.reduced[d] ? 0 : st;
      if (!p.reduced[d]) st *= p.size[d];
    }
    int64_t idx[dm::kMaxRank] = {0};
    int64_t off = 0;
    for (int64_t i = 0; i < n_in; ++i) {
      const int32_t v = int32_t{x[i]} - zi;
      if (!seen_[off]) {
        prods_[off] = v;
        seen_[off] = 1;
      } else {
        prods_[off] = MultiplyByQuantizedMultiplier64(int64_t{prods_[off]} * v, m, shift);
      }
      for (int d = p.n - 1; d >= 0; --d) {
        off += ostride[d];
        if (++idx[d] < p.size[d]) break;
        off -= ostride[d] * p.size[d];
        idx[d] = 0;
      }
    }
    const int32_t tmin = std::numeric_limits<T>::min(), tmax = std::numeric_limits<T>::max();
    for (int64_t i = 0; i < out_count; ++i) {
      const int64_t r = int64_t{MultiplyByQuantizedMultiplier64(prods_[i], m, shift)} + zo;
      o[i] = static_cast<T>(std::min<int64_t>(tmax, std::max<int64_t>(tmin, r)));
    }
    return kTfLiteOk;
  }

  template <class T>
  void Run(const TfLiteTensor* in, TfLiteTensor* out, int64_t out_count) {
    if constexpr ((K == Kind::kAny || K == Kind::kAll) != std::is_same<T, bool>::value) {
      return;  // excluded by CheckType
    } else if constexpr (K == Kind::kMean && !std::is_floating_point<T>::value) {
      return;  // excluded by CheckType
    } else {
      if (in->num_elements() == 0) {
        // Empty reduction: identities (MEAN divides 0 by 0).
        T* o = out->data_as<T>();
        for (int64_t i = 0; i < out_count; ++i) o[i] = Reducer<K, T>::Identity();
        if constexpr (K == Kind::kMean)
          for (int64_t i = 0; i < out_count; ++i) o[i] = o[i] / static_cast<T>(0);
        return;
      }
      RunReduce<K, T>(in->data_as<const T>(), out->data_as<T>(), out_count, plan_);
    }
  }

  static TfLiteStatus CheckType(OpContext& ctx, const TfLiteTensor* in, const TfLiteTensor* out) {
    const TfLiteType t = in->type;
    bool ok = false;
    switch (K) {
      case Kind::kMean:
      case Kind::kSum:
        ok = t == kTfLiteFloat32 || (K == Kind::kSum && (t == kTfLiteInt32 || t == kTfLiteInt64)) ||
             dm::IsQuantizedType(t);
        if (ok && dm::IsQuantizedType(t)) {
          float s;
          int32_t z;
          TFC_OK(qp::PerTensor(ctx, in, &s, &z));
          TFC_OK(qp::PerTensor(ctx, out, &s, &z));
        }
        break;
      case Kind::kProd:
        ok = t == kTfLiteFloat32 || t == kTfLiteInt32 || t == kTfLiteInt64 ||
             t == kTfLiteInt8 || t == kTfLiteInt16;
        if (ok && (t == kTfLiteInt8 || t == kTfLiteInt16)) {
          float s;
          int32_t z;
          TFC_OK(qp::PerTensor(ctx, in, &s, &z));
          TFC_OK(qp::PerTensor(ctx, out, &s, &z));
        }
        break;
      case Kind::kMax:
      case Kind::kMin:
        ok = t == kTfLiteFloat32 || t == kTfLiteInt32 || t == kTfLiteInt64 ||
             dm::IsQuantizedType(t);
        if (ok && dm::IsQuantizedType(t)) TFC_OK(dm::CheckNoRequant(ctx, in, out));
        break;
      case Kind::kAny:
      case Kind::kAll:
        ok = t == kTfLiteBool;
        break;
    }
    if (!ok) return ctx.ErrorStatus(kTfLiteUnresolvedOps, "%s inputs are not supported yet", TypeName(t));
    return kTfLiteOk;
  }

  TfLiteStatus MakePlan(OpContext& ctx) {
    const TfLiteTensor* in = ctx.input(0);
    const TfLiteTensor* axis = ctx.input(1);
    TFC_OK(dm::CheckIndexTensor(ctx, axis, "axis"));
    const int rank = in->rank();
    bool red[dm::kMaxRank] = {};
    for (int64_t i = 0; i < axis->num_elements(); ++i) {
      int a = 0;
      TFC_OK(dm::NormalizeAxis(ctx, dm::IntAt(axis, i), rank, &a));
      red[a] = true;
    }
    dims_.clear();
    plan_ = ReducePlan();
    mean_hw_ = keep_dims_ && rank == 4 && axis->num_elements() == 2 &&
               ((dm::IntAt(axis, 0) == 1 && dm::IntAt(axis, 1) == 2) ||
                (dm::IntAt(axis, 0) == 2 && dm::IntAt(axis, 1) == 1));
    for (int d = 0; d < rank; ++d) {
      const int64_t size = in->dim(d);
      if (red[d]) {
        plan_.reduce_count *= size;
        if (keep_dims_) dims_.push_back(1);
      } else {
        dims_.push_back(in->dim(d));
      }
      if (size == 1) continue;
      if (plan_.n > 0 && plan_.reduced[plan_.n - 1] == red[d]) {
        plan_.size[plan_.n - 1] *= size;
      } else {
        plan_.size[plan_.n] = size;
        plan_.reduced[plan_.n] = red[d];
        ++plan_.n;
      }
    }
    return kTfLiteOk;
  }

  bool keep_dims_ = false;
  bool mean_hw_ = false;
  std::vector<int32_t> sums_;
  std::vector<uint16_t> part_;  // ColumnSums8's 16-bit partial sums
  std::vector<int32_t> prods_;
  std::vector<uint8_t> seen_;
  ReducePlan plan_;
  std::vector<int32_t> dims_;
};

using ReduceMean = Reduce<Kind::kMean>;
using ReduceSum = Reduce<Kind::kSum>;
using ReduceProd = Reduce<Kind::kProd>;
using ReduceMax = Reduce<Kind::kMax>;
using ReduceMin = Reduce<Kind::kMin>;
using ReduceAny = Reduce<Kind::kAny>;
using ReduceAll = Reduce<Kind::kAll>;

}  // namespace

TFC_REGISTER_OP(MEAN, 1, 3, ReduceMean);
TFC_REGISTER_OP(SUM, 1, 2, ReduceSum);
TFC_REGISTER_OP(REDUCE_PROD, 1, 2, ReduceProd);
TFC_REGISTER_OP(REDUCE_MAX, 1, 3, ReduceMax);
TFC_REGISTER_OP(REDUCE_MIN, 1, 3, ReduceMin);
TFC_REGISTER_OP(REDUCE_ANY, 1, 1, ReduceAny);
TFC_REGISTER_OP(REDUCE_ALL, 1, 1, ReduceAll);

}  // namespace tfc
