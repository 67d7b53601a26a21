// AccessControl (server/access_control.h): the route table is deny-by-default and the role matrix
// is exactly docs/security.md's; address rules run before authentication; every failure of a key
// (missing, malformed, unknown, revoked, expired) is 401, a role without the permission 403, an
// unknown route 404 only after authentication; the principal carries what the audit log needs.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <unistd.h>

#include "governance/keys/key_store.h"
#include "server/access_control.h"

namespace enclave::server {
namespace {

using governance::keys::CreateKeyRequest;
using governance::keys::KeyStore;
using governance::keys::Role;
using governance::netrules::IpRangeList;

HttpRequest Get(const std::string& path, const std::string& peer = "127.0.0.1") {
  HttpRequest r;
  r.method = "GET";
  r.path = path;
  r.target = path;
  r.remote_address = peer;
  return r;
}

TEST(AccessControl, RouteTableIsDenyByDefault) {
  EXPECT_EQ(RoutePermission("/health"), Permission::kPublic);
  EXPECT_EQ(RoutePermission("/ready"), Permission::kPublic);
  EXPECT_EQ(RoutePermission("/metrics"), Permission::kMetrics);
  EXPECT_EQ(RoutePermission("/v1/models"), Permission::kModels);
  EXPECT_EQ(RoutePermission("/v1/models/x"), Permission::kModels);
  EXPECT_EQ(RoutePermission("/v1/chat/completions"), Permission::kInference);
  EXPECT_EQ(RoutePermission("/v1/completions"), Permission::kInference);
  EXPECT_EQ(RoutePermission("/admin/keys"), Permission::kKeysRead);
  EXPECT_EQ(RoutePermission("/admin/model"), Permission::kModelAdmin);
  EXPECT_EQ(RoutePermission("/admin/audit"), Permission::kAuditRead);
  EXPECT_EQ(RoutePermission("/admin/audit/verify"), Permission::kAuditRead);
  for (const char* unknown : {"/", "/v1", "/v1/embeddings", "/admin", "/admin/", "/admin/keys/", "/health/", "/HEALTH",
                              "/v1/completions/", "/metrics2", ""}) {
    EXPECT_FALSE(RoutePermission(unknown).has_value()) << unknown;
  }
}

TEST(AccessControl, RoleMatrix) {
  // Rows: permissions; columns: admin, user, auditor, metrics (docs/security.md).
  struct Row {
    Permission p;
    bool admin, user, auditor, metrics;
  };
  const Row rows[] = {
      {Permission::kPublic, true, true, true, true},       {Permission::kMetrics, true, false, false, true},
      {Permission::kModels, true, true, false, false},     {Permission::kInference, false, true, false, false},
      {Permission::kKeysRead, true, false, false, false},  {Permission::kModelAdmin, true, false, false, false},
      {Permission::kAuditRead, true, false, true, false},
  };
  for (const Row& r : rows) {
    EXPECT_EQ(RoleAllows(Role::kAdmin, r.p), r.admin) << static_cast<int>(r.p);
    EXPECT_EQ(RoleAllows(Role::kUser, r.p), r.user) << static_cast<int>(r.p);
    EXPECT_EQ(RoleAllows(Role::kAuditor, r.p), r.auditor) << static_cast<int>(r.p);
    EXPECT_EQ(RoleAllows(Role::kMetrics, r.p), r.metrics) << static_cast<int>(r.p);
  }
}

TEST(AccessControl, AddressRules) {
  AccessOptions o;
  o.allow_ips = *IpRangeList::Parse({"10.0.0.0/8", "2001:db8::/32"});
  o.trusted_proxies = *IpRangeList::Parse({"192.168.0.1"});
  AccessControl ac(o);
  Principal who;
  EXPECT_FALSE(ac.Check(Get("/health", "8.8.8.8"), &who));  // probes answer everyone
  auto e = ac.Check(Get("/v1/models", "8.8.8.8"), &who);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->status, 403);
  EXPECT_EQ(who.client_ip, "8.8.8.8");
  EXPECT_FALSE(ac.Check(Get("/v1/models", "10.1.2.3"), &who));
  EXPECT_FALSE(ac.Check(Get("/v1/models", "::ffff:10.1.2.3"), &who));  // IPv4-mapped matches IPv4 rules
  EXPECT_EQ(who.client_ip, "10.1.2.3");
  EXPECT_FALSE(ac.Check(Get("/v1/models", "2001:db8::7"), &who));
  // A spoofed header from an untrusted peer changes nothing.
  HttpRequest spoof = Get("/v1/models", "8.8.8.8");
  spoof.headers = {{"x-forwarded-for", "10.1.2.3"}};
  e = ac.Check(spoof, &who);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->status, 403);
  // Through the trusted proxy the rightmost untrusted entry is the client.
  HttpRequest proxied = Get("/v1/models", "192.168.0.1");
  proxied.headers = {{"x-forwarded-for", "8.8.8.8, 10.1.2.3"}};
  EXPECT_FALSE(ac.Check(proxied, &who));
  EXPECT_EQ(who.client_ip, "10.1.2.3");
  proxied.headers = {{"x-forwarded-for", "10.1.2.3, 8.8.8.8"}};
  e = ac.Check(proxied, &who);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->status, 403);
  proxied.headers = {{"x-forwarded-for", "not-an-address"}};
  e = ac.Check(proxied, &who);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->status, 400);
  // Without keys an unknown route is 404 (after the address rules).
  e = ac.Check(Get("/nope", "10.0.0.1"), &who);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->status, 404);
}

TEST(AccessControl, WithoutKeysAdminRoutesAnswerOnlyTheServerHost) {
  AccessControl ac(AccessOptions{});
  Principal who;
  EXPECT_FALSE(ac.Check(Get("/v1/models", "10.0.0.1"), &who));
  EXPECT_FALSE(ac.Check(Get("/metrics", "10.0.0.1"), &who));
  for (const char* path : {"/admin/keys", "/admin/model", "/admin/audit", "/admin/audit/verify"}) {
    auto e = ac.Check(Get(path, "10.0.0.1"), &who);
    ASSERT_TRUE(e) << path;
    EXPECT_EQ(e->status, 403) << path;
    EXPECT_FALSE(ac.Check(Get(path, "127.0.0.1"), &who)) << path;
    EXPECT_FALSE(ac.Check(Get(path, "::1"), &who)) << path;
  }
}

class AccessControlKeys : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "access_control_" + std::to_string(::getpid());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto store = KeyStore::Open(dir_ + "/keys.db", true);
    ASSERT_TRUE(store.ok()) << store.status().message();
    store_ = std::move(*store);
    for (Role role : {Role::kAdmin, Role::kUser, Role::kAuditor, Role::kMetrics}) {
      CreateKeyRequest req;
      req.name = governance::keys::RoleName(role);
      req.role = role;
      secrets_[static_cast<int>(role)] = (*store_->Create(req, now_)).secret;
    }
    CreateKeyRequest brief;
    brief.name = "brief";
    brief.expires_in_s = 100;
    expiring_ = (*store_->Create(brief, now_)).secret;
    CreateKeyRequest gone;
    gone.name = "gone";
    auto g = *store_->Create(gone, now_);
    revoked_ = g.secret;
    revoked_id_ = g.record.id;
    ASSERT_TRUE(store_->Revoke("gone", now_).ok());
    CreateKeyRequest cert;
    cert.name = "machine";
    cert.client_cert_sha256 = std::string(64, 'a');
    ASSERT_TRUE(store_->Create(cert, now_).ok());
    AccessOptions o;
    o.keys = store_.get();
    o.now_s = [this] { return now_; };
    ac_ = std::make_unique<AccessControl>(o);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::optional<ApiError> Call(const std::string& path, const std::string& authorization, Principal* who) {
    HttpRequest r = Get(path);
    if (!authorization.empty()) r.headers = {{"authorization", authorization}};
    return ac_->Check(r, who);
  }
  const std::string& Secret(Role role) { return secrets_[static_cast<int>(role)]; }

  std::string dir_;
  int64_t now_ = 1'800'000'000;
  std::unique_ptr<KeyStore> store_;
  std::unique_ptr<AccessControl> ac_;
  std::string secrets_[4];
  std::string expiring_, revoked_, revoked_id_;
};

TEST_F(AccessControlKeys, CredentialsAndRoles) {
  Principal who;
  auto e = Call("/v1/models", "", &who);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->status, 401);
  EXPECT_EQ(who.key_state, "missing");
  for (const std::string& bad : std::vector<std::string>{"Bearer", "Bearer ", "Basic abc", "Bearer enk_nope",
                                                          "bearer " + std::string(47, 'x')}) {
    Principal w;
    e = Call("/v1/models", bad, &w);
    ASSERT_TRUE(e) << bad;
    EXPECT_EQ(e->status, 401) << bad;
    EXPECT_FALSE(w.authenticated);
  }
  Principal w;
  e = Call("/v1/models", "Bearer " + revoked_, &w);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->status, 401);
  EXPECT_EQ(w.key_state, "revoked");
  EXPECT_EQ(w.key_id, revoked_id_);  // the audit record names the revoked key
  EXPECT_FALSE(Call("/v1/models", "Bearer " + expiring_, &w));
  now_ += 100;
  e = Call("/v1/models", "Bearer " + expiring_, &w);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->status, 401);
  EXPECT_EQ(w.key_state, "expired");

  Principal user;
  EXPECT_FALSE(Call("/v1/chat/completions", "Bearer " + Secret(Role::kUser), &user));
  EXPECT_TRUE(user.authenticated);
  EXPECT_EQ(user.role, "user");
  EXPECT_EQ(user.key_name, "user");
  e = Call("/metrics", "Bearer " + Secret(Role::kUser), &user);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->status, 403);
  e = Call("/v1/completions", "Bearer " + Secret(Role::kAdmin), &user);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->status, 403);
  EXPECT_FALSE(Call("/admin/audit", "Bearer " + Secret(Role::kAuditor), &user));
  EXPECT_FALSE(Call("/metrics", "BEARER " + Secret(Role::kMetrics), &user));  // the scheme is case-insensitive
  e = Call("/nope", "Bearer " + Secret(Role::kAdmin), &user);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->status, 404);
  e = Call("/nope", "", &user);  // unauthenticated callers learn nothing about routes
  ASSERT_TRUE(e);
  EXPECT_EQ(e->status, 401);
}

TEST_F(AccessControlKeys, ClientCertificateBoundToAKey) {
  HttpRequest r = Get("/v1/models");
  r.client_cert_sha256 = std::string(64, 'a');
  Principal who;
  EXPECT_FALSE(ac_->Check(r, &who));
  EXPECT_EQ(who.key_name, "machine");
  r.client_cert_sha256 = std::string(64, 'b');
  auto e = ac_->Check(r, &who);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->status, 401);
  // A bearer key wins over the certificate when both are sent.
  r.headers = {{"authorization", "Bearer " + Secret(Role::kAuditor)}};
  e = ac_->Check(r, &who);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->status, 403);
  EXPECT_EQ(who.role, "auditor");
}

}  // namespace
}  // namespace enclave::server
