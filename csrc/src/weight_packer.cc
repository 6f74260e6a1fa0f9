#include "weight_packer.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <new>
#include <utility>
#include <vector>

namespace tfc {

namespace {

// The packers whose helper runs (for the fork handlers).
std::mutex& Registry() {
  static std::mutex mu;
  return mu;
}
std::vector<WeightPacker*>& Running() {
  static std::vector<WeightPacker*> running;
  return running;
}

}  // namespace

void WeightPacker::Begin(bool helper) {
  Finish();
  helper_ = helper;
  added_ = 0;
  done_.store(0, std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = false;
}

void WeightPacker::Add(std::function<void()> job) {
  ++added_;
  if (!helper_) {
    job();
    done_.fetch_add(1, std::memory_order_release);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(job));
  }
  if (running_) {
    cv_.notify_all();
    return;
  }
  static std::once_flag at_fork;
  std::call_once(at_fork, [] { pthread_atfork(ForkPrepare, ForkParent, ForkChild); });
  std::lock_guard<std::mutex> registry(Registry());
  // Started off the caller's CPU (see KeepOffThisCpu); without that if the CPU set is refused.
  pthread_attr_t attr;
  int created = -1;
  if (pthread_attr_init(&attr) == 0) {
    if (KeepOffThisCpu(&attr)) created = pthread_create(&thread_, &attr, Main, this);
    pthread_attr_destroy(&attr);
  }
  if (created != 0) created = pthread_create(&thread_, nullptr, Main, this);
  if (created != 0) {  // no thread to be had: pack as we go
    helper_ = false;
    queue_.front()();
    queue_.clear();
    done_.fetch_add(1, std::memory_order_release);
    return;
  }
  running_ = true;
  Running().push_back(this);
}

void* WeightPacker::Main(void* self) {
  static_cast<WeightPacker*>(self)->Loop();
  return nullptr;
}

void WeightPacker::Close() {
  if (!running_) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
  }
  cv_.notify_all();
}

void WeightPacker::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  bool kept_off = true;
  for (;;) {
    if (kept_off && next_ == queue_.size()) {  // idle: to be woken on any CPU, the caller's included
      kept_off = false;
      if (allowed_valid_) pthread_setaffinity_np(pthread_self(), sizeof(allowed_), &allowed_);
    }
    cv_.wait(lock, [this] { return next_ < queue_.size() || closed_; });
    if (next_ == queue_.size()) return;  // closed, and all run
    helper_job_ = next_++;
    // Run in place: the caller's push_back leaves references to a deque's elements valid.
    std::function<void()>& job = queue_[helper_job_];
    lock.unlock();
    job();
    lock.lock();
    helper_job_ = kNoJob;
    done_.fetch_add(1, std::memory_order_release);
    if (caller_waits_) {
      // The caller sleeps in WaitFor until this job is done, and let this thread onto its CPU: leave
      // that CPU before waking it, or it waits there, runnable, for this thread's time slice to end
      // (measured: 3.5 ms of a 27 ms first invoke while numpy's BLAS thread held the other CPU).
      caller_waits_ = false;
      if (LeaveCpu(caller_cpu_))
        kept_off = true;
      else
        pthread_setaffinity_np(pthread_self(), sizeof(allowed_), &allowed_);
    }
    cv_.notify_all();  // a caller in WaitFor, or a fork waiting for the queue to empty
  }
}

void WeightPacker::RunHere(size_t count, std::unique_lock<std::mutex>& lock) {
  while (next_ < count && next_ < queue_.size()) {
    std::function<void()>& job = queue_[next_++];
    caller_job_ = true;
    lock.unlock();
    job();
    lock.lock();
    caller_job_ = false;
    done_.fetch_add(1, std::memory_order_release);
    cv_.notify_all();  // a fork waiting for the queue to empty
  }
}

void WeightPacker::WaitFor(size_t count) {
  if (!running_) return;
  // The jobs are claimed in order, by the helper or here, and a caller returns from here only when
  // the first `count` have all run: so `done_` >= count says they have.
  if (done_.load(std::memory_order_acquire) < count) {
    std::unique_lock<std::mutex> lock(mu_);
    // What the helper has not started runs here: waiting would leave this CPU idle, and the helper
    // may share its own with another busy thread.
    RunHere(count, lock);
    if (helper_job_ < count) {
      // The caller sleeps now, and its CPU is free: the helper may finish its job there (its own may
      // be taken, by numpy's BLAS thread that spins for 100 ms after `import numpy`), and leaves it
      // again before waking the caller (Loop).
      caller_cpu_ = sched_getcpu();
      caller_waits_ = allowed_valid_ && caller_cpu_ >= 0 && caller_cpu_ < CPU_SETSIZE;
      if (caller_waits_) pthread_setaffinity_np(thread_, sizeof(allowed_), &allowed_);
      cv_.wait(lock, [&] { return helper_job_ >= count; });
      caller_waits_ = false;
    }
  }
  if (count >= added_) Finish();
}

void WeightPacker::Finish() {
  if (running_) {
    Close();
    {
      std::unique_lock<std::mutex> lock(mu_);
      RunHere(queue_.size(), lock);
    }
    pthread_join(thread_, nullptr);  // the helper returns once every job has run
    running_ = false;
    std::lock_guard<std::mutex> registry(Registry());
    std::vector<WeightPacker*>& running = Running();
    running.erase(std::remove(running.begin(), running.end(), this), running.end());
  }
  queue_.clear();  // the jobs' captures, freed on this thread (see Loop)
  next_ = 0;
}

void WeightPacker::ForkPrepare() {
  Registry().lock();
  for (WeightPacker* p : Running()) {
    std::unique_lock<std::mutex> lock(p->mu_);
    p->cv_.wait(lock,
                [p] { return p->next_ == p->queue_.size() && p->helper_job_ == kNoJob && !p->caller_job_; });
    lock.release();  // held until ForkParent / ForkChild
  }
}

void WeightPacker::ForkParent() {
  for (WeightPacker* p : Running()) p->mu_.unlock();
  Registry().unlock();
}

void WeightPacker::ForkChild() {
  for (WeightPacker* p : Running()) {
    p->running_ = false;  // every job has run; the helper is the parent's alone
    pthread_detach(p->thread_);  // never joined here (for ThreadSanitizer, a leaked thread otherwise)
    // A fresh one: the parent's may record the helper as a waiter, and would then hang a broadcast.
    new (&p->cv_) std::condition_variable();
    // Unlocked, not made anew: a mutex built over a held one is still held for ThreadSanitizer, which
    // then reports the child's next lock order as a deadlock.
    p->mu_.unlock();
  }
  Running().clear();
  Registry().unlock();
}

// Keeps the helper off the CPU the caller runs on while it has jobs. Otherwise the scheduler may start
// it there, beside the caller, and they share that CPU for milliseconds while another idles (measured:
// the first invoke of mobilenet_v2 float32 off its CPU for 4 of 12.8 ms). Set before the helper starts,
// so that it never runs there. It gets the caller's CPUs back while the caller waits for its job (its own
// CPU may be taken meanwhile), leaving the caller's again after it, and for good when it runs out of jobs.
bool WeightPacker::KeepOffThisCpu(pthread_attr_t* attr) {
  CPU_ZERO(&allowed_);
  allowed_valid_ = sched_getaffinity(0, sizeof(allowed_), &allowed_) == 0;
  const int here = sched_getcpu();
  if (!allowed_valid_ || here < 0 || here >= CPU_SETSIZE) return false;
  cpu_set_t set = allowed_;
  CPU_CLR(here, &set);
  return CPU_COUNT(&set) > 0 && pthread_attr_setaffinity_np(attr, sizeof(set), &set) == 0;
}

bool WeightPacker::LeaveCpu(int cpu) {
  if (!allowed_valid_ || cpu < 0 || cpu >= CPU_SETSIZE) return false;
  cpu_set_t set = allowed_;
  CPU_CLR(cpu, &set);
  return CPU_COUNT(&set) > 0 && pthread_setaffinity_np(pthread_self(), sizeof(set), &set) == 0;
}

int WeightPacker::AvailableCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return 1;
  const int n = CPU_COUNT(&set);
  return n > 0 ? n : 1;
}

}  // namespace tfc
