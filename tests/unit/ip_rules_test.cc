// IP addresses and CIDR ranges (IPv4, IPv6, IPv4-mapped, edges of the prefix lengths, host bits,
// malformed text), and the client address behind trusted proxies (X-Forwarded-For read from the
// right; a spoofed header never counts when the peer is not a trusted proxy).
#include "governance/netrules/ip_rules.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace enclave::governance::netrules {
namespace {

IpAddress Ip(std::string_view text) {
  auto r = ParseIp(text);
  EXPECT_TRUE(r.ok()) << text << ": " << r.status().message();
  return r.ok() ? *r : IpAddress{};
}

CidrRange Cidr(std::string_view text) {
  auto r = ParseCidr(text);
  EXPECT_TRUE(r.ok()) << text << ": " << r.status().message();
  return r.ok() ? *r : CidrRange{};
}

IpRangeList List(const std::vector<std::string>& entries) {
  auto r = IpRangeList::Parse(entries);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? *r : IpRangeList{};
}

TEST(IpRulesTest, ParsesIpv4AsMappedBytes) {
  const IpAddress ip = Ip("10.0.0.1");
  const std::array<uint8_t, 16> want{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1};
  EXPECT_EQ(ip.bytes, want);
  EXPECT_TRUE(ip.is_v4());
  EXPECT_EQ(ip.ToString(), "10.0.0.1");
  EXPECT_EQ(Ip(" 192.168.1.254\t").ToString(), "192.168.1.254");  // outer whitespace trimmed
  EXPECT_EQ(Ip("0.0.0.0").ToString(), "0.0.0.0");
  EXPECT_EQ(Ip("255.255.255.255").ToString(), "255.255.255.255");
}

TEST(IpRulesTest, ParsesIpv6AndWritesRfc5952Text) {
  EXPECT_EQ(Ip("2001:DB8:0:0:0:0:0:1").ToString(), "2001:db8::1");
  EXPECT_EQ(Ip("2001:db8:0:0:1:0:0:1").ToString(), "2001:db8::1:0:0:1");     // the first longest run
  EXPECT_EQ(Ip("2001:db8:0:1:1:1:1:1").ToString(), "2001:db8:0:1:1:1:1:1");  // no "::" for one group
  EXPECT_EQ(Ip("::1").ToString(), "::1");
  EXPECT_EQ(Ip("::").ToString(), "::");
  EXPECT_FALSE(Ip("::1").is_v4());
  EXPECT_FALSE(Ip("::").is_v4());
  EXPECT_FALSE(Ip("::a00:1").is_v4());           // IPv4-compatible (deprecated) is not IPv4-mapped
  EXPECT_EQ(Ip("fe80::1%eth0"), Ip("fe80::1"));  // zone dropped
  EXPECT_EQ(Ip("fe80::1%25"), Ip("fe80::1"));
}

TEST(IpRulesTest, Ipv4MappedIpv6IsTheSameAddressAsIpv4) {
  EXPECT_EQ(Ip("::ffff:10.0.0.1"), Ip("10.0.0.1"));
  EXPECT_EQ(Ip("::FFFF:a00:1"), Ip("10.0.0.1"));
  EXPECT_EQ(Ip("0:0:0:0:0:ffff:10.0.0.1"), Ip("10.0.0.1"));
  EXPECT_TRUE(Ip("::ffff:10.0.0.1").is_v4());
  EXPECT_EQ(Ip("::ffff:10.0.0.1").ToString(), "10.0.0.1");
  EXPECT_NE(Ip("::10.0.0.1"), Ip("10.0.0.1"));
}

TEST(IpRulesTest, MalformedAddressesAreErrors) {
  // clang-format off
  const std::vector<std::string> bad = {
      "", " ", "\t\n", "1.2.3", "1.2.3.4.5", "256.0.0.1", "1.2.3.-1", "01.2.3.4", "0x7f.0.0.1", "+1.2.3.4",
      "1.2. 3.4", "1.2.3.4 5", "1.2.3.4/8", "1.2.3.4:80", "[::1]", "::1::", ":::", "12345::", "gggg::1",
      "1:2:3:4:5:6:7:8:9", "fe80::1%", "fe80::1%eth 0", "fe80::1%eth/0", "10.0.0.1%eth0", "localhost",
      std::string("1.2.3.4\0", 8), std::string("1.2.3.4\0junk", 12), std::string(200, '1'), "::ffff:1.2.3",
      "1.2.3.4.", ".1.2.3.4", "2001:db8::1\n::1"};
  // clang-format on
  for (const std::string& text : bad) {
    auto r = ParseIp(text);
    EXPECT_FALSE(r.ok()) << "accepted '" << text << "' as " << r->ToString();
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    }
  }
  EXPECT_NE(ParseIp("localhost").status().message().find("'localhost'"), std::string::npos);
  EXPECT_NE(ParseIp("1.2\n.3.4").status().message().find("'1.2\\x0a.3.4'"), std::string::npos)
      << ParseIp("1.2\n.3.4").status().message();
}

TEST(IpRulesTest, Ipv4RangesMapToTheMappedPrefix) {
  const CidrRange r = Cidr("10.0.0.0/8");
  EXPECT_EQ(r.prefix_bits, 96 + 8);
  EXPECT_EQ(r.base, Ip("10.0.0.0"));
  EXPECT_EQ(r.ToString(), "10.0.0.0/8");
  EXPECT_TRUE(r.Contains(Ip("10.0.0.0")));
  EXPECT_TRUE(r.Contains(Ip("10.255.255.255")));
  EXPECT_TRUE(r.Contains(Ip("::ffff:10.1.2.3")));
  EXPECT_FALSE(r.Contains(Ip("11.0.0.0")));
  EXPECT_FALSE(r.Contains(Ip("9.255.255.255")));
  EXPECT_FALSE(r.Contains(Ip("::10.0.0.1")));
  EXPECT_FALSE(r.Contains(Ip("a00::1")));

  const CidrRange odd = Cidr("10.128.0.0/9");
  EXPECT_TRUE(odd.Contains(Ip("10.200.0.1")));
  EXPECT_FALSE(odd.Contains(Ip("10.127.255.255")));
}

TEST(IpRulesTest, MappedIpv6RangeBehavesAsTheIpv4Range) {
  const CidrRange mapped = Cidr("::ffff:10.0.0.0/104");
  const CidrRange v4 = Cidr("10.0.0.0/8");
  EXPECT_EQ(mapped.base, v4.base);
  EXPECT_EQ(mapped.prefix_bits, v4.prefix_bits);
  EXPECT_EQ(mapped.ToString(), "10.0.0.0/8");
  EXPECT_TRUE(mapped.Contains(Ip("10.9.8.7")));
  // /96 over the mapped prefix is every IPv4 address, the same as 0.0.0.0/0.
  const CidrRange all_v4 = Cidr("::ffff:0.0.0.0/96");
  EXPECT_EQ(all_v4.base, Cidr("0.0.0.0/0").base);
  EXPECT_EQ(all_v4.prefix_bits, 96);
  EXPECT_EQ(all_v4.ToString(), "0.0.0.0/0");
  EXPECT_TRUE(all_v4.Contains(Ip("203.0.113.1")));
  EXPECT_FALSE(all_v4.Contains(Ip("2001:db8::1")));
  // A range shorter than /96 is written as IPv6 (and ::ffff:0:0/95 has a host bit set).
  EXPECT_EQ(Cidr("::fffe:0:0/95").ToString(), "::fffe:0:0/95");
  EXPECT_TRUE(Cidr("::fffe:0:0/95").Contains(Ip("10.0.0.1")));
  EXPECT_FALSE(ParseCidr("::ffff:0:0/95").ok());
}

TEST(IpRulesTest, PrefixEdges) {
  const CidrRange v4_all = Cidr("0.0.0.0/0");
  EXPECT_TRUE(v4_all.Contains(Ip("0.0.0.0")));
  EXPECT_TRUE(v4_all.Contains(Ip("255.255.255.255")));
  EXPECT_FALSE(v4_all.Contains(Ip("::1")));
  const CidrRange everything = Cidr("::/0");
  EXPECT_EQ(everything.prefix_bits, 0);
  EXPECT_TRUE(everything.Contains(Ip("::1")));
  EXPECT_TRUE(everything.Contains(Ip("10.0.0.1")));
  EXPECT_TRUE(everything.Contains(Ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")));
  EXPECT_EQ(everything.ToString(), "::/0");

  const CidrRange host32 = Cidr("192.168.1.1/32");
  EXPECT_EQ(host32.prefix_bits, 128);
  EXPECT_TRUE(host32.Contains(Ip("192.168.1.1")));
  EXPECT_FALSE(host32.Contains(Ip("192.168.1.0")));
  EXPECT_FALSE(host32.Contains(Ip("192.168.1.2")));
  EXPECT_EQ(host32.ToString(), "192.168.1.1/32");
  const CidrRange single4 = Cidr("192.168.1.1");  // a single address is a /32
  EXPECT_EQ(single4.base, host32.base);
  EXPECT_EQ(single4.prefix_bits, 128);

  const CidrRange host128 = Cidr("2001:db8::1/128");
  EXPECT_TRUE(host128.Contains(Ip("2001:db8::1")));
  EXPECT_FALSE(host128.Contains(Ip("2001:db8::")));
  EXPECT_FALSE(host128.Contains(Ip("2001:db8::3")));
  EXPECT_EQ(host128.ToString(), "2001:db8::1/128");
  EXPECT_EQ(Cidr("2001:db8::1").prefix_bits, 128);

  const CidrRange v6 = Cidr("2001:db8::/33");
  EXPECT_TRUE(v6.Contains(Ip("2001:db8:7fff:ffff::1")));
  EXPECT_FALSE(v6.Contains(Ip("2001:db8:8000::")));
  EXPECT_EQ(v6.ToString(), "2001:db8::/33");
}

TEST(IpRulesTest, HostBitsBelowThePrefixAreAnError) {
  auto r = ParseCidr("10.0.0.1/8");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("did you mean 10.0.0.0/8?"), std::string::npos) << r.status().message();
  auto v6 = ParseCidr("2001:db8::1/64");
  ASSERT_FALSE(v6.ok());
  EXPECT_NE(v6.status().message().find("did you mean 2001:db8::/64?"), std::string::npos) << v6.status().message();
  EXPECT_FALSE(ParseCidr("::ffff:10.0.0.1/104").ok());
  EXPECT_FALSE(ParseCidr("10.128.0.0/8").ok());
  EXPECT_FALSE(ParseCidr("0.0.0.1/0").ok());
  EXPECT_FALSE(ParseCidr("::1/127").ok());
  EXPECT_TRUE(ParseCidr("::1/128").ok());
}

TEST(IpRulesTest, MalformedRangesAreErrors) {
  // clang-format off
  const std::vector<std::string> bad = {
      "", " ", "/8", "10.0.0.0/", "10.0.0.0/33", "::/129", "10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/08",
      "10.0.0.0/8a", "10.0.0.0/8/8", "10.0.0.0 /8", "10.0.0.0/ 8", "fe80::%eth0/64", "fe80::1%eth0",
      "10.0.0.0/1000", "::ffff:10.0.0.0/8", "10.0.0/8", std::string("10.0.0.0/8\0", 11)};
  // clang-format on
  for (const std::string& text : bad) {
    auto r = ParseCidr(text);
    EXPECT_FALSE(r.ok()) << "accepted '" << text << "' as " << r->ToString();
  }
  EXPECT_EQ(Cidr(" 10.0.0.0/8 ").ToString(), "10.0.0.0/8");  // outer whitespace trimmed
}

TEST(IpRulesTest, RangesRoundTripThroughText) {
  for (const char* text : {"10.0.0.0/8", "10.1.2.3/32", "0.0.0.0/0", "::/0", "2001:db8::/32", "fe80::/10", "::1/128",
                           "::fffe:0:0/95", "172.16.0.0/12"}) {
    const CidrRange r = Cidr(text);
    EXPECT_EQ(r.ToString(), text);
    const CidrRange again = Cidr(r.ToString());
    EXPECT_EQ(again.base, r.base);
    EXPECT_EQ(again.prefix_bits, r.prefix_bits);
  }
}

TEST(IpRulesTest, RangeListMatchesAnyEntryAndNamesTheBadOne) {
  const IpRangeList list = List({"10.0.0.0/8", "2001:db8::/32", "192.168.1.7"});
  EXPECT_FALSE(list.empty());
  EXPECT_EQ(list.ranges().size(), 3u);
  EXPECT_TRUE(list.Contains(Ip("10.1.1.1")));
  EXPECT_TRUE(list.Contains(Ip("::ffff:10.1.1.1")));
  EXPECT_TRUE(list.Contains(Ip("2001:db8:1::5")));
  EXPECT_TRUE(list.Contains(Ip("192.168.1.7")));
  EXPECT_FALSE(list.Contains(Ip("192.168.1.8")));
  EXPECT_FALSE(list.Contains(Ip("2001:db9::1")));
  EXPECT_TRUE(List({}).empty());
  EXPECT_FALSE(List({}).Contains(Ip("10.0.0.1")));

  auto bad = IpRangeList::Parse({"10.0.0.0/8", "10.0.0.1/8", "::/0"});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("range 2 of 3"), std::string::npos) << bad.status().message();
  EXPECT_NE(bad.status().message().find("'10.0.0.1/8'"), std::string::npos) << bad.status().message();
}

// ---- ResolveClientIp ------------------------------------------------------------------------------

std::string Resolve(std::string_view peer, const std::vector<std::string>& xff, const IpRangeList& trusted) {
  auto r = ResolveClientIp(peer, xff, trusted);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? r->ToString() : "error";
}

TEST(IpRulesTest, WithoutTrustedProxiesTheHeaderIsIgnored) {
  const IpRangeList none;
  EXPECT_EQ(Resolve("203.0.113.7", {"10.0.0.5"}, none), "203.0.113.7");         // a spoof to look internal
  EXPECT_EQ(Resolve("203.0.113.7", {"garbage", "[::1"}, none), "203.0.113.7");  // not even parsed
  EXPECT_EQ(Resolve("::ffff:203.0.113.7", {}, none), "203.0.113.7");
  EXPECT_EQ(Resolve("fe80::1%eth0", {"10.0.0.5"}, none), "fe80::1");
}

TEST(IpRulesTest, APeerThatIsNotATrustedProxyCannotSpoofTheHeader) {
  const IpRangeList trusted = List({"10.0.0.0/8"});
  EXPECT_EQ(Resolve("203.0.113.7", {"10.0.0.5"}, trusted), "203.0.113.7");
  EXPECT_EQ(Resolve("203.0.113.7", {"198.51.100.1, 10.0.0.5"}, trusted), "203.0.113.7");
  EXPECT_EQ(Resolve("203.0.113.7", {"not an address"}, trusted), "203.0.113.7");
}

TEST(IpRulesTest, TrustedChainIsReadFromTheRight) {
  const IpRangeList trusted = List({"10.0.0.0/8", "fd00::/8"});
  EXPECT_EQ(Resolve("10.0.0.1", {"198.51.100.9, 10.0.0.2"}, trusted), "198.51.100.9");
  // What the client wrote itself (left of the first untrusted hop) does not count.
  EXPECT_EQ(Resolve("10.0.0.1", {"6.6.6.6, 10.9.9.9, 198.51.100.9, 10.0.0.2"}, trusted), "198.51.100.9");
  EXPECT_EQ(Resolve("fd00::1", {"2001:db8::9,fd00::2"}, trusted), "2001:db8::9");
  EXPECT_EQ(Resolve("::ffff:10.0.0.1", {"198.51.100.9"}, trusted), "198.51.100.9");  // mapped peer
  EXPECT_EQ(Resolve("10.0.0.1", {}, trusted), "10.0.0.1");                           // no header: the peer
  EXPECT_EQ(Resolve("10.0.0.1", {" "}, trusted), "10.0.0.1");                        // a blank value lists no hop
}

TEST(IpRulesTest, AllTrustedChainGivesTheLeftmostEntry) {
  const IpRangeList trusted = List({"10.0.0.0/8"});
  EXPECT_EQ(Resolve("10.0.0.1", {"10.0.0.3, 10.0.0.2"}, trusted), "10.0.0.3");
  EXPECT_EQ(Resolve("10.0.0.1", {"10.0.0.4", "10.0.0.3:99, 10.0.0.2"}, trusted), "10.0.0.4");
}

TEST(IpRulesTest, MultipleHeaderValuesAreJoinedInOrder) {
  const IpRangeList trusted = List({"10.0.0.0/8"});
  EXPECT_EQ(Resolve("10.0.0.1", {"198.51.100.9", "10.0.0.2"}, trusted), "198.51.100.9");
  EXPECT_EQ(Resolve("10.0.0.1", {"7.7.7.7, 198.51.100.9", "10.0.0.2, 10.0.0.3"}, trusted), "198.51.100.9");
  EXPECT_EQ(Resolve("10.0.0.1", {"10.0.0.2", "198.51.100.9"}, trusted), "198.51.100.9");
  EXPECT_EQ(Resolve("10.0.0.1", {"198.51.100.9", ""}, trusted), "198.51.100.9");
}

TEST(IpRulesTest, EntriesMayCarryPorts) {
  const IpRangeList trusted = List({"10.0.0.0/8"});
  EXPECT_EQ(Resolve("10.0.0.1", {"198.51.100.9:5678"}, trusted), "198.51.100.9");
  EXPECT_EQ(Resolve("10.0.0.1", {"[2001:db8::9]:443"}, trusted), "2001:db8::9");
  EXPECT_EQ(Resolve("10.0.0.1", {"[2001:db8::9]"}, trusted), "2001:db8::9");
  EXPECT_EQ(Resolve("10.0.0.1", {"2001:db8::9"}, trusted), "2001:db8::9");
  EXPECT_EQ(Resolve("10.0.0.1", {"198.51.100.9:0, 10.0.0.2:65535"}, trusted), "198.51.100.9");
}

TEST(IpRulesTest, MalformedEntryWhereUsedIsAnError) {
  const IpRangeList trusted = List({"10.0.0.0/8"});
  for (const char* header : {"garbage, 10.0.0.2", "unknown", "198.51.100.9:65536", "198.51.100.9:", "198.51.100.9:08",
                             "[1.2.3.4]:80", "[::1", "[::1]80", "[::1]:x", "198.51.100.9, ", "198.51.100.9,,10.0.0.2",
                             "1.2.3.4 :80", "[ ::1]", "_gateway", "198.51.100.9:80:80"}) {
    auto r = ResolveClientIp("10.0.0.1", {header}, trusted);
    EXPECT_FALSE(r.ok()) << "'" << header << "' gave " << r->ToString();
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
      EXPECT_NE(r.status().message().find("X-Forwarded-For"), std::string::npos) << r.status().message();
    }
  }
  // Left of the client, entries are not used, so not judged.
  EXPECT_EQ(Resolve("10.0.0.1", {"garbage, 198.51.100.9, 10.0.0.2"}, trusted), "198.51.100.9");
  // A malformed peer is an error whatever the header says.
  EXPECT_FALSE(ResolveClientIp("not-an-ip", {}, trusted).ok());
  EXPECT_FALSE(ResolveClientIp("", {"198.51.100.9"}, IpRangeList{}).ok());
}

}  // namespace
}  // namespace enclave::governance::netrules
