#include "smpp/control/slot_planner.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <numeric>
#include <random>
#include <string>
#include <vector>

namespace smpp::control {
namespace {

using dataplane::any_tenant;

std::vector<tenant_share> shares_of(std::initializer_list<uint32_t> weights) {
  std::vector<tenant_share> s;
  for (uint32_t w : weights) {
    tenant_share t;
    t.tenant = static_cast<uint32_t>(s.size());
    t.name = "t" + std::to_string(s.size());
    t.weight = w;
    s.push_back(t);
  }
  return s;
}

std::vector<tenant_share> shares_of(const std::vector<uint32_t>& weights) {
  std::vector<tenant_share> s;
  for (uint32_t w : weights) {
    tenant_share t;
    t.tenant = static_cast<uint32_t>(s.size());
    t.name = "t" + std::to_string(s.size());
    t.weight = w;
    s.push_back(t);
  }
  return s;
}

// Hamilton's method, written out independently: the quota N * w / W floored, then one more slot
// to the largest fractional parts (ties: the larger weight, then the earlier tenant).
std::vector<uint32_t> largest_remainder(const std::vector<uint32_t>& w, uint32_t n) {
  const uint64_t total = std::accumulate(w.begin(), w.end(), uint64_t{0});
  std::vector<uint32_t> q(w.size());
  std::vector<size_t> idx(w.size());
  uint64_t given = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    q[i] = static_cast<uint32_t>(uint64_t{n} * w[i] / total);
    given += q[i];
    idx[i] = i;
  }
  std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
    const uint64_t ra = uint64_t{n} * w[a] % total, rb = uint64_t{n} * w[b] % total;
    if (ra != rb) return ra > rb;
    return w[a] > w[b];
  });
  for (size_t k = 0; given < n; ++k, ++given) ++q[idx[k]];
  return q;
}

std::vector<uint32_t> count_owned(const std::vector<uint32_t>& owner, uint32_t tenants) {
  std::vector<uint32_t> c(tenants + 1, 0);  // the last: unowned
  for (uint32_t o : owner) ++c[o == any_tenant ? tenants : o];
  return c;
}

// The longest cyclic distance between two consecutive slots of each owner (N for one slot).
std::vector<uint32_t> longest_gaps(const std::vector<uint32_t>& owner, uint32_t owners) {
  const auto n = static_cast<uint32_t>(owner.size());
  std::vector<uint32_t> first(owners, UINT32_MAX), last(owners, UINT32_MAX), gap(owners, 0);
  for (uint32_t k = 0; k < n; ++k) {
    const uint32_t t = owner[k];
    if (last[t] != UINT32_MAX) gap[t] = std::max(gap[t], k - last[t]);
    if (first[t] == UINT32_MAX) first[t] = k;
    last[t] = k;
  }
  for (uint32_t t = 0; t < owners; ++t) {
    if (first[t] != UINT32_MAX) gap[t] = std::max(gap[t], first[t] + n - last[t]);
  }
  return gap;
}

uint32_t ceil_div(uint64_t a, uint64_t b) {
  return static_cast<uint32_t>((a + b - 1) / b);
}

// --- the frame -------------------------------------------------------------------------------

TEST(SlotPlannerFrame, KeepsTheAskedLengthWhenItHoldsAWholeNumberOfSlots) {
  EXPECT_EQ(choose_frame(2000, 100).frame_ms, 100u);
  EXPECT_EQ(choose_frame(2000, 100).slots, 200u);
  EXPECT_EQ(choose_frame(250, 100).slots, 25u);
  EXPECT_EQ(choose_frame(10, 100).slots, 1u);
  EXPECT_EQ(choose_frame(1'000'000, 10).slots, 10'000u);
}

TEST(SlotPlannerFrame, PicksTheNearestLengthThatHoldsAWholeNumberOfSlots) {
  // 3 msg/s: only whole seconds hold whole slots.
  EXPECT_EQ(choose_frame(3, 100).frame_ms, 1000u);
  EXPECT_EQ(choose_frame(3, 100).slots, 3u);
  EXPECT_EQ(choose_frame(333, 2600).frame_ms, 3000u);
  EXPECT_EQ(choose_frame(333, 2600).slots, 999u);
  // 8 msg/s: multiples of 125 ms; 187 is nearer 125, 188 nearer 250.
  EXPECT_EQ(choose_frame(8, 187).frame_ms, 125u);
  EXPECT_EQ(choose_frame(8, 188).frame_ms, 250u);
  EXPECT_EQ(choose_frame(8, 188).slots, 2u);
  // 500 msg/s: multiples of 2 ms; 11 is as near 10 as 12: the shorter wins.
  EXPECT_EQ(choose_frame(500, 11).frame_ms, 10u);
  // Below 10 ms and above 10000 ms are clamped first.
  EXPECT_EQ(choose_frame(1000, 1).frame_ms, 10u);
  EXPECT_EQ(choose_frame(1000, 50'000).frame_ms, 10'000u);
  // A multiple below the minimum is replaced by the next one: 8 msg/s at 10 ms -> 125 ms.
  EXPECT_EQ(choose_frame(8, 10).frame_ms, 125u);
}

TEST(SlotPlannerFrame, NeverHoldsMoreThanMaxSlotsPerFrame) {
  // 1e6 msg/s for 1 s would be 1e6 slots: the frame shrinks to 100 ms.
  EXPECT_EQ(choose_frame(1'000'000, 1000).frame_ms, 100u);
  EXPECT_EQ(choose_frame(1'000'000, 1000).slots, max_slots_per_frame);
  // 999,999 msg/s has no factor in common with 1000: no whole frame fits; the longest that does.
  const frame_choice f = choose_frame(999'999, 1000);
  EXPECT_LE(f.slots, max_slots_per_frame);
  EXPECT_GE(f.frame_ms, min_frame_ms);
  EXPECT_EQ(f.slots, uint64_t{999'999} * f.frame_ms / 1000);
}

TEST(SlotPlannerFrame, HoldsRateTimesLengthSlotsForRandomRatesAndLengths) {
  std::mt19937 rng(7);
  for (int i = 0; i < 20000; ++i) {
    const uint32_t rate = i < 2000 ? static_cast<uint32_t>(i + 1)
                                   : std::uniform_int_distribution<uint32_t>(1, 1'000'000)(rng);
    const uint32_t asked = std::uniform_int_distribution<uint32_t>(1, 12'000)(rng);
    const frame_choice f = choose_frame(rate, asked);
    ASSERT_GE(f.frame_ms, min_frame_ms) << rate << " " << asked;
    ASSERT_LE(f.frame_ms, max_frame_ms) << rate << " " << asked;
    ASSERT_GE(f.slots, 1u);
    ASSERT_LE(f.slots, max_slots_per_frame) << rate << " " << asked;
    if (uint64_t{rate} * f.frame_ms % 1000 == 0) {
      ASSERT_EQ(uint64_t{f.slots} * 1000, uint64_t{rate} * f.frame_ms) << rate << " " << asked;
    } else {
      // Only a rate whose whole frames all exceed max_slots_per_frame is rounded.
      const uint32_t step = 1000 / std::gcd(rate, 1000u);
      ASSERT_GT(uint64_t{rate} * step, uint64_t{max_slots_per_frame} * 1000) << rate;
    }
  }
}

// --- how many slots each tenant owns -------------------------------------------------------------

TEST(SlotPlannerCounts, SixThreeOneOwnsExactlyItsShareOfTheFrame) {
  const auto s = shares_of({6, 3, 1});
  const slot_counts c = count_slots("u", 200, 2000, s);
  ASSERT_TRUE(c.error.empty()) << c.error;
  EXPECT_EQ(c.owned, (std::vector<uint32_t>{120, 60, 20}));
  EXPECT_EQ(c.unowned, 0u);
}

TEST(SlotPlannerCounts, LargestRemainderIsExactForManyWeightSets) {
  const std::vector<std::vector<uint32_t>> sets = {{6, 3, 1},
                                                   {1, 1},
                                                   {1000, 1},
                                                   {2, 3, 5, 7, 11, 13},
                                                   {1, 1, 1},
                                                   {65535, 1},
                                                   {7, 11, 13, 17, 19, 23, 29, 31},
                                                   {1, 1, 1, 1, 1, 1, 1},
                                                   {100, 10, 1},
                                                   {5, 3},
                                                   {1},
                                                   {3, 3, 3, 1}};
  for (const auto& w : sets) {
    for (uint32_t n : {1u, 2u, 3u, 7u, 100u, 137u, 200u, 999u, 1000u, 1001u, 100'000u}) {
      const slot_counts c = count_slots("u", n, n, shares_of(w));
      ASSERT_TRUE(c.error.empty()) << c.error;
      EXPECT_EQ(c.owned, largest_remainder(w, n)) << "N=" << n << " weights " << w.size();
      EXPECT_EQ(std::accumulate(c.owned.begin(), c.owned.end(), 0u), n);
    }
  }
  // Exactly proportional whenever the frame allows it.
  EXPECT_EQ(count_slots("u", 1001, 1001, shares_of({1000, 1})).owned,
            (std::vector<uint32_t>{1000, 1}));
  EXPECT_EQ(count_slots("u", 200, 200, shares_of({1000, 1})).owned,
            (std::vector<uint32_t>{200, 0}));
  EXPECT_EQ(count_slots("u", 201, 201, shares_of({1, 1})).owned, (std::vector<uint32_t>{101, 100}));
}

TEST(SlotPlannerCounts, EachTenantOwnsTheFloorOrCeilOfItsQuotaForRandomWeights) {
  std::mt19937 rng(11);
  for (int i = 0; i < 3000; ++i) {
    const uint32_t tenants = std::uniform_int_distribution<uint32_t>(1, 40)(rng);
    std::vector<uint32_t> w(tenants);
    for (auto& x : w) x = std::uniform_int_distribution<uint32_t>(1, i % 2 ? 65535 : 20)(rng);
    const uint32_t n = std::uniform_int_distribution<uint32_t>(1, 5000)(rng);
    const slot_counts c = count_slots("u", n, n, shares_of(w));
    ASSERT_TRUE(c.error.empty()) << c.error;
    const uint64_t total = std::accumulate(w.begin(), w.end(), uint64_t{0});
    for (size_t t = 0; t < tenants; ++t) {
      const uint64_t floor_q = uint64_t{n} * w[t] / total;
      ASSERT_TRUE(c.owned[t] == floor_q || c.owned[t] == floor_q + 1) << i;
    }
    ASSERT_EQ(c.owned, largest_remainder(w, n)) << i;
  }
}

TEST(SlotPlannerCounts, CapsLeaveSlotsUnownedAndAreRoundedDown) {
  auto s = shares_of({1, 1});
  s[0].cap_per_s = 200;  // of 1000 msg/s: 20 of 100 slots
  s[1].cap_per_s = 305;  // 30.5 slots: 30
  const slot_counts c = count_slots("u", 100, 1000, s);
  ASSERT_TRUE(c.error.empty()) << c.error;
  EXPECT_EQ(c.owned, (std::vector<uint32_t>{20, 30}));
  EXPECT_EQ(c.cap, (std::vector<uint32_t>{20, 30}));
  EXPECT_EQ(c.unowned, 50u);
}

TEST(SlotPlannerCounts, ACappedTenantsSlotsGoToTheOthersByWeight) {
  auto s = shares_of({6, 3, 1});
  s[0].cap_per_s = 500;  // 50 of 200 slots at 2000 msg/s instead of 120
  const slot_counts c = count_slots("u", 200, 2000, s);
  ASSERT_TRUE(c.error.empty()) << c.error;
  EXPECT_EQ(c.owned[0], 50u);
  EXPECT_EQ(c.owned[1], 113u);  // 150 * 3/4 = 112.5 -> the larger weight rounds up
  EXPECT_EQ(c.owned[2], 37u);
  EXPECT_EQ(c.unowned, 0u);
}

TEST(SlotPlannerCounts, GuaranteesComeFirstAndTheRestGoesByWeight) {
  auto s = shares_of({100, 1});
  s[1].guarantee_per_s = 300;  // 30 of 100 slots at 1000 msg/s, though its weight gives 1
  slot_counts c = count_slots("u", 100, 1000, s);
  ASSERT_TRUE(c.error.empty()) << c.error;
  EXPECT_EQ(c.owned, (std::vector<uint32_t>{70, 30}));
  // A guarantee below the weighted share changes nothing.
  s[1].guarantee_per_s = 5;
  s[0].weight = 1;
  c = count_slots("u", 100, 1000, s);
  EXPECT_EQ(c.owned, (std::vector<uint32_t>{50, 50}));
  // A guarantee is rounded up to whole slots: 301 msg/s -> 31 slots.
  s[0].weight = 100;
  s[1].guarantee_per_s = 301;
  c = count_slots("u", 100, 1000, s);
  EXPECT_EQ(c.owned[1], 31u);
}

TEST(SlotPlannerCounts, GuaranteesAndCapsTogetherOverRandomInputs) {
  std::mt19937 rng(5);
  for (int i = 0; i < 3000; ++i) {
    const uint32_t tenants = std::uniform_int_distribution<uint32_t>(1, 12)(rng);
    const uint32_t rate = std::uniform_int_distribution<uint32_t>(10, 5000)(rng);
    const uint32_t n = std::uniform_int_distribution<uint32_t>(1, 1000)(rng);
    std::vector<tenant_share> s = shares_of(std::vector<uint32_t>(tenants, 1));
    for (auto& t : s) {
      t.weight = std::uniform_int_distribution<uint32_t>(1, 50)(rng);
      if (rng() % 3 == 0) t.cap_per_s = std::uniform_int_distribution<uint32_t>(1, rate)(rng);
      if (rng() % 3 == 0) {
        t.guarantee_per_s = std::uniform_int_distribution<uint32_t>(0, rate / tenants)(rng);
        if (t.cap_per_s > 0) t.guarantee_per_s = std::min(t.guarantee_per_s, t.cap_per_s);
      }
    }
    const slot_counts c = count_slots("u", n, rate, s);
    if (!c.error.empty()) continue;  // caps below one slot, rounded guarantees above caps
    uint64_t total = c.unowned;
    bool uncapped = false;
    for (size_t t = 0; t < tenants; ++t) {
      total += c.owned[t];
      ASSERT_GE(uint64_t{c.owned[t]} * rate, uint64_t{s[t].guarantee_per_s} * n) << i;
      if (s[t].cap_per_s > 0) {
        ASSERT_LE(uint64_t{c.owned[t]} * rate, uint64_t{s[t].cap_per_s} * n) << i;
        ASSERT_EQ(c.cap[t], uint64_t{s[t].cap_per_s} * n / rate);
      } else {
        uncapped = true;
      }
    }
    ASSERT_EQ(total, n) << i;
    if (uncapped) {
      ASSERT_EQ(c.unowned, 0u) << i;  // slots are left over only by caps
    }
  }
}

TEST(SlotPlannerCounts, ReportsGuaranteesAndCapsThatDoNotFitTheFrame) {
  auto s = shares_of({1, 1});
  s[0].name = "acme";
  s[0].cap_per_s = 5;  // 0.5 slot of a 100-slot frame at 1000 msg/s
  slot_counts c = count_slots("mno-a", 100, 1000, s);
  EXPECT_NE(c.error.find("upstream 'mno-a': tenant 'acme': cap_per_s 5 is less than one slot"),
            std::string::npos)
      << c.error;
  EXPECT_NE(c.error.find("at least 10"), std::string::npos) << c.error;
  s[0].cap_per_s = 15;        // 1 slot
  s[0].guarantee_per_s = 15;  // 2 slots once rounded up
  c = count_slots("mno-a", 100, 1000, s);
  EXPECT_NE(c.error.find("tenant 'acme': guarantee_per_s 15 needs 2 slots"), std::string::npos)
      << c.error;
  s[0] = shares_of({1})[0];
  s[0].guarantee_per_s = 605;  // 61 slots
  s[1].guarantee_per_s = 395;  // 40 slots
  c = count_slots("mno-a", 100, 1000, s);
  EXPECT_NE(c.error.find("the guarantees need 101 slots of a 100-slot frame"), std::string::npos)
      << c.error;
}

// --- the order of the slots ----------------------------------------------------------------------

void expect_spread(const std::vector<uint32_t>& counts, uint32_t unowned, bool tight) {
  const std::vector<uint32_t> owner = spread_slots(counts, unowned);
  const auto n = static_cast<uint32_t>(owner.size());
  ASSERT_EQ(n, std::accumulate(counts.begin(), counts.end(), unowned));
  std::vector<uint32_t> c(counts);
  c.push_back(unowned);
  std::vector<uint32_t> seen(c.size(), 0);
  for (uint32_t o : owner) {
    ASSERT_LT(o, c.size());
    ++seen[o];
  }
  ASSERT_EQ(seen, c);
  const std::vector<uint32_t> gaps = longest_gaps(owner, static_cast<uint32_t>(c.size()));
  for (size_t t = 0; t < c.size(); ++t) {
    if (c[t] == 0) continue;
    ASSERT_LE(gaps[t], ceil_div(2ull * n, c[t])) << "owner " << t << " of " << c.size();
    if (tight) {
      ASSERT_LE(gaps[t], ceil_div(n, c[t]) + 1)
          << "owner " << t << " with " << c[t] << " of " << n << " slots";
    }
  }
}

TEST(SlotPlannerSpread, NamedWeightSetsStayWithinOneSlotOfAnEvenSpread) {
  // gap <= ceil(N / c) + 1 for every tenant.
  const std::vector<std::vector<uint32_t>> sets = {
      {6, 3, 1}, {1, 1}, {1000, 1}, {1, 1, 1}, {5, 3}, {100, 10, 1}, {3, 2}, {1, 1, 1, 1}};
  for (const auto& w : sets) {
    for (uint32_t n : {10u, 100u, 137u, 200u, 999u, 1000u, 2000u, 20'000u}) {
      SCOPED_TRACE("N=" + std::to_string(n) + " first weight " + std::to_string(w[0]));
      expect_spread(largest_remainder(w, n), 0, true);
    }
  }
  // 6:3:1 at 2000 msg/s and 100 ms: 120, 60 and 20 slots never further apart than 3, 5, 11.
  const std::vector<uint32_t> owner = spread_slots(std::vector<uint32_t>{120, 60, 20}, 0);
  const std::vector<uint32_t> gaps = longest_gaps(owner, 3);
  EXPECT_LE(gaps[0], 3u);
  EXPECT_LE(gaps[1], 5u);
  EXPECT_LE(gaps[2], 11u);
}

TEST(SlotPlannerSpread, PrimeAndManyTenantWeightsStayWithinTwiceAnEvenSpread) {
  const std::vector<std::vector<uint32_t>> sets = {
      {2, 3, 5, 7, 11, 13}, {7, 11, 13, 17, 19, 23, 29, 31}, {1, 1, 1, 1, 1, 1, 1}};
  for (const auto& w : sets) {
    for (uint32_t n : {100u, 137u, 200u, 999u, 1000u, 100'000u}) {
      SCOPED_TRACE("N=" + std::to_string(n) + " tenants " + std::to_string(w.size()));
      expect_spread(largest_remainder(w, n), 0, false);
    }
  }
}

TEST(SlotPlannerSpread, RandomCountsKeepEveryGapWithinTwiceAnEvenSpread) {
  std::mt19937 rng(3);
  uint32_t tight = 0;
  constexpr int rounds = 1000;
  for (int i = 0; i < rounds; ++i) {
    const uint32_t owners = std::uniform_int_distribution<uint32_t>(1, i % 25 == 0 ? 200 : 10)(rng);
    std::vector<uint32_t> c(owners);
    for (auto& x : c) {
      const uint32_t hi = std::array<uint32_t, 3>{5, 50, 300}[rng() % 3];
      x = std::uniform_int_distribution<uint32_t>(i % 7 == 0 ? 0 : 1, hi)(rng);
    }
    const uint32_t unowned =
        rng() % 4 == 0 ? std::uniform_int_distribution<uint32_t>(0, 50)(rng) : 0;
    if (std::accumulate(c.begin(), c.end(), unowned) == 0) continue;
    SCOPED_TRACE("round " + std::to_string(i));
    expect_spread(c, unowned, false);
    if (HasFatalFailure()) return;
    const std::vector<uint32_t> owner = spread_slots(c, unowned);
    c.push_back(unowned);
    const auto gaps = longest_gaps(owner, static_cast<uint32_t>(c.size()));
    bool all = true;
    for (size_t t = 0; t < c.size(); ++t) {
      if (c[t] > 0 && gaps[t] > ceil_div(owner.size(), c[t]) + 1) all = false;
    }
    tight += all ? 1 : 0;
  }
  std::printf("spread: %u of %d random frames have every gap <= ceil(N/c) + 1\n", tight, rounds);
}

TEST(SlotPlannerSpread, AThousandTenantsOnAHundredThousandSlots) {
  std::mt19937 rng(1);
  std::vector<uint32_t> w(1000);
  for (auto& x : w) x = std::uniform_int_distribution<uint32_t>(1, 1000)(rng);
  expect_spread(largest_remainder(w, 100'000), 0, false);
}

// --- the plan of a bind --------------------------------------------------------------------------

TEST(SlotPlannerBind, SixThreeOneAtTwoThousandPerSecond) {
  auto s = shares_of({6, 3, 1});
  s[1].queue_max = 500;
  bind_plan_request r;
  r.upstream = "mno-a";
  r.rate_per_s = 2000;
  r.frame_ms = 100;
  r.tenant_count = 4;  // tenant 3 has no share here
  r.shares = s;
  const bind_plan_result p = plan_bind(r);
  ASSERT_TRUE(p.ok()) << p.error;
  EXPECT_EQ(p.frame_ms, 100u);
  EXPECT_EQ(p.plan.rate_per_s, 2000u);
  EXPECT_EQ(p.plan.slot_ns, 500'000u);
  EXPECT_FALSE(p.plan.strict);
  ASSERT_EQ(p.plan.owner.size(), 200u);
  EXPECT_EQ(count_owned(p.plan.owner, 4), (std::vector<uint32_t>{120, 60, 20, 0, 0}));
  EXPECT_EQ(p.plan.cap, (std::vector<uint32_t>{0, 0, 0, 0}));
  EXPECT_EQ(p.plan.queue_max,
            (std::vector<uint32_t>{default_queue_max, 500, default_queue_max, default_queue_max}));
}

TEST(SlotPlannerBind, StrictIsCarriedAndCapsBecomeSlotsPerFrame) {
  auto s = shares_of({1, 1});
  s[1].tenant = 2;
  s[1].cap_per_s = 100;  // 10 of 100 slots at 1000 msg/s
  bind_plan_request r;
  r.upstream = "u";
  r.rate_per_s = 1000;
  r.strict = true;
  r.tenant_count = 3;
  r.shares = s;
  const bind_plan_result p = plan_bind(r);
  ASSERT_TRUE(p.ok()) << p.error;
  EXPECT_TRUE(p.plan.strict);
  EXPECT_EQ(p.plan.cap, (std::vector<uint32_t>{0, 0, 10}));
  EXPECT_EQ(count_owned(p.plan.owner, 3), (std::vector<uint32_t>{90, 0, 10, 0}));
}

TEST(SlotPlannerBind, UnownedSlotsAreAnyTenantAndSpreadToo) {
  auto s = shares_of({1});
  s[0].cap_per_s = 250;  // 25 of 100 slots
  bind_plan_request r;
  r.upstream = "u";
  r.rate_per_s = 1000;
  r.tenant_count = 1;
  r.shares = s;
  const bind_plan_result p = plan_bind(r);
  ASSERT_TRUE(p.ok()) << p.error;
  EXPECT_EQ(count_owned(p.plan.owner, 1), (std::vector<uint32_t>{25, 75}));
  for (size_t k = 0; k < p.plan.owner.size(); k += 4) {
    EXPECT_EQ(std::count(p.plan.owner.begin() + static_cast<long>(k),
                         p.plan.owner.begin() + static_cast<long>(k + 4), 0u),
              1)
        << "slots " << k << "..";
  }
}

TEST(SlotPlannerBind, SlotLengthIsRoundedUpSoTheGateIsNeverFasterThanTheContract) {
  for (uint32_t rate : {1u, 3u, 7u, 2000u, 333'333u, 999'999u, 1'000'000u}) {
    bind_plan_request r;
    r.upstream = "u";
    r.rate_per_s = rate;
    r.tenant_count = 1;
    const auto s = shares_of({1});
    r.shares = s;
    const bind_plan_result p = plan_bind(r);
    ASSERT_TRUE(p.ok()) << p.error;
    EXPECT_GE(p.plan.slot_ns * rate, 1'000'000'000u) << rate;
    EXPECT_LT((p.plan.slot_ns - 1) * rate, 1'000'000'000u) << rate;
  }
  bind_plan_request r;
  r.rate_per_s = 3;
  r.tenant_count = 0;
  EXPECT_EQ(plan_bind(r).plan.slot_ns, 333'333'334u);
  EXPECT_EQ(plan_bind(r).frame_ms, 1000u);
  EXPECT_EQ(plan_bind(r).plan.owner, (std::vector<uint32_t>{any_tenant, any_tenant, any_tenant}));
}

TEST(SlotPlannerBind, RateZeroIsNoGate) {
  const auto s = shares_of({6, 3, 1});
  bind_plan_request r;
  r.upstream = "u";
  r.tenant_count = 3;
  r.shares = s;
  const bind_plan_result p = plan_bind(r);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.plan.rate_per_s, 0u);
  EXPECT_TRUE(p.plan.owner.empty());
}

struct bind_error_case {
  const char* what;
  std::vector<tenant_share> shares;
  bool strict;
  std::string fragment;
};

TEST(SlotPlannerBind, ErrorsNameTheUpstreamAndTheTenant) {
  const auto with = [](std::vector<tenant_share> s, auto change) {
    change(s);
    return s;
  };
  const std::vector<bind_error_case> cases = {
      {"guarantee above cap",
       with(shares_of({1, 1}),
            [](auto& s) {
              s[1].cap_per_s = 100;
              s[1].guarantee_per_s = 101;
            }),
       false, "upstream 'mno-a': tenant 't1': guarantee_per_s 101 is above cap_per_s 100"},
      {"guarantees above the rate",
       with(shares_of({1, 1}),
            [](auto& s) {
              s[0].guarantee_per_s = 600;
              s[1].guarantee_per_s = 401;
            }),
       false, "upstream 'mno-a': the guarantees add up to 1001 msg/s, more than its rate of 1000"},
      {"tenant out of range", with(shares_of({1}), [](auto& s) { s[0].tenant = 9; }), false,
       "tenant 't0': tenant index 9 out of range"},
      {"two shares of one tenant", with(shares_of({1, 1}), [](auto& s) { s[1].tenant = 0; }), false,
       "tenant 't1': more than one share"},
      {"weight 0", with(shares_of({1}), [](auto& s) { s[0].weight = 0; }), false,
       "weight must be 1..65535"},
      {"queue_max 0", with(shares_of({1}), [](auto& s) { s[0].queue_max = 0; }), false,
       "queue_max must be at least 1"},
      {"strict tenant without a slot", shares_of({1000, 1}), true,
       "upstream 'mno-a': tenant 't1': owns no slot of the 100-slot frame (weight 1) and would "
       "never send"},
      {"cap below a slot", with(shares_of({1}), [](auto& s) { s[0].cap_per_s = 9; }), false,
       "tenant 't0': cap_per_s 9 is less than one slot"},
  };
  for (const auto& c : cases) {
    bind_plan_request r;
    r.upstream = "mno-a";
    r.rate_per_s = 1000;
    r.strict = c.strict;
    r.tenant_count = 3;
    r.shares = c.shares;
    const bind_plan_result p = plan_bind(r);
    EXPECT_FALSE(p.ok()) << c.what;
    EXPECT_NE(p.error.find(c.fragment), std::string::npos) << c.what << ": " << p.error;
    EXPECT_TRUE(p.plan.owner.empty()) << c.what;
  }
  // The same weights in work-conserving mode are fine: the small tenant borrows.
  bind_plan_request r;
  r.upstream = "mno-a";
  r.rate_per_s = 1000;
  r.tenant_count = 2;
  const auto s = shares_of({1000, 1});
  r.shares = s;
  EXPECT_TRUE(plan_bind(r).ok());
}

// --- an upstream's rate over its binds ---------------------------------------------------------

TEST(SlotPlannerSplit, UpstreamRateIsSplitEvenlyWithTheRemainderToTheFirstBinds) {
  const std::vector<bind_rate> b(3);
  const rate_split s = split_upstream_rate("u", 1000, b);
  ASSERT_TRUE(s.error.empty()) << s.error;
  EXPECT_EQ(s.rate_per_s, (std::vector<uint32_t>{334, 333, 333}));
  EXPECT_EQ(s.contract_per_s, 1000u);
}

TEST(SlotPlannerSplit, BindWeightsOwnRatesAndReceivers) {
  std::vector<bind_rate> b(4);
  b[0].weight = 3;        // 3/4 of what is left
  b[1].rate_per_s = 100;  // its own
  b[2].sends = false;     // a receiver: no rate
  b[2].rate_per_s = 50;   // ignored
  const rate_split s = split_upstream_rate("u", 501, b);
  ASSERT_TRUE(s.error.empty()) << s.error;
  EXPECT_EQ(s.rate_per_s, (std::vector<uint32_t>{301, 100, 0, 100}));
  EXPECT_EQ(s.contract_per_s, 501u);
  // Without an upstream rate each bind keeps its own (0: no gate).
  const rate_split own = split_upstream_rate("u", 0, b);
  EXPECT_EQ(own.rate_per_s, (std::vector<uint32_t>{0, 100, 0, 0}));
  EXPECT_EQ(own.contract_per_s, 100u);
}

TEST(SlotPlannerSplit, Errors) {
  std::vector<bind_rate> b(2);
  b[0].rate_per_s = 600;
  b[1].rate_per_s = 500;
  rate_split s = split_upstream_rate("mno-b", 1000, b);
  EXPECT_NE(s.error.find("upstream 'mno-b': the binds' own rate_per_s add up to 1100 msg/s, more "
                         "than the upstream's rate_per_s 1000"),
            std::string::npos)
      << s.error;
  const std::vector<bind_rate> four(4);
  s = split_upstream_rate("mno-b", 3, four);
  EXPECT_NE(s.error.find("rate_per_s 3 leaves 3 msg/s for 4 sending binds"), std::string::npos)
      << s.error;
}

TEST(SlotPlannerSplit, BindRatesNeverExceedTheUpstreamContractOverRandomInputs) {
  std::mt19937 rng(13);
  for (int i = 0; i < 20000; ++i) {
    const uint32_t upstream =
        rng() % 5 == 0 ? 0 : std::uniform_int_distribution<uint32_t>(1, 1'000'000)(rng);
    std::vector<bind_rate> b(std::uniform_int_distribution<size_t>(1, 40)(rng));
    for (auto& x : b) {
      x.weight = std::uniform_int_distribution<uint32_t>(1, i % 2 ? 3 : 65535)(rng);
      x.sends = rng() % 6 != 0;
      if (rng() % 4 == 0) x.rate_per_s = std::uniform_int_distribution<uint32_t>(1, 20'000)(rng);
    }
    const rate_split s = split_upstream_rate("u", upstream, b);
    if (!s.error.empty()) continue;
    const uint64_t sum = std::accumulate(s.rate_per_s.begin(), s.rate_per_s.end(), uint64_t{0});
    ASSERT_EQ(sum, s.contract_per_s) << i;
    bool shared = false;
    for (size_t k = 0; k < b.size(); ++k) {
      if (!b[k].sends) {
        ASSERT_EQ(s.rate_per_s[k], 0u);
      }
      if (b[k].sends && b[k].rate_per_s > 0) {
        ASSERT_EQ(s.rate_per_s[k], b[k].rate_per_s);
      }
      if (b[k].sends && b[k].rate_per_s == 0 && upstream > 0) {
        shared = true;
        ASSERT_GE(s.rate_per_s[k], 1u);
      }
    }
    if (upstream > 0) {
      ASSERT_LE(sum, upstream) << i;
      if (shared) {
        ASSERT_EQ(sum, upstream) << i;
      }
    }
  }
}

TEST(SlotPlannerUpstream, PlansOfAllBindsStayWithinTheContractCapsAndGuarantees) {
  std::mt19937 rng(17);
  int planned = 0;
  for (int i = 0; i < 300; ++i) {
    std::vector<bind_rate> b(std::uniform_int_distribution<size_t>(1, 6)(rng));
    for (auto& x : b) x.weight = std::uniform_int_distribution<uint32_t>(1, 4)(rng);
    auto s = shares_of(std::vector<uint32_t>(std::uniform_int_distribution<size_t>(1, 6)(rng), 1));
    const uint32_t rate = std::uniform_int_distribution<uint32_t>(100, 20'000)(rng);
    for (auto& t : s) {
      t.weight = std::uniform_int_distribution<uint32_t>(1, 20)(rng);
      if (rng() % 3 == 0)
        t.cap_per_s = std::uniform_int_distribution<uint32_t>(rate / 4, rate)(rng);
      if (rng() % 3 == 0)
        t.guarantee_per_s = std::uniform_int_distribution<uint32_t>(0, rate / 10)(rng);
      if (t.cap_per_s > 0) t.guarantee_per_s = std::min(t.guarantee_per_s, t.cap_per_s);
    }
    upstream_plan_request r;
    r.upstream = "u";
    r.rate_per_s = rate;
    r.frame_ms = std::uniform_int_distribution<uint32_t>(10, 2000)(rng);
    r.tenant_count = static_cast<uint32_t>(s.size());
    r.shares = s;
    r.binds = b;
    const upstream_plan_result p = plan_upstream(r);
    if (!p.ok()) continue;
    ++planned;
    ASSERT_EQ(p.plans.size(), b.size());
    // Per second over all binds: slots of a frame times frames per second (rate / slots).
    double total = 0;
    std::vector<double> owned(s.size(), 0), capped(s.size(), 0);
    for (const auto& plan : p.plans) {
      ASSERT_GT(plan.rate_per_s, 0u);
      total += plan.rate_per_s;
      const auto c = count_owned(plan.owner, r.tenant_count);
      const double frames_per_s = double(plan.rate_per_s) / double(plan.owner.size());
      for (size_t t = 0; t < s.size(); ++t) {
        owned[t] += c[t] * frames_per_s;
        capped[t] += plan.cap[t] * frames_per_s;
      }
    }
    ASSERT_LE(total, rate) << i;
    for (size_t t = 0; t < s.size(); ++t) {
      ASSERT_GE(owned[t] + 1e-6, s[t].guarantee_per_s) << i << " tenant " << t;
      if (s[t].cap_per_s > 0) {
        ASSERT_LE(owned[t], s[t].cap_per_s + 1e-6) << i;
        ASSERT_LE(capped[t], s[t].cap_per_s + 1e-6) << i;
      }
    }
  }
  EXPECT_GT(planned, 200);
}

TEST(SlotPlannerUpstream, EqualBindsShareOneComputationAndReceiversGetNoPlan) {
  std::vector<bind_rate> b(3);
  b[2].sends = false;
  const auto s = shares_of({6, 3, 1});
  upstream_plan_request r;
  r.upstream = "u";
  r.rate_per_s = 4000;
  r.tenant_count = 3;
  r.shares = s;
  r.binds = b;
  const upstream_plan_result p = plan_upstream(r);
  ASSERT_TRUE(p.ok()) << p.error;
  EXPECT_EQ(p.plans[0].rate_per_s, 2000u);
  EXPECT_EQ(p.plans[0].owner, p.plans[1].owner);
  EXPECT_EQ(p.plans[2].rate_per_s, 0u);
  EXPECT_TRUE(p.plans[2].owner.empty());
}

TEST(SlotPlannerUpstream, StrictCapsAndGuaranteesNeedARateOnEverySendingBind) {
  std::vector<bind_rate> b(2);
  b[0].rate_per_s = 100;  // bind 1 has none, and the upstream none either
  auto s = shares_of({1});
  upstream_plan_request r;
  r.upstream = "mno-c";
  r.tenant_count = 1;
  r.shares = s;
  r.binds = b;
  EXPECT_TRUE(plan_upstream(r).ok());  // weights alone: bind 1 is simply not gated
  r.strict = true;
  upstream_plan_result p = plan_upstream(r);
  EXPECT_NE(p.error.find("upstream 'mno-c': bind 1 has no rate_per_s"), std::string::npos)
      << p.error;
  r.strict = false;
  s[0].guarantee_per_s = 10;
  p = plan_upstream(r);
  EXPECT_NE(p.error.find("bind 1 has no rate_per_s"), std::string::npos) << p.error;
}

}  // namespace
}  // namespace smpp::control
