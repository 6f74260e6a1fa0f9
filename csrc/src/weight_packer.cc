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
  if (pthread_create(&thread_, nullptr, Main, this) != 0) {  // no thread to be had: pack as we go
    helper_ = false;
    std::function<void()> queued = std::move(queue_.front());
    queue_.clear();
    queued();
    done_.fetch_add(1, std::memory_order_release);
    return;
  }
  running_ = true;
  Running().push_back(this);
  KeepOffThisCpu();
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
    if (kept_off && queue_.empty()) {  // idle: to be woken on any CPU, the caller's included
      kept_off = false;
      if (allowed_valid_) pthread_setaffinity_np(pthread_self(), sizeof(allowed_), &allowed_);
    }
    cv_.wait(lock, [this] { return !queue_.empty() || closed_; });
    if (queue_.empty()) return;  // closed, and all run
    std::function<void()> job = std::move(queue_.front());
    queue_.pop_front();
    in_job_ = true;
    lock.unlock();
    job();
    job = nullptr;  // its captures freed here, not under the lock
    lock.lock();
    in_job_ = false;
    done_.fetch_add(1, std::memory_order_release);
    cv_.notify_all();  // a caller in WaitFor, or a fork waiting for the queue to empty
  }
}

void WeightPacker::WaitFor(size_t count) {
  if (!running_) return;
  if (done_.load(std::memory_order_acquire) < count) {
    // The caller sleeps now, and its CPU is free: the helper may run there too (its own may be taken).
    if (allowed_valid_) pthread_setaffinity_np(thread_, sizeof(allowed_), &allowed_);
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return done_.load(std::memory_order_acquire) >= count; });
  }
  if (count >= added_) Finish();
}

void WeightPacker::Finish() {
  if (!running_) return;
  Close();
  pthread_join(thread_, nullptr);  // the helper returns once the queue is empty
  running_ = false;
  std::lock_guard<std::mutex> registry(Registry());
  std::vector<WeightPacker*>& running = Running();
  running.erase(std::remove(running.begin(), running.end(), this), running.end());
}

void WeightPacker::ForkPrepare() {
  Registry().lock();
  for (WeightPacker* p : Running()) {
    std::unique_lock<std::mutex> lock(p->mu_);
    p->cv_.wait(lock, [p] { return p->queue_.empty() && !p->in_job_; });
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
    // Fresh ones: the parent's may record the helper as a waiter, and would then hang a broadcast.
    new (&p->mu_) std::mutex();
    new (&p->cv_) std::condition_variable();
  }
  Running().clear();
  new (&Registry()) std::mutex();
}

// Keeps the helper off the CPU the caller runs on while it has jobs. Otherwise the scheduler may start
// it there, beside the caller, and they share that CPU for milliseconds while another idles (measured:
// the first invoke of mobilenet_v2 float32 off its CPU for 4 of 12.8 ms). It gets the caller's CPUs
// back when the caller waits for it (its own CPU may be taken meanwhile) and when it runs out of jobs.
void WeightPacker::KeepOffThisCpu() {
  CPU_ZERO(&allowed_);
  allowed_valid_ = sched_getaffinity(0, sizeof(allowed_), &allowed_) == 0;
  const int here = sched_getcpu();
  if (!allowed_valid_ || here < 0 || here >= CPU_SETSIZE) return;
  cpu_set_t set = allowed_;
  CPU_CLR(here, &set);
  if (CPU_COUNT(&set) > 0) pthread_setaffinity_np(thread_, sizeof(set), &set);
}

int WeightPacker::AvailableCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return 1;
  const int n = CPU_COUNT(&set);
  return n > 0 ? n : 1;
}

}  // namespace tfc
