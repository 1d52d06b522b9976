// Snapshots built against the running one keep every tenant's, upstream's and bind's index:
// removed entries stay retired at their index, new ones are appended, reordering moves nothing,
// and the routes follow the names.
#include <gtest/gtest.h>

#include <string>

#include "smpp/control/config.hpp"
#include "smpp/control/snapshot_builder.hpp"

namespace smpp::control {
namespace {

std::string tenant(const std::string& name) {
  return "[[tenants]]\nname = \"" + name + "\"\nsystem_id = \"" + name +
         "\"\npassword = \"pw\"\n\n";
}

std::string upstream(const std::string& name, int binds, int port) {
  return "[[upstreams]]\nname = \"" + name + "\"\naddress = \"127.0.0.1:" + std::to_string(port) +
         "\"\nbinds = [{system_id = \"r\", count = " + std::to_string(binds) + "}]\n\n";
}

std::string route(const std::string& tenant_name, const std::string& prefix,
                  const std::string& to) {
  return "[[routes]]\ntenant = \"" + tenant_name + "\"\ndestination_prefix = \"" + prefix +
         "\"\nupstreams = [\"" + to + "\"]\n\n";
}

std::shared_ptr<const dataplane::router_snapshot> build(
    const std::string& text, const dataplane::router_snapshot* previous = nullptr) {
  const config_result loaded = load_config_string(text, "test.toml");
  EXPECT_TRUE(loaded.ok()) << (loaded.errors.empty() ? "" : loaded.errors[0].to_string());
  if (!loaded.ok()) return nullptr;
  std::string err;
  auto s = build_snapshot(*loaded.config, err, previous);
  EXPECT_NE(s, nullptr) << err;
  return s;
}

uint32_t upstream_of(const dataplane::router_snapshot& s, uint32_t tenant_index,
                     const std::string& dest) {
  const dataplane::route_def* r = s.routes.lookup(tenant_index, dest, "", "");
  return r == nullptr || r->upstreams.empty() ? UINT32_MAX : r->upstreams[0];
}

TEST(SnapshotBuilder, WithoutAPreviousSnapshotIndicesFollowTheFile) {
  auto s = build(tenant("a") + tenant("b") + upstream("u1", 2, 1) + upstream("u2", 1, 2) +
                 route("a", "1", "u2"));
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->tenants[0].name, "a");
  EXPECT_EQ(s->tenants[1].name, "b");
  EXPECT_EQ(s->upstreams[1].name, "u2");
  EXPECT_EQ(upstream_of(*s, 0, "1555"), 1u);
}

TEST(SnapshotBuilder, RemovedReorderedAndAddedEntriesKeepTheIndicesOfTheRunningSnapshot) {
  auto first = build(tenant("a") + tenant("b") + tenant("c") + upstream("u1", 2, 1) +
                     upstream("u2", 1, 2) + route("a", "1", "u1") + route("c", "2", "u2"));
  ASSERT_NE(first, nullptr);
  // b and u1's second bind removed; tenants and upstreams listed in another order; d, u3 new.
  auto next = build(tenant("c") + tenant("d") + tenant("a") + upstream("u3", 1, 3) +
                        upstream("u2", 1, 2) + upstream("u1", 1, 1) + route("a", "1", "u3") +
                        route("c", "2", "u1") + route("d", "3", "u2"),
                    first.get());
  ASSERT_NE(next, nullptr);
  ASSERT_EQ(next->tenants.size(), 4u);
  EXPECT_EQ(next->tenants[0].name, "a");
  EXPECT_EQ(next->tenants[1].name, "b");
  EXPECT_TRUE(next->tenants[1].retired);
  EXPECT_EQ(next->tenants[2].name, "c");
  EXPECT_EQ(next->tenants[3].name, "d");
  for (uint32_t i : {0u, 2u, 3u}) {
    EXPECT_FALSE(next->tenants[i].retired) << i;
    EXPECT_EQ(next->tenants[i].index, i);
  }
  EXPECT_EQ(next->tenant_by_system_id.count("b"), 0u) << "a removed tenant cannot bind";
  EXPECT_EQ(next->tenant_by_system_id.at("d"), 3u);
  ASSERT_EQ(next->upstreams.size(), 3u);
  EXPECT_EQ(next->upstreams[0].name, "u1");
  EXPECT_EQ(next->upstreams[1].name, "u2");
  EXPECT_EQ(next->upstreams[2].name, "u3");
  ASSERT_EQ(next->upstreams[0].binds.size(), 2u) << "a removed bind stays, retired";
  EXPECT_FALSE(next->upstreams[0].binds[0].retired);
  EXPECT_TRUE(next->upstreams[0].binds[1].retired);
  EXPECT_FALSE(next->upstreams[0].retired);
  // Routes name the new indices of the names they use.
  EXPECT_EQ(upstream_of(*next, 0, "1999"), 2u);  // a -> u3
  EXPECT_EQ(upstream_of(*next, 2, "2999"), 0u);  // c -> u1
  EXPECT_EQ(upstream_of(*next, 3, "3999"), 1u);  // d -> u2
  EXPECT_EQ(upstream_of(*next, 1, "1999"), UINT32_MAX) << "no route of the removed tenant";

  // u1 removed altogether; b back under its name takes index 1 again.
  auto third =
      build(tenant("a") + tenant("b") + upstream("u2", 1, 2) + route("b", "1", "u2"), next.get());
  ASSERT_NE(third, nullptr);
  ASSERT_EQ(third->tenants.size(), 4u);
  EXPECT_FALSE(third->tenants[1].retired);
  EXPECT_EQ(third->tenant_by_system_id.at("b"), 1u);
  EXPECT_TRUE(third->tenants[2].retired);
  EXPECT_TRUE(third->tenants[3].retired);
  ASSERT_EQ(third->upstreams.size(), 3u);
  EXPECT_TRUE(third->upstreams[0].retired);
  for (const auto& b : third->upstreams[0].binds) EXPECT_TRUE(b.retired);
  EXPECT_TRUE(third->upstreams[2].retired);
  EXPECT_EQ(upstream_of(*third, 1, "1999"), 1u);
}

TEST(SnapshotBuilder, MoreBindsThanBeforeAreAppended) {
  auto first = build(tenant("a") + upstream("u1", 1, 1) + route("a", "", "u1"));
  ASSERT_NE(first, nullptr);
  auto next = build(tenant("a") + upstream("u1", 3, 1) + route("a", "", "u1"), first.get());
  ASSERT_NE(next, nullptr);
  ASSERT_EQ(next->upstreams[0].binds.size(), 3u);
  for (const auto& b : next->upstreams[0].binds) EXPECT_FALSE(b.retired);
}

}  // namespace
}  // namespace smpp::control
