// The audit log writer: rotation by size and day with the chain continuing across files,
// retention that records each deletion, recovery from a torn last line, one writer per log,
// concurrent appends, and a kill -9 in the middle of writing.
#include "governance/audit/audit_log.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <random>
#include <thread>

#include "audit_test_util.h"
#include "governance/audit/log_files.h"
#include "governance/audit/verify.h"
#include "governance/crypto/digest.h"
#include "governance/crypto/ed25519_key.h"

namespace enclave::audit {
namespace {

using namespace enclave::audit::testing;
namespace fs = std::filesystem;

class AuditLogTest : public ::testing::Test {
 protected:
  AuditLogOptions Options() {
    AuditLogOptions o;
    o.path = path_;
    o.retention_days = 0;
    o.now_ms = [this] { return now_; };
    return o;
  }
  std::unique_ptr<AuditLog> OpenOrDie(const AuditLogOptions& o) {
    auto log = AuditLog::Open(o);
    EXPECT_TRUE(log.ok()) << log.status().message();
    return log.ok() ? std::move(*log) : nullptr;
  }
  // Rotated files oldest first, then the active file.
  std::vector<std::string> AllFiles() {
    std::vector<std::string> files;
    const Result<std::vector<RotatedFile>> rotated = ListRotatedFiles(path_);
    for (const RotatedFile& f : *rotated) files.push_back(f.path);
    if (fs::exists(path_)) files.push_back(path_);
    return files;
  }

  ScratchDir dir_;
  std::string path_ = dir_.path() + "/audit.jsonl";
  int64_t now_ = kStartMs;
};

TEST_F(AuditLogTest, RestartContinuesTheChainInTheSameFile) {
  for (int run = 0; run < 3; ++run) {
    auto log = OpenOrDie(Options());
    ASSERT_TRUE(log);
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(log->Append(SampleRequest(i)).ok());
    ASSERT_TRUE(log->AppendEvent("note", {{"text", "hi"}}).ok());
    EXPECT_FALSE(log->AppendEvent("note", {{"seq", 1}}).ok());
    ASSERT_TRUE(log->Close().ok());
    EXPECT_FALSE(log->Append(SampleRequest(9)).ok());
  }
  const VerifyReport r = VerifyAuditFiles({path_}, {});
  ASSERT_TRUE(r.ok()) << r.ToText();
  EXPECT_EQ(r.records, 3u * 7u);  // open, 4 requests, note, close
}

TEST_F(AuditLogTest, OneWriterAtATime) {
  auto first = OpenOrDie(Options());
  auto second = AuditLog::Open(Options());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable);
  first.reset();
  EXPECT_TRUE(AuditLog::Open(Options()).ok());
}

TEST_F(AuditLogTest, ConcurrentAppendsMakeOneChain) {
  auto log = OpenOrDie(Options());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&log, t] {
      for (int i = 0; i < 50; ++i) EXPECT_TRUE(log->Append(SampleRequest(t * 100 + i)).ok());
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_TRUE(log->Close().ok());
  const VerifyReport r = VerifyAuditFiles({path_}, {});
  ASSERT_TRUE(r.ok()) << r.ToText();
  EXPECT_EQ(r.records, 202u);
}

TEST_F(AuditLogTest, RotationBySizeKeepsTheChainAndAMissingFileIsFound) {
  AuditLogOptions o = Options();
  o.rotate_bytes = 2000;
  auto log = OpenOrDie(o);
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(log->Append(SampleRequest(i)).ok());
  ASSERT_TRUE(log->Close().ok());
  std::vector<std::string> files = AllFiles();
  ASSERT_GE(files.size(), 4u);
  for (size_t i = 0; i + 1 < files.size(); ++i) EXPECT_LE(fs::file_size(files[i]), 2000u + 1000u);
  // Each later file starts with a rotate record naming the file before it.
  const auto first = nlohmann::json::parse(ReadLines(files[2]).front());
  EXPECT_EQ(first["type"], "rotate");
  EXPECT_EQ(first["prev_file"], BaseName(files[1]));
  VerifyReport r = VerifyAuditFiles(files, {});
  ASSERT_TRUE(r.ok()) << r.ToText();
  EXPECT_EQ(r.files.size(), files.size());

  std::vector<std::string> gap = files;
  gap.erase(gap.begin() + 1);
  r = VerifyAuditFiles(gap, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.problem->file, files[2]);
  EXPECT_EQ(r.problem->line, 1u);
  EXPECT_NE(r.problem->message.find("a file is missing"), std::string::npos) << r.problem->message;

  std::vector<std::string> swapped = files;
  std::swap(swapped[1], swapped[2]);
  EXPECT_FALSE(VerifyAuditFiles(swapped, {}).ok());
}

TEST_F(AuditLogTest, RotationByDayNamesFilesAfterTheirFirstDay) {
  auto log = OpenOrDie(Options());
  ASSERT_TRUE(log->Append(SampleRequest(0)).ok());
  now_ += kDayMs;
  ASSERT_TRUE(log->Append(SampleRequest(1)).ok());
  ASSERT_TRUE(log->Close().ok());
  const std::vector<RotatedFile> rotated = *ListRotatedFiles(path_);
  ASSERT_EQ(rotated.size(), 1u);
  EXPECT_EQ(BaseName(rotated[0].path), "audit.000000000001.20261130.jsonl");
  EXPECT_TRUE(VerifyAuditFiles(AllFiles(), {}).ok());
}

TEST_F(AuditLogTest, RestartAfterRotationBeforeTheNewFileContinuesFromTheRotatedFile) {
  auto log = OpenOrDie(Options());
  ASSERT_TRUE(log->Append(SampleRequest(0)).ok());
  ASSERT_TRUE(log->Close().ok());
  log.reset();
  // A crash between the rename and the first write of the new file leaves no active file.
  fs::rename(path_, RotatedPath(path_, 1, now_));
  log = OpenOrDie(Options());
  ASSERT_TRUE(log->Append(SampleRequest(1)).ok());
  ASSERT_TRUE(log->Close().ok());
  const VerifyReport r = VerifyAuditFiles(AllFiles(), {});
  ASSERT_TRUE(r.ok()) << r.ToText();
  EXPECT_EQ(r.files.size(), 2u);
}

TEST_F(AuditLogTest, RetentionDeletesOnlyAfterRecordingWhatItDeletes) {
  AuditLogOptions o = Options();
  auto log = OpenOrDie(o);
  for (int day = 0; day < 4; ++day) {
    ASSERT_TRUE(log->Append(SampleRequest(day)).ok());
    now_ += kDayMs;
  }
  ASSERT_TRUE(log->Close().ok());
  log.reset();
  const std::vector<std::string> before = AllFiles();
  ASSERT_EQ(before.size(), 4u);
  const std::string deleted_sha = *crypto::Sha256FileHex(before[0]);

  now_ += 180 * kDayMs;             // the first two files' last records are now 181.5 and 180.5 days old
  now_ -= 2 * kDayMs + kDayMs / 2;  // ... and the third file's 179.5: kept
  o.retention_days = 180;
  log = OpenOrDie(o);
  ASSERT_TRUE(log->Close().ok());
  const std::vector<std::string> after = AllFiles();
  EXPECT_FALSE(fs::exists(before[0]));
  EXPECT_FALSE(fs::exists(before[1]));
  EXPECT_TRUE(fs::exists(before[2]));
  bool recorded = false;
  for (const std::string& l : ReadLines(path_)) {
    const auto j = nlohmann::json::parse(l);
    if (j["type"] == "retention" && j["file"] == BaseName(before[0])) {
      recorded = true;
      EXPECT_EQ(j["sha256"], deleted_sha);
      EXPECT_EQ(j["deleted"], true);
    }
  }
  EXPECT_TRUE(recorded);
  VerifyReport r = VerifyAuditFiles(after, {});
  ASSERT_TRUE(r.ok()) << r.ToText();
  ASSERT_FALSE(r.notes.empty());
  EXPECT_NE(r.notes[0].find("deleted by retention"), std::string::npos);
  // Without the file holding the retention records, the start is unaccounted for.
  r = VerifyAuditFiles({after[0]}, {});
  EXPECT_FALSE(r.ok());
  VerifyOptions partial;
  partial.allow_partial = true;
  EXPECT_TRUE(VerifyAuditFiles({after[0]}, partial).ok());
}

// A crash mid-write leaves a torn last line: the log verifies up to it; reopening sets the torn
// bytes aside in a side file, records that, and continues the chain.
TEST_F(AuditLogTest, RecoveryFromATornLastLineAtEveryOffset) {
  auto log = OpenOrDie(Options());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(log->Append(SampleRequest(i)).ok());
  ASSERT_TRUE(log->Close().ok());
  log.reset();
  const std::string whole = ReadFile(path_);
  const std::vector<std::string> lines = ReadLines(path_);
  const size_t last_start = whole.size() - lines.back().size() - 1;
  for (size_t cut = last_start + 1; cut < whole.size(); cut += 7) {
    WriteFile(path_, whole.substr(0, cut));
    for (const auto& e : fs::directory_iterator(dir_.path())) {
      if (e.path().string().find(".torn-") != std::string::npos) fs::remove(e.path());
    }
    VerifyReport r = VerifyAuditFiles({path_}, {});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.problem->line, lines.size());
    now_ += 1;
    log = OpenOrDie(Options());
    ASSERT_TRUE(log);
    ASSERT_TRUE(log->Append(SampleRequest(7)).ok());
    ASSERT_TRUE(log->Close().ok());
    log.reset();
    r = VerifyAuditFiles({path_}, {});
    ASSERT_TRUE(r.ok()) << cut << ": " << r.ToText();
    const std::string side = path_ + ".torn-" + std::to_string(now_);
    EXPECT_EQ(ReadFile(side), whole.substr(last_start, cut - last_start));
    const auto recovery = nlohmann::json::parse(ReadLines(path_)[lines.size() - 1]);
    EXPECT_EQ(recovery["type"], "recovery");
    EXPECT_EQ(recovery["torn_bytes"], cut - last_start);
  }
}

TEST_F(AuditLogTest, DamagedLastRecordRefusesToContinue) {
  auto log = OpenOrDie(Options());
  ASSERT_TRUE(log->Close().ok());
  log.reset();
  std::string bytes = ReadFile(path_);
  bytes[bytes.size() - 10] ^= 1;
  WriteFile(path_, bytes);
  auto again = AuditLog::Open(Options());
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kCorrupt);
}

// kill -9 at a random moment while a child process appends as fast as it can, five times over; after each,
// the log verifies (at most a torn last line), and a restarted writer continues a chain that verifies fully.
TEST_F(AuditLogTest, KillNineWhileWritingLeavesAVerifiableLog) {
  const std::string key_path = dir_.path() + "/k.pem";
  auto key = crypto::Ed25519Key::Generate();
  ASSERT_TRUE(key.ok());
  ASSERT_TRUE(crypto::WriteKeyPair(*key, key_path).ok());
  AuditLogOptions o;
  o.path = path_;
  o.signing_key_path = key_path;
  o.checkpoint_every_records = 7;
  o.rotate_bytes = 64 << 10;
  o.retention_days = 0;
  std::mt19937 rng(std::random_device{}());
  VerifyOptions v;
  v.public_key = &*key;
  for (int round = 0; round < 5; ++round) {
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      auto log = AuditLog::Open(o);
      if (!log.ok()) _exit(3);
      for (int i = 0;; ++i) {
        if (!(*log)->Append(SampleRequest(i)).ok()) _exit(4);
      }
    }
    usleep(50'000 + rng() % 200'000);
    ASSERT_EQ(kill(child, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the writer exited by itself with " << WEXITSTATUS(status);
    VerifyReport r = VerifyAuditFiles(AllFiles(), v);
    if (!r.ok()) {
      EXPECT_NE(r.problem->message.find("incomplete record"), std::string::npos) << r.ToText();
    }
    auto log = OpenOrDie(o);
    ASSERT_TRUE(log);
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(log->Append(SampleRequest(i)).ok());
    ASSERT_TRUE(log->Close().ok());
    log.reset();
    r = VerifyAuditFiles(AllFiles(), v);
    ASSERT_TRUE(r.ok()) << r.ToText();
    EXPECT_GT(r.records, 10u);
  }
}

}  // namespace
}  // namespace enclave::audit
