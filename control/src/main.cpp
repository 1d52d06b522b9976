// smpp-router: loads the configuration, plans and pins the workers, runs them until SIGTERM or
// SIGINT, then unbinds every session and exits 0.
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "smpp/control/admin.hpp"
#include "smpp/control/config.hpp"
#include "smpp/control/snapshot_builder.hpp"
#include "smpp/dataplane/kernel_transport.hpp"
#include "smpp/dataplane/placement.hpp"
#include "smpp/dataplane/router_worker.hpp"

namespace {

using namespace smpp;

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
               "SIGTERM or SIGINT unbinds every session and exits 0.\n");
}

struct worker_result {
  int start_error = 0;
  dataplane::worker_stats stats;
  dataplane::kernel_transport_stats transport;
  std::vector<dataplane::router_worker::gate_report> gates;
};

void run_worker(uint32_t index, uint32_t workers, uint32_t cpu,
                std::shared_ptr<const dataplane::router_snapshot> snap,
                dataplane::shared_state* shared, dataplane::ring_mesh* mesh,
                const control::limits_config& limits, worker_result* result,
                std::atomic<uint32_t>* started) {
  std::string err;
  if (!dataplane::pin_current_thread(cpu, err)) {
    std::fprintf(stderr, "smpp-router: worker %u: cannot pin to cpu %u: %s (running unpinned)\n",
                 index, cpu, err.c_str());
  }
  dataplane::transport_limits tl;
  tl.max_connections = limits.max_connections;
  tl.max_send_queue_bytes = limits.max_send_queue_bytes;
  dataplane::kernel_transport transport(tl);
  dataplane::router_worker worker(index, workers, transport, std::move(snap), shared, mesh);
  result->start_error = worker.start(now_ms());
  started->fetch_add(1);
  if (result->start_error != 0) return;
  bool stopping = false;
  // Adaptive polling: after a turn with work, poll again without sleeping; only after
  // kIdleSpins empty turns in a row (tens of microseconds) sleep in the kernel. Under load the
  // worker never sleeps, so senders pay no wake-up and ring messages wait no poll timeout.
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
  result->transport = transport.stats();
  result->gates = worker.gate_reports();
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
      return conflict("more upstreams added since the start than the running router has room "
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

  // Every connection is a descriptor: take the whole hard limit, and say so when it cannot
  // hold the configured connections (accepts beyond it wait in the kernel's backlog).
  if (rlimit rl{}; getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    if (rl.rlim_cur < rl.rlim_max) {
      rl.rlim_cur = rl.rlim_max;
      (void)setrlimit(RLIMIT_NOFILE, &rl);
      (void)getrlimit(RLIMIT_NOFILE, &rl);
    }
    const uint64_t wanted = uint64_t{cfg.limits.max_connections} * n + 64;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < wanted) {
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
                         cfg.limits, &results[i], &started);
  }
  while (started.load() < n) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  int rc = 0;
  for (uint32_t i = 0; i < n; ++i) {
    if (results[i].start_error != 0) {
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
  return rc;
}
