// IP addresses, CIDR ranges and the client-address rules of docs/security.md: the allow-list
// (IPv4 and IPv6; an IPv4-mapped IPv6 address such as ::ffff:10.0.0.1 matches IPv4 rules), and
// which address a request comes from when reverse proxies are trusted.
//
// Pure functions and immutable values; thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace enclave::governance::netrules {

// An address as 16 bytes; IPv4 addresses are stored IPv4-mapped (::ffff:a.b.c.d), so one
// comparison serves both families.
struct IpAddress {
  std::array<uint8_t, 16> bytes{};
  bool is_v4() const;          // IPv4 or IPv4-mapped
  std::string ToString() const;  // "10.0.0.1" for IPv4(-mapped), RFC 5952 text for IPv6
  friend bool operator==(const IpAddress&, const IpAddress&) = default;
};

// "10.0.0.1", "::1", "::ffff:10.0.0.1", "fe80::1%eth0" (zone dropped). Errors quote the text.
Result<IpAddress> ParseIp(std::string_view text);

struct CidrRange {
  IpAddress base;      // host bits cleared
  int prefix_bits = 128;  // over the 16-byte form (an IPv4 /8 is 96 + 8)
  bool Contains(const IpAddress& ip) const;
  std::string ToString() const;  // "10.0.0.0/8", "2001:db8::/32"
};

// "10.0.0.0/8", "2001:db8::/32", or a single address (a /32 or /128). Host bits set below the
// prefix ("10.0.0.1/8") are an error: such a rule usually hides a typo.
Result<CidrRange> ParseCidr(std::string_view text);

class IpRangeList {
 public:
  // Each entry a ParseCidr text; the error names the entry's position and text.
  static Result<IpRangeList> Parse(const std::vector<std::string>& entries);
  bool empty() const { return ranges_.empty(); }
  bool Contains(const IpAddress& ip) const;
  const std::vector<CidrRange>& ranges() const { return ranges_; }

 private:
  std::vector<CidrRange> ranges_;
};

// The client address of a request. `peer` is the socket's remote address. When the peer is in
// `trusted_proxies`, X-Forwarded-For (all its header values, comma-separated, joined in order)
// is read from the right: trusted proxies are skipped and the first other address is the client;
// if every entry is trusted, the leftmost one is. Otherwise (no trusted proxies, or the peer is
// not one) the header is ignored, so a spoofed X-Forwarded-For never changes the result.
// A malformed entry where it would be used is an error (the caller refuses the request).
Result<IpAddress> ResolveClientIp(std::string_view peer, const std::vector<std::string>& x_forwarded_for,
                                  const IpRangeList& trusted_proxies);

}  // namespace enclave::governance::netrules
