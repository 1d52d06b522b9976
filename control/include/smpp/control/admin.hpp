// The control plane's HTTP admin API (JSON) and Prometheus /metrics ("Control plane" in
// docs/architecture.md). It runs on threads of its own, never on a worker core and never on the
// per-message path: it reads the workers' counters (relaxed atomics, see counters.hpp) and the
// shared_state, and it validates changes by building a complete configuration and snapshot,
// which it hands to a publisher the daemon supplies.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "smpp/control/config.hpp"
#include "smpp/dataplane/bind_guard.hpp"
#include "smpp/dataplane/counters.hpp"
#include "smpp/dataplane/handoff.hpp"
#include "smpp/dataplane/placement.hpp"
#include "smpp/dataplane/shared_state.hpp"
#include "smpp/dataplane/snapshot.hpp"

namespace smpp::control {

// ---- what the workers counted, summed over them ------------------------------------------------

struct histogram_totals {
  std::array<uint64_t, dataplane::latency_histogram::buckets> counts{};
  uint64_t sum_us = 0;
};

// Answers by command_status, summed over the workers (dataplane::status_counts).
struct status_totals {
  std::map<uint32_t, uint64_t> by_status;  // command_status -> count
  uint64_t other = 0;                      // statuses beyond a worker's status_counts::slots
};

// What became of the receipts or the MO messages an SMSC delivered (dataplane::return_counters
// summed): each received one is delivered, refused, failed or expired (an upstream's receipts
// also unmatched or invalid: upstream_totals), or still held or on its way to a receiver.
struct return_totals {
  uint64_t received = 0;
  uint64_t delivered = 0;  // acknowledged ESME_ROK by one of the tenant's receivers
  uint64_t refused = 0;    // answered to the SMSC with an error (it keeps them and retries)
  status_totals refused_by_status;
  uint64_t failed = 0;   // acknowledged to the SMSC, then refused for good by the receiver
  uint64_t expired = 0;  // acknowledged to the SMSC, held, dropped undelivered after hold_ttl
  uint64_t held = 0;     // gauge: acknowledged to the SMSC, waiting in a hold queue
};

struct traffic_totals {
  uint64_t submitted = 0;  // tenant: from its ESMEs; upstream: written to its binds
  uint64_t accepted = 0;
  uint64_t rejected = 0;
  status_totals rejected_by_status;
  return_totals receipts;
  return_totals mo;
  uint64_t ids_evicted = 0;  // its message ids evicted from a full correlation table
  histogram_totals latency;
};

struct tenant_totals : traffic_totals {
  uint64_t queued = 0;  // requests waiting for a slot at the gated binds (gauge)
  uint32_t binds = 0;   // bound ESME sessions, all workers
  std::vector<uint32_t> receivers_per_worker;  // bound receiver and transceiver sessions
  // Receipts and MO in the hold queues (gauge).
  [[nodiscard]] uint64_t held() const noexcept { return receipts.held + mo.held; }
};

struct upstream_totals : traffic_totals {
  uint64_t receipts_unmatched = 0;  // no correlation entry: acknowledged, not relayed
  uint64_t receipts_invalid = 0;    // no usable message id: acknowledged, not relayed
  uint64_t retried = 0;             // refused with a status of retry_on, sent to the next upstream
  status_totals retried_by_status;
  // The quality window (upstream_quality.hpp) summed over the workers: gauges.
  uint64_t window_finals = 0;      // final receipts
  uint64_t window_delivered = 0;   // ... delivered
  uint64_t window_answers = 0;     // answers to message requests
  uint64_t window_latency_us = 0;  // ... their latencies, summed
  std::vector<uint32_t> binds_up_per_worker;
  uint32_t failed_links = 0;  // binds down after a failure
};

// The router's message-id correlation (worker_stats summed over the workers).
struct correlation_totals {
  uint64_t noted = 0;                // message ids noted for receipts and message operations
  uint64_t evicted = 0;              // noted ids evicted from a full table before their TTL
  uint64_t final = 0;                // entries freed by a final receipt the SMSC had ESME_ROK for
  uint64_t message_ops = 0;          // query_sm / cancel_sm / replace_sm sent upstream
  uint64_t message_ops_unknown = 0;  // ... for an id without an entry: ESME_RINVMSGID
};

// PDUs beyond submit and deliver (worker_stats summed over the workers).
struct pdu_totals {
  uint64_t alerts_relayed = 0;      // alert_notification (SMPP 3.4 §4.12) to a tenant's receiver
  uint64_t alerts_unrouted = 0;     // ... no MO route owns its esme_addr: dropped
  uint64_t alerts_dropped = 0;      // ... no receiver of the tenant could take it
  uint64_t broadcast_no_taker = 0;  // broadcast_sm whose route has no upstream taking broadcasts
};

struct worker_totals {
  bool running = false;  // the worker exists (started, not yet stopped)
  uint64_t busy_us = 0;
  uint64_t idle_us = 0;
  uint64_t submit_received = 0;
  uint64_t submit_forwarded = 0;
  uint64_t resp_relayed = 0;
  uint64_t bind_failed = 0;
  uint64_t throttled = 0;
  uint64_t handed_off = 0;
  uint64_t handoff_received = 0;
  uint64_t backpressure_stalls = 0;  // sessions stopped because their tenant's queue was full
  uint64_t stalled_sessions = 0;     // gauge: sessions not read right now (back-pressure)
  uint64_t receipts_received = 0;    // receipts from its upstream binds
  uint64_t mo_received = 0;          // MO messages from its upstream binds
  uint64_t deliver_refused = 0;      // receipts/MO it answered to the SMSC with an error
};

struct ring_totals {
  uint32_t from = 0;
  uint32_t to = 0;
  size_t used_cells = 0;  // approximate: read while both ends run
  size_t capacity_cells = 0;
};

struct router_totals {
  std::vector<tenant_totals> tenants;      // in snapshot order
  std::vector<upstream_totals> upstreams;  // in snapshot order
  std::vector<worker_totals> workers;
  correlation_totals correlation;
  pdu_totals pdus;
  std::vector<ring_totals> rings;
  bool guard_present = false;
  dataplane::bind_guard_stats guard;
};

// What the admin API reads from the running router; it must outlive the admin server, and the
// server must be stopped before the workers are (shared_state::workers).
struct admin_view {
  dataplane::shared_state* shared = nullptr;
  dataplane::ring_mesh* mesh = nullptr;  // nullptr with one worker
  dataplane::placement placement;        // where the workers run
};

// Sums every running worker's counters for the tenants and upstreams of `snap`.
[[nodiscard]] router_totals collect_totals(const dataplane::router_snapshot& snap,
                                           const admin_view& view);

// ---- rates over a sliding window ---------------------------------------------------------------

// Achieved rates and busy ratios from counter deltas between the oldest and the newest sample
// of the last window_ms. The admin server adds a sample every second.
class rate_window {
 public:
  static constexpr uint64_t window_ms = 10'000;
  static constexpr size_t max_samples = 64;  // bound: samples closer than window/64 apart

  void add(uint64_t now_ms, const router_totals& totals);

  struct rates {
    double span_s = 0;                       // 0: fewer than two samples yet
    std::vector<double> tenant_accepted;     // per tenant, messages per second
    std::vector<double> upstream_submitted;  // per upstream, messages per second
    std::vector<double> worker_busy;         // per worker, 0..1
  };
  [[nodiscard]] rates current() const;
  [[nodiscard]] size_t samples() const noexcept { return samples_.size(); }

 private:
  struct sample {
    uint64_t at_ms = 0;
    std::vector<uint64_t> tenant_accepted;
    std::vector<uint64_t> upstream_submitted;
    std::vector<uint64_t> busy_us;
    std::vector<uint64_t> idle_us;
  };
  std::vector<sample> samples_;  // oldest first
};

// ---- Prometheus text exposition (format 0.0.4) -------------------------------------------------

struct metrics_input {
  const dataplane::router_snapshot* snapshot = nullptr;
  const router_totals* totals = nullptr;
  const rate_window::rates* rates = nullptr;
  const dataplane::placement* placement = nullptr;
  std::string version;
  double uptime_s = 0;
};

[[nodiscard]] std::string render_metrics(const metrics_input& in);

// The label value of a command_status: its name ("ESME_RTHROTTLED"), or "0x%08x" when unknown.
[[nodiscard]] std::string status_label(uint32_t status);

// ---- the server
// ----------------------------------------------------------------------------------

// The outcome of handing a validated configuration and its snapshot to the workers.
struct publish_result {
  int http_status = 200;  // 200: the workers run it now; anything else: they do not
  std::string error;      // why not, as the API answers it
};
using snapshot_publisher = std::function<publish_result(
    const router_config&, const std::shared_ptr<const dataplane::router_snapshot>&)>;

// HTTP on config.admin.host:port (port 0: one from the kernel, for tests). Reads answer JSON
// (/api/status, /api/tenants, /api/upstreams, /api/sessions, /api/routes, /api/slots/NAME,
// /api/history: admin_history.hpp) and /metrics; /api/placement.svg draws the placement and "/"
// is the operator's console (one page that reads these endpoints). Changes (POST /api/reload;
// PUT/POST/DELETE /api/tenants/NAME, /api/upstreams/NAME; PUT/POST /api/routes,
// /api/weights/TENANT/UPSTREAM) need the token; each builds a complete configuration, runs the
// loader's validation and the snapshot builder on it (400 with the loader's errors when either
// refuses), then calls `publish`: only when that answers 200 does the change become the server's
// current configuration.
class admin_server {
 public:
  // `config` and `snapshot` are what the workers run; `config.source_file` is the file that
  // POST /api/reload reads again.
  admin_server(router_config config, std::shared_ptr<const dataplane::router_snapshot> snapshot,
               admin_view view, snapshot_publisher publish);
  ~admin_server();
  admin_server(const admin_server&) = delete;
  admin_server& operator=(const admin_server&) = delete;

  // Binds and starts serving on threads of its own; false with a message when it cannot.
  [[nodiscard]] bool start(std::string& error);
  // Stops serving and joins its threads; answers in progress finish first (bounded by the
  // read and write timeouts). Safe to call twice.
  void stop();
  [[nodiscard]] uint16_t port() const noexcept;

  // Limits of the HTTP side (each has a defined answer when reached).
  static constexpr size_t threads = 4;  // requests served at once
  // Each answer closes its connection ("Connection: close"): cpp-httplib serves a kept-alive
  // connection on one thread until it idles for io_timeout_s, so four clients polling over
  // kept-alive connections (console tabs, a browser's parallel fetches) held every thread and
  // any other request waited until one of them had made 100 requests.
  static constexpr size_t requests_per_connection = 1;
  static constexpr size_t queued_connections = 64;         // then accept waits (kernel backlog)
  static constexpr size_t max_body_bytes = 1u << 20;       // larger bodies: 413
  static constexpr size_t max_json_depth = 32;             // deeper JSON: 400
  static constexpr int io_timeout_s = 5;                   // a stalled read or write closes
  static constexpr size_t max_frame_slots_listed = 65536;  // /api/slots lists at most this many

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace smpp::control
