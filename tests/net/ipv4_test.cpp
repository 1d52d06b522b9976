// IPv4 (RFC 791, RFC 1122 §3.2.1) through the stack over a fake link: validation of every header
// field with drop counters, delivery by protocol number, protocol unreachable with its rate
// limit, and the output path (header fields, padding, next hop, MTU, checksum offload).
#include <gtest/gtest.h>

#include <functional>

#include "fake_link.hpp"
#include "smpp/net/stack.hpp"

namespace net = smpp::net;
using namespace net::testing;

namespace {

constexpr net::ipv4_addr ours = ip4(192, 0, 2, 2);
constexpr net::ipv4_addr ours2 = ip4(192, 0, 2, 3);
constexpr net::ipv4_addr gateway = ip4(192, 0, 2, 1);
constexpr net::ipv4_addr peer = ip4(192, 0, 2, 10);
constexpr net::ipv4_addr remote = ip4(198, 51, 100, 7);
const net::mac_addr our_mac = make_mac(1);
const net::mac_addr peer_mac = make_mac(10);
const net::mac_addr gw_mac = make_mac(0xfe);
constexpr uint64_t sec = 1'000'000;

net::stack_config config() {
  net::stack_config c;
  c.ip.addresses = {ours, ours2};
  c.ip.netmask = 0xffffff00;
  c.ip.gateway = gateway;
  return c;
}

// Records every datagram handed up.
struct recorder final : net::ip_protocol {
  struct datagram {
    net::ipv4_addr src, dst;
    bytes payload;
    uint64_t now_us;
  };
  std::vector<datagram> got;
  void input(net::ipv4_addr src, net::ipv4_addr dst, std::span<const std::byte> payload,
             uint64_t now_us) override {
    got.push_back({src, dst, bytes(payload.begin(), payload.end()), now_us});
  }
};

bytes frame_to_us(const ipv4_fields& h, std::span<const std::byte> payload,
                  const net::mac_addr& dst_mac = our_mac) {
  return eth_frame(dst_mac, peer_mac, net::ethertype_ipv4, ipv4_packet(h, payload));
}

ipv4_fields tcp_to_us() {
  return ipv4_fields{.proto = net::ip_proto_tcp, .src = peer, .dst = ours};
}

class Ipv4 : public ::testing::Test {
 protected:
  void SetUp() override {
    s_.register_protocol(net::ip_proto_tcp, tcp_);
    // Neighbours known, so output goes at once.
    ASSERT_TRUE(s_.arp().add_static(peer, peer_mac, 0));
    ASSERT_TRUE(s_.arp().add_static(gateway, gw_mac, 0));
  }
  fake_link link_{our_mac};
  net::stack s_{link_, config()};
  recorder tcp_;
};

}  // namespace

TEST_F(Ipv4, ValidDatagramIsDeliveredToItsProtocolWithoutLinkPadding) {
  const bytes payload = pattern(6);
  bytes f = frame_to_us(tcp_to_us(), payload);
  f.resize(net::eth_min_frame);  // 14 + 20 + 6 = 40: the NIC delivers it padded to 60
  s_.input(f, 7 * sec);
  ASSERT_EQ(tcp_.got.size(), 1u);
  EXPECT_EQ(tcp_.got[0].src, peer);
  EXPECT_EQ(tcp_.got[0].dst, ours);
  EXPECT_EQ(tcp_.got[0].payload, payload);
  EXPECT_EQ(tcp_.got[0].now_us, 7 * sec);
  EXPECT_EQ(s_.counters().ip.rx_delivered, 1u);
}

TEST_F(Ipv4, SecondaryAddressIsOurs) {
  ipv4_fields h = tcp_to_us();
  h.dst = ours2;
  s_.input(frame_to_us(h, pattern(10)), 0);
  ASSERT_EQ(tcp_.got.size(), 1u);
  EXPECT_EQ(tcp_.got[0].dst, ours2);
}

TEST_F(Ipv4, OptionsAreSkipped) {
  ipv4_fields h = tcp_to_us();
  h.ihl = 15;  // 40 octets of options
  const bytes payload = pattern(12, 3);
  s_.input(frame_to_us(h, payload), 0);
  ASSERT_EQ(tcp_.got.size(), 1u);
  EXPECT_EQ(tcp_.got[0].payload, payload);
}

TEST_F(Ipv4, TtlBelowTwoIsAcceptedByAHost) {
  // RFC 1122 §3.2.1.7.
  for (uint8_t ttl : {uint8_t{0}, uint8_t{1}}) {
    ipv4_fields h = tcp_to_us();
    h.ttl = ttl;
    s_.input(frame_to_us(h, pattern(4)), 0);
  }
  EXPECT_EQ(tcp_.got.size(), 2u);
}

struct bad_case {
  const char* name;
  std::function<bytes()> frame;
  uint64_t net::ipv4_counters::*counter;
};

TEST_F(Ipv4, EveryMalformedOrForeignDatagramIsDroppedAndCountedOnce) {
  const bytes pl = pattern(20);
  auto with = [&](std::function<void(ipv4_fields&)> f) {
    ipv4_fields h = tcp_to_us();
    f(h);
    return frame_to_us(h, pl);
  };
  const std::vector<bad_case> cases = {
      {"shorter than a header",
       [&] {
         bytes f = frame_to_us(tcp_to_us(), pl);
         f.resize(net::eth_header_len + 19);
         return f;
       },
       &net::ipv4_counters::rx_truncated},
      {"empty", [&] { return eth_frame(our_mac, peer_mac, net::ethertype_ipv4, {}); },
       &net::ipv4_counters::rx_truncated},
      {"version 6", [&] { return with([](auto& h) { h.version = 6; }); },
       &net::ipv4_counters::rx_bad_version},
      {"IHL 4", [&] { return with([](auto& h) { h.ihl = 4; }); },
       &net::ipv4_counters::rx_bad_header_length},
      {"IHL 0", [&] { return with([](auto& h) { h.ihl = 0; }); },
       &net::ipv4_counters::rx_bad_header_length},
      {"IHL beyond the frame",
       [&] {
         ipv4_fields h = tcp_to_us();
         h.ihl = 15;
         bytes f = frame_to_us(h, {});
         f.resize(net::eth_header_len + 40);
         return f;
       },
       &net::ipv4_counters::rx_truncated},
      {"total length below IHL", [&] { return with([](auto& h) { h.total_length = 19; }); },
       &net::ipv4_counters::rx_bad_total_length},
      {"total length beyond the frame", [&] { return with([](auto& h) { h.total_length = 41; }); },
       &net::ipv4_counters::rx_bad_total_length},
      {"total length 65535", [&] { return with([](auto& h) { h.total_length = 65535; }); },
       &net::ipv4_counters::rx_bad_total_length},
      {"bad header checksum", [&] { return with([](auto& h) { h.bad_checksum = true; }); },
       &net::ipv4_counters::rx_bad_checksum},
      {"source 0.0.0.0", [&] { return with([](auto& h) { h.src = 0; }); },
       &net::ipv4_counters::rx_bad_source},
      {"source limited broadcast", [&] { return with([](auto& h) { h.src = 0xffffffff; }); },
       &net::ipv4_counters::rx_bad_source},
      {"source directed broadcast",
       [&] { return with([](auto& h) { h.src = ip4(192, 0, 2, 255); }); },
       &net::ipv4_counters::rx_bad_source},
      {"source loopback", [&] { return with([](auto& h) { h.src = ip4(127, 0, 0, 1); }); },
       &net::ipv4_counters::rx_bad_source},
      {"source multicast", [&] { return with([](auto& h) { h.src = ip4(224, 0, 0, 1); }); },
       &net::ipv4_counters::rx_bad_source},
      {"source class E", [&] { return with([](auto& h) { h.src = ip4(240, 0, 0, 1); }); },
       &net::ipv4_counters::rx_bad_source},
      {"another host", [&] { return with([](auto& h) { h.dst = ip4(192, 0, 2, 99); }); },
       &net::ipv4_counters::rx_not_for_us},
      {"limited broadcast", [&] { return with([](auto& h) { h.dst = 0xffffffff; }); },
       &net::ipv4_counters::rx_not_for_us},
      {"multicast", [&] { return with([](auto& h) { h.dst = ip4(224, 0, 0, 251); }); },
       &net::ipv4_counters::rx_not_for_us},
      {"unicast in a link broadcast",
       [&] { return frame_to_us(tcp_to_us(), pl, net::mac_broadcast); },
       &net::ipv4_counters::rx_link_broadcast},
      {"more fragments", [&] { return with([](auto& h) { h.flags_offset = 0x2000; }); },
       &net::ipv4_counters::rx_fragments},
      {"fragment offset", [&] { return with([](auto& h) { h.flags_offset = 0x00b9; }); },
       &net::ipv4_counters::rx_fragments},
      {"last fragment with DF", [&] { return with([](auto& h) { h.flags_offset = 0x4001; }); },
       &net::ipv4_counters::rx_fragments},
  };
  for (const auto& c : cases) {
    const auto before = s_.counters().ip;
    s_.input(c.frame(), 0);
    const auto after = s_.counters().ip;
    EXPECT_EQ(after.*c.counter, before.*c.counter + 1) << c.name;
    EXPECT_EQ(after.rx_packets, before.rx_packets + 1) << c.name;
    EXPECT_EQ(after.rx_delivered, before.rx_delivered) << c.name;
  }
  EXPECT_TRUE(tcp_.got.empty());
  EXPECT_EQ(link_.sent(), 0u);  // no ICMP error about any of them
}

TEST_F(Ipv4, UnknownProtocolIsAnsweredWithProtocolUnreachableQuotingHeaderAnd8Octets) {
  ipv4_fields h = tcp_to_us();
  h.proto = 200;
  const bytes pl = pattern(30);
  const bytes datagram = ipv4_packet(h, pl);
  s_.input(eth_frame(our_mac, peer_mac, net::ethertype_ipv4, datagram), 0);
  ASSERT_EQ(link_.sent(), 1u);
  const parsed_ipv4 p = parse_ipv4_frame(link_.last());
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.src, ours);
  EXPECT_EQ(p.dst, peer);
  EXPECT_EQ(p.proto, net::ip_proto_icmp);
  ASSERT_EQ(p.payload.size(), 8u + 20u + 8u);
  EXPECT_EQ(p.payload[0], std::byte{3});
  EXPECT_EQ(p.payload[1], std::byte{2});
  EXPECT_EQ(net::checksum_finish(net::checksum_add(p.payload)), 0);
  EXPECT_TRUE(std::equal(p.payload.begin() + 8, p.payload.end(), datagram.begin()));
  EXPECT_EQ(s_.counters().ip.rx_unknown_protocol, 1u);
  EXPECT_EQ(s_.counters().icmp.tx_dest_unreachable, 1u);
}

TEST_F(Ipv4, ProtocolUnreachableIsRateLimited) {
  fake_link link{our_mac};
  net::stack_config c = config();
  c.icmp.error_rate_per_s = 10;
  c.icmp.error_burst = 3;
  net::stack s(link, c);
  ASSERT_TRUE(s.arp().add_static(peer, peer_mac, 0));
  ipv4_fields h = tcp_to_us();
  h.proto = 99;
  const bytes f = frame_to_us(h, pattern(4));
  for (int i = 0; i < 10; ++i) s.input(f, sec);
  EXPECT_EQ(link.sent(), 3u);  // the burst
  EXPECT_EQ(s.counters().icmp.tx_error_rate_limited, 7u);
  s.input(f, sec + 99'999);
  EXPECT_EQ(link.sent(), 3u);  // 10 per second: one token after 100 ms
  s.input(f, sec + 100'000);
  EXPECT_EQ(link.sent(), 4u);
  EXPECT_EQ(s.counters().ip.rx_unknown_protocol, 12u);
}

TEST_F(Ipv4, UnknownProtocolIsDroppedSilentlyWhenConfigured) {
  fake_link link{our_mac};
  net::stack_config c = config();
  c.ip.send_protocol_unreachable = false;
  net::stack s(link, c);
  ipv4_fields h = tcp_to_us();
  h.proto = 99;
  s.input(frame_to_us(h, pattern(4)), 0);
  EXPECT_EQ(link.sent(), 0u);
  EXPECT_EQ(s.counters().ip.rx_unknown_protocol, 1u);
}

TEST_F(Ipv4, OutputFillsTheHeaderAsRfc791And1122Ask) {
  const bytes payload = pattern(100);
  uint16_t first_id = 0;
  for (int i = 0; i < 2; ++i) {
    auto out = s_.ip().alloc(peer, payload.size());
    ASSERT_EQ(out.size(), payload.size());
    std::copy(payload.begin(), payload.end(), out.begin());
    s_.ip().send(ours2, peer, net::ip_proto_tcp, payload.size());
    const parsed_ipv4 p = parse_ipv4_frame(link_.last());
    ASSERT_TRUE(p.ok);
    EXPECT_EQ(link_.last().size(), net::eth_header_len + 20 + payload.size());
    EXPECT_EQ(p.eth_dst, peer_mac);
    EXPECT_EQ(p.eth_src, our_mac);
    EXPECT_EQ(p.src, ours2);
    EXPECT_EQ(p.dst, peer);
    EXPECT_EQ(p.proto, net::ip_proto_tcp);
    EXPECT_EQ(p.ttl, 64);
    EXPECT_EQ(p.flags_offset, 0x4000);  // DF, offset 0
    EXPECT_TRUE(p.checksum_valid);
    EXPECT_EQ(p.payload, payload);
    if (i == 0) first_id = p.id;
    if (i == 1) {
      EXPECT_EQ(p.id, uint16_t(first_id + 1));
    }
  }
  EXPECT_EQ(s_.counters().ip.tx_packets, 2u);
}

TEST_F(Ipv4, ShortDatagramIsPaddedWithZerosToTheMinimumFrame) {
  auto out = s_.ip().alloc(peer, 1);
  ASSERT_EQ(out.size(), 1u);
  out[0] = std::byte{0x5a};
  s_.ip().send(ours, peer, net::ip_proto_tcp, 1);
  const auto f = link_.last();
  ASSERT_EQ(f.size(), net::eth_min_frame);
  EXPECT_EQ(net::load_be16(f.data() + 16), 21);  // total length excludes the padding
  for (size_t i = net::eth_header_len + 21; i < f.size(); ++i) EXPECT_EQ(f[i], std::byte{0});
}

TEST_F(Ipv4, OffLinkGoesToTheGatewayOnLinkDirectly) {
  ASSERT_EQ(s_.ip().alloc(remote, 8).size(), 8u);
  s_.ip().send(ours, remote, net::ip_proto_tcp, 8);
  EXPECT_EQ(parse_ipv4_frame(link_.last()).eth_dst, gw_mac);
  EXPECT_EQ(parse_ipv4_frame(link_.last()).dst, remote);
  ASSERT_EQ(s_.ip().alloc(peer, 8).size(), 8u);
  s_.ip().send(ours, peer, net::ip_proto_tcp, 8);
  EXPECT_EQ(parse_ipv4_frame(link_.last()).eth_dst, peer_mac);
}

TEST_F(Ipv4, BroadcastDestinationsUseTheBroadcastAddress) {
  for (net::ipv4_addr dst : {net::ipv4_addr{0xffffffff}, ip4(192, 0, 2, 255)}) {
    ASSERT_EQ(s_.ip().alloc(dst, 8).size(), 8u);
    s_.ip().send(ours, dst, 253, 8);
    EXPECT_EQ(parse_ipv4_frame(link_.last()).eth_dst, net::mac_broadcast);
  }
}

TEST_F(Ipv4, NoGatewayMeansOffLinkIsUnreachable) {
  fake_link link{our_mac};
  net::stack_config c = config();
  c.ip.gateway = 0;
  net::stack s(link, c);
  EXPECT_TRUE(s.ip().alloc(remote, 8).empty());
  EXPECT_EQ(s.counters().ip.tx_no_route, 1u);
  EXPECT_EQ(link.sent(), 0u);
}

TEST_F(Ipv4, OurOwnAddressIsNotSentOnTheWire) {
  EXPECT_TRUE(s_.ip().alloc(ours2, 8).empty());
  EXPECT_EQ(s_.counters().ip.tx_no_route, 1u);
}

TEST_F(Ipv4, MaxPayloadIsTheLinkMtuLessTheHeaderAndLargerIsRefused) {
  EXPECT_EQ(s_.ip().max_payload(peer), 1480u);
  EXPECT_EQ(s_.ip().alloc(peer, 1480).size(), 1480u);
  s_.ip().send(ours, peer, net::ip_proto_tcp, 1480);
  EXPECT_EQ(link_.last().size(), 1514u);
  EXPECT_TRUE(s_.ip().alloc(peer, 1481).empty());
  EXPECT_EQ(s_.counters().ip.tx_too_big, 1u);
  fake_link small{our_mac, 576};
  net::stack s(small, config());
  EXPECT_EQ(s.ip().max_payload(peer), 556u);
}

TEST_F(Ipv4, ChecksumOffloadLeavesTheFieldZero) {
  fake_link link{our_mac};
  net::stack_config c = config();
  c.ip.tx_checksum_offload = true;
  net::stack s(link, c);
  ASSERT_TRUE(s.arp().add_static(peer, peer_mac, 0));
  ASSERT_EQ(s.ip().alloc(peer, 8).size(), 8u);
  s.ip().send(ours, peer, net::ip_proto_tcp, 8);
  const parsed_ipv4 p = parse_ipv4_frame(link.last());
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.checksum, 0);
}

TEST_F(Ipv4, NoTransmitBufferIsCountedAndSendWithoutAllocIsRefused) {
  link_.out_of_buffers = true;
  EXPECT_TRUE(s_.ip().alloc(peer, 8).empty());
  EXPECT_EQ(s_.counters().ip.tx_no_buffer, 1u);
  s_.ip().send(ours, peer, net::ip_proto_tcp, 8);  // after a failed alloc
  link_.out_of_buffers = false;
  ASSERT_EQ(s_.ip().alloc(peer, 8).size(), 8u);
  s_.ip().send(ours, peer, net::ip_proto_tcp, 9);  // longer than allocated
  ASSERT_EQ(s_.ip().alloc(peer, 8).size(), 8u);
  s_.ip().send(ours, remote, net::ip_proto_tcp, 8);  // another destination
  EXPECT_EQ(s_.counters().ip.tx_bad_call, 3u);
  EXPECT_EQ(link_.sent(), 0u);
  EXPECT_EQ(link_.bad_sends(), 0u);
}

TEST_F(Ipv4, SendingLessThanAllocatedSendsThatMuch) {
  ASSERT_EQ(s_.ip().alloc(peer, 200).size(), 200u);
  s_.ip().send(ours, peer, net::ip_proto_tcp, 50);
  EXPECT_EQ(parse_ipv4_frame(link_.last()).payload.size(), 50u);
}
