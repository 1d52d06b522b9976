// Data transfer between two stacks: exact bytes both ways under loss, reordering and
// duplication; retransmission back-off, fast retransmit, zero window and probes, window scaling,
// delayed ACKs, keepalive.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <random>

#include "smpp/net/tcp_seq.hpp"
#include "test_wire.hpp"

namespace net = smpp::net;
using smpp::test::tcp_pair;
using smpp::test::wire_segment;

namespace {

std::vector<std::byte> random_bytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::byte> v(n);
  for (auto& b : v) b = std::byte(rng());
  return v;
}

// Feeds `data` into conn c in random-sized send() calls as the send ring allows.
struct pump {
  net::tcp_stack* stack;
  net::tcp_conn conn;
  const std::vector<std::byte>* data;
  size_t off = 0;
  std::mt19937 rng{3};
  size_t max_chunk = 3000;
  void operator()() {
    while (off < data->size()) {
      const size_t want = std::min<size_t>(1 + rng() % max_chunk, data->size() - off);
      const size_t n = stack->send(conn, std::span<const std::byte>(data->data() + off, want));
      off += n;
      if (n < want) break;
    }
  }
  [[nodiscard]] bool done() const { return off == data->size(); }
};

size_t count(const std::vector<wire_segment>& log,
             const std::function<bool(const wire_segment&)>& f) {
  return static_cast<size_t>(std::count_if(log.begin(), log.end(), f));
}

// Transfers `size` random bytes each way at once and checks both arrive exactly.
void transfer_both_ways(tcp_pair& p, size_t size, uint64_t limit_us) {
  auto [c, s] = p.establish();
  ASSERT_NE(c, net::invalid_tcp_conn);
  ASSERT_NE(s, net::invalid_tcp_conn);
  const auto up = random_bytes(size, 11);
  const auto down = random_bytes(size, 12);
  pump pa{p.a.get(), c, &up};
  pump pb{p.b.get(), s, &down};
  const bool ok = p.wire.run(
      limit_us,
      [&] {
        return pa.done() && pb.done() && p.b_events.data[s].size() == up.size() &&
               p.a_events.data[c].size() == down.size();
      },
      [&] {
        pa();
        pb();
      });
  EXPECT_TRUE(ok) << "up " << p.b_events.data[s].size() << "/" << up.size() << " down "
                  << p.a_events.data[c].size() << "/" << down.size();
  EXPECT_TRUE(p.b_events.data[s] == up);
  EXPECT_TRUE(p.a_events.data[c] == down);
  // RFC 9293 §3.8.6: the right edge each side advertises (ACK + scaled window) never moves
  // left, in the order the segments were sent.
  for (int side = 0; side < 2; ++side) {
    net::tcp_conn_info info;
    ASSERT_TRUE((side == 0 ? p.a : p.b)->info(side == 0 ? c : s, info));
    bool have = false;
    uint32_t edge = 0;
    for (const auto& w : p.wire.log) {
      if (w.from != side || w.has(smpp::test::syn) || w.has(smpp::test::rst)) continue;
      const uint32_t e = w.ack + (uint32_t{w.wnd} << info.rcv_wscale);
      if (have) {
        EXPECT_TRUE(net::seq_geq(e, edge)) << "side " << side << " at " << w.at_us;
      }
      edge = have ? net::seq_max(e, edge) : e;
      have = true;
    }
  }
  // Clean close after the transfer.
  p.a->close(c);
  p.wire.run(limit_us, [&] { return !p.a_events.closed.empty() && !p.b_events.closed.empty(); });
  EXPECT_EQ(p.a_events.close_error(c), 0);
  EXPECT_EQ(p.b_events.close_error(s), 0);
}

}  // namespace

TEST(TcpTransfer, MegabytesBothWaysExactBytes) {
  tcp_pair p;
  transfer_both_ways(p, 4 << 20, 60'000'000);
  EXPECT_EQ(p.a->counters().retransmits, 0u);
  EXPECT_EQ(p.b->counters().retransmits, 0u);
}

TEST(TcpTransfer, OnePercentLossWithReorderingAndDuplication) {
  tcp_pair p({}, {}, 7);
  p.wire.faults.loss = 0.01;
  p.wire.faults.duplicate = 0.01;
  p.wire.faults.reorder = 0.02;
  transfer_both_ways(p, 2 << 20, 600'000'000);
  EXPECT_GT(p.a->counters().retransmits + p.b->counters().retransmits, 0u);
  EXPECT_GT(p.a->counters().fast_retransmits + p.b->counters().fast_retransmits, 0u);
}

TEST(TcpTransfer, FivePercentLossWithReorderingAndDuplication) {
  for (uint64_t seed : {21, 22, 23}) {
    tcp_pair p({}, {}, seed);
    p.wire.faults.loss = 0.05;
    p.wire.faults.duplicate = 0.02;
    p.wire.faults.reorder = 0.05;
    transfer_both_ways(p, 512 << 10, 1200'000'000);
    EXPECT_GT(p.a->counters().retransmits, 0u);
    if (HasFailure()) break;
  }
}

TEST(TcpTransfer, WindowScalingCarriesALargeWindow) {
  net::tcp_config cfg;
  cfg.send_buffer_bytes = 4 << 20;
  cfg.receive_buffer_bytes = 4 << 20;
  tcp_pair p(cfg, cfg);
  p.wire.faults.delay_us = 10'000;  // 20 ms round trip: a large window is needed to fill it
  auto [c, s] = p.establish();
  ASSERT_NE(c, net::invalid_tcp_conn);
  net::tcp_conn_info i;
  ASSERT_TRUE(p.a->info(c, i));
  EXPECT_EQ(i.rcv_wscale, 7);  // 4 MiB >> 7 fits 16 bits
  EXPECT_EQ(i.snd_wscale, 7);
  const auto up = random_bytes(32 << 20, 5);
  pump pa{p.a.get(), c, &up};
  pa.max_chunk = 64 << 10;
  const uint64_t start = p.wire.now_us;
  ASSERT_TRUE(p.wire.run(
      60'000'000, [&] { return p.b_events.data[s].size() == up.size(); }, [&] { pa(); }));
  EXPECT_TRUE(p.b_events.data[s] == up);
  // More than 64 KiB in flight: the window field alone could not have allowed it.
  ASSERT_TRUE(p.a->info(c, i));
  EXPECT_GT(i.snd_wnd, 65535u);
  EXPECT_GT(i.cwnd, 65535u);
  // 32 MiB over 20 ms RTT in well under 64 KiB-window time (which would need ~10 s).
  EXPECT_LT(p.wire.now_us - start, 5'000'000u);
}

TEST(TcpTransfer, RetransmissionBacksOffThenGivesUp) {
  net::tcp_config cfg;
  cfg.max_retransmits = 5;
  tcp_pair p(cfg, cfg);
  auto [c, s] = p.establish();
  ASSERT_NE(c, net::invalid_tcp_conn);
  p.wire.drop = [](const wire_segment& w) { return w.from == 0 && w.payload > 0; };
  const std::vector<std::byte> msg(100, std::byte{7});
  ASSERT_EQ(p.a->send(c, msg), msg.size());
  p.wire.run(300'000'000, [&] { return !p.a_events.closed.empty(); });
  ASSERT_EQ(p.a_events.closed.size(), 1u);
  EXPECT_EQ(p.a_events.closed[0].second, ETIMEDOUT);
  std::vector<uint64_t> at;
  for (const auto& w : p.wire.log) {
    if (w.from == 0 && w.payload > 0) at.push_back(w.at_us);
  }
  ASSERT_EQ(at.size(), 1u + cfg.max_retransmits);
  EXPECT_EQ(p.a->counters().rto_expirations, cfg.max_retransmits);
  // Each gap doubles (RFC 6298 §5.5), within the timer wheel's 1 ms tick.
  for (size_t i = 2; i < at.size(); ++i) {
    const double ratio =
        static_cast<double>(at[i] - at[i - 1]) / static_cast<double>(at[i - 1] - at[i - 2]);
    EXPECT_NEAR(ratio, 2.0, 0.05) << i;
  }
  // The peer was told with a RST and is gone too.
  p.wire.drop = nullptr;
  p.wire.run(100'000, [&] { return !p.b_events.closed.empty(); });
  EXPECT_EQ(p.b_events.close_error(s), ECONNRESET);
}

// After an RTO, SND.NXT goes back to SND.UNA for the retransmission, but the peer may hold
// everything up to SND.MAX already: a pure ACK sent then carries SND.MAX, or the peer finds it
// below RCV.NXT, unacceptable (RFC 9293 §3.10.7.4), and never reads its ACK field. Both ends in
// that state stop each other for good.
TEST(TcpTransfer, PureAcksAfterAnRtoCarrySndMaxSoThePeerAcceptsThem) {
  tcp_pair p;
  auto [c, s] = p.establish();
  ASSERT_NE(c, net::invalid_tcp_conn);
  // Both send; each one's data arrives, every ACK is lost, until both have had an RTO (both
  // rewound SND.NXT). With pure ACKs at the rewound SND.NXT, each side now finds the other's
  // ACKs below its RCV.NXT and drops them: neither ever learns its data arrived.
  bool lose_acks = true;
  p.wire.drop = [&](const wire_segment& w) { return lose_acks && w.payload == 0; };
  const auto up = random_bytes(4 * 1000, 5);
  const auto down = random_bytes(4 * 1000, 6);
  ASSERT_EQ(p.a->send(c, up), up.size());
  ASSERT_EQ(p.b->send(s, down), down.size());
  // The first data each way carries the ACK of nothing new: drop nothing with data, but the
  // data segments' ACK fields only acknowledge the SYN-ACK, so both RTOs still fire.
  p.wire.run(5'000'000, [&] {
    return p.a->counters().rto_expirations > 0 && p.b->counters().rto_expirations > 0;
  });
  ASSERT_GT(p.a->counters().rto_expirations, 0u);
  ASSERT_GT(p.b->counters().rto_expirations, 0u);
  lose_acks = false;
  const size_t log_from = p.wire.log.size();
  const bool ok = p.wire.run(60'000'000, [&] {
    net::tcp_conn_info ia, ib;
    return p.a->info(c, ia) && p.b->info(s, ib) && ia.snd_una == ia.snd_nxt &&
           ib.snd_una == ib.snd_nxt;
  });
  EXPECT_TRUE(ok) << "both ends must learn that their data arrived";
  EXPECT_EQ(p.b_events.data[s], up);
  EXPECT_EQ(p.a_events.data[c], down);
  for (int side = 0; side < 2; ++side) {
    uint32_t highest = 0;
    bool have = false;
    for (size_t i = 0; i < p.wire.log.size(); ++i) {
      const auto& w = p.wire.log[i];
      if (w.from != side || w.has(smpp::test::syn) || w.has(smpp::test::rst)) continue;
      const uint32_t end =
          w.seq + static_cast<uint32_t>(w.payload) + (w.has(smpp::test::fin) ? 1 : 0);
      if (i >= log_from && w.payload == 0 && !w.has(smpp::test::fin) && have) {
        EXPECT_EQ(w.seq, highest) << "side " << side << ": a pure ACK at " << w.at_us << " us";
      }
      highest = have ? net::seq_max(highest, end) : end;
      have = true;
    }
  }
}

TEST(TcpTransfer, FastRetransmitAfterThreeDuplicateAcks) {
  tcp_pair p;
  auto [c, s] = p.establish();
  ASSERT_NE(c, net::invalid_tcp_conn);
  // Lose the first data segment once.
  bool dropped = false;
  uint32_t lost_seq = 0;
  p.wire.drop = [&](const wire_segment& w) {
    if (!dropped && w.from == 0 && w.payload > 0) {
      dropped = true;
      lost_seq = w.seq;
      return true;
    }
    return false;
  };
  const auto data = random_bytes(8 * 1448, 9);
  ASSERT_EQ(p.a->send(c, data), data.size());
  ASSERT_TRUE(p.wire.run(150'000, [&] { return p.b_events.data[s].size() == data.size(); }));
  EXPECT_TRUE(p.b_events.data[s] == data);
  EXPECT_EQ(p.a->counters().fast_retransmits, 1u);
  EXPECT_EQ(p.a->counters().rto_expirations, 0u);  // well before the 1 s RTO
  // At least three duplicate ACKs of the lost segment's sequence number came back.
  EXPECT_GE(count(p.wire.log,
                  [&](const wire_segment& w) {
                    return w.from == 1 && w.ack == lost_seq && w.payload == 0;
                  }),
            3u);
  EXPECT_EQ(count(p.wire.log,
                  [&](const wire_segment& w) {
                    return w.from == 0 && w.seq == lost_seq && w.payload > 0;
                  }),
            2u);
}

TEST(TcpTransfer, OutOfOrderSegmentsAreDeliveredInOrder) {
  tcp_pair p;
  auto [c, s] = p.establish();
  ASSERT_NE(c, net::invalid_tcp_conn);
  // Every other data segment of the first flight is held back 300 us: the receiver sees
  // 2,4,6,...,1,3,5,... and must hand the bytes over in order, once.
  int n = 0;
  p.wire.extra_delay = [&](const wire_segment& w) -> uint64_t {
    return (w.from == 0 && w.payload > 0 && n++ < 10 && n % 2 == 1) ? 300 : 0;
  };
  const auto data = random_bytes(10 * 1448, 13);
  ASSERT_EQ(p.a->send(c, data), data.size());
  ASSERT_TRUE(p.wire.run(100'000, [&] { return p.b_events.data[s].size() == data.size(); }));
  EXPECT_TRUE(p.b_events.data[s] == data);
  EXPECT_GE(p.b->counters().out_of_order, 5u);
  EXPECT_EQ(p.b->counters().drop_reassembly, 0u);
}

TEST(TcpTransfer, ReassemblyQueueBoundDropsAndRecovers) {
  net::tcp_config cb;
  cb.reassembly_segments = 2;
  tcp_pair p({}, cb);
  auto [c, s] = p.establish();
  ASSERT_NE(c, net::invalid_tcp_conn);
  // The first segment is lost once: the next ones arrive as separate runs only when they are
  // not contiguous, so lose every other one of the first flight.
  int n = 0;
  p.wire.drop = [&](const wire_segment& w) {
    return w.from == 0 && w.payload > 0 && n++ < 10 && n % 2 == 1;
  };
  const auto data = random_bytes(10 * 1448, 14);
  ASSERT_EQ(p.a->send(c, data), data.size());
  ASSERT_TRUE(p.wire.run(30'000'000, [&] { return p.b_events.data[s].size() == data.size(); }));
  EXPECT_TRUE(p.b_events.data[s] == data);
  EXPECT_GT(p.b->counters().drop_reassembly, 0u);
}

TEST(TcpTransfer, ZeroWindowProbesWhilePausedThenResume) {
  net::tcp_config cb;
  cb.receive_buffer_bytes = 16 << 10;
  tcp_pair p({}, cb);
  auto [c, s] = p.establish();
  ASSERT_NE(s, net::invalid_tcp_conn);
  p.b->pause_receive(s, true);
  const auto data = random_bytes(40 << 10, 17);
  pump pa{p.a.get(), c, &data};
  p.wire.run(20'000'000, {}, [&] { pa(); });
  // Nothing delivered, the buffer is full, the window advertised is zero.
  EXPECT_TRUE(p.b_events.data[s].empty());
  net::tcp_conn_info bi;
  ASSERT_TRUE(p.b->info(s, bi));
  EXPECT_EQ(bi.receive_queued, cb.receive_buffer_bytes);
  net::tcp_conn_info ai;
  ASSERT_TRUE(p.a->info(c, ai));
  EXPECT_EQ(ai.snd_wnd, 0u);
  // Probes were sent with growing spacing and answered.
  std::vector<uint64_t> probes;
  for (const auto& w : p.wire.log) {
    if (w.from == 0 && w.payload == 1) probes.push_back(w.at_us);
  }
  EXPECT_EQ(p.a->counters().window_probes, probes.size());
  ASSERT_GE(probes.size(), 3u);
  for (size_t i = 2; i < probes.size(); ++i) {
    EXPECT_GT(probes[i] - probes[i - 1], probes[i - 1] - probes[i - 2]) << i;
  }
  EXPECT_EQ(p.a_events.closed.size(), 0u);  // probing never gives up while answered
  // Every probe was answered by an ACK that keeps the window closed.
  size_t answers = 0;
  for (const auto& w : p.wire.log) {
    if (w.from == 1 && w.at_us > probes.front() && w.wnd == 0) ++answers;
  }
  EXPECT_GE(answers, probes.size());
  // Resume: the held data is delivered, the window opens, the rest follows.
  p.b->pause_receive(s, false);
  ASSERT_TRUE(p.wire.run(
      30'000'000, [&] { return p.b_events.data[s].size() == data.size(); }, [&] { pa(); }));
  EXPECT_TRUE(p.b_events.data[s] == data);
}

TEST(TcpTransfer, DelayedAckEverySecondSegmentOrAfterTimeout) {
  net::tcp_config cfg;
  cfg.delayed_ack_us = 40'000;
  tcp_pair p(cfg, cfg);
  auto [c, s] = p.establish();
  ASSERT_NE(c, net::invalid_tcp_conn);
  const size_t before = p.wire.log.size();
  const std::vector<std::byte> one(10, std::byte{1});
  ASSERT_EQ(p.a->send(c, one), one.size());
  p.wire.run(35'000);
  // The lone small segment is not acknowledged yet...
  EXPECT_EQ(count(std::vector<wire_segment>(p.wire.log.begin() + static_cast<long>(before),
                                            p.wire.log.end()),
                  [](const wire_segment& w) { return w.from == 1; }),
            0u);
  p.wire.run(10'000);
  // ...until the delayed-ACK timer (40 ms).
  EXPECT_EQ(p.b->counters().delayed_acks, 1u);
  // Full segments: one ACK per two.
  const size_t mark = p.wire.log.size();
  const auto data = random_bytes(10 * 1448, 2);
  ASSERT_EQ(p.a->send(c, data), data.size());
  p.wire.run(5'000);
  const size_t acks = count(
      std::vector<wire_segment>(p.wire.log.begin() + static_cast<long>(mark), p.wire.log.end()),
      [](const wire_segment& w) { return w.from == 1 && w.payload == 0; });
  EXPECT_EQ(acks, 5u);
  // A reply piggybacks the ACK: no pure ACK is needed for a request answered at once.
  p.b_events.data_hook = [&](net::tcp_conn conn, std::span<const std::byte> d) {
    (void)p.b->send(conn, d);
  };
  const size_t mark2 = p.wire.log.size();
  ASSERT_EQ(p.a->send(c, one), one.size());
  p.wire.run(1'000);
  const std::vector<wire_segment> tail(p.wire.log.begin() + static_cast<long>(mark2),
                                       p.wire.log.end());
  ASSERT_EQ(count(tail, [](const wire_segment& w) { return w.from == 1; }), 1u);
  EXPECT_EQ(count(tail, [](const wire_segment& w) { return w.from == 1 && w.payload == 10; }), 1u);
}

TEST(TcpTransfer, KeepaliveProbesAndDropsADeadPeer) {
  net::tcp_config cfg;
  cfg.keepalive = true;
  cfg.keepalive_idle_us = 10'000'000;
  cfg.keepalive_interval_us = 1'000'000;
  cfg.keepalive_probes = 3;
  tcp_pair p(cfg, {});
  auto [c, s] = p.establish();
  ASSERT_NE(c, net::invalid_tcp_conn);
  // A live peer answers: the connection stays.
  p.wire.run(25'000'000);
  EXPECT_GE(p.a->counters().keepalive_probes, 2u);
  EXPECT_TRUE(p.a_events.closed.empty());
  const uint64_t answered = p.a->counters().keepalive_probes;
  // The peer vanishes: 3 probes a second apart, then ETIMEDOUT.
  p.wire.drop = [](const wire_segment&) { return true; };
  p.wire.run(30'000'000, [&] { return !p.a_events.closed.empty(); });
  ASSERT_EQ(p.a_events.closed.size(), 1u);
  EXPECT_EQ(p.a_events.closed[0].second, ETIMEDOUT);
  EXPECT_EQ(p.a->counters().keepalive_probes - answered, 3u);
  (void)s;
}

TEST(TcpTransfer, SendRingBoundAndWritable) {
  net::tcp_config cfg;
  cfg.send_buffer_bytes = 8192;
  tcp_pair p(cfg, cfg);
  auto [c, s] = p.establish();
  ASSERT_NE(c, net::invalid_tcp_conn);
  const auto data = random_bytes(20000, 4);
  EXPECT_EQ(p.a->send_space(c), 8192u);
  EXPECT_EQ(p.a->send(c, data), 8192u);  // the ring takes what fits
  EXPECT_EQ(p.a->send(c, data), 0u);
  p.wire.run(100'000, [&] { return p.a_events.writable > 0; });
  EXPECT_EQ(p.a_events.writable, 1u);
  EXPECT_GT(p.a->send_space(c), 0u);
  (void)s;
}

TEST(TcpTransfer, ReceiverSwsAvoidanceHoldsSmallWindowGains) {
  net::tcp_config cb;
  cb.receive_buffer_bytes = 16 << 10;
  tcp_pair p({}, cb);
  auto [c, s] = p.establish();
  ASSERT_NE(s, net::invalid_tcp_conn);
  // 100 octets wait in the paused buffer: the window shrank by 100.
  p.b->pause_receive(s, true);
  const std::vector<std::byte> small(100, std::byte{1});
  ASSERT_EQ(p.a->send(c, small), small.size());
  p.wire.run(100'000);
  net::tcp_conn_info i;
  ASSERT_TRUE(p.b->info(s, i));
  EXPECT_EQ(i.rcv_wnd, cb.receive_buffer_bytes - 100);
  // Resuming frees 100 octets, less than min(buffer / 2, MSS): no window update is sent
  // (RFC 9293 §3.8.6.2.2) and the right edge stays where it was.
  const size_t mark = p.wire.log.size();
  p.b->pause_receive(s, false);
  p.wire.run(100'000);
  EXPECT_EQ(p.b_events.data[s].size(), 100u);
  for (size_t k = mark; k < p.wire.log.size(); ++k) EXPECT_NE(p.wire.log[k].from, 1) << k;
  ASSERT_TRUE(p.b->info(s, i));
  EXPECT_EQ(i.rcv_wnd, cb.receive_buffer_bytes - 100);
  // A full buffer freed at once is announced.
  p.b->pause_receive(s, true);
  const std::vector<std::byte> big(cb.receive_buffer_bytes, std::byte{2});
  pump pa{p.a.get(), c, &big};
  p.wire.run(200'000, {}, [&] { pa(); });
  ASSERT_TRUE(p.b->info(s, i));
  EXPECT_LT(i.rcv_wnd, 1500u);
  const size_t mark2 = p.wire.log.size();
  p.b->pause_receive(s, false);
  p.b->flush();
  ASSERT_GT(p.wire.log.size(), mark2);
  EXPECT_EQ(p.wire.log[mark2].from, 1);
  EXPECT_GT(uint32_t{p.wire.log[mark2].wnd} << i.rcv_wscale, 8u << 10);
}
