// port_fanout (dataplane/dpdk/port_fanout.hpp): one worker's transports on several ports seen
// as one. Handles stay dense and never collide across ports, every call reaches the transport
// that owns the connection, listeners and outbound connections go to the right port.
#include "smpp/dataplane/dpdk/port_fanout.hpp"

#include <gtest/gtest.h>

#include <time.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "../support/fake_transport.hpp"
#include "thread_time.hpp"

namespace smpp::dataplane::dpdk {
namespace {

using dataplane::conn_id;
using testing::fake_transport;

struct recorder final : dataplane::transport_handler {
  struct accept_event {
    conn_id c;
    uint32_t listener;
  };
  void on_accept(conn_id c, uint32_t listener, const dataplane::peer_address&) override {
    accepts.push_back({c, listener});
  }
  void on_connect(conn_id c, int err) override { connects.emplace_back(c, err); }
  void on_data(conn_id c, dataplane::bytes_view data) override {
    data_on.push_back(c);
    bytes += data.size();
  }
  void on_writable(conn_id c) override { writable.push_back(c); }
  void on_close(conn_id c, int) override { closes.push_back(c); }
  std::vector<accept_event> accepts;
  std::vector<std::pair<conn_id, int>> connects;
  std::vector<conn_id> data_on;
  std::vector<conn_id> writable;
  std::vector<conn_id> closes;
  size_t bytes = 0;
};

constexpr uint32_t ip(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return uint32_t{a} << 24 | uint32_t{b} << 16 | uint32_t{c} << 8 | d;
}

// Port 0: 10.10.0.1/24 without a gateway; port 1: 10.11.0.1/24, gateway as given.
struct two_ports {
  explicit two_ports(bool gateway_on_1 = true, uint32_t idle_sleep_us = 0) {
    auto a = std::make_unique<fake_transport>();
    auto b = std::make_unique<fake_transport>();
    port0 = a.get();
    port1 = b.get();
    std::vector<port_fanout::member> m;
    m.push_back({std::move(a), ip(10, 10, 0, 1), 0xffffff00u, false});
    m.push_back({std::move(b), ip(10, 11, 0, 1), 0xffffff00u, gateway_on_1});
    fanout = std::make_unique<port_fanout>(std::move(m), idle_sleep_us);
    fanout->set_handler(&events);
  }
  fake_transport* port0;
  fake_transport* port1;
  std::unique_ptr<port_fanout> fanout;
  recorder events;
};

TEST(PortFanout, ListenOnAnyAddressListensOnEveryPortOnAnAddressOnlyThere) {
  two_ports t;
  EXPECT_EQ(t.fanout->listen({"0.0.0.0", 2775}), 0);
  EXPECT_EQ(t.port0->listeners.size(), 1u);
  EXPECT_EQ(t.port1->listeners.size(), 1u);
  EXPECT_EQ(t.fanout->listen({"10.11.0.1", 2776}), 1);
  EXPECT_EQ(t.port0->listeners.size(), 1u);
  ASSERT_EQ(t.port1->listeners.size(), 2u);
  EXPECT_EQ(t.port1->listeners[1].port, 2776);
  EXPECT_EQ(t.fanout->listen({"10.12.0.1", 2777}), -EADDRNOTAVAIL);
  EXPECT_EQ(t.fanout->listen({"::1", 2777}), -EINVAL);
}

TEST(PortFanout, AcceptedConnectionsGetDenseHandlesThatNeverCollideAcrossPorts) {
  two_ports t;
  ASSERT_EQ(t.fanout->listen({"0.0.0.0", 2775}), 0);
  ASSERT_EQ(t.fanout->listen({"10.11.0.1", 2776}), 1);
  std::vector<conn_id> under0, under1;
  for (int i = 0; i < 3; ++i) {
    under0.push_back(t.port0->accept("10.10.0.9"));
    under1.push_back(t.port1->accept("10.11.0.9"));
  }
  ASSERT_EQ(t.events.accepts.size(), 6u);
  std::set<uint32_t> slots;
  for (const auto& a : t.events.accepts) slots.insert(dataplane::conn_slot(a.c));
  // The fakes hand out slots 1, 2, 3 each: interleaved, the fan-out's are 2..7.
  EXPECT_EQ(slots, (std::set<uint32_t>{2, 3, 4, 5, 6, 7}));
  // The fakes' listener 0 is the fan-out's listener 0 on both ports.
  for (const auto& a : t.events.accepts) EXPECT_EQ(a.listener, 0u);
  EXPECT_EQ(t.fanout->connections(), 6u);
}

TEST(PortFanout, EveryCallReachesTheTransportThatOwnsTheConnection) {
  two_ports t;
  ASSERT_EQ(t.fanout->listen({"0.0.0.0", 2775}), 0);
  const conn_id under = t.port1->accept("10.11.0.9");
  ASSERT_EQ(t.events.accepts.size(), 1u);
  const conn_id c = t.events.accepts[0].c;
  const std::byte bytes[5] = {};
  ASSERT_TRUE(t.fanout->send(c, bytes));
  EXPECT_EQ(t.port1->conns[under].out.size(), 5u);
  EXPECT_EQ(t.fanout->queued(c), 5u);
  auto span = t.fanout->reserve(c, 3);
  ASSERT_EQ(span.size(), 3u);
  t.fanout->commit(c, 2);
  EXPECT_EQ(t.port1->conns[under].out.size(), 7u);
  t.fanout->pause_read(c, true);
  EXPECT_TRUE(t.port1->conns[under].read_paused);
  t.port1->deliver(under, bytes);
  ASSERT_EQ(t.events.data_on.size(), 1u);
  EXPECT_EQ(t.events.data_on[0], c);
  t.fanout->close(c, true);
  EXPECT_TRUE(t.port1->conns[under].aborted);
  EXPECT_EQ(t.fanout->poll(0), 1);
  ASSERT_EQ(t.events.closes.size(), 1u);
  EXPECT_EQ(t.events.closes[0], c);
  EXPECT_TRUE(t.port0->conns.empty());
}

TEST(PortFanout, ConnectLeavesByTheSubnetThenTheGatewayThenTheFirstPort) {
  two_ports t;
  int err = 0;
  const conn_id on_link = t.fanout->connect({"10.10.0.7", 2776}, err);
  ASSERT_NE(on_link, dataplane::invalid_conn);
  EXPECT_EQ(t.port0->pending_connects.size(), 1u);
  const conn_id via_gateway = t.fanout->connect({"192.0.2.1", 2776}, err);
  ASSERT_NE(via_gateway, dataplane::invalid_conn);
  ASSERT_EQ(t.port1->pending_connects.size(), 1u);
  EXPECT_EQ(dataplane::conn_slot(via_gateway) % 2, 1u);
  t.port1->complete_connect(t.port1->pending_connects[0]);
  ASSERT_EQ(t.events.connects.size(), 1u);
  EXPECT_EQ(t.events.connects[0].first, via_gateway);
  EXPECT_EQ(t.fanout->connect({"smsc.example.net", 2776}, err), dataplane::invalid_conn);
  EXPECT_EQ(err, EINVAL);

  two_ports no_gateway(false);
  ASSERT_NE(no_gateway.fanout->connect({"192.0.2.1", 2776}, err), dataplane::invalid_conn);
  EXPECT_EQ(no_gateway.port0->pending_connects.size(), 1u);
  EXPECT_TRUE(no_gateway.port1->pending_connects.empty());
}

TEST(PortFanout, AFailedConnectOnAPortIsReportedAsIs) {
  two_ports t;
  t.port1->refuse_connects = true;
  int err = 0;
  EXPECT_EQ(t.fanout->connect({"10.11.0.7", 2776}, err), dataplane::invalid_conn);
  EXPECT_EQ(err, 111);
}

using smpp::testing::thread_cpu_us;
using smpp::testing::thread_runnable_us;

struct poll_cost {
  int events = 0;
  uint64_t wall_us = 0;
  uint64_t cpu_us = 0;
  std::optional<uint64_t> runnable_us;
};
poll_cost measure_poll(port_fanout& f, int timeout_us) {
  const auto start = std::chrono::steady_clock::now();
  const uint64_t cpu = thread_cpu_us();
  const std::optional<uint64_t> runnable = thread_runnable_us();
  poll_cost c;
  c.events = f.poll(timeout_us);
  c.cpu_us = thread_cpu_us() - cpu;
  if (const std::optional<uint64_t> now = thread_runnable_us(); now && runnable) {
    c.runnable_us = *now - *runnable;
  }
  c.wall_us = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                        std::chrono::steady_clock::now() - start)
                                        .count());
  return c;
}

// Wall-clock bounds only: dpdk_port_fanout_test_perf (tests/CMakeLists.txt), Release, alone.
TEST(PortFanout, WithIdleSleepAnIdlePollSleepsAndWithoutItSpinsThroughItsTimeout) {
  constexpr int timeout_us = 50'000;
  two_ports sleeping(true, 1000);
  const poll_cost slept = measure_poll(*sleeping.fanout, timeout_us);
  EXPECT_EQ(slept.events, 0);
  EXPECT_GE(slept.wall_us, uint64_t{timeout_us});
  EXPECT_LT(slept.wall_us, uint64_t{timeout_us} + 30'000);
  EXPECT_LT(slept.cpu_us * 10, slept.wall_us * 3) << slept.cpu_us << " us CPU";  // < 30%

  // Pure poll mode spins: on a shared machine other threads take turns on its CPU, but it stays
  // runnable (on a CPU or waiting for one) all along, which a sleeping poll never is.
  two_ports spinning;
  const poll_cost spun = measure_poll(*spinning.fanout, timeout_us);
  EXPECT_EQ(spun.events, 0);
  EXPECT_GE(spun.wall_us, uint64_t{timeout_us});
  if (spun.runnable_us) {
    EXPECT_GE(*spun.runnable_us * 10, spun.wall_us * 8)
        << *spun.runnable_us << " us runnable, " << spun.cpu_us << " us CPU";
  } else {
    EXPECT_GE(spun.cpu_us * 10, spun.wall_us * 6) << spun.cpu_us << " us CPU (no schedstat)";
  }

  // An event owed by a member ends the poll at once, sleeping or not.
  ASSERT_EQ(sleeping.fanout->listen({"0.0.0.0", 2775}), 0);
  (void)sleeping.port0->accept("10.10.0.9");
  ASSERT_EQ(sleeping.events.accepts.size(), 1u);
  sleeping.fanout->close(sleeping.events.accepts[0].c, true);
  const poll_cost owed = measure_poll(*sleeping.fanout, timeout_us);
  EXPECT_EQ(owed.events, 1);
  EXPECT_LT(owed.wall_us, 5'000u);
}

}  // namespace
}  // namespace smpp::dataplane::dpdk
