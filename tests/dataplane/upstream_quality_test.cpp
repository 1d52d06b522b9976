// upstream_quality: the delivery ratio and answer latency of each upstream over a sliding
// window, and the expected cost of a delivered message that routes of mode "quality" sort by.
#include "smpp/dataplane/upstream_quality.hpp"

#include <gtest/gtest.h>

#include <limits>

namespace smpp::dataplane {
namespace {

constexpr uint64_t window_ms = 8000;  // 8 steps of 1 s

quality_def def(uint32_t latency_cost, uint32_t min_samples) {
  quality_def q;
  q.window_ms = window_ms;
  q.latency_cost = latency_cost;
  q.min_samples = min_samples;
  return q;
}

TEST(UpstreamQuality, CostIsThePriceOverTheDeliveryRatioPlusTheLatencyCost) {
  upstream_quality seen(2);
  for (int i = 0; i < 4; ++i) seen.receipt(0, i < 3, 1000, window_ms);    // 3 of 4 delivered
  for (int i = 0; i < 4; ++i) seen.answered(0, 20'000, 1000, window_ms);  // 20 ms each
  EXPECT_DOUBLE_EQ(seen.cost(0, 30'000, def(0, 4), 1000), 40'000.0);
  EXPECT_DOUBLE_EQ(seen.cost(0, 30'000, def(100, 4), 1000), 40'000.0 + 100 * 20.0);
  // Below min_samples: the price alone.
  EXPECT_DOUBLE_EQ(seen.cost(0, 30'000, def(100, 5), 1000), 30'000.0);
  // Nothing seen of upstream 1; an unknown upstream; no price.
  EXPECT_DOUBLE_EQ(seen.cost(1, 30'000, def(100, 1), 1000), 30'000.0);
  EXPECT_DOUBLE_EQ(seen.cost(7, 30'000, def(100, 1), 1000), 30'000.0);
  EXPECT_EQ(seen.cost(0, no_price, def(0, 1), 1000), std::numeric_limits<double>::infinity());
  const auto t = seen.seen(0);
  EXPECT_EQ(t.finals, 4U);
  EXPECT_EQ(t.delivered, 3U);
  EXPECT_EQ(t.answers, 4U);
  EXPECT_EQ(t.latency_us, 80'000U);
}

TEST(UpstreamQuality, NothingDeliveredCostsInfinitely) {
  upstream_quality seen(1);
  seen.receipt(0, false, 1000, window_ms);
  seen.receipt(0, false, 1000, window_ms);
  EXPECT_EQ(seen.cost(0, 1, def(0, 2), 1000), std::numeric_limits<double>::infinity());
  EXPECT_DOUBLE_EQ(seen.cost(0, 1, def(0, 3), 1000), 1.0);
}

TEST(UpstreamQuality, EventsLeaveTheWindowStepByStep) {
  upstream_quality seen(1);
  seen.receipt(0, false, 1000, window_ms);  // step [1000, 2000)
  seen.receipt(0, true, 2500, window_ms);   // step [2000, 3000)
  EXPECT_EQ(seen.seen(0).finals, 2U);
  // 7 steps on the first is still inside (8 steps per window), the 8th drops it.
  seen.receipt(0, true, 8999, window_ms);
  EXPECT_EQ(seen.seen(0).finals, 3U);
  seen.receipt(0, true, 9000, window_ms);
  EXPECT_EQ(seen.seen(0).finals, 3U);
  EXPECT_EQ(seen.seen(0).delivered, 3U);
  // A long silence empties it all, and the cost ignores what is older than the window.
  EXPECT_DOUBLE_EQ(seen.cost(0, 10, def(0, 1), 9000), 10.0);
  EXPECT_DOUBLE_EQ(seen.cost(0, 10, def(0, 1), 40'000), 10.0);
  seen.receipt(0, false, 40'000, window_ms);
  EXPECT_EQ(seen.seen(0).finals, 1U);
  EXPECT_EQ(seen.seen(0).delivered, 0U);
}

}  // namespace
}  // namespace smpp::dataplane
