// Private to the TCP engine: the connection block, the stack's state and the helpers its
// input, output and timer halves share.
#pragma once

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "smpp/dataplane/net/tcp.hpp"
#include "smpp/dataplane/net/tcp_cc.hpp"
#include "smpp/dataplane/net/tcp_reassembly.hpp"
#include "smpp/dataplane/net/tcp_seq.hpp"
#include "smpp/dataplane/net/timer_wheel.hpp"

namespace smpp::dataplane::net::tcp_detail {

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
  uint32_t retries = 0;  // consecutive expiries of the main timer
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

}  // namespace smpp::dataplane::net::tcp_detail
