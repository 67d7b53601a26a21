// AuditSink: writes the server's audit records on a thread of its own, so that neither the HTTP
// I/O threads nor the scheduler thread ever wait on the disk. Records are appended in the order
// they were submitted; with `sync_each_batch` the writer appends everything that queued up while
// it was busy, then calls fdatasync once (group commit): each record is durable a few
// milliseconds after its request ended, and a burst of N requests costs one sync, not N.
//
// Backpressure, not loss: while kMaxQueued records wait, Submit blocks. A write error is reported
// once to `on_failure` (the server then refuses requests: fail closed); later records are dropped
// because the log refuses them anyway.
//
// Thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "base/status.h"
#include "governance/audit/audit_log.h"

namespace enclave::server {

class AuditSink {
 public:
  static constexpr size_t kMaxQueued = 16384;

  AuditSink(audit::AuditLog* log, bool sync_each_batch, std::function<void(const Status&)> on_failure);
  ~AuditSink();  // writes what is queued, then stops the thread
  AuditSink(const AuditSink&) = delete;
  AuditSink& operator=(const AuditSink&) = delete;

  void Submit(audit::AuditRequest record);
  // Returns once every record submitted before the call is written (and synced, with sync_each_batch).
  void Flush();

 private:
  void Run();

  audit::AuditLog* log_;
  const bool sync_each_batch_;
  std::function<void(const Status&)> on_failure_;

  std::mutex mu_;
  std::condition_variable work_;     // the writer waits for records or stop
  std::condition_variable progress_; // Submit (room) and Flush (written) wait for the writer
  std::deque<audit::AuditRequest> queue_;
  uint64_t submitted_ = 0;  // records ever submitted
  uint64_t written_ = 0;    // records the writer finished (written, synced, or dropped after a failure)
  bool stop_ = false;
  bool failed_ = false;
  std::thread thread_;
};

}  // namespace enclave::server
