// TCP output: segments built straight into the IP layer's buffer, the receive window with
// SWS avoidance, retransmission of the first unacknowledged segment, the send-side timers.
#include <cerrno>

#include "tcp_internal.hpp"

namespace smpp::net {

// RFC 9293 §3.8.6.2.2 receiver SWS avoidance: the right edge moves only when the window can
// grow by min(RCV.BUFF / 2, Eff.MSS); it never moves left (§3.8.6: do not shrink the window).
// Returns the window to put in the header, scaled (RFC 7323 §2.3).
uint16_t tcp_stack::impl::window_to_advertise(tcb& t, bool syn) noexcept {
  const uint32_t buf = cfg.receive_buffer_bytes;
  const uint32_t free_space = buf - t.r_len;
  uint32_t cur = seq_gt(t.rcv_adv, t.rcv_nxt) ? t.rcv_adv - t.rcv_nxt : 0;
  const uint32_t threshold = std::min<uint32_t>(buf / 2, t.rcv_mss);
  if (free_space > cur && (free_space - cur >= threshold || free_space == buf)) cur = free_space;
  const uint8_t shift = syn ? 0 : t.rcv_wscale;
  // RFC 7323 §2.2: the SYN's window is never scaled.
  uint32_t field = std::min<uint32_t>(cur >> shift, 0xffff);
  const uint32_t edge = t.rcv_nxt + (field << shift);
  if (seq_gt(edge, t.rcv_adv) || t.rcv_adv == 0) t.rcv_adv = edge;
  // Rounding down by the scale must not shrink the window already offered.
  if (seq_lt(edge, t.rcv_adv)) {
    field = std::min<uint32_t>(((t.rcv_adv - t.rcv_nxt) + (1u << shift) - 1) >> shift, 0xffff);
  }
  return static_cast<uint16_t>(field);
}

// Builds one segment straight into the IP layer's buffer. data_off/data_len select octets of
// the send ring (data_off counted from SND.UNA's octet).
bool tcp_stack::impl::emit(tcb& t, uint32_t seq, uint8_t flags, uint32_t data_off,
                           uint32_t data_len) noexcept {
  const bool syn = (flags & flag_syn) != 0;
  size_t opt = 0;
  if (syn) {
    opt = 4;                                                               // MSS
    if (cfg.window_scaling && (!(flags & flag_ack) || t.ws_ok)) opt += 4;  // NOP + WS
    if (cfg.timestamps && (!(flags & flag_ack) || t.ts_ok)) opt += ts_option_bytes;
  } else if (t.ts_ok) {
    opt = ts_option_bytes;
  }
  const size_t total = header_bytes + opt + data_len;
  const std::span<std::byte> buf = out.alloc(t.raddr, total);
  if (buf.size() < total) {
    ++ctr.drop_no_buffer;
    return false;
  }
  std::byte* p = buf.data();
  store16(p, t.lport);
  store16(p + 2, t.rport);
  store32(p + 4, seq);
  const bool ack = (flags & flag_ack) != 0;
  store32(p + 8, ack ? t.rcv_nxt : 0);
  p[12] = std::byte(((header_bytes + opt) / 4) << 4);
  p[13] = std::byte(flags);
  store16(p + 14, (flags & flag_rst) ? 0 : window_to_advertise(t, syn));
  store16(p + 16, 0);
  store16(p + 18, 0);
  std::byte* o = p + header_bytes;
  if (syn) {
    // RFC 9293 §3.2 MSS option.
    o[0] = std::byte{2};
    o[1] = std::byte{4};
    store16(o + 2, advertised_mss(t.raddr));
    o += 4;
    if (cfg.window_scaling && (!ack || t.ws_ok)) {
      // RFC 7323 §2.2 Window Scale option, after a NOP.
      o[0] = std::byte{1};
      o[1] = std::byte{3};
      o[2] = std::byte{3};
      o[3] = std::byte(t.rcv_wscale);
      o += 4;
    }
  }
  if ((syn && cfg.timestamps && (!ack || t.ts_ok)) || (!syn && t.ts_ok)) {
    // RFC 7323 §3.2: TSval our clock, TSecr the peer's latest (only with ACK set).
    o[0] = std::byte{1};
    o[1] = std::byte{1};
    o[2] = std::byte{8};
    o[3] = std::byte{10};
    store32(o + 4, ts_now(t));
    store32(o + 8, ack ? t.ts_recent : 0);
    o += ts_option_bytes;
  }
  if (data_len > 0) {
    const uint32_t cap = cfg.send_buffer_bytes;
    const uint32_t start = (t.s_head + data_off) % cap;
    const uint32_t first = std::min(data_len, cap - start);
    std::memcpy(o, t.sbuf + start, first);
    if (first < data_len) std::memcpy(o + first, t.sbuf, data_len - first);
  }
  const uint32_t sum =
      pseudo_header_sum(t.laddr, t.raddr, ip_proto_tcp, static_cast<uint16_t>(total));
  store16(p + 16, checksum_finish(checksum_add(buf.first(total), sum)));
  out.send(t.laddr, t.raddr, ip_proto_tcp, total);
  ++ctr.segments_out;
  ctr.bytes_out += data_len;
  if (flags & flag_rst) ++ctr.rst_out;
  if (ack) {
    // Every ACK carries the latest RCV.NXT: the pending and delayed ones are answered.
    t.last_ack_sent = t.rcv_nxt;
    t.ack_now = false;
    t.unacked_rcv_bytes = 0;
    wheel.cancel(index_of(t) * timer_kinds + tk_delack);
  }
  return true;
}

// A RST for a segment no connection takes (RFC 9293 §3.10.7.1).
void tcp_stack::impl::emit_reset(const segment& s) noexcept {
  if (s.has(flag_rst)) return;
  uint32_t seq = 0, ack = 0;
  uint8_t flags = flag_rst;
  if (s.has(flag_ack)) {
    seq = s.ack;  // <SEQ=SEG.ACK><CTL=RST>
  } else {
    ack = s.seq + s.len();  // <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>
    flags |= flag_ack;
  }
  const std::span<std::byte> buf = out.alloc(s.src, header_bytes);
  if (buf.size() < header_bytes) {
    ++ctr.drop_no_buffer;
    return;
  }
  std::byte* p = buf.data();
  store16(p, s.dport);
  store16(p + 2, s.sport);
  store32(p + 4, seq);
  store32(p + 8, ack);
  p[12] = std::byte{5 << 4};
  p[13] = std::byte(flags);
  store16(p + 14, 0);
  store16(p + 16, 0);
  store16(p + 18, 0);
  const uint32_t sum = pseudo_header_sum(s.dst, s.src, ip_proto_tcp, header_bytes);
  store16(p + 16, checksum_finish(checksum_add(buf.first(header_bytes), sum)));
  out.send(s.dst, s.src, ip_proto_tcp, header_bytes);
  ++ctr.segments_out;
  ++ctr.rst_out;
}

// The sequence number of a segment without data, SYN or FIN (an ACK, or the RST of an abort). After
// an RTO, SND.NXT is back at SND.UNA for the retransmission while the peer may hold everything up
// to SND.MAX: at the rewound SND.NXT the peer would find the ACK below its RCV.NXT, unacceptable
// (RFC 9293 §3.10.7.4), and drop it with its ACK field, and two ends in that state never hear each
// other again. SND.MAX is always acceptable to the peer (as 4.4BSD's tcp_output sends it).
// While the persist timer runs, SND.MAX may count a probe octet the closed window did not take:
// there SND.NXT is right (the peer accepts a zero-length segment only at exactly RCV.NXT when its
// window is zero), as in 4.4BSD.
uint32_t tcp_stack::impl::pure_ack_seq(const tcb& t) noexcept {
  if (t.mt == main_timer::persist) return t.snd_nxt;
  return seq_max(t.snd_nxt, t.snd_max);
}

// An ACK that must not wait for the end of the burst: RFC 5681 §4.2 duplicate ACKs for
// out-of-order data (each one counts at the sender) and the ACK of every second full-sized
// segment. Queued data goes with it.
void tcp_stack::impl::ack_immediately(tcb& t) noexcept {
  t.ack_now = true;
  flush_one(t);
}

// RFC 5961 §7: challenge ACKs are limited per second across the instance.
void tcp_stack::impl::challenge_ack(tcb& t) noexcept {
  const uint64_t second = now_us / 1'000'000;
  if (second != challenge_second) {
    challenge_second = second;
    challenge_count = 0;
  }
  if (challenge_count >= cfg.challenge_acks_per_s) {
    ++ctr.challenge_acks_suppressed;
    return;
  }
  ++challenge_count;
  ++ctr.challenge_acks;
  emit(t, pure_ack_seq(t), flag_ack, 0, 0);
}

// Writes new data (and the FIN) the windows allow. Nagle is off: a short segment goes out at
// once (SMPP wants TCP_NODELAY semantics).
void tcp_stack::impl::send_data(tcb& t) noexcept {
  if (!sends_data(t.state)) return;
  // RFC 5681 §4.1: after an idle period longer than the RTO, restart from the initial window.
  if (t.snd_nxt == t.snd_una && t.s_len > 0 && now_us - t.last_send_us > t.rto.rto_us()) {
    t.cc.on_idle_restart();
  }
  for (;;) {
    const uint32_t sent = t.snd_nxt - t.snd_una;
    if (sent > t.s_len) break;  // the FIN is out too
    const uint32_t unsent = t.s_len - sent;
    // RFC 5681 §3.1: the usable window is min(cwnd, rwnd) minus what is in flight.
    const uint32_t wnd = std::min<uint32_t>(t.snd_wnd, t.cc.cwnd());
    const uint32_t usable = wnd > sent ? wnd - sent : 0;
    const uint32_t len = std::min<uint32_t>({unsent, usable, t.smss});
    const bool fin = t.fin_queued && !t.fin_sent && len == unsent;
    if (len == 0 && !fin) break;
    // RFC 9293 §3.8.6.2.1 sender SWS avoidance: hold back a segment shorter than the MSS while
    // more data waits than the window takes and an ACK is still to come.
    if (len < t.smss && len < unsent && sent > 0) break;
    uint8_t flags = flag_ack;
    if (len == unsent && len > 0) flags |= flag_psh;
    if (fin) flags |= flag_fin;
    emit(t, t.snd_nxt, flags, sent, len);
    t.last_send_us = now_us;
    if (!t.rtt_timing && len > 0) {
      // RFC 6298 §3 (Karn): one segment timed at a time, never a retransmitted one.
      t.rtt_timing = seq_geq(t.snd_nxt, t.snd_max);
      t.rtt_seq = t.snd_nxt;
      t.rtt_start_us = now_us;
    }
    t.snd_nxt += len;
    if (fin) {
      t.fin_sent = true;
      t.fin_seq = t.snd_nxt;
      t.snd_nxt += 1;
    }
    t.snd_max = seq_max(t.snd_max, t.snd_nxt);
    if (fin) break;
  }
}

// Retransmits the first unacknowledged segment (fast retransmit, NewReno partial ACK, RTO).
void tcp_stack::impl::retransmit_first(tcb& t) noexcept {
  if (t.state == tcp_state::syn_sent) {
    emit(t, t.iss, flag_syn, 0, 0);
    return;
  }
  if (t.state == tcp_state::syn_received) {
    emit(t, t.iss, flag_syn | flag_ack, 0, 0);
    return;
  }
  // The first segment as it went out: no more than was sent (SND.MAX, the FIN not counted), no
  // more than the SMSS, and inside the offered window (RFC 9293 §3.8.6: never beyond
  // SND.UNA + SND.WND; a closed window is the persist timer's, which sends one octet).
  uint32_t sent = t.snd_max - t.snd_una;
  if (t.fin_sent && !t.fin_acked && sent > 0) sent -= 1;
  uint32_t len = std::min<uint32_t>({t.s_len, t.smss, std::max<uint32_t>(sent, 1)});
  if (t.snd_wnd > 0) len = std::min(len, t.snd_wnd);
  uint8_t flags = flag_ack;
  if (t.fin_sent && len == t.s_len && !t.fin_acked) flags |= flag_fin;
  if (len == 0 && !(flags & flag_fin)) return;
  emit(t, t.snd_una, flags, 0, len);
  // RFC 6298 §3 (Karn): the timed segment was sent again; its ACK cannot be a sample.
  if (t.rtt_timing && seq_leq(t.rtt_seq, t.snd_una + len)) t.rtt_timing = false;
}

// After output: the retransmission timer runs while anything is unacknowledged (RFC 6298 §5.1,
// §5.2); with data waiting and a zero window, the persist timer (RFC 9293 §3.8.6.1).
void tcp_stack::impl::update_send_timers(tcb& t) noexcept {
  if (!sends_data(t.state)) return;
  const bool outstanding = t.snd_nxt != t.snd_una;
  const bool waiting = t.s_len > (t.snd_nxt - t.snd_una) || (t.fin_queued && !t.fin_sent);
  if (outstanding) {
    if (t.mt != main_timer::rtx) {
      if (t.mt == main_timer::persist) t.rto.reset_backoff();
      t.retries = 0;
      arm_main(t, main_timer::rtx, t.rto.rto_us());
    }
  } else if (waiting && t.snd_wnd == 0) {
    if (t.mt != main_timer::persist) {
      t.retries = 0;
      arm_main(t, main_timer::persist, t.rto.rto_us());
    }
  } else if (t.mt == main_timer::rtx || t.mt == main_timer::persist) {
    // The window opened (or all is acknowledged): the probes' back-off ends with it.
    if (t.mt == main_timer::persist) t.rto.reset_backoff();
    stop_main(t);
  }
}

void tcp_stack::impl::flush_one(tcb& t) noexcept {
  send_data(t);
  if (t.ack_now) emit(t, pure_ack_seq(t), flag_ack, 0, 0);
  update_send_timers(t);
}

void tcp_stack::impl::flush() noexcept {
  // Index loop: a flush may not add entries, but stay safe if it does.
  for (size_t i = 0; i < pending.size(); ++i) {
    tcb& t = conns[pending[i]];
    t.on_pending = false;
    if (t.in_use) flush_one(t);
  }
  pending.clear();
}

}  // namespace smpp::net
