#include "smpp/dataplane/dpdk/port_link.hpp"

#include <gtest/gtest.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <cmath>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "dpdk_child.hpp"
#include "smpp/dataplane/dpdk/port.hpp"

namespace dp = smpp::dataplane::dpdk;
using dp::testing::run_child;
using dp::testing::test_eal_config;

namespace {

// A frame numbered `seq`: broadcast destination, our source, a test EtherType, the number.
bool send_numbered(dp::port_link& l, uint32_t seq, size_t length = 64) {
  auto f = l.alloc_frame(length);
  if (f.empty()) return false;
  std::memset(f.data(), 0xff, 6);
  const auto mac = l.mac();
  std::memcpy(f.data() + 6, mac.data(), 6);
  f[12] = std::byte{0x88};
  f[13] = std::byte{0xb5};  // IEEE 802 local experimental EtherType
  std::memcpy(f.data() + 14, &seq, sizeof seq);
  for (size_t i = 18; i < length; ++i) f[i] = std::byte(seq + i);
  l.send_frame(length);
  return true;
}

// Frame number, or -1 when the content is not what send_numbered wrote.
int64_t read_numbered(std::span<const std::byte> f) {
  if (f.size() < 18 || f[12] != std::byte{0x88} || f[13] != std::byte{0xb5}) return -1;
  uint32_t seq = 0;
  std::memcpy(&seq, f.data() + 14, sizeof seq);
  for (size_t i = 18; i < f.size(); ++i) {
    if (f[i] != std::byte(seq + i)) return -1;
  }
  return seq;
}

dp::port_config ring_port(uint16_t queues) {
  dp::port_config c;
  c.device = "net_ring0";
  c.worker_lcores.assign(queues, 0);
  c.link_wait_ms = 1000;
  return c;
}

}  // namespace

TEST(PortLink, RingLoopbackDeliversEveryFrameOnceInOrder) {
  EXPECT_CHILD_OK(run_child([] {
    std::string error;
    auto e = dp::eal::init(test_eal_config({"net_ring0"}), error);
    CHILD_CHECK(e.has_value());
    auto p = dp::port::open(ring_port(1), error);
    if (!p) std::fprintf(stderr, "[child] %s\n", error.c_str());
    CHILD_CHECK(p.has_value());
    CHILD_CHECK(!p->hardware_rss());  // net_ring has no RSS: software steering
    {
      dp::port_link l(*p, 0);
      CHILD_CHECK(l.mtu() == 1500);
      std::vector<int64_t> got;
      constexpr uint32_t frames = 5000;
      for (uint32_t seq = 0; seq < frames; ++seq) {
        CHILD_CHECK(send_numbered(l, seq, 60 + seq % 1400));
        if (seq % 20 == 19) {
          (void)l.flush();
          (void)l.rx([&](std::span<const std::byte> f) { got.push_back(read_numbered(f)); });
        }
      }
      (void)l.flush();
      for (int i = 0; i < 100 && got.size() < frames; ++i) {
        (void)l.rx([&](std::span<const std::byte> f) { got.push_back(read_numbered(f)); });
      }
      CHILD_CHECK(got.size() == frames);
      for (uint32_t seq = 0; seq < frames; ++seq) CHILD_CHECK(got[seq] == seq);
      CHILD_CHECK(l.counters().tx_frames == frames);
      CHILD_CHECK(l.counters().rx_frames == frames);
      CHILD_CHECK(l.counters().tx_dropped == 0);
    }
    return 0;
  }));
}

TEST(PortLink, EachWorkerQueueKeepsItsOwnFrames) {
  EXPECT_CHILD_OK(run_child([] {
    std::string error;
    auto e = dp::eal::init(test_eal_config({"net_ring0"}), error);
    CHILD_CHECK(e.has_value());
    auto p = dp::port::open(ring_port(2), error);
    if (!p) std::fprintf(stderr, "[child] %s\n", error.c_str());
    CHILD_CHECK(p.has_value());
    CHILD_CHECK(p->queues() == 2);
    dp::port_link a(*p, 0);
    dp::port_link b(*p, 1);
    for (uint32_t i = 0; i < 10; ++i) CHILD_CHECK(send_numbered(a, i));
    for (uint32_t i = 100; i < 103; ++i) CHILD_CHECK(send_numbered(b, i));
    CHILD_CHECK(a.flush() == 10);
    CHILD_CHECK(b.flush() == 3);
    std::vector<int64_t> on_a;
    std::vector<int64_t> on_b;
    CHILD_CHECK(a.rx([&](std::span<const std::byte> f) { on_a.push_back(read_numbered(f)); }) ==
                10);
    CHILD_CHECK(b.rx([&](std::span<const std::byte> f) { on_b.push_back(read_numbered(f)); }) == 3);
    CHILD_CHECK(on_a.front() == 0 && on_a.back() == 9);
    CHILD_CHECK(on_b == (std::vector<int64_t>{100, 101, 102}));
    return 0;
  }));
}

TEST(PortLink, FullDeviceQueueFreesAndCountsWhatItRefuses) {
  EXPECT_CHILD_OK(run_child([] {
    std::string error;
    auto e = dp::eal::init(test_eal_config({"net_ring0"}), error);
    CHILD_CHECK(e.has_value());
    auto p = dp::port::open(ring_port(1), error);
    CHILD_CHECK(p.has_value());
    const unsigned pool_before = rte_mempool_avail_count(p->mempool_of(0));
    {
      dp::port_link l(*p, 0);
      constexpr uint32_t frames = 4000;  // more than the ring holds, nobody receiving
      for (uint32_t seq = 0; seq < frames; ++seq) CHILD_CHECK(send_numbered(l, seq));
      (void)l.flush();
      const auto& n = l.counters();
      std::fprintf(stderr, "[child] taken %lu refused %lu\n", (unsigned long)n.tx_frames,
                   (unsigned long)n.tx_dropped);
      CHILD_CHECK(n.tx_dropped > 0);
      CHILD_CHECK(n.tx_frames + n.tx_dropped == frames);
      uint64_t got = 0;
      for (int i = 0; i < 1000; ++i) {
        got += l.rx([&](std::span<const std::byte> f) { CHILD_CHECK_VOID(read_numbered(f) >= 0); });
      }
      CHILD_CHECK(got == n.tx_frames);
    }
    // Every buffer is back: refused frames were freed, received ones too.
    CHILD_CHECK(rte_mempool_avail_count(p->mempool_of(0)) == pool_before);
    return 0;
  }));
}

TEST(PortLink, EmptyMempoolAndOversizedFramesAreRefusedAndCounted) {
  EXPECT_CHILD_OK(run_child([] {
    std::string error;
    auto e = dp::eal::init(test_eal_config({"net_ring0"}), error);
    CHILD_CHECK(e.has_value());
    auto p = dp::port::open(ring_port(1), error);
    CHILD_CHECK(p.has_value());
    bool threw = false;
    try {
      dp::port_link beyond(*p, 1);  // the port has one queue
    } catch (const std::out_of_range&) {
      threw = true;
    }
    CHILD_CHECK(threw);
    dp::port_link l(*p, 0);
    CHILD_CHECK(l.alloc_frame(100000).empty());
    CHILD_CHECK(l.counters().tx_too_long == 1);
    // The same buffer serves a second alloc_frame() when the first was never sent.
    CHILD_CHECK(!l.alloc_frame(64).empty());
    const unsigned avail = rte_mempool_avail_count(p->mempool_of(0));
    CHILD_CHECK(!l.alloc_frame(64).empty());
    CHILD_CHECK(rte_mempool_avail_count(p->mempool_of(0)) == avail);
    l.send_frame(64);
    (void)l.flush();
    // Take every buffer away: alloc_frame() must fail cleanly and count.
    std::vector<rte_mbuf*> taken;
    while (rte_mbuf* m = rte_pktmbuf_alloc(p->mempool_of(0))) taken.push_back(m);
    CHILD_CHECK(l.alloc_frame(64).empty());
    l.send_frame(64);  // after a failed alloc_frame: nothing is sent
    CHILD_CHECK(l.counters().tx_no_buffer == 1);
    CHILD_CHECK(l.flush() == 0);
    for (rte_mbuf* m : taken) rte_pktmbuf_free(m);
    CHILD_CHECK(send_numbered(l, 7));
    CHILD_CHECK(l.flush() == 1);
    std::vector<int64_t> got;
    (void)l.rx([&](std::span<const std::byte> f) { got.push_back(read_numbered(f)); });
    // The 64-octet frame sent without content first, then number 7.
    CHILD_CHECK(got.size() == 2);
    CHILD_CHECK(got[1] == 7);
    return 0;
  }));
}

TEST(PortLink, FaultInjectionInBothDirectionsAccountsForEveryFrame) {
  EXPECT_CHILD_OK(run_child([] {
    std::string error;
    auto e = dp::eal::init(test_eal_config({"net_ring0"}), error);
    CHILD_CHECK(e.has_value());
    auto p = dp::port::open(ring_port(1), error);
    CHILD_CHECK(p.has_value());
    dp::fault_config tx;
    dp::fault_config rx;
    CHILD_CHECK(
        dp::fault_config::parse("loss=0.02,dup=0.01,delay=0.01,delay_us=50,seed=7", tx, error));
    CHILD_CHECK(dp::fault_config::parse("loss=0.01,dup=0.02,reorder=0.02,seed=9", rx, error));
    const unsigned pool_before = rte_mempool_avail_count(p->mempool_of(0));
    {
      dp::port_link l(*p, 0, rx, tx);
      constexpr uint32_t frames = 100'000;
      uint64_t got = 0;
      uint64_t inversions = 0;
      int64_t last = -1;
      std::vector<uint8_t> copies(frames, 0);
      auto take = [&](std::span<const std::byte> f) {
        const int64_t seq = read_numbered(f);
        if (seq < 0 || seq >= frames) return;
        ++got;
        ++copies[static_cast<size_t>(seq)];
        inversions += seq < last;
        last = seq;
      };
      for (uint32_t seq = 0; seq < frames; ++seq) {
        CHILD_CHECK(send_numbered(l, seq));
        if (seq % 32 == 31) {
          (void)l.flush();
          (void)l.rx(take);
        }
      }
      // Drain: held TX frames leave once their delay passes, held RX frames after reorder_max_us.
      const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      while (std::chrono::steady_clock::now() < until) {
        (void)l.flush();
        (void)l.rx(take);
        const auto& t = l.tx_faults();
        const auto& r = l.rx_faults();
        if (t.emitted == l.counters().tx_frames && r.seen == l.counters().tx_frames &&
            r.emitted == got && l.counters().tx_frames == t.seen - t.lost + t.duplicated &&
            r.emitted == r.seen - r.lost + r.duplicated) {
          break;
        }
      }
      const auto& t = l.tx_faults();
      const auto& r = l.rx_faults();
      std::fprintf(stderr,
                   "[child] tx: seen %lu lost %lu dup %lu delayed %lu | rx: seen %lu lost %lu "
                   "dup %lu reordered %lu | received %lu, inversions %lu\n",
                   (unsigned long)t.seen, (unsigned long)t.lost, (unsigned long)t.duplicated,
                   (unsigned long)t.delayed, (unsigned long)r.seen, (unsigned long)r.lost,
                   (unsigned long)r.duplicated, (unsigned long)r.reordered, (unsigned long)got,
                   (unsigned long)inversions);
      CHILD_CHECK(t.seen == frames);
      CHILD_CHECK(l.counters().tx_dropped == 0);
      CHILD_CHECK(l.counters().tx_frames == t.seen - t.lost + t.duplicated);
      CHILD_CHECK(r.seen == l.counters().tx_frames);
      CHILD_CHECK(got == r.seen - r.lost + r.duplicated);
      CHILD_CHECK(r.dup_failed == 0 && t.dup_failed == 0 && t.hold_overflow == 0);
      // Rates within 5 standard deviations of the configured probabilities.
      auto near = [](uint64_t n, uint64_t of, double prob) {
        const double sd = std::sqrt(double(of) * prob * (1 - prob));
        return std::abs(double(n) - double(of) * prob) < 5 * sd;
      };
      CHILD_CHECK(near(t.lost, frames, 0.02));
      CHILD_CHECK(near(t.duplicated, frames, 0.98 * 0.01));
      CHILD_CHECK(near(r.lost, r.seen, 0.01));
      CHILD_CHECK(near(r.reordered, r.seen, 0.99 * 0.02));
      // Duplicates really arrive twice; reordering really reorders.
      size_t twice = 0;
      for (uint8_t c : copies) twice += c >= 2;
      CHILD_CHECK(twice > 1000);
      CHILD_CHECK(inversions > 1000);
    }
    CHILD_CHECK(rte_mempool_avail_count(p->mempool_of(0)) == pool_before);
    return 0;
  }));
}

TEST(Port, OpenFailsWithReasons) {
  EXPECT_CHILD_OK(run_child([] {
    std::string error;
    auto e = dp::eal::init(test_eal_config({"net_ring0"}), error);
    CHILD_CHECK(e.has_value());
    auto c = ring_port(1);
    c.device = "net_nothere0";
    CHILD_CHECK(!dp::port::open(c, error).has_value());
    CHILD_CHECK(error.find("no such device") != std::string::npos);
    c = ring_port(1);
    c.mtu = 100;
    CHILD_CHECK(!dp::port::open(c, error).has_value());
    CHILD_CHECK(error.find("mtu") != std::string::npos);
    c = ring_port(1);
    c.mbufs_per_pool = 100;
    CHILD_CHECK(!dp::port::open(c, error).has_value());
    CHILD_CHECK(error.find("mbufs_per_pool") != std::string::npos);
    c = ring_port(1);
    c.worker_lcores.assign(64, 0);
    CHILD_CHECK(!dp::port::open(c, error).has_value());
    std::fprintf(stderr, "[child] 64 queues: %s\n", error.c_str());
    CHILD_CHECK(error.find("queues") != std::string::npos);
    // After all that the device still opens.
    auto ok = dp::port::open(ring_port(1), error);
    if (!ok) std::fprintf(stderr, "[child] %s\n", error.c_str());
    CHILD_CHECK(ok.has_value());
    return 0;
  }));
}

TEST(Port, NullDeviceTakesOurRssKeyAndRedirectionTable) {
  EXPECT_CHILD_OK(run_child([] {
    std::string error;
    auto e = dp::eal::init(test_eal_config({"net_null0"}), error);
    CHILD_CHECK(e.has_value());
    dp::port_config c;
    c.device = "net_null0";
    c.worker_lcores = {0, 0, 0, 0};
    auto p = dp::port::open(c, error);
    if (!p) std::fprintf(stderr, "[child] %s\n", error.c_str());
    CHILD_CHECK(p.has_value());
    CHILD_CHECK(p->hardware_rss());
    // The device reports back the key and table we set: our software hash is its hash.
    uint8_t key[64] = {};
    rte_eth_rss_conf conf{};
    conf.rss_key = key;
    conf.rss_key_len = sizeof key;
    CHILD_CHECK(rte_eth_dev_rss_hash_conf_get(p->id(), &conf) == 0);
    CHILD_CHECK((conf.rss_hf & RTE_ETH_RSS_NONFRAG_IPV4_TCP) != 0);
    const auto steer_key = p->steering().key();
    CHILD_CHECK(std::memcmp(key, steer_key.data(), 40) == 0);
    CHILD_CHECK(steer_key[0] == 0x6d && steer_key[1] == 0x5a);
    rte_eth_dev_info info{};
    CHILD_CHECK(rte_eth_dev_info_get(p->id(), &info) == 0);
    std::vector<rte_eth_rss_reta_entry64> reta(info.reta_size / RTE_ETH_RETA_GROUP_SIZE);
    for (auto& g : reta) g.mask = ~uint64_t{0};
    CHILD_CHECK(rte_eth_dev_rss_reta_query(p->id(), reta.data(), info.reta_size) == 0);
    CHILD_CHECK(p->steering().reta().size() == info.reta_size);
    for (size_t i = 0; i < info.reta_size; ++i) {
      CHILD_CHECK(reta[i / RTE_ETH_RETA_GROUP_SIZE].reta[i % RTE_ETH_RETA_GROUP_SIZE] ==
                  p->steering().reta()[i]);
    }
    // TX into the null device is taken whole.
    dp::port_link l(*p, 3);
    for (uint32_t i = 0; i < 100; ++i) CHILD_CHECK(send_numbered(l, i));
    (void)l.flush();
    CHILD_CHECK(l.counters().tx_frames == 100);
    return 0;
  }));
}
