#include "thread_pool.h"

#include <algorithm>
#include <chrono>
#include <thread>

namespace tfc {

namespace {

// How long a thread polls before it sleeps: longer than the gap between two ParallelFor calls of one
// invoke (a few microseconds), short enough not to burn a core between invokes.
constexpr auto kSpinTime = std::chrono::microseconds(100);

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__) || (defined(__ARM_ARCH) && __ARM_ARCH >= 7)
  __asm__ __volatile__("yield" ::: "memory");
#endif
}

// Polls `done()` for up to kSpinTime; true when it became true. Between rounds it yields the core: the
// scheduler may have put the thread it waits for on this one (seen after a pause between invokes: the
// woken worker joined the caller's core, and each of an invoke's ParallelFor calls then cost both
// threads' full spin, 7x the invoke's time); alone on its core, a yield returns at once.
template <class Pred>
bool SpinUntil(Pred done) {
  const auto deadline = std::chrono::steady_clock::now() + kSpinTime;
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (done()) return true;
      CpuRelax();
    }
    if (std::chrono::steady_clock::now() >= deadline) return done();
    std::this_thread::yield();
  }
}

// Chunk c of [0, n) split into `chunks` near-equal parts.
inline void ChunkBounds(int64_t n, int64_t chunks, int64_t c, int64_t* begin, int64_t* end) {
  *begin = n * c / chunks;
  *end = n * (c + 1) / chunks;
}

}  // namespace

ThreadPool::ThreadPool(int num_threads)
    : num_threads_(std::max(1, num_threads)), slots_(static_cast<size_t>(num_threads_)) {
  workers_.reserve(static_cast<size_t>(num_threads_ - 1));
  for (int i = 1; i < num_threads_; ++i) workers_.emplace_back([this, i] { WorkerLoop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_.store(true, std::memory_order_release);
    generation_.fetch_add(1, std::memory_order_release);
  }
  start_cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::Run(int64_t n, int64_t min_chunk, const RangeFn& fn) {
  if (n <= 0) return;
  const int64_t max_chunks = min_chunk > 0 ? (n + min_chunk - 1) / min_chunk : n;
  const int64_t chunks = std::min<int64_t>(max_chunks, int64_t{num_threads_} * kChunksPerThread);
  if (num_threads_ == 1 || chunks <= 1) {
    fn(0, n, 0);
    return;
  }
  uint64_t generation;
  {
    // Every worker finishes every generation or is left out of it before it
    // claimed it, so none can still be reading job_* when the next job is written.
    std::lock_guard<std::mutex> lock(mu_);
    job_ = &fn;
    job_n_ = n;
    job_chunks_ = chunks;
    for (int t = 0; t < num_threads_; ++t) {  // the chunks split over the threads as they are over [0, n)
      int64_t front, back;
      ChunkBounds(chunks, num_threads_, t, &front, &back);
      slots_[static_cast<size_t>(t)].bounds.store(
          static_cast<uint64_t>(front) | static_cast<uint64_t>(back) << 32, std::memory_order_relaxed);
    }
    pending_.store(num_threads_ - 1, std::memory_order_relaxed);
    generation = generation_.fetch_add(1, std::memory_order_release) + 1;
  }
  start_cv_.notify_all();
  RunChunks(fn, 0);
  // Every chunk is taken: a worker that has not claimed this job yet would only find nothing to do, so
  // it is left out rather than waited for (a sleeping thread can take a scheduler tick to wake).
  for (int w = 1; w < num_threads_; ++w) {
    std::atomic<uint64_t>& claim = slots_[static_cast<size_t>(w)].claim;
    uint64_t c = claim.load(std::memory_order_acquire);
    while ((c >> 1) < generation) {
      if (claim.compare_exchange_weak(c, generation << 1, std::memory_order_acq_rel, std::memory_order_acquire)) {
        pending_.fetch_sub(1, std::memory_order_relaxed);
        break;
      }
    }
  }
  auto all_done = [this] { return pending_.load(std::memory_order_acquire) == 0; };
  if (!SpinUntil(all_done)) {
    std::unique_lock<std::mutex> lock(mu_);
    done_cv_.wait(lock, all_done);
  }
  job_ = nullptr;
}

// Runs the chunks of the thread's own run, then those still left in the
// others' runs, taken from their backs, until none is left.
void ThreadPool::RunChunks(const RangeFn& fn, int thread) {
  const int64_t n = job_n_, chunks = job_chunks_;
  auto run = [&](int64_t c) {
    int64_t b, e;
    ChunkBounds(n, chunks, c, &b, &e);
    fn(b, e, thread);
  };
  // Takes one chunk of `r` (its front, else its back); -1 when it is empty.
  auto take = [](ThreadSlot& r, bool front) -> int64_t {
    uint64_t v = r.bounds.load(std::memory_order_relaxed);
    for (;;) {
      const uint64_t f = v & 0xFFFFFFFFu, b = v >> 32;
      if (f >= b) return -1;
      const uint64_t next = front ? (f + 1) | b << 32 : f | (b - 1) << 32;
      if (r.bounds.compare_exchange_weak(v, next, std::memory_order_relaxed))
        return static_cast<int64_t>(front ? f : b - 1);
    }
  };
  for (int64_t c; (c = take(slots_[static_cast<size_t>(thread)], true)) >= 0;) run(c);
  for (int k = 1; k < num_threads_; ++k) {
    ThreadSlot& other = slots_[static_cast<size_t>((thread + k) % num_threads_)];
    for (int64_t c; (c = take(other, false)) >= 0;) run(c);
  }
}

void ThreadPool::WorkerLoop(int worker) {
  uint64_t seen = 0;
  for (;;) {
    auto has_news = [&] { return generation_.load(std::memory_order_acquire) != seen; };
    if (!SpinUntil(has_news)) {
      std::unique_lock<std::mutex> lock(mu_);
      start_cv_.wait(lock, has_news);
    }
    if (stop_.load(std::memory_order_acquire)) return;
    seen = generation_.load(std::memory_order_acquire);
    // Claim the job, unless the caller has already left this worker out of it.
    std::atomic<uint64_t>& claim = slots_[static_cast<size_t>(worker)].claim;
    uint64_t c = claim.load(std::memory_order_acquire);
    bool joined = false;
    while (!joined && (c >> 1) < seen)
      joined = claim.compare_exchange_weak(c, seen << 1 | 1, std::memory_order_acq_rel, std::memory_order_acquire);
    if (!joined) continue;
    if (const RangeFn* job = job_) RunChunks(*job, worker);
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard<std::mutex> lock(mu_);  // the caller may be about to sleep: wake it under the lock
      done_cv_.notify_one();
    }
  }
}

}  // namespace tfc
