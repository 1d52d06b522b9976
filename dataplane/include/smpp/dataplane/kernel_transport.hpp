// The kernel-socket transport: one edge-triggered epoll reactor per worker thread.
//
// Non-blocking TCP sockets (TCP_NODELAY), SO_REUSEPORT listeners so that every worker listens
// on the same port, and a bounded send queue per connection that poll() writes once, with one
// gathering write, after every handler has had its say. No globals, no locks: an instance
// belongs to the thread that polls it.
//
// Connection ends, each reported exactly once and only from poll():
// - accepted or connected, then over: on_close(c, err). Peer EOF gives err 0 (what is still
//   queued gets one last write attempt), a reset or socket error its errno, close() 0 (or
//   ETIMEDOUT when close_linger_ms passed before the queue was written).
// - connect failed or was closed before it finished: on_connect(c, errno), no on_close.
// Handlers run only from poll(): close() and flush() never call back. Destruction closes every
// socket without callbacks.
//
// TLS (endpoint::tls set on listen() or connect()): a tls_session per connection sits between
// the socket and the handler. The send queue holds plaintext, encrypted one record at a time when
// it is written; ciphertext read is decrypted before on_data. on_accept and on_connect(c, 0) come
// once the handshake is done; a failed or timed-out handshake closes the socket, is counted in
// the stats, and is reported only to a connect (on_connect with tls_handshake_error,
// tls_verify_error or ETIMEDOUT). Connections without TLS take one pointer test per read and
// per write, nothing else.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "smpp/dataplane/transport.hpp"

struct epoll_event;

namespace smpp::dataplane {

// Knobs of the kernel transport beyond transport_limits. The defaults suit a worker poll loop.
struct kernel_transport_tuning {
  uint32_t events_per_poll = 256;  // epoll_wait batch
  uint32_t accepts_per_poll = 64;  // per listener; the rest are accepted by the next poll
  uint32_t reads_per_poll = 4;     // per connection, recv_chunk_bytes each; the rest next poll
  uint32_t initial_send_queue_bytes = 16 * 1024;  // allocated at connection setup, doubles on
                                                  // demand up to max_send_queue_bytes
  uint32_t close_linger_ms = 5000;    // bound on a graceful close: flushing, then the peer's FIN
  uint32_t tls_handshake_ms = 10000;  // bound on a TLS handshake, from accept or connect
  int listen_backlog = 4096;
};

// Counters of one instance; read them from the owning thread (or copy them out through a ring).
struct kernel_transport_stats {
  uint64_t accepted = 0;
  uint64_t rejected_over_limit = 0;  // accepted and closed at once: max_connections reached
  uint64_t accept_errors = 0;        // accept4() failures other than EAGAIN (EMFILE, ENOBUFS...)
  uint64_t connects = 0;             // connect() calls that started
  uint64_t connect_failures = 0;     // failed at once or through on_connect
  uint64_t closed = 0;               // on_close deliveries
  uint64_t close_timeouts = 0;       // graceful closes cut short by close_linger_ms
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  uint64_t reads = 0;                   // recv() calls that returned data
  uint64_t read_deferrals = 0;          // reads_per_poll spent with data left: served next poll
  uint64_t writev_calls = 0;            // gathering writes (sendmsg with MSG_NOSIGNAL)
  uint64_t send_refused = 0;            // send()/reserve() refused: back-pressure
  uint64_t tls_handshakes = 0;          // TLS handshakes completed
  uint64_t tls_handshake_failures = 0;  // failed (no TLS peer, alert, EOF, refused certificate)
  uint64_t tls_verify_failures = 0;     // of those: the server's certificate was refused
  uint64_t tls_handshake_timeouts = 0;  // not done within tls_handshake_ms
};

class alignas(64) kernel_transport final : public transport {
 public:
  explicit kernel_transport(transport_limits limits = {}, kernel_transport_tuning tuning = {});
  ~kernel_transport() override;
  kernel_transport(const kernel_transport&) = delete;
  kernel_transport& operator=(const kernel_transport&) = delete;

  void set_handler(transport_handler* h) noexcept override { handler_ = h; }
  // ep.port may be 0 for an ephemeral port (see local_port()). "localhost" means 127.0.0.1;
  // no name resolution happens here.
  [[nodiscard]] int listen(const endpoint& ep) override;
  // err is EMFILE when max_connections connections are already open.
  [[nodiscard]] conn_id connect(const endpoint& ep, int& err) override;
  // A connection may queue while its connect is in progress; the octets go out once connected.
  // A send larger than max_send_queue_bytes can never succeed and does not arm on_writable.
  [[nodiscard]] bool send(conn_id c, bytes_view data) override;
  [[nodiscard]] std::span<std::byte> reserve(conn_id c, size_t n) override;
  [[nodiscard]] std::span<std::byte> reserve_run(conn_id c, size_t min_n, size_t max_n) override;
  void commit(conn_id c, size_t used) override;
  [[nodiscard]] size_t queued(conn_id c) const override;
  // While paused the socket is not read: the kernel's receive buffer fills and its window holds
  // the peer back. Octets that arrived meanwhile are read by the next poll() after resuming.
  void pause_read(conn_id c, bool paused) override;
  // Without abort, graceful: later on_data is not delivered; the queue is flushed, FIN sent, the
  // peer's FIN awaited (input discarded), all within close_linger_ms, else the connection is
  // reset and on_close reports ETIMEDOUT. Closing a connect still in progress reports
  // on_connect(c, ECANCELED) instead of on_close.
  void close(conn_id c, bool abort = false) override;
  // timeout_us < 0 waits without bound. Never waits while work is pending (notifications,
  // unwritten queues, connections or listeners with unread input left by a spent budget).
  int poll(int timeout_us) override;
  void flush() override;
  [[nodiscard]] uint32_t connections() const noexcept override { return live_; }

  // The port a listener is bound to (useful after listening on port 0); 0 for a bad index.
  [[nodiscard]] uint16_t local_port(int listener) const noexcept;
  [[nodiscard]] const kernel_transport_stats& stats() const noexcept { return stats_; }
  // errno of a failed epoll_create1() in the constructor (every call then fails), else 0.
  [[nodiscard]] int error() const noexcept { return init_error_; }

 private:
  struct connection;
  struct listener;
  struct deferred;
  struct tls_state;

  [[nodiscard]] connection* lookup(conn_id c) noexcept;
  [[nodiscard]] const connection* lookup(conn_id c) const noexcept;
  [[nodiscard]] connection* writable(conn_id c) noexcept;
  [[nodiscard]] conn_id open_connection(int fd, bool connecting);
  void release(conn_id c);
  void mark_dirty(conn_id c, connection& k);
  void make_zombie(conn_id c, connection& k, bool as_connect, int err);
  void finish(conn_id c, connection& k, int err);
  void notify_writable(conn_id c);
  int deliver_deferred();
  int64_t expire_closing();
  int wait_events(int64_t timeout_us);
  void dispatch(const epoll_event& ev);
  void accept_ready(uint32_t index);
  void connect_ready(conn_id c, uint32_t events);
  void read_ready(conn_id c);
  void write_ready(conn_id c, connection& k);
  void enter_lingering(conn_id c, connection& k);
  int serve_backlogs();
  void flush_dirty();
  // TLS (kernel_transport.cpp, "TLS" section).
  [[nodiscard]] bool start_tls(conn_id c, connection& k, const endpoint& ep, bool outbound);
  [[nodiscard]] bool tls_handshake(conn_id c, connection& k);
  [[nodiscard]] bool tls_input(conn_id c, bytes_view ciphertext);
  bool write_tls(conn_id c, connection& k);
  void tls_fail(conn_id c, connection& k, int err);
  int64_t expire_handshakes();

  transport_handler* handler_ = nullptr;
  transport_limits limits_;
  kernel_transport_tuning tuning_;
  int epfd_ = -1;
  int init_error_ = 0;
  bool in_poll_ = false;
  bool flushing_ = false;
  bool have_pwait2_ = true;
  uint32_t live_ = 0;
  uint64_t epoch_ = 0;  // poll count: a connection read this poll is not read again from backlog
  kernel_transport_stats stats_;

  std::vector<connection> slots_;  // reserved at max_connections: never reallocates
  std::vector<uint32_t> free_slots_;
  std::vector<listener> listeners_;
  std::vector<conn_id> dirty_, dirty_scratch_;        // queues to write at the end of poll()
  std::vector<conn_id> read_backlog_, read_scratch_;  // unread input after a spent budget
  std::vector<uint32_t> accept_backlog_, accept_scratch_;
  std::vector<deferred> deferred_, deferred_scratch_;  // notifications for the next poll()
  std::vector<conn_id> closing_;                       // graceful closes under a deadline
  std::unique_ptr<epoll_event[]> events_;
  std::unique_ptr<std::byte[]> rx_;      // one receive buffer: on_data's span lives for the call
  std::unique_ptr<std::byte[]> tls_rx_;  // decrypted records; allocated with the first TLS use
  std::vector<conn_id> handshaking_;     // TLS handshakes in deadline order (one timeout for all)
  size_t handshaking_head_ = 0;          // entries before it are done
};

}  // namespace smpp::dataplane
