// The API-key store: secrets shown once and stored only as SHA-256, revocation, rotation and
// expiry on an injected clock, name uniqueness among live keys, certificate binding, daily usage
// across reopen, two stores on one file (the CLI beside a running server), concurrent lookups,
// and files that are not a keys database.
#include "governance/keys/key_store.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "governance/crypto/digest.h"
#include "governance/keys/client_cert.h"
#include "governance/keys/role.h"

namespace enclave::governance::keys {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kNow = 1'796'018'400;  // 2026-11-30T06:00:00Z
// tests/fixtures/keys/README.md: `openssl x509 -in X.pem -outform DER | sha256sum`.
constexpr char kClientCertSha256[] = "015e1e6a071e40074b85b79374bfba4977312e6ffea9843c76d7f4804e43e3af";
constexpr char kOtherCertSha256[] = "9f235fe85a50dc9dc79074d1d4b6c9360dbf7d5e068df36a6196f91c4882524b";

std::string Fixture(const std::string& name) {
  return std::string(ENCLAVE_SOURCE_DIR) + "/tests/fixtures/keys/" + name;
}

class ScratchDir {
 public:
  ScratchDir() {
    std::string templ = ::testing::TempDir() + "enclave_keys_XXXXXX";
    path_ = mkdtemp(templ.data());
  }
  ~ScratchDir() { fs::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// Runs SQL on the file with a connection of its own (what another program could do).
void RawSql(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
  sqlite3_free(err);
  sqlite3_close(db);
}

CreateKeyRequest Request(const std::string& name, Role role = Role::kUser) {
  CreateKeyRequest r;
  r.name = name;
  r.role = role;
  return r;
}

class KeyStoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<KeyStore> OpenStore(bool create = true) {
    Result<std::unique_ptr<KeyStore>> store = KeyStore::Open(path_, create);
    EXPECT_TRUE(store.ok()) << store.status().message();
    return store.ok() ? std::move(*store) : nullptr;
  }
  static CreatedKey Make(KeyStore& store, const CreateKeyRequest& request, int64_t now = kNow) {
    Result<CreatedKey> made = store.Create(request, now);
    EXPECT_TRUE(made.ok()) << made.status().message();
    return made.ok() ? *made : CreatedKey{};
  }
  static KeyState StateOf(KeyStore& store, std::string_view secret, int64_t now = kNow) {
    Result<AuthResult> r = store.Authenticate(secret, now);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? r->state : KeyState::kUnknown;
  }

  ScratchDir dir_;
  std::string path_ = dir_.path() + "/keys.db";
};

TEST_F(KeyStoreTest, CreatedKeyAuthenticatesWithItsRecord) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  CreateKeyRequest req = Request("alice", Role::kAuditor);
  req.limits = {
      .rpm = 60, .tpm = 100000, .daily_tokens = 5, .max_concurrent = 2, .max_tokens = 512, .models = {"a", "b"}};
  const CreatedKey made = Make(*store, req);

  ASSERT_EQ(made.secret.size(), 47u);
  EXPECT_EQ(made.secret.substr(0, 4), "enk_");
  EXPECT_EQ(made.secret.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", 4),
            std::string::npos);
  // 256 bits in 43 characters: the last one carries 4 bits and two zero bits.
  EXPECT_NE(std::string("AEIMQUYcgkosw048").find(made.secret.back()), std::string::npos) << made.secret;
  ASSERT_EQ(made.record.id.size(), 20u);
  EXPECT_EQ(made.record.id.substr(0, 4), "key_");
  EXPECT_EQ(made.record.id.find_first_not_of("0123456789abcdef", 4), std::string::npos);
  EXPECT_EQ(made.record.prefix, made.secret.substr(0, 8));
  EXPECT_EQ(made.record.created_unix, kNow);
  EXPECT_EQ(made.record.expires_unix, 0);

  Result<AuthResult> who = store->Authenticate(made.secret, kNow + 1);
  ASSERT_TRUE(who.ok()) << who.status().message();
  EXPECT_EQ(who->state, KeyState::kValid);
  EXPECT_EQ(who->record.id, made.record.id);
  EXPECT_EQ(who->record.name, "alice");
  EXPECT_EQ(who->record.role, Role::kAuditor);
  EXPECT_EQ(who->record.prefix, made.record.prefix);
  EXPECT_EQ(who->record.limits.rpm, 60);
  EXPECT_EQ(who->record.limits.tpm, 100000);
  EXPECT_EQ(who->record.limits.daily_tokens, 5);
  EXPECT_EQ(who->record.limits.max_concurrent, 2);
  EXPECT_EQ(who->record.limits.max_tokens, 512);
  EXPECT_EQ(who->record.limits.models, (std::vector<std::string>{"a", "b"}));

  const CreatedKey second = Make(*store, Request("bob"));
  EXPECT_NE(second.secret, made.secret);
  EXPECT_NE(second.record.id, made.record.id);
  EXPECT_EQ(store->Authenticate(second.secret, kNow)->record.name, "bob");
}

TEST_F(KeyStoreTest, MalformedAndUnknownSecretsAreUnknown) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  const std::string s = Make(*store, Request("alice")).secret;
  std::string changed = s;
  changed[20] = changed[20] == 'A' ? 'B' : 'A';
  std::string bad_char = s;
  bad_char[10] = '+';
  for (const std::string& probe :
       {std::string(), std::string("enk_"), s.substr(0, 46), s + "A", s + "\n", " " + s, "sk-" + s.substr(4),
        "ENK_" + s.substr(4), changed, bad_char, std::string("Bearer ") + s}) {
    Result<AuthResult> r = store->Authenticate(probe, kNow);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r->state, KeyState::kUnknown) << probe;
    EXPECT_TRUE(r->record.id.empty()) << probe;
  }
  EXPECT_EQ(StateOf(*store, s), KeyState::kValid);
}

TEST_F(KeyStoreTest, RevokedKeyNeverAuthenticatesAndStaysListed) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  const CreatedKey alice = Make(*store, Request("alice"));
  const CreatedKey bob = Make(*store, Request("bob"));
  ASSERT_TRUE(store->Revoke("alice", kNow + 5).ok());

  Result<AuthResult> r = store->Authenticate(alice.secret, kNow + 6);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->state, KeyState::kRevoked);
  EXPECT_EQ(r->record.id, alice.record.id);
  EXPECT_EQ(r->record.revoked_unix, kNow + 5);
  EXPECT_EQ(StateOf(*store, bob.secret), KeyState::kValid);

  EXPECT_EQ(store->List()->size(), 2u);
  EXPECT_EQ(store->Find("alice").status().code(), StatusCode::kNotFound);  // names: live keys only
  Result<KeyRecord> by_id = store->Find(alice.record.id);
  ASSERT_TRUE(by_id.ok());
  EXPECT_EQ(by_id->revoked_unix, kNow + 5);
  const Status again = store->Revoke(alice.record.id, kNow + 7);
  EXPECT_FALSE(again.ok());
  EXPECT_NE(again.message().find("revoked already"), std::string::npos) << again.message();
  EXPECT_FALSE(store->Rotate(alice.record.id, kNow + 7).ok());
  EXPECT_EQ(store->Revoke("nobody", kNow).code(), StatusCode::kNotFound);

  // 0 means "not revoked" in the file: a revocation at time 0 must still count.
  ASSERT_TRUE(store->Revoke("bob", 0).ok());
  EXPECT_EQ(StateOf(*store, bob.secret), KeyState::kRevoked);
}

TEST_F(KeyStoreTest, RotateKeepsTheKeyAndRetiresTheOldSecret) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  CreateKeyRequest req = Request("svc", Role::kMetrics);
  req.expires_in_s = 86400;
  req.limits.rpm = 7;
  const CreatedKey made = Make(*store, req);
  Result<CreatedKey> rotated = store->Rotate(made.record.id, kNow + 10);
  ASSERT_TRUE(rotated.ok()) << rotated.status().message();
  EXPECT_NE(rotated->secret, made.secret);
  EXPECT_EQ(rotated->record.id, made.record.id);
  EXPECT_EQ(rotated->record.rotated_unix, kNow + 10);
  EXPECT_EQ(rotated->record.prefix, rotated->secret.substr(0, 8));

  EXPECT_EQ(StateOf(*store, made.secret, kNow + 11), KeyState::kUnknown);
  Result<AuthResult> r = store->Authenticate(rotated->secret, kNow + 11);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->state, KeyState::kValid);
  EXPECT_EQ(r->record.id, made.record.id);
  EXPECT_EQ(r->record.name, "svc");
  EXPECT_EQ(r->record.role, Role::kMetrics);
  EXPECT_EQ(r->record.limits.rpm, 7);
  EXPECT_EQ(r->record.expires_unix, kNow + 86400);
  EXPECT_EQ(r->record.prefix, rotated->record.prefix);

  Result<CreatedKey> by_name = store->Rotate("svc", kNow + 20);  // by name too
  ASSERT_TRUE(by_name.ok());
  EXPECT_EQ(StateOf(*store, rotated->secret, kNow + 21), KeyState::kUnknown);
  EXPECT_EQ(StateOf(*store, by_name->secret, kNow + 21), KeyState::kValid);
}

TEST_F(KeyStoreTest, ExpiryFollowsTheInjectedClock) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  CreateKeyRequest req = Request("temp");
  req.expires_in_s = 3600;
  const CreatedKey temp = Make(*store, req);
  const CreatedKey forever = Make(*store, Request("forever"));
  EXPECT_EQ(temp.record.expires_unix, kNow + 3600);
  EXPECT_EQ(StateOf(*store, temp.secret, kNow + 3599), KeyState::kValid);
  EXPECT_EQ(StateOf(*store, temp.secret, kNow + 3600), KeyState::kExpired);
  EXPECT_EQ(StateOf(*store, temp.secret, kNow + 1'000'000), KeyState::kExpired);
  EXPECT_EQ(StateOf(*store, forever.secret, kNow + 100LL * 365 * 86400), KeyState::kValid);
  EXPECT_FALSE(store->Rotate("temp", kNow + 3600).ok());  // a new secret that could not authenticate
  ASSERT_TRUE(store->Revoke("temp", kNow + 4000).ok());
  EXPECT_EQ(StateOf(*store, temp.secret, kNow + 4001), KeyState::kRevoked);  // revoked wins over expired
}

TEST_F(KeyStoreTest, NamesAreUniqueAmongKeysNotRevoked) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  const CreatedKey first = Make(*store, Request("alice"));
  Result<CreatedKey> dup = store->Create(Request("alice", Role::kAdmin), kNow);
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(dup.status().message().find(first.record.id), std::string::npos) << dup.status().message();
  EXPECT_TRUE(store->Create(Request("Alice"), kNow).ok());  // names are case-sensitive

  ASSERT_TRUE(store->Revoke("alice", kNow + 1).ok());
  const CreatedKey second = Make(*store, Request("alice"), kNow + 2);
  EXPECT_NE(second.record.id, first.record.id);
  Result<KeyRecord> found = store->Find("alice");
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->id, second.record.id);
  EXPECT_EQ(StateOf(*store, first.secret), KeyState::kRevoked);
  EXPECT_EQ(StateOf(*store, second.secret), KeyState::kValid);
  EXPECT_EQ(store->List()->size(), 3u);
}

TEST_F(KeyStoreTest, RejectsBadRequestsWithoutStoringThem) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  for (const std::string& name :
       {std::string(), std::string(65, 'a'), std::string(" alice"), std::string("alice "), std::string("al\tice"),
        std::string("al\nice"), std::string("j\xc3\xb6rg"), std::string("key_0123456789abcdef")}) {
    Result<CreatedKey> r = store->Create(Request(name), kNow);
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << "name '" << name << "'";
  }
  EXPECT_TRUE(store->Create(Request(std::string(64, 'a')), kNow).ok());
  EXPECT_TRUE(store->Create(Request("billing batch #2"), kNow).ok());

  auto with = [](auto edit) {
    CreateKeyRequest r = Request("limited");
    edit(r);
    return r;
  };
  const CreateKeyRequest bad[] = {
      with([](CreateKeyRequest& r) { r.limits.rpm = -1; }),
      with([](CreateKeyRequest& r) { r.limits.tpm = -1; }),
      with([](CreateKeyRequest& r) { r.limits.daily_tokens = -1; }),
      with([](CreateKeyRequest& r) { r.limits.max_concurrent = -1; }),
      with([](CreateKeyRequest& r) { r.limits.max_tokens = -1; }),
      with([](CreateKeyRequest& r) {
        r.limits.models = {"a", ""};
      }),
      with([](CreateKeyRequest& r) { r.limits.models = {"a b"}; }),
      with([](CreateKeyRequest& r) { r.expires_in_s = -1; }),
      with([](CreateKeyRequest& r) { r.client_cert_sha256 = "not-a-digest"; }),
  };
  for (const CreateKeyRequest& r : bad) {
    EXPECT_EQ(store->Create(r, kNow).status().code(), StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(store->List()->size(), 2u);
}

TEST_F(KeyStoreTest, PiiPolicyIsStoredAndChecked) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  CreateKeyRequest strict = Request("strict");
  strict.pii_policy = "placeholder";
  const CreatedKey made = Make(*store, strict);
  Result<AuthResult> who = store->Authenticate(made.secret, kNow);
  ASSERT_TRUE(who.ok());
  EXPECT_EQ(who->record.pii_policy, "placeholder");
  Result<KeyRecord> plain = store->Find(Make(*store, Request("plain")).record.id);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->pii_policy, "");
  for (const char* bad : {"Mask", "on", " block"}) {
    CreateKeyRequest r = Request(std::string("bad-") + bad);
    r.pii_policy = bad;
    EXPECT_EQ(store->Create(r, kNow).status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST_F(KeyStoreTest, SecretIsNeverStored) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  std::vector<std::string> secrets;
  for (const char* name : {"a", "b", "c"}) secrets.push_back(Make(*store, Request(name)).secret);
  Result<CreatedKey> rotated = store->Rotate("b", kNow + 1);
  ASSERT_TRUE(rotated.ok());
  secrets.push_back(rotated->secret);
  std::string bytes;
  for (const char* suffix : {"", "-wal", "-shm"}) bytes += ReadBytes(path_ + suffix);
  for (const std::string& s : secrets) {
    EXPECT_EQ(bytes.find(s.substr(4)), std::string::npos) << "secret " << s << " found in the database files";
  }
  // The hash is there: the search above looked in the right place.
  EXPECT_NE(bytes.find(crypto::Sha256Hex(rotated->secret)), std::string::npos);
}

TEST_F(KeyStoreTest, DatabaseFilesArePrivate) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  Make(*store, Request("alice"));
  for (const char* suffix : {"", "-wal"}) {
    struct stat st {};
    ASSERT_EQ(::stat((path_ + suffix).c_str(), &st), 0) << suffix;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << path_ << suffix;
  }
}

TEST_F(KeyStoreTest, CertificateBinding) {
  Result<std::string> client = CertificateSha256FromPemFile(Fixture("client.pem"));
  ASSERT_TRUE(client.ok()) << client.status().message();
  EXPECT_EQ(*client, kClientCertSha256);
  EXPECT_EQ(*CertificateSha256FromPemFile(Fixture("other.pem")), kOtherCertSha256);
  Result<std::string> not_pem = CertificateSha256FromPemFile(Fixture("README.md"));
  ASSERT_FALSE(not_pem.ok());
  EXPECT_NE(not_pem.status().message().find("no PEM certificate"), std::string::npos) << not_pem.status().message();
  EXPECT_EQ(CertificateSha256FromPemFile(dir_.path() + "/missing.pem").status().code(), StatusCode::kNotFound);

  auto store = OpenStore();
  ASSERT_TRUE(store);
  CreateKeyRequest req = Request("mtls-client");
  req.client_cert_sha256 = kClientCertSha256;
  const CreatedKey made = Make(*store, req);
  EXPECT_EQ(made.record.client_cert_sha256, kClientCertSha256);
  Result<AuthResult> r = store->AuthenticateCertificate(kClientCertSha256, kNow);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->state, KeyState::kValid);
  EXPECT_EQ(r->record.id, made.record.id);
  EXPECT_EQ(StateOf(*store, made.secret), KeyState::kValid);  // the secret works as well
  EXPECT_EQ(store->AuthenticateCertificate(kOtherCertSha256, kNow)->state, KeyState::kUnknown);
  EXPECT_EQ(store->AuthenticateCertificate("zz", kNow)->state, KeyState::kUnknown);
  EXPECT_EQ(store->AuthenticateCertificate("", kNow)->state, KeyState::kUnknown);

  req.name = "second";  // one live key per certificate: a certificate names one key
  EXPECT_FALSE(store->Create(req, kNow).ok());
  ASSERT_TRUE(store->Revoke("mtls-client", kNow + 1).ok());
  r = store->AuthenticateCertificate(kClientCertSha256, kNow + 2);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->state, KeyState::kRevoked);
  const CreatedKey next = Make(*store, req, kNow + 3);
  r = store->AuthenticateCertificate(kClientCertSha256, kNow + 4);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->state, KeyState::kValid);
  EXPECT_EQ(r->record.id, next.record.id);
}

TEST_F(KeyStoreTest, UsageSurvivesReopen) {
  const int64_t day = kNow / 86400;
  std::string id;
  {
    auto store = OpenStore();
    ASSERT_TRUE(store);
    id = Make(*store, Request("alice")).record.id;
    ASSERT_TRUE(store->AddTokens(id, day, 100).ok());
    ASSERT_TRUE(store->AddTokens(id, day, 50).ok());
    ASSERT_TRUE(store->AddTokens(id, day + 1, 7).ok());
    ASSERT_TRUE(store->AddTokens(id, day + 1, 0).ok());
    EXPECT_EQ(store->AddTokens(id, day, -1).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(store->AddTokens("key_0000000000000000", day, 5).code(), StatusCode::kNotFound);
  }
  auto store = OpenStore(/*create=*/false);
  ASSERT_TRUE(store);
  EXPECT_EQ(*store->TokensUsed(id, day), 150);
  EXPECT_EQ(*store->TokensUsed(id, day + 1), 7);
  EXPECT_EQ(*store->TokensUsed(id, day + 2), 0);
  EXPECT_EQ(*store->TokensUsed("key_0000000000000000", day), 0);
}

TEST_F(KeyStoreTest, TwoStoresOnOneFileSeeEachOthersChanges) {
  auto server = OpenStore();
  auto cli = OpenStore(/*create=*/false);
  ASSERT_TRUE(server && cli);
  const CreatedKey alice = Make(*cli, Request("alice"));
  EXPECT_EQ(StateOf(*server, alice.secret), KeyState::kValid);
  ASSERT_TRUE(cli->Revoke("alice", kNow + 1).ok());
  EXPECT_EQ(StateOf(*server, alice.secret), KeyState::kRevoked);  // at once, no reload

  const CreatedKey bob = Make(*server, Request("bob"));
  Result<CreatedKey> rotated = cli->Rotate("bob", kNow + 2);
  ASSERT_TRUE(rotated.ok());
  EXPECT_EQ(StateOf(*server, bob.secret), KeyState::kUnknown);
  EXPECT_EQ(StateOf(*server, rotated->secret), KeyState::kValid);

  ASSERT_TRUE(server->AddTokens(bob.record.id, 9, 40).ok());
  EXPECT_EQ(*cli->TokensUsed(bob.record.id, 9), 40);
  EXPECT_FALSE(cli->Create(Request("bob"), kNow).ok());  // uniqueness holds across connections
}

TEST_F(KeyStoreTest, ConcurrentAuthenticateWhileAnotherConnectionWrites) {
  auto store = OpenStore();
  auto writer = OpenStore(/*create=*/false);
  ASSERT_TRUE(store && writer);
  std::vector<CreatedKey> made;
  for (int i = 0; i < 4; ++i) made.push_back(Make(*store, Request(fmt::format("k{}", i))));
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 150; ++i) {
        const CreatedKey& k = made[(t + i) % made.size()];
        Result<AuthResult> r = store->Authenticate(k.secret, kNow);
        if (!r.ok() || r->state != KeyState::kValid || r->record.id != k.record.id) ++wrong;
        Result<AuthResult> u = store->Authenticate("enk_" + std::string(43, 'A'), kNow);
        if (!u.ok() || u->state != KeyState::kUnknown) ++wrong;
      }
    });
  }
  threads.emplace_back([&] {  // usage from the same connection
    for (int i = 0; i < 100; ++i) {
      if (!store->AddTokens(made[0].record.id, 1, 1).ok()) ++wrong;
    }
  });
  threads.emplace_back([&] {  // the CLI creating keys meanwhile, through its own connection
    for (int i = 0; i < 20; ++i) {
      if (!writer->Create(Request(fmt::format("w{}", i)), kNow).ok()) ++wrong;
    }
  });
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(*store->TokensUsed(made[0].record.id, 1), 100);
  EXPECT_EQ(store->List()->size(), 24u);
}

TEST_F(KeyStoreTest, OpenRefusesWhatIsNotAKeysDatabase) {
  Result<std::unique_ptr<KeyStore>> missing = KeyStore::Open(path_, /*create=*/false);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("enclave keys create"), std::string::npos);
  EXPECT_FALSE(fs::exists(path_));  // not created as a side effect

  const std::string text = dir_.path() + "/notes.txt";
  WriteBytes(text, std::string(4096, 'x'));
  Result<std::unique_ptr<KeyStore>> t = KeyStore::Open(text, /*create=*/true);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("not an Enclave keys database"), std::string::npos) << t.status().message();
  EXPECT_NE(t.status().message().find(text), std::string::npos) << t.status().message();
  EXPECT_EQ(ReadBytes(text), std::string(4096, 'x'));  // untouched

  const std::string other = dir_.path() + "/other.db";
  RawSql(other, "CREATE TABLE accounts (id INTEGER PRIMARY KEY, owner TEXT)");
  Result<std::unique_ptr<KeyStore>> o = KeyStore::Open(other, /*create=*/true);
  ASSERT_FALSE(o.ok());
  EXPECT_NE(o.status().message().find("not an Enclave keys database"), std::string::npos) << o.status().message();

  Result<std::unique_ptr<KeyStore>> dir = KeyStore::Open(dir_.path(), /*create=*/true);
  EXPECT_FALSE(dir.ok());

  ASSERT_TRUE(OpenStore());
  RawSql(path_, "UPDATE meta SET value = '2' WHERE key = 'schema_version'");
  Result<std::unique_ptr<KeyStore>> newer = KeyStore::Open(path_, /*create=*/false);
  ASSERT_FALSE(newer.ok());
  EXPECT_EQ(newer.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(newer.status().message().find("newer Enclave"), std::string::npos) << newer.status().message();
}

TEST_F(KeyStoreTest, ListIsOldestFirst) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  Make(*store, Request("late"), kNow + 100);
  Make(*store, Request("early"), kNow);
  Make(*store, Request("early-too"), kNow);
  Result<std::vector<KeyRecord>> all = store->List();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].name, "early");
  EXPECT_EQ((*all)[1].name, "early-too");
  EXPECT_EQ((*all)[2].name, "late");
}

TEST(KeyStoreRoleTest, NamesRoundTripAndUnknownRolesAreListed) {
  for (Role r : {Role::kAdmin, Role::kUser, Role::kAuditor, Role::kMetrics}) {
    Result<Role> parsed = ParseRole(RoleName(r));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, r);
  }
  EXPECT_STREQ(RoleName(Role::kMetrics), "metrics");
  Result<Role> bad = ParseRole("root");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("admin, user, auditor and metrics"), std::string::npos);
  EXPECT_FALSE(ParseRole("Admin").ok());
  EXPECT_FALSE(ParseRole("").ok());
  EXPECT_STREQ(KeyStateName(KeyState::kValid), "valid");
  EXPECT_STREQ(KeyStateName(KeyState::kExpired), "expired");
  EXPECT_STREQ(KeyStateName(KeyState::kRevoked), "revoked");
  EXPECT_STREQ(KeyStateName(KeyState::kUnknown), "unknown");
}

}  // namespace
}  // namespace enclave::governance::keys
