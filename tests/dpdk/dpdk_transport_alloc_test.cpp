// The steady-state path of dpdk_transport allocates nothing: once two instances over ring ports
// back to back are connected, echoing PDUs back and forth makes no heap allocation at all (the
// stack, TCP, the port and the transport are all preallocated). Prints the echo rate as well.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "alloc_counter.hpp"
#include "dpdk_child.hpp"
#include "dpdk_transport_pair.hpp"
#include "smpp/dataplane/dpdk/dpdk_transport.hpp"

namespace dp = smpp::dataplane::dpdk;
using smpp::dataplane::bytes_view;
using smpp::dataplane::conn_id;
using smpp::dataplane::invalid_conn;
using smpp::dataplane::peer_address;
using smpp::dataplane::transport;
using smpp::dataplane::transport_handler;
using smpp::testing::allocations;

namespace {

constexpr size_t pdu_bytes = 64;
constexpr int burst = 16;  // PDUs the client pipelines per round

class echo_handler final : public transport_handler {
 public:
  echo_handler(transport* t, bool echo) : t_(t), echo_(echo) {}
  void on_accept(conn_id c, uint32_t, const peer_address&) override { last = c; }
  void on_connect(conn_id c, int err) override {
    last = c;
    connect_err = err;
  }
  void on_data(conn_id c, bytes_view data) override {
    bytes += data.size();
    if (echo_ && !t_->send(c, data)) ++refused;
  }
  void on_writable(conn_id) override {}
  void on_close(conn_id, int) override { ++closes; }

  conn_id last = invalid_conn;
  int connect_err = -1;
  size_t bytes = 0;
  int refused = 0;
  int closes = 0;

 private:
  transport* t_;
  bool echo_;
};

dp::dpdk_transport_config config(smpp::net::ipv4_addr a) {
  dp::dpdk_transport_config c;
  c.address = a;
  c.limits.max_connections = 8;
  c.tcp.max_connections = 16;
  return c;
}

}  // namespace

TEST(DpdkTransportAlloc, EchoingPdusAllocatesNothingAfterSetup) {
  EXPECT_CHILD_OK(dp::testing::run_child([] {
    std::string error;
    auto e = dp::eal::init(dp::testing::test_eal_config({}), error);
    CHILD_CHECK(e.has_value());
    int rc = 1;
    {
      dp::testing::ring_pair wire;
      if (!wire.open(error)) std::fprintf(stderr, "[child] %s\n", error.c_str());
      CHILD_CHECK(wire.a.has_value() && wire.b.has_value());
      auto server = dp::dpdk_transport::create(*wire.a, 0, config(0x0a000001), error);
      auto client = dp::dpdk_transport::create(*wire.b, 0, config(0x0a000002), error);
      CHILD_CHECK(server != nullptr && client != nullptr);
      echo_handler server_h(server.get(), true);
      echo_handler client_h(client.get(), false);
      server->set_handler(&server_h);
      client->set_handler(&client_h);
      CHILD_CHECK(server->listen({"10.0.0.1", 2775}) == 0);
      int err = -1;
      const conn_id c = client->connect({"10.0.0.1", 2775}, err);
      CHILD_CHECK(c != invalid_conn);
      for (int i = 0; i < 1'000'000 && (client_h.connect_err != 0 || server_h.last == invalid_conn);
           ++i) {
        (void)server->poll(0);
        (void)client->poll(0);
      }
      CHILD_CHECK(client_h.connect_err == 0 && server_h.last != invalid_conn);

      std::byte pdu[pdu_bytes] = {};
      const auto run = [&](int rounds, size_t& expected) {
        bool send_failed = false;
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        for (int round = 0; round < rounds; ++round) {
          for (int i = 0; i < burst; ++i)
            send_failed |= !client->send(c, bytes_view(pdu, pdu_bytes));
          expected += burst * pdu_bytes;
          for (long spin = 0; spin < 1'000'000 && client_h.bytes < expected; ++spin) {
            (void)client->poll(0);
            (void)server->poll(0);
            if (spin % 1024 == 1023 && std::chrono::steady_clock::now() > until) break;
          }
          if (client_h.bytes < expected) return false;
        }
        return !send_failed;
      };
      size_t expected = 0;
      CHILD_CHECK(run(200, expected));  // warm-up: ARP resolved, timers armed, caches filled
      constexpr int rounds = 20'000;
      const long before = allocations();
      const auto start = std::chrono::steady_clock::now();
      CHILD_CHECK(run(rounds, expected));
      const double s =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const long allocated = allocations() - before;
      std::fprintf(stderr,
                   "[child] %d x %d PDUs of %zu octets echoed in %.3f s: %.0f PDUs/s echoed "
                   "(one thread driving both ends), %ld allocations\n",
                   rounds, burst, pdu_bytes, s, rounds * burst / s, allocated);
      CHILD_CHECK(allocated == 0);
      CHILD_CHECK(client_h.bytes == expected);
      CHILD_CHECK(server_h.refused == 0);
      CHILD_CHECK(client_h.closes + server_h.closes == 0);
      rc = 0;
    }
    return rc;
  }));
}
