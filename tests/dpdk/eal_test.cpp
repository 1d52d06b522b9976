#include "smpp/dataplane/dpdk/eal.hpp"

#include <gtest/gtest.h>
#include <rte_ethdev.h>

#include <algorithm>
#include <filesystem>

#include "dpdk_child.hpp"

namespace dp = smpp::dataplane::dpdk;
using dp::testing::run_child;
using dp::testing::start_child;
using dp::testing::test_eal_config;
using dp::testing::wait_child;

namespace {

bool has_pair(const std::vector<std::string>& a, const std::string& k, const std::string& v) {
  for (size_t i = 0; i + 1 < a.size(); ++i) {
    if (a[i] == k && a[i + 1] == v) return true;
  }
  return false;
}
bool has(const std::vector<std::string>& a, const std::string& k) {
  return std::find(a.begin(), a.end(), k) != a.end();
}

}  // namespace

TEST(EalArgv, MapsWorkerPlanOntoLcoresMainFirst) {
  dp::eal_config c;
  c.cpus = {4, 2, 7};
  const auto a = dp::eal_argv(c);
  EXPECT_TRUE(has_pair(a, "--lcores", "0@4,1@2,2@7"));
  EXPECT_TRUE(has_pair(a, "--main-lcore", "0"));
  EXPECT_FALSE(has(a, "--no-huge"));
  EXPECT_TRUE(has(a, "--in-memory"));  // hugepages, private memory
}

TEST(EalArgv, DevelopmentModeUsesNoHugeWithoutSharedConfig) {
  dp::eal_config c;
  c.no_huge = true;
  c.memory_mb = 256;
  c.no_pci = true;
  c.vdevs = {"net_null0", "net_tap0,iface=t0"};
  c.drivers = {"/x/librte_net_null.so"};
  c.file_prefix = "p1";
  const auto a = dp::eal_argv(c);
  EXPECT_TRUE(has(a, "--no-huge"));
  EXPECT_TRUE(has(a, "--no-shconf"));  // the EAL refuses --in-memory with --no-huge
  EXPECT_FALSE(has(a, "--in-memory"));
  EXPECT_TRUE(has_pair(a, "-m", "256"));
  EXPECT_TRUE(has(a, "--no-pci"));
  EXPECT_TRUE(has_pair(a, "--vdev", "net_null0"));
  EXPECT_TRUE(has_pair(a, "--vdev", "net_tap0,iface=t0"));
  EXPECT_TRUE(has_pair(a, "-d", "/x/librte_net_null.so"));
  EXPECT_TRUE(has_pair(a, "--file-prefix", "p1"));
}

TEST(EalArgv, PciAllowListBecomesDashA) {
  dp::eal_config c;
  c.pci_allow = {"0000:03:00.0", "0000:03:00.1"};
  const auto a = dp::eal_argv(c);
  EXPECT_TRUE(has_pair(a, "-a", "0000:03:00.0"));
  EXPECT_TRUE(has_pair(a, "-a", "0000:03:00.1"));
  EXPECT_FALSE(has(a, "--no-pci"));
}

TEST(EalValidate, NamesWhatIsWrong) {
  dp::eal_config c;
  EXPECT_EQ(dp::validate(c), "");
  c.cpus.clear();
  EXPECT_NE(dp::validate(c).find("cpus"), std::string::npos);
  c = {};
  c.no_huge = true;
  EXPECT_NE(dp::validate(c).find("memory_mb"), std::string::npos);
  c = {};
  c.no_pci = true;
  c.pci_allow = {"0000:03:00.0"};
  EXPECT_NE(dp::validate(c).find("no_pci"), std::string::npos);
  c = {};
  c.file_prefix = "a/b";
  EXPECT_NE(dp::validate(c).find("file_prefix"), std::string::npos);
  c.file_prefix = "";
  EXPECT_NE(dp::validate(c).find("file_prefix"), std::string::npos);
  EXPECT_NE(dp::eal_options_help().find("no_huge"), std::string_view::npos);
}

TEST(Eal, InitWithoutHugepagesProbesNullDeviceAndCleansRuntimeDir) {
  EXPECT_CHILD_OK(run_child([] {
    std::string runtime_dir;
    {
      std::string error;
      auto e = dp::eal::init(test_eal_config({"net_null0"}), error);
      if (!e) std::fprintf(stderr, "[child] %s\n", error.c_str());
      CHILD_CHECK(e.has_value());
      CHILD_CHECK(rte_eth_dev_count_avail() == 1);
      uint16_t id = 0;
      CHILD_CHECK(rte_eth_dev_get_port_by_name("net_null0", &id) == 0);
      CHILD_CHECK(e->lcores() == std::vector<unsigned>{0});
      runtime_dir = rte_eal_get_runtime_dir();
      CHILD_CHECK(std::filesystem::exists(runtime_dir));
    }
    CHILD_CHECK(!std::filesystem::exists(runtime_dir));
    return 0;
  }));
}

TEST(Eal, SecondInitInOneProcessFailsWithClearError) {
  EXPECT_CHILD_OK(run_child([] {
    std::string error;
    auto first = dp::eal::init(test_eal_config({}), error);
    CHILD_CHECK(first.has_value());
    auto second = dp::eal::init(test_eal_config({}), error);
    CHILD_CHECK(!second.has_value());
    std::fprintf(stderr, "[child] second init: %s\n", error.c_str());
    CHILD_CHECK(error.find("rte_eal_init: ") == 0);
    return 0;
  }));
}

TEST(Eal, UnknownVirtualDeviceFailsInitWithReason) {
  EXPECT_CHILD_OK(run_child([] {
    std::string error;
    auto e = dp::eal::init(test_eal_config({"net_nosuchdriver0"}), error);
    CHILD_CHECK(!e.has_value());
    std::fprintf(stderr, "[child] expected failure: %s\n", error.c_str());
    CHILD_CHECK(error.find("rte_eal_init: ") == 0);
    CHILD_CHECK(error.size() > std::string("rte_eal_init: ").size());
    return 0;
  }));
}

TEST(Eal, InvalidConfigFailsBeforeTheEal) {
  EXPECT_CHILD_OK(run_child([] {
    std::string error;
    auto cfg = test_eal_config({});
    cfg.memory_mb = 0;
    auto e = dp::eal::init(cfg, error);
    CHILD_CHECK(!e.has_value());
    CHILD_CHECK(error.find("memory_mb") != std::string::npos);
    // The EAL was not touched: a valid init still works in this process.
    auto ok = dp::eal::init(test_eal_config({}), error);
    CHILD_CHECK(ok.has_value());
    return 0;
  }));
}

TEST(Eal, SeveralProcessesRunAtOnceWithDistinctPrefixes) {
  // Each child holds its EAL until all three have one: they overlap for certain.
  dp::testing::shared_counter up;
  ASSERT_TRUE(up.ok());
  auto body = [&up] {
    std::string error;
    auto e = dp::eal::init(test_eal_config({"net_null0"}), error);
    if (!e) std::fprintf(stderr, "[child] %s\n", error.c_str());
    CHILD_CHECK(e.has_value());
    up.add();
    CHILD_CHECK(up.wait_for(3, std::chrono::seconds(30)));
    return 0;
  };
  const pid_t a = start_child(body);
  const pid_t b = start_child(body);
  const pid_t c = start_child(body);
  EXPECT_EQ(wait_child(a), 0);
  EXPECT_EQ(wait_child(b), 0);
  EXPECT_EQ(wait_child(c), 0);
}
