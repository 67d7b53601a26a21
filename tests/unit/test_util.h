// Helpers shared by the unit tests.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace enclave::testing {

inline std::string SourcePath(const std::string& relative) {
  return std::string(ENCLAVE_SOURCE_DIR) + "/" + relative;
}

inline std::string ReadTextFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout only
};

// Runs `command` under sh and captures its stdout.
inline CommandResult RunShell(const std::string& cmd) {
  CommandResult r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int st = pclose(p);
  r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

// Runs `enclave <args>` (stderr discarded unless redirected in args) and captures stdout.
inline CommandResult RunCli(const std::string& args) { return RunShell(std::string(ENCLAVE_CLI_PATH) + " " + args); }

// The (file, words its error must contain) rows of a malformed corpus' EXPECTED.tsv.
inline std::vector<std::pair<std::string, std::string>> ReadExpectedErrors(const std::string& tsv_path) {
  std::vector<std::pair<std::string, std::string>> rows;
  std::istringstream in(ReadTextFile(tsv_path));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto tab = line.find('\t');
    rows.emplace_back(line.substr(0, tab), line.substr(tab + 1));
  }
  return rows;
}

}  // namespace enclave::testing
