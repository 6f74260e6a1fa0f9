// Integer matrix products shared by FULLY_CONNECTED and BATCH_MATMUL:
// quantized (int8 / uint8 / int16 activations) and hybrid (float activations
// quantized on the fly against int8 weights).
//
// Layout: every product here is "rows of A times rows of W": out[m][n] =
// sum_k A[m][k] * W[n][k], A and W both row-major with K contiguous (W is the
// FULLY_CONNECTED weights [units, K], or a BATCH_MATMUL rhs brought to
// [N, K]). Dot products accumulate exactly (32-bit partial sums over chunks
// short enough never to overflow, combined in 64 bits); callers wrap to 32
// bits where the official kernels accumulate in int32.
//
// Rounding: the official runtime's optimized integer GEMM (ruy, behind its
// FULLY_CONNECTED) applies the output multiplier as a rounding doubling high
// multiply followed by a right shift that rounds halves up (toward +inf):
// MulRoundHalfUp below. Its BATCH_MATMUL is the reference kernel, which
// rounds that last shift half away from zero (quant_math.h
// MultiplyByQuantizedMultiplier); results differ by one at such ties.
//
// Speed: one or two activation rows (the usual FULLY_CONNECTED) run dot
// products of four weight rows at a time (AVX2 where the CPU has it); four or
// more rows of int8 x int8 run a packed GEMM (AVX2 6 x 16 tiles on weights
// packed once as int16 column panels). Elsewhere plain loops.
//
// Hybrid products also reproduce the official x86_64 kernel's corner cases
// (RowSumsHybrid, SignQuirk, the fused multiply-add of QuantizeAsymmetric).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "cpu_features.h"
#include "kernels/util/activation.h"
#include "kernels/util/quant_math.h"
#include "thread_pool.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define TFC_QMM_X86 1
#define TFC_QMM_AVX2_FN __attribute__((target("avx2,fma")))
#else
#define TFC_QMM_X86 0
#endif

namespace tfc {
namespace qmm {

// x * multiplier * 2^(shift - 31) as the optimized GEMM computes it: x
// scaled by 2^shift when shift > 0 (wrapping), a rounding doubling high
// multiply, then for shift < 0 a right shift by -shift rounding halves up.
inline int32_t MulRoundHalfUp(int32_t x, int32_t multiplier, int shift) {
  const int left = shift > 0 ? shift : 0;
  const int right = shift > 0 ? 0 : -shift;
  const int32_t high = SaturatingRoundingDoublingHighMul(WrappingShiftLeft(x, left), multiplier);
  if (right == 0) return high;
  const int64_t rounded = (static_cast<int64_t>(high) + (int64_t{1} << (right - 1))) >> right;
  return static_cast<int32_t>(rounded);
}

// Longest run whose 32-bit sum of products cannot overflow when |a| <=
// max_abs_a and |w| <= max_abs_w (int8 x int8: 131063 elements).
constexpr size_t ChunkFor(int64_t max_abs_a, int64_t max_abs_w) {
  return static_cast<size_t>((int64_t{1} << 31) / (max_abs_a * max_abs_w + 1) - 1);
}

// sum_k a[k] * w[k] in 32 bits; the caller guarantees no overflow.
template <class TA, class TW>
inline int32_t Dot32(const TA* __restrict a, const TW* __restrict w, size_t k) {
  int32_t s = 0;
  for (size_t i = 0; i < k; ++i) s += static_cast<int32_t>(a[i]) * static_cast<int32_t>(w[i]);
  return s;
}

// Four rows of W against one row of A, 32-bit (no overflow by contract).
template <class TA, class TW>
inline void Dot32x4(const TA* __restrict a, const TW* __restrict w0, const TW* __restrict w1,
                    const TW* __restrict w2, const TW* __restrict w3, size_t k, int32_t* out) {
  int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (size_t i = 0; i < k; ++i) {
    const int32_t x = a[i];
    s0 += x * static_cast<int32_t>(w0[i]);
    s1 += x * static_cast<int32_t>(w1[i]);
    s2 += x * static_cast<int32_t>(w2[i]);
    s3 += x * static_cast<int32_t>(w3[i]);
  }
  out[0] = s0;
  out[1] = s1;
  out[2] = s2;
  out[3] = s3;
}

// Exact sum_k a[k] * w[k] (64-bit), chunked so the 32-bit partial sums never
// overflow.
template <class TA, class TW>
inline int64_t DotExact(const TA* a, const TW* w, size_t k, size_t chunk) {
  int64_t s = 0;
  for (size_t i = 0; i < k; i += chunk) {
    const size_t len = std::min(chunk, k - i);
    s += Dot32(a + i, w + i, len);
  }
  return s;
}

#if TFC_QMM_X86
// Sum of the eight int32 lanes.
TFC_QMM_AVX2_FN inline int32_t HorizontalSumAvx2(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x55));
  return _mm_cvtsi128_si32(s);
}

// The lane sums of four accumulators, as four int32 in one register.
TFC_QMM_AVX2_FN inline __m128i HorizontalSum4Avx2(__m256i c0, __m256i c1, __m256i c2,
                                                  __m256i c3) {
  const __m256i s01 = _mm256_hadd_epi32(c0, c1);
  const __m256i s23 = _mm256_hadd_epi32(c2, c3);
  const __m256i s = _mm256_hadd_epi32(s01, s23);
  return _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
}

// 16 int8 at p sign-extended to 16 int16.
TFC_QMM_AVX2_FN inline __m256i Load16x8Avx2(const int8_t* p) {
  return _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

// Scalar tail of a tile: a[t..k) . w[t..k).
inline int32_t DotTail(const int8_t* a, const int8_t* w, size_t t, size_t k) {
  int32_t s = 0;
  for (; t < k; ++t) s += static_cast<int32_t>(a[t]) * static_cast<int32_t>(w[t]);
  return s;
}

// out[0][j] = a . w_j for one row of A and the four rows w[0..3] of W,
// exact in int32 (k within the int8 chunk). Accumulators are named
// variables so they stay in registers at every optimization level.
TFC_QMM_AVX2_FN inline void DotTile1x4Avx2(const int8_t* a, size_t /*lda*/,
                                           const int8_t* const* w, size_t k, int32_t (*out)[4]) {
  const int8_t *w0 = w[0], *w1 = w[1], *w2 = w[2], *w3 = w[3];
  __m256i c0 = _mm256_setzero_si256(), c1 = c0, c2 = c0, c3 = c0;
  size_t t = 0;
  for (; t + 16 <= k; t += 16) {
    const __m256i av = Load16x8Avx2(a + t);
    c0 = _mm256_add_epi32(c0, _mm256_madd_epi16(av, Load16x8Avx2(w0 + t)));
    c1 = _mm256_add_epi32(c1, _mm256_madd_epi16(av, Load16x8Avx2(w1 + t)));
    c2 = _mm256_add_epi32(c2, _mm256_madd_epi16(av, Load16x8Avx2(w2 + t)));
    c3 = _mm256_add_epi32(c3, _mm256_madd_epi16(av, Load16x8Avx2(w3 + t)));
  }
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out[0]), HorizontalSum4Avx2(c0, c1, c2, c3));
  if (t < k) {
    out[0][0] += DotTail(a, w0, t, k);
    out[0][1] += DotTail(a, w1, t, k);
    out[0][2] += DotTail(a, w2, t, k);
    out[0][3] += DotTail(a, w3, t, k);
  }
}

// The same for two rows of A (a and a + lda).
TFC_QMM_AVX2_FN inline void DotTile2x4Avx2(const int8_t* a, size_t lda, const int8_t* const* w,
                                           size_t k, int32_t (*out)[4]) {
  const int8_t *w0 = w[0], *w1 = w[1], *w2 = w[2], *w3 = w[3];
  const int8_t* b = a + lda;
  __m256i c00 = _mm256_setzero_si256(), c01 = c00, c02 = c00, c03 = c00;
  __m256i c10 = c00, c11 = c00, c12 = c00, c13 = c00;
  size_t t = 0;
  for (; t + 16 <= k; t += 16) {
    const __m256i av = Load16x8Avx2(a + t);
    const __m256i bv = Load16x8Avx2(b + t);
    __m256i wv = Load16x8Avx2(w0 + t);
    c00 = _mm256_add_epi32(c00, _mm256_madd_epi16(av, wv));
    c10 = _mm256_add_epi32(c10, _mm256_madd_epi16(bv, wv));
    wv = Load16x8Avx2(w1 + t);
    c01 = _mm256_add_epi32(c01, _mm256_madd_epi16(av, wv));
    c11 = _mm256_add_epi32(c11, _mm256_madd_epi16(bv, wv));
    wv = Load16x8Avx2(w2 + t);
    c02 = _mm256_add_epi32(c02, _mm256_madd_epi16(av, wv));
    c12 = _mm256_add_epi32(c12, _mm256_madd_epi16(bv, wv));
    wv = Load16x8Avx2(w3 + t);
    c03 = _mm256_add_epi32(c03, _mm256_madd_epi16(av, wv));
    c13 = _mm256_add_epi32(c13, _mm256_madd_epi16(bv, wv));
  }
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out[0]), HorizontalSum4Avx2(c00, c01, c02, c03));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out[1]), HorizontalSum4Avx2(c10, c11, c12, c13));
  if (t < k) {
    out[0][0] += DotTail(a, w0, t, k);
    out[0][1] += DotTail(a, w1, t, k);
    out[0][2] += DotTail(a, w2, t, k);
    out[0][3] += DotTail(a, w3, t, k);
    out[1][0] += DotTail(b, w0, t, k);
    out[1][1] += DotTail(b, w1, t, k);
    out[1][2] += DotTail(b, w2, t, k);
    out[1][3] += DotTail(b, w3, t, k);
  }
}

// Exact dot products of rows [m0, m0 + ma) of A (ma 1 or 2, row stride lda)
// with rows [n0, n1) of W (row stride k): out[i * ostride + (j - n0)].
TFC_QMM_AVX2_FN inline void DotBlockInt8Avx2(const int8_t* a, size_t lda, size_t ma,
                                             const int8_t* w, size_t k, size_t n0, size_t n1,
                                             size_t chunk, int64_t* out, size_t ostride) {
  for (size_t c0 = 0; c0 < k; c0 += chunk) {
    const size_t len = std::min(chunk, k - c0);
    const bool first = c0 == 0;
    for (size_t j = n0; j < n1; j += 4) {
      const int8_t* rows[4];
      const size_t nj = std::min<size_t>(4, n1 - j);
      for (size_t r = 0; r < 4; ++r) rows[r] = w + (j + (r < nj ? r : nj - 1)) * k + c0;
      alignas(16) int32_t part[2][4];
      if (ma == 2)
        DotTile2x4Avx2(a + c0, lda, rows, len, part);
      else
        DotTile1x4Avx2(a + c0, lda, rows, len, part);
      for (size_t i = 0; i < ma; ++i) {
        int64_t* o = out + i * ostride + (j - n0);
        for (size_t r = 0; r < nj; ++r) o[r] = (first ? 0 : o[r]) + part[i][r];
      }
    }
  }
}

// 6 rows x 16 columns of C (int32) from A as int16 pairs (a[r * kp + p] holds
// (A[r][2p], A[r][2p+1]) as two int16 in one int32) and two panels of packed
// W (PackW16). Broadcast A pair x 8 columns per madd: no horizontal sums.
TFC_QMM_AVX2_FN inline void GemmTile6x16Avx2(const int32_t* a, size_t kp, const int16_t* w0,
                                             const int16_t* w1, int32_t* c /* [6][16] */) {
  __m256i c00 = _mm256_setzero_si256(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  __m256i c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  const int32_t *a0 = a, *a1 = a + kp, *a2 = a + 2 * kp, *a3 = a + 3 * kp, *a4 = a + 4 * kp,
                *a5 = a + 5 * kp;
  for (size_t p = 0; p < kp; ++p) {
    const __m256i v0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w0 + p * 16));
    const __m256i v1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w1 + p * 16));
    __m256i b = _mm256_set1_epi32(a0[p]);
    c00 = _mm256_add_epi32(c00, _mm256_madd_epi16(b, v0));
    c01 = _mm256_add_epi32(c01, _mm256_madd_epi16(b, v1));
    b = _mm256_set1_epi32(a1[p]);
    c10 = _mm256_add_epi32(c10, _mm256_madd_epi16(b, v0));
    c11 = _mm256_add_epi32(c11, _mm256_madd_epi16(b, v1));
    b = _mm256_set1_epi32(a2[p]);
    c20 = _mm256_add_epi32(c20, _mm256_madd_epi16(b, v0));
    c21 = _mm256_add_epi32(c21, _mm256_madd_epi16(b, v1));
    b = _mm256_set1_epi32(a3[p]);
    c30 = _mm256_add_epi32(c30, _mm256_madd_epi16(b, v0));
    c31 = _mm256_add_epi32(c31, _mm256_madd_epi16(b, v1));
    b = _mm256_set1_epi32(a4[p]);
    c40 = _mm256_add_epi32(c40, _mm256_madd_epi16(b, v0));
    c41 = _mm256_add_epi32(c41, _mm256_madd_epi16(b, v1));
    b = _mm256_set1_epi32(a5[p]);
    c50 = _mm256_add_epi32(c50, _mm256_madd_epi16(b, v0));
    c51 = _mm256_add_epi32(c51, _mm256_madd_epi16(b, v1));
  }
  __m256i* o = reinterpret_cast<__m256i*>(c);
  _mm256_storeu_si256(o + 0, c00);
  _mm256_storeu_si256(o + 1, c01);
  _mm256_storeu_si256(o + 2, c10);
  _mm256_storeu_si256(o + 3, c11);
  _mm256_storeu_si256(o + 4, c20);
  _mm256_storeu_si256(o + 5, c21);
  _mm256_storeu_si256(o + 6, c30);
  _mm256_storeu_si256(o + 7, c31);
  _mm256_storeu_si256(o + 8, c40);
  _mm256_storeu_si256(o + 9, c41);
  _mm256_storeu_si256(o + 10, c50);
  _mm256_storeu_si256(o + 11, c51);
}
#endif  // TFC_QMM_X86

// Exact dot products of one row of A with rows [n0, n1) of W (row stride k),
// into out[n - n0]; four rows at a time.
template <class TA, class TW>
inline void DotRows(const TA* a, const TW* w, size_t k, size_t n0, size_t n1, size_t chunk,
                    int64_t* out) {
  size_t n = n0;
  int32_t part[4];
  for (; n + 4 <= n1; n += 4) {
    int64_t s[4] = {0, 0, 0, 0};
    const TW* r = w + n * k;
    for (size_t i = 0; i < k; i += chunk) {
      const size_t len = std::min(chunk, k - i);
      Dot32x4(a + i, r + i, r + k + i, r + 2 * k + i, r + 3 * k + i, len, part);
      for (int j = 0; j < 4; ++j) s[j] += part[j];
    }
    for (int j = 0; j < 4; ++j) out[n - n0 + static_cast<size_t>(j)] = s[j];
  }
  for (; n < n1; ++n) out[n - n0] = DotExact(a, w + n * k, k, chunk);
}

// Dot products of rows [i, i + ma) of A (ma 1 or 2, row stride lda) with
// rows [n0, n1) of W: out[r * ostride + (j - n0)]. The int8 x int8 case runs
// the AVX2 kernel where the CPU has it.
template <class TA, class TW>
inline void DotBlock(const TA* a, size_t lda, size_t ma, const TW* w, size_t k, size_t n0,
                     size_t n1, size_t chunk, int64_t* out, size_t ostride) {
#if TFC_QMM_X86
  if (std::is_same<TA, int8_t>::value && std::is_same<TW, int8_t>::value && cpu::HasAvx2Fma()) {
    DotBlockInt8Avx2(reinterpret_cast<const int8_t*>(a), lda, ma,
                     reinterpret_cast<const int8_t*>(w), k, n0, n1, chunk, out, ostride);
    return;
  }
#endif
  for (size_t r = 0; r < ma; ++r) DotRows(a + r * lda, w, k, n0, n1, chunk, out + r * ostride);
}

// Sum of each row of W [n, k] (int8), exact in 32 bits for k < 2^24 (mod 2^32
// beyond, as the 8-bit GEMM's sums).
inline void RowSums(const int8_t* w, size_t n, size_t k, int32_t* sums) {
  for (size_t r = 0; r < n; ++r) {
    const int8_t* row = w + r * k;
    uint32_t s = 0;
    size_t i = 0;
#if TFC_QMM_X86 && defined(__SSE2__)
    // 16 bytes a step: psadbw adds the bytes made unsigned (+128) in 64-bit lanes.
    const __m128i flip = _mm_set1_epi8(static_cast<char>(0x80));
    __m128i acc = _mm_setzero_si128();
    for (; i + 16 <= k; i += 16) {
      const __m128i v = _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + i)), flip);
      acc = _mm_add_epi64(acc, _mm_sad_epu8(v, _mm_setzero_si128()));
    }
    s = static_cast<uint32_t>(_mm_cvtsi128_si32(acc)) +
        static_cast<uint32_t>(_mm_cvtsi128_si32(_mm_unpackhi_epi64(acc, acc))) - 128u * static_cast<uint32_t>(i);
#endif
    for (; i < k; ++i) s += static_cast<uint32_t>(int32_t{row[i]});
    sums[r] = static_cast<int32_t>(s);
  }
}

// Row sums of W [n, k] (int8) as the official x86_64 hybrid kernels compute
// them (SSE4.1 build): eight int16 lanes, each adding the pair sums of every
// 16-byte block and then, for an 8-element remainder, one element, all
// wrapping at 16 bits; the lanes summed in int32 plus the last k % 8
// elements. Equals the exact sum unless a lane overflows (long, strongly
// biased rows). Elsewhere (no x86) the exact sum.
inline void RowSumsHybrid(const int8_t* w, size_t n, size_t k, int32_t* sums) {
#if TFC_QMM_X86
  for (size_t r = 0; r < n; ++r) {
    const int8_t* row = w + r * k;
    int16_t lanes[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    size_t c = 0;
    for (; c + 16 <= k; c += 16)
      for (int l = 0; l < 8; ++l)
        lanes[l] = static_cast<int16_t>(static_cast<uint16_t>(
            static_cast<uint16_t>(lanes[l]) + static_cast<uint16_t>(row[c + 2 * l] + row[c + 2 * l + 1])));
    if (c + 8 <= k) {
      for (int l = 0; l < 8; ++l)
        lanes[l] = static_cast<int16_t>(static_cast<uint16_t>(
            static_cast<uint16_t>(lanes[l]) + static_cast<uint16_t>(row[c + l])));
      c += 8;
    }
    int32_t s = 0;
    for (int l = 0; l < 8; ++l) s += lanes[l];
    for (; c < k; ++c) s += row[c];
    sums[r] = s;
  }
#else
  RowSums(w, n, k, sums);
#endif
}

// The official x86 hybrid FULLY_CONNECTED dot product moves the sign of the
// quantized input onto the weight byte before an unsigned x signed multiply;
// a weight of -128 does not change sign, so over the whole 16-element blocks
// (the first k & ~15 elements) a product q * (-128) with q < 0 comes out as
// -q * (-128): the dot product is off by 256 * q there. SignQuirk records
// where W holds -128 in that range (converters emit symmetric weights in
// [-127, 127], so usually nowhere) to add the same error.
struct SignQuirk {
  std::vector<uint32_t> row_start;  // n + 1 offsets into cols
  std::vector<uint32_t> cols;
  // Weights computed at run time: scan them instead (no allocation in Eval).
  const int8_t* scan_w = nullptr;
  size_t scan_k = 0;
  bool empty() const { return cols.empty() && scan_w == nullptr; }

  void Scan(const int8_t* w, size_t k) {
    row_start.clear();
    cols.clear();
#if TFC_QMM_X86
    scan_w = w;
    scan_k = k;
#else
    (void)w;
    (void)k;
#endif
  }

  void Build(const int8_t* w, size_t n, size_t k) {
    scan_w = nullptr;
    row_start.assign(n + 1, 0);
    cols.clear();
#if TFC_QMM_X86
    const size_t k16 = k & ~static_cast<size_t>(15);
    for (size_t r = 0; r < n; ++r) {
      row_start[r] = static_cast<uint32_t>(cols.size());
      for (size_t t = 0; t < k16; ++t)
        if (w[r * k + t] == -128) cols.push_back(static_cast<uint32_t>(t));
    }
#else
    (void)w;
    (void)k;
#endif
    row_start[n] = static_cast<uint32_t>(cols.size());
    if (cols.empty()) row_start.clear();
  }
  // The error the official kernel adds to the dot product of q with row r.
  int64_t Error(const int8_t* q, size_t r) const {
    int64_t e = 0;
    if (scan_w) {
      const int8_t* row = scan_w + r * scan_k;
      const size_t k16 = scan_k & ~static_cast<size_t>(15);
      for (size_t t = 0; t < k16; ++t)
        if (row[t] == -128 && q[t] < 0) e += 256 * static_cast<int64_t>(q[t]);
      return e;
    }
    for (uint32_t i = row_start[r]; i < row_start[r + 1]; ++i) {
      const int32_t v = q[cols[i]];
      if (v < 0) e += 256 * static_cast<int64_t>(v);
    }
    return e;
  }
};

// round(y), ties away from zero, for y already clamped to a small range.
inline int32_t RoundAwaySmall(float y) {
  const int32_t t = static_cast<int32_t>(y);
  const float frac = y - static_cast<float>(t);
  return t + (frac >= 0.5f ? 1 : 0) - (frac <= -0.5f ? 1 : 0);
}

// Keeps y inside [-1000, 1000] (NaN -> 0) so integer conversion is defined;
// results are clamped to int8 afterwards, so this changes nothing else.
inline float ClampForConvert(float y) {
  if (!(y > -1000.f)) y = (y != y) ? 0.f : -1000.f;
  return y < 1000.f ? y : 1000.f;
}

// Symmetric per-row quantization of the hybrid kernels: range = max|v|,
// scale = range / 127, q = clamp(round(v * (127 / range)), -127, 127) (both
// quotients in float, rounding ties away from zero). An all-zero row gives
// q = 0 and scale 1.
inline void QuantizeSymmetric(const float* v, size_t n, int8_t* q, float* scale) {
  if (n == 0) {
    *scale = 1.f;
    return;
  }
  float lo = v[0], hi = v[0];
  for (size_t i = 1; i < n; ++i) {
    lo = v[i] < lo ? v[i] : lo;
    hi = v[i] > hi ? v[i] : hi;
  }
  const float range = std::max(std::fabs(lo), std::fabs(hi));
  if (range == 0.f) {
    std::memset(q, 0, n);
    *scale = 1.f;
    return;
  }
  *scale = range / 127.f;
  const float inv = 127.f / range;
  for (size_t i = 0; i < n; ++i) {
    const float y = v[i] * inv;
    int32_t r = RoundAwaySmall(ClampForConvert(y));
    r = r < -127 ? -127 : (r > 127 ? 127 : r);
    q[i] = static_cast<int8_t>(r);
  }
}

// Asymmetric per-row quantization (asymmetric_quantize_inputs): the range
// [min(0, min v), max(0, max v)] mapped onto [-128, 127], all in float as
// the official runtime computes it: scale = (max - min) / 255, the zero point
// from whichever end has the smaller error (-128 - min / scale or 127 - max /
// scale), rounded half away from zero and clamped; then q = clamp(round(zp +
// v * (1 / scale))), the multiply-add fused. A constant-zero row gives q = 0,
// scale 1, zp 0.
inline void QuantizeAsymmetric(const float* v, size_t n, int8_t* q, float* scale, int32_t* zp) {
  float lo = 0.f, hi = 0.f;
  if (n > 0) {
    float mn = v[0], mx = v[0];
    for (size_t i = 1; i < n; ++i) {
      mn = v[i] < mn ? v[i] : mn;
      mx = v[i] > mx ? v[i] : mx;
    }
    lo = std::min(0.f, mn);
    hi = std::max(0.f, mx);
  }
  if (lo == hi) {
    std::memset(q, 0, n);
    *scale = 1.f;
    *zp = 0;
    return;
  }
  const float sf = (hi - lo) / 255.f;
  const float lo_s = lo / sf, hi_s = hi / sf;
  const float zp_from_min = -128.f - lo_s;
  const float zp_from_max = 127.f - hi_s;
  const float err_min = 128.f + std::fabs(lo_s);
  const float err_max = 127.f + std::fabs(hi_s);
  const float zpf = err_min < err_max ? zp_from_min : zp_from_max;
  int32_t z;
  if (!(zpf > -128.f))
    z = -128;
  else if (zpf >= 127.f)
    z = 127;
  else
    z = static_cast<int32_t>(std::round(zpf));
  *scale = sf;
  *zp = z;
  const float inv = 1.0f / sf;
  const float zf = static_cast<float>(z);
  for (size_t i = 0; i < n; ++i) {
    // zp + v / scale as one fused multiply-add, as the official x86_64 build
    // computes it.
    const float y = std::fma(v[i], inv, zf);
    int32_t r = RoundAwaySmall(ClampForConvert(y));
    r = r < -128 ? -128 : (r > 127 ? 127 : r);
    q[i] = static_cast<int8_t>(r);
  }
}

// Output stage of a quantized product: acc (the exact sum of (a - a_zp) *
// (w - w_zp) plus the bias) -> clamp(multiply(acc) + out_zp, qmin, qmax).
struct Requant {
  enum Mode {
    kHalfUp,  // optimized GEMM: acc wrapped to int32, MulRoundHalfUp
    kRef32,   // reference kernels, int32 accumulator: MultiplyByQuantizedMultiplier
    kRef64,   // reference kernels, int64 accumulator (16x8 with int64 bias)
    kRaw,     // no output stage: acc wrapped to int32 (INT8 x INT8 -> INT32)
    kDouble,  // reference kernels taking float scales: round(double(acc) *
              // real_scale) (acc wrapped to int32 first when wrap32)
  };
  Mode mode = kHalfUp;
  const int32_t* multiplier = nullptr;  // per output column when per_channel
  const int* shift = nullptr;
  const double* real_scale = nullptr;  // kDouble
  bool wrap32 = false;                 // kDouble
  bool per_channel = false;
  int32_t out_zp = 0, qmin = 0, qmax = 0;

  // kHalfUp per channel, folded into one multiply and one shift: with r =
  // max(0, -shift), the doubling high multiply's rounding and the right
  // shift's nest into a single floor, (x * 2^left * m + 2^30 + [r > 0]
  // 2^(30 + r)) >> (31 + r), exact in int64 (|x * 2^left * m| < 2^62).
  struct HalfUpChannel {
    int64_t multiplier;
    int64_t round;
    int left;
    int total_shift;
  };
  std::vector<HalfUpChannel> half_up;

  // Call once multiplier / shift are set (channels: how many they hold).
  void Finalize(size_t channels) {
    half_up.resize(channels);
    for (size_t c = 0; c < channels; ++c) {
      const int sh = shift[c];
      const int left = sh > 0 ? sh : 0;
      const int right = sh > 0 ? 0 : -sh;
      HalfUpChannel& h = half_up[c];
      h.multiplier = multiplier[c];
      h.left = left;
      h.total_shift = 31 + right;
      h.round = (int64_t{1} << 30) + (right > 0 ? (int64_t{1} << (30 + right)) : 0);
    }
  }

  int32_t operator()(int64_t acc, size_t col) const {
    switch (mode) {
      case kRaw:
        return Apply<kRaw>(acc, col);
      case kDouble:
        return Apply<kDouble>(acc, col);
      case kRef64:
        return Apply<kRef64>(acc, col);
      case kRef32:
        return Apply<kRef32>(acc, col);
      default:
        return Apply<kHalfUp>(acc, col);
    }
  }

  template <Mode M>
  inline int32_t Apply(int64_t acc, size_t col) const {
    if (M == kRaw) return WrapToInt32(acc);
    const size_t c = per_channel ? col : 0;
    int32_t v;
    if (M == kDouble) {
      const double a = wrap32 ? static_cast<double>(WrapToInt32(acc)) : static_cast<double>(acc);
      v = SaturatingDoubleToInt32(RoundHalfAway(a * real_scale[c]), INT32_MIN, INT32_MAX, 0);
    } else if (M == kRef64) {
      v = MultiplyByQuantizedMultiplier64(acc, multiplier[c], shift[c]);
    } else if (M == kRef32) {
      v = MultiplyByQuantizedMultiplier(WrapToInt32(acc), multiplier[c], shift[c]);
    } else if (!half_up.empty()) {
      const HalfUpChannel& h = half_up[c];
      const int32_t x = WrappingShiftLeft(WrapToInt32(acc), h.left);
      v = static_cast<int32_t>((x * h.multiplier + h.round) >> h.total_shift);
    } else {
      v = MulRoundHalfUp(WrapToInt32(acc), multiplier[c], shift[c]);
    }
    const int64_t o = static_cast<int64_t>(v) + out_zp;
    return static_cast<int32_t>(o < qmin ? qmin : (o > qmax ? qmax : o));
  }

  // o[j] = this(d[j - j0] + rowterm + colterm[j], j) for j in [j0, j1), the
  // mode chosen once.
  template <class TD, class TO>
  void Row(const TD* d, int64_t rowterm, const int64_t* colterm, size_t j0, size_t j1,
           TO* o) const {
    switch (mode) {
      case kRaw:
        return RowImpl<kRaw, TD, TO>(d, rowterm, colterm, j0, j1, o);
      case kDouble:
        return RowImpl<kDouble, TD, TO>(d, rowterm, colterm, j0, j1, o);
      case kRef64:
        return RowImpl<kRef64, TD, TO>(d, rowterm, colterm, j0, j1, o);
      case kRef32:
        return RowImpl<kRef32, TD, TO>(d, rowterm, colterm, j0, j1, o);
      default:
        return RowImpl<kHalfUp, TD, TO>(d, rowterm, colterm, j0, j1, o);
    }
  }

  template <Mode M, class TD, class TO>
  void RowImpl(const TD* d, int64_t rowterm, const int64_t* colterm, size_t j0, size_t j1,
               TO* o) const {
    if (M == kHalfUp && !half_up.empty()) {
      const HalfUpChannel* hc = half_up.data();
      const size_t step = per_channel ? 1 : 0;
      const int64_t lo = qmin, hi = qmax, zp = out_zp;
      for (size_t j = j0; j < j1; ++j) {
        const HalfUpChannel& h = hc[j * step];
        const int64_t acc = static_cast<int64_t>(d[j - j0]) + rowterm + colterm[j];
        const int32_t x = WrappingShiftLeft(WrapToInt32(acc), h.left);
        int64_t v = ((x * h.multiplier + h.round) >> h.total_shift) + zp;
        v = v < lo ? lo : (v > hi ? hi : v);
        o[j] = static_cast<TO>(v);
      }
      return;
    }
    for (size_t j = j0; j < j1; ++j)
      o[j] = static_cast<TO>(Apply<M>(static_cast<int64_t>(d[j - j0]) + rowterm + colterm[j], j));
  }
};

constexpr size_t kBlockN = 64;  // output columns per inner block

// Runs body(m0, m1, n0, n1) over the [m, n] output, split over threads along
// n (or along m when there are more rows than columns) when the work is
// large enough.
template <class Body>
void ParallelRowsCols(ThreadPool& pool, size_t m, size_t n, size_t k, Body&& body) {
  const double macs = static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  if (pool.num_threads() <= 1 || macs < 65536.0) {
    body(size_t{0}, m, size_t{0}, n);
    return;
  }
  if (m > n) {
    pool.ParallelFor(static_cast<int64_t>(m), 1, [&](int64_t b, int64_t e) {
      body(static_cast<size_t>(b), static_cast<size_t>(e), size_t{0}, n);
    });
  } else {
    const int64_t blocks = static_cast<int64_t>((n + 3) / 4);
    pool.ParallelFor(blocks, 1, [&](int64_t b, int64_t e) {
      body(size_t{0}, m, static_cast<size_t>(b) * 4, std::min(n, static_cast<size_t>(e) * 4));
    });
  }
}

// ---------------------------------------------------------------------------
// Packed int8 GEMM (AVX2, several activation rows): W as int16 panels of 8
// columns with k in pairs, A as int16 pairs, 6 x 16 register tiles.
// ---------------------------------------------------------------------------

constexpr size_t kPackMR = 6;    // rows of a tile
constexpr size_t kPackNR = 16;   // columns of a tile (two panels)
constexpr size_t kPackMinRows = 4;  // fewer rows: the dot-product kernels

// Whether the packed path runs here (x86 with AVX2).
inline bool PackedGemmAvailable() {
#if TFC_QMM_X86
  return cpu::HasAvx2Fma();
#else
  return false;
#endif
}

// int16 elements of packed W for n columns and depth k (panel pairs, k even).
inline size_t PackedW16Size(size_t n, size_t k) {
  return ((n + kPackNR - 1) / kPackNR) * 2 * ((k + 1) / 2) * 16;
}

// W [n, k] int8 -> panels of 8 columns: dst[(panel * kp + p) * 16 + c * 2 + e]
// = W[panel * 8 + c][2p + e] (zero beyond n or k), kp = ceil(k / 2).
inline void PackW16(const int8_t* w, size_t n, size_t k, int16_t* dst) {
  const size_t kp = (k + 1) / 2;
  const size_t panels = ((n + kPackNR - 1) / kPackNR) * 2;
  for (size_t pn = 0; pn < panels; ++pn)
    for (size_t p = 0; p < kp; ++p)
      for (size_t c = 0; c < 8; ++c)
        for (size_t e = 0; e < 2; ++e) {
          const size_t j = pn * 8 + c, t = 2 * p + e;
          dst[(pn * kp + p) * 16 + c * 2 + e] = (j < n && t < k) ? w[j * k + t] : 0;
        }
}

// int32 elements of the packed A scratch for m rows (whole tiles).
inline size_t PackedA16Size(size_t m, size_t k) {
  return ((m + kPackMR - 1) / kPackMR) * kPackMR * ((k + 1) / 2);
}

// A [m, k] int8 -> dst[r * kp + p] = (A[r][2p], A[r][2p+1]) as two int16
// (low half first), rows padded with zeros to whole tiles.
inline void PackA16(const int8_t* a, size_t m, size_t k, int32_t* dst) {
  const size_t kp = (k + 1) / 2;
  const size_t rows = ((m + kPackMR - 1) / kPackMR) * kPackMR;
  for (size_t r = 0; r < rows; ++r)
    for (size_t p = 0; p < kp; ++p) {
      const size_t t = 2 * p;
      const int16_t lo = (r < m) ? a[r * k + t] : 0;
      const int16_t hi = (r < m && t + 1 < k) ? a[r * k + t + 1] : 0;
      const uint32_t v = static_cast<uint32_t>(static_cast<uint16_t>(lo)) |
                         (static_cast<uint32_t>(static_cast<uint16_t>(hi)) << 16);
      dst[r * kp + p] = static_cast<int32_t>(v);
    }
}

// out[i][j] = rq(sum_k (a[i][k] - a_zp) * (w[j][k] - w_zp) + colterm[j]) for
// i < m, j < n; a is [m, k] (row stride k), w [n, k], out [m, n] (row
// stride out_stride). colterm[j] = bias[j] - a_zp * sum_k w[j][k] +
// k * a_zp * w_zp (see ColumnTerms). chunk: ChunkFor the operand types.
template <class TA, class TW, class TO>
void QuantMatMul(ThreadPool& pool, const TA* a, size_t m, size_t k, const TW* w, size_t n,
                 int32_t w_zp, const int64_t* colterm, const Requant& rq, TO* out,
                 size_t out_stride, size_t chunk, const int16_t* packed_w = nullptr,
                 int32_t* a_scratch = nullptr) {
#if TFC_QMM_X86
  if (std::is_same<TA, int8_t>::value && std::is_same<TW, int8_t>::value && packed_w &&
      a_scratch && m >= kPackMinRows && k <= ChunkFor(128, 128) && PackedGemmAvailable()) {
    const size_t kp = (k + 1) / 2;
    PackA16(reinterpret_cast<const int8_t*>(a), m, k, a_scratch);
    const size_t col_tiles = (n + kPackNR - 1) / kPackNR;
    const size_t row_tiles = (m + kPackMR - 1) / kPackMR;
    auto run = [&](size_t ct0, size_t ct1, size_t rt0, size_t rt1) {
      alignas(32) int32_t tile[kPackMR * kPackNR];
      for (size_t ct = ct0; ct < ct1; ++ct) {
        const int16_t* w0 = packed_w + (2 * ct) * kp * 16;
        const int16_t* w1 = w0 + kp * 16;
        const size_t j0 = ct * kPackNR, j1 = std::min(n, j0 + kPackNR);
        for (size_t rt = rt0; rt < rt1; ++rt) {
          GemmTile6x16Avx2(a_scratch + rt * kPackMR * kp, kp, w0, w1, tile);
          for (size_t r = 0; r < kPackMR; ++r) {
            const size_t i = rt * kPackMR + r;
            if (i >= m) break;
            int64_t rowterm = 0;
            if (w_zp != 0) {
              int64_t sa = 0;
              for (size_t t = 0; t < k; ++t) sa += a[i * k + t];
              rowterm = -static_cast<int64_t>(w_zp) * sa;
            }
            rq.Row(tile + r * kPackNR, rowterm, colterm, j0, j1, out + i * out_stride);
          }
        }
      }
    };
    const double macs = static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
    if (pool.num_threads() <= 1 || macs < 65536.0) {
      run(0, col_tiles, 0, row_tiles);
    } else if (col_tiles >= static_cast<size_t>(pool.num_threads())) {
      pool.ParallelFor(static_cast<int64_t>(col_tiles), 1, [&](int64_t b, int64_t e) {
        run(static_cast<size_t>(b), static_cast<size_t>(e), 0, row_tiles);
      });
    } else {
      pool.ParallelFor(static_cast<int64_t>(row_tiles), 1, [&](int64_t b, int64_t e) {
        run(0, col_tiles, static_cast<size_t>(b), static_cast<size_t>(e));
      });
    }
    return;
  }
#else
  (void)packed_w;
  (void)a_scratch;
#endif
  ParallelRowsCols(pool, m, n, k, [&](size_t m0, size_t m1, size_t n0, size_t n1) {
    int64_t dots[2 * kBlockN];
    for (size_t i = m0; i < m1; i += 2) {
      const size_t ma = std::min<size_t>(2, m1 - i);
      int64_t rowterm[2] = {0, 0};
      for (size_t r = 0; r < ma && w_zp != 0; ++r) {
        const TA* row = a + (i + r) * k;
        int64_t sa = 0;
        for (size_t t = 0; t < k; ++t) sa += row[t];
        rowterm[r] = -static_cast<int64_t>(w_zp) * sa;
      }
      for (size_t j0 = n0; j0 < n1; j0 += kBlockN) {
        const size_t j1 = std::min(n1, j0 + kBlockN);
        DotBlock(a + i * k, k, ma, w, k, j0, j1, chunk, dots, kBlockN);
        for (size_t r = 0; r < ma; ++r) {
          rq.Row(dots + r * kBlockN, rowterm[r], colterm, j0, j1, out + (i + r) * out_stride);
        }
      }
    }
  });
}

// colterm[j] = bias[j] - a_zp * sum_k w[j][k] + k * a_zp * w_zp (exact).
template <class TW, class TB>
void ColumnTerms(const TW* w, size_t n, size_t k, const TB* bias, int32_t a_zp, int32_t w_zp,
                 int64_t* colterm) {
  for (size_t j = 0; j < n; ++j) {
    int64_t s = 0;
    const TW* r = w + j * k;
    for (size_t t = 0; t < k; ++t) s += r[t];
    int64_t v = bias ? static_cast<int64_t>(bias[j]) : 0;
    v -= static_cast<int64_t>(a_zp) * s;
    v += static_cast<int64_t>(k) * a_zp * w_zp;
    colterm[j] = v;
  }
}

// Hybrid product: q [m, k] int8 rows quantized with scale row_scale[i] (the
// weights' scale already folded in when per tensor) and zero point row_zp[i]
// (nullptr: symmetric); w [n, k] int8 with row sums w_sums (needed when
// row_zp is given) and per-channel scales channel_scale[j] (nullptr: per
// tensor). out[i][j] = act((bias[j] or 0) + float(dot - zp * w_sum) *
// scale), the dot product in int32 and the scale the float product
// channel_scale[j] * row_scale[i], as the official hybrid kernels compute it.
// The output stage of the hybrid product for row i, columns [j0, j1), from
// int32 dot products d[j - j0].
template <class TD>
inline void HybridRow(const TD* d, size_t j0, size_t j1, float rs, int32_t zp,
                      const int32_t* w_sums, const float* channel_scale, const float* bias,
                      FloatRange act, float* o, const SignQuirk* quirk, const int8_t* qrow) {
  for (size_t j = j0; j < j1; ++j) {
    int64_t dot = static_cast<int64_t>(d[j - j0]);
    if (quirk) dot += quirk->Error(qrow, j);
    int32_t v = WrapToInt32(dot);
    if (zp != 0) {
      const int32_t offset = WrapToInt32(static_cast<int64_t>(zp) * w_sums[j]);
      v = WrapToInt32(static_cast<int64_t>(v) - offset);
    }
    // Separate statements: no fused multiply-add, as the official kernel
    // rounds the product before adding the bias.
    const float scale = channel_scale ? channel_scale[j] * rs : rs;
    const float prod = static_cast<float>(v) * scale;
    const float base = bias ? bias[j] : 0.0f;
    const float sum = base + prod;
    o[j] = act.Apply(sum);
  }
}

inline void HybridMatMul(ThreadPool& pool, const int8_t* q, const float* row_scale,
                         const int32_t* row_zp, size_t m, size_t k, const int8_t* w, size_t n,
                         const int32_t* w_sums, const float* channel_scale, const float* bias,
                         FloatRange act, float* out, size_t out_stride,
                         const int16_t* packed_w = nullptr, int32_t* a_scratch = nullptr,
                         const SignQuirk* quirk = nullptr) {
  const size_t chunk = ChunkFor(128, 128);
  if (quirk && quirk->empty()) quirk = nullptr;
#if TFC_QMM_X86
  if (packed_w && a_scratch && m >= kPackMinRows && k <= chunk && PackedGemmAvailable()) {
    const size_t kp = (k + 1) / 2;
    PackA16(q, m, k, a_scratch);
    const size_t col_tiles = (n + kPackNR - 1) / kPackNR;
    const size_t row_tiles = (m + kPackMR - 1) / kPackMR;
    auto run = [&](size_t ct0, size_t ct1, size_t rt0, size_t rt1) {
      alignas(32) int32_t tile[kPackMR * kPackNR];
      for (size_t ct = ct0; ct < ct1; ++ct) {
        const int16_t* w0 = packed_w + (2 * ct) * kp * 16;
        const int16_t* w1 = w0 + kp * 16;
        const size_t j0 = ct * kPackNR, j1 = std::min(n, j0 + kPackNR);
        for (size_t rt = rt0; rt < rt1; ++rt) {
          GemmTile6x16Avx2(a_scratch + rt * kPackMR * kp, kp, w0, w1, tile);
          for (size_t r = 0; r < kPackMR; ++r) {
            const size_t i = rt * kPackMR + r;
            if (i >= m) break;
            HybridRow(tile + r * kPackNR, j0, j1, row_scale[i], row_zp ? row_zp[i] : 0, w_sums,
                      channel_scale, bias, act, out + i * out_stride, quirk, q + i * k);
          }
        }
      }
    };
    const double macs = static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
    if (pool.num_threads() <= 1 || macs < 65536.0) {
      run(0, col_tiles, 0, row_tiles);
    } else if (col_tiles >= static_cast<size_t>(pool.num_threads())) {
      pool.ParallelFor(static_cast<int64_t>(col_tiles), 1, [&](int64_t b, int64_t e) {
        run(static_cast<size_t>(b), static_cast<size_t>(e), 0, row_tiles);
      });
    } else {
      pool.ParallelFor(static_cast<int64_t>(row_tiles), 1, [&](int64_t b, int64_t e) {
        run(0, col_tiles, static_cast<size_t>(b), static_cast<size_t>(e));
      });
    }
    return;
  }
#else
  (void)packed_w;
  (void)a_scratch;
#endif
  ParallelRowsCols(pool, m, n, k, [&](size_t m0, size_t m1, size_t n0, size_t n1) {
    int64_t dots[2 * kBlockN];
    for (size_t i0 = m0; i0 < m1; i0 += 2) {
      const size_t ma = std::min<size_t>(2, m1 - i0);
      for (size_t j0 = n0; j0 < n1; j0 += kBlockN) {
        const size_t j1 = std::min(n1, j0 + kBlockN);
        DotBlock(q + i0 * k, k, ma, w, k, j0, j1, chunk, dots, kBlockN);
        for (size_t r = 0; r < ma; ++r) {
          const size_t i = i0 + r;
          HybridRow(dots + r * kBlockN, j0, j1, row_scale[i], row_zp ? row_zp[i] : 0, w_sums,
                    channel_scale, bias, act, out + i * out_stride, quirk, q + i * k);
        }
      }
    }
  });
}

}  // namespace qmm
}  // namespace tfc
