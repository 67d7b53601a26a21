// `enclave audit keygen|verify|note|prune`: the operator's side of the tamper-evident audit log
// (docs/audit-log.md). The server writes the log; these commands make its signing key, check a
// log, add an operator's note to it, and apply retention to it while the server is stopped.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "governance/audit/audit_log.h"
#include "governance/audit/verify.h"
#include "governance/crypto/ed25519_key.h"
#include "tools/enclave/commands.h"

namespace enclave::cli {
namespace {

int Fail(const Status& s) {
  std::fprintf(stderr, "error: %s\n", s.message().c_str());
  return 1;
}

int RunKeygen(const std::string& out) {
  Result<crypto::Ed25519Key> key = crypto::Ed25519Key::Generate();
  if (!key.ok()) return Fail(key.status());
  Result<std::string> pub = crypto::WriteKeyPair(*key, out);
  if (!pub.ok()) return Fail(pub.status());
  std::printf("wrote %s (private key, mode 0600) and %s (public key); key id %s\n", out.c_str(), pub->c_str(),
              key->key_id().c_str());
  return 0;
}

struct VerifyArgs {
  std::vector<std::string> files;
  std::string pubkey;
  bool json = false;
  bool partial = false;
};

int RunVerify(const VerifyArgs& a) {
  std::optional<crypto::Ed25519Key> key;
  if (!a.pubkey.empty()) {
    Result<crypto::Ed25519Key> k = crypto::Ed25519Key::LoadPublicPem(a.pubkey);
    if (!k.ok()) return Fail(k.status());
    key = std::move(*k);
  }
  audit::VerifyOptions options;
  options.public_key = key ? &*key : nullptr;
  options.allow_partial = a.partial;
  const audit::VerifyReport report = audit::VerifyAuditFiles(a.files, options);
  if (a.json) {
    std::cout << report.ToJson().dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    std::fputs(report.ToText().c_str(), report.ok() ? stdout : stderr);
  }
  return report.ok() ? 0 : 1;
}

struct WriteArgs {
  std::string log;
  std::string key;
  std::string text;
  std::string older_than;
};

int RunNote(const WriteArgs& a) {
  audit::AuditLogOptions o;
  o.path = a.log;
  o.signing_key_path = a.key;
  o.retention_days = 0;  // retention is the server's (or `audit prune`'s) business, not a note's
  Result<std::unique_ptr<audit::AuditLog>> log = audit::AuditLog::Open(o);
  if (!log.ok()) return Fail(log.status());
  const char* user = std::getenv("USER");
  Status s = (*log)->AppendEvent("note", {{"text", a.text}, {"user", user ? user : ""}});
  const Status closed = (*log)->Close();
  if (!s.ok()) return Fail(s);
  if (!closed.ok()) return Fail(closed);
  std::printf("appended a note to %s (chain head seq %llu)\n", a.log.c_str(),
              static_cast<unsigned long long>((*log)->head_seq()));
  return 0;
}

int RunPrune(const WriteArgs& a) {
  std::string days = a.older_than;
  if (!days.empty() && days.back() == 'd') days.pop_back();
  char* end = nullptr;
  const long long n = std::strtoll(days.c_str(), &end, 10);
  if (days.empty() || *end != '\0' || n < 1) {
    std::fprintf(stderr, "error: --older-than '%s' is not a number of days like 180d\n", a.older_than.c_str());
    return 2;
  }
  audit::AuditLogOptions o;
  o.path = a.log;
  o.signing_key_path = a.key;
  o.retention_days = n;  // applied by Open: each deleted file gets a "retention" record first
  Result<std::unique_ptr<audit::AuditLog>> log = audit::AuditLog::Open(o);
  if (!log.ok()) return Fail(log.status());
  const Status closed = (*log)->Close();
  if (!closed.ok()) return Fail(closed);
  std::printf("applied a retention of %lld days to %s; every deleted file is named in a retention record\n", n,
              a.log.c_str());
  return 0;
}

}  // namespace

void RegisterAudit(CLI::App& app, CommandRegistry& registry) {
  CLI::App* audit = app.add_subcommand("audit", "The tamper-evident audit log: keygen, verify, note, prune");
  audit->require_subcommand(1);

  auto keygen_out = std::make_shared<std::string>();
  CLI::App* keygen = audit->add_subcommand(
      "keygen",
      "Make an Ed25519 key pair for signing audit checkpoints and model manifests: KEY.pem (PKCS#8 "
      "private key, mode 0600) and KEY.pub.pem (public key). Never overwrites a file.");
  keygen->add_option("--out", *keygen_out, "private key PEM file to write (the public key goes beside it)")->required();
  keygen->callback([keygen_out, &registry] { registry.exit_code = RunKeygen(*keygen_out); });

  auto v = std::make_shared<VerifyArgs>();
  CLI::App* verify = audit->add_subcommand(
      "verify",
      "Check audit log files of one chain, oldest first (e.g. audit.*.jsonl audit.jsonl): every record's "
      "hash, seq and link to the one before, file continuity, checkpoints. Names the first bad record "
      "(file, line, seq, what is wrong). Exits 0 only if all verify.");
  verify->add_option("files", v->files, "log files in chain order")->required();
  verify->add_option("--pubkey", v->pubkey, "Ed25519 public key PEM: also check every checkpoint's signature");
  verify->add_flag("--json", v->json,
                   "print one JSON object (ok, records, first_seq, last_seq, head_hash, "
                   "checkpoints, problem{file,line,seq,message}, ...)");
  verify->add_flag("--partial", v->partial,
                   "accept a first file that starts mid-chain (checking only the newest files)");
  verify->callback([v, &registry] { registry.exit_code = RunVerify(*v); });

  auto w = std::make_shared<WriteArgs>();
  CLI::App* note = audit->add_subcommand(
      "note", "Append an operator's note to an audit log (not while the server holds it: the log is locked)");
  note->add_option("log", w->log, "the active log file (audit.log_path)")->required();
  note->add_option("--text", w->text, "the note")->required();
  note->add_option("--key", w->key, "Ed25519 private key PEM: end with a signed checkpoint");
  note->callback([w, &registry] { registry.exit_code = RunNote(*w); });

  CLI::App* prune = audit->add_subcommand(
      "prune",
      "Delete rotated audit files whose last record is older than the given age, oldest first; each "
      "deletion is first recorded in the chain (file, size, SHA-256, seq range, last hash)");
  prune->add_option("log", w->log, "the active log file (audit.log_path)")->required();
  prune->add_option("--older-than", w->older_than, "age in days, e.g. 180d")->required();
  prune->add_option("--key", w->key, "Ed25519 private key PEM: end with a signed checkpoint");
  prune->callback([w, &registry] { registry.exit_code = RunPrune(*w); });
}

}  // namespace enclave::cli
