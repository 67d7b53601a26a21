// AuditSink (server/audit_sink.h): records from many threads end up in the log in one verifiable
// chain, each thread's in submission order; Flush returns only once what was submitted is written
// and synced; a write failure is reported once and nothing blocks afterwards.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "audit_test_util.h"
#include "governance/audit/audit_log.h"
#include "governance/audit/verify.h"
#include "server/audit_sink.h"

namespace enclave::server {
namespace {

using namespace enclave::audit::testing;

std::unique_ptr<audit::AuditLog> OpenLog(const std::string& path) {
  audit::AuditLogOptions o;
  o.path = path;
  o.retention_days = 0;
  o.sync_every_records = 0;  // the sink syncs per batch
  auto log = audit::AuditLog::Open(o);
  EXPECT_TRUE(log.ok()) << log.status().message();
  return log.ok() ? std::move(*log) : nullptr;
}

std::vector<std::string> RequestIds(const std::string& path) {
  std::vector<std::string> ids;
  for (const std::string& line : ReadLines(path)) {
    auto j = nlohmann::json::parse(line);
    if (j["type"] == "request") ids.push_back(j["request_id"].get<std::string>());
  }
  return ids;
}

TEST(AuditSink, ThreadsMakeOneChainInSubmissionOrderPerThread) {
  ScratchDir dir;
  const std::string path = dir.path() + "/audit.jsonl";
  auto log = OpenLog(path);
  ASSERT_TRUE(log);
  std::atomic<int> failures{0};
  {
    AuditSink sink(log.get(), true, [&](const Status&) { ++failures; });
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&sink, t] {
        for (int i = 0; i < 250; ++i) sink.Submit(SampleRequest(t * 1000 + i));
      });
    }
    for (auto& th : threads) th.join();
    sink.Flush();
    EXPECT_EQ(RequestIds(path).size(), 1000u);  // Flush means written
  }
  ASSERT_TRUE(log->Close().ok());
  EXPECT_EQ(failures.load(), 0);
  const std::vector<std::string> ids = RequestIds(path);
  ASSERT_EQ(ids.size(), 1000u);
  std::vector<int> last(4, -1);
  for (const std::string& id : ids) {
    const int n = std::stoi(id.substr(4));
    EXPECT_GT(n % 1000, last[n / 1000]) << id;
    last[n / 1000] = n % 1000;
  }
  const audit::VerifyReport report = audit::VerifyAuditFiles({path}, {});
  EXPECT_TRUE(report.ok()) << report.ToText();
}

TEST(AuditSink, DestructorWritesWhatIsQueued) {
  ScratchDir dir;
  const std::string path = dir.path() + "/audit.jsonl";
  auto log = OpenLog(path);
  ASSERT_TRUE(log);
  {
    AuditSink sink(log.get(), false, [](const Status&) {});
    for (int i = 0; i < 100; ++i) sink.Submit(SampleRequest(i));
  }
  EXPECT_EQ(RequestIds(path).size(), 100u);
  ASSERT_TRUE(log->Close().ok());
}

TEST(AuditSink, AFailureIsReportedOnceAndNothingBlocks) {
  ScratchDir dir;
  const std::string path = dir.path() + "/audit.jsonl";
  auto log = OpenLog(path);
  ASSERT_TRUE(log);
  ASSERT_TRUE(log->Close().ok());  // a closed log refuses records, as one that failed a write does
  std::atomic<int> failures{0};
  AuditSink sink(log.get(), true, [&](const Status& st) {
    EXPECT_FALSE(st.ok());
    ++failures;
  });
  for (size_t i = 0; i < AuditSink::kMaxQueued + 100; ++i) sink.Submit(SampleRequest(static_cast<int>(i)));
  sink.Flush();
  EXPECT_EQ(failures.load(), 1);
}

}  // namespace
}  // namespace enclave::server
