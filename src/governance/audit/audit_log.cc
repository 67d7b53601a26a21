#include "governance/audit/audit_log.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "governance/audit/checkpoint.h"
#include "governance/audit/log_files.h"
#include "governance/crypto/digest.h"

namespace enclave::audit {
namespace {

using ojson = nlohmann::ordered_json;

constexpr int64_t kDayMs = 86'400'000;

std::string Errno() { return std::strerror(errno); }

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return IoError(fmt::format("cannot write {}: {}", path, n < 0 ? Errno() : "no progress"));
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

// Makes a create, rename or unlink in `dir` durable.
Status SyncDir(const std::string& file_in_dir) {
  const size_t slash = file_in_dir.find_last_of('/');
  const std::string dir = slash == std::string::npos ? std::string(".") : file_in_dir.substr(0, slash + 1);
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return IoError(fmt::format("cannot open directory {}: {}", dir, Errno()));
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return IoError(fmt::format("cannot fsync directory {}: {}", dir, Errno()));
  return Status::Ok();
}

}  // namespace

AuditLog::AuditLog(AuditLogOptions options) : options_(std::move(options)) {}

AuditLog::~AuditLog() {
  (void)Close();
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

int64_t AuditLog::Now() const {
  if (options_.now_ms) return options_.now_ms();
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<std::unique_ptr<AuditLog>> AuditLog::Open(AuditLogOptions options) {
  if (options.path.empty()) return InvalidArgumentError("the audit log needs a path");
  std::unique_ptr<AuditLog> log(new AuditLog(std::move(options)));
  std::lock_guard<std::mutex> lock(log->mu_);
  Status s = log->OpenLocked();
  if (!s.ok()) return s.WithContext("opening audit log " + log->options_.path);
  return log;
}

Status AuditLog::OpenLocked() {
  if (!options_.signing_key_path.empty()) {
    ASSIGN_OR_RETURN(crypto::Ed25519Key key, crypto::Ed25519Key::LoadPrivatePem(options_.signing_key_path));
    key_ = std::move(key);
  }
  const std::string lock_path = options_.path + ".lock";
  lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (lock_fd_ < 0) return IoError(fmt::format("cannot open {}: {}", lock_path, Errno()));
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    return UnavailableError(fmt::format("{} is locked: another process is writing this audit log", lock_path));
  }
  return OpenActiveFileLocked();
}

// Where the chain stands: the last complete record of the active file, or (when the active file
// is missing or empty: first start, or a crash or restart right after a rotation) of the newest
// rotated file. A torn tail is set aside first, never dropped.
Status AuditLog::OpenActiveFileLocked() {
  const int64_t now = Now();
  std::string continued_from;  // a rotated file this active file continues
  ojson recovery;              // fields of a "recovery" record, when a torn tail was set aside
  struct stat st {};
  if (::stat(options_.path.c_str(), &st) == 0) {
    ASSIGN_OR_RETURN(FileEnds ends, ReadFileEnds(options_.path));
    if (ends.torn_bytes > 0) RETURN_IF_ERROR(SetAsideTornTailLocked(ends.complete_size, ends.torn_bytes, recovery));
    if (!ends.last_line.empty()) {
      Result<ParsedRecord> last = ParseRecordLine(ends.last_line);
      if (!last.ok()) {
        return CorruptError(
            fmt::format("its last record is damaged ({}); run `enclave audit verify {}` and "
                        "move the file aside to start a new chain",
                        last.status().message(), options_.path));
      }
      ASSIGN_OR_RETURN(ParsedRecord first, ParseRecordLine(ends.first_line));
      ASSIGN_OR_RETURN(file_first_ms_, ParseTime(first.time));
      file_first_seq_ = first.seq;
      seq_ = last->seq;
      prev_ = last->hash;
    }
  } else if (errno != ENOENT) {
    return IoError(fmt::format("cannot stat {}: {}", options_.path, Errno()));
  }
  if (seq_ == 0) {
    ASSIGN_OR_RETURN(std::vector<RotatedFile> rotated, ListRotatedFiles(options_.path));
    if (!rotated.empty()) {
      ASSIGN_OR_RETURN(FileEnds ends, ReadFileEnds(rotated.back().path));
      Result<ParsedRecord> last = ParseRecordLine(ends.last_line);
      if (!last.ok() || ends.torn_bytes > 0) {
        return CorruptError(
            fmt::format("the newest rotated file {} does not end in a complete record; run "
                        "`enclave audit verify` on it",
                        rotated.back().path));
      }
      seq_ = last->seq;
      prev_ = last->hash;
      continued_from = BaseName(rotated.back().path);
    }
  }
  fd_ = ::open(options_.path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd_ < 0) return IoError(fmt::format("cannot open {}: {}", options_.path, Errno()));
  if (::fstat(fd_, &st) != 0) return IoError(fmt::format("cannot stat {}: {}", options_.path, Errno()));
  file_bytes_ = static_cast<uint64_t>(st.st_size);
  RETURN_IF_ERROR(SyncDir(options_.path));
  last_sync_ms_ = last_checkpoint_ms_ = now;
  if (!continued_from.empty()) RETURN_IF_ERROR(WriteRecordLocked(kTypeRotate, {{"prev_file", continued_from}}, now));
  if (!recovery.empty()) RETURN_IF_ERROR(WriteRecordLocked(kTypeRecovery, recovery, now));
  if (ShouldRotateLocked(now)) RETURN_IF_ERROR(RotateLocked(now));  // a restart on a new day
  RETURN_IF_ERROR(WriteRecordLocked(kTypeOpen, {{"pid", static_cast<int64_t>(::getpid())}}, now));
  RETURN_IF_ERROR(RetentionLocked(now));
  return SyncLocked(now);
}

// Copies the bytes after the last newline to "<path>.torn-<ms>" (synced), then cuts them off.
Status AuditLog::SetAsideTornTailLocked(uint64_t complete_size, uint64_t torn_bytes, ojson& record) {
  if (torn_bytes > kMaxLineBytes) return CorruptError(fmt::format("it ends in {} bytes without a newline", torn_bytes));
  ASSIGN_OR_RETURN(std::string torn, ReadFileRange(options_.path, complete_size, torn_bytes));
  const std::string side = fmt::format("{}.torn-{}", options_.path, Now());
  const int fd = ::open(side.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (fd < 0) return IoError(fmt::format("cannot create {}: {}", side, Errno()));
  Status s = WriteAll(fd, torn, side);
  if (s.ok() && ::fsync(fd) != 0) s = IoError(fmt::format("cannot fsync {}: {}", side, Errno()));
  ::close(fd);
  RETURN_IF_ERROR(s);
  RETURN_IF_ERROR(SyncDir(side));
  if (::truncate(options_.path.c_str(), static_cast<off_t>(complete_size)) != 0) {
    return IoError(fmt::format("cannot truncate {}: {}", options_.path, Errno()));
  }
  record = ojson::object();
  record["torn_file"] = BaseName(side);
  record["torn_bytes"] = torn_bytes;
  record["torn_sha256"] = crypto::Sha256Hex(torn);
  return Status::Ok();
}

Status AuditLog::Append(const AuditRequest& request) {
  std::lock_guard<std::mutex> lock(mu_);
  return AppendLocked(kTypeRequest, RequestFields(request, options_.store_text));
}

Status AuditLog::AppendEvent(std::string_view type, const ojson& fields) {
  if (!fields.is_object()) return InvalidArgumentError("audit event fields must be a JSON object");
  for (const char* k : {"seq", "time", "type", "prev", "hash"}) {
    if (fields.contains(k)) return InvalidArgumentError(fmt::format("audit event field '{}' is reserved", k));
  }
  if (type.empty() || type == kTypeCheckpoint || type == kTypeRotate) {
    return InvalidArgumentError(fmt::format("'{}' is not a type an event may have", type));
  }
  std::lock_guard<std::mutex> lock(mu_);
  return AppendLocked(type, fields);
}

Status AuditLog::AppendLocked(std::string_view type, const ojson& fields) {
  if (closed_) return UnavailableError("the audit log is closed");
  if (failed_) return UnavailableError("the audit log failed to write earlier and takes no more records");
  const int64_t now = Now();
  if (ShouldRotateLocked(now)) RETURN_IF_ERROR(RotateLocked(now));
  RETURN_IF_ERROR(WriteRecordLocked(type, fields, now));
  if (key_ && (records_since_checkpoint_ >= options_.checkpoint_every_records ||
               now - last_checkpoint_ms_ >= options_.checkpoint_interval_s * 1000)) {
    return CheckpointLocked(now);
  }
  if ((options_.sync_every_records > 0 && records_since_sync_ >= options_.sync_every_records) ||
      (options_.sync_interval_ms > 0 && now - last_sync_ms_ >= options_.sync_interval_ms)) {
    return SyncLocked(now);
  }
  return Status::Ok();
}

bool AuditLog::ShouldRotateLocked(int64_t now) const {
  const bool size_full = options_.rotate_bytes > 0 && file_bytes_ >= options_.rotate_bytes;
  const bool new_day = options_.rotate_daily && file_first_ms_ >= 0 && now / kDayMs != file_first_ms_ / kDayMs;
  return file_bytes_ > 0 && (size_full || new_day);
}

Status AuditLog::WriteRecordLocked(std::string_view type, const ojson& fields, int64_t now) {
  const SealedRecord rec = SealRecord(seq_ + 1, FormatTime(now), type, prev_, fields);
  std::string line = rec.line;
  line += '\n';
  // One write() per record with O_APPEND: a crash leaves at most one torn last line.
  Status s = WriteAll(fd_, line, options_.path);
  if (!s.ok()) {
    failed_ = true;
    return s;
  }
  ++seq_;
  prev_ = rec.hash;
  ++records_since_sync_;
  if (type != kTypeCheckpoint) ++records_since_checkpoint_;
  file_bytes_ += line.size();
  if (file_first_ms_ < 0) {
    file_first_ms_ = now;
    file_first_seq_ = seq_;
  }
  return Status::Ok();
}

Status AuditLog::SyncLocked(int64_t now) {
  if (fd_ < 0) return Status::Ok();
  if (::fdatasync(fd_) != 0) {
    failed_ = true;
    return IoError(fmt::format("cannot fdatasync {}: {}", options_.path, Errno()));
  }
  records_since_sync_ = 0;
  last_sync_ms_ = now;
  return Status::Ok();
}

Status AuditLog::CheckpointLocked(int64_t now) {
  if (!key_ || records_since_checkpoint_ == 0) return SyncLocked(now);
  ASSIGN_OR_RETURN(ojson fields, CheckpointFields(seq_, prev_, *key_));
  RETURN_IF_ERROR(WriteRecordLocked(kTypeCheckpoint, fields, now));
  records_since_checkpoint_ = 0;
  last_checkpoint_ms_ = now;
  return SyncLocked(now);
}

Status AuditLog::Checkpoint() {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_ || failed_) return UnavailableError("the audit log takes no more records");
  return CheckpointLocked(Now());
}

Status AuditLog::Sync() {
  std::lock_guard<std::mutex> lock(mu_);
  return SyncLocked(Now());
}

// The old file ends signed and synced; it is renamed after its first record; the new file's first
// record names it (its `prev` carries the chain across).
Status AuditLog::RotateLocked(int64_t now) {
  RETURN_IF_ERROR(CheckpointLocked(now));
  const std::string rotated = RotatedPath(options_.path, file_first_seq_, file_first_ms_);
  if (::access(rotated.c_str(), F_OK) == 0) {
    failed_ = true;
    return IoError(fmt::format("cannot rotate: {} exists", rotated));
  }
  ::close(fd_);
  fd_ = -1;
  if (::rename(options_.path.c_str(), rotated.c_str()) != 0) {
    failed_ = true;
    return IoError(fmt::format("cannot rename {} to {}: {}", options_.path, rotated, Errno()));
  }
  fd_ = ::open(options_.path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (fd_ < 0) {
    failed_ = true;
    return IoError(fmt::format("cannot create {}: {}", options_.path, Errno()));
  }
  RETURN_IF_ERROR(SyncDir(options_.path));
  file_bytes_ = 0;
  file_first_ms_ = -1;
  RETURN_IF_ERROR(WriteRecordLocked(kTypeRotate, {{"prev_file", BaseName(rotated)}}, now));
  RETURN_IF_ERROR(RetentionLocked(now));
  return SyncLocked(now);
}

// Deletes expired rotated files oldest first, each only after a durable "retention" record that
// says what it held; stops at the first file that is not expired, so what remains is contiguous.
Status AuditLog::RetentionLocked(int64_t now) {
  if (options_.retention_days <= 0) return Status::Ok();
  ASSIGN_OR_RETURN(std::vector<RotatedFile> rotated, ListRotatedFiles(options_.path));
  for (const RotatedFile& f : rotated) {
    ojson fields = ojson::object();
    fields["file"] = BaseName(f.path);
    Result<FileEnds> ends = ReadFileEnds(f.path);
    Result<ParsedRecord> first = ends.ok() ? ParseRecordLine(ends->first_line) : ends.status();
    Result<ParsedRecord> last = ends.ok() ? ParseRecordLine(ends->last_line) : ends.status();
    Result<int64_t> last_ms = last.ok() ? ParseTime(last->time) : last.status();
    if (!first.ok() || !last_ms.ok()) {
      // Never delete what cannot be described; say so in the chain instead.
      fields["deleted"] = false;
      fields["problem"] = (first.ok() ? last_ms.status() : first.status()).message();
      RETURN_IF_ERROR(WriteRecordLocked(kTypeRetention, fields, now));
      break;
    }
    if (now - *last_ms < options_.retention_days * kDayMs) break;
    ASSIGN_OR_RETURN(std::string sha, crypto::Sha256FileHex(f.path));
    fields["deleted"] = true;
    fields["bytes"] = ends->size;
    fields["sha256"] = sha;
    fields["first_seq"] = first->seq;
    fields["last_seq"] = last->seq;
    fields["last_hash"] = last->hash;
    fields["last_time"] = last->time;
    fields["retention_days"] = options_.retention_days;
    RETURN_IF_ERROR(WriteRecordLocked(kTypeRetention, fields, now));
    RETURN_IF_ERROR(SyncLocked(now));
    if (::unlink(f.path.c_str()) != 0) return IoError(fmt::format("cannot delete {}: {}", f.path, Errno()));
    RETURN_IF_ERROR(SyncDir(f.path));
  }
  return Status::Ok();
}

Status AuditLog::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_ || fd_ < 0) return Status::Ok();
  closed_ = true;
  Status s;
  if (!failed_) {
    const int64_t now = Now();
    s = WriteRecordLocked(kTypeClose, ojson::object(), now);
    if (s.ok()) s = CheckpointLocked(now);
  }
  ::close(fd_);
  fd_ = -1;
  return s;
}

uint64_t AuditLog::head_seq() const {
  std::lock_guard<std::mutex> lock(mu_);
  return seq_;
}

std::string AuditLog::head_hash() const {
  std::lock_guard<std::mutex> lock(mu_);
  return prev_;
}

}  // namespace enclave::audit
