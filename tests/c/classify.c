/* A client written against TensorFlow Lite's C API only (no TfLiteCffi
 * extensions): it must compile and run unchanged against libtflite_cffi.
 * Usage: classify MODEL INPUT.raw OUTPUT.raw [THREADS]
 * Reads the raw bytes of input 0, writes the raw bytes of output 0, and
 * prints the shape and type of each input and output. */
#include <stdio.h>
#include <stdlib.h>

#include "tflite_cffi/c_api.h"

static void* read_file(const char* path, size_t* size) {
  FILE* f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  void* buf = malloc(n > 0 ? (size_t)n : 1);
  *size = fread(buf, 1, (size_t)n, f);
  fclose(f);
  return buf;
}

static void describe(const char* what, const TfLiteTensor* t) {
  printf("%s %s type=%d dims=[", what, TfLiteTensorName(t), (int)TfLiteTensorType(t));
  for (int32_t d = 0; d < TfLiteTensorNumDims(t); ++d) printf(d ? ",%d" : "%d", TfLiteTensorDim(t, d));
  TfLiteQuantizationParams q = TfLiteTensorQuantizationParams(t);
  printf("] bytes=%zu scale=%g zero_point=%d\n", TfLiteTensorByteSize(t), q.scale, q.zero_point);
}

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s MODEL INPUT.raw OUTPUT.raw [THREADS]\n", argv[0]);
    return 2;
  }
  printf("TfLiteVersion %s schema %d\n", TfLiteVersion(), TfLiteSchemaVersion());
  TfLiteModel* model = TfLiteModelCreateFromFile(argv[1]);
  if (!model) return 3;
  TfLiteInterpreterOptions* options = TfLiteInterpreterOptionsCreate();
  TfLiteInterpreterOptionsSetNumThreads(options, argc > 4 ? atoi(argv[4]) : 1);
  TfLiteInterpreter* interpreter = TfLiteInterpreterCreate(model, options);
  TfLiteInterpreterOptionsDelete(options);
  TfLiteModelDelete(model); /* the interpreter keeps what it needs */
  if (!interpreter) return 4;
  if (TfLiteInterpreterAllocateTensors(interpreter) != kTfLiteOk) return 5;
  for (int32_t i = 0; i < TfLiteInterpreterGetInputTensorCount(interpreter); ++i)
    describe("input", TfLiteInterpreterGetInputTensor(interpreter, i));
  size_t in_size = 0;
  void* in = read_file(argv[2], &in_size);
  TfLiteTensor* input = TfLiteInterpreterGetInputTensor(interpreter, 0);
  if (!in || TfLiteTensorCopyFromBuffer(input, in, in_size) != kTfLiteOk) return 6;
  if (TfLiteInterpreterInvoke(interpreter) != kTfLiteOk) return 7;
  for (int32_t i = 0; i < TfLiteInterpreterGetOutputTensorCount(interpreter); ++i)
    describe("output", TfLiteInterpreterGetOutputTensor(interpreter, i));
  const TfLiteTensor* output = TfLiteInterpreterGetOutputTensor(interpreter, 0);
  size_t out_size = TfLiteTensorByteSize(output);
  void* out = malloc(out_size);
  if (TfLiteTensorCopyToBuffer(output, out, out_size) != kTfLiteOk) return 8;
  FILE* f = fopen(argv[3], "wb");
  fwrite(out, 1, out_size, f);
  fclose(f);
  /* Misuse must fail cleanly, not crash. */
  if (TfLiteTensorCopyFromBuffer(input, in, in_size + 1) == kTfLiteOk) return 9;
  if (TfLiteInterpreterGetInputTensor(interpreter, 99) != NULL) return 10;
  TfLiteInterpreterDelete(interpreter);
  TfLiteInterpreterDelete(NULL);
  TfLiteModelDelete(NULL);
  free(in);
  free(out);
  puts("ok");
  return 0;
}
