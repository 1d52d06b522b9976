// RFC 1071 checksum against worked values and a bytewise reference.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "smpp/net/ip.hpp"

namespace net = smpp::net;

namespace {

// Reference: big-endian 16-bit words summed one at a time, as RFC 1071 §1 describes.
uint16_t reference_checksum(const std::vector<std::byte>& d) {
  uint32_t sum = 0;
  for (size_t i = 0; i < d.size(); i += 2) {
    uint32_t w = static_cast<uint32_t>(static_cast<uint8_t>(d[i])) << 8;
    if (i + 1 < d.size()) w |= static_cast<uint8_t>(d[i + 1]);
    sum += w;
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  }
  return static_cast<uint16_t>(~sum & 0xffff);
}

std::vector<std::byte> bytes(std::initializer_list<int> v) {
  std::vector<std::byte> out;
  for (int x : v) out.push_back(std::byte(x));
  return out;
}

}  // namespace

TEST(Checksum, Ipv4HeaderFromRfc1071Example) {
  // A real IPv4 header with its checksum field (0xb861) zeroed.
  auto h = bytes({0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                  0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7});
  EXPECT_EQ(net::checksum_finish(net::checksum_add(h)), 0xb861);
}

TEST(Checksum, MatchesBytewiseReferenceForEveryLengthAndSplit) {
  std::mt19937 rng(7);
  for (size_t len = 0; len < 200; ++len) {
    std::vector<std::byte> d(len);
    for (auto& b : d) b = std::byte(rng());
    const uint16_t want = reference_checksum(d);
    EXPECT_EQ(net::checksum_finish(net::checksum_add(d)), want) << len;
    // Chained over an even split point gives the same value.
    const size_t cut = (len / 2) & ~size_t{1};
    const std::span<const std::byte> all(d);
    EXPECT_EQ(net::checksum_finish(
                  net::checksum_add(all.subspan(cut), net::checksum_add(all.first(cut)))),
              want)
        << len;
  }
}

TEST(Checksum, PseudoHeaderEqualsSummingItsOctets) {
  const auto ph = bytes({10, 0, 0, 1, 10, 0, 0, 2, 0, 6, 0x00, 0x28});
  EXPECT_EQ(net::checksum_finish(net::pseudo_header_sum(0x0a000001, 0x0a000002, 6, 40)),
            reference_checksum(ph));
}
