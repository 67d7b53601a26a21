// libFuzzer target: `enclave audit verify` on arbitrary file bytes. Must never crash, hang or
// throw; a report either says OK or names a problem with a line inside the input. (That mutated
// valid logs are never reported valid is checked by the unit tests, which know what changed.)
#include <cstdint>
#include <string_view>

#include "base/check.h"
#include "governance/audit/verify.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace enclave::audit;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const VerifyReport r = VerifyAuditBytes("fuzz", bytes, {});
  if (r.ok()) {
    ENCLAVE_CHECK(r.records > 0 && r.last_seq >= r.first_seq);
  } else {
    uint64_t lines = 1;
    for (char c : bytes) lines += c == '\n';
    ENCLAVE_CHECK(r.problem->line <= lines);
  }
  (void)r.ToText();
  (void)r.ToJson().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);  // as the CLI prints it
  return 0;
}
