# rpi0: 32-bit ARM, ARMv6 (ARM1176JZF-S) with VFPv2, hard-float ABI, NO NEON
# (Raspberry Pi Zero / Zero W / 1 on Raspberry Pi OS 32-bit), Linux with
# glibc >= 2.17. Wheel tag linux_armv6l (manylinux has no armv6 policy).
# Compiler: zig (pip install ziglang).
set(TFC_ZIG_TARGET arm-linux-gnueabihf.2.17)
set(TFC_ZIG_CPU arm1176jzf_s)
set(TFC_ZIG_STATIC_TARGET arm-linux-musleabihf)
set(TFC_ZIG_PROCESSOR armv6l)
set(TFC_QEMU qemu-arm-static -cpu arm1176)
include(${CMAKE_CURRENT_LIST_DIR}/zig/zig.cmake)
