// timer_wheel against a reference model: never early, never a tick late, cancel and re-schedule,
// far-future timers across every level, a million timers, time jumps, callbacks that re-arm.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <random>
#include <vector>

#include "smpp/net/timer_wheel.hpp"

namespace net = smpp::net;

namespace {

constexpr uint64_t never = UINT64_MAX;

// The time a timer at at_us may fire from: the start of its tick.
uint64_t due_us(uint64_t at_us, uint64_t tick_us) {
  const uint64_t q = at_us / tick_us + (at_us % tick_us != 0);
  return q * tick_us;
}

// Schedules, cancels and advances at random and checks after every advance that exactly the
// timers whose tick was reached fired, each once, never before at_us.
void run_model(uint32_t capacity, uint32_t tick_us, uint32_t slots, uint64_t start_us,
               uint64_t max_ahead_us, uint64_t max_step_us, uint32_t seed, int rounds) {
  SCOPED_TRACE(::testing::Message() << "tick_us=" << tick_us << " slots=" << slots
                                    << " seed=" << seed << " ahead=" << max_ahead_us);
  net::timer_wheel w(capacity, tick_us, slots, start_us);
  std::mt19937_64 rng(seed);
  std::vector<uint64_t> at(capacity, never);  // the reference: when each armed timer is due
  uint64_t now = start_us;
  size_t armed = 0;
  for (int round = 0; round < rounds; ++round) {
    const int ops = static_cast<int>(rng() % 20);
    for (int i = 0; i < ops; ++i) {
      const auto id = static_cast<uint32_t>(rng() % capacity);
      if (rng() % 5 == 0) {
        w.cancel(id);
        if (at[id] != never) --armed;
        at[id] = never;
      } else {
        // Mostly ahead, sometimes in the past or exactly now.
        const uint64_t r = rng() % 8;
        uint64_t t = r == 0   ? now - std::min<uint64_t>(now, rng() % (3 * tick_us))
                     : r == 1 ? now
                              : now + rng() % max_ahead_us;
        w.schedule(id, t);
        if (at[id] == never) ++armed;
        at[id] = t;
      }
      ASSERT_EQ(w.size(), armed);
    }
    const uint64_t step = rng() % 4 == 0 ? rng() % (max_step_us * 50) : rng() % max_step_us;
    now += step;
    std::vector<uint32_t> fired;
    const size_t n = w.advance(now, [&](uint32_t id) {
      EXPECT_FALSE(w.scheduled(id));
      fired.push_back(id);
    });
    ASSERT_EQ(n, fired.size());
    std::sort(fired.begin(), fired.end());
    ASSERT_TRUE(std::adjacent_find(fired.begin(), fired.end()) == fired.end()) << "fired twice";
    std::vector<uint32_t> expected;
    for (uint32_t id = 0; id < capacity; ++id) {
      if (at[id] == never) continue;
      // Due when its tick has been reached (timers armed for a tick already reached included).
      if (due_us(at[id], tick_us) <= (now / tick_us) * tick_us) {
        expected.push_back(id);
      }
    }
    ASSERT_EQ(fired, expected) << "round " << round << " now " << now;
    for (uint32_t id : fired) {
      ASSERT_LE(at[id], now) << "fired early";
      at[id] = never;
      --armed;
    }
    ASSERT_EQ(w.size(), armed);
  }
}

}  // namespace

TEST(TimerWheel, MatchesReferenceModelAcrossGeometries) {
  struct geometry {
    uint32_t tick_us;
    uint32_t slots;
    uint64_t ahead_us;
    uint64_t step_us;
  };
  const geometry gs[] = {
      {1, 2, 100, 3},                       // one bit per level: 64 levels
      {1, 4, 10'000, 50},                   // many cascades
      {7, 16, 1'000'000, 70},               // tick not a power of two
      {1000, 64, 120'000'000, 3000},        // 1 ms ticks, timers up to 2 minutes
      {1000, 256, 7'200'000'000, 5000},     // keepalive-range timers (2 h)
      {1024, 4096, 60'000'000, 2048},       // power-of-two tick (shift path)
      {100, 8, 1ull << 40, 1'000'000'000},  // far future: years ahead, big steps
  };
  uint32_t seed = 1;
  for (const geometry& g : gs) {
    for (int rep = 0; rep < 4; ++rep) {
      run_model(64, g.tick_us, g.slots, rep == 3 ? 1'234'567'890'123 : 0, g.ahead_us, g.step_us,
                seed++, 600);
    }
  }
}

TEST(TimerWheel, NeverEarlyAndAtMostOneTickLateWhenAdvancedEveryTick) {
  constexpr uint32_t tick = 1000;
  net::timer_wheel w(10'000, tick, 256);
  std::mt19937 rng(7);
  std::vector<uint64_t> at(10'000);
  for (uint32_t id = 0; id < at.size(); ++id) {
    at[id] = 1 + rng() % 5'000'000;  // within 5 s: 20 revolutions of level 0
    w.schedule(id, at[id]);
  }
  size_t fired = 0;
  uint64_t worst_late = 0;
  // Advance in uneven steps of at most one tick.
  for (uint64_t now = 0; now <= 5'001'000; now += 1 + rng() % tick) {
    fired += w.advance(now, [&](uint32_t id) {
      ASSERT_GE(now, at[id]) << "early";
      worst_late = std::max(worst_late, now - at[id]);
    });
  }
  EXPECT_EQ(fired, at.size());
  EXPECT_LT(worst_late, uint64_t{2} * tick);  // one tick of rounding + one step of at most a tick
  EXPECT_EQ(w.size(), 0u);
}

TEST(TimerWheel, FiresInTheTickOfItsDeadlineNotBefore) {
  net::timer_wheel w(4, 1000, 64);
  w.schedule(0, 5000);  // exactly on a tick edge
  w.schedule(1, 5001);  // one µs into the next tick: not before 6000
  std::vector<uint32_t> fired;
  auto rec = [&](uint32_t id) { fired.push_back(id); };
  EXPECT_EQ(w.advance(4999, rec), 0u);
  EXPECT_EQ(w.advance(5000, rec), 1u);
  EXPECT_EQ(fired, std::vector<uint32_t>{0});
  EXPECT_EQ(w.advance(5999, rec), 0u);
  EXPECT_EQ(w.deadline_us(1), 6000u);
  EXPECT_EQ(w.advance(6000, rec), 1u);
  EXPECT_EQ(fired, (std::vector<uint32_t>{0, 1}));
}

TEST(TimerWheel, CancelAndRescheduleMoveTheTimer) {
  net::timer_wheel w(8, 1000, 16);
  std::vector<uint32_t> fired;
  auto rec = [&](uint32_t id) { fired.push_back(id); };
  w.schedule(3, 10'000);
  EXPECT_TRUE(w.scheduled(3));
  w.schedule(3, 50'000);  // moved later
  EXPECT_EQ(w.size(), 1u);
  EXPECT_EQ(w.advance(49'000, rec), 0u);
  w.schedule(3, 20'000);  // moved earlier: into the past now, fires at the next call
  EXPECT_EQ(w.advance(49'000, rec), 1u);
  EXPECT_EQ(fired, std::vector<uint32_t>{3});
  w.schedule(4, 60'000);
  w.cancel(4);
  w.cancel(4);  // twice is harmless
  EXPECT_FALSE(w.scheduled(4));
  EXPECT_EQ(w.deadline_us(4), UINT64_MAX);
  EXPECT_EQ(w.advance(100'000, rec), 0u);
  EXPECT_EQ(w.size(), 0u);
}

TEST(TimerWheel, IdsBeyondCapacityAreIgnored) {
  net::timer_wheel w(2, 1000, 16);
  w.schedule(2, 1000);
  w.schedule(UINT32_MAX, 1000);
  w.cancel(7);
  EXPECT_FALSE(w.scheduled(2));
  EXPECT_EQ(w.size(), 0u);
  EXPECT_EQ(w.advance(10'000, [](uint32_t) { FAIL(); }), 0u);
}

TEST(TimerWheel, FarFutureTimersBeyondManyRevolutions) {
  // 16 slots of 1 ms: level 0 turns every 16 ms; these are days away.
  net::timer_wheel w(4, 1000, 16);
  const uint64_t day = 86'400'000'000ull;
  w.schedule(0, 3 * day + 17);
  w.schedule(1, 40 * day);
  const uint64_t last_tick_us = UINT64_MAX / 1000 * 1000;  // the last tick that starts in range
  w.schedule(2, last_tick_us - 5);                         // the end of time: sits in the top level
  std::vector<std::pair<uint32_t, uint64_t>> fired;
  uint64_t now = 0;
  // Hour steps: each call skips the empty ticks.
  while (now < 41 * day) {
    now += 3'600'000'000ull;
    w.advance(now, [&](uint32_t id) { fired.emplace_back(id, now); });
  }
  ASSERT_EQ(fired.size(), 2u);
  EXPECT_EQ(fired[0].first, 0u);
  EXPECT_GE(fired[0].second, 3 * day + 17);
  EXPECT_LT(fired[0].second, 3 * day + 17 + 3'600'000'000ull);
  EXPECT_EQ(fired[1].first, 1u);
  EXPECT_TRUE(w.scheduled(2));
  EXPECT_EQ(w.deadline_us(2), last_tick_us);
  w.schedule(3, UINT64_MAX);  // its tick starts beyond the clock's range: never fires
  EXPECT_EQ(w.deadline_us(3), UINT64_MAX);
  EXPECT_EQ(w.advance(last_tick_us - 1, [](uint32_t) { FAIL(); }), 0u);
  EXPECT_EQ(w.advance(UINT64_MAX, [&](uint32_t id) { EXPECT_EQ(id, 2u); }), 1u);
  EXPECT_TRUE(w.scheduled(3));
}

TEST(TimerWheel, TimeJumpFiresEverythingDueInOneCallQuickly) {
  net::timer_wheel w(100'000, 1000, 256);
  std::mt19937_64 rng(3);
  for (uint32_t id = 0; id < 100'000; ++id) w.schedule(id, rng() % 3'600'000'000ull);  // 1 h
  const auto t0 = std::chrono::steady_clock::now();
  // A jump of a year of 1 ms ticks (3 * 10^10) must not be walked tick by tick.
  const size_t n = w.advance(365ull * 86'400'000'000ull, [](uint32_t) {});
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(n, 100'000u);
  EXPECT_EQ(w.size(), 0u);
  EXPECT_LT(took, std::chrono::seconds(20));
  // And time going backwards is the last time seen: nothing new fires early.
  w.schedule(5, 365ull * 86'400'000'000ull + 5000);
  EXPECT_EQ(w.advance(10, [](uint32_t) { FAIL(); }), 0u);
  EXPECT_EQ(w.now_us(), 365ull * 86'400'000'000ull);
}

TEST(TimerWheel, MillionTimersEachFiresOnceInItsTick) {
  constexpr uint32_t n = 1'000'000;
  constexpr uint32_t tick = 1000;
  net::timer_wheel w(n, tick, 512);
  std::mt19937 rng(11);
  std::vector<uint32_t> at(n);
  for (uint32_t id = 0; id < n; ++id) {
    at[id] = static_cast<uint32_t>(rng() % 10'000'000);  // 10 s
    w.schedule(id, at[id]);
  }
  // Re-schedule a tenth of them and cancel another tenth.
  for (uint32_t id = 0; id < n; id += 10) {
    at[id] = static_cast<uint32_t>(rng() % 10'000'000);
    w.schedule(id, at[id]);
  }
  for (uint32_t id = 5; id < n; id += 10) {
    w.cancel(id);
    at[id] = UINT32_MAX;
  }
  std::vector<uint8_t> count(n, 0);
  uint64_t bad = 0;
  size_t fired = 0;
  for (uint64_t now = 0; now <= 10'000'000; now += tick) {
    fired += w.advance(now, [&](uint32_t id) {
      ++count[id];
      // Fired in the tick where at falls (rounded up), i.e. now - tick < at <= now.
      if (at[id] > now || at[id] + tick <= now) ++bad;
    });
  }
  EXPECT_EQ(bad, 0u);
  EXPECT_EQ(fired, n - n / 10);
  for (uint32_t id = 0; id < n; ++id) {
    ASSERT_EQ(count[id], at[id] == UINT32_MAX ? 0 : 1) << id;
  }
}

TEST(TimerWheel, CallbackMayRearmAndCancelOthers) {
  net::timer_wheel w(4, 1000, 16);
  w.schedule(0, 1000);  // periodic: re-arms itself 5 ms later
  w.schedule(1, 3000);  // cancelled by timer 2 before its time
  w.schedule(2, 2000);
  w.schedule(3, 5000);  // re-arms itself for "now": must not loop, fires in the next call
  std::map<uint32_t, int> fires;
  uint64_t now = 0;
  auto cb = [&](uint32_t id) {
    ++fires[id];
    if (id == 0) w.schedule(0, now + 5000);
    if (id == 2) w.cancel(1);
    if (id == 3 && fires[3] < 3) w.schedule(3, now);
  };
  for (now = 0; now <= 20'000; now += 1000) w.advance(now, cb);
  EXPECT_EQ(fires[0], 4);  // at 1, 6, 11 and 16 ms (21 ms is not reached)
  EXPECT_EQ(fires.count(1), 0u);
  EXPECT_EQ(fires[2], 1);
  EXPECT_EQ(fires[3], 3);  // at 5, 6 and 7 ms: once per call
}

TEST(TimerWheel, CallbackArmingLaterTickWithinTheSameCallFiresInIt) {
  net::timer_wheel w(2, 1000, 16);
  w.schedule(0, 1000);
  std::vector<uint32_t> fired;
  w.advance(10'000, [&](uint32_t id) {
    fired.push_back(id);
    if (id == 0) w.schedule(1, 4000);  // already reached by this call's now: fires in it
  });
  EXPECT_EQ(fired, (std::vector<uint32_t>{0, 1}));
}

TEST(TimerWheel, OddSlotCountsRoundUpToPowersOfTwo) {
  net::timer_wheel w(1, 0, 100);  // tick 0 is taken as 1 µs
  EXPECT_EQ(w.slots(), 128u);
  EXPECT_EQ(w.tick_us(), 1u);
  EXPECT_EQ(w.levels(), 10u);  // ceil(64 / 7)
  w.schedule(0, 1'000'000);
  EXPECT_EQ(w.advance(999'999, [](uint32_t) {}), 0u);
  EXPECT_EQ(w.advance(1'000'000, [](uint32_t) {}), 1u);
}
