// Two workers (EAL lcores) drive their own queue pairs of one port at the same time, each with
// its own port_link: nothing of one worker's traffic shows on the other's queue.
#include <gtest/gtest.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <sched.h>

#include <cstring>
#include <vector>

#include "dpdk_child.hpp"
#include "smpp/dataplane/dpdk/port.hpp"
#include "smpp/dataplane/dpdk/port_link.hpp"

namespace dp = smpp::dataplane::dpdk;
using dp::testing::run_child;
using dp::testing::test_eal_config;

namespace {

constexpr uint32_t frames_per_worker = 20'000;

struct alignas(64) worker_result {
  uint32_t sent = 0;
  uint32_t received = 0;
  uint32_t foreign = 0;  // frames stamped by the other worker
  uint32_t out_of_order = 0;
  unsigned lcore = 0;
};

struct worker_args {
  const dp::port* p;
  uint16_t queue;
  worker_result* result;
};

// Sends frames stamped with its queue and a number, receives them back on the same queue.
int run_worker(void* arg) {
  auto* a = static_cast<worker_args*>(arg);
  worker_result& r = *a->result;
  r.lcore = rte_lcore_id();
  dp::port_link l(*a->p, a->queue);
  uint32_t next_expected = 0;
  auto take = [&](std::span<const std::byte> f) {
    uint16_t q = 0;
    uint32_t seq = 0;
    std::memcpy(&q, f.data() + 14, 2);
    std::memcpy(&seq, f.data() + 16, 4);
    if (q != a->queue) {
      ++r.foreign;
      return;
    }
    r.out_of_order += seq != next_expected;
    next_expected = seq + 1;
    ++r.received;
  };
  const uint64_t give_up = rte_get_timer_cycles() + 20 * rte_get_timer_hz();
  while (r.received < frames_per_worker && rte_get_timer_cycles() < give_up) {
    for (int i = 0; i < 32 && r.sent < frames_per_worker; ++i) {
      auto f = l.alloc_frame(64);
      if (f.empty()) break;
      std::memset(f.data(), 0, 64);
      std::memcpy(f.data() + 14, &a->queue, 2);
      std::memcpy(f.data() + 16, &r.sent, 4);
      l.send_frame(64);
      ++r.sent;
    }
    (void)l.flush();
    (void)l.rx(take);
  }
  return 0;
}

}  // namespace

TEST(PortWorkers, TwoLcoresDriveTheirOwnQueuesAtOnce) {
  EXPECT_CHILD_OK(run_child([] {
    // Two lcores on the CPUs this process may use (the same CPU twice if it has only one).
    cpu_set_t allowed;
    CHILD_CHECK(sched_getaffinity(0, sizeof allowed, &allowed) == 0);
    std::vector<unsigned> cpus;
    for (unsigned c = 0; c < CPU_SETSIZE && cpus.size() < 2; ++c) {
      if (CPU_ISSET(c, &allowed)) cpus.push_back(c);
    }
    CHILD_CHECK(!cpus.empty());
    if (cpus.size() == 1) cpus.push_back(cpus[0]);
    auto cfg = test_eal_config({"net_ring0"});
    cfg.cpus = cpus;
    std::string error;
    auto e = dp::eal::init(cfg, error);
    if (!e) std::fprintf(stderr, "[child] %s\n", error.c_str());
    CHILD_CHECK(e.has_value());
    CHILD_CHECK(e->lcores() == (std::vector<unsigned>{0, 1}));
    CHILD_CHECK(rte_lcore_count() == 2);
    dp::port_config pc;
    pc.device = "net_ring0";
    pc.worker_lcores = {0, 1};
    auto p = dp::port::open(pc, error);
    if (!p) std::fprintf(stderr, "[child] %s\n", error.c_str());
    CHILD_CHECK(p.has_value());
    std::array<worker_result, 2> results{};
    worker_args on_main{&*p, 0, &results[0]};
    worker_args on_worker{&*p, 1, &results[1]};
    CHILD_CHECK(rte_eal_remote_launch(run_worker, &on_worker, 1) == 0);
    (void)run_worker(&on_main);
    CHILD_CHECK(rte_eal_wait_lcore(1) == 0);
    for (size_t w = 0; w < 2; ++w) {
      const auto& r = results[w];
      std::fprintf(stderr, "[child] lcore %u queue %zu: sent %u received %u foreign %u\n", r.lcore,
                   w, r.sent, r.received, r.foreign);
      CHILD_CHECK(r.lcore == w);
      CHILD_CHECK(r.sent == frames_per_worker);
      CHILD_CHECK(r.received == frames_per_worker);
      CHILD_CHECK(r.foreign == 0);
      CHILD_CHECK(r.out_of_order == 0);
    }
    return 0;
  }));
}
