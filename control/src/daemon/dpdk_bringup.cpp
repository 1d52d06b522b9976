#include "dpdk_bringup.hpp"

#include <sched.h>

#include <algorithm>
#include <cstdio>
#include <utility>

#include "smpp/dataplane/address.hpp"
#include "smpp/dataplane/dpdk/dpdk_transport.hpp"
#include "smpp/dataplane/dpdk/fault.hpp"
#include "smpp/dataplane/dpdk/port_fanout.hpp"

namespace smpp::router_daemon {
namespace {

using dataplane::dpdk::port_fanout;

constexpr uint32_t steering_ring_frames = 1024;

// The [dpdk] fault text with the seed of worker `worker`, direction `tx`: every worker, port and
// direction draws its own sequence from the configured seed (default 1).
std::string fault_text_for(const std::string& text, uint32_t worker, uint32_t port, bool tx) {
  if (text.empty()) return text;
  dataplane::dpdk::fault_config parsed;
  std::string ignored;
  (void)dataplane::dpdk::fault_config::parse(text, parsed, ignored);  // checked at load time
  const uint64_t seed = parsed.seed * 1'000'003 + (uint64_t{worker} * 16 + port) * 2 + (tx ? 1 : 0);
  return dataplane::dpdk::fault_config::with_seed(text, seed);
}

}  // namespace

std::unique_ptr<dataplane::transport> make_dpdk_transport(const control::router_config& cfg,
                                                          const dpdk_setup& dpdk, uint32_t index,
                                                          std::string& error) {
  std::vector<port_fanout::member> members;
  for (uint32_t p = 0; p < dpdk.ports.size(); ++p) {
    const control::dpdk_port_config& pc = cfg.dpdk.ports[p];
    dataplane::dpdk::dpdk_transport_config tc;
    tc.address = pc.ipv4;
    tc.prefix_len = pc.prefix_length;
    tc.gateway = pc.gateway;
    for (const auto& a : pc.arp) {
      net::mac_addr mac{};
      for (size_t i = 0; i < mac.size(); ++i) mac[i] = std::byte{a.mac[i]};
      tc.static_arp.emplace_back(a.ipv4, mac);
    }
    tc.tcp.max_connections = cfg.dpdk.tcp_connections;
    tc.limits.max_connections =
        std::min(cfg.limits.max_connections, std::max(1u, cfg.dpdk.tcp_connections / 4 * 3));
    tc.limits.max_send_queue_bytes = cfg.limits.max_send_queue_bytes;
    tc.software_steering = dpdk.steerings[p].get();
    tc.rx_faults = fault_text_for(cfg.dpdk.fault, index, p, false);
    tc.tx_faults = fault_text_for(cfg.dpdk.fault, index, p, true);
    tc.idle_sleep_us = cfg.dpdk.idle_sleep_us;
    auto t = dataplane::dpdk::dpdk_transport::create(dpdk.ports[p], static_cast<uint16_t>(index),
                                                     std::move(tc), error);
    if (!t) {
      error = "port " + pc.device + ": " + error;
      return nullptr;
    }
    members.push_back(port_fanout::member{
        std::move(t), pc.ipv4, dataplane::ipv4_netmask(pc.prefix_length), pc.gateway != 0});
  }
  if (members.size() == 1) return std::move(members.front().transport);
  return std::make_unique<port_fanout>(std::move(members), cfg.dpdk.idle_sleep_us);
}

// [router] transport = "dpdk": the EAL on the worker plan's CPUs, then every port with one queue
// pair per worker. The EAL pins the calling thread to the main lcore's CPU: the main thread's
// affinity is put back afterwards, so the control threads do not run on worker 0's core.
bool start_dpdk(const control::router_config& cfg, const dataplane::placement& placed,
                dpdk_setup& out, std::string& error) {
  dataplane::dpdk::eal_config ec;
  ec.cpus.clear();
  for (const auto& w : placed.workers) ec.cpus.push_back(w.where.cpu);
  ec.no_huge = cfg.dpdk.no_huge;
  ec.memory_mb = cfg.dpdk.memory_mb;
  ec.vdevs = cfg.dpdk.vdevs;
  ec.pci_allow = cfg.dpdk.pci;
  ec.no_pci = cfg.dpdk.pci.empty();
  ec.file_prefix = cfg.dpdk.file_prefix;
  ec.log_level = cfg.dpdk.log_level;
  cpu_set_t before;
  const bool saved = sched_getaffinity(0, sizeof before, &before) == 0;
  auto eal = dataplane::dpdk::eal::init(ec, error);
  if (saved) (void)sched_setaffinity(0, sizeof before, &before);
  if (!eal) {
    error = "DPDK EAL: " + error;
    return false;
  }
  out.eal.emplace(std::move(*eal));
  for (const control::dpdk_port_config& pc : cfg.dpdk.ports) {
    dataplane::dpdk::port_config c;
    c.device = pc.device;
    c.worker_lcores = out.eal->lcores();
    c.mtu = cfg.dpdk.mtu;
    // A link still down (a cable, a memif peer not yet there) is not an error: the router runs
    // and its connections come up with the link.
    c.require_link_up = false;
    c.link_wait_ms = 1000;
    const auto queues = static_cast<uint16_t>(c.worker_lcores.size());
    if (queues > 1) {
      // Room for the frames software steering may hold in its rings (when the device turns out
      // to have no RSS), beyond what the port needs for its queues.
      c.mbufs_per_pool = queues * (c.rx_descriptors + c.tx_descriptors + 4 * 32 + c.mbuf_cache) +
                         32 +
                         static_cast<uint32_t>(dataplane::dpdk::steering::mbufs_held_at_most(
                             queues, steering_ring_frames));
    }
    auto p = dataplane::dpdk::port::open(c, error);
    if (!p) {
      error = "DPDK port " + pc.device + ": " + error;
      return false;
    }
    // Without the device's RSS every frame arrives on queue 0: the worker there hands each one
    // to the worker its software hash names.
    std::unique_ptr<dataplane::dpdk::steering> steer;
    if (p->queues() > 1 && !p->hardware_rss()) {
      steer = dataplane::dpdk::steering::create(p->steering(), {p->queues(), steering_ring_frames},
                                                error);
      if (!steer) {
        error = "DPDK port " + pc.device + ": software steering: " + error;
        return false;
      }
    }
    std::fprintf(stderr,
                 "smpp-router: dpdk port %s: link %s, %u queue(s), %s, address %u.%u.%u.%u/%u, "
                 "mac %02x:%02x:%02x:%02x:%02x:%02x\n",
                 pc.device.c_str(), p->wait_link_up(0) ? "up" : "down (not waiting for it)",
                 static_cast<unsigned>(p->queues()),
                 p->hardware_rss() ? "hardware RSS" : "software steering", pc.ipv4 >> 24,
                 (pc.ipv4 >> 16) & 0xff, (pc.ipv4 >> 8) & 0xff, pc.ipv4 & 0xff,
                 static_cast<unsigned>(pc.prefix_length), static_cast<unsigned>(p->mac()[0]),
                 static_cast<unsigned>(p->mac()[1]), static_cast<unsigned>(p->mac()[2]),
                 static_cast<unsigned>(p->mac()[3]), static_cast<unsigned>(p->mac()[4]),
                 static_cast<unsigned>(p->mac()[5]));
    out.ports.push_back(std::move(*p));
    out.steerings.push_back(std::move(steer));
  }
  return true;
}

}  // namespace smpp::router_daemon
