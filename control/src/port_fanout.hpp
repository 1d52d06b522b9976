// One worker's transports on several DPDK ports, seen by the sessions as one transport.
//
// A router on two networks (ESMEs on one port, SMSCs on another, or two memif peers) has one
// dpdk_transport per port and worker, each with the port's address. port_fanout sends every
// call to the transport that owns the connection and relays their events with translated
// handles; listen() on 0.0.0.0 listens on every port, on an address only on that port's
// transport; connect() leaves by the port whose subnet holds the destination, else by the first
// port with a gateway, else by the first port.
//
// conn_id: the slot field interleaves the ports (slot * ports + port), so slots stay dense for
// the sessions' slot-indexed tables; the generation is the port transport's own.
#pragma once

#include <arpa/inet.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "smpp/dataplane/transport.hpp"

namespace smpp::control {

class port_fanout final : public dataplane::transport {
 public:
  struct member {
    std::unique_ptr<dataplane::transport> transport;
    uint32_t address = 0;  // host byte order
    uint32_t netmask = 0;
    bool has_gateway = false;
  };

  // idle_sleep_us, idle_spin_us: the members' idle back-off (dpdk_transport_config), applied
  // here as well: the fan-out looks at its members with poll(0), which never sleeps.
  explicit port_fanout(std::vector<member> members, uint32_t idle_sleep_us = 0,
                       uint32_t idle_spin_us = 200)
      : members_(std::move(members)), idle_sleep_us_(idle_sleep_us), idle_spin_us_(idle_spin_us) {
    shims_.reserve(members_.size());
    for (uint32_t i = 0; i < members_.size(); ++i) {
      shims_.push_back(std::make_unique<shim>(this, i));
      members_[i].transport->set_handler(shims_.back().get());
      listener_of_.emplace_back();
    }
  }
  ~port_fanout() override {
    for (auto& m : members_) m.transport->set_handler(nullptr);
  }
  port_fanout(const port_fanout&) = delete;
  port_fanout& operator=(const port_fanout&) = delete;

  void set_handler(dataplane::transport_handler* h) noexcept override { handler_ = h; }

  [[nodiscard]] int listen(const dataplane::endpoint& ep) override {
    in_addr a{};
    if (inet_pton(AF_INET, ep.host.c_str(), &a) != 1) return -EINVAL;
    const uint32_t host = ntohl(a.s_addr);
    const auto index = static_cast<uint32_t>(listeners_);
    int opened = 0;
    for (uint32_t i = 0; i < members_.size(); ++i) {
      if (host != 0 && host != members_[i].address) continue;
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

  [[nodiscard]] dataplane::conn_id connect(const dataplane::endpoint& ep, int& err) override {
    in_addr a{};
    if (inet_pton(AF_INET, ep.host.c_str(), &a) != 1) {
      err = EINVAL;
      return dataplane::invalid_conn;
    }
    const uint32_t host = ntohl(a.s_addr);
    const auto n = static_cast<uint32_t>(members_.size());
    uint32_t out = n;
    for (uint32_t i = 0; i < n && out == n; ++i) {
      if ((host & members_[i].netmask) == (members_[i].address & members_[i].netmask)) out = i;
    }
    for (uint32_t i = 0; i < n && out == n; ++i) {
      if (members_[i].has_gateway) out = i;
    }
    if (out == n) out = 0;
    const dataplane::conn_id c = members_[out].transport->connect(ep, err);
    return c == dataplane::invalid_conn ? c : wrap(c, out);
  }

  [[nodiscard]] bool send(dataplane::conn_id c, dataplane::bytes_view data) override {
    return of(c).send(unwrap(c), data);
  }
  [[nodiscard]] std::span<std::byte> reserve(dataplane::conn_id c, size_t n) override {
    return of(c).reserve(unwrap(c), n);
  }
  void commit(dataplane::conn_id c, size_t used) override { of(c).commit(unwrap(c), used); }
  [[nodiscard]] size_t queued(dataplane::conn_id c) const override {
    return members_[port_of(c)].transport->queued(unwrap(c));
  }
  void pause_read(dataplane::conn_id c, bool paused) override {
    of(c).pause_read(unwrap(c), paused);
  }
  void close(dataplane::conn_id c, bool abort) override { of(c).close(unwrap(c), abort); }

  // Every port polled without waiting; with nothing to do, again until timeout_us has passed
  // (the members are poll-mode: a wait is a spin either way).
  int poll(int timeout_us) override {
    int events = poll_all();
    if (idle_sleep_us_ != 0) return poll_with_back_off(events, timeout_us);
    if (events > 0 || timeout_us <= 0) return events;
    const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(timeout_us);
    while (events == 0 && std::chrono::steady_clock::now() < until) events = poll_all();
    return events;
  }
  void flush() override {
    for (auto& m : members_) m.transport->flush();
  }
  [[nodiscard]] uint32_t connections() const noexcept override {
    uint32_t n = 0;
    for (const auto& m : members_) n += m.transport->connections();
    return n;
  }

  [[nodiscard]] const std::vector<member>& members() const noexcept { return members_; }

 private:
  // Relays one member's events with the fan-out's handles.
  struct shim final : dataplane::transport_handler {
    shim(port_fanout* f, uint32_t i) : fanout(f), index(i) {}
    void on_accept(dataplane::conn_id c, uint32_t listener,
                   const dataplane::peer_address& peer) override {
      const auto& map = fanout->listener_of_[index];
      fanout->handler_->on_accept(fanout->wrap(c, index), listener < map.size() ? map[listener] : 0,
                                  peer);
    }
    void on_connect(dataplane::conn_id c, int err) override {
      fanout->handler_->on_connect(fanout->wrap(c, index), err);
    }
    void on_data(dataplane::conn_id c, dataplane::bytes_view data) override {
      fanout->handler_->on_data(fanout->wrap(c, index), data);
    }
    void on_writable(dataplane::conn_id c) override {
      fanout->handler_->on_writable(fanout->wrap(c, index));
    }
    void on_close(dataplane::conn_id c, int err) override {
      fanout->handler_->on_close(fanout->wrap(c, index), err);
    }
    port_fanout* fanout;
    uint32_t index;
  };

  int poll_all() {
    int events = 0;
    for (auto& m : members_) events += m.transport->poll(0);
    return events;
  }
  // poll() with the idle back-off on: after idle_spin_us without events (counted across
  // polls), sleeps in steps of at most idle_sleep_us until an event or the deadline.
  int poll_with_back_off(int events, int timeout_us) {
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
  [[nodiscard]] dataplane::conn_id wrap(dataplane::conn_id c, uint32_t port) const noexcept {
    const auto slot = static_cast<uint32_t>(dataplane::conn_slot(c) * members_.size() + port);
    return dataplane::make_conn_id(slot, dataplane::conn_generation(c));
  }
  [[nodiscard]] uint32_t port_of(dataplane::conn_id c) const noexcept {
    return static_cast<uint32_t>(dataplane::conn_slot(c) % members_.size());
  }
  [[nodiscard]] dataplane::conn_id unwrap(dataplane::conn_id c) const noexcept {
    const auto slot = static_cast<uint32_t>(dataplane::conn_slot(c) / members_.size());
    return dataplane::make_conn_id(slot, dataplane::conn_generation(c));
  }
  dataplane::transport& of(dataplane::conn_id c) noexcept {
    return *members_[port_of(c)].transport;
  }

  std::vector<member> members_;
  std::vector<std::unique_ptr<shim>> shims_;
  std::vector<std::vector<uint32_t>> listener_of_;  // per member: its listener -> ours
  uint32_t listeners_ = 0;
  dataplane::transport_handler* handler_ = nullptr;
  uint32_t idle_sleep_us_ = 0;  // 0: pure poll mode
  uint32_t idle_spin_us_ = 200;
  std::chrono::steady_clock::time_point last_work_{};  // the last poll with events
};

}  // namespace smpp::control
