// The TCP engine's construction and its API (open, send, close, abort, pause, flush, timers).
// Input is in tcp_input.cpp, output in tcp_output.cpp, timers in tcp_timers.cpp; the shared
// state in tcp_internal.hpp. One instance per worker; all memory is taken at construction.
#include <cerrno>
#include <random>

#include "tcp_internal.hpp"

namespace smpp::net {

const char* to_string(tcp_state s) noexcept {
  switch (s) {
    case tcp_state::closed:
      return "CLOSED";
    case tcp_state::listen:
      return "LISTEN";
    case tcp_state::syn_sent:
      return "SYN-SENT";
    case tcp_state::syn_received:
      return "SYN-RECEIVED";
    case tcp_state::established:
      return "ESTABLISHED";
    case tcp_state::fin_wait_1:
      return "FIN-WAIT-1";
    case tcp_state::fin_wait_2:
      return "FIN-WAIT-2";
    case tcp_state::close_wait:
      return "CLOSE-WAIT";
    case tcp_state::closing:
      return "CLOSING";
    case tcp_state::last_ack:
      return "LAST-ACK";
    case tcp_state::time_wait:
      return "TIME-WAIT";
  }
  return "?";
}

tcp_stack::impl::impl(ip_output& o, tcp_handler& h, tcp_config c)
    : out(o),
      handler(h),
      cfg(std::move(c)),
      wheel(std::max<uint32_t>(cfg.max_connections, 1) * timer_kinds, 1000, 256, cfg.start_us),
      now_us(cfg.start_us) {
  cfg.max_connections = std::max<uint32_t>(cfg.max_connections, 1);
  cfg.send_buffer_bytes = std::max<uint32_t>(cfg.send_buffer_bytes, 1);
  // RFC 7323 §2.3: the window is at most 2^30; one byte of buffer at the least.
  cfg.receive_buffer_bytes = std::clamp<uint32_t>(cfg.receive_buffer_bytes, 1, 1u << 30);
  cfg.mss = std::max<uint16_t>(cfg.mss, min_peer_mss);
  rto_cfg.min_rto_us = cfg.min_rto_us;
  rto_cfg.max_rto_us = cfg.max_rto_us;
  rto_cfg.initial_rto_us = cfg.initial_rto_us;
  if (cfg.ephemeral_port_min == 0) cfg.ephemeral_port_min = 1;
  if (cfg.ephemeral_port_max < cfg.ephemeral_port_min) {
    cfg.ephemeral_port_max = cfg.ephemeral_port_min;
  }
  uint64_t seed = cfg.random_seed;
  if (seed == 0) {
    std::random_device rd;
    seed = (uint64_t{rd()} << 32) ^ rd();
  }
  rng = seed;
  key0 = next_random();
  key1 = next_random();
  port_cursor = static_cast<uint32_t>(next_random());
  // RFC 7323 §2.3: the smallest shift that lets the 16-bit field carry the whole buffer.
  if (cfg.window_scaling) {
    while (rcv_wscale < max_wscale && (cfg.receive_buffer_bytes >> rcv_wscale) > 0xffff) {
      ++rcv_wscale;
    }
  }
  const size_t n = cfg.max_connections;
  conns.resize(n);
  free_slots.reserve(n);
  for (size_t i = n; i-- > 0;) free_slots.push_back(static_cast<uint32_t>(i));
  // Not value-initialised: pages are touched only by connections that use them.
  send_mem.reset(new std::byte[n * cfg.send_buffer_bytes]);
  recv_mem.reset(new std::byte[n * cfg.receive_buffer_bytes]);
  for (size_t i = 0; i < n; ++i) {
    conns[i].sbuf = send_mem.get() + i * cfg.send_buffer_bytes;
    conns[i].rbuf = recv_mem.get() + i * cfg.receive_buffer_bytes;
    conns[i].reasm =
        std::make_unique<tcp_reassembly>(cfg.receive_buffer_bytes, cfg.reassembly_segments);
  }
  uint32_t cap = 16;
  while (cap < 2 * n) cap <<= 1;
  table.assign(cap, empty);
  table_mask = cap - 1;
  listeners.resize(std::max<uint32_t>(cfg.max_listeners, 1));
  pending.reserve(n);
}

tcp_stack::tcp_stack(ip_output& out, tcp_handler& handler, tcp_config cfg)
    : impl_(std::make_unique<impl>(out, handler, std::move(cfg))) {}

tcp_stack::~tcp_stack() = default;

void tcp_stack::input(ipv4_addr src, ipv4_addr dst, std::span<const std::byte> payload,
                      uint64_t now_us) {
  impl_->now_us = std::max(impl_->now_us, now_us);
  impl_->input(src, dst, payload);
}

int tcp_stack::listen(ipv4_addr local_addr, uint16_t port, uint32_t backlog) {
  impl& m = *impl_;
  if (port == 0 || backlog == 0) return -EINVAL;
  int free_index = -1;
  for (size_t i = 0; i < m.listeners.size(); ++i) {
    const listener_entry& l = m.listeners[i];
    if (l.used && l.port == port && l.addr == local_addr) return -EADDRINUSE;
    if (!l.used && free_index < 0) free_index = static_cast<int>(i);
  }
  if (free_index < 0) return -ENOBUFS;
  listener_entry& l = m.listeners[static_cast<size_t>(free_index)];
  l = listener_entry{true, local_addr, port, backlog, 0};
  return free_index;
}

tcp_conn tcp_stack::connect(ipv4_addr local_addr, ipv4_addr remote_addr, uint16_t remote_port,
                            int& err) {
  impl& m = *impl_;
  err = 0;
  if (remote_port == 0 || remote_addr == 0) {
    err = EINVAL;
    return invalid_tcp_conn;
  }
  if (m.free_slots.empty()) {
    err = ENOBUFS;
    return invalid_tcp_conn;
  }
  const uint32_t range = uint32_t{m.cfg.ephemeral_port_max} - m.cfg.ephemeral_port_min + 1;
  uint16_t port = 0;
  for (uint32_t i = 0; i < range; ++i) {
    const auto p = static_cast<uint16_t>(m.cfg.ephemeral_port_min + (m.port_cursor + i) % range);
    if (m.cfg.local_port_ok && !m.cfg.local_port_ok(p)) continue;
    if (m.find(local_addr, p, remote_addr, remote_port) != impl::empty) continue;
    port = p;
    m.port_cursor += i + 1;
    break;
  }
  if (port == 0) {
    err = EADDRNOTAVAIL;
    return invalid_tcp_conn;
  }
  const uint32_t idx = m.alloc_tcb();
  tcb& t = m.conns[idx];
  m.init_connection(t, local_addr, port, remote_addr, remote_port);
  t.active_open = true;
  t.state = tcp_state::syn_sent;
  t.rcv_wscale = m.cfg.window_scaling ? static_cast<uint8_t>(m.rcv_wscale) : 0;
  ++m.ctr.active_opens;
  m.emit(t, t.iss, flag_syn, 0, 0);
  t.rtt_timing = true;
  t.rtt_seq = t.iss;
  t.rtt_start_us = m.now_us;
  m.arm_main(t, main_timer::rtx, t.rto.rto_us());
  return m.handle(idx);
}

size_t tcp_stack::send_space(tcp_conn c) const noexcept {
  impl& m = *impl_;
  const tcb* t = m.user_tcb(c);
  if (t == nullptr || t->state != tcp_state::established || t->fin_queued) return 0;
  return m.cfg.send_buffer_bytes - t->s_len;
}

size_t tcp_stack::send(tcp_conn c, std::span<const std::byte> data) {
  impl& m = *impl_;
  tcb* t = m.user_tcb(c);
  if (t == nullptr || t->state != tcp_state::established || t->fin_queued) return 0;
  const uint32_t cap = m.cfg.send_buffer_bytes;
  const uint32_t n = static_cast<uint32_t>(std::min<size_t>(data.size(), cap - t->s_len));
  if (n < data.size()) t->want_writable = true;
  if (n == 0) return 0;
  const uint32_t tail = (t->s_head + t->s_len) % cap;
  const uint32_t first = std::min(n, cap - tail);
  std::memcpy(t->sbuf + tail, data.data(), first);
  std::memcpy(t->sbuf, data.data() + first, n - first);
  t->s_len += n;
  m.mark_pending(*t);
  return n;
}

void tcp_stack::close(tcp_conn c) {
  impl& m = *impl_;
  tcb* t = m.user_tcb(c);
  if (t == nullptr || t->fin_queued) return;
  switch (t->state) {
    case tcp_state::syn_sent:
      // RFC 9293 §3.10.4: SYN-SENT: delete the TCB. The user closed it: no callback.
      t->user_gone = true;
      m.free_tcb(*t);
      return;
    case tcp_state::syn_received:
      // RFC 9293 §3.10.4: SYN-RECEIVED: the FIN waits for ESTABLISHED.
      t->fin_queued = true;
      return;
    case tcp_state::established:
      // RFC 9293 §3.10.4: FIN after the queued data; FIN-WAIT-1.
      t->fin_queued = true;
      t->state = tcp_state::fin_wait_1;
      m.mark_pending(*t);
      return;
    case tcp_state::close_wait:
      t->fin_queued = true;
      t->state = tcp_state::last_ack;
      m.mark_pending(*t);
      return;
    default:
      return;
  }
}

void tcp_stack::abort(tcp_conn c) {
  impl& m = *impl_;
  tcb* t = m.user_tcb(c);
  if (t == nullptr) return;
  // RFC 9293 §3.10.5: SYN-RECEIVED and the synchronized states send <SEQ=SND.NXT><CTL=RST>.
  if (t->state != tcp_state::syn_sent && t->state != tcp_state::time_wait) {
    m.emit(*t, impl::pure_ack_seq(*t), flag_rst | flag_ack, 0, 0);
  }
  t->user_gone = true;
  m.free_tcb(*t);
}

void tcp_stack::pause_receive(tcp_conn c, bool paused) {
  impl& m = *impl_;
  tcb* t = m.user_tcb(c);
  if (t == nullptr || t->paused == paused) return;
  t->paused = paused;
  if (paused) return;
  const uint32_t idx = conn_index(c);
  const uint32_t gen = t->gen;
  const uint32_t cap = m.cfg.receive_buffer_bytes;
  // Deliver what was held, in at most two spans per pass (the ring may wrap); the handler may
  // pause again or close from inside on_data.
  while (m.alive(idx, gen) && !t->paused && !t->user_gone && t->r_len > 0) {
    const uint32_t n = std::min(t->r_len, cap - t->r_head);
    const uint32_t at = t->r_head;
    t->r_head = (t->r_head + n) % cap;
    t->r_len -= n;
    m.handler.on_data(c, std::span<const std::byte>(t->rbuf + at, n));
  }
  if (!m.alive(idx, gen)) return;
  if (t->r_len == 0) {
    t->r_head = 0;
    if (t->peer_fin_pending && !t->user_gone) {
      t->peer_fin_pending = false;
      t->fin_queued = true;
      t->state = tcp_state::last_ack;
      m.mark_pending(*t);
      m.notify_close(*t, 0);
      return;
    }
  }
  // RFC 9293 §3.8.6.2.2: tell the peer once the window opened by enough to matter.
  const uint32_t cur = seq_gt(t->rcv_adv, t->rcv_nxt) ? t->rcv_adv - t->rcv_nxt : 0;
  const uint32_t free_space = cap - t->r_len;
  if (free_space > cur && free_space - cur >= std::min<uint32_t>(cap / 2, t->rcv_mss)) {
    m.ack_soon(*t);
  }
}

void tcp_stack::flush() {
  impl_->flush();
}

void tcp_stack::timers(uint64_t now_us) {
  impl& m = *impl_;
  m.now_us = std::max(m.now_us, now_us);
  m.wheel.advance(m.now_us, [&m](uint32_t id) { m.fire(id); });
  m.flush();
}

const tcp_counters& tcp_stack::counters() const noexcept {
  return impl_->ctr;
}

uint32_t tcp_stack::connections() const noexcept {
  return impl_->in_use;
}

bool tcp_stack::info(tcp_conn c, tcp_conn_info& out) const noexcept {
  const uint32_t idx = conn_index(c);
  if (idx >= impl_->conns.size()) return false;
  const tcb& t = impl_->conns[idx];
  if (!t.in_use || t.gen != conn_gen(c)) return false;
  out.state = t.state;
  out.local_addr = t.laddr;
  out.remote_addr = t.raddr;
  out.local_port = t.lport;
  out.remote_port = t.rport;
  out.send_queued = t.s_len;
  out.receive_queued = t.r_len;
  out.snd_una = t.snd_una;
  out.snd_nxt = t.snd_nxt;
  out.rcv_nxt = t.rcv_nxt;
  out.rcv_wnd = seq_gt(t.rcv_adv, t.rcv_nxt) ? t.rcv_adv - t.rcv_nxt : 0;
  out.ts_recent = t.ts_recent;
  out.snd_wnd = t.snd_wnd;
  out.cwnd = t.cc.cwnd();
  out.ssthresh = t.cc.ssthresh();
  out.rto_us = t.rto.rto_us();
  out.snd_mss = t.smss;
  out.snd_wscale = t.snd_wscale;
  out.rcv_wscale = t.rcv_wscale;
  out.timestamps = t.ts_ok;
  return true;
}

}  // namespace smpp::net
