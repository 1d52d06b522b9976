// The transport interface under the SMPP sessions: listen, connect, read and write in batches.
//
// One transport instance belongs to one worker thread and is never touched by another thread.
// Two implementations sit behind it: kernel sockets (epoll, the embedded default) and DPDK with
// the project's userspace TCP/IP stack. Sessions cannot tell which one they run on.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "smpp/codec/bytes.hpp"
#include "smpp/dataplane/conn_id.hpp"

namespace smpp::dataplane {

using codec::bytes_view;

class tls_context;  // tls.hpp

struct endpoint {
  std::string host;  // IPv4 or IPv6 literal, or "localhost"
  uint16_t port = 0;
  // Set: the connection runs TLS with this context (a server context for listen(), a client
  // one for connect()). The handler still sees plaintext only: on_accept / on_connect(c, 0)
  // come once the handshake is done, and a failed handshake is never announced as accepted
  // (connect: on_connect(c, tls_handshake_error or tls_verify_error)).
  std::shared_ptr<const tls_context> tls = nullptr;
  // Parses "HOST:PORT" or "[V6]:PORT"; false when malformed.
  [[nodiscard]] static bool parse(std::string_view text, endpoint& out);
  [[nodiscard]] std::string to_string() const;
};

// The remote side of an accepted connection, for source-network checks.
struct peer_address {
  int family = 0;           // AF_INET or AF_INET6
  std::byte addr[16] = {};  // network byte order (4 octets used for IPv4)
  uint16_t port = 0;
  [[nodiscard]] std::string to_string() const;
};

// Implemented by the layer above (the worker's sessions). Called only from transport::poll().
class transport_handler {
 public:
  virtual ~transport_handler() = default;
  // A listener accepted a connection.
  virtual void on_accept(conn_id c, uint32_t listener, const peer_address& peer) = 0;
  // An outbound connect finished: err == 0 connected, else the errno it failed with (the
  // connection is then already gone; on_close is not called for it).
  virtual void on_connect(conn_id c, int err) = 0;
  // Bytes arrived, valid only during the call; the handler takes all of them.
  virtual void on_data(conn_id c, bytes_view data) = 0;
  // The send queue drained below the low-water mark after send() had been refused.
  virtual void on_writable(conn_id c) = 0;
  // The connection is gone (peer closed, error, or after close()); c is stale afterwards.
  virtual void on_close(conn_id c, int err) = 0;
};

struct transport_limits {
  uint32_t max_connections = 65536;  // beyond: new connections are accepted and closed at once
  uint32_t max_send_queue_bytes = 1u << 20;  // per connection; send() refuses beyond it
  uint32_t recv_chunk_bytes = 64 * 1024;     // one read() at most
};

// What a transport on DPDK ports counted, every port together, for the router's exit report:
// connections, frames, TCP's recoveries and the faults injected in the port path.
struct port_counters {
  uint64_t accepted = 0;
  uint64_t connects = 0;
  uint64_t rx_frames = 0;
  uint64_t tx_frames = 0;
  uint64_t retransmits = 0;
  uint64_t fast_retransmits = 0;
  uint64_t out_of_order = 0;
  uint64_t rx_lost = 0, rx_duplicated = 0, rx_reordered = 0;
  uint64_t tx_lost = 0, tx_duplicated = 0, tx_reordered = 0;
};

class transport {
 public:
  virtual ~transport() = default;
  virtual void set_handler(transport_handler* h) noexcept = 0;

  // Starts listening (SO_REUSEPORT on the kernel transport, so every worker can listen on the
  // same port). Returns the listener index or a negative errno.
  [[nodiscard]] virtual int listen(const endpoint& ep) = 0;
  // Starts a non-blocking connect; completion arrives as on_connect. invalid_conn and err set
  // when it failed at once.
  [[nodiscard]] virtual conn_id connect(const endpoint& ep, int& err) = 0;

  // Queues bytes for c. false (nothing queued) when c is stale or the bytes would take the
  // queue beyond max_send_queue_bytes: back-pressure, the caller decides what to do.
  [[nodiscard]] virtual bool send(conn_id c, bytes_view data) = 0;
  // Zero-copy variant: a writable span of n octets at the tail of c's queue, or an empty span
  // under the same conditions as send(). commit() makes the first `used` octets of it part of
  // the queue; only one reservation per connection may be open.
  [[nodiscard]] virtual std::span<std::byte> reserve(conn_id c, size_t n) = 0;
  virtual void commit(conn_id c, size_t used) = 0;
  // reserve() for a run of writes to one connection: a writable span of at least min_n and at
  // most max_n octets (whatever the queue has free in one piece, within its bound), closed by
  // commit() as usual; empty under the same conditions as reserve(c, min_n). A writer that
  // appends many small PDUs pays one reservation per run instead of one per PDU. The default
  // reserves exactly min_n.
  [[nodiscard]] virtual std::span<std::byte> reserve_run(conn_id c, size_t min_n, size_t max_n) {
    (void)max_n;
    return reserve(c, min_n);
  }
  [[nodiscard]] virtual size_t queued(conn_id c) const = 0;

  // Stops (true) or resumes (false) reading from c: while paused no on_data arrives and the
  // peer is held back by TCP flow control (back-pressure). Octets already read are delivered
  // before the pause takes effect. A stale c is ignored.
  virtual void pause_read(conn_id c, bool paused) = 0;

  // Closes after the queued octets are written (or at once when abort is true); on_close
  // follows from a later poll().
  virtual void close(conn_id c, bool abort = false) = 0;

  // Waits up to timeout_us for events (0: do not wait), dispatches them to the handler, then
  // writes every connection's queued octets in batches. Returns the number of events handled.
  virtual int poll(int timeout_us) = 0;
  // Writes queued octets now (poll() does it too).
  virtual void flush() = 0;
  [[nodiscard]] virtual uint32_t connections() const noexcept = 0;

  // The last error in words, for a transport that keeps one (a refused listen() or connect());
  // empty otherwise.
  [[nodiscard]] virtual const std::string& last_error() const noexcept {
    static const std::string none;
    return none;
  }
  // Adds what this transport counted on DPDK ports to `sum`; nothing on a transport without.
  virtual void add_port_counters(port_counters& sum) const noexcept { (void)sum; }
};

}  // namespace smpp::dataplane
