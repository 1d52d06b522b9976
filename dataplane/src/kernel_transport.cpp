#include "smpp/dataplane/kernel_transport.hpp"

#include "smpp/dataplane/address.hpp"
#include "smpp/dataplane/bip_queue.hpp"
#include "smpp/dataplane/tls.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <climits>
#include <cstring>

namespace smpp::dataplane {
namespace {

constexpr uint32_t conn_events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
constexpr uint32_t input_events = EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR;

bool resolve(const endpoint& ep, sockaddr_storage& out, socklen_t& len) noexcept {
  return parse_sockaddr(ep.host == "localhost" ? "127.0.0.1" : ep.host, ep.port, out, len);
}

peer_address to_peer(const sockaddr_storage& sa) noexcept {
  peer_address p;
  p.family = sa.ss_family;
  if (sa.ss_family == AF_INET) {
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(sa);
    std::memcpy(p.addr, &v4.sin_addr, 4);
    p.port = ntohs(v4.sin_port);
  } else if (sa.ss_family == AF_INET6) {
    const auto& v6 = reinterpret_cast<const sockaddr_in6&>(sa);
    std::memcpy(p.addr, &v6.sin6_addr, 16);
    p.port = ntohs(v6.sin6_port);
  }
  return p;
}

int64_t now_ms() noexcept {
  timespec ts{};
  // Coarse is enough for linger deadlines and costs no more than a vDSO read.
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1'000'000;
}

void set_flag(int fd, int level, int name) noexcept {
  const int one = 1;
  (void)setsockopt(fd, level, name, &one, sizeof one);
}

// SO_LINGER 0: close() sends RST and frees the socket at once, no TIME_WAIT.
void close_abortive(int fd) noexcept {
  const linger l{1, 0};
  (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  ::close(fd);
}

// Everything queued in one gathering write: sendmsg() is writev() that cannot raise SIGPIPE.
ssize_t write_gathered(int fd, const bip_queue& q) noexcept {
  std::span<const std::byte> parts[2];
  iovec iov[2];
  const int count = q.gather(parts);
  for (int i = 0; i < count; ++i) {
    iov[i] = {const_cast<std::byte*>(parts[i].data()), parts[i].size()};
  }
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = static_cast<size_t>(count);
  return ::sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
}

enum class conn_state : uint8_t {
  free,
  connecting,
  open,
  handshaking,  // TLS: socket up, handshake running; the handler has not been told yet
  closing,      // close() called: flushing the queue
  lingering,    // FIN sent: waiting for the peer's, discarding input
  zombie,       // socket closed; on_close / on_connect owed from the next poll()
};

}  // namespace

struct kernel_transport::connection {
  int fd = -1;
  uint32_t generation = 1;
  conn_state state = conn_state::free;
  bool write_blocked = false;  // the socket took less than offered: wait for EPOLLOUT
  bool want_writable = false;  // send()/reserve() refused: on_writable owed below half
  bool in_dirty = false;
  bool in_backlog = false;
  bool peer_closed = false;     // EPOLLRDHUP or EOF seen
  bool read_paused = false;     // pause_read(): the socket is not read (back-pressure)
  bool zombie_connect = false;  // the owed notification is on_connect, not on_close
  int close_err = 0;
  uint64_t read_epoch = 0;
  int64_t deadline_ms = 0;
  bip_queue queue;
  std::unique_ptr<tls_state> tls;  // null: plain TCP
};

struct kernel_transport::listener {
  int fd = -1;
  uint16_t port = 0;
  bool in_backlog = false;
  std::shared_ptr<const tls_context> tls;
};

struct kernel_transport::tls_state {
  explicit tls_state(std::shared_ptr<const tls_context> ctx) : session(std::move(ctx)) {}
  tls_session session;
  peer_address peer;  // an accepted connection's, for on_accept after the handshake
  uint32_t listener = 0;
  bool outbound = false;
  bool want_output = false;  // the handshake stalled on a full output: resume once written
  int64_t deadline_ms = 0;
};

struct kernel_transport::deferred {
  conn_id id = invalid_conn;
  bool writable = false;  // on_writable; else the zombie's on_close / on_connect
};

kernel_transport::kernel_transport(transport_limits limits, kernel_transport_tuning tuning)
    : limits_(limits), tuning_(tuning) {
  limits_.recv_chunk_bytes = std::max<uint32_t>(limits_.recv_chunk_bytes, 1);
  tuning_.events_per_poll = std::max<uint32_t>(tuning_.events_per_poll, 1);
  tuning_.reads_per_poll = std::max<uint32_t>(tuning_.reads_per_poll, 1);
  tuning_.accepts_per_poll = std::max<uint32_t>(tuning_.accepts_per_poll, 1);
  tuning_.initial_send_queue_bytes =
      std::min(tuning_.initial_send_queue_bytes, limits_.max_send_queue_bytes);
  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epfd_ < 0) init_error_ = errno;
  // Everything a connection needs later is sized here, so the hot path never allocates.
  const size_t max = limits_.max_connections;
  slots_.reserve(max);
  free_slots_.reserve(max);
  for (auto* v : {&dirty_, &dirty_scratch_, &read_backlog_, &read_scratch_, &closing_}) {
    v->reserve(max);
  }
  deferred_.reserve(max);
  deferred_scratch_.reserve(max);
  events_ = std::make_unique<epoll_event[]>(tuning_.events_per_poll);
  rx_ = std::make_unique_for_overwrite<std::byte[]>(limits_.recv_chunk_bytes);
}

kernel_transport::~kernel_transport() {
  for (auto& k : slots_) {
    if (k.fd >= 0) ::close(k.fd);
  }
  for (auto& l : listeners_) ::close(l.fd);
  if (epfd_ >= 0) ::close(epfd_);
}

kernel_transport::connection* kernel_transport::lookup(conn_id c) noexcept {
  const uint32_t slot = conn_slot(c);
  if (slot >= slots_.size()) return nullptr;
  connection& k = slots_[slot];
  return k.generation == conn_generation(c) && k.state != conn_state::free ? &k : nullptr;
}

const kernel_transport::connection* kernel_transport::lookup(conn_id c) const noexcept {
  return const_cast<kernel_transport*>(this)->lookup(c);
}

int kernel_transport::listen(const endpoint& ep) {
  if (epfd_ < 0) return -init_error_;
  sockaddr_storage sa;
  socklen_t len = 0;
  if (!resolve(ep, sa, len)) return -EINVAL;
  const int fd = ::socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd < 0) return -errno;
  set_flag(fd, SOL_SOCKET, SO_REUSEADDR);
  const int one = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
      ::bind(fd, reinterpret_cast<const sockaddr*>(&sa), len) != 0 ||
      ::listen(fd, tuning_.listen_backlog) != 0) {
    const int err = errno;
    ::close(fd);
    return -err;
  }
  sockaddr_storage bound;
  socklen_t bound_len = sizeof bound;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_len) != 0) {
    const int err = errno;
    ::close(fd);
    return -err;
  }
  const auto index = static_cast<uint32_t>(listeners_.size());
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLET;
  ev.data.u64 = make_conn_id(index, 0);  // generation 0: a listener
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    const int err = errno;
    ::close(fd);
    return -err;
  }
  listeners_.push_back({fd, to_peer(bound).port, false, ep.tls});
  accept_backlog_.reserve(listeners_.size());
  accept_scratch_.reserve(listeners_.size());
  return static_cast<int>(index);
}

uint16_t kernel_transport::local_port(int index) const noexcept {
  if (index < 0 || static_cast<size_t>(index) >= listeners_.size()) return 0;
  return listeners_[static_cast<size_t>(index)].port;
}

conn_id kernel_transport::open_connection(int fd, bool connecting) {
  set_flag(fd, IPPROTO_TCP, TCP_NODELAY);
  uint32_t slot = 0;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else if (slots_.size() < limits_.max_connections) {
    slot = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
  } else {
    return invalid_conn;
  }
  connection& k = slots_[slot];
  const conn_id id = make_conn_id(slot, k.generation);
  epoll_event ev{};
  ev.events = conn_events;
  ev.data.u64 = id;
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    free_slots_.push_back(slot);
    return invalid_conn;
  }
  k.fd = fd;
  k.state = connecting ? conn_state::connecting : conn_state::open;
  k.queue.prepare(tuning_.initial_send_queue_bytes);
  ++live_;
  return id;
}

void kernel_transport::release(conn_id c) {
  connection& k = slots_[conn_slot(c)];
  assert(k.fd < 0);
  k.queue.release(tuning_.initial_send_queue_bytes);
  k.state = conn_state::free;
  k.write_blocked = k.want_writable = k.in_dirty = k.in_backlog = k.read_paused = false;
  k.peer_closed = k.zombie_connect = false;
  k.close_err = 0;
  k.tls.reset();
  k.generation = next_conn_generation(k.generation);
  free_slots_.push_back(conn_slot(c));
  --live_;
}

void kernel_transport::mark_dirty(conn_id c, connection& k) {
  if (k.in_dirty) return;
  k.in_dirty = true;
  dirty_.push_back(c);
}

// The socket is gone; the notification waits for the next poll().
void kernel_transport::make_zombie(conn_id c, connection& k, bool as_connect, int err) {
  assert(k.fd < 0);
  k.state = conn_state::zombie;
  k.zombie_connect = as_connect;
  k.close_err = err;
  k.queue.clear();
  deferred_.push_back({c, false});
}

// The transport found the connection over (EOF, error). Inside poll() and for a connection the
// handler has not closed itself, on_close is delivered now; otherwise from the next poll().
void kernel_transport::finish(conn_id c, connection& k, int err) {
  if (k.state == conn_state::handshaking) {
    tls_fail(c, k, err != 0 ? err : tls_handshake_error);
    return;
  }
  const bool closed_by_user = k.state == conn_state::closing || k.state == conn_state::lingering;
  ::close(k.fd);
  k.fd = -1;
  if (!in_poll_ || closed_by_user) {
    make_zombie(c, k, false, err);
    return;
  }
  k.state = conn_state::zombie;  // stale for every call the handler makes from on_close
  k.queue.clear();
  ++stats_.closed;
  handler_->on_close(c, err);
  release(c);
}

void kernel_transport::notify_writable(conn_id c) {
  if (in_poll_) {
    handler_->on_writable(c);
  } else {
    deferred_.push_back({c, true});
  }
}

// c when it may take octets: open (or on its way) and no reservation open.
kernel_transport::connection* kernel_transport::writable(conn_id c) noexcept {
  connection* k = lookup(c);
  if (k == nullptr || k->queue.reservation_open()) return nullptr;
  const bool ok = k->state == conn_state::open || k->state == conn_state::connecting ||
                  k->state == conn_state::handshaking;
  return ok ? k : nullptr;
}

bool kernel_transport::send(conn_id c, bytes_view data) {
  connection* k = writable(c);
  if (k == nullptr) return false;
  if (data.empty()) return true;
  const std::span<std::byte> room = k->queue.reserve(data.size(), limits_.max_send_queue_bytes);
  if (room.empty()) {
    ++stats_.send_refused;
    k->want_writable = data.size() <= limits_.max_send_queue_bytes;
    return false;
  }
  std::memcpy(room.data(), data.data(), data.size());
  k->queue.commit(data.size());
  mark_dirty(c, *k);
  return true;
}

std::span<std::byte> kernel_transport::reserve(conn_id c, size_t n) {
  connection* k = writable(c);
  if (k == nullptr || n == 0) return {};
  const std::span<std::byte> room = k->queue.reserve(n, limits_.max_send_queue_bytes);
  if (room.empty()) {
    ++stats_.send_refused;
    k->want_writable = n <= limits_.max_send_queue_bytes;
  }
  return room;
}

std::span<std::byte> kernel_transport::reserve_run(conn_id c, size_t min_n, size_t max_n) {
  connection* k = writable(c);
  if (k == nullptr || min_n == 0) return {};
  const std::span<std::byte> room =
      k->queue.reserve_run(min_n, max_n, limits_.max_send_queue_bytes);
  if (room.empty()) {
    ++stats_.send_refused;
    k->want_writable = min_n <= limits_.max_send_queue_bytes;
  }
  return room;
}

void kernel_transport::commit(conn_id c, size_t used) {
  connection* k = lookup(c);
  if (k == nullptr || !k->queue.reservation_open()) return;
  k->queue.commit(used);
  if (used > 0) mark_dirty(c, *k);
}

size_t kernel_transport::queued(conn_id c) const {
  const connection* k = lookup(c);
  if (k == nullptr) return 0;
  return k->tls == nullptr ? k->queue.size() : k->queue.size() + k->tls->session.output_pending();
}

void kernel_transport::pause_read(conn_id c, bool paused) {
  connection* k = lookup(c);
  if (k == nullptr || k->read_paused == paused) return;
  k->read_paused = paused;
  if (!paused && !k->in_backlog) {
    // Edge triggered: no new event announces octets that arrived while paused.
    k->in_backlog = true;
    read_backlog_.push_back(c);
  }
}

void kernel_transport::close(conn_id c, bool abort) {
  connection* k = lookup(c);
  if (k == nullptr) return;
  switch (k->state) {
    case conn_state::connecting:
      close_abortive(k->fd);
      k->fd = -1;
      ++stats_.connect_failures;
      make_zombie(c, *k, true, ECANCELED);
      return;
    case conn_state::handshaking:
      close_abortive(k->fd);
      k->fd = -1;
      if (k->tls->outbound) {
        ++stats_.connect_failures;
        make_zombie(c, *k, true, ECANCELED);
      } else {
        k->state = conn_state::zombie;  // never announced: nothing owed
        release(c);
      }
      return;
    case conn_state::open:
      if (!abort) {
        k->state = conn_state::closing;
        k->queue.cancel_reservation();
        k->deadline_ms = now_ms() + tuning_.close_linger_ms;
        closing_.push_back(c);
        mark_dirty(c, *k);  // the flush at the end of poll() moves it on, queue empty or not
        return;
      }
      [[fallthrough]];
    case conn_state::closing:
    case conn_state::lingering:
      if (abort) {
        close_abortive(k->fd);
        k->fd = -1;
        make_zombie(c, *k, false, 0);
      }
      return;
    case conn_state::free:
    case conn_state::zombie:
      return;
  }
}

int kernel_transport::poll(int timeout_us) {
  if (in_poll_ || epfd_ < 0) return 0;  // not re-entrant from a handler
  assert(handler_ != nullptr);
  in_poll_ = true;
  ++epoch_;
  int handled = deliver_deferred();
  int64_t wait_us = timeout_us;
  if (!closing_.empty()) {
    const int64_t next_ms = expire_closing();
    if (next_ms >= 0 && (wait_us < 0 || wait_us > next_ms * 1000)) wait_us = next_ms * 1000;
  }
  if (!handshaking_.empty()) {
    const int64_t next_ms = expire_handshakes();
    if (next_ms >= 0 && (wait_us < 0 || wait_us > next_ms * 1000)) wait_us = next_ms * 1000;
  }
  if (handled > 0 || !deferred_.empty() || !dirty_.empty() || !read_backlog_.empty() ||
      !accept_backlog_.empty()) {
    wait_us = 0;  // work is pending: do it rather than sleep
  }
  const int n = wait_events(wait_us);
  for (int i = 0; i < n; ++i) dispatch(events_[static_cast<size_t>(i)]);
  handled += std::max(n, 0);
  handled += serve_backlogs();
  flush_dirty();
  in_poll_ = false;
  return handled;
}

void kernel_transport::flush() {
  flush_dirty();
}

int kernel_transport::deliver_deferred() {
  if (deferred_.empty()) return 0;
  deferred_scratch_.swap(deferred_);
  int handled = 0;
  for (const deferred& d : deferred_scratch_) {
    connection* k = lookup(d.id);
    if (k == nullptr) continue;
    if (d.writable) {
      if (k->state == conn_state::open) {
        handler_->on_writable(d.id);
        ++handled;
      }
      continue;
    }
    if (k->state != conn_state::zombie) continue;
    if (k->zombie_connect) {
      handler_->on_connect(d.id, k->close_err);
    } else {
      ++stats_.closed;
      handler_->on_close(d.id, k->close_err);
    }
    release(d.id);
    ++handled;
  }
  deferred_scratch_.clear();
  return handled;
}

// Ends graceful closes past their deadline; returns the ms until the next deadline, or -1.
int64_t kernel_transport::expire_closing() {
  const int64_t now = now_ms();
  int64_t next = -1;
  size_t kept = 0;
  for (const conn_id c : closing_) {
    connection* k = lookup(c);
    if (k == nullptr || (k->state != conn_state::closing && k->state != conn_state::lingering)) {
      continue;
    }
    if (now < k->deadline_ms) {
      closing_[kept++] = c;
      const int64_t left = k->deadline_ms - now;
      if (next < 0 || left < next) next = left;
      continue;
    }
    ++stats_.close_timeouts;
    if (k->state == conn_state::closing) {
      // Queued octets could not be written: reset, and say the close did not complete.
      close_abortive(k->fd);
      k->fd = -1;
      make_zombie(c, *k, false, ETIMEDOUT);
    } else {
      // Everything was written and FIN sent; only the peer's FIN is missing. A plain close
      // lets the kernel finish delivery.
      ::close(k->fd);
      k->fd = -1;
      make_zombie(c, *k, false, 0);
    }
  }
  closing_.resize(kept);
  return next;
}

int kernel_transport::wait_events(int64_t timeout_us) {
  const int max_events = static_cast<int>(std::min<uint32_t>(tuning_.events_per_poll, INT_MAX));
#ifdef SYS_epoll_pwait2
  if (have_pwait2_) {
    timespec ts{};
    if (timeout_us >= 0) {
      ts.tv_sec = timeout_us / 1'000'000;
      ts.tv_nsec = (timeout_us % 1'000'000) * 1000;
    }
    const long n = syscall(SYS_epoll_pwait2, epfd_, events_.get(), max_events,
                           timeout_us >= 0 ? &ts : nullptr, nullptr, 0);
    if (n >= 0) return static_cast<int>(n);
    if (errno != ENOSYS) return 0;  // EINTR: nothing this time
    have_pwait2_ = false;
  }
#endif
  int timeout_ms = -1;
  if (timeout_us >= 0) {
    timeout_ms = static_cast<int>(std::min<int64_t>((timeout_us + 999) / 1000, INT_MAX));
  }
  const int n = epoll_wait(epfd_, events_.get(), max_events, timeout_ms);
  return n < 0 ? 0 : n;
}

void kernel_transport::dispatch(const epoll_event& ev) {
  // epoll user data carries the conn_id of a connection, or the index of a listener with a zero
  // generation, so an event can never be mistaken for the other kind or for a later connection.
  const conn_id tag = ev.data.u64;
  if (conn_generation(tag) == 0) {
    accept_ready(conn_slot(tag));
    return;
  }
  connection* k = lookup(tag);
  if (k == nullptr) return;  // stale: closed earlier in this batch
  switch (k->state) {
    case conn_state::connecting:
      connect_ready(tag, ev.events);
      return;
    case conn_state::open:
    case conn_state::handshaking:
    case conn_state::closing:
    case conn_state::lingering:
      if ((ev.events & EPOLLRDHUP) != 0) k->peer_closed = true;
      if ((ev.events & EPOLLOUT) != 0 && k->write_blocked) {
        k->write_blocked = false;
        mark_dirty(tag, *k);
      }
      if ((ev.events & input_events) != 0 && k->read_epoch != epoch_) read_ready(tag);
      return;
    case conn_state::free:
    case conn_state::zombie:
      return;
  }
}

void kernel_transport::accept_ready(uint32_t index) {
  for (uint32_t i = 0; i < tuning_.accepts_per_poll; ++i) {
    sockaddr_storage sa;
    socklen_t len = sizeof sa;
    const int fd = ::accept4(listeners_[index].fd, reinterpret_cast<sockaddr*>(&sa), &len,
                             SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) continue;
      // Out of descriptors or memory: the connection stays in the kernel's backlog; with an
      // edge-triggered listener nothing would say so again, so retry from the next poll().
      ++stats_.accept_errors;
      break;
    }
    if (live_ >= limits_.max_connections) {
      close_abortive(fd);
      ++stats_.rejected_over_limit;
      continue;
    }
    const conn_id c = open_connection(fd, false);
    if (c == invalid_conn) {
      ::close(fd);
      ++stats_.accept_errors;
      continue;
    }
    ++stats_.accepted;
    if (listeners_[index].tls != nullptr) {
      endpoint ep;
      ep.tls = listeners_[index].tls;
      connection& k = slots_[conn_slot(c)];
      if (start_tls(c, k, ep, false)) {
        k.tls->listener = index;
        k.tls->peer = to_peer(sa);
      }
      continue;
    }
    handler_->on_accept(c, index, to_peer(sa));
  }
  listener& l = listeners_[index];  // budget spent: more may wait behind the edge we consumed
  if (!l.in_backlog) {
    l.in_backlog = true;
    accept_backlog_.push_back(index);
  }
}

conn_id kernel_transport::connect(const endpoint& ep, int& err) {
  err = 0;
  if (epfd_ < 0) {
    err = init_error_;
    return invalid_conn;
  }
  sockaddr_storage sa;
  socklen_t len = 0;
  if (!resolve(ep, sa, len)) {
    err = EINVAL;
    return invalid_conn;
  }
  if (live_ >= limits_.max_connections) {
    err = EMFILE;
    return invalid_conn;
  }
  const int fd = ::socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd < 0) {
    err = errno;
    ++stats_.connect_failures;
    return invalid_conn;
  }
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&sa), len) != 0 && errno != EINPROGRESS) {
    err = errno;
    ::close(fd);
    ++stats_.connect_failures;
    return invalid_conn;
  }
  // Connected at once or not, completion is reported by EPOLLOUT from poll().
  const conn_id c = open_connection(fd, true);
  if (c == invalid_conn) {
    err = errno;  // from epoll_ctl: a slot is free whenever live_ < max_connections
    ::close(fd);
    ++stats_.connect_failures;
    return invalid_conn;
  }
  if (ep.tls != nullptr && !start_tls(c, slots_[conn_slot(c)], ep, true)) {
    err = ENOMEM;
    return invalid_conn;
  }
  ++stats_.connects;
  return c;
}

void kernel_transport::connect_ready(conn_id c, uint32_t events) {
  connection* k = lookup(c);
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(k->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  if (err == 0 && (events & EPOLLOUT) == 0) {
    if ((events & (EPOLLERR | EPOLLHUP)) == 0) return;  // not finished yet
    err = ECONNABORTED;
  }
  if (err != 0) {
    ::close(k->fd);
    k->fd = -1;
    k->state = conn_state::zombie;
    ++stats_.connect_failures;
    handler_->on_connect(c, err);
    release(c);
    return;
  }
  if (k->tls != nullptr) {
    // TCP is up; on_connect waits for the handshake, which starts with our ClientHello.
    k->state = conn_state::handshaking;
    k->tls->deadline_ms = now_ms() + tuning_.tls_handshake_ms;
    handshaking_.push_back(c);
    if (!tls_handshake(c, *k)) return;
    k = lookup(c);
    if (k == nullptr || k->state != conn_state::handshaking) return;
    if ((events & EPOLLRDHUP) != 0) k->peer_closed = true;
    if ((events & input_events) != 0) read_ready(c);
    return;
  }
  k->state = conn_state::open;
  handler_->on_connect(c, 0);
  k = lookup(c);
  if (k == nullptr || k->state != conn_state::open) return;  // closed from on_connect
  if (k->queue.size() > 0) mark_dirty(c, *k);
  if ((events & EPOLLRDHUP) != 0) k->peer_closed = true;
  if ((events & input_events) != 0) read_ready(c);
}

// Reads until the socket is drained or the budget is spent (then the connection is served again
// next poll: with edge triggering no new event would announce the octets left behind).
void kernel_transport::read_ready(conn_id c) {
  connection* k = lookup(c);
  if (k == nullptr || k->fd < 0) return;
  // Paused: the edge is consumed unread; pause_read(c, false) reads again (through the backlog).
  if (k->read_paused && k->state == conn_state::open) return;
  k->read_epoch = epoch_;
  const size_t chunk = limits_.recv_chunk_bytes;
  for (uint32_t reads = 0;; ++reads) {
    if (reads == tuning_.reads_per_poll) {
      ++stats_.read_deferrals;
      if (!k->in_backlog) {
        k->in_backlog = true;
        read_backlog_.push_back(c);
      }
      return;
    }
    const ssize_t n = ::recv(k->fd, rx_.get(), chunk, 0);
    if (n > 0) {
      ++stats_.reads;
      stats_.bytes_in += static_cast<uint64_t>(n);
      if (k->tls != nullptr) {
        if (!tls_input(c, bytes_view(rx_.get(), static_cast<size_t>(n)))) return;
        k = lookup(c);
      } else if (k->state == conn_state::open) {
        handler_->on_data(c, bytes_view(rx_.get(), static_cast<size_t>(n)));
        k = lookup(c);
        // Closed by the handler: the rest is discarded by the close path.
        if (k == nullptr || k->state != conn_state::open) return;
        if (k->read_paused) return;  // paused by the handler: resumed through the backlog
      }
      // A short read drained the socket: octets arriving later raise a new edge. After the
      // peer's FIN that edge has already been consumed, so read on until EOF.
      if (static_cast<size_t>(n) < chunk && !k->peer_closed) return;
      continue;
    }
    if (n == 0) {
      k->peer_closed = true;
      if (k->state == conn_state::closing) return;  // the flush finishes the close
      if (k->state == conn_state::open && k->tls != nullptr) {
        if (!write_tls(c, *k)) return;  // best effort, as below
      } else if (k->state == conn_state::open) {
        // Best effort for what the handler queued before the FIN arrived.
        if (k->queue.size() > 0) {
          ++stats_.writev_calls;
          const ssize_t w = write_gathered(k->fd, k->queue);
          if (w > 0) stats_.bytes_out += static_cast<uint64_t>(w);
        }
      }
      finish(c, *k, 0);
      return;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) return;
    if (errno == EINTR) continue;
    finish(c, *k, k->state == conn_state::lingering ? 0 : errno);
    return;
  }
}

int kernel_transport::serve_backlogs() {
  int handled = 0;
  if (!read_backlog_.empty()) {
    read_scratch_.swap(read_backlog_);
    for (const conn_id c : read_scratch_) {
      connection* k = lookup(c);
      if (k == nullptr || !k->in_backlog) continue;
      if (k->read_epoch == epoch_) {
        read_backlog_.push_back(c);  // read by an event this poll already: next poll
        continue;
      }
      k->in_backlog = false;
      if (k->state == conn_state::open || k->state == conn_state::handshaking ||
          k->state == conn_state::closing || k->state == conn_state::lingering) {
        read_ready(c);
        ++handled;
      }
    }
    read_scratch_.clear();
  }
  if (!accept_backlog_.empty()) {
    accept_scratch_.swap(accept_backlog_);
    for (const uint32_t index : accept_scratch_) {
      listeners_[index].in_backlog = false;
      accept_ready(index);
      ++handled;
    }
    accept_scratch_.clear();
  }
  return handled;
}

void kernel_transport::flush_dirty() {
  if (flushing_ || dirty_.empty()) return;  // a handler called flush() from inside a flush
  flushing_ = true;
  dirty_scratch_.swap(dirty_);
  for (const conn_id c : dirty_scratch_) {
    connection* k = lookup(c);
    if (k == nullptr || !k->in_dirty) continue;
    k->in_dirty = false;
    write_ready(c, *k);
  }
  dirty_scratch_.clear();
  flushing_ = false;
}

// One gathering write of everything queued; the kernel takes what fits.
void kernel_transport::write_ready(conn_id c, connection& k) {
  if (k.tls != nullptr) {
    write_tls(c, k);
    return;
  }
  if (k.state != conn_state::open && k.state != conn_state::closing) return;
  if (!k.write_blocked && k.queue.size() > 0) {
    ++stats_.writev_calls;
    const ssize_t n = write_gathered(k.fd, k.queue);
    if (n >= 0) {
      stats_.bytes_out += static_cast<uint64_t>(n);
      k.queue.consume(static_cast<size_t>(n));
      // A short write left the socket full and set SOCK_NOSPACE: EPOLLOUT follows when ACKs
      // free room, without an extra sendmsg() to collect EAGAIN.
      if (k.queue.size() > 0) k.write_blocked = true;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      k.write_blocked = true;
    } else if (errno == EINTR) {
      mark_dirty(c, k);
      return;
    } else {
      finish(c, k, errno);
      return;
    }
  }
  if (k.state == conn_state::open && k.want_writable &&
      k.queue.size() <= limits_.max_send_queue_bytes / 2) {
    k.want_writable = false;
    notify_writable(c);
    return;
  }
  if (k.state == conn_state::closing && k.queue.size() == 0) enter_lingering(c, k);
}

void kernel_transport::enter_lingering(conn_id c, connection& k) {
  // FIN goes out after everything the kernel still holds.
  (void)::shutdown(k.fd, SHUT_WR);
  k.state = conn_state::lingering;
  // Discard what arrived meanwhile, so that close() does not answer unread input with RST; EOF
  // may be there already (then read_ready reads on until it).
  read_ready(c);
}

// ---------------------------------------------------------------------------------------------
// TLS: a tls_session between the socket and the handler (tls.hpp).

bool kernel_transport::start_tls(conn_id c, connection& k, const endpoint& ep, bool outbound) {
  if (!tls_rx_) tls_rx_ = std::make_unique_for_overwrite<std::byte[]>(tls_session::max_write_bytes);
  k.tls = std::make_unique<tls_state>(ep.tls);
  if (!k.tls->session.valid()) {
    // Out of memory in OpenSSL: the connection goes as if never made.
    ++stats_.tls_handshake_failures;
    close_abortive(k.fd);
    k.fd = -1;
    k.state = conn_state::zombie;
    release(c);
    return false;
  }
  k.tls->outbound = outbound;
  if (!outbound) {
    // The peer speaks first (ClientHello); the handshake runs as its octets arrive.
    k.state = conn_state::handshaking;
    k.tls->deadline_ms = now_ms() + tuning_.tls_handshake_ms;
    handshaking_.push_back(c);
  }
  return true;
}

// One step of the handshake; on completion the handler hears of the connection. false: the
// connection failed and is gone (or owes on_connect from the next poll()).
bool kernel_transport::tls_handshake(conn_id c, connection& k) {
  tls_state& t = *k.tls;
  const tls_session::status st = t.session.handshake();
  if (t.session.output_pending() > 0) mark_dirty(c, k);
  switch (st) {
    case tls_session::status::ok:
      break;
    case tls_session::status::want_input:
      return true;
    case tls_session::status::want_output:
      t.want_output = true;
      mark_dirty(c, k);
      return true;
    case tls_session::status::rejected:
      ++stats_.tls_verify_failures;
      tls_fail(c, k, tls_verify_error);
      return false;
    case tls_session::status::closed:
    case tls_session::status::failed:
      tls_fail(c, k, tls_handshake_error);
      return false;
  }
  ++stats_.tls_handshakes;
  k.state = conn_state::open;
  if (k.queue.size() > 0) mark_dirty(c, k);  // queued while connecting
  if (t.outbound) {
    handler_->on_connect(c, 0);
  } else {
    handler_->on_accept(c, t.listener, t.peer);
  }
  return true;
}

// Ciphertext read from c, through the session; the plaintext goes to on_data record by record.
// false: stop reading (the connection failed, is gone, or the handler closed it).
bool kernel_transport::tls_input(conn_id c, bytes_view in) {
  connection* k = lookup(c);
  if (k->state != conn_state::open && k->state != conn_state::handshaking) {
    return true;  // closing or lingering: input is discarded, as without TLS
  }
  while (!in.empty()) {
    tls_session& s = k->tls->session;
    const size_t took = s.feed(in);
    in = in.subspan(took);
    bool progress = took > 0;
    if (k->state == conn_state::handshaking) {
      if (!tls_handshake(c, *k)) return false;
      k = lookup(c);
      if (k == nullptr) return false;
      if (k->state == conn_state::handshaking) {
        if (!progress) {
          tls_fail(c, *k, tls_handshake_error);  // a full input buffer the handshake cannot use
          return false;
        }
        continue;
      }
      if (k->state != conn_state::open) return false;  // closed from on_accept / on_connect
    }
    for (;;) {
      size_t n = 0;
      const tls_session::status st =
          k->tls->session.read({tls_rx_.get(), tls_session::max_write_bytes}, n);
      if (n > 0) {
        progress = true;
        handler_->on_data(c, bytes_view(tls_rx_.get(), n));
        k = lookup(c);
        if (k == nullptr || k->state != conn_state::open) return false;
        continue;
      }
      if (st == tls_session::status::want_input) break;
      if (st == tls_session::status::closed) {
        // close_notify (RFC 8446 §6.1): the end of the peer's data, like EOF.
        k->peer_closed = true;
        if (write_tls(c, *k)) finish(c, *k, 0);
        return false;
      }
      finish(c, *k, tls_handshake_error);
      return false;
    }
    if (k->tls->session.output_pending() > 0) mark_dirty(c, *k);  // e.g. a key update answer
    if (!progress) {
      finish(c, *k, tls_handshake_error);
      return false;
    }
  }
  return true;
}

// The session's output to the socket, then the plaintext queue through the session one record
// at a time until the socket is full or the queue empty; on a graceful close, close_notify after
// the last record. false: the connection was finished.
bool kernel_transport::write_tls(conn_id c, connection& k) {
  if (k.state != conn_state::open && k.state != conn_state::closing &&
      k.state != conn_state::handshaking) {
    return true;
  }
  tls_session& s = k.tls->session;
  for (;;) {
    const bytes_view out = s.output();
    if (!out.empty()) {
      if (k.write_blocked) break;
      ++stats_.writev_calls;
      const ssize_t n = ::send(k.fd, out.data(), out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        stats_.bytes_out += static_cast<uint64_t>(n);
        s.consume_output(static_cast<size_t>(n));
        if (static_cast<size_t>(n) < out.size()) {
          k.write_blocked = true;  // EPOLLOUT follows when the socket has room again
          break;
        }
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        k.write_blocked = true;
        break;
      }
      finish(c, k, n < 0 ? errno : EPIPE);
      return false;
    }
    if (k.state == conn_state::handshaking) {
      // Handlers run only inside poll(); a flush() from outside leaves the step to the next one.
      if (!k.tls->want_output || !in_poll_) break;
      k.tls->want_output = false;
      if (!tls_handshake(c, k)) return false;
      if (k.state != conn_state::handshaking && k.state != conn_state::open) return true;
      continue;
    }
    if (k.queue.size() > 0) {
      std::span<const std::byte> parts[2];
      (void)k.queue.gather(parts);
      size_t taken = 0;
      (void)s.write(parts[0], taken);
      if (taken == 0) {
        finish(c, k, tls_handshake_error);  // the session refused plaintext: it has failed
        return false;
      }
      k.queue.consume(taken);
      continue;
    }
    if (k.state == conn_state::closing && !s.shutdown_sent()) {
      s.shutdown();
      if (s.output_pending() > 0) continue;
    }
    break;
  }
  if (k.state == conn_state::open && k.want_writable &&
      k.queue.size() <= limits_.max_send_queue_bytes / 2) {
    k.want_writable = false;
    notify_writable(c);
    return true;
  }
  if (k.state == conn_state::closing && k.queue.size() == 0 && s.output_pending() == 0) {
    enter_lingering(c, k);
  }
  return true;
}

// A handshake that did not complete: the alert OpenSSL wrote gets one try, then the socket
// closes. An accepted connection goes without a word (the handler never heard of it); a connect
// reports err through on_connect.
void kernel_transport::tls_fail(conn_id c, connection& k, int err) {
  ++stats_.tls_handshake_failures;
  const bytes_view alert = k.tls->session.output();
  if (!alert.empty() && !k.write_blocked && k.fd >= 0) {
    (void)::send(k.fd, alert.data(), alert.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  }
  if (k.fd >= 0) ::close(k.fd);
  k.fd = -1;
  if (!k.tls->outbound) {
    k.state = conn_state::zombie;
    release(c);
    return;
  }
  ++stats_.connect_failures;
  if (!in_poll_) {
    make_zombie(c, k, true, err);
    return;
  }
  k.state = conn_state::zombie;
  k.queue.clear();
  handler_->on_connect(c, err);
  release(c);
}

// Ends handshakes past their deadline; returns the ms until the next deadline, or -1. Every
// handshake gets the same timeout, so the list is in deadline order and only its head is read.
int64_t kernel_transport::expire_handshakes() {
  const int64_t now = now_ms();
  while (handshaking_head_ < handshaking_.size()) {
    const conn_id c = handshaking_[handshaking_head_];
    connection* k = lookup(c);
    if (k != nullptr && k->state == conn_state::handshaking) {
      if (now < k->tls->deadline_ms) {
        if (handshaking_head_ >= 1024 && handshaking_head_ * 2 >= handshaking_.size()) {
          handshaking_.erase(handshaking_.begin(),
                             handshaking_.begin() + static_cast<std::ptrdiff_t>(handshaking_head_));
          handshaking_head_ = 0;
        }
        return k->tls->deadline_ms - now;
      }
      ++stats_.tls_handshake_timeouts;
      ++stats_.tls_handshake_failures;
      close_abortive(k->fd);
      k->fd = -1;
      if (k->tls->outbound) {
        ++stats_.connect_failures;
        make_zombie(c, *k, true, ETIMEDOUT);
      } else {
        k->state = conn_state::zombie;
        release(c);
      }
    }
    ++handshaking_head_;
  }
  handshaking_.clear();
  handshaking_head_ = 0;
  return -1;
}

}  // namespace smpp::dataplane
