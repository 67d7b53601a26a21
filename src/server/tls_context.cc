#include "server/tls_context.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <system_error>

#include <fmt/format.h>

namespace enclave::server {

namespace {

// The reasons OpenSSL queued on this thread, oldest first, without repeats; empties the queue.
std::string TakeOpenSslErrors() {
  std::string out;
  while (const unsigned long e = ERR_get_error()) {
    const char* reason = ERR_reason_error_string(e);
    std::string text = reason ? reason : fmt::format("OpenSSL error {:x}", e);
    if (out.find(text) != std::string::npos) continue;
    if (!out.empty()) out += "; ";
    out += text;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

// Opening the file ourselves gives the OS's reason ("No such file or directory") rather than
// OpenSSL's ("system lib").
Status CheckReadable(const std::string& path, const char* what) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) {
    const int err = errno;
    return IoError(fmt::format("cannot read {} '{}': {}", what, path, std::generic_category().message(err)));
  }
  std::fclose(f);
  return Status::Ok();
}

bool FileMentions(const std::string& path, const std::string& word) {
  std::ifstream in(path, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return text.find(word) != std::string::npos;
}

// OpenSSL's default would prompt on the terminal for an encrypted key's passphrase; refuse instead.
int NoPassphrase(char*, int, int, void*) { return 0; }

using SslCtxPtr = std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)>;

Status LoadIdentity(SSL_CTX* ctx, const TlsOptions& options) {
  RETURN_IF_ERROR(CheckReadable(options.cert_file, "TLS certificate"));
  if (SSL_CTX_use_certificate_chain_file(ctx, options.cert_file.c_str()) != 1) {
    return InvalidArgumentError(fmt::format("cannot read TLS certificate '{}': {} (expected a PEM certificate chain)",
                                            options.cert_file, TakeOpenSslErrors()));
  }
  RETURN_IF_ERROR(CheckReadable(options.key_file, "TLS private key"));
  if (SSL_CTX_use_PrivateKey_file(ctx, options.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    std::string reason = TakeOpenSslErrors();
    if (FileMentions(options.key_file, "ENCRYPTED")) {
      reason += " (the key is encrypted; passphrases are not supported: store it decrypted, readable only by the "
                "server's user)";
    }
    if (reason.find("mismatch") != std::string::npos) {
      // OpenSSL compares the key with the loaded certificate at this point already.
      return InvalidArgumentError(fmt::format("TLS private key '{}' does not match the certificate '{}'",
                                              options.key_file, options.cert_file));
    }
    return InvalidArgumentError(fmt::format("cannot read TLS private key '{}': {}", options.key_file, reason));
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    ERR_clear_error();
    return InvalidArgumentError(fmt::format("TLS private key '{}' does not match the certificate '{}'",
                                            options.key_file, options.cert_file));
  }
  return Status::Ok();
}

Status LoadClientCas(SSL_CTX* ctx, const TlsOptions& options) {
  const std::string& ca = options.client_ca_file;
  RETURN_IF_ERROR(CheckReadable(ca, "TLS client CA file"));
  if (SSL_CTX_load_verify_locations(ctx, ca.c_str(), nullptr) != 1) {
    return InvalidArgumentError(
        fmt::format("cannot read TLS client CA file '{}': {} (expected PEM certificates)", ca, TakeOpenSslErrors()));
  }
  // The CA names the server sends in its certificate request, so clients pick a matching cert.
  STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(ca.c_str());
  if (!names) {
    return InvalidArgumentError(fmt::format("TLS client CA file '{}' holds no certificates: {}", ca,
                                            TakeOpenSslErrors()));
  }
  SSL_CTX_set_client_CA_list(ctx, names);  // takes ownership
  int mode = SSL_VERIFY_PEER;
  if (options.require_client_cert) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  SSL_CTX_set_verify(ctx, mode, nullptr);
  return Status::Ok();
}

}  // namespace

Result<std::shared_ptr<boost::asio::ssl::context>> MakeTlsServerContext(const TlsOptions& options) {
  int min_version = 0;
  if (options.min_version == "1.3") {
    min_version = TLS1_3_VERSION;
  } else if (options.min_version == "1.2") {
    min_version = TLS1_2_VERSION;
  } else {
    return InvalidArgumentError(fmt::format(
        "TLS minimum version '{}' is not supported: use \"1.3\" (the default) or \"1.2\"", options.min_version));
  }
  if (options.cert_file.empty()) return InvalidArgumentError("TLS needs a certificate file");
  if (options.key_file.empty()) {
    return InvalidArgumentError(fmt::format("TLS certificate '{}' needs its private key file", options.cert_file));
  }
  if (options.require_client_cert && options.client_ca_file.empty()) {
    return InvalidArgumentError("requiring client certificates needs a client CA file to verify them against");
  }

  ERR_clear_error();
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()), &SSL_CTX_free);
  if (!ctx) return InternalError("cannot create a TLS context: " + TakeOpenSslErrors());
  SSL_CTX* c = ctx.get();
  if (SSL_CTX_set_min_proto_version(c, min_version) != 1 || SSL_CTX_set_max_proto_version(c, TLS1_3_VERSION) != 1 ||
      SSL_CTX_set_cipher_list(c, kTls12Ciphers) != 1) {
    return InternalError("cannot configure the TLS context: " + TakeOpenSslErrors());
  }
  SSL_CTX_set_options(c, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_default_passwd_cb(c, NoPassphrase);
  // Session resumption with client certificates needs a context id (else OpenSSL fails the resumed
  // handshake). Tickets are encrypted with keys of this context: after a reload, old ones are void.
  static constexpr unsigned char kSessionContext[] = "enclave-http";
  SSL_CTX_set_session_id_context(c, kSessionContext, sizeof kSessionContext - 1);

  RETURN_IF_ERROR(LoadIdentity(c, options));
  if (!options.client_ca_file.empty()) RETURN_IF_ERROR(LoadClientCas(c, options));
  // The asio context takes ownership of the handle.
  return std::make_shared<boost::asio::ssl::context>(ctx.release());
}

ClientIdentity VerifiedClientIdentity(SSL* ssl) {
  ClientIdentity id;
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (!cert || SSL_get_verify_result(ssl) != X509_V_OK) return id;

  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (X509_digest(cert, EVP_sha256(), md, &md_len) != 1) {
    ERR_clear_error();
    return id;
  }
  for (unsigned int i = 0; i < md_len; ++i) id.sha256 += fmt::format("{:02x}", md[i]);

  // XN_FLAG_RFC2253 escapes control characters and non-ASCII bytes (\C3\A9), so the subject is safe
  // to log and compare as ASCII.
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  if (bio && X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) >= 0) {
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio.get(), &data);
    if (n > 0) id.subject.assign(data, static_cast<size_t>(n));
  }
  ERR_clear_error();
  return id;
}

}  // namespace enclave::server
