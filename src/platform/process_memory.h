// Resident memory of this process, from /proc/self/status (Linux).
#pragma once

#include <cstdint>

namespace enclave {

struct ProcessMemory {
  uint64_t rss_bytes = 0;       // VmRSS: resident now
  uint64_t peak_rss_bytes = 0;  // VmHWM: the high-water mark
};

// Zeros when /proc is unavailable.
ProcessMemory ReadProcessMemory();

}  // namespace enclave
