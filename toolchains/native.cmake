# native: this build machine's architecture and exact CPU (-mcpu=native, like
# -march=native), Linux with glibc >= 2.17. The library may use every
# instruction this CPU has (AVX2, AVX-512, SVE, dotprod...): it runs on this
# machine and its twins only, whatever its wheel tag says. Compiler: zig.
set(TFC_ZIG_TARGET native-linux-gnu.2.17)
set(TFC_ZIG_CPU native)
set(TFC_ZIG_STATIC_TARGET native-linux-musl)
set(TFC_ZIG_PROCESSOR "")
set(TFC_QEMU "")
include(${CMAKE_CURRENT_LIST_DIR}/zig/zig.cmake)
