// The out-of-order queue: random segmentation, reordering and duplication against a reference
// stream (thousands of seeded cases), overlaps on both sides with the first copy kept, the wrap
// of sequence numbers at 2^32, and both bounds overflowing with the peer retransmitting.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "smpp/net/tcp_reassembly.hpp"

namespace net = smpp::net;

namespace {

std::span<const std::byte> as_bytes(const std::string& s) {
  return std::as_bytes(std::span<const char>(s.data(), s.size()));
}

// Pops into `out`, checking that every call hands over what insert made contiguous.
size_t pop_into(net::tcp_reassembly& q, uint32_t& rcv_nxt, std::string& out) {
  return q.pop(rcv_nxt, [&](std::span<const std::byte> d) {
    EXPECT_FALSE(d.empty());
    out.append(reinterpret_cast<const char*>(d.data()), d.size());
  });
}

// The queue's own invariants: runs sorted, apart, inside the window, counted right.
void check_invariants(const net::tcp_reassembly& q, uint32_t rcv_nxt) {
  size_t bytes = 0;
  const auto blocks = q.blocks();
  ASSERT_LE(blocks.size(), q.max_segments());
  for (size_t i = 0; i < blocks.size(); ++i) {
    ASSERT_GT(blocks[i].len, 0u);
    const uint32_t off = blocks[i].seq - rcv_nxt;
    ASSERT_LE(uint64_t{off} + blocks[i].len, q.max_bytes());
    if (i > 0) {
      const uint32_t prev_end = blocks[i - 1].seq + blocks[i - 1].len - rcv_nxt;
      ASSERT_LT(prev_end, off) << "runs touch or overlap";
    }
    bytes += blocks[i].len;
  }
  ASSERT_EQ(bytes, q.bytes());
  ASSERT_EQ(blocks.size(), q.segments());
}

struct piece {
  uint32_t off;
  uint32_t len;
};

// One seeded case: a stream cut into segments (plus random overlapping pieces), shuffled,
// some duplicated, fed in that order with pops in between. Then, as a peer retransmits what is
// not acknowledged, the segments from RCV.NXT on are sent again in order until the stream is
// through (the tight-bounds cases drop and evict on the first pass).
void run_case(uint32_t seed, uint32_t max_bytes, uint32_t max_segments) {
  SCOPED_TRACE(::testing::Message() << "seed " << seed << " max_bytes " << max_bytes
                                    << " max_segments " << max_segments);
  std::mt19937 rng(seed);
  const auto rnd = [&](uint64_t n) { return static_cast<uint32_t>(rng() % n); };
  const uint32_t len = 1 + rnd(12'000);
  std::string stream(len, '\0');
  for (char& c : stream) c = static_cast<char>('a' + rnd(26));
  // Start anywhere, half the time a little before the wrap at 2^32.
  const uint32_t isn = rnd(2) != 0 ? 0xffff'ffffu - rnd(20'000) : rnd(uint64_t{1} << 32);

  std::vector<piece> segments;
  for (uint32_t off = 0; off < len;) {
    const uint32_t n = std::min(len - off, 1 + rnd(1460));
    segments.push_back({off, n});
    off += n;
  }
  std::vector<piece> pieces = segments;
  const size_t extra = rnd(segments.size() + 1);
  for (size_t i = 0; i < extra; ++i) {  // overlapping pieces that straddle segment edges
    const uint32_t off = rnd(len);
    pieces.push_back({off, std::min(len - off, 1 + rnd(3000))});
  }
  const size_t dups = rnd(pieces.size() + 1);
  for (size_t i = 0; i < dups; ++i) pieces.push_back(pieces[rnd(pieces.size())]);
  std::shuffle(pieces.begin(), pieces.end(), rng);

  net::tcp_reassembly q(max_bytes, max_segments);
  uint32_t rcv_nxt = isn;
  std::string out;
  uint64_t held = 0;  // what the results say is held
  const bool roomy = max_segments >= pieces.size() && max_bytes >= len;
  const auto send = [&](const piece& p) {
    const auto r = q.insert(isn + p.off, as_bytes(stream).subspan(p.off, p.len), rcv_nxt);
    ASSERT_EQ(uint64_t{r.stored} + r.duplicate + r.dropped, p.len);
    if (roomy) {
      ASSERT_EQ(r.dropped, 0u);
      ASSERT_EQ(r.evicted, 0u);
    }
    held += r.stored;
    held -= r.evicted;
    ASSERT_NO_FATAL_FAILURE(check_invariants(q, rcv_nxt));
    ASSERT_EQ(held, q.bytes());
  };
  const auto deliver = [&] {
    held -= pop_into(q, rcv_nxt, out);
    ASSERT_NO_FATAL_FAILURE(check_invariants(q, rcv_nxt));
    ASSERT_EQ(held, q.bytes());
    ASSERT_EQ(rcv_nxt, static_cast<uint32_t>(isn + out.size()));
  };
  for (const piece& p : pieces) {
    ASSERT_NO_FATAL_FAILURE(send(p));
    if (rnd(3) == 0) {
      ASSERT_NO_FATAL_FAILURE(deliver());
    }
  }
  ASSERT_NO_FATAL_FAILURE(deliver());
  if (roomy) {
    ASSERT_EQ(out.size(), len) << "stream incomplete though nothing was dropped";
  }
  for (const piece& p : segments) {
    // Each retransmission of the segment at RCV.NXT moves it on: bounded by its length.
    for (uint32_t tries = 0; out.size() < p.off + p.len; ++tries) {
      ASSERT_LE(tries, p.len) << "no progress";
      ASSERT_NO_FATAL_FAILURE(send(p));
      ASSERT_NO_FATAL_FAILURE(deliver());
    }
  }
  ASSERT_EQ(out, stream);
  ASSERT_EQ(rcv_nxt, isn + len);
  ASSERT_TRUE(q.empty());
  ASSERT_EQ(q.bytes(), 0u);
}

}  // namespace

TEST(TcpReassembly, RandomSegmentationReorderingAndDuplicationRebuildTheStream) {
  for (uint32_t seed = 1; seed <= 3000; ++seed) {
    ASSERT_NO_FATAL_FAILURE(run_case(seed, 16'384, 256));
  }
}

TEST(TcpReassembly, RandomCasesUnderTightBoundsStillDeliverEverythingWithRetransmission) {
  for (uint32_t seed = 10'001; seed <= 11'500; ++seed) {
    ASSERT_NO_FATAL_FAILURE(run_case(seed, 1 + seed % 5000, 1 + seed % 6));
  }
}

TEST(TcpReassembly, InOrderSegmentIsDeliveredAtOnce) {
  net::tcp_reassembly q(4096, 8);
  uint32_t rcv_nxt = 1000;
  const auto r = q.insert(1000, as_bytes("hello"), rcv_nxt);
  EXPECT_EQ(r.stored, 5u);
  EXPECT_TRUE(r);
  std::string out;
  EXPECT_EQ(pop_into(q, rcv_nxt, out), 5u);
  EXPECT_EQ(out, "hello");
  EXPECT_EQ(rcv_nxt, 1005u);
  EXPECT_EQ(pop_into(q, rcv_nxt, out), 0u);
}

TEST(TcpReassembly, HoleHoldsDataBackUntilFilled) {
  net::tcp_reassembly q(4096, 8);
  uint32_t rcv_nxt = 0;
  std::string out;
  (void)q.insert(5, as_bytes("fgh"), rcv_nxt);
  (void)q.insert(10, as_bytes("kl"), rcv_nxt);
  EXPECT_EQ(q.segments(), 2u);
  EXPECT_EQ(q.bytes(), 5u);
  EXPECT_EQ(pop_into(q, rcv_nxt, out), 0u);
  (void)q.insert(0, as_bytes("abcde"), rcv_nxt);  // touches "fgh": merged into one run
  EXPECT_EQ(q.segments(), 2u);
  EXPECT_EQ(pop_into(q, rcv_nxt, out), 8u);
  EXPECT_EQ(out, "abcdefgh");
  (void)q.insert(8, as_bytes("ij"), rcv_nxt);
  EXPECT_EQ(pop_into(q, rcv_nxt, out), 4u);
  EXPECT_EQ(out, "abcdefghijkl");
  EXPECT_TRUE(q.empty());
}

TEST(TcpReassembly, OverlapsOnBothSidesKeepTheFirstCopy) {
  net::tcp_reassembly q(4096, 8);
  uint32_t rcv_nxt = 100;
  (void)q.insert(110, as_bytes("AAAAA"), rcv_nxt);  // 110..114
  (void)q.insert(120, as_bytes("BBBBB"), rcv_nxt);  // 120..124
  // Overlaps the left run's tail, the gap and the right run's head: only the gap is new.
  auto r = q.insert(113, as_bytes("xxxxxxxxxx"), rcv_nxt);  // 113..122
  EXPECT_EQ(r.stored, 5u);                                  // 115..119
  EXPECT_EQ(r.duplicate, 5u);
  EXPECT_EQ(q.segments(), 1u);
  // Overlaps the front (left side) and extends past the end (right side).
  r = q.insert(105, as_bytes("yyyyyyyyyy"), rcv_nxt);  // 105..114
  EXPECT_EQ(r.stored, 5u);
  EXPECT_EQ(r.duplicate, 5u);
  r = q.insert(123, as_bytes("zzzzz"), rcv_nxt);  // 123..127
  EXPECT_EQ(r.stored, 3u);
  // Entirely inside held data: nothing new.
  r = q.insert(106, as_bytes("qq"), rcv_nxt);
  EXPECT_EQ(r.stored, 0u);
  EXPECT_EQ(r.duplicate, 2u);
  // Before rcv_nxt and overlapping it: the old part is a duplicate.
  r = q.insert(95, as_bytes("0123456789"), rcv_nxt);  // 95..104: 100..104 new
  EXPECT_EQ(r.duplicate, 5u);
  EXPECT_EQ(r.stored, 5u);
  std::string out;
  EXPECT_EQ(pop_into(q, rcv_nxt, out), 28u);
  EXPECT_EQ(out, "56789yyyyyAAAAAxxxxxBBBBBzzz");
}

TEST(TcpReassembly, RunSpanningSeveralHeldRunsMergesThemAll) {
  net::tcp_reassembly q(4096, 8);
  uint32_t rcv_nxt = 0;
  for (uint32_t s = 2; s < 20; s += 4) (void)q.insert(s, as_bytes("##"), rcv_nxt);
  EXPECT_EQ(q.segments(), 5u);
  const auto r = q.insert(0, as_bytes("abcdefghijklmnopqrstuvwxyz"), rcv_nxt);
  EXPECT_EQ(r.stored, 16u);
  EXPECT_EQ(r.duplicate, 10u);
  EXPECT_EQ(q.segments(), 1u);
  std::string out;
  EXPECT_EQ(pop_into(q, rcv_nxt, out), 26u);
  EXPECT_EQ(out, "ab##ef##ij##mn##qr##uvwxyz");
}

TEST(TcpReassembly, WrapsAtTwoToTheThirtyTwo) {
  net::tcp_reassembly q(64, 8);  // ring of 64: the wrap of sequence numbers and of the ring
  uint32_t rcv_nxt = 0xffff'fff0u;
  std::string out;
  const std::string a = "0123456789abcdefghijklmnopqrstuv";  // 32 octets across 2^32
  (void)q.insert(0xffff'fff0u + 16, as_bytes(a.substr(16)), rcv_nxt);
  EXPECT_EQ(q.blocks()[0].seq, 0u);
  (void)q.insert(0xffff'fff0u, as_bytes(a.substr(0, 20)), rcv_nxt);
  EXPECT_EQ(pop_into(q, rcv_nxt, out), 32u);
  EXPECT_EQ(out, a);
  EXPECT_EQ(rcv_nxt, 0x10u);
  // A late retransmission from before the wrap is a duplicate.
  const auto r = q.insert(0xffff'fff8u, as_bytes("old"), rcv_nxt);
  EXPECT_EQ(r.duplicate, 3u);
  EXPECT_TRUE(q.empty());
}

TEST(TcpReassembly, RingWrapDeliversTwoSpans) {
  net::tcp_reassembly q(16, 4);
  uint32_t rcv_nxt = 10;  // ring positions 10..15 then 0..5
  std::vector<size_t> spans;
  (void)q.insert(10, as_bytes("abcdefghijkl"), rcv_nxt);
  std::string out;
  q.pop(rcv_nxt, [&](std::span<const std::byte> d) {
    spans.push_back(d.size());
    out.append(reinterpret_cast<const char*>(d.data()), d.size());
  });
  EXPECT_EQ(spans, (std::vector<size_t>{6, 6}));
  EXPECT_EQ(out, "abcdefghijkl");
}

TEST(TcpReassembly, BeyondTheWindowIsDroppedAndReported) {
  net::tcp_reassembly q(100, 8);
  uint32_t rcv_nxt = 0;
  auto r = q.insert(90, as_bytes(std::string(20, 'x')), rcv_nxt);  // 90..109: 100.. cut
  EXPECT_EQ(r.stored, 10u);
  EXPECT_EQ(r.dropped, 10u);
  EXPECT_FALSE(r);
  r = q.insert(100, as_bytes("y"), rcv_nxt);
  EXPECT_EQ(r.dropped, 1u);
  r = q.insert(0x7000'0000u, as_bytes("far"), rcv_nxt);
  EXPECT_EQ(r.dropped, 3u);
  EXPECT_EQ(q.bytes(), 10u);
  // Once rcv_nxt moves on, the window moves with it.
  (void)q.insert(0, as_bytes(std::string(90, 'a')), rcv_nxt);
  std::string out;
  EXPECT_EQ(pop_into(q, rcv_nxt, out), 100u);
  r = q.insert(150, as_bytes(std::string(50, 'b')), rcv_nxt);
  EXPECT_EQ(r.stored, 50u);
  EXPECT_EQ(r.dropped, 0u);
}

TEST(TcpReassembly, SegmentBoundDropsTheFurthestAndEvictsForCloserData) {
  net::tcp_reassembly q(4096, 3);
  uint32_t rcv_nxt = 0;
  (void)q.insert(100, as_bytes("c"), rcv_nxt);
  (void)q.insert(200, as_bytes("d"), rcv_nxt);
  (void)q.insert(300, as_bytes("e"), rcv_nxt);
  ASSERT_EQ(q.segments(), 3u);
  // A fourth run beyond every held one: dropped.
  auto r = q.insert(400, as_bytes("ff"), rcv_nxt);
  EXPECT_EQ(r.dropped, 2u);
  EXPECT_EQ(r.stored, 0u);
  EXPECT_EQ(q.segments(), 3u);
  // Touching a held run needs no new run: kept even when full.
  r = q.insert(301, as_bytes("E"), rcv_nxt);
  EXPECT_EQ(r.stored, 1u);
  EXPECT_EQ(r.dropped, 0u);
  // A new run before held ones: the furthest (300..301) is evicted for it.
  r = q.insert(50, as_bytes("b"), rcv_nxt);
  EXPECT_EQ(r.stored, 1u);
  EXPECT_EQ(r.evicted, 2u);
  EXPECT_EQ(q.segments(), 3u);
  EXPECT_EQ(q.blocks()[2].seq, 200u);
  // The data at rcv_nxt always gets in, so the connection progresses.
  r = q.insert(0, as_bytes("a"), rcv_nxt);
  EXPECT_EQ(r.stored, 1u);
  EXPECT_EQ(r.evicted, 1u);
  std::string out;
  EXPECT_EQ(pop_into(q, rcv_nxt, out), 1u);
  EXPECT_EQ(out, "a");
}

TEST(TcpReassembly, CallerAdvancingRcvNxtItselfTrimsHeldData) {
  net::tcp_reassembly q(4096, 8);
  uint32_t rcv_nxt = 0;
  (void)q.insert(10, as_bytes("0123456789"), rcv_nxt);  // 10..19
  (void)q.insert(30, as_bytes("abc"), rcv_nxt);
  // The caller delivered 0..14 from elsewhere.
  rcv_nxt = 15;
  std::string out;
  EXPECT_EQ(pop_into(q, rcv_nxt, out), 5u);
  EXPECT_EQ(out, "56789");
  EXPECT_EQ(q.bytes(), 3u);
  // Up to exactly the end of the held run 30..32.
  (void)q.insert(40, as_bytes("z"), 33);
  EXPECT_EQ(q.bytes(), 1u);
  EXPECT_EQ(q.segments(), 1u);
}

TEST(TcpReassembly, RcvNxtMovingBackDiscardsEverything) {
  net::tcp_reassembly q(4096, 8);
  (void)q.insert(110, as_bytes("abc"), 100);
  (void)q.insert(50, as_bytes("x"), 40);  // RCV.NXT never goes back: start over
  EXPECT_EQ(q.segments(), 1u);
  EXPECT_EQ(q.bytes(), 1u);
  EXPECT_EQ(q.blocks()[0].seq, 50u);
}

TEST(TcpReassembly, FrontAndConsumeHandOverPiecewise) {
  net::tcp_reassembly q(16, 4);
  uint32_t rcv_nxt = 12;
  (void)q.insert(12, as_bytes("abcdefgh"), rcv_nxt);  // ring 12..15, 0..3
  auto f = q.front(rcv_nxt);
  ASSERT_EQ(f.size(), 4u);
  EXPECT_EQ(std::memcmp(f.data(), "abcd", 4), 0);
  q.consume(3);
  rcv_nxt += 3;
  f = q.front(rcv_nxt);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(static_cast<char>(f[0]), 'd');
  rcv_nxt += 1;  // taken by advancing RCV.NXT instead of consume()
  f = q.front(rcv_nxt);
  ASSERT_EQ(f.size(), 4u);
  EXPECT_EQ(std::memcmp(f.data(), "efgh", 4), 0);
  q.consume(100);  // more than there is: takes what there is
  EXPECT_TRUE(q.empty());
  EXPECT_TRUE(q.front(rcv_nxt + 4).empty());
}

TEST(TcpReassembly, EmptyAndZeroBoundInputsAreHarmless) {
  net::tcp_reassembly q(0, 0);  // clamped to one octet, one run
  EXPECT_EQ(q.max_bytes(), 1u);
  EXPECT_EQ(q.max_segments(), 1u);
  uint32_t rcv_nxt = 7;
  auto r = q.insert(7, {}, rcv_nxt);
  EXPECT_EQ(r.stored + r.duplicate + r.dropped, 0u);
  r = q.insert(7, as_bytes("ab"), rcv_nxt);
  EXPECT_EQ(r.stored, 1u);
  EXPECT_EQ(r.dropped, 1u);
  std::string out;
  EXPECT_EQ(pop_into(q, rcv_nxt, out), 1u);
  q.clear();
  EXPECT_TRUE(q.empty());
}

TEST(TcpReassembly, ArbitraryInputNeverBreaksItsInvariants) {
  // Whatever a peer sends and however the caller's RCV.NXT jumps (forwards, backwards, by
  // more than 2^31), the queue stays consistent, bounded, and delivers only what it holds.
  std::mt19937 rng(99);
  const auto rnd = [&](uint32_t n) { return static_cast<uint32_t>(rng() % n); };
  const auto any = [&] { return static_cast<uint32_t>(rng()); };
  std::vector<std::byte> data(70'000, std::byte{0x33});
  for (int round = 0; round < 200; ++round) {
    net::tcp_reassembly q(1 + rnd(70'000), 1 + rnd(16));
    uint32_t rcv_nxt = any();
    for (int i = 0; i < 300; ++i) {
      const uint32_t kind = rnd(10);
      if (kind == 0) rcv_nxt = any();       // anywhere at all
      if (kind == 1) rcv_nxt += rnd(3000);  // delivered elsewhere
      const uint32_t seq = kind < 5 ? rcv_nxt + rnd(80'000) - 10'000 : any();
      const size_t len = rnd(static_cast<uint32_t>(data.size()));
      const auto r = q.insert(seq, std::span<const std::byte>(data).first(len), rcv_nxt);
      ASSERT_EQ(uint64_t{r.stored} + r.duplicate + r.dropped, len);
      ASSERT_NO_FATAL_FAILURE(check_invariants(q, rcv_nxt));
      ASSERT_LE(q.bytes(), q.max_bytes());
      const uint32_t before = rcv_nxt;
      const size_t n = q.pop(rcv_nxt, [&](std::span<const std::byte> d) {
        for (std::byte b : d) ASSERT_EQ(b, std::byte{0x33});
      });
      ASSERT_EQ(rcv_nxt - before, n);
      ASSERT_NO_FATAL_FAILURE(check_invariants(q, rcv_nxt));
    }
  }
}

TEST(TcpReassembly, DeliverMayClearTheQueueAndSpansOutliveThePop) {
  net::tcp_reassembly q(16, 4);
  uint32_t rcv_nxt = 10;
  (void)q.insert(20, as_bytes("zz"), rcv_nxt);
  (void)q.insert(10, as_bytes("abcdefgh"), rcv_nxt);  // wraps the ring: two spans
  std::vector<std::span<const std::byte>> kept;
  const size_t n = q.pop(rcv_nxt, [&](std::span<const std::byte> d) {
    kept.push_back(d);
    q.clear();  // the connection closed while its data was handed over
  });
  EXPECT_EQ(n, 8u);
  EXPECT_EQ(rcv_nxt, 18u);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.bytes(), 0u);
  std::string out;
  for (auto d : kept) out.append(reinterpret_cast<const char*>(d.data()), d.size());
  EXPECT_EQ(out, "abcdefgh");
}
