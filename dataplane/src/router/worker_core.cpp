#include "worker_core.hpp"

#include <time.h>

#include <algorithm>
#include <chrono>

namespace smpp::dataplane::router {

namespace {

constexpr uint64_t kTickMs = 5;

uint64_t wall_clock_ms() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1'000'000;
}

// Room for the tenants and upstreams a published snapshot may add while running.
size_t tenant_room(const router_snapshot& snap, const shared_state* shared) {
  const size_t room = snap.tenants.size() + shared_state::tenant_headroom;
  return shared != nullptr ? std::min(room, shared->binds_per_tenant.size()) : room;
}
size_t upstream_room(const router_snapshot& snap, const shared_state* shared) {
  const size_t room = snap.upstreams.size() + shared_state::upstream_headroom;
  return shared != nullptr ? std::min(room, shared->failed_links.size()) : room;
}

}  // namespace

worker_core::worker_core(uint32_t index, uint32_t workers, transport& t,
                         std::shared_ptr<const router_snapshot> snapshot, shared_state* shared,
                         ring_mesh* mesh)
    : ctx_(index, workers == 0 ? 1 : workers, t, snapshot, shared, mesh,
           tenant_room(*snapshot, shared), upstream_room(*snapshot, shared)),
      port_(ctx_),
      back_(ctx_, port_),
      waits_(ctx_, back_),
      ids_(ctx_, port_),
      deliveries_(ctx_, port_, back_, waits_),
      returns_(ctx_, port_, ids_, deliveries_, back_),
      upstreams_(ctx_, back_, ids_, returns_, waits_),
      routing_(ctx_, upstreams_, port_, ids_, back_),
      esmes_(ctx_, routing_, deliveries_) {
  back_.attach(esmes_, upstreams_);
  ctx_.counters.set_counts(ctx_.cfg().tenants.size(), ctx_.cfg().upstreams.size());
  t.set_handler(this);
  if (shared != nullptr) seen_generation_ = shared->generation.load(std::memory_order_acquire);
}

void worker_core::recover(store::backend& shard, uint64_t now_ms) {
  ctx_.now_ms = now_ms;
  ctx_.wall_ms = wall_clock_ms();
  struct visitor final : store::recovery_visitor {
    worker_core& core;
    explicit visitor(worker_core& c) : core(c) {}
    void on_note(const store::note_record& note) override { core.ids_.restore(note); }
    void on_held(const store::held_record& held) override { core.deliveries_.restore(held); }
  } v(*this);
  shard.recover(v);
}

int worker_core::start(uint64_t now_ms) {
  ctx_.now_ms = now_ms;
  for (const endpoint& ep : ctx_.cfg().listeners) {
    const int r = ctx_.t.listen(ep);
    if (r < 0) return r;
  }
  for (const upstream_def& u : ctx_.cfg().upstreams) {
    // SMPP 3.4 §4.1.7: the SMSC calls the router back here with an outbind.
    if (!u.calls_back()) continue;
    const int r = ctx_.t.listen(u.outbind_listen);
    if (r < 0) return r;
    if (outbind_upstream_.size() <= static_cast<size_t>(r))
      outbind_upstream_.resize(static_cast<size_t>(r) + 1, no_outbind);
    outbind_upstream_[static_cast<size_t>(r)] = u.index;
  }
  upstreams_.start();
  return 0;
}

bool worker_core::done() const noexcept {
  if (!ctx_.shutting_down) return false;
  if (ctx_.now_ms >= shutdown_deadline_ms_) return true;
  return ctx_.t.connections() == 0;
}

int worker_core::run_once(uint64_t now_ms, int timeout_us, uint64_t now_us) {
  const settle_on_return settled{ctx_.out};
  ctx_.now_ms = now_ms;
  if (now_us == 0) {
    now_us = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                       std::chrono::steady_clock::now().time_since_epoch())
                                       .count());
  }
  // The previous turn lasted until now: busy if it handled anything, else idle (polling or
  // asleep). busy_us / (busy_us + idle_us) over an interval is the worker's load.
  if (ctx_.now_us != 0 && now_us > ctx_.now_us)
    (last_turn_busy_ ? ctx_.stats.busy_us : ctx_.stats.idle_us) += now_us - ctx_.now_us;
  ctx_.now_us = now_us;
  const bool storing = ids_.storing();
  if (storing) ctx_.wall_ms = wall_clock_ms();
  int work = 0;
  if (ctx_.meshed()) {
    work += port_.drain(*this);
    if (returns_.reads_paused()) returns_.resume_reads();
    if (upstreams_.reads_held()) upstreams_.resume_reads_held();
    // Work is waiting in a ring or behind a full one: do not sleep in the transport.
    if (port_.has_deferred() || work > 0) timeout_us = 0;
  }
  if (upstreams_.gated()) {
    if (const int sent = upstreams_.run_gates(); sent > 0) {
      work += sent;
      // Out now, at the slot's edge, not at the end of the turn after whatever else it does.
      ctx_.out.settled().flush();
    }
    // Sleep no longer than until the next slot with something to send.
    timeout_us = upstreams_.gate_timeout_us(timeout_us);
  }
  // Answers waiting for the store: wake within 100 us to let them go.
  if (storing && waits_.pending()) timeout_us = std::min(timeout_us, 100);
  work += ctx_.out.settled().poll(timeout_us);
  if (ids_.pending()) ids_.flush();
  if (storing) {
    // Answers that waited for the store go as soon as it has their records; meanwhile the
    // worker polls rather than sleeping, so they wait no poll timeout.
    ids_.publish_stored();
    if (waits_.pending()) work += waits_.release();
  }
  esmes_.retry_stalled();
  if (deliveries_.holding()) deliveries_.drain_holds();
  if (now_ms >= next_tick_ms_) tick(now_ms);
  last_turn_busy_ = work > 0;
  return work;
}

void worker_core::tick(uint64_t now_ms) {
  const settle_on_return settled{ctx_.out};
  ctx_.now_ms = now_ms;
  next_tick_ms_ = now_ms + kTickMs;
  // A snapshot published by the control plane is taken over first, before anything below holds
  // a reference into the current one (the old one may be freed by the adoption).
  if (ctx_.shared != nullptr &&
      ctx_.shared->generation.load(std::memory_order_acquire) != seen_generation_) {
    adopt_published();
  }
  esmes_.tick();
  if (routing_.has_parked()) routing_.flush_parked();
  deliveries_.drain_holds();
  ids_.expire();
  ctx_.expire_quality();
  ctx_.counters.log_losses(ctx_.index, now_ms);
  upstreams_.tick(routing_.parked_by_upstream(), !ctx_.shutting_down || all_quiet());
}

bool worker_core::all_quiet() {
  // Answers waiting for the store count: a held message's ESME_ROK must reach the SMSC before
  // its bind goes, or the SMSC sends it again after the restart, which delivers the kept copy.
  const bool mine = esmes_.all_answered() && !waits_.pending();
  if (ctx_.shared == nullptr || ctx_.index >= ctx_.shared->quiet.size()) return mine;
  ctx_.shared->quiet[ctx_.index].store(mine ? 1 : 0, std::memory_order_release);
  if (!mine) return false;
  for (const auto& q : ctx_.shared->quiet) {
    if (q.load(std::memory_order_acquire) == 0) return false;
  }
  // A worker is quiet once it handed its answers over: they must have arrived here too (read
  // after its flag, so a message it pushed before setting it is seen).
  return port_.idle();
}

void worker_core::begin_shutdown(uint64_t now_ms) {
  const settle_on_return settled{ctx_.out};
  ctx_.now_ms = now_ms;
  if (ctx_.shutting_down) return;
  ctx_.shutting_down = true;
  shutdown_deadline_ms_ = now_ms + ctx_.cfg().timers.shutdown_ms;
  // Requests still waiting for a slot would outlast the shutdown: the ESMEs retry them later.
  upstreams_.begin_shutdown();
  esmes_.begin_shutdown();
  tick(now_ms);
}

// ---------------------------------------------------------------------------------------------
// Transport events: to the side the connection belongs to

void worker_core::on_accept(conn_id c, uint32_t listener, const peer_address& peer) {
  if (listener < outbind_upstream_.size() && outbind_upstream_[listener] != no_outbind) {
    const settle_on_return settled{ctx_.out};
    if (!upstreams_.outbind_accepted(c, outbind_upstream_[listener])) ctx_.out.tx(c).close(c, true);
    return;
  }
  esmes_.on_accept(c, peer);
}

void worker_core::on_connect(conn_id c, int err) {
  const settle_on_return settled{ctx_.out};
  conn_table::entry* e = ctx_.conns.find(c);
  if (e != nullptr && e->link != nullptr) upstreams_.on_connect(*e->link, c, err);
}

void worker_core::on_data(conn_id c, bytes_view data) {
  const settle_on_return settled{ctx_.out};
  conn_table::entry* e = ctx_.conns.find(c);
  if (e == nullptr) return;
  if (e->esme) {
    esmes_.on_data(*e->esme, data);
  } else {
    upstreams_.on_data(*e->link, c, data);
    // Requests parked for an on-demand upstream go as soon as one of its binds is up.
    if (upstreams_.take_binds_came_up() && routing_.has_parked()) routing_.flush_parked();
  }
}

void worker_core::on_writable(conn_id) {}

void worker_core::on_close(conn_id c, int) {
  const settle_on_return settled{ctx_.out};
  conn_table::entry* e = ctx_.conns.find(c);
  if (e == nullptr) return;
  if (e->esme) {
    esmes_.on_close(*e->esme);
  } else {
    upstreams_.on_close(*e->link);
  }
}

// ---------------------------------------------------------------------------------------------
// Ring messages: to the part they are for

void worker_core::on_message(const handoff_header& h, bytes_view payload) {
  switch (h.kind) {
    case handoff_header::request:
      routing_.request_from_worker(h, payload);
      break;
    case handoff_header::answer:
      (void)esmes_.answer(h, static_cast<codec::command_status>(h.status), payload);
      break;
    case handoff_header::correlate:
      ids_.note_from(
          h.origin, h.upstream, h.tenant,
          std::string_view(reinterpret_cast<const char*>(payload.data()), payload.size()));
      break;
    case handoff_header::held_done:
      deliveries_.held_done(h.store_id);
      break;
    case handoff_header::receipt:
      returns_.receipt_from_worker(h, payload);
      break;
    case handoff_header::deliver:
      deliveries_.from_worker(h, payload);
      break;
    case handoff_header::bounce:
      esmes_.bounced(h, payload);
      break;
    case handoff_header::deliver_answer:
      upstreams_.answer_deliver(return_of(h), static_cast<codec::command_status>(h.status));
      break;
    case handoff_header::forget:
      ids_.forget({h.key_lo, h.key_hi}, h.upstream);
      break;
    case handoff_header::alert:
      deliveries_.alert_from_worker(h, payload);
      break;
    case handoff_header::message_op:
      routing_.message_op_from_worker(h, payload);
      break;
    default:
      break;
  }
}

// ---------------------------------------------------------------------------------------------
// A new snapshot published by the control plane (RCU): adopted between two turns, so no message
// is in the middle of anything. Tenants and upstreams keep their indices (the control plane
// appends, never reorders); plans, weights, caps, routes, MO routes and timers change freely.

void worker_core::adopt_published() {
  seen_generation_ = ctx_.shared->generation.load(std::memory_order_acquire);
  std::shared_ptr<const router_snapshot> next = ctx_.shared->current();
  if (!next || next == ctx_.snap) return;
  if (!snapshot_incompatibility(*ctx_.snap, *next, ctx_.counters.tenant_capacity(),
                                ctx_.counters.upstream_capacity())
           .empty()) {
    ++ctx_.stats.snapshots_refused;  // the control plane checks this before publishing
    return;
  }
  std::shared_ptr<const router_snapshot> old = ctx_.snap;  // the old plans live until replanned
  ctx_.snap = std::move(next);
  ctx_.counters.set_counts(ctx_.cfg().tenants.size(), ctx_.cfg().upstreams.size());
  deliveries_.adopt();
  upstreams_.adopt(*old);
  routing_.adopt();
  ids_.adopt();
  ++ctx_.stats.snapshots_adopted;
}

}  // namespace smpp::dataplane::router
