#include "tools/enclave/serve_governance.h"

#include <cstdio>
#include <filesystem>

#include <fmt/format.h>

#include "governance/crypto/digest.h"
#include "governance/crypto/ed25519_key.h"
#include "governance/integrity/manifest.h"
#include "governance/integrity/verify_model.h"
#include "governance/netrules/ip_rules.h"
#include "governance/wordfilter/lexicon.h"
#include "governance/wordfilter/variants.h"
#include "tools/enclave/progress_bar.h"

namespace enclave::cli {
namespace {

namespace fs = std::filesystem;
namespace pii = governance::pii;
namespace wf = wordfilter;

// "a, b,,c" -> {"a", "b", "c"}
std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    std::string item = text.substr(start, comma - start);
    const size_t a = item.find_first_not_of(' '), b = item.find_last_not_of(' ');
    if (a != std::string::npos) out.push_back(item.substr(a, b - a + 1));
    start = comma + 1;
  }
  return out;
}

bool IsLoopback(const std::string& host) {
  auto ip = governance::netrules::ParseIp(host);
  if (!ip.ok()) return host == "localhost";
  if (ip->is_v4()) return ip->bytes[12] == 127;
  static const governance::netrules::IpAddress kV6Loopback = *governance::netrules::ParseIp("::1");
  return *ip == kV6Loopback;
}

Result<governance::netrules::IpRangeList> Ranges(const std::string& key, const std::string& text) {
  auto list = governance::netrules::IpRangeList::Parse(SplitList(text));
  if (!list.ok()) return list.status().WithContext(key);
  return list;
}

Result<std::unique_ptr<wf::WordFilter>> BuildFilter(const config::FilterConfig& f) {
  wf::FilterOptions options;
  ASSIGN_OR_RETURN(options.default_action, wf::ParseAction(f.default_action));
  for (const std::string& entry : SplitList(f.actions)) {
    const size_t eq = entry.find('=');
    if (eq == std::string::npos || eq == 0) {
      return InvalidArgumentError(fmt::format("filter.actions entry '{}' is not CATEGORY=block|mask|flag", entry));
    }
    auto action = wf::ParseAction(entry.substr(eq + 1));
    if (!action.ok()) return action.status().WithContext("filter.actions entry '" + entry + "'");
    options.actions[entry.substr(0, eq)] = *action;
  }
  wf::Lexicon lexicon;
  for (const std::string& path : SplitList(f.lexicon)) RETURN_IF_ERROR(wf::AppendLexiconFile(path, lexicon));
  wf::VariantMap variants;
  for (const std::string& path : SplitList(f.variants)) RETURN_IF_ERROR(wf::AppendVariantFile(path, variants));
  auto filter = wf::WordFilter::Create(lexicon, variants, options);
  if (!filter.ok()) return filter.status().WithContext("filter.lexicon");
  return filter;
}

}  // namespace

Status CheckListenPolicy(const config::ServeConfig& c) {
  if (IsLoopback(c.server.host) || c.server.insecure) return Status::Ok();
  const bool keys = !c.auth.keys_db.empty();
  const bool mtls = !c.tls.cert.empty() && !c.tls.client_ca.empty() && c.tls.require_client_cert;
  if (keys && c.tls.cert.empty()) {
    std::fprintf(stderr, "warning: listening on %s with API keys but without TLS: keys and text cross the network in "
                 "clear; set tls.cert and tls.key (--tls-cert, --tls-key) unless a TLS proxy on this host fronts the "
                 "server\n", c.server.host.c_str());
  }
  if (keys || mtls) return Status::Ok();
  return InvalidArgumentError(fmt::format(
      "refusing to listen on {} without authentication: anyone who reaches the address could use the model. "
      "Create API keys (enclave keys create --keys-db keys.db --name NAME --role user) and pass --keys-db keys.db, "
      "or require client certificates (--tls-cert, --tls-key, --tls-client-ca, --tls-require-client-cert), "
      "or pass --insecure if the network itself is trusted",
      c.server.host));
}

Status CheckModelIntegrity(const config::ServeConfig& c, server::ModelFacts* facts) {
  facts->path = c.model.path;
  const std::string manifest_path =
      c.integrity.manifest.empty() ? integrity::DefaultManifestPath(c.model.path) : c.integrity.manifest;
  std::error_code ec;
  const bool present = fs::exists(manifest_path, ec);
  if (!present) {
    if (!c.integrity.manifest.empty() || c.integrity.require_manifest || c.integrity.require_signature) {
      return NotFoundError(fmt::format("the model's manifest '{}' is missing (integrity settings require one); create "
                                       "it with: enclave manifest create {}",
                                       manifest_path, c.model.path));
    }
    facts->manifest = "absent";
    if (c.audit.log.empty()) return Status::Ok();
    // Audit records name the model by hash even without a manifest.
    ByteProgressBar bar("hashing the model");
    auto m = integrity::CreateManifest(c.model.path, manifest_path, [&bar](uint64_t d, uint64_t t) { bar.Update(d, t); });
    if (!m.ok()) return m.status().WithContext("hashing the model for the audit log");
    facts->sha256 = m->files.size() == 1 && !m->directory ? m->files[0].sha256
                                                          : crypto::Sha256Hex(integrity::CanonicalManifestBytes(*m));
    return Status::Ok();
  }
  integrity::VerifyModelOptions vo;
  vo.manifest_path = manifest_path;
  vo.public_key_path = c.integrity.public_key;
  vo.require_signature = c.integrity.require_signature;
  if (vo.require_signature && vo.public_key_path.empty()) {
    return InvalidArgumentError("integrity.require_signature needs integrity.public_key (--manifest-public-key)");
  }
  ByteProgressBar bar("verifying the model");
  vo.progress = [&bar](uint64_t d, uint64_t t) { bar.Update(d, t); };
  integrity::Manifest verified;
  if (Status s = integrity::VerifyModel(c.model.path, vo, &verified); !s.ok()) {
    return s.WithContext(fmt::format("the model fails its manifest '{}'; refusing to serve it", manifest_path));
  }
  facts->sha256 = verified.files.size() == 1 && !verified.directory
                      ? verified.files[0].sha256
                      : crypto::Sha256Hex(integrity::CanonicalManifestBytes(verified));
  facts->manifest = verified.signature && !vo.public_key_path.empty()
                        ? fmt::format("verified, signed by {}", verified.signature->key_id)
                        : "verified";
  return Status::Ok();
}

Result<ServeGovernance> BuildGovernance(const config::ServeConfig& c, server::ApiServerOptions& so) {
  ServeGovernance g;
  if (!c.auth.keys_db.empty()) {
    auto keys = governance::keys::KeyStore::Open(c.auth.keys_db, /*create=*/false);
    if (!keys.ok()) return keys.status().WithContext("auth.keys_db");
    g.keys = std::move(*keys);
    RETURN_IF_ERROR(g.keys->RelaxSync());  // usage writes off the disk's sync latency (key_store.h)
  }
  so.access.keys = g.keys.get();
  ASSIGN_OR_RETURN(so.access.allow_ips, Ranges("auth.allow_ips", c.auth.allow_ips));
  ASSIGN_OR_RETURN(so.access.trusted_proxies, Ranges("auth.trusted_proxies", c.auth.trusted_proxies));
  so.http.max_connections_per_ip = c.auth.max_connections_per_ip;

  if (!c.tls.cert.empty() || !c.tls.key.empty()) {
    if (c.tls.cert.empty() || c.tls.key.empty()) {
      return InvalidArgumentError("TLS needs both tls.cert (--tls-cert) and tls.key (--tls-key)");
    }
    so.http.tls.cert_file = c.tls.cert;
    so.http.tls.key_file = c.tls.key;
    so.http.tls.min_version = c.tls.min_version;
    so.http.tls.client_ca_file = c.tls.client_ca;
    so.http.tls.require_client_cert = c.tls.require_client_cert;
  } else if (!c.tls.client_ca.empty() || c.tls.require_client_cert) {
    return InvalidArgumentError("client certificates (tls.client_ca, tls.require_client_cert) need TLS: set tls.cert and tls.key");
  }
  if (c.tls.require_client_cert && c.tls.client_ca.empty()) {
    return InvalidArgumentError("tls.require_client_cert needs tls.client_ca (--tls-client-ca): the CAs to verify clients with");
  }

  ASSIGN_OR_RETURN(so.content.policy, pii::ParsePiiPolicy(c.pii.policy));
  ASSIGN_OR_RETURN(so.content.route_policies, server::ParseRoutePolicies(c.pii.route_policies));
  // Keys may carry their own PII policy, so a key database needs the detector too.
  bool need_detector = so.content.policy != pii::PiiPolicy::kOff || g.keys != nullptr;
  for (const auto& [route, policy] : so.content.route_policies) need_detector |= policy != pii::PiiPolicy::kOff;
  if (need_detector) {
    auto detector = pii::PiiDetector::Create(pii::DetectorConfig{});
    if (!detector.ok()) return detector.status().WithContext("pii");
    g.detector = std::move(*detector);
    so.content.detector = g.detector.get();
  }
  if (!c.filter.lexicon.empty()) {
    ASSIGN_OR_RETURN(g.filter, BuildFilter(c.filter));
    so.content.filter = g.filter.get();
  } else if (!c.filter.variants.empty() || !c.filter.actions.empty()) {
    return InvalidArgumentError("filter.variants and filter.actions need filter.lexicon (--filter-lexicon)");
  }

  if (!c.audit.log.empty()) {
    audit::AuditLogOptions ao;
    ao.path = c.audit.log;
    ao.signing_key_path = c.audit.signing_key;
    ao.store_text = c.audit.store_text;
    ao.rotate_bytes = static_cast<uint64_t>(c.audit.rotate_mb) << 20;
    ao.rotate_daily = c.audit.rotate_daily;
    ao.retention_days = c.audit.retention_days;
    // sync_every 1: each record durable as soon as the server's audit writer reaches it, one
    // fdatasync per batch of records that queued up meanwhile (server/audit_sink.h); N > 1: the
    // log's own policy, every N records.
    ao.sync_every_records = c.audit.sync_every == 1 ? 0 : c.audit.sync_every;
    so.audit_sync_each_batch = c.audit.sync_every == 1;
    ao.checkpoint_every_records = c.audit.checkpoint_every;
    ao.checkpoint_interval_s = c.audit.checkpoint_interval;
    auto log = audit::AuditLog::Open(ao);
    if (!log.ok()) return log.status().WithContext("audit.log");
    g.audit = std::move(*log);
    so.audit = g.audit.get();
  } else if (!c.audit.signing_key.empty() || c.audit.store_text) {
    return InvalidArgumentError("audit.signing_key and audit.store_text need audit.log (--audit-log)");
  }
  return g;
}

}  // namespace enclave::cli
