#include "governance/audit/log_files.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>

namespace enclave::audit {
namespace {

namespace fs = std::filesystem;

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

void SplitActive(const std::string& active, std::string& dir, std::string& stem, std::string& ext) {
  const fs::path p(active);
  dir = p.has_parent_path() ? p.parent_path().string() : std::string(".");
  stem = p.stem().string();
  ext = p.extension().string();
}

Status PreadAll(int fd, uint64_t offset, char* out, uint64_t length, const std::string& path) {
  uint64_t done = 0;
  while (done < length) {
    const ssize_t n = ::pread(fd, out + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return IoError(fmt::format("cannot read {}: {}", path, std::strerror(errno)));
    if (n == 0) return IoError(fmt::format("{} shrank while being read", path));
    done += static_cast<uint64_t>(n);
  }
  return Status::Ok();
}

// Offset of the last '\n' in [0, end), or -1.
Result<int64_t> FindLastNewline(int fd, uint64_t end, const std::string& path) {
  constexpr uint64_t kBlock = 64 << 10;
  std::string buf;
  uint64_t pos = end;
  while (pos > 0) {
    const uint64_t start = pos > kBlock ? pos - kBlock : 0;
    buf.resize(pos - start);
    RETURN_IF_ERROR(PreadAll(fd, start, buf.data(), buf.size(), path));
    const size_t nl = buf.rfind('\n');
    if (nl != std::string::npos) return static_cast<int64_t>(start + nl);
    if (end - start > kMaxLineBytes) {
      return CorruptError(fmt::format("{} ends in a line longer than {} bytes", path, kMaxLineBytes));
    }
    pos = start;
  }
  return int64_t{-1};
}

}  // namespace

std::string BaseName(const std::string& path) { return fs::path(path).filename().string(); }

std::string RotatedPath(const std::string& active_path, uint64_t first_seq, int64_t first_unix_ms) {
  std::string dir, stem, ext;
  SplitActive(active_path, dir, stem, ext);
  const time_t secs = static_cast<time_t>(first_unix_ms / 1000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  return fmt::format("{}/{}.{:012d}.{:04d}{:02d}{:02d}{}", dir, stem, first_seq, tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, ext);
}

Result<std::vector<RotatedFile>> ListRotatedFiles(const std::string& active_path) {
  std::string dir, stem, ext;
  SplitActive(active_path, dir, stem, ext);
  std::vector<RotatedFile> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    // stem + "." + 12 digits + "." + 8 digits + ext
    if (name.size() != stem.size() + 1 + 12 + 1 + 8 + ext.size() || !name.starts_with(stem + ".") ||
        !name.ends_with(ext)) {
      continue;
    }
    const std::string seq = name.substr(stem.size() + 1, 12), day = name.substr(stem.size() + 14, 8);
    auto all_digits = [](const std::string& s) {
      return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
    };
    if (name[stem.size() + 13] != '.' || !all_digits(seq) || !all_digits(day)) {
      continue;
    }
    out.push_back({entry.path().string(), std::stoull(seq)});
  }
  if (ec) return IoError(fmt::format("cannot list {}: {}", dir, ec.message()));
  std::sort(out.begin(), out.end(),
            [](const RotatedFile& a, const RotatedFile& b) { return a.first_seq < b.first_seq; });
  return out;
}

Result<std::string> ReadFileRange(const std::string& path, uint64_t offset, uint64_t length) {
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) return IoError(fmt::format("cannot open {}: {}", path, std::strerror(errno)));
  std::string out(length, '\0');
  RETURN_IF_ERROR(PreadAll(f.fd, offset, out.data(), length, path));
  return out;
}

Result<FileEnds> ReadFileEnds(const std::string& path) {
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) return IoError(fmt::format("cannot open {}: {}", path, std::strerror(errno)));
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) return IoError(fmt::format("cannot stat {}: {}", path, std::strerror(errno)));
  FileEnds e;
  e.size = static_cast<uint64_t>(st.st_size);
  ASSIGN_OR_RETURN(const int64_t last_nl, FindLastNewline(f.fd, e.size, path));
  e.complete_size = static_cast<uint64_t>(last_nl + 1);
  e.torn_bytes = e.size - e.complete_size;
  if (last_nl < 0) return e;
  ASSIGN_OR_RETURN(const int64_t before, FindLastNewline(f.fd, static_cast<uint64_t>(last_nl), path));
  const uint64_t last_start = static_cast<uint64_t>(before + 1);
  if (static_cast<uint64_t>(last_nl) - last_start > kMaxLineBytes) {
    return CorruptError(fmt::format("{} has a line longer than {} bytes", path, kMaxLineBytes));
  }
  e.last_line.resize(static_cast<uint64_t>(last_nl) - last_start);
  RETURN_IF_ERROR(PreadAll(f.fd, last_start, e.last_line.data(), e.last_line.size(), path));
  if (before < 0) {
    e.first_line = e.last_line;
    return e;
  }
  // The first line: read forward in blocks up to its newline.
  std::string block;
  for (uint64_t pos = 0;; pos += block.size()) {
    block.resize(std::min<uint64_t>(64 << 10, e.complete_size - pos));
    RETURN_IF_ERROR(PreadAll(f.fd, pos, block.data(), block.size(), path));
    const size_t nl = block.find('\n');
    e.first_line.append(block, 0, nl == std::string::npos ? block.size() : nl);
    if (nl != std::string::npos) break;
    if (e.first_line.size() > kMaxLineBytes) {
      return CorruptError(fmt::format("{} has a line longer than {} bytes", path, kMaxLineBytes));
    }
  }
  return e;
}

}  // namespace enclave::audit
