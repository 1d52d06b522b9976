#include "smpp/dataplane/placement.hpp"

#include <hwloc.h>
#include <pthread.h>
#include <sched.h>

#include <cstring>
#include <memory>

namespace smpp::dataplane {
namespace {

struct topology {
  hwloc_topology_t t = nullptr;
  topology() {
    hwloc_topology_init(&t);
    hwloc_topology_load(t);
  }
  ~topology() { hwloc_topology_destroy(t); }
  topology(const topology&) = delete;
  topology& operator=(const topology&) = delete;
};

}  // namespace

bool plan_workers(bool automatic, const std::vector<uint32_t>& cpus, worker_plan& out,
                  std::string& error) {
  topology topo;
  out = {};
  if (!automatic) {
    for (uint32_t cpu : cpus) {
      if (hwloc_get_pu_obj_by_os_index(topo.t, cpu) == nullptr) {
        error = "cpu " + std::to_string(cpu) + " does not exist on this machine";
        return false;
      }
    }
    out.cpus = cpus;
    out.reason = "explicit list from the configuration";
    return !out.cpus.empty() || (error = "empty worker list", false);
  }
  const int cores = hwloc_get_nbobjs_by_type(topo.t, HWLOC_OBJ_CORE);
  for (int i = 0; i < cores; ++i) {
    hwloc_obj_t core = hwloc_get_obj_by_type(topo.t, HWLOC_OBJ_CORE, static_cast<unsigned>(i));
    hwloc_obj_t pu = hwloc_get_obj_inside_cpuset_by_type(topo.t, core->cpuset, HWLOC_OBJ_PU, 0);
    if (pu != nullptr) out.cpus.push_back(pu->os_index);
  }
  if (out.cpus.empty()) {
    out.cpus.push_back(0);
    out.reason = "hwloc found no cores; one worker on cpu 0";
    return true;
  }
  if (out.cpus.size() > 2) {
    out.cpus.erase(out.cpus.begin());
    out.reason = "one worker per physical core, SMT siblings skipped, first core left to control";
  } else {
    out.reason = "one worker per physical core, SMT siblings skipped (control shares a core)";
  }
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
