// DEPTHWISE_CONV_2D: float32 (below), and quantized / hybrid
// (QuantDepthwiseConv2D, further down; DepthwiseConv2D at the end picks one).
//
// Float32:
// Input [N, H, W, Cin], filter [1, KH, KW, Cout] with Cout = Cin * multiplier,
// bias [Cout] (optional), output [N, OH, OW, Cout]:
//   out[n, oy, ox, c*m + j] = bias + sum_{ky,kx} in[n, iy, ix, c] * w[ky, kx, c*m + j]
//
// Multiplier 1 (the common case) is vectorized over channels: the filter is
// packed once into tiles of 8 channels ([tile][tap][8], bias [tile][8]).
// 3x3 filters without dilation keep a tile's 9 weight vectors in registers
// while sweeping the interior of an output row (an AVX2+FMA version on
// x86_64 when the CPU has it); rows hitting the top/bottom padding read a zero
// row instead of the image, and the left/right edge pixels and other filter
// sizes take the general per-pixel path. Multipliers > 1 use a scalar loop.
#include <algorithm>
#include <cstring>
#include <memory>
#include <type_traits>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/util/activation.h"
#include "kernels/util/conv_util.h"
#include "kernels/util/gemm.h"
#include "kernels/util/qgemm.h"
#include "kernels/util/quant_math.h"

namespace tfc {
namespace {

using gemm::LoadV4;
using gemm::MaxV4;
using gemm::MinV4;
using gemm::SplatV4;
using gemm::StoreV4;
using gemm::v4f;

constexpr int kTile = 8;

bool IsQuantizedType(TfLiteType t) {
  return t == kTfLiteInt8 || t == kTfLiteUInt8 || t == kTfLiteInt16 || t == kTfLiteInt4;
}

// Geometry shared by the row functions.
struct DwShape {
  int in_h, in_w, c;  // c: channels (multiplier 1)
  int out_h, out_w;
  int kh, kw, sh, sw, dh, dw, pad_t, pad_l;
  int tiles;  // ceil(c / 8)
};

// Packs filter [KH*KW][C] and bias into [tile][tap][8] / [tile][8].
void PackDepthwise(const float* filter, const float* bias, int c, int taps, float* wdst,
                   float* bdst) {
  const int tiles = (c + kTile - 1) / kTile;
  for (int t = 0; t < tiles; ++t) {
    for (int tap = 0; tap < taps; ++tap) {
      float* d = wdst + (static_cast<size_t>(t) * taps + tap) * kTile;
      for (int j = 0; j < kTile; ++j) {
        const int ch = t * kTile + j;
        d[j] = ch < c ? filter[static_cast<size_t>(tap) * c + ch] : 0.f;
      }
    }
    for (int j = 0; j < kTile; ++j) {
      const int ch = t * kTile + j;
      bdst[t * kTile + j] = (bias && ch < c) ? bias[ch] : 0.f;
    }
  }
}

// One output pixel of the general path over full channel tiles [t0, t1):
// its n valid taps given as input offsets (floats from the image) and tap
// indices into each tile's packed weights. The tap loops' bounds and index
// arithmetic, once per pixel instead of once per tile, were 3x the
// arithmetic of a 1x3 filter over 64 channels.
using PixelTapsFn = void (*)(const float* img, const size_t* off, const int* tap, int n, int taps,
                             const float* w, const float* bias, float* o, int t0, int t1, float lo,
                             float hi);

// Most taps a pixel's list holds (up to 8x8 filters); larger ones loop over
// the taps per tile.
constexpr int kMaxListedTaps = 64;

void DwPixelTapsGeneric(const float* img, const size_t* off, const int* tap, int n, int taps,
                        const float* w, const float* bias, float* o, int t0, int t1, float lo,
                        float hi) {
  const v4f vlo = SplatV4(lo), vhi = SplatV4(hi);
  for (int t = t0; t < t1; ++t) {
    const size_t ch0 = static_cast<size_t>(t) * kTile;
    const float* wt = w + static_cast<size_t>(t) * taps * kTile;
    v4f a0 = LoadV4(bias + ch0), a1 = LoadV4(bias + ch0 + 4);
    for (int i = 0; i < n; ++i) {
      const float* p = img + off[i] + ch0;
      const float* wp = wt + tap[i] * kTile;
      a0 += LoadV4(p) * LoadV4(wp);
      a1 += LoadV4(p + 4) * LoadV4(wp + 4);
    }
    StoreV4(o + ch0, MinV4(MaxV4(a0, vlo), vhi));
    StoreV4(o + ch0 + 4, MinV4(MaxV4(a1, vlo), vhi));
  }
}

#if TFC_GEMM_X86
TFC_AVX2_FN void DwPixelTapsAvx2(const float* img, const size_t* off, const int* tap, int n, int taps,
                                 const float* w, const float* bias, float* o, int t0, int t1, float lo,
                                 float hi) {
  const __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
  const size_t tile_floats = static_cast<size_t>(taps) * kTile;
  int t = t0;
  // Four tiles at a time: four independent chains of fused multiply-adds
  // (one tile's chain, 4 cycles a tap, was the bound).
  for (; t + 4 <= t1; t += 4) {
    const size_t ch0 = static_cast<size_t>(t) * kTile;
    const float* wt = w + static_cast<size_t>(t) * tile_floats;
    __m256 a0 = _mm256_loadu_ps(bias + ch0), a1 = _mm256_loadu_ps(bias + ch0 + 8);
    __m256 a2 = _mm256_loadu_ps(bias + ch0 + 16), a3 = _mm256_loadu_ps(bias + ch0 + 24);
    for (int i = 0; i < n; ++i) {
      const float* p = img + off[i] + ch0;
      const float* wp = wt + tap[i] * kTile;
      a0 = _mm256_fmadd_ps(_mm256_loadu_ps(p), _mm256_loadu_ps(wp), a0);
      a1 = _mm256_fmadd_ps(_mm256_loadu_ps(p + 8), _mm256_loadu_ps(wp + tile_floats), a1);
      a2 = _mm256_fmadd_ps(_mm256_loadu_ps(p + 16), _mm256_loadu_ps(wp + 2 * tile_floats), a2);
      a3 = _mm256_fmadd_ps(_mm256_loadu_ps(p + 24), _mm256_loadu_ps(wp + 3 * tile_floats), a3);
    }
    _mm256_storeu_ps(o + ch0, _mm256_min_ps(_mm256_max_ps(a0, vlo), vhi));
    _mm256_storeu_ps(o + ch0 + 8, _mm256_min_ps(_mm256_max_ps(a1, vlo), vhi));
    _mm256_storeu_ps(o + ch0 + 16, _mm256_min_ps(_mm256_max_ps(a2, vlo), vhi));
    _mm256_storeu_ps(o + ch0 + 24, _mm256_min_ps(_mm256_max_ps(a3, vlo), vhi));
  }
  for (; t < t1; ++t) {
    const size_t ch0 = static_cast<size_t>(t) * kTile;
    const float* wt = w + static_cast<size_t>(t) * tile_floats;
    __m256 a = _mm256_loadu_ps(bias + ch0);
    for (int i = 0; i < n; ++i)
      a = _mm256_fmadd_ps(_mm256_loadu_ps(img + off[i] + ch0), _mm256_loadu_ps(wt + tap[i] * kTile), a);
    _mm256_storeu_ps(o + ch0, _mm256_min_ps(_mm256_max_ps(a, vlo), vhi));
  }
}
#endif

PixelTapsFn SelectPixelTaps() {
#if TFC_GEMM_X86
  static const PixelTapsFn fn = cpu::HasAvx2Fma() ? DwPixelTapsAvx2 : DwPixelTapsGeneric;
#else
  static const PixelTapsFn fn = DwPixelTapsGeneric;
#endif
  return fn;
}

// General path (multiplier 1): output pixels [ox0, ox1) of row oy of image
// `img`, channel tiles [t0, t1), with bounds checks on every tap.
void DwPixelsGeneric(const DwShape& s, const float* img, const float* w, const float* bias,
                     float* out_row, int oy, int ox0, int ox1, int t0, int t1, FloatRange act) {
  const int iy0 = oy * s.sh - s.pad_t;
  int ky0, ky1;
  ValidTaps(iy0, s.kh, s.dh, s.in_h, &ky0, &ky1);
  const int taps = s.kh * s.kw;
  const size_t c = static_cast<size_t>(s.c);
  const v4f vlo = SplatV4(act.lo), vhi = SplatV4(act.hi);
  // Full tiles through the tap list, where the filter fits it.
  const int listed_t1 = taps <= kMaxListedTaps ? std::max(t0, std::min(t1, s.c / kTile)) : t0;
  const PixelTapsFn pixel_taps = SelectPixelTaps();
  // A pixel's taps kx in [kx0, kx1), as offsets from its first one's column.
  auto list_taps = [&](int kx0, int kx1, size_t* off, int* tap) {
    int n = 0;
    for (int ky = ky0; ky < ky1; ++ky) {
      const size_t row = static_cast<size_t>(iy0 + ky * s.dh) * s.in_w;
      for (int kx = kx0; kx < kx1; ++kx, ++n) {
        off[n] = (row + static_cast<size_t>(kx - kx0) * s.dw) * c;
        tap[n] = ky * s.kw + kx;
      }
    }
    return n;
  };
  // Pixels whose every column tap is inside the image share one list.
  size_t off[kMaxListedTaps], inner_off[kMaxListedTaps];
  int tap[kMaxListedTaps], inner_tap[kMaxListedTaps];
  int inner_n = -1;
  for (int ox = ox0; ox < ox1; ++ox) {
    const int ix0 = ox * s.sw - s.pad_l;
    int kx0, kx1;
    ValidTaps(ix0, s.kw, s.dw, s.in_w, &kx0, &kx1);
    float* o = out_row + static_cast<size_t>(ox) * c;
    if (t0 < listed_t1 && kx0 < kx1) {
      const float* base = img + static_cast<size_t>(ix0 + kx0 * s.dw) * c;  // the first valid column
      if (kx0 == 0 && kx1 == s.kw) {
        if (inner_n < 0) inner_n = list_taps(0, s.kw, inner_off, inner_tap);
        pixel_taps(base, inner_off, inner_tap, inner_n, taps, w, bias, o, t0, listed_t1, act.lo, act.hi);
      } else {
        const int n = list_taps(kx0, kx1, off, tap);
        pixel_taps(base, off, tap, n, taps, w, bias, o, t0, listed_t1, act.lo, act.hi);
      }
    } else if (t0 < listed_t1) {  // no valid tap: the bias alone
      pixel_taps(img, off, tap, 0, taps, w, bias, o, t0, listed_t1, act.lo, act.hi);
    }
    for (int t = listed_t1; t < t1; ++t) {
      const size_t ch0 = static_cast<size_t>(t) * kTile;
      const float* wt = w + static_cast<size_t>(t) * taps * kTile;
      if (ch0 + kTile <= c) {
        v4f a0 = LoadV4(bias + ch0), a1 = LoadV4(bias + ch0 + 4);
        for (int ky = ky0; ky < ky1; ++ky) {
          const float* prow = img + static_cast<size_t>(iy0 + ky * s.dh) * s.in_w * c + ch0;
          for (int kx = kx0; kx < kx1; ++kx) {
            const float* p = prow + static_cast<size_t>(ix0 + kx * s.dw) * c;
            const float* wp = wt + (ky * s.kw + kx) * kTile;
            a0 += LoadV4(p) * LoadV4(wp);
            a1 += LoadV4(p + 4) * LoadV4(wp + 4);
          }
        }
        StoreV4(o + ch0, MinV4(MaxV4(a0, vlo), vhi));
        StoreV4(o + ch0 + 4, MinV4(MaxV4(a1, vlo), vhi));
      } else {
        const int n = static_cast<int>(c - ch0);
        float acc[kTile];
        for (int j = 0; j < n; ++j) acc[j] = bias[ch0 + j];
        for (int ky = ky0; ky < ky1; ++ky) {
          const float* prow = img + static_cast<size_t>(iy0 + ky * s.dh) * s.in_w * c + ch0;
          for (int kx = kx0; kx < kx1; ++kx) {
            const float* p = prow + static_cast<size_t>(ix0 + kx * s.dw) * c;
            const float* wp = wt + (ky * s.kw + kx) * kTile;
            for (int j = 0; j < n; ++j) acc[j] += p[j] * wp[j];
          }
        }
        for (int j = 0; j < n; ++j) o[ch0 + j] = act.Apply(acc[j]);
      }
    }
  }
}

// 3x3 filter, dilation 1, one output row, full channel tiles [t0, t1).
// r[ky]: the input row of tap row ky (the zero row when it lies in the
// padding). Columns [ox_lo, ox_hi) have all three taps inside the image and
// walk the rows with a fixed stride; the few edge columns point their
// outside taps at zeros.
struct Row3x3Args {
  const float* r[3];
  const float* zero;  // at least in_w * c + 8 zeros
  const float* w;     // packed [tile][9][8]
  const float* bias;  // packed [tile][8]
  float* out_row;
  int c, sw, pad_l, in_w, out_w, ox_lo, ox_hi, t0, t1;
  float lo, hi;
};
using Row3x3Fn = void (*)(const Row3x3Args& a);

// The 9 tap pointers of an edge pixel (channel offset ch added).
inline void EdgeTaps(const Row3x3Args& a, int ox, size_t ch, const float** p) {
  const int ix0 = ox * a.sw - a.pad_l;
  const size_t cs = static_cast<size_t>(a.c);
  for (int ky = 0; ky < 3; ++ky) {
    for (int kx = 0; kx < 3; ++kx) {
      const int ix = ix0 + kx;
      p[ky * 3 + kx] = (ix >= 0 && ix < a.in_w) ? a.r[ky] + static_cast<size_t>(ix) * cs + ch
                                                : a.zero + ch;
    }
  }
}

// Portable version of the row kernel below (4-lane vectors: each 8-channel
// tile as two halves).
inline void DwPixel3x3Generic(const float* const* p, const float* w, const float* bias, float* o,
                              size_t ch0, size_t ch1, v4f vlo, v4f vhi) {
  for (size_t ch = ch0; ch < ch1; ch += 4) {
    const float* wt = w + (ch / kTile) * 9 * kTile + (ch % kTile);
    v4f x = LoadV4(bias + ch) + LoadV4(p[0] + ch) * LoadV4(wt);
    v4f y = LoadV4(p[1] + ch) * LoadV4(wt + 8);
    x += LoadV4(p[2] + ch) * LoadV4(wt + 16);
    y += LoadV4(p[3] + ch) * LoadV4(wt + 24);
    x += LoadV4(p[4] + ch) * LoadV4(wt + 32);
    y += LoadV4(p[5] + ch) * LoadV4(wt + 40);
    x += LoadV4(p[6] + ch) * LoadV4(wt + 48);
    y += LoadV4(p[7] + ch) * LoadV4(wt + 56);
    x += LoadV4(p[8] + ch) * LoadV4(wt + 64);
    StoreV4(o + ch, MinV4(MaxV4(x + y, vlo), vhi));
  }
}

template <int P, int S>
inline void DwGroup3x3Generic(const float* r0, const float* r1, const float* r2, const float* w,
                              const float* bias, float* o, size_t cs, size_t ch0, size_t ch1,
                              v4f vlo, v4f vhi) {
  constexpr int kCols = (P - 1) * S + 3;
  const float* rows[3] = {r0, r1, r2};
  for (size_t ch = ch0; ch < ch1; ch += 4) {
    const float* wt = w + (ch / kTile) * 9 * kTile + (ch % kTile);
    v4f acc[P];
    const v4f vb = LoadV4(bias + ch);
#pragma GCC unroll 8
    for (int j = 0; j < P; ++j) acc[j] = vb;
#pragma GCC unroll 3
    for (int ky = 0; ky < 3; ++ky) {
      v4f col[kCols];
#pragma GCC unroll 16
      for (int q = 0; q < kCols; ++q) col[q] = LoadV4(rows[ky] + q * cs + ch);
#pragma GCC unroll 3
      for (int kx = 0; kx < 3; ++kx) {
        const v4f wv = LoadV4(wt + (ky * 3 + kx) * kTile);
#pragma GCC unroll 8
        for (int j = 0; j < P; ++j) acc[j] += col[j * S + kx] * wv;
      }
    }
#pragma GCC unroll 8
    for (int j = 0; j < P; ++j) StoreV4(o + j * cs + ch, MinV4(MaxV4(acc[j], vlo), vhi));
  }
}

// Pixel by pixel, all channel tiles of a pixel before the next one: the
// input is read contiguously (a tile-outer order walks the image with a
// stride of C floats, which for large powers of two thrashes a few cache
// sets). Interior pixels go in groups sharing their input columns and the
// weight loads; edge pixels point their outside taps at zeros.
void DwRow3x3Generic(const Row3x3Args& a) {
  const v4f vlo = SplatV4(a.lo), vhi = SplatV4(a.hi);
  const size_t cs = static_cast<size_t>(a.c);
  const size_t ch0 = static_cast<size_t>(a.t0) * kTile, ch1 = static_cast<size_t>(a.t1) * kTile;
  const float* p[9];
  int ox = 0;
  for (; ox < std::min(a.ox_lo, a.out_w); ++ox) {
    EdgeTaps(a, ox, 0, p);
    DwPixel3x3Generic(p, a.w, a.bias, a.out_row + static_cast<size_t>(ox) * cs, ch0, ch1, vlo, vhi);
  }
  if (a.ox_lo < a.ox_hi) {
    const size_t step = static_cast<size_t>(a.sw) * cs;
    const size_t first = static_cast<size_t>(a.ox_lo * a.sw - a.pad_l) * cs;
    const float* q0 = a.r[0] + first;
    const float* q1 = a.r[1] + first;
    const float* q2 = a.r[2] + first;
    float* o = a.out_row + static_cast<size_t>(a.ox_lo) * cs;
    ox = a.ox_lo;
    if (a.sw == 1) {
      for (; ox + 4 <= a.ox_hi; ox += 4, q0 += 4 * step, q1 += 4 * step, q2 += 4 * step, o += 4 * cs)
        DwGroup3x3Generic<4, 1>(q0, q1, q2, a.w, a.bias, o, cs, ch0, ch1, vlo, vhi);
    } else if (a.sw == 2) {
      for (; ox + 2 <= a.ox_hi; ox += 2, q0 += 2 * step, q1 += 2 * step, q2 += 2 * step, o += 2 * cs)
        DwGroup3x3Generic<2, 2>(q0, q1, q2, a.w, a.bias, o, cs, ch0, ch1, vlo, vhi);
    }
    for (; ox < a.ox_hi; ++ox, q0 += step, q1 += step, q2 += step, o += cs)
      DwGroup3x3Generic<1, 1>(q0, q1, q2, a.w, a.bias, o, cs, ch0, ch1, vlo, vhi);
  }
  for (ox = std::max(ox, std::max(a.ox_hi, a.ox_lo)); ox < a.out_w; ++ox) {
    EdgeTaps(a, ox, 0, p);
    DwPixel3x3Generic(p, a.w, a.bias, a.out_row + static_cast<size_t>(ox) * cs, ch0, ch1, vlo, vhi);
  }
}

#if TFC_GEMM_X86
// One output pixel, all tiles, taps given as 9 pointers.
TFC_AVX2_FN inline void DwPixel3x3Avx2(const float* const* p, const float* w, const float* bias,
                                       float* o, size_t ch0, size_t ch1, __m256 vlo,
                                       __m256 vhi) {
  const float* p0 = p[0];
  const float* p1 = p[1];
  const float* p2 = p[2];
  const float* p3 = p[3];
  const float* p4 = p[4];
  const float* p5 = p[5];
  const float* p6 = p[6];
  const float* p7 = p[7];
  const float* p8 = p[8];
  const float* wt = w + ch0 * 9;
  for (size_t ch = ch0; ch < ch1; ch += kTile, wt += 9 * kTile) {
    __m256 x = _mm256_fmadd_ps(_mm256_loadu_ps(p0 + ch), _mm256_loadu_ps(wt),
                               _mm256_loadu_ps(bias + ch));
    __m256 y = _mm256_mul_ps(_mm256_loadu_ps(p1 + ch), _mm256_loadu_ps(wt + 8));
    x = _mm256_fmadd_ps(_mm256_loadu_ps(p2 + ch), _mm256_loadu_ps(wt + 16), x);
    y = _mm256_fmadd_ps(_mm256_loadu_ps(p3 + ch), _mm256_loadu_ps(wt + 24), y);
    x = _mm256_fmadd_ps(_mm256_loadu_ps(p4 + ch), _mm256_loadu_ps(wt + 32), x);
    y = _mm256_fmadd_ps(_mm256_loadu_ps(p5 + ch), _mm256_loadu_ps(wt + 40), y);
    x = _mm256_fmadd_ps(_mm256_loadu_ps(p6 + ch), _mm256_loadu_ps(wt + 48), x);
    y = _mm256_fmadd_ps(_mm256_loadu_ps(p7 + ch), _mm256_loadu_ps(wt + 56), y);
    x = _mm256_fmadd_ps(_mm256_loadu_ps(p8 + ch), _mm256_loadu_ps(wt + 64), x);
    _mm256_storeu_ps(o + ch, _mm256_min_ps(_mm256_max_ps(_mm256_add_ps(x, y), vlo), vhi));
  }
}

// P adjacent interior output pixels with stride S: the (P-1)*S+3 input
// columns of each tap row are loaded once and shared by the pixels, the 9
// weights once for all P.
template <int P, int S>
TFC_AVX2_FN inline void DwGroup3x3Avx2(const float* r0, const float* r1, const float* r2,
                                       const float* w, const float* bias, float* o, size_t cs,
                                       size_t ch0, size_t ch1, __m256 vlo, __m256 vhi) {
  constexpr int kCols = (P - 1) * S + 3;
  const float* rows[3] = {r0, r1, r2};
  const float* wt = w + ch0 * 9;
  for (size_t ch = ch0; ch < ch1; ch += kTile, wt += 9 * kTile) {
    __m256 acc[P];
    const __m256 vb = _mm256_loadu_ps(bias + ch);
#pragma GCC unroll 8
    for (int j = 0; j < P; ++j) acc[j] = vb;
#pragma GCC unroll 3
    for (int ky = 0; ky < 3; ++ky) {
      __m256 col[kCols];
#pragma GCC unroll 16
      for (int q = 0; q < kCols; ++q) col[q] = _mm256_loadu_ps(rows[ky] + q * cs + ch);
#pragma GCC unroll 3
      for (int kx = 0; kx < 3; ++kx) {
        const __m256 wv = _mm256_loadu_ps(wt + (ky * 3 + kx) * kTile);
#pragma GCC unroll 8
        for (int j = 0; j < P; ++j) acc[j] = _mm256_fmadd_ps(col[j * S + kx], wv, acc[j]);
      }
    }
#pragma GCC unroll 8
    for (int j = 0; j < P; ++j)
      _mm256_storeu_ps(o + j * cs + ch, _mm256_min_ps(_mm256_max_ps(acc[j], vlo), vhi));
  }
}

TFC_AVX2_FN void DwRow3x3Avx2(const Row3x3Args& a) {
  const __m256 vlo = _mm256_set1_ps(a.lo), vhi = _mm256_set1_ps(a.hi);
  const size_t cs = static_cast<size_t>(a.c);
  const size_t ch0 = static_cast<size_t>(a.t0) * kTile, ch1 = static_cast<size_t>(a.t1) * kTile;
  const float* p[9];
  int ox = 0;
  for (; ox < std::min(a.ox_lo, a.out_w); ++ox) {
    EdgeTaps(a, ox, 0, p);
    DwPixel3x3Avx2(p, a.w, a.bias, a.out_row + static_cast<size_t>(ox) * cs, ch0, ch1, vlo, vhi);
  }
  if (a.ox_lo < a.ox_hi) {
    const size_t step = static_cast<size_t>(a.sw) * cs;
    const size_t first = static_cast<size_t>(a.ox_lo * a.sw - a.pad_l) * cs;
    const float* q0 = a.r[0] + first;
    const float* q1 = a.r[1] + first;
    const float* q2 = a.r[2] + first;
    float* o = a.out_row + static_cast<size_t>(a.ox_lo) * cs;
    ox = a.ox_lo;
    if (a.sw == 1) {
      for (; ox + 4 <= a.ox_hi; ox += 4, q0 += 4 * step, q1 += 4 * step, q2 += 4 * step, o += 4 * cs)
        DwGroup3x3Avx2<4, 1>(q0, q1, q2, a.w, a.bias, o, cs, ch0, ch1, vlo, vhi);
    } else if (a.sw == 2) {
      for (; ox + 4 <= a.ox_hi; ox += 4, q0 += 4 * step, q1 += 4 * step, q2 += 4 * step, o += 4 * cs)
        DwGroup3x3Avx2<4, 2>(q0, q1, q2, a.w, a.bias, o, cs, ch0, ch1, vlo, vhi);
    }
    for (; ox < a.ox_hi; ++ox, q0 += step, q1 += step, q2 += step, o += cs)
      DwGroup3x3Avx2<1, 1>(q0, q1, q2, a.w, a.bias, o, cs, ch0, ch1, vlo, vhi);
  }
  for (ox = std::max(ox, std::max(a.ox_hi, a.ox_lo)); ox < a.out_w; ++ox) {
    EdgeTaps(a, ox, 0, p);
    DwPixel3x3Avx2(p, a.w, a.bias, a.out_row + static_cast<size_t>(ox) * cs, ch0, ch1, vlo, vhi);
  }
}
#endif

Row3x3Fn SelectRow3x3() {
#if TFC_GEMM_X86
  static const Row3x3Fn fn = cpu::HasAvx2Fma() ? DwRow3x3Avx2 : DwRow3x3Generic;
#else
  static const Row3x3Fn fn = DwRow3x3Generic;
#endif
  return fn;
}

class FloatDepthwiseConv2D final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override;
  TfLiteStatus Eval(OpContext& ctx) override;
  size_t OwnedBytes() const override { return HeapBytes(packed_, zero_row_); }

 private:
  void RowsMult1(const float* in, const float* w, const float* bias, float* out, int64_t r0,
                 int64_t r1) const;
  void PixelsMultN(const float* in, const float* filter, const float* bias, float* out,
                   int64_t r0, int64_t r1) const;
  // Whether `rows` output rows are enough work to split over the threads.
  bool Parallel(int64_t rows) const {
    return static_cast<double>(rows) * s_.out_w * out_c_ * s_.kh * s_.kw >= gemm::kMinParallelTaps;
  }

  DwShape s_{};
  int batches_ = 0, in_c_ = 0, out_c_ = 0, mult_ = 1;
  FloatRange act_;
  bool fast3x3_ = false;
  bool packed_const_ = false;
  AlignedBuffer packed_;     // mult 1: [tiles*taps*8 weights][tiles*8 bias]
  AlignedBuffer zero_row_;   // in_w * c zeros (fast path rows in the padding)
  int scratch_pack_ = -1;
  int groups_ = 1;           // channel-tile groups per output row (parallel split)
};

TfLiteStatus FloatDepthwiseConv2D::Prepare(OpContext& ctx) {
  TFC_ENSURE_MSG(ctx, ctx.num_inputs() == 2 || ctx.num_inputs() == 3,
                 "expected 2 or 3 inputs, got %d", ctx.num_inputs());
  TFC_ENSURE_MSG(ctx, ctx.num_outputs() == 1, "expected 1 output, got %d", ctx.num_outputs());
  const TfLiteTensor* input = ctx.input(0);
  const TfLiteTensor* filter = ctx.input(1);
  const TfLiteTensor* bias = ctx.input(2);
  TfLiteTensor* output = ctx.output(0);
  TFC_ENSURE_MSG(ctx, input && filter && output, "missing input, filter or output tensor");
  TFC_ENSURE_TYPE(ctx, input, kTfLiteFloat32);
  TFC_ENSURE_TYPE(ctx, filter, kTfLiteFloat32);
  TFC_ENSURE_TYPE(ctx, output, kTfLiteFloat32);
  if (filter->sparsity)
    return ctx.ErrorStatus(kTfLiteUnresolvedOps, "sparse filters are not supported");
  TFC_ENSURE_MSG(ctx, input->rank() == 4, "input must have rank 4, has %d", input->rank());
  TFC_ENSURE_MSG(ctx, filter->rank() == 4, "filter must have rank 4, has %d", filter->rank());
  TFC_ENSURE_MSG(ctx, filter->dim(0) == 1, "filter dimension 0 must be 1, is %d", filter->dim(0));

  batches_ = input->dim(0);
  s_.in_h = input->dim(1);
  s_.in_w = input->dim(2);
  in_c_ = input->dim(3);
  s_.kh = filter->dim(1);
  s_.kw = filter->dim(2);
  out_c_ = filter->dim(3);
  TFC_ENSURE_MSG(ctx, batches_ >= 0 && s_.in_h >= 0 && s_.in_w >= 0 && in_c_ >= 1,
                 "bad input shape");
  TFC_ENSURE_MSG(ctx, s_.kh >= 1 && s_.kw >= 1 && out_c_ >= 1, "bad filter shape");
  TFC_ENSURE_MSG(ctx, out_c_ % in_c_ == 0,
                 "filter channels (%d) must be a multiple of input channels (%d)", out_c_, in_c_);
  mult_ = out_c_ / in_c_;
  if (bias) {
    TFC_ENSURE_TYPE(ctx, bias, kTfLiteFloat32);
    TFC_ENSURE_MSG(ctx, bias->num_elements() == out_c_, "bias has %lld elements, expected %d",
                   static_cast<long long>(bias->num_elements()), out_c_);
  }

  const auto* opt = ctx.options<fb::DepthwiseConv2DOptions>();
  const fb::Padding padding = opt ? opt->padding() : fb::Padding_SAME;
  s_.sw = opt ? opt->stride_w() : 1;
  s_.sh = opt ? opt->stride_h() : 1;
  s_.dw = opt ? opt->dilation_w_factor() : 1;
  s_.dh = opt ? opt->dilation_h_factor() : 1;
  bool act_ok = true;
  act_ = ActivationRange(
      opt ? opt->fused_activation_function() : fb::ActivationFunctionType_NONE, &act_ok);
  if (!act_ok)
    return ctx.Error("fused activation %d is not supported",
                     static_cast<int>(opt->fused_activation_function()));
  TFC_ENSURE_MSG(ctx, s_.sw >= 1 && s_.sh >= 1, "strides must be >= 1 (got %d, %d)", s_.sh,
                 s_.sw);
  TFC_ENSURE_MSG(ctx, s_.dw >= 1 && s_.dh >= 1, "dilations must be >= 1 (got %d, %d)", s_.dh,
                 s_.dw);
  ConvGeometry gh, gw;
  TFC_ENSURE_MSG(ctx,
                 ComputeConvGeometry(padding, s_.in_h, s_.kh, s_.sh, s_.dh, &gh) &&
                     ComputeConvGeometry(padding, s_.in_w, s_.kw, s_.sw, s_.dw, &gw),
                 "invalid padding/stride/dilation");
  s_.out_h = gh.out;
  s_.out_w = gw.out;
  s_.pad_t = gh.pad_start;
  s_.pad_l = gw.pad_start;
  s_.c = out_c_;
  s_.tiles = (out_c_ + kTile - 1) / kTile;
  int64_t taps = 0, tmp = 0;
  TFC_ENSURE_MSG(ctx, CheckedMul(s_.kh, s_.kw, &taps) && CheckedMul(taps, out_c_, &tmp),
                 "filter too large");
  int64_t rows = 0, outn = 0;
  TFC_ENSURE_MSG(ctx,
                 CheckedMul(batches_, s_.out_h, &rows) && CheckedMul(rows, s_.out_w, &tmp) &&
                     CheckedMul(tmp, out_c_, &outn, int64_t{1} << 40),
                 "output too large");

  scratch_pack_ = -1;
  fast3x3_ = false;
  if (mult_ == 1) {
    const size_t wfloats = static_cast<size_t>(s_.tiles) * static_cast<size_t>(taps) * kTile;
    const size_t total = wfloats + static_cast<size_t>(s_.tiles) * kTile;
    packed_const_ = filter->is_constant() && (!bias || bias->is_constant());
    if (packed_const_) {
      if (!ctx.ReserveWeights(packed_, total * sizeof(float))) return ctx.Error("out of memory");
      float* p = static_cast<float*>(packed_.data());
      PackDepthwise(filter->data_as<float>(), bias ? bias->data_as<float>() : nullptr, out_c_,
                    static_cast<int>(taps), p, p + wfloats);
      ctx.ReleaseConstantInput(1);
      ctx.ReleaseConstantInput(2);
    } else {
      packed_.Release();
      scratch_pack_ = ctx.RequestScratch(total * sizeof(float));
    }
    fast3x3_ = s_.kh == 3 && s_.kw == 3 && s_.dh == 1 && s_.dw == 1;
    if (fast3x3_) {
      const size_t zfloats = static_cast<size_t>(s_.in_w) * static_cast<size_t>(out_c_) + kTile;
      if (!zero_row_.Reserve(zfloats * sizeof(float))) return ctx.Error("out of memory");
      std::memset(zero_row_.data(), 0, zfloats * sizeof(float));
    }
  }
  // Parallel split: output rows, and channel-tile groups when rows are few.
  // Not split (one thread, or too little work): one group, so that each
  // pixel's setup serves all its channel tiles (a 1x25x64 keyword-spotting
  // layer in 8 groups took 2.3 us, 3x its work).
  const int threads = std::max(1, ctx.num_threads());
  groups_ = 1;
  if (mult_ == 1 && rows > 0 && rows < 8 * threads && threads > 1 && Parallel(rows))
    groups_ = static_cast<int>(std::min<int64_t>(s_.tiles, (8 * threads + rows - 1) / rows));
  return ctx.ResizeOutput(0, {batches_, s_.out_h, s_.out_w, out_c_});
}

// Work items [r0, r1) of (batch*out_h rows) x groups_.
void FloatDepthwiseConv2D::RowsMult1(const float* in, const float* w, const float* bias, float* out,
                                int64_t r0, int64_t r1) const {
  const DwShape& s = s_;
  const size_t c = static_cast<size_t>(s.c);
  const size_t img_size = static_cast<size_t>(s.in_h) * s.in_w * c;
  const size_t out_row_size = static_cast<size_t>(s.out_w) * c;
  const int full_tiles = s.c / kTile;
  // Interior columns: ox with ox*sw - pad_l >= 0 and ox*sw - pad_l + 2 < in_w.
  int ox_lo = 0, ox_hi = 0;
  if (fast3x3_) {
    ox_lo = std::min(s.out_w, (s.pad_l + s.sw - 1) / s.sw);
    const int64_t last = static_cast<int64_t>(s.in_w) - 3 + s.pad_l;  // ox*sw <= last
    ox_hi = last < 0 ? 0 : static_cast<int>(std::min<int64_t>(s.out_w, last / s.sw + 1));
    if (ox_hi < ox_lo) ox_hi = ox_lo;
  }
  const Row3x3Fn row3x3 = fast3x3_ ? SelectRow3x3() : nullptr;
  const float* zero = static_cast<const float*>(zero_row_.data());
  for (int64_t item = r0; item < r1; ++item) {
    const int64_t row = item / groups_;
    const int g = static_cast<int>(item % groups_);
    const int t0 = static_cast<int>(static_cast<int64_t>(s.tiles) * g / groups_);
    const int t1 = static_cast<int>(static_cast<int64_t>(s.tiles) * (g + 1) / groups_);
    const int64_t b = row / s.out_h;
    const int oy = static_cast<int>(row % s.out_h);
    const float* img = in + static_cast<size_t>(b) * img_size;
    float* orow = out + static_cast<size_t>(row) * out_row_size;
    if (!fast3x3_) {
      DwPixelsGeneric(s, img, w, bias, orow, oy, 0, s.out_w, t0, t1, act_);
      continue;
    }
    const float* r[3];
    for (int ky = 0; ky < 3; ++ky) {
      const int iy = oy * s.sh - s.pad_t + ky;
      r[ky] = (iy < 0 || iy >= s.in_h) ? zero : img + static_cast<size_t>(iy) * s.in_w * c;
    }
    const int ft1 = std::min(t1, full_tiles);
    if (t0 < ft1) {
      Row3x3Args a;
      for (int ky = 0; ky < 3; ++ky) a.r[ky] = r[ky];
      a.zero = zero;
      a.w = w;
      a.bias = bias;
      a.out_row = orow;
      a.c = s.c;
      a.sw = s.sw;
      a.pad_l = s.pad_l;
      a.in_w = s.in_w;
      a.out_w = s.out_w;
      a.ox_lo = ox_lo;
      a.ox_hi = ox_hi;
      a.t0 = t0;
      a.t1 = ft1;
      a.lo = act_.lo;
      a.hi = act_.hi;
      row3x3(a);
    }
    if (ft1 < t1)  // a partial last tile
      DwPixelsGeneric(s, img, w, bias, orow, oy, 0, s.out_w, ft1, t1, act_);
  }
}

// Multiplier > 1: rows [r0, r1) of batch*out_h, reading the unpacked filter.
void FloatDepthwiseConv2D::PixelsMultN(const float* in, const float* filter, const float* bias,
                                  float* out, int64_t r0, int64_t r1) const {
  const DwShape& s = s_;
  const size_t cin = static_cast<size_t>(in_c_), cout = static_cast<size_t>(out_c_);
  const int m = mult_;
  for (int64_t row = r0; row < r1; ++row) {
    const int64_t b = row / s.out_h;
    const int oy = static_cast<int>(row % s.out_h);
    const float* img = in + static_cast<size_t>(b) * s.in_h * s.in_w * cin;
    const int iy0 = oy * s.sh - s.pad_t;
    int ky0, ky1;
    ValidTaps(iy0, s.kh, s.dh, s.in_h, &ky0, &ky1);
    for (int ox = 0; ox < s.out_w; ++ox) {
      float* __restrict o = out + (static_cast<size_t>(row) * s.out_w + ox) * cout;
      for (size_t j = 0; j < cout; ++j) o[j] = bias ? bias[j] : 0.f;
      const int ix0 = ox * s.sw - s.pad_l;
      int kx0, kx1;
      ValidTaps(ix0, s.kw, s.dw, s.in_w, &kx0, &kx1);
      for (int ky = ky0; ky < ky1; ++ky) {
        for (int kx = kx0; kx < kx1; ++kx) {
          const float* __restrict p =
              img + (static_cast<size_t>(iy0 + ky * s.dh) * s.in_w + (ix0 + kx * s.dw)) * cin;
          const float* __restrict wt = filter + static_cast<size_t>(ky * s.kw + kx) * cout;
          for (size_t ic = 0; ic < cin; ++ic) {
            const float v = p[ic];
            for (int j = 0; j < m; ++j) o[ic * m + j] += v * wt[ic * m + j];
          }
        }
      }
      for (size_t j = 0; j < cout; ++j) o[j] = act_.Apply(o[j]);
    }
  }
}

TfLiteStatus FloatDepthwiseConv2D::Eval(OpContext& ctx) {
  const TfLiteTensor* input = ctx.input(0);
  const TfLiteTensor* filter = ctx.input(1);
  const TfLiteTensor* bias = ctx.input(2);
  TfLiteTensor* output = ctx.output(0);
  const int64_t rows = static_cast<int64_t>(batches_) * s_.out_h;
  if (rows == 0 || s_.out_w == 0) return kTfLiteOk;
  const float* in = input->data_as<float>();
  float* out = output->data_as<float>();
  ThreadPool& pool = ctx.pool();
  const bool parallel = Parallel(rows);

  if (mult_ != 1) {
    const float* f = filter->data_as<float>();
    const float* bs = bias ? bias->data_as<float>() : nullptr;
    auto fn = [&](int64_t r0, int64_t r1) { PixelsMultN(in, f, bs, out, r0, r1); };
    if (parallel)
      pool.ParallelFor(rows, 1, fn);
    else
      fn(0, rows);
    return kTfLiteOk;
  }

  const size_t taps = static_cast<size_t>(s_.kh) * s_.kw;
  const size_t wfloats = static_cast<size_t>(s_.tiles) * taps * kTile;
  const float* w;
  if (packed_const_) {
    w = static_cast<const float*>(packed_.data());
  } else {
    float* p = static_cast<float*>(ctx.Scratch(scratch_pack_));
    PackDepthwise(filter->data_as<float>(), bias ? bias->data_as<float>() : nullptr, out_c_,
                  static_cast<int>(taps), p, p + wfloats);
    w = p;
  }
  const float* bs = w + wfloats;
  const int64_t items = rows * groups_;
  auto fn = [&](int64_t r0, int64_t r1) { RowsMult1(in, w, bs, out, r0, r1); };
  if (parallel)
    pool.ParallelFor(items, 1, fn);
  else
    fn(0, items);
  return kTfLiteOk;
}

// ---------------------------------------------------------------------------
// Quantized and hybrid DEPTHWISE_CONV_2D
// ---------------------------------------------------------------------------
//
// int8 x int8 (per-channel), uint8 x uint8 (per-tensor, filter zero point
// allowed), int16 x int8 (16x8, int64 or int32 bias), and hybrid (float
// input, int8 filter: the input quantized per batch, asymmetric, as
// TensorFlow Lite's per-channel hybrid kernel does). Direct loops: per output
// pixel, the valid taps accumulate (q - zp) * (w - wzp) into int32 (int64 for
// 16x8) channel accumulators; with multiplier 1 the channel loop is a plain
// vectorizable multiply-add.
enum class DwKind { kInt8, kUint8, k16x8, kHybrid };

#if TFC_QGEMM_X86
// Filter [taps][n] (int16) as tap pairs for vpdpwssd / vpmaddwd: per block
// of `lanes` channels (32 for AVX-512, 16 for AVX2) and pair p (taps 2p,
// 2p + 1; a missing odd tap is 0), 2 * lanes int16 in the order
// unpack{lo,hi}_epi16 give two inputs of `lanes` channels: the low half pairs
// channels 8L + e, the high half 8L + 4 + e (128-bit lane L, e < 4).
// Channels past n are 0.
size_t DwPairsSize(int taps, size_t n, size_t lanes) {
  return (n + lanes - 1) / lanes * static_cast<size_t>((taps + 1) / 2) * 2 * lanes;
}

void PackDwPairs(const int16_t* w, int taps, size_t n, size_t lanes, int16_t* dst) {
  const int pairs = (taps + 1) / 2;
  for (size_t b = 0; b < (n + lanes - 1) / lanes; ++b)
    for (int p = 0; p < pairs; ++p, dst += 2 * lanes)
      for (size_t half = 0; half < 2; ++half)
        for (size_t j = 0; j < lanes / 2; ++j) {
          const size_t ch = b * lanes + (j / 4) * 8 + half * 4 + j % 4;
          for (int k = 0; k < 2; ++k) {
            const int t = 2 * p + k;
            dst[half * lanes + j * 2 + k] = (ch < n && t < taps) ? w[static_cast<size_t>(t) * n + ch] : 0;
          }
        }
}

// Valid taps per output pixel handled by the vector path (3x3, 5x5, 7x7).
constexpr int kDwMaxFastTaps = 49;
constexpr size_t kDwLanes = 32;  // int16 lanes of the AVX-512 int8 kernels' channel blocks

// acc[c] = sum over the taps t of (px[t][c] - zp) * wx[t][c] for c in
// [0, cend), cend a multiple of 16: int8 inputs, symmetric int8 weights held
// as int16, so every product fits int16 (|q - zp| <= 255, |w| <= 127).
__attribute__((target("avx2"))) void DwAccumInt8Avx2(const int8_t* const* px,
                                                     const int16_t* const* wx, int taps,
                                                     size_t cend, int32_t zp, int32_t* acc) {
  const __m256i vzp = _mm256_set1_epi16(static_cast<int16_t>(zp));
  for (size_t c = 0; c < cend; c += 16) {
    __m256i a0 = _mm256_setzero_si256(), a1 = _mm256_setzero_si256();
    for (int t = 0; t < taps; ++t) {
      __m256i x = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(px[t] + c)));
      x = _mm256_sub_epi16(x, vzp);
      const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wx[t] + c));
      const __m256i pr = _mm256_mullo_epi16(x, w);
      a0 = _mm256_add_epi32(a0, _mm256_cvtepi16_epi32(_mm256_castsi256_si128(pr)));
      a1 = _mm256_add_epi32(a1, _mm256_cvtepi16_epi32(_mm256_extracti128_si256(pr, 1)));
    }
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(acc + c), a0);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(acc + c + 8), a1);
  }
}

// lo, hi += the products of taps p0, p1 at off, 16 channels, with their pair
// weights wl, wh (PackDwPairs(16)'s two halves).
__attribute__((target("avx2"))) inline void DwPairAvx2(const int8_t* p0, const int8_t* p1, size_t off, __m256i wl,
                                                       __m256i wh, __m256i* lo, __m256i* hi) {
  const __m256i x0 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p0 + off)));
  const __m256i x1 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p1 + off)));
  *lo = _mm256_add_epi32(*lo, _mm256_madd_epi16(_mm256_unpacklo_epi16(x0, x1), wl));
  *hi = _mm256_add_epi32(*hi, _mm256_madd_epi16(_mm256_unpackhi_epi16(x0, x1), wh));
}

// 8 channels of a pair kernel's sums in channel order: the 128-bit halves of
// lo (channels 0-3, 8-11) and hi (4-7, 12-15) that kSel picks (0x20: 0-7,
// 0x31: 8-15), plus b.
template <int kSel>
__attribute__((target("avx2"))) inline __m256i DwChannelsAvx2(__m256i lo, __m256i hi, __m256i b) {
  return _mm256_add_epi32(_mm256_permute2x128_si256(lo, hi, kSel), b);
}

// A run of `pixels` output pixels whose whole filter lies inside the image
// (pixel i reads px[t] + i * step), int8 in and out, n a multiple of 16, the
// input zero point folded into the bias (bias_folded[c] = bias[c] - zp *
// sum_t w[t][c]): two taps per vpmaddwd on the pairs of PackDwPairs(16), four
// pixels at a time (eight independent sums), each block of 16 channels x 4
// pixels requantized from the registers (qconv::FloatStageTileAvx2), so no
// int32 row is written and no tap pointers are made per pixel. kTaps: the tap count
// when known at compile time, else 0 and taps_rt.
template <int kTaps>
__attribute__((target("avx2"))) void DwRunInt8PairsAvx2(const int8_t* const* px, size_t step, int pixels,
                                                        const int16_t* wpairs, int taps_rt, size_t n,
                                                        const qconv::ChannelRequant& q,
                                                        const int32_t* bias_folded, int8_t* out) {
  const int taps = kTaps ? kTaps : taps_rt;
  const int pairs = (taps + 1) / 2;
  for (size_t c = 0; c < n; c += 16) {
    const int16_t* wb = wpairs + c / 16 * static_cast<size_t>(pairs) * 32;
    const __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bias_folded + c));
    const __m256i b1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bias_folded + c + 8));
    for (int i = 0; i < pixels; i += 4) {
      const int np = std::min(4, pixels - i);
      // pixels past the run repeat its last one (computed, not stored)
      const size_t o0 = static_cast<size_t>(i) * step + c;
      const size_t o1 = static_cast<size_t>(std::min(i + 1, pixels - 1)) * step + c;
      const size_t o2 = static_cast<size_t>(std::min(i + 2, pixels - 1)) * step + c;
      const size_t o3 = static_cast<size_t>(std::min(i + 3, pixels - 1)) * step + c;
      __m256i l0 = _mm256_setzero_si256(), h0 = l0, l1 = l0, h1 = l0, l2 = l0, h2 = l0, l3 = l0, h3 = l0;
      for (int p = 0; p < pairs; ++p) {
        const __m256i wl = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wb + p * 32));
        const __m256i wh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wb + p * 32 + 16));
        // an odd count's missing tap reads the first again, against weights of 0
        const int8_t* p0 = px[2 * p];
        const int8_t* p1 = px[2 * p + 1 < taps ? 2 * p + 1 : 0];
        DwPairAvx2(p0, p1, o0, wl, wh, &l0, &h0);
        DwPairAvx2(p0, p1, o1, wl, wh, &l1, &h1);
        DwPairAvx2(p0, p1, o2, wl, wh, &l2, &h2);
        DwPairAvx2(p0, p1, o3, wl, wh, &l3, &h3);
      }
      // lo holds channels 0-3 and 8-11, hi 4-7 and 12-15: back to channel order, bias added
      const __m256i c00 = DwChannelsAvx2<0x20>(l0, h0, b0), c01 = DwChannelsAvx2<0x31>(l0, h0, b1);
      const __m256i c10 = DwChannelsAvx2<0x20>(l1, h1, b0), c11 = DwChannelsAvx2<0x31>(l1, h1, b1);
      const __m256i c20 = DwChannelsAvx2<0x20>(l2, h2, b0), c21 = DwChannelsAvx2<0x31>(l2, h2, b1);
      const __m256i c30 = DwChannelsAvx2<0x20>(l3, h3, b0), c31 = DwChannelsAvx2<0x31>(l3, h3, b1);
      int8_t* o = out + static_cast<size_t>(i) * n + c;
      if (q.is_float()) {
        qconv::FloatStageTileAvx2(q, c, static_cast<size_t>(np), o, n, c00, c01, c10, c11, c20, c21, c30, c31);
      } else {
        alignas(32) int32_t sums[4 * 16];
        qconv::StoreTileAvx2(sums, c00, c01, c10, c11, c20, c21, c30, c31);
        for (int j = 0; j < np; ++j) qconv::RequantizeSpan(q, sums + 16 * j, nullptr, c, 16, o + j * n);
      }
    }
  }
}
#endif

#if TFC_QGEMM_AVX512
// Lanes [0, left) of 32 (all when left >= 32).
inline __mmask32 Mask32(size_t left) {
  return left >= 32 ? ~__mmask32{0} : static_cast<__mmask32>((uint32_t{1} << left) - 1);
}

// a0, a1 (channels c..c+15, c+16..c+31; lanes outside m untouched in effect,
// their inputs read as 0) += sum over the taps t of (px[t][off] - zp) *
// wx[t][c] (vzp: zp in every int16 lane).
TFC_VNNI_FN inline void DwTaps32Avx512(const int8_t* const* px, size_t off, const int16_t* const* wx,
                                       size_t c, int taps, __mmask32 m, __m512i vzp, __m512i* a0,
                                       __m512i* a1) {
  for (int t = 0; t < taps; ++t) {
    __m512i x = _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(m, px[t] + off));
    x = _mm512_sub_epi16(x, vzp);
    const __m512i pr = _mm512_mullo_epi16(x, _mm512_maskz_loadu_epi16(m, wx[t] + c));
    *a0 = _mm512_add_epi32(*a0, _mm512_cvtepi16_epi32(_mm512_castsi512_si256(pr)));
    *a1 = _mm512_add_epi32(*a1, _mm512_cvtepi16_epi32(_mm512_extracti64x4_epi64(pr, 1)));
  }
}

// The same on AVX-512BW for every c in [0, n): 32 channels at a time, the
// tail masked (nothing read or written past n).
TFC_VNNI_FN void DwAccumInt8Avx512(const int8_t* const* px, const int16_t* const* wx, int taps,
                                   size_t n, int32_t zp, int32_t* acc) {
  const __m512i vzp = _mm512_set1_epi16(static_cast<int16_t>(zp));
  for (size_t c = 0; c < n; c += 32) {
    const __mmask32 m = Mask32(n - c);
    __m512i a0 = _mm512_setzero_si512(), a1 = _mm512_setzero_si512();
    DwTaps32Avx512(px, c, wx, c, taps, m, vzp, &a0, &a1);
    _mm512_mask_storeu_epi32(acc + c, static_cast<__mmask16>(m), a0);
    _mm512_mask_storeu_epi32(acc + c + 16, static_cast<__mmask16>(m >> 16), a1);
  }
}

// A run of `pixels` output pixels whose taps all lie inside the image (pixel
// i reads px[t] + i * step), int8 in and out: the accumulation above with
// the output stage fused (qconv::Q8Requant, bit-exact with RequantizeRow).
// Channel blocks outermost, so each block's requantization constants stay in
// registers across the run and no int32 accumulator row is written.
TFC_VNNI_FN void DwRunInt8Avx512(const int8_t* const* px, size_t step, int pixels,
                                 const int16_t* const* wx, int taps, size_t n, int32_t zp,
                                 const qconv::ChannelRequant& q, const int32_t* bias,
                                 int8_t* out) {
  const __m512i vzp = _mm512_set1_epi16(static_cast<int16_t>(zp));
  const __m512i ozp = _mm512_set1_epi32(q.zp), lo = _mm512_set1_epi32(q.lo),
                hi = _mm512_set1_epi32(q.hi);
  for (size_t c = 0; c < n; c += 32) {
    const __mmask32 m = Mask32(n - c);
    const __mmask16 m0 = static_cast<__mmask16>(m), m1 = static_cast<__mmask16>(m >> 16);
    const qconv::Q8Params p0 = qconv::Q8Load(q, bias, c, m0);
    const qconv::Q8Params p1 = qconv::Q8Load(q, bias, c + 16, m1);
    for (int i = 0; i < pixels; ++i) {
      __m512i a0 = _mm512_setzero_si512(), a1 = _mm512_setzero_si512();
      DwTaps32Avx512(px, static_cast<size_t>(i) * step + c, wx, c, taps, m, vzp, &a0, &a1);
      int8_t* o = out + static_cast<size_t>(i) * n + c;
      qconv::Q8Store(m0, o, qconv::Q8Requant(p0, a0, ozp, lo, hi));
      if (m1) qconv::Q8Store(m1, o + 16, qconv::Q8Requant(p1, a1, ozp, lo, hi));
    }
  }
}

// DwRunInt8Avx512 for rows where every tap is inside the image, with the
// input zero point folded into the bias (bias_folded[c] = bias[c] - zp *
// sum_t w[t][c]): two taps per vpdpwssd (int16 pairs, exact int32 products)
// instead of a multiply and two widening adds per tap. px holds the taps in
// the order PackDwPairs saw them. kTaps: the tap count when known at compile
// time (the tap loop then unrolls), else 0 and taps_rt.
template <int kTaps>
TFC_VNNI_FN void DwRunInt8PairsAvx512(const int8_t* const* px, size_t step, int pixels,
                                      const int16_t* wpairs, int taps_rt, size_t n,
                                      const qconv::ChannelRequant& q, const int32_t* bias_folded,
                                      int8_t* out) {
  const int taps = kTaps ? kTaps : taps_rt;
  const int pairs = (taps + 1) / 2;
  const __m512i ozp = _mm512_set1_epi32(q.zp), lo = _mm512_set1_epi32(q.lo),
                hi = _mm512_set1_epi32(q.hi);
  // From the unpacked halves back to channel order: channels 0-15, 16-31.
  const __m512i back0 = _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23);
  const __m512i back1 = _mm512_setr_epi32(8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31);
  for (size_t c = 0; c < n; c += 32) {
    const __mmask32 m = Mask32(n - c);
    const __mmask16 m0 = static_cast<__mmask16>(m), m1 = static_cast<__mmask16>(m >> 16);
    const qconv::Q8Params p0 = qconv::Q8Load(q, bias_folded, c, m0);
    const qconv::Q8Params p1 = qconv::Q8Load(q, bias_folded, c + 16, m1);
    const int16_t* wb = wpairs + c / 32 * static_cast<size_t>(pairs) * 64;
    for (int i = 0; i < pixels; ++i) {
      const size_t off = static_cast<size_t>(i) * step + c;
      __m512i alo = _mm512_setzero_si512(), ahi = _mm512_setzero_si512();
      for (int p = 0; p < pairs; ++p) {
        const __m512i x0 = _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(m, px[2 * p] + off));
        const __m512i x1 = 2 * p + 1 < taps
                               ? _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(m, px[2 * p + 1] + off))
                               : _mm512_setzero_si512();
        const int16_t* w = wb + static_cast<size_t>(p) * 64;
        alo = _mm512_dpwssd_epi32(alo, _mm512_unpacklo_epi16(x0, x1), _mm512_loadu_si512(w));
        ahi = _mm512_dpwssd_epi32(ahi, _mm512_unpackhi_epi16(x0, x1), _mm512_loadu_si512(w + 32));
      }
      const __m512i a0 = _mm512_permutex2var_epi32(alo, back0, ahi);
      const __m512i a1 = _mm512_permutex2var_epi32(alo, back1, ahi);
      int8_t* o = out + static_cast<size_t>(i) * n + c;
      qconv::Q8Store(m0, o, qconv::Q8Requant(p0, a0, ozp, lo, hi));
      if (m1) qconv::Q8Store(m1, o + 16, qconv::Q8Requant(p1, a1, ozp, lo, hi));
    }
  }
}
#endif

class QuantDepthwiseConv2D final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override;
  TfLiteStatus Eval(OpContext& ctx) override;
  size_t OwnedBytes() const override {
    return HeapBytes(weights_, weight_pairs_, bias_folded_, group_pairs_, group_bias_,
                     filter_scale_, filter_zp_, mult_q_, shift_q_) +
           requant_.Bytes() + group_requant_.Bytes();
  }

 private:
  void FillWeights(const int8_t* w8, bool u8, const int32_t* b32, size_t taps, size_t cout, size_t pair_lanes,
                   bool groups);
  // The taps ky in [ky0, ky1), kx in [kx0, kx1) of the output pixel whose
  // window starts at (iy0, ix0): input (px) and filter (wx) pointers, in that
  // order. Returns how many.
  int TapPointers(const int8_t* image, int iy0, int ix0, int ky0, int ky1, int kx0, int kx1,
                  const int8_t** px, const int16_t** wx) const;
  template <class T, class Acc>
  void Rows(const T* in, const int32_t* batch_zp, const float* batch_scale, const void* bias,
            void* out, Acc* acc, int64_t r0, int64_t r1) const;

  DwKind kind_ = DwKind::kInt8;
  DwShape s_{};
  int batches_ = 0, in_c_ = 0, out_c_ = 0, mult_ = 1;
  std::vector<int16_t> weights_;  // [tap][Cout], centered
  std::vector<int16_t> weight_pairs_;  // PackDwPairs(weights_), for DwRunInt8Pairs{Avx512,Avx2}
  std::vector<int32_t> bias_folded_;   // bias - in_zp * sum of taps, for the same
  // Fewer than 32 channels dividing 32, stride 1: 32 / C neighbouring pixels
  // side by side as 32 virtual channels (their bytes are contiguous), with
  // the pairs, folded bias and output stage repeated to match.
  std::vector<int16_t> group_pairs_;
  std::vector<int32_t> group_bias_;
  qconv::ChannelRequant group_requant_;
  std::vector<float> filter_scale_;
  std::vector<int32_t> filter_zp_, mult_q_;
  std::vector<int> shift_q_;
  qconv::ChannelRequant requant_;  // 8-bit output stage
#if TFC_QGEMM_X86
  bool avx2_ = false;  // the CPU runs DwAccumInt8Avx2
#endif
#if TFC_QGEMM_AVX512
  bool avx512_ = false;  // ... and DwAccumInt8Avx512
#endif
  int32_t in_zp_ = 0, out_zp_ = 0, act_lo_ = 0, act_hi_ = 0;
  FloatRange act_;
  bool bias64_ = false;
  int workers_ = 1;
  int scratch_acc_ = -1, scratch_qin_ = -1, scratch_bparams_ = -1;
  size_t slot_bytes_ = 0;
};

TfLiteStatus QuantDepthwiseConv2D::Prepare(OpContext& ctx) {
  TFC_ENSURE_MSG(ctx, ctx.num_inputs() == 2 || ctx.num_inputs() == 3,
                 "expected 2 or 3 inputs, got %d", ctx.num_inputs());
  TFC_ENSURE_MSG(ctx, ctx.num_outputs() == 1, "expected 1 output, got %d", ctx.num_outputs());
  const TfLiteTensor* input = ctx.input(0);
  const TfLiteTensor* filter = ctx.input(1);
  const TfLiteTensor* bias = ctx.input(2);
  TfLiteTensor* output = ctx.output(0);
  TFC_ENSURE_MSG(ctx, input && filter && output, "missing input, filter or output tensor");
  if (filter->sparsity)
    return ctx.ErrorStatus(kTfLiteUnresolvedOps, "sparse filters are not supported");
  TFC_ENSURE_MSG(ctx, input->rank() == 4, "input must have rank 4, has %d", input->rank());
  TFC_ENSURE_MSG(ctx, filter->rank() == 4, "filter must have rank 4, has %d", filter->rank());
  TFC_ENSURE_MSG(ctx, filter->dim(0) == 1, "filter dimension 0 must be 1, is %d", filter->dim(0));
  TFC_ENSURE_MSG(ctx, filter->is_constant(), "quantized DEPTHWISE_CONV_2D needs a constant filter");
  const TfLiteType it = input->type, ft = filter->type;
  if (it == kTfLiteInt8 && ft == kTfLiteInt8)
    kind_ = DwKind::kInt8;
  else if (it == kTfLiteUInt8 && ft == kTfLiteUInt8)
    kind_ = DwKind::kUint8;
  else if (it == kTfLiteInt16 && ft == kTfLiteInt8)
    kind_ = DwKind::k16x8;
  else if (it == kTfLiteFloat32 && ft == kTfLiteInt8)
    kind_ = DwKind::kHybrid;
  else
    return ctx.ErrorStatus(kTfLiteUnresolvedOps, "%s input with %s filter is not supported",
                           TypeName(it), TypeName(ft));
  TFC_ENSURE_MSG(ctx, output->type == it, "output type %s differs from input type %s",
                 TypeName(output->type), TypeName(it));

  batches_ = input->dim(0);
  s_.in_h = input->dim(1);
  s_.in_w = input->dim(2);
  in_c_ = input->dim(3);
  s_.kh = filter->dim(1);
  s_.kw = filter->dim(2);
  out_c_ = filter->dim(3);
  TFC_ENSURE_MSG(ctx, batches_ >= 0 && s_.in_h >= 0 && s_.in_w >= 0 && in_c_ >= 1,
                 "bad input shape");
  TFC_ENSURE_MSG(ctx, s_.kh >= 1 && s_.kw >= 1 && out_c_ >= 1, "bad filter shape");
  TFC_ENSURE_MSG(ctx, out_c_ % in_c_ == 0,
                 "filter channels (%d) must be a multiple of input channels (%d)", out_c_, in_c_);
  mult_ = out_c_ / in_c_;

  const char* why = qconv::FilterScales(filter, out_c_, 3, ft == kTfLiteInt8, &filter_scale_,
                                        &filter_zp_);
  if (why) return ctx.Error("%s", why);
  const auto* opt = ctx.options<fb::DepthwiseConv2DOptions>();
  bool act_ok = true;
  act_ = ActivationRange(
      opt ? opt->fused_activation_function() : fb::ActivationFunctionType_NONE, &act_ok);
  if (!act_ok) return ctx.Error("unsupported fused activation");
  if (kind_ == DwKind::kHybrid) {
    if (bias) TFC_ENSURE_TYPE(ctx, bias, kTfLiteFloat32);
  } else {
    if ((why = qconv::CheckActivationQuant(input))) return ctx.Error("input %s", why);
    if ((why = qconv::CheckActivationQuant(output))) return ctx.Error("output %s", why);
    in_zp_ = qconv::ZeroPointOf(input);
    out_zp_ = qconv::ZeroPointOf(output);
    const float in_s = qconv::ScaleOf(input), out_s = qconv::ScaleOf(output);
    if (kind_ == DwKind::kUint8) {
      TFC_ENSURE_MSG(ctx, filter->quant.scale.size() == 1,
                     "uint8 DEPTHWISE_CONV_2D takes a per-tensor quantized filter");
      int32_t m;
      int s;
      qconv::PerTensorMultiplierUint8(in_s, filter_scale_[0], out_s, &m, &s);
      mult_q_.assign(static_cast<size_t>(out_c_), m);
      shift_q_.assign(static_cast<size_t>(out_c_), s);
    } else {
      qconv::PerChannelMultipliers(in_s, filter_scale_, out_s, &mult_q_, &shift_q_);
    }
    TFC_ENSURE_MSG(ctx, kind_ != DwKind::k16x8 || qconv::Shifts16x8Ok(shift_q_), "%s", qconv::kShifts16x8Error);
    bias64_ = false;
    if (bias) {
      if (kind_ == DwKind::k16x8) {
        TFC_ENSURE_MSG(ctx, bias->type == kTfLiteInt64 || bias->type == kTfLiteInt32,
                       "16x8 DEPTHWISE_CONV_2D takes an int64 or int32 bias, got %s",
                       TypeName(bias->type));
        bias64_ = bias->type == kTfLiteInt64;
      } else {
        TFC_ENSURE_TYPE(ctx, bias, kTfLiteInt32);
      }
    }
    int32_t lo, hi;
    qconv::TypeRange(it, &lo, &hi);
    QuantizedClampRange(act_.lo, act_.hi, out_s, out_zp_, lo, hi, &act_lo_, &act_hi_);
  }
  if (bias)
    TFC_ENSURE_MSG(ctx, bias->num_elements() == out_c_, "bias has %lld elements, expected %d",
                   static_cast<long long>(bias->num_elements()), out_c_);

  const fb::Padding padding = opt ? opt->padding() : fb::Padding_SAME;
  s_.sw = opt ? opt->stride_w() : 1;
  s_.sh = opt ? opt->stride_h() : 1;
  s_.dw = opt ? opt->dilation_w_factor() : 1;
  s_.dh = opt ? opt->dilation_h_factor() : 1;
  TFC_ENSURE_MSG(ctx, s_.sw >= 1 && s_.sh >= 1, "strides must be >= 1 (got %d, %d)", s_.sh,
                 s_.sw);
  TFC_ENSURE_MSG(ctx, s_.dw >= 1 && s_.dh >= 1, "dilations must be >= 1 (got %d, %d)", s_.dh,
                 s_.dw);
  ConvGeometry gh, gw;
  TFC_ENSURE_MSG(ctx,
                 ComputeConvGeometry(padding, s_.in_h, s_.kh, s_.sh, s_.dh, &gh) &&
                     ComputeConvGeometry(padding, s_.in_w, s_.kw, s_.sw, s_.dw, &gw),
                 "invalid padding/stride/dilation");
  s_.out_h = gh.out;
  s_.out_w = gw.out;
  s_.pad_t = gh.pad_start;
  s_.pad_l = gw.pad_start;
  s_.c = out_c_;
  int64_t taps = 0, tmp = 0, rows = 0, outn = 0, inn = 0;
  TFC_ENSURE_MSG(ctx, CheckedMul(s_.kh, s_.kw, &taps) && CheckedMul(taps, out_c_, &tmp) &&
                          taps < 65536,
                 "filter too large");
  TFC_ENSURE_MSG(ctx,
                 CheckedMul(batches_, s_.out_h, &rows) && CheckedMul(rows, s_.out_w, &tmp) &&
                     CheckedMul(tmp, out_c_, &outn, int64_t{1} << 40),
                 "output too large");
  TFC_ENSURE_MSG(ctx, CheckedMul(batches_, s_.in_h, &tmp) && CheckedMul(tmp, s_.in_w, &inn) &&
                          CheckedMul(inn, in_c_, &inn, int64_t{1} << 40),
                 "input too large");

  const size_t cout = static_cast<size_t>(out_c_);
  weights_.resize(static_cast<size_t>(taps) * cout);
  // Fixed point, int8: TensorFlow Lite's x86 build runs its NEON output stage
  // (through an SSE emulation) on whole groups of 8 channels, which rounds
  // ties upward; the remaining channels (and uint8) round ties away from zero.
  if (kind_ == DwKind::kInt8 || kind_ == DwKind::kUint8) {
    if (ctx.fixed_point_requantization())
      requant_.Init(mult_q_, shift_q_, kind_ == DwKind::kInt8 ? cout / 8 * 8 : 0, out_zp_, act_lo_,
                    act_hi_);
    else
      requant_.InitFloat(qconv::ChannelRequant::FloatScales(qconv::ScaleOf(input), filter_scale_,
                                                            qconv::ScaleOf(output)),
                         out_zp_, act_lo_, act_hi_);
  }
  // The weights' forms Eval reads are sized here and filled by FillWeights, as a PackWeights job:
  // weights_, and for the pair kernels weight_pairs_ and bias_folded_ (x86), group_pairs_ and group_bias_ (AVX-512).
  weight_pairs_.clear();
  bias_folded_.clear();
  size_t pair_lanes = 0;
#if TFC_QGEMM_X86
  avx2_ = cpu::HasAvx2Fma();
  pair_lanes = avx2_ && cout % 16 == 0 ? 16 : 0;  // DwRunInt8PairsAvx2
#if TFC_QGEMM_AVX512
  avx512_ = cpu::HasAvx512Vnni();
  if (avx512_) pair_lanes = kDwLanes;  // DwRunInt8PairsAvx512
#endif
  if (!(kind_ == DwKind::kInt8 && mult_ == 1 && (!bias || bias->is_constant()))) pair_lanes = 0;
  if (pair_lanes > 0) {
    weight_pairs_.resize(DwPairsSize(static_cast<int>(taps), cout, pair_lanes));
    bias_folded_.resize(cout);
  }
#endif
  bool groups = false;
#if TFC_QGEMM_AVX512
  group_pairs_.clear();
  group_bias_.clear();
  group_requant_ = qconv::ChannelRequant();
  groups = avx512_ && pair_lanes > 0 && cout < kDwLanes && kDwLanes % cout == 0 && s_.sw == 1;
  if (groups) {
    group_pairs_.resize(DwPairsSize(static_cast<int>(taps), kDwLanes, kDwLanes));
    group_bias_.resize(kDwLanes);
    group_requant_ = requant_.Repeated(kDwLanes);
  }
#endif
  ctx.PackWeights([this, w8 = filter->data_as<int8_t>(), u8 = ft == kTfLiteUInt8,
                   b32 = pair_lanes > 0 && bias ? bias->data_as<int32_t>() : nullptr, taps, cout, pair_lanes,
                   groups] { FillWeights(w8, u8, b32, static_cast<size_t>(taps), cout, pair_lanes, groups); });
  workers_ = std::max(1, ctx.num_threads());
  slot_bytes_ = (cout * sizeof(int64_t) + 63) / 64 * 64;
  scratch_acc_ = ctx.RequestScratch(static_cast<size_t>(workers_) * slot_bytes_);
  scratch_qin_ = scratch_bparams_ = -1;
  if (kind_ == DwKind::kHybrid) {
    scratch_qin_ = ctx.RequestScratch(static_cast<size_t>(inn) + 1);
    scratch_bparams_ =
        ctx.RequestScratch((static_cast<size_t>(batches_) + 1) * (sizeof(int32_t) + sizeof(float)));
  }
  return ctx.ResizeOutput(0, {batches_, s_.out_h, s_.out_w, out_c_});
}

// Fills what Prepare sized: the filter centered (w - zero point, [tap][c]), and with pair_lanes its
// tap pairs for the pair kernels and the bias with the input zero point folded in (b32 nullable).
void QuantDepthwiseConv2D::FillWeights(const int8_t* w8, bool u8, const int32_t* b32, size_t taps, size_t cout,
                                       size_t pair_lanes, bool groups) {
  for (size_t t = 0, i = 0; t < taps; ++t)
    for (size_t c = 0; c < cout; ++c, ++i) {
      const int32_t w = u8 ? int32_t{static_cast<uint8_t>(w8[i])} : int32_t{w8[i]};
      weights_[i] = static_cast<int16_t>(w - filter_zp_[c]);
    }
#if TFC_QGEMM_X86
  if (pair_lanes > 0) {
    PackDwPairs(weights_.data(), static_cast<int>(taps), cout, pair_lanes, weight_pairs_.data());
    for (size_t c = 0; c < cout; ++c) {
      int64_t sum = 0;
      for (size_t t = 0; t < taps; ++t) sum += weights_[t * cout + c];
      const int64_t b = b32 ? int64_t{b32[c]} : 0;
      // int32 wrap-around, as the accumulation it replaces
      bias_folded_[c] = static_cast<int32_t>(static_cast<uint32_t>(b - int64_t{in_zp_} * sum));
    }
  }
#else
  (void)b32;
  (void)pair_lanes;
#endif
#if TFC_QGEMM_AVX512
  if (groups) {
    std::vector<int16_t> w(taps * kDwLanes);
    for (size_t i = 0; i < w.size(); ++i) w[i] = weights_[i / kDwLanes * cout + i % kDwLanes % cout];
    PackDwPairs(w.data(), static_cast<int>(taps), kDwLanes, kDwLanes, group_pairs_.data());
    for (size_t v = 0; v < kDwLanes; ++v) group_bias_[v] = bias_folded_[v % cout];
  }
#else
  (void)groups;
#endif
}

int QuantDepthwiseConv2D::TapPointers(const int8_t* image, int iy0, int ix0, int ky0, int ky1, int kx0,
                                      int kx1, const int8_t** px, const int16_t** wx) const {
  const size_t cin = static_cast<size_t>(in_c_), cout = static_cast<size_t>(out_c_);
  int nt = 0;
  for (int ky = ky0; ky < ky1; ++ky) {
    const int iy = iy0 + ky * s_.dh;
    for (int kx = kx0; kx < kx1; ++kx, ++nt) {
      const int ix = ix0 + kx * s_.dw;
      px[nt] = image + (static_cast<size_t>(iy) * s_.in_w + static_cast<size_t>(ix)) * cin;
      wx[nt] = weights_.data() + (static_cast<size_t>(ky) * s_.kw + kx) * cout;
    }
  }
  return nt;
}

// Output rows [r0, r1) of batch*out_h.
template <class T, class Acc>
void QuantDepthwiseConv2D::Rows(const T* in, const int32_t* batch_zp, const float* batch_scale,
                                const void* bias, void* out, Acc* acc, int64_t r0,
                                int64_t r1) const {
  const size_t cin = static_cast<size_t>(in_c_), cout = static_cast<size_t>(out_c_);
  const size_t m = static_cast<size_t>(mult_);
  const size_t img = static_cast<size_t>(s_.in_h) * s_.in_w * cin;
  for (int64_t r = r0; r < r1; ++r) {
    const int b = static_cast<int>(r / s_.out_h);
    const int oy = static_cast<int>(r % s_.out_h);
    const int32_t zp = batch_zp ? batch_zp[b] : in_zp_;
    const T* image = in + static_cast<size_t>(b) * img;
    const int iy0 = oy * s_.sh - s_.pad_t;
    int ky0, ky1;
    ValidTaps(iy0, s_.kh, s_.dh, s_.in_h, &ky0, &ky1);
    // Pixels [run0, run1) of this row have every horizontal tap inside the
    // image: int8 on AVX-512 runs them through DwRunInt8Avx512 (or its pairs
    // form), on AVX2 through DwRunInt8PairsAvx2 where the whole filter is inside.
    int run0 = 0, run1 = 0;
#if TFC_QGEMM_X86
    bool runs = avx2_ && !bias_folded_.empty() && ky0 == 0 && ky1 == s_.kh;
#if TFC_QGEMM_AVX512
    runs = runs || avx512_;
#endif
    if (runs && kind_ == DwKind::kInt8 && m == 1 && (ky1 - ky0) * s_.kw <= kDwMaxFastTaps) {
      run0 = (s_.pad_l + s_.sw - 1) / s_.sw;
      const int last = s_.in_w - 1 - (s_.kw - 1) * s_.dw + s_.pad_l;  // largest ox * sw allowed
      run1 = last < 0 ? 0 : std::min(s_.out_w, last / s_.sw + 1);
    }
#endif
    for (int ox = 0; ox < s_.out_w; ++ox) {
      const int ix0 = ox * s_.sw - s_.pad_l;
#if TFC_QGEMM_X86
      if (ox == run0 && run1 > run0) {
        const int8_t* px[kDwMaxFastTaps];
        const int16_t* wx[kDwMaxFastTaps];
        const int nt = TapPointers(reinterpret_cast<const int8_t*>(image), iy0, ix0, ky0, ky1, 0, s_.kw, px, wx);
        const size_t o0 = (static_cast<size_t>(r) * s_.out_w + static_cast<size_t>(ox)) * cout;
        int8_t* o = static_cast<int8_t*>(out) + o0;
#if TFC_QGEMM_AVX512
        if (!avx512_) {
#endif
          auto run = nt == 9 ? DwRunInt8PairsAvx2<9> : DwRunInt8PairsAvx2<0>;
          run(px, static_cast<size_t>(s_.sw) * cin, run1 - run0, weight_pairs_.data(), nt, cout, requant_,
              bias_folded_.data(), o);
#if TFC_QGEMM_AVX512
        } else if (!bias_folded_.empty() && ky0 == 0 && ky1 == s_.kh) {
          auto run = nt == 9 ? DwRunInt8PairsAvx512<9> : DwRunInt8PairsAvx512<0>;
          int pixels = run1 - run0;
          if (!group_pairs_.empty() && pixels >= static_cast<int>(kDwLanes / cout)) {
            // whole groups of 32 / C pixels as 32 channels, then the rest
            const int per = static_cast<int>(kDwLanes / cout), groups = pixels / per;
            run(px, kDwLanes, groups, group_pairs_.data(), nt, kDwLanes, group_requant_,
                group_bias_.data(), o);
            const size_t skip = static_cast<size_t>(groups) * kDwLanes;
            for (int t = 0; t < nt; ++t) px[t] += skip;
            o += skip;
            pixels -= groups * per;
          }
          if (pixels > 0)
            run(px, static_cast<size_t>(s_.sw) * cin, pixels, weight_pairs_.data(), nt, cout, requant_,
                bias_folded_.data(), o);
        } else
          DwRunInt8Avx512(px, static_cast<size_t>(s_.sw) * cin, run1 - run0, wx, nt, cout, zp, requant_,
                          static_cast<const int32_t*>(bias), o);
#endif
        ox = run1 - 1;
        continue;
      }
#endif
      int kx0, kx1;
      ValidTaps(ix0, s_.kw, s_.dw, s_.in_w, &kx0, &kx1);
      size_t done = 0;  // channels [0, done) accumulated by the vector path
#if TFC_QGEMM_X86
      bool vector = avx2_ && cout >= 16;
#if TFC_QGEMM_AVX512
      vector = vector || avx512_;
#endif
      if (std::is_same<T, int8_t>::value && std::is_same<Acc, int32_t>::value && m == 1 &&
          vector && (ky1 - ky0) * (kx1 - kx0) <= kDwMaxFastTaps) {
        const int8_t* px[kDwMaxFastTaps];
        const int16_t* wx[kDwMaxFastTaps];
        const int nt =
            TapPointers(reinterpret_cast<const int8_t*>(image), iy0, ix0, ky0, ky1, kx0, kx1, px, wx);
        int32_t* acc32 = reinterpret_cast<int32_t*>(acc);
#if TFC_QGEMM_AVX512
        if (avx512_) {
          done = cout;
          DwAccumInt8Avx512(px, wx, nt, cout, zp, acc32);
        }
#endif
        if (done == 0) {
          done = cout / 16 * 16;
          DwAccumInt8Avx2(px, wx, nt, done, zp, acc32);
        }
      }
#endif
      for (size_t c = done; c < cout; ++c) acc[c] = 0;
      for (int ky = ky0; ky < ky1; ++ky) {
        const int iy = iy0 + ky * s_.dh;
        for (int kx = kx0; kx < kx1 && done < cout; ++kx) {
          const int ix = ix0 + kx * s_.dw;
          const T* p = image + (static_cast<size_t>(iy) * s_.in_w + static_cast<size_t>(ix)) * cin;
          const int16_t* w = weights_.data() + (static_cast<size_t>(ky) * s_.kw + kx) * cout;
          if (m == 1) {
            for (size_t c = done; c < cout; ++c)
              acc[c] += static_cast<Acc>((int32_t{p[c]} - zp) * int32_t{w[c]});
          } else {
            for (size_t ic = 0; ic < cin; ++ic) {
              const int32_t v = int32_t{p[ic]} - zp;
              for (size_t j = 0; j < m; ++j)
                acc[ic * m + j] += static_cast<Acc>(v * int32_t{w[ic * m + j]});
            }
          }
        }
      }
      const size_t o0 = ((static_cast<size_t>(r)) * s_.out_w + static_cast<size_t>(ox)) * cout;
      switch (kind_) {
        case DwKind::kHybrid: {
          const float in_scale = batch_scale[b];
          const float* bi = static_cast<const float*>(bias);
          float* o = static_cast<float*>(out) + o0;
          // TensorFlow Lite's x86 build takes its NEON path (through an SSE
          // emulation): whole groups of 4 channels multiply by the channel
          // scale first, the remaining channels by the input scale first.
          const size_t vec_end = cout / 4 * 4;
          for (size_t c = 0; c < cout; ++c) {
            const float a = static_cast<float>(acc[c]);
            const float t = c < vec_end ? a * filter_scale_[c] : a * in_scale;
            float v = c < vec_end ? t * in_scale : t * filter_scale_[c];
            if (bi) v += bi[c];
            v = std::max(v, act_.lo);
            o[c] = std::min(v, act_.hi);
          }
          break;
        }
        case DwKind::k16x8: {
          int16_t* o = static_cast<int16_t*>(out) + o0;
          for (size_t c = 0; c < cout; ++c) {
            int64_t v = static_cast<int64_t>(acc[c]);
            if (bias)
              v += bias64_ ? static_cast<const int64_t*>(bias)[c]
                           : int64_t{static_cast<const int32_t*>(bias)[c]};
            o[c] = static_cast<int16_t>(
                qconv::Requantize16(v, mult_q_[c], shift_q_[c], out_zp_, act_lo_, act_hi_));
          }
          break;
        }
        default: {
          const int32_t* bi = static_cast<const int32_t*>(bias);
          if (kind_ == DwKind::kInt8)
            qconv::RequantizeRow(requant_, reinterpret_cast<const int32_t*>(acc), bi, cout,
                                 static_cast<int8_t*>(out) + o0);
          else
            qconv::RequantizeRow(requant_, reinterpret_cast<const int32_t*>(acc), bi, cout,
                                 static_cast<uint8_t*>(out) + o0);
          break;
        }
      }
    }
  }
}

TfLiteStatus QuantDepthwiseConv2D::Eval(OpContext& ctx) {
  const TfLiteTensor* input = ctx.input(0);
  const TfLiteTensor* bias = ctx.input(2);
  TfLiteTensor* output = ctx.output(0);
  const int64_t rows = static_cast<int64_t>(batches_) * s_.out_h;
  if (rows == 0 || s_.out_w == 0) return kTfLiteOk;
  const void* bias_data = bias ? bias->data : nullptr;
  void* out = output->data;
  char* scratch = static_cast<char*>(ctx.Scratch(scratch_acc_));
  const int32_t* batch_zp = nullptr;
  const float* batch_scale = nullptr;
  const int8_t* qin = nullptr;
  if (kind_ == DwKind::kHybrid) {
    int8_t* q = static_cast<int8_t*>(ctx.Scratch(scratch_qin_));
    char* bp = static_cast<char*>(ctx.Scratch(scratch_bparams_));
    int32_t* zps = reinterpret_cast<int32_t*>(bp);
    float* scales =
        reinterpret_cast<float*>(bp + (static_cast<size_t>(batches_) + 1) * sizeof(int32_t));
    const size_t per_batch = static_cast<size_t>(s_.in_h) * s_.in_w * in_c_;
    const float* x = input->data_as<float>();
    for (int b = 0; b < batches_; ++b) {
      const size_t off = static_cast<size_t>(b) * per_batch;
      scales[b] = qconv::QuantizeAsymmetric(x + off, per_batch, q + off, &zps[b]);
    }
    qin = q;
    batch_zp = zps;
    batch_scale = scales;
  }
  ThreadPool& pool = ctx.pool();
  const double macs = static_cast<double>(rows) * s_.out_w * out_c_ * s_.kh * s_.kw;
  const int workers = gemm::Workers(pool, macs, gemm::kMinParallelTaps, rows, workers_);
  // Chunks of output rows, claimed by the threads as they go; each thread
  // owns a slot of the scratch.
  auto chunk = [&](int64_t r0, int64_t r1, int thread) {
    void* acc = scratch + static_cast<size_t>(thread) * slot_bytes_;
    switch (kind_) {
      case DwKind::kHybrid:
        Rows(qin, batch_zp, batch_scale, bias_data, out, static_cast<int32_t*>(acc), r0, r1);
        break;
      case DwKind::kInt8:
        Rows(input->data_as<int8_t>(), nullptr, nullptr, bias_data, out, static_cast<int32_t*>(acc),
             r0, r1);
        break;
      case DwKind::kUint8:
        Rows(input->data_as<uint8_t>(), nullptr, nullptr, bias_data, out,
             static_cast<int32_t*>(acc), r0, r1);
        break;
      case DwKind::k16x8:
        Rows(input->data_as<int16_t>(), nullptr, nullptr, bias_data, out,
             static_cast<int64_t*>(acc), r0, r1);
        break;
    }
  };
  if (workers == 1)
    chunk(0, rows, 0);
  else
    pool.ParallelFor(rows, 1, chunk);
  return kTfLiteOk;
}

// Picks the float or the quantized / hybrid implementation from the types.
class DepthwiseConv2D final : public OpKernel {
 public:
  TfLiteStatus Prepare(OpContext& ctx) override {
    const TfLiteTensor* input = ctx.input(0);
    const TfLiteTensor* filter = ctx.input(1);
    const bool quant = input && filter &&
                       (IsQuantizedType(input->type) ||
                        (input->type == kTfLiteFloat32 && filter->type != kTfLiteFloat32));
    if (!impl_ || quant != quant_) {
      if (quant)
        impl_ = std::make_unique<QuantDepthwiseConv2D>();
      else
        impl_ = std::make_unique<FloatDepthwiseConv2D>();
      quant_ = quant;
    }
    return impl_->Prepare(ctx);
  }
  TfLiteStatus Eval(OpContext& ctx) override { return impl_->Eval(ctx); }
  size_t OwnedBytes() const override { return HeapBytes(impl_); }

 private:
  std::unique_ptr<OpKernel> impl_;
  bool quant_ = false;
};

}  // namespace

TFC_REGISTER_OP(DEPTHWISE_CONV_2D, 1, 7, DepthwiseConv2D);

}  // namespace tfc
