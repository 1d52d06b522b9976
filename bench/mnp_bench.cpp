// mnp_bench: the number portability index (dataplane/mnp_index.hpp, control/mnp_builder.hpp) at
// 100 million numbers (--mnp_numbers=N to change): the full build on 1 and on 2 oneTBB threads
// (the speed-up), lookups on one core (median and p99 per lookup, against std::lower_bound over
// the same sorted entries as the baseline), and a delta of 1 million changes.
//
// The input is generated in memory (no file): eight 12-digit number plans, numbers spread over
// each, the lines in a scrambled order, eight networks. Peak memory at 100 M: about 6 GiB.
#include <benchmark/benchmark.h>
#include <tbb/global_control.h>

#include <time.h>
#include <algorithm>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "display_reporter.hpp"
#include "smpp/control/mnp_builder.hpp"

namespace {

using smpp::control::mnp_build_result;
using smpp::control::mnp_text;
using smpp::control::network_ids;
using smpp::dataplane::mnp_index;

uint64_t numbers = 100'000'000;
constexpr uint64_t kDeltaChanges = 1'000'000;
constexpr int kPlans = 8;
const uint64_t kPlanBase[kPlans] = {447000000000, 447400000000, 447700000000, 491500000000,
                                    491600000000, 336000000000, 336500000000, 393000000000};

network_ids networks() {
  network_ids ids;
  for (uint16_t i = 0; i < 8; ++i) ids.emplace("net" + std::to_string(i), i);
  return ids;
}

// Number i of the table: plan i % 8, one number in every 4 of the plan at a pseudo-random place.
uint64_t number(uint64_t i) {
  const uint64_t jitter = (i * 0x9E3779B97F4A7C15ull) >> 62;  // 0..3
  return kPlanBase[i % kPlans] + (i / kPlans) * 4 + jitter;
}

struct xorshift {
  uint64_t s = 0x2545F4914F6CDD1Dull;
  uint64_t next() noexcept {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
};

// The lines in a scrambled order: i -> (i * a) mod n with a coprime to n.
std::string& input() {
  static std::string text = [] {
    std::string t;
    t.reserve(numbers * 18);
    uint64_t a = 2654435761u % numbers;
    if (a == 0) a = 1;
    while (std::gcd(a, numbers) != 1) ++a;
    char line[40];
    for (uint64_t i = 0; i < numbers; ++i) {
      const uint64_t j = i * a % numbers;  // i, a < numbers <= 2^32: no overflow
      const int len = std::snprintf(line, sizeof line, "%llu,net%llu\n",
                                    static_cast<unsigned long long>(number(j)),
                                    static_cast<unsigned long long>(j % 7));
      t.append(line, static_cast<size_t>(len));
    }
    return t;
  }();
  return text;
}

struct results {
  double build_s[3] = {0, 0, 0};      // by thread count, wall
  double build_cpu_s[3] = {0, 0, 0};  // the process's CPU time (all threads)
  double delta_cpu_s = 0;
  double lookup_median_ns = 0, lookup_p99_ns = 0;
  double baseline_median_ns = 0, baseline_p99_ns = 0;
  double delta_s = 0;
  size_t index_bytes = 0;
} figures;

std::shared_ptr<const mnp_index> built;

mnp_build_result build_on(int threads) {
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism,
                            static_cast<size_t>(threads));
  const mnp_text files[] = {{"generated", input()}};
  return smpp::control::build_mnp_index(files, networks());
}

double process_cpu_s() {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Runs `make` once as the benchmark's iteration: its wall time in seconds, or -1 (and the
// benchmark fails) when it did not build.
template <typename Make>
double timed_build(benchmark::State& state, Make make, mnp_build_result& r, double& cpu_s) {
  const double cpu_start = process_cpu_s();
  const auto start = std::chrono::steady_clock::now();
  r = make();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // On a shared machine the wall time depends on the other jobs; the CPU time (every thread of
  // the process) is the work done, and state.counters shows both.
  cpu_s = process_cpu_s() - cpu_start;
  state.counters["cpu_s"] = cpu_s;
  if (!r.ok()) {
    state.SkipWithError(r.error.c_str());
    return -1;
  }
  state.SetIterationTime(s);
  return s;
}

void BM_build(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  input();  // generated before the clock starts
  for (auto _ : state) {
    built.reset();
    mnp_build_result r;
    const double s = timed_build(
        state, [&] { return build_on(threads); }, r, figures.build_cpu_s[threads]);
    if (s < 0) return;
    figures.build_s[threads] = s;
    built = std::move(r.index);
  }
  state.counters["numbers"] = static_cast<double>(built->size());
  state.counters["bytes_per_number"] =
      static_cast<double>(built->bytes()) / static_cast<double>(built->size());
  figures.index_bytes = built->bytes();
}
BENCHMARK(BM_build)->Arg(1)->Arg(2)->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);

// Per-lookup time in batches of 64 independent lookups of random present numbers: the median
// and the 99th percentile over 200,000 batches, one core.
template <typename Lookup>
void time_lookups(Lookup lookup, double& median_ns, double& p99_ns, uint64_t& sink) {
  constexpr int kBatches = 200'000;
  constexpr int kBatch = 64;
  xorshift rng;
  std::vector<double> per_lookup(kBatches);
  const auto entries = built->entries();
  uint64_t keys[kBatch];
  for (int b = 0; b < kBatches; ++b) {
    for (auto& k : keys) k = entries[rng.next() % entries.size()] >> mnp_index::network_bits;
    const auto start = std::chrono::steady_clock::now();
    for (uint64_t k : keys) sink += lookup(k);
    per_lookup[static_cast<size_t>(b)] =
        std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count() /
        kBatch;
  }
  std::sort(per_lookup.begin(), per_lookup.end());
  median_ns = per_lookup[per_lookup.size() / 2];
  p99_ns = per_lookup[per_lookup.size() * 99 / 100];
}

void BM_lookup(benchmark::State& state) {
  uint64_t sink = 0;
  for (auto _ : state) {
    time_lookups([](uint64_t k) { return built->lookup(k); }, figures.lookup_median_ns,
                 figures.lookup_p99_ns, sink);
  }
  benchmark::DoNotOptimize(sink);
  state.counters["median_ns"] = figures.lookup_median_ns;
  state.counters["p99_ns"] = figures.lookup_p99_ns;
}
BENCHMARK(BM_lookup)->Iterations(1)->Unit(benchmark::kMillisecond);

// The baseline: binary search over the same sorted entries.
void BM_lookup_lower_bound(benchmark::State& state) {
  uint64_t sink = 0;
  const auto entries = built->entries();
  for (auto _ : state) {
    time_lookups(
        [&entries](uint64_t k) -> uint16_t {
          const auto it =
              std::lower_bound(entries.begin(), entries.end(), k << mnp_index::network_bits);
          return it != entries.end() && (*it >> mnp_index::network_bits) == k
                     ? static_cast<uint16_t>(*it & mnp_index::network_mask)
                     : smpp::dataplane::no_network;
        },
        figures.baseline_median_ns, figures.baseline_p99_ns, sink);
  }
  benchmark::DoNotOptimize(sink);
  state.counters["median_ns"] = figures.baseline_median_ns;
  state.counters["p99_ns"] = figures.baseline_p99_ns;
}
BENCHMARK(BM_lookup_lower_bound)->Iterations(1)->Unit(benchmark::kMillisecond);

// 1 M changes on 2 threads: 70% a new network for a listed number, 20% new numbers, 10%
// removals.
void BM_delta(benchmark::State& state) {
  std::string().swap(input());  // the full text is no longer needed
  xorshift rng;
  std::string delta;
  const auto entries = built->entries();
  for (uint64_t i = 0; i < kDeltaChanges; ++i) {
    const uint64_t r = rng.next();
    const uint64_t listed = entries[r % entries.size()] >> mnp_index::network_bits;
    switch (r >> 60) {
      case 0:
      case 1:
      case 2:
        delta +=
            std::to_string(kPlanBase[r % kPlans] + 900000000 + (r >> 40) % 1000000) + ",net1\n";
        break;
      case 3:
        delta += std::to_string(listed) + ",-\n";
        break;
      default:
        delta += std::to_string(listed) + ",net" + std::to_string((r >> 32) % 8) + "\n";
    }
  }
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism, 2);
  const mnp_text files[] = {{"delta", delta}};
  const network_ids ids = networks();
  for (auto _ : state) {
    mnp_build_result r;
    const double s = timed_build(
        state, [&] { return smpp::control::apply_mnp_deltas(*built, files, ids); }, r,
        figures.delta_cpu_s);
    if (s < 0) return;
    figures.delta_s = s;
    state.counters["changes"] = static_cast<double>(r.changes);
  }
}
BENCHMARK(BM_delta)->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--mnp_numbers=", 14) == 0) {
      numbers = std::strtoull(argv[i] + 14, nullptr, 10);
      for (int j = i; j + 1 < argc; ++j) argv[j] = argv[j + 1];
      --argc;
      --i;
    }
  }
  if (numbers < 1000 || numbers > UINT32_MAX) {
    std::fprintf(stderr, "mnp_bench: --mnp_numbers must be 1000..4294967295\n");
    return 2;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::ConsoleReporter console;
  if (smpp::bench::run_benchmarks(console) && figures.build_s[1] > 0 && figures.build_s[2] > 0) {
    std::printf(
        "\nmnp %llu numbers (%.2f bytes/number): build 1 thread %.1f s (CPU %.1f s), 2 threads "
        "%.1f s (CPU %.1f s): speed-up %.2fx; target < 60 s\n",
        static_cast<unsigned long long>(numbers),
        static_cast<double>(figures.index_bytes) / static_cast<double>(numbers), figures.build_s[1],
        figures.build_cpu_s[1], figures.build_s[2], figures.build_cpu_s[2],
        figures.build_s[1] / figures.build_s[2]);
    std::printf(
        "lookup: median %.1f ns, p99 %.1f ns (targets 50 / 150); std::lower_bound baseline: "
        "median %.1f ns, p99 %.1f ns (%.2fx)\n",
        figures.lookup_median_ns, figures.lookup_p99_ns, figures.baseline_median_ns,
        figures.baseline_p99_ns, figures.baseline_median_ns / figures.lookup_median_ns);
    std::printf("delta of %llu changes on 2 threads: %.2f s (CPU %.2f s; target < 2 s)\n",
                static_cast<unsigned long long>(kDeltaChanges), figures.delta_s,
                figures.delta_cpu_s);
  }
  benchmark::Shutdown();
  return 0;
}
