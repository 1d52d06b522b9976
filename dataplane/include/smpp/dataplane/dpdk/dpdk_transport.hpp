// The transport interface over one DPDK queue pair and the project's userspace TCP/IP stack.
//
// One instance per worker thread: it owns a port_link on the worker's queue of a port, a
// net::stack (Ethernet, ARP, IPv4, ICMP) with the worker's IPv4 address, and a net::tcp_stack
// above it. Sessions see the same contracts as on kernel_transport (transport.hpp):
// - conn_id with a generation; on_accept with the peer's address; non-blocking connect with
//   on_connect(c, err) (ECONNREFUSED, ETIMEDOUT from TCP; ECANCELED when closed before done).
// - Each connection's bytes go first into TCP's send ring; what it cannot take waits in a
//   per-connection overflow queue, bounded so that TCP ring + overflow never exceed
//   max_send_queue_bytes; send() refuses beyond, and on_writable follows once the total fell
//   below half of the bound after a refusal.
// - close(): graceful (FIN after everything queued), on_close(c, 0) once TCP completed;
//   close(c, true): RST now, on_close(c, 0) from the next poll(). on_close exactly once.
// - poll(timeout_us): RX bursts -> stack, timers, overflow drained into TCP, TCP flushed, the
//   port flushed. With nothing to do and timeout_us > 0 it spins (a poll-mode driver) until
//   work arrives or the timeout passes; with config.idle_sleep_us set, an idle transport sleeps
//   in short steps instead (see there).
// On a port without hardware RSS, config.software_steering hands each received frame to the
// worker that owns its flow (steering.hpp).
// TLS is not supported on this transport: listen()/connect() with endpoint::tls set fail with
// -EPROTONOSUPPORT / EPROTONOSUPPORT.
//
// Single-threaded, no locks, no globals; everything is allocated at construction, nothing per
// message on the steady-state path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "smpp/dataplane/dpdk/fault.hpp"
#include "smpp/dataplane/dpdk/port.hpp"
#include "smpp/dataplane/dpdk/port_link.hpp"
#include "smpp/dataplane/dpdk/steering.hpp"
#include "smpp/dataplane/transport.hpp"
#include "smpp/net/arp.hpp"
#include "smpp/net/icmp.hpp"
#include "smpp/net/ip.hpp"
#include "smpp/net/link.hpp"
#include "smpp/net/stack.hpp"
#include "smpp/net/tcp.hpp"

namespace smpp::dataplane::dpdk {

struct dpdk_transport_config {
  // This worker's IPv4 address (host byte order), its prefix length and the default gateway
  // (0: only on-link destinations are reachable).
  net::ipv4_addr address = 0;
  uint8_t prefix_len = 24;
  net::ipv4_addr gateway = 0;
  // Neighbours whose link-layer address is fixed (never expire, never changed by the network).
  std::vector<std::pair<net::ipv4_addr, net::mac_addr>> static_arp;

  // The stack's limits. TCP's table (tcp.max_connections, preallocated with its buffers) also
  // holds TIME_WAIT connections: give it headroom above limits.max_connections, which bounds
  // the connections the transport hands to its handler. tcp.local_port_ok and tcp.start_us are
  // set by the transport (see steer_source_ports).
  net::tcp_config tcp;
  net::arp_config arp;
  net::icmp_config icmp;
  transport_limits limits;
  uint32_t listen_backlog = 128;  // SYN_RECEIVED connections per listener

  // Fault injection in the port path (fault_config::parse syntax, e.g.
  // "loss=0.01,dup=0.005,reorder=0.01,seed=7"), per direction; empty: off.
  std::string rx_faults;
  std::string tx_faults;

  // Outbound connections take a source port whose replies the port's RSS steers to this
  // worker's queue (rss_steering::source_port_lands_on) when the port hashes in hardware or
  // software_steering is set; otherwise every free port is used.
  bool steer_source_ports = true;

  // Software steering (steering.hpp) shared by the port's transports, one per queue, for a
  // port without hardware RSS: received frames another worker owns go to its ring, and each
  // poll() also takes the frames the others handed to this worker. It must have one worker per
  // port queue, be built on the port's rule (port::steering()), and outlive the transport.
  // nullptr: every frame received on this queue is handled here.
  steering* software_steering = nullptr;

  // RX bursts (32 frames each) per poll() at most; the rest waits for the next poll.
  uint32_t rx_bursts_per_poll = 8;
  // Bound on a graceful close: queue drained, FIN sent and the close completed; beyond it the
  // connection is reset and on_close reports ETIMEDOUT.
  uint32_t close_linger_ms = 5000;
  // Each connection's overflow queue starts this large (allocated once per slot, kept across
  // reuse) and doubles on demand up to limits.max_send_queue_bytes.
  uint32_t initial_send_queue_bytes = 16 * 1024;

  // Idle back-off, off by default (0: pure poll mode, the whole timeout of poll() spins). When
  // set, a poll(timeout_us > 0) of a transport that has received no frame, sent none and
  // delivered no event for idle_spin_us (counted across polls) sleeps in steps of at most
  // idle_sleep_us until work or the deadline, checking the port, the other workers' frames and
  // the timers between steps. The price: a frame arriving while it sleeps waits for the next
  // check, at most idle_sleep_us later (plus the kernel's timer slack, 50 us by default, and
  // the scheduler's wake-up), and timers (retransmission, delayed ACK, linger) fire up to as
  // late. For processes that share cores (tests, development, an idle router on a busy host);
  // poll(0) never sleeps.
  uint32_t idle_sleep_us = 0;
  uint32_t idle_spin_us = 200;
};

struct dpdk_transport_stats {
  uint64_t accepted = 0;
  uint64_t rejected_over_limit = 0;  // accepted by TCP and reset at once: max_connections
  uint64_t connects = 0;
  uint64_t connect_failures = 0;
  uint64_t closed = 0;  // on_close deliveries
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;       // octets handed to TCP's send ring
  uint64_t send_refused = 0;    // send()/reserve() refused: back-pressure
  uint64_t overflow_bytes = 0;  // octets that went through the overflow queue
  uint64_t rx_frames = 0;
  uint64_t rx_from_other_workers = 0;  // frames other workers' steering handed to this one
  uint64_t polls = 0;
  uint64_t idle_sleeps = 0;  // sleep steps of the idle back-off (config.idle_sleep_us)
};

class alignas(64) dpdk_transport final : public transport {
 public:
  // Builds the transport on queue `queue` of `p` (which must outlive it). nullptr with `error`
  // naming the bad value (address 0, prefix beyond 32, fault text, queue the port lacks).
  [[nodiscard]] static std::unique_ptr<dpdk_transport> create(const port& p, uint16_t queue,
                                                              dpdk_transport_config config,
                                                              std::string& error);
  ~dpdk_transport() override;
  dpdk_transport(const dpdk_transport&) = delete;
  dpdk_transport& operator=(const dpdk_transport&) = delete;

  void set_handler(transport_handler* h) noexcept override;
  // ep.host: one of our addresses, "0.0.0.0" or empty (any). Negative errno: -EPROTONOSUPPORT
  // (TLS), -EADDRNOTAVAIL (not our address), -EINVAL (malformed), -EADDRINUSE, -ENOBUFS.
  [[nodiscard]] int listen(const endpoint& ep) override;
  // ep.host must be an IPv4 literal. err: EPROTONOSUPPORT (TLS), EINVAL, EMFILE
  // (max_connections), EADDRNOTAVAIL (no usable source port), ENOBUFS (TCP table full).
  [[nodiscard]] conn_id connect(const endpoint& ep, int& err) override;
  // A connection may queue while its connect is in progress; the octets go out once connected.
  [[nodiscard]] bool send(conn_id c, bytes_view data) override;
  [[nodiscard]] std::span<std::byte> reserve(conn_id c, size_t n) override;
  [[nodiscard]] std::span<std::byte> reserve_run(conn_id c, size_t min_n, size_t max_n) override;
  void commit(conn_id c, size_t used) override;
  [[nodiscard]] size_t queued(conn_id c) const override;
  void pause_read(conn_id c, bool paused) override;
  void close(conn_id c, bool abort = false) override;
  int poll(int timeout_us) override;
  void flush() override;
  [[nodiscard]] uint32_t connections() const noexcept override;

  // The last error in words (set with every negative listen() / failed connect()).
  [[nodiscard]] const std::string& last_error() const noexcept override;
  void add_port_counters(port_counters& sum) const noexcept override;
  [[nodiscard]] const dpdk_transport_stats& stats() const noexcept;
  [[nodiscard]] const net::tcp_counters& tcp_counters() const noexcept;
  [[nodiscard]] net::stack_counters stack_counters() const noexcept;
  [[nodiscard]] const port_link_counters& link_counters() const noexcept;
  [[nodiscard]] const fault_counters& rx_faults() const noexcept;
  [[nodiscard]] const fault_counters& tx_faults() const noexcept;
  // TCP's view of c (state, sequence numbers, windows, timers); false when c is stale.
  [[nodiscard]] bool tcp_info(conn_id c, net::tcp_conn_info& out) const noexcept;
  [[nodiscard]] net::mac_addr mac() const noexcept;
  [[nodiscard]] net::ipv4_addr address() const noexcept;

  struct impl;

 private:
  explicit dpdk_transport(std::unique_ptr<impl> i) noexcept;
  std::unique_ptr<impl> impl_;
};

}  // namespace smpp::dataplane::dpdk
