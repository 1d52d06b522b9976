// The immutable routing snapshot that workers read: tenants, upstreams, the compiled route
// table and the session timers. The control plane builds it from the configuration and
// publishes it; workers never modify it.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "smpp/codec/receipt.hpp"
#include "smpp/codec/status.hpp"
#include "smpp/dataplane/bind_guard.hpp"
#include "smpp/dataplane/correlation.hpp"
#include "smpp/dataplane/transport.hpp"

namespace smpp::dataplane {

class router_worker;

// An address block ("10.0.0.0/8", "::1/128").
struct cidr {
  int family = 0;  // AF_INET or AF_INET6
  std::array<std::byte, 16> addr{};
  uint8_t prefix_len = 0;
  // Parses "ADDR/LEN" or a bare address (a host block); false when malformed.
  [[nodiscard]] static bool parse(std::string_view text, cidr& out);
  [[nodiscard]] bool contains(const peer_address& peer) const noexcept;
};

struct tenant_def {
  uint32_t index = 0;
  std::string name;
  std::string system_id;
  std::string password_hash;
  std::vector<cidr> allowed_networks;  // empty: any source
  uint32_t max_binds = 8;
  uint32_t window = 256;
  // Receipts and MO messages for this tenant while none of its receivers is bound: at most
  // hold_max of them are kept (spread over the workers), each for at most hold_ttl_ms.
  uint32_t hold_max = 10000;
  uint32_t hold_ttl_ms = 3600 * 1000;
  // deliver_sm / data_sm the router may have outstanding on one receiver session.
  uint32_t deliver_window = 64;
  // A full queue of this tenant at a gated bind: false answers ESME_RTHROTTLED; true keeps the
  // request and stops reading the session until the queue has room (TCP back-pressure).
  bool backpressure = false;
  // Removed at run time: binds are refused (unknown system_id), its sessions are answered what
  // they are owed, then unbound by the router. Indices never move, so the entry stays.
  bool retired = false;
};

inline constexpr uint32_t any_tenant = UINT32_MAX;

// The TDMA plan of one upstream bind ("Tenants and time slots" in ARCHITECTURE.md): time is cut
// into slots of slot_ns, one transmission opportunity each, grouped in frames of owner.size()
// slots; slot k of every frame belongs to tenant owner[k]. Built by the control plane's slot
// planner; rate_per_s == 0 means no gate (the bind sends as fast as its window allows).
struct slot_plan {
  uint32_t rate_per_s = 0;
  uint64_t slot_ns = 0;         // 1e9 / rate_per_s
  std::vector<uint32_t> owner;  // per slot of the frame: a tenant index, or any_tenant (unowned)
  // Work-conserving (false): a slot whose owner has nothing queued goes to the next backlogged
  // tenant. Strict (true): it stays unused.
  bool strict = false;
  std::vector<uint32_t> cap;  // per tenant: most slots per frame, borrowed ones included (0: none)
  std::vector<uint32_t>
      queue_max;  // per tenant: messages waiting at this bind, then ESME_RTHROTTLED
};

struct upstream_bind_def {
  std::string system_id;
  std::string password;
  std::string system_type;
  codec::command_id bind_command = codec::command_id::bind_transceiver;
  uint32_t window = 256;
  uint32_t rate_per_s = 0;
  uint32_t weight = 1;
  slot_plan plan;
  // Removed by a change at run time (the upstream, or this bind of it, is gone from the
  // configuration): the bind takes nothing new, sends what it still holds, waits for the
  // answers, then unbinds and stays closed. Indices never move, so the entry stays.
  bool retired = false;
};

struct upstream_def {
  uint32_t index = 0;
  std::string name;
  endpoint address;
  std::vector<upstream_bind_def> binds;  // one entry per bind (configured counts expanded)
  // How this SMSC writes message ids in submit_sm_resp and in its receipts (see
  // codec::normalize_message_id): auto_detect unless the SMSC is known to use all-digit hex.
  codec::id_radix submit_id_radix = codec::id_radix::auto_detect;
  codec::id_radix receipt_id_radix = codec::id_radix::auto_detect;
  // On demand: the binds open when a request for this upstream arrives (requests wait for the
  // bind up to timers.response_ms) and unbind after idle_unbind_ms without one. Otherwise they
  // stay bound.
  bool on_demand = false;
  uint32_t idle_unbind_ms = 300 * 1000;
  bool retired = false;  // removed at run time: no route leads here; every bind is retired
};

struct route_def {
  uint32_t tenant = any_tenant;
  std::string destination_prefix;  // digits, optional leading '+' ignored
  std::string source_prefix;
  std::string service_type;
  std::vector<uint32_t> upstreams;  // failover order
};

// Longest-prefix match on destination_addr digits, per tenant, with optional source_addr
// prefix and service_type filters. Built once per snapshot; lookups allocate nothing.
class route_table {
 public:
  route_table() = default;
  explicit route_table(std::vector<route_def> routes);
  // The best route: the longest destination prefix; among equals a tenant-specific route before
  // a "*" route, a route with filters before one without, then configuration order.
  [[nodiscard]] const route_def* lookup(uint32_t tenant, std::string_view destination,
                                        std::string_view source,
                                        std::string_view service_type) const noexcept;
  [[nodiscard]] size_t size() const noexcept { return routes_.size(); }

 private:
  struct node {
    std::array<int32_t, 10> child;
    std::vector<uint32_t> routes;  // candidates ending here, best first
  };
  std::vector<route_def> routes_;
  std::vector<node> nodes_;
};

struct session_timers {
  uint32_t bind_ms = 10000;
  uint32_t enquire_link_interval_ms = 30000;
  uint32_t dead_peer_ms = 90000;
  uint32_t response_ms = 30000;
  uint32_t partial_pdu_ms = 10000;
  uint32_t reconnect_min_ms = 500;
  uint32_t reconnect_max_ms = 30000;
  uint32_t shutdown_ms = 3000;  // how long SIGTERM waits for unbind_resp and outstanding answers
  // A bound ESME that sends and receives nothing but enquire_link this long is unbound (0: never).
  uint32_t esme_idle_ms = 0;
};

// Message-id correlation for receipts and message operations (see correlation.hpp).
struct correlation_def {
  uint64_t capacity = 10'000'000;         // live entries, all workers together
  uint64_t ttl_ms = 72ull * 3600 * 1000;  // receipts can take days
  // Which accepted messages are noted: all (query_sm, cancel_sm and replace_sm then work for
  // every message), or only those that asked for a receipt (registered_delivery), which saves
  // the table insert (a cache miss) on every other message.
  bool note_all = true;
};

using password_verifier = bool (*)(const std::string& hash, std::string_view password);

struct router_snapshot {
  std::vector<endpoint> listeners;
  std::vector<tenant_def> tenants;
  std::unordered_map<std::string, uint32_t> tenant_by_system_id;
  std::vector<upstream_def> upstreams;
  route_table routes;
  // MO routes, compiled into a route_table of their own: route_def::tenant holds the upstream
  // the MO came from (any_tenant: any upstream) and upstreams[0] the tenant it goes to.
  route_table mo_routes;
  correlation_def correlation;
  bind_guard_config bind_guard;  // bind failure delays and lock-out (shared_state::guard)
  session_timers timers;
  uint32_t max_command_length = 64 * 1024;
  password_verifier verify_password = nullptr;
  // Verified (and failed) for binds with an unknown system_id, to take as long as a known one.
  std::string dummy_password_hash;
  std::string system_id = "smpp-router";  // what bind_*_resp carries
};

// State shared by all workers that is not per message: live ESME bind counts per tenant, how
// many binds of each upstream each worker has up (bound_links[upstream * workers + worker]), so
// a worker without a bind of its own knows which worker to hand a request to, and where each
// tenant's receivers are bound, so receipts and MO messages find them.
struct shared_state {
  // Tenants and upstreams a published snapshot may add to the running router.
  static constexpr size_t tenant_headroom = 1024;
  static constexpr size_t upstream_headroom = 256;

  explicit shared_state(size_t tenants, size_t upstreams = 0, size_t worker_count = 1)
      : binds_per_tenant(tenants + tenant_headroom),
        bound_links((upstreams + upstream_headroom) * worker_count),
        receivers((tenants + tenant_headroom) * worker_count),
        failed_links(upstreams + upstream_headroom),
        wanted_ms(upstreams + upstream_headroom),
        queue_full((upstreams + upstream_headroom) * (tenants + tenant_headroom)),
        workers(worker_count) {}

  // RCU: the control plane stores a new snapshot and bumps the generation; every worker adopts
  // it between two turns (within a tick, 5 ms) and the old one is freed when the last worker
  // lets go of it. Tenants and upstreams must keep their indices (append only).
  // Workers look at the generation on every tick and take the lock only when it moved.
  void publish(std::shared_ptr<const router_snapshot> next) {
    {
      std::lock_guard lock(published_mu);
      published = std::move(next);
    }
    generation.fetch_add(1, std::memory_order_release);
  }
  [[nodiscard]] std::shared_ptr<const router_snapshot> current() {
    std::lock_guard lock(published_mu);
    return published;
  }
  std::mutex published_mu;
  std::shared_ptr<const router_snapshot> published;
  std::atomic<uint64_t> generation{0};
  std::vector<std::atomic<uint32_t>> binds_per_tenant;
  std::vector<std::atomic<uint32_t>> bound_links;
  // Bound receiver and transceiver sessions, receivers[tenant * workers + worker].
  std::vector<std::atomic<uint32_t>> receivers;
  // Per upstream: its binds that are down after a failure (not idle), on every worker; and when
  // a request last waited for an on-demand upstream with no bind up (workers wake its binds).
  std::vector<std::atomic<uint32_t>> failed_links;
  std::vector<std::atomic<uint64_t>> wanted_ms;
  // queue_full[upstream * (tenants + tenant_headroom) + tenant]: set by a worker that had to
  // bounce a back-pressure tenant's request (its queue at the upstream's gated bind was full),
  // cleared when that queue sends again. Other workers hold such requests at their own session
  // meanwhile instead of handing them over only to get them back.
  std::vector<std::atomic<uint8_t>> queue_full;
  [[nodiscard]] std::atomic<uint8_t>* queue_full_flag(size_t upstream, size_t tenant) noexcept {
    const size_t tenants = binds_per_tenant.size();
    const size_t at = upstream * tenants + tenant;
    return tenant < tenants && at < queue_full.size() ? &queue_full[at] : nullptr;
  }
  // Each worker while it exists, for readers of its counters (admin API, metrics); a reader
  // must be done before the workers stop.
  std::vector<std::atomic<const router_worker*>> workers;
  // Bind failure throttling shared by every worker (nullptr: none).
  std::unique_ptr<bind_guard> guard;
  // The key of text message ids; every worker must use the same (set once before start).
  correlation_secret secret;
};

}  // namespace smpp::dataplane
