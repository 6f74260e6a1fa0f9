// Reductions over a set of axes: MEAN, SUM, REDUCE_PROD, REDUCE_MAX,
// REDUCE_MIN, REDUCE_ANY, REDUCE_ALL. Inputs (input, axis); axis is an int
// scalar or vector, entries may be negative and repeat; an empty axis list
// copies the input. keep_dims (ReducerOptions) keeps reduced dims as 1.
// Types: MEAN float32; SUM and REDUCE_PROD float32/int32/int64; REDUCE_MAX
// and REDUCE_MIN float32/int32/int64 and int8/uint8/int16 with the output's
// quantization; REDUCE_ANY/ALL bool. A non-constant axis makes the output
// dynamic.
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/util/index_util.h"

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

template <Kind K, class T>
void RunReduce(const T* in, T* out, int64_t out_count, const ReducePlan& p) {
  using R = Reducer<K, T>;
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
    T* o = out;
    for (;;) {
      if (inner_reduced) {
        T acc = *o;
        for (int64_t j = 0; j < len; ++j) acc = R::Apply(acc, in[j]);
        *o = acc;
      } else {
        T* __restrict oo = o;
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
  if constexpr (K == Kind::kMean) {
    const T count = static_cast<T>(p.reduce_count);
    for (int64_t i = 0; i < out_count; ++i) out[i] = out[i] / count;
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

 private:
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
        ok = t == kTfLiteFloat32;
        break;
      case Kind::kSum:
      case Kind::kProd:
        ok = t == kTfLiteFloat32 || t == kTfLiteInt32 || t == kTfLiteInt64;
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
