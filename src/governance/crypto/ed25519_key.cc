#include "governance/crypto/ed25519_key.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "governance/crypto/digest.h"

namespace enclave::crypto {
namespace {

std::string OpenSslError() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

Result<std::string> ReadSmallFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError(fmt::format("cannot open key file {}: {}", path, std::strerror(errno)));
  std::stringstream ss;
  ss << in.rdbuf();
  if (ss.str().size() > (1 << 16)) return InvalidArgumentError(fmt::format("{} is too big to be a PEM key", path));
  return ss.str();
}

Status WriteFileExclusive(const std::string& path, const std::string& data, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    if (errno == EEXIST) return InvalidArgumentError(fmt::format("{} exists; refusing to overwrite a key", path));
    return IoError(fmt::format("cannot create {}: {}", path, std::strerror(errno)));
  }
  size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      return IoError(fmt::format("cannot write {}: {}", path, std::strerror(err)));
    }
    off += static_cast<size_t>(n);
  }
  // fchmod: the umask may have removed bits from `mode` on create, and must never add any.
  const bool ok = ::fchmod(fd, mode) == 0 && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return IoError(fmt::format("cannot finish writing {}", path));
  return Status::Ok();
}

}  // namespace

void Ed25519Key::PkeyFree::operator()(evp_pkey_st* k) const { EVP_PKEY_free(k); }

Ed25519Key::Ed25519Key(std::shared_ptr<evp_pkey_st> pkey, bool has_private)
    : pkey_(std::move(pkey)), has_private_(has_private) {
  unsigned char raw[32];
  size_t len = sizeof raw;
  if (EVP_PKEY_get_raw_public_key(pkey_.get(), raw, &len) == 1 && len == 32) {
    key_id_ = Sha256Hex(std::string_view(reinterpret_cast<const char*>(raw), len)).substr(0, 16);
  }
}

Result<Ed25519Key> Ed25519Key::Generate() {
  EVP_PKEY* k = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (k == nullptr) return InternalError("Ed25519 key generation failed: " + OpenSslError());
  return Ed25519Key(std::shared_ptr<evp_pkey_st>(k, PkeyFree()), true);
}

Result<Ed25519Key> Ed25519Key::ParsePem(std::string_view pem, bool want_private, const std::string& name) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return InternalError("BIO_new_mem_buf failed");
  EVP_PKEY* k = nullptr;
  bool is_private = false;
  if (pem.find("PRIVATE KEY-----") != std::string_view::npos) {
    k = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
    is_private = true;
  } else if (!want_private) {
    k = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  } else {
    return InvalidArgumentError(fmt::format("{} holds no private key (expected 'BEGIN PRIVATE KEY')", name));
  }
  if (k == nullptr) return InvalidArgumentError(fmt::format("{}: not a readable PEM key ({})", name, OpenSslError()));
  std::shared_ptr<evp_pkey_st> owned(k, PkeyFree());
  if (EVP_PKEY_get_id(k) != EVP_PKEY_ED25519) {
    return InvalidArgumentError(fmt::format("{} is not an Ed25519 key (make one with `enclave audit keygen`)", name));
  }
  return Ed25519Key(std::move(owned), is_private);
}

Result<Ed25519Key> Ed25519Key::LoadPrivatePem(const std::string& path) {
  ASSIGN_OR_RETURN(std::string pem, ReadSmallFile(path));
  return ParsePem(pem, /*want_private=*/true, path);
}

Result<Ed25519Key> Ed25519Key::LoadPublicPem(const std::string& path) {
  ASSIGN_OR_RETURN(std::string pem, ReadSmallFile(path));
  return ParsePem(pem, /*want_private=*/false, path);
}

Result<std::string> Ed25519Key::SignHex(std::string_view message) const {
  if (!has_private_) return InvalidArgumentError("signing needs a private key");
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  unsigned char sig[64];
  size_t sig_len = sizeof sig;
  // Ed25519 is "pure": no digest is named, the message goes in whole (one-shot API).
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, pkey_.get()) != 1 ||
      EVP_DigestSign(ctx.get(), sig, &sig_len, reinterpret_cast<const unsigned char*>(message.data()),
                     message.size()) != 1) {
    return InternalError("Ed25519 signing failed: " + OpenSslError());
  }
  return HexEncode(std::string_view(reinterpret_cast<const char*>(sig), sig_len));
}

bool Ed25519Key::VerifyHex(std::string_view message, std::string_view signature_hex) const {
  Result<std::string> sig = HexDecode(signature_hex);
  if (!sig.ok() || sig->size() != 64) return false;
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  const bool ok = ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey_.get()) == 1 &&
                  EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig->data()), sig->size(),
                                   reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
  ERR_clear_error();
  return ok;
}

Result<std::string> Ed25519Key::PrivatePem() const {
  if (!has_private_) return InvalidArgumentError("no private key to write");
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), pkey_.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return InternalError("writing the private key PEM failed: " + OpenSslError());
  }
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

Result<std::string> Ed25519Key::PublicPem() const {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), pkey_.get()) != 1) {
    return InternalError("writing the public key PEM failed: " + OpenSslError());
  }
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

Result<std::string> WriteKeyPair(const Ed25519Key& key, const std::string& path) {
  std::string pub_path = path;
  if (pub_path.size() > 4 && pub_path.ends_with(".pem")) pub_path.resize(pub_path.size() - 4);
  pub_path += ".pub.pem";
  ASSIGN_OR_RETURN(std::string priv, key.PrivatePem());
  ASSIGN_OR_RETURN(std::string pub, key.PublicPem());
  if (::access(pub_path.c_str(), F_OK) == 0) {
    return InvalidArgumentError(fmt::format("{} exists; refusing to overwrite a key", pub_path));
  }
  RETURN_IF_ERROR(WriteFileExclusive(path, priv, 0600));
  RETURN_IF_ERROR(WriteFileExclusive(pub_path, pub, 0644));
  return pub_path;
}

}  // namespace enclave::crypto
