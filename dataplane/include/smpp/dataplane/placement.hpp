// Worker placement with hwloc: which CPUs the workers run on, and pinning a thread there.
// plan_placement is the one planner: smpp-router runs it on this machine at start and
// pin-advisor runs it on this machine, an XML export or a synthetic topology, so the advisor's
// plan is the router's plan.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace smpp::dataplane {

struct worker_plan {
  std::vector<uint32_t> cpus;  // OS CPU index per worker
  std::string reason;          // one line an operator can read
};

// automatic: one worker per physical core (first hardware thread of each core, SMT siblings
// skipped), leaving the first core to the control thread when there are more than two cores.
// Otherwise the explicit list, validated against the machine (unknown CPUs are an error).
// The same plan as plan_placement with no NICs, on this machine.
[[nodiscard]] bool plan_workers(bool automatic, const std::vector<uint32_t>& cpus, worker_plan& out,
                                std::string& error);

// Pins the calling thread to one CPU; false with errno-style text on failure.
[[nodiscard]] bool pin_current_thread(uint32_t cpu, std::string& error);

// ---- the planner with its reasons -------------------------------------------------------------

// Which machine to plan for: this one (both empty), an hwloc XML export (`lstopo --of xml`), or
// an hwloc synthetic description ("pack:2 numa:1 core:8 pu:2").
struct topology_source {
  std::string xml_path;
  std::string synthetic;
};

// A port the workers poll: every worker owns one RX/TX queue pair on every port, so a port
// needs as many queue pairs as there are workers.
struct nic_request {
  std::string name;     // PCI address ("0000:81:00.0" or "81:00.0") or interface name ("eth1")
  uint32_t queues = 0;  // RX/TX queue pairs the port offers; 0: read them from sysfs if possible
};

struct placement_request {
  bool automatic = true;          // workers = "auto"
  std::vector<uint32_t> cpus;     // workers = [..] when !automatic
  std::vector<nic_request> nics;  // empty: no NIC locality (the kernel transport)
  topology_source source;
};

// One hardware thread (PU) of the machine, with what it shares.
struct cpu_info {
  uint32_t cpu = 0;                    // OS index (what `workers = [..]` and taskset name)
  uint32_t core = 0;                   // logical index of its physical core
  uint32_t package = 0;                // logical index of its package
  int numa_node = -1;                  // OS index of its NUMA node; -1: hwloc does not say
  int l3 = -1;                         // logical index of its L3 cache; -1: none reported
  int l2 = -1;                         // logical index of its L2 cache; -1: none reported
  std::vector<uint32_t> smt_siblings;  // the other hardware threads of the same core
};

struct nic_locality {
  std::string name;         // as requested
  std::string pci_address;  // "0000:81:00.0"; empty when the port has no PCI device
  std::string interface;    // kernel interface name when hwloc or sysfs knows one
  int numa_node = -1;       // OS index of the NUMA node the port is attached to; -1: unknown
  std::vector<uint32_t> local_cpus;  // CPUs of the port's non-I/O ancestor (its locality)
  uint32_t queues = 0;               // RX/TX queue pairs; 0: unknown
  std::string queues_from;           // "--queues", "sysfs", or empty when unknown
};

struct worker_placement {
  cpu_info where;
  std::string reason;  // why this CPU
};

enum class placement_warning_kind {
  smt_siblings,              // two workers on hardware threads of one core
  numa_remote,               // a worker on another NUMA node than a port it polls
  control_core_shared,       // a worker on the core left to the control thread
  more_workers_than_queues,  // a port offers fewer queue pairs than there are workers
};

struct placement_warning {
  placement_warning_kind kind;
  std::string text;
};

[[nodiscard]] const char* to_string(placement_warning_kind kind);

struct placement {
  std::vector<worker_placement> workers;  // worker i runs on workers[i]; polls queue i of each port
  // The core the control thread is meant to have: core 0. The control thread is not pinned;
  // with no worker on that core the scheduler keeps it there.
  uint32_t control_core = 0;
  std::vector<uint32_t> control_cpus;  // hardware threads of control_core
  std::string reason;                  // the plan in one line
  std::vector<nic_locality> nics;
  std::vector<placement_warning> warnings;  // plans that hurt, see placement_warning_kind
  std::vector<cpu_info> machine;            // every hardware thread, in logical order
  std::string machine_summary;  // "2 packages, 2 NUMA nodes, 16 cores, 32 hardware threads"
};

// automatic: one worker per physical core (first hardware thread, SMT siblings left idle);
// core 0 is left to the control thread when the machine has more than two cores; with ports
// whose NUMA node is known, only cores on those nodes (unless that leaves none); at most as
// many workers as the smallest known queue count of a port. Explicit: the list as given,
// validated. Both then get the warnings of every placement_warning_kind that applies.
// False with a message for an unknown CPU, an empty list, an unknown port or a topology hwloc
// cannot load.
[[nodiscard]] bool plan_placement(const placement_request& request, placement& out,
                                  std::string& error);

}  // namespace smpp::dataplane
