// The userspace TCP engine (RFC 9293), one instance per worker: no globals, no locks, no heap
// allocation per segment. Every connection, buffer and table is preallocated at construction
// and bounded by tcp_config; reaching a bound has one defined outcome, counted in tcp_counters.
//
// Use: input() each received TCP datagram, send()/close()/abort() from the layer above, then
// flush() once per burst (it writes the queued data and the coalesced ACKs of every touched
// connection), and timers(now_us) once per poll turn (it flushes too). Callbacks into
// tcp_handler come only from input(), flush(), timers() and pause_receive(); a handler may call
// any tcp_stack function from inside them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "smpp/net/ip.hpp"

namespace smpp::net {

// Slot index in the low 32 bits, generation (never 0) in the high 32 bits: a stale handle of a
// closed connection never reaches the connection that reuses its slot.
using tcp_conn = uint64_t;
inline constexpr tcp_conn invalid_tcp_conn = 0;

// Implemented by the transport above the stack.
class tcp_handler {
 public:
  virtual ~tcp_handler() = default;
  // A passive open completed (the three-way handshake is done).
  virtual void on_accept(tcp_conn c, uint16_t local_port, ipv4_addr remote_addr,
                         uint16_t remote_port) = 0;
  // An active open finished: err 0 connected, else ECONNREFUSED / ETIMEDOUT (the connection is
  // then gone; on_close does not follow).
  virtual void on_connect(tcp_conn c, int err) = 0;
  // In-order bytes, valid only during the call.
  virtual void on_data(tcp_conn c, std::span<const std::byte> data) = 0;
  // The send buffer has room again after send() accepted less than it was offered.
  virtual void on_writable(tcp_conn c) = 0;
  // The connection is over for the layer above: err 0 after the peer's FIN (all data was
  // delivered; the stack then closes its own side after the queued data) or after close()
  // completed; ECONNRESET, ETIMEDOUT otherwise. c is stale afterwards.
  virtual void on_close(tcp_conn c, int err) = 0;
};

struct tcp_config {
  uint32_t max_connections = 1024;  // preallocated; beyond it a SYN gets RST (counted)
  uint32_t max_listeners = 16;
  uint32_t send_buffer_bytes = 64 * 1024;     // per connection, a preallocated ring
  uint32_t receive_buffer_bytes = 64 * 1024;  // per connection: the advertised window
  uint32_t reassembly_segments = 64;          // out-of-order segments held per connection
  uint16_t mss = 1460;                        // at most; also bounded by the route's MTU
  bool window_scaling = true;                 // RFC 7323 §2
  bool timestamps = true;                     // RFC 7323 §3
  uint64_t msl_us = 30'000'000;               // TIME_WAIT lasts 2 * msl_us (RFC 9293 §3.4.2)
  uint64_t delayed_ack_us = 40'000;           // RFC 9293 §3.8.6.3: at most 500 ms
  uint32_t initial_rto_us = 1'000'000;        // RFC 6298 §2.1
  uint32_t min_rto_us = 200'000;              // RFC 6298 §2.4 says 1 s; LAN stacks use 200 ms
  uint32_t max_rto_us = 60'000'000;           // RFC 6298 §2.5
  uint32_t max_retransmits = 12;              // data or FIN, then the connection is aborted
  uint32_t syn_retries = 5;                   // SYN of an active open
  uint32_t synack_retries = 4;                // SYN-ACK of a passive open
  uint64_t fin_wait_2_timeout_us = 60'000'000;
  bool keepalive = false;  // RFC 9293 §3.8.4: off unless asked for
  uint64_t keepalive_idle_us = 7'200'000'000;
  uint64_t keepalive_interval_us = 75'000'000;
  uint32_t keepalive_probes = 9;
  uint32_t challenge_acks_per_s = 1000;  // RFC 5961 §7
  uint16_t ephemeral_port_min = 32768;
  uint16_t ephemeral_port_max = 60999;
  // Called at connect() time only: whether a candidate local port may be used (a DPDK port picks
  // ports whose RSS hash lands on this worker). Empty: every free port.
  std::function<bool(uint16_t)> local_port_ok;
  // The worker's monotonic clock when the stack is created (connect() before the first
  // input() or timers() counts from it).
  uint64_t start_us = 0;
  // Seeds the RFC 6528 ISN key, timestamp offsets and port choice; 0 takes std::random_device.
  uint64_t random_seed = 0;
};

struct tcp_counters {
  uint64_t segments_in = 0;
  uint64_t segments_out = 0;
  uint64_t bytes_in = 0;   // payload delivered in order
  uint64_t bytes_out = 0;  // payload sent, retransmissions included
  uint64_t retransmits = 0;
  uint64_t fast_retransmits = 0;
  uint64_t rto_expirations = 0;
  uint64_t syn_retransmits = 0;
  uint64_t window_probes = 0;
  uint64_t keepalive_probes = 0;
  uint64_t delayed_acks = 0;
  uint64_t out_of_order =
      0;  // segments held in the reassembly queue  // ACKs sent by the delayed-ACK timer
  uint64_t challenge_acks = 0;
  uint64_t challenge_acks_suppressed = 0;
  uint64_t rst_in = 0;
  uint64_t rst_out = 0;
  uint64_t active_opens = 0;
  uint64_t passive_opens = 0;
  uint64_t established = 0;
  uint64_t timeouts = 0;  // retransmission, SYN, keepalive or FIN_WAIT_2 time-outs
  // Drops, by reason.
  uint64_t drop_short = 0;  // shorter than a header, or data offset out of range
  uint64_t drop_checksum = 0;
  uint64_t drop_options = 0;        // truncated or malformed option
  uint64_t drop_bad_ports = 0;      // port 0
  uint64_t drop_no_socket = 0;      // no connection, no listener (answered with RST)
  uint64_t drop_out_of_window = 0;  // RFC 9293 §3.10.7.4 acceptability test failed
  uint64_t drop_paws = 0;           // RFC 7323 §5
  uint64_t drop_bad_ack = 0;        // RFC 5961 §5 or an unacceptable ACK in a handshake
  uint64_t drop_syn_backlog = 0;    // listener's SYN_RECEIVED backlog full
  uint64_t drop_table_full = 0;     // no free connection slot (answered with RST)
  uint64_t drop_reassembly = 0;     // out-of-order segment the reassembly queue refused
  uint64_t drop_no_buffer = 0;      // ip_output::alloc returned no buffer
  uint64_t drop_other = 0;          // e.g. no SYN/RST/ACK where one is required
};

enum class tcp_state : uint8_t {
  closed,
  listen,
  syn_sent,
  syn_received,
  established,
  fin_wait_1,
  fin_wait_2,
  close_wait,
  closing,
  last_ack,
  time_wait,
};
[[nodiscard]] const char* to_string(tcp_state s) noexcept;

struct tcp_conn_info {
  tcp_state state = tcp_state::closed;
  ipv4_addr local_addr = 0, remote_addr = 0;
  uint16_t local_port = 0, remote_port = 0;
  uint32_t send_queued = 0;     // octets in the send ring, unacknowledged included
  uint32_t receive_queued = 0;  // octets held while receive is paused
  uint32_t snd_una = 0, snd_nxt = 0, rcv_nxt = 0;
  uint32_t rcv_wnd = 0;    // the window last advertised (RCV.WND)
  uint32_t ts_recent = 0;  // RFC 7323 TS.Recent
  uint32_t snd_wnd = 0, cwnd = 0, ssthresh = 0;
  uint64_t rto_us = 0;
  uint16_t snd_mss = 0;
  uint8_t snd_wscale = 0, rcv_wscale = 0;
  bool timestamps = false;
};

class tcp_stack final : public ip_protocol {
 public:
  tcp_stack(ip_output& out, tcp_handler& handler, tcp_config cfg);
  ~tcp_stack() override;
  tcp_stack(const tcp_stack&) = delete;
  tcp_stack& operator=(const tcp_stack&) = delete;

  // ip_protocol: one received TCP segment (the IPv4 payload).
  void input(ipv4_addr src, ipv4_addr dst, std::span<const std::byte> payload,
             uint64_t now_us) override;

  // Passive open on local_addr (0: any local address). Returns the listener index, or -EADDRINUSE
  // / -ENOBUFS (max_listeners) / -EINVAL. backlog bounds the SYN_RECEIVED connections.
  [[nodiscard]] int listen(ipv4_addr local_addr, uint16_t port, uint32_t backlog);
  // Active open; completion arrives as on_connect. invalid_tcp_conn and err set (EADDRNOTAVAIL:
  // no local port the predicate accepts is free; ENOBUFS: connection table full).
  [[nodiscard]] tcp_conn connect(ipv4_addr local_addr, ipv4_addr remote_addr, uint16_t remote_port,
                                 int& err);
  // Copies up to data.size() octets into the send ring; returns how many (0 when c is stale,
  // not yet established, closing, or the ring is full). Sent at the next flush() (Nagle is off).
  [[nodiscard]] size_t send(tcp_conn c, std::span<const std::byte> data);
  // Octets send() would accept now.
  [[nodiscard]] size_t send_space(tcp_conn c) const noexcept;
  // FIN after the queued data (RFC 9293 §3.10.4); on_close follows when the close completes.
  void close(tcp_conn c);
  // RST now (RFC 9293 §3.10.5); the connection is gone at once, no on_close follows.
  void abort(tcp_conn c);
  // While paused, in-order data stays in the receive buffer and the window closes as it fills;
  // resuming delivers it and opens the window again.
  void pause_receive(tcp_conn c, bool paused);

  // Writes what send(), close() and input() left pending: data, FINs, coalesced ACKs.
  void flush();
  // Runs due timers (retransmission, delayed ACK, persist, keepalive, TIME_WAIT), then flush().
  void timers(uint64_t now_us);

  [[nodiscard]] const tcp_counters& counters() const noexcept;
  [[nodiscard]] uint32_t connections() const noexcept;  // slots in use, TIME_WAIT included
  [[nodiscard]] bool info(tcp_conn c, tcp_conn_info& out) const noexcept;

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace smpp::net
