// esme-load's receipt matching (tools/esme-load/receipt_tracker): a receipt after its response
// and one that overtakes it are matched once each and timed from the submit_sm; further
// receipts are duplicates; the tracking bound leaves new ids untracked and keeps the old ones.
#include "../../tools/esme-load/receipt_tracker.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using smpp::esme_load::receipt_tracker;
using outcome = receipt_tracker::outcome;

TEST(ReceiptTracker, ReceiptAfterItsResponseIsMatchedAndTimedFromTheSubmit) {
  receipt_tracker t(10);
  uint64_t latency = 0;
  EXPECT_EQ(t.accepted("1a", 1'000, latency), outcome::waiting);
  EXPECT_EQ(t.receipt("1a", 5'500, latency), outcome::matched);
  EXPECT_EQ(latency, 4'500u);
  EXPECT_EQ(t.receipted_only(), 0u);
  EXPECT_EQ(t.receipt("1a", 9'000, latency), outcome::duplicate);
  EXPECT_EQ(t.size(), 1u);
}

TEST(ReceiptTracker, ReceiptThatOvertakesItsResponseIsMatchedWhenTheResponseComes) {
  receipt_tracker t(10);
  uint64_t latency = 0;
  EXPECT_EQ(t.receipt("7", 8'000, latency), outcome::waiting);
  EXPECT_EQ(t.receipted_only(), 1u);
  latency = 0;
  EXPECT_EQ(t.accepted("7", 3'000, latency), outcome::matched);
  EXPECT_EQ(latency, 5'000u);  // receipt arrival - submit_sm sent
  EXPECT_EQ(t.receipted_only(), 0u);
  EXPECT_EQ(t.receipt("7", 9'000, latency), outcome::duplicate);
}

TEST(ReceiptTracker, AnIdAcceptedTwiceIsMatchedOnce) {
  receipt_tracker t(10);
  uint64_t latency = 0;
  EXPECT_EQ(t.accepted("x", 100, latency), outcome::waiting);
  EXPECT_EQ(t.accepted("x", 200, latency), outcome::waiting);
  EXPECT_EQ(t.receipt("x", 1'100, latency), outcome::matched);
  EXPECT_EQ(latency, 1'000u);  // from the first submit_sm
}

TEST(ReceiptTracker, ReceiptsForIdsNeverAcceptedStayReceiptedOnly) {
  receipt_tracker t(10);
  uint64_t latency = 0;
  EXPECT_EQ(t.receipt("a", 1, latency), outcome::waiting);
  EXPECT_EQ(t.receipt("b", 2, latency), outcome::waiting);
  EXPECT_EQ(t.receipt("a", 3, latency), outcome::duplicate);
  EXPECT_EQ(t.receipted_only(), 2u);
}

TEST(ReceiptTracker, BeyondTheBoundNewIdsAreUntrackedAndTrackedOnesStillMatch) {
  constexpr size_t bound = 1000;
  receipt_tracker t(bound);
  uint64_t latency = 0;
  for (size_t i = 0; i < bound; ++i) {
    ASSERT_EQ(t.accepted(std::to_string(i), i, latency), outcome::waiting) << i;
  }
  EXPECT_EQ(t.size(), bound);
  EXPECT_EQ(t.accepted("new", 1, latency), outcome::untracked);
  EXPECT_EQ(t.receipt("other", 1, latency), outcome::untracked);
  EXPECT_EQ(t.size(), bound);
  for (size_t i = 0; i < bound; ++i) {
    ASSERT_EQ(t.receipt(std::to_string(i), i + 10, latency), outcome::matched) << i;
    ASSERT_EQ(latency, 10u);
  }
  EXPECT_EQ(t.receipt("0", 5, latency), outcome::duplicate);
}

TEST(ReceiptTracker, TimesNearTheTopOfTheClockKeepTheirValue) {
  receipt_tracker t(4);
  uint64_t latency = 0;
  const uint64_t late = (uint64_t{1} << 61) + 12345;  // 73 years of CLOCK_MONOTONIC
  EXPECT_EQ(t.accepted("z", late, latency), outcome::waiting);
  EXPECT_EQ(t.receipt("z", late + 77, latency), outcome::matched);
  EXPECT_EQ(latency, 77u);
}

}  // namespace
