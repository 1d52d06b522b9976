// ring_bench: spsc_ring against DPDK's rte_ring (single-producer/single-consumer mode) and
// tbb::concurrent_bounded_queue, in one binary, with one producer and one consumer pinned to two
// different CPUs. Every peer moves the same 8-byte objects through 1024 slots, one at a time and
// in bursts of 32. After the run it prints each peer's median objects/s and our ratios.
//
// Defaults: 5 repetitions, aggregates only; any --benchmark_* flag given on the command line wins.
#include <benchmark/benchmark.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
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
  std::thread producer([&] {
    const bool pinned = pin_this_thread(g_cpus.producer);
    producer_state.store(pinned ? 1 : -1, std::memory_order_release);
    if (pinned) produce(*peer, burst, total, stop);
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
  stop.store(true, std::memory_order_relaxed);
  producer.join();

  if (out_of_order != 0) state.SkipWithError("objects lost, duplicated or reordered");
  state.SetItemsProcessed(static_cast<int64_t>(expected));
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

// Passes everything to the console and keeps objects/s per peer and burst: the median aggregate
// when there are repetitions, else the single run.
class summary_reporter : public benchmark::ConsoleReporter {
 public:
  // Colour only on a terminal (a subclass does not see --benchmark_color).
  summary_reporter() : ConsoleReporter(isatty(STDOUT_FILENO) != 0 ? OO_ColorTabular : OO_Tabular) {}

  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      const auto rate = run.counters.find("items_per_second");
      if (run.error_occurred || rate == run.counters.end()) continue;
      const bool median = run.run_type == Run::RT_Aggregate && run.aggregate_name == "median";
      if (!median && run.run_type != Run::RT_Iteration) continue;
      auto& slot = figures_[run.run_name.args][run.run_name.function_name];
      if (median || !slot.from_median) slot = {rate->second.value, median};
    }
    ConsoleReporter::ReportRuns(runs);
  }

  void print_summary() const {
    std::printf(
        "\nobjects/s, median of the repetitions (consumer CPU %d, producer CPU %d, %zu slots)\n",
        g_cpus.consumer, g_cpus.producer, ring_slots);
    std::printf("%-10s %14s %14s %18s %14s %10s\n", "scenario", ours::name, dpdk_ring::name,
                tbb_queue::name, "ours/rte_ring", "ours/tbb");
    for (const auto& [scenario, peers] : figures_) {
      const double mine = rate_of(peers, ours::name);
      const double rte = rate_of(peers, dpdk_ring::name);
      const double tbb = rate_of(peers, tbb_queue::name);
      std::printf("%-10s %14.4g %14.4g %18.4g %14.2f %10.2f\n", scenario.c_str(), mine, rte, tbb,
                  rte > 0 ? mine / rte : 0.0, tbb > 0 ? mine / tbb : 0.0);
    }
  }

 private:
  struct figure {
    double objects_per_s = 0;
    bool from_median = false;
  };
  static double rate_of(const std::map<std::string, figure>& peers, const char* peer) {
    const auto it = peers.find(peer);
    return it == peers.end() ? 0.0 : it->second.objects_per_s;
  }
  std::map<std::string, std::map<std::string, figure>> figures_;  // scenario -> peer -> figure
};

}  // namespace

int main(int argc, char** argv) {
  g_cpus = first_two_allowed_cpus();
  register_peer<ours>();
  register_peer<dpdk_ring>();
  register_peer<tbb_queue>();

  // Our defaults go first, so the same flags given by the user override them.
  char repetitions[] = "--benchmark_repetitions=5";
  char aggregates_only[] = "--benchmark_report_aggregates_only=true";
  std::vector<char*> args{argv[0], repetitions, aggregates_only};
  args.insert(args.end(), argv + 1, argv + argc);
  int arg_count = static_cast<int>(args.size());
  args.push_back(nullptr);
  benchmark::Initialize(&arg_count, args.data());
  if (benchmark::ReportUnrecognizedArguments(arg_count, args.data())) return 1;

  summary_reporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.print_summary();
  benchmark::Shutdown();
  return 0;
}
