# Shared part of the zig toolchain files (toolchains/<target>.cmake set the
# inputs below, then include this file). The compilers are zig's clang from the
# `ziglang` PyPI package, run through toolchains/zig/{cc,c++,ar,ranlib}; zig
# brings glibc stubs of the requested version, libc++ (linked statically) and
# compiler-rt, so nothing but Python packages is needed on the build machine.
#
# Inputs:
#   TFC_ZIG_TARGET          zig target with the glibc floor, e.g. arm-linux-gnueabihf.2.17
#   TFC_ZIG_CPU             zig CPU model, e.g. cortex_a7 (zig spelling: '_' not '-')
#   TFC_ZIG_STATIC_TARGET   musl twin of the target, for static executables
#                           (zig links glibc only dynamically)
#   TFC_ZIG_PROCESSOR       CMAKE_SYSTEM_PROCESSOR; empty = host build, not cross
#   TFC_QEMU                emulator command for cross executables (a list), or empty
# Overrides (cache / environment):
#   TFC_ZIG                 the zig executable (default: from the ziglang package)
#   TFC_PYTHON (env)        the Python that has ziglang (default: the build's Python)
#   ZIG_GLOBAL_CACHE_DIR    default ~/.cache/tflite-cffi/zig
include_guard(GLOBAL)

foreach(_v TFC_ZIG_TARGET TFC_ZIG_CPU TFC_ZIG_STATIC_TARGET)
  if(NOT ${_v})
    message(FATAL_ERROR "toolchains/zig/zig.cmake: ${_v} is not set by the toolchain file")
  endif()
endforeach()

if(TFC_ZIG_PROCESSOR)
  set(CMAKE_SYSTEM_NAME Linux)
  set(CMAKE_SYSTEM_PROCESSOR ${TFC_ZIG_PROCESSOR})
endif()

# The zig executable, found once; try_compile projects inherit it.
if(NOT TFC_ZIG)
  if(Python_EXECUTABLE)
    set(_tfc_py "${Python_EXECUTABLE}")
  elseif(Python3_EXECUTABLE)
    set(_tfc_py "${Python3_EXECUTABLE}")
  elseif(DEFINED ENV{TFC_PYTHON})
    set(_tfc_py "$ENV{TFC_PYTHON}")
  else()
    find_program(_tfc_py NAMES python3 python NO_CMAKE_FIND_ROOT_PATH)
  endif()
  execute_process(
    COMMAND "${_tfc_py}" -c "import os, ziglang; print(os.path.join(os.path.dirname(ziglang.__file__), 'zig'))"
    OUTPUT_VARIABLE _tfc_zig OUTPUT_STRIP_TRAILING_WHITESPACE
    ERROR_QUIET RESULT_VARIABLE _tfc_rc)
  if(NOT _tfc_rc EQUAL 0 OR NOT EXISTS "${_tfc_zig}")
    message(FATAL_ERROR
      "The zig toolchains need the `ziglang` PyPI package in ${_tfc_py}:\n"
      "  ${_tfc_py} -m pip install ziglang\n"
      "(or run through ./dev, which installs it; or pass -DTFC_ZIG=/path/to/zig).")
  endif()
  set(TFC_ZIG "${_tfc_zig}" CACHE FILEPATH "zig executable (from the ziglang PyPI package)")
endif()
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES TFC_ZIG)

set(_tfc_zig_dir "${CMAKE_CURRENT_LIST_DIR}")
# The target is a mandatory compiler argument (CMake keeps it in
# CMAKE_<LANG>_COMPILER_ARG1), so compiler detection and every compile and
# link see it. The CPU goes into the flags.
set(CMAKE_C_COMPILER "${_tfc_zig_dir}/cc" "--zig=${TFC_ZIG}" -target ${TFC_ZIG_TARGET})
set(CMAKE_CXX_COMPILER "${_tfc_zig_dir}/c++" "--zig=${TFC_ZIG}" -target ${TFC_ZIG_TARGET})
set(CMAKE_AR "${_tfc_zig_dir}/ar" CACHE FILEPATH "zig ar")
set(CMAKE_RANLIB "${_tfc_zig_dir}/ranlib" CACHE FILEPATH "zig ranlib")
foreach(_lang C CXX)
  set(CMAKE_${_lang}_ARCHIVE_CREATE "<CMAKE_AR> --zig=${TFC_ZIG} qc <TARGET> <LINK_FLAGS> <OBJECTS>")
  set(CMAKE_${_lang}_ARCHIVE_APPEND "<CMAKE_AR> --zig=${TFC_ZIG} q <TARGET> <LINK_FLAGS> <OBJECTS>")
  set(CMAKE_${_lang}_ARCHIVE_FINISH "<CMAKE_RANLIB> --zig=${TFC_ZIG} <TARGET>")
  string(APPEND CMAKE_${_lang}_FLAGS_INIT " -mcpu=${TFC_ZIG_CPU}")
endforeach()

if(TFC_QEMU)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${TFC_QEMU})
endif()
