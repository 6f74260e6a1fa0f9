/* A C program registering a custom op directly with
 * TfLiteInterpreterOptionsAddOperator (TensorFlow Lite's C API only).
 * Usage: custom_op_client MODEL
 * MODEL has one float32 input of 6 elements feeding the custom op "TfcCube"
 * (y = x * x * x), whose output is the model's output. The program:
 *   1. checks the operator getters and that bad arguments fail cleanly;
 *   2. without the operator: AllocateTensors must fail (kTfLiteUnresolvedOps);
 *   3. with it (deleted right after TfLiteInterpreterCreate): runs the input
 *      below and prints "out v0 v1 ..." (compared with numpy by the test),
 *      and "init N free N" counts of the init/free callbacks;
 *   4. with an operator whose prepare fails: AllocateTensors fails;
 * and prints "ok" at the end. Exit status != 0 names the failed step. */
#include <stdio.h>
#include <string.h>

#include "tflite_cffi/c_api.h"

static int g_init, g_free, g_reports;
static const float kInput[6] = {1.0f, -2.0f, 0.5f, 3.0f, 0.0f, -1.5f};

static void* CubeInit(void* user_data, TfLiteOpaqueContext* context, const char* buffer, size_t length) {
  (void)context;
  (void)buffer;
  (void)length;
  ++g_init;
  return user_data;  /* handed back by TfLiteOpaqueNodeGetUserData */
}

static void CubeFree(void* user_data, TfLiteOpaqueContext* context, void* data) {
  (void)context;
  if (data == user_data) ++g_free;
}

static TfLiteStatus CubePrepare(void* user_data, TfLiteOpaqueContext* context, TfLiteOpaqueNode* node) {
  if (TfLiteOpaqueNodeGetUserData(node) != user_data) return kTfLiteError;
  const TfLiteOpaqueTensor* in = TfLiteOpaqueNodeGetInput(context, node, 0);
  TfLiteOpaqueTensor* out = TfLiteOpaqueNodeGetOutput(context, node, 0);
  if (!in || !out || TfLiteOpaqueNodeGetInput(context, node, 1) != NULL) return kTfLiteError;
  TfLiteIntArray* dims = TfLiteIntArrayCreate(TfLiteOpaqueTensorNumDims(in));
  for (int i = 0; i < dims->size; ++i) dims->data[i] = TfLiteOpaqueTensorDim(in, i);
  return TfLiteOpaqueContextResizeTensor(context, out, dims);
}

static TfLiteStatus CubeInvoke(void* user_data, TfLiteOpaqueContext* context, TfLiteOpaqueNode* node) {
  (void)user_data;
  const TfLiteOpaqueTensor* in = TfLiteOpaqueNodeGetInput(context, node, 0);
  TfLiteOpaqueTensor* out = TfLiteOpaqueNodeGetOutput(context, node, 0);
  float x[64], y[64];
  size_t bytes = TfLiteOpaqueTensorByteSize(in);
  if (bytes > sizeof(x) || TfLiteOpaqueTensorCopyToBuffer(in, x, bytes) != kTfLiteOk) return kTfLiteError;
  for (size_t i = 0; i < bytes / sizeof(float); ++i) y[i] = x[i] * x[i] * x[i];
  return TfLiteOpaqueTensorCopyFromBuffer(out, y, bytes);
}

static TfLiteStatus BadPrepare(TfLiteOpaqueContext* context, TfLiteOpaqueNode* node) {
  (void)node;
  TfLiteOpaqueContextReportError(context, "refusing on purpose (%d)", 42);
  ++g_reports;
  return kTfLiteError;
}

#define CHECK(step, cond)                                   \
  do {                                                      \
    if (!(cond)) {                                          \
      fprintf(stderr, "step %d failed: %s\n", step, #cond); \
      return step;                                          \
    }                                                       \
  } while (0)

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s MODEL\n", argv[0]);
    return 100;
  }
  static int token;
  TfLiteModel* model = TfLiteModelCreateFromFile(argv[1]);
  CHECK(1, model != NULL);

  /* 1. the operator object and bad arguments */
  TfLiteOperator* op = TfLiteOperatorCreate(kTfLiteBuiltinCustom, "TfcCube", 1, &token);
  CHECK(1, op != NULL);
  CHECK(1, TfLiteOperatorGetBuiltInCode(op) == kTfLiteBuiltinCustom);
  CHECK(1, strcmp(TfLiteOperatorGetCustomName(op), "TfcCube") == 0);
  CHECK(1, TfLiteOperatorGetVersion(op) == 1);
  CHECK(1, TfLiteOperatorGetUserData(op) == &token);
  CHECK(1, TfLiteOperatorCreate(kTfLiteBuiltinCustom, NULL, 1, NULL) == NULL);
  CHECK(1, TfLiteOperatorGetVersion(NULL) == -1);
  CHECK(1, TfLiteOperatorGetCustomName(NULL) == NULL);
  CHECK(1, TfLiteOperatorSetInvokeWithData(NULL, CubeInvoke) == kTfLiteError);
  TfLiteOperatorDelete(NULL);
  TfLiteInterpreterOptionsAddOperator(NULL, op);
  CHECK(1, TfLiteOpaqueNodeNumberOfInputs(NULL) == -1);
  CHECK(1, TfLiteOpaqueContextResizeTensor(NULL, NULL, TfLiteIntArrayCreate(2)) == kTfLiteError);
  CHECK(1, TfLiteIntArrayCreate(-1) == NULL);
  CHECK(1, TfLiteIntArrayGetSizeInBytes(3) >= (int)(4 * sizeof(int)));
  CHECK(1, TfLiteOperatorSetInitWithData(op, CubeInit) == kTfLiteOk);
  CHECK(1, TfLiteOperatorSetFreeWithData(op, CubeFree) == kTfLiteOk);
  CHECK(1, TfLiteOperatorSetPrepareWithData(op, CubePrepare) == kTfLiteOk);
  CHECK(1, TfLiteOperatorSetInvokeWithData(op, CubeInvoke) == kTfLiteOk);

  /* 2. without the operator */
  TfLiteInterpreter* plain = TfLiteInterpreterCreate(model, NULL);
  CHECK(2, plain != NULL);
  CHECK(2, TfLiteInterpreterAllocateTensors(plain) == kTfLiteUnresolvedOps);
  TfLiteInterpreterDelete(plain);

  /* 3. with it */
  TfLiteInterpreterOptions* options = TfLiteInterpreterOptionsCreate();
  TfLiteInterpreterOptionsAddOperator(options, op);
  TfLiteInterpreter* interpreter = TfLiteInterpreterCreate(model, options);
  TfLiteInterpreterOptionsDelete(options);
  TfLiteOperatorDelete(op); /* this library copied it (TensorFlow Lite would need it kept) */
  CHECK(3, interpreter != NULL);
  CHECK(3, g_init == 1);
  CHECK(3, TfLiteInterpreterAllocateTensors(interpreter) == kTfLiteOk);
  TfLiteTensor* in = TfLiteInterpreterGetInputTensor(interpreter, 0);
  CHECK(3, TfLiteTensorCopyFromBuffer(in, kInput, sizeof(kInput)) == kTfLiteOk);
  CHECK(3, TfLiteInterpreterInvoke(interpreter) == kTfLiteOk);
  float out[6];
  const TfLiteTensor* out_tensor = TfLiteInterpreterGetOutputTensor(interpreter, 0);
  CHECK(3, TfLiteTensorCopyToBuffer(out_tensor, out, sizeof(out)) == kTfLiteOk);
  printf("out");
  for (int i = 0; i < 6; ++i) printf(" %.9g", out[i]);
  printf("\n");
  TfLiteInterpreterDelete(interpreter);
  printf("init %d free %d\n", g_init, g_free);
  CHECK(3, g_free == 1);

  /* 4. a failing prepare */
  TfLiteOperator* bad = TfLiteOperatorCreate(kTfLiteBuiltinCustom, "TfcCube", 1, NULL);
  TfLiteOperatorSetPrepare(bad, BadPrepare);
  TfLiteOperatorSetInvoke(bad, NULL);
  options = TfLiteInterpreterOptionsCreate();
  TfLiteInterpreterOptionsAddOperator(options, bad);
  interpreter = TfLiteInterpreterCreate(model, options);
  TfLiteInterpreterOptionsDelete(options);
  CHECK(4, interpreter != NULL);
  CHECK(4, TfLiteInterpreterAllocateTensors(interpreter) == kTfLiteError);
  CHECK(4, g_reports == 1);
  TfLiteInterpreterDelete(interpreter);
  TfLiteOperatorDelete(bad);

  TfLiteModelDelete(model);
  printf("ok\n");
  return 0;
}
