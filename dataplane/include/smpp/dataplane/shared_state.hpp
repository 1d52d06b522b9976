// What the workers of one router share beyond the rings: the published snapshot (RCU) and the
// few live facts about sessions other workers need, each an atomic written by its owner.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "smpp/dataplane/bind_guard.hpp"
#include "smpp/dataplane/correlation.hpp"
#include "smpp/dataplane/slot_use.hpp"
#include "smpp/dataplane/snapshot.hpp"
#include "smpp/store/journal.hpp"

namespace smpp::dataplane {

class router_worker;

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
        held((tenants + tenant_headroom) * worker_count),
        reads_held((upstreams + upstream_headroom) * worker_count),
        receiver_ack_ms(tenants + tenant_headroom),
        failed_links(upstreams + upstream_headroom),
        wanted_ms(upstreams + upstream_headroom),
        queue_full((upstreams + upstream_headroom) * (tenants + tenant_headroom)),
        workers(worker_count),
        journals(worker_count, nullptr),
        notes_stored(worker_count * worker_count),
        quiet(worker_count) {}

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
  // held[tenant * workers + worker]: the length of that worker's hold queue for the tenant. A
  // worker hands the tenant's receipts and MO to another one only while that one holds no more
  // than it does, so each keeps its own in its own queue (holding its own binds back when that
  // fills) and every queue drains at the receivers' pace.
  std::vector<std::atomic<uint32_t>> held;
  // reads_held[upstream * workers + worker]: how many tenants' hold queues on other workers,
  // over their bound while their receivers answer, ask that worker to stop reading its binds of
  // the upstream. Shared memory rather than a message through the rings: those can be full of
  // the very receipts the hold is about, and the worker sees it after its current read.
  std::vector<std::atomic<uint32_t>> reads_held;
  // Per tenant: when one of its receivers, on any worker, last answered ESME_ROK (a worker's
  // milliseconds, written at most once per millisecond by each): a worker whose hold queue for
  // the tenant is full holds the SMSC back only while they are answering.
  std::vector<std::atomic<uint64_t>> receiver_ack_ms;
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
  // The slot use of each gated bind (by upstream and bind index), set by the worker that owns
  // the bind when it makes or replans the gate: a reader copies the pointer under the lock and
  // reads the counters without it, and the object lives while either holds it. One entry per
  // bind.
  void set_slot_use(uint32_t upstream, uint32_t bind, std::shared_ptr<const slot_use> use) {
    std::lock_guard lock(slot_use_mu);
    slot_uses[{upstream, bind}] = std::move(use);
  }
  [[nodiscard]] std::shared_ptr<const slot_use> slot_use_of(uint32_t upstream, uint32_t bind) {
    std::lock_guard lock(slot_use_mu);
    const auto it = slot_uses.find({upstream, bind});
    return it == slot_uses.end() ? nullptr : it->second;
  }
  std::mutex slot_use_mu;
  std::map<std::pair<uint32_t, uint32_t>, std::shared_ptr<const slot_use>> slot_uses;
  // Each worker while it exists, for readers of its counters (admin API, metrics); a reader
  // must be done before the workers stop.
  std::vector<std::atomic<const router_worker*>> workers;
  // Bind failure throttling shared by every worker (nullptr: none).
  std::unique_ptr<bind_guard> guard;
  // The key of text message ids; every worker must use the same (set once before start).
  correlation_secret secret;
  // Each worker's journal to its store shard (docs/architecture.md, "Durable message state");
  // all nullptr with [store] sync = "off". Set before the workers start.
  std::vector<store::journal*> journals;
  // notes_stored[owner * workers + source]: how many of the notes worker `source` handed to
  // worker `owner` (its own included) are in owner's store shard. The source holds each
  // submit_sm_resp back until the count covers its note.
  std::vector<std::atomic<uint64_t>> notes_stored;
  // At shutdown, per worker: its ESMEs owe nothing and are owed nothing (requests answered,
  // deliveries answered or failed back). Upstream binds unbind only once every worker is quiet,
  // so the answer to every receipt and MO reaches the SMSC before its bind goes.
  std::vector<std::atomic<uint8_t>> quiet;
};

// Whether running workers can take `next` in place of `current`: every tenant, upstream and
// bind keeps its index and name (the control plane appends, never reorders), the workers'
// per-tenant and per-upstream arrays have room for the new ones (tenant_room and upstream_room:
// what they were sized for at start), and what workers set up once at start is unchanged
// (listeners, the frame limit, the correlation table). Empty when it can; else why not.
[[nodiscard]] std::string snapshot_incompatibility(const router_snapshot& current,
                                                   const router_snapshot& next, size_t tenant_room,
                                                   size_t upstream_room);

}  // namespace smpp::dataplane
