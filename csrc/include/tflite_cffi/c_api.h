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

/* Keep every intermediate tensor readable after Invoke (no memory sharing). */
TFL_CAPI_EXPORT extern void TfLiteCffiInterpreterOptionsSetPreserveAllTensors(
    TfLiteInterpreterOptions* options, bool preserve);
/* Refuse to allocate an arena larger than `max_bytes` (0: no limit). */
TFL_CAPI_EXPORT extern void TfLiteCffiInterpreterOptionsSetArenaLimit(
    TfLiteInterpreterOptions* options, size_t max_bytes);

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
 * - Persistent memory ("tail"): heap blocks outside the arena, kept until the
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
  kTfLiteCffiAllocFolded = 3,         /* persistent: a constant computed at Prepare */
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
