// The journal: records reach the backend in order, in groups, once; durable() covers exactly
// what the backend took; a failing backend keeps its group and gets it again; stop() drains.
// Two threads (the worker's and the journal's): also run under TSan.
#include "smpp/store/journal.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

namespace smpp::store {
namespace {

// A backend that keeps the octets it was given, and fails while told to.
class memory_backend final : public backend {
 public:
  std::atomic<bool> fail{false};
  std::atomic<int> appends{0};

  void recover(recovery_visitor&) override {}
  void append(std::span<const std::byte> records) override {
    if (fail.load()) throw store_error("disk full (test)");
    std::lock_guard lock(mutex_);
    octets_.insert(octets_.end(), records.begin(), records.end());
    appends.fetch_add(1);
  }
  std::optional<message_status> lookup(const message_key&) override { return std::nullopt; }
  std::vector<message_status> list(std::uint16_t, std::uint64_t, std::size_t) override {
    return {};
  }
  backend_stats stats() const override { return {}; }

  std::vector<std::byte> octets() {
    std::lock_guard lock(mutex_);
    return octets_;
  }

 private:
  std::mutex mutex_;
  std::vector<std::byte> octets_;
};

// Record i: 8 octets of i then (i % 53) octets of (i & 0xff).
std::size_t record_size(std::uint64_t i) {
  return 8 + i % 53;
}

std::uint64_t put_record(journal& j, std::uint64_t i) {
  auto out = j.reserve(record_size(i));
  if (out.empty()) return 0;
  std::memcpy(out.data(), &i, 8);
  std::memset(out.data() + 8, static_cast<int>(i & 0xff), record_size(i) - 8);
  return j.commit(record_size(i));
}

// Checks the backend's octets are records 0..n-1, in order, each once.
void expect_records(const std::vector<std::byte>& octets, std::uint64_t n) {
  std::size_t at = 0;
  for (std::uint64_t i = 0; i < n; ++i) {
    ASSERT_LE(at + record_size(i), octets.size()) << "record " << i << " missing";
    std::uint64_t got = 0;
    std::memcpy(&got, octets.data() + at, 8);
    ASSERT_EQ(got, i);
    for (std::size_t k = 8; k < record_size(i); ++k) {
      ASSERT_EQ(static_cast<unsigned>(octets[at + k]), i & 0xff);
    }
    at += record_size(i);
  }
  EXPECT_EQ(at, octets.size()) << "octets beyond the last record";
}

template <typename Pred>
bool wait_for(Pred pred, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return true;
}

TEST(Journal, RecordsReachTheBackendInOrderOnceAndDurableCoversEachMark) {
  auto owned = std::make_unique<memory_backend>();
  auto* store = owned.get();
  journal j(std::move(owned), journal_config{.ring_bytes = 65536});
  j.start();
  constexpr std::uint64_t n = 200'000;  // several laps of the ring
  std::uint64_t last_mark = 0;
  std::uint64_t refused = 0;
  for (std::uint64_t i = 0; i < n;) {
    const std::uint64_t mark = put_record(j, i);
    if (mark == 0) {  // full: the worker would apply back-pressure; here it waits
      ++refused;
      std::this_thread::yield();
      continue;
    }
    ASSERT_GT(mark, last_mark);
    last_mark = mark;
    ++i;
  }
  ASSERT_TRUE(wait_for([&] { return j.durable() >= last_mark; }));
  EXPECT_EQ(j.durable(), last_mark);
  j.stop();
  expect_records(store->octets(), n);
  const auto stats = j.stats();
  EXPECT_EQ(stats.groups, static_cast<std::uint64_t>(store->appends.load()));
  EXPECT_EQ(stats.bytes, store->octets().size());
  EXPECT_LT(stats.groups, n) << "every record was a group of its own: no group commit";
  EXPECT_EQ(stats.append_errors, 0u);
}

TEST(Journal, AFailingBackendKeepsItsGroupUntilItTakesItAndDurableWaits) {
  auto owned = std::make_unique<memory_backend>();
  auto* store = owned.get();
  store->fail = true;
  journal j(std::move(owned), journal_config{.ring_bytes = 65536, .retry_ms = 5});
  j.start();
  std::uint64_t mark = 0;
  for (std::uint64_t i = 0; i < 100; ++i) mark = put_record(j, i);
  ASSERT_NE(mark, 0u);
  ASSERT_TRUE(wait_for([&] { return j.stats().append_errors >= 3; }));
  EXPECT_TRUE(j.failing());
  EXPECT_EQ(j.durable(), 0u);
  EXPECT_NE(j.last_error().find("disk full"), std::string::npos);
  store->fail = false;
  ASSERT_TRUE(wait_for([&] { return j.durable() == mark; }));
  EXPECT_FALSE(j.failing());
  j.stop();
  expect_records(store->octets(), 100);
}

TEST(Journal, WhileTheBackendFailsTheRingFillsAndRefusesInsteadOfDropping) {
  auto owned = std::make_unique<memory_backend>();
  auto* store = owned.get();
  store->fail = true;
  journal j(std::move(owned), journal_config{.ring_bytes = 65536, .retry_ms = 5});
  j.start();
  std::uint64_t accepted = 0;
  while (put_record(j, accepted) != 0) ++accepted;
  EXPECT_GT(accepted, 1000u);
  EXPECT_LT(accepted, 65536u / 8);
  store->fail = false;
  ASSERT_TRUE(wait_for([&] { return j.durable() == j.written(); }));
  EXPECT_NE(put_record(j, accepted), 0u);
  ++accepted;
  j.stop();
  expect_records(store->octets(), accepted);
}

TEST(Journal, StopWritesEverythingQueued) {
  auto owned = std::make_unique<memory_backend>();
  auto* store = owned.get();
  journal j(std::move(owned), journal_config{.ring_bytes = 1 << 20, .idle_sleep_us = 50'000});
  j.start();
  for (std::uint64_t i = 0; i < 10'000; ++i) ASSERT_NE(put_record(j, i), 0u);
  j.stop();
  expect_records(store->octets(), 10'000);
  EXPECT_EQ(j.durable(), j.written());
}

TEST(Journal, StopGivesUpOnABackendThatKeepsFailingAndCountsWhatItLost) {
  auto owned = std::make_unique<memory_backend>();
  auto* store = owned.get();
  store->fail = true;
  journal j(std::move(owned),
            journal_config{.ring_bytes = 65536, .retry_ms = 5, .stop_timeout_ms = 50});
  j.start();
  std::uint64_t bytes = 0;
  for (std::uint64_t i = 0; i < 100; ++i) {
    ASSERT_NE(put_record(j, i), 0u);
    bytes += record_size(i);
  }
  const auto started = std::chrono::steady_clock::now();
  j.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
  EXPECT_EQ(j.stats().lost_bytes, bytes);
  EXPECT_TRUE(store->octets().empty());
}

}  // namespace
}  // namespace smpp::store
