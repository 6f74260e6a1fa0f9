// A small fixed thread pool for data-parallel kernels.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace tfc {

// A non-owning reference to a callable `void(int64_t begin, int64_t end)` or
// `void(int64_t begin, int64_t end, int thread)`. Lets ParallelFor take
// lambdas without allocating.
class RangeFn {
 public:
  template <class F>
  RangeFn(F& f) : obj_(&f), call_(&Call<F>) {}
  void operator()(int64_t begin, int64_t end, int thread) const { call_(obj_, begin, end, thread); }

 private:
  template <class F>
  static void Call(void* o, int64_t begin, int64_t end, int thread) {
    F& f = *static_cast<F*>(o);
    if constexpr (std::is_invocable_v<F&, int64_t, int64_t, int>)
      f(begin, end, thread);
    else
      f(begin, end);
  }

  void* obj_;
  void (*call_)(void*, int64_t, int64_t, int);
};

class ThreadPool {
 public:
  // num_threads counts the calling thread: 1 means no worker threads.
  explicit ThreadPool(int num_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const { return num_threads_; }

  // Splits [0, n) into equal contiguous chunks of at least `min_chunk` items
  // (at most kChunksPerThread per thread) and runs fn on each; the calling
  // thread works too. Each thread starts on its own run of chunks, front to
  // back; one that runs out takes the others' last chunks, so a thread slowed
  // down (its core shared, a late wake-up) ends up with fewer. The chunks
  // depend only on n, min_chunk and num_threads(), never on timing. A worker
  // still asleep when the last chunk is taken is not waited for.
  // fn(begin, end) or fn(begin, end, thread): `thread` in [0, num_threads())
  // is the running thread (0 the caller), for per-thread scratch; no two
  // chunks run on one thread at once. Returns when all are done. Never
  // allocates.
  template <class F>
  void ParallelFor(int64_t n, int64_t min_chunk, F&& fn) {
    RangeFn ref(fn);
    Run(n, min_chunk, ref);
  }

  static constexpr int kChunksPerThread = 4;

 private:
  void Run(int64_t n, int64_t min_chunk, const RangeFn& fn);
  void WorkerLoop(int worker);
  void RunChunks(const RangeFn& fn, int thread);

  // One thread's share of the current job. bounds: its run of chunks [front, back), packed as
  // front | back << 32; its owner takes from the front, the others from the back. claim (workers): the
  // last generation the worker took part in (g << 1 | 1) or the caller gave up on it for (g << 1); the
  // worker and the caller race for it with compare-and-swap, so a worker that has not woken up by the time
  // the chunks are all taken is left out instead of waited for, and never reads that job.
  struct alignas(64) ThreadSlot {
    std::atomic<uint64_t> bounds{0};
    std::atomic<uint64_t> claim{0};
  };

  int num_threads_;
  std::vector<std::thread> workers_;
  // Handing out a job: the caller writes job_* and pending_, then bumps generation_ (release). Workers and
  // the caller first poll the atomics for a short while (a kernel's next ParallelFor usually comes within
  // microseconds), yielding the core now and then in case the thread they wait for shares it, then sleep
  // on the condition variables; mu_ orders going to sleep against waking up.
  std::mutex mu_;
  std::condition_variable start_cv_;
  std::condition_variable done_cv_;
  const RangeFn* job_ = nullptr;
  int64_t job_n_ = 0;
  int64_t job_chunks_ = 0;
  std::vector<ThreadSlot> slots_;  // one per thread
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};  // workers yet to finish the current generation or be left out of it
  std::atomic<bool> stop_{false};
};

}  // namespace tfc
