// store_bench: the store's engines (log, RocksDB, LMDB: store/include/smpp/store/engines.hpp) on
// the router's workload, in one run, with the ratios to the log engine (STYLE.md habit 9).
//
// Per message, as the router's journal writes it: a note (addresses of 12 and 11 digits), later
// its receipt (delivered to the ESME) and its final; 1 message in 100 also a held receipt (a
// 150-octet deliver_sm) and later its held_done. "Later" is lag_messages after the note, so a
// receipt finds its note out of every cache, as it does minutes after the submit.
//
//   store_bench [--seconds S] [--reps R] [--dir D]
//       appends: every engine x policy (batch, fsync) x group size (256, 32 records), each
//       repetition S seconds, the repetitions interleaved (engine after engine, R rounds);
//       messages/s is the median of the R, and its ratio to the log engine's in the same run;
//       the baseline "map" applies the same records to std::unordered_map in memory (batch rows).
//       Then lookups: a second thread looks up random live keys while the journal's thread
//       appends (batch, 256): ns per lookup p50 and p99.
//   store_bench --fill N [--from M] --engine E --dir D   N live notes into a new store at D,
//       or (--from M) more of them, from message M on, into the store there
//   store_bench --recover --engine E --dir D    opens D and recovers: seconds, notes, RSS
// --random-keys: message ids in no order (hex or UUID ids) instead of ascending numbers.
// Each invocation is bounded (seconds, with the defaults 0.4 s x 5 x 12 cases, about 30 s).
#include <benchmark/benchmark.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "smpp/store/engines.hpp"

namespace {

using namespace smpp::store;
using clock_type = std::chrono::steady_clock;

constexpr std::uint64_t lag_messages = 100'000;  // receipts and finals this many messages later
constexpr std::size_t held_pdu_bytes = 150;

std::uint64_t wall_ms() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

bool g_random_keys = false;  // --random-keys

message_key key_of(std::uint64_t n) noexcept {
  if (g_random_keys) {  // ids in no order (hex or UUID ids, hashed): every insert lands anywhere
    std::uint64_t h = n * 0x9E3779B97F4A7C15ull;
    h ^= h >> 31;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 29;
    return {h, h ^ 0xC2B2AE3D27D4EB4Full};
  }
  // Message ids as many SMSCs hand them out: ascending numbers.
  return {n * 0x9E3779B97F4A7C15ull + 0x1234, n};
}

// The journal's side: builds groups of the workload's records, message after message.
class workload {
 public:
  explicit workload(std::size_t group_records, std::uint64_t first_message = 0)
      : group_records_(group_records), next_(first_message) {
    pdu_.resize(held_pdu_bytes);
    for (std::size_t i = 0; i < pdu_.size(); ++i) pdu_[i] = static_cast<std::byte>(i);
    buf_.resize(group_records * (max_record_bytes + 1));
  }
  // The next group; counts the messages whose note it holds.
  std::span<const std::byte> next_group(std::uint64_t& messages) {
    std::size_t used = 0;
    std::size_t records = 0;
    const std::uint64_t now = wall_ms();
    while (records + 5 <= group_records_) {
      const std::uint64_t m = next_++;
      char src[24];
      char dst[24];
      const int sn = std::snprintf(src, sizeof src, "4477%08llu", m % 100000000ull);
      const int dn = std::snprintf(dst, sizeof dst, "336%08llu", m % 100000000ull);
      note_record note{key_of(m),
                       now,
                       static_cast<std::uint16_t>(m % 8),
                       1,
                       static_cast<std::uint32_t>(m),
                       std::string_view(src, static_cast<std::size_t>(sn)),
                       std::string_view(dst, static_cast<std::size_t>(dn))};
      used += encode(note, span_at(used));
      ++records;
      ++messages;
      if (m >= lag_messages) {
        const std::uint64_t old = m - lag_messages;
        used += encode(receipt_record{key_of(old), now, 1, receipt_state::delivered, true},
                       span_at(used));
        used += encode(final_record{key_of(old), now, 1}, span_at(used));
        records += 2;
        if (old % 100 == 0) {
          used += encode(held_done_record{old}, span_at(used));
          ++records;
        }
      }
      if (m % 100 == 0) {
        used +=
            encode(held_record{m, now, static_cast<std::uint16_t>(m % 8), held_kind::receipt, pdu_},
                   span_at(used));
        ++records;
      }
    }
    return {buf_.data(), used};
  }
  // Notes only: the live set a recovery replays.
  std::span<const std::byte> notes_only(std::uint64_t count) {
    std::size_t used = 0;
    const std::uint64_t now = wall_ms();
    for (std::uint64_t i = 0; i < count; ++i) {
      const std::uint64_t m = next_++;
      char src[24];
      char dst[24];
      const int sn = std::snprintf(src, sizeof src, "4477%08llu", m % 100000000ull);
      const int dn = std::snprintf(dst, sizeof dst, "336%08llu", m % 100000000ull);
      used += encode(note_record{key_of(m), now, static_cast<std::uint16_t>(m % 8), 1,
                                 static_cast<std::uint32_t>(m),
                                 std::string_view(src, static_cast<std::size_t>(sn)),
                                 std::string_view(dst, static_cast<std::size_t>(dn))},
                     span_at(used));
    }
    return {buf_.data(), used};
  }
  [[nodiscard]] std::uint64_t messages() const noexcept { return next_; }

 private:
  std::span<std::byte> span_at(std::size_t at) { return std::span<std::byte>(buf_).subspan(at); }
  std::size_t group_records_;
  std::uint64_t next_;
  std::vector<std::byte> pdu_;
  std::vector<std::byte> buf_;
};

// The baseline (issue 15: "vs std::unordered_map in memory"): the same records applied to
// std::unordered_map, nothing written; what the router keeps without a store, as a backend.
class unordered_map_store final : public backend {
 public:
  void recover(recovery_visitor&) override {}
  void append(std::span<const std::byte> records) override {
    for (auto in = records; !in.empty();) {
      const auto v = decode(in);
      if (!v) throw store_error("unordered_map_store: a bad record");
      switch (v->kind) {
        case record_kind::note: {
          entry& e = notes_[v->note.key];
          e.submit_ms = v->note.submit_ms;
          e.tenant = v->note.tenant;
          e.upstream = v->note.upstream;
          e.source_size = static_cast<std::uint8_t>(v->note.source.size());
          e.destination_size = static_cast<std::uint8_t>(v->note.destination.size());
          std::memcpy(e.source.data(), v->note.source.data(), v->note.source.size());
          std::memcpy(e.destination.data(), v->note.destination.data(), v->note.destination.size());
          break;
        }
        case record_kind::receipt:
          if (auto it = notes_.find(v->receipt.key); it != notes_.end()) {
            it->second.state = v->receipt.state;
            it->second.delivered = it->second.delivered || v->receipt.delivered;
          }
          break;
        case record_kind::final_:
          notes_.erase(v->final_.key);
          break;
        case record_kind::held:
          held_[v->held.id].assign(v->held.pdu.begin(), v->held.pdu.end());
          break;
        case record_kind::held_done:
          held_.erase(v->held_done.id);
          break;
      }
      ++records_;
      in = in.subspan(v->size);
    }
    ++groups_;
  }
  std::optional<message_status> lookup(const message_key&) override { return std::nullopt; }
  std::vector<message_status> list(std::uint16_t, std::uint64_t, std::size_t) override {
    return {};
  }
  backend_stats stats() const override {
    backend_stats s;
    s.records_appended = records_;
    s.groups_appended = groups_;
    return s;
  }

 private:
  struct entry {
    std::uint64_t submit_ms = 0;
    std::uint16_t tenant = 0;
    std::uint16_t upstream = 0;
    receipt_state state = receipt_state::none;
    bool delivered = false;
    std::uint8_t source_size = 0;
    std::uint8_t destination_size = 0;
    std::array<char, max_address_bytes> source{};
    std::array<char, max_address_bytes> destination{};
  };
  std::unordered_map<message_key, entry, message_key_hash> notes_;
  std::unordered_map<std::uint64_t, std::vector<std::byte>> held_;
  std::uint64_t records_ = 0;
  std::uint64_t groups_ = 0;
};

struct bench_case {
  std::string name;      // the engine's, or "map" for the baseline
  std::size_t log_case;  // index of the log engine's case of the same policy and group size
  sync_policy sync;
  std::size_t group_records;
  std::filesystem::path dir;
  std::unique_ptr<backend> store;
  std::unique_ptr<workload> load;
  std::vector<double> rates;  // messages/s per repetition
};

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 == 1 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

class null_visitor final : public recovery_visitor {
 public:
  void on_note(const note_record& n) override {
    ++notes;
    benchmark::DoNotOptimize(n.key);
  }
  void on_held(const held_record&) override { ++held; }
  std::uint64_t notes = 0;
  std::uint64_t held = 0;
};

std::uint64_t bytes_under(const std::filesystem::path& dir) {
  std::uint64_t total = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) total += e.file_size();
  }
  return total;
}

// VmRSS's parts: anonymous (the process's own memory) and file-backed (mapped files: page cache).
long rss_kib(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::size_t n = std::strlen(field);
  while (std::getline(in, line)) {
    if (line.compare(0, n, field) == 0) return std::atol(line.c_str() + n);
  }
  return 0;
}

std::unique_ptr<backend> open_and_recover(engine e, sync_policy sync,
                                          const std::filesystem::path& dir) {
  store_config c;
  c.path = dir;
  c.sync = sync;
  c.capacity_bytes = 64ull << 30;  // no eviction inside a bench
  auto b = open_backend(e, c);
  null_visitor v;
  b->recover(v);
  return b;
}

int run_appends(double seconds, int reps, const std::filesystem::path& base) {
  std::vector<bench_case> cases;
  for (const sync_policy sync : {sync_policy::batch, sync_policy::fsync}) {
    for (const std::size_t group : {std::size_t{256}, std::size_t{32}}) {
      const std::size_t log_case = cases.size();
      for (const engine e : {engine::log, engine::rocksdb, engine::lmdb}) {
        bench_case c{std::string(to_string(e)), log_case, sync, group, {}, nullptr, nullptr, {}};
        c.dir = base / (c.name + "-" + std::string(to_string(sync)) + "-" + std::to_string(group));
        std::filesystem::remove_all(c.dir);
        c.store = open_and_recover(e, sync, c.dir);
        c.load = std::make_unique<workload>(group);
        cases.push_back(std::move(c));
      }
      if (sync == sync_policy::batch) {  // the baseline writes nothing: one row per group size
        bench_case c{"map", log_case, sync, group, {}, nullptr, nullptr, {}};
        c.dir = base / ("map-" + std::to_string(group));
        std::filesystem::create_directories(c.dir);
        c.store = std::make_unique<unordered_map_store>();
        c.load = std::make_unique<workload>(group);
        cases.push_back(std::move(c));
      }
    }
  }
  // fsync runs a tenth of the time: each group waits for the disk.
  for (int rep = 0; rep < reps; ++rep) {
    for (auto& c : cases) {
      const double budget = c.sync == sync_policy::fsync ? seconds / 4 : seconds;
      std::uint64_t messages = 0;
      const auto start = clock_type::now();
      const auto end = start + std::chrono::duration<double>(budget);
      auto now = start;
      while (now < end) {
        c.store->append(c.load->next_group(messages));
        now = clock_type::now();
      }
      c.rates.push_back(static_cast<double>(messages) /
                        std::chrono::duration<double>(now - start).count());
    }
  }
  std::printf("appends: %d interleaved repetitions of %.2f s (fsync %.2f s), median messages/s\n",
              reps, seconds, seconds / 4);
  std::printf("%-8s %-6s %6s %14s %10s %14s %12s\n", "engine", "sync", "group", "messages/s",
              "vs log", "records/grp", "disk bytes");
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto& c = cases[i];
    const auto& log_case = cases[c.log_case];
    const double m = median(c.rates);
    const auto st = c.store->stats();
    std::printf("%-8s %-6s %6zu %14.0f %9.2fx %14.1f %12llu\n", c.name.c_str(),
                std::string(to_string(c.sync)).c_str(), c.group_records, m,
                m / median(log_case.rates),
                static_cast<double>(st.records_appended) / static_cast<double>(st.groups_appended),
                static_cast<unsigned long long>(bytes_under(c.dir)));
  }
  for (auto& c : cases) {
    c.store.reset();
    std::filesystem::remove_all(c.dir);
  }
  return 0;
}

// A second thread looks up random live notes (within the last lag_messages, not yet finished)
// while this one appends at full speed.
int run_lookups(double seconds, const std::filesystem::path& base) {
  std::printf("lookups from a second thread while appending (batch, 256), %.1f s per engine\n",
              seconds);
  std::printf("%-8s %10s %10s %12s %14s\n", "engine", "p50 ns", "p99 ns", "found", "appends msg/s");
  for (const engine e : {engine::log, engine::rocksdb, engine::lmdb}) {
    const auto dir = base / (std::string(to_string(e)) + "-lookup");
    std::filesystem::remove_all(dir);
    auto store = open_and_recover(e, sync_policy::batch, dir);
    workload load(256);
    std::uint64_t messages = 0;
    while (load.messages() < 2 * lag_messages) store->append(load.next_group(messages));
    std::atomic<std::uint64_t> written{load.messages()};
    std::atomic<bool> stop{false};
    std::vector<std::uint32_t> ns;
    std::uint64_t found = 0;
    std::thread reader([&] {
      std::mt19937_64 rng(7);
      while (!stop.load(std::memory_order_relaxed)) {
        const std::uint64_t top = written.load(std::memory_order_relaxed);
        const std::uint64_t m = top - 1 - rng() % (lag_messages / 2);
        const auto t0 = clock_type::now();
        const auto s = store->lookup(key_of(m));
        const auto t1 = clock_type::now();
        found += s ? 1 : 0;
        ns.push_back(static_cast<std::uint32_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count()));
      }
    });
    const auto start = clock_type::now();
    const std::uint64_t before = messages;
    while (clock_type::now() - start < std::chrono::duration<double>(seconds)) {
      store->append(load.next_group(messages));
      written.store(load.messages(), std::memory_order_relaxed);
    }
    const double rate = static_cast<double>(messages - before) /
                        std::chrono::duration<double>(clock_type::now() - start).count();
    stop.store(true);
    reader.join();
    std::sort(ns.begin(), ns.end());
    const auto pct = [&](double p) {
      return ns.empty() ? 0u : ns[static_cast<std::size_t>(p * static_cast<double>(ns.size() - 1))];
    };
    std::printf("%-8s %10u %10u %5llu/%-6zu %14.0f\n", std::string(to_string(e)).c_str(), pct(0.5),
                pct(0.99), static_cast<unsigned long long>(found), ns.size(), rate);
    store.reset();
    std::filesystem::remove_all(dir);
  }
  return 0;
}

// From message `from` on; from 0, into a new store (a large fill in runs of under a minute).
int run_fill(engine e, std::uint64_t notes, std::uint64_t from, const std::filesystem::path& dir) {
  if (from == 0) std::filesystem::remove_all(dir);
  auto store = open_and_recover(e, sync_policy::batch, dir);
  workload load(256, from);
  const auto start = clock_type::now();
  for (std::uint64_t done = 0; done < notes;) {
    const std::uint64_t n = std::min<std::uint64_t>(256, notes - done);
    store->append(load.notes_only(n));
    done += n;
  }
  const double s = std::chrono::duration<double>(clock_type::now() - start).count();
  store.reset();
  std::printf("fill %s: %llu notes in %.2f s (%.0f notes/s), %llu bytes on disk\n",
              std::string(to_string(e)).c_str(), static_cast<unsigned long long>(notes), s,
              static_cast<double>(notes) / s, static_cast<unsigned long long>(bytes_under(dir)));
  return 0;
}

int run_recover(engine e, const std::filesystem::path& dir) {
  store_config c;
  c.path = dir;
  c.capacity_bytes = 64ull << 30;
  const long anon_before = rss_kib("RssAnon:");
  const long file_before = rss_kib("RssFile:");
  const auto start = clock_type::now();
  auto store = open_backend(e, c);
  null_visitor v;
  store->recover(v);
  const double s = std::chrono::duration<double>(clock_type::now() - start).count();
  std::printf(
      "recover %s: %llu notes in %.2f s (%.0f notes/s), RSS +%ld MiB anonymous +%ld MiB of "
      "mapped files, %llu bytes on disk\n",
      std::string(to_string(e)).c_str(), static_cast<unsigned long long>(v.notes), s,
      static_cast<double>(v.notes) / s, (rss_kib("RssAnon:") - anon_before) / 1024,
      (rss_kib("RssFile:") - file_before) / 1024,
      static_cast<unsigned long long>(bytes_under(dir)));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 0.4;
  int reps = 5;
  std::filesystem::path dir = std::filesystem::temp_directory_path() / "smpp-store-bench";
  std::uint64_t fill = 0;
  std::uint64_t from = 0;
  bool recover = false;
  std::optional<engine> e;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : "";
    if (a == "--seconds") {
      seconds = std::atof(v), ++i;
    } else if (a == "--reps") {
      reps = std::atoi(v), ++i;
    } else if (a == "--dir") {
      dir = v, ++i;
    } else if (a == "--fill") {
      fill = std::strtoull(v, nullptr, 10), ++i;
    } else if (a == "--from") {
      from = std::strtoull(v, nullptr, 10), ++i;
    } else if (a == "--random-keys") {
      g_random_keys = true;
    } else if (a == "--recover") {
      recover = true;
    } else if (a == "--engine") {
      e = parse_engine(v), ++i;
    } else {
      std::fprintf(
          stderr,
          "usage: store_bench [--random-keys] [--seconds S] [--reps R] [--dir D] | --fill N "
          "--engine E --dir D | --recover --engine E --dir D\n");
      return 2;
    }
  }
  try {
    if (fill != 0 || recover) {
      if (!e) {
        std::fprintf(stderr, "store_bench: --engine log|rocksdb|lmdb\n");
        return 2;
      }
      return fill != 0 ? run_fill(*e, fill, from, dir) : run_recover(*e, dir);
    }
    std::filesystem::create_directories(dir);
    run_appends(seconds, reps, dir);
    run_lookups(seconds * 2, dir);
    std::filesystem::remove_all(dir);
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "store_bench: %s\n", ex.what());
    return 1;
  }
  return 0;
}
