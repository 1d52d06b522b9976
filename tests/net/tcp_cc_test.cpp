// RFC 6298 RTO estimation and RFC 5681 / RFC 6582 NewReno against worked numbers, plus the
// sequence-number comparisons modulo 2^32 they rest on.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "smpp/net/tcp_cc.hpp"
#include "smpp/net/tcp_seq.hpp"

namespace net = smpp::net;
using net::ack_result;
using net::dup_ack_action;

// ---- sequence numbers -------------------------------------------------------------------

TEST(TcpSeq, ComparesAcrossTheWrap) {
  static_assert(net::seq_lt(0xffff'fff0u, 0x10u));
  static_assert(net::seq_gt(0x10u, 0xffff'fff0u));
  static_assert(net::seq_leq(5u, 5u) && net::seq_geq(5u, 5u));
  static_assert(!net::seq_lt(5u, 5u) && !net::seq_gt(5u, 5u));
  EXPECT_TRUE(net::seq_lt(0xffff'ffffu, 0u));
  EXPECT_TRUE(net::seq_lt(0u, 0x7fff'ffffu));
  EXPECT_TRUE(net::seq_gt(0u, 0x8000'0001u));  // within 2^31 behind
  EXPECT_EQ(net::seq_max(0xffff'fff0u, 0x10u), 0x10u);
  EXPECT_EQ(net::seq_min(0xffff'fff0u, 0x10u), 0xffff'fff0u);
  EXPECT_TRUE(net::seq_in(0x5u, 0xffff'fff0u, 0x10u));
  EXPECT_FALSE(net::seq_in(0x10u, 0xffff'fff0u, 0x10u));  // hi is exclusive
  EXPECT_TRUE(net::seq_in(0xffff'fff0u, 0xffff'fff0u, 0x10u));
  EXPECT_FALSE(net::seq_in(0xffff'ffefu, 0xffff'fff0u, 0x10u));
}

// ---- RFC 6298 ---------------------------------------------------------------------------

TEST(RtoEstimator, InitialRtoIsOneSecond) {
  net::rto_estimator r;
  EXPECT_EQ(r.rto_us(), 1'000'000u);  // RFC 6298 §2.1
  EXPECT_FALSE(r.has_sample());
}

TEST(RtoEstimator, FirstAndLaterSamplesFollowTheEquations) {
  net::rto_estimator r;
  r.on_rtt_sample(100'000);
  // §2.2: SRTT = 100 ms, RTTVAR = 50 ms, RTO = 100 + max(1, 4 * 50) = 300 ms.
  EXPECT_EQ(r.srtt_us(), 100'000u);
  EXPECT_EQ(r.rttvar_us(), 50'000u);
  EXPECT_EQ(r.rto_us(), 300'000u);
  r.on_rtt_sample(120'000);
  // §2.3: RTTVAR = 3/4 * 50000 + 1/4 * |100000 - 120000| = 42500;
  //       SRTT = 7/8 * 100000 + 1/8 * 120000 = 102500; RTO = 102500 + 4 * 42500 = 272500.
  EXPECT_EQ(r.rttvar_us(), 42'500u);
  EXPECT_EQ(r.srtt_us(), 102'500u);
  EXPECT_EQ(r.rto_us(), 272'500u);
  r.on_rtt_sample(80'000);
  // RTTVAR = 31875 + 5625 = 37500; SRTT = 89687.5 + 10000 = 99687.5;
  // RTO = 99687.5 + 150000 = 249687.5, rounded up to the µs.
  EXPECT_EQ(r.rttvar_us(), 37'500u);
  EXPECT_EQ(r.srtt_us(), 99'687u);
  EXPECT_EQ(r.rto_us(), 249'688u);
}

TEST(RtoEstimator, MatchesFloatingPointReferenceOverManySamples) {
  net::rto_config cfg;
  cfg.min_rto_us = 0;
  cfg.max_rto_us = 0xffff'ffffu;
  net::rto_estimator r(cfg);
  std::mt19937 rng(42);
  double srtt = 0;
  double rttvar = 0;
  for (int i = 0; i < 10'000; ++i) {
    const uint32_t sample = 1000 + static_cast<uint32_t>(rng() % 400'000);
    if (i == 0) {
      srtt = sample;
      rttvar = sample / 2.0;
    } else {
      rttvar = 0.75 * rttvar + 0.25 * std::fabs(srtt - sample);
      srtt = 0.875 * srtt + 0.125 * sample;
    }
    r.on_rtt_sample(sample);
    const double rto = srtt + std::max(1000.0, 4 * rttvar);
    ASSERT_NEAR(static_cast<double>(r.rto_us()), rto, 2.0) << "sample " << i;
    ASSERT_NEAR(static_cast<double>(r.srtt_us()), srtt, 1.0);
  }
}

TEST(RtoEstimator, ClockGranularityBoundsTheVarianceTerm) {
  net::rto_config cfg;
  cfg.min_rto_us = 0;
  cfg.granularity_us = 10'000;  // G = 10 ms
  net::rto_estimator r(cfg);
  // Constant RTT: RTTVAR decays towards 0, so RTO tends to SRTT + G.
  for (int i = 0; i < 200; ++i) r.on_rtt_sample(5'000);
  EXPECT_EQ(r.srtt_us(), 5'000u);
  EXPECT_EQ(r.rto_us(), 15'000u);
}

TEST(RtoEstimator, ClampedToMinimumAndMaximum) {
  net::rto_estimator r;
  r.on_rtt_sample(1'000);  // 1 + max(1, 4 * 0.5) = 3 ms: below the 200 ms floor
  EXPECT_EQ(r.rto_us(), 200'000u);
  net::rto_estimator big;
  big.on_rtt_sample(30'000'000);  // 30 + 4 * 15 = 90 s: above the 60 s cap (§2.5)
  EXPECT_EQ(big.rto_us(), 60'000'000u);
}

TEST(RtoEstimator, BackoffDoublesUpToTheCapAndNewSampleCollapsesIt) {
  net::rto_estimator r;
  r.on_rtt_sample(100'000);  // RTO 300 ms
  r.backoff();
  EXPECT_EQ(r.rto_us(), 600'000u);  // §5.5
  r.backoff();
  EXPECT_EQ(r.rto_us(), 1'200'000u);
  for (int i = 0; i < 100; ++i) r.backoff();
  EXPECT_EQ(r.rto_us(), 60'000'000u);
  EXPECT_LE(r.backoffs(), 8u);  // stops counting at the cap
  r.reset_backoff();
  EXPECT_EQ(r.rto_us(), 300'000u);
  r.backoff();
  r.backoff();
  r.on_rtt_sample(100'000);  // §5: a new measurement recomputes RTO from §2
  EXPECT_EQ(r.backoffs(), 0u);
  EXPECT_LT(r.rto_us(), 300'000u);
}

TEST(RtoEstimator, BackoffBeforeAnySampleStartsFromOneSecond) {
  net::rto_estimator r;
  r.backoff();
  EXPECT_EQ(r.rto_us(), 2'000'000u);
  r.backoff();
  EXPECT_EQ(r.rto_us(), 4'000'000u);
}

TEST(RtoEstimator, LostSynRaisesRtoToThreeSeconds) {
  net::rto_estimator r;
  r.backoff();
  r.on_syn_retransmitted();  // §5.7
  EXPECT_EQ(r.rto_us(), 3'000'000u);
  net::rto_estimator sampled;
  sampled.on_rtt_sample(100'000);
  sampled.on_syn_retransmitted();  // a measurement exists: it stands
  EXPECT_EQ(sampled.rto_us(), 300'000u);
}

// ---- RFC 5681 / RFC 6582 ----------------------------------------------------------------

TEST(NewReno, InitialWindowPerRfc6928AndRfc5681) {
  EXPECT_EQ(net::newreno(1460).cwnd(), 14'600u);  // RFC 6928: min(10 * 1460, max(2920, 14600))
  EXPECT_EQ(net::newreno(9000).cwnd(), 18'000u);  // min(90000, max(18000, 14600))
  EXPECT_EQ(net::newreno(536).cwnd(), 5'360u);    // min(5360, 14600)
  net::newreno_config rfc5681;
  rfc5681.initial_window_segments = 0;
  EXPECT_EQ(net::newreno(2200, 0, rfc5681).cwnd(), 4'400u);  // SMSS > 2190: 2 segments
  EXPECT_EQ(net::newreno(1460, 0, rfc5681).cwnd(), 4'380u);  // > 1095: 3 segments
  EXPECT_EQ(net::newreno(1000, 0, rfc5681).cwnd(), 4'000u);  // otherwise 4
  net::newreno after_syn_loss(1460);
  after_syn_loss.reset(1460, 0, true);  // RFC 5681 §3.1 / RFC 6928 §2: one segment
  EXPECT_EQ(after_syn_loss.cwnd(), 1'460u);
  EXPECT_EQ(net::newreno().smss(), 536u);
}

TEST(NewReno, SlowStartCountsBytesUpToTwoSegmentsPerAck) {
  net::newreno cc(1000);
  ASSERT_EQ(cc.cwnd(), 10'000u);
  EXPECT_TRUE(cc.in_slow_start());
  // RFC 5681 eq. 2 with RFC 3465 L = 2 SMSS: cwnd += min(N, 2000).
  EXPECT_EQ(cc.on_new_ack(3000, 3001, 7000), ack_result::none);
  EXPECT_EQ(cc.cwnd(), 12'000u);
  cc.on_new_ack(500, 3501, 6500);
  EXPECT_EQ(cc.cwnd(), 12'500u);
  cc.on_new_ack(1000, 4501, 5500);
  EXPECT_EQ(cc.cwnd(), 13'500u);
}

TEST(NewReno, SlowStartHandsOverToCongestionAvoidanceAtSsthresh) {
  net::newreno_config cfg;
  cfg.initial_ssthresh = 15'000;
  net::newreno cc(1000, 0, cfg);
  uint32_t ack = 1;
  auto acked = [&](uint32_t n) { return cc.on_new_ack(n, ack += n, 0); };
  acked(2000);
  EXPECT_EQ(cc.cwnd(), 12'000u);
  acked(2000);
  EXPECT_EQ(cc.cwnd(), 14'000u);
  acked(2000);  // 14000 < 15000: still slow start
  EXPECT_EQ(cc.cwnd(), 16'000u);
  EXPECT_FALSE(cc.in_slow_start());
  // RFC 5681 §3.1 congestion avoidance by byte counting: + SMSS per cwnd acknowledged.
  acked(8000);
  EXPECT_EQ(cc.cwnd(), 16'000u);
  acked(7999);
  EXPECT_EQ(cc.cwnd(), 16'000u);
  acked(1);
  EXPECT_EQ(cc.cwnd(), 17'000u);
  for (int i = 0; i < 17; ++i) acked(1000);
  EXPECT_EQ(cc.cwnd(), 18'000u);
}

TEST(NewReno, ThirdDuplicateAckEntersFastRetransmit) {
  net::newreno cc(1000, 0);  // iss 0: recover = 0
  const uint32_t una = 1001;
  const uint32_t nxt = 11'001;
  EXPECT_EQ(cc.on_dup_ack(una, nxt, 10'000), dup_ack_action::none);
  EXPECT_EQ(cc.on_dup_ack(una, nxt, 10'000), dup_ack_action::none);
  EXPECT_EQ(cc.dup_acks(), 2u);
  EXPECT_EQ(cc.on_dup_ack(una, nxt, 10'000), dup_ack_action::fast_retransmit);
  // RFC 5681 §3.2: ssthresh = max(10000 / 2, 2000); cwnd = ssthresh + 3 * SMSS.
  EXPECT_EQ(cc.ssthresh(), 5'000u);
  EXPECT_EQ(cc.cwnd(), 8'000u);
  EXPECT_TRUE(cc.in_recovery());
  EXPECT_EQ(cc.recover(), 11'000u);  // RFC 6582: highest sequence number transmitted
  EXPECT_EQ(cc.on_dup_ack(una, nxt, 10'000), dup_ack_action::inflate);
  EXPECT_EQ(cc.cwnd(), 9'000u);
  EXPECT_EQ(cc.on_dup_ack(una, nxt, 10'000), dup_ack_action::inflate);
  EXPECT_EQ(cc.cwnd(), 10'000u);
}

TEST(NewReno, SsthreshNeverBelowTwoSegments) {
  net::newreno cc(1000, 0);
  for (int i = 0; i < 2; ++i) (void)cc.on_dup_ack(1001, 2001, 1000);
  EXPECT_EQ(cc.on_dup_ack(1001, 2001, 1000), dup_ack_action::fast_retransmit);
  EXPECT_EQ(cc.ssthresh(), 2'000u);  // max(500, 2 * SMSS)
  EXPECT_EQ(cc.cwnd(), 5'000u);
}

TEST(NewReno, NewAckBetweenDuplicatesResetsTheCount) {
  net::newreno cc(1000, 0);
  (void)cc.on_dup_ack(1001, 11'001, 10'000);
  (void)cc.on_dup_ack(1001, 11'001, 10'000);
  cc.on_new_ack(1000, 2001, 9000);
  EXPECT_EQ(cc.dup_acks(), 0u);
  EXPECT_EQ(cc.on_dup_ack(2001, 11'001, 9000), dup_ack_action::none);
  EXPECT_EQ(cc.on_dup_ack(2001, 11'001, 9000), dup_ack_action::none);
  EXPECT_FALSE(cc.in_recovery());
}

TEST(NewReno, PartialAcksRetransmitAndDeflateThenFullAckExits) {
  net::newreno cc(1000, 0);
  for (int i = 0; i < 3; ++i) (void)cc.on_dup_ack(1001, 11'001, 10'000);
  (void)cc.on_dup_ack(1001, 11'001, 10'000);
  (void)cc.on_dup_ack(1001, 11'001, 10'000);
  ASSERT_EQ(cc.cwnd(), 10'000u);
  // RFC 6582 §3.2 partial acknowledgment: cwnd - 2000 acked + SMSS (acked >= SMSS).
  EXPECT_EQ(cc.on_new_ack(2000, 3001, 8000), ack_result::partial_first);
  EXPECT_TRUE(net::retransmit_first_unacked(ack_result::partial_first));
  EXPECT_EQ(cc.cwnd(), 9'000u);
  EXPECT_TRUE(cc.in_recovery());
  // Less than SMSS acknowledged: no SMSS added back.
  EXPECT_EQ(cc.on_new_ack(500, 3501, 7500), ack_result::partial);
  EXPECT_EQ(cc.cwnd(), 8'500u);
  // Duplicates still inflate during recovery.
  EXPECT_EQ(cc.on_dup_ack(3501, 11'001, 7500), dup_ack_action::inflate);
  EXPECT_EQ(cc.cwnd(), 9'500u);
  // ACK of exactly recover (11000) is still partial: it must cover recover + 1.
  EXPECT_EQ(cc.on_new_ack(7499, 11'000, 1), ack_result::partial);
  // Full ACK: cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS) = min(5000, 1000 + 1000).
  EXPECT_EQ(cc.on_new_ack(1, 11'001, 0), ack_result::full);
  EXPECT_FALSE(cc.in_recovery());
  EXPECT_EQ(cc.cwnd(), 2'000u);
  EXPECT_FALSE(net::retransmit_first_unacked(ack_result::full));
}

TEST(NewReno, FullAckWithDataStillOutstandingDeflatesToSsthresh) {
  net::newreno cc(1000, 0);
  for (int i = 0; i < 3; ++i) (void)cc.on_dup_ack(1001, 11'001, 10'000);
  // New data sent during recovery is still outstanding: min(5000, 6000 + 1000) = ssthresh.
  EXPECT_EQ(cc.on_new_ack(10'000, 11'001, 6000), ack_result::full);
  EXPECT_EQ(cc.cwnd(), 5'000u);
  // Back in congestion avoidance.
  EXPECT_EQ(cc.on_new_ack(5000, 16'001, 1000), ack_result::none);
  EXPECT_EQ(cc.cwnd(), 6'000u);
}

TEST(NewReno, PartialAckDeflationKeepsOneSegment) {
  net::newreno cc(1000, 0);
  for (int i = 0; i < 3; ++i) (void)cc.on_dup_ack(1001, 100'001, 99'000);
  ASSERT_EQ(cc.cwnd(), 52'500u);
  EXPECT_EQ(cc.on_new_ack(90'000, 91'001, 9000), ack_result::partial_first);
  EXPECT_EQ(cc.cwnd(), 1'000u);  // 52500 - 90000 would underflow: one SMSS is kept
}

TEST(NewReno, RtoCollapsesToLossWindowAndReducesSsthreshOnce) {
  net::newreno cc(1000, 0);
  cc.on_rto(10'000, 11'001);
  // RFC 5681 §3.1: ssthresh per eq. 4, cwnd = LW = 1 SMSS; RFC 6582 §3.2: recover = 11000.
  EXPECT_EQ(cc.ssthresh(), 5'000u);
  EXPECT_EQ(cc.cwnd(), 1'000u);
  EXPECT_EQ(cc.recover(), 11'000u);
  // The same segment times out again: ssthresh is not reduced again.
  cc.on_rto(1000, 11'001);
  EXPECT_EQ(cc.ssthresh(), 5'000u);
  EXPECT_EQ(cc.cwnd(), 1'000u);
  // Slow start after the RTO grows by at most 1 SMSS per ACK (RFC 3465 §2.3)...
  cc.on_new_ack(3000, 4001, 7000);
  EXPECT_EQ(cc.cwnd(), 2'000u);
  // ...and 2 SMSS again once everything sent before the timeout is acknowledged.
  cc.on_new_ack(7000, 11'001, 0);
  EXPECT_EQ(cc.cwnd(), 3'000u);
  cc.on_new_ack(3000, 14'001, 0);
  EXPECT_EQ(cc.cwnd(), 5'000u);
  // A later timeout after new ACKs reduces ssthresh again.
  cc.on_rto(20'000, 34'001);
  EXPECT_EQ(cc.ssthresh(), 10'000u);
}

TEST(NewReno, RtoDuringFastRecoveryLeavesIt) {
  net::newreno cc(1000, 0);
  for (int i = 0; i < 3; ++i) (void)cc.on_dup_ack(1001, 11'001, 10'000);
  ASSERT_TRUE(cc.in_recovery());
  cc.on_rto(10'000, 11'001);
  EXPECT_FALSE(cc.in_recovery());
  EXPECT_EQ(cc.cwnd(), 1'000u);
}

TEST(NewReno, DuplicatesNotCoveringRecoverAfterRtoDoNotRetransmitAgain) {
  net::newreno cc(1000, 0);
  cc.on_rto(10'000, 11'001);  // recover = 11000
  const uint32_t ssthresh = cc.ssthresh();
  // RFC 6582 §3.2 three duplicate ACKs / §4: duplicates for data sent before the timeout.
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(cc.on_dup_ack(1001, 11'001, 10'000), dup_ack_action::none);
  }
  EXPECT_FALSE(cc.in_recovery());
  EXPECT_EQ(cc.ssthresh(), ssthresh);
  // Once SND.UNA is past recover, three duplicates mean a new loss.
  cc.on_new_ack(10'000, 11'001, 0);
  for (int i = 0; i < 2; ++i) (void)cc.on_dup_ack(11'001, 15'001, 4000);
  EXPECT_EQ(cc.on_dup_ack(11'001, 15'001, 4000), dup_ack_action::fast_retransmit);
}

TEST(NewReno, NewLossAfterFullAckStartsANewRecovery) {
  net::newreno cc(1000, 0);
  for (int i = 0; i < 3; ++i) (void)cc.on_dup_ack(1001, 11'001, 10'000);
  EXPECT_EQ(cc.on_new_ack(11'000, 12'001, 0), ack_result::full);  // recover was 11000
  // Duplicates at 12001 > recover (11000): a new loss, a new reduction.
  for (int i = 0; i < 2; ++i) (void)cc.on_dup_ack(12'001, 20'001, 8000);
  EXPECT_EQ(cc.on_dup_ack(12'001, 20'001, 8000), dup_ack_action::fast_retransmit);
  EXPECT_EQ(cc.recover(), 20'000u);
}

TEST(NewReno, IdleRestartLimitsCwndToInitialWindow) {
  net::newreno cc(1000);
  for (uint32_t ack = 1; ack < 100'000; ack += 2000) cc.on_new_ack(2000, ack + 2000, 0);
  ASSERT_GT(cc.cwnd(), 10'000u);
  cc.on_idle_restart();  // RFC 5681 §4.1: cwnd = min(RW, cwnd), RW = IW
  EXPECT_EQ(cc.cwnd(), 10'000u);
  cc.on_rto(4000, 200'000);
  cc.on_idle_restart();
  EXPECT_EQ(cc.cwnd(), 1'000u);  // already below RW: unchanged
}

TEST(NewReno, SequenceNumbersWrapThroughRecovery) {
  const uint32_t iss = 0xffff'f000u;
  net::newreno cc(1000, iss);
  const uint32_t una = iss + 1;
  const uint32_t nxt = una + 10'000;  // wrapped past 0
  ASSERT_LT(nxt, una);
  for (int i = 0; i < 2; ++i) (void)cc.on_dup_ack(una, nxt, 10'000);
  EXPECT_EQ(cc.on_dup_ack(una, nxt, 10'000), dup_ack_action::fast_retransmit);
  EXPECT_EQ(cc.recover(), nxt - 1);
  EXPECT_EQ(cc.on_new_ack(2000, una + 2000, 8000), ack_result::partial_first);
  // ACK past 0 but before recover: still partial.
  EXPECT_EQ(cc.on_new_ack(5000, una + 7000, 3000), ack_result::partial);
  EXPECT_EQ(cc.on_new_ack(3000, nxt, 0), ack_result::full);
  // A timeout across the wrap.
  cc.on_rto(4000, nxt + 4000);
  EXPECT_EQ(cc.recover(), nxt + 3999);
  EXPECT_EQ(cc.on_dup_ack(nxt, nxt + 4000, 4000), dup_ack_action::none);
}

TEST(NewReno, CwndStaysBelowTheConfiguredMaximum) {
  net::newreno_config cfg;
  cfg.max_cwnd = 50'000;
  net::newreno cc(1000, 0, cfg);
  uint32_t ack = 1;
  for (int i = 0; i < 10'000; ++i) cc.on_new_ack(0xffff, ack += 0xffff, 0);
  EXPECT_EQ(cc.cwnd(), 50'000u);
  for (int i = 0; i < 3; ++i) (void)cc.on_dup_ack(ack, ack + 0x7000'0000u, 0x7000'0000u);
  for (int i = 0; i < 100; ++i) (void)cc.on_dup_ack(ack, ack + 0x7000'0000u, 0x7000'0000u);
  EXPECT_LE(cc.cwnd(), 50'000u);
}
