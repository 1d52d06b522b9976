// A transport for session tests: the test plays the network. It records what the worker sends
// per connection and injects accepts, data, connects and closes.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <vector>

#include "smpp/codec/codec.hpp"
#include "smpp/dataplane/transport.hpp"

namespace smpp::testing {

class fake_transport final : public dataplane::transport {
 public:
  using conn_id = dataplane::conn_id;
  struct conn {
    std::vector<std::byte> out;  // bytes the worker sent, not yet taken by the test
    bool outbound = false;
    bool closed = false;
    bool aborted = false;
    bool read_paused =
        false;  // pause_read(): the test must not inject data (the kernel would not read)
    dataplane::endpoint remote;
    size_t reserved_at = no_reservation;  // an open reserve()/reserve_run(): where it starts
  };
  static constexpr size_t no_reservation = SIZE_MAX;

  void set_handler(dataplane::transport_handler* h) noexcept override { h_ = h; }
  int listen(const dataplane::endpoint& ep) override {
    listeners.push_back(ep);
    return static_cast<int>(listeners.size() - 1);
  }
  conn_id connect(const dataplane::endpoint& ep, int& err) override {
    if (refuse_connects) {
      err = 111;
      return dataplane::invalid_conn;
    }
    const conn_id c = make_id();
    conns[c].outbound = true;
    conns[c].remote = ep;
    pending_connects.push_back(c);
    err = 0;
    return c;
  }
  bool send(conn_id c, codec::bytes_view data) override {
    auto it = conns.find(c);
    if (it == conns.end() || it->second.closed || it->second.reserved_at != no_reservation ||
        it->second.out.size() + data.size() > send_limit) {
      return false;
    }
    it->second.out.insert(it->second.out.end(), data.begin(), data.end());
    return true;
  }
  // As the real transports: one open reservation per connection, send() refused meanwhile.
  std::span<std::byte> reserve(conn_id c, size_t n) override { return reserve_run(c, n, n); }
  std::span<std::byte> reserve_run(conn_id c, size_t min_n, size_t max_n) override {
    auto it = conns.find(c);
    if (it == conns.end() || it->second.closed || it->second.reserved_at != no_reservation ||
        min_n == 0 || it->second.out.size() + min_n > send_limit) {
      return {};
    }
    conn& k = it->second;
    const size_t n = std::min(std::max(min_n, max_n), send_limit - k.out.size());
    k.reserved_at = k.out.size();
    k.out.resize(k.reserved_at + n);
    return {k.out.data() + k.reserved_at, n};
  }
  void commit(conn_id c, size_t used) override {
    auto it = conns.find(c);
    if (it == conns.end() || it->second.reserved_at == no_reservation) return;
    conn& k = it->second;
    k.out.resize(k.reserved_at + std::min(used, k.out.size() - k.reserved_at));
    k.reserved_at = no_reservation;
  }
  size_t queued(conn_id c) const override {
    auto it = conns.find(c);
    return it == conns.end() ? 0 : it->second.out.size();
  }
  void pause_read(conn_id c, bool paused) override {
    auto it = conns.find(c);
    if (it != conns.end()) it->second.read_paused = paused;
  }
  void close(conn_id c, bool abort) override {
    auto it = conns.find(c);
    if (it == conns.end() || it->second.closed) return;
    it->second.closed = true;
    it->second.aborted = abort;
    to_close_.push_back(c);
  }
  int poll(int) override {
    int n = 0;
    auto closing = std::move(to_close_);
    to_close_.clear();
    for (conn_id c : closing) {
      h_->on_close(c, 0);
      ++n;
    }
    return n;
  }
  void flush() override {}
  uint32_t connections() const noexcept override {
    uint32_t n = 0;
    for (const auto& [id, c] : conns) n += c.closed ? 0 : 1;
    return n;
  }

  // --- the test's side of the network
  conn_id accept(const char* ip = "127.0.0.1", uint32_t listener = 0) {
    const conn_id c = make_id();
    conns[c];
    dataplane::peer_address peer;
    peer.family = 2;  // AF_INET
    unsigned a, b, cc, d;
    std::sscanf(ip, "%u.%u.%u.%u", &a, &b, &cc, &d);
    peer.addr[0] = std::byte(a), peer.addr[1] = std::byte(b), peer.addr[2] = std::byte(cc),
    peer.addr[3] = std::byte(d);
    h_->on_accept(c, listener, peer);
    return c;
  }
  void complete_connect(conn_id c, int err = 0) {
    if (err != 0) conns.erase(c);
    h_->on_connect(c, err);
  }
  void deliver(conn_id c, codec::bytes_view data) { h_->on_data(c, data); }
  void peer_close(conn_id c) {
    conns[c].closed = true;
    h_->on_close(c, 0);
  }
  // Takes the PDUs the worker sent on c (whole frames).
  std::vector<std::vector<std::byte>> take(conn_id c) {
    std::vector<std::vector<std::byte>> pdus;
    auto& out = conns[c].out;
    size_t at = 0;
    while (out.size() - at >= 16) {
      const uint32_t len = codec::load_be32(out.data() + at);
      if (len < 16 || out.size() - at < len) break;
      pdus.emplace_back(out.begin() + static_cast<ptrdiff_t>(at),
                        out.begin() + static_cast<ptrdiff_t>(at + len));
      at += len;
    }
    out.erase(out.begin(), out.begin() + static_cast<ptrdiff_t>(at));
    return pdus;
  }

  std::map<conn_id, conn> conns;
  std::vector<dataplane::endpoint> listeners;
  std::vector<conn_id> pending_connects;
  size_t send_limit = 1 << 20;
  bool refuse_connects = false;

 private:
  conn_id make_id() { return dataplane::make_conn_id(next_slot_++, 1); }
  dataplane::transport_handler* h_ = nullptr;
  uint32_t next_slot_ = 1;
  std::vector<conn_id> to_close_;
};

}  // namespace smpp::testing
