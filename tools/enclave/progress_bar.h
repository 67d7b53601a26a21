// A one-line progress bar on stderr for long byte-streaming work (hashing a model); drawn only
// when stderr is a terminal, redrawn at most once per percent.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

namespace enclave::cli {

class ByteProgressBar {
 public:
  explicit ByteProgressBar(std::string label) : label_(std::move(label)), enabled_(isatty(STDERR_FILENO)) {}
  void Update(uint64_t done, uint64_t total) {
    if (!enabled_ || total == 0) return;
    const int percent = static_cast<int>(done * 100 / total);
    if (percent == last_) return;
    last_ = percent;
    const int width = 40, filled = percent * width / 100;
    std::fprintf(stderr, "\r%s [%s%s] %3d%% of %.2f GiB", label_.c_str(), std::string(filled, '#').c_str(),
                 std::string(width - filled, ' ').c_str(), percent, static_cast<double>(total) / (1ull << 30));
    if (done >= total) std::fprintf(stderr, "\n");
    std::fflush(stderr);
  }

 private:
  std::string label_;
  bool enabled_;
  int last_ = -1;
};

}  // namespace enclave::cli
