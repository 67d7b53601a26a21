// libFuzzer target: IP addresses, CIDR ranges and the client address behind trusted proxies, on
// arbitrary bytes. The whole input is parsed as an address and as a range; its first line is a peer
// address and the other lines X-Forwarded-For header values. Invariants: no crash; a parsed
// address's text parses back to the same address (and as a range holding exactly it); a parsed range
// contains its base, not the address just below or above it, and its text parses back to the same
// range; a peer that is not a trusted proxy is the client whatever the header says.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/check.h"
#include "governance/netrules/ip_rules.h"

namespace nr = enclave::governance::netrules;

namespace {

const nr::IpRangeList& Trusted() {
  static const nr::IpRangeList list = [] {
    auto r = nr::IpRangeList::Parse({"10.0.0.0/8", "fd00::/8", "127.0.0.1"});
    ENCLAVE_CHECK(r.ok());
    return *r;
  }();
  return list;
}

// The address `delta` (+1 or -1) away, or false when that wraps around the address space.
bool Step(nr::IpAddress& ip, int delta) {
  for (int i = 15; i >= 0; --i) {
    const int v = ip.bytes[i] + delta;
    ip.bytes[i] = static_cast<uint8_t>(v);
    if (v >= 0 && v <= 255) return true;
  }
  return false;
}

void CheckAddress(std::string_view text) {
  auto ip = nr::ParseIp(text);
  if (!ip.ok()) return;
  const std::string s = ip->ToString();
  auto again = nr::ParseIp(s);
  ENCLAVE_CHECK(again.ok() && *again == *ip);
  ENCLAVE_CHECK(ip->is_v4() == (s.find(':') == std::string::npos));
  auto single = nr::ParseCidr(s);
  ENCLAVE_CHECK(single.ok() && single->base == *ip && single->prefix_bits == 128 && single->Contains(*ip));
}

void CheckRange(std::string_view text) {
  auto range = nr::ParseCidr(text);
  if (!range.ok()) return;
  ENCLAVE_CHECK(range->prefix_bits >= 0 && range->prefix_bits <= 128);
  ENCLAVE_CHECK(range->Contains(range->base));
  auto again = nr::ParseCidr(range->ToString());
  ENCLAVE_CHECK(again.ok() && again->base == range->base && again->prefix_bits == range->prefix_bits);
  nr::IpAddress below = range->base;  // the base is the lowest address of the range
  if (Step(below, -1)) ENCLAVE_CHECK(!range->Contains(below));
  if (range->prefix_bits > 0) {  // the first address past the range: the base plus one at the prefix's last bit
    nr::IpAddress past = range->base;
    const int bit = range->prefix_bits - 1;
    bool carry = true;
    for (int i = bit / 8, b = 7 - bit % 8; carry && i >= 0; --i, b = 0) {
      const int v = past.bytes[i] + (1 << b);
      past.bytes[i] = static_cast<uint8_t>(v);
      carry = v > 255;
    }
    if (!carry) ENCLAVE_CHECK(!range->Contains(past));
  }
}

void CheckClient(std::string_view data) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (true) {
    const size_t nl = data.find('\n', start);
    lines.emplace_back(data.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start));
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  const std::string peer = lines.front();
  const std::vector<std::string> xff(lines.begin() + 1, lines.end());
  auto peer_ip = nr::ParseIp(peer);

  auto ignored = nr::ResolveClientIp(peer, xff, nr::IpRangeList{});
  ENCLAVE_CHECK(ignored.ok() == peer_ip.ok());
  if (ignored.ok()) ENCLAVE_CHECK(*ignored == *peer_ip);

  auto client = nr::ResolveClientIp(peer, xff, Trusted());
  if (!peer_ip.ok()) {
    ENCLAVE_CHECK(!client.ok());
    return;
  }
  if (!Trusted().Contains(*peer_ip)) ENCLAVE_CHECK(client.ok() && *client == *peer_ip);
  if (client.ok()) {
    auto again = nr::ParseIp(client->ToString());
    ENCLAVE_CHECK(again.ok() && *again == *client);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  CheckAddress(text);
  CheckRange(text);
  CheckClient(text);
  return 0;
}
