// An in-memory IPv4 path between two TCP stacks, for deterministic tests under a fake clock:
// seeded-random loss, duplication, reordering and delay, scripted drops, a log of every segment,
// and helpers to build and parse raw TCP segments for injection.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <span>
#include <vector>

#include "smpp/net/ip.hpp"
#include "smpp/net/tcp.hpp"

namespace smpp::test {

namespace net = smpp::net;

// One TCP segment as it crossed the wire, decoded.
struct wire_segment {
  int from = 0;  // side index
  net::ipv4_addr src = 0, dst = 0;
  uint16_t sport = 0, dport = 0;
  uint32_t seq = 0, ack = 0;
  uint8_t flags = 0;
  uint16_t wnd = 0;
  bool has_mss = false, has_ws = false, has_ts = false;
  uint16_t mss = 0;
  uint8_t ws = 0;
  uint32_t tsval = 0, tsecr = 0;
  size_t payload = 0;
  uint64_t at_us = 0;
  [[nodiscard]] bool has(uint8_t f) const { return (flags & f) != 0; }
};

inline constexpr uint8_t fin = 0x01, syn = 0x02, rst = 0x04, psh = 0x08, ack = 0x10;

inline uint16_t rd16(const std::byte* p) {
  return static_cast<uint16_t>((static_cast<unsigned>(p[0]) << 8) | static_cast<unsigned>(p[1]));
}
inline uint32_t rd32(const std::byte* p) {
  return (uint32_t{rd16(p)} << 16) | rd16(p + 2);
}

inline wire_segment decode_segment(std::span<const std::byte> s) {
  wire_segment w;
  if (s.size() < 20) return w;
  w.sport = rd16(s.data());
  w.dport = rd16(s.data() + 2);
  w.seq = rd32(s.data() + 4);
  w.ack = rd32(s.data() + 8);
  const size_t doff = (static_cast<size_t>(s[12]) >> 4) * 4;
  w.flags = static_cast<uint8_t>(s[13]);
  w.wnd = rd16(s.data() + 14);
  for (size_t i = 20; i + 1 < doff && i < s.size();) {
    const auto kind = static_cast<uint8_t>(s[i]);
    if (kind == 0) break;
    if (kind == 1) {
      ++i;
      continue;
    }
    const size_t len = static_cast<uint8_t>(s[i + 1]);
    if (len < 2) break;
    if (kind == 2) {
      w.has_mss = true;
      w.mss = rd16(s.data() + i + 2);
    } else if (kind == 3) {
      w.has_ws = true;
      w.ws = static_cast<uint8_t>(s[i + 2]);
    } else if (kind == 8) {
      w.has_ts = true;
      w.tsval = rd32(s.data() + i + 2);
      w.tsecr = rd32(s.data() + i + 6);
    }
    i += len;
  }
  w.payload = s.size() >= doff ? s.size() - doff : 0;
  return w;
}

// A raw segment with a correct checksum (unless told otherwise), for injection.
struct segment_spec {
  net::ipv4_addr src = 0, dst = 0;
  uint16_t sport = 0, dport = 0;
  uint32_t seq = 0, ack = 0;
  uint8_t flags = 0;
  uint16_t wnd = 65535;
  bool ts = false;
  uint32_t tsval = 0, tsecr = 0;
  std::vector<std::byte> options;  // raw, appended after the timestamp option
  std::vector<std::byte> payload;
};

inline std::vector<std::byte> build_segment(const segment_spec& s) {
  std::vector<std::byte> opts;
  if (s.ts) {
    opts = {std::byte{1}, std::byte{1}, std::byte{8}, std::byte{10}};
    for (uint32_t v : {s.tsval, s.tsecr}) {
      for (int sh = 24; sh >= 0; sh -= 8) opts.push_back(std::byte(v >> sh));
    }
  }
  opts.insert(opts.end(), s.options.begin(), s.options.end());
  while (opts.size() % 4) opts.push_back(std::byte{0});
  std::vector<std::byte> b(20 + opts.size() + s.payload.size());
  auto put16 = [&](size_t at, uint16_t v) {
    b[at] = std::byte(v >> 8);
    b[at + 1] = std::byte(v);
  };
  auto put32 = [&](size_t at, uint32_t v) {
    put16(at, static_cast<uint16_t>(v >> 16));
    put16(at + 2, static_cast<uint16_t>(v));
  };
  put16(0, s.sport);
  put16(2, s.dport);
  put32(4, s.seq);
  put32(8, s.ack);
  b[12] = std::byte(((20 + opts.size()) / 4) << 4);
  b[13] = std::byte(s.flags);
  put16(14, s.wnd);
  std::copy(opts.begin(), opts.end(), b.begin() + 20);
  std::copy(s.payload.begin(), s.payload.end(), b.begin() + 20 + static_cast<long>(opts.size()));
  const uint32_t sum =
      net::pseudo_header_sum(s.src, s.dst, net::ip_proto_tcp, static_cast<uint16_t>(b.size()));
  put16(16, net::checksum_finish(net::checksum_add(b, sum)));
  return b;
}

// Faults applied to every segment, decided by a seeded generator.
struct wire_faults {
  double loss = 0;          // probability a segment is lost
  double duplicate = 0;     // probability a segment is delivered twice
  double reorder = 0;       // probability a segment is held back by reorder_delay_us
  uint64_t delay_us = 100;  // one-way delay
  uint64_t reorder_delay_us = 2000;
};

// Two sides (0 and 1), each an ip_output for its stack and a receiver (ip_protocol).
class test_wire {
 public:
  struct side final : net::ip_output {
    test_wire* wire = nullptr;
    int index = 0;
    size_t payload_max = 1480;  // IPv4 MTU 1500 minus the header
    bool out_of_buffers = false;
    std::vector<std::byte> buf;
    std::span<std::byte> alloc(net::ipv4_addr, size_t length) override {
      if (out_of_buffers || length > payload_max) return {};
      buf.resize(length);
      return buf;
    }
    void send(net::ipv4_addr src, net::ipv4_addr dst, uint8_t, size_t length) override {
      wire->transmit(index, src, dst, std::span<const std::byte>(buf.data(), length));
    }
    size_t max_payload(net::ipv4_addr) const noexcept override { return payload_max; }
  };

  explicit test_wire(uint64_t seed = 1) : rng_(seed) {
    for (int i = 0; i < 2; ++i) {
      sides_[i].wire = this;
      sides_[i].index = i;
    }
  }

  side& output(int i) { return sides_[i]; }
  void attach(int i, net::tcp_stack* s) { stacks_[i] = s; }
  wire_faults faults;
  // Scripted drop: return true to lose this segment (after it is logged).
  std::function<bool(const wire_segment&)> drop;
  // Scripted delay added to this segment's delivery (reordering on purpose).
  std::function<uint64_t(const wire_segment&)> extra_delay;
  // Every segment sent, in order (bounded by log_limit; older entries are not kept beyond it).
  std::vector<wire_segment> log;
  size_t log_limit = 200000;
  uint64_t now_us = 1'000'000;
  uint64_t delivered = 0, lost = 0;

  void transmit(int from, net::ipv4_addr src, net::ipv4_addr dst, std::span<const std::byte> b) {
    wire_segment w = decode_segment(b);
    w.from = from;
    w.src = src;
    w.dst = dst;
    w.at_us = now_us;
    if (log.size() < log_limit) log.push_back(w);
    if (drop && drop(w)) {
      ++lost;
      return;
    }
    std::uniform_real_distribution<double> u(0, 1);
    if (faults.loss > 0 && u(rng_) < faults.loss) {
      ++lost;
      return;
    }
    uint64_t at = now_us + faults.delay_us;
    if (extra_delay) at += extra_delay(w);
    if (faults.reorder > 0 && u(rng_) < faults.reorder) at += faults.reorder_delay_us;
    queue(1 - from, src, dst, b, at);
    if (faults.duplicate > 0 && u(rng_) < faults.duplicate) {
      queue(1 - from, src, dst, b, at + faults.delay_us / 2);
    }
  }

  // Hands a raw segment to side `to`'s stack at once (then flushes it).
  void inject(int to, net::ipv4_addr src, net::ipv4_addr dst, std::span<const std::byte> b) {
    stacks_[to]->input(src, dst, b, now_us);
    stacks_[to]->flush();
  }

  // Advances the fake clock by up to `duration_us`, delivering segments when due and running
  // both stacks' timers at least every tick_us; `step` (if set) runs after every tick. Stops
  // early when `done` returns true. Returns whether `done` was reached.
  bool run(uint64_t duration_us, const std::function<bool()>& done = {},
           const std::function<void()>& step = {}, uint64_t tick_us = 1000) {
    const uint64_t end = now_us + duration_us;
    for (;;) {
      deliver_due();
      for (auto* s : stacks_) {
        if (s) s->timers(now_us);
      }
      if (step) step();
      for (auto* s : stacks_) {
        if (s) s->flush();
      }
      if (done && done()) return true;
      if (now_us >= end) return false;
      uint64_t next = now_us + tick_us;
      if (!in_flight_.empty()) next = std::min(next, in_flight_.begin()->first.first);
      now_us = std::min(std::max(next, now_us + 1), end);
    }
  }

  [[nodiscard]] size_t in_flight() const { return in_flight_.size(); }

 private:
  struct packet {
    int to;
    net::ipv4_addr src, dst;
    std::vector<std::byte> bytes;
  };
  void queue(int to, net::ipv4_addr src, net::ipv4_addr dst, std::span<const std::byte> b,
             uint64_t at) {
    in_flight_.emplace(std::make_pair(at, order_++),
                       packet{to, src, dst, std::vector<std::byte>(b.begin(), b.end())});
  }
  void deliver_due() {
    while (!in_flight_.empty() && in_flight_.begin()->first.first <= now_us) {
      packet p = std::move(in_flight_.begin()->second);
      in_flight_.erase(in_flight_.begin());
      ++delivered;
      if (stacks_[p.to]) stacks_[p.to]->input(p.src, p.dst, p.bytes, now_us);
    }
    for (auto* s : stacks_) {
      if (s) s->flush();
    }
  }

  std::mt19937_64 rng_;
  side sides_[2];
  net::tcp_stack* stacks_[2] = {nullptr, nullptr};
  std::map<std::pair<uint64_t, uint64_t>, packet> in_flight_;
  uint64_t order_ = 0;
};

// A tcp_handler that records what happened, with optional hooks.
struct recorder final : net::tcp_handler {
  std::vector<net::tcp_conn> accepted;
  std::vector<std::pair<net::tcp_conn, int>> connected;
  std::map<net::tcp_conn, std::vector<std::byte>> data;
  std::vector<std::pair<net::tcp_conn, int>> closed;
  size_t writable = 0;
  std::function<void(net::tcp_conn, std::span<const std::byte>)> data_hook;
  std::function<void(net::tcp_conn)> accept_hook;

  void on_accept(net::tcp_conn c, uint16_t, net::ipv4_addr, uint16_t) override {
    accepted.push_back(c);
    if (accept_hook) accept_hook(c);
  }
  void on_connect(net::tcp_conn c, int err) override { connected.emplace_back(c, err); }
  void on_data(net::tcp_conn c, std::span<const std::byte> d) override {
    auto& v = data[c];
    v.insert(v.end(), d.begin(), d.end());
    if (data_hook) data_hook(c, d);
  }
  void on_writable(net::tcp_conn) override { ++writable; }
  void on_close(net::tcp_conn c, int err) override { closed.emplace_back(c, err); }
  [[nodiscard]] int close_error(net::tcp_conn c) const {
    for (const auto& [k, e] : closed) {
      if (k == c) return e;
    }
    return -1;
  }
};

// Two stacks on one wire: side 0 is "client" at 10.0.0.1, side 1 "server" at 10.0.0.2.
struct tcp_pair {
  static constexpr net::ipv4_addr a_addr = 0x0a000001, b_addr = 0x0a000002;
  test_wire wire;
  recorder a_events, b_events;
  std::unique_ptr<net::tcp_stack> a, b;

  explicit tcp_pair(net::tcp_config ca = {}, net::tcp_config cb = {}, uint64_t seed = 1)
      : wire(seed) {
    if (ca.random_seed == 0) ca.random_seed = seed * 2 + 1;
    if (cb.random_seed == 0) cb.random_seed = seed * 2 + 2;
    ca.start_us = wire.now_us;
    cb.start_us = wire.now_us;
    a = std::make_unique<net::tcp_stack>(wire.output(0), a_events, ca);
    b = std::make_unique<net::tcp_stack>(wire.output(1), b_events, cb);
    wire.attach(0, a.get());
    wire.attach(1, b.get());
  }

  // Listen on the server, connect from the client, run until both ends are established.
  // Returns {client conn, server conn} or invalid handles.
  std::pair<net::tcp_conn, net::tcp_conn> establish(uint16_t port = 2775,
                                                    uint64_t limit_us = 10'000'000) {
    if (b->listen(b_addr, port, 16) < 0) return {};
    int err = 0;
    const net::tcp_conn c = a->connect(a_addr, b_addr, port, err);
    if (c == net::invalid_tcp_conn) return {};
    const size_t before = b_events.accepted.size();
    wire.run(limit_us,
             [&] { return !a_events.connected.empty() && b_events.accepted.size() > before; });
    if (a_events.connected.empty() || a_events.connected.back().second != 0 ||
        b_events.accepted.size() <= before) {
      return {};
    }
    return {c, b_events.accepted.back()};
  }
};

}  // namespace smpp::test
