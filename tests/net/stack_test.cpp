// The stack as a whole over a fake link: Ethernet II demultiplexing and its drop counters, no
// heap allocation per packet after construction, and a seeded fuzz loop of mutated valid frames
// (no crash, every frame accounted for, everything sent well-formed).
#include <gtest/gtest.h>

#include <random>

#include "alloc_counter.hpp"
#include "fake_link.hpp"
#include "smpp/net/stack.hpp"

namespace net = smpp::net;
using namespace net::testing;

namespace {

constexpr net::ipv4_addr ours = ip4(192, 0, 2, 2);
constexpr net::ipv4_addr gateway = ip4(192, 0, 2, 1);
constexpr net::ipv4_addr peer = ip4(192, 0, 2, 10);
const net::mac_addr our_mac = make_mac(1);
const net::mac_addr peer_mac = make_mac(10);
constexpr uint64_t sec = 1'000'000;

net::stack_config config() {
  net::stack_config c;
  c.ip.addresses = {ours};
  c.ip.netmask = 0xffffff00;
  c.ip.gateway = gateway;
  c.arp.cache_size = 8;
  c.arp.pending_pool = 8;
  c.icmp.echo_rate_per_s = 1'000'000;
  c.icmp.echo_burst = 1'000'000;
  return c;
}

struct counting_protocol final : net::ip_protocol {
  size_t datagrams = 0;
  size_t octets = 0;
  void input(net::ipv4_addr, net::ipv4_addr, std::span<const std::byte> payload,
             uint64_t) override {
    ++datagrams;
    octets += payload.size();
  }
};

bytes echo_frame(uint16_t seq, const net::mac_addr& dst = our_mac) {
  return eth_frame(dst, peer_mac, net::ethertype_ipv4,
                   ipv4_packet({.proto = net::ip_proto_icmp, .src = peer, .dst = ours},
                               icmp_message(net::icmp_echo_request, 0, 9, seq, pattern(56))));
}
bytes arp_request_frame(net::ipv4_addr from = peer, const net::mac_addr& mac = peer_mac) {
  return arp_frame(net::mac_broadcast,
                   {.op = net::arp_op_request, .sha = mac, .spa = from, .tpa = ours});
}

}  // namespace

TEST(Ethernet, FramesForOthersMulticastVlanAndUnknownTypesAreDroppedAndCounted) {
  fake_link link{our_mac};
  net::stack s(link, config());
  bytes vlan = echo_frame(1);
  net::store_be16(vlan.data() + 12, net::ethertype_vlan);
  bytes qinq = echo_frame(1);
  net::store_be16(qinq.data() + 12, net::ethertype_qinq);
  bytes ipv6 = echo_frame(1);
  net::store_be16(ipv6.data() + 12, 0x86dd);
  bytes llc = echo_frame(1);
  net::store_be16(llc.data() + 12, 0x0040);  // an IEEE 802.3 length field
  s.input(echo_frame(1, make_mac(77)), 0);
  s.input(echo_frame(1, net::mac_addr{std::byte{0x01}, std::byte{0x00}, std::byte{0x5e}}), 0);
  s.input(vlan, 0);
  s.input(qinq, 0);
  s.input(ipv6, 0);
  s.input(llc, 0);
  s.input(bytes(13), 0);
  s.input(bytes{}, 0);
  const auto c = s.counters().eth;
  EXPECT_EQ(c.rx_frames, 8u);
  EXPECT_EQ(c.rx_not_for_us, 2u);
  EXPECT_EQ(c.rx_vlan, 2u);
  EXPECT_EQ(c.rx_unknown_ethertype, 2u);
  EXPECT_EQ(c.rx_truncated, 2u);
  EXPECT_EQ(s.counters().ip.rx_packets, 0u);
  EXPECT_EQ(link.sent(), 0u);
}

TEST(Ethernet, BroadcastAndOurAddressAreTaken) {
  fake_link link{our_mac};
  net::stack s(link, config());
  s.input(arp_request_frame(), 0);  // broadcast
  s.input(echo_frame(1), 0);        // ours
  EXPECT_EQ(link.sent(), 2u);
  // Every frame we send comes from our address and is at least the minimum frame.
  for (size_t i = 0; i < link.sent(); ++i) {
    EXPECT_EQ(get_mac(link.frame(i), 6), our_mac);
    EXPECT_GE(link.frame(i).size(), net::eth_min_frame);
  }
}

TEST(Stack, RegisteringIcmpKeepsTheStacksOwnEchoService) {
  fake_link link{our_mac};
  net::stack s(link, config());
  counting_protocol p;
  s.register_protocol(net::ip_proto_icmp, p);
  s.input(arp_request_frame(), 0);
  s.input(echo_frame(1), 0);
  EXPECT_EQ(p.datagrams, 0u);
  EXPECT_EQ(s.counters().icmp.tx_echo_replies, 1u);
}

TEST(Stack, NoHeapAllocationPerPacketAfterConstruction) {
  fake_link link{our_mac, 1500, 4096};
  net::stack s(link, config());
  counting_protocol tcp;
  s.register_protocol(net::ip_proto_tcp, tcp);
  // Frames built before counting: ARP requests from several hosts (cache fills and evicts),
  // echo requests, TCP datagrams, garbage.
  std::vector<bytes> frames;
  for (uint8_t i = 0; i < 20; ++i) {
    frames.push_back(arp_request_frame(ip4(192, 0, 2, uint8_t(50 + i)), make_mac(uint8_t(50 + i))));
  }
  for (uint16_t i = 0; i < 20; ++i) frames.push_back(echo_frame(i));
  frames.push_back(
      eth_frame(our_mac, peer_mac, net::ethertype_ipv4,
                ipv4_packet({.proto = net::ip_proto_tcp, .src = peer, .dst = ours}, pattern(200))));
  frames.push_back(eth_frame(our_mac, peer_mac, net::ethertype_ipv4,
                             ipv4_packet({.proto = 77, .src = peer, .dst = ours}, pattern(20))));
  frames.push_back(bytes(5));
  const bytes reply = arp_frame(our_mac, {.op = net::arp_op_reply,
                                          .sha = make_mac(99),
                                          .spa = ip4(192, 0, 2, 99),
                                          .tha = our_mac,
                                          .tpa = ours});
  const long before = smpp::testing::allocations();
  uint64_t now = sec;
  for (int round = 0; round < 5; ++round) {
    for (const auto& f : frames) s.input(f, now += 1000);
    // Output towards an unresolved host: queued (and overflowing) in the pending pool.
    for (int i = 0; i < 6; ++i) {
      auto out = s.ip().alloc(ip4(192, 0, 2, 99), 100);
      if (!out.empty()) s.ip().send(ours, ip4(192, 0, 2, 99), net::ip_proto_tcp, 100);
    }
    s.input(reply, now += 1000);
    for (int t = 0; t < 5; ++t) s.timers(now += 20 * sec);  // retries, expiry, refresh
    link.clear();
  }
  EXPECT_EQ(smpp::testing::allocations(), before);
  EXPECT_GT(s.counters().icmp.tx_echo_replies, 0u);
  EXPECT_GT(s.counters().arp.entries_evicted, 0u);
  EXPECT_GT(s.counters().arp.pending_sent, 0u);
  EXPECT_GT(s.counters().arp.pending_dropped, 0u);
  EXPECT_GT(tcp.datagrams, 0u);
}

namespace {

// Checks a frame the stack sent: a well-formed ARP or IPv4 frame with valid checksums.
::testing::AssertionResult well_formed(std::span<const std::byte> f) {
  if (f.size() < net::eth_min_frame) return ::testing::AssertionFailure() << "short frame";
  if (get_mac(f, 6) != our_mac) return ::testing::AssertionFailure() << "source address";
  const uint16_t type = net::load_be16(f.data() + 12);
  if (type == net::ethertype_arp) {
    const uint16_t op = net::load_be16(f.data() + 20);
    if (op != 1 && op != 2) return ::testing::AssertionFailure() << "ARP op " << op;
    return ::testing::AssertionSuccess();
  }
  if (type != net::ethertype_ipv4) return ::testing::AssertionFailure() << "ethertype " << type;
  const parsed_ipv4 p = parse_ipv4_frame(f);
  if (!p.ok || !p.checksum_valid || p.ttl != 64 || p.src != ours) {
    return ::testing::AssertionFailure() << "IPv4 header";
  }
  if (p.proto == net::ip_proto_icmp && net::checksum_finish(net::checksum_add(p.payload)) != 0) {
    return ::testing::AssertionFailure() << "ICMP checksum";
  }
  return ::testing::AssertionSuccess();
}

}  // namespace

TEST(StackFuzz, SeededMutationsOfValidFramesNeverCrashAndAreAllAccountedFor) {
  fake_link link{our_mac, 1500, 64};
  net::stack s(link, config());
  counting_protocol tcp;
  s.register_protocol(net::ip_proto_tcp, tcp);
  std::vector<bytes> seeds;
  seeds.push_back(arp_request_frame());
  seeds.push_back(arp_frame(our_mac, {.op = net::arp_op_reply,
                                      .sha = make_mac(20),
                                      .spa = ip4(192, 0, 2, 20),
                                      .tha = our_mac,
                                      .tpa = ours}));
  seeds.push_back(echo_frame(3));
  seeds.push_back(eth_frame(
      our_mac, peer_mac, net::ethertype_ipv4,
      ipv4_packet({.ihl = 7, .proto = net::ip_proto_tcp, .src = peer, .dst = ours}, pattern(40))));
  seeds.push_back(eth_frame(our_mac, peer_mac, net::ethertype_ipv4,
                            ipv4_packet({.proto = 17, .src = peer, .dst = ours}, pattern(12))));
  std::mt19937_64 rng(20260526);
  constexpr int iterations = 40'000;
  bytes buf;
  uint64_t now = sec;
  size_t sent_total = 0;
  for (int i = 0; i < iterations; ++i) {
    buf = seeds[rng() % seeds.size()];
    const int kind = static_cast<int>(rng() % 6);
    const int flips = 1 + static_cast<int>(rng() % 4);
    if (kind <= 2) {  // flip bits in the headers mostly
      for (int k = 0; k < flips; ++k) {
        const size_t at = rng() % std::min<size_t>(buf.size(), kind == 0 ? 60 : buf.size());
        buf[at] ^= std::byte(1u << (rng() % 8));
      }
    } else if (kind == 3) {  // truncate anywhere
      buf.resize(rng() % (buf.size() + 1));
    } else if (kind == 4) {  // lying length fields: total length or IHL set at random
      if (buf.size() > 18) net::store_be16(buf.data() + 16, static_cast<uint16_t>(rng()));
      if (buf.size() > 14 && rng() % 2) buf[14] = std::byte(0x40 | (rng() % 16));
    } else {  // extend with garbage
      const size_t extra = rng() % 64;
      for (size_t k = 0; k < extra; ++k) buf.push_back(std::byte(rng()));
    }
    s.input(buf, now);
    now += rng() % 50'000;
    if (i % 64 == 0) s.timers(now);
    for (size_t k = 0; k < link.sent(); ++k) {
      ASSERT_TRUE(well_formed(link.frame(k))) << "iteration " << i;
    }
    sent_total += link.sent();
    link.clear();
  }
  const auto c = s.counters();
  EXPECT_EQ(c.eth.rx_frames, static_cast<uint64_t>(iterations));
  // Every frame ends in exactly one place: an Ethernet drop, or the ARP or IPv4 layer.
  EXPECT_EQ(c.eth.rx_truncated + c.eth.rx_not_for_us + c.eth.rx_vlan + c.eth.rx_unknown_ethertype +
                c.arp.rx_packets + c.ip.rx_packets,
            static_cast<uint64_t>(iterations));
  // And every IPv4 datagram is dropped for one reason or delivered.
  EXPECT_EQ(c.ip.rx_truncated + c.ip.rx_bad_version + c.ip.rx_bad_header_length +
                c.ip.rx_bad_total_length + c.ip.rx_bad_checksum + c.ip.rx_bad_source +
                c.ip.rx_not_for_us + c.ip.rx_link_broadcast + c.ip.rx_fragments +
                c.ip.rx_unknown_protocol + c.ip.rx_delivered,
            c.ip.rx_packets);
  // The mutations leave enough valid frames that every path ran.
  EXPECT_GT(c.icmp.tx_echo_replies, 0u);
  EXPECT_GT(c.arp.tx_replies, 0u);
  EXPECT_GT(tcp.datagrams, 0u);
  EXPECT_GT(c.ip.rx_bad_checksum, 0u);
  EXPECT_GT(c.arp.rx_malformed, 0u);
  EXPECT_GT(sent_total, 0u);
  EXPECT_EQ(link.bad_sends(), 0u);
}
