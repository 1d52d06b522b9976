// dpdk_transport driven through the transport interface only: two instances in one EAL process
// over two ring ports wired back to back (A's TX ring is B's RX ring and the other way round),
// with and without fault injection; and one instance on a TAP device in a namespace the test
// creates, with the Linux kernel's TCP as the peer.
#include "smpp/dataplane/dpdk/dpdk_transport.hpp"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <rte_ethdev.h>
#include <rte_ring.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dpdk_child.hpp"
#include "dpdk_transport_pair.hpp"
#include "rate_bounds.hpp"
#include "smpp/dataplane/dpdk/port.hpp"
#include "smpp/dataplane/tls.hpp"
#include "transport_recorder.hpp"

namespace dp = smpp::dataplane::dpdk;
namespace net = smpp::net;
using dp::testing::ring_pair;
using dp::testing::run_child;
using dp::testing::test_eal_config;
using smpp::dataplane::bytes_view;
using smpp::dataplane::conn_id;
using smpp::dataplane::endpoint;
using smpp::dataplane::invalid_conn;
using smpp::dataplane::peer_address;
using smpp::dataplane::transport_handler;
using smpp::dataplane::transport_limits;
using namespace std::chrono_literals;
using smpp::testing::fill_pattern;
using smpp::testing::pattern_at;
using smpp::testing::pattern_checker;
using smpp::testing::recorder;

namespace {

constexpr size_t KiB = 1024;
constexpr size_t MiB = 1024 * KiB;
constexpr net::ipv4_addr addr_a = 0x0a000001;  // 10.0.0.1
constexpr net::ipv4_addr addr_b = 0x0a000002;  // 10.0.0.2

bytes_view bytes_of(std::string_view s) {
  return bytes_view(reinterpret_cast<const std::byte*>(s.data()), s.size());
}

// Test-sized limits: small tables, short TIME_WAIT, a LAN-like retransmission timer.
dp::dpdk_transport_config test_config(net::ipv4_addr addr, transport_limits limits = {}) {
  dp::dpdk_transport_config c;
  c.address = addr;
  c.prefix_len = 24;
  c.limits = limits;
  if (c.limits.max_connections > 32) c.limits.max_connections = 32;
  c.tcp.max_connections = 64;
  c.tcp.max_listeners = 4;
  c.tcp.msl_us = 100'000;
  c.tcp.initial_rto_us = 100'000;
  c.tcp.min_rto_us = 20'000;
  c.tcp.random_seed = addr;
  c.close_linger_ms = 3000;
  return c;
}

struct node {
  std::unique_ptr<dp::dpdk_transport> t;
  recorder rec;
};

// Polls the transports in turn until done() holds; bounded in iterations and in time.
template <class Done>
bool pump(std::initializer_list<dp::dpdk_transport*> ts, Done done,
          std::chrono::milliseconds limit = 10s) {
  const auto until = std::chrono::steady_clock::now() + limit;
  for (long i = 0; i < 200'000'000; ++i) {
    if (done()) return true;
    for (dp::dpdk_transport* t : ts) (void)t->poll(0);
    if (i % 64 == 0 && std::chrono::steady_clock::now() > until) break;
  }
  return done();
}

// Runs `body(a, b)` in a child with an EAL, the ring pair, and one transport on each port
// (A at 10.0.0.1, B at 10.0.0.2). Configs are adjusted by `tune`.
template <class Body>
int with_pair(Body body, std::function<void(dp::dpdk_transport_config&)> tune_a = {},
              std::function<void(dp::dpdk_transport_config&)> tune_b = {}) {
  std::string error;
  auto e = dp::eal::init(test_eal_config({}), error);
  if (!e) std::fprintf(stderr, "[child] %s\n", error.c_str());
  CHILD_CHECK(e.has_value());
  int rc = 1;
  {
    ring_pair wire;
    if (!wire.open(error)) std::fprintf(stderr, "[child] %s\n", error.c_str());
    CHILD_CHECK(wire.a.has_value() && wire.b.has_value());
    node a, b;
    dp::dpdk_transport_config ca = test_config(addr_a);
    dp::dpdk_transport_config cb = test_config(addr_b);
    if (tune_a) tune_a(ca);
    if (tune_b) tune_b(cb);
    a.t = dp::dpdk_transport::create(*wire.a, 0, ca, error);
    if (!a.t) std::fprintf(stderr, "[child] %s\n", error.c_str());
    CHILD_CHECK(a.t != nullptr);
    b.t = dp::dpdk_transport::create(*wire.b, 0, cb, error);
    if (!b.t) std::fprintf(stderr, "[child] %s\n", error.c_str());
    CHILD_CHECK(b.t != nullptr);
    a.t->set_handler(&a.rec);
    b.t->set_handler(&b.rec);
    rc = body(a, b);
    a.t.reset();
    b.t.reset();
  }
  return rc;
}

// What a failing test prints: where frames went.
void dump(const char* who, const dp::dpdk_transport& t) {
  const net::stack_counters s = t.stack_counters();
  const auto& l = t.link_counters();
  const auto& tc = t.tcp_counters();
  const auto m = t.mac();
  std::fprintf(stderr,
               "[child] %s mac %02x:%02x:%02x:%02x:%02x:%02x link tx %llu drop %llu nobuf %llu rx "
               "%llu | eth rx %llu not-for-us %llu | arp rx %llu req %llu rep %llu bogus %llu "
               "tx-req %llu tx-rep %llu | ip rx %llu deliv %llu tx %llu noroute %llu arpdrop %llu "
               "| tcp in %llu out %llu rst-in %llu rst-out %llu retx %llu | drops paws %llu "
               "window %llu ack %llu reasm %llu other %llu short %llu csum %llu challenge %llu\n",
               who, unsigned(m[0]), unsigned(m[1]), unsigned(m[2]), unsigned(m[3]), unsigned(m[4]),
               unsigned(m[5]), (unsigned long long)l.tx_frames, (unsigned long long)l.tx_dropped,
               (unsigned long long)l.tx_no_buffer, (unsigned long long)l.rx_frames,
               (unsigned long long)s.eth.rx_frames, (unsigned long long)s.eth.rx_not_for_us,
               (unsigned long long)s.arp.rx_packets, (unsigned long long)s.arp.rx_requests_for_us,
               (unsigned long long)s.arp.rx_replies, (unsigned long long)s.arp.rx_bogus_sender,
               (unsigned long long)s.arp.tx_requests, (unsigned long long)s.arp.tx_replies,
               (unsigned long long)s.ip.rx_packets, (unsigned long long)s.ip.rx_delivered,
               (unsigned long long)s.ip.tx_packets, (unsigned long long)s.ip.tx_no_route,
               (unsigned long long)s.ip.tx_arp_dropped, (unsigned long long)tc.segments_in,
               (unsigned long long)tc.segments_out, (unsigned long long)tc.rst_in,
               (unsigned long long)tc.rst_out, (unsigned long long)tc.retransmits,
               (unsigned long long)tc.drop_paws, (unsigned long long)tc.drop_out_of_window,
               (unsigned long long)tc.drop_bad_ack, (unsigned long long)tc.drop_reassembly,
               (unsigned long long)tc.drop_other, (unsigned long long)tc.drop_short,
               (unsigned long long)tc.drop_checksum, (unsigned long long)tc.challenge_acks);
}

void dump_conn(const char* who, const dp::dpdk_transport& t, conn_id c) {
  net::tcp_conn_info i;
  if (!t.tcp_info(c, i)) {
    std::fprintf(stderr, "[child] %s conn %llx: stale\n", who, (unsigned long long)c);
    return;
  }
  std::fprintf(stderr,
               "[child] %s conn %s queued %zu tcp-send %u tcp-recv %u una %u nxt %u rcv_nxt %u "
               "rcv_wnd %u snd_wnd %u cwnd %u rto %llu\n",
               who, net::to_string(i.state), t.queued(c), i.send_queued, i.receive_queued,
               i.snd_una, i.snd_nxt, i.rcv_nxt, i.rcv_wnd, i.snd_wnd, i.cwnd,
               (unsigned long long)i.rto_us);
}

struct pair_ids {
  conn_id server = invalid_conn;
  conn_id client = invalid_conn;
};

// b connects to a's listener on 10.0.0.1:port; waits for both ends.
pair_ids connect_pair(node& a, node& b, uint16_t port) {
  const size_t accepts = a.rec.accepts.size();
  const size_t connects = b.rec.connects.size();
  int err = -1;
  const conn_id c = b.t->connect({"10.0.0.1", port}, err);
  if (c == invalid_conn) {
    std::fprintf(stderr, "[child] connect: %d %s\n", err, b.t->last_error().c_str());
    return {};
  }
  if (!pump({a.t.get(), b.t.get()},
            [&] { return a.rec.accepts.size() > accepts && b.rec.connects.size() > connects; })) {
    dump("A", *a.t);
    dump("B", *b.t);
    return {};
  }
  if (b.rec.connects.back() != std::make_pair(c, 0)) return {};
  return {a.rec.accepts.back().c, c};
}

// The server end echoes; when its send is refused it pauses reading until on_writable, so the
// client is held back by TCP flow control instead of anything being dropped.
struct echo_server {
  node& n;
  std::map<conn_id, std::string> pending;
  uint64_t echoed = 0;
  explicit echo_server(node& server) : n(server) {
    n.rec.data_hook = [this](conn_id c, bytes_view d) { take(c, d); };
    n.rec.writable_hook = [this](conn_id c) { resume(c); };
  }
  void take(conn_id c, bytes_view d) {
    std::string& p = pending[c];
    if (p.empty() && n.t->send(c, d)) {
      echoed += d.size();
      return;
    }
    p.append(d.as_chars());
    n.t->pause_read(c, true);
  }
  void resume(conn_id c) {
    std::string& p = pending[c];
    while (!p.empty()) {
      const size_t piece = std::min<size_t>(p.size(), 64 * KiB);
      if (!n.t->send(c, bytes_of(std::string_view(p).substr(0, piece)))) return;
      echoed += piece;
      p.erase(0, piece);
    }
    n.t->pause_read(c, false);
  }
};

// Sends `total` pattern octets on c and checks what comes back, all within `limit`.
bool echo_exactly(node& server, node& client, conn_id c, uint64_t total,
                  std::chrono::milliseconds limit) {
  pattern_checker back;
  client.rec.data_hook = [&](conn_id id, bytes_view d) {
    if (id == c) back.take(d);
  };
  uint64_t sent = 0;
  std::vector<std::byte> chunk(16 * KiB);
  const bool ok = pump(
      {server.t.get(), client.t.get()},
      [&] {
        while (sent < total) {
          const size_t n = static_cast<size_t>(std::min<uint64_t>(chunk.size(), total - sent));
          fill_pattern(std::span(chunk.data(), n), sent);
          if (!client.t->send(c, bytes_view(chunk.data(), n))) break;
          sent += n;
        }
        return back.consumed >= total || back.first_bad != UINT64_MAX;
      },
      limit);
  client.rec.data_hook = nullptr;
  if (!ok || back.first_bad != UINT64_MAX || back.consumed != total) {
    std::fprintf(stderr, "[child] echo: sent %llu, back %llu, first bad %llu\n",
                 static_cast<unsigned long long>(sent),
                 static_cast<unsigned long long>(back.consumed),
                 static_cast<unsigned long long>(back.first_bad));
    return false;
  }
  return true;
}

}  // namespace

TEST(DpdkTransport, ConnectsAcceptsAndEchoesMegabytesExactly) {
  EXPECT_CHILD_OK(run_child(
      [] {
        return with_pair([](node& a, node& b) {
          CHILD_CHECK(a.t->listen({"10.0.0.1", 2775}) == 0);
          CHILD_CHECK(a.t->listen({"", 2776}) == 1);
          const pair_ids ids = connect_pair(a, b, 2775);
          CHILD_CHECK(ids.client != invalid_conn);
          CHILD_CHECK(a.rec.accepts.size() == 1 && a.rec.accepts[0].listener == 0);
          const peer_address& peer = a.rec.accepts[0].peer;
          CHILD_CHECK(peer.family == AF_INET);
          CHILD_CHECK(peer.to_string().rfind("10.0.0.2:", 0) == 0);
          CHILD_CHECK(a.t->connections() == 1 && b.t->connections() == 1);
          echo_server echo(a);
          const auto start = std::chrono::steady_clock::now();
          CHILD_CHECK(echo_exactly(a, b, ids.client, 8 * MiB, 30s));
          const double s =
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
          std::fprintf(stderr, "[child] echoed 8 MiB in %.3f s (%.1f MB/s each way)\n", s,
                       8.0 * MiB / s / 1e6);
          // Second listener, second connection, both carry data independently.
          const pair_ids second = connect_pair(a, b, 2776);
          CHILD_CHECK(second.client != invalid_conn);
          CHILD_CHECK(a.rec.accepts.back().listener == 1);
          CHILD_CHECK(echo_exactly(a, b, second.client, 256 * KiB, 10s));
          CHILD_CHECK(a.rec.closes.empty() && b.rec.closes.empty());
          return 0;
        });
      },
      90s));
}

TEST(DpdkTransport, ListenAndConnectRefuseWhatTheyCannotServe) {
  EXPECT_CHILD_OK(run_child([] {
    return with_pair([](node& a, node& b) {
      endpoint tls_ep{"10.0.0.1", 2775};
      smpp::dataplane::tls_client_options o;
      o.server_name = "10.0.0.1";
      std::string error;
      tls_ep.tls = smpp::dataplane::tls_context::make_client(o, error);
      if (tls_ep.tls == nullptr) std::fprintf(stderr, "[child] %s\n", error.c_str());
      CHILD_CHECK(tls_ep.tls != nullptr);
      CHILD_CHECK(a.t->listen(tls_ep) == -EPROTONOSUPPORT);
      CHILD_CHECK(a.t->last_error().find("TLS") != std::string::npos);
      CHILD_CHECK(a.t->listen({"10.0.0.9", 2775}) == -EADDRNOTAVAIL);
      CHILD_CHECK(a.t->last_error().find("10.0.0.9") != std::string::npos);
      CHILD_CHECK(a.t->listen({"::1", 2775}) == -EADDRNOTAVAIL);
      CHILD_CHECK(a.t->listen({"10.0.0.1", 0}) == -EINVAL);
      CHILD_CHECK(a.t->listen({"0.0.0.0", 2775}) == 0);
      CHILD_CHECK(a.t->listen({"10.0.0.1", 2775}) == -EADDRINUSE);
      int err = 0;
      CHILD_CHECK(b.t->connect(tls_ep, err) == invalid_conn && err == EPROTONOSUPPORT);
      CHILD_CHECK(b.t->connect({"localhost", 2775}, err) == invalid_conn && err == EINVAL);
      CHILD_CHECK(b.t->connect({"10.0.0.1", 0}, err) == invalid_conn && err == EINVAL);
      CHILD_CHECK(b.t->connections() == 0);
      // The listener on 0.0.0.0 still works.
      CHILD_CHECK(connect_pair(a, b, 2775).client != invalid_conn);
      return 0;
    });
  }));
}

TEST(DpdkTransport, SendIsRefusedAtTheLimitAndWritableFiresBelowHalf) {
  EXPECT_CHILD_OK(run_child([] {
    return with_pair(
        [](node& a, node& b) {
          CHILD_CHECK(a.t->listen({"10.0.0.1", 2775}) == 0);
          // The server reads nothing at first: TCP's window closes, B's queue fills.
          a.rec.accept_hook = [&](conn_id c) { a.t->pause_read(c, true); };
          pattern_checker got;
          a.rec.data_hook = [&](conn_id, bytes_view d) { got.take(d); };
          const pair_ids ids = connect_pair(a, b, 2775);
          CHILD_CHECK(ids.client != invalid_conn);
          const conn_id c = ids.client;
          constexpr size_t max = 256 * KiB;
          std::vector<std::byte> too_big(max + 1);
          CHILD_CHECK(!b.t->send(c, too_big));
          CHILD_CHECK(b.t->queued(c) == 0);

          std::vector<std::byte> piece(4 * KiB);
          uint64_t sent = 0;
          bool refused = false;
          for (int i = 0; i < 10'000 && !refused; ++i) {
            fill_pattern(piece, sent);
            const size_t before = b.t->queued(c);
            if (!b.t->send(c, piece)) {
              refused = true;
              CHILD_CHECK(b.t->queued(c) == before);
              break;
            }
            sent += piece.size();
            (void)a.t->poll(0);
            (void)b.t->poll(0);
          }
          CHILD_CHECK(refused);
          CHILD_CHECK(b.t->queued(c) <= max);
          CHILD_CHECK(b.t->queued(c) > max - piece.size());
          CHILD_CHECK(got.consumed == 0);  // paused: nothing delivered
          // Held back for a while: still nothing, still refused, no on_writable.
          const auto until = std::chrono::steady_clock::now() + 200ms;
          while (std::chrono::steady_clock::now() < until) {
            (void)a.t->poll(0);
            (void)b.t->poll(0);
          }
          CHILD_CHECK(got.consumed == 0);
          CHILD_CHECK(b.rec.writables.empty());
          CHILD_CHECK(!b.t->send(c, piece));

          size_t queued_at_writable = SIZE_MAX;
          b.rec.writable_hook = [&](conn_id) { queued_at_writable = b.t->queued(c); };
          a.t->pause_read(a.rec.accepts[0].c, false);
          CHILD_CHECK(pump({a.t.get(), b.t.get()}, [&] { return !b.rec.writables.empty(); }));
          CHILD_CHECK(b.rec.writables.size() == 1);
          CHILD_CHECK(queued_at_writable <= max / 2);
          fill_pattern(piece, sent);
          CHILD_CHECK(b.t->send(c, piece));
          sent += piece.size();
          CHILD_CHECK(pump({a.t.get(), b.t.get()}, [&] { return got.consumed >= sent; }));
          CHILD_CHECK(got.consumed == sent && got.first_bad == UINT64_MAX);
          CHILD_CHECK(b.t->stats().overflow_bytes > 0);
          return 0;
        },
        {}, [](dp::dpdk_transport_config& c) { c.limits.max_send_queue_bytes = 256 * KiB; });
  }));
}

TEST(DpdkTransport, ReserveAndCommitQueueInPlaceInOrder) {
  EXPECT_CHILD_OK(run_child([] {
    return with_pair(
        [](node& a, node& b) {
          CHILD_CHECK(a.t->listen({"10.0.0.1", 2775}) == 0);
          pattern_checker got;
          a.rec.data_hook = [&](conn_id, bytes_view d) { got.take(d); };
          const pair_ids ids = connect_pair(a, b, 2775);
          CHILD_CHECK(ids.client != invalid_conn);
          const conn_id c = ids.client;
          CHILD_CHECK(b.t->reserve(c, 128 * KiB + 1).empty());  // beyond the bound
          CHILD_CHECK(b.t->reserve(c, 0).empty());
          uint64_t queued_total = 0;
          for (int i = 0; i < 400; ++i) {
            const size_t want = 1000 + static_cast<size_t>(i) * 37 % 9000;
            // Every other one a run: at least `want`, at most 5000 more.
            const bool run = i % 2 == 1;
            std::span<std::byte> s =
                run ? b.t->reserve_run(c, want, want + 5000) : b.t->reserve(c, want);
            if (s.empty()) {
              (void)a.t->poll(0);
              (void)b.t->poll(0);
              continue;
            }
            CHILD_CHECK(run ? s.size() >= want && s.size() <= want + 5000 : s.size() == want);
            CHILD_CHECK(b.t->reserve(c, 10).empty());  // one reservation at a time
            CHILD_CHECK(b.t->reserve_run(c, 10, 20).empty());
            CHILD_CHECK(!b.t->send(c, bytes_of("x")));  // nor a send while it is open
            const size_t used = s.size() - static_cast<size_t>(i % 7);
            fill_pattern(s.first(used), queued_total);
            b.t->commit(c, used);
            queued_total += used;
            if (i % 3 == 0) b.t->flush();
            (void)a.t->poll(0);
          }
          CHILD_CHECK(queued_total > 1 * MiB);
          CHILD_CHECK(pump(
              {a.t.get(), b.t.get()}, [&] { return got.consumed >= queued_total; }, 20s));
          CHILD_CHECK(got.consumed == queued_total && got.first_bad == UINT64_MAX);
          return 0;
        },
        {}, [](dp::dpdk_transport_config& c) { c.limits.max_send_queue_bytes = 128 * KiB; });
  }));
}

TEST(DpdkTransport, PausedReadHoldsThePeerBackAndResumesWithEveryOctet) {
  EXPECT_CHILD_OK(run_child([] {
    return with_pair([](node& a, node& b) {
      CHILD_CHECK(a.t->listen({"10.0.0.1", 2775}) == 0);
      pattern_checker got;
      a.rec.data_hook = [&](conn_id, bytes_view d) { got.take(d); };
      const pair_ids ids = connect_pair(a, b, 2775);
      CHILD_CHECK(ids.server != invalid_conn);
      CHILD_CHECK(b.t->send(ids.client, bytes_of(std::string(1, char(pattern_at(0))))));
      CHILD_CHECK(pump({a.t.get(), b.t.get()}, [&] { return got.consumed == 1; }));
      a.t->pause_read(ids.server, true);
      // 600 KiB: more than TCP's window and send ring together hold.
      std::vector<std::byte> data(600 * KiB);
      fill_pattern(data, 1);
      CHILD_CHECK(b.t->send(ids.client, data));
      const auto until = std::chrono::steady_clock::now() + 300ms;
      while (std::chrono::steady_clock::now() < until) {
        (void)a.t->poll(0);
        (void)b.t->poll(0);
      }
      CHILD_CHECK(got.consumed == 1);            // nothing while paused
      CHILD_CHECK(b.t->queued(ids.client) > 0);  // the peer is held back
      const uint64_t held_queue = b.t->queued(ids.client);
      a.t->pause_read(ids.server, false);
      CHILD_CHECK(got.consumed == 1);  // never from inside pause_read()
      CHILD_CHECK(pump({a.t.get(), b.t.get()}, [&] { return got.consumed >= 1 + data.size(); }));
      CHILD_CHECK(got.consumed == 1 + data.size() && got.first_bad == UINT64_MAX);
      CHILD_CHECK(b.t->queued(ids.client) == 0);
      std::fprintf(stderr, "[child] held back with %llu octets queued\n",
                   static_cast<unsigned long long>(held_queue));
      return 0;
    });
  }));
}

TEST(DpdkTransport, GracefulCloseDeliversEveryQueuedOctetThenOneOnClose) {
  EXPECT_CHILD_OK(run_child([] {
    return with_pair([](node& a, node& b) {
      CHILD_CHECK(a.t->listen({"10.0.0.1", 2775}) == 0);
      pattern_checker got;
      uint64_t got_at_close = 0;
      a.rec.data_hook = [&](conn_id, bytes_view d) { got.take(d); };
      a.rec.close_hook = [&](conn_id, int) { got_at_close = got.consumed; };
      const pair_ids ids = connect_pair(a, b, 2775);
      CHILD_CHECK(ids.client != invalid_conn);
      std::vector<std::byte> data(900 * KiB);  // most of it in the overflow queue
      fill_pattern(data, 0);
      CHILD_CHECK(b.t->send(ids.client, data));
      CHILD_CHECK(b.t->queued(ids.client) > 0);
      b.t->close(ids.client);
      CHILD_CHECK(b.rec.closes.empty());  // never from inside close()
      CHILD_CHECK(!b.t->send(ids.client, bytes_of("late")));
      CHILD_CHECK(pump({a.t.get(), b.t.get()},
                       [&] { return !a.rec.closes.empty() && !b.rec.closes.empty(); }));
      CHILD_CHECK(got_at_close == data.size() && got.first_bad == UINT64_MAX);
      CHILD_CHECK(a.rec.closes[0] == std::make_pair(ids.server, 0));
      CHILD_CHECK(b.rec.closes[0] == std::make_pair(ids.client, 0));
      for (int i = 0; i < 200; ++i) {
        (void)a.t->poll(0);
        (void)b.t->poll(0);
      }
      CHILD_CHECK(a.rec.closes.size() == 1 && b.rec.closes.size() == 1);
      CHILD_CHECK(a.t->connections() == 0 && b.t->connections() == 0);
      // Both ends closing at once: one on_close each, no on_data after close().
      const pair_ids two = connect_pair(a, b, 2775);
      CHILD_CHECK(two.client != invalid_conn);
      const size_t before = got.consumed;
      CHILD_CHECK(b.t->send(two.client, bytes_of("a")));
      CHILD_CHECK(a.t->send(two.server, bytes_of("b")));
      a.t->close(two.server);
      b.t->close(two.client);
      CHILD_CHECK(pump({a.t.get(), b.t.get()},
                       [&] { return a.rec.closes.size() == 2 && b.rec.closes.size() == 2; }));
      CHILD_CHECK(a.rec.closes[1] == std::make_pair(two.server, 0));
      CHILD_CHECK(b.rec.closes[1] == std::make_pair(two.client, 0));
      CHILD_CHECK(got.consumed == before);
      CHILD_CHECK(b.rec.received[two.client].empty());
      return 0;
    });
  }));
}

TEST(DpdkTransport, GracefulCloseIsResetAfterTheLingerBoundWhenThePeerNeverReads) {
  EXPECT_CHILD_OK(run_child([] {
    return with_pair(
        [](node& a, node& b) {
          CHILD_CHECK(a.t->listen({"10.0.0.1", 2775}) == 0);
          a.rec.accept_hook = [&](conn_id c) { a.t->pause_read(c, true); };
          const pair_ids ids = connect_pair(a, b, 2775);
          CHILD_CHECK(ids.client != invalid_conn);
          std::vector<std::byte> data(512 * KiB);  // more than A's window and B's TCP ring
          CHILD_CHECK(b.t->send(ids.client, data));
          const auto start = std::chrono::steady_clock::now();
          b.t->close(ids.client);
          CHILD_CHECK(pump({a.t.get(), b.t.get()}, [&] { return !b.rec.closes.empty(); }));
          const auto took = std::chrono::steady_clock::now() - start;
          CHILD_CHECK(b.rec.closes[0] == std::make_pair(ids.client, ETIMEDOUT));
          CHILD_CHECK(took >= 300ms);  // the linger bound held
          if (smpp::testing::rate_bounds_checked()) CHILD_CHECK(took < 2s);
          // B's RST may carry a sequence number A's closed window does not accept (RFC 5961
          // §3.2: only SEG.SEQ = RCV.NXT then). Once A reads again its window update reaches a
          // B that no longer knows the connection, whose reset then matches (RFC 9293 §3.10.7.1).
          a.t->pause_read(ids.server, false);
          if (!pump({a.t.get(), b.t.get()}, [&] { return !a.rec.closes.empty(); })) {
            dump("A", *a.t);
            dump("B", *b.t);
            dump_conn("A", *a.t, ids.server);
            return 1;
          }
          CHILD_CHECK(a.rec.closes[0] == std::make_pair(ids.server, ECONNRESET));
          CHILD_CHECK(b.t->connections() == 0 && a.t->connections() == 0);
          return 0;
        },
        {}, [](dp::dpdk_transport_config& c) { c.close_linger_ms = 300; });
  }));
}

TEST(DpdkTransport, AbortResetsAtOnceAndThePeerSeesConnReset) {
  EXPECT_CHILD_OK(run_child([] {
    return with_pair([](node& a, node& b) {
      CHILD_CHECK(a.t->listen({"10.0.0.1", 2775}) == 0);
      const pair_ids ids = connect_pair(a, b, 2775);
      CHILD_CHECK(ids.client != invalid_conn);
      CHILD_CHECK(b.t->send(ids.client, bytes_of("never sent")));
      b.t->close(ids.client, true);
      CHILD_CHECK(b.rec.closes.empty());
      CHILD_CHECK(!b.t->send(ids.client, bytes_of("x")));
      CHILD_CHECK(b.t->queued(ids.client) == 0);
      CHILD_CHECK(b.t->connections() == 0);
      CHILD_CHECK(pump({a.t.get(), b.t.get()},
                       [&] { return !a.rec.closes.empty() && !b.rec.closes.empty(); }));
      CHILD_CHECK(b.rec.closes[0] == std::make_pair(ids.client, 0));
      CHILD_CHECK(a.rec.closes[0] == std::make_pair(ids.server, ECONNRESET));
      CHILD_CHECK(a.rec.received[ids.server].empty());
      for (int i = 0; i < 100; ++i) {
        (void)a.t->poll(0);
        (void)b.t->poll(0);
      }
      CHILD_CHECK(a.rec.closes.size() == 1 && b.rec.closes.size() == 1);
      return 0;
    });
  }));
}

TEST(DpdkTransport, StaleConnIdsReachNothing) {
  EXPECT_CHILD_OK(run_child([] {
    return with_pair([](node& a, node& b) {
      CHILD_CHECK(a.t->listen({"10.0.0.1", 2775}) == 0);
      const pair_ids first = connect_pair(a, b, 2775);
      CHILD_CHECK(first.client != invalid_conn);
      b.t->close(first.client, true);
      CHILD_CHECK(pump({a.t.get(), b.t.get()},
                       [&] { return !a.rec.closes.empty() && !b.rec.closes.empty(); }));
      CHILD_CHECK(!b.t->send(first.client, bytes_of("x")));
      CHILD_CHECK(b.t->reserve(first.client, 8).empty());
      CHILD_CHECK(b.t->queued(first.client) == 0);
      b.t->commit(first.client, 8);
      b.t->pause_read(first.client, true);
      b.t->close(first.client);
      // The slot comes back with a new generation: the old id still reaches nothing.
      const pair_ids second = connect_pair(a, b, 2775);
      CHILD_CHECK(second.client != invalid_conn);
      CHILD_CHECK(static_cast<uint32_t>(second.client) == static_cast<uint32_t>(first.client));
      CHILD_CHECK(second.client != first.client);
      CHILD_CHECK(!b.t->send(first.client, bytes_of("x")));
      b.t->close(first.client, true);
      CHILD_CHECK(b.t->send(second.client, bytes_of("ok")));
      CHILD_CHECK(!b.t->send(invalid_conn, bytes_of("x")));
      CHILD_CHECK(!b.t->send(conn_id{0xffff'ffff}, bytes_of("x")));
      CHILD_CHECK(!b.t->send(smpp::dataplane::make_conn_id(12345, 1), bytes_of("x")));
      CHILD_CHECK(
          pump({a.t.get(), b.t.get()}, [&] { return a.rec.received[second.server].size() >= 2; }));
      CHILD_CHECK(a.rec.received[second.server] == "ok");
      CHILD_CHECK(b.rec.closes.size() == 1);
      return 0;
    });
  }));
}

TEST(DpdkTransport, ConnectToAClosedPortIsRefusedAndAPendingOneCanceled) {
  EXPECT_CHILD_OK(run_child([] {
    return with_pair([](node& a, node& b) {
      int err = -1;
      const conn_id c = b.t->connect({"10.0.0.1", 9}, err);
      CHILD_CHECK(c != invalid_conn);
      CHILD_CHECK(pump({a.t.get(), b.t.get()}, [&] { return !b.rec.connects.empty(); }));
      CHILD_CHECK(b.rec.connects[0] == std::make_pair(c, ECONNREFUSED));
      for (int i = 0; i < 50; ++i) {
        (void)a.t->poll(0);
        (void)b.t->poll(0);
      }
      CHILD_CHECK(b.rec.closes.empty());  // a failed connect has no on_close
      CHILD_CHECK(b.t->connections() == 0);
      CHILD_CHECK(b.t->stats().connect_failures == 1);
      CHILD_CHECK(!b.t->send(c, bytes_of("x")));

      CHILD_CHECK(a.t->listen({"10.0.0.1", 2775}) == 0);
      const conn_id d = b.t->connect({"10.0.0.1", 2775}, err);
      CHILD_CHECK(d != invalid_conn);
      b.t->close(d);
      CHILD_CHECK(b.rec.connects.size() == 1);  // never from inside close()
      CHILD_CHECK(pump({a.t.get(), b.t.get()}, [&] { return b.rec.connects.size() == 2; }));
      CHILD_CHECK(b.rec.connects[1] == std::make_pair(d, ECANCELED));
      for (int i = 0; i < 50; ++i) {
        (void)a.t->poll(0);
        (void)b.t->poll(0);
      }
      CHILD_CHECK(b.rec.closes.empty());
      CHILD_CHECK(b.t->connections() == 0);
      return 0;
    });
  }));
}

TEST(DpdkTransport, ConnectToAnAddressNobodyAnswersTimesOut) {
  EXPECT_CHILD_OK(run_child(
      [] {
        return with_pair(
            [](node& a, node& b) {
              int err = -1;
              const conn_id c = b.t->connect({"10.0.0.77", 2775}, err);  // no such host
              CHILD_CHECK(c != invalid_conn);
              CHILD_CHECK(pump(
                  {a.t.get(), b.t.get()}, [&] { return !b.rec.connects.empty(); }, 20s));
              CHILD_CHECK(b.rec.connects[0] == std::make_pair(c, ETIMEDOUT));
              CHILD_CHECK(b.t->connections() == 0);
              return 0;
            },
            {},
            [](dp::dpdk_transport_config& c) {
              c.tcp.syn_retries = 2;
              c.arp.retry_interval_us = 50'000;
            });
      },
      60s));
}

TEST(DpdkTransport, MaxConnectionsBoundResetsTheExcessAndCountsIt) {
  EXPECT_CHILD_OK(run_child([] {
    return with_pair(
        [](node& a, node& b) {
          CHILD_CHECK(a.t->listen({"10.0.0.1", 2775}) == 0);
          for (int i = 0; i < 5; ++i) {
            int err = -1;
            CHILD_CHECK(b.t->connect({"10.0.0.1", 2775}, err) != invalid_conn);
          }
          int err = 0;
          CHILD_CHECK(b.t->connect({"10.0.0.1", 2775}, err) == invalid_conn);
          CHILD_CHECK(err == EMFILE);
          CHILD_CHECK(pump({a.t.get(), b.t.get()}, [&] {
            return a.t->stats().accepted + a.t->stats().rejected_over_limit == 5 &&
                   b.rec.closes.size() == 2;
          }));
          CHILD_CHECK(a.t->stats().accepted == 3);
          CHILD_CHECK(a.t->stats().rejected_over_limit == 2);
          CHILD_CHECK(a.rec.accepts.size() == 3);
          CHILD_CHECK(a.t->connections() == 3);
          for (const auto& [c, e] : b.rec.closes) CHILD_CHECK(e == ECONNRESET);
          CHILD_CHECK(b.t->connections() == 3);
          // Room again after one closes.
          a.t->close(a.rec.accepts[0].c, true);
          CHILD_CHECK(pump({a.t.get(), b.t.get()}, [&] { return a.t->connections() == 2; }));
          CHILD_CHECK(pump({a.t.get(), b.t.get()}, [&] { return b.rec.closes.size() == 3; }));
          CHILD_CHECK(connect_pair(a, b, 2775).client != invalid_conn);
          CHILD_CHECK(a.t->connections() == 3);
          return 0;
        },
        [](dp::dpdk_transport_config& c) { c.limits.max_connections = 3; },
        [](dp::dpdk_transport_config& c) { c.limits.max_connections = 5; });
  }));
}

// Loss, duplication and reordering in both directions of both ports: TCP recovers and every
// octet arrives exactly once, in order, both ways.
void echo_under_faults(const std::string& faults, uint64_t total) {
  EXPECT_CHILD_OK(run_child(
      [&] {
        const auto with_faults = [&](dp::dpdk_transport_config& c) {
          c.rx_faults = faults + ",seed=" + std::to_string(c.address);
          c.tx_faults = faults + ",seed=" + std::to_string(c.address + 100);
        };
        return with_pair(
            [&](node& a, node& b) {
              CHILD_CHECK(a.t->listen({"10.0.0.1", 2775}) == 0);
              const pair_ids ids = connect_pair(a, b, 2775);
              CHILD_CHECK(ids.client != invalid_conn);
              echo_server echo(a);
              if (!echo_exactly(a, b, ids.client, total, 30s)) {
                dump("A", *a.t);
                dump("B", *b.t);
                dump_conn("A", *a.t, ids.server);
                dump_conn("B", *b.t, ids.client);
                std::fprintf(stderr, "[child] echo pending %zu echoed %llu\n",
                             echo.pending[ids.server].size(), (unsigned long long)echo.echoed);
                return 1;
              }
              const auto& fa = a.t->tx_faults();
              const auto& fb = b.t->rx_faults();
              std::fprintf(stderr,
                           "[child] %s: A tx lost %llu dup %llu reordered %llu; B rx lost %llu; "
                           "retransmits A %llu B %llu\n",
                           faults.c_str(), static_cast<unsigned long long>(fa.lost),
                           static_cast<unsigned long long>(fa.duplicated),
                           static_cast<unsigned long long>(fa.reordered),
                           static_cast<unsigned long long>(fb.lost),
                           static_cast<unsigned long long>(a.t->tcp_counters().retransmits),
                           static_cast<unsigned long long>(b.t->tcp_counters().retransmits));
              CHILD_CHECK(fa.lost > 0 && fa.duplicated > 0 && fa.reordered > 0 && fb.lost > 0);
              CHILD_CHECK(a.t->tcp_counters().retransmits > 0);
              // Closes cleanly under the same faults.
              b.t->close(ids.client);
              CHILD_CHECK(pump(
                  {a.t.get(), b.t.get()},
                  [&] { return !a.rec.closes.empty() && !b.rec.closes.empty(); }, 20s));
              CHILD_CHECK(b.rec.closes[0] == std::make_pair(ids.client, 0));
              CHILD_CHECK(a.rec.closes[0] == std::make_pair(ids.server, 0));
              return 0;
            },
            with_faults, with_faults);
      },
      120s));
}

// One direction at a time, each until every octet is acknowledged: `total` octets from B to A,
// then `total` from A to B, then a graceful close, all under the faults.
void transfer_under_faults(const std::string& faults, uint64_t total) {
  EXPECT_CHILD_OK(run_child(
      [&] {
        const auto with_faults = [&](dp::dpdk_transport_config& c) {
          c.rx_faults = faults + ",seed=" + std::to_string(c.address);
          c.tx_faults = faults + ",seed=" + std::to_string(c.address + 100);
        };
        return with_pair(
            [&](node& a, node& b) {
              CHILD_CHECK(a.t->listen({"10.0.0.1", 2775}) == 0);
              const pair_ids ids = connect_pair(a, b, 2775);
              CHILD_CHECK(ids.client != invalid_conn);
              pattern_checker at_a, at_b;
              a.rec.data_hook = [&](conn_id, bytes_view d) { at_a.take(d); };
              b.rec.data_hook = [&](conn_id, bytes_view d) { at_b.take(d); };
              const auto one_way = [&](node& from, conn_id c, pattern_checker& got) {
                uint64_t sent = 0;
                std::vector<std::byte> chunk(16 * KiB);
                const bool ok = pump(
                    {a.t.get(), b.t.get()},
                    [&] {
                      while (sent < total) {
                        const size_t n = std::min<uint64_t>(chunk.size(), total - sent);
                        fill_pattern(std::span(chunk.data(), n), sent);
                        if (!from.t->send(c, bytes_view(chunk.data(), n))) break;
                        sent += n;
                      }
                      net::tcp_conn_info i;
                      return (got.consumed >= total && from.t->queued(c) == 0 &&
                              from.t->tcp_info(c, i) && i.send_queued == 0) ||
                             got.first_bad != UINT64_MAX;
                    },
                    30s);
                if (!ok || got.consumed != total || got.first_bad != UINT64_MAX) {
                  std::fprintf(stderr, "[child] sent %llu, got %llu, first bad %llu\n",
                               (unsigned long long)sent, (unsigned long long)got.consumed,
                               (unsigned long long)got.first_bad);
                  dump("A", *a.t);
                  dump("B", *b.t);
                  dump_conn("A", *a.t, ids.server);
                  dump_conn("B", *b.t, ids.client);
                  return false;
                }
                return true;
              };
              CHILD_CHECK(one_way(b, ids.client, at_a));
              CHILD_CHECK(one_way(a, ids.server, at_b));
              const auto& fa = a.t->tx_faults();
              const auto& fb = b.t->rx_faults();
              std::fprintf(stderr,
                           "[child] %s: A tx lost %llu dup %llu reordered %llu; B rx lost %llu "
                           "dup %llu reordered %llu; retransmits A %llu B %llu\n",
                           faults.c_str(), (unsigned long long)fa.lost,
                           (unsigned long long)fa.duplicated, (unsigned long long)fa.reordered,
                           (unsigned long long)fb.lost, (unsigned long long)fb.duplicated,
                           (unsigned long long)fb.reordered,
                           (unsigned long long)a.t->tcp_counters().retransmits,
                           (unsigned long long)b.t->tcp_counters().retransmits);
              CHILD_CHECK(fa.lost > 0 && fa.duplicated > 0 && fa.reordered > 0);
              CHILD_CHECK(fb.lost > 0 && fb.duplicated > 0 && fb.reordered > 0);
              CHILD_CHECK(a.t->tcp_counters().retransmits > 0);
              CHILD_CHECK(b.t->tcp_counters().retransmits > 0);
              b.t->close(ids.client);
              CHILD_CHECK(pump(
                  {a.t.get(), b.t.get()},
                  [&] { return !a.rec.closes.empty() && !b.rec.closes.empty(); }, 20s));
              CHILD_CHECK(b.rec.closes[0] == std::make_pair(ids.client, 0));
              CHILD_CHECK(a.rec.closes[0] == std::make_pair(ids.server, 0));
              CHILD_CHECK(at_a.consumed == total && at_b.consumed == total);
              return 0;
            },
            with_faults, with_faults);
      },
      120s));
}

TEST(DpdkTransport, EveryOctetOnceInOrderUnderOnePercentLossReorderingAndDuplication) {
  transfer_under_faults("loss=0.01,dup=0.01,reorder=0.01", 2 * MiB);
}

TEST(DpdkTransport, EveryOctetOnceInOrderUnderFivePercentLossReorderingAndDuplication) {
  transfer_under_faults("loss=0.05,dup=0.02,reorder=0.02", 1 * MiB);
}

// Both ways at once at 5%: both ends time out with data in flight, each holding what the other
// sent. It once stalled for good (pure ACKs at an SND.NXT rewound by the RTO fell below the
// peer's RCV.NXT and were dropped with their ACK fields); pure ACKs carry SND.MAX now.
TEST(DpdkTransport, EchoUnderFivePercentLossReorderingAndDuplicationBothWaysAtOnce) {
  echo_under_faults("loss=0.05,dup=0.02,reorder=0.02", 1 * MiB);
}

TEST(DpdkTransport, EchoUnderOnePercentLossReorderingAndDuplicationBothWaysAtOnce) {
  echo_under_faults("loss=0.01,dup=0.01,reorder=0.01", 2 * MiB);
}

TEST(DpdkTransport, CreateRefusesBadConfigurations) {
  EXPECT_CHILD_OK(run_child([] {
    std::string error;
    auto e = dp::eal::init(test_eal_config({}), error);
    CHILD_CHECK(e.has_value());
    ring_pair wire;
    CHILD_CHECK(wire.open(error));
    dp::dpdk_transport_config c = test_config(0);
    CHILD_CHECK(dp::dpdk_transport::create(*wire.a, 0, c, error) == nullptr);
    CHILD_CHECK(error.find("address") != std::string::npos);
    c = test_config(addr_a);
    c.prefix_len = 33;
    CHILD_CHECK(dp::dpdk_transport::create(*wire.a, 0, c, error) == nullptr);
    CHILD_CHECK(error.find("prefix") != std::string::npos);
    c = test_config(addr_a);
    c.rx_faults = "loss=2";
    CHILD_CHECK(dp::dpdk_transport::create(*wire.a, 0, c, error) == nullptr);
    CHILD_CHECK(error.find("rx_faults") != std::string::npos);
    c = test_config(addr_a);
    CHILD_CHECK(dp::dpdk_transport::create(*wire.a, 1, c, error) == nullptr);
    CHILD_CHECK(error.find("queue") != std::string::npos);
    CHILD_CHECK(dp::dpdk_transport::create(*wire.a, 0, c, error) != nullptr);
    return 0;
  }));
}

// A port with hardware RSS over four queues: the transport on queue 2 picks only source ports
// whose replies the device steers to queue 2; with steering off, the ports fall anywhere.
TEST(DpdkTransport, OutboundSourcePortsLandOnTheWorkersQueueUnderRss) {
  EXPECT_CHILD_OK(run_child([] {
    std::string error;
    auto e = dp::eal::init(test_eal_config({"net_null0"}), error);
    CHILD_CHECK(e.has_value());
    dp::port_config pc;
    pc.device = "net_null0";
    pc.worker_lcores = {0, 0, 0, 0};
    auto p = dp::port::open(pc, error);
    if (!p) std::fprintf(stderr, "[child] %s\n", error.c_str());
    CHILD_CHECK(p.has_value());
    CHILD_CHECK(p->hardware_rss());
    for (const bool steer : {true, false}) {
      dp::dpdk_transport_config c = test_config(addr_a);
      c.steer_source_ports = steer;
      auto t = dp::dpdk_transport::create(*p, 2, c, error);
      CHILD_CHECK(t != nullptr);
      int landed = 0;
      constexpr int connects = 24;
      for (int i = 0; i < connects; ++i) {
        const std::string host = "10.0.0." + std::to_string(10 + i);
        const uint16_t rport = static_cast<uint16_t>(2775 + 17 * i);
        int err = -1;
        const conn_id id = t->connect({host, rport}, err);
        CHILD_CHECK(id != invalid_conn);
        net::tcp_conn_info info;
        CHILD_CHECK(t->tcp_info(id, info));
        CHILD_CHECK(info.remote_addr == addr_a - 1 + 10 + static_cast<uint32_t>(i));
        landed +=
            p->steering().source_port_lands_on(2, addr_a, info.remote_addr, rport, info.local_port)
                ? 1
                : 0;
        // And the same through the device's own choice for the reply's four-tuple.
        const bool on_queue_2 = p->steering().queue_of(p->steering().rss_hash(
                                    info.remote_addr, addr_a, rport, info.local_port)) == 2;
        CHILD_CHECK(!steer || on_queue_2);
        t->close(id, true);
        (void)t->poll(0);
      }
      std::fprintf(stderr, "[child] steering %s: %d of %d source ports land on queue 2\n",
                   steer ? "on" : "off", landed, connects);
      if (steer) {
        CHILD_CHECK(landed == connects);
      } else {
        CHILD_CHECK(landed < connects);  // (1/4)^24 chance of a false failure
      }
    }
    return 0;
  }));
}

// Wall-clock bounds only: dpdk_dpdk_transport_test_perf (tests/CMakeLists.txt), Release, alone.
TEST(DpdkTransport, PollWaitsUpToItsTimeoutAndNoLonger) {
  EXPECT_CHILD_OK(run_child([] {
    return with_pair([](node& a, node&) {
      using clock = std::chrono::steady_clock;
      auto start = clock::now();
      CHILD_CHECK(a.t->poll(0) == 0);
      CHILD_CHECK(clock::now() - start < 5ms);
      for (const int timeout_us : {1000, 20'000}) {
        start = clock::now();
        CHILD_CHECK(a.t->poll(timeout_us) == 0);
        const auto took = clock::now() - start;
        CHILD_CHECK(took >= std::chrono::microseconds(timeout_us));
        CHILD_CHECK(took < std::chrono::microseconds(timeout_us) + 10ms);
      }
      return 0;
    });
  }));
}
