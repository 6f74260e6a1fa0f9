// NumPy-style broadcasting for elementwise kernels with N inputs.
//
// Prepare:
//   std::vector<int32_t> out_dims;
//   if (!BroadcastShapes(a->dims, b->dims, &out_dims)) return ctx.Error(...);
//   BroadcastPlan<2> plan;                       // a kernel member
//   if (!plan.Init({&a->dims, &b->dims}, out_dims)) return ctx.Error(...);
// Eval (no allocation):
//   ForEachRow(plan, begin, end, [&](int64_t out, const int64_t* in, int64_t n) {
//     // out[out .. out+n) from input k at in[k] with element step
//     // plan.inner_stride(k) (0: the same element repeated, 1: contiguous)
//   });
//
// The plan drops output dims of size 1 and merges neighbouring dims that every
// input either covers fully or broadcasts, so [N,H,W,C] + [C] becomes
// [N*H*W, C] with strides {C, 1} and {0, 1}: one contiguous inner loop per row.
#pragma once

#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <vector>

namespace tfc {

// Most dimensions an elementwise kernel iterates over after merging (the
// official runtime broadcasts up to rank 8); shapes of higher rank are
// accepted when they collapse to this many.
constexpr int kMaxBroadcastDims = 8;

// Output shape of broadcasting `a` against `b` (right-aligned; a dim of 1
// stretches). False when two dims differ and neither is 1.
inline bool BroadcastShapes(const std::vector<int32_t>& a, const std::vector<int32_t>& b,
                            std::vector<int32_t>* out) {
  const size_t rank = a.size() > b.size() ? a.size() : b.size();
  out->assign(rank, 1);
  for (size_t i = 0; i < rank; ++i) {
    const int32_t da = i < a.size() ? a[a.size() - 1 - i] : 1;
    const int32_t db = i < b.size() ? b[b.size() - 1 - i] : 1;
    int32_t d;
    if (da == db || db == 1) {
      d = da;
    } else if (da == 1) {
      d = db;
    } else {
      return false;
    }
    (*out)[rank - 1 - i] = d;
  }
  return true;
}

// "[1,2,3]" into buf, for error messages.
inline const char* ShapeString(const std::vector<int32_t>& dims, char* buf, size_t size) {
  if (size == 0) return buf;
  size_t pos = 0;
  buf[0] = 0;
  auto put = [&](const char* fmt, long v) {
    if (pos >= size) return;
    int w = std::snprintf(buf + pos, size - pos, fmt, v);
    if (w > 0) pos += static_cast<size_t>(w);
  };
  put("[", 0);
  for (size_t i = 0; i < dims.size(); ++i) put(i ? ",%ld" : "%ld", static_cast<long>(dims[i]));
  put("]", 0);
  return buf;
}

template <int N>
struct BroadcastPlan {
  int rank = 0;      // merged rank; 0 when the output has one element (or none)
  int64_t size = 0;  // output elements
  int64_t dims[kMaxBroadcastDims] = {};
  // Element strides of each input over the merged dims; 0 where it broadcasts.
  int64_t strides[N][kMaxBroadcastDims] = {};

  // `inputs[k]` are the input shapes, `out` their broadcast shape (every input
  // must be broadcastable to it). False when more than kMaxBroadcastDims dims
  // remain after merging.
  bool Init(std::initializer_list<const std::vector<int32_t>*> inputs,
            const std::vector<int32_t>& out) {
    const std::vector<int32_t>* in[N];
    int k = 0;
    for (const std::vector<int32_t>* p : inputs) {
      if (k < N) in[k] = p;
      ++k;
    }
    if (k != N) return false;
    rank = 0;
    size = 1;
    for (int32_t d : out) size *= d;
    if (size <= 0) {
      size = 0;
      return true;
    }
    bool bcast[N][kMaxBroadcastDims];
    const size_t out_rank = out.size();
    for (size_t i = 0; i < out_rank; ++i) {
      const int32_t od = out[i];
      if (od == 1) continue;
      bool pattern[N];
      for (int j = 0; j < N; ++j) {
        const size_t r = in[j]->size();
        const size_t lead = out_rank - r;
        const int32_t id = i >= lead ? (*in[j])[i - lead] : 1;
        pattern[j] = (id == 1);
      }
      bool merge = rank > 0;
      for (int j = 0; j < N && merge; ++j) merge = (pattern[j] == bcast[j][rank - 1]);
      if (merge) {
        dims[rank - 1] *= od;
        continue;
      }
      if (rank == kMaxBroadcastDims) return false;
      dims[rank] = od;
      for (int j = 0; j < N; ++j) bcast[j][rank] = pattern[j];
      ++rank;
    }
    for (int j = 0; j < N; ++j) {
      int64_t running = 1;
      for (int d = rank - 1; d >= 0; --d) {
        if (bcast[j][d]) {
          strides[j][d] = 0;
        } else {
          strides[j][d] = running;
          running *= dims[d];
        }
      }
    }
    return true;
  }

  int64_t inner() const { return rank ? dims[rank - 1] : 1; }
  // 1 when input k is contiguous along the innermost merged dim, 0 when one
  // element of it is repeated.
  int64_t inner_stride(int k) const { return rank ? strides[k][rank - 1] : 0; }
  // Input k is read in output order, one element per output element.
  bool is_flat(int k) const {
    if (rank == 0) return true;
    int64_t running = 1;
    for (int d = rank - 1; d >= 0; --d) {
      if (strides[k][d] != running) return false;
      running *= dims[d];
    }
    return true;
  }
  // Input k is one element repeated over the whole output.
  bool is_scalar(int k) const {
    for (int d = 0; d < rank; ++d)
      if (strides[k][d] != 0) return false;
    return true;
  }
};

// Calls fn(out_offset, in_offsets, n) for each maximal run of output elements
// [begin, end) that lies in one row of the innermost merged dim. in_offsets[k]
// is the element offset of input k at out_offset; along the run input k
// advances by plan.inner_stride(k).
template <int N, class Fn>
inline void ForEachRow(const BroadcastPlan<N>& p, int64_t begin, int64_t end, Fn&& fn) {
  if (end > p.size) end = p.size;
  if (begin >= end) return;
  int64_t off[N];
  if (p.rank == 0) {
    for (int k = 0; k < N; ++k) off[k] = 0;
    fn(begin, off, end - begin);
    return;
  }
  const int r = p.rank;
  const int64_t inner = p.dims[r - 1];
  int64_t idx[kMaxBroadcastDims];
  int64_t row = begin / inner;
  int64_t col = begin % inner;
  for (int k = 0; k < N; ++k) off[k] = 0;
  for (int d = r - 2; d >= 0; --d) {
    idx[d] = row % p.dims[d];
    row /= p.dims[d];
    for (int k = 0; k < N; ++k) off[k] += idx[d] * p.strides[k][d];
  }
  int64_t pos = begin;
  while (pos < end) {
    int64_t n = inner - col;
    if (n > end - pos) n = end - pos;
    int64_t at[N];
    for (int k = 0; k < N; ++k) at[k] = off[k] + col * p.strides[k][r - 1];
    fn(pos, static_cast<const int64_t*>(at), n);
    pos += n;
    col = 0;
    if (pos >= end) break;
    for (int d = r - 2; d >= 0; --d) {
      ++idx[d];
      for (int k = 0; k < N; ++k) off[k] += p.strides[k][d];
      if (idx[d] < p.dims[d]) break;
      for (int k = 0; k < N; ++k) off[k] -= idx[d] * p.strides[k][d];
      idx[d] = 0;
    }
  }
}

}  // namespace tfc
