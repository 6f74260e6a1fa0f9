# gcc: your own GCC cross (or native) toolchain, the way TensorFlow Lite's
# build scripts take it:
#   ARMCC_PREFIX   prefix of the tools, e.g. arm-linux-gnueabihf- or
#                  /opt/x-tools/armv6-rpi-linux-gnueabihf/bin/armv6-rpi-linux-gnueabihf-
#                  (${ARMCC_PREFIX}gcc and ${ARMCC_PREFIX}g++ must exist)
#   ARMCC_FLAGS    flags for C and C++, e.g. "-march=armv7-a -mfpu=neon-vfpv4 -mfloat-abi=hard"
# glibc floor, CPU and FPU: whatever that toolchain and ARMCC_FLAGS target (the
# library runs where the toolchain's sysroot glibc runs). libstdc++ and libgcc
# are linked statically. Example (Debian): apt-get install g++-arm-linux-gnueabihf
#   ARMCC_PREFIX=arm-linux-gnueabihf- invoke cross --target gcc
if(NOT DEFINED TFC_ARMCC_PREFIX)
  set(TFC_ARMCC_PREFIX "$ENV{ARMCC_PREFIX}" CACHE STRING "GCC tool prefix (env ARMCC_PREFIX)")
  set(TFC_ARMCC_FLAGS "$ENV{ARMCC_FLAGS}" CACHE STRING "extra C/C++ flags (env ARMCC_FLAGS)")
endif()
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES TFC_ARMCC_PREFIX TFC_ARMCC_FLAGS)

if(TFC_ARMCC_PREFIX STREQUAL "")
  message(FATAL_ERROR
    "toolchains/gcc.cmake needs ARMCC_PREFIX, the prefix of your GCC tools, e.g.\n"
    "  ARMCC_PREFIX=arm-linux-gnueabihf-   (Debian: apt-get install g++-arm-linux-gnueabihf)")
endif()
foreach(_tool gcc g++)
  find_program(_tfc_armcc_${_tool} NAMES "${TFC_ARMCC_PREFIX}${_tool}" NO_CACHE NO_CMAKE_FIND_ROOT_PATH)
  if(NOT _tfc_armcc_${_tool})
    message(FATAL_ERROR
      "ARMCC_PREFIX=${TFC_ARMCC_PREFIX}: compiler ${TFC_ARMCC_PREFIX}${_tool} not found.\n"
      "Install the toolchain (Debian: apt-get install g++-arm-linux-gnueabihf) or point "
      "ARMCC_PREFIX at it, e.g. ARMCC_PREFIX=/opt/cross/bin/arm-linux-gnueabihf-")
  endif()
endforeach()
set(CMAKE_C_COMPILER "${_tfc_armcc_gcc}")
set(CMAKE_CXX_COMPILER "${_tfc_armcc_g++}")
foreach(_tool ar ranlib strip)
  find_program(_tfc_armcc_${_tool} NAMES "${TFC_ARMCC_PREFIX}${_tool}" NO_CACHE NO_CMAKE_FIND_ROOT_PATH)
  if(_tfc_armcc_${_tool})
    string(TOUPPER ${_tool} _T)
    set(CMAKE_${_T} "${_tfc_armcc_${_tool}}" CACHE FILEPATH "${_tool}")
  endif()
endforeach()

# Cross or not: ask the compiler what it builds for.
execute_process(COMMAND "${_tfc_armcc_gcc}" -dumpmachine
  OUTPUT_VARIABLE _tfc_machine OUTPUT_STRIP_TRAILING_WHITESPACE)
string(REGEX MATCH "^[^-]+" _tfc_arch "${_tfc_machine}")
cmake_host_system_information(RESULT _tfc_host_arch QUERY OS_PLATFORM)
if(NOT _tfc_arch STREQUAL _tfc_host_arch)
  set(CMAKE_SYSTEM_NAME Linux)
  set(CMAKE_SYSTEM_PROCESSOR ${_tfc_arch})
  if(_tfc_arch MATCHES "^arm")
    set(CMAKE_CROSSCOMPILING_EMULATOR qemu-arm-static)
    # GCC's "parameter passing ... changed in GCC 7.1" notes are noise here.
    string(APPEND CMAKE_CXX_FLAGS_INIT " -Wno-psabi")
  elseif(_tfc_arch STREQUAL "aarch64")
    set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64-static)
  endif()
endif()

foreach(_lang C CXX)
  string(APPEND CMAKE_${_lang}_FLAGS_INIT " ${TFC_ARMCC_FLAGS}")
endforeach()
foreach(_kind SHARED EXE)
  string(APPEND CMAKE_${_kind}_LINKER_FLAGS_INIT " -static-libstdc++ -static-libgcc")
endforeach()
