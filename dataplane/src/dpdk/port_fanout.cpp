#include "smpp/dataplane/dpdk/port_fanout.hpp"

#include <time.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "smpp/dataplane/address.hpp"

namespace smpp::dataplane::dpdk {

struct port_fanout::shim final : transport_handler {
  shim(port_fanout* f, uint32_t i) : fanout(f), index(i) {}
  void on_accept(conn_id c, uint32_t listener, const peer_address& peer) override {
    const auto& map = fanout->listener_of_[index];
    fanout->handler_->on_accept(fanout->wrap(c, index), listener < map.size() ? map[listener] : 0,
                                peer);
  }
  void on_connect(conn_id c, int err) override {
    fanout->handler_->on_connect(fanout->wrap(c, index), err);
  }
  void on_data(conn_id c, bytes_view data) override {
    fanout->handler_->on_data(fanout->wrap(c, index), data);
  }
  void on_writable(conn_id c) override { fanout->handler_->on_writable(fanout->wrap(c, index)); }
  void on_close(conn_id c, int err) override {
    fanout->handler_->on_close(fanout->wrap(c, index), err);
  }
  port_fanout* fanout;
  uint32_t index;
};

port_fanout::port_fanout(std::vector<member> members, uint32_t idle_sleep_us, uint32_t idle_spin_us)
    : members_(std::move(members)), idle_sleep_us_(idle_sleep_us), idle_spin_us_(idle_spin_us) {
  shims_.reserve(members_.size());
  for (uint32_t i = 0; i < members_.size(); ++i) {
    shims_.push_back(std::make_unique<shim>(this, i));
    members_[i].transport->set_handler(shims_.back().get());
    listener_of_.emplace_back();
  }
}

port_fanout::~port_fanout() {
  for (auto& m : members_) m.transport->set_handler(nullptr);
}

int port_fanout::listen(const endpoint& ep) {
  const auto host = parse_ipv4(ep.host);
  if (!host) return -EINVAL;
  const auto index = static_cast<uint32_t>(listeners_);
  int opened = 0;
  for (uint32_t i = 0; i < members_.size(); ++i) {
    if (*host != 0 && *host != members_[i].address) continue;
    const int r = members_[i].transport->listen(ep);
    if (r < 0) return r;
    auto& map = listener_of_[i];
    if (map.size() <= static_cast<size_t>(r)) map.resize(static_cast<size_t>(r) + 1, 0);
    map[static_cast<size_t>(r)] = index;
    ++opened;
  }
  if (opened == 0) return -EADDRNOTAVAIL;
  ++listeners_;
  return static_cast<int>(index);
}

conn_id port_fanout::connect(const endpoint& ep, int& err) {
  const auto host = parse_ipv4(ep.host);
  if (!host) {
    err = EINVAL;
    return invalid_conn;
  }
  const auto n = static_cast<uint32_t>(members_.size());
  uint32_t out = n;
  for (uint32_t i = 0; i < n && out == n; ++i) {
    if ((*host & members_[i].netmask) == (members_[i].address & members_[i].netmask)) out = i;
  }
  for (uint32_t i = 0; i < n && out == n; ++i) {
    if (members_[i].has_gateway) out = i;
  }
  if (out == n) out = 0;
  const conn_id c = members_[out].transport->connect(ep, err);
  return c == invalid_conn ? c : wrap(c, out);
}

bool port_fanout::send(conn_id c, bytes_view data) {
  return of(c).send(unwrap(c), data);
}
std::span<std::byte> port_fanout::reserve(conn_id c, size_t n) {
  return of(c).reserve(unwrap(c), n);
}
void port_fanout::commit(conn_id c, size_t used) {
  of(c).commit(unwrap(c), used);
}
size_t port_fanout::queued(conn_id c) const {
  return members_[port_of(c)].transport->queued(unwrap(c));
}
void port_fanout::pause_read(conn_id c, bool paused) {
  of(c).pause_read(unwrap(c), paused);
}
void port_fanout::close(conn_id c, bool abort) {
  of(c).close(unwrap(c), abort);
}

int port_fanout::poll(int timeout_us) {
  int events = poll_all();
  if (idle_sleep_us_ != 0) return poll_with_back_off(events, timeout_us);
  if (events > 0 || timeout_us <= 0) return events;
  const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(timeout_us);
  while (events == 0 && std::chrono::steady_clock::now() < until) events = poll_all();
  return events;
}
void port_fanout::flush() {
  for (auto& m : members_) m.transport->flush();
}
uint32_t port_fanout::connections() const noexcept {
  uint32_t n = 0;
  for (const auto& m : members_) n += m.transport->connections();
  return n;
}
void port_fanout::add_port_counters(port_counters& sum) const noexcept {
  for (const auto& m : members_) m.transport->add_port_counters(sum);
}

int port_fanout::poll_all() {
  int events = 0;
  for (auto& m : members_) events += m.transport->poll(0);
  return events;
}

// poll() with the idle back-off on: after idle_spin_us without events (counted across polls),
// sleeps in steps of at most idle_sleep_us until an event or the deadline.
int port_fanout::poll_with_back_off(int events, int timeout_us) {
  using clock = std::chrono::steady_clock;
  auto now = clock::now();
  if (events == 0 && timeout_us > 0) {
    const auto until = now + std::chrono::microseconds(timeout_us);
    while (events == 0 && now < until) {
      if (now - last_work_ >= std::chrono::microseconds(idle_spin_us_)) {
        const auto step =
            std::min<clock::duration>(std::chrono::microseconds(idle_sleep_us_), until - now);
        const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(step).count();
        const timespec ts{static_cast<time_t>(ns / 1'000'000'000),
                          static_cast<long>(ns % 1'000'000'000)};
        (void)nanosleep(&ts, nullptr);  // a signal only brings the next look forward
      }
      events = poll_all();
      now = clock::now();
    }
  }
  if (events > 0) last_work_ = now;
  return events;
}

conn_id port_fanout::wrap(conn_id c, uint32_t port) const noexcept {
  const auto slot = static_cast<uint32_t>(conn_slot(c) * members_.size() + port);
  return make_conn_id(slot, conn_generation(c));
}
uint32_t port_fanout::port_of(conn_id c) const noexcept {
  return static_cast<uint32_t>(conn_slot(c) % members_.size());
}
conn_id port_fanout::unwrap(conn_id c) const noexcept {
  const auto slot = static_cast<uint32_t>(conn_slot(c) / members_.size());
  return make_conn_id(slot, conn_generation(c));
}

}  // namespace smpp::dataplane::dpdk
