// The C API: TensorFlow Lite's core functions and our TfLiteCffi extensions,
// as thin checked wrappers over tfc::Model and tfc::Interpreter. Every entry
// point accepts NULL handles without crashing.
#include "tflite_cffi/c_api.h"

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "custom_op.h"
#include "interpreter.h"
#include "model.h"

struct TfLiteModel {
  std::shared_ptr<tfc::Model> impl;
};

struct TfLiteInterpreterOptions {
  tfc::InterpreterOptions options;
  void (*va_reporter)(void*, const char*, va_list) = nullptr;
  void* va_reporter_data = nullptr;
  // TfLiteInterpreterOptionsAddOperator: the caller's objects, copied by TfLiteInterpreterCreate.
  std::vector<const TfLiteOperator*> operators;
};

struct TfLiteInterpreter {
  std::shared_ptr<tfc::Model> model;  // keeps mapped files alive
  std::unique_ptr<tfc::Interpreter> impl;
  void (*va_reporter)(void*, const char*, va_list) = nullptr;
  void* va_reporter_data = nullptr;
};

struct TfLiteSignatureRunner {
  TfLiteInterpreter* interpreter;
  const tfc::SignatureInfo* info;
};

namespace {

// Plain storage: thread_local objects with destructors would need glibc 2.18.
thread_local char g_create_error[1024];

void SetCreateError(const std::string& message) {
  snprintf(g_create_error, sizeof(g_create_error), "%s", message.c_str());
}

tfc::Interpreter* Owner(const TfLiteTensor* t) { return static_cast<tfc::Interpreter*>(t->owner); }

TfLiteStatus TensorFail(const TfLiteTensor* t, const char* format, const char* detail) {
  if (tfc::Interpreter* interp = Owner(t)) interp->Fail(kTfLiteError, format, t->name.c_str(), detail);
  return kTfLiteError;
}

void CallVaReporter(void (*fn)(void*, const char*, va_list), void* data, const char* format, ...) {
  va_list args;
  va_start(args, format);
  fn(data, format, args);
  va_end(args);
}

void ForwardToVaReporter(void* user_data, const char* message) {
  auto* interp = static_cast<TfLiteInterpreter*>(user_data);
  CallVaReporter(interp->va_reporter, interp->va_reporter_data, "%s", message);
}

std::vector<int32_t> Dims(const int* dims, int32_t n) {
  return std::vector<int32_t>(dims, dims + n);
}

}  // namespace

extern "C" {

const char* TfLiteVersion(void) { return "2.18.0"; }
int TfLiteSchemaVersion(void) { return 3; }
const char* TfLiteCffiVersion(void) { return TFLITE_CFFI_VERSION; }
const char* TfLiteCffiLastCreateError(void) { return g_create_error; }

static TfLiteModel* WrapModel(std::shared_ptr<tfc::Model> model) {
  if (!model) return nullptr;
  auto* m = new (std::nothrow) TfLiteModel;
  if (!m) {
    SetCreateError("out of memory");
    return nullptr;
  }
  m->impl = std::move(model);
  g_create_error[0] = '\0';
  return m;
}

TfLiteModel* TfLiteModelCreate(const void* model_data, size_t model_size) {
  std::string error;
  auto model = tfc::Model::FromBuffer(model_data, model_size, &error);
  if (!model) SetCreateError(error);
  return WrapModel(std::move(model));
}

TfLiteModel* TfLiteModelCreateFromFile(const char* model_path) {
  std::string error;
  auto model = tfc::Model::FromFile(model_path, &error);
  if (!model) SetCreateError(error);
  return WrapModel(std::move(model));
}

void TfLiteModelDelete(TfLiteModel* model) { delete model; }

TfLiteInterpreterOptions* TfLiteInterpreterOptionsCreate(void) {
  return new (std::nothrow) TfLiteInterpreterOptions;
}
void TfLiteInterpreterOptionsDelete(TfLiteInterpreterOptions* options) { delete options; }
void TfLiteInterpreterOptionsSetNumThreads(TfLiteInterpreterOptions* options, int32_t num_threads) {
  if (options) options->options.num_threads = num_threads;
}
void TfLiteInterpreterOptionsAddDelegate(TfLiteInterpreterOptions* options, TfLiteDelegate* delegate) {
  if (options && delegate) options->options.has_delegate = true;
}
void TfLiteInterpreterOptionsSetErrorReporter(TfLiteInterpreterOptions* options,
                                              void (*reporter)(void*, const char*, va_list), void* user_data) {
  if (!options) return;
  options->va_reporter = reporter;
  options->va_reporter_data = user_data;
}
void TfLiteInterpreterOptionsAddOperator(TfLiteInterpreterOptions* options, TfLiteOperator* registration) {
  if (options && registration) options->operators.push_back(registration);
}
void TfLiteCffiInterpreterOptionsSetPreserveAllTensors(TfLiteInterpreterOptions* options, bool preserve) {
  if (options) options->options.preserve_all_tensors = preserve;
}
void TfLiteCffiInterpreterOptionsSetArenaLimit(TfLiteInterpreterOptions* options, size_t max_bytes) {
  if (options) options->options.arena_limit = max_bytes;
}
void TfLiteCffiInterpreterOptionsSetFixedPointRequantization(TfLiteInterpreterOptions* options,
                                                             bool enable) {
  if (options) options->options.fixed_point_requantization = enable;
}

TfLiteInterpreter* TfLiteInterpreterCreate(const TfLiteModel* model,
                                           const TfLiteInterpreterOptions* optional_options) {
  if (!model || !model->impl) {
    SetCreateError("TfLiteInterpreterCreate: the model is NULL (did TfLiteModelCreate fail?)");
    return nullptr;
  }
  std::unique_ptr<TfLiteInterpreter> interp(new (std::nothrow) TfLiteInterpreter);
  if (!interp) {
    SetCreateError("out of memory");
    return nullptr;
  }
  tfc::InterpreterOptions options;
  if (optional_options) {
    options = optional_options->options;
    for (const TfLiteOperator* op : optional_options->operators) {
      std::shared_ptr<const TfLiteOperator> copy(new (std::nothrow) TfLiteOperator(*op));
      if (!copy) {
        SetCreateError("out of memory");
        return nullptr;
      }
      options.operators.push_back(std::move(copy));
    }
    if (optional_options->va_reporter) {
      interp->va_reporter = optional_options->va_reporter;
      interp->va_reporter_data = optional_options->va_reporter_data;
      options.reporter = ForwardToVaReporter;
      options.reporter_data = interp.get();
    }
  }
  std::string error;
  interp->model = model->impl;
  interp->impl = tfc::Interpreter::Create(model->impl, options, &error);
  if (!interp->impl) {
    SetCreateError(error);
    return nullptr;
  }
  g_create_error[0] = '\0';
  return interp.release();
}

void TfLiteInterpreterDelete(TfLiteInterpreter* interpreter) { delete interpreter; }

const char* TfLiteCffiInterpreterLastError(const TfLiteInterpreter* interpreter) {
  if (!interpreter) return "the interpreter is NULL";
  return interpreter->impl->last_error().c_str();
}

int32_t TfLiteInterpreterGetInputTensorCount(const TfLiteInterpreter* interpreter) {
  return interpreter ? static_cast<int32_t>(interpreter->impl->primary().inputs().size()) : 0;
}
const int* TfLiteInterpreterInputTensorIndices(const TfLiteInterpreter* interpreter) {
  return interpreter ? interpreter->impl->primary().inputs().data() : nullptr;
}
TfLiteTensor* TfLiteInterpreterGetInputTensor(const TfLiteInterpreter* interpreter, int32_t input_index) {
  if (!interpreter) return nullptr;
  tfc::Subgraph& g = interpreter->impl->primary();
  if (input_index < 0 || static_cast<size_t>(input_index) >= g.inputs().size()) return nullptr;
  return g.tensor(g.inputs()[static_cast<size_t>(input_index)]);
}
TfLiteStatus TfLiteInterpreterResizeInputTensor(TfLiteInterpreter* interpreter, int32_t input_index,
                                                const int* input_dims, int32_t input_dims_size) {
  if (!interpreter) return kTfLiteError;
  tfc::Interpreter& impl = *interpreter->impl;
  tfc::Subgraph& g = impl.primary();
  if (input_index < 0 || static_cast<size_t>(input_index) >= g.inputs().size())
    return impl.Fail(kTfLiteError, "input index %d is out of range: the model has %zu inputs", input_index,
                     g.inputs().size());
  if (input_dims_size < 0 || (input_dims_size > 0 && !input_dims))
    return impl.Fail(kTfLiteError, "ResizeInputTensor: dims are NULL or their count is negative");
  return impl.ResizeInput(0, g.inputs()[static_cast<size_t>(input_index)], Dims(input_dims, input_dims_size));
}
TfLiteStatus TfLiteInterpreterAllocateTensors(TfLiteInterpreter* interpreter) {
  return interpreter ? interpreter->impl->AllocateTensors(0) : kTfLiteError;
}
TfLiteStatus TfLiteInterpreterInvoke(TfLiteInterpreter* interpreter) {
  return interpreter ? interpreter->impl->Invoke(0) : kTfLiteError;
}
int32_t TfLiteInterpreterGetOutputTensorCount(const TfLiteInterpreter* interpreter) {
  return interpreter ? static_cast<int32_t>(interpreter->impl->primary().outputs().size()) : 0;
}
const int* TfLiteInterpreterOutputTensorIndices(const TfLiteInterpreter* interpreter) {
  return interpreter ? interpreter->impl->primary().outputs().data() : nullptr;
}
const TfLiteTensor* TfLiteInterpreterGetOutputTensor(const TfLiteInterpreter* interpreter, int32_t output_index) {
  if (!interpreter) return nullptr;
  tfc::Subgraph& g = interpreter->impl->primary();
  if (output_index < 0 || static_cast<size_t>(output_index) >= g.outputs().size()) return nullptr;
  return g.tensor(g.outputs()[static_cast<size_t>(output_index)]);
}
TfLiteTensor* TfLiteInterpreterGetTensor(const TfLiteInterpreter* interpreter, int index) {
  return interpreter ? interpreter->impl->primary().tensor(index) : nullptr;
}
TfLiteStatus TfLiteInterpreterResetVariableTensors(TfLiteInterpreter* interpreter) {
  if (!interpreter) return kTfLiteError;
  interpreter->impl->ResetVariables();
  return kTfLiteOk;
}

int32_t TfLiteCffiInterpreterGetSubgraphCount(const TfLiteInterpreter* interpreter) {
  return interpreter ? interpreter->impl->subgraph_count() : 0;
}
int32_t TfLiteCffiInterpreterGetTensorCount(const TfLiteInterpreter* interpreter) {
  return interpreter ? static_cast<int32_t>(interpreter->impl->primary().tensors().size()) : 0;
}
int32_t TfLiteCffiInterpreterGetSubgraphTensorCount(const TfLiteInterpreter* interpreter,
                                                    int32_t subgraph_index) {
  tfc::Subgraph* g = interpreter ? interpreter->impl->subgraph(subgraph_index) : nullptr;
  return g ? static_cast<int32_t>(g->tensors().size()) : -1;
}
TfLiteTensor* TfLiteCffiInterpreterGetSubgraphTensor(const TfLiteInterpreter* interpreter, int32_t subgraph_index,
                                                     int32_t tensor_index) {
  tfc::Subgraph* g = interpreter ? interpreter->impl->subgraph(subgraph_index) : nullptr;
  return g ? g->tensor(tensor_index) : nullptr;
}
size_t TfLiteCffiInterpreterGetArenaBytes(const TfLiteInterpreter* interpreter) {
  return interpreter ? interpreter->impl->arena_bytes() : 0;
}
size_t TfLiteCffiInterpreterGetPersistentBytes(const TfLiteInterpreter* interpreter) {
  return interpreter ? interpreter->impl->persistent_bytes() : 0;
}
bool TfLiteCffiInterpreterIsAllocated(const TfLiteInterpreter* interpreter) {
  return interpreter && interpreter->impl->primary().ready();
}

TfLiteStatus TfLiteCffiInterpreterGetAllocationSummary(const TfLiteInterpreter* interpreter,
                                                       TfLiteCffiAllocationSummary* summary) {
  if (!interpreter || !summary) return kTfLiteError;
  tfc::Interpreter& impl = *interpreter->impl;
  const std::vector<TfLiteCffiAllocation> entries = impl.Allocations();
  summary->arena_bytes = impl.arena_bytes();
  summary->persistent_bytes = 0;
  for (const TfLiteCffiAllocation& e : entries)
    if (e.kind != kTfLiteCffiAllocArenaTensor && e.kind != kTfLiteCffiAllocArenaScratch)
      summary->persistent_bytes += e.bytes;
  summary->arena_alignment = tfc::AlignedBuffer::kAlign;
  summary->arena_base = impl.arena_bytes() ? impl.arena_base() : nullptr;
  summary->count = static_cast<int32_t>(entries.size());
  summary->planned = impl.primary().ready();
  summary->pooled_bytes = impl.pooled_bytes();
  return kTfLiteOk;
}
int32_t TfLiteCffiInterpreterGetAllocations(const TfLiteInterpreter* interpreter, TfLiteCffiAllocation* entries,
                                            int32_t capacity) {
  if (!interpreter) return -1;
  const std::vector<TfLiteCffiAllocation> all = interpreter->impl->Allocations();
  for (size_t i = 0; entries && capacity > 0 && i < all.size() && i < static_cast<size_t>(capacity); ++i)
    entries[i] = all[i];
  return static_cast<int32_t>(all.size());
}

// ---- tensors ----

TfLiteType TfLiteTensorType(const TfLiteTensor* tensor) { return tensor ? tensor->type : kTfLiteNoType; }
int32_t TfLiteTensorNumDims(const TfLiteTensor* tensor) { return tensor ? tensor->rank() : -1; }
int32_t TfLiteTensorDim(const TfLiteTensor* tensor, int32_t dim_index) {
  if (!tensor || dim_index < 0 || dim_index >= tensor->rank()) return -1;
  return tensor->dim(dim_index);
}
size_t TfLiteTensorByteSize(const TfLiteTensor* tensor) { return tensor ? tensor->bytes : 0; }
void* TfLiteTensorData(const TfLiteTensor* tensor) { return tensor ? tensor->data : nullptr; }
const char* TfLiteTensorName(const TfLiteTensor* tensor) { return tensor ? tensor->name.c_str() : ""; }
TfLiteQuantizationParams TfLiteTensorQuantizationParams(const TfLiteTensor* tensor) {
  TfLiteQuantizationParams q = {0.0f, 0};
  if (tensor && !tensor->quant.empty()) {
    q.scale = tensor->quant.scale[0];
    q.zero_point = static_cast<int32_t>(tensor->quant.zero_point[0]);
  }
  return q;
}

TfLiteStatus TfLiteTensorCopyFromBuffer(TfLiteTensor* tensor, const void* input_data, size_t input_data_size) {
  if (!tensor) return kTfLiteError;
  if (!input_data && input_data_size) return TensorFail(tensor, "tensor '%s': %s", "the source buffer is NULL");
  if (!tensor->data) return TensorFail(tensor, "tensor '%s': %s", "not allocated yet: call AllocateTensors first");
  if (tensor->storage == tfc::Storage::kConstant)
    return TensorFail(tensor, "tensor '%s': %s", "it is a constant of the model and cannot be written");
  if (input_data_size != tensor->bytes) {
    char detail[128];
    snprintf(detail, sizeof(detail), "got %zu bytes, the tensor holds %zu", input_data_size, tensor->bytes);
    return TensorFail(tensor, "tensor '%s': %s", detail);
  }
  if (input_data_size) memcpy(tensor->data, input_data, input_data_size);
  return kTfLiteOk;
}

TfLiteStatus TfLiteTensorCopyToBuffer(const TfLiteTensor* tensor, void* output_data, size_t output_data_size) {
  if (!tensor) return kTfLiteError;
  if (!output_data && output_data_size) return TensorFail(tensor, "tensor '%s': %s", "the destination is NULL");
  if (!tensor->data && tensor->bytes)
    return TensorFail(tensor, "tensor '%s': %s", "not allocated yet: call AllocateTensors first");
  if (output_data_size != tensor->bytes) {
    char detail[128];
    snprintf(detail, sizeof(detail), "got room for %zu bytes, the tensor holds %zu", output_data_size,
             tensor->bytes);
    return TensorFail(tensor, "tensor '%s': %s", detail);
  }
  if (output_data_size) memcpy(output_data, tensor->data, output_data_size);
  return kTfLiteOk;
}

int32_t TfLiteCffiTensorIndex(const TfLiteTensor* tensor) { return tensor ? tensor->index : -1; }
int32_t TfLiteCffiTensorShapeSignature(const TfLiteTensor* tensor, int32_t* dims, int32_t capacity) {
  if (!tensor) return -1;
  const std::vector<int32_t>& sig = tensor->dims_signature.empty() ? tensor->dims : tensor->dims_signature;
  for (int32_t i = 0; dims && i < capacity && static_cast<size_t>(i) < sig.size(); ++i)
    dims[i] = sig[static_cast<size_t>(i)];
  return static_cast<int32_t>(sig.size());
}
int32_t TfLiteCffiTensorQuantizationCount(const TfLiteTensor* tensor) {
  return tensor ? static_cast<int32_t>(tensor->quant.scale.size()) : 0;
}
const float* TfLiteCffiTensorQuantizationScales(const TfLiteTensor* tensor) {
  return (tensor && !tensor->quant.empty()) ? tensor->quant.scale.data() : nullptr;
}
const int64_t* TfLiteCffiTensorQuantizationZeroPoints(const TfLiteTensor* tensor) {
  return (tensor && !tensor->quant.empty()) ? tensor->quant.zero_point.data() : nullptr;
}
int32_t TfLiteCffiTensorQuantizedDimension(const TfLiteTensor* tensor) {
  return tensor ? tensor->quant.quantized_dimension : 0;
}
bool TfLiteCffiTensorIsVariable(const TfLiteTensor* tensor) { return tensor && tensor->is_variable; }
bool TfLiteCffiTensorIsConstant(const TfLiteTensor* tensor) { return tensor && tensor->is_constant(); }

// ---- signatures ----

int32_t TfLiteInterpreterGetSignatureCount(const TfLiteInterpreter* interpreter) {
  return interpreter ? static_cast<int32_t>(interpreter->impl->signatures().size()) : 0;
}
const char* TfLiteInterpreterGetSignatureKey(const TfLiteInterpreter* interpreter, int32_t signature_index) {
  if (!interpreter || signature_index < 0 ||
      static_cast<size_t>(signature_index) >= interpreter->impl->signatures().size())
    return nullptr;
  return interpreter->impl->signatures()[static_cast<size_t>(signature_index)].key.c_str();
}
TfLiteSignatureRunner* TfLiteInterpreterGetSignatureRunner(const TfLiteInterpreter* interpreter,
                                                           const char* signature_key) {
  if (!interpreter || !signature_key) return nullptr;
  for (const tfc::SignatureInfo& info : interpreter->impl->signatures()) {
    if (info.key == signature_key)
      return new (std::nothrow) TfLiteSignatureRunner{const_cast<TfLiteInterpreter*>(interpreter), &info};
  }
  return nullptr;
}
size_t TfLiteSignatureRunnerGetInputCount(const TfLiteSignatureRunner* runner) {
  return runner ? runner->info->inputs.size() : 0;
}
const char* TfLiteSignatureRunnerGetInputName(const TfLiteSignatureRunner* runner, int32_t input_index) {
  if (!runner || input_index < 0 || static_cast<size_t>(input_index) >= runner->info->inputs.size()) return nullptr;
  return runner->info->inputs[static_cast<size_t>(input_index)].first.c_str();
}
size_t TfLiteSignatureRunnerGetOutputCount(const TfLiteSignatureRunner* runner) {
  return runner ? runner->info->outputs.size() : 0;
}
const char* TfLiteSignatureRunnerGetOutputName(const TfLiteSignatureRunner* runner, int32_t output_index) {
  if (!runner || output_index < 0 || static_cast<size_t>(output_index) >= runner->info->outputs.size())
    return nullptr;
  return runner->info->outputs[static_cast<size_t>(output_index)].first.c_str();
}

static int FindSignatureTensor(const std::vector<std::pair<std::string, int>>& map, const char* name) {
  if (!name) return -1;
  for (const auto& entry : map)
    if (entry.first == name) return entry.second;
  return -1;
}

TfLiteStatus TfLiteSignatureRunnerResizeInputTensor(TfLiteSignatureRunner* runner, const char* input_name,
                                                    const int* input_dims, int32_t input_dims_size) {
  if (!runner) return kTfLiteError;
  tfc::Interpreter& impl = *runner->interpreter->impl;
  int idx = FindSignatureTensor(runner->info->inputs, input_name);
  if (idx < 0)
    return impl.Fail(kTfLiteError, "signature '%s' has no input named '%s'", runner->info->key.c_str(),
                     input_name ? input_name : "(null)");
  if (input_dims_size < 0 || (input_dims_size > 0 && !input_dims))
    return impl.Fail(kTfLiteError, "ResizeInputTensor: dims are NULL or their count is negative");
  return impl.ResizeInput(runner->info->subgraph, idx, Dims(input_dims, input_dims_size));
}
TfLiteStatus TfLiteSignatureRunnerAllocateTensors(TfLiteSignatureRunner* runner) {
  return runner ? runner->interpreter->impl->AllocateTensors(runner->info->subgraph) : kTfLiteError;
}
TfLiteTensor* TfLiteSignatureRunnerGetInputTensor(TfLiteSignatureRunner* runner, const char* input_name) {
  if (!runner) return nullptr;
  int idx = FindSignatureTensor(runner->info->inputs, input_name);
  return runner->interpreter->impl->subgraph(runner->info->subgraph)->tensor(idx);
}
TfLiteStatus TfLiteSignatureRunnerInvoke(TfLiteSignatureRunner* runner) {
  return runner ? runner->interpreter->impl->Invoke(runner->info->subgraph) : kTfLiteError;
}
const TfLiteTensor* TfLiteSignatureRunnerGetOutputTensor(const TfLiteSignatureRunner* runner,
                                                         const char* output_name) {
  if (!runner) return nullptr;
  int idx = FindSignatureTensor(runner->info->outputs, output_name);
  return runner->interpreter->impl->subgraph(runner->info->subgraph)->tensor(idx);
}
void TfLiteSignatureRunnerDelete(TfLiteSignatureRunner* runner) { delete runner; }

// ---- model inspection ----

int32_t TfLiteCffiModelGetSubgraphCount(const TfLiteModel* model) {
  return (model && model->impl) ? static_cast<int32_t>(model->impl->fb()->subgraphs()->size()) : 0;
}
int32_t TfLiteCffiModelGetOperatorCount(const TfLiteModel* model, int32_t subgraph_index) {
  if (!model || !model->impl || subgraph_index < 0 || subgraph_index >= TfLiteCffiModelGetSubgraphCount(model))
    return -1;
  const auto* ops = model->impl->fb()->subgraphs()->Get(static_cast<uint32_t>(subgraph_index))->operators();
  return ops ? static_cast<int32_t>(ops->size()) : 0;
}
TfLiteStatus TfLiteCffiModelGetOperator(const TfLiteModel* model, int32_t subgraph_index, int32_t operator_index,
                                        TfLiteCffiOperatorInfo* info) {
  int32_t count = TfLiteCffiModelGetOperatorCount(model, subgraph_index);
  if (count < 0 || operator_index < 0 || operator_index >= count || !info) return kTfLiteError;
  const tfc::Model& m = *model->impl;
  const tfc::fb::Operator* op = m.fb()->subgraphs()->Get(static_cast<uint32_t>(subgraph_index))->operators()->Get(
      static_cast<uint32_t>(operator_index));
  const uint32_t oc = op->opcode_index();
  info->builtin_code = m.BuiltinCode(oc);
  info->version = m.OpVersion(oc);
  if (info->builtin_code == tfc::fb::BuiltinOperator_CUSTOM) {
    info->name = m.fb()->operator_codes()->Get(oc)->custom_code()->c_str();
    info->supported = tfc::FindCustomOp(info->name, info->version) != nullptr;
  } else {
    info->name = tfc::BuiltinName(info->builtin_code);
    info->supported = tfc::FindOp(info->builtin_code, info->version) != nullptr;
  }
  return kTfLiteOk;
}

TfLiteStatus TfLiteCffiInterpreterGetOperator(const TfLiteInterpreter* interpreter, int32_t subgraph_index,
                                              int32_t operator_index, TfLiteCffiOperatorInfo* info) {
  tfc::Subgraph* g = interpreter ? interpreter->impl->subgraph(subgraph_index) : nullptr;
  if (!g || !info || operator_index < 0 || static_cast<size_t>(operator_index) >= g->nodes().size())
    return kTfLiteError;
  const tfc::Node& n = g->nodes()[static_cast<size_t>(operator_index)];
  info->builtin_code = n.builtin_code;
  info->version = n.version;
  info->name = n.name.c_str();
  info->supported = n.kernel != nullptr;
  return kTfLiteOk;
}

}  // extern "C"
