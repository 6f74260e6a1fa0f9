#include "interpreter.h"

#include <cstdio>

#include "custom_op.h"

namespace tfc {

std::unique_ptr<Interpreter> Interpreter::Create(std::shared_ptr<Model> model, const InterpreterOptions& options,
                                                 std::string* error) {
  if (options.has_delegate) {
    *error =
        "delegates are not supported by tflite-cffi: remove experimental_delegates / "
        "TfLiteInterpreterOptionsAddDelegate (every op runs on its own CPU kernels)";
    return nullptr;
  }
  std::unique_ptr<Interpreter> interp(new Interpreter());
  interp->model_ = std::move(model);
  interp->options_ = options;
  // -1 means "the library chooses": one thread, as TensorFlow Lite's builtin kernels do.
  int threads = options.num_threads < 1 ? 1 : options.num_threads;
  if (threads > 64) threads = 64;
  interp->pool_.reset(new ThreadPool(threads));
  const fb::Model* m = interp->model_->fb();
  const uint32_t n = m->subgraphs()->size();
  interp->subgraphs_.reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    interp->subgraphs_.emplace_back(new Subgraph(interp.get(), static_cast<int>(i)));
    if (interp->subgraphs_.back()->Build(*interp->model_, m->subgraphs()->Get(i)) != kTfLiteOk) {
      *error = interp->last_error_;
      return nullptr;
    }
  }
  if (const auto* sigs = m->signature_defs()) {
    for (uint32_t i = 0; i < sigs->size(); ++i) {
      const fb::SignatureDef* sd = sigs->Get(i);
      SignatureInfo info;
      info.key = sd->signature_key() ? sd->signature_key()->str() : std::string();
      info.subgraph = static_cast<int>(sd->subgraph_index());
      if (sd->inputs())
        for (const fb::TensorMap* tm : *sd->inputs())
          info.inputs.emplace_back(tm->name()->str(), static_cast<int>(tm->tensor_index()));
      if (sd->outputs())
        for (const fb::TensorMap* tm : *sd->outputs())
          info.outputs.emplace_back(tm->name()->str(), static_cast<int>(tm->tensor_index()));
      interp->signatures_.push_back(std::move(info));
    }
  }
  return interp;
}

// Kernels go first, while everything they may call back into (the last error, the reporter, other subgraphs)
// still exists: user operators' free callbacks run here.
Interpreter::~Interpreter() {
  for (auto& g : subgraphs_)
    if (g) g->ReleaseKernels();
}

std::shared_ptr<const TfLiteOperator> Interpreter::FindOperator(int32_t builtin_code, const std::string& name,
                                                                int version) const {
  for (auto it = options_.operators.rbegin(); it != options_.operators.rend(); ++it)
    if (*it && OperatorMatches(**it, builtin_code, name, version)) return *it;
  return nullptr;
}

void Interpreter::Report(const char* message) {
  if (options_.reporter && message) options_.reporter(options_.reporter_data, message);
}

bool Interpreter::Enter(std::unique_lock<std::mutex>& lock, const char* what) {
  if (call_thread_.load() == std::this_thread::get_id()) {
    Fail(kTfLiteError, "%s was called from inside an operator callback of the same interpreter (an operator "
         "may not run, allocate, resize or reset the interpreter that runs it)", what);
    return false;
  }
  lock = std::unique_lock<std::mutex>(call_mu_);
  call_thread_.store(std::this_thread::get_id());
  return true;
}

TfLiteStatus Interpreter::FailV(TfLiteStatus status, const char* prefix, const char* format, va_list args) {
  char buf[1024];
  vsnprintf(buf, sizeof(buf), format, args);
  last_error_ = std::string(prefix ? prefix : "") + buf;
  if (options_.reporter) options_.reporter(options_.reporter_data, last_error_.c_str());
  return status;
}

TfLiteStatus Interpreter::Fail(TfLiteStatus status, const char* format, ...) {
  va_list args;
  va_start(args, format);
  FailV(status, nullptr, format, args);
  va_end(args);
  return status;
}

// Each serialized call: Enter, and `call_thread_` back to "none" on every return.
namespace {
struct Leave {
  std::atomic<std::thread::id>& id;
  ~Leave() { id.store(std::thread::id()); }
};
}  // namespace

TfLiteStatus Interpreter::ResizeInput(int index, int tensor_index, const std::vector<int32_t>& dims) {
  std::unique_lock<std::mutex> lock;
  if (!Enter(lock, "ResizeInputTensor")) return kTfLiteError;
  Leave leave{call_thread_};
  Subgraph* g = subgraph(index);
  if (!g) return Fail(kTfLiteError, "no subgraph %d", index);
  return g->ResizeInput(tensor_index, dims);
}

TfLiteStatus Interpreter::AllocateTensors(int index) {
  std::unique_lock<std::mutex> lock;
  if (!Enter(lock, "AllocateTensors")) return kTfLiteError;
  Leave leave{call_thread_};
  ClearError();
  Subgraph* g = subgraph(index);
  if (!g) return Fail(kTfLiteError, "no subgraph %d", index);
  TFC_OK(g->Prepare());
  return PlanAndBind();
}

TfLiteStatus Interpreter::PlanAndBind() {
  std::vector<size_t> region(subgraphs_.size(), 0);
  size_t total = 0;
  for (size_t i = 0; i < subgraphs_.size(); ++i) {
    if (!subgraphs_[i]->prepared()) continue;
    region[i] = subgraphs_[i]->Plan(options_.preserve_all_tensors);
    total += (region[i] + AlignedBuffer::kAlign - 1) / AlignedBuffer::kAlign * AlignedBuffer::kAlign;
  }
  if (options_.arena_limit && total > options_.arena_limit) {
    for (auto& g : subgraphs_) g->Invalidate();
    return Fail(kTfLiteError, "the model needs an arena of %zu bytes, over the limit of %zu bytes set in the "
                "interpreter options (raise or remove the arena limit)", total,
                options_.arena_limit);
  }
  if (!arena_.Reserve(total)) {
    for (auto& g : subgraphs_) g->Invalidate();
    return Fail(kTfLiteError, "out of memory allocating an arena of %zu bytes", total);
  }
  arena_bytes_ = total;
  uint8_t* base = static_cast<uint8_t*>(arena_.data());
  size_t offset = 0;
  for (size_t i = 0; i < subgraphs_.size(); ++i) {
    if (!subgraphs_[i]->prepared()) continue;
    subgraphs_[i]->Bind(base, offset);
    offset += (region[i] + AlignedBuffer::kAlign - 1) / AlignedBuffer::kAlign * AlignedBuffer::kAlign;
  }
  return kTfLiteOk;
}

TfLiteStatus Interpreter::Invoke(int index) {
  std::unique_lock<std::mutex> lock;
  if (!Enter(lock, "Invoke")) return kTfLiteError;
  Leave leave{call_thread_};
  ClearError();
  Subgraph* g = subgraph(index);
  if (!g) return Fail(kTfLiteError, "no subgraph %d", index);
  return g->Invoke();
}

void Interpreter::ResetVariables() {
  std::unique_lock<std::mutex> lock;
  if (!Enter(lock, "ResetVariableTensors")) return;
  Leave leave{call_thread_};
  for (auto& g : subgraphs_) g->ResetVariables();
}

size_t Interpreter::pooled_bytes() const {
  size_t total = 0;
  for (const auto& g : subgraphs_) total += g->PooledBytes();
  return total;
}

size_t Interpreter::persistent_bytes() const {
  size_t total = 0;
  for (const auto& g : subgraphs_) total += g->PersistentBytes();
  return total;
}

std::vector<TfLiteCffiAllocation> Interpreter::Allocations() {
  std::lock_guard<std::mutex> lock(call_mu_);
  std::vector<TfLiteCffiAllocation> arena, persistent;
  for (const auto& g : subgraphs_) {
    std::vector<TfLiteCffiAllocation> entries;
    g->Allocations(&entries);
    for (const TfLiteCffiAllocation& e : entries)
      (e.kind == kTfLiteCffiAllocArenaTensor || e.kind == kTfLiteCffiAllocArenaScratch ? arena : persistent)
          .push_back(e);
  }
  arena.insert(arena.end(), persistent.begin(), persistent.end());
  return arena;
}

}  // namespace tfc
