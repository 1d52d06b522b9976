// The display reporter of a benchmark that prints its own summary (figures and ratios against
// its baselines) after Google Benchmark's table.
//
// A custom reporter passed to RunSpecifiedBenchmarks replaces the one --benchmark_format asks
// for, so json and csv would come out as a console table with a summary after it. Here the
// custom reporter runs only when the format is console; any other format gets Google
// Benchmark's own reporter and stdout holds nothing else. --benchmark_out works in both cases
// (RunSpecifiedBenchmarks writes it with its own file reporter).
#pragma once

#include <benchmark/benchmark.h>

#include <memory>

namespace smpp::bench {

// Runs the benchmarks --benchmark_filter selects. True when `console` showed them, so the
// caller prints its summary; false when another --benchmark_format did, so it prints nothing.
inline bool run_benchmarks(benchmark::ConsoleReporter& console) {
  const std::unique_ptr<benchmark::BenchmarkReporter> chosen(
      benchmark::CreateDefaultDisplayReporter());
  if (dynamic_cast<benchmark::ConsoleReporter*>(chosen.get()) != nullptr) {
    benchmark::RunSpecifiedBenchmarks(&console);
    return true;
  }
  benchmark::RunSpecifiedBenchmarks(chosen.get());
  return false;
}

}  // namespace smpp::bench
