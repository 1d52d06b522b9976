// Single-threaded behaviour of spsc_ring: the bound, back-pressure, wrap-around, bursts and the
// lifetime of the objects it holds. The two-thread test is spsc_ring_mt_test.cpp.
#include "smpp/dataplane/spsc_ring.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <memory>
#include <numeric>
#include <stdexcept>
#include <vector>

namespace smpp::dataplane {
namespace {

// Counts live objects; every construction must be matched by exactly one destruction.
struct counted {
  static inline long constructions = 0;
  static inline long destructions = 0;
  static void reset() { constructions = destructions = 0; }
  static long live() { return constructions - destructions; }

  uint64_t value = 0;
  counted() noexcept { ++constructions; }
  explicit counted(uint64_t v) noexcept : value(v) { ++constructions; }
  counted(const counted& other) noexcept : value(other.value) { ++constructions; }
  counted(counted&& other) noexcept : value(other.value) {
    other.value = moved_from;
    ++constructions;
  }
  counted& operator=(const counted&) noexcept = default;
  counted& operator=(counted&& other) noexcept {
    value = other.value;
    other.value = moved_from;
    return *this;
  }
  ~counted() { ++destructions; }

  static constexpr uint64_t moved_from = ~uint64_t{0};
};

class counted_test : public ::testing::Test {
 protected:
  void SetUp() override { counted::reset(); }
  void TearDown() override { EXPECT_EQ(counted::constructions, counted::destructions); }
};

TEST(spsc_ring, capacity_is_rounded_up_to_a_power_of_two) {
  EXPECT_EQ(spsc_ring<int>(1).capacity(), 1u);
  EXPECT_EQ(spsc_ring<int>(2).capacity(), 2u);
  EXPECT_EQ(spsc_ring<int>(3).capacity(), 4u);
  EXPECT_EQ(spsc_ring<int>(1000).capacity(), 1024u);
  EXPECT_EQ(spsc_ring<int>(1024).capacity(), 1024u);
  EXPECT_EQ(spsc_ring<int>(1025).capacity(), 2048u);
}

TEST(spsc_ring, zero_or_oversized_capacity_is_rejected_at_construction) {
  EXPECT_THROW(spsc_ring<int>(0), std::invalid_argument);
  EXPECT_THROW(spsc_ring<int>(spsc_ring<int>::max_capacity + 1), std::length_error);
}

TEST(spsc_ring, every_slot_of_the_capacity_is_usable) {
  spsc_ring<int> ring(8);
  for (int i = 0; i < 8; ++i) EXPECT_TRUE(ring.try_push(i));
  EXPECT_EQ(ring.size(), 8u);
}

TEST(spsc_ring, full_ring_refuses_a_push_and_accepts_again_after_a_pop) {
  spsc_ring<int> ring(4);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(ring.try_push(i));
  EXPECT_FALSE(ring.try_push(99));  // back-pressure: refused, not dropped or overwritten
  EXPECT_EQ(ring.size(), 4u);
  int out = -1;
  ASSERT_TRUE(ring.try_pop(out));
  EXPECT_EQ(out, 0);
  EXPECT_TRUE(ring.try_push(4));
  EXPECT_FALSE(ring.try_push(5));
  for (int expected = 1; expected <= 4; ++expected) {
    ASSERT_TRUE(ring.try_pop(out));
    EXPECT_EQ(out, expected);
  }
}

TEST(spsc_ring, empty_ring_pops_nothing_and_leaves_the_output_untouched) {
  spsc_ring<int> ring(4);
  int out = 42;
  EXPECT_FALSE(ring.try_pop(out));
  EXPECT_EQ(out, 42);
  EXPECT_TRUE(ring.empty());
  std::array<int, 4> burst{7, 7, 7, 7};
  EXPECT_EQ(ring.pop_burst(burst), 0u);
  EXPECT_EQ(burst, (std::array<int, 4>{7, 7, 7, 7}));
}

TEST(spsc_ring, refused_rvalue_push_does_not_move_from_the_item) {
  spsc_ring<std::unique_ptr<int>> ring(1);
  ASSERT_TRUE(ring.try_push(std::make_unique<int>(1)));
  auto second = std::make_unique<int>(2);
  EXPECT_FALSE(ring.try_push(std::move(second)));
  ASSERT_NE(second, nullptr);  // still the caller's: a full ring never loses an item
  EXPECT_EQ(*second, 2);
  std::unique_ptr<int> out;
  ASSERT_TRUE(ring.try_pop(out));
  EXPECT_EQ(*out, 1);
  EXPECT_TRUE(ring.try_push(std::move(second)));
}

TEST(spsc_ring, order_is_kept_across_many_wrap_arounds) {
  spsc_ring<uint32_t> ring(8);
  uint32_t next_in = 0;
  uint32_t next_out = 0;
  // Uneven fill levels so the indices cross the end of the slot array at every offset.
  for (int round = 0; round < 1000; ++round) {
    const int pushes = 1 + round % 7;
    for (int i = 0; i < pushes && ring.try_push(next_in); ++i) ++next_in;
    const int pops = 1 + (round * 3) % 6;
    uint32_t out = 0;
    for (int i = 0; i < pops && ring.try_pop(out); ++i) ASSERT_EQ(out, next_out++);
  }
  uint32_t out = 0;
  while (ring.try_pop(out)) ASSERT_EQ(out, next_out++);
  EXPECT_EQ(next_in, next_out);
  EXPECT_GT(next_out, 3 * 8u);
}

TEST(spsc_ring, burst_push_into_a_nearly_full_ring_is_partially_accepted) {
  spsc_ring<int> ring(8);
  std::array<int, 5> first{0, 1, 2, 3, 4};
  EXPECT_EQ(ring.push_burst(first), 5u);
  std::array<int, 5> second{5, 6, 7, 8, 9};
  EXPECT_EQ(ring.push_burst(second), 3u);  // room for 5, 6, 7; the caller keeps 8 and 9
  EXPECT_EQ(ring.push_burst(second), 0u);
  EXPECT_EQ(ring.size(), 8u);
  std::array<int, 16> out{};
  ASSERT_EQ(ring.pop_burst(out), 8u);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(out[i], i);
}

TEST(spsc_ring, burst_pop_returns_at_most_what_is_there_and_at_most_what_fits) {
  spsc_ring<int> ring(16);
  std::vector<int> in(10);
  std::iota(in.begin(), in.end(), 0);
  ASSERT_EQ(ring.push_burst(in), 10u);
  std::array<int, 4> small{};
  ASSERT_EQ(ring.pop_burst(small), 4u);
  EXPECT_EQ(small, (std::array<int, 4>{0, 1, 2, 3}));
  std::array<int, 32> large{};
  ASSERT_EQ(ring.pop_burst(large), 6u);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(large[i], 4 + i);
  EXPECT_TRUE(ring.empty());
}

TEST(spsc_ring, bursts_that_straddle_the_end_of_the_slot_array_keep_order) {
  spsc_ring<int> ring(8);
  int next_in = 0;
  int next_out = 0;
  for (int round = 0; round < 200; ++round) {
    std::array<int, 5> in{};
    for (int& v : in) v = next_in++;
    const std::size_t pushed = ring.push_burst(in);
    next_in -= static_cast<int>(in.size() - pushed);  // the refused tail is offered again
    std::array<int, 3> out{};
    const std::size_t popped = ring.pop_burst(out);
    for (std::size_t i = 0; i < popped; ++i) ASSERT_EQ(out[i], next_out++);
  }
  std::array<int, 8> rest{};
  const std::size_t popped = ring.pop_burst(rest);
  for (std::size_t i = 0; i < popped; ++i) ASSERT_EQ(rest[i], next_out++);
  EXPECT_EQ(next_in, next_out);
}

TEST(spsc_ring, size_tracks_pushes_and_pops) {
  spsc_ring<int> ring(4);
  EXPECT_TRUE(ring.empty());
  EXPECT_EQ(ring.size(), 0u);
  ASSERT_TRUE(ring.try_push(1));
  ASSERT_TRUE(ring.try_push(2));
  EXPECT_EQ(ring.size(), 2u);
  EXPECT_FALSE(ring.empty());
  int out = 0;
  ASSERT_TRUE(ring.try_pop(out));
  EXPECT_EQ(ring.size(), 1u);
}

TEST_F(counted_test, every_object_pushed_is_destroyed_exactly_once_after_pops) {
  {
    spsc_ring<counted> ring(4);
    EXPECT_EQ(counted::live(), 0);  // slots are raw storage until a push constructs them
    for (uint64_t i = 0; i < 4; ++i) ASSERT_TRUE(ring.try_push(counted(i)));
    EXPECT_EQ(counted::live(), 4);
    EXPECT_FALSE(ring.try_push(counted(99)));
    EXPECT_EQ(counted::live(), 4);
    counted out;
    for (uint64_t i = 0; i < 4; ++i) {
      ASSERT_TRUE(ring.try_pop(out));
      EXPECT_EQ(out.value, i);
    }
    EXPECT_EQ(counted::live(), 1);  // only `out`
  }
  EXPECT_EQ(counted::live(), 0);
}

TEST_F(counted_test, objects_left_in_the_ring_are_destroyed_with_it) {
  {
    spsc_ring<counted> ring(8);
    const counted item(7);
    for (int i = 0; i < 6; ++i) ASSERT_TRUE(ring.try_push(item));  // lvalue: copied
    counted out;
    ASSERT_TRUE(ring.try_pop(out));
    EXPECT_EQ(item.value, 7u);
    EXPECT_EQ(counted::live(), 1 + 5 + 1);
  }
  EXPECT_EQ(counted::live(), 0);
}

TEST_F(counted_test, bursts_across_the_wrap_construct_and_destroy_in_pairs) {
  {
    spsc_ring<counted> ring(8);
    std::vector<counted> in;
    for (uint64_t i = 0; i < 6; ++i) in.emplace_back(i);
    std::vector<counted> out(6);
    for (int round = 0; round < 10; ++round) {
      ASSERT_EQ(ring.push_burst(in), 6u);
      ASSERT_EQ(ring.pop_burst(out), 6u);
      for (uint64_t i = 0; i < 6; ++i) ASSERT_EQ(out[i].value, i);
    }
    ASSERT_EQ(ring.push_burst(in), 6u);
    ASSERT_EQ(ring.push_burst(in), 2u);  // partially accepted across the wrap
    EXPECT_EQ(counted::live(), 6 + 6 + 8);
  }
  EXPECT_EQ(counted::live(), 0);
}

}  // namespace
}  // namespace smpp::dataplane
