// The administrative read routes (docs/security.md): GET /admin/keys (admin), GET /admin/model
// (admin), GET /admin/audit and GET /admin/audit/verify (auditor, admin). Access is decided
// before these run (server/access_control.h); they only build the answers. Thread-safe.
#pragma once

#include <string>

#include "governance/keys/key_store.h"
#include "server/http_server.h"

namespace enclave::server {

struct AdminResponse {
  int status = 200;
  std::string body;  // JSON
};

struct ModelFacts {
  std::string id;
  std::string path;
  std::string sha256;    // of the model (the manifest's digest for a directory)
  std::string manifest;  // "verified", "verified, signed by KEYID", "absent"
};

// The keys, without secrets or hashes. `keys` null: 404 (no key database).
AdminResponse AdminKeys(governance::keys::KeyStore* keys);
AdminResponse AdminModel(const ModelFacts& facts);
// Records of the audit log's active file after `after=SEQ` (query), at most `limit=N` (default
// 100, at most 1000), as {"records": [...], "last_seq": N}. `audit_path` empty: 404.
AdminResponse AdminAuditRecords(const std::string& audit_path, const HttpRequest& req);
// Verifies the whole chain (rotated files and the active one).
AdminResponse AdminAuditVerify(const std::string& audit_path);

}  // namespace enclave::server
