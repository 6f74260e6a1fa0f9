// A subgraph: its tensors, its nodes in execution order, and the state of
// preparing, planning and running them.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "arena.h"
#include "kernels/kernel.h"
#include "model.h"
#include "tensor.h"
#include "weight_packer.h"

namespace tfc {

class Interpreter;

struct Node {
  const fb::Operator* op = nullptr;
  int32_t builtin_code = 0;
  int version = 1;
  std::string name;  // "CONV_2D" or the custom op's name
  std::vector<int> inputs, outputs, intermediates;
  const OpRegistration* registration = nullptr;
  std::unique_ptr<OpKernel> kernel;
  std::vector<size_t> scratch_bytes;        // requested by the last Prepare
  std::vector<void*> scratch;               // where each scratch block lives now
  std::vector<AlignedBuffer> heap_scratch;  // scratch of dynamic nodes
  std::vector<int> released;                // constant inputs the kernel keeps a copy of (last Prepare)
  size_t packed_before_eval = 0;  // WeightPacker jobs that must have run before Eval
  bool folded = false;   // all outputs computed at Prepare: skipped by Invoke
  bool dynamic = false;  // an input's shape is known only at run time
};

class Subgraph {
 public:
  enum class Phase { kIdle, kPrepare, kPrepareDynamic, kEval };

  Subgraph(Interpreter* interpreter, int index) : interpreter_(interpreter), index_(index) {}
  ~Subgraph() { ReleaseKernels(); }
  Subgraph(const Subgraph&) = delete;
  Subgraph& operator=(const Subgraph&) = delete;

  // Destroys the kernels (user operators' free callbacks run now).
  void ReleaseKernels() {
    packer_.Finish();
    for (Node& n : nodes_) n.kernel.reset();
  }

  // Creates tensors and nodes from the model; resolves kernels: an operator
  // registered in the interpreter options first, then our builtin or custom
  // kernels (a missing one is reported by Prepare, as TensorFlow Lite reports
  // it at allocation).
  TfLiteStatus Build(const Model& model, const fb::SubGraph* g);

  int index() const { return index_; }
  const std::string& name() const { return name_; }
  Interpreter& interpreter() const { return *interpreter_; }
  std::vector<TfLiteTensor>& tensors() { return tensors_; }
  TfLiteTensor* tensor(int i) {
    return (i >= 0 && static_cast<size_t>(i) < tensors_.size()) ? &tensors_[static_cast<size_t>(i)] : nullptr;
  }
  const std::vector<int>& inputs() const { return inputs_; }
  const std::vector<int>& outputs() const { return outputs_; }
  std::vector<Node>& nodes() { return nodes_; }
  // How many node inputs read tensor i.
  int readers(int i) const {
    return (i >= 0 && static_cast<size_t>(i) < readers_.size()) ? readers_[static_cast<size_t>(i)] : 0;
  }
  Phase phase() const { return phase_; }
  // Set while this subgraph prepares or runs: a control-flow op calling a
  // busy subgraph would recurse forever.
  bool busy = false;

  // Sets an input's shape; the subgraph must be prepared again.
  TfLiteStatus ResizeInput(int tensor_index, const std::vector<int32_t>& dims);
  // Runs every kernel's Prepare in order: shapes, weights, scratch needs.
  TfLiteStatus Prepare();
  TfLiteStatus CheckSizeLimit(const Node& n, size_t index, bool outputs);
  bool prepared() const { return prepared_; }
  void Invalidate() { prepared_ = false; bound_ = false; }
  // Lays out this subgraph's arena tensors and scratch; returns the bytes of
  // its region. Then Bind gives the region's address (`offset` bytes into the
  // interpreter's arena).
  size_t Plan(bool preserve_all);
  void Bind(uint8_t* base, size_t offset);
  bool ready() const { return prepared_ && bound_; }
  TfLiteStatus Invoke();
  void ResetVariables();
  // Bytes held outside the arena (variables, folded and dynamic tensors, their
  // scratch, kernel data): the sum of the persistent entries of Allocations.
  size_t PersistentBytes() const;
  // Of those, the kernel data in the weight pool (the rest is heap blocks).
  size_t PooledBytes() const { return weight_pool_.used(); }
  // Appends this subgraph's entries of the memory report (see
  // TfLiteCffiAllocation in c_api.h): its arena blocks when bound, by offset,
  // then every persistent block.
  void Allocations(std::vector<TfLiteCffiAllocation>* out) const;

  // For OpContext.
  WeightPool& weight_pool() { return weight_pool_; }
  WeightPacker& packer() { return packer_; }
  TfLiteStatus SetShape(TfLiteTensor& t, const std::vector<int32_t>& dims, Node& node);
  TfLiteStatus AllocateHeap(TfLiteTensor& t, Storage storage);

 private:
  TfLiteStatus InitVariable(TfLiteTensor& t);
  // After node `n`'s Prepare: drops the mapped pages of weights every reader has copied, once the
  // packer has run the jobs that read them.
  void DropReleasedWeights(const Node& n, std::vector<int>& released_count);
  // After Prepare: gives back the model's pages that invokes do not read (tables, quantization
  // parameters, weights the kernels copied, and the neighbours that reading them faulted in).
  void DropModelPagesNotRead(const std::vector<int>& released_count);

  Interpreter* interpreter_;
  int index_;
  std::string name_;
  const Model* model_ = nullptr;
  std::vector<TfLiteTensor> tensors_;
  std::vector<int> inputs_, outputs_;
  WeightPool weight_pool_;  // the kernels' packed weights (outlives them)
  std::vector<Node> nodes_;
  std::vector<int> readers_;  // per tensor: how many node inputs read it
  // Variable tensors' initial bytes (from the model, or zeros when absent).
  std::vector<std::pair<int, std::pair<const uint8_t*, size_t>>> variable_init_;
  Phase phase_ = Phase::kIdle;
  bool prepared_ = false;
  bool bound_ = false;
  // Plan results: which tensor or scratch block each arena offset belongs to.
  struct Placement {
    int tensor;   // tensor index, or -1 for scratch
    int node;     // for scratch
    int slot;     // for scratch
  };
  std::vector<Placement> placements_;
  std::vector<ArenaRequest> requests_;  // size and lifetime of each placement
  std::vector<size_t> offsets_;
  size_t region_offset_ = 0;  // where Bind put this subgraph's region in the arena
  // Last, so that it is destroyed (its helper joined) before the kernels and weights its jobs write.
  WeightPacker packer_;
};

}  // namespace tfc
