// A small fixed thread pool for data-parallel kernels.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace tfc {

// A non-owning reference to a callable `void(int64_t begin, int64_t end)`.
// Lets ParallelFor take lambdas without allocating.
class RangeFn {
 public:
  template <class F>
  RangeFn(F& f) : obj_(&f), call_([](void* o, int64_t b, int64_t e) { (*static_cast<F*>(o))(b, e); }) {}
  void operator()(int64_t begin, int64_t end) const { call_(obj_, begin, end); }

 private:
  void* obj_;
  void (*call_)(void*, int64_t, int64_t);
};

class ThreadPool {
 public:
  // num_threads counts the calling thread: 1 means no worker threads.
  explicit ThreadPool(int num_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const { return num_threads_; }

  // Splits [0, n) into at most num_threads() contiguous chunks of at least
  // `min_chunk` items and runs fn(begin, end) on each, the calling thread
  // taking one. Returns when all are done. Never allocates.
  template <class F>
  void ParallelFor(int64_t n, int64_t min_chunk, F&& fn) {
    RangeFn ref(fn);
    Run(n, min_chunk, ref);
  }

 private:
  void Run(int64_t n, int64_t min_chunk, const RangeFn& fn);
  void WorkerLoop(int worker);

  int num_threads_;
  std::vector<std::thread> workers_;
  // Handing out a job: the caller writes job_* and pending_, then bumps generation_ (release). Workers and
  // the caller first poll the atomics for a short while (a kernel's next ParallelFor usually comes within
  // microseconds), then sleep on the condition variables; mu_ orders going to sleep against waking up.
  std::mutex mu_;
  std::condition_variable start_cv_;
  std::condition_variable done_cv_;
  const RangeFn* job_ = nullptr;
  int64_t job_n_ = 0;
  int job_chunks_ = 0;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};  // workers yet to acknowledge the current generation (every worker counts)
  std::atomic<bool> stop_{false};
};

}  // namespace tfc
