#include "governance/integrity/verify_model.h"

#include <fmt/format.h>

#include <filesystem>
#include <map>

#include "governance/crypto/digest.h"

namespace enclave::integrity {

namespace fs = std::filesystem;

Status VerifyModel(const std::string& model_path, const VerifyModelOptions& options, Manifest* verified) {
  const std::string manifest_path =
      options.manifest_path.empty() ? DefaultManifestPath(model_path) : options.manifest_path;
  ASSIGN_OR_RETURN(Manifest m, ReadManifest(manifest_path));

  // The signature first: a manifest that is not trusted says nothing about the files.
  if (!options.public_key_path.empty()) {
    ASSIGN_OR_RETURN(crypto::Ed25519Key key, crypto::Ed25519Key::LoadPublicPem(options.public_key_path));
    if (!m.signature) {
      if (options.require_signature) return CorruptError(fmt::format("{} is not signed", manifest_path));
    } else if (m.signature->key_id != key.key_id()) {
      return CorruptError(fmt::format("{} is signed by key {}, not by the given public key {}", manifest_path,
                                      m.signature->key_id, key.key_id()));
    } else if (!ManifestSignatureValid(m, key)) {
      return CorruptError(fmt::format("the signature of {} does not verify: the manifest was changed", manifest_path));
    }
  } else if (options.require_signature) {
    return InvalidArgumentError("a signature is required but no public key was given to check it");
  }

  // Names and sizes before any hashing: a missing, extra or resized file fails at once.
  ASSIGN_OR_RETURN(std::vector<ManifestFile> actual, ListModelFiles(model_path, manifest_path));
  std::error_code ec;
  if (fs::is_directory(model_path, ec) != m.directory) {
    return CorruptError(fmt::format("{} is a {} but the manifest describes a {}", model_path,
                                    m.directory ? "file" : "directory", m.directory ? "directory" : "file"));
  }
  // A single model file is checked by content; renaming it is harmless.
  if (!m.directory && actual.size() == 1) actual[0].path = m.files[0].path;
  std::map<std::string, uint64_t> on_disk;
  for (const ManifestFile& f : actual) on_disk[f.path] = f.bytes;
  for (const ManifestFile& f : m.files) {
    auto it = on_disk.find(f.path);
    if (it == on_disk.end()) return CorruptError(fmt::format("{}: file missing (listed in the manifest)", f.path));
    if (it->second != f.bytes) {
      return CorruptError(fmt::format("{}: {} bytes, the manifest says {}", f.path, it->second, f.bytes));
    }
    on_disk.erase(it);
  }
  if (!on_disk.empty()) {
    return CorruptError(fmt::format("{}: extra file, not in the manifest", on_disk.begin()->first));
  }

  uint64_t total = 0, done = 0;
  for (const ManifestFile& f : m.files) total += f.bytes;
  for (const ManifestFile& f : m.files) {
    const std::string full = m.directory ? (fs::path(model_path) / f.path).string() : model_path;
    const uint64_t base = done;
    ASSIGN_OR_RETURN(std::string sha, crypto::Sha256FileHex(full, [&](uint64_t d, uint64_t) {
                       if (options.progress) options.progress(base + d, total);
                     }));
    if (sha != f.sha256) {
      return CorruptError(fmt::format("{}: SHA-256 {} differs from the manifest's {}", f.path, sha, f.sha256));
    }
    done += f.bytes;
  }
  if (verified != nullptr) *verified = std::move(m);
  return Status::Ok();
}

}  // namespace enclave::integrity
