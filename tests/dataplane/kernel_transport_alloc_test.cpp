// The hot path of the kernel transport allocates nothing: once connections are set up, echoing
// PDUs back and forth makes no heap allocation at all.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <new>

#include "smpp/dataplane/kernel_transport.hpp"

#include "alloc_counter.hpp"

using smpp::testing::g_allocations;

namespace smpp::dataplane {
namespace {

constexpr size_t pdu_bytes = 64;
constexpr int burst = 16;  // PDUs the client pipelines per round

// Echoes on the server, counts on the client; neither allocates.
class echo_handler final : public transport_handler {
 public:
  explicit echo_handler(transport* t, bool echo) : t_(t), echo_(echo) {}
  void on_accept(conn_id c, uint32_t, const peer_address&) override { last = c; }
  void on_connect(conn_id c, int err) override {
    last = c;
    connect_err = err;
    connected = true;
  }
  void on_data(conn_id c, bytes_view data) override {
    bytes += data.size();
    if (echo_ && !t_->send(c, data)) ++refused;
  }
  void on_writable(conn_id) override {}
  void on_close(conn_id, int) override { ++closes; }

  conn_id last = invalid_conn;
  bool connected = false;
  int connect_err = -1;
  size_t bytes = 0;
  int refused = 0;
  int closes = 0;

 private:
  transport* t_;
  bool echo_;
};

TEST(KernelTransportAlloc, EchoingPdusAllocatesNothingAfterSetup) {
  kernel_transport server;
  kernel_transport client;
  echo_handler server_h(&server, true);
  echo_handler client_h(&client, false);
  server.set_handler(&server_h);
  client.set_handler(&client_h);
  const int l = server.listen({"127.0.0.1", 0});
  ASSERT_GE(l, 0);
  int err = -1;
  const conn_id c = client.connect({"127.0.0.1", server.local_port(l)}, err);
  ASSERT_NE(c, invalid_conn);
  for (int i = 0; i < 100'000 && !(client_h.connected && server_h.last != invalid_conn); ++i) {
    server.poll(0);
    client.poll(0);
  }
  ASSERT_TRUE(client_h.connected);
  ASSERT_EQ(client_h.connect_err, 0);
  ASSERT_NE(server_h.last, invalid_conn);

  std::byte pdu[pdu_bytes] = {};
  constexpr int rounds = 5000;
  size_t expected = 0;
  bool send_failed = false;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  const long before = g_allocations.load();
  for (int round = 0; round < rounds; ++round) {
    for (int i = 0; i < burst; ++i) send_failed |= !client.send(c, bytes_view(pdu, pdu_bytes));
    expected += burst * pdu_bytes;
    for (long spin = 0; spin < 1'000'000 && client_h.bytes < expected; ++spin) {
      client.poll(0);
      server.poll(0);
      if (spin % 1024 == 1023 && std::chrono::steady_clock::now() > until) break;
    }
    if (client_h.bytes < expected) break;
  }
  const long allocations = g_allocations.load() - before;
  EXPECT_EQ(allocations, 0);
  EXPECT_EQ(client_h.bytes, expected);
  EXPECT_FALSE(send_failed);
  EXPECT_EQ(server_h.refused, 0);
  EXPECT_EQ(client_h.closes + server_h.closes, 0);
}

}  // namespace
}  // namespace smpp::dataplane
