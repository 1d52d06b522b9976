// Two processes, each with its own EAL, joined by a memif (shared-memory packet interface):
// one echoes what the other sends, and every frame comes back exactly once.
#include <gtest/gtest.h>
#include <rte_ethdev.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "dpdk_child.hpp"
#include "smpp/dataplane/dpdk/port.hpp"
#include "smpp/dataplane/dpdk/port_link.hpp"

namespace dp = smpp::dataplane::dpdk;
using dp::testing::start_child;
using dp::testing::test_eal_config;
using dp::testing::wait_child;

namespace {

constexpr uint32_t frames = 2000;
constexpr uint32_t window = 64;  // frames in flight: well under the memif ring (1024)

std::optional<dp::port> open_memif(const std::string& socket, const char* role,
                                   std::optional<dp::eal>& e) {
  std::string error;
  const auto t0 = std::chrono::steady_clock::now();
  auto ms = [&] {
    return static_cast<long>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count());
  };
  auto init = dp::eal::init(test_eal_config({std::string("net_memif0,role=") + role +
                                             ",socket=" + socket + ",socket-abstract=no"}),
                            error);
  if (init) e.emplace(std::move(*init));
  if (!e) {
    std::fprintf(stderr, "[%s] %s\n", role, error.c_str());
    return std::nullopt;
  }
  dp::port_config pc;
  pc.device = "net_memif0";
  pc.link_wait_ms = 10000;  // until the peer process has connected
  const long eal_ms = ms();
  auto p = dp::port::open(pc, error);
  if (!p) std::fprintf(stderr, "[%s] %s\n", role, error.c_str());
  std::fprintf(stderr, "[%s] EAL up in %ld ms, link up after %ld ms more\n", role, eal_ms,
               ms() - eal_ms);
  return p;
}

bool put(dp::port_link& l, uint32_t seq) {
  auto f = l.alloc_frame(64);
  if (f.empty()) return false;
  std::memset(f.data(), 0, 64);
  std::memcpy(f.data() + 14, &seq, 4);
  l.send_frame(64);
  return true;
}

}  // namespace

TEST(Memif, TwoProcessesExchangeEveryFrameExactlyOnce) {
  char dir_template[] = "/tmp/smpp_memif_XXXXXX";
  const char* dir = mkdtemp(dir_template);
  ASSERT_NE(dir, nullptr);
  const std::string socket = std::string(dir) + "/memif.sock";
  // The client says when it has read every echo; till then the server keeps its interface up.
  dp::testing::shared_counter client_done;
  ASSERT_TRUE(client_done.ok());

  const pid_t server = start_child([&]() -> int {
    std::optional<dp::eal> e;
    auto p = open_memif(socket, "server", e);
    CHILD_CHECK(p.has_value());
    dp::port_link l(*p, 0);
    uint32_t echoed = 0;
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (echoed < frames && std::chrono::steady_clock::now() < until) {
      (void)l.rx([&](std::span<const std::byte> f) {
        auto out = l.alloc_frame(f.size());
        if (out.empty()) return;
        std::memcpy(out.data(), f.data(), f.size());
        l.send_frame(f.size());
        ++echoed;
      });
      (void)l.flush();
    }
    std::fprintf(stderr, "[server] echoed %u, device took %lu\n", echoed,
                 (unsigned long)l.counters().tx_frames);
    CHILD_CHECK(echoed == frames);
    // The interface stays up until the client has read the last echoes.
    CHILD_CHECK(client_done.wait_for(1, std::chrono::seconds(20)));
    CHILD_CHECK(l.counters().tx_frames == frames);
    // Done: leave as the router does after its clean stop. The 22.11 memif driver's stop and close
    // race its own control thread over a peer that is leaving (either side faulted now and then,
    // after every frame had been checked); the kernel takes the memory and the socket back.
    e->exit_without_teardown(0);
  });
  // The client connects to the server's socket; give the server a moment to create it. (A file
  // socket: memif's default in DPDK 22.11 is the abstract namespace, where no file appears.)
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!std::filesystem::exists(socket) && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const pid_t client = start_child([&]() -> int {
    std::optional<dp::eal> e;
    auto p = open_memif(socket, "client", e);
    CHILD_CHECK(p.has_value());
    dp::port_link l(*p, 0);
    std::vector<uint8_t> seen(frames, 0);
    uint32_t sent = 0;
    uint32_t back = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (back < frames && std::chrono::steady_clock::now() < deadline) {
      while (sent < frames && sent - back < window) CHILD_CHECK(put(l, sent++));
      (void)l.flush();
      (void)l.rx([&](std::span<const std::byte> f) {
        uint32_t seq = 0;
        if (f.size() != 64) return;
        std::memcpy(&seq, f.data() + 14, 4);
        if (seq < frames) ++seen[seq];
        ++back;
      });
    }
    client_done.add();
    std::fprintf(stderr, "[client] sent %u, back %u, refused %lu\n", sent, back,
                 (unsigned long)l.counters().tx_dropped);
    CHILD_CHECK(back == frames);
    CHILD_CHECK(l.counters().tx_dropped == 0);
    for (uint32_t i = 0; i < frames; ++i) CHILD_CHECK(seen[i] == 1);
    e->exit_without_teardown(0);
  });
  EXPECT_EQ(wait_child(client, std::chrono::seconds(40)), 0);
  EXPECT_EQ(wait_child(server, std::chrono::seconds(40)), 0);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}
