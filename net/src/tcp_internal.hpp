// Private to the TCP engine: the connection block, the stack's state and the helpers its
// input, output and timer halves share.
#pragma once

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "smpp/net/tcp.hpp"
#include "smpp/net/tcp_cc.hpp"
#include "smpp/net/tcp_reassembly.hpp"
#include "smpp/net/tcp_seq.hpp"
#include "smpp/net/timer_wheel.hpp"

namespace smpp::net::tcp_detail {

inline constexpr uint8_t flag_fin = 0x01;
inline constexpr uint8_t flag_syn = 0x02;
inline constexpr uint8_t flag_rst = 0x04;
inline constexpr uint8_t flag_psh = 0x08;
inline constexpr uint8_t flag_ack = 0x10;
inline constexpr uint8_t flag_urg = 0x20;

inline constexpr size_t header_bytes = 20;
inline constexpr size_t ts_option_bytes = 12;      // NOP NOP TS(10), RFC 7323 Appendix A layout
inline constexpr uint16_t default_peer_mss = 536;  // RFC 9293 §3.7.1 (IPv4, no MSS option)
inline constexpr uint16_t min_peer_mss = 64;       // a smaller MSS option is raised to this
inline constexpr uint8_t max_wscale = 14;          // RFC 7323 §2.3

// Timer ids in the wheel: conn index * timer_kinds + kind.
enum timer_kind : uint32_t { tk_main = 0, tk_delack = 1, tk_keepalive = 2, timer_kinds = 3 };

// What the connection's one main timer is doing (they exclude each other).
enum class main_timer : uint8_t { none, rtx, persist, time_wait, fin_wait_2 };

[[nodiscard]] inline uint16_t load16(const std::byte* p) noexcept {
  return static_cast<uint16_t>((static_cast<uint16_t>(p[0]) << 8) | static_cast<uint16_t>(p[1]));
}
[[nodiscard]] inline uint32_t load32(const std::byte* p) noexcept {
  return (static_cast<uint32_t>(p[0]) << 24) | (static_cast<uint32_t>(p[1]) << 16) |
         (static_cast<uint32_t>(p[2]) << 8) | static_cast<uint32_t>(p[3]);
}
inline void store16(std::byte* p, uint16_t v) noexcept {
  p[0] = std::byte(v >> 8);
  p[1] = std::byte(v);
}
inline void store32(std::byte* p, uint32_t v) noexcept {
  p[0] = std::byte(v >> 24);
  p[1] = std::byte(v >> 16);
  p[2] = std::byte(v >> 8);
  p[3] = std::byte(v);
}

// One received segment after header validation.
struct segment {
  ipv4_addr src = 0, dst = 0;
  uint16_t sport = 0, dport = 0;
  uint32_t seq = 0, ack = 0;
  uint8_t flags = 0;
  uint16_t wnd = 0;
  bool has_mss = false, has_ws = false, has_ts = false;
  uint16_t mss = 0;
  uint8_t ws = 0;
  uint32_t tsval = 0, tsecr = 0;
  std::span<const std::byte> data;
  [[nodiscard]] bool has(uint8_t f) const noexcept { return (flags & f) != 0; }
  // RFC 9293 §3.4: SEG.LEN counts SYN and FIN.
  [[nodiscard]] uint32_t len() const noexcept {
    return static_cast<uint32_t>(data.size()) + (has(flag_syn) ? 1u : 0u) +
           (has(flag_fin) ? 1u : 0u);
  }
};

struct tcb {
  uint32_t gen = 1;
  tcp_state state = tcp_state::closed;
  bool in_use = false;
  bool active_open = false;
  bool user_known = false;  // on_accept / on_connect(0) delivered
  bool user_gone = false;   // on_close delivered: the handle is stale for the API
  bool paused = false;
  bool fin_queued = false;  // close() asked for a FIN after the queued data
  bool fin_sent = false;    // the FIN is in flight (cleared when it must be sent again)
  bool fin_acked = false;
  bool peer_fin_pending = false;  // peer FIN consumed while paused data waits for the user
  bool ooo_fin = false;           // a FIN arrived out of order at ooo_fin_seq
  bool ts_ok = false, ws_ok = false;
  bool on_pending = false;  // in impl::pending
  bool ack_now = false;
  bool want_writable = false;
  bool rtt_timing = false;
  bool syn_retransmitted = false;
  main_timer mt = main_timer::none;
  uint8_t snd_wscale = 0, rcv_wscale = 0;
  int32_t listener = -1;  // SYN_RECEIVED of a passive open: counted in this listener's backlog

  ipv4_addr laddr = 0, raddr = 0;
  uint16_t lport = 0, rport = 0;

  // RFC 9293 §3.3.1 send sequence variables; snd_max is the highest sequence number sent.
  uint32_t iss = 0, snd_una = 0, snd_nxt = 0, snd_max = 0;
  uint32_t snd_wnd = 0, max_snd_wnd = 0, snd_wl1 = 0, snd_wl2 = 0;
  uint32_t fin_seq = 0;
  uint16_t smss = default_peer_mss;  // payload octets per segment, options excluded
  uint16_t rcv_mss = default_peer_mss;
  // Receive sequence variables; rcv_adv is the right edge of the window last advertised.
  uint32_t irs = 0, rcv_nxt = 0, rcv_adv = 0, last_ack_sent = 0;
  uint32_t ooo_fin_seq = 0;
  uint32_t unacked_rcv_bytes = 0;  // in-order octets received since the last ACK sent

  // RFC 7323 §4.3 timestamps.
  uint32_t ts_recent = 0, ts_offset = 0;
  uint64_t ts_recent_us = 0;

  uint32_t rtt_seq = 0;
  uint64_t rtt_start_us = 0;
  uint32_t retries = 0;            // consecutive expiries of the main timer
  uint32_t probes_unanswered = 0;  // zero-window probes since the peer last sent anything
  uint64_t last_rx_us = 0;
  uint64_t last_send_us = 0;  // the last new data sent (RFC 5681 §4.1 idle restart)
  uint32_t keepalive_sent = 0;

  // Send ring: s_len octets starting at s_head, the first one being SND.UNA's.
  std::byte* sbuf = nullptr;
  uint32_t s_head = 0, s_len = 0;
  // Receive ring for in-order data held while paused.
  std::byte* rbuf = nullptr;
  uint32_t r_head = 0, r_len = 0;

  rto_estimator rto{rto_config{}};
  newreno cc{default_peer_mss};
  std::unique_ptr<tcp_reassembly> reasm;  // kept across the slot's connections
};

struct listener_entry {
  bool used = false;
  ipv4_addr addr = 0;
  uint16_t port = 0;
  uint32_t backlog = 0;
  uint32_t syn_received = 0;
};

// A 64-bit finalizer (splitmix64): the table hash and the per-instance random stream.
[[nodiscard]] inline uint64_t mix64(uint64_t x) noexcept {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

[[nodiscard]] inline uint64_t rotl(uint64_t x, int b) noexcept {
  return (x << b) | (x >> (64 - b));
}

// SipHash-2-4 of two 64-bit words under a 128-bit key: the RFC 6528 F() of the ISN.
[[nodiscard]] inline uint64_t siphash_2x64(uint64_t k0, uint64_t k1, uint64_t m0,
                                           uint64_t m1) noexcept {
  uint64_t v0 = k0 ^ 0x736f6d6570736575ull, v1 = k1 ^ 0x646f72616e646f6dull;
  uint64_t v2 = k0 ^ 0x6c7967656e657261ull, v3 = k1 ^ 0x7465646279746573ull;
  auto round = [&] {
    v0 += v1;
    v1 = rotl(v1, 13);
    v1 ^= v0;
    v0 = rotl(v0, 32);
    v2 += v3;
    v3 = rotl(v3, 16);
    v3 ^= v2;
    v0 += v3;
    v3 = rotl(v3, 21);
    v3 ^= v0;
    v2 += v1;
    v1 = rotl(v1, 17);
    v1 ^= v2;
    v2 = rotl(v2, 32);
  };
  for (uint64_t m : {m0, m1, uint64_t{16} << 56}) {
    v3 ^= m;
    round();
    round();
    v0 ^= m;
  }
  v2 ^= 0xff;
  for (int i = 0; i < 4; ++i) round();
  return v0 ^ v1 ^ v2 ^ v3;
}

// The one place that knows the tcp_conn layout (tcp.hpp).
[[nodiscard]] constexpr tcp_conn make_conn(uint32_t index, uint32_t gen) noexcept {
  return (uint64_t{gen} << 32) | index;
}
[[nodiscard]] constexpr uint32_t conn_index(tcp_conn c) noexcept {
  return static_cast<uint32_t>(c);
}
[[nodiscard]] constexpr uint32_t conn_gen(tcp_conn c) noexcept {
  return static_cast<uint32_t>(c >> 32);
}

}  // namespace smpp::net::tcp_detail

namespace smpp::net {

using namespace tcp_detail;

struct tcp_stack::impl {
  ip_output& out;
  tcp_handler& handler;
  tcp_config cfg;
  tcp_counters ctr;

  std::vector<tcb> conns;
  std::vector<uint32_t> free_slots;  // a stack of free indices
  std::unique_ptr<std::byte[]> send_mem, recv_mem;
  // Open-addressing table of four-tuples -> connection index (linear probing, backward-shift
  // deletion, at most half full).
  std::vector<uint32_t> table;
  uint32_t table_mask = 0;
  std::vector<listener_entry> listeners;
  std::vector<uint32_t> pending;  // connections with output or an ACK to write at flush()
  timer_wheel wheel;
  uint64_t now_us = 0;
  uint64_t key0 = 0, key1 = 0;  // RFC 6528 secret key
  uint64_t rng = 0;
  uint32_t port_cursor = 0;
  uint64_t challenge_second = 0;
  uint32_t challenge_count = 0;
  uint32_t in_use = 0;
  uint32_t rcv_wscale = 0;
  rto_config rto_cfg;

  static constexpr uint32_t empty = 0xffffffffu;

  impl(ip_output& o, tcp_handler& h, tcp_config c);

  uint64_t next_random() noexcept {
    rng += 0x9e3779b97f4a7c15ull;
    return mix64(rng);
  }

  // ---- connection table ----

  [[nodiscard]] uint32_t hash(ipv4_addr la, uint16_t lp, ipv4_addr ra, uint16_t rp) const noexcept {
    const uint64_t a = (uint64_t{la} << 32) | ra;
    const uint64_t b = (uint64_t{lp} << 16) | rp;
    return static_cast<uint32_t>(mix64(a ^ key0 ^ mix64(b ^ key1))) & table_mask;
  }

  [[nodiscard]] uint32_t find(ipv4_addr la, uint16_t lp, ipv4_addr ra, uint16_t rp) const noexcept {
    for (uint32_t i = hash(la, lp, ra, rp);; i = (i + 1) & table_mask) {
      const uint32_t idx = table[i];
      if (idx == empty) return empty;
      const tcb& t = conns[idx];
      if (t.laddr == la && t.lport == lp && t.raddr == ra && t.rport == rp) return idx;
    }
  }

  void table_insert(uint32_t idx) noexcept {
    const tcb& t = conns[idx];
    uint32_t i = hash(t.laddr, t.lport, t.raddr, t.rport);
    while (table[i] != empty) i = (i + 1) & table_mask;
    table[i] = idx;
  }

  void table_erase(uint32_t idx) noexcept {
    const tcb& t = conns[idx];
    uint32_t i = hash(t.laddr, t.lport, t.raddr, t.rport);
    while (table[i] != idx) {
      if (table[i] == empty) return;
      i = (i + 1) & table_mask;
    }
    // Backward-shift deletion: pull later entries of the probe run into the hole.
    uint32_t hole = i;
    for (uint32_t j = (i + 1) & table_mask; table[j] != empty; j = (j + 1) & table_mask) {
      const tcb& u = conns[table[j]];
      const uint32_t home = hash(u.laddr, u.lport, u.raddr, u.rport);
      // Move j into the hole when its home is not in (hole, j] cyclically.
      if (((j - home) & table_mask) >= ((j - hole) & table_mask)) {
        table[hole] = table[j];
        hole = j;
      }
    }
    table[hole] = empty;
  }

  [[nodiscard]] tcp_conn handle(uint32_t idx) const noexcept {
    return make_conn(idx, conns[idx].gen);
  }

  // The connection behind a handle the user holds, or nullptr when it is stale.
  [[nodiscard]] tcb* user_tcb(tcp_conn c) noexcept {
    const uint32_t idx = conn_index(c);
    if (idx >= conns.size()) return nullptr;
    tcb& t = conns[idx];
    if (!t.in_use || t.gen != conn_gen(c) || t.user_gone) return nullptr;
    return &t;
  }
  [[nodiscard]] bool alive(uint32_t idx, uint32_t gen) const noexcept {
    return conns[idx].in_use && conns[idx].gen == gen;
  }
  [[nodiscard]] uint32_t index_of(const tcb& t) const noexcept {
    return static_cast<uint32_t>(&t - conns.data());
  }

  [[nodiscard]] uint32_t alloc_tcb() noexcept {
    if (free_slots.empty()) return empty;
    const uint32_t idx = free_slots.back();
    free_slots.pop_back();
    tcb& t = conns[idx];
    const uint32_t gen = t.gen;
    std::byte* sb = t.sbuf;
    std::byte* rb = t.rbuf;
    auto reasm = std::move(t.reasm);
    t = tcb{};
    t.gen = gen;
    t.sbuf = sb;
    t.rbuf = rb;
    t.reasm = std::move(reasm);
    t.reasm->clear();
    t.in_use = true;
    t.rto = rto_estimator(rto_cfg);
    ++in_use;
    return idx;
  }

  void free_tcb(tcb& t) noexcept {
    const uint32_t idx = index_of(t);
    if (t.listener >= 0) {
      --listeners[static_cast<size_t>(t.listener)].syn_received;
      t.listener = -1;
    }
    table_erase(idx);
    for (uint32_t k = 0; k < timer_kinds; ++k) wheel.cancel(idx * timer_kinds + k);
    t.in_use = false;
    t.state = tcp_state::closed;
    // Generation 0 is never used, so no handle is ever invalid_tcp_conn.
    if (++t.gen == 0) t.gen = 1;
    free_slots.push_back(idx);
    --in_use;
  }

  // ---- ISN, options, windows ----

  // RFC 6528 §3: ISN = M + F(localip, localport, remoteip, remoteport, secretkey), M a 4 us
  // clock.
  [[nodiscard]] uint32_t isn(const tcb& t) const noexcept {
    const uint64_t m0 = (uint64_t{t.laddr} << 32) | t.raddr;
    const uint64_t m1 = (uint64_t{t.lport} << 16) | t.rport;
    return static_cast<uint32_t>(now_us / 4) +
           static_cast<uint32_t>(siphash_2x64(key0, key1, m0, m1));
  }

  [[nodiscard]] uint32_t ts_now(const tcb& t) const noexcept {
    // RFC 7323 §5.4: a 1 ms clock, offset per connection (§7.1).
    return static_cast<uint32_t>(now_us / 1000) + t.ts_offset;
  }

  // The largest TCP payload toward the peer (IPv4 MTU minus the TCP header).
  [[nodiscard]] uint32_t path_payload(ipv4_addr dst) const noexcept {
    const size_t mp = out.max_payload(dst);
    return mp > header_bytes ? static_cast<uint32_t>(mp - header_bytes) : 0;
  }

  [[nodiscard]] uint16_t advertised_mss(ipv4_addr dst) const noexcept {
    return static_cast<uint16_t>(std::clamp<uint32_t>(path_payload(dst), min_peer_mss, cfg.mss));
  }

  // RFC 9293 §3.7.1: Eff.snd.MSS = min(SendMSS + 20, MMS_S) - TCPhdrsize (options included).
  void set_smss(tcb& t, uint16_t peer_mss) noexcept {
    const uint32_t peer = std::max<uint32_t>(peer_mss, min_peer_mss);
    uint32_t m = std::min<uint32_t>(peer, std::max<uint32_t>(path_payload(t.raddr), min_peer_mss));
    m = std::min<uint32_t>(m, cfg.mss);
    if (t.ts_ok) m -= static_cast<uint32_t>(ts_option_bytes);
    t.smss = static_cast<uint16_t>(m);
    t.rcv_mss = static_cast<uint16_t>(advertised_mss(t.raddr) - (t.ts_ok ? ts_option_bytes : 0));
  }

  // ---- output (tcp_output.cpp) ----
  uint16_t window_to_advertise(tcb& t, bool syn) noexcept;
  bool emit(tcb& t, uint32_t seq, uint8_t flags, uint32_t data_off, uint32_t data_len) noexcept;
  void emit_reset(const segment& s) noexcept;
  void mark_pending(tcb& t) noexcept {
    if (t.on_pending) return;
    t.on_pending = true;
    pending.push_back(index_of(t));
  }
  void ack_soon(tcb& t) noexcept {
    t.ack_now = true;
    mark_pending(t);
  }
  void ack_immediately(tcb& t) noexcept;
  static uint32_t pure_ack_seq(const tcb& t) noexcept;  // SND.MAX: see tcp_output.cpp
  void challenge_ack(tcb& t) noexcept;
  [[nodiscard]] bool sends_data(tcp_state s) const noexcept {
    return s == tcp_state::established || s == tcp_state::close_wait ||
           s == tcp_state::fin_wait_1 || s == tcp_state::closing || s == tcp_state::last_ack;
  }
  void arm_main(tcb& t, main_timer kind, uint64_t after_us) noexcept {
    t.mt = kind;
    wheel.schedule(index_of(t) * timer_kinds + tk_main, now_us + after_us);
  }
  void stop_main(tcb& t) noexcept {
    t.mt = main_timer::none;
    wheel.cancel(index_of(t) * timer_kinds + tk_main);
  }
  void send_data(tcb& t) noexcept;
  void retransmit_first(tcb& t) noexcept;
  void update_send_timers(tcb& t) noexcept;
  void flush_one(tcb& t) noexcept;
  void flush() noexcept;

  // ---- user notifications ----

  // The connection is over for the user (once): on_close, and the handle goes stale.
  void notify_close(tcb& t, int err) {
    if (t.user_gone) return;
    t.user_gone = true;
    if (!t.user_known) return;
    handler.on_close(handle(index_of(t)), err);
  }

  // Drops the connection with an error: the user hears of it (on_connect for an open that
  // never completed, on_close otherwise), then the slot is freed.
  void fail(tcb& t, int err) {
    const uint32_t idx = index_of(t);
    const tcp_conn c = handle(idx);
    const bool connect_pending = !t.user_known && t.active_open && !t.user_gone;
    const bool known = t.user_known && !t.user_gone;
    t.user_gone = true;
    free_tcb(t);
    if (connect_pending) handler.on_connect(c, err);
    if (known) handler.on_close(c, err);
  }

  void enter_time_wait(tcb& t) {
    t.state = tcp_state::time_wait;
    wheel.cancel(index_of(t) * timer_kinds + tk_keepalive);
    // RFC 9293 §3.10.7.4: TIME-WAIT lasts 2 MSL.
    arm_main(t, main_timer::time_wait, 2 * cfg.msl_us);
    notify_close(t, 0);
  }

  // ---- open ----

  void init_connection(tcb& t, ipv4_addr la, uint16_t lp, ipv4_addr ra, uint16_t rp) noexcept {
    t.laddr = la;
    t.lport = lp;
    t.raddr = ra;
    t.rport = rp;
    t.iss = isn(t);
    t.snd_una = t.iss;
    t.snd_nxt = t.iss + 1;
    t.snd_max = t.snd_nxt;
    t.ts_offset = static_cast<uint32_t>(next_random());
    t.rcv_wscale = static_cast<uint8_t>(rcv_wscale);
    t.smss = default_peer_mss;
    t.rcv_mss = advertised_mss(ra);
    t.last_rx_us = now_us;
    table_insert(index_of(t));
  }

  // Applies the options of a SYN (or SYN-ACK) to the new connection.
  void negotiate(tcb& t, const segment& s, bool we_offered) noexcept {
    // RFC 7323 §2.2: both sides must send the option for scaling to be used.
    t.ws_ok = cfg.window_scaling && s.has_ws && we_offered;
    if (t.ws_ok) {
      t.snd_wscale = std::min<uint8_t>(s.ws, max_wscale);
    } else {
      t.snd_wscale = 0;
      t.rcv_wscale = 0;
    }
    // RFC 7323 §3.2: timestamps only when both SYNs carried them.
    t.ts_ok = cfg.timestamps && s.has_ts && we_offered;
    if (t.ts_ok) {
      t.ts_recent = s.tsval;
      t.ts_recent_us = now_us;
    }
    set_smss(t, s.has_mss ? s.mss : default_peer_mss);
    // RFC 5681 §3.1 / RFC 6928 §2: one segment of initial window when the SYN was resent.
    t.cc.reset(t.smss, t.iss, t.syn_retransmitted);
  }

  // ---- input (tcp_input.cpp) ----
  void input(ipv4_addr src, ipv4_addr dst, std::span<const std::byte> payload);
  bool parse(ipv4_addr src, ipv4_addr dst, std::span<const std::byte> payload, segment& s);
  void input_listen(listener_entry& l, int32_t li, const segment& s);
  void input_syn_sent(tcb& t, const segment& s);
  void input_synchronized(tcb& t, segment& s);
  bool process_ack(tcb& t, const segment& s);
  void process_data(tcb& t, segment& s);
  void process_fin(tcb& t);
  void deliver(tcb& t, std::span<const std::byte> data);
  void deliver_in_order(tcb& t, std::span<const std::byte> data);
  void became_established(tcb& t);
  void maybe_writable(tcb& t);

  // ---- timers (tcp_timers.cpp) ----
  void fire(uint32_t id);
  void on_main_timer(tcb& t);
};

}  // namespace smpp::net
