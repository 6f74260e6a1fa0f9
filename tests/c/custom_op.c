/*
 * Custom operators for tests/test_custom_ops.py, built into a shared library
 * by the test and registered through custom_op_registerers. Only TensorFlow
 * Lite's C API names are used (no TfLiteCffi* extension), so the same source
 * builds against libtensorflowlite_c.
 *
 *   TfcScaleShift   custom op: y = x * scale + shift (float32). custom_options are
 *                   two little-endian float32 (scale, shift), parsed by init.
 *   ADD (override)  builtin override, version 1: y = a - b, same shapes only.
 *   TfcPositive     custom op: the elements of x that are > 0, as a 1-D tensor
 *                   whose length is known only at invoke (dynamic output).
 *   TfcFail         custom op whose invoke reports an error and fails.
 *
 * Registerers: TfcRegisterScaleShift, TfcRegisterSubtractAsAdd,
 * TfcRegisterPositive, TfcRegisterFail, TfcRegisterAll, and
 * TfcRegisterNothingAndFail (returns kTfLiteError). TfcFreeCount() counts
 * free callbacks (one per TfcScaleShift node when an interpreter is deleted).
 */
#include <stdlib.h>
#include <string.h>

#include "tflite_cffi/c_api.h"

#if defined(__GNUC__)
#define EXPORT __attribute__((visibility("default")))
#else
#define EXPORT
#endif

typedef struct {
  float scale;
  float shift;
  int valid;
} ScaleShiftParams;

static int g_free_count = 0;

EXPORT int TfcFreeCount(void) { return g_free_count; }

static void* ScaleShiftInit(void* user_data, TfLiteOpaqueContext* context, const char* buffer, size_t length) {
  (void)user_data;
  (void)context;
  ScaleShiftParams* p = (ScaleShiftParams*)calloc(1, sizeof(ScaleShiftParams));
  if (!p) return NULL;
  if (buffer && length == 2 * sizeof(float)) {
    memcpy(&p->scale, buffer, sizeof(float));
    memcpy(&p->shift, buffer + sizeof(float), sizeof(float));
    p->valid = 1;
  }
  return p;
}

static void ScaleShiftFree(void* user_data, TfLiteOpaqueContext* context, void* data) {
  (void)user_data;
  (void)context;
  free(data);
  ++g_free_count;
}

static TfLiteStatus ScaleShiftPrepare(void* user_data, TfLiteOpaqueContext* context, TfLiteOpaqueNode* node) {
  (void)user_data;
  const ScaleShiftParams* p = (const ScaleShiftParams*)TfLiteOpaqueNodeGetUserData(node);
  if (!p || !p->valid) {
    TfLiteOpaqueContextReportError(context, "custom_options must hold 2 float32 (scale, shift)");
    return kTfLiteError;
  }
  if (TfLiteOpaqueNodeNumberOfInputs(node) != 1 || TfLiteOpaqueNodeNumberOfOutputs(node) != 1) {
    TfLiteOpaqueContextReportError(context, "takes 1 input and 1 output, got %d and %d",
                                   TfLiteOpaqueNodeNumberOfInputs(node), TfLiteOpaqueNodeNumberOfOutputs(node));
    return kTfLiteError;
  }
  const TfLiteOpaqueTensor* in = TfLiteOpaqueNodeGetInput(context, node, 0);
  TfLiteOpaqueTensor* out = TfLiteOpaqueNodeGetOutput(context, node, 0);
  if (TfLiteOpaqueTensorType(in) != kTfLiteFloat32 || TfLiteOpaqueTensorType(out) != kTfLiteFloat32) {
    TfLiteOpaqueContextReportError(context, "input and output must be float32");
    return kTfLiteError;
  }
  int rank = TfLiteOpaqueTensorNumDims(in);
  TfLiteIntArray* dims = TfLiteIntArrayCreate(rank);
  if (!dims) return kTfLiteError;
  for (int i = 0; i < rank; ++i) dims->data[i] = TfLiteOpaqueTensorDim(in, i);
  return TfLiteOpaqueContextResizeTensor(context, out, dims);
}

static TfLiteStatus ScaleShiftInvoke(void* user_data, TfLiteOpaqueContext* context, TfLiteOpaqueNode* node) {
  (void)user_data;
  const ScaleShiftParams* p = (const ScaleShiftParams*)TfLiteOpaqueNodeGetUserData(node);
  const TfLiteOpaqueTensor* in = TfLiteOpaqueNodeGetInput(context, node, 0);
  TfLiteOpaqueTensor* out = TfLiteOpaqueNodeGetOutput(context, node, 0);
  const float* x = (const float*)TfLiteOpaqueTensorData(in);
  float* y = (float*)TfLiteOpaqueTensorData(out);
  size_t n = TfLiteOpaqueTensorByteSize(in) / sizeof(float);
  if (TfLiteOpaqueTensorByteSize(out) != n * sizeof(float) || (n && (!x || !y))) return kTfLiteError;
  for (size_t i = 0; i < n; ++i) y[i] = x[i] * p->scale + p->shift;
  return kTfLiteOk;
}

static TfLiteStatus SubtractPrepare(TfLiteOpaqueContext* context, TfLiteOpaqueNode* node) {
  const TfLiteOpaqueTensor* a = TfLiteOpaqueNodeGetInput(context, node, 0);
  const TfLiteOpaqueTensor* b = TfLiteOpaqueNodeGetInput(context, node, 1);
  TfLiteOpaqueTensor* out = TfLiteOpaqueNodeGetOutput(context, node, 0);
  if (!a || !b || !out || TfLiteOpaqueTensorType(a) != kTfLiteFloat32 ||
      TfLiteOpaqueTensorByteSize(a) != TfLiteOpaqueTensorByteSize(b)) {
    TfLiteOpaqueContextReportError(context, "this ADD subtracts float32 tensors of one shape");
    return kTfLiteError;
  }
  int rank = TfLiteOpaqueTensorNumDims(a);
  TfLiteIntArray* dims = TfLiteIntArrayCreate(rank);
  if (!dims) return kTfLiteError;
  for (int i = 0; i < rank; ++i) dims->data[i] = TfLiteOpaqueTensorDim(a, i);
  return TfLiteOpaqueContextResizeTensor(context, out, dims);
}

static TfLiteStatus SubtractInvoke(TfLiteOpaqueContext* context, TfLiteOpaqueNode* node) {
  const float* a = (const float*)TfLiteOpaqueTensorData(TfLiteOpaqueNodeGetInput(context, node, 0));
  const float* b = (const float*)TfLiteOpaqueTensorData(TfLiteOpaqueNodeGetInput(context, node, 1));
  TfLiteOpaqueTensor* out = TfLiteOpaqueNodeGetOutput(context, node, 0);
  float* y = (float*)TfLiteOpaqueTensorData(out);
  size_t n = TfLiteOpaqueTensorByteSize(out) / sizeof(float);
  for (size_t i = 0; i < n; ++i) y[i] = a[i] - b[i];
  return kTfLiteOk;
}

static TfLiteStatus PositivePrepare(TfLiteOpaqueContext* context, TfLiteOpaqueNode* node) {
  TfLiteOpaqueTensor* out = TfLiteOpaqueNodeGetOutput(context, node, 0);
  if (TfLiteOpaqueTensorType(TfLiteOpaqueNodeGetInput(context, node, 0)) != kTfLiteFloat32 || !out) {
    TfLiteOpaqueContextReportError(context, "takes a float32 input");
    return kTfLiteError;
  }
  TfLiteOpaqueTensorSetAllocationTypeToDynamic(out);
  return kTfLiteOk;
}

static TfLiteStatus PositiveInvoke(TfLiteOpaqueContext* context, TfLiteOpaqueNode* node) {
  const TfLiteOpaqueTensor* in = TfLiteOpaqueNodeGetInput(context, node, 0);
  TfLiteOpaqueTensor* out = TfLiteOpaqueNodeGetOutput(context, node, 0);
  const float* x = (const float*)TfLiteOpaqueTensorData(in);
  size_t n = TfLiteOpaqueTensorByteSize(in) / sizeof(float);
  int count = 0;
  for (size_t i = 0; i < n; ++i) count += x[i] > 0.0f;
  TfLiteIntArray* dims = TfLiteIntArrayCreate(1);
  if (!dims) return kTfLiteError;
  dims->data[0] = count;
  if (TfLiteOpaqueContextResizeTensor(context, out, dims) != kTfLiteOk) return kTfLiteError;
  float* y = (float*)TfLiteOpaqueTensorData(out);
  if (count && !y) return kTfLiteError;
  for (size_t i = 0; i < n; ++i)
    if (x[i] > 0.0f) *y++ = x[i];
  return kTfLiteOk;
}

static TfLiteStatus FailInvoke(TfLiteOpaqueContext* context, TfLiteOpaqueNode* node) {
  TfLiteOpaqueContextReportError(context, "TfcFail always fails (%d inputs)", TfLiteOpaqueNodeNumberOfInputs(node));
  return kTfLiteError;
}

/* Operators are made once and kept: the interpreter copies them, but
 * TensorFlow Lite's library would keep the pointers. */
static TfLiteOperator* g_scale_shift;
static TfLiteOperator* g_subtract;
static TfLiteOperator* g_positive;
static TfLiteOperator* g_fail;

EXPORT TfLiteStatus TfcRegisterScaleShift(TfLiteInterpreterOptions* options) {
  if (!g_scale_shift) {
    g_scale_shift = TfLiteOperatorCreate(kTfLiteBuiltinCustom, "TfcScaleShift", 1, NULL);
    if (!g_scale_shift) return kTfLiteError;
    TfLiteOperatorSetInitWithData(g_scale_shift, ScaleShiftInit);
    TfLiteOperatorSetFreeWithData(g_scale_shift, ScaleShiftFree);
    TfLiteOperatorSetPrepareWithData(g_scale_shift, ScaleShiftPrepare);
    TfLiteOperatorSetInvokeWithData(g_scale_shift, ScaleShiftInvoke);
  }
  TfLiteInterpreterOptionsAddOperator(options, g_scale_shift);
  return kTfLiteOk;
}

EXPORT TfLiteStatus TfcRegisterSubtractAsAdd(TfLiteInterpreterOptions* options) {
  if (!g_subtract) {
    g_subtract = TfLiteOperatorCreate(kTfLiteBuiltinAdd, NULL, 1, NULL);
    if (!g_subtract) return kTfLiteError;
    TfLiteOperatorSetPrepare(g_subtract, SubtractPrepare);
    TfLiteOperatorSetInvoke(g_subtract, SubtractInvoke);
  }
  TfLiteInterpreterOptionsAddOperator(options, g_subtract);
  return kTfLiteOk;
}

EXPORT TfLiteStatus TfcRegisterPositive(TfLiteInterpreterOptions* options) {
  if (!g_positive) {
    g_positive = TfLiteOperatorCreate(kTfLiteBuiltinCustom, "TfcPositive", 1, NULL);
    if (!g_positive) return kTfLiteError;
    TfLiteOperatorSetPrepare(g_positive, PositivePrepare);
    TfLiteOperatorSetInvoke(g_positive, PositiveInvoke);
  }
  TfLiteInterpreterOptionsAddOperator(options, g_positive);
  return kTfLiteOk;
}

EXPORT TfLiteStatus TfcRegisterFail(TfLiteInterpreterOptions* options) {
  if (!g_fail) {
    g_fail = TfLiteOperatorCreate(kTfLiteBuiltinCustom, "TfcFail", 1, NULL);
    if (!g_fail) return kTfLiteError;
    TfLiteOperatorSetInvoke(g_fail, FailInvoke);
  }
  TfLiteInterpreterOptionsAddOperator(options, g_fail);
  return kTfLiteOk;
}

EXPORT TfLiteStatus TfcRegisterAll(TfLiteInterpreterOptions* options) {
  if (TfcRegisterScaleShift(options) != kTfLiteOk || TfcRegisterPositive(options) != kTfLiteOk ||
      TfcRegisterFail(options) != kTfLiteOk)
    return kTfLiteError;
  return kTfLiteOk;
}

EXPORT TfLiteStatus TfcRegisterNothingAndFail(TfLiteInterpreterOptions* options) {
  (void)options;
  return kTfLiteError;
}
