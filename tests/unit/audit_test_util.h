// Helpers for the audit log tests: a scratch directory, a settable clock, and line-level edits
// of a log file (the tampering an attacker with write access could do).
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "governance/audit/audit_log.h"
#include "governance/audit/audit_record.h"
#include "governance/audit/verify.h"

namespace enclave::audit::testing {

inline constexpr int64_t kDayMs = 86'400'000;
inline constexpr int64_t kStartMs = 1'796'018'400'000;  // 2026-11-30T06:00:00.000Z

class ScratchDir {
 public:
  ScratchDir() {
    char d[] = "/tmp/enclave_audit_XXXXXX";
    path_ = mkdtemp(d);
  }
  ~ScratchDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// Complete lines (each without its '\n').
inline std::vector<std::string> ReadLines(const std::string& path) {
  std::vector<std::string> lines;
  std::istringstream in(ReadFile(path));
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

inline std::string JoinLines(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) out += l + "\n";
  return out;
}

inline AuditRequest SampleRequest(int i) {
  AuditRequest r;
  r.request_id = "req-" + std::to_string(i);
  r.key_id = "k1";
  r.key_name = "analytics";
  r.role = "user";
  r.client_ip = "10.0.0.7";
  r.route = "/v1/chat/completions";
  r.model_id = "tiny";
  r.model_sha256 = std::string(64, 'a');
  r.sampling = {{"temperature", 0.7}, {"top_p", 0.9}, {"max_tokens", 64}};
  r.prompt_tokens = 10 + i;
  r.completion_tokens = 20 + i;
  r.latency_ms = 12.5;
  r.status = 200;
  r.actions = {"mask:email"};
  r.prompt = "prompt " + std::to_string(i);
  r.completion = "completion " + std::to_string(i);
  return r;
}

// Re-seals `line` after a record hashed `prev` (what an attacker who rewrites the chain does);
// a checkpoint keeps its old signature but claims the new head.
inline SealedRecord Reseal(const std::string& line, const std::string& prev) {
  const auto j = nlohmann::ordered_json::parse(line);
  nlohmann::ordered_json fields = nlohmann::ordered_json::object();
  for (const auto& [k, v] : j.items()) {
    if (k == "seq" || k == "time" || k == "type" || k == "prev" || k == "hash") continue;
    fields[k] = k == "head_hash" ? nlohmann::ordered_json(prev) : v;
  }
  return SealRecord(j["seq"].get<uint64_t>(), j["time"].get<std::string>(), j["type"].get<std::string>(), prev, fields);
}

// Rewrites lines[from..] so that the chain links again from lines[from - 1].
inline void Rechain(std::vector<std::string>& lines, size_t from) {
  std::string prev = nlohmann::json::parse(lines[from - 1])["hash"].get<std::string>();
  for (size_t i = from; i < lines.size(); ++i) {
    SealedRecord r = Reseal(lines[i], prev);
    lines[i] = r.line;
    prev = r.hash;
  }
}

inline VerifyReport VerifyLines(const std::vector<std::string>& lines, const VerifyOptions& o = {}) {
  return VerifyAuditBytes("log", JoinLines(lines), o);
}

}  // namespace enclave::audit::testing
