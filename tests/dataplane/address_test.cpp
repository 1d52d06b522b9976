// Address literals and "host:port" texts (address.hpp): what each parser takes, what it
// refuses (an embedded NUL among them) and the reason parse_host_port gives.
#include "smpp/dataplane/address.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>
#include <string>
#include <string_view>

namespace smpp::dataplane {
namespace {

using namespace std::string_literals;

TEST(Address, Ipv4DottedQuadIsInHostByteOrder) {
  EXPECT_EQ(parse_ipv4("192.0.2.1"), 0xC0000201u);
  EXPECT_EQ(parse_ipv4("0.0.0.0"), 0u);
  EXPECT_EQ(parse_ipv4("255.255.255.255"), 0xFFFFFFFFu);
}

TEST(Address, Ipv4RefusesEverythingElse) {
  for (std::string_view bad :
       {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.4 ", "::1", "host.example", "1.2.3.4/24"}) {
    EXPECT_FALSE(parse_ipv4(bad)) << bad;
  }
  EXPECT_FALSE(parse_ipv4("1.2.3.4\0junk"s));
  EXPECT_FALSE(parse_ipv4(std::string(200, '1')));
}

TEST(Address, Ipv4TextIsTheDottedQuad) {
  EXPECT_EQ(ipv4_text(0xC0000201u), "192.0.2.1");
  EXPECT_EQ(ipv4_text(*parse_ipv4("10.20.30.40")), "10.20.30.40");
}

TEST(Address, IpLiteralOfEitherFamilyInNetworkOrder) {
  const auto v4 = parse_ip("192.0.2.1");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->family, AF_INET);
  EXPECT_EQ(v4->bytes[0], std::byte{192});
  EXPECT_EQ(v4->bytes[3], std::byte{1});
  EXPECT_EQ(v4->bytes[4], std::byte{0});
  const auto v6 = parse_ip("2001:db8::1");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->family, AF_INET6);
  EXPECT_EQ(v6->bytes[0], std::byte{0x20});
  EXPECT_EQ(v6->bytes[15], std::byte{1});
  EXPECT_TRUE(parse_ip("::ffff:192.0.2.1"));
  for (std::string_view bad : {"", "localhost", "[::1]", "1.2.3.4:5", "2001:db8::1/32"}) {
    EXPECT_FALSE(parse_ip(bad)) << bad;
  }
  EXPECT_FALSE(parse_ip("::1\0"s));
}

TEST(Address, SockaddrCarriesFamilyAddressAndPort) {
  sockaddr_storage sa{};
  socklen_t len = 0;
  ASSERT_TRUE(parse_sockaddr("127.0.0.1", 2775, sa, len));
  EXPECT_EQ(len, sizeof(sockaddr_in));
  const auto& v4 = reinterpret_cast<const sockaddr_in&>(sa);
  EXPECT_EQ(v4.sin_family, AF_INET);
  EXPECT_EQ(ntohs(v4.sin_port), 2775);
  EXPECT_EQ(ntohl(v4.sin_addr.s_addr), 0x7F000001u);
  ASSERT_TRUE(parse_sockaddr("::1", 80, sa, len));
  EXPECT_EQ(len, sizeof(sockaddr_in6));
  const auto& v6 = reinterpret_cast<const sockaddr_in6&>(sa);
  EXPECT_EQ(v6.sin6_family, AF_INET6);
  EXPECT_EQ(ntohs(v6.sin6_port), 80);
  EXPECT_TRUE(IN6_IS_ADDR_LOOPBACK(&v6.sin6_addr));
  EXPECT_FALSE(parse_sockaddr("smsc.example.net", 2775, sa, len));
}

TEST(Address, PrefixLengthIsPlainDecimalUpToItsMaximum) {
  EXPECT_EQ(parse_prefix_length("0", 32), 0u);
  EXPECT_EQ(parse_prefix_length("24", 32), 24u);
  EXPECT_EQ(parse_prefix_length("128", 128), 128u);
  for (std::string_view bad : {"", "33", "024", "+8", "-1", "8 ", "99999999999"}) {
    EXPECT_FALSE(parse_prefix_length(bad, 32)) << bad;
  }
}

TEST(Address, HostNamesFollowRfc1123) {
  for (std::string_view ok : {"smsc", "smsc.example.net", "smsc.example.net.", "a-b.c1"}) {
    EXPECT_TRUE(valid_host_name(ok)) << ok;
  }
  for (std::string_view bad : {"", ".", "-smsc", "smsc-", "a..b", "smsc_1", "smsc example"}) {
    EXPECT_FALSE(valid_host_name(bad)) << bad;
  }
  EXPECT_FALSE(valid_host_name(std::string(64, 'a')));
}

TEST(Address, HostPortAcceptsLiteralsAndNamesWhereAllowed) {
  host_port hp;
  EXPECT_EQ(parse_host_port("0.0.0.0:2775", false, hp), "");
  EXPECT_EQ(hp.host, "0.0.0.0");
  EXPECT_EQ(hp.port, 2775);
  EXPECT_EQ(parse_host_port("[::1]:8775", false, hp), "");
  EXPECT_EQ(hp.host, "::1");
  EXPECT_EQ(hp.port, 8775);
  EXPECT_EQ(parse_host_port("smsc.example.net:2775", true, hp), "");
  EXPECT_EQ(hp.host, "smsc.example.net");
}

TEST(Address, HostPortSaysWhyItRefuses) {
  struct refusal {
    std::string text;
    bool allow_names;
    std::string why;
  };
  const refusal cases[] = {
      {"1.2.3.4:2775\0x"s, true, "contains a NUL character"},
      {"[::1:2775", false, "missing ']' after the IPv6 address"},
      {"[::1]2775", false, "missing ':port'"},
      {"1.2.3.4", false, "missing ':port'"},
      {"::1:2775", false, "an IPv6 address must be written in brackets"},
      {":2775", false, "missing host"},
      {"[1.2.3.4]:2775", false, "invalid IPv6 address '1.2.3.4'"},
      {"smsc:2775", false, "'smsc' is not an IP address"},
      {"1.2.3.256:2775", true, "invalid IPv4 address '1.2.3.256'"},
      {"smsc_1:2775", true, "invalid host name 'smsc_1'"},
      {"1.2.3.4:0", false, "invalid port '0'"},
      {"1.2.3.4:65536", false, "invalid port '65536'"},
      {"1.2.3.4:02775", false, "invalid port '02775'"},
  };
  for (const auto& c : cases) {
    host_port hp{"unchanged", 7};
    EXPECT_EQ(parse_host_port(c.text, c.allow_names, hp), c.why) << c.text;
    EXPECT_EQ(hp.host, "unchanged") << c.text;
  }
}

}  // namespace
}  // namespace smpp::dataplane
