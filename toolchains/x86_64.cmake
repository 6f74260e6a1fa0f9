# x86_64: any 64-bit x86 CPU (baseline x86-64: SSE2, no AVX), Linux with
# glibc >= 2.17 (manylinux2014_x86_64). Compiler: zig (pip install ziglang).
set(TFC_ZIG_TARGET x86_64-linux-gnu.2.17)
set(TFC_ZIG_CPU x86_64)
set(TFC_ZIG_STATIC_TARGET x86_64-linux-musl)
set(TFC_ZIG_PROCESSOR x86_64)
set(TFC_QEMU "")
include(${CMAKE_CURRENT_LIST_DIR}/zig/zig.cmake)
