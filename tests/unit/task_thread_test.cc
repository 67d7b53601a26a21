// TaskThread (server/task_thread.h): tasks run in posting order on one thread other than the
// caller's; Drain waits for what was posted before it; the destructor runs what is queued.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "server/task_thread.h"

namespace enclave::server {
namespace {

TEST(TaskThread, RunsInOrderOffTheCallersThreadAndDrains) {
  std::vector<int> order;
  std::thread::id ran_on;
  {
    TaskThread t;
    for (int i = 0; i < 100; ++i) {
      t.Post([&order, &ran_on, i] {
        if (i == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));  // Drain must wait for it
        order.push_back(i);
        ran_on = std::this_thread::get_id();
      });
    }
    t.Drain();
    ASSERT_EQ(order.size(), 100u);
    for (int i = 0; i < 100; ++i) EXPECT_EQ(order[i], i);
    EXPECT_NE(ran_on, std::this_thread::get_id());
  }
}

TEST(TaskThread, DestructorRunsWhatIsQueued) {
  std::atomic<int> ran{0};
  {
    TaskThread t;
    for (int i = 0; i < 50; ++i) t.Post([&ran] { ++ran; });
  }
  EXPECT_EQ(ran.load(), 50);
}

}  // namespace
}  // namespace enclave::server
