#include "governance/audit/verify.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "governance/audit/audit_record.h"
#include "governance/audit/checkpoint.h"
#include "governance/audit/log_files.h"

namespace enclave::audit {

void ChainVerifier::Problem(uint64_t seq, std::string message) {
  if (failed()) return;
  report_.problem = VerifyProblem{file_, line_, seq, std::move(message)};
}

void ChainVerifier::Fail(std::string message) { Problem(0, std::move(message)); }

void ChainVerifier::BeginFile(const std::string& name) {
  if (failed()) return;
  file_ = name;
  line_ = 0;
  report_.files.push_back(name);
}

void ChainVerifier::AddLine(std::string_view line) {
  if (failed()) return;
  ++line_;
  Result<ParsedRecord> parsed = ParseRecordLine(line);
  if (!parsed.ok()) return Problem(0, parsed.status().message());
  const ParsedRecord& r = *parsed;
  const bool first_in_file = line_ == 1;
  const bool later_file = report_.files.size() > 1;
  if (r.type == kTypeRotate && !first_in_file)
    return Problem(r.seq, "a rotate record inside a file (records were moved)");
  if (first_in_file && later_file && r.type != kTypeRotate) {
    return Problem(r.seq, fmt::format("this file does not start with a rotate record, so it does not continue {}",
                                      report_.files[report_.files.size() - 2]));
  }
  if (!have_record_) {
    if (r.seq == 0) return Problem(r.seq, "seq 0: records count from 1");
    if (r.seq == 1 && r.prev != kGenesisHash) return Problem(r.seq, "the first record of the chain has a prev hash");
    // Only a file's first record can start a partial chain, and every file after the first starts
    // with a rotate record: anything else means records before this one were removed.
    if (r.seq > 1 && r.type != kTypeRotate) {
      return Problem(r.seq, fmt::format("the first record is seq {}, not 1, and does not start a rotated file: "
                                        "records before it were deleted",
                                        r.seq));
    }
    report_.first_seq = r.seq;
    start_prev_ = r.prev;
  } else if (first_in_file && (r.seq != report_.last_seq + 1 || r.prev != report_.head_hash)) {
    const std::string named = r.fields.contains("prev_file") && r.fields["prev_file"].is_string()
                                  ? r.fields["prev_file"].get<std::string>()
                                  : std::string("?");
    return Problem(r.seq, fmt::format("this file continues the chain after seq {} (file {}), but the file before it "
                                      "ends at seq {}: a file is missing between them, or out of order",
                                      r.seq - 1, named, report_.last_seq));
  } else if (r.seq <= report_.last_seq) {
    return Problem(r.seq, fmt::format("seq {} after seq {}: a record was inserted or records were reordered", r.seq,
                                      report_.last_seq));
  } else if (r.seq != report_.last_seq + 1) {
    return Problem(r.seq, fmt::format("seq jumps from {} to {}: {} record(s) deleted or moved", report_.last_seq, r.seq,
                                      r.seq - report_.last_seq - 1));
  } else if (r.prev != report_.head_hash) {
    return Problem(r.seq, fmt::format("prev does not match the hash of record seq {}: a record was replaced or "
                                      "the chain before it rewritten",
                                      report_.last_seq));
  }
  if (r.type == kTypeCheckpoint) {
    const Status s = CheckCheckpoint(r.fields, r.seq, r.prev, options_.public_key);
    if (!s.ok()) return Problem(r.seq, s.message());
    ++report_.checkpoints;
    report_.last_checkpoint_seq = r.seq;
  }
  if (r.type == kTypeRetention) {
    const auto& f = r.fields;
    if (f.contains("deleted") && f["deleted"].is_boolean() && f["deleted"].get<bool>() && f.contains("last_seq") &&
        f["last_seq"].is_number_unsigned() && f.contains("last_hash") && f["last_hash"].is_string() &&
        f.contains("file") && f["file"].is_string()) {
      deleted_.push_back(
          {f["file"].get<std::string>(), f["last_seq"].get<uint64_t>(), f["last_hash"].get<std::string>(), r.seq});
    }
  }
  have_record_ = true;
  ++report_.records;
  report_.last_seq = r.seq;
  report_.head_hash = r.hash;
}

void ChainVerifier::EndFile(uint64_t torn_bytes) {
  if (failed()) return;
  if (torn_bytes > 0) {
    ++line_;
    return Problem(0, fmt::format("the file ends in an incomplete record ({} bytes without a newline after line {}): "
                                  "cut mid-write by a crash, or truncated; the records before it verify",
                                  torn_bytes, line_ - 1));
  }
  if (line_ == 0) report_.notes.push_back(file_ + " is empty");
}

VerifyReport ChainVerifier::Finish() {
  if (!failed() && !have_record_) {
    file_ = report_.files.empty() ? std::string() : report_.files.front();
    line_ = 0;
    Problem(0, "no records");
  }
  if (!failed() && report_.first_seq > 1) {
    const Deleted* match = nullptr;
    for (const Deleted& d : deleted_) {
      if (d.last_seq + 1 == report_.first_seq && d.last_hash == start_prev_) match = &d;
    }
    if (match != nullptr) {
      report_.notes.push_back(
          fmt::format("the chain starts at seq {}: the records before it were in {}, deleted by "
                      "retention (record seq {})",
                      report_.first_seq, match->file, match->record_seq));
    } else if (options_.allow_partial) {
      report_.notes.push_back(
          fmt::format("the chain starts at seq {}: records before it were not checked", report_.first_seq));
    } else {
      file_ = report_.files.front();
      line_ = 1;
      Problem(report_.first_seq, fmt::format("the chain starts at seq {}, not 1, and no retention record accounts for "
                                             "the records before it: give the earlier files too (or --partial)",
                                             report_.first_seq));
    }
  }
  report_.signatures_checked = options_.public_key != nullptr;
  return std::move(report_);
}

std::string VerifyReport::ToText() const {
  std::string out;
  if (problem) {
    out += fmt::format("FAILED: {} line {}{}: {}\n", problem->file, problem->line,
                       problem->seq ? fmt::format(" (seq {})", problem->seq) : std::string(), problem->message);
    if (records > 0) out += fmt::format("  {} records before it verify (seq {}..{})\n", records, first_seq, last_seq);
    return out;
  }
  out += fmt::format("OK: {} records (seq {}..{}) in {} file(s), head hash {}\n", records, first_seq, last_seq,
                     files.size(), head_hash);
  if (signatures_checked) {
    out += fmt::format("  {} checkpoint signature(s) verified", checkpoints);
    out += last_checkpoint_seq == last_seq
               ? std::string("; the log ends with a signed checkpoint\n")
               : fmt::format("; {} record(s) after the last one are not yet covered by a signature\n",
                             last_seq - last_checkpoint_seq);
  } else {
    out += fmt::format("  {} checkpoint(s), signatures not checked (give --pubkey)\n", checkpoints);
  }
  for (const std::string& n : notes) out += "  note: " + n + "\n";
  return out;
}

nlohmann::ordered_json VerifyReport::ToJson() const {
  nlohmann::ordered_json j;
  j["ok"] = ok();
  j["files"] = files;
  j["records"] = records;
  j["first_seq"] = first_seq;
  j["last_seq"] = last_seq;
  j["head_hash"] = head_hash;
  j["checkpoints"] = checkpoints;
  j["signatures_checked"] = signatures_checked;
  j["last_checkpoint_seq"] = last_checkpoint_seq;
  j["notes"] = notes;
  if (problem) {
    j["problem"] = {
        {"file", problem->file}, {"line", problem->line}, {"seq", problem->seq}, {"message", problem->message}};
  } else {
    j["problem"] = nullptr;
  }
  return j;
}

namespace {

// Feeds one file to the verifier line by line in 1 MiB reads, so a log of any size verifies in
// bounded memory.
void FeedFile(const std::string& path, ChainVerifier& v) {
  v.BeginFile(path);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return v.Fail(fmt::format("cannot open: {}", std::strerror(errno)));
  std::string pending, buf(1 << 20, '\0');
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      v.Fail(fmt::format("cannot read: {}", std::strerror(errno)));
      break;
    }
    if (n == 0) break;
    std::string_view chunk(buf.data(), static_cast<size_t>(n));
    for (size_t nl; !v.failed() && (nl = chunk.find('\n')) != std::string_view::npos; chunk.remove_prefix(nl + 1)) {
      if (pending.empty()) {
        v.AddLine(chunk.substr(0, nl));
      } else {
        pending.append(chunk.substr(0, nl));
        v.AddLine(pending);
        pending.clear();
      }
    }
    if (v.failed()) break;
    pending.append(chunk);
    if (pending.size() > kMaxLineBytes) {
      v.Fail(fmt::format("a line longer than {} bytes", kMaxLineBytes));
      break;
    }
  }
  ::close(fd);
  v.EndFile(pending.size());
}

}  // namespace

VerifyReport VerifyAuditFiles(const std::vector<std::string>& paths, const VerifyOptions& options) {
  ChainVerifier v(options);
  for (const std::string& p : paths) {
    if (v.failed()) break;
    FeedFile(p, v);
  }
  return v.Finish();
}

VerifyReport VerifyAuditBytes(const std::string& name, std::string_view bytes, const VerifyOptions& options) {
  ChainVerifier v(options);
  v.BeginFile(name);
  for (size_t nl; !v.failed() && (nl = bytes.find('\n')) != std::string_view::npos; bytes.remove_prefix(nl + 1)) {
    v.AddLine(bytes.substr(0, nl));
  }
  v.EndFile(v.failed() ? 0 : bytes.size());
  return v.Finish();
}

}  // namespace enclave::audit
