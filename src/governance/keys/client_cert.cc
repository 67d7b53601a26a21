#include "governance/keys/client_cert.h"

#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

#include "governance/crypto/digest.h"

namespace enclave::governance::keys {
namespace {

constexpr size_t kMaxPemBytes = 1 << 20;

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};

}  // namespace

Result<std::string> CertificateSha256FromPem(std::string_view pem) {
  if (pem.size() > kMaxPemBytes) return InvalidArgumentError("the certificate file is too big to be a PEM certificate");
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return InternalError("cannot make an OpenSSL buffer");
  std::unique_ptr<X509, X509Free> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  if (!cert) {
    return InvalidArgumentError(
        "no PEM certificate found (expected a '-----BEGIN CERTIFICATE-----' block, e.g. the client's cert.pem)");
  }
  unsigned char* der = nullptr;
  const int n = i2d_X509(cert.get(), &der);
  if (n <= 0) {
    ERR_clear_error();
    return InvalidArgumentError("the certificate cannot be DER-encoded");
  }
  const std::string digest =
      crypto::Sha256Hex(std::string_view(reinterpret_cast<const char*>(der), static_cast<size_t>(n)));
  OPENSSL_free(der);
  return digest;
}

Result<std::string> CertificateSha256FromPemFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError(fmt::format("cannot open certificate {}: {}", path, std::strerror(errno)));
  std::stringstream ss;
  ss << in.rdbuf();
  Result<std::string> digest = CertificateSha256FromPem(ss.str());
  if (!digest.ok()) return digest.status().WithContext(path);
  return digest;
}

}  // namespace enclave::governance::keys
