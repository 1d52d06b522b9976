#include "smpp/dataplane/placement.hpp"

#include <hwloc.h>
#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <limits>
#include <set>
#include <system_error>

namespace smpp::dataplane {
namespace {

struct topology {
  hwloc_topology_t t = nullptr;
  topology() { hwloc_topology_init(&t); }
  ~topology() { hwloc_topology_destroy(t); }
  topology(const topology&) = delete;
  topology& operator=(const topology&) = delete;
};

bool load(topology& topo, const topology_source& source, bool with_io, std::string& error) {
  if (!source.xml_path.empty() && !source.synthetic.empty()) {
    error = "give either an XML topology or a synthetic one, not both";
    return false;
  }
  if (!source.xml_path.empty() && hwloc_topology_set_xml(topo.t, source.xml_path.c_str()) != 0) {
    error = "cannot read hwloc XML topology '" + source.xml_path + "': " + std::strerror(errno);
    return false;
  }
  if (!source.synthetic.empty() &&
      hwloc_topology_set_synthetic(topo.t, source.synthetic.c_str()) != 0) {
    error = "invalid synthetic topology '" + source.synthetic +
            "' (hwloc syntax, e.g. \"pack:2 numa:1 core:8 pu:2\")";
    return false;
  }
  // PCI and OS devices only when ports are asked for: I/O discovery costs the router's start
  // time and the kernel transport has no use for it.
  if (with_io) hwloc_topology_set_io_types_filter(topo.t, HWLOC_TYPE_FILTER_KEEP_IMPORTANT);
  if (hwloc_topology_load(topo.t) != 0) {
    error = std::string("hwloc cannot load the topology: ") + std::strerror(errno);
    return false;
  }
  return true;
}

int logical_of(hwloc_topology_t t, hwloc_obj_type_t type, hwloc_obj_t pu) {
  hwloc_obj_t a = hwloc_get_ancestor_obj_by_type(t, type, pu);
  return a == nullptr ? -1 : static_cast<int>(a->logical_index);
}

int single_node(hwloc_const_nodeset_t nodeset) {
  if (nodeset == nullptr || hwloc_bitmap_weight(nodeset) != 1) return -1;
  return hwloc_bitmap_first(nodeset);
}

std::vector<cpu_info> read_machine(hwloc_topology_t t) {
  std::vector<cpu_info> out;
  const int cores = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_CORE);
  const int pus = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_PU);
  for (int i = 0; i < pus; ++i) {
    hwloc_obj_t pu = hwloc_get_obj_by_type(t, HWLOC_OBJ_PU, static_cast<unsigned>(i));
    cpu_info c;
    c.cpu = pu->os_index;
    hwloc_obj_t core = hwloc_get_ancestor_obj_by_type(t, HWLOC_OBJ_CORE, pu);
    // A hardware thread hwloc puts in no core counts as a core of its own.
    c.core =
        core != nullptr ? core->logical_index : static_cast<uint32_t>(cores) + pu->logical_index;
    const int package = logical_of(t, HWLOC_OBJ_PACKAGE, pu);
    c.package = package < 0 ? 0 : static_cast<uint32_t>(package);
    c.numa_node = single_node(pu->nodeset);
    c.l3 = logical_of(t, HWLOC_OBJ_L3CACHE, pu);
    c.l2 = logical_of(t, HWLOC_OBJ_L2CACHE, pu);
    if (core != nullptr) {
      hwloc_obj_t sib = nullptr;
      while ((sib = hwloc_get_next_obj_inside_cpuset_by_type(t, core->cpuset, HWLOC_OBJ_PU, sib)) !=
             nullptr) {
        if (sib != pu) c.smt_siblings.push_back(sib->os_index);
      }
    }
    out.push_back(std::move(c));
  }
  return out;
}

std::string summary(hwloc_topology_t t) {
  auto count = [&](hwloc_obj_type_t type, const char* one, const char* many) {
    const int n = std::max(hwloc_get_nbobjs_by_type(t, type), 0);
    return std::to_string(n) + " " + (n == 1 ? one : many);
  };
  return count(HWLOC_OBJ_PACKAGE, "package", "packages") + ", " +
         count(HWLOC_OBJ_NUMANODE, "NUMA node", "NUMA nodes") + ", " +
         count(HWLOC_OBJ_CORE, "core", "cores") + ", " +
         count(HWLOC_OBJ_PU, "hardware thread", "hardware threads");
}

bool looks_like_pci_address(const std::string& s) {
  // [dddd:]bb:dd.f in hex
  unsigned a = 0, b = 0, c = 0, d = 0;
  char tail = 0;
  return std::sscanf(s.c_str(), "%x:%x:%x.%x%c", &a, &b, &c, &d, &tail) == 4 ||
         std::sscanf(s.c_str(), "%x:%x.%x%c", &a, &b, &c, &tail) == 3;
}

// The PCI address in a sysfs device path (/sys/devices/pci0000:00/0000:00:03.0/virtio2).
std::string pci_address_in_path(const std::filesystem::path& p) {
  std::string found;
  for (const auto& part : p) {
    const std::string s = part.string();
    if (s.size() == 12 && looks_like_pci_address(s)) found = s;
  }
  return found;
}

uint32_t sysfs_rx_queues(const std::string& interface) {
  std::error_code ec;
  uint32_t n = 0;
  for (const auto& e :
       std::filesystem::directory_iterator("/sys/class/net/" + interface + "/queues", ec)) {
    if (e.path().filename().string().rfind("rx-", 0) == 0) ++n;
  }
  return n;
}

bool locate_nic(hwloc_topology_t t, bool live, const nic_request& req, nic_locality& out,
                std::string& error) {
  out = {};
  out.name = req.name;
  hwloc_obj_t dev = nullptr;
  if (looks_like_pci_address(req.name)) {
    dev = hwloc_get_pcidev_by_busidstring(t, req.name.c_str());
  } else {
    hwloc_obj_t os = nullptr;
    while ((os = hwloc_get_next_osdev(t, os)) != nullptr) {
      if (os->attr->osdev.type == HWLOC_OBJ_OSDEV_NETWORK && os->name != nullptr &&
          req.name == os->name) {
        dev = os;
        break;
      }
    }
    if (dev == nullptr && live) {
      // Not in hwloc's view (filtered, or a driver hwloc does not map): sysfs knows the device.
      std::error_code ec;
      const auto real = std::filesystem::canonical("/sys/class/net/" + req.name + "/device", ec);
      const std::string pci = ec ? std::string() : pci_address_in_path(real);
      if (!pci.empty()) dev = hwloc_get_pcidev_by_busidstring(t, pci.c_str());
      if (!ec && dev == nullptr) {
        error = "NIC '" + req.name + "' is not a PCI device (" + real.string() + ")";
        return false;
      }
    }
    if (dev != nullptr) out.interface = req.name;
  }
  if (dev == nullptr) {
    error = "NIC '" + req.name +
            "' not found: give a PCI address (0000:81:00.0) or a network interface name that "
            "hwloc lists";
    return false;
  }
  for (hwloc_obj_t p = dev; p != nullptr; p = p->parent) {
    if (p->type == HWLOC_OBJ_PCI_DEVICE) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%04x:%02x:%02x.%01x", p->attr->pcidev.domain,
                    p->attr->pcidev.bus, p->attr->pcidev.dev, p->attr->pcidev.func);
      out.pci_address = buf;
      break;
    }
  }
  if (out.interface.empty()) {
    // The kernel interface of a PCI port, if it still has one (a port bound to DPDK has none).
    hwloc_obj_t os = nullptr;
    while ((os = hwloc_get_next_osdev(t, os)) != nullptr) {
      if (os->attr->osdev.type != HWLOC_OBJ_OSDEV_NETWORK || os->name == nullptr) continue;
      for (hwloc_obj_t p = os->parent; p != nullptr; p = p->parent) {
        if (p == dev) out.interface = os->name;
      }
      if (!out.interface.empty()) break;
    }
  }
  hwloc_obj_t local = hwloc_get_non_io_ancestor_obj(t, dev);
  if (local != nullptr) {
    out.numa_node = single_node(local->nodeset);
    hwloc_obj_t pu = nullptr;
    while ((pu = hwloc_get_next_obj_inside_cpuset_by_type(t, local->cpuset, HWLOC_OBJ_PU, pu)) !=
           nullptr) {
      out.local_cpus.push_back(pu->os_index);
    }
  }
  if (req.queues > 0) {
    out.queues = req.queues;
    out.queues_from = "--queues";
  } else if (live && !out.interface.empty()) {
    out.queues = sysfs_rx_queues(out.interface);
    if (out.queues > 0) out.queues_from = "sysfs";
  }
  return true;
}

std::string cpu_words(const cpu_info& c) {
  std::string s = "cpu " + std::to_string(c.cpu) + ", core " + std::to_string(c.core);
  if (c.numa_node >= 0) s += ", NUMA " + std::to_string(c.numa_node);
  return s;
}

void add_warnings(placement& p) {
  auto warn = [&](placement_warning_kind k, std::string text) {
    p.warnings.push_back({k, std::move(text)});
  };
  const auto& w = p.workers;
  for (size_t i = 0; i < w.size(); ++i) {
    for (size_t j = i + 1; j < w.size(); ++j) {
      if (w[i].where.core == w[j].where.core) {
        warn(placement_warning_kind::smt_siblings,
             "workers " + std::to_string(i) + " and " + std::to_string(j) + " (cpus " +
                 std::to_string(w[i].where.cpu) + " and " + std::to_string(w[j].where.cpu) +
                 ") are SMT siblings on core " + std::to_string(w[i].where.core) +
                 ": they share its execution units and L1/L2 caches; use one per core");
      }
    }
  }
  for (size_t i = 0; i < w.size(); ++i) {
    if (w[i].where.core == p.control_core) {
      warn(placement_warning_kind::control_core_shared,
           "worker " + std::to_string(i) + " (" + cpu_words(w[i].where) + ") shares core " +
               std::to_string(p.control_core) +
               " with the control thread: configuration, API and metrics work steals its poll "
               "turns");
    }
  }
  for (const auto& nic : p.nics) {
    if (nic.numa_node < 0) continue;
    for (size_t i = 0; i < w.size(); ++i) {
      if (w[i].where.numa_node >= 0 && w[i].where.numa_node != nic.numa_node) {
        warn(placement_warning_kind::numa_remote,
             "worker " + std::to_string(i) + " (" + cpu_words(w[i].where) + ") polls " + nic.name +
                 " on NUMA node " + std::to_string(nic.numa_node) +
                 ": every packet crosses the inter-socket link");
      }
    }
  }
  for (const auto& nic : p.nics) {
    if (nic.queues > 0 && w.size() > nic.queues) {
      warn(placement_warning_kind::more_workers_than_queues,
           std::to_string(w.size()) + " workers but " + nic.name + " offers " +
               std::to_string(nic.queues) + " RX/TX queue pair" + (nic.queues == 1 ? "" : "s") +
               " (" + nic.queues_from + "): each worker needs its own queue on every port");
    }
  }
}

}  // namespace

const char* to_string(placement_warning_kind kind) {
  switch (kind) {
    case placement_warning_kind::smt_siblings:
      return "smt-siblings";
    case placement_warning_kind::numa_remote:
      return "numa-remote";
    case placement_warning_kind::control_core_shared:
      return "control-core-shared";
    case placement_warning_kind::more_workers_than_queues:
      return "more-workers-than-queues";
  }
  return "unknown";
}

bool plan_placement(const placement_request& request, placement& out, std::string& error) {
  out = {};
  topology topo;
  if (!load(topo, request.source, !request.nics.empty(), error)) return false;
  const bool live = request.source.xml_path.empty() && request.source.synthetic.empty();
  out.machine = read_machine(topo.t);
  out.machine_summary = summary(topo.t);
  if (out.machine.empty()) {
    error = "hwloc reports no hardware threads";
    return false;
  }
  for (const auto& req : request.nics) {
    nic_locality nic;
    if (!locate_nic(topo.t, live, req, nic, error)) return false;
    out.nics.push_back(std::move(nic));
  }
  out.control_core = out.machine.front().core;
  for (const auto& c : out.machine) {
    if (c.core == out.control_core) out.control_cpus.push_back(c.cpu);
  }

  if (!request.automatic) {
    if (request.cpus.empty()) {
      error = "empty worker list";
      return false;
    }
    for (uint32_t cpu : request.cpus) {
      const auto it = std::find_if(out.machine.begin(), out.machine.end(),
                                   [&](const cpu_info& c) { return c.cpu == cpu; });
      if (it == out.machine.end()) {
        error = "cpu " + std::to_string(cpu) + " does not exist on this machine";
        return false;
      }
      out.workers.push_back({*it, "listed in the configuration"});
    }
    out.reason = "explicit list from the configuration";
    add_warnings(out);
    return true;
  }

  // One candidate per physical core: its first hardware thread.
  std::vector<cpu_info> firsts;
  std::set<uint32_t> seen;
  for (const auto& c : out.machine) {
    if (seen.insert(c.core).second) firsts.push_back(c);
  }
  const bool keep_control_free = firsts.size() > 2;
  std::set<int> nic_nodes;
  for (const auto& nic : out.nics) {
    if (nic.numa_node >= 0) nic_nodes.insert(nic.numa_node);
  }
  auto pick = [&](bool local_only) {
    std::vector<cpu_info> v;
    for (const auto& c : firsts) {
      if (keep_control_free && c.core == out.control_core) continue;
      if (local_only && nic_nodes.count(c.numa_node) == 0) continue;
      v.push_back(c);
    }
    return v;
  };
  std::vector<cpu_info> chosen = pick(!nic_nodes.empty());
  bool local = !nic_nodes.empty();
  if (chosen.empty()) {
    chosen = pick(false);
    local = false;
  }
  if (chosen.empty()) chosen.push_back(firsts.front());  // one core: it does everything
  uint32_t queue_cap = std::numeric_limits<uint32_t>::max();
  std::string cap_nic;
  for (const auto& nic : out.nics) {
    if (nic.queues > 0 && nic.queues < queue_cap) {
      queue_cap = nic.queues;
      cap_nic = nic.name;
    }
  }
  const bool capped = chosen.size() > queue_cap;
  if (capped) {
    // Fewer workers than cores: the control thread's core is the first to stay free.
    std::stable_partition(chosen.begin(), chosen.end(),
                          [&](const cpu_info& c) { return c.core != out.control_core; });
    chosen.resize(queue_cap);
    std::sort(chosen.begin(), chosen.end(),
              [](const cpu_info& a, const cpu_info& b) { return a.core < b.core; });
  }

  std::string nic_names;
  for (const auto& nic : out.nics) {
    if (nic.numa_node >= 0 && nic_nodes.count(nic.numa_node) != 0) {
      nic_names += (nic_names.empty() ? "" : ", ") + nic.name;
    }
  }
  for (const auto& c : chosen) {
    std::string why = "first hardware thread of core " + std::to_string(c.core);
    if (!c.smt_siblings.empty()) {
      why += "; SMT sibling" + std::string(c.smt_siblings.size() == 1 ? " " : "s ");
      for (size_t i = 0; i < c.smt_siblings.size(); ++i) {
        why += (i == 0 ? "cpu " : ", ") + std::to_string(c.smt_siblings[i]);
      }
      why += " left idle";
    }
    if (local) why += "; NUMA " + std::to_string(c.numa_node) + ", local to " + nic_names;
    if (c.core == out.control_core) {
      why += firsts.size() == 1 ? "; the only core: shares it with the control thread"
                                : "; shares core " + std::to_string(c.core) +
                                      " with the control thread (two cores only)";
    }
    out.workers.push_back({c, std::move(why)});
  }
  out.reason = "one worker per physical core, SMT siblings skipped";
  const bool control_shared = std::any_of(
      chosen.begin(), chosen.end(), [&](const cpu_info& c) { return c.core == out.control_core; });
  if (!control_shared) {
    out.reason += ", first core left to control";
  } else if (firsts.size() == 1) {
    out.reason += " (one core: control shares it)";
  } else {
    out.reason += " (control shares a core)";
  }
  if (local) out.reason += ", on the NIC's NUMA node";
  if (!nic_nodes.empty() && !local) out.reason += ", no free core on the NIC's NUMA node";
  if (capped) {
    out.reason += ", capped at " + std::to_string(queue_cap) + " by the queue pairs of " + cap_nic;
  }
  add_warnings(out);
  return true;
}

bool plan_workers(bool automatic, const std::vector<uint32_t>& cpus, worker_plan& out,
                  std::string& error) {
  out = {};
  placement_request req;
  req.automatic = automatic;
  req.cpus = cpus;
  placement p;
  if (!plan_placement(req, p, error)) return false;
  for (const auto& w : p.workers) out.cpus.push_back(w.where.cpu);
  out.reason = p.reason;
  return true;
}

bool pin_current_thread(uint32_t cpu, std::string& error) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  const int rc = pthread_setaffinity_np(pthread_self(), sizeof set, &set);
  if (rc != 0) {
    error = std::strerror(rc);
    return false;
  }
  return true;
}

}  // namespace smpp::dataplane
