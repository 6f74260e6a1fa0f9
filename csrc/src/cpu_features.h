// What the CPU we run on can do, for kernels that pick a faster path at run
// time (the x86_64 wheel targets baseline x86-64).
#pragma once

namespace tfc {
namespace cpu {

bool HasAvx2Fma();  // x86_64: AVX2 and FMA3 usable (CPU and OS); false elsewhere
bool HasSse41();    // x86_64: SSE4.1

}  // namespace cpu
}  // namespace tfc
