// ring_bench: spsc_ring against DPDK's rte_ring (single-producer/single-consumer mode) and
// tbb::concurrent_bounded_queue, in one binary, with one producer and one consumer pinned to two
// different CPUs. Every peer moves the same 8-byte objects through 1024 slots, one at a time and
// in bursts of 32. After the run it prints each peer's median objects/s, over all repetitions and
// over the undisturbed ones (bench/RING.md), and our ratios.
//
// Defaults: 5 repetitions, randomly interleaved across peers; any --benchmark_* flag given on the
// command line wins.
#include <benchmark/benchmark.h>
#include <pthread.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <new>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "display_reporter.hpp"
#include "smpp/dataplane/spsc_ring.hpp"

#include <rte_ring.h>
#include <tbb/concurrent_queue.h>

namespace {

constexpr std::size_t ring_slots = 1024;
constexpr std::size_t max_burst = 32;
// Objects the consumer takes per benchmark iteration: long enough to amortise the loop, short
// enough that Google Benchmark can size a run in well under a second.
constexpr uint64_t objects_per_iteration = 1 << 16;

using object = void*;  // what rte_ring's classic API carries; a pointer or handle for the others

object object_of(uint64_t sequence) {
  return reinterpret_cast<object>(sequence);
}
uint64_t sequence_of(object o) {
  return reinterpret_cast<uint64_t>(o);
}

// ---- the peers, behind one adapter shape ------------------------------------------------------

class ours {
 public:
  static constexpr const char* name = "spsc_ring";
  bool push(object o) { return ring_.try_push(o); }
  std::size_t push_burst(const object* objects, std::size_t n) {
    return ring_.push_burst(std::span(objects, n));
  }
  bool pop(object& o) { return ring_.try_pop(o); }
  std::size_t pop_burst(object* out, std::size_t n) { return ring_.pop_burst(std::span(out, n)); }

 private:
  smpp::dataplane::spsc_ring<object> ring_{ring_slots};
};

// rte_ring without the EAL: rte_ring_init() on memory we allocate (rte_ring_create() would need
// rte_eal_init() and hugepages). Usable capacity is ring_slots - 1, DPDK's convention.
class dpdk_ring {
 public:
  static constexpr const char* name = "rte_ring";
  dpdk_ring() {
    const ssize_t bytes = rte_ring_get_memsize(ring_slots);
    if (bytes < 0) throw std::runtime_error("rte_ring_get_memsize failed");
    // rte_ring is cache-line aligned; aligned_alloc wants a multiple of the alignment.
    const auto rounded = (static_cast<std::size_t>(bytes) + 127) / 128 * 128;
    ring_ = static_cast<rte_ring*>(std::aligned_alloc(128, rounded));
    if (ring_ == nullptr) throw std::bad_alloc();
    if (rte_ring_init(ring_, "ring_bench", ring_slots, RING_F_SP_ENQ | RING_F_SC_DEQ) != 0) {
      std::free(ring_);
      throw std::runtime_error("rte_ring_init failed");
    }
  }
  ~dpdk_ring() { std::free(ring_); }
  dpdk_ring(const dpdk_ring&) = delete;
  dpdk_ring& operator=(const dpdk_ring&) = delete;

  bool push(object o) { return rte_ring_sp_enqueue(ring_, o) == 0; }
  std::size_t push_burst(const object* objects, std::size_t n) {
    return rte_ring_sp_enqueue_burst(ring_, objects, static_cast<unsigned>(n), nullptr);
  }
  bool pop(object& o) { return rte_ring_sc_dequeue(ring_, &o) == 0; }
  std::size_t pop_burst(object* out, std::size_t n) {
    return rte_ring_sc_dequeue_burst(ring_, out, static_cast<unsigned>(n), nullptr);
  }

 private:
  rte_ring* ring_ = nullptr;
};

// TBB's queue has no burst calls: a burst is that many try_push/try_pop calls.
class tbb_queue {
 public:
  static constexpr const char* name = "tbb_bounded_queue";
  tbb_queue() { queue_.set_capacity(static_cast<std::ptrdiff_t>(ring_slots)); }
  bool push(object o) { return queue_.try_push(o); }
  std::size_t push_burst(const object* objects, std::size_t n) {
    std::size_t pushed = 0;
    while (pushed < n && queue_.try_push(objects[pushed])) ++pushed;
    return pushed;
  }
  bool pop(object& o) { return queue_.try_pop(o); }
  std::size_t pop_burst(object* out, std::size_t n) {
    std::size_t popped = 0;
    while (popped < n && queue_.try_pop(out[popped])) ++popped;
    return popped;
  }

 private:
  tbb::concurrent_bounded_queue<object> queue_;
};

// ---- CPU placement ----------------------------------------------------------------------------

struct cpu_pair {
  int consumer = -1;
  int producer = -1;
};
cpu_pair g_cpus;  // chosen once in main(), before any thread is pinned

cpu_pair first_two_allowed_cpus() {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  cpu_pair pair;
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) return pair;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &allowed)) continue;
    if (pair.consumer < 0) {
      pair.consumer = cpu;
    } else {
      pair.producer = cpu;
      break;
    }
  }
  return pair;
}

bool pin_this_thread(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0;
}

// Pins the benchmark thread (the consumer) for one run and gives it back its old mask after.
class pinned_for_run {
 public:
  explicit pinned_for_run(int cpu) {
    CPU_ZERO(&saved_);
    saved_ok_ = pthread_getaffinity_np(pthread_self(), sizeof saved_, &saved_) == 0;
    pinned_ = pin_this_thread(cpu);
  }
  ~pinned_for_run() {
    if (saved_ok_) pthread_setaffinity_np(pthread_self(), sizeof saved_, &saved_);
  }
  pinned_for_run(const pinned_for_run&) = delete;
  pinned_for_run& operator=(const pinned_for_run&) = delete;
  bool pinned() const { return pinned_; }

 private:
  cpu_set_t saved_;
  bool saved_ok_ = false;
  bool pinned_ = false;
};

// Share of the wall-clock time since construction that the calling thread spent on a CPU. Both
// threads spin, so anything below 1 is time another process took: a disturbed repetition.
class on_cpu_meter {
 public:
  on_cpu_meter() : wall_start_(std::chrono::steady_clock::now()), cpu_start_ns_(thread_cpu_ns()) {}
  double share() const {
    const auto wall_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                             std::chrono::steady_clock::now() - wall_start_)
                             .count();
    return wall_ns <= 0 ? 1.0
                        : static_cast<double>(thread_cpu_ns() - cpu_start_ns_) /
                              static_cast<double>(wall_ns);
  }

 private:
  static int64_t thread_cpu_ns() {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec;
  }
  std::chrono::steady_clock::time_point wall_start_;
  int64_t cpu_start_ns_;
};

// ---- the scenario -----------------------------------------------------------------------------

// Pushes sequence numbers 0..total-1, `burst` at a time (1: the single-object calls). A refused
// burst tail is offered again: back-pressure, as in the router. Gives up only when told to stop.
template <class Peer>
void produce(Peer& peer, std::size_t burst, uint64_t total, const std::atomic<bool>& stop) {
  std::array<object, max_burst> objects{};
  uint64_t next = 0;
  while (next < total) {
    std::size_t pushed = 0;
    if (burst == 1) {
      pushed = peer.push(object_of(next)) ? 1 : 0;
    } else {
      const auto n = static_cast<std::size_t>(std::min<uint64_t>(burst, total - next));
      for (std::size_t i = 0; i < n; ++i) objects[i] = object_of(next + i);
      pushed = peer.push_burst(objects.data(), n);
    }
    next += pushed;
    if (pushed == 0 && stop.load(std::memory_order_relaxed)) return;
  }
}

template <class Peer>
void bm_transfer(benchmark::State& state) {
  const auto burst = static_cast<std::size_t>(state.range(0));
  if (g_cpus.producer < 0) {
    state.SkipWithError("needs two CPUs in the affinity mask");
    return;
  }
  pinned_for_run consumer_pin(g_cpus.consumer);
  if (!consumer_pin.pinned()) {
    state.SkipWithError("cannot pin the consumer thread");
    return;
  }
  auto peer = std::make_unique<Peer>();
  const uint64_t total = static_cast<uint64_t>(state.max_iterations) * objects_per_iteration;
  std::atomic<bool> stop{false};
  std::atomic<int> producer_state{0};  // 0 starting, 1 pinned and running, -1 could not pin
  double producer_on_cpu = 0;          // read after join()
  std::thread producer([&] {
    const bool pinned = pin_this_thread(g_cpus.producer);
    producer_state.store(pinned ? 1 : -1, std::memory_order_release);
    if (!pinned) return;
    const on_cpu_meter meter;
    produce(*peer, burst, total, stop);
    producer_on_cpu = meter.share();
  });
  while (producer_state.load(std::memory_order_acquire) == 0) std::this_thread::yield();
  if (producer_state.load(std::memory_order_relaxed) < 0) {
    producer.join();
    state.SkipWithError("cannot pin the producer thread");
    return;
  }

  std::array<object, max_burst> objects{};
  uint64_t expected = 0;
  uint64_t out_of_order = 0;
  const on_cpu_meter consumer_meter;
  for (auto _ : state) {
    uint64_t left = objects_per_iteration;
    while (left != 0) {
      std::size_t got = 0;
      if (burst == 1) {
        got = peer->pop(objects[0]) ? 1 : 0;
      } else {
        got = peer->pop_burst(objects.data(), std::min<uint64_t>(burst, left));
      }
      for (std::size_t i = 0; i < got; ++i) out_of_order += sequence_of(objects[i]) != expected++;
      left -= got;
    }
  }
  const double consumer_on_cpu = consumer_meter.share();
  stop.store(true, std::memory_order_relaxed);
  producer.join();

  if (out_of_order != 0) state.SkipWithError("objects lost, duplicated or reordered");
  state.SetItemsProcessed(static_cast<int64_t>(expected));
  state.counters["on_cpu"] = std::min(consumer_on_cpu, producer_on_cpu);
}

template <class Peer>
void register_peer() {
  benchmark::RegisterBenchmark(Peer::name, &bm_transfer<Peer>)
      ->ArgName("burst")
      ->Arg(1)
      ->Arg(static_cast<int64_t>(max_burst))
      ->UseRealTime();
}

// ---- summary ----------------------------------------------------------------------------------

// Repetitions in which both threads were on a CPU at least this share of the time count as
// undisturbed by the other processes of a shared machine.
constexpr double undisturbed_on_cpu = 0.95;

// Collects objects/s and on-CPU share of every repetition per scenario and peer, and prints the
// summary: the median of all repetitions and the median of the undisturbed ones. The console
// gets the aggregates; every repetition goes to --benchmark_out if asked for.
class summary_reporter : public benchmark::ConsoleReporter {
 public:
  // Colour only on a terminal (a subclass does not see --benchmark_color).
  summary_reporter() : ConsoleReporter(isatty(STDOUT_FILENO) != 0 ? OO_ColorTabular : OO_Tabular) {}

  void ReportRuns(const std::vector<Run>& runs) override {
    std::vector<Run> shown;
    for (const Run& run : runs) {
      if (run.run_type == Run::RT_Iteration) record(run);
      if (run.run_type == Run::RT_Iteration && run.repetitions > 1) continue;
      shown.push_back(run);
    }
    if (!shown.empty()) ConsoleReporter::ReportRuns(shown);
  }

  void print_summary() const {
    std::printf(
        "\nobjects/s in millions; consumer on CPU %d, producer on CPU %d; %zu slots\n"
        "median: of all repetitions; undisturbed: of those with both threads on a CPU >= %.0f%% "
        "of the time (n)\n",
        g_cpus.consumer, g_cpus.producer, ring_slots, undisturbed_on_cpu * 100);
    std::printf("%-9s %-18s %8s %12s\n", "scenario", "peer", "median", "undisturbed");
    for (const auto& [scenario, peers] : figures_) {
      const summary mine = summarise(peers, ours::name);
      const summary rte = summarise(peers, dpdk_ring::name);
      const summary tbb = summarise(peers, tbb_queue::name);
      for (const auto& [name, f] : {std::pair{ours::name, mine}, std::pair{dpdk_ring::name, rte},
                                    std::pair{tbb_queue::name, tbb}}) {
        std::printf("%-9s %-18s %8.1f %8.1f (%zu)\n", scenario.c_str(), name, f.median / 1e6,
                    f.undisturbed / 1e6, f.undisturbed_count);
      }
      print_ratio(scenario, "ours/rte_ring", mine, rte);
      print_ratio(scenario, "ours/tbb", mine, tbb);
    }
  }

 private:
  struct repetition {
    double objects_per_s;
    double on_cpu;
  };
  struct summary {
    double median = 0;
    double undisturbed = 0;
    std::size_t undisturbed_count = 0;
  };

  void record(const Run& run) {
    const auto rate = run.counters.find("items_per_second");
    const auto on_cpu = run.counters.find("on_cpu");
    if (run.error_occurred || rate == run.counters.end() || on_cpu == run.counters.end()) return;
    figures_[run.run_name.args][run.run_name.function_name].push_back(
        {rate->second.value, on_cpu->second.value});
  }

  static double median(std::vector<double> values) {
    if (values.empty()) return 0;
    std::sort(values.begin(), values.end());
    const std::size_t mid = values.size() / 2;
    return values.size() % 2 != 0 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
  }

  static summary summarise(const std::map<std::string, std::vector<repetition>>& peers,
                           const char* peer) {
    const auto it = peers.find(peer);
    if (it == peers.end()) return {};
    std::vector<double> all;
    std::vector<double> undisturbed;
    for (const repetition& r : it->second) {
      all.push_back(r.objects_per_s);
      if (r.on_cpu >= undisturbed_on_cpu) undisturbed.push_back(r.objects_per_s);
    }
    return {median(all), median(undisturbed), undisturbed.size()};
  }

  static void print_ratio(const std::string& scenario, const char* what, const summary& mine,
                          const summary& theirs) {
    const auto ratio = [](double a, double b) { return a > 0 && b > 0 ? a / b : 0.0; };
    std::printf("%-9s %-18s %8.2f %8.2f\n", scenario.c_str(), what,
                ratio(mine.median, theirs.median), ratio(mine.undisturbed, theirs.undisturbed));
  }

  // scenario -> peer -> one entry per repetition
  std::map<std::string, std::map<std::string, std::vector<repetition>>> figures_;
};

}  // namespace

int main(int argc, char** argv) {
  g_cpus = first_two_allowed_cpus();
  register_peer<ours>();
  register_peer<dpdk_ring>();
  register_peer<tbb_queue>();

  // Our defaults go first, so the same flags given by the user override them. Interleaving the
  // repetitions of all peers spreads any disturbance from other processes over all of them.
  char repetitions[] = "--benchmark_repetitions=5";
  char interleaving[] = "--benchmark_enable_random_interleaving=true";
  std::vector<char*> args{argv[0], repetitions, interleaving};
  args.insert(args.end(), argv + 1, argv + argc);
  int arg_count = static_cast<int>(args.size());
  args.push_back(nullptr);
  benchmark::Initialize(&arg_count, args.data());
  if (benchmark::ReportUnrecognizedArguments(arg_count, args.data())) return 1;

  summary_reporter reporter;
  if (smpp::bench::run_benchmarks(reporter)) reporter.print_summary();
  benchmark::Shutdown();
  return 0;
}
