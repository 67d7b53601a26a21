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

// Resets the high-water mark to the current RSS (Linux: /proc/self/clear_refs), so that a temporary
// allocation (a bandwidth probe) does not count as peak use. False when unsupported.
bool ResetPeakRss();

}  // namespace enclave
