#include "smpp/store/journal.hpp"

#include <chrono>

namespace smpp::store {

journal::journal(std::unique_ptr<backend> store, const journal_config& config)
    : store_(std::move(store)), config_(config), ring_(config.ring_bytes) {
  if (!store_) throw std::invalid_argument("journal: no backend");
}

journal::~journal() {
  stop();
}

void journal::start() {
  if (thread_.joinable()) return;
  stopping_.store(false, std::memory_order_relaxed);
  thread_ = std::thread([this] { run(); });
}

void journal::stop() {
  if (!thread_.joinable()) return;
  stopping_.store(true, std::memory_order_release);
  thread_.join();
}

void journal::run() {
  using clock = std::chrono::steady_clock;
  std::chrono::time_point<clock> stop_seen{};
  for (;;) {
    const bool stopping = stopping_.load(std::memory_order_acquire);
    if (stopping && stop_seen == clock::time_point{}) stop_seen = clock::now();
    const auto group = ring_.peek();
    if (group.empty()) {
      if (stopping) return;
      std::this_thread::sleep_for(std::chrono::microseconds(config_.idle_sleep_us));
      continue;
    }
    try {
      store_->append(group);
    } catch (const store_error& e) {
      append_errors_.fetch_add(1, std::memory_order_relaxed);
      {
        std::lock_guard lock(error_mutex_);
        last_error_ = e.what();
      }
      failing_.store(true, std::memory_order_relaxed);
      if (stopping &&
          clock::now() - stop_seen >= std::chrono::milliseconds(config_.stop_timeout_ms)) {
        // Given up: count everything still queued, then leave.
        for (auto rest = group; !rest.empty(); rest = ring_.peek()) {
          lost_bytes_.fetch_add(rest.size(), std::memory_order_relaxed);
          ring_.release(rest.size());
        }
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(config_.retry_ms));
      continue;
    }
    failing_.store(false, std::memory_order_relaxed);
    groups_.fetch_add(1, std::memory_order_relaxed);
    bytes_.fetch_add(group.size(), std::memory_order_relaxed);
    const std::uint64_t read = ring_.release(group.size());
    // release: a worker that sees the mark may acknowledge what it covers.
    durable_.store(read, std::memory_order_release);
  }
}

journal_stats journal::stats() const noexcept {
  return {groups_.load(std::memory_order_relaxed), bytes_.load(std::memory_order_relaxed),
          append_errors_.load(std::memory_order_relaxed),
          lost_bytes_.load(std::memory_order_relaxed)};
}

std::string journal::last_error() const {
  std::lock_guard lock(error_mutex_);
  return last_error_;
}

}  // namespace smpp::store
