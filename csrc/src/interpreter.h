// The interpreter: a model's subgraphs, one arena, a thread pool, and the
// last error message.
#pragma once

#include <atomic>
#include <cstdarg>
#include <memory>
#include <mutex>
#include <thread>
#include <string>
#include <vector>

#include "model.h"
#include "subgraph.h"
#include "thread_pool.h"

namespace tfc {

struct InterpreterOptions {
  int num_threads = -1;
  bool preserve_all_tensors = false;
  size_t arena_limit = 0;
  // 8-bit convolutions (CONV_2D, DEPTHWISE_CONV_2D, TRANSPOSE_CONV) requantize
  // with TensorFlow Lite's builtin kernels' fixed-point arithmetic (their
  // results bit for bit) instead of the float scale the XNNPACK delegate uses.
  bool fixed_point_requantization = false;
  bool has_delegate = false;
  void (*reporter)(void* user_data, const char* message) = nullptr;
  void* reporter_data = nullptr;
  // User-registered operators (TfLiteInterpreterOptionsAddOperator), copied at
  // TfLiteInterpreterCreate; looked up before our own kernels, last one first.
  std::vector<std::shared_ptr<const TfLiteOperator>> operators;
};

struct SignatureInfo {
  std::string key;
  int subgraph = 0;
  std::vector<std::pair<std::string, int>> inputs;   // name, tensor index
  std::vector<std::pair<std::string, int>> outputs;
};

class Interpreter {
 public:
  // Null with *error set when the model cannot be run at all.
  static std::unique_ptr<Interpreter> Create(std::shared_ptr<Model> model, const InterpreterOptions& options,
                                             std::string* error);
  ~Interpreter();

  const Model& model() const { return *model_; }
  int subgraph_count() const { return static_cast<int>(subgraphs_.size()); }
  Subgraph* subgraph(int i) {
    return (i >= 0 && i < subgraph_count()) ? subgraphs_[static_cast<size_t>(i)].get() : nullptr;
  }
  Subgraph& primary() { return *subgraphs_[0]; }
  const std::vector<SignatureInfo>& signatures() const { return signatures_; }

  TfLiteStatus ResizeInput(int subgraph, int tensor_index, const std::vector<int32_t>& dims);
  // Prepares subgraph `index` (and the subgraphs it calls), then plans and
  // binds the arena of every prepared subgraph.
  TfLiteStatus AllocateTensors(int index = 0);
  TfLiteStatus Invoke(int index = 0);
  void ResetVariables();

  ThreadPool& pool() { return *pool_; }
  int num_threads() const { return pool_->num_threads(); }
  size_t arena_bytes() const { return arena_bytes_; }
  size_t persistent_bytes() const;
  size_t pooled_bytes() const;  // of persistent_bytes, in the subgraphs' weight pools
  // The memory report (TfLiteCffiInterpreterGetAllocations): arena blocks of
  // every bound subgraph by offset, then persistent blocks.
  std::vector<TfLiteCffiAllocation> Allocations();
  const void* arena_base() const { return arena_.data(); }

  // Error plumbing: the message of the last failure.
  const std::string& last_error() const { return last_error_; }
  void ClearError() { last_error_.clear(); }
  TfLiteStatus Fail(TfLiteStatus status, const char* format, ...) __attribute__((format(printf, 3, 4)));
  const InterpreterOptions& options() const { return options_; }
  // The user-registered operator for a node, or null.
  std::shared_ptr<const TfLiteOperator> FindOperator(int32_t builtin_code, const std::string& name,
                                                     int version) const;
  // Passes a message to the error reporter only (not an error of the call).
  void Report(const char* message);
  TfLiteStatus FailV(TfLiteStatus status, const char* prefix, const char* format, va_list args);

 private:
  Interpreter() = default;
  TfLiteStatus PlanAndBind();
  // Takes call_mu_ for one of the serialized calls; refuses (false, with the
  // last error set) a call from inside an operator callback of this
  // interpreter on the same thread, which would deadlock.
  bool Enter(std::unique_lock<std::mutex>& lock, const char* what);

  std::shared_ptr<Model> model_;
  InterpreterOptions options_;
  // Serializes ResizeInput / AllocateTensors / Invoke / ResetVariables: a second thread calling one of
  // them waits for the first (the arena may be replaced underneath a running Invoke otherwise).
  std::mutex call_mu_;
  std::atomic<std::thread::id> call_thread_{};  // the thread holding call_mu_
  std::vector<std::unique_ptr<Subgraph>> subgraphs_;
  std::vector<SignatureInfo> signatures_;
  std::unique_ptr<ThreadPool> pool_;
  AlignedBuffer arena_;
  size_t arena_bytes_ = 0;
  std::string last_error_;
};

}  // namespace tfc
