// Checking a model against its manifest before it is served (docs/model-integrity.md).
// Thread-safe.
#pragma once

#include <string>

#include "base/status.h"
#include "governance/integrity/manifest.h"

namespace enclave::integrity {

struct VerifyModelOptions {
  std::string manifest_path;       // empty: DefaultManifestPath(model)
  std::string public_key_path;     // check the manifest's signature with this Ed25519 public key
  bool require_signature = false;  // fail unless the manifest is signed and the signature verifies
  ProgressFn progress;             // over all bytes hashed
};

// Ok only if the model's files are exactly those of the manifest (no file missing, none extra),
// each with the listed size and SHA-256, and the signature rules hold. The error names the first
// file that differs. `verified` (optional) receives the manifest that matched.
Status VerifyModel(const std::string& model_path, const VerifyModelOptions& options, Manifest* verified = nullptr);

}  // namespace enclave::integrity
