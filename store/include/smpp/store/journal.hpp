// A router worker's journal: the worker encodes its records into a ring (record_ring.hpp)
// without ever waiting on the disk, and the journal's own thread hands what the ring holds to
// the worker's store shard (backend.hpp) in groups, as many records per append() as have
// queued since the last one (group commit). durable() says how far the backend has taken the
// ring, so the worker can hold back an acknowledgement (a submit_sm_resp whose message id must
// survive, a held receipt answered ESME_ROK) until the record behind it is in the store.
//
// Failures: an append that throws store_error leaves its group in the ring; the journal says
// so (failing(), last_error()) and tries the same group again every retry_ms until it goes
// through, so nothing queued is skipped. Meanwhile the ring fills, the worker's reservations
// are refused, and the worker falls back to SMPP-level back-pressure. stop() writes what is
// queued; when the store still fails after stop_timeout_ms it gives up and counts the octets
// it could not write (lost_bytes).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>

#include "smpp/store/backend.hpp"
#include "smpp/store/record_ring.hpp"

namespace smpp::store {

struct journal_config {
  std::size_t ring_bytes = std::size_t{8} << 20;
  // How long the thread sleeps when the ring is empty: the longest a record waits before its
  // group starts (the "batch" policy's promise is a millisecond).
  std::uint32_t idle_sleep_us = 100;
  std::uint32_t retry_ms = 100;
  std::uint32_t stop_timeout_ms = 5000;
};

struct journal_stats {
  std::uint64_t groups = 0;         // successful appends
  std::uint64_t bytes = 0;          // octets appended
  std::uint64_t append_errors = 0;  // appends that threw (each retry counts)
  std::uint64_t lost_bytes = 0;     // given up at stop while the store failed
};

class journal {
 public:
  journal(std::unique_ptr<backend> store, const journal_config& config);
  ~journal();  // stop()
  journal(const journal&) = delete;
  journal& operator=(const journal&) = delete;

  // The worker's side (one thread).
  [[nodiscard]] std::span<std::byte> reserve(std::size_t n) noexcept { return ring_.reserve(n); }
  std::uint64_t commit(std::size_t used) noexcept { return ring_.commit(used); }
  // Encodes r into the ring; its mark, or 0 when the ring has no room (or r is over a bound).
  template <typename Record>
  [[nodiscard]] std::uint64_t append(const Record& r) noexcept {
    const auto out = ring_.reserve(encoded_size(r));
    if (out.empty()) return 0;
    const std::size_t used = encode(r, out);
    const std::uint64_t mark = ring_.commit(used);
    return used == 0 ? 0 : mark;
  }
  // Everything up to this mark is in the store.
  [[nodiscard]] std::uint64_t durable() const noexcept {
    return durable_.load(std::memory_order_acquire);
  }
  [[nodiscard]] std::uint64_t written() const noexcept { return ring_.written(); }
  [[nodiscard]] bool failing() const noexcept { return failing_.load(std::memory_order_relaxed); }

  // Control side.
  void start();
  void stop();
  [[nodiscard]] backend& store() noexcept { return *store_; }
  [[nodiscard]] journal_stats stats() const noexcept;
  [[nodiscard]] std::string last_error() const;

 private:
  void run();

  std::unique_ptr<backend> store_;
  journal_config config_;
  record_ring ring_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> failing_{false};
  alignas(128) std::atomic<std::uint64_t> durable_{0};
  std::atomic<std::uint64_t> groups_{0};
  std::atomic<std::uint64_t> bytes_{0};
  std::atomic<std::uint64_t> append_errors_{0};
  std::atomic<std::uint64_t> lost_bytes_{0};
  mutable std::mutex error_mutex_;
  std::string last_error_;
};

}  // namespace smpp::store
