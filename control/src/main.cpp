// smpp-router: loads the configuration, plans and pins the workers, runs them until SIGTERM or
// SIGINT, then unbinds every session and exits 0.
#include <pthread.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "port_fanout.hpp"
#include "smpp/control/admin.hpp"
#include "smpp/control/config.hpp"
#include "smpp/control/snapshot_builder.hpp"
#include "smpp/dataplane/dpdk/dpdk_transport.hpp"
#include "smpp/dataplane/dpdk/eal.hpp"
#include "smpp/dataplane/dpdk/port.hpp"
#include "smpp/dataplane/dpdk/steering.hpp"
#include "smpp/dataplane/kernel_transport.hpp"
#include "smpp/dataplane/placement.hpp"
#include "smpp/dataplane/router_worker.hpp"

namespace {

using namespace smpp;
using control::port_fanout;

std::atomic<bool> g_stop{false};

uint64_t now_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

void usage(std::FILE* f) {
  std::fprintf(f,
               "usage: smpp-router --config FILE [--check]\n"
               "\n"
               "Routes SMPP traffic from bound ESMEs to upstream SMSCs (see config/README.md).\n"
               "  --config FILE  the TOML configuration\n"
               "  --check        validate the configuration and the worker plan, then exit\n"
               "  --help         this text\n"
               "[router] transport = \"dpdk\" runs the workers on DPDK ports with the userspace\n"
               "TCP/IP stack ([dpdk] in config/README.md); the default is kernel sockets.\n"
               "SIGTERM or SIGINT unbinds every session and exits 0.\n");
}

// [router] transport = "dpdk": the EAL and the ports, set up once by main() before the workers
// start and closed after they stopped (declaration order: the ports go before the EAL).
struct dpdk_setup {
  std::optional<dataplane::dpdk::eal> eal;
  std::vector<dataplane::dpdk::port> ports;
  // Per port: software steering between the workers when the device has several queues but no
  // RSS (TAP, memif; dataplane/src/dpdk/README.md), else nullptr. Declared after the ports: it
  // goes before them, after the workers' transports.
  std::vector<std::unique_ptr<dataplane::dpdk::steering>> steerings;
};
constexpr uint32_t steering_ring_frames = 1024;

// What one worker's DPDK transports counted, every port together (printed at exit).
struct dpdk_worker_counters {
  uint64_t accepted = 0;
  uint64_t connects = 0;
  uint64_t rx_frames = 0;
  uint64_t tx_frames = 0;
  uint64_t retransmits = 0;
  uint64_t fast_retransmits = 0;
  uint64_t out_of_order = 0;
  uint64_t rx_lost = 0, rx_duplicated = 0, rx_reordered = 0;
  uint64_t tx_lost = 0, tx_duplicated = 0, tx_reordered = 0;

  void add(const dataplane::dpdk::dpdk_transport& t) {
    accepted += t.stats().accepted;
    connects += t.stats().connects;
    rx_frames += t.link_counters().rx_frames;
    tx_frames += t.link_counters().tx_frames;
    retransmits += t.tcp_counters().retransmits;
    fast_retransmits += t.tcp_counters().fast_retransmits;
    out_of_order += t.tcp_counters().out_of_order;
    rx_lost += t.rx_faults().lost;
    rx_duplicated += t.rx_faults().duplicated;
    rx_reordered += t.rx_faults().reordered;
    tx_lost += t.tx_faults().lost;
    tx_duplicated += t.tx_faults().duplicated;
    tx_reordered += t.tx_faults().reordered;
  }
};

struct worker_result {
  int start_error = 0;
  std::string start_message;  // when the transport could not be built
  dataplane::worker_stats stats;
  dataplane::kernel_transport_stats transport;
  std::optional<dpdk_worker_counters> dpdk;
  std::vector<dataplane::router_worker::gate_report> gates;
};

uint32_t netmask_of(uint8_t prefix_length) {
  return prefix_length == 0 ? 0 : ~uint32_t{0} << (32 - prefix_length);
}

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

// One worker's DPDK transport: on its queue of the port, or a fan-out over every port. nullptr
// with `error` when one cannot be built.
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
      dataplane::net::mac_addr mac{};
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
    members.push_back(
        port_fanout::member{std::move(t), pc.ipv4, netmask_of(pc.prefix_length), pc.gateway != 0});
  }
  if (members.size() == 1) return std::move(members.front().transport);
  return std::make_unique<port_fanout>(std::move(members), cfg.dpdk.idle_sleep_us);
}

dpdk_worker_counters dpdk_counters_of(dataplane::transport& t) {
  dpdk_worker_counters sum;
  if (auto* one = dynamic_cast<dataplane::dpdk::dpdk_transport*>(&t)) {
    sum.add(*one);
  } else if (auto* many = dynamic_cast<port_fanout*>(&t)) {
    for (const auto& m : many->members()) {
      sum.add(static_cast<const dataplane::dpdk::dpdk_transport&>(*m.transport));
    }
  }
  return sum;
}

// Runs the worker's poll loop on `transport` until SIGTERM/SIGINT and the unbinding are done.
void serve(uint32_t index, uint32_t workers, dataplane::transport& transport,
           std::shared_ptr<const dataplane::router_snapshot> snap, dataplane::shared_state* shared,
           dataplane::ring_mesh* mesh, worker_result* result, std::atomic<uint32_t>* started) {
  dataplane::router_worker worker(index, workers, transport, std::move(snap), shared, mesh);
  result->start_error = worker.start(now_ms());
  if (result->start_error != 0) {
    if (auto* d = dynamic_cast<dataplane::dpdk::dpdk_transport*>(&transport))
      result->start_message = d->last_error();
  }
  started->fetch_add(1);
  if (result->start_error != 0) return;
  bool stopping = false;
  // Adaptive polling: after a turn with work, poll again without sleeping; only after
  // kIdleSpins empty turns in a row (tens of microseconds) sleep in the kernel. Under load the
  // worker never sleeps, so senders pay no wake-up and ring messages wait no poll timeout. (A
  // DPDK transport spins instead of sleeping: a poll-mode driver; with [dpdk] idle_sleep_us it
  // sleeps in steps of that many microseconds once idle.)
  constexpr uint32_t kIdleSpins = 64;
  uint32_t idle = 0;
  for (;;) {
    const uint64_t now = now_ms();
    if (!stopping && g_stop.load(std::memory_order_relaxed)) {
      stopping = true;
      worker.begin_shutdown(now);
    }
    if (stopping && worker.done()) break;
    const int work = worker.run_once(now, idle < kIdleSpins ? 0 : 1000);
    idle = work > 0 ? 0 : idle + 1;
  }
  transport.flush();
  result->stats = worker.stats();
  result->gates = worker.gate_reports();
}

// The worker thread. With DPDK it registers itself with the EAL (rte_thread_register) after
// pinning, so it has an lcore id of its own (the mempool's per-lcore cache serves its queues),
// and builds its transport here, on its own NUMA node.
void run_worker(uint32_t index, uint32_t workers, uint32_t cpu,
                std::shared_ptr<const dataplane::router_snapshot> snap,
                dataplane::shared_state* shared, dataplane::ring_mesh* mesh,
                const control::router_config* cfg, const dpdk_setup* dpdk, worker_result* result,
                std::atomic<uint32_t>* started) {
  std::string err;
  if (!dataplane::pin_current_thread(cpu, err)) {
    std::fprintf(stderr, "smpp-router: worker %u: cannot pin to cpu %u: %s (running unpinned)\n",
                 index, cpu, err.c_str());
  }
  if (dpdk == nullptr) {
    dataplane::transport_limits tl;
    tl.max_connections = cfg->limits.max_connections;
    tl.max_send_queue_bytes = cfg->limits.max_send_queue_bytes;
    dataplane::kernel_transport transport(tl);
    serve(index, workers, transport, std::move(snap), shared, mesh, result, started);
    result->transport = transport.stats();
    return;
  }
  if (rte_thread_register() != 0) {
    result->start_error = -EAGAIN;
    result->start_message = std::string("rte_thread_register: ") + rte_strerror(rte_errno) +
                            " (more threads than RTE_MAX_LCORE?)";
    started->fetch_add(1);
    return;
  }
  if (auto transport = make_dpdk_transport(*cfg, *dpdk, index, err)) {
    serve(index, workers, *transport, std::move(snap), shared, mesh, result, started);
    result->dpdk = dpdk_counters_of(*transport);
  } else {
    result->start_error = -EINVAL;
    result->start_message = err;
    started->fetch_add(1);
  }
  // The transport is gone (its buffers back in the mempool through this lcore's cache).
  rte_thread_unregister();
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

// What a validated change from the admin API does to the running router: the new snapshot is
// published to the workers (RCU), who adopt it within a tick. The snapshot builder keeps every
// tenant's, upstream's and bind's index (removed ones stay as retired entries, see
// build_snapshot), so tenants and upstreams may be added, removed and reordered and binds
// added or removed while traffic flows. What the workers set up once at start must stay:
// listeners, the frame limit and the correlation table; and the workers' per-tenant and
// per-upstream arrays have room for shared_state's headroom beyond the first snapshot. Those
// changes answer 409 and need a restart.
control::snapshot_publisher make_publisher(
    dataplane::shared_state* shared, std::shared_ptr<const dataplane::router_snapshot> first) {
  struct state {
    std::mutex mu;
    std::shared_ptr<const dataplane::router_snapshot> current;
    size_t tenant_room = 0;
    size_t upstream_room = 0;
  };
  auto st = std::make_shared<state>();
  st->tenant_room = first->tenants.size() + dataplane::shared_state::tenant_headroom;
  st->upstream_room = first->upstreams.size() + dataplane::shared_state::upstream_headroom;
  st->current = std::move(first);
  return [shared, st](const control::router_config&,
                      const std::shared_ptr<const dataplane::router_snapshot>& next)
             -> control::publish_result {
    std::lock_guard lock(st->mu);
    const dataplane::router_snapshot& old = *st->current;
    auto conflict = [](std::string why) {
      return control::publish_result{409, std::move(why) + ": restart the router to apply it"};
    };
    // The builder keeps indices (it was given the current snapshot); a snapshot built without
    // it would move them.
    bool kept = next->tenants.size() >= old.tenants.size() &&
                next->upstreams.size() >= old.upstreams.size();
    for (size_t i = 0; kept && i < old.tenants.size(); ++i)
      kept = next->tenants[i].name == old.tenants[i].name;
    for (size_t i = 0; kept && i < old.upstreams.size(); ++i) {
      kept = next->upstreams[i].name == old.upstreams[i].name &&
             next->upstreams[i].binds.size() >= old.upstreams[i].binds.size();
    }
    if (!kept) return conflict("tenants, upstreams or binds changed their indices");
    if (next->tenants.size() > st->tenant_room)
      return conflict("more tenants added since the start than the running router has room for (" +
                      std::to_string(st->tenant_room) + ", removed ones included)");
    if (next->upstreams.size() > st->upstream_room)
      return conflict(
          "more upstreams added since the start than the running router has room "
          "for (" +
          std::to_string(st->upstream_room) + ", removed ones included)");
    if (next->listeners.size() != old.listeners.size()) return conflict("the listeners changed");
    for (size_t i = 0; i < old.listeners.size(); ++i) {
      if (next->listeners[i].host != old.listeners[i].host ||
          next->listeners[i].port != old.listeners[i].port)
        return conflict("the listeners changed");
    }
    if (next->max_command_length != old.max_command_length)
      return conflict("router.max_command_length changed");
    if (next->correlation.capacity != old.correlation.capacity ||
        next->correlation.ttl_ms != old.correlation.ttl_ms)
      return conflict("[correlation] changed");
    shared->publish(next);
    st->current = next;
    return {200, {}};
  };
}

// The admin API and /metrics on their own threads; nullptr when disabled or when it cannot
// listen (the router then runs without it and says so).
std::unique_ptr<control::admin_server> start_admin(
    const control::router_config& cfg, std::shared_ptr<const dataplane::router_snapshot> snap,
    dataplane::shared_state* shared, dataplane::ring_mesh* mesh,
    const dataplane::placement& placed) {
  if (!cfg.admin.enabled) return nullptr;
  control::admin_view view;
  view.shared = shared;
  view.mesh = mesh;
  view.placement = placed;
  auto publisher = make_publisher(shared, snap);
  auto admin = std::make_unique<control::admin_server>(cfg, std::move(snap), std::move(view),
                                                       std::move(publisher));
  std::string err;
  if (!admin->start(err)) {
    std::fprintf(stderr,
                 "smpp-router: warning: admin API: %s; running without the admin API and "
                 "/metrics ([admin] listen chooses another address)\n",
                 err.c_str());
    return nullptr;
  }
  const bool v6 = cfg.admin.host.find(':') != std::string::npos;
  const std::string where =
      (v6 ? "[" + cfg.admin.host + "]" : cfg.admin.host) + ":" + std::to_string(admin->port());
  std::fprintf(stderr, "smpp-router: admin API and /metrics on http://%s (%s)\n", where.c_str(),
               cfg.admin.token.empty() ? "read-only: no [admin] token configured"
                                       : "changes need the token");
  return admin;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path;
  bool check_only = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      usage(stdout);
      return 0;
    }
    if (a == "--config" && i + 1 < argc) {
      config_path = argv[++i];
    } else if (a == "--check") {
      check_only = true;
    } else {
      std::fprintf(stderr, "smpp-router: unknown argument '%s'\n", a.c_str());
      usage(stderr);
      return 2;
    }
  }
  if (config_path.empty()) {
    usage(stderr);
    return 2;
  }
  const control::config_result loaded = control::load_config_file(config_path);
  if (!loaded.ok()) {
    for (const auto& e : loaded.errors) std::fprintf(stderr, "%s\n", e.to_string().c_str());
    if (loaded.errors.empty())
      std::fprintf(stderr, "%s: invalid configuration\n", config_path.c_str());
    return 2;
  }
  const control::router_config& cfg = *loaded.config;
  std::string error;
  auto snap = control::build_snapshot(cfg, error);
  if (!snap) {
    std::fprintf(stderr, "%s: %s\n", config_path.c_str(), error.c_str());
    return 2;
  }
  // The same planner as pin-advisor; its warnings are the advisor's --check warnings.
  dataplane::placement_request placement_req;
  placement_req.automatic = cfg.workers.automatic;
  placement_req.cpus = cfg.workers.cpus;
  dataplane::placement placed;
  if (!dataplane::plan_placement(placement_req, placed, error)) {
    std::fprintf(stderr, "%s: workers: %s\n", config_path.c_str(), error.c_str());
    return 2;
  }
  const auto n = static_cast<uint32_t>(placed.workers.size());
  std::fprintf(stderr, "smpp-router: %u worker(s): %s\n", n, placed.reason.c_str());
  for (uint32_t i = 0; i < n; ++i) {
    const auto& at = placed.workers[i].where;
    std::fprintf(stderr, "smpp-router: worker %u -> cpu %u (core %u, numa %s)\n", i, at.cpu,
                 at.core, at.numa_node < 0 ? "?" : std::to_string(at.numa_node).c_str());
  }
  for (const auto& w : placed.warnings) {
    std::fprintf(stderr, "smpp-router: warning [%s]: %s\n", dataplane::to_string(w.kind),
                 w.text.c_str());
  }
  if (check_only) {
    std::fprintf(stderr, "smpp-router: %s is valid\n", config_path.c_str());
    return 0;
  }

  // Signals go to this thread only (sigwait below); workers inherit the blocked mask.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  // After the signal mask: the EAL's own threads inherit it, so SIGTERM reaches sigwait below.
  dpdk_setup dpdk;
  if (cfg.transport == control::transport_kind::dpdk) {
    if (!start_dpdk(cfg, placed, dpdk, error)) {
      std::fprintf(stderr, "smpp-router: %s\n", error.c_str());
      return 1;
    }
  }

  // Every connection is a descriptor: take the whole hard limit, and say so when it cannot
  // hold the configured connections (accepts beyond it wait in the kernel's backlog).
  if (rlimit rl{}; getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    if (rl.rlim_cur < rl.rlim_max) {
      rl.rlim_cur = rl.rlim_max;
      (void)setrlimit(RLIMIT_NOFILE, &rl);
      (void)getrlimit(RLIMIT_NOFILE, &rl);
    }
    const uint64_t wanted = uint64_t{cfg.limits.max_connections} * n + 64;
    // On DPDK the sessions' connections are no descriptors.
    if (cfg.transport == control::transport_kind::kernel && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur < wanted) {
      std::fprintf(stderr,
                   "smpp-router: warning: at most %llu open files (RLIMIT_NOFILE) for %u "
                   "worker(s) of router.max_connections = %u each; raise the limit "
                   "(LimitNOFILE= in the systemd unit)\n",
                   static_cast<unsigned long long>(rl.rlim_cur), n, cfg.limits.max_connections);
    }
  }

  dataplane::shared_state shared(snap->tenants.size(), snap->upstreams.size(), n);
  shared.secret = dataplane::correlation_secret::random();  // one key for every worker
  shared.guard = std::make_unique<dataplane::bind_guard>(snap->bind_guard);
  // 8192 cells of 256 octets per ordered pair: room for every request a full set of upstream
  // windows can have in flight, with the PDUs themselves.
  std::unique_ptr<dataplane::ring_mesh> mesh;
  if (n > 1) mesh = std::make_unique<dataplane::ring_mesh>(n, 8192);
  std::vector<worker_result> results(n);
  std::atomic<uint32_t> started{0};
  std::vector<std::thread> threads;
  for (uint32_t i = 0; i < n; ++i) {
    threads.emplace_back(run_worker, i, n, placed.workers[i].where.cpu, snap, &shared, mesh.get(),
                         &cfg, dpdk.eal ? &dpdk : nullptr, &results[i], &started);
  }
  while (started.load() < n) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  int rc = 0;
  for (uint32_t i = 0; i < n; ++i) {
    if (!results[i].start_message.empty() && results[i].start_error != 0) {
      std::fprintf(stderr, "smpp-router: worker %u cannot start: %s\n", i,
                   results[i].start_message.c_str());
      rc = 1;
    } else if (results[i].start_error != 0) {
      std::fprintf(stderr, "smpp-router: worker %u cannot listen: %s\n", i,
                   std::strerror(-results[i].start_error));
      rc = 1;
    }
  }
  std::unique_ptr<control::admin_server> admin;
  if (rc == 0) admin = start_admin(cfg, snap, &shared, mesh.get(), placed);
  if (rc == 0) {
    for (const auto& l : cfg.listeners) {
      std::fprintf(stderr, "smpp-router: listening on %s:%u%s; stop with Ctrl-C or SIGTERM\n",
                   l.host.c_str(), l.port, l.tls ? " (TLS)" : "");
    }
    int sig = 0;
    sigwait(&set, &sig);
    std::fprintf(stderr, "smpp-router: %s: unbinding every session\n",
                 sig == SIGTERM ? "SIGTERM" : "SIGINT");
  }
  // The admin server reads the workers' counters: it stops before they do.
  if (admin) admin->stop();
  g_stop.store(true);
  for (auto& t : threads) t.join();
  uint64_t forwarded = 0, relayed = 0;
  for (uint32_t i = 0; i < n; ++i) {
    const auto& st = results[i].stats;
    forwarded += st.submit_forwarded;
    relayed += st.resp_relayed;
    std::fprintf(stderr,
                 "smpp-router: worker %u: %llu received, %llu forwarded, %llu relayed, %llu handed "
                 "off, %llu taken over, %llu throttled, %llu upstream failures\n",
                 i, static_cast<unsigned long long>(st.submit_received),
                 static_cast<unsigned long long>(st.submit_forwarded),
                 static_cast<unsigned long long>(st.resp_relayed),
                 static_cast<unsigned long long>(st.handed_off),
                 static_cast<unsigned long long>(st.handoff_received),
                 static_cast<unsigned long long>(st.throttled),
                 static_cast<unsigned long long>(st.upstream_unavailable + st.upstream_timeouts +
                                                 st.upstream_failed_inflight));
    if (st.backpressure_stalls > 0) {
      std::fprintf(stderr,
                   "smpp-router: worker %u: back-pressure: %llu sessions held back, %llu requests "
                   "sent back to their session's worker, %llu sessions closed at the bound\n",
                   i, static_cast<unsigned long long>(st.backpressure_stalls),
                   static_cast<unsigned long long>(st.backpressure_bounced),
                   static_cast<unsigned long long>(st.backpressure_overflow));
    }
    if (const auto& d = results[i].dpdk) {
      std::fprintf(stderr,
                   "smpp-router: worker %u: dpdk: %llu accepted, %llu connects, %llu frames in, "
                   "%llu out, %llu retransmits (%llu fast), %llu out of order; faults rx %llu lost "
                   "%llu duplicated %llu reordered, tx %llu lost %llu duplicated %llu reordered\n",
                   i, static_cast<unsigned long long>(d->accepted),
                   static_cast<unsigned long long>(d->connects),
                   static_cast<unsigned long long>(d->rx_frames),
                   static_cast<unsigned long long>(d->tx_frames),
                   static_cast<unsigned long long>(d->retransmits),
                   static_cast<unsigned long long>(d->fast_retransmits),
                   static_cast<unsigned long long>(d->out_of_order),
                   static_cast<unsigned long long>(d->rx_lost),
                   static_cast<unsigned long long>(d->rx_duplicated),
                   static_cast<unsigned long long>(d->rx_reordered),
                   static_cast<unsigned long long>(d->tx_lost),
                   static_cast<unsigned long long>(d->tx_duplicated),
                   static_cast<unsigned long long>(d->tx_reordered));
    }
    const auto& ts = results[i].transport;
    if (ts.tls_handshakes + ts.tls_handshake_failures > 0) {
      std::fprintf(stderr,
                   "smpp-router: worker %u: tls: %llu handshakes, %llu failed (%llu certificates "
                   "refused, %llu timed out)\n",
                   i, static_cast<unsigned long long>(ts.tls_handshakes),
                   static_cast<unsigned long long>(ts.tls_handshake_failures),
                   static_cast<unsigned long long>(ts.tls_verify_failures),
                   static_cast<unsigned long long>(ts.tls_handshake_timeouts));
    }
  }
  for (uint32_t i = 0; i < n; ++i) {
    for (const auto& g : results[i].gates) {
      // Slot-edge timing: how late requests left after their slot began (bucket bounds).
      std::fprintf(stderr,
                   "smpp-router: worker %u: gate %s: %llu slots, %llu sent (%llu lent), %llu "
                   "unused, %llu missed, %llu throttled by the SMSC; slot-edge lateness p50 < "
                   "%llu us, p99 < %llu us\n",
                   i, snap->upstreams[g.upstream].name.c_str(),
                   static_cast<unsigned long long>(g.stats.slots),
                   static_cast<unsigned long long>(g.stats.sent),
                   static_cast<unsigned long long>(g.stats.lent),
                   static_cast<unsigned long long>(g.stats.unused),
                   static_cast<unsigned long long>(g.stats.missed),
                   static_cast<unsigned long long>(g.stats.throttled),
                   static_cast<unsigned long long>(g.stats.lateness_quantile_us(0.5)),
                   static_cast<unsigned long long>(g.stats.lateness_quantile_us(0.99)));
    }
  }
  std::fprintf(stderr, "smpp-router: stopped; %llu requests forwarded, %llu answers relayed\n",
               static_cast<unsigned long long>(forwarded),
               static_cast<unsigned long long>(relayed));
  // On DPDK: leave without closing the ports (see eal::exit_without_teardown: every session is
  // closed and every counter printed by now).
  if (dpdk.eal) dpdk.eal->exit_without_teardown(rc);
  return rc;
}
