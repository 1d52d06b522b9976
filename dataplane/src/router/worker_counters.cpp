#include "worker_counters.hpp"

#include <cstdio>
#include <iterator>
#include <tuple>

namespace smpp::dataplane::router {

worker_counters::worker_counters(size_t tenant_capacity, size_t upstream_capacity)
    : tenants_(std::make_unique<tenant_counters[]>(tenant_capacity)),
      upstreams_(std::make_unique<upstream_counters[]>(upstream_capacity)),
      tenant_capacity_(tenant_capacity),
      upstream_capacity_(upstream_capacity) {}

void worker_counters::count_answer(uint32_t tenant, uint32_t upstream, uint32_t status,
                                   uint64_t start_us, uint64_t now_us) noexcept {
  const uint64_t us = now_us > start_us ? now_us - start_us : 0;
  auto count = [&](auto& c) {
    if (status == 0) {
      ++c.accepted;
    } else {
      ++c.rejected;
      c.rejected_by_status.add(status);
    }
    c.latency.record(us);
  };
  if (tenant < tenant_count_.load(std::memory_order_relaxed)) count(tenants_[tenant]);
  if (upstream < upstream_count_.load(std::memory_order_relaxed)) count(upstreams_[upstream]);
}

void worker_counters::count_reject(uint32_t tenant, codec::command_status status) noexcept {
  if (tenant >= tenant_count_.load(std::memory_order_relaxed)) return;
  tenant_counters& t = tenants_[tenant];
  ++t.rejected;
  t.rejected_by_status.add(static_cast<uint32_t>(status));
}

void worker_counters::count_return(const return_to& ret, counter return_counters::*what) noexcept {
  if (ret.tenant < tenant_count_.load(std::memory_order_relaxed)) {
    auto& t = tenants_[ret.tenant];
    ++((ret.mo ? t.mo : t.receipts).*what);
  }
  if (ret.upstream < upstream_count_.load(std::memory_order_relaxed)) {
    auto& u = upstreams_[ret.upstream];
    ++((ret.mo ? u.mo : u.receipts).*what);
  }
}

void worker_counters::count_return_refused(const return_to& ret,
                                           codec::command_status status) noexcept {
  count_return(ret, &return_counters::refused);
  const auto st = static_cast<uint32_t>(status);
  if (ret.tenant < tenant_count_.load(std::memory_order_relaxed)) {
    auto& t = tenants_[ret.tenant];
    (ret.mo ? t.mo : t.receipts).refused_by_status.add(st);
  }
  if (ret.upstream < upstream_count_.load(std::memory_order_relaxed)) {
    auto& u = upstreams_[ret.upstream];
    (ret.mo ? u.mo : u.receipts).refused_by_status.add(st);
  }
}

void worker_counters::log_losses(uint32_t worker, uint64_t now_ms) {
  constexpr uint64_t interval_ms = 10'000;
  const uint64_t now[] = {
      stats.receipts_unmatched, stats.receipts_invalid, stats.correlation_evicted, stats.hold_full,
      stats.hold_expired,       stats.mo_unrouted,      stats.deliver_refused};
  static constexpr const char* what[] = {
      "receipts matched no message id (unknown, expired or evicted)",
      "receipts without a usable message id",
      "message ids evicted from the full correlation table before their TTL (too small for "
      "the rate times the time receipts take: see [correlation] capacity)",
      "receipts/MO refused: hold queue full",
      "held receipts/MO expired undelivered",
      "MO messages without an MO route",
      "receipts/MO answered to the SMSC with an error"};
  static_assert(std::size(what) == std::tuple_size_v<decltype(logged_losses_)>);
  if (now_ms < next_loss_log_ms_) return;
  bool changed = false;
  for (size_t i = 0; i < std::size(now); ++i) changed = changed || now[i] != logged_losses_[i];
  if (!changed) return;
  for (size_t i = 0; i < std::size(now); ++i) {
    if (now[i] == logged_losses_[i]) continue;
    std::fprintf(stderr, "smpp-router: worker %u: %llu %s (%llu in all)\n", worker,
                 static_cast<unsigned long long>(now[i] - logged_losses_[i]), what[i],
                 static_cast<unsigned long long>(now[i]));
    logged_losses_[i] = now[i];
  }
  next_loss_log_ms_ = now_ms + interval_ms;
}

}  // namespace smpp::dataplane::router
