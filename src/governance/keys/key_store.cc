#include "governance/keys/key_store.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/rand.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

#include "governance/crypto/digest.h"

namespace enclave::governance::keys {
namespace {

// On-disk format (docs/api-keys.md, "Storage"). Bump kSchemaVersion with every change of the
// tables below, and teach OpenDatabase to upgrade older files.
constexpr char kFormatName[] = "enclave-keys";
constexpr int64_t kSchemaVersion = 1;
constexpr int kBusyTimeoutMs = 5000;

constexpr char kSchema[] = R"sql(
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE keys (
  seq                INTEGER PRIMARY KEY,  -- creation order
  id                 TEXT    NOT NULL UNIQUE,
  name               TEXT    NOT NULL,
  role               TEXT    NOT NULL CHECK (role IN ('admin', 'user', 'auditor', 'metrics')),
  secret_sha256      TEXT    NOT NULL UNIQUE CHECK (length(secret_sha256) = 64),
  prefix             TEXT    NOT NULL,
  created            INTEGER NOT NULL,
  expires            INTEGER NOT NULL DEFAULT 0 CHECK (expires >= 0),  -- 0: never
  revoked            INTEGER NOT NULL DEFAULT 0 CHECK (revoked >= 0),  -- 0: not revoked
  rotated            INTEGER NOT NULL DEFAULT 0 CHECK (rotated >= 0),  -- 0: never rotated
  client_cert_sha256 TEXT CHECK (client_cert_sha256 IS NULL OR length(client_cert_sha256) = 64),
  rpm                INTEGER NOT NULL DEFAULT 0 CHECK (rpm >= 0),
  tpm                INTEGER NOT NULL DEFAULT 0 CHECK (tpm >= 0),
  daily_tokens       INTEGER NOT NULL DEFAULT 0 CHECK (daily_tokens >= 0),
  max_concurrent     INTEGER NOT NULL DEFAULT 0 CHECK (max_concurrent >= 0),
  max_tokens         INTEGER NOT NULL DEFAULT 0 CHECK (max_tokens >= 0),
  models             TEXT    NOT NULL DEFAULT '[]',  -- JSON array of model ids; empty: any
  pii_policy         TEXT    NOT NULL DEFAULT ''
                     CHECK (pii_policy IN ('', 'off', 'mask', 'placeholder', 'block'))  -- '': the server's
);
CREATE UNIQUE INDEX keys_live_name ON keys(name) WHERE revoked = 0;
CREATE UNIQUE INDEX keys_live_cert ON keys(client_cert_sha256)
  WHERE revoked = 0 AND client_cert_sha256 IS NOT NULL;
CREATE INDEX keys_cert ON keys(client_cert_sha256);
CREATE TABLE usage (
  key_id TEXT    NOT NULL REFERENCES keys(id),
  day    INTEGER NOT NULL,  -- UTC day: unix seconds / 86400
  tokens INTEGER NOT NULL CHECK (tokens >= 0),
  PRIMARY KEY (key_id, day)
) WITHOUT ROWID;
)sql";

constexpr char kRecordColumns[] =
    "id, name, role, prefix, created, expires, revoked, rotated, client_cert_sha256, "
    "rpm, tpm, daily_tokens, max_concurrent, max_tokens, models, pii_policy";

constexpr std::string_view kSecretPrefix = "enk_";
constexpr size_t kSecretBytes = 32;
constexpr size_t kSecretChars = 4 + 43;  // "enk_" + base64url(32 bytes), no padding
constexpr size_t kShownPrefixChars = 8;
constexpr size_t kMaxNameBytes = 64;
constexpr int64_t kMaxExpiresInS = 100LL * 366 * 86400;  // 100 years
constexpr int64_t kMaxTokensPerAdd = int64_t{1} << 40;   // sums stay far from int64 overflow

// ---- SQLite plumbing ------------------------------------------------------------------------

// A database failure as a Status naming the file and SQLite's message.
Status DbError(sqlite3* db, const std::string& path, std::string_view what) {
  const int code = db ? sqlite3_extended_errcode(db) : SQLITE_NOMEM;
  const std::string msg =
      fmt::format("keys database {}: {}: {}", path, what, db ? sqlite3_errmsg(db) : "out of memory");
  switch (code & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return UnavailableError(msg + " (another process holds it locked; retry)");
    case SQLITE_NOTADB:
      return CorruptError(msg + " (it is not an Enclave keys database; check the path)");
    case SQLITE_CORRUPT:
      return CorruptError(msg + " (the file is damaged; restore it from a backup)");
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_CANTOPEN:
      return IoError(msg + " (check the file's and its directory's permissions)");
    default:
      return IoError(msg);
  }
}

// A prepared statement, finalized on destruction.
class Stmt {
 public:
  Stmt(sqlite3* db, const std::string& path) : db_(db), path_(path) {}
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Status Prepare(std::string_view sql) {
    const int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr);
    if (rc != SQLITE_OK) return DbError(db_, path_, "preparing a statement");
    return Status::Ok();
  }
  void Bind(int index, std::string_view text) {
    sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  }
  void Bind(int index, int64_t value) { sqlite3_bind_int64(stmt_, index, value); }
  void BindNull(int index) { sqlite3_bind_null(stmt_, index); }
  // True while there is a row; false when done.
  Result<bool> Step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return DbError(db_, path_, "running a statement");
  }
  int64_t Int(int column) const { return sqlite3_column_int64(stmt_, column); }
  std::string Text(int column) const {
    const unsigned char* t = sqlite3_column_text(stmt_, column);
    return t ? std::string(reinterpret_cast<const char*>(t), static_cast<size_t>(sqlite3_column_bytes(stmt_, column)))
             : std::string();
  }
  int ErrorCode() const { return sqlite3_extended_errcode(db_); }

 private:
  sqlite3* db_;
  const std::string& path_;
  sqlite3_stmt* stmt_ = nullptr;
};

Status Exec(sqlite3* db, const std::string& path, const char* sql, std::string_view what) {
  if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) return DbError(db, path, what);
  return Status::Ok();
}

// BEGIN IMMEDIATE (the write lock up front, so a read-then-write cannot be overtaken by another
// process); rolled back on destruction unless committed.
class WriteTxn {
 public:
  WriteTxn(sqlite3* db, const std::string& path) : db_(db), path_(path) {}
  ~WriteTxn() {
    if (open_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  Status Begin() {
    RETURN_IF_ERROR(Exec(db_, path_, "BEGIN IMMEDIATE", "starting a transaction"));
    open_ = true;
    return Status::Ok();
  }
  Status Commit() {
    RETURN_IF_ERROR(Exec(db_, path_, "COMMIT", "committing"));
    open_ = false;
    return Status::Ok();
  }

 private:
  sqlite3* db_;
  const std::string& path_;
  bool open_ = false;
};

// ---- secrets, ids, validation ---------------------------------------------------------------

Result<std::string> RandomBytes(size_t n) {
  std::string bytes(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(n)) != 1) {
    return UnavailableError("the system's random number generator failed; no key was made");
  }
  return bytes;
}

std::string Base64Url(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(acc >> bits) & 63];
    }
  }
  if (bits > 0) out += kAlphabet[(acc << (6 - bits)) & 63];
  return out;
}

bool IsBase64UrlChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

bool IsWellFormedSecret(std::string_view s) {
  if (s.size() != kSecretChars || s.substr(0, kSecretPrefix.size()) != kSecretPrefix) return false;
  for (char c : s.substr(kSecretPrefix.size())) {
    if (!IsBase64UrlChar(c)) return false;
  }
  return true;
}

Result<std::string> NewSecret() {
  ASSIGN_OR_RETURN(std::string bytes, RandomBytes(kSecretBytes));
  return std::string(kSecretPrefix) + Base64Url(bytes);
}

Result<std::string> NewKeyId() {
  ASSIGN_OR_RETURN(std::string bytes, RandomBytes(8));
  return "key_" + crypto::HexEncode(bytes);
}

bool LooksLikeKeyId(std::string_view s) {
  if (s.size() != 20 || s.substr(0, 4) != "key_") return false;
  for (char c : s.substr(4)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Status ValidateName(std::string_view name) {
  if (name.empty())
    return InvalidArgumentError("a key needs a name (who or what uses it, e.g. alice or billing-batch)");
  if (name.size() > kMaxNameBytes) {
    return InvalidArgumentError(fmt::format("key name '{}...' is {} characters long; the most is {}",
                                            name.substr(0, 16), name.size(), kMaxNameBytes));
  }
  for (char c : name) {
    if (c < 0x20 || c > 0x7e) {
      return InvalidArgumentError(
          "key names are printable ASCII (letters, digits, punctuation, inner spaces); this one has a "
          "control or non-ASCII character");
    }
  }
  if (name.front() == ' ' || name.back() == ' ') {
    return InvalidArgumentError(fmt::format("key name '{}' starts or ends with a space; remove it", name));
  }
  if (LooksLikeKeyId(name)) {
    return InvalidArgumentError(fmt::format("key name '{}' has the form of a key id; pick another name", name));
  }
  return Status::Ok();
}

Status ValidateLimits(const KeyLimits& l) {
  const std::pair<const char*, int64_t> values[] = {{"rpm", l.rpm},
                                                    {"tpm", l.tpm},
                                                    {"daily_tokens", l.daily_tokens},
                                                    {"max_concurrent", l.max_concurrent},
                                                    {"max_tokens", l.max_tokens}};
  for (const auto& [name, value] : values) {
    if (value < 0) {
      return InvalidArgumentError(fmt::format("limit {} is {}; limits are 0 (no limit) or more", name, value));
    }
  }
  for (const std::string& m : l.models) {
    if (m.empty()) return InvalidArgumentError("a model in the key's model list is empty; list model ids like a,b");
    for (char c : m) {
      if (c <= 0x20 || c == 0x7f) {
        return InvalidArgumentError(
            fmt::format("model id '{}' in the key's model list has a space or control character", m));
      }
    }
  }
  return Status::Ok();
}

std::string ModelsJson(const std::vector<std::string>& models) { return nlohmann::json(models).dump(); }

KeyState StateAt(const KeyRecord& r, int64_t now_unix) {
  if (r.revoked_unix != 0) return KeyState::kRevoked;
  if (r.expires_unix != 0 && now_unix >= r.expires_unix) return KeyState::kExpired;
  return KeyState::kValid;
}

// 0 stands for "never" in the time columns, so an event happens at 1 at the earliest.
int64_t EventTime(int64_t now_unix) { return now_unix > 0 ? now_unix : 1; }

// ---- rows -----------------------------------------------------------------------------------

Result<KeyRecord> ReadRecord(const Stmt& s, const std::string& path) {
  KeyRecord r;
  r.id = s.Text(0);
  r.name = s.Text(1);
  Result<Role> role = ParseRole(s.Text(2));
  if (!role.ok()) return CorruptError(fmt::format("keys database {}: key {}: {}", path, r.id, role.status().message()));
  r.role = *role;
  r.prefix = s.Text(3);
  r.created_unix = s.Int(4);
  r.expires_unix = s.Int(5);
  r.revoked_unix = s.Int(6);
  r.rotated_unix = s.Int(7);
  r.client_cert_sha256 = s.Text(8);
  r.limits.rpm = s.Int(9);
  r.limits.tpm = s.Int(10);
  r.limits.daily_tokens = s.Int(11);
  r.limits.max_concurrent = s.Int(12);
  r.limits.max_tokens = s.Int(13);
  r.pii_policy = s.Text(15);
  const nlohmann::json models = nlohmann::json::parse(s.Text(14), nullptr, /*allow_exceptions=*/false);
  bool models_ok = models.is_array();
  if (models_ok) {
    for (const nlohmann::json& m : models) {
      if (!m.is_string()) {
        models_ok = false;
        break;
      }
      r.limits.models.push_back(m.get<std::string>());
    }
  }
  if (!models_ok) {
    return CorruptError(
        fmt::format("keys database {}: key {}: the model list is not a JSON array of strings", path, r.id));
  }
  return r;
}

// At most one record from a statement whose columns are kRecordColumns.
Result<std::optional<KeyRecord>> ReadOne(Stmt& s, const std::string& path) {
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::optional<KeyRecord>();
  ASSIGN_OR_RETURN(KeyRecord r, ReadRecord(s, path));
  return std::optional<KeyRecord>(std::move(r));
}

// Find() without the lock.
Result<KeyRecord> FindIn(sqlite3* db, const std::string& path, std::string_view id_or_name) {
  Stmt s(db, path);
  const bool by_id = LooksLikeKeyId(id_or_name);
  RETURN_IF_ERROR(s.Prepare(by_id
                                ? fmt::format("SELECT {} FROM keys WHERE id = ?1", kRecordColumns)
                                : fmt::format("SELECT {} FROM keys WHERE name = ?1 AND revoked = 0", kRecordColumns)));
  s.Bind(1, id_or_name);
  ASSIGN_OR_RETURN(std::optional<KeyRecord> r, ReadOne(s, path));
  if (r) return std::move(*r);
  if (by_id) return NotFoundError(fmt::format("no key with id {} in {}; see `enclave keys list`", id_or_name, path));
  return NotFoundError(fmt::format(
      "no key named '{}' in {} (revoked keys are found by id only); see `enclave keys list`", id_or_name, path));
}

Result<std::optional<std::string>> LiveKeyWith(sqlite3* db, const std::string& path, const char* column,
                                               std::string_view value) {
  Stmt s(db, path);
  RETURN_IF_ERROR(s.Prepare(fmt::format("SELECT id FROM keys WHERE {} = ?1 AND revoked = 0", column)));
  s.Bind(1, value);
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(s.Text(0));
}

// ---- opening --------------------------------------------------------------------------------

Result<int64_t> CountTables(sqlite3* db, const std::string& path) {
  Stmt s(db, path);
  RETURN_IF_ERROR(s.Prepare("SELECT count(*) FROM sqlite_master"));
  ASSIGN_OR_RETURN(bool row, s.Step());
  return row ? s.Int(0) : 0;
}

Status CheckFormat(sqlite3* db, const std::string& path) {
  const std::string not_ours = fmt::format(
      "{} is an SQLite database but not an Enclave keys database; check the path (--keys-db, "
      "ENCLAVE_AUTH_KEYS_DB or auth.keys_db)",
      path);
  {
    Stmt s(db, path);
    RETURN_IF_ERROR(s.Prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"));
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return InvalidArgumentError(not_ours);
  }
  Stmt s(db, path);
  RETURN_IF_ERROR(s.Prepare("SELECT key, value FROM meta WHERE key IN ('format', 'schema_version')"));
  std::string format, version;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    (s.Text(0) == "format" ? format : version) = s.Text(1);
  }
  if (format != kFormatName) return InvalidArgumentError(not_ours);
  char* end = nullptr;
  const long long v = std::strtoll(version.c_str(), &end, 10);
  if (version.empty() || *end != '\0' || v < 1) {
    return CorruptError(fmt::format("keys database {} has a bad schema version '{}'", path, version));
  }
  if (v > kSchemaVersion) {
    return UnsupportedError(
        fmt::format("keys database {} has schema version {}, written by a newer Enclave; this one reads version {}. "
                    "Use the newer enclave binary",
                    path, v, kSchemaVersion));
  }
  return Status::Ok();
}

Status InitSchema(sqlite3* db, const std::string& path) {
  // The journal mode cannot change inside a transaction; it is stored in the file.
  RETURN_IF_ERROR(Exec(db, path, "PRAGMA journal_mode = WAL", "switching to WAL mode"));
  WriteTxn txn(db, path);
  RETURN_IF_ERROR(txn.Begin());
  ASSIGN_OR_RETURN(int64_t tables, CountTables(db, path));
  if (tables == 0) {  // not made by another process while we waited for the lock
    RETURN_IF_ERROR(Exec(db, path, kSchema, "creating the tables"));
    Stmt s(db, path);
    RETURN_IF_ERROR(s.Prepare("INSERT INTO meta (key, value) VALUES ('format', ?1), ('schema_version', ?2)"));
    s.Bind(1, kFormatName);
    s.Bind(2, std::to_string(kSchemaVersion));
    ASSIGN_OR_RETURN(bool row, s.Step());
    (void)row;
  }
  return txn.Commit();
}

Status OpenDatabase(sqlite3* db, const std::string& path, bool create) {
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  RETURN_IF_ERROR(Exec(db, path, "PRAGMA foreign_keys = ON", "enabling foreign keys"));
  // The first read of the file: a file that is not SQLite at all fails here (SQLITE_NOTADB).
  Result<int64_t> tables = CountTables(db, path);
  if (!tables.ok()) {
    if ((sqlite3_extended_errcode(db) & 0xff) == SQLITE_NOTADB) {
      return InvalidArgumentError(
          fmt::format("{} is not an Enclave keys database (not an SQLite file); check the path (--keys-db, "
                      "ENCLAVE_AUTH_KEYS_DB or auth.keys_db)",
                      path));
    }
    return tables.status();
  }
  if (*tables == 0) {
    if (!create) {
      return NotFoundError(fmt::format(
          "keys database {} is empty; create a key first with `enclave keys create --keys-db {}`", path, path));
    }
    RETURN_IF_ERROR(InitSchema(db, path));
  }
  RETURN_IF_ERROR(CheckFormat(db, path));
  // A file made elsewhere may be in another journal mode; WAL lets the server read while the
  // CLI writes. FULL makes every committed change (a revocation) durable before it returns.
  RETURN_IF_ERROR(Exec(db, path, "PRAGMA journal_mode = WAL", "switching to WAL mode"));
  return Exec(db, path, "PRAGMA synchronous = FULL", "setting synchronous mode");
}

}  // namespace

const char* KeyStateName(KeyState state) {
  switch (state) {
    case KeyState::kValid:
      return "valid";
    case KeyState::kUnknown:
      return "unknown";
    case KeyState::kRevoked:
      return "revoked";
    case KeyState::kExpired:
      return "expired";
  }
  return "unknown";
}

KeyStore::KeyStore(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}

KeyStore::~KeyStore() { sqlite3_close_v2(db_); }

Result<std::unique_ptr<KeyStore>> KeyStore::Open(const std::string& path, bool create) {
  if (path.empty()) return InvalidArgumentError("the keys database path is empty");
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) return IoError(fmt::format("cannot stat keys database {}: {}", path, std::strerror(errno)));
    if (!create) {
      return NotFoundError(fmt::format(
          "keys database {} does not exist; create a key first with `enclave keys create --keys-db {}`", path, path));
    }
    // Made here, not by SQLite, so that it is private from the start (SQLite gives its -wal and
    // -shm files the same mode).
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno != EEXIST) {
      return IoError(fmt::format("cannot create keys database {}: {}", path, std::strerror(errno)));
    }
    if (fd >= 0) ::close(fd);
  } else if (!S_ISREG(st.st_mode)) {
    return InvalidArgumentError(fmt::format("keys database {} is not a regular file", path));
  }
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  std::unique_ptr<KeyStore> store(new KeyStore(db, path));  // closes `db` on every return below
  if (rc != SQLITE_OK) return DbError(db, path, "opening");
  RETURN_IF_ERROR(OpenDatabase(db, path, create));
  return store;
}

Status KeyStore::RelaxSync() {
  std::lock_guard<std::mutex> lock(mu_);
  return Exec(db_, path_, "PRAGMA synchronous = NORMAL", "setting synchronous mode");
}

Result<CreatedKey> KeyStore::Create(const CreateKeyRequest& request, int64_t now_unix) {
  RETURN_IF_ERROR(ValidateName(request.name));
  RETURN_IF_ERROR(ValidateLimits(request.limits));
  if (request.pii_policy != "" && request.pii_policy != "off" && request.pii_policy != "mask" &&
      request.pii_policy != "placeholder" && request.pii_policy != "block") {
    return InvalidArgumentError(fmt::format("PII policy '{}' is none of off, mask, placeholder, block", request.pii_policy));
  }
  if (request.expires_in_s < 0 || request.expires_in_s > kMaxExpiresInS) {
    return InvalidArgumentError(
        fmt::format("a key's lifetime is {} s; it must be 0 (never expires) up to 100 years", request.expires_in_s));
  }
  std::string cert = request.client_cert_sha256;
  for (char& c : cert) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!cert.empty() && !crypto::IsSha256Hex(cert)) {
    return InvalidArgumentError("the client certificate's SHA-256 must be 64 hex digits");
  }
  CreatedKey made;
  ASSIGN_OR_RETURN(made.secret, NewSecret());
  KeyRecord& r = made.record;
  ASSIGN_OR_RETURN(r.id, NewKeyId());
  r.name = request.name;
  r.role = request.role;
  r.prefix = made.secret.substr(0, kShownPrefixChars);
  r.created_unix = now_unix;
  r.expires_unix = request.expires_in_s == 0 ? 0 : now_unix + request.expires_in_s;
  r.client_cert_sha256 = cert;
  r.limits = request.limits;
  r.pii_policy = request.pii_policy;

  std::lock_guard<std::mutex> lock(mu_);
  WriteTxn txn(db_, path_);
  RETURN_IF_ERROR(txn.Begin());
  ASSIGN_OR_RETURN(std::optional<std::string> same_name, LiveKeyWith(db_, path_, "name", r.name));
  if (same_name) {
    return InvalidArgumentError(
        fmt::format("a key named '{}' exists ({}); pick another name, or revoke that key first", r.name, *same_name));
  }
  if (!cert.empty()) {
    ASSIGN_OR_RETURN(std::optional<std::string> same_cert, LiveKeyWith(db_, path_, "client_cert_sha256", cert));
    if (same_cert) {
      return InvalidArgumentError(
          fmt::format("that client certificate is bound to key {} already; revoke it first or use another certificate",
                      *same_cert));
    }
  }
  Stmt s(db_, path_);
  RETURN_IF_ERROR(
      s.Prepare("INSERT INTO keys (id, name, role, secret_sha256, prefix, created, expires, client_cert_sha256, "
                "rpm, tpm, daily_tokens, max_concurrent, max_tokens, models, pii_policy) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"));
  s.Bind(1, r.id);
  s.Bind(2, r.name);
  s.Bind(3, RoleName(r.role));
  s.Bind(4, crypto::Sha256Hex(made.secret));
  s.Bind(5, r.prefix);
  s.Bind(6, r.created_unix);
  s.Bind(7, r.expires_unix);
  if (cert.empty()) {
    s.BindNull(8);
  } else {
    s.Bind(8, cert);
  }
  s.Bind(9, r.limits.rpm);
  s.Bind(10, r.limits.tpm);
  s.Bind(11, r.limits.daily_tokens);
  s.Bind(12, r.limits.max_concurrent);
  s.Bind(13, r.limits.max_tokens);
  s.Bind(14, ModelsJson(r.limits.models));
  s.Bind(15, r.pii_policy);
  ASSIGN_OR_RETURN(bool row, s.Step());
  (void)row;
  RETURN_IF_ERROR(txn.Commit());
  return made;
}

Result<std::vector<KeyRecord>> KeyStore::List() {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_, path_);
  RETURN_IF_ERROR(s.Prepare(fmt::format("SELECT {} FROM keys ORDER BY created, seq", kRecordColumns)));
  std::vector<KeyRecord> out;
  for (;;) {
    ASSIGN_OR_RETURN(std::optional<KeyRecord> r, ReadOne(s, path_));
    if (!r) break;
    out.push_back(std::move(*r));
  }
  return out;
}

Result<KeyRecord> KeyStore::Find(std::string_view id_or_name) {
  std::lock_guard<std::mutex> lock(mu_);
  return FindIn(db_, path_, id_or_name);
}

Status KeyStore::Revoke(std::string_view id_or_name, int64_t now_unix) {
  std::lock_guard<std::mutex> lock(mu_);
  WriteTxn txn(db_, path_);
  RETURN_IF_ERROR(txn.Begin());
  ASSIGN_OR_RETURN(KeyRecord r, FindIn(db_, path_, id_or_name));
  if (r.revoked_unix != 0) return InvalidArgumentError(fmt::format("key {} ({}) is revoked already", r.id, r.name));
  Stmt s(db_, path_);
  RETURN_IF_ERROR(s.Prepare("UPDATE keys SET revoked = ?1 WHERE id = ?2 AND revoked = 0"));
  s.Bind(1, EventTime(now_unix));
  s.Bind(2, r.id);
  ASSIGN_OR_RETURN(bool row, s.Step());
  (void)row;
  return txn.Commit();
}

Result<CreatedKey> KeyStore::Rotate(std::string_view id_or_name, int64_t now_unix) {
  CreatedKey made;
  ASSIGN_OR_RETURN(made.secret, NewSecret());
  std::lock_guard<std::mutex> lock(mu_);
  WriteTxn txn(db_, path_);
  RETURN_IF_ERROR(txn.Begin());
  ASSIGN_OR_RETURN(made.record, FindIn(db_, path_, id_or_name));
  KeyRecord& r = made.record;
  switch (StateAt(r, now_unix)) {
    case KeyState::kRevoked:
      return InvalidArgumentError(
          fmt::format("key {} ({}) is revoked and cannot be rotated; create a new key", r.id, r.name));
    case KeyState::kExpired:
      return InvalidArgumentError(fmt::format(
          "key {} ({}) has expired and cannot be rotated; create a new key (and revoke this one)", r.id, r.name));
    default:
      break;
  }
  r.prefix = made.secret.substr(0, kShownPrefixChars);
  r.rotated_unix = EventTime(now_unix);
  Stmt s(db_, path_);
  RETURN_IF_ERROR(s.Prepare("UPDATE keys SET secret_sha256 = ?1, prefix = ?2, rotated = ?3 WHERE id = ?4"));
  s.Bind(1, crypto::Sha256Hex(made.secret));
  s.Bind(2, r.prefix);
  s.Bind(3, r.rotated_unix);
  s.Bind(4, r.id);
  ASSIGN_OR_RETURN(bool row, s.Step());
  (void)row;
  RETURN_IF_ERROR(txn.Commit());
  return made;
}

Result<AuthResult> KeyStore::Authenticate(std::string_view secret, int64_t now_unix) {
  if (!IsWellFormedSecret(secret)) return AuthResult{};
  return AuthenticateWhere("secret_sha256 = ?1", crypto::Sha256Hex(secret), now_unix);
}

Result<AuthResult> KeyStore::AuthenticateCertificate(std::string_view cert_sha256, int64_t now_unix) {
  if (!crypto::IsSha256Hex(cert_sha256)) return AuthResult{};
  // The live key if there is one (at most one: keys_live_cert), else the last revoked one.
  return AuthenticateWhere("client_cert_sha256 = ?1 ORDER BY revoked = 0 DESC, revoked DESC LIMIT 1",
                           std::string(cert_sha256), now_unix);
}

Result<AuthResult> KeyStore::AuthenticateWhere(std::string_view condition, const std::string& value,
                                               int64_t now_unix) {
  AuthResult result;
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_, path_);
  RETURN_IF_ERROR(s.Prepare(fmt::format("SELECT {} FROM keys WHERE {}", kRecordColumns, condition)));
  s.Bind(1, value);
  ASSIGN_OR_RETURN(std::optional<KeyRecord> r, ReadOne(s, path_));
  if (!r) return result;
  result.state = StateAt(*r, now_unix);
  result.record = std::move(*r);
  return result;
}

Result<int64_t> KeyStore::TokensUsed(std::string_view key_id, int64_t day) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_, path_);
  RETURN_IF_ERROR(s.Prepare("SELECT tokens FROM usage WHERE key_id = ?1 AND day = ?2"));
  s.Bind(1, key_id);
  s.Bind(2, day);
  ASSIGN_OR_RETURN(bool row, s.Step());
  return row ? s.Int(0) : 0;
}

Status KeyStore::AddTokens(std::string_view key_id, int64_t day, int64_t tokens) {
  if (tokens < 0 || tokens > kMaxTokensPerAdd) {
    return InvalidArgumentError(fmt::format("cannot add {} tokens to the usage of key {}", tokens, key_id));
  }
  if (tokens == 0) return Status::Ok();
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_, path_);
  RETURN_IF_ERROR(
      s.Prepare("INSERT INTO usage (key_id, day, tokens) VALUES (?1, ?2, ?3) "
                "ON CONFLICT (key_id, day) DO UPDATE SET tokens = tokens + excluded.tokens"));
  s.Bind(1, key_id);
  s.Bind(2, day);
  s.Bind(3, tokens);
  Result<bool> done = s.Step();
  if (!done.ok() && s.ErrorCode() == SQLITE_CONSTRAINT_FOREIGNKEY) {
    return NotFoundError(fmt::format("no key with id {} in {}; usage is kept for existing keys only", key_id, path_));
  }
  return done.status();
}

}  // namespace enclave::governance::keys
