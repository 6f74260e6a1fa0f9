/*
 * tflite-cffi: the C API of our TensorFlow Lite interpreter.
 *
 * The first part of this header carries the core of TensorFlow Lite's C API:
 * the same function names, signatures, enum values and struct layouts, so a
 * program written against libtensorflowlite_c compiles and runs against
 * libtflite_cffi. The second part holds our extensions; they all start with
 * `TfLiteCffi`.
 *
 * Usage:
 *
 *   TfLiteModel* model = TfLiteModelCreateFromFile("mobilenet.tflite");
 *   if (!model) { fprintf(stderr, "%s\n", TfLiteCffiLastCreateError()); return 1; }
 *   TfLiteInterpreterOptions* options = TfLiteInterpreterOptionsCreate();
 *   TfLiteInterpreterOptionsSetNumThreads(options, 2);
 *   TfLiteInterpreter* interpreter = TfLiteInterpreterCreate(model, options);
 *   TfLiteInterpreterOptionsDelete(options);     // the interpreter keeps a copy
 *   if (TfLiteInterpreterAllocateTensors(interpreter) != kTfLiteOk) {
 *     fprintf(stderr, "%s\n", TfLiteCffiInterpreterLastError(interpreter));
 *   }
 *   TfLiteTensor* in = TfLiteInterpreterGetInputTensor(interpreter, 0);
 *   TfLiteTensorCopyFromBuffer(in, pixels, TfLiteTensorByteSize(in));
 *   TfLiteInterpreterInvoke(interpreter);
 *   const TfLiteTensor* out = TfLiteInterpreterGetOutputTensor(interpreter, 0);
 *   TfLiteTensorCopyToBuffer(out, scores, TfLiteTensorByteSize(out));
 *   TfLiteInterpreterDelete(interpreter);
 *   TfLiteModelDelete(model);
 *
 * Ownership and lifetimes:
 * - Every `...Create` has a `...Delete`; passing NULL to a Delete does nothing.
 * - A model made by TfLiteModelCreate reads the caller's buffer in place: the
 *   buffer must outlive the model and every interpreter made from it, unchanged.
 *   TfLiteModelCreateFromFile maps the file; the interpreter keeps the model
 *   alive, so the model may be deleted right after TfLiteInterpreterCreate.
 * - Tensor pointers belong to the interpreter. They stay valid until it is
 *   deleted; a tensor's data pointer and dims stay valid until the next
 *   TfLiteInterpreterAllocateTensors / ResizeInputTensor / Delete.
 * - Strings returned by the API belong to the library; error strings stay
 *   valid until the next failing call on the same handle (same thread for
 *   TfLiteCffiLastCreateError).
 * - An interpreter is not thread-safe: use one per thread, or serialize calls.
 *   Different interpreters (also from one model) may run in parallel.
 *
 * Python generates its cffi binding from this file, preprocessed with
 * TFLITE_CFFI_CDEF defined: keep declarations plain C (no variadic or va_list
 * callbacks outside `#ifndef TFLITE_CFFI_CDEF` blocks).
 */
#ifndef TFLITE_CFFI_C_API_H_
#define TFLITE_CFFI_C_API_H_

#ifndef TFLITE_CFFI_CDEF
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(TFC_BUILDING_LIBRARY)
#define TFL_CAPI_EXPORT __attribute__((visibility("default")))
#else
#define TFL_CAPI_EXPORT
#endif

#ifdef __cplusplus
extern "C" {
#endif
#else
#define TFL_CAPI_EXPORT
#endif /* TFLITE_CFFI_CDEF */

/* ---------------------------------------------------------------------------
 * Part 1: TensorFlow Lite's C API (types).
 * ------------------------------------------------------------------------- */

/* Result of every fallible call. Values are TensorFlow Lite's. */
typedef enum TfLiteStatus {
  kTfLiteOk = 0,
  kTfLiteError = 1,
  kTfLiteDelegateError = 2,
  kTfLiteApplicationError = 3,
  kTfLiteDelegateDataNotFound = 4,
  kTfLiteDelegateDataWriteError = 5,
  kTfLiteDelegateDataReadError = 6,
  kTfLiteUnresolvedOps = 7, /* an op or op version the library lacks */
  kTfLiteCancelled = 8,
  kTfLiteOutputShapeNotKnown = 9
} TfLiteStatus;

/* Element types. Values are TensorFlow Lite's. */
typedef enum {
  kTfLiteNoType = 0,
  kTfLiteFloat32 = 1,
  kTfLiteInt32 = 2,
  kTfLiteUInt8 = 3,
  kTfLiteInt64 = 4,
  kTfLiteString = 5,
  kTfLiteBool = 6,
  kTfLiteInt16 = 7,
  kTfLiteComplex64 = 8,
  kTfLiteInt8 = 9,
  kTfLiteFloat16 = 10,
  kTfLiteFloat64 = 11,
  kTfLiteComplex128 = 12,
  kTfLiteUInt64 = 13,
  kTfLiteResource = 14,
  kTfLiteVariant = 15,
  kTfLiteUInt32 = 16,
  kTfLiteUInt16 = 17,
  kTfLiteInt4 = 18,
  kTfLiteBFloat16 = 19
} TfLiteType;

/* Per-tensor affine quantization: real = scale * (quantized - zero_point). */
typedef struct TfLiteQuantizationParams {
  float scale;
  int32_t zero_point;
} TfLiteQuantizationParams;

/* Opaque handles. */
typedef struct TfLiteModel TfLiteModel;
typedef struct TfLiteInterpreterOptions TfLiteInterpreterOptions;
typedef struct TfLiteInterpreter TfLiteInterpreter;
typedef struct TfLiteTensor TfLiteTensor;
typedef struct TfLiteSignatureRunner TfLiteSignatureRunner;
typedef struct TfLiteDelegate TfLiteDelegate;

/* Custom operators (TensorFlow Lite's operator API, see "Custom operators"
 * below). The context, node and tensor handles are only handed to an
 * operator's callbacks; a TfLiteOpaqueTensor is the same object as the
 * TfLiteTensor of the interpreter API. */
typedef struct TfLiteOperator TfLiteOperator;
typedef TfLiteOperator TfLiteRegistrationExternal; /* TensorFlow Lite's older name */
typedef struct TfLiteOpaqueContext TfLiteOpaqueContext;
typedef struct TfLiteOpaqueNode TfLiteOpaqueNode;
typedef struct TfLiteOpaqueTensor TfLiteOpaqueTensor;

/* A counted array of ints (shapes for TfLiteOpaqueContextResizeTensor).
 * Allocate with TfLiteIntArrayCreate. */
typedef struct TfLiteIntArray {
  int size;
  int data[];
} TfLiteIntArray;

/* Where a tensor's memory lives (TfLiteOpaqueTensorGetAllocationType).
 * Values are TensorFlow Lite's. */
typedef enum TfLiteAllocationType {
  kTfLiteMemNone = 0,           /* not allocated yet */
  kTfLiteMmapRo = 1,            /* constant bytes of the model */
  kTfLiteArenaRw = 2,           /* planned in the arena */
  kTfLiteArenaRwPersistent = 3,
  kTfLiteDynamic = 4,           /* heap block sized at Invoke (data-dependent shape) */
  kTfLitePersistentRo = 5,      /* computed once at AllocateTensors, then constant */
  kTfLiteCustom = 6,
  kTfLiteVariantObject = 7
} TfLiteAllocationType;

/* Builtin operator codes (the BuiltinOperator values of the .tflite schema).
 * Names and values are TensorFlow Lite's; kTfLiteBuiltinCustom marks a custom
 * op, identified by its name. */
typedef enum {
  kTfLiteBuiltinAdd = 0,
  kTfLiteBuiltinAveragePool2d = 1,
  kTfLiteBuiltinConcatenation = 2,
  kTfLiteBuiltinConv2d = 3,
  kTfLiteBuiltinDepthwiseConv2d = 4,
  kTfLiteBuiltinDepthToSpace = 5,
  kTfLiteBuiltinDequantize = 6,
  kTfLiteBuiltinEmbeddingLookup = 7,
  kTfLiteBuiltinFloor = 8,
  kTfLiteBuiltinFullyConnected = 9,
  kTfLiteBuiltinHashtableLookup = 10,
  kTfLiteBuiltinL2Normalization = 11,
  kTfLiteBuiltinL2Pool2d = 12,
  kTfLiteBuiltinLocalResponseNormalization = 13,
  kTfLiteBuiltinLogistic = 14,
  kTfLiteBuiltinLshProjection = 15,
  kTfLiteBuiltinLstm = 16,
  kTfLiteBuiltinMaxPool2d = 17,
  kTfLiteBuiltinMul = 18,
  kTfLiteBuiltinRelu = 19,
  kTfLiteBuiltinReluN1To1 = 20,
  kTfLiteBuiltinRelu6 = 21,
  kTfLiteBuiltinReshape = 22,
  kTfLiteBuiltinResizeBilinear = 23,
  kTfLiteBuiltinRnn = 24,
  kTfLiteBuiltinSoftmax = 25,
  kTfLiteBuiltinSpaceToDepth = 26,
  kTfLiteBuiltinSvdf = 27,
  kTfLiteBuiltinTanh = 28,
  kTfLiteBuiltinConcatEmbeddings = 29,
  kTfLiteBuiltinSkipGram = 30,
  kTfLiteBuiltinCall = 31,
  kTfLiteBuiltinCustom = 32,
  kTfLiteBuiltinEmbeddingLookupSparse = 33,
  kTfLiteBuiltinPad = 34,
  kTfLiteBuiltinUnidirectionalSequenceRnn = 35,
  kTfLiteBuiltinGather = 36,
  kTfLiteBuiltinBatchToSpaceNd = 37,
  kTfLiteBuiltinSpaceToBatchNd = 38,
  kTfLiteBuiltinTranspose = 39,
  kTfLiteBuiltinMean = 40,
  kTfLiteBuiltinSub = 41,
  kTfLiteBuiltinDiv = 42,
  kTfLiteBuiltinSqueeze = 43,
  kTfLiteBuiltinUnidirectionalSequenceLstm = 44,
  kTfLiteBuiltinStridedSlice = 45,
  kTfLiteBuiltinBidirectionalSequenceRnn = 46,
  kTfLiteBuiltinExp = 47,
  kTfLiteBuiltinTopkV2 = 48,
  kTfLiteBuiltinSplit = 49,
  kTfLiteBuiltinLogSoftmax = 50,
  kTfLiteBuiltinDelegate = 51,
  kTfLiteBuiltinBidirectionalSequenceLstm = 52,
  kTfLiteBuiltinCast = 53,
  kTfLiteBuiltinPrelu = 54,
  kTfLiteBuiltinMaximum = 55,
  kTfLiteBuiltinArgMax = 56,
  kTfLiteBuiltinMinimum = 57,
  kTfLiteBuiltinLess = 58,
  kTfLiteBuiltinNeg = 59,
  kTfLiteBuiltinPadv2 = 60,
  kTfLiteBuiltinGreater = 61,
  kTfLiteBuiltinGreaterEqual = 62,
  kTfLiteBuiltinLessEqual = 63,
  kTfLiteBuiltinSelect = 64,
  kTfLiteBuiltinSlice = 65,
  kTfLiteBuiltinSin = 66,
  kTfLiteBuiltinTransposeConv = 67,
  kTfLiteBuiltinSparseToDense = 68,
  kTfLiteBuiltinTile = 69,
  kTfLiteBuiltinExpandDims = 70,
  kTfLiteBuiltinEqual = 71,
  kTfLiteBuiltinNotEqual = 72,
  kTfLiteBuiltinLog = 73,
  kTfLiteBuiltinSum = 74,
  kTfLiteBuiltinSqrt = 75,
  kTfLiteBuiltinRsqrt = 76,
  kTfLiteBuiltinShape = 77,
  kTfLiteBuiltinPow = 78,
  kTfLiteBuiltinArgMin = 79,
  kTfLiteBuiltinFakeQuant = 80,
  kTfLiteBuiltinReduceProd = 81,
  kTfLiteBuiltinReduceMax = 82,
  kTfLiteBuiltinPack = 83,
  kTfLiteBuiltinLogicalOr = 84,
  kTfLiteBuiltinOneHot = 85,
  kTfLiteBuiltinLogicalAnd = 86,
  kTfLiteBuiltinLogicalNot = 87,
  kTfLiteBuiltinUnpack = 88,
  kTfLiteBuiltinReduceMin = 89,
  kTfLiteBuiltinFloorDiv = 90,
  kTfLiteBuiltinReduceAny = 91,
  kTfLiteBuiltinSquare = 92,
  kTfLiteBuiltinZerosLike = 93,
  kTfLiteBuiltinFill = 94,
  kTfLiteBuiltinFloorMod = 95,
  kTfLiteBuiltinRange = 96,
  kTfLiteBuiltinResizeNearestNeighbor = 97,
  kTfLiteBuiltinLeakyRelu = 98,
  kTfLiteBuiltinSquaredDifference = 99,
  kTfLiteBuiltinMirrorPad = 100,
  kTfLiteBuiltinAbs = 101,
  kTfLiteBuiltinSplitV = 102,
  kTfLiteBuiltinUnique = 103,
  kTfLiteBuiltinCeil = 104,
  kTfLiteBuiltinReverseV2 = 105,
  kTfLiteBuiltinAddN = 106,
  kTfLiteBuiltinGatherNd = 107,
  kTfLiteBuiltinCos = 108,
  kTfLiteBuiltinWhere = 109,
  kTfLiteBuiltinRank = 110,
  kTfLiteBuiltinElu = 111,
  kTfLiteBuiltinReverseSequence = 112,
  kTfLiteBuiltinMatrixDiag = 113,
  kTfLiteBuiltinQuantize = 114,
  kTfLiteBuiltinMatrixSetDiag = 115,
  kTfLiteBuiltinRound = 116,
  kTfLiteBuiltinHardSwish = 117,
  kTfLiteBuiltinIf = 118,
  kTfLiteBuiltinWhile = 119,
  kTfLiteBuiltinNonMaxSuppressionV4 = 120,
  kTfLiteBuiltinNonMaxSuppressionV5 = 121,
  kTfLiteBuiltinScatterNd = 122,
  kTfLiteBuiltinSelectV2 = 123,
  kTfLiteBuiltinDensify = 124,
  kTfLiteBuiltinSegmentSum = 125,
  kTfLiteBuiltinBatchMatmul = 126,
  kTfLiteBuiltinPlaceholderForGreaterOpCodes = 127,
  kTfLiteBuiltinCumsum = 128,
  kTfLiteBuiltinCallOnce = 129,
  kTfLiteBuiltinBroadcastTo = 130,
  kTfLiteBuiltinRfft2d = 131,
  kTfLiteBuiltinConv3d = 132,
  kTfLiteBuiltinImag = 133,
  kTfLiteBuiltinReal = 134,
  kTfLiteBuiltinComplexAbs = 135,
  kTfLiteBuiltinHashtable = 136,
  kTfLiteBuiltinHashtableFind = 137,
  kTfLiteBuiltinHashtableImport = 138,
  kTfLiteBuiltinHashtableSize = 139,
  kTfLiteBuiltinReduceAll = 140,
  kTfLiteBuiltinConv3dTranspose = 141,
  kTfLiteBuiltinVarHandle = 142,
  kTfLiteBuiltinReadVariable = 143,
  kTfLiteBuiltinAssignVariable = 144,
  kTfLiteBuiltinBroadcastArgs = 145,
  kTfLiteBuiltinRandomStandardNormal = 146,
  kTfLiteBuiltinBucketize = 147,
  kTfLiteBuiltinRandomUniform = 148,
  kTfLiteBuiltinMultinomial = 149,
  kTfLiteBuiltinGelu = 150,
  kTfLiteBuiltinDynamicUpdateSlice = 151,
  kTfLiteBuiltinRelu0To1 = 152,
  kTfLiteBuiltinUnsortedSegmentProd = 153,
  kTfLiteBuiltinUnsortedSegmentMax = 154,
  kTfLiteBuiltinUnsortedSegmentSum = 155,
  kTfLiteBuiltinAtan2 = 156,
  kTfLiteBuiltinUnsortedSegmentMin = 157,
  kTfLiteBuiltinSign = 158,
  kTfLiteBuiltinBitcast = 159,
  kTfLiteBuiltinBitwiseXor = 160,
  kTfLiteBuiltinRightShift = 161,
  kTfLiteBuiltinStablehloLogistic = 162,
  kTfLiteBuiltinStablehloAdd = 163,
  kTfLiteBuiltinStablehloDivide = 164,
  kTfLiteBuiltinStablehloMultiply = 165,
  kTfLiteBuiltinStablehloMaximum = 166,
  kTfLiteBuiltinStablehloReshape = 167,
  kTfLiteBuiltinStablehloClamp = 168,
  kTfLiteBuiltinStablehloConcatenate = 169,
  kTfLiteBuiltinStablehloBroadcastInDim = 170,
  kTfLiteBuiltinStablehloConvolution = 171,
  kTfLiteBuiltinStablehloSlice = 172,
  kTfLiteBuiltinStablehloCustomCall = 173,
  kTfLiteBuiltinStablehloReduce = 174,
  kTfLiteBuiltinStablehloAbs = 175,
  kTfLiteBuiltinStablehloAnd = 176,
  kTfLiteBuiltinStablehloCosine = 177,
  kTfLiteBuiltinStablehloExponential = 178,
  kTfLiteBuiltinStablehloFloor = 179,
  kTfLiteBuiltinStablehloLog = 180,
  kTfLiteBuiltinStablehloMinimum = 181,
  kTfLiteBuiltinStablehloNegate = 182,
  kTfLiteBuiltinStablehloOr = 183,
  kTfLiteBuiltinStablehloPower = 184,
  kTfLiteBuiltinStablehloRemainder = 185,
  kTfLiteBuiltinStablehloRsqrt = 186,
  kTfLiteBuiltinStablehloSelect = 187,
  kTfLiteBuiltinStablehloSubtract = 188,
  kTfLiteBuiltinStablehloTanh = 189,
  kTfLiteBuiltinStablehloScatter = 190,
  kTfLiteBuiltinStablehloCompare = 191,
  kTfLiteBuiltinStablehloConvert = 192,
  kTfLiteBuiltinStablehloDynamicSlice = 193,
  kTfLiteBuiltinStablehloDynamicUpdateSlice = 194,
  kTfLiteBuiltinStablehloPad = 195,
  kTfLiteBuiltinStablehloIota = 196,
  kTfLiteBuiltinStablehloDotGeneral = 197,
  kTfLiteBuiltinStablehloReduceWindow = 198,
  kTfLiteBuiltinStablehloSort = 199,
  kTfLiteBuiltinStablehloWhile = 200,
  kTfLiteBuiltinStablehloGather = 201,
  kTfLiteBuiltinStablehloTranspose = 202,
  kTfLiteBuiltinDilate = 203,
  kTfLiteBuiltinStablehloRngBitGenerator = 204,
  kTfLiteBuiltinReduceWindow = 205,
  kTfLiteBuiltinStablehloComposite = 206,
  kTfLiteBuiltinStablehloShiftLeft = 207,
  kTfLiteBuiltinStablehloCbrt = 208,
  kTfLiteBuiltinStablehloCase = 209
} TfLiteBuiltinOperator;

/* ---------------------------------------------------------------------------
 * Part 1: TensorFlow Lite's C API (functions).
 * ------------------------------------------------------------------------- */

/* Version of the TensorFlow Lite C API this library implements, e.g. "2.18.0". */
TFL_CAPI_EXPORT extern const char* TfLiteVersion(void);
/* Highest .tflite schema version this library reads (3). */
TFL_CAPI_EXPORT extern int TfLiteSchemaVersion(void);

/* Model from a caller-owned buffer (read in place, see ownership above), or
 * NULL on failure; TfLiteCffiLastCreateError() says why. */
TFL_CAPI_EXPORT extern TfLiteModel* TfLiteModelCreate(const void* model_data,
                                                      size_t model_size);
/* Model from a file, memory-mapped; NULL on failure (see TfLiteCffiLastCreateError). */
TFL_CAPI_EXPORT extern TfLiteModel* TfLiteModelCreateFromFile(const char* model_path);
TFL_CAPI_EXPORT extern void TfLiteModelDelete(TfLiteModel* model);

TFL_CAPI_EXPORT extern TfLiteInterpreterOptions* TfLiteInterpreterOptionsCreate(void);
TFL_CAPI_EXPORT extern void TfLiteInterpreterOptionsDelete(TfLiteInterpreterOptions* options);
/* -1 (the default) lets the library choose; 1 runs on the calling thread only. */
TFL_CAPI_EXPORT extern void TfLiteInterpreterOptionsSetNumThreads(
    TfLiteInterpreterOptions* options, int32_t num_threads);
/* Delegates are not supported: an interpreter created from options holding a
 * delegate fails with a message naming this. */
TFL_CAPI_EXPORT extern void TfLiteInterpreterOptionsAddDelegate(
    TfLiteInterpreterOptions* options, TfLiteDelegate* delegate);
#ifndef TFLITE_CFFI_CDEF
/* The reporter receives every error message (as format "%s" and one argument).
 * From bindings that cannot take a va_list, use TfLiteCffiInterpreterLastError. */
TFL_CAPI_EXPORT extern void TfLiteInterpreterOptionsSetErrorReporter(
    TfLiteInterpreterOptions* options,
    void (*reporter)(void* user_data, const char* format, va_list args),
    void* user_data);
#endif

/* Interpreter for `model`, or NULL on failure (see TfLiteCffiLastCreateError).
 * `optional_options` may be NULL and may be deleted right after this call. */
TFL_CAPI_EXPORT extern TfLiteInterpreter* TfLiteInterpreterCreate(
    const TfLiteModel* model, const TfLiteInterpreterOptions* optional_options);
TFL_CAPI_EXPORT extern void TfLiteInterpreterDelete(TfLiteInterpreter* interpreter);

TFL_CAPI_EXPORT extern int32_t TfLiteInterpreterGetInputTensorCount(
    const TfLiteInterpreter* interpreter);
/* Tensor indices of the inputs; owned by the interpreter. */
TFL_CAPI_EXPORT extern const int* TfLiteInterpreterInputTensorIndices(
    const TfLiteInterpreter* interpreter);
/* NULL when input_index is out of range. */
TFL_CAPI_EXPORT extern TfLiteTensor* TfLiteInterpreterGetInputTensor(
    const TfLiteInterpreter* interpreter, int32_t input_index);
/* Takes effect at the next TfLiteInterpreterAllocateTensors. Dims are copied. */
TFL_CAPI_EXPORT extern TfLiteStatus TfLiteInterpreterResizeInputTensor(
    TfLiteInterpreter* interpreter, int32_t input_index, const int* input_dims,
    int32_t input_dims_size);
/* Resolves ops (kTfLiteUnresolvedOps when one is missing), computes every
 * shape, packs weights and plans the arena. Needed before the first Invoke and
 * after every resize. */
TFL_CAPI_EXPORT extern TfLiteStatus TfLiteInterpreterAllocateTensors(
    TfLiteInterpreter* interpreter);
TFL_CAPI_EXPORT extern TfLiteStatus TfLiteInterpreterInvoke(TfLiteInterpreter* interpreter);
TFL_CAPI_EXPORT extern int32_t TfLiteInterpreterGetOutputTensorCount(
    const TfLiteInterpreter* interpreter);
TFL_CAPI_EXPORT extern const int* TfLiteInterpreterOutputTensorIndices(
    const TfLiteInterpreter* interpreter);
TFL_CAPI_EXPORT extern const TfLiteTensor* TfLiteInterpreterGetOutputTensor(
    const TfLiteInterpreter* interpreter, int32_t output_index);
/* Any tensor of the primary subgraph by index; NULL when out of range. */
TFL_CAPI_EXPORT extern TfLiteTensor* TfLiteInterpreterGetTensor(
    const TfLiteInterpreter* interpreter, int index);
/* Resets every variable tensor (e.g. recurrent state) to its initial value. */
TFL_CAPI_EXPORT extern TfLiteStatus TfLiteInterpreterResetVariableTensors(
    TfLiteInterpreter* interpreter);

TFL_CAPI_EXPORT extern TfLiteType TfLiteTensorType(const TfLiteTensor* tensor);
TFL_CAPI_EXPORT extern int32_t TfLiteTensorNumDims(const TfLiteTensor* tensor);
TFL_CAPI_EXPORT extern int32_t TfLiteTensorDim(const TfLiteTensor* tensor, int32_t dim_index);
TFL_CAPI_EXPORT extern size_t TfLiteTensorByteSize(const TfLiteTensor* tensor);
/* NULL until the tensor is allocated. */
TFL_CAPI_EXPORT extern void* TfLiteTensorData(const TfLiteTensor* tensor);
TFL_CAPI_EXPORT extern const char* TfLiteTensorName(const TfLiteTensor* tensor);
/* First channel's parameters for per-channel tensors; {0, 0} when not quantized. */
TFL_CAPI_EXPORT extern TfLiteQuantizationParams TfLiteTensorQuantizationParams(
    const TfLiteTensor* tensor);
/* input_data_size must equal TfLiteTensorByteSize(tensor). */
TFL_CAPI_EXPORT extern TfLiteStatus TfLiteTensorCopyFromBuffer(
    TfLiteTensor* tensor, const void* input_data, size_t input_data_size);
TFL_CAPI_EXPORT extern TfLiteStatus TfLiteTensorCopyToBuffer(
    const TfLiteTensor* output_tensor, void* output_data, size_t output_data_size);

/* Signatures (SignatureDefs of the model). */
TFL_CAPI_EXPORT extern int32_t TfLiteInterpreterGetSignatureCount(
    const TfLiteInterpreter* interpreter);
TFL_CAPI_EXPORT extern const char* TfLiteInterpreterGetSignatureKey(
    const TfLiteInterpreter* interpreter, int32_t signature_index);
/* NULL when there is no such signature. Delete with TfLiteSignatureRunnerDelete;
 * a runner must not outlive its interpreter. */
TFL_CAPI_EXPORT extern TfLiteSignatureRunner* TfLiteInterpreterGetSignatureRunner(
    const TfLiteInterpreter* interpreter, const char* signature_key);
TFL_CAPI_EXPORT extern size_t TfLiteSignatureRunnerGetInputCount(
    const TfLiteSignatureRunner* signature_runner);
TFL_CAPI_EXPORT extern const char* TfLiteSignatureRunnerGetInputName(
    const TfLiteSignatureRunner* signature_runner, int32_t input_index);
TFL_CAPI_EXPORT extern TfLiteStatus TfLiteSignatureRunnerResizeInputTensor(
    TfLiteSignatureRunner* signature_runner, const char* input_name,
    const int* input_dims, int32_t input_dims_size);
TFL_CAPI_EXPORT extern TfLiteStatus TfLiteSignatureRunnerAllocateTensors(
    TfLiteSignatureRunner* signature_runner);
TFL_CAPI_EXPORT extern TfLiteTensor* TfLiteSignatureRunnerGetInputTensor(
    TfLiteSignatureRunner* signature_runner, const char* input_name);
TFL_CAPI_EXPORT extern TfLiteStatus TfLiteSignatureRunnerInvoke(
    TfLiteSignatureRunner* signature_runner);
TFL_CAPI_EXPORT extern size_t TfLiteSignatureRunnerGetOutputCount(
    const TfLiteSignatureRunner* signature_runner);
TFL_CAPI_EXPORT extern const char* TfLiteSignatureRunnerGetOutputName(
    const TfLiteSignatureRunner* signature_runner, int32_t output_index);
TFL_CAPI_EXPORT extern const TfLiteTensor* TfLiteSignatureRunnerGetOutputTensor(
    const TfLiteSignatureRunner* signature_runner, const char* output_name);
TFL_CAPI_EXPORT extern void TfLiteSignatureRunnerDelete(TfLiteSignatureRunner* signature_runner);

/* ---------------------------------------------------------------------------
 * Part 1: TensorFlow Lite's C API (custom operators).
 *
 * An operator is a set of callbacks the interpreter runs for every node of a
 * model that uses it: a custom op by name (builtin_code kTfLiteBuiltinCustom),
 * or a builtin code, which then replaces this library's own kernel for that
 * op and version. docs/CUSTOM_OPS.md has a complete example.
 *
 *   static TfLiteStatus MyInvoke(void* user_data, TfLiteOpaqueContext* context,
 *                                TfLiteOpaqueNode* node) {
 *     const TfLiteOpaqueTensor* in = TfLiteOpaqueNodeGetInput(context, node, 0);
 *     TfLiteOpaqueTensor* out = TfLiteOpaqueNodeGetOutput(context, node, 0);
 *     ... read TfLiteOpaqueTensorData(in), write TfLiteOpaqueTensorData(out) ...
 *     return kTfLiteOk;
 *   }
 *   TfLiteOperator* op = TfLiteOperatorCreate(kTfLiteBuiltinCustom, "MyOp", 1, NULL);
 *   TfLiteOperatorSetInvokeWithData(op, MyInvoke);
 *   TfLiteInterpreterOptionsAddOperator(options, op);
 *
 * Life of a node's callbacks: init once when the interpreter is created (with
 * the node's custom_options bytes), prepare at every AllocateTensors (resize
 * outputs there), invoke at every Invoke, free when the interpreter is
 * deleted (with what init returned). A node matches an operator when the
 * builtin code, the custom name (for custom ops) and the version are equal;
 * the operator added last wins. Operators are looked up before this library's
 * own kernels.
 *
 * Lifetimes: TensorFlow Lite asks that an operator outlive every interpreter
 * created with it. This library copies the operator in TfLiteInterpreterCreate,
 * so it may be deleted any time after that call (not before: the options only
 * hold the pointer). user_data must stay valid until the last free callback.
 * ------------------------------------------------------------------------- */

/* A new operator with no callbacks set; NULL when out of memory, or when
 * builtin_code is kTfLiteBuiltinCustom and custom_name is NULL or "".
 * custom_name is copied. user_data is handed to the ...WithData callbacks. */
TFL_CAPI_EXPORT extern TfLiteOperator* TfLiteOperatorCreate(
    TfLiteBuiltinOperator builtin_code, const char* custom_name, int version,
    void* user_data);
TFL_CAPI_EXPORT extern void TfLiteOperatorDelete(TfLiteOperator* registration);
/* kTfLiteBuiltinCustom for custom ops. */
TFL_CAPI_EXPORT extern TfLiteBuiltinOperator TfLiteOperatorGetBuiltInCode(
    const TfLiteOperator* registration);
/* The custom op's name (owned by the operator); NULL for builtin operators. */
TFL_CAPI_EXPORT extern const char* TfLiteOperatorGetCustomName(
    const TfLiteOperator* registration);
/* -1 when registration is NULL. */
TFL_CAPI_EXPORT extern int TfLiteOperatorGetVersion(const TfLiteOperator* registration);
TFL_CAPI_EXPORT extern void* TfLiteOperatorGetUserData(const TfLiteOperator* registration);

/* init(context, custom_options, size) returns the node's data, which
 * TfLiteOpaqueNodeGetUserData gives back and free receives. The ...WithData
 * variants also get the operator's user_data first and return kTfLiteError
 * when registration is NULL. Setting one variant replaces the other. */
TFL_CAPI_EXPORT extern void TfLiteOperatorSetInit(
    TfLiteOperator* registration,
    void* (*init)(TfLiteOpaqueContext* context, const char* buffer, size_t length));
TFL_CAPI_EXPORT extern TfLiteStatus TfLiteOperatorSetInitWithData(
    TfLiteOperator* registration,
    void* (*init)(void* user_data, TfLiteOpaqueContext* context, const char* buffer,
                  size_t length));
TFL_CAPI_EXPORT extern void TfLiteOperatorSetFree(
    TfLiteOperator* registration, void (*free)(TfLiteOpaqueContext* context, void* data));
TFL_CAPI_EXPORT extern TfLiteStatus TfLiteOperatorSetFreeWithData(
    TfLiteOperator* registration,
    void (*free)(void* user_data, TfLiteOpaqueContext* context, void* data));
TFL_CAPI_EXPORT extern void TfLiteOperatorSetPrepare(
    TfLiteOperator* registration,
    TfLiteStatus (*prepare)(TfLiteOpaqueContext* context, TfLiteOpaqueNode* node));
TFL_CAPI_EXPORT extern TfLiteStatus TfLiteOperatorSetPrepareWithData(
    TfLiteOperator* registration,
    TfLiteStatus (*prepare)(void* user_data, TfLiteOpaqueContext* context,
                            TfLiteOpaqueNode* node));
/* Without an invoke callback, running a node fails with an error. */
TFL_CAPI_EXPORT extern void TfLiteOperatorSetInvoke(
    TfLiteOperator* registration,
    TfLiteStatus (*invoke)(TfLiteOpaqueContext* context, TfLiteOpaqueNode* node));
TFL_CAPI_EXPORT extern TfLiteStatus TfLiteOperatorSetInvokeWithData(
    TfLiteOperator* registration,
    TfLiteStatus (*invoke)(void* user_data, TfLiteOpaqueContext* context,
                           TfLiteOpaqueNode* node));

/* Interpreters created with `options` run `registration` for the nodes it
 * matches (see above). The options keep the pointer until
 * TfLiteInterpreterCreate copies the operator. */
TFL_CAPI_EXPORT extern void TfLiteInterpreterOptionsAddOperator(
    TfLiteInterpreterOptions* options, TfLiteOperator* registration);

/* TfLiteIntArray: `size` ints, uninitialized; free with TfLiteIntArrayFree
 * unless ownership is passed on (TfLiteOpaqueContextResizeTensor takes it).
 * NULL when size < 0 or out of memory. */
TFL_CAPI_EXPORT extern int TfLiteIntArrayGetSizeInBytes(int size);
TFL_CAPI_EXPORT extern TfLiteIntArray* TfLiteIntArrayCreate(int size);
TFL_CAPI_EXPORT extern void TfLiteIntArrayFree(TfLiteIntArray* a);

/* Tensors seen by an operator. Same results as the TfLiteTensor functions
 * above; -1 / 0 / NULL for a NULL tensor. */
TFL_CAPI_EXPORT extern TfLiteType TfLiteOpaqueTensorType(const TfLiteOpaqueTensor* opaque_tensor);
TFL_CAPI_EXPORT extern int32_t TfLiteOpaqueTensorNumDims(const TfLiteOpaqueTensor* opaque_tensor);
TFL_CAPI_EXPORT extern int32_t TfLiteOpaqueTensorDim(const TfLiteOpaqueTensor* opaque_tensor,
                                                     int32_t dim_index);
/* The model's shape signature (-1 for dims unknown before run time; the shape
 * when the model has no signature). */
TFL_CAPI_EXPORT extern TfLiteStatus TfLiteOpaqueTensorGetNumDimsSignature(
    const TfLiteOpaqueTensor* opaque_tensor, int32_t* num_dims);
TFL_CAPI_EXPORT extern TfLiteStatus TfLiteOpaqueTensorGetDimSignature(
    const TfLiteOpaqueTensor* opaque_tensor, int32_t dim_index, int32_t* dim_length);
TFL_CAPI_EXPORT extern int TfLiteOpaqueTensorIsVariable(const TfLiteOpaqueTensor* opaque_tensor);
TFL_CAPI_EXPORT extern size_t TfLiteOpaqueTensorByteSize(const TfLiteOpaqueTensor* opaque_tensor);
/* NULL before the tensor has memory: in prepare, and in invoke for a dynamic
 * output not resized yet. */
TFL_CAPI_EXPORT extern void* TfLiteOpaqueTensorData(const TfLiteOpaqueTensor* opaque_tensor);
TFL_CAPI_EXPORT extern TfLiteAllocationType TfLiteOpaqueTensorGetAllocationType(
    const TfLiteOpaqueTensor* opaque_tensor);
/* In prepare, on an output of the node: its shape is set at invoke time by
 * TfLiteOpaqueContextResizeTensor, and it lives in its own heap block. */
TFL_CAPI_EXPORT extern void TfLiteOpaqueTensorSetAllocationTypeToDynamic(
    TfLiteOpaqueTensor* opaque_tensor);
TFL_CAPI_EXPORT extern const char* TfLiteOpaqueTensorName(const TfLiteOpaqueTensor* opaque_tensor);
TFL_CAPI_EXPORT extern TfLiteQuantizationParams TfLiteOpaqueTensorGetQuantizationParams(
    const TfLiteOpaqueTensor* opaque_tensor);
TFL_CAPI_EXPORT extern TfLiteStatus TfLiteOpaqueTensorCopyFromBuffer(
    TfLiteOpaqueTensor* opaque_tensor, const void* input_data, size_t input_data_size);
TFL_CAPI_EXPORT extern TfLiteStatus TfLiteOpaqueTensorCopyToBuffer(
    const TfLiteOpaqueTensor* opaque_tensor, void* output_data, size_t output_data_size);

/* The node being prepared or run. Tensors are NULL when the index is out of
 * range or the input is absent (an optional input, -1 in the model). */
TFL_CAPI_EXPORT extern const TfLiteOpaqueTensor* TfLiteOpaqueNodeGetInput(
    const TfLiteOpaqueContext* opaque_context, const TfLiteOpaqueNode* opaque_node, int index);
TFL_CAPI_EXPORT extern TfLiteOpaqueTensor* TfLiteOpaqueNodeGetOutput(
    TfLiteOpaqueContext* opaque_context, const TfLiteOpaqueNode* opaque_node, int index);
TFL_CAPI_EXPORT extern int TfLiteOpaqueNodeNumberOfInputs(const TfLiteOpaqueNode* opaque_node);
TFL_CAPI_EXPORT extern int TfLiteOpaqueNodeNumberOfOutputs(const TfLiteOpaqueNode* opaque_node);
/* What the operator's init callback returned for this node. */
TFL_CAPI_EXPORT extern void* TfLiteOpaqueNodeGetUserData(const TfLiteOpaqueNode* opaque_node);
/* Always NULL: this library does not build TensorFlow Lite's builtin
 * parameter structs. Builtin overrides read nothing from their options. */
TFL_CAPI_EXPORT extern void* TfLiteOpaqueNodeGetBuiltinData(const TfLiteOpaqueNode* opaque_node);
/* The node's custom_options bytes (NULL and 0 when it has none); valid as
 * long as the interpreter. */
TFL_CAPI_EXPORT extern TfLiteStatus TfLiteOpaqueNodeGetCustomInitialData(
    const TfLiteOpaqueNode* opaque_node, const void** init_data, int* size);
/* Tensor indices of the node's inputs / outputs (owned by the interpreter). */
TFL_CAPI_EXPORT extern TfLiteStatus TfLiteOpaqueNodeInputs(
    const TfLiteOpaqueNode* opaque_node, const int** inputs, int* num_inputs);
TFL_CAPI_EXPORT extern TfLiteStatus TfLiteOpaqueNodeOutputs(
    const TfLiteOpaqueNode* opaque_node, const int** outputs, int* num_outputs);
TFL_CAPI_EXPORT extern int TfLiteOpaqueNodeGetInputTensorIndex(
    const TfLiteOpaqueNode* opaque_node, int index_of_input);
TFL_CAPI_EXPORT extern int TfLiteOpaqueNodeGetOutputTensorIndex(
    const TfLiteOpaqueNode* opaque_node, int index_of_output);

/* The subgraph the node belongs to. */
TFL_CAPI_EXPORT extern TfLiteOpaqueTensor* TfLiteOpaqueContextGetOpaqueTensor(
    const TfLiteOpaqueContext* opaque_context, int index);
TFL_CAPI_EXPORT extern size_t TfLiteOpaqueContextGetNumTensors(
    const TfLiteOpaqueContext* opaque_context);
TFL_CAPI_EXPORT extern size_t TfLiteOpaqueContextGetNumNodes(
    const TfLiteOpaqueContext* opaque_context);
TFL_CAPI_EXPORT extern TfLiteStatus TfLiteOpaqueContextGetSizeOfType(
    TfLiteOpaqueContext* context, TfLiteType type, size_t* bytes);
/* Sets the shape of an output of the node being prepared (planned in the
 * arena) or run (only outputs made dynamic in prepare). Takes ownership of
 * new_size, also on failure. Other tensors cannot be resized. */
TFL_CAPI_EXPORT extern TfLiteStatus TfLiteOpaqueContextResizeTensor(
    TfLiteOpaqueContext* context, TfLiteOpaqueTensor* tensor, TfLiteIntArray* new_size);
#ifndef TFLITE_CFFI_CDEF
/* printf-style message; when the callback then returns an error status, the
 * messages become the interpreter's last error, prefixed with the op's name
 * and node index (otherwise they only go to the error reporter). */
TFL_CAPI_EXPORT extern void TfLiteOpaqueContextReportError(TfLiteOpaqueContext* opaque_context,
                                                          const char* format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
TFL_CAPI_EXPORT extern void TfLiteOpaqueContextReportErrorVa(
    TfLiteOpaqueContext* opaque_context, const char* format, va_list vlist);
#endif

/* ---------------------------------------------------------------------------
 * Part 2: tflite-cffi extensions (prefix TfLiteCffi).
 * ------------------------------------------------------------------------- */

#define TFLITE_CFFI_VERSION "0.1.0"

/* Version of this library, TFLITE_CFFI_VERSION of the header it was built from.
 * Bindings compare it with the header they were generated from. */
TFL_CAPI_EXPORT extern const char* TfLiteCffiVersion(void);

/* Why the last TfLiteModelCreate* or TfLiteInterpreterCreate on the calling
 * thread returned NULL; "" when it did not fail. */
TFL_CAPI_EXPORT extern const char* TfLiteCffiLastCreateError(void);
/* The message of the last failed call on `interpreter` (or on one of its
 * signature runners or tensors); "" when none failed. */
TFL_CAPI_EXPORT extern const char* TfLiteCffiInterpreterLastError(
    const TfLiteInterpreter* interpreter);

/* TfLiteOpaqueContextReportError for bindings that cannot call a variadic
 * function: reports `message` as it is. */
TFL_CAPI_EXPORT extern void TfLiteCffiOpaqueContextReportErrorString(
    TfLiteOpaqueContext* opaque_context, const char* message);

/* Keep every intermediate tensor readable after Invoke (no memory sharing). */
TFL_CAPI_EXPORT extern void TfLiteCffiInterpreterOptionsSetPreserveAllTensors(
    TfLiteInterpreterOptions* options, bool preserve);
/* Refuse to allocate an arena larger than `max_bytes` (0: no limit). */
TFL_CAPI_EXPORT extern void TfLiteCffiInterpreterOptionsSetArenaLimit(
    TfLiteInterpreterOptions* options, size_t max_bytes);
/* How 8-bit CONV_2D, DEPTHWISE_CONV_2D and TRANSPOSE_CONV turn their int32 sums
 * into 8-bit outputs. Default (false): as the XNNPACK delegate, the official
 * runtime's default, does: round(float(sum) * scale) in float32, scale being
 * input scale * filter scale / output scale. true: with TensorFlow Lite's
 * builtin kernels' fixed-point multiplier, matching the official runtime's
 * BUILTIN_REF and BUILTIN_WITHOUT_DEFAULT_DELEGATES op resolvers bit for bit.
 * The two differ by at most one step of the output scale, rarely. The same
 * choice applies to 8-bit ADD: by default XNNPACK's one-step integer sum,
 * with true the builtin kernels' two-stage fixed-point arithmetic. */
TFL_CAPI_EXPORT extern void TfLiteCffiInterpreterOptionsSetFixedPointRequantization(
    TfLiteInterpreterOptions* options, bool enable);

/* Number of subgraphs, and of tensors in the primary subgraph. */
TFL_CAPI_EXPORT extern int32_t TfLiteCffiInterpreterGetSubgraphCount(
    const TfLiteInterpreter* interpreter);
TFL_CAPI_EXPORT extern int32_t TfLiteCffiInterpreterGetTensorCount(
    const TfLiteInterpreter* interpreter);
/* Bytes of the activation arena planned by the last AllocateTensors (all
 * subgraphs), and of the memory the interpreter holds besides it (packed
 * weights, variables, dequantized constants). */
TFL_CAPI_EXPORT extern size_t TfLiteCffiInterpreterGetArenaBytes(
    const TfLiteInterpreter* interpreter);
TFL_CAPI_EXPORT extern size_t TfLiteCffiInterpreterGetPersistentBytes(
    const TfLiteInterpreter* interpreter);
/* True once AllocateTensors succeeded and no resize happened since. */
TFL_CAPI_EXPORT extern bool TfLiteCffiInterpreterIsAllocated(const TfLiteInterpreter* interpreter);
/* Tensors of any subgraph (0 is the primary one; Python's
 * get_tensor(i, subgraph_index) and get_tensor_details(subgraph_index)).
 * The count is -1 when subgraph_index is out of range; the tensor is NULL when
 * either index is. Same lifetime rules as TfLiteInterpreterGetTensor. */
TFL_CAPI_EXPORT extern int32_t TfLiteCffiInterpreterGetSubgraphTensorCount(
    const TfLiteInterpreter* interpreter, int32_t subgraph_index);
TFL_CAPI_EXPORT extern TfLiteTensor* TfLiteCffiInterpreterGetSubgraphTensor(
    const TfLiteInterpreter* interpreter, int32_t subgraph_index, int32_t tensor_index);

/* Index of a tensor within its subgraph. */
TFL_CAPI_EXPORT extern int32_t TfLiteCffiTensorIndex(const TfLiteTensor* tensor);
/* The model's shape signature (-1 for dynamic dims). Writes up to `capacity`
 * dims and returns the rank. Without a signature in the model: the shape. */
TFL_CAPI_EXPORT extern int32_t TfLiteCffiTensorShapeSignature(const TfLiteTensor* tensor,
                                                               int32_t* dims,
                                                               int32_t capacity);
/* Full quantization parameters: `count` scales and zero points (1 per tensor
 * or one per channel along `quantized_dimension`); count 0 when not quantized.
 * The arrays belong to the interpreter. */
TFL_CAPI_EXPORT extern int32_t TfLiteCffiTensorQuantizationCount(const TfLiteTensor* tensor);
TFL_CAPI_EXPORT extern const float* TfLiteCffiTensorQuantizationScales(
    const TfLiteTensor* tensor);
TFL_CAPI_EXPORT extern const int64_t* TfLiteCffiTensorQuantizationZeroPoints(
    const TfLiteTensor* tensor);
TFL_CAPI_EXPORT extern int32_t TfLiteCffiTensorQuantizedDimension(const TfLiteTensor* tensor);
TFL_CAPI_EXPORT extern bool TfLiteCffiTensorIsVariable(const TfLiteTensor* tensor);
/* True when the tensor is a constant (weights) of the model. */
TFL_CAPI_EXPORT extern bool TfLiteCffiTensorIsConstant(const TfLiteTensor* tensor);

/* One operator of a model, as TfLiteCffiModelGetOperator reports it. */
typedef struct TfLiteCffiOperatorInfo {
  int32_t builtin_code; /* BuiltinOperator value; 32 (CUSTOM) for custom ops */
  int32_t version;
  const char* name;     /* "CONV_2D", or the custom op's name */
  bool supported;       /* this library has a kernel for this op and version */
} TfLiteCffiOperatorInfo;

TFL_CAPI_EXPORT extern int32_t TfLiteCffiModelGetSubgraphCount(const TfLiteModel* model);
/* -1 when subgraph_index is out of range. */
TFL_CAPI_EXPORT extern int32_t TfLiteCffiModelGetOperatorCount(const TfLiteModel* model,
                                                                int32_t subgraph_index);
TFL_CAPI_EXPORT extern TfLiteStatus TfLiteCffiModelGetOperator(const TfLiteModel* model,
                                                              int32_t subgraph_index,
                                                              int32_t operator_index,
                                                              TfLiteCffiOperatorInfo* info);
/* The same for an interpreter's nodes, where `supported` says whether the node
 * has a kernel: one of this library's or an operator added to the options
 * (TfLiteInterpreterOptionsAddOperator). A model whose nodes are not all
 * supported fails at TfLiteInterpreterAllocateTensors (kTfLiteUnresolvedOps). */
TFL_CAPI_EXPORT extern TfLiteStatus TfLiteCffiInterpreterGetOperator(
    const TfLiteInterpreter* interpreter, int32_t subgraph_index, int32_t operator_index,
    TfLiteCffiOperatorInfo* info);

/* Memory report: every block of memory the interpreter holds for tensors and
 * kernels, as the last TfLiteInterpreterAllocateTensors laid it out (plus the
 * heap blocks later Invokes gave to dynamic tensors).
 *
 * - The arena ("head" in tflite_micro's words): one block of
 *   TfLiteCffiInterpreterGetArenaBytes bytes, split into one region per
 *   prepared subgraph. Inside a region the planner places every activation
 *   tensor and every node's scratch buffer at an offset; blocks whose node
 *   ranges [first_node, last_node] are disjoint may share bytes. Each block is
 *   rounded up to TfLiteCffiAllocationSummary.arena_alignment.
 * - Persistent memory ("tail"): blocks outside the arena, kept until the
 *   next AllocateTensors or for the interpreter's lifetime: variable tensors,
 *   constants computed at Prepare (folded, e.g. dequantized fp16 weights),
 *   tensors whose shape is known only at run time, their nodes' scratch, and
 *   kernel data (packed weights, per-channel multipliers). Their sum is
 *   TfLiteCffiInterpreterGetPersistentBytes.
 * Model weights read in place from the model's buffer are not listed. */
typedef enum TfLiteCffiAllocationKind {
  kTfLiteCffiAllocArenaTensor = 0,    /* arena: an activation tensor */
  kTfLiteCffiAllocArenaScratch = 1,   /* arena: scratch of one node */
  kTfLiteCffiAllocVariable = 2,       /* persistent: a variable tensor (recurrent state) */
  kTfLiteCffiAllocFolded = 3,         /* persistent: a constant computed at Prepare (or copied to align it) */
  kTfLiteCffiAllocDynamicTensor = 4,  /* persistent: a tensor sized at Invoke */
  kTfLiteCffiAllocDynamicScratch = 5, /* persistent: scratch of a node prepared at Invoke */
  kTfLiteCffiAllocKernelData = 6      /* persistent: what a node's kernel owns (packed weights...) */
} TfLiteCffiAllocationKind;

/* One entry of the memory report. */
typedef struct TfLiteCffiAllocation {
  int32_t kind;       /* TfLiteCffiAllocationKind */
  int32_t subgraph;
  int32_t tensor;     /* tensor index in the subgraph; -1 for scratch and kernel data */
  int32_t node;       /* node index for scratch and kernel data; -1 for tensors */
  int32_t first_node; /* arena blocks: first and last node (inclusive) during which the */
  int32_t last_node;  /* block is in use; the subgraph's node count means "until the next
                       * Invoke" (inputs, outputs). -1 for persistent entries. */
  size_t offset;      /* arena blocks: offset from the start of the arena; 0 otherwise */
  size_t bytes;       /* bytes requested (arena) or held (persistent) */
} TfLiteCffiAllocation;

typedef struct TfLiteCffiAllocationSummary {
  size_t arena_bytes;      /* TfLiteCffiInterpreterGetArenaBytes */
  size_t persistent_bytes; /* TfLiteCffiInterpreterGetPersistentBytes */
  size_t arena_alignment;  /* every arena block starts at, and is rounded to, a multiple of this */
  const void* arena_base;  /* address of the arena's first byte (NULL before any allocation) */
  int32_t count;           /* entries TfLiteCffiInterpreterGetAllocations returns */
  bool planned;            /* true when the arena entries describe the current plan: the last
                            * AllocateTensors succeeded and no resize happened since (else only
                            * persistent entries are listed) */
  size_t pooled_bytes;     /* of persistent_bytes, the kernel data packed at allocation into the
                            * weight pool: one mapping on huge pages instead of heap blocks
                            * (alignment gaps between its blocks included) */
} TfLiteCffiAllocationSummary;

/* Fills *summary; kTfLiteError when an argument is NULL. */
TFL_CAPI_EXPORT extern TfLiteStatus TfLiteCffiInterpreterGetAllocationSummary(
    const TfLiteInterpreter* interpreter, TfLiteCffiAllocationSummary* summary);
/* Writes up to `capacity` entries (arena blocks by subgraph and offset, then
 * persistent entries by subgraph) and returns how many there are; `entries`
 * may be NULL when capacity is 0. -1 when the interpreter is NULL. */
TFL_CAPI_EXPORT extern int32_t TfLiteCffiInterpreterGetAllocations(
    const TfLiteInterpreter* interpreter, TfLiteCffiAllocation* entries, int32_t capacity);

#ifndef TFLITE_CFFI_CDEF
#ifdef __cplusplus
} /* extern "C" */
#endif
#endif

#endif /* TFLITE_CFFI_C_API_H_ */
