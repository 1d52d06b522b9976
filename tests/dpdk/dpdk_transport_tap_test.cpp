// dpdk_transport on a TAP device inside a network namespace the test creates, with the Linux
// kernel's TCP as the peer: the kernel connects to our listener, we connect to the kernel's, and
// megabytes are echoed exactly both ways. The kernel side uses non-blocking sockets driven from
// the same loop as the transport (one thread, both in the namespace).
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "dpdk_child.hpp"
#include "dpdk_tap_child.hpp"
#include "netns.hpp"
#include "smpp/dataplane/dpdk/dpdk_transport.hpp"
#include "smpp/dataplane/dpdk/port.hpp"

namespace dp = smpp::dataplane::dpdk;
using dp::testing::run_child;
using dp::testing::test_eal_config;
using smpp::dataplane::bytes_view;
using smpp::dataplane::conn_id;
using smpp::dataplane::invalid_conn;
using smpp::dataplane::peer_address;
using smpp::dataplane::transport_handler;
using namespace std::chrono_literals;

namespace {

constexpr size_t total = 1024 * 1024;

using smpp::testing::netns;

std::byte pattern_at(uint64_t i) {
  return static_cast<std::byte>(((i * 0x9E3779B97F4A7C15ull) >> 13) ^ (i >> 21));
}

// The transport's side: echoes on accepted connections, checks the pattern on its own ones.
class handler final : public transport_handler {
 public:
  dp::dpdk_transport* t = nullptr;
  conn_id accepted = invalid_conn;
  conn_id connected = invalid_conn;
  int connect_err = -1;
  peer_address peer;
  std::vector<std::byte> echo_pending;  // what the transport refused, resent on_writable
  uint64_t checked = 0;
  uint64_t first_bad = UINT64_MAX;
  int closes = 0;
  int close_err = -1;

  void on_accept(conn_id c, uint32_t, const peer_address& p) override {
    accepted = c;
    peer = p;
  }
  void on_connect(conn_id c, int err) override {
    if (c == connected) connect_err = err;
  }
  void on_data(conn_id c, bytes_view d) override {
    if (c == accepted) {
      if (echo_pending.empty() && t->send(c, d)) return;
      echo_pending.insert(echo_pending.end(), d.begin(), d.end());
      t->pause_read(c, true);
      return;
    }
    for (const std::byte b : d) {
      if (b != pattern_at(checked) && first_bad == UINT64_MAX) first_bad = checked;
      ++checked;
    }
  }
  void on_writable(conn_id c) override {
    if (c != accepted || echo_pending.empty()) return;
    if (t->send(c, echo_pending)) {
      echo_pending.clear();
      t->pause_read(c, false);
    }
  }
  void on_close(conn_id, int err) override {
    ++closes;
    close_err = err;
  }
};

// A kernel socket moving `total` pattern octets out and checking them back (client), or
// echoing what it reads (server); non-blocking, one step per call.
struct kernel_end {
  int fd = -1;
  bool echo = false;
  uint64_t sent = 0, got = 0, first_bad = UINT64_MAX;
  std::vector<std::byte> pending;  // echo: read, not yet written
  bool eof = false;

  void step() {
    std::byte buf[16384];
    if (!echo) {
      while (sent < total) {
        const size_t n = std::min<size_t>(sizeof buf, total - sent);
        for (size_t i = 0; i < n; ++i) buf[i] = pattern_at(sent + i);
        const ssize_t w = ::send(fd, buf, n, MSG_NOSIGNAL);
        if (w <= 0) break;
        sent += static_cast<uint64_t>(w);
      }
    } else if (!pending.empty()) {
      const ssize_t w = ::send(fd, pending.data(), pending.size(), MSG_NOSIGNAL);
      if (w > 0) pending.erase(pending.begin(), pending.begin() + w);
    }
    while (!eof && (!echo || pending.size() < 256 * 1024)) {
      const ssize_t r = ::recv(fd, buf, sizeof buf, 0);
      if (r == 0) eof = true;
      if (r <= 0) break;
      if (echo) {
        pending.insert(pending.end(), buf, buf + r);
      } else {
        for (ssize_t i = 0; i < r; ++i) {
          if (buf[i] != pattern_at(got) && first_bad == UINT64_MAX) first_bad = got;
          ++got;
        }
      }
    }
  }
};

void dump(const dp::dpdk_transport& t) {
  const auto s = t.stack_counters();
  const auto& l = t.link_counters();
  const auto& tc = t.tcp_counters();
  std::fprintf(
      stderr,
      "[child] link tx %llu rx %llu bad-csum %llu | eth rx %llu not-for-us %llu | arp "
      "req-for-us %llu replies %llu | ip rx %llu deliv %llu bad-csum %llu | tcp in %llu "
      "out %llu rst-in %llu rst-out %llu csum %llu no-socket %llu window %llu | arp rx %llu "
      "malformed %llu bogus %llu arp-not-for-us %llu ethertype %llu ip-not-for-us %llu\n",
      (unsigned long long)l.tx_frames, (unsigned long long)l.rx_frames,
      (unsigned long long)l.rx_bad_checksum, (unsigned long long)s.eth.rx_frames,
      (unsigned long long)s.eth.rx_not_for_us, (unsigned long long)s.arp.rx_requests_for_us,
      (unsigned long long)s.arp.rx_replies, (unsigned long long)s.ip.rx_packets,
      (unsigned long long)s.ip.rx_delivered, (unsigned long long)s.ip.rx_bad_checksum,
      (unsigned long long)tc.segments_in, (unsigned long long)tc.segments_out,
      (unsigned long long)tc.rst_in, (unsigned long long)tc.rst_out,
      (unsigned long long)tc.drop_checksum, (unsigned long long)tc.drop_no_socket,
      (unsigned long long)tc.drop_out_of_window, (unsigned long long)s.arp.rx_packets,
      (unsigned long long)s.arp.rx_malformed, (unsigned long long)s.arp.rx_bogus_sender,
      (unsigned long long)s.arp.rx_not_for_us, (unsigned long long)s.eth.rx_unknown_ethertype,
      (unsigned long long)s.ip.rx_not_for_us);
}

template <class Done>
bool pump(dp::dpdk_transport& t, Done done, std::chrono::milliseconds limit = 20s) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    (void)t.poll(100);
  }
  if (done()) return true;
  dump(t);
  return false;
}

sockaddr_in sockaddr_of(const char* ip, uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  inet_pton(AF_INET, ip, &sa.sin_addr);
  return sa;
}

// The test proper, in the namespace on the TAP port.
int on_tap_port(dp::port& p, const std::string& iface) {
  std::string error;
  // 192.0.2.0/24 (RFC 5737 TEST-NET-1), only inside the test's own namespace: the kernel is .1.
  // The TAP PMD gives the kernel's interface the port's own MAC; ARP rightly refuses a sender
  // with our address (RFC 5227 conflict), so the kernel side gets a MAC of its own.
  CHILD_CHECK(std::system(("ip link set " + iface + " address 02:00:5e:00:02:01 && ip addr add " +
                           "192.0.2.1/24 dev " + iface + " && ip link set " + iface + " up")
                              .c_str()) == 0);
  dp::dpdk_transport_config c;
  c.address = 0xc0000202;  // 192.0.2.2
  c.prefix_len = 24;
  c.limits.max_connections = 8;
  c.tcp.max_connections = 16;
  c.tcp.msl_us = 100'000;
  int rc = 1;
  {
    auto t = dp::dpdk_transport::create(p, 0, c, error);
    if (!t) std::fprintf(stderr, "[child] %s\n", error.c_str());
    CHILD_CHECK(t != nullptr);
    handler h;
    h.t = t.get();
    t->set_handler(&h);
    rc = [&]() -> int {
      // The kernel connects to us; we echo.
      CHILD_CHECK(t->listen({"192.0.2.2", 2775}) == 0);
      kernel_end client;
      client.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      CHILD_CHECK(client.fd >= 0);
      const sockaddr_in to_us = sockaddr_of("192.0.2.2", 2775);
      const int cr = ::connect(client.fd, reinterpret_cast<const sockaddr*>(&to_us), sizeof to_us);
      CHILD_CHECK(cr == 0 || errno == EINPROGRESS);
      CHILD_CHECK(pump(*t, [&] {
        client.step();
        return client.got >= total || client.first_bad != UINT64_MAX || h.closes > 0;
      }));
      if (client.got != total || client.first_bad != UINT64_MAX) {
        std::fprintf(stderr, "[child] kernel client: sent %llu got %llu bad %llu\n",
                     (unsigned long long)client.sent, (unsigned long long)client.got,
                     (unsigned long long)client.first_bad);
      }
      CHILD_CHECK(client.got == total && client.first_bad == UINT64_MAX);
      CHILD_CHECK(h.accepted != invalid_conn);
      CHILD_CHECK(h.peer.to_string().rfind("192.0.2.1:", 0) == 0);
      ::close(client.fd);  // the kernel's FIN: on_close(0) here
      CHILD_CHECK(pump(*t, [&] { return h.closes == 1; }));
      CHILD_CHECK(h.close_err == 0);

      // We connect to the kernel; it echoes.
      const int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      CHILD_CHECK(lfd >= 0);
      const sockaddr_in kernel_listen = sockaddr_of("192.0.2.1", 7000);
      CHILD_CHECK(::bind(lfd, reinterpret_cast<const sockaddr*>(&kernel_listen),
                         sizeof kernel_listen) == 0);
      CHILD_CHECK(::listen(lfd, 4) == 0);
      int err = -1;
      h.connected = t->connect({"192.0.2.1", 7000}, err);
      CHILD_CHECK(h.connected != invalid_conn);
      kernel_end server;
      server.echo = true;
      CHILD_CHECK(pump(*t, [&] {
        if (server.fd < 0) server.fd = ::accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK);
        return server.fd >= 0 && h.connect_err == 0;
      }));
      uint64_t sent = 0;
      std::vector<std::byte> chunk(16 * 1024);
      CHILD_CHECK(pump(*t, [&] {
        while (sent < total) {
          const size_t n = std::min<size_t>(chunk.size(), total - sent);
          for (size_t i = 0; i < n; ++i) chunk[i] = pattern_at(sent + i);
          if (!t->send(h.connected, bytes_view(chunk.data(), n))) break;
          sent += n;
        }
        server.step();
        return h.checked >= total || h.first_bad != UINT64_MAX;
      }));
      CHILD_CHECK(h.checked == total && h.first_bad == UINT64_MAX);
      t->close(h.connected);  // FIN; the kernel reads EOF and closes too
      CHILD_CHECK(pump(*t, [&] {
        server.step();
        if (server.eof && server.fd >= 0) {
          ::close(server.fd);
          server.fd = -1;
        }
        return h.closes == 2;
      }));
      CHILD_CHECK(h.close_err == 0);
      ::close(lfd);
      std::fprintf(stderr, "[child] TAP: %llu octets each way both directions; tcp retx %llu\n",
                   (unsigned long long)total, (unsigned long long)t->tcp_counters().retransmits);
      return 0;
    }();
  }
  return rc;
}

int in_namespace(const std::string& ns, const std::string& iface) {
  return dp::testing::with_tap_port(ns, iface, [&](dp::port& p) { return on_tap_port(p, iface); });
}

}  // namespace

TEST(DpdkTransportTap, KernelTcpConnectsToUsAndWeToItWithExactBytes) {
  if (geteuid() != 0) GTEST_SKIP() << "SKIPPED LOUDLY: needs root for a network namespace";
  if (access("/dev/net/tun", R_OK | W_OK) != 0) GTEST_SKIP() << "SKIPPED LOUDLY: no /dev/net/tun";
  netns ns("smpp_dtr_");
  if (!ns.ok()) {
    GTEST_SKIP() << "SKIPPED LOUDLY: 'ip netns add' refused (no iproute2 or no permission)";
  }
  const std::string iface = "smppdtr" + std::to_string(getpid() % 100000);
  EXPECT_CHILD_OK(run_child([&] { return in_namespace(ns.name(), iface); }, 60s));
}
