// The identity of a client certificate as the key store keeps it: SHA-256 of the certificate's
// DER encoding, 64 lowercase hex digits (what `openssl x509 -in cert.pem -outform DER | sha256sum`
// prints). `enclave keys create --client-cert` binds a key to one; the TLS transport computes the
// same digest of the certificate a client presents. Thread-safe (no state).
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace enclave::governance::keys {

// The first certificate in PEM text ("-----BEGIN CERTIFICATE-----"; other blocks are skipped).
Result<std::string> CertificateSha256FromPem(std::string_view pem);
// The same, read from a file; errors name the file.
Result<std::string> CertificateSha256FromPemFile(const std::string& path);

}  // namespace enclave::governance::keys
