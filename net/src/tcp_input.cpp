// TCP input: header validation and segment processing by state (RFC 9293 §3.10.7).
#include <cerrno>

#include "tcp_internal.hpp"

namespace smpp::net {

bool tcp_stack::impl::parse(ipv4_addr src, ipv4_addr dst, std::span<const std::byte> payload,
                            segment& s) {
  if (payload.size() < header_bytes || payload.size() > 0xffff) {
    ++ctr.drop_short;
    return false;
  }
  const std::byte* p = payload.data();
  const size_t doff = (static_cast<size_t>(p[12]) >> 4) * 4;
  // RFC 9293 §3.1: Data Offset counts 32-bit words, at least 5, within the segment.
  if (doff < header_bytes || doff > payload.size()) {
    ++ctr.drop_short;
    return false;
  }
  // RFC 9293 §3.1: the checksum covers the pseudo-header, header and data.
  const uint32_t sum =
      pseudo_header_sum(src, dst, ip_proto_tcp, static_cast<uint16_t>(payload.size()));
  if (checksum_finish(checksum_add(payload, sum)) != 0) {
    ++ctr.drop_checksum;
    return false;
  }
  s.src = src;
  s.dst = dst;
  s.sport = load16(p);
  s.dport = load16(p + 2);
  s.seq = load32(p + 4);
  s.ack = load32(p + 8);
  s.flags = static_cast<uint8_t>(p[13]) & 0x3f;
  s.wnd = load16(p + 14);
  if (s.sport == 0 || s.dport == 0) {
    ++ctr.drop_bad_ports;
    return false;
  }
  // RFC 9293 §3.2: options; a length that is too short or runs past the header is an error
  // (§3.1 MUST handle an illegal option length without crashing: the segment is dropped).
  size_t i = header_bytes;
  while (i < doff) {
    const uint8_t kind = static_cast<uint8_t>(p[i]);
    if (kind == 0) break;  // End of Option List
    if (kind == 1) {       // NOP
      ++i;
      continue;
    }
    if (i + 1 >= doff) {
      ++ctr.drop_options;
      return false;
    }
    const size_t len = static_cast<uint8_t>(p[i + 1]);
    if (len < 2 || i + len > doff) {
      ++ctr.drop_options;
      return false;
    }
    switch (kind) {
      case 2:  // MSS, RFC 9293 §3.2: only in SYNs
        if (len != 4) {
          ++ctr.drop_options;
          return false;
        }
        if (s.has(flag_syn)) {
          s.has_mss = true;
          s.mss = load16(p + i + 2);
        }
        break;
      case 3:  // Window Scale, RFC 7323 §2.2: only in SYNs
        if (len != 3) {
          ++ctr.drop_options;
          return false;
        }
        if (s.has(flag_syn)) {
          s.has_ws = true;
          s.ws = static_cast<uint8_t>(p[i + 2]);
        }
        break;
      case 8:  // Timestamps, RFC 7323 §3.2
        if (len != 10) {
          ++ctr.drop_options;
          return false;
        }
        s.has_ts = true;
        s.tsval = load32(p + i + 2);
        s.tsecr = load32(p + i + 6);
        break;
      default:  // RFC 9293 §3.1: unknown options are skipped by their length
        break;
    }
    i += len;
  }
  s.data = payload.subspan(doff);
  return true;
}

void tcp_stack::impl::input(ipv4_addr src, ipv4_addr dst, std::span<const std::byte> payload) {
  ++ctr.segments_in;
  segment s;
  if (!parse(src, dst, payload, s)) return;
  if (s.has(flag_rst)) ++ctr.rst_in;
  const uint32_t idx = find(dst, s.dport, src, s.sport);
  if (idx != empty) {
    tcb& t = conns[idx];
    t.last_rx_us = now_us;
    t.keepalive_sent = 0;
    t.probes_unanswered = 0;  // the peer is alive (RFC 1122 §4.2.2.17)
    if (t.state == tcp_state::syn_sent) {
      input_syn_sent(t, s);
    } else {
      input_synchronized(t, s);
    }
    return;
  }
  // A listener on the exact address first, then on any address.
  int32_t best = -1;
  for (size_t i = 0; i < listeners.size(); ++i) {
    const listener_entry& l = listeners[i];
    if (!l.used || l.port != s.dport) continue;
    if (l.addr == dst) {
      best = static_cast<int32_t>(i);
      break;
    }
    if (l.addr == 0 && best < 0) best = static_cast<int32_t>(i);
  }
  if (best >= 0) {
    input_listen(listeners[static_cast<size_t>(best)], best, s);
    return;
  }
  // RFC 9293 §3.10.7.1: CLOSED: anything but a RST is answered with a RST.
  ++ctr.drop_no_socket;
  emit_reset(s);
}

// RFC 9293 §3.10.7.2: LISTEN.
void tcp_stack::impl::input_listen(listener_entry& l, int32_t li, const segment& s) {
  if (s.has(flag_rst)) {
    ++ctr.drop_other;  // first: a RST is ignored
    return;
  }
  if (s.has(flag_ack)) {
    // Second: an ACK is answered <SEQ=SEG.ACK><CTL=RST>.
    ++ctr.drop_bad_ack;
    emit_reset(s);
    return;
  }
  if (!s.has(flag_syn) || s.has(flag_fin)) {
    ++ctr.drop_other;
    return;
  }
  // Bounded SYN backlog: beyond it a SYN is dropped (the peer retries; no state is kept).
  if (l.syn_received >= l.backlog) {
    ++ctr.drop_syn_backlog;
    return;
  }
  const uint32_t idx = alloc_tcb();
  if (idx == empty) {
    ++ctr.drop_table_full;
    emit_reset(s);
    return;
  }
  tcb& t = conns[idx];
  init_connection(t, s.dst, s.dport, s.src, s.sport);
  t.listener = li;
  ++l.syn_received;
  t.irs = s.seq;
  t.rcv_nxt = s.seq + 1;
  t.rcv_adv = t.rcv_nxt;
  negotiate(t, s, true);
  // RFC 7323 §2.2 / §3.2: options answered only when offered.
  t.snd_wnd = s.wnd;  // RFC 7323 §2.2: the SYN's window is not scaled
  t.max_snd_wnd = t.snd_wnd;
  t.snd_wl1 = s.seq;
  t.snd_wl2 = t.iss;
  t.state = tcp_state::syn_received;
  ++ctr.passive_opens;
  // Data on the SYN is not queued (RFC 9293 §3.10.7.2 allows dropping it; the peer resends it
  // once it sees our ACK does not cover it).
  emit(t, t.iss, flag_syn | flag_ack, 0, 0);
  arm_main(t, main_timer::rtx, t.rto.rto_us());
}

// RFC 9293 §3.10.7.3: SYN-SENT.
void tcp_stack::impl::input_syn_sent(tcb& t, const segment& s) {
  const bool has_ack = s.has(flag_ack);
  if (has_ack) {
    // First: SEG.ACK =< ISS or SEG.ACK > SND.NXT is unacceptable.
    if (seq_leq(s.ack, t.iss) || seq_gt(s.ack, t.snd_nxt)) {
      ++ctr.drop_bad_ack;
      if (!s.has(flag_rst)) emit_reset(s);
      return;
    }
  }
  if (s.has(flag_rst)) {
    // Second: a RST counts only with an acceptable ACK (RFC 5961 §3.2 for SYN-SENT).
    if (!has_ack) {
      ++ctr.drop_other;
      return;
    }
    fail(t, ECONNREFUSED);
    return;
  }
  if (!s.has(flag_syn)) {
    ++ctr.drop_other;
    return;
  }
  // Fourth: SYN.
  t.irs = s.seq;
  t.rcv_nxt = s.seq + 1;
  t.rcv_adv = t.rcv_nxt;
  negotiate(t, s, true);
  t.snd_wl1 = s.seq;
  t.snd_wl2 = s.ack;
  t.snd_wnd = s.wnd;
  t.max_snd_wnd = t.snd_wnd;
  if (has_ack) {
    t.snd_una = s.ack;
    t.retries = 0;
    if (t.rtt_timing) {
      t.rto.on_rtt_sample(
          static_cast<uint32_t>(std::min<uint64_t>(now_us - t.rtt_start_us, 0xffffffffu)));
      t.rtt_timing = false;
    }
    stop_main(t);
    t.state = tcp_state::established;
    ack_soon(t);
    became_established(t);
    return;
  }
  // Simultaneous open (RFC 9293 §3.5 figure 7): SYN-RECEIVED, send SYN,ACK with our ISS.
  t.state = tcp_state::syn_received;
  emit(t, t.iss, flag_syn | flag_ack, 0, 0);
  arm_main(t, main_timer::rtx, t.rto.rto_us());
}

void tcp_stack::impl::became_established(tcb& t) {
  ++ctr.established;
  // RFC 6298 §5.7: a lost SYN or SYN-ACK and no RTT sample: the data's RTO starts at 3 s.
  if (t.syn_retransmitted && !t.rto.has_sample()) t.rto.on_syn_retransmitted();
  t.rto.reset_backoff();
  if (t.listener >= 0) {
    --listeners[static_cast<size_t>(t.listener)].syn_received;
    t.listener = -1;
  }
  if (cfg.keepalive) {
    wheel.schedule(index_of(t) * timer_kinds + tk_keepalive, now_us + cfg.keepalive_idle_us);
  }
  t.user_known = true;
  const uint32_t idx = index_of(t);
  if (t.active_open) {
    handler.on_connect(handle(idx), 0);
  } else {
    handler.on_accept(handle(idx), t.lport, t.raddr, t.rport);
  }
}

// RFC 9293 §3.10.7.4: SYN-RECEIVED and the synchronized states.
void tcp_stack::impl::input_synchronized(tcb& t, segment& s) {
  const uint32_t idx = index_of(t);
  const uint32_t gen = t.gen;
  if (t.state == tcp_state::syn_received && s.has(flag_syn) && s.seq == t.irs && !s.has(flag_rst)) {
    // The peer's SYN again: our SYN,ACK was lost (resend it), or in a simultaneous open the
    // peer's SYN,ACK that also acknowledges ours (take its ACK and drop the old SYN).
    if (!s.has(flag_ack)) {
      emit(t, t.iss, flag_syn | flag_ack, 0, 0);
      return;
    }
    s.flags = static_cast<uint8_t>(s.flags & ~flag_syn);
    s.seq += 1;
  }
  // RFC 7323 §3.2: once negotiated, a non-RST segment without timestamps is dropped.
  if (t.ts_ok && !s.has_ts && !s.has(flag_rst)) {
    ++ctr.drop_paws;
    return;
  }
  // RFC 7323 §5.3 R1 (PAWS): TSval older than TS.Recent -> not acceptable, ACK and drop. R3: a
  // TS.Recent idle for more than 24 days is not used.
  if (t.ts_ok && s.has_ts && !s.has(flag_rst) && seq_lt(s.tsval, t.ts_recent) &&
      now_us - t.ts_recent_us < 24ull * 86400 * 1'000'000) {
    ++ctr.drop_paws;
    ack_soon(t);
    return;
  }
  // First: the acceptability test, with RCV.WND the window advertised.
  const uint32_t rcv_wnd = seq_gt(t.rcv_adv, t.rcv_nxt) ? t.rcv_adv - t.rcv_nxt : 0;
  const uint32_t seg_len = s.len();
  bool acceptable;
  if (seg_len == 0) {
    acceptable = rcv_wnd == 0 ? s.seq == t.rcv_nxt : seq_in(s.seq, t.rcv_nxt, t.rcv_nxt + rcv_wnd);
  } else if (rcv_wnd == 0) {
    acceptable = false;
  } else {
    acceptable = seq_in(s.seq, t.rcv_nxt, t.rcv_nxt + rcv_wnd) ||
                 seq_in(s.seq + seg_len - 1, t.rcv_nxt, t.rcv_nxt + rcv_wnd);
  }
  if (!acceptable) {
    // RFC 9293 §3.10.7.4: a zero window still takes ACKs (and RSTs) at RCV.NXT.
    const bool zero_window_ack = rcv_wnd == 0 && s.seq == t.rcv_nxt;
    if (!zero_window_ack) {
      if (!s.has(flag_rst)) ack_soon(t);
      // RFC 9293 §3.10.7.4 TIME-WAIT: a retransmitted FIN is acknowledged and restarts the
      // 2 MSL timeout.
      if (t.state == tcp_state::time_wait && s.has(flag_fin) && !s.has(flag_rst)) {
        arm_main(t, main_timer::time_wait, 2 * cfg.msl_us);
      }
      ++ctr.drop_out_of_window;
      return;
    }
    // A zero-window probe: its octet is not taken, the ACK tells the peer the window is still
    // closed (RFC 9293 §3.8.6.1).
    if (!s.has(flag_rst)) ack_soon(t);
    // Keep the ACK, drop the text and FIN that do not fit.
    s.data = {};
    s.flags = static_cast<uint8_t>(s.flags & ~(flag_fin | flag_syn));
  }
  // Trim to the window: octets before RCV.NXT were received already, octets past the right
  // edge are not accepted (RFC 9293 §3.10.7.4 "If a segment's contents straddle...").
  if (seq_lt(s.seq, t.rcv_nxt)) {
    uint32_t skip = t.rcv_nxt - s.seq;
    if (s.has(flag_syn)) {
      s.flags = static_cast<uint8_t>(s.flags & ~flag_syn);
      --skip;
    }
    const size_t cut = std::min<size_t>(skip, s.data.size());
    s.data = s.data.subspan(cut);
    s.seq = t.rcv_nxt;
    if (skip > cut) s.flags = static_cast<uint8_t>(s.flags & ~flag_fin);  // old FIN
  }
  if (rcv_wnd > 0) {
    const uint32_t room = t.rcv_adv - s.seq;
    if (s.data.size() > room) {
      s.data = s.data.first(room);
      s.flags = static_cast<uint8_t>(s.flags & ~flag_fin);
    }
  } else if (!s.data.empty()) {
    s.data = {};
    s.flags = static_cast<uint8_t>(s.flags & ~flag_fin);
  }

  // Second: RST (RFC 5961 §3.2): exactly RCV.NXT resets, elsewhere in the window a challenge
  // ACK answers.
  if (s.has(flag_rst)) {
    if (s.seq != t.rcv_nxt) {
      challenge_ack(t);
      return;
    }
    if (t.state == tcp_state::syn_received && !t.active_open) {
      // Passive open: back to LISTEN, i.e. the embryonic connection is dropped quietly.
      free_tcb(t);
      return;
    }
    const int err = t.state == tcp_state::syn_received ? ECONNREFUSED : ECONNRESET;
    fail(t, err);
    return;
  }
  // Fourth: SYN in a synchronized state -> challenge ACK (RFC 5961 §4.2).
  if (s.has(flag_syn)) {
    challenge_ack(t);
    return;
  }
  // Fifth: ACK.
  if (!s.has(flag_ack)) {
    ++ctr.drop_other;
    return;
  }
  // RFC 7323 §4.3: TS.Recent follows the segment that covers Last.ACK.sent.
  if (t.ts_ok && s.has_ts && seq_geq(s.tsval, t.ts_recent) && seq_leq(s.seq, t.last_ack_sent)) {
    t.ts_recent = s.tsval;
    t.ts_recent_us = now_us;
  }
  if (t.state == tcp_state::syn_received) {
    // SND.UNA < SEG.ACK =< SND.NXT -> ESTABLISHED; otherwise <SEQ=SEG.ACK><CTL=RST>.
    if (!(seq_lt(t.snd_una, s.ack) && seq_leq(s.ack, t.snd_nxt))) {
      ++ctr.drop_bad_ack;
      emit_reset(s);
      return;
    }
    t.snd_una = s.ack;
    t.snd_wnd = static_cast<uint32_t>(s.wnd) << t.snd_wscale;
    t.max_snd_wnd = std::max(t.max_snd_wnd, t.snd_wnd);
    t.snd_wl1 = s.seq;
    t.snd_wl2 = s.ack;
    t.retries = 0;
    stop_main(t);
    t.state = t.fin_queued ? tcp_state::fin_wait_1 : tcp_state::established;
    became_established(t);
    if (!alive(idx, gen)) return;
    mark_pending(t);
  } else if (!process_ack(t, s)) {
    return;
  }
  if (!alive(idx, gen)) return;
  // Sixth: URG is not supported (SMPP does not use it); the urgent pointer is ignored.
  // Seventh: segment text.
  process_data(t, s);
}

// RFC 9293 §3.10.7.4 fifth check for ESTABLISHED and later. false: stop processing.
bool tcp_stack::impl::process_ack(tcb& t, const segment& s) {
  // RFC 5961 §5.2: acceptable when SND.UNA - MAX.SND.WND =< SEG.ACK =< SND.NXT (SND.NXT being
  // the highest sent here); anything else gets a challenge ACK and is dropped.
  if (seq_gt(s.ack, t.snd_max) || seq_lt(s.ack, t.snd_una - t.max_snd_wnd)) {
    ++ctr.drop_bad_ack;
    challenge_ack(t);
    return false;
  }
  const uint32_t new_wnd = static_cast<uint32_t>(s.wnd) << t.snd_wscale;
  if (seq_gt(s.ack, t.snd_una)) {
    const uint32_t acked = s.ack - t.snd_una;
    const uint32_t data_acked = std::min(acked, t.s_len);
    t.s_head = (t.s_head + data_acked) % cfg.send_buffer_bytes;
    t.s_len -= data_acked;
    if (t.fin_sent && seq_gt(s.ack, t.fin_seq)) t.fin_acked = true;
    t.snd_una = s.ack;
    if (seq_lt(t.snd_nxt, t.snd_una)) t.snd_nxt = t.snd_una;
    // RFC 6298 §2 / Karn: a sample only from a segment sent once.
    if (t.rtt_timing && seq_gt(s.ack, t.rtt_seq)) {
      t.rto.on_rtt_sample(
          static_cast<uint32_t>(std::min<uint64_t>(now_us - t.rtt_start_us, 0xffffffffu)));
      t.rtt_timing = false;
    }
    t.retries = 0;
    // RFC 5681 / RFC 6582: the congestion window grows, or a partial ACK in fast recovery
    // retransmits the next hole.
    const ack_result r = t.cc.on_new_ack(acked, t.snd_una, t.snd_max - t.snd_una);
    if (retransmit_first_unacked(r)) {
      ++ctr.retransmits;
      ++ctr.fast_retransmits;
      retransmit_first(t);
    }
    // RFC 6298 §5.3: restart the timer for what is still outstanding.
    if (t.mt == main_timer::rtx) {
      if (t.snd_una != t.snd_max) {
        arm_main(t, main_timer::rtx, t.rto.rto_us());
      } else {
        stop_main(t);
      }
    }
    mark_pending(t);
  } else if (s.ack == t.snd_una && s.data.empty() && !s.has(flag_fin) && t.snd_max != t.snd_una &&
             new_wnd == t.snd_wnd && new_wnd != 0) {
    // RFC 5681 §2: a duplicate ACK. The third starts fast retransmit (§3.2). Not against a
    // closed window: the answers to window probes (RFC 9293 §3.8.6.1) repeat SND.UNA with a
    // zero window, and nothing is lost.
    const dup_ack_action a = t.cc.on_dup_ack(t.snd_una, t.snd_max, t.snd_max - t.snd_una);
    if (a == dup_ack_action::fast_retransmit) {
      ++ctr.retransmits;
      ++ctr.fast_retransmits;
      retransmit_first(t);
    }
    mark_pending(t);  // fast recovery may have inflated the window
  }
  // Window update: SND.WL1 < SEG.SEQ or (SND.WL1 = SEG.SEQ and SND.WL2 =< SEG.ACK).
  if (seq_lt(t.snd_wl1, s.seq) || (t.snd_wl1 == s.seq && seq_leq(t.snd_wl2, s.ack))) {
    if (new_wnd != t.snd_wnd) mark_pending(t);
    t.snd_wnd = new_wnd;
    t.max_snd_wnd = std::max(t.max_snd_wnd, new_wnd);
    t.snd_wl1 = s.seq;
    t.snd_wl2 = s.ack;
  }
  if (t.fin_acked) {
    switch (t.state) {
      case tcp_state::fin_wait_1:
        t.state = tcp_state::fin_wait_2;
        stop_main(t);
        arm_main(t, main_timer::fin_wait_2, cfg.fin_wait_2_timeout_us);
        break;
      case tcp_state::closing:
        enter_time_wait(t);
        return false;
      case tcp_state::last_ack:
        notify_close(t, 0);  // usually heard already, when the peer's FIN arrived
        free_tcb(t);
        return false;
      default:
        break;
    }
  }
  if (t.state == tcp_state::time_wait && s.has(flag_fin)) {
    // A retransmitted FIN: acknowledge it and restart the 2 MSL timeout.
    ack_soon(t);
    arm_main(t, main_timer::time_wait, 2 * cfg.msl_us);
    return false;
  }
  maybe_writable(t);
  return true;
}

void tcp_stack::impl::maybe_writable(tcb& t) {
  if (!t.want_writable || t.user_gone || t.state != tcp_state::established) return;
  // Low-water mark: a quarter of the ring free.
  if (cfg.send_buffer_bytes - t.s_len < cfg.send_buffer_bytes / 4) return;
  t.want_writable = false;
  handler.on_writable(handle(index_of(t)));
}

void tcp_stack::impl::deliver(tcb& t, std::span<const std::byte> data) {
  if (data.empty() || t.user_gone) return;
  ctr.bytes_in += data.size();
  if (t.paused || t.r_len > 0) {
    // The window never exceeds the free space of the buffer, so in-window data fits.
    const uint32_t cap = cfg.receive_buffer_bytes;
    const uint32_t n = std::min<uint32_t>(static_cast<uint32_t>(data.size()), cap - t.r_len);
    const uint32_t tail = (t.r_head + t.r_len) % cap;
    const uint32_t first = std::min(n, cap - tail);
    std::memcpy(t.rbuf + tail, data.data(), first);
    std::memcpy(t.rbuf, data.data() + first, n - first);
    t.r_len += n;
    return;
  }
  handler.on_data(handle(index_of(t)), data);
}

// In-order data at RCV.NXT, then whatever the reassembly queue holds contiguously after it.
void tcp_stack::impl::deliver_in_order(tcb& t, std::span<const std::byte> data) {
  const uint32_t idx = index_of(t);
  const uint32_t gen = t.gen;
  t.rcv_nxt += static_cast<uint32_t>(data.size());
  t.unacked_rcv_bytes += static_cast<uint32_t>(data.size());
  deliver(t, data);
  if (!alive(idx, gen)) return;
  // The spans stay valid until the next insert(), which only input() on this connection does.
  std::span<const std::byte> held[2];
  size_t spans = 0;
  const size_t filled = t.reasm->pop(t.rcv_nxt, [&](std::span<const std::byte> d) {
    if (spans < 2) held[spans++] = d;
  });
  t.unacked_rcv_bytes += static_cast<uint32_t>(filled);
  for (size_t i = 0; i < spans; ++i) {
    deliver(t, held[i]);
    if (!alive(idx, gen)) return;
  }
  // RFC 5681 §4.2: a segment that fills a hole is acknowledged at once.
  if (filled) ack_immediately(t);
}

void tcp_stack::impl::process_data(tcb& t, segment& s) {
  const uint32_t idx = index_of(t);
  const uint32_t gen = t.gen;
  const bool takes_text = t.state == tcp_state::established || t.state == tcp_state::fin_wait_1 ||
                          t.state == tcp_state::fin_wait_2;
  if (!s.data.empty() && takes_text) {
    if (s.seq == t.rcv_nxt) {
      deliver_in_order(t, s.data);
      if (!alive(idx, gen)) return;
      // RFC 5681 §4.2 / RFC 9293 §3.8.6.3: ACK at least every second full-sized segment,
      // otherwise within the delayed-ACK time.
      if (t.unacked_rcv_bytes >= 2u * t.rcv_mss || !t.reasm->empty()) {
        ack_immediately(t);
      } else if (!t.ack_now) {
        const uint32_t id = idx * timer_kinds + tk_delack;
        if (!wheel.scheduled(id)) wheel.schedule(id, now_us + cfg.delayed_ack_us);
      }
    } else {
      // Out of order inside the window: hold it (bounded) and send a duplicate ACK at once
      // (RFC 5681 §4.2), which drives the peer's fast retransmit.
      ++ctr.out_of_order;
      const reassembly_result r = t.reasm->insert(s.seq, s.data, t.rcv_nxt);
      if (r.dropped > 0 || r.evicted > 0) ++ctr.drop_reassembly;
      if (s.has(flag_fin)) {
        t.ooo_fin = true;
        t.ooo_fin_seq = s.seq + static_cast<uint32_t>(s.data.size());
      }
      ack_immediately(t);
      return;
    }
  }
  // Eighth: FIN, processed only when everything before it has arrived.
  if (s.has(flag_fin)) {
    const uint32_t fin_at = s.seq + static_cast<uint32_t>(s.data.size());
    if (fin_at == t.rcv_nxt) {
      process_fin(t);
    } else {
      t.ooo_fin = true;
      t.ooo_fin_seq = fin_at;
      ack_soon(t);
    }
  } else if (t.ooo_fin && t.ooo_fin_seq == t.rcv_nxt) {
    process_fin(t);
  }
}

void tcp_stack::impl::process_fin(tcb& t) {
  if (t.state == tcp_state::close_wait || t.state == tcp_state::closing ||
      t.state == tcp_state::last_ack || t.state == tcp_state::time_wait) {
    ack_soon(t);  // a FIN again: acknowledged, no change
    return;
  }
  t.ooo_fin = false;
  t.rcv_nxt += 1;
  ack_soon(t);
  switch (t.state) {
    case tcp_state::syn_received:
    case tcp_state::established:
      t.state = tcp_state::close_wait;
      break;
    case tcp_state::fin_wait_1:
      // Simultaneous close (RFC 9293 §3.6 figure 13): CLOSING until our FIN is acknowledged.
      if (t.fin_acked) {
        enter_time_wait(t);
      } else {
        t.state = tcp_state::closing;
      }
      return;
    case tcp_state::fin_wait_2:
      stop_main(t);
      enter_time_wait(t);
      return;
    default:
      return;
  }
  // CLOSE-WAIT: the user hears of the close once the data before the FIN is delivered, and our
  // side closes after the queued data (the layer above has no use for a half-open connection).
  if (t.r_len > 0) {
    t.peer_fin_pending = true;
    return;
  }
  t.fin_queued = true;
  t.state = tcp_state::last_ack;
  mark_pending(t);
  notify_close(t, 0);
}

}  // namespace smpp::net
