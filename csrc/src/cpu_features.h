// What the CPU we run on can do, for kernels that pick a faster path at run
// time (the x86_64 wheel targets baseline x86-64).
//
// The environment variable TFLITE_CFFI_MAX_ISA caps what is reported, to run
// (and test) the lower paths on a machine that has more: "baseline" (no dot product on aarch64, no
// SSE4.1/AVX2), "sse4", "avx2" (no AVX-512, no AVX-VNNI), "avx2vnni" (no
// AVX-512; AVX-VNNI where the CPU has it, else, on an AVX-512 VNNI CPU, the
// same 256-bit vpdpbusd in its AVX-512 encoding: see HasAvxVnni), unset or
// anything else: all.
// It is read once, when a kernel first asks.
#pragma once

namespace tfc {
namespace cpu {

bool HasSse41();       // x86_64: SSE4.1
bool HasAvx2Fma();     // x86_64: AVX2 and FMA3 usable (CPU and OS); false elsewhere
bool HasAvx512F();     // x86_64: AVX-512F usable (CPU, and the OS saves opmask and ZMM state)
bool HasAvx512Vnni();  // x86_64: AVX-512F, BW, VL and VNNI (vpdpbusd) usable
bool HasAvx512Vbmi();  // x86_64: AVX-512F, BW and VBMI (vpermb, vpermi2b) usable

// x86_64: vpdpbusd on 256-bit vectors, for CPUs with AVX2 and AVX-VNNI but no
// AVX-512 (Intel since Alder Lake). True also under TFLITE_CFFI_MAX_ISA=avx2vnni
// on a CPU without AVX-VNNI that has AVX-512 VL and VNNI: there
// AvxVnniIsEvex() is true and the kernels take the instruction's AVX-512 (EVEX)
// encoding, same results, so that the 256-bit kernels run on such a machine.
bool HasAvxVnni();
bool AvxVnniIsEvex();

// aarch64: the Armv8.2 dot product instructions (sdot; Cortex-A55/A75 and later, e.g. the
// Raspberry Pi 5's A76, not the Pi 4's A72), from the kernel's HWCAP. TFLITE_CFFI_MAX_ISA=baseline
// turns it off, to run the portable loops on such a CPU.
bool HasDotProd();

}  // namespace cpu
}  // namespace tfc
