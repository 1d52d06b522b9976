// Software steering between the workers of one port without hardware RSS: the owner rule (no
// EAL), the rings with real mbufs (bursts, order, a full ring, ARP copies by reference count,
// teardown), and two worker threads with their own dpdk_transport on ONE ring port with two
// queues, where everything arrives on queue 0, against a peer transport on a second port.
#include "smpp/dataplane/dpdk/steering.hpp"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "dpdk_child.hpp"
#include "dpdk_transport_pair.hpp"
#include "smpp/dataplane/dpdk/dpdk_transport.hpp"
#include "smpp/dataplane/dpdk/port.hpp"
#include "smpp/dataplane/dpdk/rss.hpp"

namespace dp = smpp::dataplane::dpdk;
namespace net = smpp::net;
using dp::testing::run_child;
using dp::testing::test_eal_config;
using smpp::dataplane::bytes_view;
using smpp::dataplane::conn_id;
using smpp::dataplane::endpoint;
using smpp::dataplane::invalid_conn;
using smpp::dataplane::peer_address;
using smpp::dataplane::transport_handler;
using namespace std::chrono_literals;

namespace {

constexpr net::ipv4_addr addr_a = 0x0a000001;  // 10.0.0.1: both workers of port A
constexpr net::ipv4_addr addr_b = 0x0a000002;  // 10.0.0.2: the peer on port B

void put16(std::vector<std::byte>& f, size_t at, uint16_t v) {
  f[at] = std::byte(v >> 8);
  f[at + 1] = std::byte(v & 0xff);
}
void put32(std::vector<std::byte>& f, size_t at, uint32_t v) {
  put16(f, at, static_cast<uint16_t>(v >> 16));
  put16(f, at + 2, static_cast<uint16_t>(v));
}

// Ethernet + IPv4 (20 octets) + TCP (20 octets); checksums are not the rule's business.
std::vector<std::byte> tcp_frame(net::ipv4_addr src, net::ipv4_addr dst, uint16_t sport,
                                 uint16_t dport, bool vlan = false) {
  const size_t l2 = vlan ? 18 : 14;
  std::vector<std::byte> f(l2 + 40);
  if (vlan) {
    put16(f, 12, 0x8100);
    put16(f, 14, 7);
  }
  put16(f, l2 - 2, 0x0800);
  f[l2] = std::byte{0x45};
  put16(f, l2 + 2, 40);
  f[l2 + 8] = std::byte{64};
  f[l2 + 9] = std::byte{6};
  put32(f, l2 + 12, src);
  put32(f, l2 + 16, dst);
  put16(f, l2 + 20, sport);
  put16(f, l2 + 22, dport);
  return f;
}

std::vector<std::byte> arp_frame(uint16_t op, net::ipv4_addr spa, net::ipv4_addr tpa) {
  std::vector<std::byte> f(14 + 28);
  put16(f, 12, 0x0806);
  put16(f, 14, 1);       // hrd: Ethernet
  put16(f, 16, 0x0800);  // pro: IPv4
  f[18] = std::byte{6};
  f[19] = std::byte{4};
  put16(f, 20, op);
  f[22] = std::byte{0x02};  // sha 02:..:0b
  f[27] = std::byte{0x0b};
  put32(f, 28, spa);
  put32(f, 38, tpa);
  return f;
}

std::unique_ptr<dp::steering> make_steering(uint16_t workers, uint32_t ring_frames = 1024) {
  std::string error;
  auto s = dp::steering::create(dp::rss_steering(dp::symmetric_rss_key(), workers),
                                {workers, ring_frames}, error);
  EXPECT_NE(s, nullptr) << error;
  return s;
}

TEST(SteeringRule, TcpGoesToTheQueueOfTheSoftwareHashSameBothWays) {
  constexpr uint16_t workers = 4;
  auto s = make_steering(workers);
  ASSERT_NE(s, nullptr);
  const dp::rss_steering& rule = s->rule();
  std::mt19937 rng(11u);
  std::array<int, workers> per_owner{};
  for (int i = 0; i < 4000; ++i) {
    const auto src = static_cast<net::ipv4_addr>(rng()), dst = static_cast<net::ipv4_addr>(rng());
    const auto sp = static_cast<uint16_t>(rng()), dpt = static_cast<uint16_t>(rng());
    const uint16_t expected = rule.queue_of(rule.rss_hash(src, dst, sp, dpt));
    ++per_owner[expected];
    for (uint16_t self = 0; self < workers; ++self) {
      const auto v = s->classify(self, tcp_frame(src, dst, sp, dpt, i % 2 == 1));
      if (self == expected) {
        ASSERT_EQ(v.what, dp::steering::action::here);
      } else {
        ASSERT_EQ(v.what, dp::steering::action::owner);
        ASSERT_EQ(v.owner, expected);
      }
    }
    // The reply direction has the same owner (symmetric key): a connection stays on one worker.
    const auto back = s->classify(expected, tcp_frame(dst, src, dpt, sp));
    ASSERT_EQ(back.what, dp::steering::action::here);
  }
  for (const int n : per_owner) EXPECT_GT(n, 800) << "the hash spreads flows over the workers";
}

TEST(SteeringRule, ArpRepliesAndAnnouncementsGoToEveryoneOtherFramesStayWithTheReceiver) {
  auto s = make_steering(3);
  ASSERT_NE(s, nullptr);
  using A = dp::steering::action;
  EXPECT_EQ(s->classify(2, arp_frame(2, addr_b, addr_a)).what, A::everyone);  // reply
  EXPECT_EQ(s->classify(0, arp_frame(1, addr_b, addr_b)).what, A::everyone);  // announcement
  EXPECT_EQ(s->classify(0, arp_frame(1, addr_b, addr_a)).what, A::here);  // request: answered once
  EXPECT_EQ(s->classify(0, arp_frame(3, addr_b, addr_a)).what, A::here);  // unknown op
  auto short_arp = arp_frame(2, addr_b, addr_a);
  short_arp.resize(short_arp.size() - 1);
  EXPECT_EQ(s->classify(1, short_arp).what, A::here);
  // ICMP, UDP and fragments: the receiver.
  auto icmp = tcp_frame(addr_b, addr_a, 1, 2);
  icmp[14 + 9] = std::byte{1};
  EXPECT_EQ(s->classify(1, icmp).what, A::here);
  auto udp = tcp_frame(addr_b, addr_a, 1, 2);
  udp[14 + 9] = std::byte{17};
  EXPECT_EQ(s->classify(0, udp).what, A::here);
  auto frag = tcp_frame(addr_b, addr_a, 1, 2);
  put16(frag, 14 + 6, 0x2000);  // MF
  EXPECT_EQ(s->classify(0, frag).what, A::here);
  // Every truncation of a TCP frame and of an ARP reply is classified without reading past it.
  const auto tcp = tcp_frame(addr_b, addr_a, 40000, 2775);
  const auto arp = arp_frame(2, addr_b, addr_a);
  // The owner needs the ports only: from 14 + 20 + 4 octets on, the full frame's verdict.
  const auto full = s->classify(0, tcp);
  for (size_t n = 0; n < tcp.size(); ++n) {
    const auto v = s->classify(0, std::span(tcp.data(), n));
    if (n < 38) {
      EXPECT_EQ(v.what, A::here) << n;
    } else {
      EXPECT_EQ(v.what, full.what) << n;
      EXPECT_EQ(v.owner, full.owner) << n;
    }
  }
  for (size_t n = 0; n < arp.size(); ++n) {
    EXPECT_EQ(s->classify(0, std::span(arp.data(), n)).what, A::here) << n;
  }
  // One worker: everything is its own.
  auto one = make_steering(1);
  ASSERT_NE(one, nullptr);
  EXPECT_EQ(one->classify(0, arp).what, A::here);
  EXPECT_EQ(one->classify(0, tcp).what, A::here);
}

TEST(SteeringRule, CreateRefusesBadConfigs) {
  std::string error;
  const auto key = dp::symmetric_rss_key();
  EXPECT_EQ(dp::steering::create(dp::rss_steering(key, 2), {0, 64}, error), nullptr);
  EXPECT_NE(error.find("workers 0"), std::string::npos) << error;
  EXPECT_EQ(dp::steering::create(dp::rss_steering(key, 2), {65, 64}, error), nullptr);
  EXPECT_EQ(dp::steering::create(dp::rss_steering(key, 2), {2, 0}, error), nullptr);
  EXPECT_NE(error.find("ring_frames 0"), std::string::npos) << error;
  EXPECT_EQ(dp::steering::create(dp::rss_steering(key, 2), {2, (1u << 20) + 1}, error), nullptr);
  // A table naming queues 2 and 3 with only 2 workers would hand frames to nobody.
  EXPECT_EQ(dp::steering::create(dp::rss_steering(key, 4), {2, 64}, error), nullptr);
  EXPECT_NE(error.find("queue 2"), std::string::npos) << error;
  auto s = dp::steering::create(dp::rss_steering(key, 2), {2, 100}, error);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->ring_capacity(), 128u);  // rounded up to a power of two
  // Two ordered pairs, each a 128-frame ring and a 32-frame staging burst.
  EXPECT_EQ(dp::steering::mbufs_held_at_most(2, 100), 2u * (128 + 32));
  EXPECT_EQ(dp::steering::mbufs_held_at_most(4, 1024), 12u * (1024 + 32));
  EXPECT_EQ(dp::steering::mbufs_held_at_most(1, 1024), 0u);
}

// Real mbufs from a pool in an EAL child: order, bursts, the bound, copies, teardown.
TEST(SteeringRings, BurstsInOrderFullRingFreesAndCountsCopiesByReferenceTeardownFreesAll) {
  EXPECT_CHILD_OK(run_child([] {
    dp::eal_config ec = test_eal_config({});
    std::string error;
    auto e = dp::eal::init(ec, error);
    CHILD_CHECK(e.has_value());
    rte_mempool* pool =
        rte_pktmbuf_pool_create("steer_pool", 1023, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    CHILD_CHECK(pool != nullptr);
    const unsigned whole = rte_mempool_avail_count(pool);
    auto tagged = [&](uint32_t tag) {
      rte_mbuf* m = rte_pktmbuf_alloc(pool);
      if (m == nullptr) return m;
      auto* d = reinterpret_cast<uint32_t*>(rte_pktmbuf_append(m, 4));
      *d = tag;
      return m;
    };
    auto tag_of = [](rte_mbuf* m) { return *rte_pktmbuf_mtod(m, uint32_t*); };
    {
      auto s = dp::steering::create(dp::rss_steering(dp::symmetric_rss_key(), 3), {3, 64}, error);
      CHILD_CHECK(s != nullptr);
      CHILD_CHECK(s->ring_capacity() == 64);
      // 100 frames from worker 0 to worker 1: 64 fit, 36 are freed and counted.
      for (uint32_t i = 0; i < 100; ++i) {
        rte_mbuf* m = tagged(i);
        CHILD_CHECK(m != nullptr);
        s->hand_over(0, 1, m);
      }
      (void)s->flush(0);
      CHILD_CHECK(s->counters(0).steered_out == 100);
      CHILD_CHECK(s->counters(0).ring_full_drops == 36);
      CHILD_CHECK(s->queued(0, 1) == 64);
      CHILD_CHECK(rte_mempool_avail_count(pool) == whole - 64);  // the dropped ones are back
      // Worker 2 has nothing; worker 1 gets the first 64 in order, in bursts.
      std::array<rte_mbuf*, 32> out{};
      CHILD_CHECK(s->drain(2, out) == 0);
      uint32_t next = 0;
      for (int b = 0; b < 3; ++b) {
        const size_t got = s->drain(1, out);
        CHILD_CHECK(got == (b < 2 ? 32u : 0u));
        for (size_t i = 0; i < got; ++i) {
          CHILD_CHECK(tag_of(out[i]) == next++);
          rte_pktmbuf_free(out[i]);
        }
      }
      CHILD_CHECK(s->counters(1).steered_in == 64);
      CHILD_CHECK(rte_mempool_avail_count(pool) == whole);
      // Room again after draining: the ring is usable, not stuck.
      rte_mbuf* again = tagged(500);
      s->hand_over(0, 1, again);
      CHILD_CHECK(s->flush(0) == 1);
      CHILD_CHECK(s->drain(1, out) == 1 && tag_of(out[0]) == 500);
      rte_pktmbuf_free(out[0]);

      // A copy to the others: one mbuf, three references; each worker frees its own.
      rte_mbuf* arp = tagged(7);
      s->copy_to_others(1, arp);
      CHILD_CHECK(rte_mbuf_refcnt_read(arp) == 3);
      CHILD_CHECK(s->flush(1) == 2);
      CHILD_CHECK(s->counters(1).copies_out == 2);
      rte_pktmbuf_free(arp);  // worker 1's own reference
      for (const uint16_t w : {uint16_t{0}, uint16_t{2}}) {
        CHILD_CHECK(s->drain(w, out) == 1 && out[0] == arp && tag_of(out[0]) == 7);
        rte_pktmbuf_free(out[0]);
      }
      CHILD_CHECK(rte_mempool_avail_count(pool) == whole);

      // Copies into a full ring are dropped by reference: the mbuf survives for the others.
      for (uint32_t i = 0; i < 64; ++i) s->hand_over(2, 0, tagged(1000 + i));
      (void)s->flush(2);
      rte_mbuf* reply = tagged(8);
      s->copy_to_others(2, reply);
      CHILD_CHECK(s->flush(2) == 1);  // to worker 1; worker 0's ring is full
      CHILD_CHECK(s->counters(2).ring_full_drops == 1);
      CHILD_CHECK(rte_mbuf_refcnt_read(reply) == 2);
      rte_pktmbuf_free(reply);
      CHILD_CHECK(s->drain(1, out) == 1 && out[0] == reply);
      rte_pktmbuf_free(out[0]);

      // Frames left in rings and staging bursts are freed with the steering.
      for (uint32_t i = 0; i < 10; ++i) s->hand_over(1, 2, tagged(2000 + i));
      (void)s->flush(1);
      s->hand_over(1, 0, tagged(3000));  // staged, never flushed
    }
    CHILD_CHECK(rte_mempool_avail_count(pool) == whole);
    rte_mempool_free(pool);
    return 0;
  }));
}

// Two threads on the rings at once (run under TSan too: every access to an mbuf is ordered by
// the steering's rings, because only the producing thread allocates and frees). Worker 0 hands
// 20,000 tagged frames to worker 1, every tenth as a copy to the others (it keeps and frees its
// own reference at once); worker 1 checks the order and hands each frame back; worker 0 frees
// what returns. At most 48 frames are out at a time, so the 64-frame way back never fills.
TEST(SteeringRings, TwoThreadsHandFramesOverAndBackInOrderAndThePoolEndsWhole) {
  EXPECT_CHILD_OK(run_child([] {
    dp::eal_config ec = test_eal_config({});
    std::string error;
    auto e = dp::eal::init(ec, error);
    CHILD_CHECK(e.has_value());
    rte_mempool* pool =
        rte_pktmbuf_pool_create("steer_mt", 511, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    CHILD_CHECK(pool != nullptr);
    const unsigned whole = rte_mempool_avail_count(pool);
    constexpr uint32_t frames = 20'000;
    constexpr uint32_t in_flight_max = 48;
    auto s = dp::steering::create(dp::rss_steering(dp::symmetric_rss_key(), 2), {2, 64}, error);
    CHILD_CHECK(s != nullptr);
    std::atomic<bool> producer_done{false};
    std::atomic<uint32_t> order_errors{0};
    uint32_t seen_by_1 = 0;
    std::thread worker1([&] {
      std::array<rte_mbuf*, 32> in{};
      uint32_t last = 0;
      bool any = false;
      const auto until = std::chrono::steady_clock::now() + 30s;
      while (std::chrono::steady_clock::now() < until) {
        const bool finished = producer_done.load(std::memory_order_acquire);
        const size_t got = s->drain(1, in);
        for (size_t i = 0; i < got; ++i) {
          const uint32_t tag = *rte_pktmbuf_mtod(in[i], uint32_t*);
          if (any && tag <= last) order_errors.fetch_add(1);
          last = tag;
          any = true;
          ++seen_by_1;
          s->hand_over(1, 0, in[i]);
        }
        (void)s->flush(1);
        if (finished && got == 0 && s->queued(0, 1) == 0) break;
      }
    });
    uint32_t next = 0, out = 0, back = 0;
    std::array<rte_mbuf*, 32> in{};
    const auto until = std::chrono::steady_clock::now() + 30s;
    while ((next < frames || out > 0) && std::chrono::steady_clock::now() < until) {
      while (next < frames && out < in_flight_max) {
        rte_mbuf* m = rte_pktmbuf_alloc(pool);
        if (m == nullptr) break;
        *reinterpret_cast<uint32_t*>(rte_pktmbuf_append(m, 4)) = next;
        const uint64_t drops = s->counters(0).ring_full_drops;
        if (next % 10 == 0) {
          s->copy_to_others(0, m);
          rte_pktmbuf_free(m);  // our own reference: worker 1 holds the other
        } else {
          s->hand_over(0, 1, m);
        }
        ++next;
        ++out;
        out -= static_cast<uint32_t>(s->counters(0).ring_full_drops - drops);
      }
      const uint64_t drops = s->counters(0).ring_full_drops;
      (void)s->flush(0);
      out -= static_cast<uint32_t>(s->counters(0).ring_full_drops - drops);
      const size_t got = s->drain(0, in);
      for (size_t i = 0; i < got; ++i) rte_pktmbuf_free(in[i]);
      back += static_cast<uint32_t>(got);
      out -= static_cast<uint32_t>(got);
    }
    producer_done.store(true, std::memory_order_release);
    worker1.join();
    // What worker 1 handed back after worker 0 stopped draining.
    for (size_t got; (got = s->drain(0, in)) > 0;) {
      for (size_t i = 0; i < got; ++i) rte_pktmbuf_free(in[i]);
      back += static_cast<uint32_t>(got);
    }
    std::fprintf(stderr, "[child] sent %u, worker 1 saw %u, back %u, drops %lu\n", next, seen_by_1,
                 back, s->counters(0).ring_full_drops);
    CHILD_CHECK(next == frames);
    CHILD_CHECK(order_errors.load() == 0);
    CHILD_CHECK(seen_by_1 == back);
    CHILD_CHECK(seen_by_1 + s->counters(0).ring_full_drops == frames);
    CHILD_CHECK(s->counters(1).steered_in == seen_by_1);
    CHILD_CHECK(s->counters(1).ring_full_drops == 0);
    CHILD_CHECK(s->counters(0).copies_out == frames / 10);
    s.reset();
    CHILD_CHECK(rte_mempool_avail_count(pool) == whole);
    rte_mempool_free(pool);
    return 0;
  }));
}

// Port A: one ring port with two RX and two TX queues; everything the peer sends arrives on
// RX queue 0 (queue 1's ring stays empty), both TX queues feed the peer. Port B: the peer.
struct steered_pair {
  rte_ring* to_a = nullptr;    // B -> A queue 0
  rte_ring* a_idle = nullptr;  // A queue 1: never fed
  rte_ring* to_b = nullptr;    // A (both workers) -> B: multi-producer
  std::optional<dp::port> a, b;

  bool open(std::string& error) {
    void* lib = dlopen("librte_net_ring.so.23", RTLD_NOW | RTLD_NOLOAD);
    if (lib == nullptr) lib = dlopen("librte_net_ring.so", RTLD_NOW);
    auto from_rings =
        lib == nullptr
            ? nullptr
            : reinterpret_cast<dp::testing::from_rings_fn>(dlsym(lib, "rte_eth_from_rings"));
    if (from_rings == nullptr) {
      error = "no rte_eth_from_rings in the ring driver";
      return false;
    }
    to_a = rte_ring_create("st_to_a", 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    a_idle = rte_ring_create("st_idle", 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    to_b = rte_ring_create("st_to_b", 2048, SOCKET_ID_ANY, RING_F_SC_DEQ);
    if (to_a == nullptr || a_idle == nullptr || to_b == nullptr) {
      error = "rte_ring_create failed";
      return false;
    }
    rte_ring* a_rx[] = {to_a, a_idle};
    rte_ring* a_tx[] = {to_b, to_b};
    rte_ring* b_rx[] = {to_b};
    rte_ring* b_tx[] = {to_a};
    const int id_a = from_rings("net_ring_sta", a_rx, 2, a_tx, 2, 0);
    const int id_b = from_rings("net_ring_stb", b_rx, 1, b_tx, 1, 0);
    char name_a[RTE_ETH_NAME_MAX_LEN] = {};
    char name_b[RTE_ETH_NAME_MAX_LEN] = {};
    if (id_a < 0 || id_b < 0 ||
        rte_eth_dev_get_name_by_port(static_cast<uint16_t>(id_a), name_a) != 0 ||
        rte_eth_dev_get_name_by_port(static_cast<uint16_t>(id_b), name_b) != 0) {
      error = "rte_eth_from_rings failed";
      return false;
    }
    rte_ether_addr mac_a{{0x02, 0, 0, 0, 0, 0x0a}};
    rte_ether_addr mac_b{{0x02, 0, 0, 0, 0, 0x0b}};
    if (rte_eth_dev_mac_addr_add(static_cast<uint16_t>(id_a), &mac_a, 0) != 0 ||
        rte_eth_dev_mac_addr_add(static_cast<uint16_t>(id_b), &mac_b, 0) != 0) {
      error = "rte_eth_dev_mac_addr_add failed";
      return false;
    }
    dp::port_config pc;
    pc.device = name_a;
    pc.worker_lcores = {0, 0};
    pc.link_wait_ms = 1000;
    if (auto p = dp::port::open(pc, error)) a.emplace(std::move(*p));
    if (!a) return false;
    pc.device = name_b;
    pc.worker_lcores = {0};
    if (auto p = dp::port::open(pc, error)) b.emplace(std::move(*p));
    return b.has_value();
  }
  ~steered_pair() {
    a.reset();
    b.reset();
    rte_ring_free(to_a);
    rte_ring_free(a_idle);
    rte_ring_free(to_b);
  }
};

dp::dpdk_transport_config config_of(net::ipv4_addr addr, uint32_t seed) {
  dp::dpdk_transport_config c;
  c.address = addr;
  c.prefix_len = 24;
  c.limits.max_connections = 64;
  c.limits.max_send_queue_bytes = 1u << 20;
  c.tcp.max_connections = 128;
  c.tcp.max_listeners = 2;
  c.tcp.msl_us = 100'000;
  c.tcp.initial_rto_us = 100'000;
  c.tcp.min_rto_us = 20'000;
  c.tcp.random_seed = seed;
  c.close_linger_ms = 3000;
  return c;
}

// The byte of connection `id` at `offset`: every connection's stream is distinct.
std::byte pattern(uint32_t id, size_t offset) {
  return std::byte(static_cast<uint8_t>(id * 131u + offset * 7u + (offset >> 9)));
}

// One end of the test on one transport: echoes what its listener accepts, and runs clients
// that send `bytes` each and check every echoed octet. Used by one thread only.
class endpoint_node final : public transport_handler {
 public:
  endpoint_node(dp::dpdk_transport& t, size_t bytes, uint32_t id_base, std::atomic<uint32_t>& done,
                std::atomic<uint32_t>& failures)
      : t_(t), bytes_(bytes), id_base_(id_base), done_(done), failures_(failures) {}

  const dp::rss_steering* rule = nullptr;  // set: check every accepted flow is this worker's
  uint16_t self = 0;
  uint32_t accepted = 0;
  uint32_t accepted_elsewhere = 0;  // accepted flows whose hash names another worker
  uint32_t connected = 0;
  uint32_t clients_done = 0;

  void start_client(uint16_t port) {
    int err = 0;
    const conn_id c =
        t_.connect(endpoint{"10.0.0." + std::to_string(port == 2775 ? 1 : 2), port}, err);
    if (c == invalid_conn) {
      std::fprintf(stderr, "connect failed: %d %s\n", err, t_.last_error().c_str());
      failures_.fetch_add(1);
      return;
    }
    clients_.push_back({c, id_base_ + static_cast<uint32_t>(clients_.size()), 0, 0});
  }

  void on_accept(conn_id, uint32_t, const peer_address& peer) override {
    ++accepted;
    if (rule != nullptr) {
      net::ipv4_addr src = 0;
      std::memcpy(&src, peer.addr, 4);
      src = ntohl(src);
      if (rule->queue_of(rule->rss_hash(src, t_.address(), peer.port, 2775)) != self) {
        ++accepted_elsewhere;
      }
    }
  }
  void on_connect(conn_id c, int err) override {
    client* k = find(c);
    if (k == nullptr || err != 0) {
      std::fprintf(stderr, "on_connect err %d\n", err);
      failures_.fetch_add(1);
      return;
    }
    ++connected;
    std::vector<std::byte> data(bytes_);
    for (size_t i = 0; i < bytes_; ++i) data[i] = pattern(k->id, i);
    if (!t_.send(c, bytes_view(data.data(), data.size()))) failures_.fetch_add(1);
  }
  void on_data(conn_id c, bytes_view data) override {
    if (client* k = find(c)) {
      for (const std::byte b : data) {
        if (k->received >= bytes_ || b != pattern(k->id, k->received)) {
          if (k->bad++ == 0)
            std::fprintf(stderr, "client %u: wrong octet at %zu\n", k->id, k->received);
        }
        ++k->received;
      }
      if (k->received == bytes_ && k->bad == 0) {
        ++clients_done;
        done_.fetch_add(1);
        t_.close(c);
      } else if (k->received >= bytes_) {
        failures_.fetch_add(1);
      }
      return;
    }
    if (!t_.send(c, data)) failures_.fetch_add(1);  // echo
  }
  void on_writable(conn_id) override {}
  void on_close(conn_id c, int err) override {
    if (client* k = find(c); k != nullptr && k->received != bytes_) {
      std::fprintf(stderr, "client %u closed early: %d after %zu\n", k->id, err, k->received);
      failures_.fetch_add(1);
    }
  }

 private:
  struct client {
    conn_id c;
    uint32_t id;
    size_t received;
    size_t bad;
  };
  client* find(conn_id c) {
    for (client& k : clients_) {
      if (k.c == c) return &k;
    }
    return nullptr;
  }
  dp::dpdk_transport& t_;
  size_t bytes_;
  uint32_t id_base_;
  std::atomic<uint32_t>& done_;
  std::atomic<uint32_t>& failures_;
  std::vector<client> clients_;
};

struct scenario {
  uint32_t ring_frames = 1024;
  uint32_t inbound = 24;       // connections the peer opens to A
  uint32_t outbound_each = 6;  // connections each A worker opens to the peer
  size_t bytes = 48 * 1024;    // per connection, echoed back
  std::chrono::seconds limit{40};
  bool expect_drops = false;
};

// Two worker threads on port A (queues 0 and 1, one steering), the peer polled by this thread.
int run_two_workers(const scenario& sc) {
  dp::eal_config ec = test_eal_config({});
  std::string error;
  auto e = dp::eal::init(ec, error);
  CHILD_CHECK(e.has_value());
  steered_pair pair;
  if (!pair.open(error)) {
    std::fprintf(stderr, "[child] %s\n", error.c_str());
    return 1;
  }
  CHILD_CHECK(!pair.a->hardware_rss() && pair.a->queues() == 2);
  auto steer = dp::steering::create(pair.a->steering(), {2, sc.ring_frames}, error);
  CHILD_CHECK(steer != nullptr);
  const uint32_t total = sc.inbound + 2 * sc.outbound_each;
  std::atomic<uint32_t> done{0}, failures{0};
  std::atomic<bool> stop{false};
  {
    std::array<std::unique_ptr<dp::dpdk_transport>, 2> w;
    for (uint16_t q = 0; q < 2; ++q) {
      auto c = config_of(addr_a, 100 + q);
      c.software_steering = steer.get();
      w[q] = dp::dpdk_transport::create(*pair.a, q, c, error);
      CHILD_CHECK(w[q] != nullptr);
    }
    auto peer = dp::dpdk_transport::create(*pair.b, 0, config_of(addr_b, 7), error);
    CHILD_CHECK(peer != nullptr);
    endpoint_node peer_node(*peer, sc.bytes, 0, done, failures);
    peer->set_handler(&peer_node);
    CHILD_CHECK(peer->listen(endpoint{"10.0.0.2", 2776}) >= 0);
    std::array<std::unique_ptr<endpoint_node>, 2> nodes;
    for (uint16_t q = 0; q < 2; ++q) {
      nodes[q] = std::make_unique<endpoint_node>(*w[q], sc.bytes, 1000 * (q + 1), done, failures);
      nodes[q]->rule = &pair.a->steering();
      nodes[q]->self = q;
      w[q]->set_handler(nodes[q].get());
      CHILD_CHECK(w[q]->listen(endpoint{"10.0.0.1", 2775}) >= 0);
    }
    const auto deadline = std::chrono::steady_clock::now() + sc.limit;
    std::array<std::thread, 2> threads;
    for (uint16_t q = 0; q < 2; ++q) {
      threads[q] = std::thread([&, q] {
        for (uint32_t i = 0; i < sc.outbound_each; ++i) nodes[q]->start_client(2776);
        while (!stop.load(std::memory_order_relaxed)) w[q]->poll(200);
        // Let the peer see our last ACKs and FINs.
        for (int i = 0; i < 50; ++i) w[q]->poll(0);
      });
    }
    for (uint32_t i = 0; i < sc.inbound; ++i) peer_node.start_client(2775);
    while (done.load() < total && failures.load() == 0 &&
           std::chrono::steady_clock::now() < deadline) {
      peer->poll(200);
    }
    stop = true;
    for (auto& t : threads) t.join();
    std::fprintf(stderr,
                 "[child] done %u/%u failures %u; worker0 accepted %u (elsewhere %u) link rx %lu "
                 "steered_out %lu copies %lu drops %lu; worker1 accepted %u (elsewhere %u) link rx "
                 "%lu steered_in %lu drops %lu; worker1 rx_from_other_workers %lu\n",
                 done.load(), total, failures.load(), nodes[0]->accepted,
                 nodes[0]->accepted_elsewhere, w[0]->link_counters().rx_frames,
                 steer->counters(0).steered_out, steer->counters(0).copies_out,
                 steer->counters(0).ring_full_drops, nodes[1]->accepted,
                 nodes[1]->accepted_elsewhere, w[1]->link_counters().rx_frames,
                 steer->counters(1).steered_in, steer->counters(1).ring_full_drops,
                 w[1]->stats().rx_from_other_workers);
    CHILD_CHECK(failures.load() == 0);
    CHILD_CHECK(done.load() == total);
    // Every inbound flow was served by its owner, and both workers had some.
    CHILD_CHECK(nodes[0]->accepted + nodes[1]->accepted == sc.inbound);
    CHILD_CHECK(nodes[0]->accepted_elsewhere == 0 && nodes[1]->accepted_elsewhere == 0);
    CHILD_CHECK(nodes[0]->accepted > 0 && nodes[1]->accepted > 0);
    // Each worker's own outbound connections completed: their replies came back to it.
    CHILD_CHECK(nodes[0]->clients_done == sc.outbound_each);
    CHILD_CHECK(nodes[1]->clients_done == sc.outbound_each);
    // Everything arrived on queue 0; worker 1 got its frames only through steering.
    CHILD_CHECK(w[1]->link_counters().rx_frames == 0);
    CHILD_CHECK(w[0]->link_counters().rx_frames > 0);
    CHILD_CHECK(steer->counters(0).steered_out > 0 && steer->counters(0).copies_out > 0);
    CHILD_CHECK(w[1]->stats().rx_from_other_workers == steer->counters(1).steered_in);
    // Every frame worker 0 handed on was taken by worker 1, dropped at the full ring, or is
    // still queued.
    CHILD_CHECK(steer->counters(1).steered_in + steer->queued(0, 1) +
                    steer->counters(0).ring_full_drops ==
                steer->counters(0).steered_out + steer->counters(0).copies_out);
    CHILD_CHECK(steer->counters(1).steered_out == 0);  // worker 1 never received from the port
    if (sc.expect_drops) {
      CHILD_CHECK(steer->counters(0).ring_full_drops > 0);
    }
    // Worker 0 kept exactly the frames that were its own (or the receiver's).
    CHILD_CHECK(steer->counters(0).handled_here + steer->counters(0).steered_out ==
                w[0]->link_counters().rx_frames);
    w[0].reset();
    w[1].reset();
    peer.reset();
  }
  steer.reset();
  return 0;
}

TEST(SteeringTransport, TwoWorkerThreadsOnOnePortWithoutRssEachServesItsOwnFlowsEveryByteExact) {
  EXPECT_CHILD_OK(run_child([] { return run_two_workers(scenario{}); }, 90s));
}

TEST(SteeringTransport, TinyRingsOverflowAreCountedAndTcpStillDeliversEveryByte) {
  scenario sc;
  sc.ring_frames = 4;
  sc.inbound = 6;
  sc.outbound_each = 2;
  sc.bytes = 64 * 1024;
  sc.expect_drops = true;
  EXPECT_CHILD_OK(run_child([sc] { return run_two_workers(sc); }, 90s));
}

TEST(SteeringTransport, CreateRefusesSteeringThatDoesNotMatchThePort) {
  EXPECT_CHILD_OK(run_child([] {
    dp::eal_config ec = test_eal_config({});
    std::string error;
    auto e = dp::eal::init(ec, error);
    CHILD_CHECK(e.has_value());
    steered_pair pair;
    CHILD_CHECK(pair.open(error));
    auto three = dp::steering::create(dp::rss_steering(dp::symmetric_rss_key(), 3), {3, 64}, error);
    CHILD_CHECK(three != nullptr);
    auto c = config_of(addr_a, 1);
    c.software_steering = three.get();
    CHILD_CHECK(dp::dpdk_transport::create(*pair.a, 0, c, error) == nullptr);
    CHILD_CHECK(error.find("does not match the port") != std::string::npos);
    std::array<uint8_t, dp::rss_key_size> other_key{};
    other_key.fill(0x42);
    auto wrong_key = dp::steering::create(dp::rss_steering(other_key, 2), {2, 64}, error);
    CHILD_CHECK(wrong_key != nullptr);
    c.software_steering = wrong_key.get();
    CHILD_CHECK(dp::dpdk_transport::create(*pair.a, 1, c, error) == nullptr);
    auto right = dp::steering::create(pair.a->steering(), {2, 64}, error);
    c.software_steering = right.get();
    CHILD_CHECK(dp::dpdk_transport::create(*pair.a, 1, c, error) != nullptr);
    return 0;
  }));
}

}  // namespace
