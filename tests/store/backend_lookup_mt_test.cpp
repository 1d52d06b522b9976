// Lookups and lists from other threads while the journal's thread appends, on every engine
// (backend.hpp: "safe to call from any thread while append runs"). Runs under TSan too.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "smpp/store/engines.hpp"
#include "store_test_support.hpp"

namespace smpp::store {
namespace {

using testing::add_note;
using testing::engine_name;
using testing::group;
using testing::key_of;
using testing::scratch_dir;
using testing::wall_ms;

class BackendLookup : public ::testing::TestWithParam<engine> {};

// Every note whose group append acknowledged is answered by a lookup on another thread, with
// its own key and tenant, however the appends and lookups interleave.
TEST_P(BackendLookup, AnAcknowledgedNoteIsAnsweredFromAnotherThreadWhileAppendsGoOn) {
  scratch_dir dir;
  store_config c;
  c.path = dir.path() / "shard";
  c.capacity_bytes = 256ull << 20;
  auto b = open_backend(GetParam(), c);
  testing::collecting_visitor none;
  b->recover(none);
  constexpr std::uint64_t groups = 400;
  constexpr std::uint64_t per_group = 64;
  std::atomic<std::uint64_t> acknowledged{0};  // notes 0..acknowledged-1 appended
  std::atomic<std::uint64_t> wrong{0};
  std::atomic<std::uint64_t> lookups{0};
  std::atomic<bool> done{false};
  const std::uint64_t now = wall_ms();
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&, r] {
      std::uint64_t x = 0x9E3779B97F4A7C15ull * static_cast<std::uint64_t>(r + 1);
      while (!done.load(std::memory_order_acquire)) {
        const std::uint64_t top = acknowledged.load(std::memory_order_acquire);
        if (top == 0) continue;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        const std::uint64_t n = x % top;
        const auto s = b->lookup(key_of(n));
        if (!s || !(s->key == key_of(n)) || s->tenant != n % 4) wrong.fetch_add(1);
        if (r == 1 && n % 64 == 0) {
          const auto listed = b->list(static_cast<std::uint16_t>(n % 4), now, 8);
          if (listed.empty()) wrong.fetch_add(1);
        }
        lookups.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  for (std::uint64_t gi = 0; gi < groups; ++gi) {
    group g;
    for (std::uint64_t n = gi * per_group; n < (gi + 1) * per_group; ++n) {
      add_note(g, n, now, static_cast<std::uint16_t>(n % 4));
    }
    b->append(g.bytes());
    acknowledged.store((gi + 1) * per_group, std::memory_order_release);
  }
  while (lookups.load() < 2000) std::this_thread::yield();
  done.store(true, std::memory_order_release);
  for (auto& t : readers) t.join();
  EXPECT_EQ(wrong.load(), 0u);
  EXPECT_GE(lookups.load(), 2000u);
}

INSTANTIATE_TEST_SUITE_P(Engines, BackendLookup,
                         ::testing::Values(engine::log, engine::rocksdb, engine::lmdb),
                         engine_name);

}  // namespace
}  // namespace smpp::store
