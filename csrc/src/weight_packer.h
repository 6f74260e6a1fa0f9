// Packs a subgraph's constant weights on a helper thread while the rest of the
// subgraph prepares and its first Invoke runs the layers before them.
//
// A cold start (load, allocate, first invoke) spends most of its allocation
// writing packed copies of the weights (mobilenet_v1 float32: 17 MB, about 4
// ms), and its first invoke then reads them layer by layer, in the order they
// were packed. With a second core idle, that copy need not wait in between:
// the kernels hand their packing to this class as jobs, which a helper thread
// starts in the order given. Before each node, Invoke needs only the jobs added
// up to that node's Prepare: it runs itself those the helper has not started,
// and waits for the one the helper runs.
//
// Used only from the thread that prepares and invokes the subgraph (the
// helper runs the jobs and nothing else). A job fills memory its kernel
// reserved in Prepare, reading constant tensors and what Prepare left in its
// kernel; it must not fail, nor read what another job writes (two may run at
// once, one on each thread).
//
// fork() waits for every helper's queued jobs (a pthread_atfork handler):
// a child (a Python multiprocessing worker forked after allocate_tensors())
// gets the weights packed and no helper to wait for.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>

#include <pthread.h>
#include <sched.h>

namespace tfc {

class WeightPacker {
 public:
  WeightPacker() = default;
  ~WeightPacker() { Finish(); }
  WeightPacker(const WeightPacker&) = delete;
  WeightPacker& operator=(const WeightPacker&) = delete;

  // Starts a Prepare's jobs (after Finish): on the helper when `helper`,
  // else each runs inside Add.
  void Begin(bool helper);
  // Whether a helper pays for a Prepare: a core is left idle by the caller's
  // threads, and there are enough weights to pack (starting and joining a
  // thread costs about what packing 0.25 MB does).
  static bool Worthwhile(int threads, size_t weight_bytes) {
    return weight_bytes >= kHelperMinBytes && AvailableCpus() > threads;
  }
  static constexpr size_t kHelperMinBytes = size_t{1} << 20;
  // Runs `job` now, or queues it for the helper (started by the first job).
  void Add(std::function<void()> job);
  // How many jobs were added since Begin: a node waits for the count after
  // its Prepare.
  size_t added() const { return added_; }
  // No more jobs this Prepare: the helper ends when it has run them.
  void Close();
  // Whether the helper may still be running jobs (then WaitFor before reading
  // what they write).
  bool busy() const { return running_; }
  // Until the first `count` jobs have run (running here those the helper has
  // not started); joins the helper once they are all of them.
  void WaitFor(size_t count);
  // Until every job has run (those not started, here); the helper is joined.
  void Finish();

  // The CPUs this process may run on (its affinity mask), at least 1.
  static int AvailableCpus();

 private:
  void Loop();
  static void* Main(void* self);
  // Sets attr's CPUs to the caller's but the one it runs on; false when there is none left (or no
  // affinity to be had).
  bool KeepOffThisCpu(pthread_attr_t* attr);
  // The helper: runs on the CPUs it may use but `cpu` from now on; false when it cannot.
  bool LeaveCpu(int cpu);
  // The caller, holding `lock` on mu_: runs the jobs below `count` no thread has started.
  void RunHere(size_t count, std::unique_lock<std::mutex>& lock);
  // pthread_atfork: Prepare waits until every running helper is idle and keeps it so (holding its mutex);
  // Parent lets them go on; Child forgets them (the helpers do not exist in the child).
  static void ForkPrepare();
  static void ForkParent();
  static void ForkChild();

  bool helper_ = false;   // Begin's choice
  bool running_ = false;  // a helper thread exists (not yet joined)
  size_t added_ = 0;      // jobs added since Begin, run inline or queued
  std::atomic<size_t> done_{0};  // jobs run (inline ones included)
  std::mutex mu_;
  std::condition_variable cv_;  // the helper waits for jobs, the caller for the helper's job
  // Every job since Begin, under mu_ until the helper is joined. The helper runs them in place and
  // frees nothing: a thread's first free() or malloc() makes glibc map it a malloc arena, and the
  // helper, preempted while it holds the address-space lock, held up the caller's next brk() or
  // mmap() (measured: allocate_tensors 6 ms instead of 0.7 in some cold starts beside numpy's
  // spinning BLAS thread). The caller frees them in Finish.
  std::deque<std::function<void()>> queue_;
  size_t next_ = 0;                          // under mu_: the first job not yet started
  bool closed_ = false;                      // under mu_
  static constexpr size_t kNoJob = ~size_t{0};
  size_t helper_job_ = kNoJob;   // under mu_: the job the helper runs
  bool caller_job_ = false;      // under mu_: the caller runs one (RunHere)
  bool caller_waits_ = false;    // under mu_: the caller sleeps in WaitFor, the helper may use its CPU
  int caller_cpu_ = -1;          // under mu_: the CPU it sleeps on
  pthread_t thread_{};
  cpu_set_t allowed_;            // the caller's CPUs, when the helper started
  bool allowed_valid_ = false;
};

}  // namespace tfc
