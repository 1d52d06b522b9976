// planner_bench: how long the control thread takes to plan one bind's TDMA frame, for the largest
// frame (100,000 slots: 1,000,000 msg/s, 100 ms) shared by 1000 tenants. Planning runs when the
// configuration or a weight changes and must stay well under one frame.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "smpp/control/slot_planner.hpp"

namespace {

std::vector<smpp::control::tenant_share> random_shares(uint32_t tenants, uint32_t max_weight) {
  std::mt19937 rng(42);
  std::vector<smpp::control::tenant_share> s(tenants);
  for (uint32_t t = 0; t < tenants; ++t) {
    s[t].tenant = t;
    s[t].name = "t" + std::to_string(t);
    s[t].weight = std::uniform_int_distribution<uint32_t>(1, max_weight)(rng);
  }
  return s;
}

void plan(benchmark::State& state) {
  const auto tenants = static_cast<uint32_t>(state.range(0));
  const auto rate = static_cast<uint32_t>(state.range(1));
  const auto shares = random_shares(tenants, static_cast<uint32_t>(state.range(2)));
  smpp::control::bind_plan_request r;
  r.upstream = "bench";
  r.rate_per_s = rate;
  r.frame_ms = 100;
  r.tenant_count = tenants;
  r.shares = shares;
  size_t slots = 0;
  for (auto _ : state) {
    smpp::control::bind_plan_result p = smpp::control::plan_bind(r);
    slots = p.plan.owner.size();
    benchmark::DoNotOptimize(p);
  }
  state.counters["slots"] = static_cast<double>(slots);
  state.counters["slots_per_s"] =
      benchmark::Counter(static_cast<double>(slots), benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

// tenants, rate (msg/s; slots per 100 ms frame = rate / 10), largest weight
BENCHMARK(plan)
    ->Args({3, 2000, 6})
    ->Args({1000, 1'000'000, 1})
    ->Args({1000, 1'000'000, 1000})
    ->Args({1000, 1'000'000, 65535})
    ->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
