#include "server/audit_sink.h"

#include <utility>
#include <vector>

namespace enclave::server {

AuditSink::AuditSink(audit::AuditLog* log, bool sync_each_batch, std::function<void(const Status&)> on_failure)
    : log_(log), sync_each_batch_(sync_each_batch), on_failure_(std::move(on_failure)) {
  thread_ = std::thread([this] { Run(); });
}

AuditSink::~AuditSink() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  work_.notify_all();
  thread_.join();
}

void AuditSink::Submit(audit::AuditRequest record) {
  std::unique_lock<std::mutex> lock(mu_);
  progress_.wait(lock, [this] { return queue_.size() < kMaxQueued || stop_; });
  queue_.push_back(std::move(record));
  ++submitted_;
  lock.unlock();
  work_.notify_one();
}

void AuditSink::Flush() {
  std::unique_lock<std::mutex> lock(mu_);
  const uint64_t target = submitted_;
  progress_.wait(lock, [this, target] { return written_ >= target; });
}

void AuditSink::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    work_.wait(lock, [this] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stop_ and nothing left
    std::deque<audit::AuditRequest> batch;
    batch.swap(queue_);
    const bool failed = failed_;
    lock.unlock();
    progress_.notify_all();  // room for blocked submitters
    Status status;
    if (!failed) {
      for (const audit::AuditRequest& r : batch) {
        status = log_->Append(r);
        if (!status.ok()) break;
      }
      if (status.ok() && sync_each_batch_) status = log_->Sync();
      if (!status.ok()) on_failure_(status);
    }
    lock.lock();
    if (!status.ok()) failed_ = true;
    written_ += batch.size();
    progress_.notify_all();
  }
}

}  // namespace enclave::server
