// `enclave keys create|list|revoke|rotate`: the operator's side of API keys (docs/api-keys.md).
// Keys live in an SQLite file the server reads on every request, so a revocation or rotation
// made here takes effect at once, also while the server runs. A secret is printed once, when it
// is created or rotated; only its SHA-256 is stored.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "governance/keys/client_cert.h"
#include "governance/keys/key_store.h"
#include "governance/keys/role.h"
#include "tools/enclave/commands.h"

namespace enclave::cli {
namespace {

namespace keys = governance::keys;
using ojson = nlohmann::ordered_json;

constexpr char kKeysDbEnv[] = "ENCLAVE_AUTH_KEYS_DB";
constexpr int64_t kMaxLifetimeS = 100LL * 366 * 86400;

int Fail(const Status& s) {
  std::fprintf(stderr, "error: %s\n", s.message().c_str());
  return 1;
}

int Usage(const std::string& message) {
  std::fprintf(stderr, "error: %s\n", message.c_str());
  return 2;
}

int64_t Now() { return static_cast<int64_t>(std::time(nullptr)); }

// "2026-11-30T06:00:00Z"; `seconds` false drops them (the table).
std::string IsoTime(int64_t unix_s, bool seconds = true) {
  const std::time_t t = static_cast<std::time_t>(unix_s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, seconds ? "%Y-%m-%dT%H:%M:%SZ" : "%Y-%m-%dT%H:%MZ", &tm);
  return buf;
}

ojson TimeOrNull(int64_t unix_s) { return unix_s == 0 ? ojson(nullptr) : ojson(IsoTime(unix_s)); }

// "90d", "12h", "30m", "3600s" -> seconds; "never" -> 0.
Result<int64_t> ParseLifetime(const std::string& text) {
  if (text == "never") return int64_t{0};
  const std::string bad = fmt::format(
      "--expires '{}' is not a lifetime; use a number with a unit, like 90d, 12h, 30m or 3600s, or never", text);
  if (text.size() < 2 || text.size() > 12) return InvalidArgumentError(bad);
  int64_t unit = 0;
  switch (text.back()) {
    case 'd':
      unit = 86400;
      break;
    case 'h':
      unit = 3600;
      break;
    case 'm':
      unit = 60;
      break;
    case 's':
      unit = 1;
      break;
    default:
      return InvalidArgumentError(bad);
  }
  int64_t n = 0;
  for (size_t i = 0; i + 1 < text.size(); ++i) {
    const char c = text[i];
    if (c < '0' || c > '9') return InvalidArgumentError(bad);
    n = n * 10 + (c - '0');  // at most 11 digits: no overflow
  }
  if (n < 1)
    return InvalidArgumentError(fmt::format("--expires '{}' must be at least 1{} (or never)", text, text.back()));
  if (n > kMaxLifetimeS / unit)
    return InvalidArgumentError(fmt::format("--expires '{}' is longer than 100 years", text));
  return n * unit;
}

// --keys-db, else $ENCLAVE_AUTH_KEYS_DB; empty when neither is set.
std::string KeysDbPath(const std::string& flag) {
  if (!flag.empty()) return flag;
  const char* env = std::getenv(kKeysDbEnv);
  return env ? env : "";
}

constexpr char kNoDbMessage[] =
    "no keys database given: pass --keys-db PATH or set ENCLAVE_AUTH_KEYS_DB (the server reads the "
    "same file from its auth.keys_db setting, which that variable overrides)";

std::vector<std::string> SplitModels(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    const size_t comma = text.find(',', start);
    std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    const size_t b = item.find_first_not_of(' ');
    const size_t e = item.find_last_not_of(' ');
    out.push_back(b == std::string::npos ? std::string() : item.substr(b, e - b + 1));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string LimitsText(const keys::KeyLimits& l, const char* sep) {
  std::vector<std::string> parts;
  if (l.rpm) parts.push_back(fmt::format("rpm={}", l.rpm));
  if (l.tpm) parts.push_back(fmt::format("tpm={}", l.tpm));
  if (l.daily_tokens) parts.push_back(fmt::format("daily-tokens={}", l.daily_tokens));
  if (l.max_concurrent) parts.push_back(fmt::format("max-concurrent={}", l.max_concurrent));
  if (l.max_tokens) parts.push_back(fmt::format("max-tokens={}", l.max_tokens));
  if (!l.models.empty()) parts.push_back(fmt::format("models={}", fmt::join(l.models, ",")));
  return parts.empty() ? "none" : fmt::format("{}", fmt::join(parts, sep));
}

ojson LimitsJson(const keys::KeyLimits& l) {
  return {{"rpm", l.rpm},
          {"tpm", l.tpm},
          {"daily_tokens", l.daily_tokens},
          {"max_concurrent", l.max_concurrent},
          {"max_tokens", l.max_tokens},
          {"models", l.models}};
}

keys::KeyState StateNow(const keys::KeyRecord& r, int64_t now) {
  if (r.revoked_unix != 0) return keys::KeyState::kRevoked;
  if (r.expires_unix != 0 && now >= r.expires_unix) return keys::KeyState::kExpired;
  return keys::KeyState::kValid;
}

// Everything about a key except its secret (never stored) and its hash (never shown).
ojson RecordJson(const keys::KeyRecord& r, int64_t now) {
  ojson j;
  j["id"] = r.id;
  j["name"] = r.name;
  j["role"] = keys::RoleName(r.role);
  j["prefix"] = r.prefix;
  j["state"] = keys::KeyStateName(StateNow(r, now));
  j["created"] = IsoTime(r.created_unix);
  j["expires"] = TimeOrNull(r.expires_unix);
  j["revoked"] = TimeOrNull(r.revoked_unix);
  j["rotated"] = TimeOrNull(r.rotated_unix);
  j["client_cert_sha256"] = r.client_cert_sha256.empty() ? ojson(nullptr) : ojson(r.client_cert_sha256);
  j["limits"] = LimitsJson(r.limits);
  j["pii_policy"] = r.pii_policy.empty() ? ojson(nullptr) : ojson(r.pii_policy);
  return j;
}

// The one time a secret is shown.
void PrintSecret(const keys::CreatedKey& made, const std::string& headline, bool json, int64_t now) {
  const keys::KeyRecord& r = made.record;
  if (json) {
    ojson j = RecordJson(r, now);
    ojson out;
    out["id"] = r.id;
    out["key"] = made.secret;
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it.key() != "id") out[it.key()] = it.value();
    }
    std::cout << out.dump(2) << "\n";
    return;
  }
  std::string text = headline + "\n";
  text += fmt::format("  name     {}\n", r.name);
  text += fmt::format("  role     {}\n", keys::RoleName(r.role));
  text += fmt::format("  expires  {}\n", r.expires_unix == 0 ? "never" : IsoTime(r.expires_unix));
  text += fmt::format("  limits   {}\n", LimitsText(r.limits, ", "));
  if (!r.pii_policy.empty()) text += fmt::format("  pii      {}\n", r.pii_policy);
  if (!r.client_cert_sha256.empty()) text += fmt::format("  cert     sha256 {}\n", r.client_cert_sha256);
  text += fmt::format("  key      {}\n\n", made.secret);
  text += "store it now: it cannot be shown again\n";
  std::fputs(text.c_str(), stdout);
}

struct CreateArgs {
  std::string keys_db;
  std::string name;
  std::string role;
  std::string expires = "never";
  keys::KeyLimits limits;
  std::string models;
  std::string client_cert;
  std::string pii_policy;
  bool json = false;
};

int RunCreate(const CreateArgs& a, bool models_given) {
  const std::string db = KeysDbPath(a.keys_db);
  if (db.empty()) return Usage(kNoDbMessage);
  Result<int64_t> lifetime = ParseLifetime(a.expires);
  if (!lifetime.ok()) return Usage(lifetime.status().message());
  Result<keys::Role> role = keys::ParseRole(a.role);
  if (!role.ok()) return Usage("--role: " + role.status().message());
  keys::CreateKeyRequest request;
  request.name = a.name;
  request.role = *role;
  request.expires_in_s = *lifetime;
  request.limits = a.limits;
  request.pii_policy = a.pii_policy;
  if (models_given) request.limits.models = SplitModels(a.models);
  if (!a.client_cert.empty()) {
    Result<std::string> cert = keys::CertificateSha256FromPemFile(a.client_cert);
    if (!cert.ok()) return Fail(cert.status());
    request.client_cert_sha256 = *cert;
  }
  Result<std::unique_ptr<keys::KeyStore>> store = keys::KeyStore::Open(db, /*create=*/true);
  if (!store.ok()) return Fail(store.status());
  const int64_t now = Now();
  Result<keys::CreatedKey> made = (*store)->Create(request, now);
  if (!made.ok()) return Fail(made.status());
  PrintSecret(*made, "created key " + made->record.id, a.json, now);
  return 0;
}

int RunList(const std::string& keys_db, bool json) {
  const std::string db = KeysDbPath(keys_db);
  if (db.empty()) return Usage(kNoDbMessage);
  Result<std::unique_ptr<keys::KeyStore>> store = keys::KeyStore::Open(db, /*create=*/false);
  if (!store.ok()) return Fail(store.status());
  Result<std::vector<keys::KeyRecord>> all = (*store)->List();
  if (!all.ok()) return Fail(all.status());
  const int64_t now = Now();
  if (json) {
    ojson out = ojson::array();
    for (const keys::KeyRecord& r : *all) out.push_back(RecordJson(r, now));
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  if (all->empty()) {
    std::printf("no keys in %s; make one with `enclave keys create`\n", db.c_str());
    return 0;
  }
  size_t name_width = 4;
  for (const keys::KeyRecord& r : *all) name_width = std::max(name_width, r.name.size());
  std::string text =
      fmt::format("{:<20}  {:<{}}  {:<7}  {:<8}  {:<17}  {:<17}  {:<7}  {:<4}  {}\n", "ID", "NAME", name_width, "ROLE",
                  "PREFIX", "CREATED (UTC)", "EXPIRES (UTC)", "STATE", "CERT", "LIMITS");
  for (const keys::KeyRecord& r : *all) {
    text += fmt::format("{:<20}  {:<{}}  {:<7}  {:<8}  {:<17}  {:<17}  {:<7}  {:<4}  {}\n", r.id, r.name, name_width,
                        keys::RoleName(r.role), r.prefix, IsoTime(r.created_unix, false),
                        r.expires_unix == 0 ? "never" : IsoTime(r.expires_unix, false),
                        keys::KeyStateName(StateNow(r, now)), r.client_cert_sha256.empty() ? "-" : "yes",
                        LimitsText(r.limits, " ") + (r.pii_policy.empty() ? "" : " pii=" + r.pii_policy));
  }
  std::fputs(text.c_str(), stdout);
  return 0;
}

int RunRevoke(const std::string& keys_db, const std::string& key) {
  const std::string db = KeysDbPath(keys_db);
  if (db.empty()) return Usage(kNoDbMessage);
  Result<std::unique_ptr<keys::KeyStore>> store = keys::KeyStore::Open(db, /*create=*/false);
  if (!store.ok()) return Fail(store.status());
  Result<keys::KeyRecord> r = (*store)->Find(key);  // for the message: the id and name revoked
  if (!r.ok()) return Fail(r.status());
  const Status s = (*store)->Revoke(r->id, Now());
  if (!s.ok()) return Fail(s);
  std::printf("revoked key %s (%s): it no longer authenticates, also on a running server\n", r->id.c_str(),
              r->name.c_str());
  return 0;
}

int RunRotate(const std::string& keys_db, const std::string& key, bool json) {
  const std::string db = KeysDbPath(keys_db);
  if (db.empty()) return Usage(kNoDbMessage);
  Result<std::unique_ptr<keys::KeyStore>> store = keys::KeyStore::Open(db, /*create=*/false);
  if (!store.ok()) return Fail(store.status());
  const int64_t now = Now();
  Result<keys::CreatedKey> made = (*store)->Rotate(key, now);
  if (!made.ok()) return Fail(made.status());
  PrintSecret(*made, fmt::format("rotated key {}: the old secret no longer works", made->record.id), json, now);
  return 0;
}

// CLI11's NonNegativeNumber would print its range as a 300-digit number.
const CLI::Validator kNonNegative(
    [](std::string& value) -> std::string {
      return !value.empty() && value[0] != '-' ? "" : "must be 0 (no limit) or more, got " + value;
    },
    "N>=0");

void AddKeysDbOption(CLI::App* cmd, std::string& target) {
  cmd->add_option("--keys-db", target,
                  "the keys database (SQLite file); default: $ENCLAVE_AUTH_KEYS_DB. Use the file the server "
                  "reads (auth.keys_db)");
}

}  // namespace

void RegisterKeys(CLI::App& app, CommandRegistry& registry) {
  CLI::App* keys_cmd =
      app.add_subcommand("keys",
                         "API keys: create, list, revoke, rotate. Keys live in an SQLite file (--keys-db or "
                         "ENCLAVE_AUTH_KEYS_DB) that the server reads on every request; changes take effect at once");
  keys_cmd->require_subcommand(1);

  auto c = std::make_shared<CreateArgs>();
  CLI::App* create = keys_cmd->add_subcommand(
      "create",
      "Make a key and print its secret once (enk_ + 43 characters); only a SHA-256 of it is stored. "
      "Creates the database file (mode 0600) when missing");
  AddKeysDbOption(create, c->keys_db);
  create
      ->add_option("--name", c->name,
                   "who or what uses the key (unique among keys not revoked; printable, at most 64 characters)")
      ->required();
  create->add_option("--role", c->role, "admin, user, auditor or metrics (what each may call: docs/api-keys.md)")
      ->required();
  create->add_option("--expires", c->expires, "lifetime: 90d, 12h, 30m, 3600s, or never (the default)");
  create->add_option("--rpm", c->limits.rpm, "requests per minute; 0: no limit")->check(kNonNegative);
  create->add_option("--tpm", c->limits.tpm, "prompt + completion tokens per minute; 0: no limit")->check(kNonNegative);
  create
      ->add_option("--daily-tokens", c->limits.daily_tokens,
                   "prompt + completion tokens per UTC day (kept across restarts); 0: no limit")
      ->check(kNonNegative);
  create->add_option("--max-concurrent", c->limits.max_concurrent, "requests in flight at once; 0: no limit")
      ->check(kNonNegative);
  create->add_option("--max-tokens", c->limits.max_tokens, "completion tokens per request; 0: no limit")
      ->check(kNonNegative);
  CLI::Option* models =
      create->add_option("--models", c->models, "comma-separated model ids the key may use, e.g. a,b; default: any");
  create->add_option("--client-cert", c->client_cert,
                     "PEM certificate of a TLS client: presenting it also authenticates as this key "
                     "(stored as SHA-256 of its DER)");
  create
      ->add_option("--pii-policy", c->pii_policy,
                   "personal data in this key's prompts and outputs: off, mask, placeholder or block; default: "
                   "the server's (pii.policy, pii.route_policies)")
      ->check(CLI::IsMember({"off", "mask", "placeholder", "block"}));
  create->add_flag("--json", c->json, "print one JSON object (id, key, name, role, expires, limits, ...)");
  create->callback([c, models, &registry] { registry.exit_code = RunCreate(*c, models->count() > 0); });

  auto list_db = std::make_shared<std::string>();
  auto list_json = std::make_shared<bool>(false);
  CLI::App* list = keys_cmd->add_subcommand(
      "list", "Show every key, revoked and expired ones included, oldest first (never secrets or their hashes)");
  AddKeysDbOption(list, *list_db);
  list->add_flag("--json", *list_json,
                 "print a JSON array of objects (id, name, role, prefix, state, created, expires, revoked, rotated, "
                 "client_cert_sha256, limits)");
  list->callback([list_db, list_json, &registry] { registry.exit_code = RunList(*list_db, *list_json); });

  auto revoke_db = std::make_shared<std::string>();
  auto revoke_key = std::make_shared<std::string>();
  CLI::App* revoke = keys_cmd->add_subcommand(
      "revoke", "Revoke a key: it stops authenticating at once (also on a running server) and stays listed");
  AddKeysDbOption(revoke, *revoke_db);
  revoke->add_option("key", *revoke_key, "the key's id (key_...) or its name")->required();
  revoke->callback([revoke_db, revoke_key, &registry] { registry.exit_code = RunRevoke(*revoke_db, *revoke_key); });

  auto rotate_db = std::make_shared<std::string>();
  auto rotate_key = std::make_shared<std::string>();
  auto rotate_json = std::make_shared<bool>(false);
  CLI::App* rotate = keys_cmd->add_subcommand(
      "rotate",
      "Give a key a new secret and print it once; the old secret stops working at once. Id, name, role, "
      "expiry and limits are kept");
  AddKeysDbOption(rotate, *rotate_db);
  rotate->add_option("key", *rotate_key, "the key's id (key_...) or its name")->required();
  rotate->add_flag("--json", *rotate_json, "print one JSON object (id, key, name, role, expires, limits, ...)");
  rotate->callback([rotate_db, rotate_key, rotate_json, &registry] {
    registry.exit_code = RunRotate(*rotate_db, *rotate_key, *rotate_json);
  });
}

}  // namespace enclave::cli
