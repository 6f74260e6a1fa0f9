#include "cpu_features.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace tfc {
namespace cpu {

#if defined(__x86_64__) || defined(__i386__)
namespace {

struct X86Features {
  bool avx2_fma = false;
  bool sse41 = false;
  X86Features() {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return;
    sse41 = (c >> 19) & 1;
    const bool fma = (c >> 12) & 1;
    const bool osxsave = (c >> 27) & 1;
    const bool avx = (c >> 28) & 1;
    if (!(fma && osxsave && avx)) return;
    // The OS must save the YMM registers (XCR0 bits 1 and 2).
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 6u) != 6u) return;
    if (__get_cpuid_max(0, nullptr) < 7) return;
    __cpuid_count(7, 0, a, b, c, d);
    avx2_fma = (b >> 5) & 1;
  }
};

const X86Features& Features() {
  static const X86Features features;
  return features;
}

}  // namespace

bool HasAvx2Fma() { return Features().avx2_fma; }
bool HasSse41() { return Features().sse41; }
#else
bool HasAvx2Fma() { return false; }
bool HasSse41() { return false; }
#endif

}  // namespace cpu
}  // namespace tfc
