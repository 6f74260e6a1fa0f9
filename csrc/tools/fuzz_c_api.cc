// Fuzz target for the C API: any byte string as a model, through create, allocate, invoke and delete.
//
// Built by `invoke fuzz` with clang (-fsanitize=fuzzer,address,undefined) as a libFuzzer binary; with
// TFC_FUZZ_MAIN defined (any compiler) it is a plain runner instead: `tflite_cffi_fuzz FILE...` runs each
// file once, so a sanitizer build can replay a corpus or a crash without libFuzzer.
//
// Every outcome is fine except a sanitizer report, a crash, a leak or a hang: the library must turn
// every malformed model into an error status.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

#include "tflite_cffi/c_api.h"

namespace {

constexpr size_t kArenaLimit = size_t{64} << 20;    // hostile shapes fail fast instead of paging
constexpr size_t kMaxInputBytes = size_t{16} << 20;

// Inputs get small, deterministic values: bytes 0x00..0x07 repeat (valid small ints, tiny floats).
void FillInputs(TfLiteInterpreter* interpreter) {
  const int32_t n = TfLiteInterpreterGetInputTensorCount(interpreter);
  std::vector<uint8_t> bytes;
  for (int32_t i = 0; i < n; ++i) {
    TfLiteTensor* t = TfLiteInterpreterGetInputTensor(interpreter, i);
    if (!t) continue;
    const size_t size = TfLiteTensorByteSize(t);
    if (size == 0 || size > kMaxInputBytes) continue;
    bytes.resize(size);
    for (size_t k = 0; k < size; ++k) bytes[k] = static_cast<uint8_t>(k & 7);
    TfLiteTensorCopyFromBuffer(t, bytes.data(), size);
  }
}

void ReadOutputs(const TfLiteInterpreter* interpreter) {
  const int32_t n = TfLiteInterpreterGetOutputTensorCount(interpreter);
  std::vector<uint8_t> bytes;
  for (int32_t i = 0; i < n; ++i) {
    const TfLiteTensor* t = TfLiteInterpreterGetOutputTensor(interpreter, i);
    if (!t) continue;
    const size_t size = TfLiteTensorByteSize(t);
    if (size > kMaxInputBytes) continue;
    bytes.resize(size);
    TfLiteTensorCopyToBuffer(t, bytes.data(), size);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  TfLiteModel* model = TfLiteModelCreate(data, size);
  if (!model) return 0;
  TfLiteInterpreterOptions* options = TfLiteInterpreterOptionsCreate();
  TfLiteCffiInterpreterOptionsSetArenaLimit(options, kArenaLimit);
  TfLiteInterpreterOptionsSetNumThreads(options, size % 2 ? 2 : 1);
  TfLiteInterpreter* interpreter = TfLiteInterpreterCreate(model, options);
  if (interpreter) {
    if (TfLiteInterpreterAllocateTensors(interpreter) == kTfLiteOk) {
      FillInputs(interpreter);
      if (TfLiteInterpreterInvoke(interpreter) == kTfLiteOk) {
        ReadOutputs(interpreter);
        TfLiteInterpreterInvoke(interpreter);  // a second run reuses the prepared state
      }
    }
    TfLiteInterpreterDelete(interpreter);
  }
  TfLiteInterpreterOptionsDelete(options);
  TfLiteModelDelete(model);
  return 0;
}

#ifdef TFC_FUZZ_MAIN
int main(int argc, char** argv) {
  int ran = 0;
  for (int i = 1; i < argc; ++i) {
    FILE* f = std::fopen(argv[i], "rb");
    if (!f) {
      std::fprintf(stderr, "tflite_cffi_fuzz: cannot open %s\n", argv[i]);
      return 2;
    }
    std::vector<uint8_t> bytes;
    uint8_t chunk[65536];
    size_t got;
    while ((got = std::fread(chunk, 1, sizeof(chunk), f)) > 0) bytes.insert(bytes.end(), chunk, chunk + got);
    std::fclose(f);
    LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
    ++ran;
  }
  std::printf("tflite_cffi_fuzz: ran %d inputs\n", ran);
  return 0;
}
#endif
