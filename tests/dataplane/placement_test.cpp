// The worker planner on synthetic machines, an XML machine with a NIC on its second NUMA node,
// and this machine: the plans "auto" makes, and every warning kind firing and not firing.
#include "smpp/dataplane/placement.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

namespace smpp::dataplane {
namespace {

constexpr const char* kOnePackageTwoCores = "pack:1 core:2 pu:1";
constexpr const char* kTwoNumaSmt = "pack:2 numa:1 l3:1 core:8 pu:2";  // cpus 0-15 | 16-31
constexpr const char* kOneCore = "pack:1 core:1 pu:1";

std::string source_dir() {
  const char* env = std::getenv("SMPP_SOURCE_DIR");
  return env != nullptr && *env != '\0' ? env : SMPP_SOURCE_DIR_DEFAULT;
}
std::string nic_xml() {
  return source_dir() + "/tests/tools/pin_advisor/two_numa_nic.xml";
}

placement plan_of(placement_request req) {
  placement p;
  std::string error;
  EXPECT_TRUE(plan_placement(req, p, error)) << error;
  return p;
}
placement_request synthetic(const char* desc, std::vector<uint32_t> cpus = {}) {
  placement_request r;
  r.source.synthetic = desc;
  r.automatic = cpus.empty();
  r.cpus = std::move(cpus);
  return r;
}
placement_request with_nic(std::vector<uint32_t> cpus = {}, uint32_t queues = 0,
                           std::string nic = "ens81f0") {
  placement_request r;
  r.source.xml_path = nic_xml();
  r.automatic = cpus.empty();
  r.cpus = std::move(cpus);
  r.nics.push_back({std::move(nic), queues});
  return r;
}
std::vector<uint32_t> cpus_of(const placement& p) {
  std::vector<uint32_t> v;
  for (const auto& w : p.workers) v.push_back(w.where.cpu);
  return v;
}
size_t count(const placement& p, placement_warning_kind kind) {
  return static_cast<size_t>(std::count_if(p.warnings.begin(), p.warnings.end(),
                                           [&](const auto& w) { return w.kind == kind; }));
}

// ---- what "auto" plans -----------------------------------------------------------------------

TEST(PlacementAuto, OnePackageTwoCoresGivesEachCoreAWorkerAndSaysControlShares) {
  const placement p = plan_of(synthetic(kOnePackageTwoCores));
  EXPECT_EQ(cpus_of(p), (std::vector<uint32_t>{0, 1}));
  EXPECT_EQ(p.control_core, 0u);
  EXPECT_EQ(p.machine_summary, "1 package, 1 NUMA node, 2 cores, 2 hardware threads");
  EXPECT_EQ(count(p, placement_warning_kind::control_core_shared), 1u);
  EXPECT_EQ(count(p, placement_warning_kind::smt_siblings), 0u);
}

TEST(PlacementAuto, TwoNumaSmtMachineSkipsSiblingsAndLeavesCoreZeroToControl) {
  const placement p = plan_of(synthetic(kTwoNumaSmt));
  std::vector<uint32_t> want;
  for (uint32_t cpu = 2; cpu < 32; cpu += 2) want.push_back(cpu);  // first thread of cores 1..15
  EXPECT_EQ(cpus_of(p), want);
  EXPECT_EQ(p.control_cpus, (std::vector<uint32_t>{0, 1}));
  EXPECT_TRUE(p.warnings.empty()) << p.warnings.front().text;
  ASSERT_EQ(p.workers.size(), 15u);
  EXPECT_EQ(p.workers[0].where.smt_siblings, (std::vector<uint32_t>{3}));
  EXPECT_EQ(p.workers[0].where.numa_node, 0);
  EXPECT_EQ(p.workers[14].where.numa_node, 1);
  EXPECT_EQ(p.workers[14].where.l3, 1);
  EXPECT_NE(p.workers[0].reason.find("cpu 3 left idle"), std::string::npos) << p.workers[0].reason;
}

TEST(PlacementAuto, OneCoreRunsOneWorkerThereAndWarnsThatControlShares) {
  const placement p = plan_of(synthetic(kOneCore));
  EXPECT_EQ(cpus_of(p), (std::vector<uint32_t>{0}));
  EXPECT_EQ(count(p, placement_warning_kind::control_core_shared), 1u);
}

TEST(PlacementAuto, NicOnSecondNumaNodeKeepsEveryWorkerThere) {
  const placement p = plan_of(with_nic());
  ASSERT_EQ(p.nics.size(), 1u);
  EXPECT_EQ(p.nics[0].pci_address, "0000:81:00.0");
  EXPECT_EQ(p.nics[0].interface, "ens81f0");
  EXPECT_EQ(p.nics[0].numa_node, 1);
  EXPECT_EQ(p.nics[0].local_cpus.size(), 16u);
  EXPECT_EQ(p.nics[0].local_cpus.front(), 16u);
  EXPECT_EQ(cpus_of(p), (std::vector<uint32_t>{16, 18, 20, 22, 24, 26, 28, 30}));
  EXPECT_TRUE(p.warnings.empty()) << p.warnings.front().text;
}

TEST(PlacementAuto, NicFoundByShortPciAddressToo) {
  const placement p = plan_of(with_nic({}, 0, "81:00.0"));
  ASSERT_EQ(p.nics.size(), 1u);
  EXPECT_EQ(p.nics[0].interface, "ens81f0");
  EXPECT_EQ(p.nics[0].numa_node, 1);
}

TEST(PlacementAuto, WorkersCappedAtTheNicQueuePairs) {
  const placement p = plan_of(with_nic({}, 4));
  EXPECT_EQ(cpus_of(p), (std::vector<uint32_t>{16, 18, 20, 22}));
  EXPECT_EQ(count(p, placement_warning_kind::more_workers_than_queues), 0u);
  EXPECT_NE(p.reason.find("capped at 4"), std::string::npos) << p.reason;
}

TEST(PlacementAuto, OnTwoCoresACapLeavesTheControlCoreFree) {
  placement_request req = with_nic({}, 1, "eth1");
  req.source.xml_path = source_dir() + "/tests/tools/pin_advisor/two_cores_nic.xml";
  placement p = plan_of(req);
  EXPECT_EQ(cpus_of(p), (std::vector<uint32_t>{1}));
  EXPECT_TRUE(p.warnings.empty()) << p.warnings.front().text;
  EXPECT_NE(p.reason.find("first core left to control"), std::string::npos) << p.reason;
  req.nics[0].queues = 2;
  p = plan_of(req);
  EXPECT_EQ(cpus_of(p), (std::vector<uint32_t>{0, 1}));
  EXPECT_EQ(count(p, placement_warning_kind::control_core_shared), 1u);
}

TEST(PlacementAuto, PlanWorkersIsPlanPlacementOnThisMachine) {
  worker_plan old;
  std::string error;
  ASSERT_TRUE(plan_workers(true, {}, old, error)) << error;
  placement_request req;
  const placement p = plan_of(req);
  EXPECT_EQ(old.cpus, cpus_of(p));
  EXPECT_EQ(old.reason, p.reason);
  EXPECT_FALSE(p.machine.empty());
}

// ---- each warning fires, and does not fire -----------------------------------------------------

TEST(PlacementWarnings, SmtSiblingsFiresForTwoThreadsOfOneCore) {
  const placement p = plan_of(synthetic(kTwoNumaSmt, {2, 3}));
  ASSERT_EQ(count(p, placement_warning_kind::smt_siblings), 1u);
  EXPECT_NE(p.warnings[0].text.find("core 1"), std::string::npos) << p.warnings[0].text;
}

TEST(PlacementWarnings, SmtSiblingsQuietForOneThreadPerCore) {
  const placement p = plan_of(synthetic(kTwoNumaSmt, {2, 4, 6}));
  EXPECT_EQ(count(p, placement_warning_kind::smt_siblings), 0u);
  EXPECT_TRUE(p.warnings.empty());
}

TEST(PlacementWarnings, ControlCoreSharedFiresForEitherThreadOfCoreZero) {
  EXPECT_EQ(
      count(plan_of(synthetic(kTwoNumaSmt, {0, 2})), placement_warning_kind::control_core_shared),
      1u);
  EXPECT_EQ(
      count(plan_of(synthetic(kTwoNumaSmt, {1, 2})), placement_warning_kind::control_core_shared),
      1u);
}

TEST(PlacementWarnings, ControlCoreSharedQuietOffCoreZero) {
  EXPECT_EQ(
      count(plan_of(synthetic(kTwoNumaSmt, {2, 4})), placement_warning_kind::control_core_shared),
      0u);
}

TEST(PlacementWarnings, NumaRemoteFiresForWorkersAcrossFromTheNic) {
  const placement p = plan_of(with_nic({2, 4, 18}));
  EXPECT_EQ(count(p, placement_warning_kind::numa_remote), 2u);  // cpus 2 and 4, not 18
}

TEST(PlacementWarnings, NumaRemoteQuietForWorkersOnTheNicNode) {
  const placement p = plan_of(with_nic({18, 20}));
  EXPECT_EQ(count(p, placement_warning_kind::numa_remote), 0u);
  EXPECT_TRUE(p.warnings.empty());
}

TEST(PlacementWarnings, MoreWorkersThanQueuesFires) {
  const placement p = plan_of(with_nic({18, 20, 22}, 2));
  ASSERT_EQ(count(p, placement_warning_kind::more_workers_than_queues), 1u);
}

TEST(PlacementWarnings, MoreWorkersThanQueuesQuietWhenEachWorkerHasOne) {
  EXPECT_EQ(
      count(plan_of(with_nic({18, 20, 22}, 3)), placement_warning_kind::more_workers_than_queues),
      0u);
  // Unknown queue count: nothing to compare with.
  EXPECT_EQ(
      count(plan_of(with_nic({18, 20, 22}, 0)), placement_warning_kind::more_workers_than_queues),
      0u);
}

// ---- errors ----------------------------------------------------------------------------------

TEST(PlacementErrors, NameWhatIsWrong) {
  placement p;
  std::string error;
  EXPECT_FALSE(plan_placement(synthetic(kTwoNumaSmt, {32}), p, error));
  EXPECT_EQ(error, "cpu 32 does not exist on this machine");
  placement_request empty = synthetic(kTwoNumaSmt);
  empty.automatic = false;
  EXPECT_FALSE(plan_placement(empty, p, error));
  EXPECT_EQ(error, "empty worker list");
  EXPECT_FALSE(plan_placement(synthetic("pack:two"), p, error));
  EXPECT_NE(error.find("invalid synthetic topology"), std::string::npos) << error;
  placement_request missing;
  missing.source.xml_path = "/nonexistent/topology.xml";
  EXPECT_FALSE(plan_placement(missing, p, error));
  EXPECT_NE(error.find("/nonexistent/topology.xml"), std::string::npos) << error;
  EXPECT_FALSE(plan_placement(with_nic({}, 0, "ens99"), p, error));
  EXPECT_NE(error.find("NIC 'ens99' not found"), std::string::npos) << error;
  EXPECT_FALSE(plan_placement(with_nic({}, 0, "0000:02:00.0"), p, error));
  EXPECT_NE(error.find("NIC '0000:02:00.0' not found"), std::string::npos) << error;
}

// ---- this machine's NICs through sysfs ---------------------------------------------------------

TEST(PlacementLive, PciNicOfThisMachineHasItsAddressAndSysfsQueues) {
  // The first interface backed by a PCI device, if this machine has one.
  std::string iface, pci;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/sys/class/net", ec)) {
    const auto dev = std::filesystem::canonical(e.path() / "device", ec);
    if (ec) continue;
    for (const auto& part : dev) {
      const std::string s = part.string();
      if (s.size() == 12 && s[4] == ':' && s[7] == ':' && s[10] == '.') pci = s;
    }
    if (!pci.empty()) {
      iface = e.path().filename().string();
      break;
    }
  }
  if (iface.empty()) GTEST_SKIP() << "no PCI network interface on this machine";
  placement_request req;
  req.nics.push_back({iface, 0});
  const placement p = plan_of(req);
  ASSERT_EQ(p.nics.size(), 1u);
  EXPECT_EQ(p.nics[0].pci_address, pci);
  EXPECT_EQ(p.nics[0].interface, iface);
  uint32_t rx = 0;
  for (const auto& q : std::filesystem::directory_iterator("/sys/class/net/" + iface + "/queues")) {
    rx += q.path().filename().string().rfind("rx-", 0) == 0 ? 1 : 0;
  }
  EXPECT_EQ(p.nics[0].queues, rx);
  EXPECT_FALSE(p.nics[0].local_cpus.empty());
  // Looked up by its PCI address, the port is the same one.
  placement_request by_pci;
  by_pci.nics.push_back({pci, 0});
  const placement q = plan_of(by_pci);
  ASSERT_EQ(q.nics.size(), 1u);
  EXPECT_EQ(q.nics[0].interface, iface);
}

}  // namespace
}  // namespace smpp::dataplane
