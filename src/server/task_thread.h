// TaskThread: one thread that runs posted tasks in order. The server gives it work that may take
// long — reading and verifying audit files for the /admin/audit routes — so that the HTTP I/O
// threads, which every connection shares, never wait on it. Thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace enclave::server {

class TaskThread {
 public:
  TaskThread();
  ~TaskThread();  // runs what is queued, then stops
  TaskThread(const TaskThread&) = delete;
  TaskThread& operator=(const TaskThread&) = delete;

  void Post(std::function<void()> task);
  // Returns once every task posted before the call has run.
  void Drain();

 private:
  void Run();

  std::mutex mu_;
  std::condition_variable work_, done_;
  std::deque<std::function<void()>> tasks_;
  uint64_t posted_ = 0, finished_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace enclave::server
