// correlation_bench: the message-id correlation table at 10 million live entries in one shard,
// against std::unordered_map doing the same work, in one binary (STYLE.md habit 9).
//
// Steady state of a busy router: the table is full of live entries; each new submit_sm_resp
// inserts an id, the oldest entry leaves (the table by its TTL, the map by an erase), and a
// receipt looks up a random live id. Ids are sequential numbers, as many SMSCs issue them.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>

#include "display_reporter.hpp"
#include "smpp/dataplane/correlation.hpp"

namespace {

using smpp::dataplane::correlation_insert;
using smpp::dataplane::correlation_key;
using smpp::dataplane::correlation_table;
using smpp::dataplane::correlation_value;

constexpr std::uint64_t live_entries = 10'000'000;
constexpr std::uint16_t upstream = 3;

// xorshift64: cheap enough not to show next to a cache miss.
struct random_index {
  std::uint64_t s = 0x9E3779B97F4A7C15ull;
  std::uint64_t next() noexcept {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
};

correlation_key key_of(std::uint64_t id) {
  return {id, 0};
}

// The table: one shard of live_entries, TTL live_entries ms, one insert per ms, so that each
// insert expires exactly the oldest entry.
struct table_state {
  correlation_table table{live_entries, live_entries, 0x5EED};
  std::uint64_t next_id = 0;
  table_state() {
    for (; next_id < live_entries; ++next_id) {
      if (table.insert(key_of(next_id), {upstream, 1, 0}, next_id) !=
          correlation_insert::inserted) {
        std::fprintf(stderr, "correlation_bench: fill failed at %llu\n",
                     static_cast<unsigned long long>(next_id));
        std::abort();
      }
    }
  }
};

table_state& the_table() {
  static auto* state = new table_state;  // built once, kept for every repetition
  return *state;
}

struct map_key {
  correlation_key key;
  std::uint16_t upstream = 0;
  bool operator==(const map_key&) const = default;
};
struct map_key_hash {
  std::size_t operator()(const map_key& k) const noexcept {
    std::uint64_t h = k.key.lo ^ (k.key.hi << 1) ^ (std::uint64_t{k.upstream} << 48);
    h ^= h >> 33;  // MurmurHash3 fmix64, as the table uses
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
  }
};

struct map_state {
  std::unordered_map<map_key, correlation_value, map_key_hash> map;
  std::uint64_t next_id = 0;
  map_state() {
    map.reserve(live_entries + 1);
    for (; next_id < live_entries; ++next_id) {
      map.emplace(map_key{key_of(next_id), upstream}, correlation_value{upstream, 1, 0});
    }
  }
};

map_state& the_map() {
  static auto* state = new map_state;
  return *state;
}

void BM_InsertFind_correlation_table(benchmark::State& state) {
  table_state& t = the_table();
  random_index rnd;
  std::uint64_t found = 0;
  for (auto _ : state) {
    const std::uint64_t id = t.next_id++;
    benchmark::DoNotOptimize(t.table.insert(key_of(id), {upstream, 1, 0}, id));
    const std::uint64_t wanted = id - rnd.next() % (live_entries - 1);
    found += t.table.find(key_of(wanted), upstream, id).has_value();
  }
  if (found != static_cast<std::uint64_t>(state.iterations())) state.SkipWithError("lookup missed");
  state.counters["live"] = static_cast<double>(t.table.size());
  state.counters["bytes_per_entry"] =
      static_cast<double>(t.table.memory_bytes()) / static_cast<double>(t.table.capacity());
}

void BM_InsertFind_unordered_map(benchmark::State& state) {
  map_state& m = the_map();
  random_index rnd;
  std::uint64_t found = 0;
  for (auto _ : state) {
    const std::uint64_t id = m.next_id++;
    m.map.emplace(map_key{key_of(id), upstream}, correlation_value{upstream, 1, 0});
    m.map.erase(map_key{key_of(id - live_entries), upstream});
    const std::uint64_t wanted = id - rnd.next() % (live_entries - 1);
    found += m.map.find(map_key{key_of(wanted), upstream}) != m.map.end();
  }
  if (found != static_cast<std::uint64_t>(state.iterations())) state.SkipWithError("lookup missed");
  state.counters["live"] = static_cast<double>(m.map.size());
}

void BM_FindHit_correlation_table(benchmark::State& state) {
  table_state& t = the_table();
  random_index rnd;
  std::uint64_t found = 0;
  const std::uint64_t newest = t.next_id - 1;
  for (auto _ : state) {
    const std::uint64_t wanted = newest - rnd.next() % (live_entries - 1);
    found += t.table.find(key_of(wanted), upstream, newest).has_value();
  }
  if (found != static_cast<std::uint64_t>(state.iterations())) state.SkipWithError("lookup missed");
}

void BM_FindHit_unordered_map(benchmark::State& state) {
  map_state& m = the_map();
  random_index rnd;
  std::uint64_t found = 0;
  const std::uint64_t newest = m.next_id - 1;
  for (auto _ : state) {
    const std::uint64_t wanted = newest - rnd.next() % (live_entries - 1);
    found += m.map.find(map_key{key_of(wanted), upstream}) != m.map.end();
  }
  if (found != static_cast<std::uint64_t>(state.iterations())) state.SkipWithError("lookup missed");
}

// What the router pays to turn a message_id into a key (normalisation, and SipHash for text).
void BM_MakeKey(benchmark::State& state, const char* id) {
  const auto secret = smpp::dataplane::correlation_secret::random();
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        smpp::dataplane::make_correlation_key(id, smpp::codec::id_radix::auto_detect, secret));
  }
}

// Bulk with a receipt per message, as one router worker with the default [correlation] sees it:
// the 10 M table holds only the messages in flight (noted at their answer, released at their
// final receipt's answer, a round trip later), and each released id goes to the finals table
// (1 M, kept 600 s), full and evicting its oldest. Per message: note, receipt lookup, release,
// finals insert. state.range(0): 1 = the releases prefetched and done together per batch (as the
// worker does), 0 = each release done as its answer comes. Ids spread over the index as real
// ones do (a multiplicative hash of a counter), so no lookup is helped by its neighbour's line.
struct receipt_cycle_state {
  static constexpr std::size_t finals_capacity = 1'000'000;
  static constexpr std::uint64_t keep_final_ms = 600'000;
  correlation_table table{live_entries, 72ull * 3600 * 1000, 0x5EED};
  correlation_table finals{finals_capacity, keep_final_ms, 0xF1A1};
  std::uint64_t next = 0;  // the next message's number

  static correlation_key key(std::uint64_t n) noexcept {
    return key_of((n + 1) * 0x9E3779B97F4A7C15ull >> 1);
  }
  static std::uint64_t now(std::uint64_t n) noexcept { return 1'000 + n / 2'000; }  // 2 M/s
  receipt_cycle_state() {
    // Finals of earlier messages, so that every insert evicts as in a long run.
    for (std::uint64_t n = 0; n < finals_capacity; ++n) {
      (void)finals.insert(key(~n), {upstream, 1, 0}, now(0));
    }
  }
};

void BM_ReceiptCycle(benchmark::State& state) {
  constexpr std::size_t batch = 256;
  constexpr std::uint64_t in_flight = 8192;  // messages between an answer and its receipt's answer
  static auto* st = new receipt_cycle_state;
  const bool batched = state.range(0) != 0;
  std::array<correlation_key, batch> keys{};
  std::uint64_t lookups = 0;
  std::uint64_t matched = 0;
  for (auto _ : state) {
    const std::uint64_t first = st->next;
    const std::uint64_t t = receipt_cycle_state::now(first);
    for (std::size_t i = 0; i < batch; ++i) {  // answers: noted
      keys[i] = receipt_cycle_state::key(first + i);
      st->table.prefetch(keys[i]);
    }
    for (const correlation_key& k : keys) (void)st->table.insert(k, {upstream, 1, 0}, t);
    if (first >= in_flight / 2) {  // receipts of earlier messages: looked up
      for (std::size_t i = 0; i < batch; ++i) {
        ++lookups;
        matched += st->table.find(receipt_cycle_state::key(first + i - in_flight / 2), upstream, t)
                       .has_value();
      }
    }
    if (first >= in_flight) {  // their answers: released, kept among the finals
      for (std::size_t i = 0; i < batch; ++i)
        keys[i] = receipt_cycle_state::key(first + i - in_flight);
      if (batched) {
        for (const correlation_key& k : keys) {
          st->table.prefetch(k);
          st->finals.prefetch(k);
        }
        st->finals.prefetch_evictions(batch);
      }
      for (const correlation_key& k : keys) {
        bool removed = false;
        if (const auto v = st->table.release(k, upstream, t, removed); v && removed) {
          (void)st->finals.insert(k, *v, t);
        }
      }
    }
    st->next += batch;
  }
  if (matched != lookups || st->table.size() > in_flight)
    state.SkipWithError("lookup or release missed");
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(batch));
}

BENCHMARK(BM_InsertFind_correlation_table);
BENCHMARK(BM_InsertFind_unordered_map);
BENCHMARK(BM_ReceiptCycle)->Arg(0)->Arg(1);
BENCHMARK(BM_FindHit_correlation_table);
BENCHMARK(BM_FindHit_unordered_map);
BENCHMARK_CAPTURE(BM_MakeKey, decimal_padded, "0059113978");
BENCHMARK_CAPTURE(BM_MakeKey, hex, "38601FA");
BENCHMARK_CAPTURE(BM_MakeKey, uuid_text, "3F2504E0-4F89-11D3-9A0C-0305E82C3301");

// Prints each pair's ratio after the table, from the medians when repetitions are given.
class ratio_reporter : public benchmark::ConsoleReporter {
 public:
  ratio_reporter() : ConsoleReporter(isatty(STDOUT_FILENO) != 0 ? OO_ColorTabular : OO_Tabular) {}

  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      const bool median = run.run_type == Run::RT_Aggregate && run.aggregate_name == "median";
      if (run.error_occurred || (run.run_type == Run::RT_Aggregate && !median)) continue;
      if (run.run_type == Run::RT_Iteration && run.repetitions > 1) continue;
      ns_[run.run_name.function_name] = run.GetAdjustedCPUTime();
    }
  }
  void Finalize() override {
    ConsoleReporter::Finalize();
    for (const char* op : {"InsertFind", "FindHit"}) {
      const auto ours = ns_.find(std::string("BM_") + op + "_correlation_table");
      const auto theirs = ns_.find(std::string("BM_") + op + "_unordered_map");
      if (ours == ns_.end() || theirs == ns_.end()) continue;
      std::printf(
          "%-10s at %llu live: correlation_table %.1f ns, std::unordered_map %.1f ns "
          "(%.2fx the table's time)\n",
          op, static_cast<unsigned long long>(live_entries), ours->second, theirs->second,
          theirs->second / ours->second);
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
