#include "server/task_thread.h"

#include <utility>

namespace enclave::server {

TaskThread::TaskThread() { thread_ = std::thread([this] { Run(); }); }

TaskThread::~TaskThread() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  work_.notify_all();
  thread_.join();
}

void TaskThread::Post(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    tasks_.push_back(std::move(task));
    ++posted_;
  }
  work_.notify_one();
}

void TaskThread::Drain() {
  std::unique_lock<std::mutex> lock(mu_);
  const uint64_t target = posted_;
  done_.wait(lock, [this, target] { return finished_ >= target; });
}

void TaskThread::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    work_.wait(lock, [this] { return stop_ || !tasks_.empty(); });
    if (tasks_.empty()) return;
    std::function<void()> task = std::move(tasks_.front());
    tasks_.pop_front();
    lock.unlock();
    task();
    lock.lock();
    ++finished_;
    done_.notify_all();
  }
}

}  // namespace enclave::server
