// The steady-state path allocates nothing: SMPP-sized requests and responses between two stacks
// over an allocation-free wire (fixed packet slots), with every operator new counted. The test
// also prints the request/response rate it saw (both stacks and the wire on one core).
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "alloc_counter.hpp"
#include "smpp/net/tcp.hpp"

namespace net = smpp::net;

namespace {

constexpr net::ipv4_addr client_addr = 0x0a000001, server_addr = 0x0a000002;

// Fixed slots, FIFO, zero delay: what one side sends is input to the other at deliver().
class slot_wire {
 public:
  struct side final : net::ip_output {
    slot_wire* w = nullptr;
    int index = 0;
    std::span<std::byte> alloc(net::ipv4_addr, size_t length) override {
      if (length > slot_bytes || w->count_ == slots) return {};
      return {w->slot(w->tail()).data(), length};
    }
    void send(net::ipv4_addr src, net::ipv4_addr dst, uint8_t, size_t length) override {
      packet& p = w->ring_[w->tail()];
      p.to = 1 - index;
      p.src = src;
      p.dst = dst;
      p.len = length;
      ++w->count_;
    }
    size_t max_payload(net::ipv4_addr) const noexcept override { return 1480; }
  };

  slot_wire() {
    sides_[0].w = sides_[1].w = this;
    sides_[1].index = 1;
  }
  side& output(int i) { return sides_[i]; }
  // Delivers everything queued (and what that provokes) to the two stacks.
  void deliver(net::tcp_stack* stacks[2], uint64_t now_us) {
    while (count_ > 0) {
      packet& p = ring_[head_];
      stacks[p.to]->input(p.src, p.dst, {slot(head_).data(), p.len}, now_us);
      head_ = (head_ + 1) % slots;
      --count_;
      if (count_ == 0) {
        stacks[0]->flush();
        stacks[1]->flush();
      }
    }
  }

 private:
  static constexpr size_t slots = 1024, slot_bytes = 1600;
  struct packet {
    int to = 0;
    net::ipv4_addr src = 0, dst = 0;
    size_t len = 0;
  };
  size_t tail() const { return (head_ + count_) % slots; }
  std::span<std::byte> slot(size_t i) { return {mem_.data() + i * slot_bytes, slot_bytes}; }
  std::array<std::byte, slots * slot_bytes> mem_{};
  std::array<packet, slots> ring_{};
  size_t head_ = 0, count_ = 0;
  side sides_[2];
};

// Echoes every byte it receives (the server), or counts them (the client).
struct echo final : net::tcp_handler {
  net::tcp_stack* stack = nullptr;
  bool reply = false;
  net::tcp_conn conn = net::invalid_tcp_conn;
  size_t received = 0;
  void on_accept(net::tcp_conn c, uint16_t, net::ipv4_addr, uint16_t) override { conn = c; }
  void on_connect(net::tcp_conn c, int err) override {
    if (err == 0) conn = c;
  }
  void on_data(net::tcp_conn c, std::span<const std::byte> d) override {
    received += d.size();
    if (reply) (void)stack->send(c, d);
  }
  void on_writable(net::tcp_conn) override {}
  void on_close(net::tcp_conn, int) override { conn = net::invalid_tcp_conn; }
};

}  // namespace

TEST(TcpAlloc, RequestResponseSteadyStateAllocatesNothing) {
  auto wire = std::make_unique<slot_wire>();
  echo client, server;
  server.reply = true;
  net::tcp_config cfg;
  cfg.max_connections = 16;
  cfg.random_seed = 1;
  auto a = std::make_unique<net::tcp_stack>(wire->output(0), client, cfg);
  auto b = std::make_unique<net::tcp_stack>(wire->output(1), server, cfg);
  client.stack = a.get();
  server.stack = b.get();
  net::tcp_stack* stacks[2] = {a.get(), b.get()};
  ASSERT_GE(b->listen(server_addr, 2775, 8), 0);
  int err = 0;
  (void)a->connect(client_addr, server_addr, 2775, err);
  uint64_t now = 0;
  wire->deliver(stacks, now);
  ASSERT_NE(client.conn, net::invalid_tcp_conn);
  ASSERT_NE(server.conn, net::invalid_tcp_conn);

  // A submit_sm-sized request, 32 in a burst, answered by an echo of the same size.
  std::array<std::byte, 120> pdu{};
  // burst 32: requests written together share segments; burst 1: one segment per request
  // and one per response (the per-segment cost).
  auto exchange = [&](int rounds, int burst) {
    for (int r = 0; r < rounds; ++r) {
      for (int k = 0; k < burst; ++k) {
        ASSERT_EQ(a->send(client.conn, pdu), pdu.size());
        if (burst == 1) a->flush();
      }
      a->flush();
      wire->deliver(stacks, now);
      now += 50;
      a->timers(now);
      b->timers(now);
      wire->deliver(stacks, now);
    }
  };
  exchange(200, 32);  // warm up: windows open, timers armed once
  for (const int burst : {32, 1}) {
    const size_t got_before = client.received;
    const uint64_t segs_before = a->counters().segments_out + b->counters().segments_out;
    const long before = smpp::testing::allocations();
    const auto t0 = std::chrono::steady_clock::now();
    const int rounds = burst == 1 ? 100000 : 5000;
    exchange(rounds, burst);
    const auto t1 = std::chrono::steady_clock::now();
    EXPECT_EQ(smpp::testing::allocations(), before) << "burst " << burst;
    const size_t pairs = size_t(rounds) * size_t(burst);
    EXPECT_EQ(client.received - got_before, pairs * pdu.size());
    const uint64_t segs = a->counters().segments_out + b->counters().segments_out - segs_before;
    const double s = std::chrono::duration<double>(t1 - t0).count();
    std::printf(
        "burst %2d: %zu request/response pairs, %lu segments in %.3f s: %.0f pairs/s, "
        "%.0f segments/s (both stacks and the wire, one core)\n",
        burst, pairs, static_cast<unsigned long>(segs), s, static_cast<double>(pairs) / s,
        static_cast<double>(segs) / s);
  }
}
