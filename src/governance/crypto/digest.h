// SHA-256 through OpenSSL's EVP API, for the tamper evidence of the audit log and the model
// manifests (src/base/sha256.h stays for fixture identity). Thread-compatible.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"

struct evp_md_ctx_st;

namespace enclave::crypto {

class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;

  void Update(std::string_view bytes);
  // 64 lowercase hex digits; the object must not be updated afterwards.
  std::string FinishHex();

 private:
  struct CtxFree {
    void operator()(evp_md_ctx_st* ctx) const;
  };
  std::unique_ptr<evp_md_ctx_st, CtxFree> ctx_;
};

std::string Sha256Hex(std::string_view bytes);

// Streams the file through SHA-256 in 4 MiB reads; progress(done, total) after each read.
Result<std::string> Sha256FileHex(const std::string& path,
                                  const std::function<void(uint64_t, uint64_t)>& progress = nullptr);

std::string HexEncode(std::string_view bytes);
// Lowercase or uppercase hex; an error for odd length or a non-hex digit.
Result<std::string> HexDecode(std::string_view hex);
// True for exactly 64 lowercase hex digits, the form every hash in our files has.
bool IsSha256Hex(std::string_view s);

}  // namespace enclave::crypto
