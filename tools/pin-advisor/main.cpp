// pin-advisor: reads the machine with hwloc and prints the core plan smpp-router runs (the same
// planner, smpp::dataplane::plan_placement), with the reason for every core, the NIC queue each
// worker polls, a config snippet, and the warnings of a plan that hurts.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "smpp/control/config.hpp"
#include "smpp/control/plan_svg.hpp"
#include "smpp/dataplane/placement.hpp"

namespace {

using namespace smpp;

void usage(std::FILE* f) {
  std::fprintf(
      f,
      "usage: pin-advisor [--check CONFIG] [--nic PCI_ADDRESS|IFNAME]... [--queues N]\n"
      "                   [--topology-xml FILE | --synthetic DESCRIPTION] [--svg FILE]\n"
      "\n"
      "Prints the core plan smpp-router uses: the control thread's core, one worker per core\n"
      "with the reason, the RX/TX queue each worker polls on each NIC, the warnings of a plan\n"
      "that hurts, and a [router] workers snippet smpp-router accepts.\n"
      "\n"
      "  --check CONFIG         plan the workers of CONFIG ('auto' or its CPU list) instead of\n"
      "                         'auto'; exit 1 when a warning applies\n"
      "  --nic NAME             a port the workers poll: a PCI address (0000:81:00.0) or an\n"
      "                         interface name; repeatable. 'auto' then keeps the workers on the\n"
      "                         NICs' NUMA nodes. Worker i polls RX/TX queue pair i of every "
      "port.\n"
      "  --queues N             RX/TX queue pairs each port offers (default: the kernel's count\n"
      "                         in /sys/class/net/IF/queues on this machine, else unknown)\n"
      "  --topology-xml FILE    plan for another machine: an hwloc XML export\n"
      "                         (lstopo --of xml > FILE on that machine)\n"
      "  --synthetic DESC       plan for a synthetic machine, e.g. \"pack:2 numa:1 core:8 pu:2\"\n"
      "  --svg FILE             also draw the topology with the plan on it (SVG)\n"
      "  --help                 this text\n"
      "\n"
      "Warnings: smt-siblings (two workers on one core), numa-remote (a worker on another NUMA\n"
      "node than a NIC it polls), control-core-shared (a worker on the control thread's core),\n"
      "more-workers-than-queues (a NIC has fewer queue pairs than workers).\n"
      "Exit status: 0 plan printed, 1 --check found warnings, 2 usage, configuration or\n"
      "topology error.\n");
}

std::string node_text(int node) {
  return node < 0 ? "-" : std::to_string(node);
}

std::string cpu_list(const std::vector<uint32_t>& cpus) {
  std::string s;
  for (size_t i = 0; i < cpus.size(); ++i) {
    // Ranges keep a 128-thread NUMA node on one line: 0-63,128-191.
    size_t j = i;
    while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1) ++j;
    s += (s.empty() ? "" : ",") + std::to_string(cpus[i]);
    if (j > i) s += "-" + std::to_string(cpus[j]);
    i = j;
  }
  return s;
}

void print_plan(const dataplane::placement& p, const std::string& machine_name) {
  std::printf("machine: %s (%s)\n", p.machine_summary.c_str(), machine_name.c_str());
  for (const auto& nic : p.nics) {
    std::printf(
        "nic %s: pci %s, interface %s, NUMA node %s, local cpus %s, queue pairs %s\n",
        nic.name.c_str(), nic.pci_address.empty() ? "-" : nic.pci_address.c_str(),
        nic.interface.empty() ? "-" : nic.interface.c_str(), node_text(nic.numa_node).c_str(),
        nic.local_cpus.empty() ? "-" : cpu_list(nic.local_cpus).c_str(),
        nic.queues == 0 ? "unknown (give --queues)"
                        : (std::to_string(nic.queues) + " (" + nic.queues_from + ")").c_str());
  }
  std::printf("plan: %zu worker(s): %s\n", p.workers.size(), p.reason.c_str());
  bool control_free = true;
  for (const auto& w : p.workers) control_free &= w.where.core != p.control_core;
  std::printf("control thread: core %u (cpus %s), not pinned; %s\n", p.control_core,
              cpu_list(p.control_cpus).c_str(),
              control_free ? "no worker runs there" : "shared with a worker");
  std::printf("\n%-6s %-5s %-5s %-4s %-3s %-20s %s\n", "worker", "cpu", "core", "numa", "L3",
              "queue", "why");
  std::string ports;
  for (const auto& nic : p.nics) ports += (ports.empty() ? "" : ",") + nic.name;
  for (size_t i = 0; i < p.workers.size(); ++i) {
    const auto& w = p.workers[i];
    const std::string queue =
        ports.empty() ? std::string("-") : "q" + std::to_string(i) + " on " + ports;
    std::printf("%-6zu %-5u %-5u %-4s %-3s %-20s %s\n", i, w.where.cpu, w.where.core,
                node_text(w.where.numa_node).c_str(), node_text(w.where.l3).c_str(), queue.c_str(),
                w.reason.c_str());
  }
  std::printf("\n");
  if (p.warnings.empty()) {
    std::printf("warnings: none\n");
  } else {
    for (const auto& w : p.warnings) {
      std::printf("warning [%s]: %s\n", dataplane::to_string(w.kind), w.text.c_str());
    }
  }
}

void print_snippet(const dataplane::placement& p, bool live, bool automatic) {
  std::printf("\n# smpp-router configuration: merge into the [router] table of your file\n");
  if (live && automatic && p.nics.empty()) {
    std::printf("# (workers = \"auto\" plans the same on this machine)\n");
  }
  if (!p.nics.empty()) {
    std::printf(
        "# (the router learns its NICs from the future [dpdk] ports; until then this\n"
        "# explicit list carries the NIC-local plan)\n");
  }
  std::printf("[router]\nworkers = [");
  for (size_t i = 0; i < p.workers.size(); ++i) {
    std::printf("%s%u", i == 0 ? "" : ", ", p.workers[i].where.cpu);
  }
  std::printf("]\n");
}

bool parse_u32(const std::string& s, uint32_t lo, uint32_t hi, uint32_t& out) {
  if (s.empty() || s.size() > 10 || s.find_first_not_of("0123456789") != std::string::npos)
    return false;
  const unsigned long long v = std::strtoull(s.c_str(), nullptr, 10);
  if (v < lo || v > hi) return false;
  out = static_cast<uint32_t>(v);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  dataplane::placement_request req;
  std::string check_path, svg_path;
  std::vector<std::string> nics;
  uint32_t queues = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](std::string& out) {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "pin-advisor: %s needs a value\n", a.c_str());
        return false;
      }
      out = argv[++i];
      return true;
    };
    std::string v;
    if (a == "--help" || a == "-h") {
      usage(stdout);
      return 0;
    } else if (a == "--check") {
      if (!value(check_path)) return 2;
    } else if (a == "--nic") {
      if (!value(v)) return 2;
      nics.push_back(v);
    } else if (a == "--queues") {
      if (!value(v)) return 2;
      if (!parse_u32(v, 1, 65535, queues)) {
        std::fprintf(stderr, "pin-advisor: --queues must be an integer 1..65535 (got '%s')\n",
                     v.c_str());
        return 2;
      }
    } else if (a == "--topology-xml") {
      if (!value(req.source.xml_path)) return 2;
    } else if (a == "--synthetic") {
      if (!value(req.source.synthetic)) return 2;
    } else if (a == "--svg") {
      if (!value(svg_path)) return 2;
    } else {
      std::fprintf(stderr, "pin-advisor: unknown argument '%s'\n", a.c_str());
      usage(stderr);
      return 2;
    }
  }
  if (!req.source.xml_path.empty() && !req.source.synthetic.empty()) {
    std::fprintf(stderr, "pin-advisor: give --topology-xml or --synthetic, not both\n");
    return 2;
  }
  if (queues != 0 && nics.empty()) {
    std::fprintf(stderr, "pin-advisor: --queues applies to the ports given with --nic\n");
    return 2;
  }
  for (const auto& n : nics) req.nics.push_back({n, queues});

  if (!check_path.empty()) {
    const control::config_result loaded = control::load_config_file(check_path);
    if (!loaded.ok()) {
      for (const auto& e : loaded.errors) std::fprintf(stderr, "%s\n", e.to_string().c_str());
      if (loaded.errors.empty())
        std::fprintf(stderr, "%s: invalid configuration\n", check_path.c_str());
      return 2;
    }
    req.automatic = loaded.config->workers.automatic;
    req.cpus = loaded.config->workers.cpus;
  }

  dataplane::placement plan;
  std::string error;
  if (!dataplane::plan_placement(req, plan, error)) {
    std::fprintf(stderr, "pin-advisor: %s%s%s\n", check_path.empty() ? "" : check_path.c_str(),
                 check_path.empty() ? "" : ": workers: ", error.c_str());
    return 2;
  }
  const bool live = req.source.xml_path.empty() && req.source.synthetic.empty();
  const std::string machine_name = !req.source.xml_path.empty() ? "XML " + req.source.xml_path
                                   : !req.source.synthetic.empty()
                                       ? "synthetic \"" + req.source.synthetic + "\""
                                       : std::string("this machine");
  if (!check_path.empty()) {
    std::printf("checking %s: workers = %s\n", check_path.c_str(),
                req.automatic ? "\"auto\"" : ("[" + cpu_list(req.cpus) + "]").c_str());
  }
  print_plan(plan, machine_name);
  print_snippet(plan, live, req.automatic);

  if (!svg_path.empty()) {
    const std::string svg = control::plan_svg(
        plan, "smpp-router core plan: " + machine_name + ", " + plan.machine_summary);
    std::ofstream f(svg_path, std::ios::binary | std::ios::trunc);
    f << svg;
    f.close();
    if (!f) {
      std::fprintf(stderr, "pin-advisor: cannot write %s: %s\n", svg_path.c_str(),
                   std::strerror(errno));
      return 2;
    }
    std::fprintf(stderr, "pin-advisor: drew the plan in %s\n", svg_path.c_str());
  }
  return !check_path.empty() && !plan.warnings.empty() ? 1 : 0;
}
