// Counters a worker writes and any thread reads (the admin API, /metrics): one writer each, so
// an increment is a relaxed load and store (no locked instruction on the hot path), and a reader
// sees every counter as some value it really had. Readers sum the workers' counters.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>

namespace smpp::dataplane {

class counter {
 public:
  counter() = default;
  counter(const counter& o) noexcept : v_(o.load()) {}
  counter& operator=(const counter& o) noexcept {
    v_.store(o.load(), std::memory_order_relaxed);
    return *this;
  }
  counter& operator++() noexcept { return *this += 1; }
  counter& operator+=(uint64_t n) noexcept {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    return *this;
  }
  counter& operator--() noexcept {  // gauges only
    v_.store(v_.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
    return *this;
  }
  void set(uint64_t n) noexcept { v_.store(n, std::memory_order_relaxed); }
  [[nodiscard]] uint64_t load() const noexcept { return v_.load(std::memory_order_relaxed); }
  operator uint64_t() const noexcept { return load(); }  // NOLINT: reads like a number

 private:
  std::atomic<uint64_t> v_{0};
};

// Latencies in microseconds, in power-of-two buckets: bucket i counts values v with
// 2^(i-1) <= v < 2^i (bucket 0: v == 0); the last bucket takes everything larger.
struct latency_histogram {
  static constexpr size_t buckets = 27;  // up to 2^26 us = 67 s
  std::array<counter, buckets> counts{};
  counter sum_us;

  void record(uint64_t us) noexcept {
    const size_t b = std::min<size_t>(static_cast<size_t>(std::bit_width(us)), buckets - 1);
    ++counts[b];
    sum_us += us;
  }
  // The largest value bucket i holds (inclusive); the last bucket has none.
  [[nodiscard]] static constexpr uint64_t upper_us(size_t i) noexcept {
    return i == 0 ? 0 : (uint64_t{1} << i) - 1;
  }
};

// Answers by command_status: the first `slots` distinct statuses seen get their own counter,
// later ones count in `other` (bounded; the writer is the owning worker only).
struct status_counts {
  static constexpr size_t slots = 15;
  std::array<std::atomic<uint32_t>, slots> status{};  // 0: unused slot
  std::array<counter, slots> count{};
  counter other;

  void add(uint32_t st) noexcept {
    for (size_t i = 0; i < slots; ++i) {
      const uint32_t s = status[i].load(std::memory_order_relaxed);
      if (s == st) {
        ++count[i];
        return;
      }
      if (s == 0) {
        ++count[i];
        status[i].store(st, std::memory_order_release);  // the count is there before the key
        return;
      }
    }
    ++other;
  }
};

// What became of the receipts (or the MO messages) an SMSC delivered, for one tenant or one
// upstream, per worker. Each message ends in exactly one of delivered, refused, failed, expired
// (or, for an upstream, unmatched or invalid), or is still held or on its way to a receiver.
struct return_counters {
  counter received;   // from the SMSC (a tenant's: matched to it, or routed to it as MO)
  counter delivered;  // acknowledged ESME_ROK by one of the tenant's receivers
  counter refused;    // answered to the SMSC with an error (the SMSC keeps it and retries)
  status_counts refused_by_status;
  counter failed;   // acknowledged to the SMSC, then refused for good by the tenant's receiver
  counter expired;  // acknowledged to the SMSC, held, and dropped undelivered after hold_ttl
  counter held;     // gauge: acknowledged to the SMSC, waiting in the hold queue
};

// Per tenant, per worker.
struct tenant_counters {
  counter submitted;  // submit_sm, data_sm, submit_multi from the tenant's ESMEs
  counter accepted;   // answered ESME_ROK
  counter rejected;   // answered with an error, by the router or the SMSC
  status_counts rejected_by_status;
  return_counters receipts;
  return_counters mo;
  counter ids_evicted;        // its message ids evicted from a full correlation table
  counter queued;             // gauge: requests waiting for a slot at this worker's gated binds
  latency_histogram latency;  // submit_sm in -> answer out, for answers from upstream
};

// Per upstream, per worker.
struct upstream_counters {
  counter forwarded;  // requests written to its binds
  counter accepted;   // answered ESME_ROK
  counter rejected;   // answered with an error, timed out or lost with a bind
  status_counts rejected_by_status;
  return_counters receipts;
  return_counters mo;
  counter receipts_unmatched;  // no correlation entry: acknowledged, not relayed
  counter receipts_invalid;    // no usable message id: acknowledged, not relayed
  counter ids_evicted;         // its message ids evicted from a full correlation table
  counter binds_up;            // gauge: this worker's binds of it that are bound
  counter retried;             // refused with a status of retry_on, sent to the next upstream
  status_counts retried_by_status;
  latency_histogram latency;  // request out -> answer in
  // What routes of mode quality weigh (upstream_quality.hpp): gauges, the sums of this worker's
  // window over [router] quality_window_s, set at each receipt and answer and at each tick.
  counter window_finals;      // final receipts in the window
  counter window_delivered;   // ... of which delivered (DELIVRD)
  counter window_answers;     // answers to message requests in the window
  counter window_latency_us;  // ... their latencies, summed
};

}  // namespace smpp::dataplane
