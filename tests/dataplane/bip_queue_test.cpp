// The transports' per-connection send queue (a bip buffer) against a plain model.
#include <gtest/gtest.h>

#include <deque>
#include <random>
#include <vector>

#include "smpp/dataplane/bip_queue.hpp"

namespace smpp::dataplane {
namespace {

std::vector<std::byte> contents(const bip_queue& q) {
  std::span<const std::byte> parts[2];
  const int count = q.gather(parts);
  std::vector<std::byte> out;
  for (int i = 0; i < count; ++i) {
    EXPECT_FALSE(parts[i].empty());
    out.insert(out.end(), parts[i].begin(), parts[i].end());
  }
  return out;
}

TEST(BipQueue, ReservesCommitsAndConsumesInOrder) {
  bip_queue q;
  q.prepare(16);
  EXPECT_EQ(q.capacity(), 16u);
  auto room = q.reserve(10, 64);
  ASSERT_EQ(room.size(), 10u);
  for (size_t i = 0; i < 10; ++i) room[i] = std::byte{static_cast<uint8_t>(i)};
  EXPECT_TRUE(q.reserve(1, 64).empty()) << "one reservation at a time";
  q.commit(10);
  q.consume(8);             // A = [8, 10)
  room = q.reserve(7, 64);  // does not fit after A, fits before it: B at 0
  ASSERT_EQ(room.size(), 7u);
  for (size_t i = 0; i < 7; ++i) room[i] = std::byte{static_cast<uint8_t>(10 + i)};
  q.commit(7);
  EXPECT_EQ(q.capacity(), 16u) << "no growth, no move";
  std::span<const std::byte> parts[2];
  EXPECT_EQ(q.gather(parts), 2);
  const std::vector<std::byte> all = contents(q);
  ASSERT_EQ(all.size(), 9u);
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i], std::byte{static_cast<uint8_t>(8 + i)});
}

TEST(BipQueue, NeverExceedsTheLimit) {
  bip_queue q;
  q.prepare(8);
  ASSERT_EQ(q.reserve(100, 100).size(), 100u);
  q.commit(100);
  EXPECT_TRUE(q.reserve(1, 100).empty());
  EXPECT_LE(q.capacity(), 100u);
  q.consume(1);
  EXPECT_EQ(q.reserve(1, 100).size(), 1u);
}

TEST(BipQueue, ARunTakesTheFreePieceUpToItsMaximumWithoutGrowing) {
  bip_queue q;
  q.prepare(64);
  auto room = q.reserve_run(10, 1000, 4096);
  EXPECT_EQ(room.size(), 64u) << "the whole free piece, not more";
  EXPECT_EQ(q.capacity(), 64u);
  q.commit(20);
  room = q.reserve_run(4, 16, 4096);
  EXPECT_EQ(room.size(), 16u) << "at most max_n";
  q.commit(16);
  room = q.reserve_run(40, 100, 4096);  // 28 free after A, 0 before it: grows for 40 only
  EXPECT_EQ(room.size(), 40u);
  EXPECT_GT(q.capacity(), 64u);
  q.commit(40);
  EXPECT_EQ(q.size(), 76u);
  EXPECT_TRUE(q.reserve_run(5, 100, 80).empty()) << "min_n beyond the limit";
  room = q.reserve_run(2, 100, 80);
  EXPECT_EQ(room.size(), 4u) << "the extra stops at the limit";
  EXPECT_TRUE(q.reserve_run(1, 8, 4096).empty()) << "one reservation at a time";
  q.commit(0);
  EXPECT_EQ(q.size(), 76u);
}

TEST(BipQueue, ReleaseKeepsTheInitialBufferAndFreesAGrownOne) {
  bip_queue q;
  q.prepare(32);
  q.release(32);
  EXPECT_EQ(q.capacity(), 32u);
  ASSERT_FALSE(q.reserve(100, 1000).empty());
  q.commit(100);
  q.release(32);
  EXPECT_EQ(q.size(), 0u);
  EXPECT_EQ(q.capacity(), 0u);
  q.prepare(32);
  EXPECT_EQ(q.capacity(), 32u);
}

// Random reserve/commit/cancel/consume sequences: the queue always holds exactly what the
// model holds, in order, within the limit; a reservation fails only when it must.
TEST(BipQueue, MatchesAModelUnderRandomOperations) {
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    std::mt19937 rng(seed);
    const uint32_t limit = 64 + rng() % 4096;
    bip_queue q;
    q.prepare(std::min<uint32_t>(limit, 16 + rng() % 256));
    std::deque<std::byte> model;
    uint8_t next = 0;
    std::span<std::byte> open;
    for (int step = 0; step < 20'000; ++step) {
      switch (rng() % 4) {
        case 0: {  // reserve or reserve_run
          const size_t n = rng() % (limit / 2 + 2);
          const bool run = rng() % 2 == 0;
          const size_t max_n = n + rng() % 512;
          const uint32_t cap_before = static_cast<uint32_t>(q.capacity());
          const std::span<std::byte> room =
              run ? q.reserve_run(n, max_n, limit) : q.reserve(n, limit);
          const bool may = open.empty() && n > 0 && model.size() + n <= limit;
          ASSERT_EQ(!room.empty(), may) << "seed " << seed << " step " << step;
          if (room.empty()) break;
          if (run) {
            ASSERT_GE(room.size(), n);
            ASSERT_LE(room.size(), max_n);
            ASSERT_LE(model.size() + room.size(), limit);
            if (q.capacity() != cap_before) {
              ASSERT_EQ(room.size(), n) << "grown for min_n only";
            }
          } else {
            ASSERT_EQ(room.size(), n);
          }
          open = room;
          for (std::byte& b : open) b = std::byte{next++};
          next = static_cast<uint8_t>(next - room.size());  // only committed octets count
          break;
        }
        case 1: {  // commit part of the reservation
          if (open.empty()) {
            q.commit(5);  // nothing open: no effect
            break;
          }
          const size_t used = rng() % 3 == 0 ? rng() % (open.size() + 1) : open.size();
          q.commit(used);
          for (size_t i = 0; i < used; ++i) {
            ASSERT_EQ(open[i], std::byte{next});
            model.push_back(std::byte{next++});
          }
          open = {};
          break;
        }
        case 2: {  // a write took some octets; may happen while a reservation is open
          const size_t n = model.empty() ? 0 : rng() % (model.size() + 1);
          q.consume(n);
          model.erase(model.begin(), model.begin() + static_cast<std::ptrdiff_t>(n));
          break;
        }
        case 3:
          if (rng() % 8 == 0 && !open.empty()) {
            q.cancel_reservation();
            open = {};
          }
          break;
      }
      ASSERT_EQ(q.size(), model.size());
      ASSERT_LE(q.capacity(), limit);
      ASSERT_EQ(q.reservation_open(), !open.empty());
      if (step % 16 == 0) {
        const std::vector<std::byte> got = contents(q);
        ASSERT_TRUE(std::equal(got.begin(), got.end(), model.begin(), model.end()))
            << "seed " << seed << " step " << step;
      }
    }
  }
}

}  // namespace
}  // namespace smpp::dataplane
