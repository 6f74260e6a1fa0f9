// Packs a subgraph's constant weights on a helper thread while the rest of the
// subgraph prepares and its first Invoke runs the layers before them.
//
// A cold start (load, allocate, first invoke) spends most of its allocation
// writing packed copies of the weights (mobilenet_v1 float32: 17 MB, about 4
// ms), and its first invoke then reads them layer by layer, in the order they
// were packed. With a second core idle, that copy need not wait in between:
// the kernels hand their packing to this class as jobs, which run in the order
// given on one helper thread, and Invoke waits before each node only for the
// jobs added up to that node's Prepare.
//
// Used only from the thread that prepares and invokes the subgraph (the
// helper runs the jobs and nothing else). A job fills memory its kernel
// reserved in Prepare, reading constant tensors and what Prepare left in its
// kernel; it must not fail.
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
  // Until the first `count` jobs have run; joins the helper once it has run
  // them all.
  void WaitFor(size_t count);
  // Until every job has run; the helper is joined.
  void Finish();

  // The CPUs this process may run on (its affinity mask), at least 1.
  static int AvailableCpus();

 private:
  void Loop();
  static void* Main(void* self);
  void KeepOffThisCpu();
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
  std::condition_variable cv_;  // the helper waits for jobs, the caller for done_
  std::deque<std::function<void()>> queue_;  // under mu_
  bool closed_ = false;                      // under mu_
  bool in_job_ = false;                      // under mu_: the helper runs a job
  pthread_t thread_{};
  cpu_set_t allowed_;            // the caller's CPUs, when the helper started
  bool allowed_valid_ = false;
};

}  // namespace tfc
