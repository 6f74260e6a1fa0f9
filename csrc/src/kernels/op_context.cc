// OpContext: what a kernel may see and do (see kernel.h).
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <utility>

#include "interpreter.h"
#include "kernels/kernel.h"
#include "model.h"
#include "subgraph.h"

namespace tfc {

int OpContext::num_inputs() const { return static_cast<int>(node_->inputs.size()); }
int OpContext::num_outputs() const { return static_cast<int>(node_->outputs.size()); }

int OpContext::input_index(int i) const {
  return (i >= 0 && i < num_inputs()) ? node_->inputs[static_cast<size_t>(i)] : -1;
}
int OpContext::output_index(int i) const {
  return (i >= 0 && i < num_outputs()) ? node_->outputs[static_cast<size_t>(i)] : -1;
}
int OpContext::num_intermediates() const { return static_cast<int>(node_->intermediates.size()); }
TfLiteTensor* OpContext::intermediate(int i) const {
  if (i < 0 || i >= num_intermediates()) return nullptr;
  return subgraph_->tensor(node_->intermediates[static_cast<size_t>(i)]);
}
TfLiteTensor* OpContext::input(int i) const { return subgraph_->tensor(input_index(i)); }
TfLiteTensor* OpContext::output(int i) const { return subgraph_->tensor(output_index(i)); }

const fb::Operator* OpContext::op() const { return node_->op; }
int OpContext::builtin_code() const { return node_->builtin_code; }
int OpContext::version() const { return node_->version; }
const char* OpContext::op_name() const { return node_->name.c_str(); }

TfLiteStatus OpContext::ResizeOutput(int i, const std::vector<int32_t>& dims) {
  TfLiteTensor* t = output(i);
  if (!t) return Error("output %d does not exist", i);
  return subgraph_->SetShape(*t, dims, *node_);
}

void OpContext::MarkOutputDynamic(int i) {
  TfLiteTensor* t = output(i);
  if (!t) return;
  if (subgraph_->phase() == Subgraph::Phase::kPrepare) {
    t->storage = Storage::kDynamic;
    t->data = nullptr;
  }
}

TfLiteStatus OpContext::FoldOutput(int i) {
  TfLiteTensor* t = output(i);
  if (!t) return Error("output %d does not exist", i);
  if (t->is_variable) return Error("cannot fold variable tensor '%s'", t->name.c_str());
  return subgraph_->AllocateHeap(*t, Storage::kPersistent);
}

bool OpContext::AllInputsConstant() const {
  for (int k = 0; k < num_inputs(); ++k) {
    const TfLiteTensor* t = input(k);
    if (t && !t->is_constant()) return false;
  }
  return true;
}

void OpContext::ReleaseConstantInput(int i) {
  const int idx = input_index(i);
  const TfLiteTensor* t = input(i);
  if (t && t->storage == Storage::kConstant && subgraph_->phase() == Subgraph::Phase::kPrepare)
    node_->released.push_back(idx);
}

bool OpContext::ReserveWeights(AlignedBuffer& buffer, size_t bytes) {
  const bool prepare = subgraph_->phase() == Subgraph::Phase::kPrepare;
  return buffer.Reserve(bytes, prepare ? &subgraph_->weight_pool() : nullptr);
}

void OpContext::PackWeights(std::function<void()> pack) {
  if (subgraph_->phase() == Subgraph::Phase::kPrepare)
    subgraph_->packer().Add(std::move(pack));
  else
    pack();
}

ReadBehind OpContext::ReadBehindInput(int i) const {
  ReadBehind r;
  const int idx = input_index(i);
  const TfLiteTensor* t = input(i);
  if (t && t->storage == Storage::kConstant && subgraph_->phase() == Subgraph::Phase::kPrepare &&
      subgraph_->readers(idx) == 1) {
    r.model_ = &interpreter().model();
    r.from_ = static_cast<const uint8_t*>(t->data);
  }
  return r;
}

void ReadBehind::operator()(const void* read_to) {
  const uint8_t* to = static_cast<const uint8_t*>(read_to);
  if (!model_ || to <= from_ || static_cast<size_t>(to - from_) < kStretch) return;
  model_->DropPages(from_, static_cast<size_t>(to - from_));
  // The page `to` lies in is partly unread: the next stretch starts at it.
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  from_ = std::max(from_, to - reinterpret_cast<uintptr_t>(to) % page);
}

int OpContext::RequestScratch(size_t bytes) {
  node_->scratch_bytes.push_back(bytes);
  return static_cast<int>(node_->scratch_bytes.size()) - 1;
}

void* OpContext::Scratch(int id) const {
  if (id < 0 || static_cast<size_t>(id) >= node_->scratch.size()) return nullptr;
  return node_->scratch[static_cast<size_t>(id)];
}

ThreadPool& OpContext::pool() const { return subgraph_->interpreter().pool(); }
int OpContext::num_threads() const { return subgraph_->interpreter().num_threads(); }
bool OpContext::fixed_point_requantization() const {
  return subgraph_->interpreter().options().fixed_point_requantization;
}
Interpreter& OpContext::interpreter() const { return subgraph_->interpreter(); }

static void FormatPrefix(char* buf, size_t size, const Subgraph* g, const Node* n, int node_index) {
  if (g->index() == 0)
    snprintf(buf, size, "%s (node %d): ", n->name.c_str(), node_index);
  else
    snprintf(buf, size, "%s (subgraph %d, node %d): ", n->name.c_str(), g->index(), node_index);
}

TfLiteStatus OpContext::Error(const char* format, ...) {
  char prefix[160];
  FormatPrefix(prefix, sizeof(prefix), subgraph_, node_, node_index_);
  va_list args;
  va_start(args, format);
  subgraph_->interpreter().FailV(kTfLiteError, prefix, format, args);
  va_end(args);
  return kTfLiteError;
}

TfLiteStatus OpContext::ErrorStatus(TfLiteStatus status, const char* format, ...) {
  char prefix[160];
  FormatPrefix(prefix, sizeof(prefix), subgraph_, node_, node_index_);
  va_list args;
  va_start(args, format);
  subgraph_->interpreter().FailV(status, prefix, format, args);
  va_end(args);
  return status;
}

}  // namespace tfc
