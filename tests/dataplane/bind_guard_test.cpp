// Bind failure throttling: growing delay, cap, lock-out, forgetting, bounded tables.
#include "smpp/dataplane/bind_guard.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <cstring>

namespace smpp::dataplane {
namespace {

peer_address ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  peer_address p;
  p.family = AF_INET;
  p.addr[0] = std::byte{a};
  p.addr[1] = std::byte{b};
  p.addr[2] = std::byte{c};
  p.addr[3] = std::byte{d};
  return p;
}

bind_guard_config config() {
  bind_guard_config c;
  c.delay_ms = 100;
  c.max_delay_ms = 1000;
  c.lockout_failures = 6;
  c.lockout_ms = 60'000;
  c.forget_ms = 120'000;
  return c;
}

TEST(BindGuard, DelayDoublesWithEachFailureUpToTheCap) {
  bind_guard g(config());
  const auto a = ip4(10, 0, 0, 1);
  uint64_t now = 1000;
  EXPECT_EQ(g.check(a, "acme", now).delay_ms, 0U);
  const uint32_t want[] = {100, 200, 400, 800, 1000};
  for (uint32_t w : want) {
    g.failed(a, "acme", now);
    const auto v = g.check(a, "acme", ++now);
    EXPECT_EQ(v.delay_ms, w);
    EXPECT_FALSE(v.locked);
  }
}

TEST(BindGuard, AddressAndSystemIdAreJudgedSeparatelyAndTheLargerDelayWins) {
  bind_guard g(config());
  const auto a = ip4(10, 0, 0, 1);
  const auto b = ip4(10, 0, 0, 2);
  g.failed(a, "acme", 0);
  g.failed(a, "other", 0);  // a: 2 failures, acme: 1, other: 1
  EXPECT_EQ(g.check(a, "fresh", 1).delay_ms, 200U);
  EXPECT_EQ(g.check(b, "acme", 1).delay_ms, 100U);
  EXPECT_EQ(g.check(b, "fresh", 1).delay_ms, 0U);
}

TEST(BindGuard, LockOutAfterTheConfiguredFailuresThenItExpires) {
  bind_guard g(config());
  const auto a = ip4(192, 0, 2, 7);
  for (int i = 0; i < 5; ++i) g.failed(a, "acme", 10);
  EXPECT_FALSE(g.check(a, "acme", 11).locked);
  g.failed(a, "acme", 12);
  EXPECT_TRUE(g.check(a, "acme", 13).locked);
  EXPECT_TRUE(g.check(ip4(192, 0, 2, 8), "acme", 13).locked) << "the system_id is locked too";
  EXPECT_TRUE(g.check(a, "someone-else", 13).locked) << "and the address";
  EXPECT_FALSE(g.check(ip4(192, 0, 2, 8), "someone-else", 13).locked);
  EXPECT_EQ(g.stats().lockouts, 2U);  // the address and the system_id
  EXPECT_FALSE(g.check(a, "acme", 12 + 60'000).locked);
}

TEST(BindGuard, SuccessClearsAndOldFailuresAreForgotten) {
  bind_guard g(config());
  const auto a = ip4(10, 1, 1, 1);
  g.failed(a, "acme", 0);
  g.failed(a, "acme", 0);
  g.succeeded(a, "acme");
  EXPECT_EQ(g.check(a, "acme", 1).delay_ms, 0U);
  g.failed(a, "acme", 1000);
  EXPECT_EQ(g.check(a, "acme", 1000 + 119'999).delay_ms, 100U);
  EXPECT_EQ(g.check(a, "acme", 1000 + 120'000).delay_ms, 0U);
  EXPECT_EQ(g.entries(), 0U) << "a forgotten record is removed";
}

TEST(BindGuard, TablesAreBoundedUnderAFloodOfAddresses) {
  bind_guard_config c = config();
  c.max_entries = 16;
  bind_guard g(c);
  for (uint32_t i = 0; i < 10'000; ++i) {
    g.failed(ip4(10, static_cast<uint8_t>(i >> 16), static_cast<uint8_t>(i >> 8),
                 static_cast<uint8_t>(i)),
             "sys" + std::to_string(i), i);
  }
  EXPECT_LE(g.entries(), 32U);
  EXPECT_GE(g.stats().evictions, 2 * (10'000U - 16));
  EXPECT_EQ(g.stats().failures, 10'000U);
  // The newest failure is still remembered.
  EXPECT_EQ(g.check(ip4(10, 0, 0x27, 0x0F), "x", 10'000).delay_ms, 100U);
}

TEST(BindGuard, ZeroLockoutFailuresNeverLocks) {
  bind_guard_config c = config();
  c.lockout_failures = 0;
  bind_guard g(c);
  const auto a = ip4(10, 0, 0, 9);
  for (int i = 0; i < 100; ++i) g.failed(a, "acme", 0);
  EXPECT_FALSE(g.check(a, "acme", 1).locked);
  EXPECT_EQ(g.check(a, "acme", 1).delay_ms, 1000U);
}

}  // namespace
}  // namespace smpp::dataplane
