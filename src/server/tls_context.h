// TLS for the HTTP transport (see docs/tls.md): the server context built from TlsOptions, and the
// identity a verified client certificate gives a connection. Internal to src/server.
//
// Thread-safety: MakeTlsServerContext is thread-safe (OpenSSL's error queue is per thread). A
// context is not modified once built; many handshakes on many threads may use it at once.
#pragma once

#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>

#include "base/status.h"
#include "server/http_server.h"

namespace enclave::server {

// TLS 1.2 suites allowed with min_version "1.2": forward secrecy (ECDHE) and AEAD only; no CBC,
// no static-RSA key exchange, no DHE.
inline constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// A server context from `options` (cert_file must be set): the certificate chain and its key
// (checked to match; encrypted keys are refused rather than prompted for), minimum version "1.3"
// (default) or "1.2", no compression or renegotiation, and, with client_ca_file, client
// certificates requested and verified against it (required with require_client_cert).
// Errors name the file and OpenSSL's reason.
Result<std::shared_ptr<boost::asio::ssl::context>> MakeTlsServerContext(const TlsOptions& options);

struct ClientIdentity {
  std::string sha256;   // SHA-256 of the certificate's DER, 64 lowercase hex
  std::string subject;  // RFC 2253 one-line subject, "CN=alice,O=Bank"
};

// The client certificate of an established connection when it verified against the configured CAs;
// empty fields when none was presented (or none was asked for).
ClientIdentity VerifiedClientIdentity(SSL* ssl);

}  // namespace enclave::server
