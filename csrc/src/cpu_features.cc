#include "cpu_features.h"

#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#endif

namespace tfc {
namespace cpu {

#if defined(__x86_64__) || defined(__i386__)
namespace {

struct X86Features {
  bool sse41 = false;
  bool avx2_fma = false;
  bool avx512f = false;
  bool avx512_vnni = false;
  bool avx512_vbmi = false;
  bool avx_vnni = false;
  bool avx_vnni_evex = false;

  X86Features() {
    Detect();
    const char* cap = std::getenv("TFLITE_CFFI_MAX_ISA");
    if (!cap) return;
    if (std::strcmp(cap, "avx2vnni") == 0) {
      avx_vnni_evex = !avx_vnni && avx512_vnni;
      avx_vnni = avx_vnni || avx512_vnni;
      avx512f = avx512_vnni = avx512_vbmi = false;
    } else if (std::strcmp(cap, "avx2") == 0) {
      avx512f = avx512_vnni = avx512_vbmi = avx_vnni = false;
    } else if (std::strcmp(cap, "sse4") == 0) {
      avx2_fma = avx512f = avx512_vnni = avx512_vbmi = avx_vnni = false;
    } else if (std::strcmp(cap, "baseline") == 0) {
      sse41 = avx2_fma = avx512f = avx512_vnni = avx512_vbmi = avx_vnni = false;
    }
  }

  void Detect() {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return;
    sse41 = (c >> 19) & 1;
    const bool fma = (c >> 12) & 1;
    const bool osxsave = (c >> 27) & 1;
    const bool avx = (c >> 28) & 1;
    if (!(fma && osxsave && avx)) return;
    // The OS must save the YMM registers (XCR0 bits 1 and 2), and for
    // AVX-512 also the opmask and ZMM state (bits 5, 6, 7).
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 6u) != 6u) return;
    if (__get_cpuid_max(0, nullptr) < 7) return;
    __cpuid_count(7, 0, a, b, c, d);
    const unsigned subleaves = a;
    avx2_fma = (b >> 5) & 1;
    if (avx2_fma && subleaves >= 1) {
      unsigned a1, b1, c1, d1;
      __cpuid_count(7, 1, a1, b1, c1, d1);
      avx_vnni = (a1 >> 4) & 1;
    }
    if (!avx2_fma || (lo & 0xE6u) != 0xE6u) return;
    avx512f = (b >> 16) & 1;
    const bool bw = (b >> 30) & 1, vl = (b >> 31) & 1, vnni = (c >> 11) & 1, vbmi = (c >> 1) & 1;
    avx512_vnni = avx512f && bw && vl && vnni;
    avx512_vbmi = avx512f && bw && vbmi;
  }
};

const X86Features& Features() {
  static const X86Features features;
  return features;
}

}  // namespace

bool HasSse41() { return Features().sse41; }
bool HasAvx2Fma() { return Features().avx2_fma; }
bool HasAvx512F() { return Features().avx512f; }
bool HasAvx512Vnni() { return Features().avx512_vnni; }
bool HasAvx512Vbmi() { return Features().avx512_vbmi; }
bool HasAvxVnni() { return Features().avx_vnni; }
bool AvxVnniIsEvex() { return Features().avx_vnni_evex; }
bool HasDotProd() { return false; }
#else
bool HasSse41() { return false; }
bool HasAvx2Fma() { return false; }
bool HasAvx512F() { return false; }
bool HasAvx512Vnni() { return false; }
bool HasAvx512Vbmi() { return false; }
bool HasAvxVnni() { return false; }
bool AvxVnniIsEvex() { return false; }
#if defined(__aarch64__) && defined(__linux__)
bool HasDotProd() {
  static const bool dot = [] {
    const char* cap = std::getenv("TFLITE_CFFI_MAX_ISA");
    if (cap && std::strcmp(cap, "baseline") == 0) return false;
    return (getauxval(AT_HWCAP) & (1ul << 20)) != 0;  // HWCAP_ASIMDDP
  }();
  return dot;
}
#else
bool HasDotProd() { return false; }
#endif
#endif

}  // namespace cpu
}  // namespace tfc
