// The governance objects `enclave serve` builds from its settings (docs/security.md): the key
// database, address rules, TLS files, content controls, the audit log and the model's integrity
// check. Each step fails with a message naming the setting to fix; serve refuses to start then.
#pragma once

#include <memory>

#include "base/status.h"
#include "config/serve_config.h"
#include "governance/audit/audit_log.h"
#include "governance/keys/key_store.h"
#include "governance/pii/detectors.h"
#include "governance/wordfilter/word_filter.h"
#include "server/api_server.h"

namespace enclave::cli {

// What the server borrows; must outlive it.
struct ServeGovernance {
  std::unique_ptr<governance::keys::KeyStore> keys;
  std::unique_ptr<governance::pii::PiiDetector> detector;
  std::unique_ptr<wordfilter::WordFilter> filter;
  std::unique_ptr<audit::AuditLog> audit;
};

// Secure defaults: a non-loopback address needs authentication (a key database, or required
// client certificates) unless server.insecure is set.
Status CheckListenPolicy(const config::ServeConfig& c);

// Verifies the model against its manifest (when one exists or one is required) and finds the
// model's SHA-256 for audit records. Runs before the model is loaded.
Status CheckModelIntegrity(const config::ServeConfig& c, server::ModelFacts* facts);

// Opens and builds everything, filling the governance parts of `options`.
Result<ServeGovernance> BuildGovernance(const config::ServeConfig& c, server::ApiServerOptions& options);

}  // namespace enclave::cli
