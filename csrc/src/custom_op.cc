// User-registered operators: the OpKernel adapter that runs a TfLiteOperator's
// callbacks for one node, and the C API a callback sees (TfLiteOperator*,
// TfLiteOpaqueContext*, TfLiteOpaqueNode*, TfLiteOpaqueTensor*,
// TfLiteIntArray*). Every entry point accepts NULL without crashing.
//
// A TfLiteOpaqueTensor is our TfLiteTensor. A TfLiteOpaqueNode and a
// TfLiteOpaqueContext are members of the node's ExternalKernel; the context
// knows the OpContext of the callback running now (null outside prepare and
// invoke), through which outputs are resized and errors are reported with the
// op's name and node index.
#include "custom_op.h"

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

#include "interpreter.h"
#include "subgraph.h"

struct TfLiteOpaqueNode {
  tfc::Subgraph* subgraph = nullptr;
  tfc::Node* node = nullptr;
  void* user_data = nullptr;  // what init returned
};

struct TfLiteOpaqueContext {
  tfc::Subgraph* subgraph = nullptr;
  tfc::OpContext* op = nullptr;  // the callback's node, during prepare and invoke
  std::string messages;          // reported by the running callback
};

namespace tfc {
namespace {

TfLiteTensor* Tensor(TfLiteOpaqueTensor* t) { return reinterpret_cast<TfLiteTensor*>(t); }
const TfLiteTensor* Tensor(const TfLiteOpaqueTensor* t) { return reinterpret_cast<const TfLiteTensor*>(t); }
TfLiteOpaqueTensor* Opaque(TfLiteTensor* t) { return reinterpret_cast<TfLiteOpaqueTensor*>(t); }

// The context of the callback running on this thread (plain pointer: no
// thread_local destructor, which glibc 2.17 lacks).
thread_local TfLiteOpaqueContext* g_running = nullptr;

void AddMessage(TfLiteOpaqueContext* context, const char* message) {
  if (context->op) {
    if (!context->messages.empty()) context->messages += "; ";
    context->messages += message;
  } else {
    context->subgraph->interpreter().Report(message);  // init / free cannot fail: only the reporter sees it
  }
}

const char* StatusName(TfLiteStatus s) {
  switch (s) {
    case kTfLiteOk: return "kTfLiteOk";
    case kTfLiteError: return "kTfLiteError";
    case kTfLiteDelegateError: return "kTfLiteDelegateError";
    case kTfLiteApplicationError: return "kTfLiteApplicationError";
    case kTfLiteDelegateDataNotFound: return "kTfLiteDelegateDataNotFound";
    case kTfLiteDelegateDataWriteError: return "kTfLiteDelegateDataWriteError";
    case kTfLiteDelegateDataReadError: return "kTfLiteDelegateDataReadError";
    case kTfLiteUnresolvedOps: return "kTfLiteUnresolvedOps";
    case kTfLiteCancelled: return "kTfLiteCancelled";
    case kTfLiteOutputShapeNotKnown: return "kTfLiteOutputShapeNotKnown";
  }
  return "an unknown status";
}

class ExternalKernel final : public OpKernel {
 public:
  ExternalKernel(std::shared_ptr<const TfLiteOperator> op, Subgraph* subgraph, Node* node)
      : op_(std::move(op)) {
    node_.subgraph = subgraph;
    node_.node = node;
    context_.subgraph = subgraph;
  }

  ~ExternalKernel() override {
    if (!op_->free_fn && !op_->free_with_data) return;
    Running running(this, nullptr);
    if (op_->free_with_data)
      op_->free_with_data(op_->user_data, &context_, node_.user_data);
    else
      op_->free_fn(&context_, node_.user_data);
  }

  void Init(OpContext& ctx) {
    if (!op_->init && !op_->init_with_data) return;
    const char* buffer = nullptr;
    size_t length = 0;
    if (const auto* options = ctx.op() ? ctx.op()->custom_options() : nullptr) {
      buffer = reinterpret_cast<const char*>(options->data());
      length = options->size();
    }
    Running running(this, nullptr);  // init cannot fail: messages go to the reporter
    node_.user_data = op_->init_with_data ? op_->init_with_data(op_->user_data, &context_, buffer, length)
                                          : op_->init(&context_, buffer, length);
  }

  TfLiteStatus Prepare(OpContext& ctx) override {
    if (!op_->prepare && !op_->prepare_with_data) return kTfLiteOk;
    Running running(this, &ctx);
    TfLiteStatus s = op_->prepare_with_data ? op_->prepare_with_data(op_->user_data, &context_, &node_)
                                            : op_->prepare(&context_, &node_);
    return Finish(ctx, s, "prepare");
  }

  TfLiteStatus Eval(OpContext& ctx) override {
    if (!op_->invoke && !op_->invoke_with_data)
      return ctx.Error("the operator registered for this op has no invoke callback (TfLiteOperatorSetInvoke)");
    // A dynamic output gets memory of its current shape, so an operator that
    // writes it without resizing it first writes into memory it owns.
    for (int i = 0; i < ctx.num_outputs(); ++i) {
      TfLiteTensor* t = ctx.output(i);
      if (t && t->storage == Storage::kDynamic && !t->data) TFC_OK(ctx.ResizeOutput(i, t->dims));
    }
    Running running(this, &ctx);
    TfLiteStatus s = op_->invoke_with_data ? op_->invoke_with_data(op_->user_data, &context_, &node_)
                                           : op_->invoke(&context_, &node_);
    return Finish(ctx, s, "invoke");
  }

 private:
  // Makes the context current for one callback.
  class Running {
   public:
    Running(ExternalKernel* k, OpContext* ctx) : k_(k), saved_(g_running) {
      k_->context_.op = ctx;
      k_->context_.messages.clear();
      if (ctx) ctx->interpreter().ClearError();  // any earlier failure already ended the call
      g_running = &k_->context_;
    }
    ~Running() {
      g_running = saved_;
      k_->context_.op = nullptr;
    }
    Running(const Running&) = delete;
    Running& operator=(const Running&) = delete;

   private:
    ExternalKernel* k_;
    TfLiteOpaqueContext* saved_;
  };

  // The callback returned `s`: errors become the interpreter's last error,
  // made of what the callback reported and what failed in the calls it made.
  TfLiteStatus Finish(OpContext& ctx, TfLiteStatus s, const char* what) {
    std::string message = context_.messages;
    const std::string& api_error = ctx.interpreter().last_error();
    if (!api_error.empty() && message.find(api_error) == std::string::npos)
      message += (message.empty() ? "" : "; ") + api_error;
    if (s == kTfLiteOk) {
      if (!context_.messages.empty()) ctx.interpreter().Report(context_.messages.c_str());
      ctx.interpreter().ClearError();
      return kTfLiteOk;
    }
    const TfLiteStatus status = (s > kTfLiteOk && s <= kTfLiteOutputShapeNotKnown) ? s : kTfLiteError;
    if (message.empty()) {
      char buf[96];
      snprintf(buf, sizeof(buf), "the operator's %s returned %s (%d)", what, StatusName(s), static_cast<int>(s));
      message = buf;
    }
    return ctx.ErrorStatus(status, "%s", message.c_str());
  }

  std::shared_ptr<const TfLiteOperator> op_;
  TfLiteOpaqueNode node_;
  TfLiteOpaqueContext context_;
};

}  // namespace

bool OperatorMatches(const TfLiteOperator& op, int32_t builtin_code, const std::string& name, int version) {
  if (op.builtin_code != builtin_code || op.version != version) return false;
  if (builtin_code == fb::BuiltinOperator_CUSTOM) return op.has_custom_name && op.custom_name == name;
  return true;
}

std::unique_ptr<OpKernel> CreateExternalKernel(std::shared_ptr<const TfLiteOperator> op, Subgraph* subgraph,
                                               Node* node, int node_index) {
  std::unique_ptr<ExternalKernel> kernel(new (std::nothrow) ExternalKernel(std::move(op), subgraph, node));
  if (!kernel) return nullptr;
  OpContext ctx(subgraph, node, node_index);
  kernel->Init(ctx);
  return kernel;
}

}  // namespace tfc

using tfc::Storage;

extern "C" {

// ---- operators ----

TfLiteOperator* TfLiteOperatorCreate(TfLiteBuiltinOperator builtin_code, const char* custom_name, int version,
                                     void* user_data) {
  if (builtin_code == kTfLiteBuiltinCustom && (!custom_name || !*custom_name)) return nullptr;
  auto* op = new (std::nothrow) TfLiteOperator;
  if (!op) return nullptr;
  op->builtin_code = static_cast<int32_t>(builtin_code);
  if (custom_name) {
    op->has_custom_name = true;
    op->custom_name = custom_name;
  }
  op->version = version;
  op->user_data = user_data;
  return op;
}
void TfLiteOperatorDelete(TfLiteOperator* registration) { delete registration; }
TfLiteBuiltinOperator TfLiteOperatorGetBuiltInCode(const TfLiteOperator* registration) {
  return static_cast<TfLiteBuiltinOperator>(registration ? registration->builtin_code : kTfLiteBuiltinCustom);
}
const char* TfLiteOperatorGetCustomName(const TfLiteOperator* registration) {
  return (registration && registration->has_custom_name) ? registration->custom_name.c_str() : nullptr;
}
int TfLiteOperatorGetVersion(const TfLiteOperator* registration) { return registration ? registration->version : -1; }
void* TfLiteOperatorGetUserData(const TfLiteOperator* registration) {
  return registration ? registration->user_data : nullptr;
}

void TfLiteOperatorSetInit(TfLiteOperator* registration,
                           void* (*init)(TfLiteOpaqueContext*, const char*, size_t)) {
  if (!registration) return;
  registration->init = init;
  registration->init_with_data = nullptr;
}
TfLiteStatus TfLiteOperatorSetInitWithData(TfLiteOperator* registration,
                                           void* (*init)(void*, TfLiteOpaqueContext*, const char*, size_t)) {
  if (!registration) return kTfLiteError;
  registration->init_with_data = init;
  registration->init = nullptr;
  return kTfLiteOk;
}
void TfLiteOperatorSetFree(TfLiteOperator* registration, void (*free)(TfLiteOpaqueContext*, void*)) {
  if (!registration) return;
  registration->free_fn = free;
  registration->free_with_data = nullptr;
}
TfLiteStatus TfLiteOperatorSetFreeWithData(TfLiteOperator* registration,
                                           void (*free)(void*, TfLiteOpaqueContext*, void*)) {
  if (!registration) return kTfLiteError;
  registration->free_with_data = free;
  registration->free_fn = nullptr;
  return kTfLiteOk;
}
void TfLiteOperatorSetPrepare(TfLiteOperator* registration,
                              TfLiteStatus (*prepare)(TfLiteOpaqueContext*, TfLiteOpaqueNode*)) {
  if (!registration) return;
  registration->prepare = prepare;
  registration->prepare_with_data = nullptr;
}
TfLiteStatus TfLiteOperatorSetPrepareWithData(TfLiteOperator* registration,
                                              TfLiteStatus (*prepare)(void*, TfLiteOpaqueContext*,
                                                                      TfLiteOpaqueNode*)) {
  if (!registration) return kTfLiteError;
  registration->prepare_with_data = prepare;
  registration->prepare = nullptr;
  return kTfLiteOk;
}
void TfLiteOperatorSetInvoke(TfLiteOperator* registration,
                             TfLiteStatus (*invoke)(TfLiteOpaqueContext*, TfLiteOpaqueNode*)) {
  if (!registration) return;
  registration->invoke = invoke;
  registration->invoke_with_data = nullptr;
}
TfLiteStatus TfLiteOperatorSetInvokeWithData(TfLiteOperator* registration,
                                             TfLiteStatus (*invoke)(void*, TfLiteOpaqueContext*,
                                                                    TfLiteOpaqueNode*)) {
  if (!registration) return kTfLiteError;
  registration->invoke_with_data = invoke;
  registration->invoke = nullptr;
  return kTfLiteOk;
}

// ---- TfLiteIntArray ----

int TfLiteIntArrayGetSizeInBytes(int size) {
  if (size < 0) size = 0;
  return static_cast<int>(sizeof(TfLiteIntArray) + sizeof(int) * static_cast<size_t>(size));
}
TfLiteIntArray* TfLiteIntArrayCreate(int size) {
  if (size < 0 || size > (1 << 24)) return nullptr;
  auto* a = static_cast<TfLiteIntArray*>(malloc(static_cast<size_t>(TfLiteIntArrayGetSizeInBytes(size))));
  if (a) a->size = size;
  return a;
}
void TfLiteIntArrayFree(TfLiteIntArray* a) { free(a); }

// ---- tensors ----

TfLiteType TfLiteOpaqueTensorType(const TfLiteOpaqueTensor* t) { return TfLiteTensorType(tfc::Tensor(t)); }
int32_t TfLiteOpaqueTensorNumDims(const TfLiteOpaqueTensor* t) { return TfLiteTensorNumDims(tfc::Tensor(t)); }
int32_t TfLiteOpaqueTensorDim(const TfLiteOpaqueTensor* t, int32_t dim_index) {
  return TfLiteTensorDim(tfc::Tensor(t), dim_index);
}
TfLiteStatus TfLiteOpaqueTensorGetNumDimsSignature(const TfLiteOpaqueTensor* opaque_tensor, int32_t* num_dims) {
  const TfLiteTensor* t = tfc::Tensor(opaque_tensor);
  if (!t || !num_dims) return kTfLiteError;
  *num_dims = static_cast<int32_t>(t->dims_signature.empty() ? t->dims.size() : t->dims_signature.size());
  return kTfLiteOk;
}
TfLiteStatus TfLiteOpaqueTensorGetDimSignature(const TfLiteOpaqueTensor* opaque_tensor, int32_t dim_index,
                                               int32_t* dim_length) {
  const TfLiteTensor* t = tfc::Tensor(opaque_tensor);
  if (!t || !dim_length) return kTfLiteError;
  const std::vector<int32_t>& sig = t->dims_signature.empty() ? t->dims : t->dims_signature;
  if (dim_index < 0 || static_cast<size_t>(dim_index) >= sig.size()) return kTfLiteError;
  *dim_length = sig[static_cast<size_t>(dim_index)];
  return kTfLiteOk;
}
int TfLiteOpaqueTensorIsVariable(const TfLiteOpaqueTensor* t) { return TfLiteCffiTensorIsVariable(tfc::Tensor(t)); }
size_t TfLiteOpaqueTensorByteSize(const TfLiteOpaqueTensor* t) { return TfLiteTensorByteSize(tfc::Tensor(t)); }
void* TfLiteOpaqueTensorData(const TfLiteOpaqueTensor* t) { return TfLiteTensorData(tfc::Tensor(t)); }
TfLiteAllocationType TfLiteOpaqueTensorGetAllocationType(const TfLiteOpaqueTensor* opaque_tensor) {
  const TfLiteTensor* t = tfc::Tensor(opaque_tensor);
  if (!t) return kTfLiteMemNone;
  switch (t->storage) {
    case Storage::kNone: return kTfLiteMemNone;
    case Storage::kConstant: return kTfLiteMmapRo;
    case Storage::kArena: return kTfLiteArenaRw;
    case Storage::kPersistent: return t->is_variable ? kTfLiteArenaRwPersistent : kTfLitePersistentRo;
    case Storage::kDynamic: return kTfLiteDynamic;
  }
  return kTfLiteMemNone;
}
void TfLiteOpaqueTensorSetAllocationTypeToDynamic(TfLiteOpaqueTensor* opaque_tensor) {
  TfLiteOpaqueContext* context = tfc::g_running;
  TfLiteTensor* t = tfc::Tensor(opaque_tensor);
  if (!t || !context || !context->op) return;
  for (int i = 0; i < context->op->num_outputs(); ++i) {
    if (context->op->output(i) == t) {
      context->op->MarkOutputDynamic(i);
      return;
    }
  }
  char buf[256];
  snprintf(buf, sizeof(buf), "TfLiteOpaqueTensorSetAllocationTypeToDynamic: tensor '%s' is not an output of "
           "this node (ignored)", t->name.c_str());
  context->subgraph->interpreter().Report(buf);
}
const char* TfLiteOpaqueTensorName(const TfLiteOpaqueTensor* t) { return TfLiteTensorName(tfc::Tensor(t)); }
TfLiteQuantizationParams TfLiteOpaqueTensorGetQuantizationParams(const TfLiteOpaqueTensor* t) {
  return TfLiteTensorQuantizationParams(tfc::Tensor(t));
}
TfLiteStatus TfLiteOpaqueTensorCopyFromBuffer(TfLiteOpaqueTensor* t, const void* input_data,
                                              size_t input_data_size) {
  return TfLiteTensorCopyFromBuffer(tfc::Tensor(t), input_data, input_data_size);
}
TfLiteStatus TfLiteOpaqueTensorCopyToBuffer(const TfLiteOpaqueTensor* t, void* output_data,
                                            size_t output_data_size) {
  return TfLiteTensorCopyToBuffer(tfc::Tensor(t), output_data, output_data_size);
}

// ---- nodes ----

static TfLiteTensor* NodeTensor(const TfLiteOpaqueNode* n, const std::vector<int>& indices, int index) {
  if (!n || index < 0 || static_cast<size_t>(index) >= indices.size()) return nullptr;
  return n->subgraph->tensor(indices[static_cast<size_t>(index)]);
}

const TfLiteOpaqueTensor* TfLiteOpaqueNodeGetInput(const TfLiteOpaqueContext*, const TfLiteOpaqueNode* node,
                                                   int index) {
  return node ? tfc::Opaque(NodeTensor(node, node->node->inputs, index)) : nullptr;
}
TfLiteOpaqueTensor* TfLiteOpaqueNodeGetOutput(TfLiteOpaqueContext*, const TfLiteOpaqueNode* node, int index) {
  return node ? tfc::Opaque(NodeTensor(node, node->node->outputs, index)) : nullptr;
}
int TfLiteOpaqueNodeNumberOfInputs(const TfLiteOpaqueNode* node) {
  return node ? static_cast<int>(node->node->inputs.size()) : -1;
}
int TfLiteOpaqueNodeNumberOfOutputs(const TfLiteOpaqueNode* node) {
  return node ? static_cast<int>(node->node->outputs.size()) : -1;
}
void* TfLiteOpaqueNodeGetUserData(const TfLiteOpaqueNode* node) { return node ? node->user_data : nullptr; }
void* TfLiteOpaqueNodeGetBuiltinData(const TfLiteOpaqueNode*) { return nullptr; }
TfLiteStatus TfLiteOpaqueNodeGetCustomInitialData(const TfLiteOpaqueNode* node, const void** init_data,
                                                  int* size) {
  if (!node || !init_data || !size) return kTfLiteError;
  *init_data = nullptr;
  *size = 0;
  const auto* options = node->node->op ? node->node->op->custom_options() : nullptr;
  if (options && options->size()) {
    *init_data = options->data();
    *size = static_cast<int>(options->size());
  }
  return kTfLiteOk;
}
TfLiteStatus TfLiteOpaqueNodeInputs(const TfLiteOpaqueNode* node, const int** inputs, int* num_inputs) {
  if (!node || !inputs || !num_inputs) return kTfLiteError;
  *inputs = node->node->inputs.data();
  *num_inputs = static_cast<int>(node->node->inputs.size());
  return kTfLiteOk;
}
TfLiteStatus TfLiteOpaqueNodeOutputs(const TfLiteOpaqueNode* node, const int** outputs, int* num_outputs) {
  if (!node || !outputs || !num_outputs) return kTfLiteError;
  *outputs = node->node->outputs.data();
  *num_outputs = static_cast<int>(node->node->outputs.size());
  return kTfLiteOk;
}
int TfLiteOpaqueNodeGetInputTensorIndex(const TfLiteOpaqueNode* node, int index_of_input) {
  if (!node || index_of_input < 0 || static_cast<size_t>(index_of_input) >= node->node->inputs.size()) return -1;
  return node->node->inputs[static_cast<size_t>(index_of_input)];
}
int TfLiteOpaqueNodeGetOutputTensorIndex(const TfLiteOpaqueNode* node, int index_of_output) {
  if (!node || index_of_output < 0 || static_cast<size_t>(index_of_output) >= node->node->outputs.size())
    return -1;
  return node->node->outputs[static_cast<size_t>(index_of_output)];
}

// ---- context ----

TfLiteOpaqueTensor* TfLiteOpaqueContextGetOpaqueTensor(const TfLiteOpaqueContext* context, int index) {
  return context ? tfc::Opaque(context->subgraph->tensor(index)) : nullptr;
}
size_t TfLiteOpaqueContextGetNumTensors(const TfLiteOpaqueContext* context) {
  return context ? context->subgraph->tensors().size() : 0;
}
size_t TfLiteOpaqueContextGetNumNodes(const TfLiteOpaqueContext* context) {
  return context ? context->subgraph->nodes().size() : 0;
}
TfLiteStatus TfLiteOpaqueContextGetSizeOfType(TfLiteOpaqueContext*, TfLiteType type, size_t* bytes) {
  if (!bytes) return kTfLiteError;
  *bytes = tfc::TypeSize(type);
  return *bytes ? kTfLiteOk : kTfLiteError;
}

TfLiteStatus TfLiteOpaqueContextResizeTensor(TfLiteOpaqueContext* context, TfLiteOpaqueTensor* tensor,
                                             TfLiteIntArray* new_size) {
  std::vector<int32_t> dims;
  if (new_size && new_size->size >= 0) dims.assign(new_size->data, new_size->data + new_size->size);
  const bool had_size = new_size != nullptr && new_size->size >= 0;
  TfLiteIntArrayFree(new_size);  // ours now, whatever happens
  if (!context) return kTfLiteError;
  TfLiteTensor* t = tfc::Tensor(tensor);
  if (!context->op) {
    TfLiteOpaqueContextReportError(context, "TfLiteOpaqueContextResizeTensor: only an operator's prepare or "
                                   "invoke may resize tensors");
    return kTfLiteError;
  }
  if (!t || !had_size) {
    TfLiteOpaqueContextReportError(context, "TfLiteOpaqueContextResizeTensor: the tensor or the new size is NULL "
                                   "(or the size is negative)");
    return kTfLiteError;
  }
  tfc::OpContext& op = *context->op;
  for (int i = 0; i < op.num_outputs(); ++i) {
    if (op.output(i) != t) continue;
    if (op.subgraph()->phase() == tfc::Subgraph::Phase::kEval && t->storage != Storage::kDynamic &&
        t->dims != dims) {
      TfLiteOpaqueContextReportError(context, "output %d ('%s') changes shape during invoke but was not made "
                                     "dynamic: call TfLiteOpaqueTensorSetAllocationTypeToDynamic on it in "
                                     "prepare, or resize it in prepare", i, t->name.c_str());
      return kTfLiteError;
    }
    return op.ResizeOutput(i, dims);
  }
  TfLiteOpaqueContextReportError(context, "TfLiteOpaqueContextResizeTensor: tensor '%s' is not an output of "
                                 "this node; an operator may only resize its own outputs", t->name.c_str());
  return kTfLiteError;
}

void TfLiteOpaqueContextReportErrorVa(TfLiteOpaqueContext* context, const char* format, va_list vlist) {
  if (!context || !format) return;
  char buf[1024];
  vsnprintf(buf, sizeof(buf), format, vlist);
  tfc::AddMessage(context, buf);
}

void TfLiteCffiOpaqueContextReportErrorString(TfLiteOpaqueContext* context, const char* message) {
  if (context && message) tfc::AddMessage(context, message);
}

void TfLiteOpaqueContextReportError(TfLiteOpaqueContext* context, const char* format, ...) {
  va_list args;
  va_start(args, format);
  TfLiteOpaqueContextReportErrorVa(context, format, args);
  va_end(args);
}

}  // extern "C"
