// TCP timers: retransmission, persist, delayed ACK, keepalive, FIN-WAIT-2 and TIME-WAIT.
#include <cerrno>

#include "tcp_internal.hpp"

namespace smpp::net {

void tcp_stack::impl::fire(uint32_t id) {
  const uint32_t idx = id / timer_kinds;
  tcb& t = conns[idx];
  if (!t.in_use) return;
  switch (id % timer_kinds) {
    case tk_main:
      on_main_timer(t);
      break;
    case tk_delack:
      if (t.unacked_rcv_bytes > 0 || t.ack_now) {
        ++ctr.delayed_acks;
        ack_soon(t);
      }
      break;
    case tk_keepalive: {
      // RFC 9293 §3.8.4: after keepalive_idle of silence, probes <SEQ=SND.UNA-1> with no data
      // every keepalive_interval; unanswered keepalive_probes times, the connection is dead.
      if (t.state != tcp_state::established && t.state != tcp_state::close_wait) break;
      const uint64_t idle_until = t.last_rx_us + cfg.keepalive_idle_us;
      if (now_us < idle_until && t.keepalive_sent == 0) {
        wheel.schedule(id, idle_until);
        break;
      }
      if (t.keepalive_sent >= cfg.keepalive_probes) {
        ++ctr.timeouts;
        emit(t, pure_ack_seq(t), flag_rst | flag_ack, 0, 0);
        fail(t, ETIMEDOUT);
        break;
      }
      ++t.keepalive_sent;
      ++ctr.keepalive_probes;
      emit(t, t.snd_una - 1, flag_ack, 0, 0);
      wheel.schedule(id, now_us + cfg.keepalive_interval_us);
      break;
    }
    default:
      break;
  }
}

void tcp_stack::impl::on_main_timer(tcb& t) {
  const main_timer kind = t.mt;
  t.mt = main_timer::none;
  switch (kind) {
    case main_timer::none:
      return;
    case main_timer::time_wait:
      free_tcb(t);
      return;
    case main_timer::fin_wait_2:
      // The peer never closed its side: give up (the user hears on_close(0) now).
      ++ctr.timeouts;
      notify_close(t, 0);
      free_tcb(t);
      return;
    case main_timer::persist: {
      // RFC 9293 §3.8.6.1: probe the zero window with one octet, backing off like the RTO, for as
      // long as the peer keeps answering (RFC 1122 §4.2.2.17). A peer that answers none of
      // max_retransmits probes in a row is gone: reset, ETIMEDOUT.
      if (t.probes_unanswered >= cfg.max_retransmits) {
        ++ctr.timeouts;
        emit(t, pure_ack_seq(t), flag_rst | flag_ack, 0, 0);
        fail(t, ETIMEDOUT);
        return;
      }
      ++t.probes_unanswered;
      if (t.snd_wnd == 0 && t.s_len > t.snd_nxt - t.snd_una && t.snd_nxt == t.snd_una) {
        ++ctr.window_probes;
        emit(t, t.snd_una, flag_ack, 0, 1);
        t.snd_max = seq_max(t.snd_max, t.snd_una + 1);
      }
      t.rto.backoff();
      arm_main(t, main_timer::persist, t.rto.rto_us());
      return;
    }
    case main_timer::rtx:
      break;
  }
  // RFC 6298 §5.4-5.6: retransmit the earliest unacknowledged segment, back the timer off,
  // restart it. A bounded number of times, then the connection is dropped.
  const bool handshake = t.state == tcp_state::syn_sent || t.state == tcp_state::syn_received;
  const uint32_t limit = t.state == tcp_state::syn_sent       ? cfg.syn_retries
                         : t.state == tcp_state::syn_received ? cfg.synack_retries
                                                              : cfg.max_retransmits;
  if (t.retries >= limit) {
    ++ctr.timeouts;
    if (t.state == tcp_state::syn_received && !t.active_open) {
      free_tcb(t);
      return;
    }
    if (!handshake) emit(t, pure_ack_seq(t), flag_rst | flag_ack, 0, 0);
    fail(t, ETIMEDOUT);
    return;
  }
  ++t.retries;
  t.rto.backoff();
  t.rtt_timing = false;  // Karn
  if (handshake) {
    ++ctr.syn_retransmits;
    t.syn_retransmitted = true;
    retransmit_first(t);
    arm_main(t, main_timer::rtx, t.rto.rto_us());
    return;
  }
  ++ctr.rto_expirations;
  // RFC 5681 §3.1 eq. 4 and cwnd = 1 SMSS; then go back to SND.UNA (RFC 6298 §5.4).
  t.cc.on_rto(t.snd_max - t.snd_una, t.snd_max);
  t.snd_nxt = t.snd_una;
  if (t.fin_sent && !t.fin_acked) t.fin_sent = false;
  ++ctr.retransmits;
  send_data(t);
  if (t.snd_nxt == t.snd_una && t.snd_max != t.snd_una) {
    // Nothing left to send by the windows (a probe byte past a closed window): resend it.
    retransmit_first(t);
  }
  arm_main(t, main_timer::rtx, t.rto.rto_us());
  mark_pending(t);
}

}  // namespace smpp::net
