// ARP (RFC 826, RFC 5227) through the stack over a fake link: answers, resolution with retries
// and the pending bound, cache expiry, refresh, eviction, static entries, malformed packets.
#include <gtest/gtest.h>

#include "fake_link.hpp"
#include "smpp/net/stack.hpp"

namespace net = smpp::net;
using namespace net::testing;

namespace {

constexpr net::ipv4_addr ours = ip4(192, 0, 2, 2);
constexpr net::ipv4_addr ours2 = ip4(192, 0, 2, 3);
constexpr net::ipv4_addr gateway = ip4(192, 0, 2, 1);
constexpr net::ipv4_addr peer = ip4(192, 0, 2, 10);
constexpr net::ipv4_addr peer2 = ip4(192, 0, 2, 11);
const net::mac_addr our_mac = make_mac(1);
const net::mac_addr peer_mac = make_mac(10);
const net::mac_addr peer2_mac = make_mac(11);
constexpr uint64_t sec = 1'000'000;

net::stack_config config(net::arp_config arp = {}) {
  net::stack_config c;
  c.ip.addresses = {ours, ours2};
  c.ip.netmask = 0xffffff00;
  c.ip.gateway = gateway;
  c.arp = arp;
  return c;
}

struct sent_arp {
  bool ok = false;
  size_t frame_length = 0;
  net::mac_addr eth_dst{};
  net::mac_addr eth_src{};
  uint16_t op = 0;
  net::mac_addr sha{};
  net::ipv4_addr spa = 0;
  net::mac_addr tha{};
  net::ipv4_addr tpa = 0;
};

sent_arp decode_arp(std::span<const std::byte> f) {
  sent_arp a;
  a.frame_length = f.size();
  if (f.size() < net::eth_header_len + net::arp_packet_len ||
      net::load_be16(f.data() + 12) != net::ethertype_arp) {
    return a;
  }
  const std::byte* p = f.data() + net::eth_header_len;
  if (net::load_be16(p) != 1 || net::load_be16(p + 2) != net::ethertype_ipv4 ||
      p[4] != std::byte{6} || p[5] != std::byte{4}) {
    return a;
  }
  a.eth_dst = get_mac(f, 0);
  a.eth_src = get_mac(f, 6);
  a.op = net::load_be16(p + 6);
  a.sha = get_mac(f, 22);
  a.spa = net::load_be32(p + 14);
  a.tha = get_mac(f, 32);
  a.tpa = net::load_be32(p + 24);
  a.ok = true;
  return a;
}

bytes request_for(net::ipv4_addr target, const net::mac_addr& from_mac, net::ipv4_addr from_ip) {
  return arp_frame(net::mac_broadcast,
                   {.op = net::arp_op_request, .sha = from_mac, .spa = from_ip, .tpa = target});
}
bytes reply_from(const net::mac_addr& from_mac, net::ipv4_addr from_ip) {
  return arp_frame(
      our_mac,
      {.op = net::arp_op_reply, .sha = from_mac, .spa = from_ip, .tha = our_mac, .tpa = ours});
}
// Sends `length` octets of protocol 253 (RFC 3692 experimental) to dst through the stack.
bool send_datagram(net::stack& s, net::ipv4_addr dst, size_t length, uint8_t fill = 0xab) {
  auto out = s.ip().alloc(dst, length);
  if (out.size() != length) return false;
  for (auto& b : out) b = std::byte{fill};
  s.ip().send(ours, dst, 253, length);
  return true;
}

class Arp : public ::testing::Test {
 protected:
  fake_link link_{our_mac};
};

}  // namespace

TEST_F(Arp, RequestForOurAddressIsAnsweredToTheRequesterAndTheRequesterLearnt) {
  net::stack s(link_, config());
  s.input(request_for(ours, peer_mac, peer), 5 * sec);
  ASSERT_EQ(link_.sent(), 1u);
  const sent_arp r = decode_arp(link_.last());
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.frame_length, net::eth_min_frame);  // padded to the minimum frame
  EXPECT_EQ(r.eth_dst, peer_mac);
  EXPECT_EQ(r.eth_src, our_mac);
  EXPECT_EQ(r.op, net::arp_op_reply);
  EXPECT_EQ(r.sha, our_mac);
  EXPECT_EQ(r.spa, ours);
  EXPECT_EQ(r.tha, peer_mac);
  EXPECT_EQ(r.tpa, peer);
  const auto e = s.arp().find(peer);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->mac, peer_mac);
  EXPECT_EQ(e->state, net::arp_state::reachable);
  EXPECT_EQ(s.counters().arp.rx_requests_for_us, 1u);
  EXPECT_EQ(s.counters().arp.tx_replies, 1u);
}

TEST_F(Arp, SecondaryAddressIsAnsweredWithThatAddress) {
  net::stack s(link_, config());
  s.input(request_for(ours2, peer_mac, peer), 0);
  ASSERT_EQ(link_.sent(), 1u);
  EXPECT_EQ(decode_arp(link_.last()).spa, ours2);
}

TEST_F(Arp, RequestForAnotherAddressIsNeitherAnsweredNorLearnt) {
  net::stack s(link_, config());
  s.input(request_for(ip4(192, 0, 2, 99), peer_mac, peer), 0);
  EXPECT_EQ(link_.sent(), 0u);
  EXPECT_FALSE(s.arp().find(peer));
  EXPECT_EQ(s.counters().arp.rx_not_for_us, 1u);
}

TEST_F(Arp, ProbeIsAnsweredToAddressZeroAndLearnsNothing) {
  // RFC 5227 §2.1.1: sender protocol address 0.0.0.0.
  net::stack s(link_, config());
  s.input(request_for(ours, peer_mac, 0), 0);
  ASSERT_EQ(link_.sent(), 1u);
  const sent_arp r = decode_arp(link_.last());
  EXPECT_EQ(r.op, net::arp_op_reply);
  EXPECT_EQ(r.eth_dst, peer_mac);
  EXPECT_EQ(r.tpa, 0u);
  EXPECT_EQ(s.arp().size(), 0u);
  EXPECT_FALSE(s.arp().find(0));
  EXPECT_EQ(s.counters().arp.rx_probes, 1u);
}

TEST_F(Arp, ProbeForAnotherAddressIsIgnored) {
  net::stack s(link_, config());
  s.input(request_for(peer2, peer_mac, 0), 0);
  EXPECT_EQ(link_.sent(), 0u);
  EXPECT_EQ(s.arp().size(), 0u);
}

TEST_F(Arp, ConflictIsNeverCachedAndDefendedOncePerInterval) {
  // RFC 5227 §2.4 (b): someone else sends with our address.
  net::arp_config ac;
  ac.defend_interval_us = 10 * sec;
  net::stack s(link_, config(ac));
  s.input(request_for(peer, peer_mac, ours), 1 * sec);
  ASSERT_EQ(link_.sent(), 1u);
  const sent_arp a = decode_arp(link_.last());
  EXPECT_EQ(a.op, net::arp_op_request);
  EXPECT_EQ(a.eth_dst, net::mac_broadcast);
  EXPECT_EQ(a.spa, ours);
  EXPECT_EQ(a.tpa, ours);
  EXPECT_EQ(a.sha, our_mac);
  s.input(request_for(peer, peer_mac, ours), 5 * sec);  // within the interval: no defence
  EXPECT_EQ(link_.sent(), 1u);
  s.input(request_for(peer, peer_mac, ours), 11 * sec + 1);
  EXPECT_EQ(link_.sent(), 2u);
  EXPECT_EQ(s.counters().arp.conflicts, 3u);
  EXPECT_EQ(s.counters().arp.tx_announcements, 2u);
  EXPECT_FALSE(s.arp().find(ours));
}

TEST_F(Arp, GratuitousArpUpdatesAnExistingEntry) {
  net::stack s(link_, config());
  s.input(request_for(ours, peer_mac, peer), 0);
  ASSERT_EQ(s.arp().find(peer)->mac, peer_mac);
  // RFC 5227 §3 announcement: sender and target are the peer's address, new hardware address.
  s.input(arp_frame(net::mac_broadcast,
                    {.op = net::arp_op_request, .sha = peer2_mac, .spa = peer, .tpa = peer}),
          sec);
  EXPECT_EQ(s.arp().find(peer)->mac, peer2_mac);
  EXPECT_EQ(s.counters().arp.entries_updated, 1u);
  EXPECT_EQ(link_.sent(), 1u);  // nothing answered
}

TEST_F(Arp, GratuitousArpForAnUnknownAddressAddsNothing) {
  net::stack s(link_, config());
  s.input(arp_frame(net::mac_broadcast, {.op = net::arp_op_reply,
                                         .sha = peer_mac,
                                         .spa = peer,
                                         .tha = net::mac_broadcast,
                                         .tpa = peer}),
          0);
  EXPECT_FALSE(s.arp().find(peer));
  EXPECT_EQ(s.counters().arp.rx_not_for_us, 1u);
}

TEST_F(Arp, ResolutionRetransmitsEverySecondThreeTimesThenDropsThePendingFrames) {
  net::stack s(link_, config());
  s.timers(10 * sec);
  ASSERT_TRUE(send_datagram(s, peer, 100));
  ASSERT_TRUE(send_datagram(s, peer, 100));
  ASSERT_EQ(link_.sent(), 1u);  // one request; the datagrams wait
  sent_arp rq = decode_arp(link_.last());
  EXPECT_EQ(rq.op, net::arp_op_request);
  EXPECT_EQ(rq.eth_dst, net::mac_broadcast);
  EXPECT_EQ(rq.spa, ours);
  EXPECT_EQ(rq.tpa, peer);
  EXPECT_EQ(rq.tha, net::mac_zero);
  EXPECT_EQ(s.arp().find(peer)->state, net::arp_state::incomplete);
  EXPECT_EQ(s.arp().find(peer)->pending, 2u);
  s.timers(10 * sec + sec / 2);
  EXPECT_EQ(link_.sent(), 1u);  // not before the interval
  s.timers(11 * sec);
  EXPECT_EQ(link_.sent(), 2u);
  s.timers(12 * sec);
  EXPECT_EQ(link_.sent(), 3u);
  EXPECT_EQ(decode_arp(link_.last()).tpa, peer);
  s.timers(13 * sec);  // three requests unanswered: give up
  EXPECT_EQ(link_.sent(), 3u);
  EXPECT_FALSE(s.arp().find(peer));
  const auto c = s.counters().arp;
  EXPECT_EQ(c.tx_requests, 3u);
  EXPECT_EQ(c.resolve_failed, 1u);
  EXPECT_EQ(c.pending_queued, 2u);
  EXPECT_EQ(c.pending_dropped, 2u);
  EXPECT_EQ(c.pending_sent, 0u);
}

TEST_F(Arp, ReplyReleasesThePendingFramesInOrderToTheResolvedAddress) {
  net::stack s(link_, config());
  ASSERT_TRUE(send_datagram(s, peer, 10, 1));
  ASSERT_TRUE(send_datagram(s, peer, 10, 2));
  ASSERT_TRUE(send_datagram(s, peer, 10, 3));
  link_.clear();
  s.input(reply_from(peer_mac, peer), sec);
  ASSERT_EQ(link_.sent(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    const parsed_ipv4 p = parse_ipv4_frame(link_.frame(i));
    ASSERT_TRUE(p.ok) << i;
    EXPECT_EQ(p.eth_dst, peer_mac);
    EXPECT_EQ(p.eth_src, our_mac);
    EXPECT_EQ(p.dst, peer);
    EXPECT_TRUE(p.checksum_valid);
    ASSERT_EQ(p.payload.size(), 10u);
    EXPECT_EQ(p.payload[0], std::byte(i + 1));
  }
  EXPECT_EQ(s.arp().find(peer)->state, net::arp_state::reachable);
  EXPECT_EQ(s.counters().arp.pending_sent, 3u);
  // Resolved: the next datagram goes at once.
  link_.clear();
  ASSERT_TRUE(send_datagram(s, peer, 10));
  EXPECT_EQ(link_.sent(), 1u);
  EXPECT_EQ(parse_ipv4_frame(link_.last()).eth_dst, peer_mac);
}

TEST_F(Arp, PendingQueueOverflowPerDestinationIsDroppedAndCounted) {
  net::arp_config ac;
  ac.pending_per_destination = 4;
  net::stack s(link_, config(ac));
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(send_datagram(s, peer, 20, uint8_t(i)));
  EXPECT_EQ(s.arp().find(peer)->pending, 4u);
  EXPECT_EQ(s.counters().arp.pending_queued, 4u);
  EXPECT_EQ(s.counters().arp.pending_dropped, 2u);
  EXPECT_EQ(s.counters().ip.tx_arp_dropped, 2u);
  link_.clear();
  s.input(reply_from(peer_mac, peer), sec);
  ASSERT_EQ(link_.sent(), 4u);  // the first four, the later ones were dropped
  EXPECT_EQ(parse_ipv4_frame(link_.frame(3)).payload[0], std::byte{3});
}

TEST_F(Arp, PendingPoolOverflowAcrossDestinationsIsDroppedAndCounted) {
  net::arp_config ac;
  ac.pending_per_destination = 4;
  ac.pending_pool = 6;
  net::stack s(link_, config(ac));
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(send_datagram(s, peer, 20));
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(send_datagram(s, peer2, 20));
  EXPECT_EQ(s.arp().find(peer)->pending, 4u);
  EXPECT_EQ(s.arp().find(peer2)->pending, 2u);
  EXPECT_EQ(s.counters().arp.pending_dropped, 2u);
  // Resolving the first returns its slots to the pool.
  s.input(reply_from(peer_mac, peer), sec);
  ASSERT_TRUE(send_datagram(s, peer2, 20));
  EXPECT_EQ(s.arp().find(peer2)->pending, 3u);
}

TEST_F(Arp, OffLinkDestinationsResolveTheGateway) {
  net::stack s(link_, config());
  ASSERT_TRUE(send_datagram(s, ip4(198, 51, 100, 7), 30));
  ASSERT_EQ(link_.sent(), 1u);
  EXPECT_EQ(decode_arp(link_.last()).tpa, gateway);
  link_.clear();
  s.input(reply_from(make_mac(0xfe), gateway), sec);
  ASSERT_EQ(link_.sent(), 1u);
  const parsed_ipv4 p = parse_ipv4_frame(link_.last());
  EXPECT_EQ(p.eth_dst, make_mac(0xfe));
  EXPECT_EQ(p.dst, ip4(198, 51, 100, 7));
}

TEST_F(Arp, UnusedEntryExpiresAfterTheReachableTime) {
  net::arp_config ac;
  ac.reachable_us = 30 * sec;
  net::stack s(link_, config(ac));
  s.input(request_for(ours, peer_mac, peer), 0);
  s.timers(30 * sec - 1);
  EXPECT_TRUE(s.arp().find(peer));
  s.timers(30 * sec);
  EXPECT_FALSE(s.arp().find(peer));
  EXPECT_EQ(s.counters().arp.entries_expired, 1u);
}

TEST_F(Arp, UsedEntryIsRefreshedByUnicastRequestsAndKeptInUseMeanwhile) {
  net::arp_config ac;
  ac.reachable_us = 30 * sec;
  net::stack s(link_, config(ac));
  s.input(request_for(ours, peer_mac, peer), 0);
  link_.clear();
  ASSERT_TRUE(send_datagram(s, peer, 10));  // used
  link_.clear();
  s.timers(30 * sec);
  ASSERT_EQ(link_.sent(), 1u);
  const sent_arp rq = decode_arp(link_.last());
  EXPECT_EQ(rq.op, net::arp_op_request);
  EXPECT_EQ(rq.eth_dst, peer_mac);  // unicast refresh
  EXPECT_EQ(rq.tpa, peer);
  EXPECT_EQ(s.arp().find(peer)->state, net::arp_state::probe);
  link_.clear();
  ASSERT_TRUE(send_datagram(s, peer, 10));  // still sent at once with the known address
  EXPECT_EQ(link_.sent(), 1u);
  s.input(reply_from(peer_mac, peer), 30 * sec + 100);
  EXPECT_EQ(s.arp().find(peer)->state, net::arp_state::reachable);
  // Refreshed: lives another reachable time from the reply.
  s.timers(60 * sec);
  EXPECT_TRUE(s.arp().find(peer));
  s.timers(60 * sec + 100);
  EXPECT_FALSE(s.arp().find(peer));  // unused since the refresh: expired
}

TEST_F(Arp, UnansweredRefreshFreesTheEntry) {
  net::arp_config ac;
  ac.reachable_us = 30 * sec;
  net::stack s(link_, config(ac));
  s.input(request_for(ours, peer_mac, peer), 0);
  ASSERT_TRUE(send_datagram(s, peer, 10));
  link_.clear();
  for (uint64_t t = 30; t <= 33; ++t) s.timers(t * sec);
  EXPECT_EQ(link_.sent(), 3u);
  EXPECT_FALSE(s.arp().find(peer));
  EXPECT_EQ(s.counters().arp.entries_expired, 1u);
}

TEST_F(Arp, FullCacheEvictsTheStalestDynamicEntryButNeverAStaticOne) {
  net::arp_config ac;
  ac.cache_size = 4;
  net::stack s(link_, config(ac));
  ASSERT_TRUE(s.arp().add_static(ip4(192, 0, 2, 200), make_mac(200), 0));
  for (uint8_t i = 0; i < 3; ++i) {
    s.input(request_for(ours, make_mac(uint8_t(20 + i)), ip4(192, 0, 2, uint8_t(20 + i))),
            (1 + i) * sec);
  }
  EXPECT_EQ(s.arp().size(), 4u);
  s.input(request_for(ours, make_mac(30), ip4(192, 0, 2, 30)), 10 * sec);
  EXPECT_EQ(s.arp().size(), 4u);
  EXPECT_FALSE(s.arp().find(ip4(192, 0, 2, 20)));  // confirmed longest ago
  EXPECT_TRUE(s.arp().find(ip4(192, 0, 2, 21)));
  EXPECT_TRUE(s.arp().find(ip4(192, 0, 2, 30)));
  EXPECT_TRUE(s.arp().find(ip4(192, 0, 2, 200)));
  EXPECT_EQ(s.counters().arp.entries_evicted, 1u);
}

TEST_F(Arp, CacheOfOnlyStaticEntriesRefusesNewOnesAndCountsIt) {
  net::arp_config ac;
  ac.cache_size = 2;
  net::stack s(link_, config(ac));
  ASSERT_TRUE(s.arp().add_static(ip4(192, 0, 2, 200), make_mac(200), 0));
  ASSERT_TRUE(s.arp().add_static(ip4(192, 0, 2, 201), make_mac(201), 0));
  EXPECT_FALSE(s.arp().add_static(ip4(192, 0, 2, 202), make_mac(202), 0));
  s.input(request_for(ours, peer_mac, peer), 0);
  EXPECT_EQ(link_.sent(), 1u);  // still answered
  EXPECT_FALSE(s.arp().find(peer));
  ASSERT_TRUE(send_datagram(s, peer2, 10));
  EXPECT_EQ(s.counters().arp.pending_dropped, 1u);
  EXPECT_EQ(s.counters().arp.cache_full, 3u);
}

TEST_F(Arp, EvictingAnIncompleteEntryDropsItsPendingFrames) {
  net::arp_config ac;
  ac.cache_size = 1;
  net::stack s(link_, config(ac));
  ASSERT_TRUE(send_datagram(s, peer, 10));
  ASSERT_TRUE(send_datagram(s, peer2, 10));
  EXPECT_FALSE(s.arp().find(peer));
  EXPECT_EQ(s.arp().find(peer2)->pending, 1u);
  EXPECT_EQ(s.counters().arp.pending_dropped, 1u);
  EXPECT_EQ(s.counters().arp.entries_evicted, 1u);
}

TEST_F(Arp, StaticEntryNeverExpiresAndIsNeverChangedByTheNetwork) {
  net::arp_config ac;
  ac.reachable_us = 10 * sec;
  net::stack s(link_, config(ac));
  ASSERT_TRUE(s.arp().add_static(peer, peer_mac, 0));
  s.timers(1000 * sec);
  ASSERT_TRUE(s.arp().find(peer));
  s.input(arp_frame(net::mac_broadcast,
                    {.op = net::arp_op_request, .sha = peer2_mac, .spa = peer, .tpa = peer}),
          1001 * sec);
  s.input(reply_from(peer2_mac, peer), 1002 * sec);
  EXPECT_EQ(s.arp().find(peer)->mac, peer_mac);
  EXPECT_EQ(s.arp().find(peer)->state, net::arp_state::permanent);
  EXPECT_EQ(s.counters().arp.static_protected, 2u);
  link_.clear();
  ASSERT_TRUE(send_datagram(s, peer, 10));
  EXPECT_EQ(parse_ipv4_frame(link_.last()).eth_dst, peer_mac);
}

TEST_F(Arp, StaticEntryForAnAddressBeingResolvedReleasesItsFrames) {
  net::stack s(link_, config());
  ASSERT_TRUE(send_datagram(s, peer, 10));
  link_.clear();
  ASSERT_TRUE(s.arp().add_static(peer, peer_mac, 0));
  ASSERT_EQ(link_.sent(), 1u);
  EXPECT_EQ(parse_ipv4_frame(link_.last()).eth_dst, peer_mac);
}

TEST_F(Arp, MalformedPacketsAreDroppedAndCounted) {
  net::stack s(link_, config());
  const arp_fields good{.op = net::arp_op_request, .sha = peer_mac, .spa = peer, .tpa = ours};
  std::vector<bytes> bad;
  {
    bytes f = eth_frame(net::mac_broadcast, peer_mac, net::ethertype_arp, arp_packet(good));
    f.resize(net::eth_header_len + net::arp_packet_len - 1);  // truncated
    bad.push_back(f);
  }
  bad.push_back(eth_frame(net::mac_broadcast, peer_mac, net::ethertype_arp, {}));
  for (auto mutate : {+[](arp_fields& a) { a.hrd = 6; }, +[](arp_fields& a) { a.pro = 0x86dd; },
                      +[](arp_fields& a) { a.hln = 8; }, +[](arp_fields& a) { a.pln = 16; },
                      +[](arp_fields& a) { a.op = 3; }, +[](arp_fields& a) { a.op = 0; }}) {
    arp_fields a = good;
    mutate(a);
    bad.push_back(arp_frame(net::mac_broadcast, a));
  }
  for (const auto& f : bad) s.input(f, 0);
  EXPECT_EQ(s.counters().arp.rx_malformed, bad.size());
  // Senders no host may have: ours (looped back), broadcast, multicast, zero.
  for (const auto& m :
       {our_mac, net::mac_broadcast, net::mac_addr{std::byte{0x01}}, net::mac_zero}) {
    arp_fields a = good;
    a.sha = m;
    s.input(arp_frame(net::mac_broadcast, a), 0);
  }
  EXPECT_EQ(s.counters().arp.rx_bogus_sender, 4u);
  EXPECT_EQ(link_.sent(), 0u);
  EXPECT_EQ(s.arp().size(), 0u);
}

TEST_F(Arp, NoTransmitBufferLosesTheReplyAndCountsIt) {
  net::stack s(link_, config());
  link_.out_of_buffers = true;
  s.input(request_for(ours, peer_mac, peer), 0);
  EXPECT_EQ(s.counters().arp.tx_no_buffer, 1u);
  EXPECT_EQ(s.counters().arp.tx_replies, 0u);
}

TEST_F(Arp, NoTransmitBufferWhenReleasingPendingFramesCountsThemDropped) {
  net::stack s(link_, config());
  ASSERT_TRUE(send_datagram(s, peer, 10));
  link_.out_of_buffers = true;
  s.input(reply_from(peer_mac, peer), sec);
  EXPECT_EQ(s.counters().arp.pending_dropped, 1u);
  EXPECT_EQ(s.counters().arp.tx_no_buffer, 1u);
  EXPECT_EQ(s.arp().find(peer)->pending, 0u);
}
