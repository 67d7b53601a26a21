// KeyStore: API keys in an embedded SQLite database (docs/security.md). Only a SHA-256 of each
// secret is stored; the secret is shown once, when it is created or rotated. The server looks a
// key up on every request (a revocation or rotation by `enclave keys` takes effect at once), and
// daily token usage is kept here so a restart does not reset quotas.
//
//   auto store = KeyStore::Open("/var/lib/enclave/keys.db", /*create=*/true);
//   auto made = (*store)->Create({.name = "alice", .role = Role::kUser}, now);   // made->secret once
//   auto who = (*store)->Authenticate(bearer, now);  // who->state == KeyState::kValid
//
// Secrets look like "enk_<43 base64url chars>" (256 random bits from the OS). Key ids ("key_"
// + 16 hex) are public: they appear in listings and audit records.
//
// Thread-safe: one connection guarded by a mutex; several processes may open the same file (the
// CLI while the server runs): SQLite's locking, WAL mode and a busy timeout handle that.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "governance/keys/role.h"

struct sqlite3;

namespace enclave::governance::keys {

// Per-key limits; 0 (or empty) means no limit of that kind.
struct KeyLimits {
  int64_t rpm = 0;             // requests per minute (token bucket, burst = rpm)
  int64_t tpm = 0;             // prompt + completion tokens per minute (token bucket, burst = tpm)
  int64_t daily_tokens = 0;    // prompt + completion tokens per UTC day
  int64_t max_concurrent = 0;  // requests in flight at once
  int64_t max_tokens = 0;      // completion tokens per request
  std::vector<std::string> models;  // model ids the key may use; empty: any
};

struct KeyRecord {
  std::string id;        // "key_3f9a0c2b7d114e6a"
  std::string name;      // unique among keys that are not revoked
  Role role = Role::kUser;
  std::string prefix;    // the secret's first 8 characters ("enk_AbCd"), to recognise it in listings
  int64_t created_unix = 0;
  int64_t expires_unix = 0;   // 0: never
  int64_t revoked_unix = 0;   // 0: not revoked
  int64_t rotated_unix = 0;   // 0: never rotated
  std::string client_cert_sha256;  // bound client certificate (64 hex of its DER), "" none
  KeyLimits limits;
  // PII policy for this key's requests: "off", "mask", "placeholder" or "block"; "" follows the
  // server's (pii.route_policies, then pii.policy).
  std::string pii_policy;
};

struct CreateKeyRequest {
  std::string name;
  Role role = Role::kUser;
  int64_t expires_in_s = 0;  // 0: never expires
  KeyLimits limits;
  std::string client_cert_sha256;  // optional: this certificate also authenticates as the key
  std::string pii_policy;          // "" or off, mask, placeholder, block (KeyRecord::pii_policy)
};

struct CreatedKey {
  KeyRecord record;
  std::string secret;  // shown once; never stored
};

enum class KeyState { kValid, kUnknown, kRevoked, kExpired };
const char* KeyStateName(KeyState state);  // "valid", "unknown", "revoked", "expired"

struct AuthResult {
  KeyState state = KeyState::kUnknown;
  KeyRecord record;  // filled unless kUnknown
};

class KeyStore {
 public:
  // Opens (and with `create`, creates) the database. Errors name the path and what to do (a
  // missing file without `create`: "create a key first with enclave keys create").
  static Result<std::unique_ptr<KeyStore>> Open(const std::string& path, bool create);
  ~KeyStore();
  KeyStore(const KeyStore&) = delete;
  KeyStore& operator=(const KeyStore&) = delete;

  // A new key. Errors: an empty or duplicate name (among keys not revoked), a bad limit.
  Result<CreatedKey> Create(const CreateKeyRequest& request, int64_t now_unix);
  // Every key, revoked and expired ones included, oldest first.
  Result<std::vector<KeyRecord>> List();
  // A key by id, or by name among keys not revoked. NotFound otherwise.
  Result<KeyRecord> Find(std::string_view id_or_name);
  // Revoked keys stay listed (audit records refer to them) but never authenticate again.
  Status Revoke(std::string_view id_or_name, int64_t now_unix);
  // A new secret for the same key (id, name, role, limits kept); the old secret stops working
  // at once. Revoked keys cannot be rotated.
  Result<CreatedKey> Rotate(std::string_view id_or_name, int64_t now_unix);

  // The key a bearer secret belongs to. Malformed or unknown secrets give kUnknown (not an
  // error); errors are database failures only (the caller fails closed).
  Result<AuthResult> Authenticate(std::string_view secret, int64_t now_unix);
  // The key bound to a client certificate (SHA-256 of its DER, 64 hex), as Authenticate.
  Result<AuthResult> AuthenticateCertificate(std::string_view cert_sha256, int64_t now_unix);

  // Daily usage, by UTC day number (unix_seconds / 86400).
  Result<int64_t> TokensUsed(std::string_view key_id, int64_t day);
  Status AddTokens(std::string_view key_id, int64_t day, int64_t tokens);

  // For the server's connection: commits skip their fsync (WAL with synchronous=NORMAL), so
  // recording a request's token usage costs microseconds instead of a disk sync on the thread that
  // ends requests. A power loss may forget the last seconds of usage; it never corrupts the file.
  // Keys created, revoked or rotated (by the CLI, on its own connection) stay fully synced.
  Status RelaxSync();

  const std::string& path() const { return path_; }

 private:
  KeyStore(sqlite3* db, std::string path);
  // The first key matching `condition` (SQL after WHERE, binding `value` as ?1), with its state.
  Result<AuthResult> AuthenticateWhere(std::string_view condition, const std::string& value, int64_t now_unix);
  sqlite3* db_;
  std::string path_;
  std::mutex mu_;
};

}  // namespace enclave::governance::keys
