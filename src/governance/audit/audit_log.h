// AuditLog: the writer of the tamper-evident audit log (docs/audit-log.md).
//
//   auto log = AuditLog::Open({.path = "/var/log/enclave/audit.jsonl", .signing_key_path = "audit.pem"});
//   RETURN_IF_ERROR((*log)->Append(request));   // one record per served request
//   RETURN_IF_ERROR((*log)->Close());
//
// Thread-safe: Append, AppendEvent, Checkpoint, Sync and Close may be called from any thread; one
// mutex orders the records (each record's hash depends on the one before). One process at a time
// may hold a log: Open takes an exclusive lock on "<path>.lock" and fails if another holds it.
// After a failed write the log refuses further records (fail closed): the caller decides whether
// to stop serving; reopening recovers the file.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "governance/audit/audit_record.h"
#include "governance/crypto/ed25519_key.h"

namespace enclave::audit {

struct AuditLogOptions {
  std::string path;              // the active file; rotated files go beside it (log_files.h)
  std::string signing_key_path;  // Ed25519 PKCS#8 PEM; empty: no checkpoints are written
  bool store_text = false;       // request records keep the prompt and completion text, not only hashes

  // fsync policy: fdatasync after every `sync_every_records` records, or when `sync_interval_ms`
  // passed since the last one (checked at each append); always on checkpoint, rotation, retention,
  // recovery and close. 1 (the default) makes every returned Append durable.
  int64_t sync_every_records = 1;
  int64_t sync_interval_ms = 0;

  // A checkpoint after this many records or seconds (checked at each append), before rotating
  // and at close. Needs signing_key_path.
  int64_t checkpoint_every_records = 1000;
  int64_t checkpoint_interval_s = 60;

  uint64_t rotate_bytes = 64ull << 20;  // start a new file once the active one holds this much; 0: never
  bool rotate_daily = true;             // start a new file on the first record of a new UTC day

  // Rotated files whose last record is older than this are deleted, each after a "retention"
  // record naming it (size, SHA-256, seq range, last hash) is durable. 0: keep forever.
  int64_t retention_days = 180;

  std::function<int64_t()> now_ms;  // Unix time in ms; the system clock when empty (tests inject one)
};

class AuditLog {
 public:
  static Result<std::unique_ptr<AuditLog>> Open(AuditLogOptions options);
  ~AuditLog();  // Close() when not yet closed; its error is lost, so call Close() yourself
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // One "request" record.
  Status Append(const AuditRequest& request);
  // A record of another type ("note", ...): `fields` is an object without seq/time/type/prev/hash.
  Status AppendEvent(std::string_view type, const nlohmann::ordered_json& fields);
  // A signed checkpoint now (when a key is configured and records follow the last one), synced.
  // A server calls this from a timer so that an idle log's tail gets signed too.
  Status Checkpoint();
  Status Sync();
  // A "close" record, a checkpoint, fsync; the log then refuses records.
  Status Close();

  uint64_t head_seq() const;
  std::string head_hash() const;
  const std::string& path() const { return options_.path; }

 private:
  explicit AuditLog(AuditLogOptions options);
  Status OpenLocked();
  Status OpenActiveFileLocked();
  Status SetAsideTornTailLocked(uint64_t complete_size, uint64_t torn_bytes, nlohmann::ordered_json& record);
  Status AppendLocked(std::string_view type, const nlohmann::ordered_json& fields);
  Status WriteRecordLocked(std::string_view type, const nlohmann::ordered_json& fields, int64_t now);
  Status CheckpointLocked(int64_t now);
  Status SyncLocked(int64_t now);
  bool ShouldRotateLocked(int64_t now) const;
  Status RotateLocked(int64_t now);
  Status RetentionLocked(int64_t now);
  int64_t Now() const;

  const AuditLogOptions options_;
  std::optional<crypto::Ed25519Key> key_;

  mutable std::mutex mu_;
  // Everything below is guarded by mu_.
  int fd_ = -1;       // the active file, O_APPEND
  int lock_fd_ = -1;  // "<path>.lock", flock'ed for the lifetime of this object
  bool failed_ = false;
  bool closed_ = false;
  uint64_t seq_ = 0;                // seq of the last record written (0: none yet)
  std::string prev_{kGenesisHash};  // its hash
  uint64_t file_bytes_ = 0;         // size of the active file
  int64_t file_first_ms_ = -1;      // time of the active file's first record (-1: empty)
  uint64_t file_first_seq_ = 0;
  int64_t records_since_sync_ = 0;
  int64_t last_sync_ms_ = 0;
  int64_t records_since_checkpoint_ = 0;
  int64_t last_checkpoint_ms_ = 0;
};

}  // namespace enclave::audit
