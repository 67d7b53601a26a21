// The audit record format and chain verification: hashes against an independent oracle, and every
// kind of tampering (modify, delete, insert, reorder, truncate) found at the right first record.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "audit_test_util.h"
#include "governance/audit/audit_log.h"
#include "governance/audit/audit_record.h"
#include "governance/audit/checkpoint.h"
#include "governance/audit/verify.h"
#include "governance/crypto/ed25519_key.h"

namespace enclave::audit {
namespace {

using namespace enclave::audit::testing;

// The hash is SHA-256 over the line without its hash member; the expected value was computed
// with Python's hashlib over the body bytes written out by hand.
TEST(AuditRecordTest, HashIsSha256OfTheBody) {
  const SealedRecord r = SealRecord(1, "2026-11-30T06:00:00.000Z", "note", kGenesisHash, {{"text", "hello"}});
  EXPECT_EQ(r.line,
            std::string("{\"seq\":1,\"time\":\"2026-11-30T06:00:00.000Z\",\"type\":\"note\",\"prev\":\"") +
                std::string(kGenesisHash) +
                "\",\"text\":\"hello\",\"hash\":\"e3eac9fc059b2e8d6b55adb0f3924b32f28a0228e551baac0e252c4ab515a4d9\"}");
  EXPECT_EQ(r.hash, "e3eac9fc059b2e8d6b55adb0f3924b32f28a0228e551baac0e252c4ab515a4d9");
  Result<ParsedRecord> p = ParseRecordLine(r.line);
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->seq, 1u);
  EXPECT_EQ(p->type, "note");
  EXPECT_EQ(p->fields["text"], "hello");
}

TEST(AuditRecordTest, RequestFieldsHashTextAndStoreItOnlyWhenAsked) {
  const AuditRequest r = SampleRequest(1);
  const auto without = RequestFields(r, false);
  EXPECT_EQ(without["prompt_sha256"], "7e5b8ad56422e58bca8c8272a62ab32bb2721fc72d0a13e765a175c028432069");  // hashlib
  EXPECT_FALSE(without.contains("prompt"));
  const auto with = RequestFields(r, true);
  EXPECT_EQ(with["prompt"], r.prompt);
  EXPECT_EQ(with["completion"], r.completion);
  // Fixed key order: the same request always gives the same bytes.
  EXPECT_EQ(SealRecord(5, "t", "request", kGenesisHash, without).line,
            SealRecord(5, "t", "request", kGenesisHash, RequestFields(r, false)).line);
  EXPECT_EQ(without.begin().key(), "request_id");
}

TEST(AuditRecordTest, TimeFormatRoundTrips) {
  EXPECT_EQ(FormatTime(kStartMs + 123), "2026-11-30T06:00:00.123Z");
  EXPECT_EQ(*ParseTime("2026-11-30T06:00:00.123Z"), kStartMs + 123);
  EXPECT_FALSE(ParseTime("2026-11-30 06:00:00").ok());
}

// A log of an open record, 8 requests with checkpoints every 3 records, a close record and a
// final checkpoint, signed by a fresh key.
class AuditChainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    key_path_ = dir_.path() + "/k.pem";
    Result<crypto::Ed25519Key> key = crypto::Ed25519Key::Generate();
    ASSERT_TRUE(key.ok());
    ASSERT_TRUE(crypto::WriteKeyPair(*key, key_path_).ok());
    key_.emplace(std::move(*key));
    AuditLogOptions o;
    o.path = dir_.path() + "/audit.jsonl";
    o.signing_key_path = key_path_;
    o.checkpoint_every_records = 3;
    o.now_ms = [this] { return now_ += 1000; };
    auto log = AuditLog::Open(o);
    ASSERT_TRUE(log.ok()) << log.status().message();
    for (int i = 0; i < 8; ++i) ASSERT_TRUE((*log)->Append(SampleRequest(i)).ok());
    ASSERT_TRUE((*log)->Close().ok());
    lines_ = ReadLines(o.path);
    ASSERT_GE(lines_.size(), 12u);
  }

  VerifyOptions Signed() const {
    VerifyOptions v;
    v.public_key = &*key_;
    return v;
  }

  ScratchDir dir_;
  std::string key_path_;
  std::optional<crypto::Ed25519Key> key_;
  int64_t now_ = kStartMs;
  std::vector<std::string> lines_;
};

TEST_F(AuditChainTest, ValidLogVerifiesWithSignatures) {
  const VerifyReport r = VerifyLines(lines_, Signed());
  ASSERT_TRUE(r.ok()) << r.ToText();
  EXPECT_EQ(r.records, lines_.size());
  EXPECT_EQ(r.first_seq, 1u);
  EXPECT_EQ(r.last_seq, lines_.size());
  EXPECT_GE(r.checkpoints, 3u);
  EXPECT_EQ(r.last_checkpoint_seq, r.last_seq);  // Close ends with a checkpoint
  EXPECT_TRUE(r.signatures_checked);
}

TEST_F(AuditChainTest, ModifyingAnyByteOfARecordIsFoundAtThatRecord) {
  for (size_t rec : {size_t{0}, size_t{4}, lines_.size() - 1}) {
    for (size_t b = 0; b < lines_[rec].size(); ++b) {
      std::vector<std::string> t = lines_;
      t[rec][b] = static_cast<char>(t[rec][b] ^ 0x01);
      const VerifyReport r = VerifyLines(t);
      ASSERT_FALSE(r.ok()) << "record " << rec << " byte " << b;
      ASSERT_EQ(r.problem->line, rec + 1) << "record " << rec << " byte " << b << ": " << r.problem->message;
    }
  }
}

TEST_F(AuditChainTest, DeletedRecordIsFoundAtTheNextOne) {
  for (size_t rec = 0; rec + 1 < lines_.size(); ++rec) {
    std::vector<std::string> t = lines_;
    t.erase(t.begin() + static_cast<long>(rec));
    const VerifyReport r = VerifyLines(t);
    ASSERT_FALSE(r.ok()) << rec;
    EXPECT_EQ(r.problem->line, rec + 1) << r.problem->message;
  }
  std::vector<std::string> t = lines_;
  t.erase(t.begin() + 4);
  EXPECT_NE(VerifyLines(t).problem->message.find("deleted"), std::string::npos);
}

TEST_F(AuditChainTest, InsertedRecordIsFound) {
  // A copy of an earlier record.
  std::vector<std::string> t = lines_;
  t.insert(t.begin() + 6, lines_[2]);
  VerifyReport r = VerifyLines(t);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.problem->line, 7u);
  EXPECT_NE(r.problem->message.find("inserted"), std::string::npos);
  // A forged record with a wrong link.
  t = lines_;
  t.insert(t.begin() + 6, SealRecord(7, "2026-11-30T06:00:07.000Z", "request", kGenesisHash, {{"x", 1}}).line);
  r = VerifyLines(t);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.problem->line, 7u);
  // A perfectly linked forgery passes itself; the genuine record after it no longer links.
  t = lines_;
  const std::string prev6 = nlohmann::json::parse(lines_[5])["hash"].get<std::string>();
  t.insert(t.begin() + 6, SealRecord(7, "2026-11-30T06:00:07.000Z", "request", prev6, {{"x", 1}}).line);
  r = VerifyLines(t);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.problem->line, 8u);
}

TEST_F(AuditChainTest, SwappedRecordsAreFoundAtTheFirst) {
  for (size_t rec = 0; rec + 1 < lines_.size(); ++rec) {
    std::vector<std::string> t = lines_;
    std::swap(t[rec], t[rec + 1]);
    const VerifyReport r = VerifyLines(t);
    ASSERT_FALSE(r.ok()) << rec;
    EXPECT_EQ(r.problem->line, rec + 1) << r.problem->message;
  }
}

// Cut anywhere inside the last record (or just before its newline): reported as an incomplete
// last record, with every record before it verified. Cutting exactly at the record boundary
// leaves a shorter valid log; only the missing final signed checkpoint tells (see the doc).
TEST_F(AuditChainTest, TruncationAtEveryByteOfTheLastRecordIsFound) {
  const std::string all = JoinLines(lines_);
  const size_t last_start = all.size() - lines_.back().size() - 1;
  for (size_t cut = last_start + 1; cut < all.size(); ++cut) {
    const VerifyReport r = VerifyAuditBytes("log", std::string_view(all).substr(0, cut), Signed());
    ASSERT_FALSE(r.ok()) << cut;
    EXPECT_EQ(r.problem->line, lines_.size()) << cut;
    EXPECT_NE(r.problem->message.find("incomplete record"), std::string::npos) << r.problem->message;
    EXPECT_EQ(r.records, lines_.size() - 1);
  }
  const VerifyReport at_boundary = VerifyAuditBytes("log", std::string_view(all).substr(0, last_start), Signed());
  ASSERT_TRUE(at_boundary.ok());
  EXPECT_NE(at_boundary.last_checkpoint_seq, at_boundary.last_seq);
}

TEST_F(AuditChainTest, RewrittenChainIsCaughtByTheNextSignedCheckpoint) {
  std::vector<std::string> t = lines_;
  auto j = nlohmann::ordered_json::parse(t[2]);
  ASSERT_EQ(j["type"], "request");
  j["status"] = 500;  // the attacker's change, then the whole chain after it rewritten
  nlohmann::ordered_json fields = nlohmann::ordered_json::object();
  for (const auto& [k, v] : j.items()) {
    if (k != "seq" && k != "time" && k != "type" && k != "prev" && k != "hash") fields[k] = v;
  }
  t[2] = SealRecord(3, j["time"].get<std::string>(), "request", j["prev"].get<std::string>(), fields).line;
  Rechain(t, 3);
  EXPECT_TRUE(VerifyLines(t).ok());  // hashes alone cannot tell
  const VerifyReport r = VerifyLines(t, Signed());
  ASSERT_FALSE(r.ok());
  size_t first_checkpoint_after = 3;
  while (nlohmann::json::parse(t[first_checkpoint_after])["type"] != "checkpoint") ++first_checkpoint_after;
  EXPECT_EQ(r.problem->line, first_checkpoint_after + 1);
  EXPECT_NE(r.problem->message.find("signature does not verify"), std::string::npos) << r.problem->message;
}

TEST_F(AuditChainTest, CheckpointWithWrongKeyOrForgedSignatureFails) {
  Result<crypto::Ed25519Key> other = crypto::Ed25519Key::Generate();
  ASSERT_TRUE(other.ok());
  VerifyOptions wrong;
  wrong.public_key = &*other;
  VerifyReport r = VerifyLines(lines_, wrong);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.problem->message.find("signed by key"), std::string::npos);
  // A checkpoint re-signed by another key but claiming ours.
  std::vector<std::string> t = lines_;
  size_t cp = 0;
  while (nlohmann::json::parse(t[cp])["type"] != "checkpoint") ++cp;
  auto j = nlohmann::ordered_json::parse(t[cp]);
  auto fields = *CheckpointFields(j["head_seq"].get<uint64_t>(), j["head_hash"].get<std::string>(), *other);
  fields["key_id"] = key_->key_id();
  t[cp] = SealRecord(j["seq"].get<uint64_t>(), j["time"].get<std::string>(), "checkpoint", j["prev"].get<std::string>(),
                     fields)
              .line;
  Rechain(t, cp + 1);
  r = VerifyLines(t, Signed());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.problem->line, cp + 1);
  EXPECT_NE(r.problem->message.find("signature does not verify"), std::string::npos);
  EXPECT_TRUE(VerifyLines(t).ok());  // without --pubkey signatures are not checked
}

TEST(AuditVerifyTest, RejectsGarbageAndEmptyInput) {
  EXPECT_FALSE(VerifyAuditBytes("x", "", {}).ok());
  EXPECT_FALSE(VerifyAuditBytes("x", "{}\n", {}).ok());
  EXPECT_FALSE(VerifyAuditBytes("x", "\n\n", {}).ok());
  const std::string note2 = SealRecord(2, "t", "note", kGenesisHash, {{"a", 1}}).line + "\n";
  EXPECT_NE(VerifyAuditBytes("x", note2, {}).problem->message.find("were deleted"), std::string::npos);
  const std::string second = SealRecord(2, "t", "rotate", kGenesisHash, {{"prev_file", "a"}}).line + "\n";
  const VerifyReport r = VerifyAuditBytes("x", second, {});
  ASSERT_FALSE(r.ok());  // starts mid-chain with nothing accounting for the start
  EXPECT_NE(r.problem->message.find("starts at seq 2"), std::string::npos);
  VerifyOptions partial;
  partial.allow_partial = true;
  EXPECT_TRUE(VerifyAuditBytes("x", second, partial).ok());
}

}  // namespace
}  // namespace enclave::audit
