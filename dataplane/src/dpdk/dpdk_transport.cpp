#include "smpp/dataplane/dpdk/dpdk_transport.hpp"

#include <arpa/inet.h>
#include <rte_cycles.h>
#include <rte_pause.h>
#include <sys/socket.h>
#include <time.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "smpp/dataplane/address.hpp"
#include "smpp/dataplane/bip_queue.hpp"
#include "smpp/dataplane/dpdk/mbuf_sync.hpp"

namespace smpp::dataplane::dpdk {

namespace {

enum class conn_state : uint8_t {
  free,
  connecting,  // active open under way
  open,
  closing,  // close() asked: overflow drained, then FIN, then TCP's on_close
  zombie,   // gone; on_close / on_connect owed from the next poll()
};

// An IPv4 literal in host byte order; false for anything else (names are not resolved here).
bool parse_ipv4(const std::string& host, net::ipv4_addr& out) {
  const auto a = dataplane::parse_ipv4(host);
  if (a) out = *a;
  return a.has_value();
}

std::string ipv4_text(net::ipv4_addr a) {
  return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 0xff) + "." +
         std::to_string((a >> 8) & 0xff) + "." + std::to_string(a & 0xff);
}

}  // namespace

struct dpdk_transport::impl final : net::tcp_handler {
  struct connection {
    bip_queue q;  // the overflow queue above TCP's send ring
    net::tcp_conn tcp = net::invalid_tcp_conn;
    uint64_t linger_until_us = 0;
    uint32_t gen = 1;
    int owed_err = 0;
    conn_state state = conn_state::free;
    bool owes_connect = false;   // zombie: the notification owed is on_connect
    bool want_writable = false;  // send()/reserve() refused: on_writable owed below half
    bool in_backlog = false;     // on backlog_: overflow to drain or on_writable to decide
    bool fin_sent = false;       // closing: tcp.close() called
    bool read_paused = false;
    bool in_resume = false;
    bool in_closing = false;
  };
  struct deferred {
    conn_id c;
  };

  impl(const port& p, uint16_t queue, dpdk_transport_config cfg, const fault_config& rx,
       const fault_config& tx, net::stack_config sc, net::tcp_config tc)
      : config(std::move(cfg)),
        link(p, queue, rx, tx),
        stack(link, std::move(sc)),
        tcp(stack.ip(), *this, steered(std::move(tc), p, queue)) {
    stack.register_protocol(net::ip_proto_tcp, tcp);
    const uint32_t max = config.limits.max_connections;
    slots.resize(max);
    free_slots.reserve(max);
    for (uint32_t i = max; i > 0; --i) free_slots.push_back(i - 1);
    tcp_to_slot.assign(config.tcp.max_connections, 0);
    deferred_list.reserve(max);
    deferred_scratch.reserve(max);
    backlog.reserve(max);
    backlog_scratch.reserve(max);
    resume.reserve(max);
    resume_scratch.reserve(max);
    closing.reserve(max);
    listeners.reserve(config.tcp.max_listeners);
  }

  // With RSS over several queues (the device's, or software steering's same hash), outbound
  // connections take only source ports whose replies land on this queue (the remote end is the
  // connect() in progress).
  net::tcp_config steered(net::tcp_config tc, const port& p, uint16_t queue) {
    const bool hashed = p.hardware_rss() || config.software_steering != nullptr;
    if (config.steer_source_ports && hashed && p.queues() > 1) {
      const rss_steering* steering =
          config.software_steering != nullptr ? &config.software_steering->rule() : &p.steering();
      tc.local_port_ok = [this, steering, queue](uint16_t candidate) {
        return steering->source_port_lands_on(queue, config.address, connect_remote,
                                              connect_remote_port, candidate);
      };
    }
    return tc;
  }

  [[nodiscard]] uint64_t now_us() const noexcept {
    // Split so cycles * 10^6 cannot overflow on a long-running TSC.
    const uint64_t c = rte_get_timer_cycles();
    return c / timer_hz * 1'000'000 + c % timer_hz * 1'000'000 / timer_hz;
  }

  connection* lookup(conn_id c) noexcept {
    const uint32_t s = conn_slot(c);
    if (c == invalid_conn || s >= slots.size()) return nullptr;
    connection& k = slots[s];
    if (k.gen != conn_generation(c) || k.state == conn_state::free ||
        k.state == conn_state::zombie) {
      return nullptr;
    }
    return &k;
  }
  const connection* lookup(conn_id c) const noexcept { return const_cast<impl*>(this)->lookup(c); }
  // The transport's connection for a TCP handle, or invalid_conn.
  conn_id of_tcp(net::tcp_conn tc) const noexcept {
    const uint32_t ti = static_cast<uint32_t>(tc);
    if (ti >= tcp_to_slot.size() || tcp_to_slot[ti] == 0) return invalid_conn;
    const uint32_t s = tcp_to_slot[ti] - 1;
    const connection& k = slots[s];
    if (k.tcp != tc) return invalid_conn;
    return make_conn_id(s, k.gen);
  }

  conn_id open_slot(net::tcp_conn tc, conn_state state) {
    const uint32_t s = free_slots.back();
    free_slots.pop_back();
    connection& k = slots[s];
    k.q.prepare(config.initial_send_queue_bytes);
    k.tcp = tc;
    k.state = state;
    k.owed_err = 0;
    k.owes_connect = k.want_writable = k.in_backlog = k.fin_sent = false;
    k.read_paused = k.in_resume = k.in_closing = false;
    tcp_to_slot[static_cast<uint32_t>(tc)] = s + 1;
    ++live;
    return make_conn_id(s, k.gen);
  }
  // Leaves the live set: the TCP handle is forgotten, the overflow dropped.
  void detach(connection& k) noexcept {
    const uint32_t ti = static_cast<uint32_t>(k.tcp);
    if (ti < tcp_to_slot.size() && tcp_to_slot[ti] != 0 &&
        slots[tcp_to_slot[ti] - 1].tcp == k.tcp) {
      tcp_to_slot[ti] = 0;
    }
    k.tcp = net::invalid_tcp_conn;
    k.q.cancel_reservation();
    k.q.clear();
    --live;
  }
  void free_slot(conn_id c) {
    connection& k = slots[conn_slot(c)];
    k.q.release(config.initial_send_queue_bytes);
    k.state = conn_state::free;
    k.gen = next_conn_generation(k.gen);
    free_slots.push_back(conn_slot(c));
  }
  // The connection is gone; its notification comes from the next poll() (never from inside a
  // call the handler made).
  void make_zombie(conn_id c, connection& k, bool as_connect, int err) {
    detach(k);
    k.state = conn_state::zombie;
    k.owes_connect = as_connect;
    k.owed_err = err;
    deferred_list.push_back({c});
  }
  // The connection ended inside poll(): the handler hears of it now.
  void finish(conn_id c, connection& k, int err) {
    detach(k);
    k.state = conn_state::zombie;  // stale for every call the handler makes from on_close
    ++stats.closed;
    ++events;
    if (handler != nullptr) handler->on_close(c, err);
    free_slot(c);
  }

  void mark_backlog(conn_id c, connection& k) {
    if (k.in_backlog) return;
    k.in_backlog = true;
    backlog.push_back(c);
  }

  // Moves overflow octets into TCP's send ring while it takes them.
  void drain(connection& k) {
    std::span<const std::byte> parts[2];
    const int n = k.q.gather(parts);
    size_t moved = 0;
    for (int i = 0; i < n; ++i) {
      const size_t took = tcp.send(k.tcp, parts[i]);
      moved += took;
      if (took < parts[i].size()) break;
    }
    if (moved > 0) {
      k.q.consume(moved);
      stats.bytes_out += moved;
    }
  }

  // Drains every backlogged connection, sends the FIN of graceful closes whose queue is empty,
  // and tells handlers that were refused once their queue fell to half the bound.
  void serve_backlog(bool notify) {
    if (backlog.empty()) return;
    backlog_scratch.swap(backlog);
    for (const conn_id c : backlog_scratch) {
      connection* k = lookup(c);
      if (k == nullptr) continue;
      k->in_backlog = false;
      if (k->state == conn_state::connecting) {
        mark_backlog(c, *k);  // drained once connected
        continue;
      }
      if (k->q.size() > 0) drain(*k);
      if (k->state == conn_state::closing) {
        if (k->q.size() == 0 && !k->q.reservation_open()) {
          if (!k->fin_sent) {
            k->fin_sent = true;
            tcp.close(k->tcp);  // RFC 9293 §3.10.4: FIN after every queued octet
          }
        } else {
          mark_backlog(c, *k);
        }
        continue;
      }
      if (k->want_writable && k->q.size() <= config.limits.max_send_queue_bytes / 2) {
        if (notify) {
          k->want_writable = false;
          ++events;
          if (handler != nullptr) handler->on_writable(c);
          k = lookup(c);  // the handler may have closed it
          if (k == nullptr) continue;
        }
      }
      if ((k->q.size() > 0 || k->want_writable) && !k->in_backlog) mark_backlog(c, *k);
    }
    backlog_scratch.clear();
  }

  int deliver_deferred() {
    if (deferred_list.empty()) return 0;
    deferred_scratch.swap(deferred_list);
    int n = 0;
    for (const deferred& d : deferred_scratch) {
      connection& k = slots[conn_slot(d.c)];
      if (k.state != conn_state::zombie || k.gen != conn_generation(d.c)) continue;
      ++n;
      if (k.owes_connect) {
        ++stats.connect_failures;
        free_slot(d.c);
        if (handler != nullptr) handler->on_connect(d.c, k.owed_err);
      } else {
        ++stats.closed;
        free_slot(d.c);
        if (handler != nullptr) handler->on_close(d.c, k.owed_err);
      }
    }
    deferred_scratch.clear();
    return n;
  }

  void resume_reads() {
    if (resume.empty()) return;
    resume_scratch.swap(resume);
    for (const conn_id c : resume_scratch) {
      connection* k = lookup(c);
      if (k == nullptr) continue;
      k->in_resume = false;
      if (!k->read_paused) tcp.pause_receive(k->tcp, false);  // held octets arrive as on_data
    }
    resume_scratch.clear();
  }

  void expire_closing(uint64_t now) {
    for (size_t i = 0; i < closing.size();) {
      const conn_id c = closing[i];
      connection* k = lookup(c);
      if (k == nullptr || k->state != conn_state::closing) {
        if (k != nullptr) k->in_closing = false;
        closing[i] = closing.back();
        closing.pop_back();
        continue;
      }
      if (now >= k->linger_until_us) {
        closing[i] = closing.back();
        closing.pop_back();
        k->in_closing = false;
        tcp.abort(k->tcp);  // RFC 9293 §3.10.5: RST, the connection is gone at once
        finish(c, *k, ETIMEDOUT);
        continue;
      }
      ++i;
    }
  }

  // ---- tcp_handler ----

  void on_accept(net::tcp_conn tc, uint16_t local_port, net::ipv4_addr remote_addr,
                 uint16_t remote_port) override {
    uint32_t index = UINT32_MAX;
    for (size_t i = 0; i < listeners.size(); ++i) {
      if (listeners[i] == local_port) index = static_cast<uint32_t>(i);
    }
    // Slots of connections whose on_close is still owed count too: the bound holds either way.
    if (index == UINT32_MAX || live >= config.limits.max_connections || free_slots.empty()) {
      ++stats.rejected_over_limit;
      tcp.abort(tc);  // accepted and reset at once, as the kernel transport does
      return;
    }
    const conn_id c = open_slot(tc, conn_state::open);
    ++stats.accepted;
    ++events;
    peer_address peer;
    peer.family = AF_INET;
    const uint32_t be = htonl(remote_addr);
    std::memcpy(peer.addr, &be, 4);
    peer.port = remote_port;
    if (handler != nullptr) handler->on_accept(c, index, peer);
  }

  void on_connect(net::tcp_conn tc, int err) override {
    const conn_id c = of_tcp(tc);
    connection* k = lookup(c);
    if (k == nullptr) return;
    ++events;
    if (err != 0) {
      detach(*k);
      k->state = conn_state::zombie;
      ++stats.connect_failures;
      free_slot(c);
      if (handler != nullptr) handler->on_connect(c, err);
      return;
    }
    k->state = conn_state::open;
    if (k->read_paused) tcp.pause_receive(tc, true);  // asked for while connecting
    if (k->q.size() > 0) {
      drain(*k);  // octets queued while connecting
      if (k->q.size() > 0) mark_backlog(c, *k);
    }
    if (handler != nullptr) handler->on_connect(c, 0);
  }

  void on_data(net::tcp_conn tc, std::span<const std::byte> data) override {
    const conn_id c = of_tcp(tc);
    connection* k = lookup(c);
    if (k == nullptr || k->state != conn_state::open) return;  // after close(): discarded
    ++events;
    stats.bytes_in += data.size();
    if (handler != nullptr) handler->on_data(c, bytes_view(data.data(), data.size()));
  }

  void on_writable(net::tcp_conn tc) override {
    const conn_id c = of_tcp(tc);
    connection* k = lookup(c);
    if (k == nullptr) return;
    if (k->q.size() > 0 || k->want_writable || k->state == conn_state::closing) {
      mark_backlog(c, *k);
    }
  }

  void on_close(net::tcp_conn tc, int err) override {
    const conn_id c = of_tcp(tc);
    connection* k = lookup(c);
    if (k == nullptr) return;
    if (in_poll) {
      finish(c, *k, err);
    } else {
      make_zombie(c, *k, false, err);  // delivered by the next poll()
    }
  }

  // A frame received on our queue, with software steering: kept, handed to its owner, or kept
  // and copied to every other worker (steering.hpp has the rule).
  void receive_steered(rte_mbuf* mb, uint64_t now) {
    const std::span<const std::byte> f(rte_pktmbuf_mtod(mb, const std::byte*), mb->data_len);
    const uint16_t self = link.queue();
    const steering::verdict v = config.software_steering->classify(self, f);
    switch (v.what) {
      case steering::action::owner:
        config.software_steering->hand_over(self, v.owner, mb);
        return;
      case steering::action::everyone:
        config.software_steering->copy_to_others(self, mb);
        break;
      case steering::action::here:
        break;
    }
    config.software_steering->note_handled_here(self);
    stack.input(f, now);
    mbuf_free(mb);
  }
  // Frames other workers handed to us: bursts of 32, at most rx_bursts_per_poll. Returns how
  // many.
  uint32_t receive_from_other_workers(uint64_t now) {
    uint32_t frames = 0;
    std::array<rte_mbuf*, port_link::burst> in;
    for (uint32_t b = 0; b < config.rx_bursts_per_poll; ++b) {
      const size_t got = config.software_steering->drain(link.queue(), in);
      for (size_t i = 0; i < got; ++i) {
        stack.input(
            std::span<const std::byte>(rte_pktmbuf_mtod(in[i], const std::byte*), in[i]->data_len),
            now);
        mbuf_free(in[i]);
      }
      frames += static_cast<uint32_t>(got);
      if (got < in.size()) break;
    }
    stats.rx_from_other_workers += frames;
    return frames;
  }

  // One idle step of poll() with the back-off on (config.idle_sleep_us > 0): spins while the
  // transport saw work within idle_spin_us, else sleeps one step, never past the deadline.
  void idle_wait(uint64_t now, uint64_t deadline) noexcept {
    const uint64_t tx = link.counters().tx_frames;
    if (tx != idle_tx_mark) {  // a frame sent (timers, flushed sends) is work too
      idle_tx_mark = tx;
      last_work_us = now;
    }
    if (now - last_work_us < config.idle_spin_us) {
      rte_pause();
      return;
    }
    const uint64_t step_us = std::min<uint64_t>(config.idle_sleep_us, deadline - now);
    const timespec ts{static_cast<time_t>(step_us / 1'000'000),
                      static_cast<long>(step_us % 1'000'000 * 1000)};
    (void)nanosleep(&ts, nullptr);  // a signal only brings the next look forward
    ++stats.idle_sleeps;
  }

  dpdk_transport_config config;
  port_link link;
  net::stack stack;
  net::tcp_stack tcp;
  transport_handler* handler = nullptr;
  uint64_t timer_hz = rte_get_timer_hz();
  uint64_t last_stack_timers_us = 0;
  uint64_t last_work_us = 0;          // idle back-off: when poll() last saw work
  uint64_t idle_tx_mark = 0;          // idle back-off: link tx_frames at the last look
  net::ipv4_addr connect_remote = 0;  // the connect() in progress, for the source-port check
  uint16_t connect_remote_port = 0;
  uint32_t live = 0;
  uint64_t events = 0;
  bool in_poll = false;
  dpdk_transport_stats stats;
  std::string last_error;

  std::vector<connection> slots;  // max_connections, never reallocated
  std::vector<uint32_t> free_slots;
  std::vector<uint32_t> tcp_to_slot;  // TCP slot index -> our slot + 1 (0: none)
  std::vector<uint16_t> listeners;    // listener index -> port
  std::vector<deferred> deferred_list, deferred_scratch;
  std::vector<conn_id> backlog, backlog_scratch;
  std::vector<conn_id> resume, resume_scratch;
  std::vector<conn_id> closing;
};

std::unique_ptr<dpdk_transport> dpdk_transport::create(const port& p, uint16_t queue,
                                                       dpdk_transport_config config,
                                                       std::string& error) {
  if (config.address == 0) {
    error = "dpdk_transport: address 0.0.0.0 is not a host address";
    return nullptr;
  }
  if (config.prefix_len == 0 || config.prefix_len > 32) {
    error = "dpdk_transport: prefix length " + std::to_string(config.prefix_len) + " outside 1..32";
    return nullptr;
  }
  if (queue >= p.queues()) {
    error = "dpdk_transport: queue " + std::to_string(queue) + " but the port has " +
            std::to_string(p.queues());
    return nullptr;
  }
  if (config.software_steering != nullptr &&
      (config.software_steering->workers() != p.queues() ||
       config.software_steering->rule().reta() != p.steering().reta() ||
       !std::ranges::equal(config.software_steering->rule().key(), p.steering().key()))) {
    error = "dpdk_transport: software steering for " +
            std::to_string(config.software_steering->workers()) +
            " workers does not match the port (" + std::to_string(p.queues()) +
            " queues, its key and redirection table)";
    return nullptr;
  }
  if (config.limits.max_connections == 0 || config.limits.max_send_queue_bytes == 0) {
    error = "dpdk_transport: max_connections and max_send_queue_bytes must be at least 1";
    return nullptr;
  }
  if (config.tcp.max_connections == 0 || config.tcp.max_listeners == 0) {
    error = "dpdk_transport: tcp.max_connections and tcp.max_listeners must be at least 1";
    return nullptr;
  }
  fault_config rx, tx;
  std::string fault_error;
  if (!fault_config::parse(config.rx_faults, rx, fault_error)) {
    error = "dpdk_transport: rx_faults: " + fault_error;
    return nullptr;
  }
  if (!fault_config::parse(config.tx_faults, tx, fault_error)) {
    error = "dpdk_transport: tx_faults: " + fault_error;
    return nullptr;
  }
  net::stack_config sc;
  sc.ip.addresses = {config.address};
  sc.ip.netmask = config.prefix_len == 32 ? 0xffffffffu : ~(0xffffffffu >> config.prefix_len);
  sc.ip.gateway = config.gateway;
  sc.arp = config.arp;
  sc.icmp = config.icmp;

  net::tcp_config tc = config.tcp;
  const uint64_t hz = rte_get_timer_hz();
  const uint64_t cycles = rte_get_timer_cycles();
  tc.start_us = cycles / hz * 1'000'000 + cycles % hz * 1'000'000 / hz;

  std::unique_ptr<impl> i;
  try {
    i = std::make_unique<impl>(p, queue, config, rx, tx, std::move(sc), std::move(tc));
  } catch (const std::exception& e) {
    error = std::string("dpdk_transport: ") + e.what();
    return nullptr;
  }
  for (const auto& [ip, mac] : config.static_arp) {
    if (!i->stack.arp().add_static(ip, mac, i->now_us())) {
      error = "dpdk_transport: static ARP entry " + ipv4_text(ip) + ": the cache is full";
      return nullptr;
    }
  }
  i->last_stack_timers_us = i->now_us();
  i->last_work_us = i->last_stack_timers_us;
  return std::unique_ptr<dpdk_transport>(new dpdk_transport(std::move(i)));
}

dpdk_transport::dpdk_transport(std::unique_ptr<impl> i) noexcept : impl_(std::move(i)) {}
dpdk_transport::~dpdk_transport() = default;

void dpdk_transport::set_handler(transport_handler* h) noexcept {
  impl_->handler = h;
}

int dpdk_transport::listen(const endpoint& ep) {
  impl& m = *impl_;
  if (ep.tls != nullptr) {
    m.last_error = "listen " + ep.to_string() + ": TLS is not supported on the DPDK transport";
    return -EPROTONOSUPPORT;
  }
  net::ipv4_addr local = 0;
  if (!ep.host.empty() && !parse_ipv4(ep.host, local)) {
    m.last_error = "listen " + ep.to_string() + ": not an IPv4 address (IPv6 and names are not " +
                   "supported on the DPDK transport)";
    return -EADDRNOTAVAIL;
  }
  if (local != 0 && local != m.config.address) {
    m.last_error = "listen " + ep.to_string() + ": " + ep.host + " is not this worker's address " +
                   ipv4_text(m.config.address);
    return -EADDRNOTAVAIL;
  }
  if (ep.port == 0) {
    m.last_error = "listen " + ep.to_string() + ": port 0 (no ephemeral listeners here)";
    return -EINVAL;
  }
  for (const uint16_t port : m.listeners) {
    if (port == ep.port) {
      m.last_error = "listen " + ep.to_string() + ": port already listened on";
      return -EADDRINUSE;
    }
  }
  const int rc = m.tcp.listen(local, ep.port, m.config.listen_backlog);
  if (rc < 0) {
    m.last_error = "listen " + ep.to_string() + ": " + std::strerror(-rc);
    return rc;
  }
  if (m.listeners.size() <= static_cast<size_t>(rc)) m.listeners.resize(rc + 1, 0);
  m.listeners[static_cast<size_t>(rc)] = ep.port;
  return rc;
}

conn_id dpdk_transport::connect(const endpoint& ep, int& err) {
  impl& m = *impl_;
  err = 0;
  if (ep.tls != nullptr) {
    m.last_error = "connect " + ep.to_string() + ": TLS is not supported on the DPDK transport";
    err = EPROTONOSUPPORT;
    return invalid_conn;
  }
  net::ipv4_addr remote = 0;
  if (!parse_ipv4(ep.host, remote) || remote == 0 || ep.port == 0) {
    m.last_error = "connect " + ep.to_string() + ": needs an IPv4 address and a port";
    err = EINVAL;
    return invalid_conn;
  }
  if (m.live >= m.config.limits.max_connections || m.free_slots.empty()) {
    m.last_error = "connect " + ep.to_string() + ": max_connections reached";
    err = EMFILE;
    return invalid_conn;
  }
  m.connect_remote = remote;
  m.connect_remote_port = ep.port;
  const net::tcp_conn tc = m.tcp.connect(m.config.address, remote, ep.port, err);
  if (tc == net::invalid_tcp_conn) {
    m.last_error = "connect " + ep.to_string() + ": " + std::strerror(err);
    ++m.stats.connect_failures;
    return invalid_conn;
  }
  ++m.stats.connects;
  return m.open_slot(tc, conn_state::connecting);
}

bool dpdk_transport::send(conn_id c, bytes_view data) {
  impl& m = *impl_;
  impl::connection* k = m.lookup(c);
  if (k == nullptr || k->state == conn_state::closing) return false;
  const uint32_t max = m.config.limits.max_send_queue_bytes;
  if (k->q.reservation_open() || data.size() > max - k->q.size()) {
    ++m.stats.send_refused;
    k->want_writable = data.size() <= max;
    if (k->want_writable) m.mark_backlog(c, *k);
    return false;
  }
  std::span<const std::byte> rest(data.data(), data.size());
  if (k->q.size() == 0 && k->state == conn_state::open) {
    const size_t took = m.tcp.send(k->tcp, rest);
    m.stats.bytes_out += took;
    rest = rest.subspan(took);
  }
  if (rest.empty()) return true;
  const std::span<std::byte> room = k->q.reserve(rest.size(), max);
  if (room.size() < rest.size()) {
    // Not reachable with the checks above (the bip queue takes anything within the bound); if
    // it were, the octets TCP took would be orphaned, so fail loudly in debug builds.
    k->q.cancel_reservation();
    ++m.stats.send_refused;
    return false;
  }
  std::memcpy(room.data(), rest.data(), rest.size());
  k->q.commit(rest.size());
  m.stats.overflow_bytes += rest.size();
  m.mark_backlog(c, *k);
  return true;
}

std::span<std::byte> dpdk_transport::reserve(conn_id c, size_t n) {
  return reserve_run(c, n, n);
}

std::span<std::byte> dpdk_transport::reserve_run(conn_id c, size_t min_n, size_t max_n) {
  impl& m = *impl_;
  impl::connection* k = m.lookup(c);
  if (k == nullptr || k->state == conn_state::closing) return {};
  const uint32_t max = m.config.limits.max_send_queue_bytes;
  if (min_n == 0 || k->q.reservation_open() || min_n > max - k->q.size()) {
    if (min_n != 0) {
      ++m.stats.send_refused;
      k->want_writable = min_n <= max;
      if (k->want_writable) m.mark_backlog(c, *k);
    }
    return {};
  }
  return k->q.reserve_run(min_n, max_n, max);
}

void dpdk_transport::commit(conn_id c, size_t used) {
  impl& m = *impl_;
  impl::connection* k = m.lookup(c);
  if (k == nullptr || !k->q.reservation_open()) return;
  k->q.commit(used);
  if (used == 0) return;
  m.stats.overflow_bytes += used;
  // Into TCP's ring at once when it has room: the bytes go out with the next flush.
  if (k->state == conn_state::open) m.drain(*k);
  if (k->q.size() > 0) m.mark_backlog(c, *k);
}

size_t dpdk_transport::queued(conn_id c) const {
  const impl::connection* k = impl_->lookup(c);
  return k == nullptr ? 0 : k->q.size();
}

void dpdk_transport::pause_read(conn_id c, bool paused) {
  impl& m = *impl_;
  impl::connection* k = m.lookup(c);
  if (k == nullptr || k->state == conn_state::connecting) {
    if (k != nullptr) k->read_paused = paused;  // applied once connected
    return;
  }
  if (k->state == conn_state::closing) return;  // input is discarded until the close completes
  k->read_paused = paused;
  if (paused) {
    m.tcp.pause_receive(k->tcp, true);
  } else if (!k->in_resume) {
    // Resuming delivers what TCP held as on_data: from poll(), never from inside this call.
    k->in_resume = true;
    m.resume.push_back(c);
  }
}

void dpdk_transport::close(conn_id c, bool abort) {
  impl& m = *impl_;
  impl::connection* k = m.lookup(c);
  if (k == nullptr) return;
  if (k->state == conn_state::connecting) {
    m.tcp.abort(k->tcp);
    m.make_zombie(c, *k, true, ECANCELED);
    return;
  }
  if (abort) {
    m.tcp.abort(k->tcp);  // RFC 9293 §3.10.5: RST, queued octets dropped
    m.make_zombie(c, *k, false, 0);
    return;
  }
  if (k->state == conn_state::closing) return;
  k->state = conn_state::closing;
  if (k->read_paused) m.tcp.pause_receive(k->tcp, false);  // input is discarded from now on
  k->linger_until_us = m.now_us() + uint64_t{m.config.close_linger_ms} * 1000;
  if (!k->in_closing) {
    k->in_closing = true;
    m.closing.push_back(c);
  }
  m.mark_backlog(c, *k);  // FIN once the overflow is in TCP's ring
}

int dpdk_transport::poll(int timeout_us) {
  impl& m = *impl_;
  const uint64_t start = m.now_us();
  const uint64_t deadline = timeout_us < 0    ? UINT64_MAX
                            : timeout_us == 0 ? start
                                              : start + static_cast<uint64_t>(timeout_us);
  m.in_poll = true;
  ++m.stats.polls;
  m.events = 0;
  int handled = m.deliver_deferred();
  m.resume_reads();
  uint64_t now = start;
  while (true) {
    uint32_t frames = 0;
    if (m.config.software_steering == nullptr) {
      for (uint32_t b = 0; b < m.config.rx_bursts_per_poll; ++b) {
        const uint16_t got =
            m.link.rx([&m, now](std::span<const std::byte> frame) { m.stack.input(frame, now); });
        frames += got;
        if (got < port_link::burst) break;
      }
    } else {
      for (uint32_t b = 0; b < m.config.rx_bursts_per_poll; ++b) {
        const uint16_t got = m.link.rx([&m, now](rte_mbuf* mb) { m.receive_steered(mb, now); });
        frames += got;
        if (got < port_link::burst) break;
      }
      m.config.software_steering->flush(m.link.queue());  // the bursts for the other workers
      handled += static_cast<int>(m.receive_from_other_workers(now));
    }
    m.stats.rx_frames += frames;
    handled += static_cast<int>(frames);
    m.serve_backlog(true);
    if (!m.closing.empty()) m.expire_closing(now);
    m.tcp.timers(now);  // retransmissions, delayed ACKs, ...; then writes everything pending
    if (now - m.last_stack_timers_us >= 1000) {
      m.last_stack_timers_us = now;
      m.stack.timers(now);  // ARP retries and expiry
    }
    m.link.flush();
    handled += static_cast<int>(m.events);
    m.events = 0;
    if (handled > 0 || !m.deferred_list.empty() || now >= deadline) break;
    if (m.config.idle_sleep_us == 0) {
      rte_pause();  // pure poll mode
    } else {
      m.idle_wait(now, deadline);
    }
    now = m.now_us();
  }
  if (m.config.idle_sleep_us != 0 && (handled > 0 || !m.deferred_list.empty())) {
    m.last_work_us = now;
  }
  m.in_poll = false;
  return handled;
}

void dpdk_transport::flush() {
  impl& m = *impl_;
  m.serve_backlog(false);  // on_writable waits for poll(): flush() never calls back
  m.tcp.flush();
  m.link.flush();
}

uint32_t dpdk_transport::connections() const noexcept {
  return impl_->live;
}
const std::string& dpdk_transport::last_error() const noexcept {
  return impl_->last_error;
}
void dpdk_transport::add_port_counters(port_counters& sum) const noexcept {
  sum.accepted += stats().accepted;
  sum.connects += stats().connects;
  sum.rx_frames += link_counters().rx_frames;
  sum.tx_frames += link_counters().tx_frames;
  sum.retransmits += tcp_counters().retransmits;
  sum.fast_retransmits += tcp_counters().fast_retransmits;
  sum.out_of_order += tcp_counters().out_of_order;
  sum.rx_lost += rx_faults().lost;
  sum.rx_duplicated += rx_faults().duplicated;
  sum.rx_reordered += rx_faults().reordered;
  sum.tx_lost += tx_faults().lost;
  sum.tx_duplicated += tx_faults().duplicated;
  sum.tx_reordered += tx_faults().reordered;
}
const dpdk_transport_stats& dpdk_transport::stats() const noexcept {
  return impl_->stats;
}
const net::tcp_counters& dpdk_transport::tcp_counters() const noexcept {
  return impl_->tcp.counters();
}
net::stack_counters dpdk_transport::stack_counters() const noexcept {
  return impl_->stack.counters();
}
const port_link_counters& dpdk_transport::link_counters() const noexcept {
  return impl_->link.counters();
}
const fault_counters& dpdk_transport::rx_faults() const noexcept {
  return impl_->link.rx_faults();
}
const fault_counters& dpdk_transport::tx_faults() const noexcept {
  return impl_->link.tx_faults();
}
bool dpdk_transport::tcp_info(conn_id c, net::tcp_conn_info& out) const noexcept {
  const impl::connection* k = impl_->lookup(c);
  return k != nullptr && k->tcp != net::invalid_tcp_conn && impl_->tcp.info(k->tcp, out);
}
net::mac_addr dpdk_transport::mac() const noexcept {
  return impl_->link.mac();
}
net::ipv4_addr dpdk_transport::address() const noexcept {
  return impl_->config.address;
}

}  // namespace smpp::dataplane::dpdk
