// smpp-router: loads the configuration, plans and pins the workers, runs them until SIGTERM or
// SIGINT, then unbinds every session and exits 0. The pieces: daemon/dpdk_bringup (EAL, ports,
// transports), daemon/workers (the worker threads), daemon/admin_bringup (the admin API and its
// publisher), daemon/exit_report.
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "daemon/admin_bringup.hpp"
#include "daemon/dpdk_bringup.hpp"
#include "daemon/exit_report.hpp"
#include "daemon/store_bringup.hpp"
#include "daemon/workers.hpp"
#include "smpp/control/admin.hpp"
#include "smpp/control/config.hpp"
#include "smpp/control/snapshot_builder.hpp"
#include "smpp/dataplane/bind_guard.hpp"
#include "smpp/dataplane/correlation.hpp"
#include "smpp/dataplane/handoff.hpp"
#include "smpp/dataplane/placement.hpp"
#include "smpp/dataplane/snapshot.hpp"

namespace {

using namespace smpp;

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

// The plan as the router starts with it (pin-advisor --check prints the same warnings).
void log_placement(const dataplane::placement& placed) {
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
}

// Every connection is a descriptor: take the whole hard limit, and say so when it cannot
// hold the configured connections (accepts beyond it wait in the kernel's backlog).
void raise_open_file_limit(const control::router_config& cfg, uint32_t n) {
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
}

// The correlation table holds capacity ids; a message waits in it from its answer to its final
// receipt. When every upstream has a contracted rate, their sum over the TTL may exceed the
// capacity: at that rate, receipts slower than capacity / rate seconds find their ids evicted.
void warn_correlation_sizing(const control::router_config& cfg) {
  uint64_t rate = 0;
  for (const auto& u : cfg.upstreams) {
    uint64_t binds = 0;
    for (const auto& b : u.binds) {
      if (b.rate_per_s == 0) return;  // unlimited: nothing to reckon with at start
      binds += uint64_t{b.rate_per_s} * b.count;
    }
    rate += u.rate_per_s != 0 ? u.rate_per_s : binds;
  }
  const control::correlation_config& c = cfg.correlation;
  if (rate == 0 || rate * c.ttl_s <= c.capacity) return;
  std::fprintf(stderr,
               "smpp-router: warning: [correlation] capacity %llu holds the ids of %.0f s of "
               "traffic at the upstreams' contracted %llu messages/s, less than ttl_s %u: "
               "receipts slower than that will not be matched (capacity >= rate x the time "
               "receipts take; see [correlation] in config/README.md)\n",
               static_cast<unsigned long long>(c.capacity),
               static_cast<double>(c.capacity) / static_cast<double>(rate),
               static_cast<unsigned long long>(rate), c.ttl_s);
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
  log_placement(placed);
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
  router_daemon::dpdk_setup dpdk;
  if (cfg.transport == control::transport_kind::dpdk) {
    if (!router_daemon::start_dpdk(cfg, placed, dpdk, error)) {
      std::fprintf(stderr, "smpp-router: %s\n", error.c_str());
      return 1;
    }
  }

  raise_open_file_limit(cfg, n);
  warn_correlation_sizing(cfg);

  dataplane::shared_state shared(snap->tenants.size(), snap->upstreams.size(), n);
  shared.secret = dataplane::correlation_secret::random();  // one key for every worker
  // The store (unless [store] sync = "off") replaces that key with the one it was written with,
  // and gives every worker its journal; the workers take its state back before they listen.
  router_daemon::store_setup store;
  if (!store.start(cfg, *snap, n, shared, error)) {
    std::fprintf(stderr, "smpp-router: %s\n", error.c_str());
    if (dpdk.eal) dpdk.eal->exit_without_teardown(1);
    return 1;
  }
  shared.guard = std::make_unique<dataplane::bind_guard>(snap->bind_guard);
  // 8192 cells of 256 octets per ordered pair: room for every request a full set of upstream
  // windows can have in flight, with the PDUs themselves.
  std::unique_ptr<dataplane::ring_mesh> mesh;
  if (n > 1) mesh = std::make_unique<dataplane::ring_mesh>(n, 8192);
  router_daemon::worker_threads workers(
      placed, {&cfg, snap, &shared, mesh.get(), dpdk.eal ? &dpdk : nullptr});
  const int rc = workers.all_started() ? 0 : 1;
  std::unique_ptr<control::admin_server> admin;
  if (rc == 0) admin = router_daemon::start_admin(cfg, snap, &shared, mesh.get(), placed, &store);
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
  workers.stop();
  store.stop();  // after the workers: every record they handed over is written
  router_daemon::print_exit_report(workers.results(), *snap);
  // On DPDK: leave without closing the ports (see eal::exit_without_teardown: every session is
  // closed and every counter printed by now).
  if (dpdk.eal) dpdk.eal->exit_without_teardown(rc);
  return rc;
}
