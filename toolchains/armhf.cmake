# armhf: 32-bit ARM, ARMv7-A with NEON-VFPv4, hard-float ABI (Cortex-A7 and
# newer: Raspberry Pi 2/3/4/5 running a 32-bit OS), Linux with glibc >= 2.17
# (manylinux2014_armv7l). Compiler: zig (pip install ziglang).
# Note: cortex_a53 on 32-bit ARM would give ARMv8 code; cortex_a7 is the floor.
set(TFC_ZIG_TARGET arm-linux-gnueabihf.2.17)
set(TFC_ZIG_CPU cortex_a7)
set(TFC_ZIG_STATIC_TARGET arm-linux-musleabihf)
set(TFC_ZIG_PROCESSOR armv7l)
set(TFC_QEMU qemu-arm-static -cpu cortex-a7)
include(${CMAKE_CURRENT_LIST_DIR}/zig/zig.cmake)
