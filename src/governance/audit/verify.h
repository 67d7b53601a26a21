// Verifying an audit log (docs/audit-log.md): the files of one chain, in order. Checks each
// record's own hash, that seq rises by one and `prev` is the hash of the record before (also
// across files: each later file must start with a "rotate" record continuing the previous file),
// checkpoints (their signatures when a public key is given), and that no file ends in a torn
// record. Stops at the first bad record and says where it is and what is wrong.
// ChainVerifier is thread-compatible; the functions are thread-safe.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "governance/crypto/ed25519_key.h"

namespace enclave::audit {

struct VerifyOptions {
  const crypto::Ed25519Key* public_key = nullptr;  // check checkpoint signatures with it
  // Accept a chain whose first given record is not seq 1 even when no retention record in the
  // given files accounts for the files before it (checking, say, only today's file).
  bool allow_partial = false;
};

struct VerifyProblem {
  std::string file;
  uint64_t line = 0;  // 1-based
  uint64_t seq = 0;   // 0: unknown (the line could not be read)
  std::string message;
};

struct VerifyReport {
  bool ok() const { return !problem.has_value(); }
  std::optional<VerifyProblem> problem;
  std::vector<std::string> files;
  uint64_t records = 0;  // good records read
  uint64_t first_seq = 0;
  uint64_t last_seq = 0;  // of the last good record
  std::string head_hash;  // its hash
  uint64_t checkpoints = 0;
  bool signatures_checked = false;
  uint64_t last_checkpoint_seq = 0;  // 0: none
  std::vector<std::string> notes;    // facts worth telling that are not failures

  std::string ToText() const;
  nlohmann::ordered_json ToJson() const;
};

class ChainVerifier {
 public:
  explicit ChainVerifier(VerifyOptions options) : options_(options) {}
  void BeginFile(const std::string& name);
  // One complete line, without its '\n'. Ignored once a problem was found.
  void AddLine(std::string_view line);
  // `torn_bytes`: bytes after the file's last newline.
  void EndFile(uint64_t torn_bytes);
  // Reports an I/O or size problem found by the caller at the current position.
  void Fail(std::string message);
  bool failed() const { return report_.problem.has_value(); }
  VerifyReport Finish();

 private:
  void Problem(uint64_t seq, std::string message);

  struct Deleted {  // a file removed by retention, as its record described it
    std::string file;
    uint64_t last_seq;
    std::string last_hash;
    uint64_t record_seq;
  };

  VerifyOptions options_;
  VerifyReport report_;
  std::string file_;
  uint64_t line_ = 0;
  bool have_record_ = false;
  std::string start_prev_;  // prev of the very first record
  std::vector<Deleted> deleted_;
};

VerifyReport VerifyAuditFiles(const std::vector<std::string>& paths, const VerifyOptions& options);
// One file's bytes, for tests and the fuzzer.
VerifyReport VerifyAuditBytes(const std::string& name, std::string_view bytes, const VerifyOptions& options);

}  // namespace enclave::audit
