// Model integrity manifests (docs/model-integrity.md): the size and SHA-256 of every file of a
// model (one GGUF file, or every regular file under a Hugging Face directory), optionally signed
// with Ed25519 over the manifest's canonical bytes. Pure functions over files; thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "governance/crypto/ed25519_key.h"

namespace enclave::integrity {

inline constexpr char kManifestFormat[] = "enclave-model-manifest-v1";
inline constexpr char kDirManifestName[] = "enclave-manifest.json";

struct ManifestFile {
  std::string path;  // relative to the model directory ("model.gguf" for a single file); '/' separated
  uint64_t bytes = 0;
  std::string sha256;
};

struct ManifestSignature {
  std::string key_id;  // Ed25519Key::key_id() of the signer
  std::string sig;     // hex, over CanonicalManifestBytes()
};

struct Manifest {
  std::string model;  // the model's file or directory name when created
  bool directory = false;
  std::string created;              // UTC time of creation
  std::vector<ManifestFile> files;  // sorted by path
  std::optional<ManifestSignature> signature;
};

using ProgressFn = std::function<void(uint64_t done_bytes, uint64_t total_bytes)>;

// MODEL.manifest.json beside a file; DIR/enclave-manifest.json inside a directory.
std::string DefaultManifestPath(const std::string& model_path);

// The model's files, sorted by path, without sizes or hashes. For a directory: every regular file
// below it (symbolic links to files followed, as in Hugging Face caches), except `exclude` (the
// manifest itself) and the default manifest name at the top.
Result<std::vector<ManifestFile>> ListModelFiles(const std::string& model_path, const std::string& exclude);

// Hashes every file (streamed; `progress` over all bytes).
Result<Manifest> CreateManifest(const std::string& model_path, const std::string& manifest_path,
                                const ProgressFn& progress = nullptr);

// The bytes a signature covers: the manifest as compact JSON without its signature, keys in a
// fixed order. Rebuilt from the parsed fields, so it binds exactly what verification checks.
std::string CanonicalManifestBytes(const Manifest& m);
Status SignManifest(Manifest& m, const crypto::Ed25519Key& key);
bool ManifestSignatureValid(const Manifest& m, const crypto::Ed25519Key& key);

std::string ManifestToText(const Manifest& m);  // pretty JSON for the file
Result<Manifest> ParseManifest(std::string_view text, const std::string& name);

// Writes via a temporary file and rename, so a crash never leaves half a manifest.
Status WriteManifest(const Manifest& m, const std::string& path);
Result<Manifest> ReadManifest(const std::string& path);

}  // namespace enclave::integrity
