// Price lists published while workers look prices up (under TSan): the workers never pause, each
// lookup answers from the list of the snapshot the worker holds, and a list is freed only when
// the last worker holding it has moved on; a list whose file did not change is carried over.
#include <tbb/global_control.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "smpp/control/price_builder.hpp"
#include "smpp/dataplane/shared_state.hpp"

namespace smpp::control {
namespace {

using clock_type = std::chrono::steady_clock;
constexpr size_t kPrefixes = 2000;

template <typename F>
bool wait_for(F done) {
  const auto deadline = clock_type::now() + std::chrono::seconds(60);
  while (!done()) {
    if (clock_type::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

// Version v: prefixes 44000..44000+kPrefixes priced v + 1 millionths, the version in system_id;
// upstream 1's list is `kept` (the same table in every version).
std::shared_ptr<const dataplane::router_snapshot> snapshot_of(
    uint64_t v, const std::shared_ptr<const dataplane::price_table>& kept) {
  std::string text;
  for (size_t i = 0; i < kPrefixes; ++i) {
    text +=
        std::to_string(44000 + i) + ",0." + std::string(5, '0') + std::to_string(v % 9 + 1) + "\n";
  }
  price_build_result built = build_price_table("v.csv", text);
  EXPECT_TRUE(built.ok()) << built.error;
  auto s = std::make_shared<dataplane::router_snapshot>();
  s->prices = {std::move(built.table), kept};
  s->system_id = std::to_string(v);
  return s;
}

struct worker {
  std::atomic<uint64_t> adopted{0};
  std::atomic<bool> hold{false};
  std::atomic<uint64_t> wrong{0};
  std::atomic<uint64_t> lookups{0};
  std::thread thread;
};

TEST(PricePublish, WorkersLookUpWhileListsArePublishedAndAnOldListLivesUntilTheLastLetsGo) {
  // oneTBB from Debian is not built for TSan: the builds run on the calling thread here (the
  // parallel build is price_builder_test's).
  tbb::global_control one_thread(tbb::global_control::max_allowed_parallelism, 1);
  const price_build_result kept = build_price_table("kept.csv", "33,1\n");
  ASSERT_TRUE(kept.ok());
  dataplane::shared_state shared(1, 0, 2);
  std::vector<std::weak_ptr<const dataplane::price_table>> lists;
  {
    auto first = snapshot_of(0, kept.table);
    lists.push_back(first->prices[0]);
    shared.publish(std::move(first));
  }
  std::atomic<bool> stop{false};
  worker workers[2];
  for (worker& w : workers) {
    w.thread = std::thread([&shared, &stop, &w] {
      std::shared_ptr<const dataplane::router_snapshot> held;
      uint64_t seen = UINT64_MAX;
      while (!stop.load(std::memory_order_acquire)) {
        const uint64_t g = shared.generation.load(std::memory_order_acquire);
        if (g != seen && !w.hold.load(std::memory_order_acquire)) {
          held = shared.current();
          seen = g;
          w.adopted.store(std::stoull(held->system_id), std::memory_order_release);
        }
        const auto expected =
            static_cast<dataplane::price_micros>(std::stoull(held->system_id) % 9 + 1);
        for (size_t i = 0; i < kPrefixes; i += 97) {
          if (held->prices[0]->lookup(std::to_string(44000 + i) + "123") != expected)
            w.wrong.fetch_add(1);
          if (held->prices[1]->lookup("331234") != 1'000'000) w.wrong.fetch_add(1);
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
    auto next = snapshot_of(v, kept.table);
    lists.push_back(next->prices[0]);
    shared.publish(std::move(next));
    if (hold_one) {
      ASSERT_TRUE(wait_for([&] { return workers[(v + 1) % 2].adopted.load() == v; }));
      EXPECT_FALSE(lists[v - 1].expired()) << v;
      const uint64_t before = late.lookups.load();
      ASSERT_TRUE(wait_for([&] { return late.lookups.load() > before + 100; }));
      EXPECT_FALSE(lists[v - 1].expired()) << v;
      late.hold.store(false);
    }
    ASSERT_TRUE(wait_for([&] { return all_adopted(v); })) << v;
    EXPECT_TRUE(lists[v - 1].expired()) << v;
  }
  stop.store(true, std::memory_order_release);
  for (worker& w : workers) w.thread.join();
  for (worker& w : workers) {
    EXPECT_EQ(w.wrong.load(), 0u);
    EXPECT_GT(w.lookups.load(), 0u);
  }
  EXPECT_FALSE(lists[kVersions].expired());
  shared.publish(nullptr);
  EXPECT_TRUE(lists[kVersions].expired());
  EXPECT_EQ(kept.table.use_count(), 1);  // the carried-over list: only ours now
}

}  // namespace
}  // namespace smpp::control
