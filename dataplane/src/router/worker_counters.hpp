// The worker's counters: its own (worker_stats), one set per tenant and one per upstream of the
// snapshot, with room for the tenants and upstreams a published snapshot may add. Written by
// the worker only; the arrays never move, so readers on other threads may hold spans of them.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "return_to.hpp"
#include "smpp/codec/status.hpp"
#include "smpp/dataplane/counters.hpp"
#include "smpp/dataplane/worker_stats.hpp"

namespace smpp::dataplane::router {

class worker_counters {
 public:
  worker_counters(size_t tenant_capacity, size_t upstream_capacity);

  worker_stats stats;
  [[nodiscard]] tenant_counters& tenant(uint32_t t) noexcept { return tenants_[t]; }
  [[nodiscard]] upstream_counters& upstream(uint32_t u) noexcept { return upstreams_[u]; }
  [[nodiscard]] std::span<const tenant_counters> tenants() const noexcept {
    return {tenants_.get(), tenant_count_.load(std::memory_order_acquire)};
  }
  [[nodiscard]] std::span<const upstream_counters> upstreams() const noexcept {
    return {upstreams_.get(), upstream_count_.load(std::memory_order_acquire)};
  }
  [[nodiscard]] size_t tenant_capacity() const noexcept { return tenant_capacity_; }
  [[nodiscard]] size_t upstream_capacity() const noexcept { return upstream_capacity_; }
  // How many of each the current snapshot has (readers see that many).
  void set_counts(size_t tenants, size_t upstreams) noexcept {
    tenant_count_.store(tenants, std::memory_order_release);
    upstream_count_.store(upstreams, std::memory_order_release);
  }

  // A request's answer, for the tenant's and the upstream's counters (either may be out of
  // range: not counted there), with its latency from start_us.
  void count_answer(uint32_t tenant, uint32_t upstream, uint32_t status, uint64_t start_us,
                    uint64_t now_us) noexcept;
  // A request the router answered itself with an error.
  void count_reject(uint32_t tenant, codec::command_status status) noexcept;

  // A receipt or MO message (ret says which, its upstream and its tenant) reached `what`
  // (return_counters::delivered, ...): counted for its tenant and its upstream.
  void count_return(const return_to& ret, counter return_counters::*what) noexcept;
  // ... was answered to the SMSC with an error.
  void count_return_refused(const return_to& ret, codec::command_status status) noexcept;

  // Counted losses are also logged: at most one line per worker every 10 s, with what changed.
  void log_losses(uint32_t worker, uint64_t now_ms);

 private:
  std::unique_ptr<tenant_counters[]> tenants_;
  std::unique_ptr<upstream_counters[]> upstreams_;
  size_t tenant_capacity_;
  size_t upstream_capacity_;
  std::atomic<size_t> tenant_count_{0};
  std::atomic<size_t> upstream_count_{0};
  std::array<uint64_t, 7> logged_losses_{};  // the loss counters as last logged
  uint64_t next_loss_log_ms_ = 0;
};

}  // namespace smpp::dataplane::router
