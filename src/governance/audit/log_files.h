// The files of one audit log on disk. The active file is the configured path (say
// /var/log/enclave/audit.jsonl); rotation renames it to audit.<first seq, 12 digits>.<UTC day of
// its first record>.jsonl in the same directory, so names sort in chain order and
// `enclave audit verify /var/log/enclave/audit.*.jsonl /var/log/enclave/audit.jsonl` checks all.
// Pure functions over the file system; thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace enclave::audit {

// Lines longer than this are not records we wrote (a record with store_text holds one prompt and
// one completion); readers refuse them instead of growing without bound.
inline constexpr uint64_t kMaxLineBytes = 64ull << 20;

// "<dir>/<stem>.<seq:012>.<YYYYMMDD><ext>" for active path "<dir>/<stem><ext>".
std::string RotatedPath(const std::string& active_path, uint64_t first_seq, int64_t first_unix_ms);

struct RotatedFile {
  std::string path;
  uint64_t first_seq = 0;
};
// The rotated files of the log at `active_path`, oldest (lowest first seq) first.
Result<std::vector<RotatedFile>> ListRotatedFiles(const std::string& active_path);

// The first and last complete lines of a file and what follows the last newline.
struct FileEnds {
  uint64_t size = 0;
  uint64_t complete_size = 0;  // bytes up to and including the last '\n'
  std::string first_line;      // without '\n'; empty if no complete line
  std::string last_line;
  uint64_t torn_bytes = 0;  // size - complete_size: a record cut by a crash
};
Result<FileEnds> ReadFileEnds(const std::string& path);

// Reads [offset, offset + length) of a file.
Result<std::string> ReadFileRange(const std::string& path, uint64_t offset, uint64_t length);

std::string BaseName(const std::string& path);

}  // namespace enclave::audit
