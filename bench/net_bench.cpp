// The userspace TCP stack's pure components against the standard containers a stack would
// otherwise use, in one binary (STYLE.md habit 9):
//   - timer_wheel vs std::multimap (schedule+cancel, re-arm) and vs std::priority_queue and
//     std::multimap (advance: timers firing and being armed again, per fired timer), with
//     10,000 armed timers (one worker's connections x timer kinds);
//   - tcp_reassembly vs std::map<seq, std::vector<std::byte>> (the naive out-of-order queue):
//     in-order 1460-octet segments and a 3-way reordering, insert + pop per segment.
// Each figure is ns per timer or per segment (the "per_item" column); the pairs' ratios are
// printed after the table, from the medians when --benchmark_repetitions is given.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <queue>
#include <random>
#include <string>
#include <vector>

#include "display_reporter.hpp"
#include "smpp/net/tcp_reassembly.hpp"
#include "smpp/net/timer_wheel.hpp"

namespace {

namespace net = smpp::net;

constexpr uint32_t armed_timers = 10'000;
constexpr uint32_t tick_us = 1000;
constexpr uint32_t wheel_slots = 256;

// Delays from 1 ms to 1 s (RTO, delayed ACK, persist), drawn once so every contender sees the
// same sequence.
const std::vector<uint64_t>& delays() {
  static const std::vector<uint64_t> d = [] {
    std::mt19937_64 rng(1);
    std::vector<uint64_t> v(1 << 16);
    for (uint64_t& x : v) x = 1000 + rng() % 1'000'000;
    return v;
  }();
  return d;
}

void per_item(benchmark::State& state, double items) {
  state.counters["per_item"] =
      benchmark::Counter(items, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// ---- schedule + cancel: one timer armed and disarmed among 10,000 armed ones --------------

void BM_ScheduleCancel_timer_wheel(benchmark::State& state) {
  net::timer_wheel w(2 * armed_timers, tick_us, wheel_slots);
  const auto& d = delays();
  for (uint32_t id = 0; id < armed_timers; ++id) w.schedule(id, d[id]);
  uint32_t i = 0;
  for (auto _ : state) {
    const uint32_t id = armed_timers + (i & 1023);
    w.schedule(id, d[i & 0xffff]);
    w.cancel(id);
    ++i;
  }
  benchmark::DoNotOptimize(w.size());
  per_item(state, static_cast<double>(state.iterations()));
}

void BM_ScheduleCancel_multimap(benchmark::State& state) {
  std::multimap<uint64_t, uint32_t> m;
  const auto& d = delays();
  for (uint32_t id = 0; id < armed_timers; ++id) m.emplace(d[id], id);
  uint32_t i = 0;
  for (auto _ : state) {
    const auto it = m.emplace(d[i & 0xffff], armed_timers + (i & 1023));
    m.erase(it);
    ++i;
  }
  benchmark::DoNotOptimize(m.size());
  per_item(state, static_cast<double>(state.iterations()));
}

// ---- re-arm: an armed timer moved to a new time (the RTO restarted on every ACK) -----------

void BM_Rearm_timer_wheel(benchmark::State& state) {
  net::timer_wheel w(armed_timers, tick_us, wheel_slots);
  const auto& d = delays();
  for (uint32_t id = 0; id < armed_timers; ++id) w.schedule(id, d[id]);
  uint32_t i = 0;
  for (auto _ : state) {
    w.schedule(i % armed_timers, d[i & 0xffff]);
    ++i;
  }
  benchmark::DoNotOptimize(w.size());
  per_item(state, static_cast<double>(state.iterations()));
}

void BM_Rearm_multimap(benchmark::State& state) {
  std::multimap<uint64_t, uint32_t> m;
  std::vector<std::multimap<uint64_t, uint32_t>::iterator> where(armed_timers);
  const auto& d = delays();
  for (uint32_t id = 0; id < armed_timers; ++id) where[id] = m.emplace(d[id], id);
  uint32_t i = 0;
  for (auto _ : state) {
    const uint32_t id = i % armed_timers;
    m.erase(where[id]);
    where[id] = m.emplace(d[i & 0xffff], id);
    ++i;
  }
  benchmark::DoNotOptimize(m.size());
  per_item(state, static_cast<double>(state.iterations()));
}

// ---- advance: the clock moves one tick; every due timer fires and is armed again ----------

void BM_Advance_timer_wheel(benchmark::State& state) {
  net::timer_wheel w(armed_timers, tick_us, wheel_slots);
  const auto& d = delays();
  for (uint32_t id = 0; id < armed_timers; ++id) w.schedule(id, d[id]);
  uint64_t now = 0;
  uint32_t i = 0;
  uint64_t fired = 0;
  for (auto _ : state) {
    now += tick_us;
    fired += w.advance(now, [&](uint32_t id) { w.schedule(id, now + d[i++ & 0xffff]); });
  }
  per_item(state, static_cast<double>(fired));
}

void BM_Advance_priority_queue(benchmark::State& state) {
  using entry = std::pair<uint64_t, uint32_t>;
  std::priority_queue<entry, std::vector<entry>, std::greater<>> q;
  const auto& d = delays();
  for (uint32_t id = 0; id < armed_timers; ++id) q.emplace(d[id], id);
  uint64_t now = 0;
  uint32_t i = 0;
  uint64_t fired = 0;
  for (auto _ : state) {
    now += tick_us;
    while (q.top().first <= now) {
      const uint32_t id = q.top().second;
      q.pop();
      ++fired;
      q.emplace(now + d[i++ & 0xffff], id);
    }
  }
  per_item(state, static_cast<double>(fired));
}

void BM_Advance_multimap(benchmark::State& state) {
  std::multimap<uint64_t, uint32_t> m;
  const auto& d = delays();
  for (uint32_t id = 0; id < armed_timers; ++id) m.emplace(d[id], id);
  uint64_t now = 0;
  uint32_t i = 0;
  uint64_t fired = 0;
  for (auto _ : state) {
    now += tick_us;
    while (m.begin()->first <= now) {
      const uint32_t id = m.begin()->second;
      m.erase(m.begin());
      ++fired;
      m.emplace(now + d[i++ & 0xffff], id);
    }
  }
  per_item(state, static_cast<double>(fired));
}

// ---- reassembly: insert + pop per 1460-octet segment --------------------------------------

constexpr uint32_t mss = 1460;

const std::vector<std::byte>& payload() {
  static const std::vector<std::byte> p(mss, std::byte{0x5a});
  return p;
}

// The order segments arrive in: in order, or each group of three as 1, 2, 0 (the first one
// of the group overtaken by the next two).
uint32_t arrival(uint64_t n, bool reorder) {
  if (!reorder) return static_cast<uint32_t>(n);
  static constexpr uint32_t order[3] = {1, 2, 0};
  return static_cast<uint32_t>(n - n % 3 + order[n % 3]);
}

void run_reassembly(benchmark::State& state, bool reorder) {
  net::tcp_reassembly q(256 * 1024, 64);
  std::vector<std::byte> sink(4 * mss);  // what one pop can hand over at most here
  uint32_t rcv_nxt = 0xffff'0000u;       // crosses 2^32 during the run
  const uint32_t isn = rcv_nxt;
  uint64_t n = 0;
  uint64_t delivered = 0;
  for (auto _ : state) {
    const uint32_t seg = arrival(n++, reorder);
    (void)q.insert(isn + seg * mss, payload(), rcv_nxt);
    delivered += q.pop(rcv_nxt, [&](std::span<const std::byte> d) {
      std::memcpy(sink.data(), d.data(), d.size());
    });
    benchmark::DoNotOptimize(sink.data());
  }
  if (delivered + 2 * mss < n * mss) state.SkipWithError("reassembly lost data");
  per_item(state, static_cast<double>(state.iterations()));
}

void run_map_baseline(benchmark::State& state, bool reorder) {
  std::map<uint64_t, std::vector<std::byte>> q;  // offset from the ISN -> octets
  std::vector<std::byte> sink(4 * mss);          // what one pop can hand over at most here
  uint64_t rcv_off = 0;
  uint64_t n = 0;
  uint64_t delivered = 0;
  for (auto _ : state) {
    const uint32_t seg = arrival(n++, reorder);
    q.emplace(uint64_t{seg} * mss, payload());
    for (auto it = q.begin(); it != q.end() && it->first == rcv_off; it = q.erase(it)) {
      std::memcpy(sink.data(), it->second.data(), it->second.size());
      rcv_off += it->second.size();
      delivered += it->second.size();
    }
    benchmark::DoNotOptimize(sink.data());
  }
  if (delivered + 2 * mss < n * mss) state.SkipWithError("baseline lost data");
  per_item(state, static_cast<double>(state.iterations()));
}

void BM_InOrder_tcp_reassembly(benchmark::State& state) {
  run_reassembly(state, false);
}
void BM_InOrder_std_map(benchmark::State& state) {
  run_map_baseline(state, false);
}
void BM_Reorder3_tcp_reassembly(benchmark::State& state) {
  run_reassembly(state, true);
}
void BM_Reorder3_std_map(benchmark::State& state) {
  run_map_baseline(state, true);
}

BENCHMARK(BM_ScheduleCancel_timer_wheel);
BENCHMARK(BM_ScheduleCancel_multimap);
BENCHMARK(BM_Rearm_timer_wheel);
BENCHMARK(BM_Rearm_multimap);
BENCHMARK(BM_Advance_timer_wheel);
BENCHMARK(BM_Advance_priority_queue);
BENCHMARK(BM_Advance_multimap);
BENCHMARK(BM_InOrder_tcp_reassembly);
BENCHMARK(BM_InOrder_std_map);
BENCHMARK(BM_Reorder3_tcp_reassembly);
BENCHMARK(BM_Reorder3_std_map);

// Prints ns per timer / per segment of ours and each baseline after the table (medians when
// repetitions are given).
class ratio_reporter : public benchmark::ConsoleReporter {
 public:
  ratio_reporter() : ConsoleReporter(isatty(STDOUT_FILENO) != 0 ? OO_ColorTabular : OO_Tabular) {}

  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      const bool median = run.run_type == Run::RT_Aggregate && run.aggregate_name == "median";
      if (run.error_occurred || (run.run_type == Run::RT_Aggregate && !median)) continue;
      if (run.run_type == Run::RT_Iteration && run.repetitions > 1) continue;
      const auto c = run.counters.find("per_item");
      if (c != run.counters.end()) ns_[run.run_name.function_name] = c->second.value * 1e9;
    }
  }
  void Finalize() override {
    ConsoleReporter::Finalize();
    struct pair {
      const char* op;
      const char* ours;
      const char* theirs;
    };
    const pair pairs[] = {
        {"ScheduleCancel", "timer_wheel", "multimap"}, {"Rearm", "timer_wheel", "multimap"},
        {"Advance", "timer_wheel", "priority_queue"},  {"Advance", "timer_wheel", "multimap"},
        {"InOrder", "tcp_reassembly", "std_map"},      {"Reorder3", "tcp_reassembly", "std_map"},
    };
    for (const pair& p : pairs) {
      const auto a = ns_.find(std::string("BM_") + p.op + "_" + p.ours);
      const auto b = ns_.find(std::string("BM_") + p.op + "_" + p.theirs);
      if (a == ns_.end() || b == ns_.end()) continue;
      std::printf("%-15s %-15s %7.1f ns   %-15s %7.1f ns   (%.2fx ours)\n", p.op, p.ours, a->second,
                  p.theirs, b->second, b->second / a->second);
    }
  }

 private:
  std::map<std::string, double> ns_;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  ratio_reporter reporter;
  smpp::bench::run_benchmarks(reporter);
  benchmark::Shutdown();
  return 0;
}
