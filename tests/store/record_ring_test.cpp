// The journal's ring: contiguous reservations, the pad at the end of a lap, refusal when full.
#include "smpp/store/record_ring.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace smpp::store {
namespace {

// Writes n octets of value v; false when refused.
bool put(record_ring& ring, std::size_t n, unsigned char v, std::uint64_t* mark = nullptr) {
  auto out = ring.reserve(n);
  if (out.empty()) return false;
  EXPECT_EQ(out.size(), n);
  std::memset(out.data(), v, n);
  const std::uint64_t m = ring.commit(n);
  if (mark != nullptr) *mark = m;
  return true;
}

// Everything readable now, in order, as one vector (runs concatenated, pads skipped).
std::vector<unsigned char> drain(record_ring& ring) {
  std::vector<unsigned char> all;
  for (auto run = ring.peek(); !run.empty(); run = ring.peek()) {
    const auto* p = reinterpret_cast<const unsigned char*>(run.data());
    all.insert(all.end(), p, p + run.size());
    ring.release(run.size());
  }
  return all;
}

TEST(RecordRing, CapacityIsAPowerOfTwoAtLeastTheMinimum) {
  EXPECT_EQ(record_ring(1).capacity(), record_ring::min_capacity);
  EXPECT_EQ(record_ring(100'000).capacity(), 131072u);
}

TEST(RecordRing, RecordsComeOutInOrderAndMarksArePositionsAfterThem) {
  record_ring ring(65536);
  std::uint64_t m1 = 0;
  std::uint64_t m2 = 0;
  ASSERT_TRUE(put(ring, 10, 1, &m1));
  ASSERT_TRUE(put(ring, 20, 2, &m2));
  EXPECT_EQ(m1, 10u);
  EXPECT_EQ(m2, 30u);
  const auto all = drain(ring);
  ASSERT_EQ(all.size(), 30u);
  EXPECT_EQ(all[9], 1);
  EXPECT_EQ(all[10], 2);
  EXPECT_EQ(ring.read_position(), 30u);
}

TEST(RecordRing, AReservationThatDoesNotFitTheLapSkipsItsEndAndTheConsumerSkipsThePad) {
  record_ring ring(65536);
  ASSERT_TRUE(put(ring, 32768, 7));
  ASSERT_TRUE(put(ring, 32768 - 100, 7));
  EXPECT_EQ(drain(ring).size(), 65536u - 100);
  std::uint64_t mark = 0;
  ASSERT_TRUE(put(ring, 200, 9, &mark));  // 100 octets of pad, then 200 from the lap's start
  EXPECT_EQ(mark, 65536u + 200);
  const auto all = drain(ring);
  ASSERT_EQ(all.size(), 200u);
  for (auto c : all) ASSERT_EQ(c, 9);
  EXPECT_EQ(ring.read_position(), mark);
}

TEST(RecordRing, ARecordEndingExactlyAtTheLapsEndNeedsNoPad) {
  record_ring ring(65536);
  ASSERT_TRUE(put(ring, 32768, 1));
  ASSERT_TRUE(put(ring, 32768, 2));
  EXPECT_EQ(drain(ring).size(), 65536u);
  std::uint64_t mark = 0;
  ASSERT_TRUE(put(ring, 5, 3, &mark));
  EXPECT_EQ(mark, 65536u + 5);
  EXPECT_EQ(drain(ring), std::vector<unsigned char>(5, 3));
}

TEST(RecordRing, AFullRingRefusesAndTakesAgainOnceTheConsumerReleased) {
  record_ring ring(65536);
  ASSERT_TRUE(put(ring, 32768, 1));
  ASSERT_TRUE(put(ring, 32000, 2));
  EXPECT_FALSE(put(ring, 1000, 3));  // 768 octets free
  EXPECT_TRUE(put(ring, 768, 4));
  EXPECT_FALSE(put(ring, 1, 5));
  auto run = ring.peek();
  ASSERT_EQ(run.size(), 65536u);
  ring.release(32768);
  EXPECT_TRUE(put(ring, 1000, 6));
  EXPECT_EQ(drain(ring).size(), 32768u + 1000);
}

TEST(RecordRing, AWrapWhosePadAndRecordExceedTheFreeRoomIsRefused) {
  record_ring ring(65536);
  ASSERT_TRUE(put(ring, 32768, 1));
  ASSERT_TRUE(put(ring, 32000, 1));  // 768 to the lap's end
  ring.release(1000);                // 1000 free at the lap's start
  EXPECT_FALSE(put(ring, 1001, 2));  // pad 768 + 1001 > 1768 free
  EXPECT_TRUE(put(ring, 1000, 2));   // 768 + 1000: the pad, then the lap's start, full
  EXPECT_FALSE(put(ring, 1, 3));
  const auto all = drain(ring);
  ASSERT_EQ(all.size(), 64768u - 1000 + 1000);
  EXPECT_EQ(all.back(), 2);
}

TEST(RecordRing, ReservationsOverHalfTheCapacityOrEmptyAreRefused) {
  record_ring ring(65536);
  EXPECT_TRUE(ring.reserve(0).empty());
  EXPECT_TRUE(ring.reserve(32769).empty());
  EXPECT_FALSE(ring.reserve(32768).empty());
}

TEST(RecordRing, AWrapWithUnreadOctetsBeforeThePadKeepsTheirOrder) {
  record_ring ring(65536);
  ASSERT_TRUE(put(ring, 32768, 1));
  ASSERT_TRUE(put(ring, 60000 - 32768, 1));
  ring.release(ring.peek().size() - 10);  // 10 octets still unread at 59990..60000
  // 5536 to the lap's end, so 300 octets wrap: the pad and the record fit the free room.
  ASSERT_TRUE(put(ring, 300, 2));
  const auto all = drain(ring);
  ASSERT_EQ(all.size(), 310u);
  EXPECT_EQ(all[9], 1);
  EXPECT_EQ(all[10], 2);
}

}  // namespace
}  // namespace smpp::store
