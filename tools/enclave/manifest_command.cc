// `enclave manifest create MODEL` and `enclave verify MODEL`: model integrity manifests
// (docs/model-integrity.md). The same check, VerifyModel, runs in `serve` before a model loads.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "governance/crypto/ed25519_key.h"
#include "governance/integrity/manifest.h"
#include "governance/integrity/verify_model.h"
#include "tools/enclave/commands.h"
#include "tools/enclave/progress_bar.h"

namespace enclave::cli {
namespace {

struct CreateArgs {
  std::string model;
  std::string out;
  std::string sign_key;
};

int RunCreate(const CreateArgs& a) {
  const std::string out = a.out.empty() ? integrity::DefaultManifestPath(a.model) : a.out;
  // Load the key before hours of hashing, so a wrong path fails at once.
  std::optional<crypto::Ed25519Key> key;
  if (!a.sign_key.empty()) {
    Result<crypto::Ed25519Key> k = crypto::Ed25519Key::LoadPrivatePem(a.sign_key);
    if (!k.ok()) {
      std::fprintf(stderr, "error: %s\n", k.status().message().c_str());
      return 1;
    }
    key = std::move(*k);
  }
  ByteProgressBar bar("hashing");
  Result<integrity::Manifest> m =
      integrity::CreateManifest(a.model, out, [&bar](uint64_t done, uint64_t total) { bar.Update(done, total); });
  Status s = m.ok() ? Status::Ok() : m.status();
  if (s.ok() && key) s = integrity::SignManifest(*m, *key);
  if (s.ok()) s = integrity::WriteManifest(*m, out);
  if (!s.ok()) {
    std::fprintf(stderr, "error: %s\n", s.message().c_str());
    return 1;
  }
  std::printf("wrote %s: %zu file(s)%s\n", out.c_str(), m->files.size(),
              key ? (", signed by key " + key->key_id()).c_str() : "");
  return 0;
}

struct VerifyArgs {
  std::string model;
  integrity::VerifyModelOptions options;
};

int RunVerify(VerifyArgs& a) {
  ByteProgressBar bar("verifying");
  a.options.progress = [&bar](uint64_t done, uint64_t total) { bar.Update(done, total); };
  integrity::Manifest m;
  const Status s = integrity::VerifyModel(a.model, a.options, &m);
  if (!s.ok()) {
    std::fprintf(stderr, "error: %s\n", s.message().c_str());
    return 1;
  }
  std::printf("OK: %s matches its manifest (%zu file(s)%s)\n", a.model.c_str(), m.files.size(),
              a.options.public_key_path.empty() || !m.signature
                  ? (m.signature ? ", signature not checked" : ", unsigned")
                  : (", signature by key " + m.signature->key_id + " verified").c_str());
  return 0;
}

}  // namespace

void RegisterManifest(CLI::App& app, CommandRegistry& registry) {
  CLI::App* manifest = app.add_subcommand("manifest", "Model integrity manifests: create");
  manifest->require_subcommand(1);
  auto c = std::make_shared<CreateArgs>();
  CLI::App* create = manifest->add_subcommand(
      "create",
      "Write the size and SHA-256 of every file of a model (a GGUF file, or every file of a Hugging "
      "Face directory) to a manifest, optionally signed with Ed25519");
  create->add_option("model", c->model, "GGUF file or model directory")->required();
  create->add_option("--out", c->out,
                     "manifest path (default: MODEL.manifest.json beside a file, DIR/enclave-manifest.json in a "
                     "directory)");
  create->add_option("--sign", c->sign_key, "Ed25519 private key PEM (from `enclave audit keygen`)");
  create->callback([c, &registry] { registry.exit_code = RunCreate(*c); });

  auto v = std::make_shared<VerifyArgs>();
  CLI::App* verify =
      app.add_subcommand("verify",
                         "Check a model against its manifest: exits 0 only if every file is there with the listed size "
                         "and SHA-256 and no other file is; names the first missing, extra or changed file");
  verify->add_option("model", v->model, "GGUF file or model directory")->required();
  verify->add_option("--manifest", v->options.manifest_path, "manifest path (default as for `manifest create`)");
  verify->add_option("--pubkey", v->options.public_key_path, "Ed25519 public key PEM: check the signature");
  verify->add_flag("--require-signature", v->options.require_signature,
                   "fail unless the manifest is signed and its signature verifies under --pubkey");
  verify->callback([v, &registry] { registry.exit_code = RunVerify(*v); });
}

}  // namespace enclave::cli
