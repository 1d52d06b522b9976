// dpdk_transport's idle back-off (dpdk_transport_config::idle_sleep_us) over two ring ports
// back to back: an idle poll sleeps instead of spinning (the thread's CPU time stays far below
// the wall time) while a pure poll-mode one (idle_sleep_us = 0) still spins; data sent to a
// sleeping transport is answered within the sleep bound, not at the end of its poll timeout;
// and a TCP timer (the delayed ACK) fires on time while the transport sleeps. The first is a
// wall-clock proof only (the _perf entry, Release); the others check their latency bounds where
// rate_bounds_checked() and everything else everywhere.
#include <gtest/gtest.h>
#include <pthread.h>
#include <sched.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "dpdk_child.hpp"
#include "dpdk_transport_pair.hpp"
#include "rate_bounds.hpp"
#include "smpp/dataplane/dpdk/dpdk_transport.hpp"
#include "thread_time.hpp"

namespace dp = smpp::dataplane::dpdk;
namespace net = smpp::net;
using smpp::dataplane::bytes_view;
using smpp::dataplane::conn_id;
using smpp::dataplane::invalid_conn;
using smpp::dataplane::peer_address;
using smpp::dataplane::transport;
using smpp::dataplane::transport_handler;
using namespace std::chrono_literals;

namespace {

using clock_type = std::chrono::steady_clock;

constexpr net::ipv4_addr addr_a = 0x0a000001;  // 10.0.0.1
constexpr net::ipv4_addr addr_b = 0x0a000002;  // 10.0.0.2
constexpr uint16_t echo_port = 2775;

using smpp::testing::rate_bounds_checked;
using smpp::testing::thread_cpu_us;
using smpp::testing::thread_runnable_us;

uint64_t since_us(clock_type::time_point start) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - start).count());
}

// The EAL pins its main thread to the test's one lcore; a measurement of CPU time must not
// depend on which other thread shares that CPU, so the threads here may run anywhere.
void run_anywhere() {
  cpu_set_t all;
  CPU_ZERO(&all);
  const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  for (long i = 0; i < cpus && i < CPU_SETSIZE; ++i) CPU_SET(static_cast<int>(i), &all);
  (void)pthread_setaffinity_np(pthread_self(), sizeof(all), &all);
}

bytes_view bytes_of(std::string_view s) {
  return bytes_view(reinterpret_cast<const std::byte*>(s.data()), s.size());
}

// Accepts and connects; echoes what it receives when `echo` is set, else only keeps it.
class peer_handler final : public transport_handler {
 public:
  peer_handler(transport* t, bool echo) : t_(t), echo_(echo) {}
  void on_accept(conn_id c, uint32_t, const peer_address&) override { last = c; }
  void on_connect(conn_id c, int err) override {
    last = c;
    connect_err = err;
  }
  void on_data(conn_id c, bytes_view data) override {
    received.append(data.as_chars());
    if (echo_ && !t_->send(c, data)) ++refused;
  }
  void on_writable(conn_id) override {}
  void on_close(conn_id, int) override { ++closes; }

  conn_id last = invalid_conn;
  int connect_err = -1;
  std::string received;
  int refused = 0;
  int closes = 0;

 private:
  transport* t_;
  bool echo_;
};

dp::dpdk_transport_config config(net::ipv4_addr a, uint32_t idle_sleep_us) {
  dp::dpdk_transport_config c;
  c.address = a;
  c.limits.max_connections = 8;
  c.tcp.max_connections = 16;
  c.tcp.random_seed = a;
  c.idle_sleep_us = idle_sleep_us;
  return c;
}

// Runs body(wire) in a child with an EAL and two ring ports back to back.
template <class Body>
int with_wire(Body body) {
  std::string error;
  auto e = dp::eal::init(dp::testing::test_eal_config({}), error);
  if (!e) std::fprintf(stderr, "[child] %s\n", error.c_str());
  CHILD_CHECK(e.has_value());
  dp::testing::ring_pair wire;
  if (!wire.open(error)) std::fprintf(stderr, "[child] %s\n", error.c_str());
  CHILD_CHECK(wire.a.has_value() && wire.b.has_value());
  run_anywhere();
  return body(wire);
}

// A transport served by a thread of its own, which polls it with `poll_timeout_us` until
// stopped and reports the CPU time it used against the wall time it ran. The test waits for it
// to fall asleep in its idle back-off before sending.
class served_transport {
 public:
  served_transport(dp::dpdk_transport& t, int poll_timeout_us)
      : t_(t), poll_timeout_us_(poll_timeout_us) {}
  ~served_transport() { stop(); }
  served_transport(const served_transport&) = delete;
  served_transport& operator=(const served_transport&) = delete;

  void start() {
    thread_ = std::thread([this] {
      tid_.store(gettid());
      run_anywhere();
      const auto wall_start = clock_type::now();
      const uint64_t cpu_start = thread_cpu_us();
      // Bounded: the test stops it, and it stops by itself after 60 s whatever happens.
      while (!stop_.load(std::memory_order_relaxed) && since_us(wall_start) < 60'000'000) {
        (void)t_.poll(poll_timeout_us_);
      }
      cpu_us_ = thread_cpu_us() - cpu_start;
      wall_us_ = since_us(wall_start);
    });
  }
  void stop() {
    stop_.store(true, std::memory_order_relaxed);
    if (thread_.joinable()) thread_.join();
  }
  // Waits until the serving thread sleeps (idle past idle_spin_us, in its back-off); bounded.
  [[nodiscard]] bool wait_asleep(std::chrono::milliseconds limit) const {
    const auto until = clock_type::now() + limit;
    while (clock_type::now() < until) {
      const pid_t tid = tid_.load();
      if (tid != 0 && smpp::testing::thread_sleeping(tid)) return true;
      std::this_thread::sleep_for(100us);
    }
    return false;
  }
  // Valid after stop().
  [[nodiscard]] uint64_t cpu_us() const { return cpu_us_; }
  [[nodiscard]] uint64_t wall_us() const { return wall_us_; }

 private:
  dp::dpdk_transport& t_;
  int poll_timeout_us_;
  std::atomic<bool> stop_{false};
  std::atomic<pid_t> tid_{0};
  std::thread thread_;
  uint64_t cpu_us_ = 0;
  uint64_t wall_us_ = 0;
};

// Polls `t` (pure poll mode) until `done` or `limit`; bounded in iterations too.
template <class Done>
bool spin_until(dp::dpdk_transport& t, Done done, std::chrono::microseconds limit) {
  const auto until = clock_type::now() + limit;
  for (long i = 0; i < 100'000'000; ++i) {
    if (done()) return true;
    (void)t.poll(0);
    if (i % 16 == 0 && clock_type::now() > until) break;
  }
  return done();
}

}  // namespace

// Wall-clock bounds only: dpdk_dpdk_transport_idle_test_perf (tests/CMakeLists.txt).
TEST(DpdkTransportIdle, IdlePollSleepsOnLittleCpuWhileAPurePollSpinsThroughItsTimeout) {
  EXPECT_CHILD_OK(dp::testing::run_child([] {
    return with_wire([](dp::testing::ring_pair& wire) {
      std::string error;
      auto sleeper = dp::dpdk_transport::create(*wire.a, 0, config(addr_a, 1000), error);
      auto spinner = dp::dpdk_transport::create(*wire.b, 0, config(addr_b, 0), error);
      CHILD_CHECK(sleeper != nullptr && spinner != nullptr);
      constexpr int timeout_us = 50'000;

      auto start = clock_type::now();
      uint64_t cpu = thread_cpu_us();
      CHILD_CHECK(sleeper->poll(timeout_us) == 0);
      cpu = thread_cpu_us() - cpu;
      uint64_t wall = since_us(start);
      std::fprintf(stderr, "[child] idle_sleep_us 1000: poll(%d) took %llu us, %llu us CPU\n",
                   timeout_us, static_cast<unsigned long long>(wall),
                   static_cast<unsigned long long>(cpu));
      CHILD_CHECK(wall >= timeout_us && wall < timeout_us + 30'000);  // the timeout holds
      CHILD_CHECK(cpu * 10 < wall * 3);                               // < 30% of the wall time
      CHILD_CHECK(sleeper->stats().idle_sleeps >= 20);  // ~50 steps of 1 ms, minus the spin

      // Pure poll mode spins: CPU close to the wall time on a quiet machine. On a shared one
      // other threads take turns on its CPU, but it stays runnable (on a CPU or waiting for
      // one) all along, which a sleeping poll never is.
      start = clock_type::now();
      cpu = thread_cpu_us();
      const std::optional<uint64_t> runnable_before = thread_runnable_us();
      CHILD_CHECK(spinner->poll(timeout_us) == 0);
      const std::optional<uint64_t> runnable_after = thread_runnable_us();
      cpu = thread_cpu_us() - cpu;
      wall = since_us(start);
      CHILD_CHECK(wall >= timeout_us);
      CHILD_CHECK(spinner->stats().idle_sleeps == 0);
      if (runnable_before && runnable_after) {
        const uint64_t runnable = *runnable_after - *runnable_before;
        std::fprintf(stderr,
                     "[child] idle_sleep_us 0: poll(%d) took %llu us, %llu us CPU, runnable "
                     "%llu us\n",
                     timeout_us, static_cast<unsigned long long>(wall),
                     static_cast<unsigned long long>(cpu),
                     static_cast<unsigned long long>(runnable));
        CHILD_CHECK(runnable * 10 >= wall * 8);
      } else {
        std::fprintf(stderr,
                     "[child] idle_sleep_us 0: poll(%d) took %llu us, %llu us CPU (no schedstat "
                     "here: the CPU time must show the spin)\n",
                     timeout_us, static_cast<unsigned long long>(wall),
                     static_cast<unsigned long long>(cpu));
        CHILD_CHECK(cpu * 10 >= wall * 6);
      }

      // poll(0) never sleeps, back-off or not.
      start = clock_type::now();
      for (int i = 0; i < 100; ++i) CHILD_CHECK(sleeper->poll(0) == 0);
      CHILD_CHECK(since_us(start) < 20'000);
      return 0;
    });
  }));
}

TEST(DpdkTransportIdle, DataSentWhileThePeerSleepsIsAnsweredWithinTheSleepBound) {
  EXPECT_CHILD_OK(dp::testing::run_child([] {
    return with_wire([](dp::testing::ring_pair& wire) {
      std::string error;
      // The echo server sleeps when idle in steps of 1 ms and polls with a 200 ms timeout: a
      // back-off that slept through the timeout would answer up to 200 ms late.
      auto server = dp::dpdk_transport::create(*wire.a, 0, config(addr_a, 1000), error);
      auto client = dp::dpdk_transport::create(*wire.b, 0, config(addr_b, 0), error);
      CHILD_CHECK(server != nullptr && client != nullptr);
      peer_handler server_h(server.get(), true);
      peer_handler client_h(client.get(), false);
      server->set_handler(&server_h);
      client->set_handler(&client_h);
      CHILD_CHECK(server->listen({"10.0.0.1", echo_port}) == 0);
      served_transport served(*server, 200'000);
      served.start();

      int err = -1;
      const conn_id c = client->connect({"10.0.0.1", echo_port}, err);
      CHILD_CHECK(c != invalid_conn);
      CHILD_CHECK(spin_until(
          *client, [&] { return client_h.connect_err != -1; }, 5s));
      CHILD_CHECK(client_h.connect_err == 0);

      constexpr int rounds = 20;
      // Where the bounds are not checked, only a lost echo fails (a 200 ms poll timeout is the
      // bound a back-off that slept through it would miss).
      const auto echo_limit = rate_bounds_checked() ? 200ms : 10'000ms;
      std::vector<uint64_t> rtt_us;
      for (int r = 0; r < rounds; ++r) {
        // The server has gone idle (idle_spin_us 200) and asleep.
        CHILD_CHECK(served.wait_asleep(5s));
        const std::string ping = "ping " + std::to_string(r) + ";";
        const size_t want = client_h.received.size() + ping.size();
        const auto sent_at = clock_type::now();
        CHILD_CHECK(client->send(c, bytes_of(ping)));
        const bool back = spin_until(
            *client, [&] { return client_h.received.size() >= want; }, echo_limit);
        rtt_us.push_back(since_us(sent_at));
        if (!back) {
          std::fprintf(stderr, "[child] round %d: no echo within %lld ms\n", r,
                       static_cast<long long>(echo_limit.count()));
        }
        CHILD_CHECK(back);
        CHILD_CHECK(client_h.received.ends_with(ping));
      }
      served.stop();
      std::sort(rtt_us.begin(), rtt_us.end());
      std::fprintf(stderr,
                   "[child] echo to a sleeping peer (idle_sleep_us 1000): median %llu us, max "
                   "%llu us; the server's thread used %llu us CPU in %llu us\n",
                   static_cast<unsigned long long>(rtt_us[rounds / 2]),
                   static_cast<unsigned long long>(rtt_us.back()),
                   static_cast<unsigned long long>(served.cpu_us()),
                   static_cast<unsigned long long>(served.wall_us()));
      // The bound is 1 ms plus wake-up; the checks leave room for a loaded machine and still
      // fail a back-off that waits for its 200 ms timeout (about 190 ms each round then).
      if (rate_bounds_checked()) {
        CHILD_CHECK(rtt_us[rounds / 2] < 50'000);
        CHILD_CHECK(rtt_us.back() < 150'000);
      }
      // Asleep before every round: each ping woke it from a sleep of the back-off.
      CHILD_CHECK(server->stats().idle_sleeps >= rounds);
      CHILD_CHECK(server_h.refused == 0 && server_h.closes == 0 && client_h.closes == 0);
      return 0;
    });
  }));
}

TEST(DpdkTransportIdle, DelayedAckFiresOnTimeWhileTheReceiverSleeps) {
  EXPECT_CHILD_OK(dp::testing::run_child([] {
    return with_wire([](dp::testing::ring_pair& wire) {
      std::string error;
      // The receiver sleeps in steps of 2 ms and polls with a 500 ms timeout; it never
      // answers, so the only ACK for one small segment is its delayed ACK (RFC 9293
      // §3.8.6.3), due delayed_ack_us after the segment arrived.
      dp::dpdk_transport_config rc = config(addr_a, 2000);
      rc.tcp.delayed_ack_us = 40'000;
      auto receiver = dp::dpdk_transport::create(*wire.a, 0, rc, error);
      auto sender = dp::dpdk_transport::create(*wire.b, 0, config(addr_b, 0), error);
      CHILD_CHECK(receiver != nullptr && sender != nullptr);
      peer_handler receiver_h(receiver.get(), false);
      peer_handler sender_h(sender.get(), false);
      receiver->set_handler(&receiver_h);
      sender->set_handler(&sender_h);
      CHILD_CHECK(receiver->listen({"10.0.0.1", echo_port}) == 0);
      served_transport served(*receiver, 500'000);
      served.start();

      int err = -1;
      const conn_id c = sender->connect({"10.0.0.1", echo_port}, err);
      CHILD_CHECK(c != invalid_conn);
      CHILD_CHECK(spin_until(
          *sender, [&] { return sender_h.connect_err != -1; }, 5s));
      CHILD_CHECK(sender_h.connect_err == 0);
      CHILD_CHECK(served.wait_asleep(5s));  // the receiver has gone idle and asleep

      const auto sent_at = clock_type::now();
      CHILD_CHECK(sender->send(c, bytes_of("one small segment")));
      net::tcp_conn_info info;
      const bool acked = spin_until(
          *sender,
          [&] {
            // Every octet acknowledged (the ring counts the unacknowledged ones).
            return sender->queued(c) == 0 && sender->tcp_info(c, info) && info.send_queued == 0;
          },
          2s);
      const uint64_t took_us = since_us(sent_at);
      served.stop();
      std::fprintf(stderr,
                   "[child] delayed ACK (40 ms) from a receiver sleeping in 2 ms steps: after "
                   "%llu us\n",
                   static_cast<unsigned long long>(took_us));
      CHILD_CHECK(acked);
      CHILD_CHECK(receiver->tcp_counters().delayed_acks >= 1);
      CHILD_CHECK(took_us >= 39'000);  // it was the timer, not an immediate ACK
      // Due at 40 ms, at most 2 ms late by the back-off (about 44 ms on a quiet machine);
      // 150 ms leaves room for a loaded one, far from the ~500 ms a back-off that slept
      // through its timeout takes.
      if (rate_bounds_checked()) CHILD_CHECK(took_us < 150'000);
      return 0;
    });
  }));
}
