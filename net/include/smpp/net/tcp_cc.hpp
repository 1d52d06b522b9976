// TCP's retransmission timer (RFC 6298) and NewReno congestion control (RFC 5681, RFC 6582,
// RFC 3465, RFC 6928) for one connection. Pure arithmetic on what the caller observes: no
// clock, no timer, no allocation; time and sequence numbers are passed in. Header-only: every
// call sits on the per-ACK path.
//
// How a connection drives them (the caller's side of the contract):
//   - RTT samples (RFC 6298 §3, Karn's algorithm): take a sample only from a segment that was
//     never retransmitted, unless it is measured with the timestamp option (RFC 7323 §4), and
//     at most one measurement in flight per RTT without timestamps. on_rtt_sample() also drops
//     the exponential backoff (RFC 6298 §5, after rule 5.7: a new measurement "collapses" RTO).
//   - The retransmission timer itself (RFC 6298 §5.1-5.6) lives in the connection's timer
//     wheel: armed for rto_us() on sending when not running, restarted on an ACK of new data,
//     stopped when everything is acknowledged; on expiry the caller retransmits the earliest
//     unacknowledged segment, calls backoff() and newreno::on_rto(), and re-arms.
//   - Duplicate ACKs are classified by the caller by RFC 5681 §2's definition (the ACK number
//     equals SND.UNA, no data, no SYN/FIN, the advertised window unchanged, data outstanding).
//   - FlightSize (RFC 5681 §2) is SND.NXT - SND.UNA as the caller counts it.
#pragma once

#include <algorithm>
#include <cstdint>

#include "smpp/net/tcp_seq.hpp"

namespace smpp::net {

struct rto_config {
  // RFC 6298 §2.4 asks for a 1 s minimum; 200 ms (the floor Linux uses) keeps recovery quick on
  // the router's short paths to ESMEs and SMSCs. RFC 6298 §2.5: a maximum of at least 60 s.
  uint32_t min_rto_us = 200'000;
  uint32_t max_rto_us = 60'000'000;
  uint32_t initial_rto_us = 1'000'000;  // RFC 6298 §2.1
  uint32_t granularity_us = 1'000;      // G, the clock granularity of RFC 6298 §2
};

// RFC 6298 retransmission timeout estimator. SRTT and RTTVAR are kept in 1/65536 µs fixed
// point, so the RFC's fractions (alpha = 1/8, beta = 1/4) lose nothing measurable.
class rto_estimator {
 public:
  explicit rto_estimator(const rto_config& cfg = {}) noexcept : cfg_(cfg) {}

  // One round-trip measurement R (µs) — see Karn's rule above.
  void on_rtt_sample(uint32_t rtt_us) noexcept {
    const uint64_t r = uint64_t{rtt_us} << frac_bits;
    if (!has_sample_) {
      // RFC 6298 §2.2: SRTT <- R, RTTVAR <- R/2.
      srtt_ = r;
      rttvar_ = r / 2;
      has_sample_ = true;
    } else {
      // RFC 6298 §2.3: RTTVAR <- (1 - beta) * RTTVAR + beta * |SRTT - R'| (with the old SRTT),
      // then SRTT <- (1 - alpha) * SRTT + alpha * R', alpha = 1/8, beta = 1/4.
      const uint64_t err = srtt_ > r ? srtt_ - r : r - srtt_;
      rttvar_ = rttvar_ - rttvar_ / 4 + err / 4;
      srtt_ = srtt_ - srtt_ / 8 + r / 8;
    }
    // RFC 6298 §2.2/§2.3: RTO <- SRTT + max(G, K * RTTVAR), K = 4; rounded up to the µs.
    const uint64_t var = std::max(uint64_t{cfg_.granularity_us} << frac_bits, 4 * rttvar_);
    const uint64_t rto = (srtt_ + var + (uint64_t{1} << frac_bits) - 1) >> frac_bits;
    base_rto_us_ = clamp(rto);
    backoffs_ = 0;  // RFC 6298 §5: a new measurement collapses the backed-off RTO
  }

  // The current RTO in µs: the estimate within [min_rto_us, max_rto_us] (RFC 6298 §2.4, §2.5),
  // doubled per backoff() and capped at max_rto_us.
  [[nodiscard]] uint32_t rto_us() const noexcept {
    const uint64_t r = uint64_t{base_rto_us_} << std::min(backoffs_, 32u);
    return static_cast<uint32_t>(std::min<uint64_t>(r, cfg_.max_rto_us));
  }

  // RFC 6298 §5.5: the retransmission timer expired; RTO <- RTO * 2 (capped at max_rto_us).
  void backoff() noexcept {
    if (rto_us() < cfg_.max_rto_us) ++backoffs_;
  }
  void reset_backoff() noexcept { backoffs_ = 0; }

  // RFC 6298 §5.7: the SYN (or SYN-ACK) was retransmitted and no RTT sample has been taken: the
  // RTO for the data that follows is re-initialised to 3 s when it is less.
  void on_syn_retransmitted() noexcept {
    backoffs_ = 0;
    if (!has_sample_) base_rto_us_ = std::max(base_rto_us_, clamp(3'000'000));
  }

  [[nodiscard]] bool has_sample() const noexcept { return has_sample_; }
  // SRTT and RTTVAR in µs, rounded down (0 before the first sample).
  [[nodiscard]] uint32_t srtt_us() const noexcept {
    return static_cast<uint32_t>(srtt_ >> frac_bits);
  }
  [[nodiscard]] uint32_t rttvar_us() const noexcept {
    return static_cast<uint32_t>(rttvar_ >> frac_bits);
  }
  [[nodiscard]] unsigned backoffs() const noexcept { return backoffs_; }
  [[nodiscard]] const rto_config& config() const noexcept { return cfg_; }

 private:
  static constexpr unsigned frac_bits = 16;

  [[nodiscard]] uint32_t clamp(uint64_t rto_us) const noexcept {
    return static_cast<uint32_t>(
        std::clamp<uint64_t>(rto_us, cfg_.min_rto_us, std::max(cfg_.min_rto_us, cfg_.max_rto_us)));
  }

  rto_config cfg_;
  uint64_t srtt_ = 0;    // µs << frac_bits
  uint64_t rttvar_ = 0;  // µs << frac_bits
  uint32_t base_rto_us_ = clamp(cfg_.initial_rto_us);
  unsigned backoffs_ = 0;
  bool has_sample_ = false;
};

struct newreno_config {
  // The initial window in segments. 0: RFC 5681 §3.1's rule (2, 3 or 4 segments by SMSS).
  // n > 0: RFC 6928 §2's rule with n in place of 10, min(n * SMSS, max(2 * SMSS, n * 1460));
  // the default 10 is RFC 6928 exactly.
  uint32_t initial_window_segments = 10;
  // RFC 3465 §2.3: the limit L of the slow-start increase per ACK, in segments (at most 2).
  // Slow start that follows an RTO uses L = 1 SMSS whatever this says.
  uint32_t abc_limit_segments = 2;
  // RFC 5681 §3.1: the initial ssthresh "MAY be arbitrarily high".
  uint32_t initial_ssthresh = 0x7fff'ffff;
  // cwnd never grows beyond this (keeps the arithmetic clear of the 32-bit limit).
  uint32_t max_cwnd = 0x4000'0000;
};

// What a duplicate ACK asks of the sender.
enum class dup_ack_action : uint8_t {
  none,             // nothing (RFC 3042 limited transmit of new data is the caller's option)
  fast_retransmit,  // RFC 5681 §3.2 step 2-3: retransmit the first unacknowledged segment now
  inflate,          // RFC 5681 §3.2 step 4: cwnd grew by SMSS; send new data if it allows
};

// What an ACK of new data asks of the sender.
enum class ack_result : uint8_t {
  none,           // normal ACK outside fast recovery: cwnd grew (slow start or CA)
  partial,        // RFC 6582 §3.2 partial acknowledgment: retransmit the first unacknowledged
                  // segment; cwnd was deflated; stay in fast recovery
  partial_first,  // the same, and it is the first partial ACK of this recovery: also restart
                  // the retransmission timer (RFC 6582 §3.2, the "Impatient" variant)
  full,           // RFC 6582 §3.2 full acknowledgment: fast recovery is over, cwnd was deflated
};

[[nodiscard]] constexpr bool retransmit_first_unacked(ack_result r) noexcept {
  return r == ack_result::partial || r == ack_result::partial_first;
}

// NewReno congestion control: slow start and congestion avoidance (RFC 5681 §3.1) with
// appropriate byte counting (RFC 3465), fast retransmit / fast recovery (RFC 5681 §3.2) with
// NewReno's partial-ACK handling (RFC 6582 §3.2), RTO collapse, idle restart (RFC 5681 §4.1).
class newreno {
 public:
  // smss: the sender maximum segment size (RFC 5681 §2), > 0. iss: the initial send sequence
  // number (RFC 6582 §3.2, initialization: `recover` starts there).
  // RFC 9293 §3.7.1's default send MSS until reset() learns the real one.
  newreno() noexcept : newreno(536) {}
  explicit newreno(uint32_t smss, uint32_t iss = 0, const newreno_config& cfg = {}) noexcept
      : cfg_(cfg) {
    reset(smss, iss);
  }

  // Starts over for a connection (or once the handshake settled SMSS). syn_retransmitted:
  // the SYN or SYN-ACK was lost, so the initial window is one segment (RFC 5681 §3.1, RFC 6928
  // §2).
  void reset(uint32_t smss, uint32_t iss, bool syn_retransmitted = false) noexcept {
    smss_ = std::max<uint32_t>(smss, 1);
    iw_ = syn_retransmitted ? smss_ : initial_window(smss_, cfg_.initial_window_segments);
    cwnd_ = std::min(iw_, cfg_.max_cwnd);
    ssthresh_ = cfg_.initial_ssthresh;
    recover_ = iss;  // RFC 6582 §3.2, initialization of the TCB
    bytes_acked_ = 0;
    dup_acks_ = 0;
    in_recovery_ = false;
    partial_seen_ = false;
    after_rto_ = false;
    rto_retransmitting_ = false;
  }

  // RFC 5681 §3.1 / RFC 6928 §2: the initial window for this SMSS.
  [[nodiscard]] static constexpr uint32_t initial_window(uint32_t smss,
                                                         uint32_t segments) noexcept {
    const uint64_t s = smss;
    uint64_t iw;
    if (segments == 0) {
      iw = smss > 2190 ? 2 * s : smss > 1095 ? 3 * s : 4 * s;  // RFC 5681 §3.1
    } else {
      iw = std::min<uint64_t>(segments * s, std::max<uint64_t>(2 * s, segments * 1460ull));
    }
    return static_cast<uint32_t>(std::min<uint64_t>(iw, 0x4000'0000));
  }

  // An ACK that advanced SND.UNA to `ack`, acknowledging `acked_bytes` new octets; flight_size:
  // what is still outstanding after it (SND.NXT - ack). Outside fast recovery it grows cwnd
  // and returns none; in fast recovery it handles RFC 6582 §3.2's response to newly acknowledged
  // data and returns partial, partial_first or full.
  ack_result on_new_ack(uint32_t acked_bytes, uint32_t ack, uint32_t flight_size) noexcept {
    dup_acks_ = 0;
    rto_retransmitting_ = false;
    if (in_recovery_) {
      if (seq_gt(ack, recover_)) {
        // RFC 6582 §3.2 full acknowledgment, option (1):
        // cwnd <- min(ssthresh, max(FlightSize, SMSS) + SMSS).
        cwnd_ = static_cast<uint32_t>(
            std::min<uint64_t>(ssthresh_, uint64_t{std::max(flight_size, smss_)} + smss_));
        in_recovery_ = false;
        bytes_acked_ = 0;
        return ack_result::full;
      }
      // RFC 6582 §3.2 partial acknowledgment: deflate cwnd by the new data acknowledged
      // and add back SMSS if that was at least SMSS (kept at one SMSS at least).
      uint64_t c = cwnd_ > acked_bytes ? cwnd_ - acked_bytes : 0;
      if (acked_bytes >= smss_) c += smss_;
      cwnd_ = static_cast<uint32_t>(std::clamp<uint64_t>(c, smss_, cfg_.max_cwnd));
      const bool first = !partial_seen_;
      partial_seen_ = true;
      return first ? ack_result::partial_first : ack_result::partial;
    }
    // The ACK that reaches past recover still covers segments sent before the timeout.
    const bool after_rto = after_rto_;
    if (after_rto_ && seq_gt(ack, recover_)) after_rto_ = false;
    if (cwnd_ < ssthresh_) {
      // RFC 5681 §3.1 eq. 2 with RFC 3465 §2.3: cwnd += min(N, L * SMSS); L = 1 SMSS in the
      // slow start that follows an RTO (its ACKs may cover segments that were never lost).
      const uint64_t limit = uint64_t{after_rto ? 1u : cfg_.abc_limit_segments} * smss_;
      grow(std::min<uint64_t>(acked_bytes, limit));
    } else {
      // RFC 5681 §3.1 (the byte-counting form it recommends, RFC 3465 §2.1): once a whole
      // cwnd of octets has been acknowledged, cwnd += SMSS.
      bytes_acked_ += acked_bytes;
      if (bytes_acked_ >= cwnd_) {
        bytes_acked_ -= cwnd_;
        grow(smss_);
      }
    }
    return ack_result::none;
  }

  // A duplicate ACK (RFC 5681 §2). snd_una, snd_nxt: the sender's SND.UNA and SND.NXT;
  // flight_size: SND.NXT - SND.UNA.
  [[nodiscard]] dup_ack_action on_dup_ack(uint32_t snd_una, uint32_t snd_nxt,
                                          uint32_t flight_size) noexcept {
    if (in_recovery_) {
      grow(smss_);  // RFC 5681 §3.2 step 4: inflate by SMSS per further duplicate
      return dup_ack_action::inflate;
    }
    if (dup_acks_ < 0xffff) ++dup_acks_;
    if (dup_acks_ != dupack_threshold) return dup_ack_action::none;
    // RFC 6582 §3.2, three duplicate ACKs (and §4): only when the cumulative ACK covers more
    // than recover; otherwise they belong to a loss already answered (an RTO or the last
    // recovery) and neither ssthresh nor cwnd changes.
    if (!seq_gt(snd_una, recover_)) return dup_ack_action::none;
    // RFC 5681 §3.2 step 2: ssthresh = max(FlightSize / 2, 2 * SMSS) (eq. 4); RFC 6582 §3.2:
    // recover <- the highest sequence number transmitted.
    ssthresh_ = loss_ssthresh(flight_size);
    recover_ = snd_nxt - 1;
    // RFC 5681 §3.2 step 3: retransmit, cwnd = ssthresh + 3 * SMSS.
    cwnd_ = static_cast<uint32_t>(
        std::min<uint64_t>(uint64_t{ssthresh_} + 3ull * smss_, cfg_.max_cwnd));
    in_recovery_ = true;
    partial_seen_ = false;
    bytes_acked_ = 0;
    after_rto_ = false;
    return dup_ack_action::fast_retransmit;
  }

  // The retransmission timer expired. flight_size: SND.NXT - SND.UNA; snd_nxt: SND.NXT (the
  // caller then retransmits from SND.UNA on).
  void on_rto(uint32_t flight_size, uint32_t snd_nxt) noexcept {
    // RFC 5681 §3.1: ssthresh per eq. 4 only when the segment has not been retransmitted by
    // the timer already (a second expiry for the same segment keeps it).
    if (!rto_retransmitting_) ssthresh_ = loss_ssthresh(flight_size);
    rto_retransmitting_ = true;
    cwnd_ = smss_;           // RFC 5681 §3.1: the loss window, LW = 1 SMSS
    recover_ = snd_nxt - 1;  // RFC 6582 §3.2 retransmit timeouts
    in_recovery_ = false;
    partial_seen_ = false;
    dup_acks_ = 0;
    bytes_acked_ = 0;
    after_rto_ = true;
  }

  // RFC 5681 §4.1: the caller is about to send after an idle period longer than the RTO:
  // cwnd <- min(RW, cwnd), RW = IW.
  void on_idle_restart() noexcept { cwnd_ = std::min(cwnd_, iw_); }

  [[nodiscard]] uint32_t cwnd() const noexcept { return cwnd_; }
  [[nodiscard]] uint32_t ssthresh() const noexcept { return ssthresh_; }
  [[nodiscard]] bool in_recovery() const noexcept { return in_recovery_; }
  [[nodiscard]] bool in_slow_start() const noexcept { return cwnd_ < ssthresh_; }
  // RFC 6582's recover: the highest sequence number transmitted when the last fast retransmit
  // or RTO happened (the ISS before either).
  [[nodiscard]] uint32_t recover() const noexcept { return recover_; }
  [[nodiscard]] uint32_t dup_acks() const noexcept { return dup_acks_; }
  [[nodiscard]] uint32_t smss() const noexcept { return smss_; }
  [[nodiscard]] uint32_t initial_window() const noexcept { return iw_; }

  static constexpr uint32_t dupack_threshold = 3;  // RFC 5681 §3.2

 private:
  // RFC 5681 §3.1 eq. 4: ssthresh = max(FlightSize / 2, 2 * SMSS).
  [[nodiscard]] uint32_t loss_ssthresh(uint32_t flight_size) const noexcept {
    return static_cast<uint32_t>(std::max<uint64_t>(flight_size / 2, 2ull * smss_));
  }
  void grow(uint64_t by) noexcept {
    cwnd_ = static_cast<uint32_t>(std::min<uint64_t>(cwnd_ + by, cfg_.max_cwnd));
  }

  newreno_config cfg_;
  uint32_t smss_ = 1;
  uint32_t iw_ = 1;
  uint32_t cwnd_ = 1;
  uint32_t ssthresh_ = 0;
  uint32_t recover_ = 0;
  uint32_t bytes_acked_ = 0;  // RFC 3465 §2.1, congestion avoidance
  uint32_t dup_acks_ = 0;
  bool in_recovery_ = false;
  bool partial_seen_ = false;
  bool after_rto_ = false;           // slow start following an RTO (L = 1 SMSS)
  bool rto_retransmitting_ = false;  // no new ACK since the last RTO
};

}  // namespace smpp::net
