#include "governance/netrules/ip_rules.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

namespace enclave::governance::netrules {
namespace {

// Longer texts cannot be an address (46 characters of IPv6 plus a zone name) or a range.
constexpr size_t kMaxTextBytes = 100;

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

// The text as quoted in errors: printable ASCII kept, other bytes escaped, long texts cut.
std::string Quote(std::string_view text) {
  std::string out = "'";
  for (size_t i = 0; i < text.size() && i < 64; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("\\x{:02x}", c);
    }
  }
  if (text.size() > 64) out += "...";
  return out + "'";
}

bool IsZoneChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

// Parses a non-negative decimal with at most `max_digits` digits and no leading zero.
bool ParseDecimal(std::string_view s, size_t max_digits, int& out) {
  if (s.empty() || s.size() > max_digits || (s.size() > 1 && s[0] == '0')) return false;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  return true;
}

std::string FormatV6(const IpAddress& ip) {
  char buf[INET6_ADDRSTRLEN];
  if (inet_ntop(AF_INET6, ip.bytes.data(), buf, sizeof buf) == nullptr) return "?";
  return buf;
}

// `text` trimmed, without whitespace, NUL or zone: the inet_pton step of ParseIp.
Result<IpAddress> ParseBareIp(std::string_view text, std::string_view original) {
  IpAddress ip;
  const std::string s(text);  // inet_pton needs a NUL-terminated string
  if (s.find(':') != std::string::npos) {
    if (inet_pton(AF_INET6, s.c_str(), ip.bytes.data()) != 1) {
      return InvalidArgumentError(fmt::format("{} is not an IPv6 address", Quote(original)));
    }
    return ip;
  }
  if (inet_pton(AF_INET, s.c_str(), ip.bytes.data() + 12) != 1) {
    return InvalidArgumentError(
        fmt::format("{} is not an IP address (expected a.b.c.d or IPv6 text such as 2001:db8::1)", Quote(original)));
  }
  ip.bytes[10] = 0xff;
  ip.bytes[11] = 0xff;
  return ip;
}

// An X-Forwarded-For entry: an address, "a.b.c.d:port", "[v6]" or "[v6]:port".
Result<IpAddress> ParseForwardedEntry(std::string_view entry) {
  auto bad = [&](std::string_view why) {
    return InvalidArgumentError(fmt::format("X-Forwarded-For entry {} is malformed: {}", Quote(entry), why));
  };
  if (entry.empty()) return bad("empty");
  if (std::any_of(entry.begin(), entry.end(), IsSpace)) return bad("space inside");
  std::string_view host = entry;
  std::string_view port;
  bool has_port = false;
  if (entry.front() == '[') {
    const size_t close = entry.find(']');
    if (close == std::string_view::npos) return bad("'[' without ']'");
    host = entry.substr(1, close - 1);
    std::string_view rest = entry.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return bad("expected ':port' after ']'");
      port = rest.substr(1);
      has_port = true;
    }
    if (host.find(':') == std::string_view::npos) return bad("brackets are for IPv6 addresses only");
  } else if (std::count(entry.begin(), entry.end(), ':') == 1) {  // a.b.c.d:port
    const size_t colon = entry.find(':');
    host = entry.substr(0, colon);
    port = entry.substr(colon + 1);
    has_port = true;
  }
  int port_number = 0;
  if (has_port && (!ParseDecimal(port, 5, port_number) || port_number > 65535)) return bad("bad port");
  Result<IpAddress> ip = ParseIp(host);
  if (!ip.ok()) return bad(ip.status().message());
  return ip;
}

}  // namespace

// ---- IpAddress ----------------------------------------------------------------------------------

bool IpAddress::is_v4() const {
  for (int i = 0; i < 10; ++i) {
    if (bytes[i] != 0) return false;
  }
  return bytes[10] == 0xff && bytes[11] == 0xff;
}

std::string IpAddress::ToString() const {
  if (!is_v4()) return FormatV6(*this);
  char buf[INET_ADDRSTRLEN];
  if (inet_ntop(AF_INET, bytes.data() + 12, buf, sizeof buf) == nullptr) return "?";
  return buf;
}

Result<IpAddress> ParseIp(std::string_view text) {
  const std::string_view original = text;
  text = Trim(text);
  if (text.empty()) return InvalidArgumentError("empty IP address");
  if (text.size() > kMaxTextBytes)
    return InvalidArgumentError(fmt::format("{} is too long for an IP address", Quote(text)));
  for (char c : text) {
    if (IsSpace(c) || c == '\0') {
      return InvalidArgumentError(
          fmt::format("{} is not an IP address (it contains a space or control byte)", Quote(original)));
    }
  }
  const size_t percent = text.find('%');
  if (percent != std::string_view::npos) {
    const std::string_view zone = text.substr(percent + 1);
    text = text.substr(0, percent);
    if (text.find(':') == std::string_view::npos) {
      return InvalidArgumentError(fmt::format("{}: a zone (%name) is only valid on an IPv6 address", Quote(original)));
    }
    if (zone.empty() || !std::all_of(zone.begin(), zone.end(), IsZoneChar)) {
      return InvalidArgumentError(fmt::format("{}: bad zone after '%'", Quote(original)));
    }
  }
  return ParseBareIp(text, original);
}

// ---- CidrRange ----------------------------------------------------------------------------------

bool CidrRange::Contains(const IpAddress& ip) const {
  const int bits = std::clamp(prefix_bits, 0, 128);
  const int whole = bits / 8;
  if (std::memcmp(ip.bytes.data(), base.bytes.data(), whole) != 0) return false;
  const int rest = bits % 8;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (ip.bytes[whole] & mask) == (base.bytes[whole] & mask);
}

std::string CidrRange::ToString() const {
  if (base.is_v4() && prefix_bits >= 96) return fmt::format("{}/{}", base.ToString(), prefix_bits - 96);
  return fmt::format("{}/{}", FormatV6(base), prefix_bits);
}

Result<CidrRange> ParseCidr(std::string_view text) {
  const std::string_view original = text;
  text = Trim(text);
  if (text.empty()) return InvalidArgumentError("empty address range");
  if (std::any_of(text.begin(), text.end(), IsSpace)) {
    return InvalidArgumentError(fmt::format("{} is not an address range (it contains a space)", Quote(original)));
  }
  if (text.find('%') != std::string_view::npos) {
    return InvalidArgumentError(fmt::format("{}: a zone (%name) is not allowed in an address range", Quote(original)));
  }
  const size_t slash = text.find('/');
  const std::string_view address = text.substr(0, slash);
  CidrRange range;
  ASSIGN_OR_RETURN(range.base, ParseIp(address));
  const bool v4_text = address.find(':') == std::string_view::npos;
  if (slash == std::string_view::npos) {
    range.prefix_bits = 128;
    return range;
  }
  const std::string_view prefix_text = text.substr(slash + 1);
  int prefix = 0;
  const int max_prefix = v4_text ? 32 : 128;
  if (!ParseDecimal(prefix_text, 3, prefix) || prefix > max_prefix) {
    return InvalidArgumentError(
        fmt::format("{}: the prefix length after '/' must be a number from 0 to {}", Quote(original), max_prefix));
  }
  range.prefix_bits = v4_text ? 96 + prefix : prefix;
  CidrRange cleared = range;
  for (int i = 0; i < 16; ++i) {
    const int keep = std::clamp(range.prefix_bits - 8 * i, 0, 8);
    cleared.base.bytes[i] &= static_cast<uint8_t>(0xff00 >> keep);
  }
  if (cleared.base != range.base) {
    return InvalidArgumentError(fmt::format("{} has bits set after the first {}: did you mean {}?", Quote(original),
                                            prefix, cleared.ToString()));
  }
  return range;
}

// ---- IpRangeList --------------------------------------------------------------------------------

Result<IpRangeList> IpRangeList::Parse(const std::vector<std::string>& entries) {
  IpRangeList list;
  list.ranges_.reserve(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    Result<CidrRange> range = ParseCidr(entries[i]);
    if (!range.ok()) return range.status().WithContext(fmt::format("address range {} of {}", i + 1, entries.size()));
    list.ranges_.push_back(*range);
  }
  return list;
}

bool IpRangeList::Contains(const IpAddress& ip) const {
  return std::any_of(ranges_.begin(), ranges_.end(), [&](const CidrRange& r) { return r.Contains(ip); });
}

// ---- client address -----------------------------------------------------------------------------

Result<IpAddress> ResolveClientIp(std::string_view peer, const std::vector<std::string>& x_forwarded_for,
                                  const IpRangeList& trusted_proxies) {
  Result<IpAddress> peer_ip = ParseIp(peer);
  if (!peer_ip.ok()) return peer_ip.status().WithContext("peer address");
  if (!trusted_proxies.Contains(*peer_ip)) return peer_ip;  // the header is the client's own word

  // Entries in order, all header values joined; read from the right (the nearest hop first).
  std::vector<std::string_view> entries;
  for (const std::string& value : x_forwarded_for) {
    if (Trim(value).empty()) continue;  // a blank header value lists no hop
    std::string_view rest = value;
    while (true) {
      const size_t comma = rest.find(',');
      entries.push_back(Trim(rest.substr(0, comma)));
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  IpAddress client = *peer_ip;
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    ASSIGN_OR_RETURN(client, ParseForwardedEntry(*it));
    if (!trusted_proxies.Contains(client)) return client;
  }
  return client;  // every hop trusted: the leftmost entry (the peer when there are none)
}

}  // namespace enclave::governance::netrules
