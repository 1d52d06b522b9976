// ICMP (RFC 792) through the stack over a fake link: echo replies carry the request's id,
// sequence number and data; bad checksums, truncation and other types are dropped and counted;
// replies are rate-limited by a token bucket.
#include <gtest/gtest.h>

#include "fake_link.hpp"
#include "smpp/net/stack.hpp"

namespace net = smpp::net;
using namespace net::testing;

namespace {

constexpr net::ipv4_addr ours = ip4(192, 0, 2, 2);
constexpr net::ipv4_addr ours2 = ip4(192, 0, 2, 3);
constexpr net::ipv4_addr peer = ip4(192, 0, 2, 10);
constexpr net::ipv4_addr remote = ip4(198, 51, 100, 7);
const net::mac_addr our_mac = make_mac(1);
const net::mac_addr peer_mac = make_mac(10);
const net::mac_addr gw_mac = make_mac(0xfe);
constexpr uint64_t sec = 1'000'000;

net::stack_config config(uint32_t echo_rate = 1000, uint32_t echo_burst = 100) {
  net::stack_config c;
  c.ip.addresses = {ours, ours2};
  c.ip.netmask = 0xffffff00;
  c.ip.gateway = ip4(192, 0, 2, 1);
  c.icmp.echo_rate_per_s = echo_rate;
  c.icmp.echo_burst = echo_burst;
  return c;
}

bytes icmp_frame(const bytes& message, net::ipv4_addr src = peer, net::ipv4_addr dst = ours) {
  return eth_frame(our_mac, peer_mac, net::ethertype_ipv4,
                   ipv4_packet({.proto = net::ip_proto_icmp, .src = src, .dst = dst}, message));
}

bytes echo(uint16_t id, uint16_t seq, size_t data_len, bool bad_checksum = false) {
  return icmp_message(net::icmp_echo_request, 0, id, seq, pattern(data_len, uint8_t(seq)),
                      bad_checksum);
}

class Icmp : public ::testing::Test {
 protected:
  void make(net::stack_config c) {
    s_.emplace(link_, std::move(c));
    ASSERT_TRUE(s_->arp().add_static(peer, peer_mac, 0));
    ASSERT_TRUE(s_->arp().add_static(ip4(192, 0, 2, 1), gw_mac, 0));
  }
  void SetUp() override { make(config()); }
  fake_link link_{our_mac};
  std::optional<net::stack> s_;
};

}  // namespace

TEST_F(Icmp, EchoRequestGetsAReplyWithTheSameIdSequenceAndData) {
  for (size_t len : {size_t{0}, size_t{1}, size_t{56}, size_t{1471}}) {  // odd lengths too
    link_.clear();
    const bytes rq = echo(0x4242, uint16_t(len), len);
    s_->input(icmp_frame(rq, peer, ours2), sec);
    ASSERT_EQ(link_.sent(), 1u) << len;
    const parsed_ipv4 p = parse_ipv4_frame(link_.last());
    ASSERT_TRUE(p.ok);
    EXPECT_EQ(p.eth_dst, peer_mac);
    EXPECT_EQ(p.src, ours2);  // RFC 1122 §3.2.2.6: from the address the request was sent to
    EXPECT_EQ(p.dst, peer);
    EXPECT_EQ(p.proto, net::ip_proto_icmp);
    EXPECT_TRUE(p.checksum_valid);
    ASSERT_EQ(p.payload.size(), rq.size());
    EXPECT_EQ(p.payload[0], std::byte{net::icmp_echo_reply});
    EXPECT_EQ(p.payload[1], std::byte{0});
    EXPECT_EQ(net::checksum_finish(net::checksum_add(p.payload)), 0) << len;
    EXPECT_TRUE(std::equal(p.payload.begin() + 4, p.payload.end(), rq.begin() + 4)) << len;
  }
  EXPECT_EQ(s_->counters().icmp.tx_echo_replies, 4u);
}

TEST_F(Icmp, ReplyToAnOffLinkSenderGoesThroughTheGateway) {
  s_->input(icmp_frame(echo(1, 1, 8), remote), sec);
  ASSERT_EQ(link_.sent(), 1u);
  EXPECT_EQ(parse_ipv4_frame(link_.last()).eth_dst, gw_mac);
  EXPECT_EQ(parse_ipv4_frame(link_.last()).dst, remote);
}

TEST_F(Icmp, BadChecksumTruncationAndOtherTypesAreDroppedAndCounted) {
  s_->input(icmp_frame(echo(1, 1, 32, true)), 0);
  EXPECT_EQ(s_->counters().icmp.rx_bad_checksum, 1u);
  s_->input(icmp_frame(bytes(7, std::byte{8})), 0);
  s_->input(icmp_frame(bytes{}), 0);
  EXPECT_EQ(s_->counters().icmp.rx_truncated, 2u);
  s_->input(icmp_frame(icmp_message(net::icmp_echo_reply, 0, 1, 1, pattern(8))), 0);
  EXPECT_EQ(s_->counters().icmp.rx_echo_replies, 1u);
  s_->input(icmp_frame(icmp_message(net::icmp_dest_unreachable, 3, 0, 0, pattern(28))), 0);
  EXPECT_EQ(s_->counters().icmp.rx_dest_unreachable, 1u);
  for (uint8_t type : {uint8_t{5}, uint8_t{11}, uint8_t{13}, uint8_t{255}}) {
    s_->input(icmp_frame(icmp_message(type, 0, 1, 1, pattern(8))), 0);
  }
  s_->input(icmp_frame(icmp_message(net::icmp_echo_request, 1, 1, 1, pattern(8))), 0);
  EXPECT_EQ(s_->counters().icmp.rx_other, 5u);
  EXPECT_EQ(s_->counters().icmp.rx_echo_requests, 0u);
  EXPECT_EQ(link_.sent(), 0u);
}

TEST_F(Icmp, EchoToBroadcastIsNotAnswered) {
  // RFC 1122 §3.2.2.6 allows silence; we take no broadcast datagram at all.
  s_->input(eth_frame(net::mac_broadcast, peer_mac, net::ethertype_ipv4,
                      ipv4_packet({.proto = net::ip_proto_icmp, .src = peer, .dst = 0xffffffff},
                                  echo(1, 1, 8))),
            0);
  EXPECT_EQ(link_.sent(), 0u);
}

TEST_F(Icmp, RepliesAreRateLimitedByATokenBucket) {
  make(config(100, 5));  // 100 per second, burst 5
  const bytes f = icmp_frame(echo(7, 7, 16));
  for (int i = 0; i < 20; ++i) s_->input(f, 10 * sec);
  EXPECT_EQ(link_.sent(), 5u);
  EXPECT_EQ(s_->counters().icmp.tx_echo_rate_limited, 15u);
  EXPECT_EQ(s_->counters().icmp.rx_echo_requests, 20u);
  s_->input(f, 10 * sec + 9'999);  // one token every 10 ms
  EXPECT_EQ(link_.sent(), 5u);
  s_->input(f, 10 * sec + 10'000);
  EXPECT_EQ(link_.sent(), 6u);
  // A long pause refills up to the burst, no more.
  for (int i = 0; i < 20; ++i) s_->input(f, 1000 * sec);
  EXPECT_EQ(link_.sent(), 11u);
}

TEST_F(Icmp, NoBufferForTheReplyIsCounted) {
  link_.out_of_buffers = true;
  s_->input(icmp_frame(echo(1, 1, 8)), 0);
  EXPECT_EQ(s_->counters().icmp.tx_no_buffer, 1u);
}

TEST(TokenBucket, BurstThenRateThenCap) {
  net::token_bucket b(1000, 3);  // a token per millisecond
  EXPECT_TRUE(b.take(0));
  EXPECT_TRUE(b.take(0));
  EXPECT_TRUE(b.take(0));
  EXPECT_FALSE(b.take(0));
  EXPECT_FALSE(b.take(999));
  EXPECT_TRUE(b.take(1000));
  EXPECT_FALSE(b.take(1000));
  EXPECT_FALSE(b.take(500));  // time going backwards adds nothing
  EXPECT_TRUE(b.take(2000));
  // Idle for a very long time: no overflow, the level stops at the burst.
  int n = 0;
  while (b.take(~uint64_t{0} / 2) && n < 100) ++n;
  EXPECT_EQ(n, 3);
}

TEST(TokenBucket, RateZeroLetsOnlyTheBurstThrough) {
  net::token_bucket b(0, 2);
  EXPECT_TRUE(b.take(0));
  EXPECT_TRUE(b.take(5'000'000));
  EXPECT_FALSE(b.take(100'000'000));
  net::token_bucket none(0, 0);
  EXPECT_FALSE(none.take(0));
}
