// Ed25519 keys through OpenSSL 3 (EVP): signing audit checkpoints and model manifests.
// Keys are PEM files: the private key as PKCS#8 ("BEGIN PRIVATE KEY"), the public key as
// SubjectPublicKeyInfo ("BEGIN PUBLIC KEY"). An Ed25519Key is immutable after creation, so
// concurrent Sign/Verify calls on one object are safe (each call has its own EVP context).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"

struct evp_pkey_st;

namespace enclave::crypto {

class Ed25519Key {
 public:
  static Result<Ed25519Key> Generate();
  // A PKCS#8 private key PEM file.
  static Result<Ed25519Key> LoadPrivatePem(const std::string& path);
  // A public key PEM file; a private key PEM is accepted too (its public half is used).
  static Result<Ed25519Key> LoadPublicPem(const std::string& path);
  static Result<Ed25519Key> ParsePem(std::string_view pem, bool want_private, const std::string& name);

  bool has_private() const { return has_private_; }
  // The 64-byte signature, hex encoded (128 digits). Needs the private key.
  Result<std::string> SignHex(std::string_view message) const;
  bool VerifyHex(std::string_view message, std::string_view signature_hex) const;

  Result<std::string> PrivatePem() const;
  Result<std::string> PublicPem() const;
  // First 16 hex digits of SHA-256 over the 32 raw public key bytes: names the key in records.
  const std::string& key_id() const { return key_id_; }

 private:
  struct PkeyFree {
    void operator()(evp_pkey_st* k) const;
  };
  Ed25519Key(std::shared_ptr<evp_pkey_st> pkey, bool has_private);

  std::shared_ptr<evp_pkey_st> pkey_;  // shared: copies of the key object share the immutable EVP_PKEY
  bool has_private_ = false;
  std::string key_id_;
};

// Writes the private key to `path` (mode 0600, refusing to overwrite an existing file) and the
// public key to the returned path (`path` with ".pem" replaced by ".pub.pem", mode 0644).
Result<std::string> WriteKeyPair(const Ed25519Key& key, const std::string& path);

}  // namespace enclave::crypto
