#include "smpp/dataplane/dpdk/fault.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <vector>

namespace dp = smpp::dataplane::dpdk;

namespace {

// Handles are frame numbers; copies are marked by adding `copy_mark`.
constexpr int copy_mark = 1 << 24;

struct recording_ops {
  std::vector<int> out;
  std::vector<int> dropped;
  bool can_copy = true;
  void emit(int h) { out.push_back(h); }
  void drop(int h) { dropped.push_back(h); }
  std::optional<int> duplicate(int h) {
    if (!can_copy) return std::nullopt;
    return h + copy_mark;
  }
};

dp::fault_config parsed(const char* text) {
  dp::fault_config c;
  std::string error;
  EXPECT_TRUE(dp::fault_config::parse(text, c, error)) << error;
  return c;
}

}  // namespace

TEST(FaultConfig, ParsesEveryKey) {
  const auto c = parsed(
      "loss=0.01,dup=0.005,reorder=0.01,delay_us=200,delay=0.01,seed=7,reorder_after=5,"
      "reorder_max_us=300,hold=16");
  EXPECT_DOUBLE_EQ(c.loss, 0.01);
  EXPECT_DOUBLE_EQ(c.dup, 0.005);
  EXPECT_DOUBLE_EQ(c.reorder, 0.01);
  EXPECT_DOUBLE_EQ(c.delay, 0.01);
  EXPECT_EQ(c.delay_us, 200u);
  EXPECT_EQ(c.seed, 7u);
  EXPECT_EQ(c.reorder_after, 5u);
  EXPECT_EQ(c.reorder_max_us, 300u);
  EXPECT_EQ(c.hold_capacity, 16u);
  EXPECT_TRUE(c.enabled());
  EXPECT_FALSE(parsed("").enabled());
  EXPECT_FALSE(parsed("seed=3").enabled());
}

TEST(FaultConfig, RejectsWithTheKeyNamed) {
  dp::fault_config c;
  c.loss = 0.5;
  std::string error;
  for (const char* bad : {"loss", "loss=", "loss=1.5", "loss=-0.1", "loss=abc", "loss=0.1x",
                          "drop=0.1", "loss=0.1,loss=0.2", "hold=0", "hold=5000", "seed=-1",
                          "delay_us=1e3", "loss=nan", "loss=0.1,", "reorder_after=2000000"}) {
    error.clear();
    EXPECT_FALSE(dp::fault_config::parse(bad, c, error)) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
  EXPECT_DOUBLE_EQ(c.loss, 0.5);  // a failed parse leaves the config as it was
  EXPECT_FALSE(dp::fault_config::parse("drop=0.1", c, error));
  EXPECT_NE(error.find("'drop'"), std::string::npos);
  EXPECT_NE(error.find("accepted keys"), std::string::npos);
}

TEST(FaultConfig, WithSeedReplacesTheSeedAndKeepsTheRest) {
  EXPECT_EQ(dp::fault_config::with_seed("loss=0.01,seed=7,dup=0.005", 42),
            "loss=0.01,dup=0.005,seed=42");
  EXPECT_EQ(dp::fault_config::with_seed("reorder=0.1", 3), "reorder=0.1,seed=3");
  dp::fault_config c;
  std::string error;
  ASSERT_TRUE(dp::fault_config::parse(dp::fault_config::with_seed("seed=1,loss=0.2", 9), c, error));
  EXPECT_EQ(c.seed, 9u);
  EXPECT_DOUBLE_EQ(c.loss, 0.2);
}

TEST(FaultStage, OffPassesEverythingInOrder) {
  dp::fault_stage<int> st(dp::fault_config{});
  recording_ops ops;
  for (int i = 0; i < 1000; ++i) st.push(i, 0, ops);
  ASSERT_EQ(ops.out.size(), 1000u);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(ops.out[i], i);
  EXPECT_EQ(st.counters().emitted, 1000u);
}

TEST(FaultStage, StatisticsOver100000FramesWithinTolerance) {
  const auto c = parsed("loss=0.01,dup=0.005,reorder=0.01,delay=0.01,delay_us=200,seed=7");
  dp::fault_stage<int> st(c);
  recording_ops ops;
  constexpr int frames = 100'000;
  uint64_t now = 0;
  for (int i = 0; i < frames; ++i) {
    st.push(i, now, ops);
    now += 1;  // one frame per microsecond
  }
  st.poll(now + 1'000'000, ops);  // everything held is due by then
  const auto& n = st.counters();
  EXPECT_EQ(n.seen, uint64_t(frames));
  // Binomial(100000, p): 5 standard deviations either way.
  auto within = [](uint64_t got, double p) {
    const double mean = frames * p;
    const double sd = std::sqrt(frames * p * (1 - p));
    return std::abs(double(got) - mean) < 5 * sd;
  };
  EXPECT_TRUE(within(n.lost, 0.01)) << n.lost;
  EXPECT_TRUE(within(n.duplicated, 0.99 * 0.005)) << n.duplicated;
  EXPECT_TRUE(within(n.reordered, 0.99 * 0.01)) << n.reordered;
  EXPECT_TRUE(within(n.delayed, 0.99 * 0.99 * 0.01)) << n.delayed;
  EXPECT_EQ(n.hold_overflow, 0u);
  // Conservation: what came in, minus what was lost, plus the copies, went out; nothing stays.
  EXPECT_EQ(st.held(), 0u);
  EXPECT_EQ(ops.out.size(), frames - n.lost + n.duplicated);
  EXPECT_EQ(ops.dropped.size(), n.lost);
  EXPECT_EQ(n.emitted, ops.out.size());
  // Each original frame appears exactly once unless lost; copies only of frames that went out.
  std::vector<int> seen(frames, 0);
  for (int h : ops.out) seen[h % copy_mark] += h < copy_mark ? 1 : 0;
  for (int h : ops.dropped) seen[h] += 10;
  for (int i = 0; i < frames; ++i) ASSERT_TRUE(seen[i] == 1 || seen[i] == 10) << i;
}

TEST(FaultStage, SameSeedSameDecisionsOtherSeedOthers) {
  auto run = [](uint64_t seed) {
    auto c = parsed("loss=0.05,dup=0.05,reorder=0.05,delay=0.05,delay_us=10");
    c.seed = seed;
    dp::fault_stage<int> st(c);
    recording_ops ops;
    for (int i = 0; i < 10'000; ++i) st.push(i, uint64_t(i), ops);
    st.poll(UINT64_MAX / 2, ops);
    return ops.out;
  };
  EXPECT_EQ(run(7), run(7));
  EXPECT_NE(run(7), run(8));
}

TEST(FaultStage, ReorderReleasesAHeldFrameAfterTheNextN) {
  auto c = parsed("reorder=1,reorder_after=3,reorder_max_us=1000000,hold=1");
  dp::fault_stage<int> st(c);
  recording_ops ops;
  // Frame 0 is held (the hold has one slot); 1, 2, 3 find it full and pass; 4's arrival
  // releases 0 (three frames passed it), then 4 itself is held.
  for (int i = 0; i < 5; ++i) st.push(i, 0, ops);
  EXPECT_EQ(ops.out, (std::vector<int>{1, 2, 3, 0}));
  EXPECT_EQ(st.counters().reordered, 2u);
  EXPECT_EQ(st.counters().hold_overflow, 3u);
  EXPECT_EQ(st.held(), 1u);
  // Nothing more arrives: the held frame leaves at reorder_max_us, not before.
  st.poll(999'999, ops);
  EXPECT_EQ(st.held(), 1u);
  st.poll(1'000'000, ops);
  EXPECT_EQ(ops.out, (std::vector<int>{1, 2, 3, 0, 4}));
}

TEST(FaultStage, ReorderAtTenPercentReallyReorders) {
  dp::fault_stage<int> st(parsed("reorder=0.1,seed=3"));
  recording_ops ops;
  for (int i = 0; i < 10'000; ++i) st.push(i, 0, ops);
  st.poll(1'000'000, ops);
  ASSERT_EQ(ops.out.size(), 10'000u);
  size_t inversions = 0;
  for (size_t i = 1; i < ops.out.size(); ++i) inversions += ops.out[i] < ops.out[i - 1];
  EXPECT_GT(inversions, 800u);
  EXPECT_LT(inversions, 1200u);
  auto sorted = ops.out;
  std::sort(sorted.begin(), sorted.end());
  for (int i = 0; i < 10'000; ++i) ASSERT_EQ(sorted[i], i);  // nothing lost, nothing added
}

TEST(FaultStage, DuplicationEmitsACopyRightBeforeTheFrame) {
  dp::fault_stage<int> st(parsed("dup=1"));
  recording_ops ops;
  for (int i = 0; i < 3; ++i) st.push(i, 0, ops);
  EXPECT_EQ(ops.out, (std::vector<int>{copy_mark, 0, copy_mark + 1, 1, copy_mark + 2, 2}));
  EXPECT_EQ(st.counters().duplicated, 3u);
  ops.can_copy = false;  // no buffer for a copy: the frame still goes, the miss is counted
  st.push(3, 0, ops);
  EXPECT_EQ(ops.out.back(), 3);
  EXPECT_EQ(st.counters().dup_failed, 1u);
}

TEST(FaultStage, DelayHoldsForDelayUsThenReleasesInArrivalOrder) {
  dp::fault_stage<int> st(parsed("delay=1,delay_us=200,hold=8"));
  recording_ops ops;
  st.push(0, 1000, ops);
  st.push(1, 1050, ops);
  st.poll(1199, ops);
  EXPECT_TRUE(ops.out.empty());
  st.poll(1200, ops);
  EXPECT_EQ(ops.out, (std::vector<int>{0}));
  st.poll(5000, ops);
  EXPECT_EQ(ops.out, (std::vector<int>{0, 1}));
  EXPECT_EQ(st.counters().delayed, 2u);
}

TEST(FaultStage, FullHoldPassesFramesThroughAndCounts) {
  dp::fault_stage<int> st(parsed("delay=1,delay_us=1000,hold=4"));
  recording_ops ops;
  for (int i = 0; i < 10; ++i) st.push(i, 0, ops);
  EXPECT_EQ(st.held(), 4u);
  EXPECT_EQ(st.counters().hold_overflow, 6u);
  EXPECT_EQ(ops.out, (std::vector<int>{4, 5, 6, 7, 8, 9}));
  st.drop_held(ops);  // shutdown frees what is held
  EXPECT_EQ(st.held(), 0u);
  EXPECT_EQ(ops.dropped, (std::vector<int>{0, 1, 2, 3}));
}

TEST(FaultStage, HoldIsBoundedWhateverTheStructSays) {
  dp::fault_config c;
  c.delay = 1;
  c.delay_us = 1000;
  c.hold_capacity = 1'000'000;
  dp::fault_stage<int> big(c);
  recording_ops ops;
  for (int i = 0; i < 5000; ++i) big.push(i, 0, ops);
  EXPECT_EQ(big.held(), dp::fault_hold_max);
  EXPECT_EQ(big.counters().hold_overflow, 5000 - dp::fault_hold_max);
  c.hold_capacity = 0;
  dp::fault_stage<int> tiny(c);
  tiny.push(0, 0, ops);
  tiny.push(1, 0, ops);
  EXPECT_EQ(tiny.held(), 1u);
}

TEST(FaultStage, LossOfOneDropsEverything) {
  dp::fault_stage<int> st(parsed("loss=1"));
  recording_ops ops;
  for (int i = 0; i < 100; ++i) st.push(i, 0, ops);
  EXPECT_TRUE(ops.out.empty());
  EXPECT_EQ(ops.dropped.size(), 100u);
}
