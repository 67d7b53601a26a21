// A fixed pool of worker threads for data-parallel kernels.
//
// Run(fn) calls fn(thread_index, n_threads) once on each of n_threads threads (the caller is
// thread 0) and returns when all have finished. Kernels split their work by thread_index and
// never lock. Run() must not be called concurrently from two threads, nor from inside fn
// (thread-compatible, not thread-safe). Workers and the caller spin briefly before sleeping so
// that the many short matmuls of token generation do not pay a futex wake-up each.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

namespace enclave {

class ThreadPool {
 public:
  // n_threads >= 1 in total, including the calling thread.
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  void Run(const std::function<void(int thread_index, int n_threads)>& fn);

  // Splits [0, n) into size() contiguous ranges, each a multiple of `grain` except the last.
  static void SplitRange(int64_t n, int64_t grain, int thread_index, int n_threads,
                         int64_t* begin, int64_t* end);

 private:
  void WorkerLoop(int thread_index);

  const int n_threads_;
  std::vector<std::thread> workers_;
  const std::function<void(int, int)>* job_ = nullptr;  // valid while a Run() is in flight
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
};

}  // namespace enclave
