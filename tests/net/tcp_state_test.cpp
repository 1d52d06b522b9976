// The TCP state machine between two stacks on an in-memory wire: opens, closes, TIME-WAIT,
// resets, bounds of the SYN backlog and of the connection table.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>

#include "test_wire.hpp"

namespace net = smpp::net;
using smpp::test::tcp_pair;
using smpp::test::wire_segment;

namespace {

std::vector<std::byte> text(std::string_view s) {
  std::vector<std::byte> v(s.size());
  std::memcpy(v.data(), s.data(), s.size());
  return v;
}

net::tcp_state state_of(net::tcp_stack& s, net::tcp_conn c) {
  net::tcp_conn_info i;
  return s.info(c, i) ? i.state : net::tcp_state::closed;
}

size_t count_if(const std::vector<wire_segment>& log,
                const std::function<bool(const wire_segment&)>& f) {
  return static_cast<size_t>(std::count_if(log.begin(), log.end(), f));
}

}  // namespace

TEST(TcpState, ThreeWayHandshakeNegotiatesOptions) {
  tcp_pair p;
  auto [c, s] = p.establish();
  ASSERT_NE(c, net::invalid_tcp_conn);
  ASSERT_NE(s, net::invalid_tcp_conn);
  EXPECT_EQ(state_of(*p.a, c), net::tcp_state::established);
  EXPECT_EQ(state_of(*p.b, s), net::tcp_state::established);
  // SYN, SYN-ACK, ACK.
  ASSERT_GE(p.wire.log.size(), 3u);
  const auto& syn = p.wire.log[0];
  const auto& synack = p.wire.log[1];
  EXPECT_TRUE(syn.has(smpp::test::syn) && !syn.has(smpp::test::ack));
  EXPECT_TRUE(syn.has_mss && syn.has_ws && syn.has_ts);
  EXPECT_EQ(syn.mss, 1460);
  EXPECT_TRUE(synack.has(smpp::test::syn) && synack.has(smpp::test::ack));
  EXPECT_EQ(synack.ack, syn.seq + 1);
  EXPECT_EQ(p.wire.log[2].ack, synack.seq + 1);
  net::tcp_conn_info i;
  ASSERT_TRUE(p.a->info(c, i));
  EXPECT_TRUE(i.timestamps);
  EXPECT_EQ(i.snd_mss, 1460 - 12);
  EXPECT_EQ(p.a->counters().established, 1u);
  EXPECT_EQ(p.b->counters().passive_opens, 1u);
}

TEST(TcpState, HandshakeWithoutOptionsFallsBackToDefaults) {
  net::tcp_config ca;
  ca.timestamps = false;
  ca.window_scaling = false;
  tcp_pair p(ca, {});
  auto [c, s] = p.establish();
  ASSERT_NE(c, net::invalid_tcp_conn);
  net::tcp_conn_info i;
  ASSERT_TRUE(p.b->info(s, i));
  EXPECT_FALSE(i.timestamps);
  EXPECT_EQ(i.snd_wscale, 0);
  EXPECT_EQ(i.rcv_wscale, 0);
  EXPECT_EQ(i.snd_mss, 1460);
  // The SYN-ACK answers only what the SYN offered.
  EXPECT_FALSE(p.wire.log[1].has_ts);
  EXPECT_FALSE(p.wire.log[1].has_ws);
}

TEST(TcpState, DataBothWaysThenClientCloses) {
  tcp_pair p;
  auto [c, s] = p.establish();
  ASSERT_NE(c, net::invalid_tcp_conn);
  const auto hello = text("bind_transceiver");
  const auto resp = text("bind_transceiver_resp");
  EXPECT_EQ(p.a->send(c, hello), hello.size());
  p.wire.run(100'000, [&] { return p.b_events.data[s].size() == hello.size(); });
  EXPECT_EQ(p.b_events.data[s], hello);
  EXPECT_EQ(p.b->send(s, resp), resp.size());
  p.wire.run(100'000, [&] { return p.a_events.data[c].size() == resp.size(); });
  EXPECT_EQ(p.a_events.data[c], resp);

  p.a->close(c);
  // The server hears the FIN, closes its side; the client ends in TIME-WAIT.
  p.wire.run(1'000'000, [&] { return !p.b_events.closed.empty() && !p.a_events.closed.empty(); });
  ASSERT_EQ(p.b_events.closed.size(), 1u);
  EXPECT_EQ(p.b_events.closed[0], std::make_pair(s, 0));
  ASSERT_EQ(p.a_events.closed.size(), 1u);
  EXPECT_EQ(p.a_events.closed[0], std::make_pair(c, 0));
  p.wire.run(100'000);
  EXPECT_EQ(state_of(*p.a, c), net::tcp_state::time_wait);
  EXPECT_EQ(p.b->connections(), 0u);  // LAST-ACK ended when our FIN was acknowledged
  // The handle is stale for the API once on_close was delivered.
  EXPECT_EQ(p.a->send(c, hello), 0u);
}

TEST(TcpState, ServerClosesFirstAndTimeWaitExpiresAfterTwoMsl) {
  net::tcp_config cfg;
  cfg.msl_us = 500'000;
  tcp_pair p(cfg, cfg);
  auto [c, s] = p.establish();
  ASSERT_NE(s, net::invalid_tcp_conn);
  const auto unbind = text("unbind");
  ASSERT_EQ(p.b->send(s, unbind), unbind.size());
  p.b->close(s);  // FIN after the queued data
  p.wire.run(200'000, [&] { return !p.a_events.closed.empty(); });
  EXPECT_EQ(p.a_events.data[c], unbind);
  ASSERT_EQ(p.a_events.closed.size(), 1u);
  p.wire.run(50'000, [&] { return !p.b_events.closed.empty(); });
  ASSERT_EQ(p.b_events.closed.size(), 1u);
  EXPECT_EQ(state_of(*p.b, s), net::tcp_state::time_wait);
  EXPECT_EQ(p.b->connections(), 1u);
  const uint64_t entered = p.wire.now_us;
  p.wire.run(3'000'000, [&] { return p.b->connections() == 0; });
  EXPECT_EQ(p.b->connections(), 0u);
  const uint64_t held = p.wire.now_us - entered;
  EXPECT_GE(held, 2 * cfg.msl_us - 2'000);
  EXPECT_LE(held, 2 * cfg.msl_us + 5'000);
  EXPECT_EQ(p.a->connections(), 0u);
}

TEST(TcpState, SimultaneousOpen) {
  tcp_pair p;
  // Both sides connect to each other's port at the same time, ports fixed by the predicate.
  net::tcp_config ca, cb;
  ca.local_port_ok = [](uint16_t port) { return port == 40001; };
  cb.local_port_ok = [](uint16_t port) { return port == 40002; };
  tcp_pair q(ca, cb);
  int err = 0;
  const net::tcp_conn c1 = q.a->connect(tcp_pair::a_addr, tcp_pair::b_addr, 40002, err);
  ASSERT_EQ(err, 0);
  const net::tcp_conn c2 = q.b->connect(tcp_pair::b_addr, tcp_pair::a_addr, 40001, err);
  ASSERT_EQ(err, 0);
  q.wire.run(2'000'000,
             [&] { return !q.a_events.connected.empty() && !q.b_events.connected.empty(); });
  ASSERT_EQ(q.a_events.connected.size(), 1u);
  ASSERT_EQ(q.b_events.connected.size(), 1u);
  EXPECT_EQ(q.a_events.connected[0], std::make_pair(c1, 0));
  EXPECT_EQ(q.b_events.connected[0], std::make_pair(c2, 0));
  // Both SYNs crossed: each side sent SYN then SYN,ACK.
  EXPECT_EQ(count_if(q.wire.log,
                     [](const wire_segment& w) {
                       return w.has(smpp::test::syn) && w.has(smpp::test::ack);
                     }),
            2u);
  const auto msg = text("enquire_link");
  ASSERT_EQ(q.a->send(c1, msg), msg.size());
  q.wire.run(100'000, [&] { return q.b_events.data[c2].size() == msg.size(); });
  EXPECT_EQ(q.b_events.data[c2], msg);
  (void)p;
}

TEST(TcpState, SimultaneousCloseGoesThroughClosing) {
  net::tcp_config cfg;
  cfg.msl_us = 100'000;
  tcp_pair p(cfg, cfg);
  auto [c, s] = p.establish();
  ASSERT_NE(c, net::invalid_tcp_conn);
  p.a->close(c);
  p.b->close(s);
  p.a->flush();
  p.b->flush();
  // Both FINs are on the wire before either arrives.
  EXPECT_EQ(state_of(*p.a, c), net::tcp_state::fin_wait_1);
  EXPECT_EQ(state_of(*p.b, s), net::tcp_state::fin_wait_1);
  p.wire.run(150, {}, {}, 150);  // the FINs arrive (100 us delay), not yet their ACKs
  EXPECT_EQ(state_of(*p.a, c), net::tcp_state::closing);
  EXPECT_EQ(state_of(*p.b, s), net::tcp_state::closing);
  p.wire.run(10'000, [&] { return !p.a_events.closed.empty() && !p.b_events.closed.empty(); });
  EXPECT_EQ(state_of(*p.a, c), net::tcp_state::time_wait);
  EXPECT_EQ(state_of(*p.b, s), net::tcp_state::time_wait);
  EXPECT_EQ(p.a_events.closed.at(0).second, 0);
  EXPECT_EQ(p.b_events.closed.at(0).second, 0);
  p.wire.run(1'000'000, [&] { return p.a->connections() + p.b->connections() == 0; });
  EXPECT_EQ(p.a->connections() + p.b->connections(), 0u);
}

TEST(TcpState, ConnectToClosedPortIsRefused) {
  tcp_pair p;
  int err = 0;
  const net::tcp_conn c = p.a->connect(tcp_pair::a_addr, tcp_pair::b_addr, 9, err);
  ASSERT_NE(c, net::invalid_tcp_conn);
  p.wire.run(100'000, [&] { return !p.a_events.connected.empty(); });
  ASSERT_EQ(p.a_events.connected.size(), 1u);
  EXPECT_EQ(p.a_events.connected[0], std::make_pair(c, ECONNREFUSED));
  EXPECT_EQ(p.b->counters().drop_no_socket, 1u);
  EXPECT_EQ(p.b->counters().rst_out, 1u);
  EXPECT_EQ(p.a->connections(), 0u);
}

TEST(TcpState, SynRetriesThenTimesOut) {
  net::tcp_config cfg;
  cfg.syn_retries = 3;
  tcp_pair p(cfg, {});
  p.wire.drop = [](const wire_segment&) { return true; };  // a black hole
  int err = 0;
  const net::tcp_conn c = p.a->connect(tcp_pair::a_addr, tcp_pair::b_addr, 2775, err);
  p.wire.run(60'000'000, [&] { return !p.a_events.connected.empty(); });
  ASSERT_EQ(p.a_events.connected.size(), 1u);
  EXPECT_EQ(p.a_events.connected[0], std::make_pair(c, ETIMEDOUT));
  // 1 + 3 SYNs, spaced 1 s, then (RFC 6298 §5.7: 3 s after a resent SYN) doubling.
  ASSERT_EQ(p.wire.log.size(), 4u);
  EXPECT_EQ(p.a->counters().syn_retransmits, 3u);
  for (size_t i = 1; i < p.wire.log.size(); ++i) {
    EXPECT_GT(p.wire.log[i].at_us - p.wire.log[i - 1].at_us,
              p.wire.log[i > 1 ? i - 1 : 0].at_us - p.wire.log[i > 1 ? i - 2 : 0].at_us)
        << i;
  }
}

TEST(TcpState, ResetInEstablishedClosesWithConnReset) {
  tcp_pair p;
  auto [c, s] = p.establish();
  ASSERT_NE(c, net::invalid_tcp_conn);
  p.a->abort(c);
  p.wire.run(100'000, [&] { return !p.b_events.closed.empty(); });
  ASSERT_EQ(p.b_events.closed.size(), 1u);
  EXPECT_EQ(p.b_events.closed[0], std::make_pair(s, ECONNRESET));
  EXPECT_EQ(p.a->connections(), 0u);
  EXPECT_EQ(p.b->connections(), 0u);
  EXPECT_TRUE(p.a_events.closed.empty());  // abort() does not call back
}

TEST(TcpState, ResetInFinWait2AndCloseWait) {
  tcp_pair p;
  auto [c, s] = p.establish();
  ASSERT_NE(c, net::invalid_tcp_conn);
  // Hold the server's FIN back so the client sits in FIN-WAIT-2 ... by pausing the server's
  // receive, the server reports nothing and keeps CLOSE-WAIT with buffered data.
  const auto msg = text("x");
  ASSERT_EQ(p.a->send(c, msg), 1u);
  p.b->pause_receive(s, true);
  p.wire.run(10'000);
  p.a->close(c);
  p.wire.run(100'000);
  EXPECT_EQ(state_of(*p.a, c), net::tcp_state::fin_wait_2);
  EXPECT_EQ(state_of(*p.b, s), net::tcp_state::close_wait);
  EXPECT_TRUE(p.b_events.closed.empty());
  // A RST from the server (abort) reaches FIN-WAIT-2.
  p.b->abort(s);
  p.wire.run(100'000, [&] { return !p.a_events.closed.empty(); });
  ASSERT_EQ(p.a_events.closed.size(), 1u);
  EXPECT_EQ(p.a_events.closed[0], std::make_pair(c, ECONNRESET));
  EXPECT_EQ(p.a->connections() + p.b->connections(), 0u);
}

TEST(TcpState, ResetInSynReceivedReturnsToListen) {
  tcp_pair p;
  ASSERT_GE(p.b->listen(tcp_pair::b_addr, 2775, 4), 0);
  // Inject a SYN, then a RST at RCV.NXT.
  using smpp::test::build_segment;
  smpp::test::segment_spec sp;
  sp.src = tcp_pair::a_addr;
  sp.dst = tcp_pair::b_addr;
  sp.sport = 5555;
  sp.dport = 2775;
  sp.seq = 1000;
  sp.flags = smpp::test::syn;
  p.wire.inject(1, sp.src, sp.dst, build_segment(sp));
  EXPECT_EQ(p.b->connections(), 1u);
  sp.seq = 1001;
  sp.flags = smpp::test::rst;
  p.wire.inject(1, sp.src, sp.dst, build_segment(sp));
  EXPECT_EQ(p.b->connections(), 0u);
  EXPECT_TRUE(p.b_events.accepted.empty());
  // The listener still accepts.
  auto [c, s] = p.establish(2775);
  (void)c;
  (void)s;
}

TEST(TcpState, ResetInSynSentNeedsAcceptableAck) {
  tcp_pair p;
  p.wire.drop = [](const wire_segment&) { return true; };
  int err = 0;
  const net::tcp_conn c = p.a->connect(tcp_pair::a_addr, tcp_pair::b_addr, 2775, err);
  const wire_segment syn = p.wire.log.at(0);
  smpp::test::segment_spec sp;
  sp.src = tcp_pair::b_addr;
  sp.dst = tcp_pair::a_addr;
  sp.sport = 2775;
  sp.dport = syn.sport;
  sp.flags = smpp::test::rst;  // no ACK: ignored
  p.wire.inject(0, sp.src, sp.dst, smpp::test::build_segment(sp));
  EXPECT_EQ(state_of(*p.a, c), net::tcp_state::syn_sent);
  sp.flags = smpp::test::rst | smpp::test::ack;
  sp.ack = syn.seq + 5;  // unacceptable ACK: ignored
  p.wire.inject(0, sp.src, sp.dst, smpp::test::build_segment(sp));
  EXPECT_EQ(state_of(*p.a, c), net::tcp_state::syn_sent);
  sp.ack = syn.seq + 1;
  p.wire.inject(0, sp.src, sp.dst, smpp::test::build_segment(sp));
  ASSERT_EQ(p.a_events.connected.size(), 1u);
  EXPECT_EQ(p.a_events.connected[0].second, ECONNREFUSED);
}

TEST(TcpState, SynBacklogOverflowDropsAndCounts) {
  tcp_pair p;
  ASSERT_GE(p.b->listen(tcp_pair::b_addr, 2775, 3), 0);
  smpp::test::segment_spec sp;
  sp.src = tcp_pair::a_addr;
  sp.dst = tcp_pair::b_addr;
  sp.dport = 2775;
  sp.flags = smpp::test::syn;
  for (uint16_t i = 0; i < 5; ++i) {
    sp.sport = static_cast<uint16_t>(6000 + i);
    sp.seq = 100u * i;
    p.wire.inject(1, sp.src, sp.dst, smpp::test::build_segment(sp));
  }
  EXPECT_EQ(p.b->connections(), 3u);
  EXPECT_EQ(p.b->counters().drop_syn_backlog, 2u);
  // SYN-ACKs are retransmitted a bounded number of times, then the entries go.
  p.wire.drop = [](const wire_segment&) { return true; };
  p.wire.run(120'000'000, [&] { return p.b->connections() == 0; });
  EXPECT_EQ(p.b->connections(), 0u);
  net::tcp_config d;
  const size_t synacks = static_cast<size_t>(std::count_if(
      p.wire.log.begin(), p.wire.log.end(),
      [](const wire_segment& w) { return w.has(smpp::test::syn) && w.has(smpp::test::ack); }));
  EXPECT_EQ(synacks, 3u * (1 + d.synack_retries));
  // Room again: a new SYN gets a SYN-ACK.
  sp.sport = 7000;
  p.wire.inject(1, sp.src, sp.dst, smpp::test::build_segment(sp));
  EXPECT_EQ(p.b->connections(), 1u);
}

TEST(TcpState, ConnectionTableOverflowAnswersRst) {
  net::tcp_config cb;
  cb.max_connections = 2;
  tcp_pair p({}, cb);
  ASSERT_GE(p.b->listen(0, 2775, 16), 0);
  int err = 0;
  for (int i = 0; i < 3; ++i) {
    (void)p.a->connect(tcp_pair::a_addr, tcp_pair::b_addr, 2775, err);
    ASSERT_EQ(err, 0);
  }
  p.wire.run(500'000, [&] { return p.a_events.connected.size() == 3; });
  ASSERT_EQ(p.a_events.connected.size(), 3u);
  int ok = 0, refused = 0;
  for (auto& [c, e] : p.a_events.connected) {
    ok += e == 0;
    refused += e == ECONNREFUSED;
  }
  EXPECT_EQ(ok, 2);
  EXPECT_EQ(refused, 1);
  EXPECT_EQ(p.b->counters().drop_table_full, 1u);
  EXPECT_EQ(p.b->connections(), 2u);
  // The client's own table: connect() fails at once with ENOBUFS beyond its bound.
  net::tcp_config ca;
  ca.max_connections = 1;
  tcp_pair q(ca, {});
  (void)q.a->connect(tcp_pair::a_addr, tcp_pair::b_addr, 1, err);
  EXPECT_EQ(q.a->connect(tcp_pair::a_addr, tcp_pair::b_addr, 1, err), net::invalid_tcp_conn);
  EXPECT_EQ(err, ENOBUFS);
}

TEST(TcpState, StaleHandleNeverReachesReusedSlot) {
  net::tcp_config ca;
  ca.max_connections = 1;
  tcp_pair p(ca, {});
  auto [c, s] = p.establish();
  ASSERT_NE(c, net::invalid_tcp_conn);
  p.a->abort(c);
  p.wire.run(10'000);
  int err = 0;
  const net::tcp_conn c2 = p.a->connect(tcp_pair::a_addr, tcp_pair::b_addr, 2775, err);
  ASSERT_NE(c2, net::invalid_tcp_conn);
  EXPECT_EQ(static_cast<uint32_t>(c2), static_cast<uint32_t>(c));  // the same slot
  EXPECT_NE(c2, c);
  p.wire.run(100'000, [&] { return p.a_events.connected.size() == 2; });
  const auto msg = text("x");
  EXPECT_EQ(p.a->send(c, msg), 0u);
  p.a->close(c);
  p.a->abort(c);
  EXPECT_EQ(state_of(*p.a, c2), net::tcp_state::established);
  EXPECT_EQ(p.a->send(c2, msg), 1u);
  (void)s;
}

TEST(TcpState, LocalPortPredicatePicksThePort) {
  net::tcp_config ca;
  ca.local_port_ok = [](uint16_t port) { return port % 7 == 3; };
  tcp_pair p(ca, {});
  ASSERT_GE(p.b->listen(0, 2775, 16), 0);
  for (int i = 0; i < 20; ++i) {
    int err = 0;
    const net::tcp_conn c = p.a->connect(tcp_pair::a_addr, tcp_pair::b_addr, 2775, err);
    ASSERT_NE(c, net::invalid_tcp_conn);
    net::tcp_conn_info info;
    ASSERT_TRUE(p.a->info(c, info));
    EXPECT_EQ(info.local_port % 7, 3);
  }
  net::tcp_config none;
  none.local_port_ok = [](uint16_t) { return false; };
  tcp_pair q(none, {});
  int err = 0;
  EXPECT_EQ(q.a->connect(tcp_pair::a_addr, tcp_pair::b_addr, 2775, err), net::invalid_tcp_conn);
  EXPECT_EQ(err, EADDRNOTAVAIL);
}

TEST(TcpState, ListenerBounds) {
  net::tcp_config cfg;
  cfg.max_listeners = 2;
  tcp_pair p({}, cfg);
  EXPECT_GE(p.b->listen(0, 1, 1), 0);
  EXPECT_EQ(p.b->listen(0, 1, 1), -EADDRINUSE);
  EXPECT_GE(p.b->listen(0, 2, 1), 0);
  EXPECT_EQ(p.b->listen(0, 3, 1), -ENOBUFS);
  EXPECT_EQ(p.b->listen(0, 0, 1), -EINVAL);
}

namespace {

// A RST at RCV.NXT of conn c on side `to` (0: client stack, 1: server stack).
void inject_rst(tcp_pair& p, int to, net::tcp_conn c) {
  net::tcp_stack& s = to == 0 ? *p.a : *p.b;
  net::tcp_conn_info i;
  ASSERT_TRUE(s.info(c, i));
  smpp::test::segment_spec sp;
  sp.src = i.remote_addr;
  sp.dst = i.local_addr;
  sp.sport = i.remote_port;
  sp.dport = i.local_port;
  sp.seq = i.rcv_nxt;
  sp.flags = smpp::test::rst;
  p.wire.inject(to, sp.src, sp.dst, smpp::test::build_segment(sp));
}

}  // namespace

TEST(TcpState, ResetInFinWait1) {
  tcp_pair p;
  auto [c, s] = p.establish();
  ASSERT_NE(c, net::invalid_tcp_conn);
  p.wire.drop = [](const wire_segment& w) { return w.from == 0; };
  p.a->close(c);
  p.wire.run(10'000);
  ASSERT_EQ(state_of(*p.a, c), net::tcp_state::fin_wait_1);
  inject_rst(p, 0, c);
  EXPECT_EQ(p.a_events.close_error(c), ECONNRESET);
  EXPECT_EQ(p.a->connections(), 0u);
  (void)s;
}

TEST(TcpState, ResetInCloseWaitWithHeldData) {
  tcp_pair p;
  auto [c, s] = p.establish();
  ASSERT_NE(c, net::invalid_tcp_conn);
  p.b->pause_receive(s, true);
  ASSERT_EQ(p.a->send(c, text("held")), 4u);
  p.a->close(c);
  p.wire.run(10'000);
  ASSERT_EQ(state_of(*p.b, s), net::tcp_state::close_wait);
  EXPECT_TRUE(p.b_events.closed.empty());  // the FIN waits behind the held data
  inject_rst(p, 1, s);
  EXPECT_EQ(p.b_events.close_error(s), ECONNRESET);
  EXPECT_EQ(p.b->connections(), 0u);
}

TEST(TcpState, PausedDataThenFinAreDeliveredInOrderOnResume) {
  tcp_pair p;
  auto [c, s] = p.establish();
  ASSERT_NE(c, net::invalid_tcp_conn);
  p.b->pause_receive(s, true);
  ASSERT_EQ(p.a->send(c, text("generic_nack")), 12u);
  p.a->close(c);
  p.wire.run(10'000);
  EXPECT_TRUE(p.b_events.data[s].empty());
  EXPECT_TRUE(p.b_events.closed.empty());
  p.b->pause_receive(s, false);
  EXPECT_EQ(p.b_events.data[s], text("generic_nack"));
  ASSERT_EQ(p.b_events.closed.size(), 1u);
  EXPECT_EQ(p.b_events.closed[0].second, 0);
  p.wire.run(100'000);
  EXPECT_EQ(state_of(*p.a, c), net::tcp_state::time_wait);
  EXPECT_EQ(p.b->connections(), 0u);
}

TEST(TcpState, ResetInLastAck) {
  tcp_pair p;
  auto [c, s] = p.establish();
  ASSERT_NE(c, net::invalid_tcp_conn);
  p.wire.drop = [](const wire_segment& w) { return w.from == 1; };
  p.a->close(c);
  p.wire.run(10'000);
  ASSERT_EQ(state_of(*p.b, s), net::tcp_state::last_ack);
  ASSERT_EQ(p.b_events.closed.size(), 1u);
  inject_rst(p, 1, s);
  EXPECT_EQ(p.b->connections(), 0u);
  EXPECT_EQ(p.b_events.closed.size(), 1u);  // heard once only
}

TEST(TcpState, ResetInClosingAndTimeWait) {
  tcp_pair p;
  auto [c, s] = p.establish();
  ASSERT_NE(c, net::invalid_tcp_conn);
  p.a->close(c);
  p.b->close(s);
  p.a->flush();
  p.b->flush();
  p.wire.drop = [](const wire_segment&) { return true; };  // the ACKs of the FINs are lost
  p.wire.run(150, {}, {}, 150);
  ASSERT_EQ(state_of(*p.a, c), net::tcp_state::closing);
  ASSERT_EQ(state_of(*p.b, s), net::tcp_state::closing);
  inject_rst(p, 0, c);
  EXPECT_EQ(p.a_events.close_error(c), ECONNRESET);
  EXPECT_EQ(p.a->connections(), 0u);
  // The other side gets its ACK after all and sits in TIME-WAIT: a RST ends it early
  // (RFC 9293 §3.10.7.4).
  p.wire.drop = nullptr;
  net::tcp_conn_info i;
  ASSERT_TRUE(p.b->info(s, i));
  smpp::test::segment_spec sp;
  sp.src = i.remote_addr;
  sp.dst = i.local_addr;
  sp.sport = i.remote_port;
  sp.dport = i.local_port;
  sp.seq = i.rcv_nxt;
  sp.ack = i.snd_nxt;
  sp.flags = smpp::test::ack;
  sp.ts = i.timestamps;
  sp.tsval = i.ts_recent + 1;
  p.wire.inject(1, sp.src, sp.dst, smpp::test::build_segment(sp));
  ASSERT_EQ(state_of(*p.b, s), net::tcp_state::time_wait);
  inject_rst(p, 1, s);
  EXPECT_EQ(p.b->connections(), 0u);
}

TEST(TcpState, LostSynAckAndLostFinalAckStillConnect) {
  tcp_pair p;
  int synacks = 0, acks = 0;
  p.wire.drop = [&](const wire_segment& w) {
    if (w.from == 1 && w.has(smpp::test::syn) && synacks++ == 0) return true;  // first SYN-ACK
    // The handshake's final ACK (no data) is lost: the server learns of it from the data.
    if (w.from == 0 && !w.has(smpp::test::syn) && w.payload == 0 && acks++ == 0) return true;
    return false;
  };
  ASSERT_GE(p.b->listen(0, 2775, 4), 0);
  int err = 0;
  const net::tcp_conn c = p.a->connect(tcp_pair::a_addr, tcp_pair::b_addr, 2775, err);
  p.wire.run(5'000'000, [&] { return !p.a_events.connected.empty(); });
  ASSERT_EQ(p.a_events.connected.size(), 1u);
  EXPECT_EQ(p.a_events.connected[0].second, 0);
  EXPECT_TRUE(p.b_events.accepted.empty());
  EXPECT_EQ(synacks, 2);  // the SYN-ACK went again
  ASSERT_EQ(p.a->send(c, text("bind")), 4u);
  p.wire.run(100'000, [&] { return !p.b_events.accepted.empty(); });
  ASSERT_EQ(p.b_events.accepted.size(), 1u);
  p.wire.run(100'000);
  EXPECT_EQ(p.b_events.data[p.b_events.accepted[0]], text("bind"));
}

TEST(TcpState, TimeWaitAcksARetransmittedFinAndRestarts) {
  net::tcp_config cfg;
  cfg.msl_us = 1'000'000;
  tcp_pair p(cfg, cfg);
  auto [c, s] = p.establish();
  ASSERT_NE(c, net::invalid_tcp_conn);
  p.a->close(c);
  p.wire.run(100'000, [&] { return state_of(*p.a, c) == net::tcp_state::time_wait; });
  ASSERT_EQ(state_of(*p.a, c), net::tcp_state::time_wait);
  const uint64_t entered = p.wire.now_us;
  // The server's FIN again, 1.5 s later (as if our ACK had been lost).
  p.wire.run(1'500'000);
  ASSERT_EQ(state_of(*p.a, c), net::tcp_state::time_wait);
  wire_segment fin_seg;
  for (const auto& w : p.wire.log) {
    if (w.from == 1 && w.has(smpp::test::fin)) fin_seg = w;
  }
  net::tcp_conn_info i;
  ASSERT_TRUE(p.a->info(c, i));
  smpp::test::segment_spec sp;
  sp.src = tcp_pair::b_addr;
  sp.dst = tcp_pair::a_addr;
  sp.sport = fin_seg.sport;
  sp.dport = fin_seg.dport;
  sp.seq = fin_seg.seq;
  sp.ack = fin_seg.ack;
  sp.flags = smpp::test::fin | smpp::test::ack;
  sp.ts = fin_seg.has_ts;
  sp.tsval = fin_seg.tsval + 1;
  sp.tsecr = fin_seg.tsecr;
  const size_t mark = p.wire.log.size();
  // The server is gone: our ACK would draw its RST, which ends TIME-WAIT early (RFC 9293
  // §3.10.7.4 takes a RST there); keep the ACK off the wire.
  p.wire.drop = [](const wire_segment&) { return true; };
  p.wire.inject(0, sp.src, sp.dst, smpp::test::build_segment(sp));
  ASSERT_EQ(p.wire.log.size(), mark + 1);
  EXPECT_TRUE(p.wire.log.back().has(smpp::test::ack));
  EXPECT_EQ(p.wire.log.back().ack, fin_seg.seq + 1);
  p.wire.run(5'000'000, [&] { return p.a->connections() == 0; });
  // 2 MSL counted again from the retransmitted FIN: 1.5 s + 2 s after entering.
  EXPECT_GE(p.wire.now_us - entered, 3'490'000u);
  (void)s;
}

TEST(TcpState, HandlerMayAbortAndReconnectFromInsideOnData) {
  net::tcp_config ca;
  ca.max_connections = 1;
  tcp_pair p({}, ca);  // the server has one slot: a reconnect reuses it at once
  auto [c, s] = p.establish();
  ASSERT_NE(s, net::invalid_tcp_conn);
  // Lose the first segment of a flight so the rest wait in the reassembly queue, then abort
  // and open a new connection from inside on_data while that queue is drained.
  bool lost = false;
  p.wire.drop = [&](const wire_segment& w) {
    if (!lost && w.from == 0 && w.payload > 0) return lost = true;
    return false;
  };
  int err = 0;
  net::tcp_conn again = net::invalid_tcp_conn;
  p.b_events.data_hook = [&](net::tcp_conn conn, std::span<const std::byte>) {
    if (again != net::invalid_tcp_conn) return;
    p.b->abort(conn);
    again = p.b->connect(tcp_pair::b_addr, tcp_pair::a_addr, 9, err);
  };
  std::vector<std::byte> data(6 * 1448, std::byte{3});
  ASSERT_EQ(p.a->send(c, data), data.size());
  p.wire.run(2'000'000, [&] { return !p.a_events.closed.empty(); });
  EXPECT_NE(again, net::invalid_tcp_conn);
  EXPECT_EQ(static_cast<uint32_t>(again), static_cast<uint32_t>(s));  // the same slot
  EXPECT_EQ(p.a_events.close_error(c), ECONNRESET);
  EXPECT_LE(p.b_events.data[s].size(), data.size());
}
