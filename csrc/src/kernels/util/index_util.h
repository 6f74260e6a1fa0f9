// Helpers shared by the data-movement kernels (reshape, slice, transpose,
// pad, tile, gather, ...): reading small integer tensors (axes, shapes,
// paddings), axis normalisation, type / quantisation checks, and byte-level
// copy loops that work for any element size.
#pragma once

#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "kernels/kernel.h"

namespace tfc {
namespace dm {

// Highest rank the fixed-size loops below handle.
constexpr int kMaxRank = 8;
// Upper bound on the element count of any shape we compute (keeps byte
// offsets far from int64 overflow for every element size).
constexpr int64_t kMaxElements = int64_t(1) << 40;

inline bool IsIndexType(TfLiteType t) { return t == kTfLiteInt32 || t == kTfLiteInt64; }

// int8/uint8/int16: types whose values carry affine quantisation.
inline bool IsQuantizedType(TfLiteType t) {
  return t == kTfLiteInt8 || t == kTfLiteUInt8 || t == kTfLiteInt16;
}

// Same per-tensor scale(s) and zero point(s) (both absent counts as same).
inline bool SameQuant(const TfLiteTensor* a, const TfLiteTensor* b) {
  return a->quant.scale == b->quant.scale && a->quant.zero_point == b->quant.zero_point;
}

// Element i of an int32/int64 tensor (type and bounds checked by the caller).
inline int64_t IntAt(const TfLiteTensor* t, int64_t i) {
  if (t->type == kTfLiteInt64) {
    int64_t v;
    std::memcpy(&v, static_cast<const uint8_t*>(t->data) + i * 8, 8);
    return v;
  }
  int32_t v;
  std::memcpy(&v, static_cast<const uint8_t*>(t->data) + i * 4, 4);
  return v;
}

// Fails unless `t` is an int32/int64 tensor of rank <= max_rank with a valid
// shape. Does not look at the data (use in Prepare for tensors that may not
// be constant).
inline TfLiteStatus CheckIndexType(OpContext& ctx, const TfLiteTensor* t, const char* what,
                                   int max_rank = 1) {
  if (t == nullptr) return ctx.Error("the %s input is missing", what);
  if (!IsIndexType(t->type))
    return ctx.Error("the %s tensor '%s' has type %s; expected INT32 or INT64", what,
                     t->name.c_str(), TypeName(t->type));
  if (t->rank() > max_rank)
    return ctx.Error("the %s tensor '%s' has rank %d; at most %d is allowed", what,
                     t->name.c_str(), t->rank(), max_rank);
  int64_t n = 1;
  for (int32_t d : t->dims) {
    if (d < 0) return ctx.Error("the %s tensor '%s' has a negative dimension", what, t->name.c_str());
    n *= d;
    if (n > kMaxElements) return ctx.Error("the %s tensor '%s' is too large", what, t->name.c_str());
  }
  return kTfLiteOk;
}

// CheckIndexType, and the data holds all elements (constant tensors in
// Prepare, any tensor in Eval).
inline TfLiteStatus CheckIndexTensor(OpContext& ctx, const TfLiteTensor* t, const char* what,
                                     int max_rank = 1) {
  TFC_OK(CheckIndexType(ctx, t, what, max_rank));
  const int64_t n = t->num_elements();
  const size_t need = static_cast<size_t>(n) * TypeSize(t->type);
  if (n > 0 && (t->data == nullptr || t->bytes < need))
    return ctx.Error("the %s tensor '%s' has no data for its %lld elements", what,
                     t->name.c_str(), static_cast<long long>(n));
  return kTfLiteOk;
}

// The single value of a 1-element int32/int64 tensor (a scalar or shape [1]).
inline TfLiteStatus ReadScalarIndex(OpContext& ctx, const TfLiteTensor* t, const char* what,
                                    int64_t* value) {
  TFC_OK(CheckIndexTensor(ctx, t, what, 1));
  if (t->num_elements() != 1)
    return ctx.Error("the %s tensor '%s' must hold exactly one value, it has %lld", what,
                     t->name.c_str(), static_cast<long long>(t->num_elements()));
  *value = IntAt(t, 0);
  return kTfLiteOk;
}

// Normalises a possibly negative axis into [0, rank).
inline TfLiteStatus NormalizeAxis(OpContext& ctx, int64_t axis, int rank, int* out) {
  if (axis < -rank || axis >= rank)
    return ctx.Error("axis %lld is out of range for rank %d", static_cast<long long>(axis), rank);
  *out = static_cast<int>(axis < 0 ? axis + rank : axis);
  return kTfLiteOk;
}

// Element count of a shape; false when a dimension is negative or the count
// exceeds kMaxElements.
inline bool CountElements(const int64_t* dims, int rank, int64_t* count) {
  int64_t n = 1;
  for (int i = 0; i < rank; ++i) {
    if (dims[i] < 0 || dims[i] > std::numeric_limits<int32_t>::max()) return false;
    if (dims[i] != 0 && n > kMaxElements / dims[i]) return false;
    n *= dims[i];
  }
  *count = n;
  return true;
}

inline bool CountElements(const std::vector<int32_t>& dims, int64_t* count) {
  int64_t n = 1;
  for (int32_t d : dims) {
    if (d < 0) return false;
    if (d != 0 && n > kMaxElements / d) return false;
    n *= d;
  }
  *count = n;
  return true;
}

// A type that byte-copying kernels can move: fixed size, one element per
// TypeSize bytes (not strings, not packed int4).
inline bool IsMovableType(TfLiteType t) { return TypeSize(t) > 0 && t != kTfLiteInt4; }

// Fails unless `out` has the type of `in` and that type can be byte-copied.
inline TfLiteStatus CheckMovable(OpContext& ctx, const TfLiteTensor* in, const TfLiteTensor* out) {
  if (in->type != out->type)
    return ctx.Error("input '%s' has type %s but output '%s' has type %s", in->name.c_str(),
                     TypeName(in->type), out->name.c_str(), TypeName(out->type));
  if (!IsMovableType(in->type))
    return ctx.ErrorStatus(kTfLiteUnresolvedOps, "type %s is not supported yet",
                           TypeName(in->type));
  return kTfLiteOk;
}

// Fails when `in` and `out` are quantized with different parameters, for the
// ops where TFLite requires them equal (it does not requantize there).
inline TfLiteStatus CheckNoRequant(OpContext& ctx, const TfLiteTensor* in, const TfLiteTensor* out) {
  if (IsQuantizedType(out->type) && !SameQuant(in, out))
    return ctx.Error("%s tensors '%s' and '%s' must have the same quantization parameters",
                     TypeName(out->type), in->name.c_str(), out->name.c_str());
  return kTfLiteOk;
}

template <size_t N>
inline void CopyElems(uint8_t* dst, const uint8_t* src, int64_t n, int64_t src_step,
                      int64_t dst_step) {
  for (int64_t i = 0; i < n; ++i) {
    std::memcpy(dst, src, N);
    src += src_step;
    dst += dst_step;
  }
}

// Copies n elements of `esize` bytes, the source advancing src_step bytes and
// the destination dst_step bytes per element.
inline void CopyStrided(uint8_t* dst, const uint8_t* src, int64_t n, int64_t src_step,
                        int64_t dst_step, size_t esize) {
  if (src_step == static_cast<int64_t>(esize) && dst_step == static_cast<int64_t>(esize)) {
    if (n > 0) std::memcpy(dst, src, static_cast<size_t>(n) * esize);
    return;
  }
  switch (esize) {
    case 1: CopyElems<1>(dst, src, n, src_step, dst_step); break;
    case 2: CopyElems<2>(dst, src, n, src_step, dst_step); break;
    case 4: CopyElems<4>(dst, src, n, src_step, dst_step); break;
    case 8: CopyElems<8>(dst, src, n, src_step, dst_step); break;
    default:
      for (int64_t i = 0; i < n; ++i) std::memcpy(dst + i * dst_step, src + i * src_step, esize);
  }
}

// count rows of `bytes` bytes, src_stride / dst_stride apart. Rows of 4 to 64
// bytes (a few channels of a pixel, a slice of a detection row) as 4-, 8- or
// 16-byte moves, the last one overlapping the one before: memcpy took 3.5 ns
// a row (a U-Net concatenation's 16384 pixels x 2 inputs, 115 us; a YOLO
// head's 735 rows of 84 bytes, 3 us).
// (Strides may be negative.)
inline void CopyRows(const uint8_t* src, int64_t src_stride, uint8_t* dst, int64_t dst_stride, size_t bytes,
                     int64_t count) {
  if (bytes >= 16 && bytes <= 64) {
    for (int64_t r = 0; r < count; ++r, src += src_stride, dst += dst_stride) {
      for (size_t j = 0; j + 16 < bytes; j += 16) std::memcpy(dst + j, src + j, 16);
      std::memcpy(dst + bytes - 16, src + bytes - 16, 16);
    }
  } else if (bytes >= 8 && bytes < 16) {
    for (int64_t r = 0; r < count; ++r, src += src_stride, dst += dst_stride) {
      std::memcpy(dst, src, 8);
      std::memcpy(dst + bytes - 8, src + bytes - 8, 8);
    }
  } else if (bytes >= 4 && bytes < 8) {
    for (int64_t r = 0; r < count; ++r, src += src_stride, dst += dst_stride) {
      std::memcpy(dst, src, 4);
      std::memcpy(dst + bytes - 4, src + bytes - 4, 4);
    }
  } else {
    for (int64_t r = 0; r < count; ++r, src += src_stride, dst += dst_stride) std::memcpy(dst, src, bytes);
  }
}

// Copies an n-dimensional box of elements: along dim d there are count[d]
// elements, the source advancing src_stride[d] elements and the destination
// dst_stride[d] elements (strides may be negative). `src`/`dst` point at the
// box's first element. Dims that are contiguous in both are merged, so that
// contiguous runs become single memcpy calls. rank <= kMaxRank.
inline void CopyBox(const void* src, void* dst, int rank, const int64_t* count,
                    const int64_t* src_stride, const int64_t* dst_stride, size_t esize) {
  int64_t n[kMaxRank], ss[kMaxRank], ds[kMaxRank];
  int r = 0;
  for (int d = 0; d < rank; ++d) {
    if (count[d] == 0) return;
    if (count[d] == 1) continue;
    n[r] = count[d];
    ss[r] = src_stride[d];
    ds[r] = dst_stride[d];
    ++r;
  }
  // Merge dim i-1 into dim i when the pair is one run in both layouts.
  int m = 0;
  for (int i = 0; i < r; ++i) {
    if (m > 0 && ss[m - 1] == n[i] * ss[i] && ds[m - 1] == n[i] * ds[i]) {
      n[m - 1] *= n[i];
      ss[m - 1] = ss[i];
      ds[m - 1] = ds[i];
    } else {
      n[m] = n[i];
      ss[m] = ss[i];
      ds[m] = ds[i];
      ++m;
    }
  }
  const uint8_t* s = static_cast<const uint8_t*>(src);
  uint8_t* d = static_cast<uint8_t*>(dst);
  const int64_t es = static_cast<int64_t>(esize);
  if (m == 0) {
    std::memcpy(d, s, esize);
    return;
  }
  const int inner = m - 1;
  const int64_t in_n = n[inner], in_ss = ss[inner] * es, in_ds = ds[inner] * es;
  if (m == 1) {
    CopyStrided(d, s, in_n, in_ss, in_ds, esize);
    return;
  }
  // A contiguous inner run: the next dimension's runs as rows of bytes.
  const bool rows = in_ss == es && in_ds == es;
  const int outer = rows ? inner - 1 : inner;
  int64_t idx[kMaxRank] = {0};
  for (;;) {
    if (rows)
      CopyRows(s, ss[outer] * es, d, ds[outer] * es, static_cast<size_t>(in_n * es), n[outer]);
    else
      CopyStrided(d, s, in_n, in_ss, in_ds, esize);
    int k = outer - 1;
    for (; k >= 0; --k) {
      s += ss[k] * es;
      d += ds[k] * es;
      if (++idx[k] < n[k]) break;
      s -= ss[k] * es * n[k];
      d -= ds[k] * es * n[k];
      idx[k] = 0;
    }
    if (k < 0) return;
  }
}

// Row-major element strides of `dims`.
inline void ContiguousStrides(const int64_t* dims, int rank, int64_t* strides) {
  int64_t s = 1;
  for (int d = rank - 1; d >= 0; --d) {
    strides[d] = s;
    s *= dims[d];
  }
}

// Fills `count` elements at dst with the `esize`-byte value at `value`.
inline void FillValue(uint8_t* dst, int64_t count, const uint8_t* value, size_t esize) {
  if (count <= 0) return;
  bool uniform = true;
  for (size_t i = 1; i < esize; ++i) uniform &= value[i] == value[0];
  const size_t total = static_cast<size_t>(count) * esize;
  if (uniform) {
    std::memset(dst, value[0], total);
    return;
  }
  std::memcpy(dst, value, esize);
  size_t filled = esize;
  while (filled < total) {
    const size_t n = filled < total - filled ? filled : total - filled;
    std::memcpy(dst + filled, dst, n);
    filled += n;
  }
}

// Repeats the `bytes` bytes at dst `times` times in total (the first copy is
// already there), doubling the copied block each step.
inline void Replicate(uint8_t* dst, size_t bytes, int64_t times) {
  if (times <= 1 || bytes == 0) return;
  const size_t total = bytes * static_cast<size_t>(times);
  size_t filled = bytes;
  while (filled < total) {
    const size_t n = filled < total - filled ? filled : total - filled;
    std::memcpy(dst + filled, dst, n);
    filled += n;
  }
}

// Tiling (TILE, BROADCAST_TO): output dim d = in_dims[d] * mult[d], written
// contiguously from a contiguous input.
class Tiler {
 public:
  // Prepares the plan; false when rank > kMaxRank.
  bool Init(const int64_t* in_dims, const int64_t* mult, int rank, size_t esize) {
    if (rank > kMaxRank) return false;
    esize_ = esize;
    empty_ = false;
    // Drop dims that are 1 with multiple 1; merge a dim into its outer
    // neighbour when it is not repeated (mult 1): it stays contiguous.
    r_ = 0;
    for (int d = 0; d < rank; ++d) {
      if (in_dims[d] == 0 || mult[d] == 0) empty_ = true;
      if (in_dims[d] == 1 && mult[d] == 1) continue;
      if (r_ > 0 && mult[d] == 1) {
        dims_[r_ - 1] *= in_dims[d];
        // the outer dim's repetition now covers this dim too
        continue;
      }
      dims_[r_] = in_dims[d];
      mult_[r_] = mult[d];
      ++r_;
    }
    // Element strides of the (merged) input.
    int64_t s = 1;
    for (int d = r_ - 1; d >= 0; --d) {
      stride_[d] = s;
      s *= dims_[d];
    }
    return true;
  }
  void Run(const void* src, void* dst) const {
    if (empty_) return;
    if (r_ == 0) {
      std::memcpy(dst, src, esize_);
      return;
    }
    Dim(0, static_cast<const uint8_t*>(src), static_cast<uint8_t*>(dst));
  }

 private:
  // Writes the tiled block of dim d; returns the bytes written.
  size_t Dim(int d, const uint8_t* src, uint8_t* dst) const {
    size_t written;
    if (d == r_ - 1) {
      written = static_cast<size_t>(dims_[d]) * esize_;
      std::memcpy(dst, src, written);
    } else {
      written = 0;
      const size_t step = static_cast<size_t>(stride_[d]) * esize_;
      for (int64_t i = 0; i < dims_[d]; ++i) written += Dim(d + 1, src + i * step, dst + written);
    }
    Replicate(dst, written, mult_[d]);
    return written * static_cast<size_t>(mult_[d]);
  }

  int r_ = 0;
  bool empty_ = false;
  size_t esize_ = 1;
  int64_t dims_[kMaxRank] = {};
  int64_t mult_[kMaxRank] = {};
  int64_t stride_[kMaxRank] = {};
};

}  // namespace dm
}  // namespace tfc
