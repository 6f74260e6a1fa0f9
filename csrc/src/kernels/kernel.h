// The interface between the engine and its op kernels.
//
// One file per op in csrc/src/kernels/, named after the op in lower case
// (conv_2d.cc for CONV_2D). Each defines a class derived from OpKernel and
// registers it for a builtin code and a range of op versions:
//
//   class Floor final : public OpKernel {
//    public:
//     TfLiteStatus Prepare(OpContext& ctx) override {
//       TFC_ENSURE(ctx, ctx.num_inputs() == 1 && ctx.num_outputs() == 1);
//       const TfLiteTensor* in = ctx.input(0);
//       TFC_ENSURE_TYPE(ctx, in, kTfLiteFloat32);
//       return ctx.ResizeOutput(0, in->dims);
//     }
//     TfLiteStatus Eval(OpContext& ctx) override { ... no allocation here ... }
//   };
//   TFC_REGISTER_OP(FLOOR, 1, 1, Floor);
//
// Life of a kernel object (one per node):
// - Prepare runs at every AllocateTensors (again after a resize): check
//   types, shapes and options, compute output shapes with ResizeOutput,
//   request scratch memory, pack constant weights into members. All
//   allocation belongs here. Errors go through ctx.Error (op name and node
//   index are added to the message). Heap memory kept in members is reported
//   by OwnedBytes (the memory report's kernel data).
// - Eval runs at every Invoke and must not allocate (scratch comes from the
//   arena through ctx.Scratch). Tensor data pointers may change between
//   Prepares: never cache them across calls; cache only packed copies.
// - A node whose inputs include a dynamic tensor (shape known only at run
//   time) is prepared again right before each Eval; its outputs then live in
//   owned heap memory (Storage::kDynamic).
#pragma once

#include <cstdarg>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "tensor.h"
#include "thread_pool.h"
#include "tflite_generated.h"

namespace tfc {

class Subgraph;
class Interpreter;
class Model;
struct Node;

// Handed to a PackWeights job that reads a constant input from its first byte
// to its last (weights [N][K], packed channel by channel): calling it with the
// end of what the job has read so far gives the pages of a memory-mapped model
// behind that point back to the OS, a stretch at a time. Without it a layer's
// weights are resident twice, mapped and packed, until its whole job ends:
// 4 MiB for mobilenet_v1's float classifier, while the first invoke's
// activations are resident beside them. A default one drops nothing.
class ReadBehind {
 public:
  ReadBehind() = default;
  void operator()(const void* read_to);

 private:
  friend class OpContext;
  static constexpr size_t kStretch = size_t{128} << 10;
  const Model* model_ = nullptr;
  const uint8_t* from_ = nullptr;  // the first byte not given back yet
};

class OpContext {
 public:
  OpContext(Subgraph* subgraph, Node* node, int node_index)
      : subgraph_(subgraph), node_(node), node_index_(node_index) {}

  // ---- the node ----
  int num_inputs() const;
  int num_outputs() const;
  // nullptr when the input is absent (index -1 in the model, an optional
  // input) or i is out of range.
  TfLiteTensor* input(int i) const;
  TfLiteTensor* output(int i) const;
  // Tensor index in the subgraph of input/output i (-1 when absent).
  int input_index(int i) const;
  int output_index(int i) const;
  // The operator's `intermediates` tensors (quantization parameters of
  // internal values, e.g. the gate outputs of an integer LSTM); nullptr when i
  // is out of range or the index is -1.
  int num_intermediates() const;
  TfLiteTensor* intermediate(int i) const;
  int node_index() const { return node_index_; }
  const fb::Operator* op() const;
  int builtin_code() const;  // fb::BuiltinOperator value
  int version() const;
  const char* op_name() const;  // "CONV_2D", or the custom op's name
  // Builtin options of the expected table type, or nullptr when the model
  // has none (kernels then use the format's defaults).
  template <class T>
  const T* options() const {
    const fb::Operator* o = op();
    return o ? o->builtin_options_as<T>() : nullptr;
  }

  // ---- Prepare-time services ----
  // Sets the shape of output i (type comes from the model). In Prepare for
  // planned outputs; in Eval only for outputs marked dynamic.
  TfLiteStatus ResizeOutput(int i, const std::vector<int32_t>& dims);
  // Output i's shape depends on data: it is given by ResizeOutput in Eval and
  // lives in owned heap memory; nodes reading it are re-prepared per Invoke.
  void MarkOutputDynamic(int i);
  // Output i is computed once, now, in Prepare (e.g. DEQUANTIZE of constant
  // fp16 weights): gives it persistent storage of its current shape; the
  // caller fills output(i)->data before returning. A node whose outputs are all
  // folded is skipped at Invoke, and later kernels see a constant tensor.
  TfLiteStatus FoldOutput(int i);
  // Whether every input that exists is constant (helper for FoldOutput users).
  bool AllInputsConstant() const;
  // This kernel keeps its own (packed) copy of constant input i and does not
  // read the original until its next Prepare. Once every reader of a weight
  // has said so, the engine gives the weight's pages of a memory-mapped model
  // back to the OS (they are read from the file again if touched), so packed
  // weights do not cost their size twice in resident memory.
  void ReleaseConstantInput(int i);
  // Memory for this kernel's packed constant weights, kept until its next
  // Prepare: from the subgraph's WeightPool in Prepare (in one mapping with the
  // other layers' weights, on huge pages), from the heap otherwise.
  bool ReserveWeights(AlignedBuffer& buffer, size_t bytes);
  // Runs `pack`, which writes this kernel's packed copy of its constant
  // weights into memory reserved before: in Prepare on the
  // subgraph's packing thread (WeightPacker) while later nodes prepare and
  // earlier ones run, and Eval of this node waits for it; now elsewhere.
  // `pack` may read constant tensors and members this Prepare has set, and
  // write only what Eval reads; it must not change a member's size (the memory
  // report reads sizes meanwhile) and cannot fail.
  void PackWeights(std::function<void()> pack);
  // For a PackWeights job that reads constant input i in order, an input the
  // kernel releases (ReleaseConstantInput): a ReadBehind that gives its pages
  // back as the job goes when this node is the input's only reader, else one
  // that drops nothing.
  ReadBehind ReadBehindInput(int i) const;
  // Scratch memory for Eval, planned in the arena, alive during this node
  // only. Returns an id for Scratch(). Call in every Prepare.
  int RequestScratch(size_t bytes);
  void* Scratch(int id) const;

  // ---- services for Prepare and Eval ----
  ThreadPool& pool() const;
  int num_threads() const;
  // InterpreterOptions::fixed_point_requantization: 8-bit convolutions
  // requantize as TensorFlow Lite's builtin kernels do, not in float.
  bool fixed_point_requantization() const;
  // Records "OP_NAME (node N): <message>" as the interpreter's last error and
  // returns kTfLiteError.
  TfLiteStatus Error(const char* format, ...) __attribute__((format(printf, 2, 3)));
  // The same with another status (e.g. kTfLiteUnresolvedOps).
  TfLiteStatus ErrorStatus(TfLiteStatus status, const char* format, ...)
      __attribute__((format(printf, 3, 4)));

  // ---- control flow (WHILE, IF, CALL_ONCE) ----
  Subgraph* subgraph() const { return subgraph_; }
  Interpreter& interpreter() const;

 private:
  Subgraph* subgraph_;
  Node* node_;
  int node_index_;
};

class OpKernel {
 public:
  virtual ~OpKernel() = default;
  virtual TfLiteStatus Prepare(OpContext& ctx) = 0;
  virtual TfLiteStatus Eval(OpContext& ctx) = 0;
  // Heap bytes the kernel holds after Prepare (packed weights, per-channel
  // multipliers, tables): the memory report lists them as the node's kernel
  // data. A kernel whose members grow with the model's weights or shapes
  // overrides it, listing those members: `return HeapBytes(packed_, mult_);`.
  virtual size_t OwnedBytes() const { return 0; }
};

// Heap bytes behind kernel members, for OwnedBytes: vectors (their capacity),
// AlignedBuffers, arrays of vectors and kernels a kernel delegates to.
template <class T>
size_t HeapBytesOf(const std::vector<T>& v) {
  return v.capacity() * sizeof(T);
}
inline size_t HeapBytesOf(const AlignedBuffer& b) { return b.capacity(); }
inline size_t HeapBytesOf(const std::unique_ptr<OpKernel>& k) { return k ? k->OwnedBytes() : 0; }
template <class T, size_t N>
size_t HeapBytesOf(const T (&members)[N]) {
  size_t total = 0;
  for (const T& m : members) total += HeapBytesOf(m);
  return total;
}
template <class... T>
size_t HeapBytes(const T&... members) {
  return (size_t{0} + ... + HeapBytesOf(members));
}

using KernelFactory = std::unique_ptr<OpKernel> (*)();

struct OpRegistration {
  int32_t builtin_code;  // fb::BuiltinOperator_CUSTOM for custom ops
  int min_version;
  int max_version;
  KernelFactory create;
  const char* custom_name = nullptr;  // the custom op's name (custom_code in the model)
};

// The kernel for (code, version), or nullptr.
const OpRegistration* FindOp(int32_t builtin_code, int version);
// The kernel this library has for a custom op (e.g. MediaPipe's), or nullptr.
const OpRegistration* FindCustomOp(const char* name, int version);
// "CONV_2D" for a builtin code; "UNKNOWN" when out of range.
const char* BuiltinName(int32_t builtin_code);

// Registrations are constant data, not code run at load: the linker gathers a
// pointer to each into the section tfc_ops, which the registry walks. (Code
// run at load would be one function per kernel file, spread over the whole
// library: loading it made all 1.4 MB of its code resident.)
#if defined(__has_attribute)
#if __has_attribute(retain)
#define TFC_RETAIN retain,
#endif
#endif
#ifndef TFC_RETAIN
#define TFC_RETAIN
#endif
#define TFC_OP_ENTRY(ID, ...)                                                                          \
  static constexpr ::tfc::OpRegistration tfc_registration_##ID = {__VA_ARGS__};                       \
  __attribute__((used, TFC_RETAIN section("tfc_ops"))) static const ::tfc::OpRegistration* const \
      tfc_registered_##ID = &tfc_registration_##ID

#define TFC_REGISTER_OP(OP, MIN_VERSION, MAX_VERSION, KERNEL_CLASS)                                   \
  TFC_OP_ENTRY(OP##_##KERNEL_CLASS, ::tfc::fb::BuiltinOperator_##OP, (MIN_VERSION), (MAX_VERSION), \
               []() -> std::unique_ptr<::tfc::OpKernel> { return std::make_unique<KERNEL_CLASS>(); })

// A custom op this library implements, found by its name in the model
// (operator_codes[].custom_code), e.g.
//   TFC_REGISTER_CUSTOM_OP("MaxUnpooling2D", MaxUnpooling2D, 1, 1, MaxUnpooling2D);
#define TFC_REGISTER_CUSTOM_OP(NAME, ID, MIN_VERSION, MAX_VERSION, KERNEL_CLASS)                         \
  TFC_OP_ENTRY(custom_##ID, ::tfc::fb::BuiltinOperator_CUSTOM, (MIN_VERSION), (MAX_VERSION),            \
               []() -> std::unique_ptr<::tfc::OpKernel> { return std::make_unique<KERNEL_CLASS>(); }, \
               (NAME))

// Returns ctx.Error(...) from the calling Prepare/Eval when COND is false.
#define TFC_ENSURE(ctx, cond)                                                    \
  do {                                                                           \
    if (!(cond)) return (ctx).Error("%s:%d: check failed: %s", __FILE__, __LINE__, #cond); \
  } while (0)
#define TFC_ENSURE_MSG(ctx, cond, ...)          \
  do {                                          \
    if (!(cond)) return (ctx).Error(__VA_ARGS__); \
  } while (0)
#define TFC_ENSURE_TYPE(ctx, tensor, expected)                                           \
  do {                                                                                   \
    if ((tensor)->type != (expected))                                                    \
      return (ctx).Error("tensor '%s' has type %s; this kernel takes %s",               \
                         (tensor)->name.c_str(), ::tfc::TypeName((tensor)->type),       \
                         ::tfc::TypeName(expected));                                     \
  } while (0)
#define TFC_OK(expr)                                 \
  do {                                               \
    TfLiteStatus tfc_status_ = (expr);               \
    if (tfc_status_ != kTfLiteOk) return tfc_status_; \
  } while (0)

}  // namespace tfc
