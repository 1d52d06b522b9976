// spsc_ring across two threads: every sequence number arrives, once, in order, whatever the mix
// of single and burst calls on each side. Run under TSan (label "concurrent"), where it also
// proves the acquire/release pairs publish the slots' contents.
//
// Each test is bounded in time: it passes its item count or stops at its deadline, whichever
// comes first, so a slow sanitizer build still finishes in a few seconds.
#include "smpp/dataplane/spsc_ring.hpp"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <span>
#include <thread>

namespace smpp::dataplane {
namespace {

using clock_type = std::chrono::steady_clock;
constexpr std::size_t max_burst = 32;

// Set by the producer when it has stopped for good, with the number of items it pushed.
struct producer_result {
  std::atomic<bool> done{false};
  std::atomic<uint64_t> pushed{0};
};

void back_off(uint64_t& failures) {
  // Yield now and then so the test also progresses when both threads share one CPU.
  if (++failures % 64 == 0) std::this_thread::yield();
}

// The consumer's safety net: true once it has waited well past the producer's deadline, which
// only happens if items were lost.
bool consumer_gave_up(uint64_t failures, clock_type::time_point producer_deadline) {
  return failures % 1024 == 0 && clock_type::now() > producer_deadline + std::chrono::seconds(2);
}

TEST(spsc_ring_mt, ten_million_sequence_numbers_in_random_bursts_arrive_in_order_without_loss) {
  constexpr uint64_t target = 10'000'000;
  const auto deadline = clock_type::now() + std::chrono::seconds(4);
  spsc_ring<uint64_t> ring(256);  // small, so both the full and the empty path are hot
  producer_result result;

  std::thread producer([&] {
    std::mt19937 rng(12345);
    std::uniform_int_distribution<std::size_t> burst_size(1, max_burst);
    std::array<uint64_t, max_burst> burst{};
    uint64_t next = 0;
    uint64_t failures = 0;
    for (uint64_t round = 0; next < target; ++round) {
      if (round % 1024 == 0 && clock_type::now() > deadline) break;
      const std::size_t want = std::min<uint64_t>(burst_size(rng), target - next);
      if (want == 1) {  // the single-item path, interleaved with bursts
        if (ring.try_push(next)) {
          ++next;
        } else {
          back_off(failures);
        }
        continue;
      }
      for (std::size_t i = 0; i < want; ++i) burst[i] = next + i;
      const std::size_t pushed = ring.push_burst(std::span(burst.data(), want));
      next += pushed;  // the refused tail is regenerated and offered again next round
      if (pushed == 0) back_off(failures);
    }
    result.pushed.store(next, std::memory_order_relaxed);
    result.done.store(true, std::memory_order_release);
  });

  std::mt19937 rng(67890);
  std::uniform_int_distribution<std::size_t> burst_size(1, max_burst);
  std::array<uint64_t, max_burst> burst{};
  uint64_t expected = 0;
  uint64_t out_of_order = 0;
  uint64_t failures = 0;
  for (;;) {
    const std::size_t want = burst_size(rng);
    std::size_t got = 0;
    if (want == 1) {
      got = ring.try_pop(burst[0]) ? 1 : 0;
    } else {
      got = ring.pop_burst(std::span(burst.data(), want));
    }
    for (std::size_t i = 0; i < got; ++i) out_of_order += burst[i] != expected++ ? 1 : 0;
    if (got != 0) continue;
    // Empty: finished only once the producer has stopped and everything it pushed is here.
    if (result.done.load(std::memory_order_acquire) &&
        expected == result.pushed.load(std::memory_order_relaxed) && ring.empty()) {
      break;
    }
    if (consumer_gave_up(failures, deadline)) {
      ADD_FAILURE() << "consumer stuck at " << expected << " items";
      break;
    }
    back_off(failures);
  }
  producer.join();

  EXPECT_EQ(out_of_order, 0u);
  EXPECT_EQ(expected, result.pushed.load());
  EXPECT_TRUE(ring.empty());
  // Not vacuous even under a sanitizer; without one the whole target gets through.
  EXPECT_GE(expected, 100'000u);
  RecordProperty("items_passed", std::to_string(expected));
}

// The router pushes a multi-cell message only after checking capacity() - size() (handoff.hpp),
// and may pop a known count after checking size(): what either side reads must be a promise the
// ring keeps while the other side runs.
TEST(spsc_ring_mt, room_and_fill_seen_through_size_are_really_there) {
  constexpr uint64_t target = 500'000;
  const auto deadline = clock_type::now() + std::chrono::seconds(2);
  spsc_ring<uint64_t> ring(64);
  producer_result result;
  std::atomic<uint64_t> broken_room_promises{0};

  std::thread producer([&] {
    std::mt19937 rng(24680);
    std::uniform_int_distribution<std::size_t> burst_size(1, max_burst);
    std::array<uint64_t, max_burst> burst{};
    uint64_t next = 0;
    uint64_t failures = 0;
    uint64_t broken = 0;
    for (uint64_t round = 0; next < target; ++round) {
      if (round % 1024 == 0 && clock_type::now() > deadline) break;
      const std::size_t want = std::min<uint64_t>(burst_size(rng), target - next);
      if (ring.capacity() - ring.size() < want) {
        back_off(failures);
        continue;
      }
      for (std::size_t i = 0; i < want; ++i) burst[i] = next + i;
      const std::size_t pushed = ring.push_burst(std::span(burst.data(), want));
      broken += pushed != want ? 1 : 0;
      next += pushed;
    }
    broken_room_promises.store(broken, std::memory_order_relaxed);
    result.pushed.store(next, std::memory_order_relaxed);
    result.done.store(true, std::memory_order_release);
  });

  std::mt19937 rng(13579);
  std::uniform_int_distribution<std::size_t> burst_size(1, max_burst);
  std::array<uint64_t, max_burst> burst{};
  uint64_t expected = 0;
  uint64_t out_of_order = 0;
  uint64_t broken_fill_promises = 0;
  uint64_t failures = 0;
  for (;;) {
    const std::size_t fill = ring.size();
    if (fill > ring.capacity()) ++broken_fill_promises;
    const std::size_t want = std::min(burst_size(rng), fill);
    if (want != 0) {
      const std::size_t got = ring.pop_burst(std::span(burst.data(), want));
      broken_fill_promises += got != want ? 1 : 0;
      for (std::size_t i = 0; i < got; ++i) out_of_order += burst[i] != expected++ ? 1 : 0;
      continue;
    }
    if (result.done.load(std::memory_order_acquire) &&
        expected == result.pushed.load(std::memory_order_relaxed) && ring.empty()) {
      break;
    }
    if (consumer_gave_up(failures, deadline)) {
      ADD_FAILURE() << "consumer stuck at " << expected << " items";
      break;
    }
    back_off(failures);
  }
  producer.join();

  EXPECT_EQ(broken_room_promises.load(), 0u);
  EXPECT_EQ(broken_fill_promises, 0u);
  EXPECT_EQ(out_of_order, 0u);
  EXPECT_EQ(expected, result.pushed.load());
  EXPECT_GE(expected, 10'000u);
}

// A T with an owning pointer: the slot's object is constructed by the producer and destroyed by
// the consumer, so any missing happens-before on the slot shows up as a TSan race or a leak.
TEST(spsc_ring_mt, owning_items_are_handed_over_whole_and_freed_once) {
  constexpr uint64_t target = 200'000;
  const auto deadline = clock_type::now() + std::chrono::seconds(3);
  spsc_ring<std::unique_ptr<uint64_t>> ring(64);
  producer_result result;

  std::thread producer([&] {
    uint64_t next = 0;
    uint64_t failures = 0;
    auto item = std::make_unique<uint64_t>(next);
    for (uint64_t round = 0; next < target; ++round) {
      if (round % 1024 == 0 && clock_type::now() > deadline) break;
      if (ring.try_push(std::move(item))) {
        if (++next < target) item = std::make_unique<uint64_t>(next);
      } else {
        EXPECT_NE(item, nullptr);  // a refused push leaves the item with us
        back_off(failures);
      }
    }
    result.pushed.store(next, std::memory_order_relaxed);
    result.done.store(true, std::memory_order_release);
  });

  uint64_t expected = 0;
  uint64_t wrong = 0;
  uint64_t failures = 0;
  std::unique_ptr<uint64_t> out;
  for (;;) {
    if (ring.try_pop(out)) {
      wrong += (out == nullptr || *out != expected) ? 1 : 0;
      ++expected;
      continue;
    }
    if (result.done.load(std::memory_order_acquire) &&
        expected == result.pushed.load(std::memory_order_relaxed)) {
      break;
    }
    if (consumer_gave_up(failures, deadline)) {
      ADD_FAILURE() << "consumer stuck at " << expected << " items";
      break;
    }
    back_off(failures);
  }
  producer.join();

  EXPECT_EQ(wrong, 0u);
  EXPECT_EQ(expected, result.pushed.load());
  EXPECT_GE(expected, 10'000u);
}

}  // namespace
}  // namespace smpp::dataplane
