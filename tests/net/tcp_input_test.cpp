// Hand-crafted segments injected into one stack: header validation, RFC 5961 challenge ACKs,
// RFC 7323 PAWS, LISTEN and CLOSED answers, and a seeded flood of malformed input.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <random>

#include "tcp_fuzz.hpp"
#include "test_wire.hpp"

namespace net = smpp::net;
namespace t = smpp::test;
using t::segment_spec;
using t::tcp_pair;
using t::wire_segment;

namespace {

std::vector<std::byte> text(std::string_view s) {
  std::vector<std::byte> v(s.size());
  std::memcpy(v.data(), s.data(), s.size());
  return v;
}

// An established pair and a template for segments "from the client" to the server that pass
// every check (right sequence numbers, ACK, timestamps).
struct fixture {
  tcp_pair p;
  net::tcp_conn c = 0, s = 0;
  explicit fixture(net::tcp_config cb = {}) : p({}, cb) {
    auto [cc, ss] = p.establish();
    c = cc;
    s = ss;
  }
  net::tcp_conn_info server() {
    net::tcp_conn_info i;
    EXPECT_TRUE(p.b->info(s, i));
    return i;
  }
  segment_spec good() {
    const net::tcp_conn_info i = server();
    net::tcp_conn_info ci;
    EXPECT_TRUE(p.a->info(c, ci));
    segment_spec sp;
    sp.src = tcp_pair::a_addr;
    sp.dst = tcp_pair::b_addr;
    sp.sport = ci.local_port;
    sp.dport = ci.remote_port;
    sp.seq = i.rcv_nxt;
    sp.ack = i.snd_nxt;
    sp.flags = t::ack;
    sp.wnd = 1000;
    sp.ts = i.timestamps;
    sp.tsval = i.ts_recent + 1;
    return sp;
  }
  void inject(const std::vector<std::byte>& b) {
    p.wire.inject(1, tcp_pair::a_addr, tcp_pair::b_addr, b);
  }
  // Segments the server sent since `mark`.
  std::vector<wire_segment> sent_since(size_t mark) {
    std::vector<wire_segment> v;
    for (size_t i = mark; i < p.wire.log.size(); ++i) {
      if (p.wire.log[i].from == 1) v.push_back(p.wire.log[i]);
    }
    return v;
  }
};

}  // namespace

TEST(TcpInput, GoodInjectedSegmentIsDelivered) {
  fixture f;
  ASSERT_NE(f.s, net::invalid_tcp_conn);
  auto sp = f.good();
  sp.payload = text("submit_sm");
  f.inject(t::build_segment(sp));
  EXPECT_EQ(f.p.b_events.data[f.s], text("submit_sm"));
}

TEST(TcpInput, MalformedHeadersAreDroppedAndCounted) {
  fixture f;
  ASSERT_NE(f.s, net::invalid_tcp_conn);
  const size_t mark = f.p.wire.log.size();
  auto sp = f.good();
  sp.payload = text("data");

  auto bad_checksum = t::build_segment(sp);
  bad_checksum[16] ^= std::byte{1};
  f.inject(bad_checksum);
  EXPECT_EQ(f.p.b->counters().drop_checksum, 1u);

  f.inject(std::vector<std::byte>(19, std::byte{0}));  // shorter than a header
  EXPECT_EQ(f.p.b->counters().drop_short, 1u);

  // Data offsets of 4 words and beyond the segment (checksums fixed up afterwards).
  auto fix = [&](std::vector<std::byte> b) {
    b[16] = b[17] = std::byte{0};
    const uint32_t sum = net::pseudo_header_sum(tcp_pair::a_addr, tcp_pair::b_addr,
                                                net::ip_proto_tcp, static_cast<uint16_t>(b.size()));
    const uint16_t c = net::checksum_finish(net::checksum_add(b, sum));
    b[16] = std::byte(c >> 8);
    b[17] = std::byte(c);
    return b;
  };
  auto b = t::build_segment(sp);
  b[12] = std::byte{4 << 4};
  f.inject(fix(b));
  b[12] = std::byte{15 << 4};
  f.inject(fix(b));
  EXPECT_EQ(f.p.b->counters().drop_short, 3u);

  // Options: a kind with no length octet, a zero length, a length past the header, an MSS
  // of the wrong length.
  for (auto opt : std::vector<std::vector<std::byte>>{
           {std::byte{1}, std::byte{1}, std::byte{1}, std::byte{5}},
           {std::byte{5}, std::byte{0}, std::byte{1}, std::byte{1}},
           {std::byte{5}, std::byte{9}, std::byte{1}, std::byte{1}},
           {std::byte{2}, std::byte{3}, std::byte{1}, std::byte{1}},
           {std::byte{8}, std::byte{4}, std::byte{1}, std::byte{1}},
       }) {
    auto o = sp;
    o.options = opt;
    f.inject(t::build_segment(o));
  }
  EXPECT_EQ(f.p.b->counters().drop_options, 5u);

  auto zero_port = sp;
  zero_port.sport = 0;
  f.inject(t::build_segment(zero_port));
  EXPECT_EQ(f.p.b->counters().drop_bad_ports, 1u);

  // Nothing was delivered, nothing answered, the connection is intact.
  EXPECT_TRUE(f.p.b_events.data[f.s].empty());
  EXPECT_TRUE(f.sent_since(mark).empty());
  f.inject(t::build_segment(sp));
  EXPECT_EQ(f.p.b_events.data[f.s], text("data"));
}

TEST(TcpInput, UnknownOptionsAreSkipped) {
  fixture f;
  ASSERT_NE(f.s, net::invalid_tcp_conn);
  auto sp = f.good();
  sp.options = {std::byte{30}, std::byte{4}, std::byte{0xaa}, std::byte{0xbb}, std::byte{0}};
  sp.payload = text("x");
  f.inject(t::build_segment(sp));
  EXPECT_EQ(f.p.b_events.data[f.s], text("x"));
}

TEST(TcpInput, Rfc5961RstInWindowGetsChallengeAck) {
  fixture f;
  ASSERT_NE(f.s, net::invalid_tcp_conn);
  const net::tcp_conn_info i = f.server();
  const size_t mark = f.p.wire.log.size();
  auto sp = f.good();
  sp.flags = t::rst;
  sp.seq = i.rcv_nxt + 100;  // in the window, not RCV.NXT
  f.inject(t::build_segment(sp));
  const auto out = f.sent_since(mark);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].has(t::ack) && !out[0].has(t::rst));
  EXPECT_EQ(out[0].ack, i.rcv_nxt);
  EXPECT_EQ(out[0].seq, i.snd_nxt);
  EXPECT_EQ(f.p.b->counters().challenge_acks, 1u);
  EXPECT_TRUE(f.p.b_events.closed.empty());

  // Out of the window: silently dropped.
  sp.seq = i.rcv_nxt + i.rcv_wnd + 10;
  f.inject(t::build_segment(sp));
  EXPECT_EQ(f.sent_since(mark).size(), 1u);
  EXPECT_EQ(f.p.b->counters().drop_out_of_window, 1u);
  EXPECT_TRUE(f.p.b_events.closed.empty());

  // Exactly RCV.NXT: the connection is reset.
  sp.seq = i.rcv_nxt;
  f.inject(t::build_segment(sp));
  ASSERT_EQ(f.p.b_events.closed.size(), 1u);
  EXPECT_EQ(f.p.b_events.closed[0], std::make_pair(f.s, ECONNRESET));
  EXPECT_EQ(f.p.b->connections(), 0u);
}

TEST(TcpInput, Rfc5961SynInSynchronizedStateGetsChallengeAck) {
  fixture f;
  ASSERT_NE(f.s, net::invalid_tcp_conn);
  const net::tcp_conn_info i = f.server();
  const size_t mark = f.p.wire.log.size();
  for (uint32_t seq : {i.rcv_nxt, i.rcv_nxt + 5000, i.rcv_nxt - 100000}) {
    auto sp = f.good();
    sp.flags = t::syn;
    sp.seq = seq;
    f.inject(t::build_segment(sp));
  }
  // In-window SYNs get a challenge ACK (out-of-window ones the ACK of the acceptability test);
  // the connection survives every one.
  const auto out = f.sent_since(mark);
  ASSERT_EQ(out.size(), 3u);
  for (const auto& w : out) {
    EXPECT_TRUE(w.has(t::ack) && !w.has(t::rst) && !w.has(t::syn));
    EXPECT_EQ(w.ack, i.rcv_nxt);
  }
  EXPECT_EQ(f.p.b->counters().challenge_acks, 2u);
  net::tcp_conn_info after;
  ASSERT_TRUE(f.p.b->info(f.s, after));
  EXPECT_EQ(after.state, net::tcp_state::established);
  EXPECT_EQ(after.rcv_nxt, i.rcv_nxt);
}

TEST(TcpInput, Rfc5961AckOutsideSentRangeIsDropped) {
  fixture f;
  ASSERT_NE(f.s, net::invalid_tcp_conn);
  const net::tcp_conn_info i = f.server();
  const size_t mark = f.p.wire.log.size();
  auto sp = f.good();
  sp.ack = i.snd_nxt + 1000;  // acknowledges what was never sent
  sp.payload = text("forged");
  f.inject(t::build_segment(sp));
  sp.ack = i.snd_nxt - 0x40000000u;  // far before SND.UNA - MAX.SND.WND
  f.inject(t::build_segment(sp));
  EXPECT_TRUE(f.p.b_events.data[f.s].empty());
  EXPECT_EQ(f.p.b->counters().drop_bad_ack, 2u);
  EXPECT_EQ(f.p.b->counters().challenge_acks, 2u);
  EXPECT_EQ(f.sent_since(mark).size(), 2u);
}

TEST(TcpInput, ChallengeAcksAreRateLimited) {
  net::tcp_config cb;
  cb.challenge_acks_per_s = 3;
  fixture f(cb);
  ASSERT_NE(f.s, net::invalid_tcp_conn);
  const net::tcp_conn_info i = f.server();
  for (int k = 0; k < 10; ++k) {
    auto sp = f.good();
    sp.flags = t::rst;
    sp.seq = i.rcv_nxt + 10 + static_cast<uint32_t>(k);
    f.inject(t::build_segment(sp));
  }
  EXPECT_EQ(f.p.b->counters().challenge_acks, 3u);
  EXPECT_EQ(f.p.b->counters().challenge_acks_suppressed, 7u);
  f.p.wire.run(1'100'000);  // the next second has a new allowance
  auto sp = f.good();
  sp.flags = t::rst;
  sp.seq = i.rcv_nxt + 10;
  f.inject(t::build_segment(sp));
  EXPECT_EQ(f.p.b->counters().challenge_acks, 4u);
}

TEST(TcpInput, PawsDropsOldTimestamp) {
  fixture f;
  ASSERT_NE(f.s, net::invalid_tcp_conn);
  auto sp = f.good();
  sp.payload = text("new");
  sp.tsval = f.server().ts_recent + 100;
  f.inject(t::build_segment(sp));
  ASSERT_EQ(f.p.b_events.data[f.s], text("new"));
  EXPECT_EQ(f.server().ts_recent, sp.tsval);
  // A segment with the right sequence number but an older timestamp: a wrapped old duplicate.
  const size_t mark = f.p.wire.log.size();
  auto old = f.good();
  old.payload = text("old");
  old.tsval = sp.tsval - 50;
  f.inject(t::build_segment(old));
  EXPECT_EQ(f.p.b_events.data[f.s], text("new"));
  EXPECT_EQ(f.p.b->counters().drop_paws, 1u);
  // RFC 7323 §5.3: answered with an ACK.
  const auto out = f.sent_since(mark);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].has(t::ack));
  // Without a timestamp at all once negotiated: dropped as well.
  auto none = f.good();
  none.ts = false;
  none.payload = text("nots");
  f.inject(t::build_segment(none));
  EXPECT_EQ(f.p.b_events.data[f.s], text("new"));
  EXPECT_EQ(f.p.b->counters().drop_paws, 2u);
  // A RST is not subject to PAWS (RFC 7323 §5.3 R1).
  auto r = f.good();
  r.flags = t::rst;
  r.tsval = 1;
  f.inject(t::build_segment(r));
  EXPECT_EQ(f.p.b_events.close_error(f.s), ECONNRESET);
}

TEST(TcpInput, ListenAnswersAckWithRstAndIgnoresRst) {
  tcp_pair p;
  ASSERT_GE(p.b->listen(0, 2775, 4), 0);
  segment_spec sp;
  sp.src = tcp_pair::a_addr;
  sp.dst = tcp_pair::b_addr;
  sp.sport = 4000;
  sp.dport = 2775;
  sp.seq = 1;
  sp.ack = 12345;
  sp.flags = t::ack;
  p.wire.inject(1, sp.src, sp.dst, t::build_segment(sp));
  ASSERT_EQ(p.wire.log.size(), 1u);
  EXPECT_TRUE(p.wire.log[0].has(t::rst));
  EXPECT_EQ(p.wire.log[0].seq, 12345u);  // <SEQ=SEG.ACK><CTL=RST>
  sp.flags = t::rst;
  p.wire.inject(1, sp.src, sp.dst, t::build_segment(sp));
  EXPECT_EQ(p.wire.log.size(), 1u);
  // Closed port, segment without ACK: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
  sp.dport = 2776;
  sp.flags = t::psh;
  sp.payload = text("abc");
  p.wire.inject(1, sp.src, sp.dst, t::build_segment(sp));
  ASSERT_EQ(p.wire.log.size(), 2u);
  EXPECT_TRUE(p.wire.log[1].has(t::rst) && p.wire.log[1].has(t::ack));
  EXPECT_EQ(p.wire.log[1].seq, 0u);
  EXPECT_EQ(p.wire.log[1].ack, 4u);
  EXPECT_EQ(p.b->connections(), 0u);
}

TEST(TcpInput, ZeroMssOptionIsRaised) {
  tcp_pair p;
  ASSERT_GE(p.b->listen(0, 2775, 4), 0);
  segment_spec sp;
  sp.src = tcp_pair::a_addr;
  sp.dst = tcp_pair::b_addr;
  sp.sport = 4000;
  sp.dport = 2775;
  sp.seq = 1;
  sp.flags = t::syn;
  sp.options = {std::byte{2}, std::byte{4}, std::byte{0}, std::byte{0}};
  p.wire.inject(1, sp.src, sp.dst, t::build_segment(sp));
  ASSERT_EQ(p.b->connections(), 1u);
  const wire_segment synack = p.wire.log.back();
  sp.flags = t::ack;
  sp.options.clear();
  sp.seq = 2;
  sp.ack = synack.seq + 1;
  p.wire.inject(1, sp.src, sp.dst, t::build_segment(sp));
  ASSERT_EQ(p.b_events.accepted.size(), 1u);
  const net::tcp_conn s = p.b_events.accepted[0];
  net::tcp_conn_info i;
  ASSERT_TRUE(p.b->info(s, i));
  EXPECT_GE(i.snd_mss, 64u);
  // Sending works in MSS-sized pieces, no zero-length loop.
  const std::vector<std::byte> big(1000, std::byte{1});
  EXPECT_EQ(p.b->send(s, big), big.size());
  p.b->flush();
  EXPECT_LT(p.wire.log.size(), 40u);
}

TEST(TcpInput, SeededFloodOfMalformedSegmentsNeverBreaksTheStack) {
  fixture f;
  ASSERT_NE(f.s, net::invalid_tcp_conn);
  std::mt19937_64 rng(99);
  ASSERT_GE(f.p.b->listen(0, 2776, 8), 0);
  const net::tcp_conn_info i = f.server();
  const segment_spec base = f.good();
  for (int k = 0; k < 50000; ++k) {
    auto sp = base;
    // Mostly plausible fields with random flips: flags, sequence numbers near the window,
    // random options and payloads; a quarter fully random bytes.
    sp.flags = static_cast<uint8_t>(rng());
    sp.seq = i.rcv_nxt + static_cast<uint32_t>(rng() % 200000) - 100000;
    sp.ack = i.snd_nxt + static_cast<uint32_t>(rng() % 200000) - 100000;
    sp.dport = (rng() % 4 == 0) ? 2776 : sp.dport;
    sp.wnd = static_cast<uint16_t>(rng());
    sp.ts = rng() % 2;
    sp.tsval = static_cast<uint32_t>(rng());
    std::vector<std::byte> opts(rng() % 12);
    for (auto& b : opts) b = std::byte(rng() % 12);
    sp.options = opts;
    sp.payload.resize(rng() % 64);
    std::vector<std::byte> b = t::build_segment(sp);
    if (rng() % 4 == 0) {
      for (auto& x : b) x = std::byte(rng());
    } else if (rng() % 3 == 0) {
      b[rng() % b.size()] = std::byte(rng());  // checksum most likely broken
    }
    f.inject(b);
    if (k % 100 == 0) f.p.wire.run(1000);
  }
  // Bounded state: no more connections than the table has; the stack still answers a new
  // handshake on a fresh port.
  EXPECT_LE(f.p.b->connections(), 1024u);
  f.p.wire.run(200'000'000, [&] { return f.p.b->connections() <= 1; });
  auto [c2, s2] = f.p.establish(2790);
  EXPECT_NE(c2, net::invalid_tcp_conn);
  EXPECT_NE(s2, net::invalid_tcp_conn);
}

TEST(TcpInput, FuzzEntryReplaysSeededScripts) {
  std::mt19937_64 rng(2024);
  for (int k = 0; k < 300; ++k) {
    std::vector<uint8_t> script;
    const int records = 1 + static_cast<int>(rng() % 20);
    for (int r = 0; r < records; ++r) {
      const uint8_t op = static_cast<uint8_t>(rng());
      const size_t len = (op % 6 == 3) ? rng() % 3000 : rng() % 80;
      script.push_back(op);
      script.push_back(static_cast<uint8_t>(len >> 8));
      script.push_back(static_cast<uint8_t>(len));
      for (size_t j = 0; j < len; ++j) script.push_back(static_cast<uint8_t>(rng()));
    }
    smpp::test::tcp_fuzz_one(script.data(), script.size());
  }
}
