// Number portability tables published while workers look numbers up (under TSan): the workers
// never pause, each lookup answers from the table of the snapshot the worker holds, and a
// table is freed only when the last worker holding it has moved on.
#include <tbb/global_control.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "smpp/control/mnp_builder.hpp"
#include "smpp/dataplane/shared_state.hpp"

namespace smpp::control {
namespace {

using clock_type = std::chrono::steady_clock;
constexpr size_t kNumbers = 2000;
constexpr uint64_t kFirst = 447700000000;
const char* const kNames[] = {"red", "green", "blue"};

// Waits until `done()` or the deadline; false when the deadline came first.
template <typename F>
bool wait_for(F done) {
  const auto deadline = clock_type::now() + std::chrono::seconds(60);
  while (!done()) {
    if (clock_type::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

// Version v: every number on network v % 3, the version in system_id.
std::shared_ptr<const dataplane::router_snapshot> snapshot_of(uint64_t v) {
  network_ids ids;
  for (uint16_t i = 0; i < 3; ++i) ids.emplace(kNames[i], i);
  std::string text;
  for (size_t i = 0; i < kNumbers; ++i) {
    text += std::to_string(kFirst + i * 7) + "," + kNames[v % 3] + "\n";
  }
  const mnp_text files[] = {{"v.csv", text}};
  mnp_build_result built = build_mnp_index(files, ids);
  EXPECT_TRUE(built.ok()) << built.error;
  auto s = std::make_shared<dataplane::router_snapshot>();
  s->networks =
      dataplane::network_map({"red", "green", "blue"}, {{"44"}, {}, {}}, std::move(built.index));
  s->system_id = std::to_string(v);
  return s;
}

struct worker {
  std::atomic<uint64_t> adopted{0};  // the version it holds
  std::atomic<bool> hold{false};     // set: keep the snapshot it has
  std::atomic<uint64_t> wrong{0};    // lookups that did not answer from the held table
  std::atomic<uint64_t> lookups{0};
  std::thread thread;
};

TEST(MnpPublish, WorkersLookUpWhileTablesArePublishedAndAnOldTableLivesUntilTheLastLetsGo) {
  // oneTBB from Debian is not built for TSan, which cannot see its workers' hand-offs: the
  // builds here run on the calling thread (the parallel build is mnp_builder_test's).
  tbb::global_control one_thread(tbb::global_control::max_allowed_parallelism, 1);
  dataplane::shared_state shared(1, 0, 2);
  std::vector<std::weak_ptr<const dataplane::mnp_index>> tables;
  {
    auto first = snapshot_of(0);
    tables.push_back(first->networks.ported());
    shared.publish(std::move(first));
  }
  std::atomic<bool> stop{false};
  worker workers[2];
  for (worker& w : workers) {
    w.thread = std::thread([&shared, &stop, &w] {
      std::shared_ptr<const dataplane::router_snapshot> held;
      uint64_t seen = UINT64_MAX;
      while (!stop.load(std::memory_order_acquire)) {
        // Between two turns, as router_worker adopts: only when the generation moved.
        const uint64_t g = shared.generation.load(std::memory_order_acquire);
        if (g != seen && !w.hold.load(std::memory_order_acquire)) {
          held = shared.current();
          seen = g;
          w.adopted.store(std::stoull(held->system_id), std::memory_order_release);
        }
        const auto expected = static_cast<uint16_t>(std::stoull(held->system_id) % 3);
        for (size_t i = 0; i < kNumbers; i += 97) {
          const std::string msisdn = std::to_string(kFirst + i * 7);
          if (held->networks.network_of(msisdn) != expected) w.wrong.fetch_add(1);
          if (held->networks.network_of(std::to_string(kFirst + i * 7 + 1)) != 0) {
            w.wrong.fetch_add(1);  // not ported: the home network of "44"
          }
          w.lookups.fetch_add(1, std::memory_order_relaxed);
        }
      }
    });
  }
  const auto all_adopted = [&](uint64_t v) {
    return workers[0].adopted.load() == v && workers[1].adopted.load() == v;
  };
  ASSERT_TRUE(wait_for([&] { return all_adopted(0); }));
  constexpr uint64_t kVersions = 24;
  for (uint64_t v = 1; v <= kVersions; ++v) {
    worker& late = workers[v % 2];
    const bool hold_one = v % 3 == 0;
    if (hold_one) late.hold.store(true);
    auto next = snapshot_of(v);
    tables.push_back(next->networks.ported());
    shared.publish(std::move(next));
    if (hold_one) {
      // One worker has moved on, the other still holds v - 1: its table is alive.
      ASSERT_TRUE(wait_for([&] { return workers[(v + 1) % 2].adopted.load() == v; }));
      EXPECT_FALSE(tables[v - 1].expired()) << v;
      const uint64_t before = late.lookups.load();
      ASSERT_TRUE(wait_for([&] { return late.lookups.load() > before + 100; }));
      EXPECT_FALSE(tables[v - 1].expired()) << v;
      late.hold.store(false);
    }
    ASSERT_TRUE(wait_for([&] { return all_adopted(v); })) << v;
    // Every worker has moved on: v - 1's table is gone (nobody else held it).
    EXPECT_TRUE(tables[v - 1].expired()) << v;
  }
  stop.store(true, std::memory_order_release);
  for (worker& w : workers) w.thread.join();
  for (worker& w : workers) {
    EXPECT_EQ(w.wrong.load(), 0u);
    EXPECT_GT(w.lookups.load(), 0u);
  }
  EXPECT_FALSE(tables[kVersions].expired());  // still published
  shared.publish(nullptr);
  EXPECT_TRUE(tables[kVersions].expired());
}

}  // namespace
}  // namespace smpp::control
