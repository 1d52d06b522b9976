#include "smpp/dataplane/kernel_transport.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "transport_recorder.hpp"

namespace smpp::dataplane {
namespace {

using namespace std::chrono_literals;
using codec::as_bytes;

constexpr size_t KiB = 1024;
constexpr size_t MiB = 1024 * KiB;

using smpp::testing::recorder;

// A transport and the recorder it reports to.
struct node {
  explicit node(transport_limits limits = {}, kernel_transport_tuning tuning = {})
      : t(limits, tuning) {
    t.set_handler(&rec);
  }
  recorder rec;
  kernel_transport t;
};

// Polls the transports in turn until done() holds; bounded in iterations and in time.
template <class Done>
bool pump(std::initializer_list<kernel_transport*> ts, Done done,
          std::chrono::milliseconds limit = 10s) {
  const auto until = std::chrono::steady_clock::now() + limit;
  for (long i = 0; i < 20'000'000; ++i) {
    if (done()) return true;
    int handled = 0;
    for (kernel_transport* t : ts) handled += t->poll(0);
    if (handled == 0) (*ts.begin())->poll(200);  // nothing moved: wait a little
    if (i % 64 == 0 && std::chrono::steady_clock::now() > until) break;
  }
  return done();
}

using smpp::testing::fill_pattern;
using smpp::testing::pattern_at;
using smpp::testing::pattern_checker;

struct pair_ids {
  conn_id server = invalid_conn;
  conn_id client = invalid_conn;
};

// Connects client to server's listener on 127.0.0.1 and waits for both ends.
pair_ids connect_pair(node& server, node& client, int listener = -1) {
  if (listener < 0) listener = server.t.listen({"127.0.0.1", 0});
  EXPECT_GE(listener, 0);
  const uint16_t port = server.t.local_port(listener);
  const size_t accepts = server.rec.accepts.size();
  const size_t connects = client.rec.connects.size();
  int err = -1;
  const conn_id c = client.t.connect({"127.0.0.1", port}, err);
  EXPECT_NE(c, invalid_conn) << err;
  EXPECT_TRUE(pump({&server.t, &client.t}, [&] {
    return server.rec.accepts.size() > accepts && client.rec.connects.size() > connects;
  }));
  if (server.rec.accepts.size() <= accepts || client.rec.connects.size() <= connects) return {};
  EXPECT_EQ(client.rec.connects.back(), std::make_pair(c, 0));
  return {server.rec.accepts.back().c, c};
}

// A port nothing listens on (bound, read and released).
uint16_t unused_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sa;
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  EXPECT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len), 0);
  ::close(fd);
  return ntohs(sa.sin_port);
}

// A plain kernel peer that reads only when told to: its tiny receive buffer (set before
// listen(), so the accepted socket inherits it and autotuning stays off) makes a sender's
// kernel buffers fill up quickly.
class slow_peer {
 public:
  slow_peer() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    const int small = 4096;
    EXPECT_EQ(setsockopt(listen_fd_, SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    EXPECT_EQ(::listen(listen_fd_, 4), 0);
    EXPECT_EQ(getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&sa), &len), 0);
    port_ = ntohs(sa.sin_port);
  }
  ~slow_peer() {
    if (fd_ >= 0) ::close(fd_);
    ::close(listen_fd_);
  }
  slow_peer(const slow_peer&) = delete;
  slow_peer& operator=(const slow_peer&) = delete;

  [[nodiscard]] uint16_t port() const { return port_; }
  bool accept() {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 5000) != 1) return false;
    fd_ = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK);
    return fd_ >= 0;
  }
  // Reads what is there without waiting; returns the octets read.
  size_t drain(size_t at_most) {
    size_t total = 0;
    std::byte buf[16 * 1024];
    while (total < at_most) {
      const ssize_t n = ::recv(fd_, buf, std::min(sizeof buf, at_most - total), 0);
      if (n <= 0) break;
      total += static_cast<size_t>(n);
    }
    return total;
  }

 private:
  int listen_fd_ = -1;
  int fd_ = -1;
  uint16_t port_ = 0;
};

TEST(KernelTransport, AcceptsAndEchoesBetweenTwoInstancesOverIpv4) {
  node server;
  node client;
  const int l = server.t.listen({"127.0.0.1", 0});
  ASSERT_GE(l, 0);
  const uint16_t port = server.t.local_port(l);
  ASSERT_NE(port, 0);
  server.rec.data_hook = [&](conn_id c, bytes_view d) { EXPECT_TRUE(server.t.send(c, d)); };

  int err = -1;
  const conn_id c = client.t.connect({"127.0.0.1", port}, err);
  ASSERT_NE(c, invalid_conn);
  EXPECT_EQ(err, 0);
  EXPECT_NE(conn_generation(c), 0u) << "generation is never 0";
  ASSERT_TRUE(pump({&server.t, &client.t},
                   [&] { return !server.rec.accepts.empty() && !client.rec.connects.empty(); }));
  EXPECT_EQ(client.rec.connects[0], std::make_pair(c, 0));
  ASSERT_EQ(server.rec.accepts.size(), 1u);
  EXPECT_EQ(server.rec.accepts[0].listener, static_cast<uint32_t>(l));
  EXPECT_EQ(server.rec.accepts[0].peer.family, AF_INET);
  EXPECT_EQ(server.rec.accepts[0].peer.to_string().rfind("127.0.0.1:", 0), 0u);
  EXPECT_NE(server.rec.accepts[0].peer.port, 0);

  // Two sends before a poll: one gathering write carries both.
  ASSERT_TRUE(client.t.send(c, as_bytes("hello, ")));
  ASSERT_TRUE(client.t.send(c, as_bytes("world")));
  EXPECT_EQ(client.t.queued(c), 12u);
  ASSERT_TRUE(pump({&server.t, &client.t}, [&] { return client.rec.received[c].size() >= 12; }));
  EXPECT_EQ(client.rec.received[c], "hello, world");
  EXPECT_EQ(client.t.queued(c), 0u);
  EXPECT_EQ(client.t.stats().writev_calls, 1u);
  EXPECT_EQ(client.t.stats().bytes_out, 12u);
  EXPECT_EQ(client.t.stats().bytes_in, 12u);
  EXPECT_EQ(server.t.stats().bytes_in, 12u);
  EXPECT_EQ(server.t.stats().accepted, 1u);
  EXPECT_EQ(client.t.stats().connects, 1u);
  EXPECT_EQ(server.t.connections(), 1u);
  EXPECT_EQ(client.t.connections(), 1u);
}

TEST(KernelTransport, AcceptsAndEchoesOverIpv6) {
  node server;
  node client;
  const int l = server.t.listen({"::1", 0});
  if (l == -EADDRNOTAVAIL || l == -EAFNOSUPPORT) GTEST_SKIP() << "no IPv6 loopback";
  ASSERT_GE(l, 0);
  server.rec.data_hook = [&](conn_id c, bytes_view d) { EXPECT_TRUE(server.t.send(c, d)); };
  int err = -1;
  const conn_id c = client.t.connect({"::1", server.t.local_port(l)}, err);
  ASSERT_NE(c, invalid_conn) << err;
  ASSERT_TRUE(client.t.send(c, as_bytes("v6")));  // queued before the connect completes
  ASSERT_TRUE(pump({&server.t, &client.t}, [&] { return client.rec.received[c].size() >= 2; }));
  EXPECT_EQ(client.rec.received[c], "v6");
  ASSERT_EQ(server.rec.accepts.size(), 1u);
  EXPECT_EQ(server.rec.accepts[0].peer.family, AF_INET6);
  EXPECT_EQ(server.rec.accepts[0].peer.to_string().rfind("[::1]:", 0), 0u);
}

TEST(KernelTransport, ReportsWhichListenerAccepted) {
  node server;
  node client;
  const int first = server.t.listen({"127.0.0.1", 0});
  const int second = server.t.listen({"localhost", 0});
  ASSERT_GE(first, 0);
  ASSERT_EQ(second, first + 1);
  EXPECT_NE(server.t.local_port(first), server.t.local_port(second));
  EXPECT_EQ(server.t.local_port(7), 0);
  EXPECT_EQ(server.t.local_port(-1), 0);
  const pair_ids ids = connect_pair(server, client, second);
  ASSERT_NE(ids.server, invalid_conn);
  EXPECT_EQ(server.rec.accepts.back().listener, static_cast<uint32_t>(second));
}

TEST(KernelTransport, RejectsMalformedEndpoints) {
  node n;
  EXPECT_EQ(n.t.listen({"not-an-address", 1}), -EINVAL);
  int err = 0;
  EXPECT_EQ(n.t.connect({"999.1.1.1", 80}, err), invalid_conn);
  EXPECT_EQ(err, EINVAL);
  EXPECT_EQ(n.t.connections(), 0u);
}

TEST(KernelTransport, SmallSendsOfOnePollGoOutInOneWrite) {
  node server;
  node client;
  const pair_ids ids = connect_pair(server, client);
  ASSERT_NE(ids.client, invalid_conn);
  const uint64_t writes_before = client.t.stats().writev_calls;
  std::string expected;
  for (int i = 0; i < 1000; ++i) {
    const std::string pdu = "pdu-" + std::to_string(i) + ";";
    expected += pdu;
    ASSERT_TRUE(client.t.send(ids.client, as_bytes(pdu)));
  }
  client.t.poll(0);
  EXPECT_EQ(client.t.stats().writev_calls, writes_before + 1);
  ASSERT_TRUE(pump({&server.t, &client.t},
                   [&] { return server.rec.received[ids.server].size() >= expected.size(); }));
  EXPECT_EQ(server.rec.received[ids.server], expected);
}

TEST(KernelTransport, LargeTransferKeepsEveryOctetInOrderUnderBackPressure) {
  transport_limits sender_limits;
  sender_limits.max_send_queue_bytes = 256 * KiB;
  node sender(sender_limits);
  transport_limits receiver_limits;
  receiver_limits.recv_chunk_bytes = 16 * KiB;
  kernel_transport_tuning receiver_tuning;
  receiver_tuning.reads_per_poll = 1;
  node receiver(receiver_limits, receiver_tuning);
  const pair_ids ids = connect_pair(receiver, sender);
  ASSERT_NE(ids.client, invalid_conn);
  const conn_id c = ids.client;

  constexpr uint64_t total = 50 * MiB;
  pattern_checker check;
  receiver.rec.data_hook = [&](conn_id, bytes_view d) { check.take(d); };
  bool blocked = false;
  uint64_t produced = 0;
  uint64_t refusals = 0;
  size_t max_queued = 0;
  sender.rec.writable_hook = [&](conn_id w) {
    EXPECT_EQ(w, c);
    EXPECT_LE(sender.t.queued(c), sender_limits.max_send_queue_bytes / 2);
    blocked = false;
  };
  std::mt19937 rng(7);
  std::vector<std::byte> chunk(64 * KiB);
  auto produce = [&] {
    while (!blocked && produced < total) {
      const size_t n = std::min<uint64_t>(total - produced, rng() % (64 * KiB) + 1);
      if (rng() % 3 == 0) {  // zero-copy path
        const std::span<std::byte> room = sender.t.reserve(c, n);
        if (room.empty()) {
          blocked = true;
          ++refusals;
          break;
        }
        fill_pattern(room, produced);
        sender.t.commit(c, n);
      } else {
        fill_pattern({chunk.data(), n}, produced);
        if (!sender.t.send(c, bytes_view(chunk.data(), n))) {
          blocked = true;
          ++refusals;
          break;
        }
      }
      produced += n;
      max_queued = std::max(max_queued, sender.t.queued(c));
    }
  };

  // The receiver is polled one time in four and reads 16 KiB per poll: a slow consumer.
  const auto until = std::chrono::steady_clock::now() + 120s;
  for (long i = 0; i < 50'000'000 && check.consumed < total; ++i) {
    produce();
    sender.t.poll(0);
    if (i % 4 == 0) receiver.t.poll(0);
    if (i % 256 == 0 && std::chrono::steady_clock::now() > until) break;
  }
  EXPECT_EQ(check.consumed, total);
  EXPECT_EQ(check.first_bad, UINT64_MAX) << "first wrong octet at " << check.first_bad;
  EXPECT_GT(refusals, 0u);
  EXPECT_GT(sender.rec.writables.size(), 0u);
  EXPECT_LE(max_queued, sender_limits.max_send_queue_bytes);
  EXPECT_EQ(sender.t.stats().bytes_out, total);
  EXPECT_EQ(receiver.t.stats().bytes_in, total);
  EXPECT_GT(sender.t.stats().send_refused, 0u);
}

TEST(KernelTransport, SendIsRefusedAtTheLimitAndWritableFiresBelowHalf) {
  transport_limits limits;
  limits.max_send_queue_bytes = 64 * KiB;
  node client(limits);
  slow_peer peer;
  int err = -1;
  const conn_id c = client.t.connect({"127.0.0.1", peer.port()}, err);
  ASSERT_NE(c, invalid_conn);
  ASSERT_TRUE(peer.accept());
  ASSERT_TRUE(pump({&client.t}, [&] { return !client.rec.connects.empty(); }));

  std::vector<std::byte> too_big(64 * KiB + 1);
  EXPECT_FALSE(client.t.send(c, too_big)) << "larger than the whole queue";
  EXPECT_EQ(client.t.queued(c), 0u);

  // Fill the kernel's buffers and then the queue; the peer reads nothing.
  std::vector<std::byte> piece(4 * KiB);
  bool refused = false;
  for (int i = 0; i < 25'000 && !refused; ++i) {  // at most 100 MB offered
    const size_t before = client.t.queued(c);
    if (!client.t.send(c, piece)) {
      refused = true;
      EXPECT_EQ(client.t.queued(c), before) << "a refused send queues nothing";
      break;
    }
    client.t.poll(0);
  }
  ASSERT_TRUE(refused);
  EXPECT_LE(client.t.queued(c), limits.max_send_queue_bytes);
  EXPECT_GT(client.t.queued(c), limits.max_send_queue_bytes - piece.size());
  EXPECT_TRUE(client.rec.writables.empty());

  size_t queued_at_writable = SIZE_MAX;
  client.rec.writable_hook = [&](conn_id) { queued_at_writable = client.t.queued(c); };
  ASSERT_TRUE(pump({&client.t}, [&] {
    peer.drain(64 * KiB);
    return !client.rec.writables.empty();
  }));
  EXPECT_EQ(client.rec.writables.size(), 1u);
  EXPECT_LE(queued_at_writable, limits.max_send_queue_bytes / 2);
  EXPECT_TRUE(client.t.send(c, piece));
}

TEST(KernelTransport, ManyConnectionsOpenAndClose) {
  constexpr size_t count = 2000;
  transport_limits limits;
  limits.max_connections = 4096;
  node server(limits);
  node client(limits);
  const int l = server.t.listen({"127.0.0.1", 0});
  ASSERT_GE(l, 0);
  const uint16_t port = server.t.local_port(l);

  std::vector<conn_id> ids;
  for (size_t batch = 0; batch < count / 200; ++batch) {
    for (size_t i = 0; i < 200; ++i) {
      int err = -1;
      const conn_id c = client.t.connect({"127.0.0.1", port}, err);
      ASSERT_NE(c, invalid_conn) << err;
      ids.push_back(c);
    }
    ASSERT_TRUE(pump(
        {&server.t, &client.t},
        [&] {
          return client.rec.connects.size() == ids.size() &&
                 server.rec.accepts.size() == ids.size();
        },
        30s));
  }
  EXPECT_EQ(std::set<conn_id>(ids.begin(), ids.end()).size(), count);
  for (const auto& [c, err] : client.rec.connects) EXPECT_EQ(err, 0) << c;
  EXPECT_EQ(client.t.connections(), count);
  EXPECT_EQ(server.t.connections(), count);

  // Four octets on each, then every client closes.
  size_t server_bytes = 0;
  server.rec.data_hook = [&](conn_id, bytes_view d) { server_bytes += d.size(); };
  for (const conn_id c : ids) ASSERT_TRUE(client.t.send(c, as_bytes("ping")));
  ASSERT_TRUE(pump(
      {&server.t, &client.t}, [&] { return server_bytes == 4 * count; }, 30s));
  for (const conn_id c : ids) client.t.close(c);
  ASSERT_TRUE(pump(
      {&server.t, &client.t},
      [&] { return client.rec.closes.size() == count && server.rec.closes.size() == count; }, 30s));
  std::map<conn_id, int> per_id;
  for (const auto& [c, err] : client.rec.closes) {
    ++per_id[c];
    EXPECT_EQ(err, 0);
  }
  for (const auto& [c, err] : server.rec.closes) EXPECT_EQ(err, 0);
  EXPECT_EQ(per_id.size(), count);
  for (const auto& [c, n] : per_id) EXPECT_EQ(n, 1);
  EXPECT_EQ(client.t.connections(), 0u);
  EXPECT_EQ(server.t.connections(), 0u);
  EXPECT_EQ(client.t.stats().closed, count);
  EXPECT_EQ(server.t.stats().closed, count);
}

TEST(KernelTransport, MaxConnectionsBoundClosesTheExcessAndCountsIt) {
  transport_limits server_limits;
  server_limits.max_connections = 3;
  node server(server_limits);
  transport_limits client_limits;
  client_limits.max_connections = 5;
  node client(client_limits);
  const int l = server.t.listen({"127.0.0.1", 0});
  ASSERT_GE(l, 0);

  for (int i = 0; i < 5; ++i) {
    int err = -1;
    ASSERT_NE(client.t.connect({"127.0.0.1", server.t.local_port(l)}, err), invalid_conn);
  }
  int err = 0;
  EXPECT_EQ(client.t.connect({"127.0.0.1", server.t.local_port(l)}, err), invalid_conn);
  EXPECT_EQ(err, EMFILE);

  // The kernel completes every handshake before the server accepts.
  ASSERT_TRUE(pump({&client.t}, [&] { return client.rec.connects.size() == 5; }));
  ASSERT_TRUE(pump({&server.t, &client.t}, [&] {
    return server.t.stats().accepted + server.t.stats().rejected_over_limit == 5 &&
           client.rec.closes.size() == 2;
  }));
  EXPECT_EQ(server.t.stats().accepted, 3u);
  EXPECT_EQ(server.t.stats().rejected_over_limit, 2u);
  EXPECT_EQ(server.rec.accepts.size(), 3u);
  EXPECT_EQ(server.t.connections(), 3u);
  for (const auto& [c, e] : client.rec.closes) EXPECT_EQ(e, ECONNRESET);
  EXPECT_EQ(client.t.connections(), 3u);
}

TEST(KernelTransport, ConnectToAClosedPortReportsConnectionRefused) {
  node client;
  int err = -1;
  const conn_id c = client.t.connect({"127.0.0.1", unused_port()}, err);
  if (c == invalid_conn) {
    EXPECT_EQ(err, ECONNREFUSED);  // allowed to fail at once
    return;
  }
  ASSERT_TRUE(pump({&client.t}, [&] { return !client.rec.connects.empty(); }));
  EXPECT_EQ(client.rec.connects[0], std::make_pair(c, ECONNREFUSED));
  for (int i = 0; i < 20; ++i) client.t.poll(0);
  EXPECT_TRUE(client.rec.closes.empty()) << "a failed connect has no on_close";
  EXPECT_EQ(client.t.connections(), 0u);
  EXPECT_EQ(client.t.stats().connect_failures, 1u);
  EXPECT_FALSE(client.t.send(c, as_bytes("x")));
}

TEST(KernelTransport, ClosingAPendingConnectReportsCanceled) {
  node server;
  node client;
  const int l = server.t.listen({"127.0.0.1", 0});
  ASSERT_GE(l, 0);
  int err = -1;
  const conn_id c = client.t.connect({"127.0.0.1", server.t.local_port(l)}, err);
  ASSERT_NE(c, invalid_conn);
  client.t.close(c);
  EXPECT_TRUE(client.rec.connects.empty()) << "never from inside close()";
  ASSERT_TRUE(pump({&client.t}, [&] { return !client.rec.connects.empty(); }));
  EXPECT_EQ(client.rec.connects[0], std::make_pair(c, ECANCELED));
  for (int i = 0; i < 20; ++i) client.t.poll(0);
  EXPECT_TRUE(client.rec.closes.empty());
  EXPECT_EQ(client.t.connections(), 0u);
}

TEST(KernelTransport, GracefulCloseDeliversEveryQueuedOctetBeforeFin) {
  transport_limits limits;
  limits.max_send_queue_bytes = 8 * MiB;
  node client(limits);
  node server;
  const pair_ids ids = connect_pair(server, client);
  ASSERT_NE(ids.client, invalid_conn);

  constexpr size_t total = 4 * MiB;
  std::vector<std::byte> piece(64 * KiB);
  for (size_t off = 0; off < total; off += piece.size()) {
    fill_pattern(piece, off);
    ASSERT_TRUE(client.t.send(ids.client, piece));
  }
  client.t.close(ids.client);
  EXPECT_TRUE(client.rec.closes.empty()) << "never from inside close()";
  EXPECT_FALSE(client.t.send(ids.client, as_bytes("late"))) << "closing refuses new octets";
  EXPECT_TRUE(client.t.reserve(ids.client, 4).empty());

  pattern_checker check;
  uint64_t received_at_close = 0;
  server.rec.data_hook = [&](conn_id, bytes_view d) { check.take(d); };
  server.rec.close_hook = [&](conn_id, int) { received_at_close = check.consumed; };
  ASSERT_TRUE(pump({&server.t, &client.t},
                   [&] { return !client.rec.closes.empty() && !server.rec.closes.empty(); }));
  EXPECT_EQ(received_at_close, total);
  EXPECT_EQ(check.first_bad, UINT64_MAX);
  EXPECT_EQ(server.rec.closes[0], std::make_pair(ids.server, 0));
  EXPECT_EQ(client.rec.closes[0], std::make_pair(ids.client, 0));
  for (int i = 0; i < 50; ++i) {
    server.t.poll(0);
    client.t.poll(0);
  }
  EXPECT_EQ(client.rec.closes.size(), 1u);
  EXPECT_EQ(server.rec.closes.size(), 1u);
  EXPECT_EQ(client.t.connections(), 0u);
  EXPECT_EQ(server.t.connections(), 0u);
}

TEST(KernelTransport, GracefulCloseIsResetWhenThePeerNeverReads) {
  transport_limits limits;
  limits.max_send_queue_bytes = 16 * MiB;
  kernel_transport_tuning tuning;
  tuning.close_linger_ms = 100;
  node client(limits, tuning);
  slow_peer peer;
  int err = -1;
  const conn_id c = client.t.connect({"127.0.0.1", peer.port()}, err);
  ASSERT_NE(c, invalid_conn);
  ASSERT_TRUE(peer.accept());
  ASSERT_TRUE(pump({&client.t}, [&] { return !client.rec.connects.empty(); }));
  // More than the client's send buffer (4 MB at most here) and the peer's 4 KB can hold.
  std::vector<std::byte> piece(1 * MiB);
  for (int i = 0; i < 16; ++i) ASSERT_TRUE(client.t.send(c, piece));
  client.t.close(c);
  ASSERT_TRUE(pump(
      {&client.t}, [&] { return !client.rec.closes.empty(); }, 5s));
  EXPECT_EQ(client.rec.closes[0], std::make_pair(c, ETIMEDOUT));
  EXPECT_EQ(client.t.stats().close_timeouts, 1u);
  EXPECT_EQ(client.t.connections(), 0u);
}

TEST(KernelTransport, GracefulCloseEndsAfterTheLingerTimeWhenThePeerKeepsItsEndOpen) {
  kernel_transport_tuning tuning;
  tuning.close_linger_ms = 100;
  node client({}, tuning);
  slow_peer peer;
  int err = -1;
  const conn_id c = client.t.connect({"127.0.0.1", peer.port()}, err);
  ASSERT_NE(c, invalid_conn);
  ASSERT_TRUE(peer.accept());
  ASSERT_TRUE(pump({&client.t}, [&] { return !client.rec.connects.empty(); }));
  ASSERT_TRUE(client.t.send(c, as_bytes("unbind_resp")));
  client.t.close(c);
  // Everything is written and FIN sent; the peer's FIN never comes. Not an error: the kernel
  // still delivers what it holds.
  ASSERT_TRUE(pump(
      {&client.t}, [&] { return !client.rec.closes.empty(); }, 5s));
  EXPECT_EQ(client.rec.closes[0], std::make_pair(c, 0));
  EXPECT_EQ(client.t.stats().close_timeouts, 1u);
  EXPECT_EQ(peer.drain(64), 11u);
}

TEST(KernelTransport, FlushOutsidePollWritesButNotifiesFromTheNextPoll) {
  transport_limits limits;
  limits.max_send_queue_bytes = 64 * KiB;
  node client(limits);
  node server;
  const pair_ids ids = connect_pair(server, client);
  ASSERT_NE(ids.client, invalid_conn);
  const conn_id c = ids.client;
  std::vector<std::byte> piece(4 * KiB);
  int accepted = 0;
  while (accepted < 100 && client.t.send(c, piece)) ++accepted;
  ASSERT_EQ(accepted, 16) << "the queue holds exactly 64 KiB";
  client.t.flush();  // a fresh loopback socket takes 64 KiB at once
  EXPECT_TRUE(client.rec.writables.empty()) << "handlers run only from poll()";
  ASSERT_LE(client.t.queued(c), limits.max_send_queue_bytes / 2);
  client.t.poll(0);
  EXPECT_EQ(client.rec.writables.size(), 1u);
  ASSERT_TRUE(pump({&server.t, &client.t},
                   [&] { return server.rec.received[ids.server].size() == 64 * KiB; }));
}

TEST(KernelTransport, AbortCloseResetsAtOnce) {
  node client;
  node server;
  const pair_ids ids = connect_pair(server, client);
  ASSERT_NE(ids.client, invalid_conn);
  ASSERT_TRUE(client.t.send(ids.client, as_bytes("never sent")));
  client.t.close(ids.client, /*abort=*/true);
  EXPECT_TRUE(client.rec.closes.empty()) << "never from inside close()";
  EXPECT_FALSE(client.t.send(ids.client, as_bytes("x")));
  EXPECT_EQ(client.t.queued(ids.client), 0u);
  ASSERT_TRUE(pump({&server.t, &client.t},
                   [&] { return !client.rec.closes.empty() && !server.rec.closes.empty(); }));
  EXPECT_EQ(client.rec.closes[0], std::make_pair(ids.client, 0));
  EXPECT_EQ(server.rec.closes[0], std::make_pair(ids.server, ECONNRESET));
  EXPECT_TRUE(server.rec.received[ids.server].empty());
  for (int i = 0; i < 50; ++i) {
    server.t.poll(0);
    client.t.poll(0);
  }
  EXPECT_EQ(client.rec.closes.size(), 1u);
  EXPECT_EQ(server.rec.closes.size(), 1u);
}

TEST(KernelTransport, PeerEofDeliversOnCloseExactlyOnceAfterTheLastOctets) {
  node client;
  node server;
  const pair_ids ids = connect_pair(server, client);
  ASSERT_NE(ids.client, invalid_conn);
  std::string received_at_close;
  client.rec.close_hook = [&](conn_id c, int) { received_at_close = client.rec.received[c]; };
  ASSERT_TRUE(server.t.send(ids.server, as_bytes("bye")));
  server.t.close(ids.server);
  ASSERT_TRUE(pump({&server.t, &client.t},
                   [&] { return !client.rec.closes.empty() && !server.rec.closes.empty(); }));
  EXPECT_EQ(received_at_close, "bye");
  EXPECT_EQ(client.rec.closes[0], std::make_pair(ids.client, 0));
  client.t.close(ids.client);  // stale by now: no effect
  client.t.close(ids.client, true);
  for (int i = 0; i < 50; ++i) {
    server.t.poll(0);
    client.t.poll(0);
  }
  EXPECT_EQ(client.rec.closes_of(ids.client), 1);
  EXPECT_EQ(server.rec.closes_of(ids.server), 1);
  EXPECT_EQ(client.rec.closes.size(), 1u);
}

TEST(KernelTransport, BothEndsClosingAtOnceEachSeeOneOnClose) {
  node client;
  node server;
  const pair_ids ids = connect_pair(server, client);
  ASSERT_NE(ids.client, invalid_conn);
  ASSERT_TRUE(client.t.send(ids.client, as_bytes("a")));
  ASSERT_TRUE(server.t.send(ids.server, as_bytes("b")));
  client.t.close(ids.client);
  server.t.close(ids.server);
  ASSERT_TRUE(pump({&server.t, &client.t},
                   [&] { return !client.rec.closes.empty() && !server.rec.closes.empty(); }));
  for (int i = 0; i < 50; ++i) {
    server.t.poll(0);
    client.t.poll(0);
  }
  EXPECT_EQ(client.rec.closes.size(), 1u);
  EXPECT_EQ(server.rec.closes.size(), 1u);
  EXPECT_EQ(client.rec.closes[0].second, 0);
  EXPECT_EQ(server.rec.closes[0].second, 0);
  EXPECT_TRUE(client.rec.received[ids.client].empty()) << "no on_data after close()";
}

TEST(KernelTransport, StaleConnIdIsRejectedAfterClose) {
  node client;
  node server;
  const pair_ids first = connect_pair(server, client);
  ASSERT_NE(first.client, invalid_conn);
  client.t.close(first.client, true);
  ASSERT_TRUE(pump({&server.t, &client.t},
                   [&] { return !client.rec.closes.empty() && !server.rec.closes.empty(); }));
  EXPECT_FALSE(client.t.send(first.client, as_bytes("x")));
  EXPECT_TRUE(client.t.reserve(first.client, 8).empty());
  EXPECT_EQ(client.t.queued(first.client), 0u);
  client.t.commit(first.client, 8);
  client.t.close(first.client);

  // The slot comes back with a new generation: the old id still reaches nothing.
  const pair_ids second = connect_pair(server, client, 0);
  ASSERT_NE(second.client, invalid_conn);
  EXPECT_EQ(static_cast<uint32_t>(second.client), static_cast<uint32_t>(first.client));
  EXPECT_NE(second.client, first.client);
  EXPECT_FALSE(client.t.send(first.client, as_bytes("x")));
  client.t.close(first.client, true);
  EXPECT_TRUE(client.t.send(second.client, as_bytes("ok")));
  EXPECT_FALSE(client.t.send(invalid_conn, as_bytes("x")));
  EXPECT_FALSE(client.t.send(conn_id{0xffff'ffff}, as_bytes("x")));
  EXPECT_FALSE(client.t.send(make_conn_id(12345, 1), as_bytes("x")));
  ASSERT_TRUE(
      pump({&server.t, &client.t}, [&] { return server.rec.received[second.server].size() >= 2; }));
  EXPECT_EQ(server.rec.received[second.server], "ok");
  EXPECT_EQ(client.rec.closes.size(), 1u);
}

TEST(KernelTransport, ReusePortLetsTwoInstancesListenOnOnePort) {
  node a;
  node b;
  node client;
  const int la = a.t.listen({"127.0.0.1", 0});
  ASSERT_GE(la, 0);
  const uint16_t port = a.t.local_port(la);
  const int lb = b.t.listen({"127.0.0.1", port});
  ASSERT_GE(lb, 0) << "SO_REUSEPORT: " << -lb;
  EXPECT_EQ(b.t.local_port(lb), port);

  constexpr size_t count = 64;
  for (size_t i = 0; i < count; ++i) {
    int err = -1;
    ASSERT_NE(client.t.connect({"127.0.0.1", port}, err), invalid_conn) << err;
  }
  ASSERT_TRUE(pump({&a.t, &b.t, &client.t}, [&] {
    return a.rec.accepts.size() + b.rec.accepts.size() == count &&
           client.rec.connects.size() == count;
  }));
  EXPECT_EQ(a.t.connections() + b.t.connections(), count);
  // How the kernel spreads them is its business; with 64 flows both almost surely get some.
  RecordProperty("accepted_a", static_cast<int>(a.rec.accepts.size()));
  RecordProperty("accepted_b", static_cast<int>(b.rec.accepts.size()));
}

TEST(KernelTransport, ReserveAndCommitQueueInPlace) {
  transport_limits limits;
  limits.max_send_queue_bytes = 4 * KiB;
  node client(limits);
  node server;
  const pair_ids ids = connect_pair(server, client);
  ASSERT_NE(ids.client, invalid_conn);
  const conn_id c = ids.client;

  std::span<std::byte> room = client.t.reserve(c, 100);
  ASSERT_EQ(room.size(), 100u);
  for (size_t i = 0; i < room.size(); ++i) room[i] = static_cast<std::byte>('a' + i % 26);
  EXPECT_TRUE(client.t.reserve(c, 10).empty()) << "one reservation at a time";
  EXPECT_FALSE(client.t.send(c, as_bytes("x"))) << "not while a reservation is open";
  EXPECT_EQ(client.t.queued(c), 0u);
  client.t.commit(c, 60);
  EXPECT_EQ(client.t.queued(c), 60u);
  client.t.commit(c, 10);  // nothing open: no effect
  EXPECT_EQ(client.t.queued(c), 60u);

  room = client.t.reserve(c, 50);
  ASSERT_EQ(room.size(), 50u);
  client.t.commit(c, 0);  // gives it all back
  EXPECT_EQ(client.t.queued(c), 60u);
  EXPECT_TRUE(client.t.send(c, as_bytes("tail")));
  EXPECT_TRUE(client.t.reserve(c, 4 * KiB - 63).empty()) << "beyond max_send_queue_bytes";
  EXPECT_EQ(client.t.reserve(c, 4 * KiB - 64).size(), 4 * KiB - 64) << "exactly up to it";
  client.t.commit(c, 0);

  std::string expected;
  for (size_t i = 0; i < 60; ++i) expected += static_cast<char>('a' + i % 26);
  expected += "tail";
  ASSERT_TRUE(pump({&server.t, &client.t},
                   [&] { return server.rec.received[ids.server].size() >= expected.size(); }));
  EXPECT_EQ(server.rec.received[ids.server], expected);
}

// Many small reservations through a queue that wraps around: every octet once, in order.
TEST(KernelTransport, ReservationsAcrossTheQueueWrapKeepOrder) {
  transport_limits limits;
  limits.max_send_queue_bytes = 8 * KiB;
  kernel_transport_tuning tuning;
  tuning.initial_send_queue_bytes = 1 * KiB;  // also exercises growth
  node client(limits, tuning);
  // A slow reader keeps the sender's socket full, so writes are partial and the queue wraps.
  transport_limits server_limits;
  server_limits.recv_chunk_bytes = 2 * KiB;
  kernel_transport_tuning server_tuning;
  server_tuning.reads_per_poll = 1;
  node server(server_limits, server_tuning);
  const pair_ids ids = connect_pair(server, client);
  ASSERT_NE(ids.client, invalid_conn);
  pattern_checker check;
  server.rec.data_hook = [&](conn_id, bytes_view d) { check.take(d); };
  constexpr uint64_t total = 8 * MiB;
  uint64_t produced = 0;
  std::mt19937 rng(11);
  const auto until = std::chrono::steady_clock::now() + 60s;
  for (long i = 0; i < 10'000'000 && check.consumed < total; ++i) {
    for (int k = 0; k < 8 && produced < total; ++k) {
      const size_t n = std::min<uint64_t>(total - produced, rng() % 3000 + 1);
      const std::span<std::byte> room = client.t.reserve(ids.client, n);
      if (room.empty()) break;
      fill_pattern(room, produced);
      const size_t used = rng() % 4 == 0 ? n / 2 : n;  // sometimes commit less
      client.t.commit(ids.client, used);
      produced += used;
    }
    client.t.poll(0);
    if (i % 2 == 0) server.t.poll(0);
    if (i % 256 == 0 && std::chrono::steady_clock::now() > until) break;
  }
  EXPECT_EQ(check.consumed, total);
  EXPECT_EQ(check.first_bad, UINT64_MAX);
}

TEST(KernelTransport, ReadBudgetCarriesOverWithoutANewEdge) {
  transport_limits limits;
  limits.recv_chunk_bytes = 1 * KiB;
  kernel_transport_tuning tuning;
  tuning.reads_per_poll = 1;
  node receiver(limits, tuning);
  node sender;
  const pair_ids ids = connect_pair(receiver, sender);
  ASSERT_NE(ids.client, invalid_conn);

  // The sender goes quiet once its 64 KiB are in the kernel: after the first edge, only the
  // receiver's own backlog can bring the rest in, 1 KiB per poll.
  std::vector<std::byte> data(64 * KiB);
  fill_pattern(data, 0);
  ASSERT_TRUE(sender.t.send(ids.client, data));
  ASSERT_TRUE(pump({&sender.t}, [&] { return sender.t.queued(ids.client) == 0; }));
  pattern_checker check;
  receiver.rec.data_hook = [&](conn_id, bytes_view d) {
    EXPECT_LE(d.size(), 1 * KiB);
    check.take(d);
  };
  ASSERT_TRUE(pump({&receiver.t}, [&] { return check.consumed == data.size(); }));
  EXPECT_EQ(check.first_bad, UINT64_MAX);
  EXPECT_GT(receiver.t.stats().read_deferrals, 0u);
  EXPECT_GE(receiver.t.stats().reads, 64u);
}

TEST(KernelTransport, HandlerMayCloseFromInsideOnData) {
  node client;
  node server;
  const pair_ids ids = connect_pair(server, client);
  ASSERT_NE(ids.client, invalid_conn);
  int data_calls = 0;
  server.rec.data_hook = [&](conn_id c, bytes_view) {
    ++data_calls;
    EXPECT_TRUE(server.t.send(c, as_bytes("unbind_resp")));
    server.t.close(c);
    EXPECT_EQ(server.rec.closes_of(c), 0);
  };
  ASSERT_TRUE(client.t.send(ids.client, as_bytes("unbind")));
  ASSERT_TRUE(pump({&server.t, &client.t},
                   [&] { return !client.rec.closes.empty() && !server.rec.closes.empty(); }));
  EXPECT_EQ(data_calls, 1);
  EXPECT_EQ(client.rec.received[ids.client], "unbind_resp");
  EXPECT_EQ(server.rec.closes[0], std::make_pair(ids.server, 0));
}

TEST(KernelTransport, PausedReadHoldsTheSenderBackAndResumesWithEveryOctet) {
  node receiver;
  node sender;
  const pair_ids ids = connect_pair(receiver, sender);
  ASSERT_NE(ids.client, invalid_conn);
  pattern_checker check;
  bool pause_next = true;
  receiver.rec.data_hook = [&](conn_id c, bytes_view d) {
    check.take(d);
    if (pause_next) {
      receiver.t.pause_read(c, true);  // from inside on_data: no further on_data
      pause_next = false;
    }
  };
  // More than the kernel buffers hold (loopback autotuning stays below this), sent in pieces.
  const size_t total = 32 * MiB;
  uint64_t offered = 0;
  std::vector<std::byte> piece(256 * KiB);
  auto offer = [&] {
    while (offered < total) {
      fill_pattern(piece, offered);
      if (!sender.t.send(ids.client, piece)) break;
      offered += piece.size();
    }
  };
  offer();
  ASSERT_TRUE(pump({&receiver.t, &sender.t}, [&] { return check.consumed > 0; }));
  // Paused: the receiver takes nothing more however long the sender keeps offering, and the
  // sender's queue stops draining (TCP flow control, not loss).
  const uint64_t at_pause = check.consumed;
  for (int i = 0; i < 200; ++i) {
    offer();
    receiver.t.poll(0);
    sender.t.poll(i % 20 == 0 ? 1000 : 0);
  }
  EXPECT_EQ(check.consumed, at_pause);
  EXPECT_LT(offered, total);
  EXPECT_GT(sender.t.queued(ids.client), 0u);
  // Resumed outside on_data: everything arrives, in order, without a new edge from the sender.
  receiver.t.pause_read(ids.server, false);
  ASSERT_TRUE(pump(
      {&receiver.t, &sender.t},
      [&] {
        offer();
        return check.consumed == total;
      },
      30s));
  EXPECT_EQ(check.first_bad, UINT64_MAX);
  // A stale handle is ignored.
  receiver.t.pause_read(invalid_conn, true);
}

}  // namespace
}  // namespace smpp::dataplane
