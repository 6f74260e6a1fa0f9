# aarch64: 64-bit ARM, ARMv8-A with NEON and FP (no crypto/CRC/dotprod
# assumed: Raspberry Pi 3/4/5, Jetson, Graviton...), Linux with glibc >= 2.17
# (manylinux2014_aarch64). Compiler: zig (pip install ziglang).
set(TFC_ZIG_TARGET aarch64-linux-gnu.2.17)
set(TFC_ZIG_CPU generic)
set(TFC_ZIG_STATIC_TARGET aarch64-linux-musl)
set(TFC_ZIG_PROCESSOR aarch64)
set(TFC_QEMU qemu-aarch64-static -cpu cortex-a53)
include(${CMAKE_CURRENT_LIST_DIR}/zig/zig.cmake)
