#include "node/server/responder.h"

#include <gtest/gtest.h>
#include <pthread.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace shardkv::server {
namespace {

std::string ThreadName() {
  char name[16] = {};
  pthread_getname_np(pthread_self(), name, sizeof(name));
  return name;
}

TEST(ResponderTest, RunsTasksInPostedOrderOnItsOwnThread) {
  Responder responder;
  std::vector<int> ran;  // only touched by the responder thread
  std::vector<std::string> names;
  for (int batch = 0; batch < 100; ++batch) {
    std::vector<Responder::Task> tasks;
    for (int i = 0; i < 10; ++i) {
      tasks.push_back([&, n = batch * 10 + i] {
        ran.push_back(n);
        if (n == 0) names.push_back(ThreadName());
      });
    }
    responder.Post(&tasks);
    EXPECT_TRUE(tasks.empty());
  }
  responder.Stop();  // drains
  ASSERT_EQ(ran.size(), 1000u);
  for (int n = 0; n < 1000; ++n) ASSERT_EQ(ran[n], n);
  ASSERT_EQ(names.size(), 1u);
  EXPECT_EQ(names[0], "responder");
}

TEST(ResponderTest, StopRunsEverythingQueuedEvenFromSeveralPosters) {
  Responder responder;
  std::atomic<int> count{0};
  std::vector<std::thread> posters;
  for (int t = 0; t < 4; ++t) {
    posters.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        std::vector<Responder::Task> tasks;
        tasks.push_back([&] { count.fetch_add(1); });
        responder.Post(&tasks);
      }
    });
  }
  for (auto& poster : posters) poster.join();
  responder.Stop();
  EXPECT_EQ(count.load(), 2000);
}

TEST(ResponderTest, AfterStopTasksRunOnTheCallersThread) {
  Responder responder;
  responder.Stop();
  responder.Stop();  // idempotent
  std::thread::id ran_on;
  std::vector<Responder::Task> tasks;
  tasks.push_back([&] { ran_on = std::this_thread::get_id(); });
  responder.Post(&tasks);
  EXPECT_EQ(ran_on, std::this_thread::get_id());
  EXPECT_TRUE(tasks.empty());
}

}  // namespace
}  // namespace shardkv::server
