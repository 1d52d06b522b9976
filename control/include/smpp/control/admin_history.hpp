// The console's history (GET /api/history): per-second rates of each tenant over the last ten
// minutes, kept in the router so that a page opened now draws the minutes before it, and each
// tenant's p99 latency over the last ten seconds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include <string>

#include "smpp/control/admin.hpp"
#include "smpp/dataplane/snapshot.hpp"

namespace smpp::control {

// At most `capacity` points, one per add() (the admin server's sampler calls it once a second);
// a full ring drops its oldest point. A point holds four floats per tenant, so the memory is
// capacity x tenants x 16 octets (600 points of 100 tenants: under 1 MiB).
class history_ring {
 public:
  static constexpr size_t default_capacity = 600;  // ten minutes of one-second points
  static constexpr size_t latency_span = 10;       // p99 over the last 10 samples' deltas

  explicit history_ring(size_t capacity = default_capacity) : capacity_(capacity) {}

  // Counters of now: the rates since the previous add() become one point (none for the first).
  void add(uint64_t unix_ms, uint64_t steady_ms, const router_totals& totals);

  // Compact JSON text: {"capacity", "interval_s", "tenants": [names], "points": [{"t": unix_ms,
  // "accepted": [..], "rejected": [..], "receipts_delivered": [..], "receipts_refused": [..]}]
  // (oldest first, only those newer than since_unix_ms), "p99_ms": [per tenant, null without
  // answers]}. Per-tenant arrays are in snapshot order; a tenant added later has no entry in older
  // points.
  [[nodiscard]] std::string to_json(const dataplane::router_snapshot& snapshot,
                                    uint64_t since_unix_ms) const;

  [[nodiscard]] size_t size() const noexcept { return points_.size(); }
  [[nodiscard]] size_t capacity() const noexcept { return capacity_; }

 private:
  struct counts {
    uint64_t steady_ms = 0;
    std::vector<uint64_t> accepted, rejected, receipts_delivered, receipts_refused;
    std::vector<histogram_totals> latency;
  };
  struct point {
    uint64_t unix_ms = 0;
    std::vector<float> accepted, rejected, receipts_delivered, receipts_refused;  // per second
  };

  size_t capacity_;
  std::deque<point> points_;   // oldest first, at most capacity_
  std::deque<counts> recent_;  // the last latency_span + 1 samples' counters
};

// The smallest latency_histogram bucket bound (microseconds, inclusive) under which `share`
// (0..1) of the answers counted between `older` and `newer` fall; -1 when none were counted.
[[nodiscard]] int64_t latency_quantile_us(const histogram_totals& newer,
                                          const histogram_totals& older, double share);

}  // namespace smpp::control
