#include "smpp/dataplane/dpdk/rss.hpp"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace dp = smpp::dataplane::dpdk;
using smpp::net::ipv4_addr;

namespace {

constexpr ipv4_addr ip(unsigned a, unsigned b, unsigned c, unsigned d) {
  return (a << 24) | (b << 16) | (c << 8) | d;
}

// The key of Microsoft's "Verifying the RSS Hash Calculation" suite.
const std::vector<uint8_t> ms_key = {0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67,
                                     0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb,
                                     0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30,
                                     0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa};

// A bit-by-bit Toeplitz hash written from the definition, to check rss_hash() against on
// arbitrary tuples: for every set bit i of the input, XOR in the 32 key bits starting at bit i.
uint32_t toeplitz_reference(const std::vector<uint8_t>& key, const std::vector<uint8_t>& input) {
  uint32_t result = 0;
  for (size_t i = 0; i < input.size() * 8; ++i) {
    if ((input[i / 8] >> (7 - i % 8)) & 1u) {
      uint32_t window = 0;
      for (size_t b = 0; b < 32; ++b) {
        const size_t k = i + b;
        window = (window << 1) | ((key[k / 8] >> (7 - k % 8)) & 1u);
      }
      result ^= window;
    }
  }
  return result;
}

std::vector<uint8_t> tuple_octets(ipv4_addr s, ipv4_addr d, uint16_t sp, uint16_t dp_) {
  return {uint8_t(s >> 24), uint8_t(s >> 16), uint8_t(s >> 8),   uint8_t(s),
          uint8_t(d >> 24), uint8_t(d >> 16), uint8_t(d >> 8),   uint8_t(d),
          uint8_t(sp >> 8), uint8_t(sp),      uint8_t(dp_ >> 8), uint8_t(dp_)};
}

// An Ethernet + IPv4 + TCP frame (headers only, checksums not filled: steering ignores them).
std::vector<std::byte> tcp_frame(ipv4_addr s, ipv4_addr d, uint16_t sp, uint16_t dp_,
                                 bool vlan = false) {
  std::vector<uint8_t> f(12, 0x02);
  if (vlan) f.insert(f.end(), {0x81, 0x00, 0x00, 0x05});
  f.insert(f.end(), {0x08, 0x00});
  const std::vector<uint8_t> ipv4 = {0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0};
  f.insert(f.end(), ipv4.begin(), ipv4.end());
  const auto t = tuple_octets(s, d, sp, dp_);
  f.insert(f.end(), t.begin(), t.end());
  f.resize(f.size() + 16, 0);  // rest of the TCP header
  std::vector<std::byte> out(f.size());
  for (size_t i = 0; i < f.size(); ++i) out[i] = std::byte{f[i]};
  return out;
}

struct ms_vector {
  ipv4_addr dst;
  uint16_t dst_port;
  ipv4_addr src;
  uint16_t src_port;
  uint32_t ipv4_tcp_hash;
};

// Microsoft RSS verification suite, IPv4 with TCP ports.
const ms_vector ms_vectors[] = {
    {ip(161, 142, 100, 80), 1766, ip(66, 9, 149, 187), 2794, 0x51ccc178},
    {ip(65, 69, 140, 83), 4739, ip(199, 92, 111, 2), 14230, 0xc626b0ea},
    {ip(12, 22, 207, 184), 38024, ip(24, 19, 198, 95), 12898, 0x5c2b394a},
    {ip(209, 142, 163, 6), 2217, ip(38, 27, 205, 30), 48228, 0xafc7327f},
    {ip(202, 188, 127, 2), 1303, ip(153, 39, 163, 191), 44251, 0x10e828a2},
};

}  // namespace

TEST(RssHash, MatchesMicrosoftVerificationSuiteIpv4Tcp) {
  const dp::rss_steering s(ms_key, 4);
  for (const auto& v : ms_vectors) {
    EXPECT_EQ(s.rss_hash(v.src, v.dst, v.src_port, v.dst_port), v.ipv4_tcp_hash)
        << std::hex << v.src << " -> " << v.dst;
  }
}

TEST(RssHash, MatchesToeplitzDefinitionOnRandomTuples) {
  const auto sym = dp::symmetric_rss_key();
  const std::vector<uint8_t> sym_key(sym.begin(), sym.end());
  std::mt19937_64 rng(11);
  for (const auto* key : {&ms_key, &sym_key}) {
    const dp::rss_steering s(*key, 4);
    for (int i = 0; i < 2000; ++i) {
      const auto src = static_cast<ipv4_addr>(rng());
      const auto dst = static_cast<ipv4_addr>(rng());
      const auto sp = static_cast<uint16_t>(rng());
      const auto dp_ = static_cast<uint16_t>(rng());
      ASSERT_EQ(s.rss_hash(src, dst, sp, dp_),
                toeplitz_reference(*key, tuple_octets(src, dst, sp, dp_)));
    }
  }
}

TEST(RssHash, SymmetricKeyHashesBothDirectionsAlike) {
  const auto key = dp::symmetric_rss_key();
  const dp::rss_steering s(key, 8);
  std::mt19937_64 rng(5);
  for (int i = 0; i < 5000; ++i) {
    const auto a = static_cast<ipv4_addr>(rng());
    const auto b = static_cast<ipv4_addr>(rng());
    const auto pa = static_cast<uint16_t>(rng());
    const auto pb = static_cast<uint16_t>(rng());
    ASSERT_EQ(s.rss_hash(a, b, pa, pb), s.rss_hash(b, a, pb, pa));
  }
  // The Microsoft key is not symmetric: the property above is the key's, not the code's.
  const dp::rss_steering m(ms_key, 8);
  const auto& v = ms_vectors[0];
  EXPECT_NE(m.rss_hash(v.src, v.dst, v.src_port, v.dst_port),
            m.rss_hash(v.dst, v.src, v.dst_port, v.src_port));
}

TEST(RssSteering, QueueOfIndexesTheRedirectionTableWithLowBits) {
  const dp::rss_steering rr(ms_key, 3, 128);  // round-robin: entry i -> i % 3
  EXPECT_EQ(rr.reta().size(), 128u);
  EXPECT_EQ(rr.queue_of(0), 0);
  EXPECT_EQ(rr.queue_of(4), 1);
  EXPECT_EQ(rr.queue_of(128 + 5), 2);  // only the low 7 bits count
  const dp::rss_steering custom(ms_key, std::vector<uint16_t>{3, 1, 2, 0});
  EXPECT_EQ(custom.queue_of(0x51ccc178), 3);  // low 2 bits 00: entry 0
  EXPECT_EQ(custom.queue_of(0xc626b0ea), 2);  // low 2 bits 10: entry 2
}

TEST(RssSteering, RejectsBadTablesAndShortKeys) {
  EXPECT_THROW(dp::rss_steering(ms_key, std::vector<uint16_t>{0, 1, 2}), std::invalid_argument);
  EXPECT_THROW(dp::rss_steering(ms_key, std::vector<uint16_t>{}), std::invalid_argument);
  EXPECT_THROW(dp::rss_steering(std::vector<uint8_t>(15, 1), 2), std::invalid_argument);
  EXPECT_THROW(dp::rss_steering(ms_key, 0), std::invalid_argument);
}

TEST(RssSteering, SourcePortChoiceLandsRepliesOnTheWantedQueue) {
  const auto key = dp::symmetric_rss_key();
  const dp::rss_steering s(key, 4, 128);
  const ipv4_addr local = ip(192, 0, 2, 10);
  const ipv4_addr remote = ip(198, 51, 100, 7);
  const uint16_t remote_port = 2775;  // SMPP
  for (uint16_t queue = 0; queue < 4; ++queue) {
    int found = 0;
    for (uint32_t port = 32768; port < 32768 + 4096 && found < 50; ++port) {
      const auto candidate = static_cast<uint16_t>(port);
      if (!s.source_port_lands_on(queue, local, remote, remote_port, candidate)) continue;
      ++found;
      // The reply the peer sends: src = remote, dst = local, as a frame on the wire.
      const auto reply = tcp_frame(remote, local, remote_port, candidate);
      ASSERT_EQ(s.owner_queue_of_frame(reply), queue);
      // And our own outbound segment lands on the same queue under the symmetric key.
      ASSERT_EQ(s.owner_queue_of_frame(tcp_frame(local, remote, candidate, remote_port)), queue);
    }
    EXPECT_EQ(found, 50) << "queue " << queue;
  }
  // About a quarter of the ports land on each of 4 queues.
  int on_zero = 0;
  for (uint32_t port = 1024; port < 1024 + 40000; ++port) {
    on_zero += s.source_port_lands_on(0, local, remote, remote_port, uint16_t(port)) ? 1 : 0;
  }
  EXPECT_NEAR(on_zero / 40000.0, 0.25, 0.03);
}

TEST(RssSteering, OwnerOfFrameReadsIpv4TcpWithOrWithoutVlanTag) {
  const dp::rss_steering s(ms_key, 4, 128);
  const auto& v = ms_vectors[1];
  const uint16_t want = s.queue_of(v.ipv4_tcp_hash);
  EXPECT_EQ(s.owner_queue_of_frame(tcp_frame(v.src, v.dst, v.src_port, v.dst_port)), want);
  EXPECT_EQ(s.owner_queue_of_frame(tcp_frame(v.src, v.dst, v.src_port, v.dst_port, true)), want);
}

TEST(RssSteering, OwnerOfFrameDeclinesWhatIsNotAnUnfragmentedIpv4TcpSegment) {
  const dp::rss_steering s(ms_key, 4, 128);
  const auto good = tcp_frame(ip(10, 0, 0, 1), ip(10, 0, 0, 2), 1000, 2775);
  ASSERT_TRUE(s.owner_queue_of_frame(good).has_value());
  auto arp = good;
  arp[12] = std::byte{0x08};
  arp[13] = std::byte{0x06};
  EXPECT_FALSE(s.owner_queue_of_frame(arp).has_value());
  auto udp = good;
  udp[14 + 9] = std::byte{17};
  EXPECT_FALSE(s.owner_queue_of_frame(udp).has_value());
  auto more_fragments = good;
  more_fragments[14 + 6] = std::byte{0x20};
  EXPECT_FALSE(s.owner_queue_of_frame(more_fragments).has_value());
  auto offset = good;
  offset[14 + 7] = std::byte{0x01};
  EXPECT_FALSE(s.owner_queue_of_frame(offset).has_value());
  auto bad_ihl = good;
  bad_ihl[14] = std::byte{0x44};
  EXPECT_FALSE(s.owner_queue_of_frame(bad_ihl).has_value());
  auto ipv6_version = good;
  ipv6_version[14] = std::byte{0x65};
  EXPECT_FALSE(s.owner_queue_of_frame(ipv6_version).has_value());
  auto long_options = good;  // IHL 15: 60 octets of header, longer than the frame holds
  long_options[14] = std::byte{0x4f};
  EXPECT_FALSE(s.owner_queue_of_frame(long_options).has_value());
  // Every truncation of a valid frame short of the TCP ports is declined, never over-read.
  for (size_t n = 0; n < 14 + 20 + 4; ++n) {
    const std::vector<std::byte> cut(good.begin(), good.begin() + static_cast<long>(n));
    EXPECT_FALSE(s.owner_queue_of_frame(cut).has_value()) << n;
  }
  EXPECT_TRUE(s.owner_queue_of_frame(std::span(good).first(14 + 20 + 4)).has_value());
}

TEST(RssSteering, RandomBytesNeverCrash) {
  const dp::rss_steering s(ms_key, 4, 128);
  std::mt19937_64 rng(3);
  size_t owned = 0;
  for (int i = 0; i < 20000; ++i) {
    std::vector<std::byte> f(rng() % 80);
    for (auto& b : f) b = std::byte(rng());
    if (f.size() > 14 && (rng() & 1)) {  // often make it look like IPv4/TCP
      f[12] = std::byte{0x08};
      f[13] = std::byte{0x00};
      if (f.size() > 23) {
        f[14] = std::byte(0x40 | (rng() % 16));
        f[20] = std::byte{0};  // not a fragment
        f[21] = std::byte{0};
        f[23] = std::byte{6};
      }
    }
    // Sanitizer builds catch any read outside `f`.
    const auto q = s.owner_queue_of_frame(std::vector<std::byte>(f));
    if (q) {
      ASSERT_LT(*q, 4);
      ++owned;
    }
  }
  EXPECT_GT(owned, 0u);
}
