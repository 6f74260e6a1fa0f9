#include "subgraph.h"

#include <algorithm>
#include <cstring>

#include "custom_op.h"
#include "interpreter.h"

namespace tfc {

TfLiteStatus Subgraph::Build(const Model& model, const fb::SubGraph* g) {
  model_ = &model;
  if (g->name()) name_ = g->name()->str();
  const uint32_t num_tensors = g->tensors() ? g->tensors()->size() : 0;
  tensors_.resize(num_tensors);  // never resized again: tensor pointers are handed out
  for (uint32_t i = 0; i < num_tensors; ++i) {
    const fb::Tensor* ft = g->tensors()->Get(i);
    TfLiteTensor& t = tensors_[i];
    t.index = static_cast<int32_t>(i);
    t.subgraph = index_;
    t.owner = interpreter_;
    t.type = static_cast<TfLiteType>(MapTensorType(ft->type()));
    if (ft->name()) t.name = ft->name()->str();
    if (ft->shape()) t.dims.assign(ft->shape()->begin(), ft->shape()->end());
    if (ft->shape_signature() && ft->shape_signature()->size() > 0)
      t.dims_signature.assign(ft->shape_signature()->begin(), ft->shape_signature()->end());
    if (const fb::QuantizationParameters* q = ft->quantization()) {
      if (q->scale() && q->scale()->size() > 0) {
        t.quant.scale.assign(q->scale()->begin(), q->scale()->end());
        if (q->zero_point() && q->zero_point()->size() == q->scale()->size()) {
          // memcpy: a hostile file may place the int64 vector at a 4-byte boundary only.
          t.quant.zero_point.resize(q->zero_point()->size());
          memcpy(t.quant.zero_point.data(), q->zero_point()->Data(), t.quant.zero_point.size() * sizeof(int64_t));
        } else
          t.quant.zero_point.assign(t.quant.scale.size(), 0);
        t.quant.quantized_dimension = q->quantized_dimension();
      }
    }
    t.sparsity = ft->sparsity();
    t.is_variable = ft->is_variable();
    size_t data_size = 0;
    const uint8_t* data = model.BufferData(ft->buffer(), &data_size);
    size_t bytes = TypeSize(t.type);
    if (!CheckedByteSize(t.dims.data(), t.dims.size(), bytes ? bytes : 1, &bytes))
      return interpreter_->Fail(kTfLiteError, "tensor %u has an invalid shape", i);
    // Strings and sparse constants hold what their buffer holds, not what the shape says.
    t.bytes = (t.type == kTfLiteString || (data && t.sparsity)) ? data_size : bytes;
    if (t.is_variable) {
      variable_init_.push_back({static_cast<int>(i), {data, data_size}});
      TFC_OK(InitVariable(t));
    } else if (data) {
      const size_t elem = TypeSize(t.type);
      if (elem > 1 && reinterpret_cast<uintptr_t>(data) % elem != 0) {
        // Kernels load elements of their type: a buffer the file misaligned (hostile, or a caller's
        // buffer at an odd address) is read from an aligned copy instead.
        if (!t.owned.Reserve(data_size))
          return interpreter_->Fail(kTfLiteError, "out of memory copying tensor '%s'", t.name.c_str());
        memcpy(t.owned.data(), data, data_size);
        data = static_cast<const uint8_t*>(t.owned.data());
      }
      t.storage = Storage::kConstant;
      t.data = const_cast<uint8_t*>(data);  // read-only: the C API refuses writes to constants
    }
  }
  if (g->inputs()) inputs_.assign(g->inputs()->begin(), g->inputs()->end());
  if (g->outputs()) outputs_.assign(g->outputs()->begin(), g->outputs()->end());
  const uint32_t num_ops = g->operators() ? g->operators()->size() : 0;
  nodes_.resize(num_ops);
  for (uint32_t i = 0; i < num_ops; ++i) {
    const fb::Operator* op = g->operators()->Get(i);
    Node& n = nodes_[i];
    n.op = op;
    n.builtin_code = model.BuiltinCode(op->opcode_index());
    n.version = model.OpVersion(op->opcode_index());
    n.name = model.OpName(op->opcode_index());
    if (op->inputs()) n.inputs.assign(op->inputs()->begin(), op->inputs()->end());
    if (op->outputs()) n.outputs.assign(op->outputs()->begin(), op->outputs()->end());
    if (op->intermediates()) n.intermediates.assign(op->intermediates()->begin(), op->intermediates()->end());
    if (auto user_op = interpreter_->FindOperator(n.builtin_code, n.name, n.version)) {
      n.kernel = CreateExternalKernel(std::move(user_op), this, &n, static_cast<int>(i));
      if (!n.kernel) return interpreter_->Fail(kTfLiteError, "out of memory creating node %u", i);
      continue;
    }
    n.registration = n.builtin_code == fb::BuiltinOperator_CUSTOM ? FindCustomOp(n.name.c_str(), n.version)
                                                                  : FindOp(n.builtin_code, n.version);
    if (n.registration) n.kernel = n.registration->create();
  }
  readers_.assign(tensors_.size(), 0);
  for (const Node& n : nodes_)
    for (int in : n.inputs)
      if (in >= 0 && static_cast<size_t>(in) < readers_.size()) ++readers_[static_cast<size_t>(in)];
  return kTfLiteOk;
}

// The byte a variable tensor without initial data is filled with: its zero
// point for int8 (as TensorFlow Lite resets int8 variables, e.g. the output
// state of an integer LSTM), 0 otherwise.
static int VariableFill(const TfLiteTensor& t) {
  if (t.type == kTfLiteInt8 && !t.quant.zero_point.empty()) return static_cast<int>(t.quant.zero_point[0]);
  return 0;
}

TfLiteStatus Subgraph::InitVariable(TfLiteTensor& t) {
  TFC_OK(AllocateHeap(t, Storage::kPersistent));
  for (const auto& v : variable_init_) {
    if (v.first != t.index) continue;
    if (v.second.first && v.second.second == t.bytes)
      memcpy(t.data, v.second.first, t.bytes);
    else
      memset(t.data, VariableFill(t), t.bytes);
  }
  return kTfLiteOk;
}

void Subgraph::ResetVariables() {
  for (const auto& v : variable_init_) {
    TfLiteTensor& t = tensors_[static_cast<size_t>(v.first)];
    if (!t.data) continue;
    if (v.second.first && v.second.second == t.bytes)
      memcpy(t.data, v.second.first, t.bytes);
    else
      memset(t.data, VariableFill(t), t.bytes);
  }
}

TfLiteStatus Subgraph::AllocateHeap(TfLiteTensor& t, Storage storage) {
  // The arena limit bounds every single tensor, those kept outside the arena too (variables, dynamic
  // outputs): a hostile shape fails here instead of having gigabytes zeroed first.
  const size_t limit = interpreter_->options().arena_limit;
  if (limit && t.bytes > limit)
    return interpreter_->Fail(kTfLiteError,
                              "tensor '%s' needs %zu bytes, over the arena limit of %zu bytes set in the interpreter "
                              "options (raise or remove the limit)",
                              t.name.c_str(), t.bytes, limit);
  if (!t.owned.Reserve(t.bytes))
    return interpreter_->Fail(kTfLiteError, "out of memory allocating %zu bytes for tensor '%s'", t.bytes,
                              t.name.c_str());
  t.storage = storage;
  t.data = t.owned.data();
  return kTfLiteOk;
}

TfLiteStatus Subgraph::ResizeInput(int tensor_index, const std::vector<int32_t>& dims) {
  TfLiteTensor* t = tensor(tensor_index);
  if (!t) return interpreter_->Fail(kTfLiteError, "no tensor %d", tensor_index);
  if (dims.size() > static_cast<size_t>(kMaxRank))
    return interpreter_->Fail(kTfLiteError, "rank %zu is larger than the supported %d", dims.size(), kMaxRank);
  size_t bytes = 0;
  size_t elem = TypeSize(t->type);
  if (!CheckedByteSize(dims.data(), dims.size(), elem ? elem : 1, &bytes))
    return interpreter_->Fail(kTfLiteError,
                              "cannot resize tensor '%s': dims must be >= 0 and the size below 1 TB",
                              t->name.c_str());
  if (t->is_constant()) return interpreter_->Fail(kTfLiteError, "tensor '%s' is a constant", t->name.c_str());
  if (t->dims != dims) {
    t->dims = dims;
    t->bytes = bytes;
    if (t->is_variable) TFC_OK(InitVariable(*t));
    Invalidate();
  }
  return kTfLiteOk;
}

TfLiteStatus Subgraph::SetShape(TfLiteTensor& t, const std::vector<int32_t>& dims, Node& node) {
  if (dims.size() > static_cast<size_t>(kMaxRank))
    return interpreter_->Fail(kTfLiteError, "tensor '%s' would get rank %zu (at most %d)", t.name.c_str(),
                              dims.size(), kMaxRank);
  size_t elem = TypeSize(t.type);
  size_t bytes = 0;
  if (!CheckedByteSize(dims.data(), dims.size(), elem ? elem : 1, &bytes))
    return interpreter_->Fail(kTfLiteError, "tensor '%s' would get a negative or oversized shape", t.name.c_str());
  if (t.is_constant())
    return interpreter_->Fail(kTfLiteError, "an op tries to write constant tensor '%s'", t.name.c_str());
  const size_t limit = interpreter_->options().arena_limit;
  if (limit && bytes > limit)
    return interpreter_->Fail(kTfLiteError,
                              "%s: tensor '%s' would need %zu bytes, over the arena limit of %zu bytes set in the "
                              "interpreter options (raise or remove the limit)",
                              node.name.c_str(), t.name.c_str(), bytes, limit);
  switch (phase_) {
    case Phase::kPrepare:
      t.dims = dims;
      t.bytes = bytes;
      return kTfLiteOk;
    case Phase::kPrepareDynamic:
      t.dims = dims;
      t.bytes = bytes;
      return AllocateHeap(t, Storage::kDynamic);
    case Phase::kEval:
      if (t.storage == Storage::kDynamic) {
        t.dims = dims;
        t.bytes = bytes;
        return AllocateHeap(t, Storage::kDynamic);
      }
      if (t.dims == dims) return kTfLiteOk;
      return interpreter_->Fail(kTfLiteError,
                                "tensor '%s' changed shape during Invoke without being marked dynamic",
                                t.name.c_str());
    case Phase::kIdle:
      break;
  }
  return interpreter_->Fail(kTfLiteError, "internal error: shape set outside Prepare/Eval");
}

// With an arena limit set, no single tensor may need more than the limit: checked for a node's inputs
// before its Prepare (kernels size weights packing and padding buffers from them) and for its outputs and
// scratch after it, so a hostile shape fails fast instead of making Prepare allocate gigabytes first.
TfLiteStatus Subgraph::CheckSizeLimit(const Node& n, size_t index, bool outputs) {
  const size_t limit = interpreter_->options().arena_limit;
  if (!limit) return kTfLiteOk;
  for (int idx : outputs ? n.outputs : n.inputs) {
    const TfLiteTensor* t = tensor(idx);
    if (t && t->storage != Storage::kConstant && t->bytes > limit)
      return interpreter_->Fail(kTfLiteError,
                                "%s (node %zu): tensor '%s' needs %zu bytes, over the arena limit of %zu bytes set "
                                "in the interpreter options (raise or remove the limit)",
                                n.name.c_str(), index, t->name.c_str(), t->bytes, limit);
  }
  if (outputs) {
    for (size_t bytes : n.scratch_bytes) {
      if (bytes > limit)
        return interpreter_->Fail(kTfLiteError,
                                  "%s (node %zu) needs %zu bytes of scratch memory, over the arena limit of %zu "
                                  "bytes set in the interpreter options", n.name.c_str(), index, bytes, limit);
    }
  }
  return kTfLiteOk;
}

TfLiteStatus Subgraph::Prepare() {
  // The last Prepare's packing ends before its kernels and weights are reset. This one packs on a
  // helper thread when a core is left over from the pool's threads.
  size_t constant_bytes = 0;
  for (const TfLiteTensor& t : tensors_)
    if (t.storage == Storage::kConstant) constant_bytes += t.bytes;
  packer_.Begin(WeightPacker::Worthwhile(interpreter_->pool().num_threads(), constant_bytes));
  prepared_ = false;
  bound_ = false;
  // Collect every missing kernel into one message, as allocation reports it.
  std::string unresolved;
  int first_unresolved = -1;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const Node& n = nodes_[i];
    if (n.kernel) continue;
    if (first_unresolved < 0) first_unresolved = static_cast<int>(i);
    char line[256];
    if (n.builtin_code == fb::BuiltinOperator_CUSTOM)
      snprintf(line, sizeof(line), "%scustom op '%s' (node %zu)", unresolved.empty() ? "" : "; ", n.name.c_str(), i);
    else
      snprintf(line, sizeof(line), "%s%s version %d (node %zu)", unresolved.empty() ? "" : "; ", n.name.c_str(),
               n.version, i);
    unresolved += line;
  }
  if (!unresolved.empty()) {
    return interpreter_->Fail(kTfLiteUnresolvedOps,
                              "unsupported ops in subgraph %d: %s. tflite-cffi has no kernel for them and no "
                              "operator was registered for them (custom_op_registerers / custom_ops in Python, "
                              "TfLiteInterpreterOptionsAddOperator in C); `python -m tflite_cffi info MODEL` "
                              "lists every op and whether it is supported",
                              index_, unresolved.c_str());
  }
  // Everything but constants and variables is recomputed.
  for (TfLiteTensor& t : tensors_) {
    if (t.storage == Storage::kArena || t.storage == Storage::kDynamic ||
        (t.storage == Storage::kPersistent && !t.is_variable)) {
      t.storage = Storage::kNone;
      t.data = nullptr;
    }
  }
  for (int idx : inputs_) {
    TfLiteTensor* t = tensor(idx);
    if (t && (t->type == kTfLiteString || t->type == kTfLiteResource || t->type == kTfLiteVariant) &&
        t->storage != Storage::kConstant)
      return interpreter_->Fail(kTfLiteError, "input '%s' has type %s, which tflite-cffi does not support",
                                t->name.c_str(), TypeName(t->type));
  }
  // Packed weights take about their raw size (padded to whole SIMD panels);
  // the pool reserves twice that in address space, and what does not fit
  // goes to the heap.
  weight_pool_.Reset(2 * constant_bytes + AlignedBuffer::kHugeBytes);
  phase_ = Phase::kPrepare;
  std::vector<int> released_count(tensors_.size(), 0);
  for (size_t i = 0; i < nodes_.size(); ++i) {
    Node& n = nodes_[i];
    n.folded = false;
    n.dynamic = false;
    n.scratch_bytes.clear();
    n.released.clear();
    for (int in : n.inputs) {
      TfLiteTensor* t = tensor(in);
      if (t && t->storage == Storage::kDynamic) n.dynamic = true;
    }
    if (n.dynamic) {
      // Shapes are known only at run time: prepared again before each Eval.
      n.packed_before_eval = packer_.added();
      for (int out : n.outputs)
        if (TfLiteTensor* t = tensor(out)) t->storage = Storage::kDynamic;
      continue;
    }
    OpContext ctx(this, &n, static_cast<int>(i));
    TfLiteStatus s = CheckSizeLimit(n, i, false);
    if (s == kTfLiteOk) s = n.kernel->Prepare(ctx);
    if (s == kTfLiteOk) s = CheckSizeLimit(n, i, true);
    if (s != kTfLiteOk) {
      phase_ = Phase::kIdle;
      packer_.Close();
      if (interpreter_->last_error().empty())
        interpreter_->Fail(s, "%s (node %zu) failed to prepare", n.name.c_str(), i);
      return s;
    }
    bool all_folded = !n.outputs.empty();
    for (int out : n.outputs) {
      TfLiteTensor* t = tensor(out);
      if (t && !(t->storage == Storage::kPersistent && !t->is_variable)) all_folded = false;
    }
    n.folded = all_folded;
    n.packed_before_eval = packer_.added();
    DropReleasedWeights(n, released_count);
  }
  DropModelPagesNotRead(released_count);
  packer_.Close();
  weight_pool_.Trim();
  phase_ = Phase::kIdle;
  prepared_ = true;
  return kTfLiteOk;
}

void Subgraph::DropReleasedWeights(const Node& n, std::vector<int>& released_count) {
  std::vector<std::pair<const void*, size_t>> drop;
  for (int idx : n.released) {
    const size_t u = static_cast<size_t>(idx);
    const TfLiteTensor& t = tensors_[u];
    if (t.storage != Storage::kConstant) continue;
    if (++released_count[u] == readers_[u]) drop.emplace_back(t.data, t.bytes);
  }
  if (drop.empty()) return;
  // Queued behind the packing jobs that read these pages, or run now when there are none pending.
  packer_.Add([model = model_, drop = std::move(drop)] {
    for (const auto& d : drop) model->DropPages(d.first, d.second);
  });
}

void Subgraph::DropModelPagesNotRead(const std::vector<int>& released_count) {
  // Another subgraph's kernels may read any part of the model when they run: only a model of one
  // subgraph knows every byte its invokes read.
  if (interpreter_->subgraph_count() != 1) return;
  std::vector<std::pair<const void*, size_t>> keep;
  for (size_t u = 0; u < tensors_.size(); ++u) {
    const TfLiteTensor& t = tensors_[u];
    if (t.storage == Storage::kConstant && !(readers_[u] > 0 && released_count[u] == readers_[u]))
      keep.emplace_back(t.data, t.bytes);
  }
  for (const auto& v : variable_init_) keep.emplace_back(v.second.first, v.second.second);
  // Last in the queue: the packing jobs read weights (and fault in their neighbours) before it.
  packer_.Add([model = model_, keep = std::move(keep)]() mutable { model->DropPagesOutside(keep); });
}

size_t Subgraph::Plan(bool preserve_all) {
  const int num_nodes = static_cast<int>(nodes_.size());
  const int end = num_nodes;  // one past the last node: alive until Invoke returns
  std::vector<int> first(tensors_.size(), -1), last(tensors_.size(), -1);
  auto touch = [&](int idx, int step) {
    if (idx < 0 || static_cast<size_t>(idx) >= tensors_.size()) return;
    size_t u = static_cast<size_t>(idx);
    if (first[u] < 0 || step < first[u]) first[u] = step;
    if (step > last[u]) last[u] = step;
  };
  for (int i = 0; i < num_nodes; ++i) {
    const Node& n = nodes_[static_cast<size_t>(i)];
    for (int t : n.inputs) touch(t, i);
    for (int t : n.outputs) touch(t, i);
    for (int t : n.intermediates) touch(t, i);
  }
  // Inputs stay readable and unclobbered for the whole Invoke (callers may
  // invoke twice with the same input); outputs until the next Invoke.
  for (int t : inputs_) {
    touch(t, 0);
    touch(t, end);
  }
  for (int t : outputs_) touch(t, end);
  std::vector<ArenaRequest>& requests = requests_;
  requests.clear();
  placements_.clear();
  for (size_t i = 0; i < tensors_.size(); ++i) {
    TfLiteTensor& t = tensors_[i];
    if (t.storage != Storage::kNone && t.storage != Storage::kArena) continue;
    if (t.type == kTfLiteString || t.type == kTfLiteResource || t.type == kTfLiteVariant) continue;
    t.storage = Storage::kArena;
    t.owned.Release();  // a heap block from an earlier plan (folded or dynamic then) is not needed now
    int f = first[i] < 0 ? 0 : first[i];
    int l = last[i] < 0 ? 0 : last[i];
    if (preserve_all) {
      f = 0;
      l = end;
    }
    requests.push_back({t.bytes, f, l});
    placements_.push_back({static_cast<int>(i), -1, -1});
  }
  for (int i = 0; i < num_nodes; ++i) {
    Node& n = nodes_[static_cast<size_t>(i)];
    n.scratch.assign(n.scratch_bytes.size(), nullptr);
    if (n.dynamic) continue;
    for (size_t s = 0; s < n.scratch_bytes.size(); ++s) {
      requests.push_back({n.scratch_bytes[s], i, i});
      placements_.push_back({-1, i, static_cast<int>(s)});
    }
  }
  return PlanArena(requests, AlignedBuffer::kAlign, &offsets_);
}

void Subgraph::Bind(uint8_t* base, size_t offset) {
  region_offset_ = offset;
  base += offset;
  for (size_t k = 0; k < placements_.size(); ++k) {
    const Placement& p = placements_[k];
    if (p.tensor >= 0)
      tensors_[static_cast<size_t>(p.tensor)].data = base + offsets_[k];
    else
      nodes_[static_cast<size_t>(p.node)].scratch[static_cast<size_t>(p.slot)] = base + offsets_[k];
  }
  bound_ = true;
}

TfLiteStatus Subgraph::Invoke() {
  if (!ready())
    return interpreter_->Fail(kTfLiteError,
                              "Invoke before AllocateTensors: call AllocateTensors first (again after "
                              "every resize)");
  for (size_t i = 0; i < nodes_.size(); ++i) {
    Node& n = nodes_[i];
    if (n.folded) continue;
    if (packer_.busy()) packer_.WaitFor(n.packed_before_eval);
    OpContext ctx(this, &n, static_cast<int>(i));
    if (n.dynamic) {
      phase_ = Phase::kPrepareDynamic;
      n.scratch_bytes.clear();
      n.heap_scratch.clear();
      TfLiteStatus s = CheckSizeLimit(n, i, false);
      if (s == kTfLiteOk) s = n.kernel->Prepare(ctx);
      if (s == kTfLiteOk) s = CheckSizeLimit(n, i, true);
      if (s != kTfLiteOk) {
        phase_ = Phase::kIdle;
        return s;
      }
      // Anything not given memory by Prepare (outputs of an unchanged shape)
      // gets a heap block now.
      for (int out : n.outputs) {
        TfLiteTensor* t = tensor(out);
        if (t && t->storage != Storage::kDynamic && t->storage != Storage::kPersistent) {
          if (AllocateHeap(*t, Storage::kDynamic) != kTfLiteOk) {
            phase_ = Phase::kIdle;
            return kTfLiteError;
          }
        }
      }
      n.heap_scratch.resize(n.scratch_bytes.size());
      n.scratch.assign(n.scratch_bytes.size(), nullptr);
      for (size_t s2 = 0; s2 < n.scratch_bytes.size(); ++s2) {
        if (!n.heap_scratch[s2].Reserve(n.scratch_bytes[s2])) {
          phase_ = Phase::kIdle;
          return interpreter_->Fail(kTfLiteError, "out of memory for scratch of node %zu", i);
        }
        n.scratch[s2] = n.heap_scratch[s2].data();
      }
    }
    phase_ = Phase::kEval;
    TfLiteStatus s = n.kernel->Eval(ctx);
    phase_ = Phase::kIdle;
    if (s != kTfLiteOk) {
      if (interpreter_->last_error().empty())
        interpreter_->Fail(s, "%s (node %zu) failed", n.name.c_str(), i);
      return s;
    }
  }
  packer_.Finish();  // what is left (dropping pages), and the helper joined
  return kTfLiteOk;
}

size_t Subgraph::PersistentBytes() const {
  std::vector<TfLiteCffiAllocation> entries;
  Allocations(&entries);
  size_t total = 0;
  for (const TfLiteCffiAllocation& e : entries)
    if (e.kind != kTfLiteCffiAllocArenaTensor && e.kind != kTfLiteCffiAllocArenaScratch) total += e.bytes;
  return total;
}

void Subgraph::Allocations(std::vector<TfLiteCffiAllocation>* out) const {
  auto entry = [this](int kind, int tensor, int node, size_t bytes) {
    TfLiteCffiAllocation e;
    e.kind = kind;
    e.subgraph = index_;
    e.tensor = tensor;
    e.node = node;
    e.first_node = -1;
    e.last_node = -1;
    e.offset = 0;
    e.bytes = bytes;
    return e;
  };
  if (bound_) {
    const size_t begin = out->size();
    for (size_t k = 0; k < placements_.size(); ++k) {
      const Placement& p = placements_[k];
      TfLiteCffiAllocation e = p.tensor >= 0 ? entry(kTfLiteCffiAllocArenaTensor, p.tensor, -1, requests_[k].bytes)
                                             : entry(kTfLiteCffiAllocArenaScratch, -1, p.node, requests_[k].bytes);
      e.first_node = requests_[k].first;
      e.last_node = requests_[k].last;
      e.offset = region_offset_ + offsets_[k];
      out->push_back(e);
    }
    std::stable_sort(out->begin() + static_cast<std::ptrdiff_t>(begin), out->end(),
                     [](const TfLiteCffiAllocation& a, const TfLiteCffiAllocation& b) { return a.offset < b.offset; });
  }
  for (const TfLiteTensor& t : tensors_) {
    if (t.owned.capacity() == 0) continue;
    int kind = kTfLiteCffiAllocDynamicTensor;
    if (t.is_variable)
      kind = kTfLiteCffiAllocVariable;
    else if (t.storage == Storage::kPersistent || t.storage == Storage::kConstant)
      kind = kTfLiteCffiAllocFolded;  // computed at Prepare, or a model constant copied to align it
    out->push_back(entry(kind, t.index, -1, t.owned.capacity()));
  }
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const Node& n = nodes_[i];
    for (const AlignedBuffer& b : n.heap_scratch)
      if (b.capacity()) out->push_back(entry(kTfLiteCffiAllocDynamicScratch, -1, static_cast<int>(i), b.capacity()));
    const size_t owned = n.kernel ? n.kernel->OwnedBytes() : 0;
    if (owned) out->push_back(entry(kTfLiteCffiAllocKernelData, -1, static_cast<int>(i), owned));
  }
}

}  // namespace tfc
