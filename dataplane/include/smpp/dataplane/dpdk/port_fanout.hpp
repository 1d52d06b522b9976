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

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "smpp/dataplane/transport.hpp"

namespace smpp::dataplane::dpdk {

class port_fanout final : public transport {
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
                       uint32_t idle_spin_us = 200);
  ~port_fanout() override;
  port_fanout(const port_fanout&) = delete;
  port_fanout& operator=(const port_fanout&) = delete;

  void set_handler(transport_handler* h) noexcept override { handler_ = h; }
  [[nodiscard]] int listen(const endpoint& ep) override;
  [[nodiscard]] conn_id connect(const endpoint& ep, int& err) override;
  [[nodiscard]] bool send(conn_id c, bytes_view data) override;
  [[nodiscard]] std::span<std::byte> reserve(conn_id c, size_t n) override;
  void commit(conn_id c, size_t used) override;
  [[nodiscard]] size_t queued(conn_id c) const override;
  void pause_read(conn_id c, bool paused) override;
  void close(conn_id c, bool abort) override;
  // Every port polled without waiting; with nothing to do, again until timeout_us has passed
  // (the members are poll-mode: a wait is a spin either way).
  int poll(int timeout_us) override;
  void flush() override;
  [[nodiscard]] uint32_t connections() const noexcept override;
  // The members' counters added up.
  void add_port_counters(port_counters& sum) const noexcept override;

  [[nodiscard]] const std::vector<member>& members() const noexcept { return members_; }

 private:
  struct shim;  // relays one member's events with the fan-out's handles

  int poll_all();
  int poll_with_back_off(int events, int timeout_us);
  [[nodiscard]] conn_id wrap(conn_id c, uint32_t port) const noexcept;
  [[nodiscard]] uint32_t port_of(conn_id c) const noexcept;
  [[nodiscard]] conn_id unwrap(conn_id c) const noexcept;
  transport& of(conn_id c) noexcept { return *members_[port_of(c)].transport; }

  std::vector<member> members_;
  std::vector<std::unique_ptr<shim>> shims_;
  std::vector<std::vector<uint32_t>> listener_of_;  // per member: its listener -> ours
  uint32_t listeners_ = 0;
  transport_handler* handler_ = nullptr;
  uint32_t idle_sleep_us_ = 0;  // 0: pure poll mode
  uint32_t idle_spin_us_ = 200;
  std::chrono::steady_clock::time_point last_work_{};  // the last poll with events
};

}  // namespace smpp::dataplane::dpdk
