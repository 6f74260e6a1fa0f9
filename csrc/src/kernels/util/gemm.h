// Float32 matrix multiply for the conv / fully-connected / matmul kernels.
//
//   C[m][n] = clamp(bias[n] + sum_k A_m[k] * B[k][n], lo, hi)
//
// A is given row by row (a functor returning a pointer to K contiguous floats
// for row m), so kernels can feed NHWC pixels, im2col rows or strided pixels
// without copying. B is packed once (PackB) into column panels of kNR = 16:
//
//   packed = [bias: panels * 16] [panel 0: K rows of 16] [panel 1] ...
//
// the last panel and the bias zero-padded. The register-blocked micro-kernel
// computes a tile of TileRows() rows x 16 columns: 7 rows with AVX-512F and
// 6 rows with AVX2+FMA (both chosen at run time on x86_64), else 6 rows with
// GCC/Clang vector extensions (SSE on x86_64, NEON on ARM, scalar code on
// ARMv6). A lone last row uses a one-row kernel over up to four panels. A
// product with one row and large weights (batch-1 fully-connected, a 1x1
// convolution of one pixel) skips the packing: dot products with the weights
// as stored (DotRows).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "cpu_features.h"
#include "kernels/util/activation.h"
#include "thread_pool.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define TFC_GEMM_X86 1
#else
#define TFC_GEMM_X86 0
#endif

namespace tfc {
namespace gemm {

constexpr int kMR = 6;      // rows of the portable and AVX2 tiles
constexpr int kMaxMR = 7;   // the largest tile (AVX-512)
constexpr int kNR = 16;
// Row blocks that are a multiple of this are a whole number of tiles for
// every kernel (6 and 7 rows).
constexpr int kRowAlign = 42;

// Software prefetch distance (floats) along a packed panel: weights of
// layers with few output pixels stream from L3/DRAM once per Invoke, faster
// than the hardware prefetcher ramps up on each new panel.
constexpr size_t kPrefetchAvx512 = 1024;
constexpr size_t kPrefetchAvx2 = 512;

// Address `floats` past p, as an integer computation (the address may lie
// past the end of the buffer; prefetching it is harmless).
inline const char* PrefetchAddress(const float* p, size_t floats) {
  return reinterpret_cast<const char*>(reinterpret_cast<uintptr_t>(p) + floats * sizeof(float));
}

// Vector types for the portable kernels. may_alias + aligned(4): loads and
// stores of float data at any float-aligned address.
typedef float v4f __attribute__((vector_size(16)));
typedef float v4fu __attribute__((vector_size(16), aligned(4), may_alias));

inline v4f LoadV4(const float* p) { return *reinterpret_cast<const v4fu*>(p); }
inline void StoreV4(float* p, v4f v) { *reinterpret_cast<v4fu*>(p) = v; }
inline v4f SplatV4(float x) { return v4f{x, x, x, x}; }
inline v4f MaxV4(v4f a, v4f b) { return a > b ? a : b; }
inline v4f MinV4(v4f a, v4f b) { return a < b ? a : b; }
// Transposes the 4x4 block whose rows are r[0..3], in place.
inline void TransposeV4(v4f r[4]) {
  const v4f t0 = __builtin_shufflevector(r[0], r[1], 0, 4, 1, 5);
  const v4f t1 = __builtin_shufflevector(r[0], r[1], 2, 6, 3, 7);
  const v4f t2 = __builtin_shufflevector(r[2], r[3], 0, 4, 1, 5);
  const v4f t3 = __builtin_shufflevector(r[2], r[3], 2, 6, 3, 7);
  r[0] = __builtin_shufflevector(t0, t2, 0, 1, 4, 5);
  r[1] = __builtin_shufflevector(t0, t2, 2, 3, 6, 7);
  r[2] = __builtin_shufflevector(t1, t3, 0, 1, 4, 5);
  r[3] = __builtin_shufflevector(t1, t3, 2, 3, 6, 7);
}

inline size_t NumPanels(size_t n) { return (n + kNR - 1) / kNR; }
// Floats needed for a packed K x N matrix (bias included).
inline size_t PackedSize(size_t k, size_t n) { return NumPanels(n) * kNR * (k + 1); }

// A view of a packed B.
struct PackedB {
  const float* bias = nullptr;  // panels * 16
  const float* data = nullptr;  // panels * K * 16
  size_t k = 0, n = 0, panels = 0;
  const float* panel(size_t p) const { return data + p * k * kNR; }
  const float* panel_bias(size_t p) const { return bias + p * kNR; }
};

// The view of a K x N matrix packed into dst (PackedSize(K, N) floats): what
// the packers below return, known before they have run.
inline PackedB PackedBView(size_t k, size_t n, const float* dst) {
  PackedB v;
  v.k = k;
  v.n = n;
  v.panels = NumPanels(n);
  v.bias = dst;
  v.data = dst + v.panels * kNR;
  return v;
}

// Packs B[k][n] = get(k, n) (n < N, k < K) and bias (nullable) into dst
// (PackedSize(K, N) floats). Returns the view.
template <class Get>
PackedB PackB(size_t k, size_t n, const float* bias, Get&& get, float* dst) {
  const PackedB v = PackedBView(k, n, dst);
  float* b = dst;
  float* d = dst + v.panels * kNR;
  for (size_t j = 0; j < v.panels * kNR; ++j) b[j] = (bias && j < n) ? bias[j] : 0.f;
  for (size_t p = 0; p < v.panels; ++p) {
    float* panel = d + p * k * kNR;
    size_t n0 = p * kNR;
    size_t nv = std::min<size_t>(kNR, n - n0);
    for (size_t kk = 0; kk < k; ++kk) {
      float* row = panel + kk * kNR;
      for (size_t j = 0; j < nv; ++j) row[j] = get(kk, n0 + j);
      for (size_t j = nv; j < static_cast<size_t>(kNR); ++j) row[j] = 0.f;
    }
  }
  return v;
}

// A packer's report of how far it has read its source, for a ReadBehind
// (kernel.h): by default nobody listens.
struct NoReadBehind {
  void operator()(const void*) const {}
};

// B given as a row-major matrix with arbitrary strides: B[k][n] = src[k*sk + n*sn].
// With sk == 1 the channels are read in order, and `read` hears after each
// panel where the source read so far ends.
template <class Read = NoReadBehind>
PackedB PackBStrided(size_t k, size_t n, const float* src, size_t sk, size_t sn, const float* bias, float* dst,
                     Read read = Read()) {
  if (sk == 1) {
    // Weights stored [N][K] (conv filters, FC weights): read each output
    // channel's K contiguous values once.
    const PackedB v = PackedBView(k, n, dst);
    float* b = dst;
    float* d = dst + v.panels * kNR;
    for (size_t j = 0; j < v.panels * kNR; ++j) b[j] = (bias && j < n) ? bias[j] : 0.f;
    // Panel by panel, writing each panel once in order: the kNR channels are
    // kNR sequential read streams (a memset pass plus a scatter with a 64-byte
    // stride cost twice as much at allocation).
    for (size_t p = 0; p < v.panels; ++p) {
      const size_t n0 = p * kNR;
      const size_t nv = std::min<size_t>(kNR, n - n0);
      const float* rows[kNR];
      for (size_t jj = 0; jj < kNR; ++jj) rows[jj] = src + (n0 + std::min(jj, nv - 1)) * sn;
      float* out = d + p * k * kNR;
      if (nv == kNR) {
        size_t kk = 0;
        // 16 k values (a cache line) of each channel at a time, as 4x4
        // transposes: the kNR rows lie K floats apart, often a multiple of
        // 4 KiB, so they share L1 sets, and a line read 16 bytes at a time
        // across all kNR rows is evicted before its next 16 bytes are read
        // (1024x1024 filters packed at 3 GB/s).
        for (; kk + 16 <= k; kk += 16, out += 16 * kNR) {
          for (size_t g = 0; g < kNR; g += 4) {
            for (size_t c = 0; c < 16; c += 4) {
              v4f r[4] = {LoadV4(rows[g] + kk + c), LoadV4(rows[g + 1] + kk + c), LoadV4(rows[g + 2] + kk + c),
                          LoadV4(rows[g + 3] + kk + c)};
              TransposeV4(r);
              for (size_t q = 0; q < 4; ++q) StoreV4(out + (c + q) * kNR + g, r[q]);
            }
          }
        }
        for (; kk + 4 <= k; kk += 4, out += 4 * kNR) {
          for (size_t g = 0; g < kNR; g += 4) {  // 4 channels x 4 k values at a time
            v4f r[4] = {LoadV4(rows[g] + kk), LoadV4(rows[g + 1] + kk), LoadV4(rows[g + 2] + kk),
                        LoadV4(rows[g + 3] + kk)};
            TransposeV4(r);
            for (size_t q = 0; q < 4; ++q) StoreV4(out + q * kNR + g, r[q]);
          }
        }
        for (; kk < k; ++kk, out += kNR)
          for (size_t jj = 0; jj < kNR; ++jj) out[jj] = rows[jj][kk];
      } else {
        for (size_t kk = 0; kk < k; ++kk, out += kNR)
          for (size_t jj = 0; jj < kNR; ++jj) out[jj] = jj < nv ? rows[jj][kk] : 0.f;
      }
      read(src + (n0 + nv - 1) * sn + k);
    }
    return v;
  }
  return PackB(k, n, bias, [src, sk, sn](size_t kk, size_t j) { return src[kk * sk + j * sn]; }, dst);
}

// Replaces the bias of an existing packed view (bias given at Eval time).
inline void PackBias(size_t n, const float* bias, float* dst) {
  size_t np = NumPanels(n) * kNR;
  for (size_t j = 0; j < np; ++j) dst[j] = (bias && j < n) ? bias[j] : 0.f;
}

// ---- micro-kernels ---------------------------------------------------------

// MR x 16 tile over K = taps * k: for each tap t, a[t * MR + r] points at the
// k floats of row r for that tap (a plain GEMM has taps = 1; an indirect
// convolution passes one pointer per filter tap and pixel). Rows >= mr repeat
// a valid row. c: row 0 of the tile, rows ldc floats apart; only mr rows and
// nr columns are stored.
using TileFn = void (*)(size_t taps, size_t k, const float* const* a, const float* b,
                        const float* bias, float* c, size_t ldc, int mr, int nr, float lo,
                        float hi);
// One row x np (1..4) panels: c[0 .. 16*np) (only n_valid stored).
using RowFn = void (*)(size_t k, const float* a, const float* b, size_t panel_stride,
                       const float* bias, int np, float* c, int n_valid, float lo, float hi);

inline void StoreTilePartial(const float* tile /*[6][16]*/, float* c, size_t ldc, int mr, int nr) {
  for (int r = 0; r < mr; ++r)
    for (int j = 0; j < nr; ++j) c[static_cast<size_t>(r) * ldc + j] = tile[r * kNR + j];
}

// Portable: the 16 columns as two halves of 8 (12 accumulators of 4 lanes fit
// 16 SIMD registers on SSE and ARMv7 NEON).
inline void TileGeneric(size_t taps, size_t k, const float* const* a, const float* b,
                        const float* bias, float* c, size_t ldc, int mr, int nr, float lo,
                        float hi) {
  const v4f vlo = SplatV4(lo), vhi = SplatV4(hi);
  alignas(16) float tile[kMR * kNR];
  const bool full = (mr == kMR && nr == kNR);
  const int halves = nr > 8 ? 2 : 1;  // a narrow last panel needs only the first half
  for (int half = 0; half < halves; ++half) {
    const int off = half * 8;
    const float* __restrict bp = b + off;
    v4f bb0 = LoadV4(bias + off), bb1 = LoadV4(bias + off + 4);
    v4f c00 = bb0, c01 = bb1, c10 = bb0, c11 = bb1, c20 = bb0, c21 = bb1;
    v4f c30 = bb0, c31 = bb1, c40 = bb0, c41 = bb1, c50 = bb0, c51 = bb1;
    for (size_t t = 0; t < taps; ++t) {
      const float* __restrict a0 = a[t * kMR + 0];
      const float* __restrict a1 = a[t * kMR + 1];
      const float* __restrict a2 = a[t * kMR + 2];
      const float* __restrict a3 = a[t * kMR + 3];
      const float* __restrict a4 = a[t * kMR + 4];
      const float* __restrict a5 = a[t * kMR + 5];
      for (size_t i = 0; i < k; ++i) {
        const v4f w0 = LoadV4(bp), w1 = LoadV4(bp + 4);
        bp += kNR;
        v4f x;
        x = SplatV4(a0[i]); c00 += x * w0; c01 += x * w1;
        x = SplatV4(a1[i]); c10 += x * w0; c11 += x * w1;
        x = SplatV4(a2[i]); c20 += x * w0; c21 += x * w1;
        x = SplatV4(a3[i]); c30 += x * w0; c31 += x * w1;
        x = SplatV4(a4[i]); c40 += x * w0; c41 += x * w1;
        x = SplatV4(a5[i]); c50 += x * w0; c51 += x * w1;
      }
    }
    v4f acc[12] = {c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51};
    for (int r = 0; r < kMR; ++r) {
      v4f v0 = MinV4(MaxV4(acc[2 * r], vlo), vhi);
      v4f v1 = MinV4(MaxV4(acc[2 * r + 1], vlo), vhi);
      if (full) {
        StoreV4(c + static_cast<size_t>(r) * ldc + off, v0);
        StoreV4(c + static_cast<size_t>(r) * ldc + off + 4, v1);
      } else {
        StoreV4(tile + r * kNR + off, v0);
        StoreV4(tile + r * kNR + off + 4, v1);
      }
    }
  }
  if (!full) StoreTilePartial(tile, c, ldc, mr, nr);
}

inline void RowGeneric(size_t k, const float* a, const float* b, size_t panel_stride,
                       const float* bias, int np, float* c, int n_valid, float lo, float hi) {
  const v4f vlo = SplatV4(lo), vhi = SplatV4(hi);
  alignas(16) float out[4 * kNR];
  for (int p = 0; p < np; ++p) {
    const float* __restrict bp = b + static_cast<size_t>(p) * panel_stride;
    v4f s0 = LoadV4(bias + p * kNR), s1 = LoadV4(bias + p * kNR + 4);
    v4f s2 = LoadV4(bias + p * kNR + 8), s3 = LoadV4(bias + p * kNR + 12);
    for (size_t i = 0; i < k; ++i) {
      const v4f x = SplatV4(a[i]);
      s0 += x * LoadV4(bp);
      s1 += x * LoadV4(bp + 4);
      s2 += x * LoadV4(bp + 8);
      s3 += x * LoadV4(bp + 12);
      bp += kNR;
    }
    StoreV4(out + p * kNR, MinV4(MaxV4(s0, vlo), vhi));
    StoreV4(out + p * kNR + 4, MinV4(MaxV4(s1, vlo), vhi));
    StoreV4(out + p * kNR + 8, MinV4(MaxV4(s2, vlo), vhi));
    StoreV4(out + p * kNR + 12, MinV4(MaxV4(s3, vlo), vhi));
  }
  std::memcpy(c, out, static_cast<size_t>(n_valid) * sizeof(float));
}

// ---- one row against unpacked weights ----------------------------------------
//
// y[j] = clamp(bias[j] + dot(x, w_j)) for rows j0 <= j < j1 of w, stored [N][K]
// as conv filters and fully-connected weights are: a batch of one multiplies
// each weight once, so it reads them where they lie (the model's mapping)
// instead of a packed copy, which would cost as much to make at allocation as
// one Invoke reads (MobileNet v2's 1280 -> 1000 classifier: 5 MB). One row at
// a time: the weights are then read as one sequential stream, which the
// hardware prefetcher follows (rows taken four at a time, four streams of 5
// KB each, ran at half the speed from memory); x stays in L1. The lanes'
// partial sums are added at the end, so the order of the additions differs
// from the packed GEMM's.
using DotFn = void (*)(size_t k, const float* x, const float* w, const float* bias, size_t j0,
                       size_t j1, float* y, FloatRange act);

inline void DotRowsGeneric(size_t k, const float* x, const float* w, const float* bias, size_t j0,
                           size_t j1, float* y, FloatRange act) {
  for (size_t j = j0; j < j1; ++j) {
    const float* __restrict wr = w + j * k;
    v4f a0 = SplatV4(0.f), a1 = a0, a2 = a0, a3 = a0;
    size_t i = 0;
    for (; i + 16 <= k; i += 16) {
      a0 += LoadV4(x + i) * LoadV4(wr + i);
      a1 += LoadV4(x + i + 4) * LoadV4(wr + i + 4);
      a2 += LoadV4(x + i + 8) * LoadV4(wr + i + 8);
      a3 += LoadV4(x + i + 12) * LoadV4(wr + i + 12);
    }
    for (; i + 4 <= k; i += 4) a0 += LoadV4(x + i) * LoadV4(wr + i);
    const v4f s = (a0 + a1) + (a2 + a3);
    float sum = (s[0] + s[1]) + (s[2] + s[3]);
    for (; i < k; ++i) sum += x[i] * wr[i];
    y[j] = act.Apply(sum + (bias ? bias[j] : 0.f));
  }
}

#if TFC_GEMM_X86
#define TFC_AVX2_FN __attribute__((target("avx2,fma")))

TFC_AVX2_FN inline void TileAvx2(size_t taps, size_t k, const float* const* a, const float* b,
                                 const float* bias, float* c, size_t ldc, int mr, int nr,
                                 float lo, float hi) {
  __m256 c00 = _mm256_loadu_ps(bias), c01 = _mm256_loadu_ps(bias + 8);
  __m256 c10 = c00, c11 = c01, c20 = c00, c21 = c01;
  __m256 c30 = c00, c31 = c01, c40 = c00, c41 = c01, c50 = c00, c51 = c01;
  for (size_t t = 0; t < taps; ++t) {
    const float* a0 = a[t * kMR + 0];
    const float* a1 = a[t * kMR + 1];
    const float* a2 = a[t * kMR + 2];
    const float* a3 = a[t * kMR + 3];
    const float* a4 = a[t * kMR + 4];
    const float* a5 = a[t * kMR + 5];
    for (size_t i = 0; i < k; ++i) {
      const __m256 w0 = _mm256_loadu_ps(b);
      const __m256 w1 = _mm256_loadu_ps(b + 8);
      _mm_prefetch(PrefetchAddress(b, kPrefetchAvx2), _MM_HINT_T0);
      b += kNR;
      __m256 x;
      x = _mm256_broadcast_ss(a0 + i);
      c00 = _mm256_fmadd_ps(x, w0, c00);
      c01 = _mm256_fmadd_ps(x, w1, c01);
      x = _mm256_broadcast_ss(a1 + i);
      c10 = _mm256_fmadd_ps(x, w0, c10);
      c11 = _mm256_fmadd_ps(x, w1, c11);
      x = _mm256_broadcast_ss(a2 + i);
      c20 = _mm256_fmadd_ps(x, w0, c20);
      c21 = _mm256_fmadd_ps(x, w1, c21);
      x = _mm256_broadcast_ss(a3 + i);
      c30 = _mm256_fmadd_ps(x, w0, c30);
      c31 = _mm256_fmadd_ps(x, w1, c31);
      x = _mm256_broadcast_ss(a4 + i);
      c40 = _mm256_fmadd_ps(x, w0, c40);
      c41 = _mm256_fmadd_ps(x, w1, c41);
      x = _mm256_broadcast_ss(a5 + i);
      c50 = _mm256_fmadd_ps(x, w0, c50);
      c51 = _mm256_fmadd_ps(x, w1, c51);
    }
  }
  const __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
#define TFC_CLAMP8(v) _mm256_min_ps(_mm256_max_ps((v), vlo), vhi)
  c00 = TFC_CLAMP8(c00); c01 = TFC_CLAMP8(c01);
  c10 = TFC_CLAMP8(c10); c11 = TFC_CLAMP8(c11);
  c20 = TFC_CLAMP8(c20); c21 = TFC_CLAMP8(c21);
  c30 = TFC_CLAMP8(c30); c31 = TFC_CLAMP8(c31);
  c40 = TFC_CLAMP8(c40); c41 = TFC_CLAMP8(c41);
  c50 = TFC_CLAMP8(c50); c51 = TFC_CLAMP8(c51);
#undef TFC_CLAMP8
  if (mr == kMR && nr == kNR) {
    _mm256_storeu_ps(c, c00); _mm256_storeu_ps(c + 8, c01); c += ldc;
    _mm256_storeu_ps(c, c10); _mm256_storeu_ps(c + 8, c11); c += ldc;
    _mm256_storeu_ps(c, c20); _mm256_storeu_ps(c + 8, c21); c += ldc;
    _mm256_storeu_ps(c, c30); _mm256_storeu_ps(c + 8, c31); c += ldc;
    _mm256_storeu_ps(c, c40); _mm256_storeu_ps(c + 8, c41); c += ldc;
    _mm256_storeu_ps(c, c50); _mm256_storeu_ps(c + 8, c51);
    return;
  }
  alignas(32) float tile[kMR * kNR];
  _mm256_store_ps(tile + 0, c00); _mm256_store_ps(tile + 8, c01);
  _mm256_store_ps(tile + 16, c10); _mm256_store_ps(tile + 24, c11);
  _mm256_store_ps(tile + 32, c20); _mm256_store_ps(tile + 40, c21);
  _mm256_store_ps(tile + 48, c30); _mm256_store_ps(tile + 56, c31);
  _mm256_store_ps(tile + 64, c40); _mm256_store_ps(tile + 72, c41);
  _mm256_store_ps(tile + 80, c50); _mm256_store_ps(tile + 88, c51);
  StoreTilePartial(tile, c, ldc, mr, nr);
}

// 6 x 8: the first half of a panel (a last panel with nr <= 8).
TFC_AVX2_FN inline void TileAvx2Narrow(size_t taps, size_t k, const float* const* a,
                                       const float* b, const float* bias, float* c, size_t ldc,
                                       int mr, int nr, float lo, float hi) {
  __m256 c0 = _mm256_loadu_ps(bias);
  __m256 c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
  for (size_t t = 0; t < taps; ++t) {
  const float* a0 = a[t * kMR + 0];
  const float* a1 = a[t * kMR + 1];
  const float* a2 = a[t * kMR + 2];
  const float* a3 = a[t * kMR + 3];
  const float* a4 = a[t * kMR + 4];
  const float* a5 = a[t * kMR + 5];
  for (size_t i = 0; i < k; ++i) {
    const __m256 w = _mm256_loadu_ps(b);
    b += kNR;
    c0 = _mm256_fmadd_ps(_mm256_broadcast_ss(a0 + i), w, c0);
    c1 = _mm256_fmadd_ps(_mm256_broadcast_ss(a1 + i), w, c1);
    c2 = _mm256_fmadd_ps(_mm256_broadcast_ss(a2 + i), w, c2);
    c3 = _mm256_fmadd_ps(_mm256_broadcast_ss(a3 + i), w, c3);
    c4 = _mm256_fmadd_ps(_mm256_broadcast_ss(a4 + i), w, c4);
    c5 = _mm256_fmadd_ps(_mm256_broadcast_ss(a5 + i), w, c5);
  }
  }
  const __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
  alignas(32) float tile[kMR * kNR];
  _mm256_store_ps(tile + 0 * kNR, _mm256_min_ps(_mm256_max_ps(c0, vlo), vhi));
  _mm256_store_ps(tile + 1 * kNR, _mm256_min_ps(_mm256_max_ps(c1, vlo), vhi));
  _mm256_store_ps(tile + 2 * kNR, _mm256_min_ps(_mm256_max_ps(c2, vlo), vhi));
  _mm256_store_ps(tile + 3 * kNR, _mm256_min_ps(_mm256_max_ps(c3, vlo), vhi));
  _mm256_store_ps(tile + 4 * kNR, _mm256_min_ps(_mm256_max_ps(c4, vlo), vhi));
  _mm256_store_ps(tile + 5 * kNR, _mm256_min_ps(_mm256_max_ps(c5, vlo), vhi));
  StoreTilePartial(tile, c, ldc, mr, nr);
}

TFC_AVX2_FN inline void TileAvx2Any(size_t taps, size_t k, const float* const* a,
                                    const float* b, const float* bias, float* c, size_t ldc,
                                    int mr, int nr, float lo, float hi) {
  if (nr <= 8)
    TileAvx2Narrow(taps, k, a, b, bias, c, ldc, mr, nr, lo, hi);
  else
    TileAvx2(taps, k, a, b, bias, c, ldc, mr, nr, lo, hi);
}

TFC_AVX2_FN inline void RowAvx2(size_t k, const float* a, const float* b, size_t panel_stride,
                                const float* bias, int np, float* c, int n_valid, float lo,
                                float hi) {
  alignas(32) float out[4 * kNR];
  const __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
  if (np == 4) {
    const float* b0 = b;
    const float* b1 = b + panel_stride;
    const float* b2 = b + 2 * panel_stride;
    const float* b3 = b + 3 * panel_stride;
    __m256 s0 = _mm256_loadu_ps(bias), s1 = _mm256_loadu_ps(bias + 8);
    __m256 s2 = _mm256_loadu_ps(bias + 16), s3 = _mm256_loadu_ps(bias + 24);
    __m256 s4 = _mm256_loadu_ps(bias + 32), s5 = _mm256_loadu_ps(bias + 40);
    __m256 s6 = _mm256_loadu_ps(bias + 48), s7 = _mm256_loadu_ps(bias + 56);
    for (size_t i = 0; i < k; ++i) {
      const __m256 x = _mm256_broadcast_ss(a + i);
      s0 = _mm256_fmadd_ps(x, _mm256_loadu_ps(b0), s0);
      s1 = _mm256_fmadd_ps(x, _mm256_loadu_ps(b0 + 8), s1);
      s2 = _mm256_fmadd_ps(x, _mm256_loadu_ps(b1), s2);
      s3 = _mm256_fmadd_ps(x, _mm256_loadu_ps(b1 + 8), s3);
      s4 = _mm256_fmadd_ps(x, _mm256_loadu_ps(b2), s4);
      s5 = _mm256_fmadd_ps(x, _mm256_loadu_ps(b2 + 8), s5);
      s6 = _mm256_fmadd_ps(x, _mm256_loadu_ps(b3), s6);
      s7 = _mm256_fmadd_ps(x, _mm256_loadu_ps(b3 + 8), s7);
      b0 += kNR;
      b1 += kNR;
      b2 += kNR;
      b3 += kNR;
    }
    _mm256_store_ps(out + 0, _mm256_min_ps(_mm256_max_ps(s0, vlo), vhi));
    _mm256_store_ps(out + 8, _mm256_min_ps(_mm256_max_ps(s1, vlo), vhi));
    _mm256_store_ps(out + 16, _mm256_min_ps(_mm256_max_ps(s2, vlo), vhi));
    _mm256_store_ps(out + 24, _mm256_min_ps(_mm256_max_ps(s3, vlo), vhi));
    _mm256_store_ps(out + 32, _mm256_min_ps(_mm256_max_ps(s4, vlo), vhi));
    _mm256_store_ps(out + 40, _mm256_min_ps(_mm256_max_ps(s5, vlo), vhi));
    _mm256_store_ps(out + 48, _mm256_min_ps(_mm256_max_ps(s6, vlo), vhi));
    _mm256_store_ps(out + 56, _mm256_min_ps(_mm256_max_ps(s7, vlo), vhi));
  } else {
    for (int p = 0; p < np; ++p) {
      const float* bp = b + static_cast<size_t>(p) * panel_stride;
      // Two interleaved accumulator pairs hide the FMA latency.
      __m256 s0 = _mm256_loadu_ps(bias + p * kNR), s1 = _mm256_loadu_ps(bias + p * kNR + 8);
      __m256 t0 = _mm256_setzero_ps(), t1 = _mm256_setzero_ps();
      size_t i = 0;
      for (; i + 2 <= k; i += 2) {
        const __m256 x0 = _mm256_broadcast_ss(a + i);
        const __m256 x1 = _mm256_broadcast_ss(a + i + 1);
        s0 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(bp), s0);
        s1 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(bp + 8), s1);
        t0 = _mm256_fmadd_ps(x1, _mm256_loadu_ps(bp + 16), t0);
        t1 = _mm256_fmadd_ps(x1, _mm256_loadu_ps(bp + 24), t1);
        bp += 2 * kNR;
      }
      if (i < k) {
        const __m256 x0 = _mm256_broadcast_ss(a + i);
        s0 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(bp), s0);
        s1 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(bp + 8), s1);
      }
      s0 = _mm256_add_ps(s0, t0);
      s1 = _mm256_add_ps(s1, t1);
      _mm256_store_ps(out + p * kNR, _mm256_min_ps(_mm256_max_ps(s0, vlo), vhi));
      _mm256_store_ps(out + p * kNR + 8, _mm256_min_ps(_mm256_max_ps(s1, vlo), vhi));
    }
  }
  std::memcpy(c, out, static_cast<size_t>(n_valid) * sizeof(float));
}

// DotRowsGeneric with 8 lanes.
TFC_AVX2_FN inline void DotRowsAvx2(size_t k, const float* x, const float* w, const float* bias,
                                    size_t j0, size_t j1, float* y, FloatRange act) {
  for (size_t j = j0; j < j1; ++j) {
    const float* wr = w + j * k;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    size_t i = 0;
    for (; i + 32 <= k; i += 32) {
      a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(wr + i), a0);
      a1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(wr + i + 8), a1);
      a2 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 16), _mm256_loadu_ps(wr + i + 16), a2);
      a3 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 24), _mm256_loadu_ps(wr + i + 24), a3);
    }
    for (; i + 8 <= k; i += 8) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(wr + i), a0);
    const __m256 s = _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3));
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    h = _mm_hadd_ps(h, h);
    h = _mm_hadd_ps(h, h);
    float sum = _mm_cvtss_f32(h);
    for (; i < k; ++i) sum += x[i] * wr[i];
    y[j] = act.Apply(sum + (bias ? bias[j] : 0.f));
  }
}
#endif  // TFC_GEMM_X86

// TFC_GEMM_NO_AVX512 (compile definition) leaves the AVX-512 kernel out, e.g.
// to test the AVX2 one on a machine that has both.
#if defined(__x86_64__) && !defined(TFC_GEMM_NO_AVX512)
#define TFC_GEMM_AVX512 1
#define TFC_AVX512_FN __attribute__((target("avx512f,avx2,fma")))

// 7 x 16: one ZMM accumulator per row, the A values broadcast from memory.
// Seven rows, as XNNPACK's AVX-512 kernels have: the pixel counts of the
// usual input sizes (224, 112, ..., 14, 7 squared) are multiples of 7, so
// no tile computes rows for nothing (with 8, MobileNet's 14x14 layers
// computed 200 rows for 196).
TFC_AVX512_FN inline void TileAvx512(size_t taps, size_t k, const float* const* a, const float* b,
                                     const float* bias, float* c, size_t ldc, int mr, int nr,
                                     float lo, float hi) {
  __m512 c0 = _mm512_loadu_ps(bias);
  __m512 c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0;
  for (size_t t = 0; t < taps; ++t) {
    const float* a0 = a[t * 7 + 0];
    const float* a1 = a[t * 7 + 1];
    const float* a2 = a[t * 7 + 2];
    const float* a3 = a[t * 7 + 3];
    const float* a4 = a[t * 7 + 4];
    const float* a5 = a[t * 7 + 5];
    const float* a6 = a[t * 7 + 6];
    for (size_t i = 0; i < k; ++i) {
      const __m512 w = _mm512_loadu_ps(b);
      _mm_prefetch(PrefetchAddress(b, kPrefetchAvx512), _MM_HINT_T0);
      b += kNR;
      c0 = _mm512_fmadd_ps(_mm512_set1_ps(a0[i]), w, c0);
      c1 = _mm512_fmadd_ps(_mm512_set1_ps(a1[i]), w, c1);
      c2 = _mm512_fmadd_ps(_mm512_set1_ps(a2[i]), w, c2);
      c3 = _mm512_fmadd_ps(_mm512_set1_ps(a3[i]), w, c3);
      c4 = _mm512_fmadd_ps(_mm512_set1_ps(a4[i]), w, c4);
      c5 = _mm512_fmadd_ps(_mm512_set1_ps(a5[i]), w, c5);
      c6 = _mm512_fmadd_ps(_mm512_set1_ps(a6[i]), w, c6);
    }
  }
  const __m512 vlo = _mm512_set1_ps(lo), vhi = _mm512_set1_ps(hi);
  __m512 acc[7] = {c0, c1, c2, c3, c4, c5, c6};
  const __mmask16 mask = static_cast<__mmask16>((1u << nr) - 1u);
  for (int r = 0; r < mr; ++r) {
    // (maskz forms: GCC 12 warns about the plain ones' undefined passthrough)
    const __m512 v = _mm512_maskz_min_ps(0xFFFF, _mm512_maskz_max_ps(0xFFFF, acc[r], vlo), vhi);
    if (nr == kNR)
      _mm512_storeu_ps(c + static_cast<size_t>(r) * ldc, v);
    else
      _mm512_mask_storeu_ps(c + static_cast<size_t>(r) * ldc, mask, v);
  }
}
#else
#define TFC_GEMM_AVX512 0
#endif

struct Kernels {
  TileFn tile;
  RowFn row;
  int mr;  // rows per tile
  DotFn dot;
};

inline const Kernels& SelectKernels() {
#if TFC_GEMM_AVX512
  static const Kernels k = cpu::HasAvx512F()
                               ? Kernels{TileAvx512, RowAvx2, 7, DotRowsAvx2}
                               : cpu::HasAvx2Fma() ? Kernels{TileAvx2Any, RowAvx2, kMR, DotRowsAvx2}
                                                   : Kernels{TileGeneric, RowGeneric, kMR, DotRowsGeneric};
#elif TFC_GEMM_X86
  static const Kernels k = cpu::HasAvx2Fma() ? Kernels{TileAvx2Any, RowAvx2, kMR, DotRowsAvx2}
                                             : Kernels{TileGeneric, RowGeneric, kMR, DotRowsGeneric};
#else
  static const Kernels k = {TileGeneric, RowGeneric, kMR, DotRowsGeneric};
#endif
  return k;
}

// Rows per micro-kernel tile on this CPU (the layout unit of indirection
// tables).
inline int TileRows() { return SelectKernels().mr; }

// Bytes of B kept hot in L2 while a block of A rows sweeps it.
constexpr size_t kL2BlockBytes = 192 * 1024;

// Rows [m0, m1) x panels [p0, p1) of C. row(m) -> const float* (K floats);
// c points at C row 0, rows ldc floats apart.
template <class RowPtr>
inline void GemmRange(const PackedB& b, RowPtr&& row, size_t m0, size_t m1, size_t p0, size_t p1,
                      float* c, size_t ldc, FloatRange act) {
  if (m0 >= m1 || p0 >= p1) return;
  const Kernels& kern = SelectKernels();
  const size_t k = b.k;
  const size_t panel_bytes = std::max<size_t>(1, k * kNR * sizeof(float));
  const size_t pblock = std::max<size_t>(1, kL2BlockBytes / panel_bytes);
  for (size_t pb = p0; pb < p1; pb += pblock) {
    const size_t pe = std::min(p1, pb + pblock);
    size_t m = m0;
    const size_t tile_rows = static_cast<size_t>(kern.mr);
    while (m1 - m >= 2) {
      const int mr = static_cast<int>(std::min<size_t>(tile_rows, m1 - m));
      const float* a[kMaxMR];
      for (int r = 0; r < mr; ++r) a[r] = row(m + static_cast<size_t>(r));
      for (int r = mr; r < kern.mr; ++r) a[r] = a[mr - 1];
      float* crow = c + m * ldc;
      for (size_t p = pb; p < pe; ++p) {
        const int nr = static_cast<int>(std::min<size_t>(kNR, b.n - p * kNR));
        kern.tile(1, k, a, b.panel(p), b.panel_bias(p), crow + p * kNR, ldc, mr, nr, act.lo,
                  act.hi);
      }
      m += static_cast<size_t>(mr);
    }
    if (m < m1) {  // a single remaining row
      const float* a = row(m);
      float* crow = c + m * ldc;
      for (size_t p = pb; p < pe; p += 4) {
        const int np = static_cast<int>(std::min<size_t>(4, pe - p));
        const size_t n_end = std::min(b.n, (p + static_cast<size_t>(np)) * kNR);
        kern.row(k, a, b.panel(p), k * kNR, b.panel_bias(p), np, crow + p * kNR,
                 static_cast<int>(n_end - p * kNR), act.lo, act.hi);
      }
    }
  }
}

// Indirect GEMM (convolution without im2col) for rows [m0, m1) x panels
// [p0, p1): K = taps * k. ptrs: for each tile of TileRows() rows from m0 on,
// taps * TileRows() pointers ordered [tap][row], each to the k floats of that
// row's tap (rows past m1 repeat a valid row).
inline void IndirectGemmRange(const PackedB& b, size_t taps, size_t k, const float* const* ptrs,
                              size_t m0, size_t m1, size_t p0, size_t p1, float* c, size_t ldc,
                              FloatRange act) {
  if (m0 >= m1 || p0 >= p1) return;
  const Kernels& kern = SelectKernels();
  const size_t panel_bytes = std::max<size_t>(1, taps * k * kNR * sizeof(float));
  const size_t pblock = std::max<size_t>(1, kL2BlockBytes / panel_bytes);
  for (size_t pb = p0; pb < p1; pb += pblock) {
    const size_t pe = std::min(p1, pb + pblock);
    const float* const* tp = ptrs;
    const size_t tile_rows = static_cast<size_t>(kern.mr);
    for (size_t m = m0; m < m1; m += tile_rows, tp += taps * tile_rows) {
      const int mr = static_cast<int>(std::min<size_t>(tile_rows, m1 - m));
      float* crow = c + m * ldc;
      for (size_t p = pb; p < pe; ++p) {
        const int nr = static_cast<int>(std::min<size_t>(kNR, b.n - p * kNR));
        kern.tile(taps, k, tp, b.panel(p), b.panel_bias(p), crow + p * kNR, ldc, mr, nr, act.lo,
                  act.hi);
      }
    }
  }
}

// Whether to split a GEMM of row_tiles tiles of rows by col_units units of
// columns over T workers by its rows: unless that loads the workers clearly
// less evenly (imbalance in units of 1/1000, kRowSplitSlack more than the
// columns'). Rows let each worker read only its rows of A, and leave it the
// rows the next layer's worker reads from the same core's cache; columns make
// both read all of A and write every row. MobileNet's 14x14 layers in the
// 8-bit GEMM's tiles of 8 rows (25 tiles: 1040 against 1000) gain from rows
// at 2 threads: v1 int8 2-5% per invoke, in alternating processes.
constexpr size_t kRowSplitSlack = 60;
inline bool SplitTileRows(size_t row_tiles, size_t col_units, int threads) {
  const size_t t = static_cast<size_t>(threads);
  auto imbalance = [t](size_t units) { return ((units + t - 1) / t) * t * 1000 / units; };
  return imbalance(row_tiles) <= imbalance(col_units) + kRowSplitSlack;
}

// How to split an M x panels GEMM over T workers: returns true to split rows.
inline bool SplitRows(size_t m, size_t panels, int threads) {
  const size_t tr = static_cast<size_t>(TileRows());
  if (m == 1) return false;
  return SplitTileRows((m + tr - 1) / tr, panels, threads);
}

// Work below this many multiply-adds runs on the calling thread.
constexpr double kMinParallelMacs = 200000.0;
// The same for the 8-bit GEMMs (qconv::Q8Gemm), about 4x faster per
// multiply-add: at 2 threads MobileNet 0.25's 256 -> 1000 classifier (256K)
// took 4.6 us against 3.7 on one thread, its 524K ones gained 1.05-1.34x.
constexpr double kMinParallelMacs8 = 400000.0;
// The same for per-tap work (depthwise convolution, pooling), several times
// slower per multiply-add than the packed GEMMs: worth splitting from fewer.
constexpr double kMinParallelTaps = 25000.0;

// How many threads `units` pieces of `work` multiply-adds can keep busy (a
// kernel with `slots` scratch slots, one per thread): 1 below min_work (the
// calling thread alone), else the pool's threads, at most units and slots.
inline int Workers(const ThreadPool& pool, double work, double min_work, int64_t units, int slots) {
  if (work < min_work) return 1;
  return static_cast<int>(
      std::max<int64_t>(1, std::min<int64_t>(units, std::min(slots, std::max(1, pool.num_threads())))));
}

// Full C = A x B on the pool.
template <class RowPtr>
inline void Gemm(ThreadPool& pool, const PackedB& b, size_t m, RowPtr row, float* c, size_t ldc,
                 FloatRange act) {
  const int threads = pool.num_threads();
  const double macs = static_cast<double>(m) * static_cast<double>(b.n) * static_cast<double>(b.k);
  if (threads <= 1 || macs < kMinParallelMacs) {
    GemmRange(b, row, 0, m, 0, b.panels, c, ldc, act);
    return;
  }
  if (SplitRows(m, b.panels, threads)) {
    const size_t tr = static_cast<size_t>(TileRows());
    const size_t mt = (m + tr - 1) / tr;
    pool.ParallelFor(static_cast<int64_t>(mt), 1, [&](int64_t t0, int64_t t1) {
      GemmRange(b, row, static_cast<size_t>(t0) * tr, std::min(m, static_cast<size_t>(t1) * tr),
                0, b.panels, c, ldc, act);
    });
  } else {
    pool.ParallelFor(static_cast<int64_t>(b.panels), 1, [&](int64_t p0, int64_t p1) {
      GemmRange(b, row, 0, m, static_cast<size_t>(p0), static_cast<size_t>(p1), c, ldc, act);
    });
  }
}

// Whether an M x K by K x N product reads the weights in place (DotRows)
// rather than packed: a batch of one, with rows long enough for the vector
// loop (K from kDotMinK) and weights of at least kDotMinBytes. Those stream
// from L3 or memory at every Invoke, packed or not; smaller ones stay in
// cache, where the packed one-row kernel is several times faster (no
// horizontal sums): mlp_64's 64 x 64 layers took 1.25-1.28x the official
// runtime's time through DotRows, 0.94-0.97x packed.
constexpr size_t kDotMinK = 32;
constexpr size_t kDotMinBytes = size_t{1} << 20;
inline bool DotRowsFits(size_t m, size_t k, size_t n) {
  return m == 1 && k >= kDotMinK && n * k >= kDotMinBytes / sizeof(float);
}

// y = clamp(bias + W x) on the pool, W [N][K] row-major, bias nullable: rows
// of W in blocks of kDotBlockRows split over the threads.
constexpr size_t kDotBlockRows = 16;
inline void DotRows(ThreadPool& pool, size_t k, size_t n, const float* x, const float* w,
                    const float* bias, float* y, FloatRange act) {
  const DotFn dot = SelectKernels().dot;
  const double macs = static_cast<double>(n) * static_cast<double>(k);
  const int64_t blocks = static_cast<int64_t>((n + kDotBlockRows - 1) / kDotBlockRows);
  if (Workers(pool, macs, kMinParallelMacs, blocks, pool.num_threads()) <= 1) {
    dot(k, x, w, bias, 0, n, y, act);
    return;
  }
  pool.ParallelFor(blocks, 1, [&](int64_t b0, int64_t b1) {
    dot(k, x, w, bias, static_cast<size_t>(b0) * kDotBlockRows,
        std::min(n, static_cast<size_t>(b1) * kDotBlockRows), y, act);
  });
}

}  // namespace gemm
}  // namespace tfc
