#include "request_router.hpp"

#include "pdu_facts.hpp"
#include "route_order.hpp"

namespace smpp::dataplane::router {

using codec::command_id;
using S = codec::command_status;

request_router::request_router(worker_context& ctx, upstream_side& upstreams, handoff_port& port,
                               message_ids& ids, answers& back)
    : ctx_(ctx), upstreams_(upstreams), port_(port), ids_(ids), back_(back) {
  upstreams_.set_retry(this);
  adopt();
}

void request_router::adopt() {
  parked_by_upstream_.resize(ctx_.cfg().upstreams.size());
}

submit_outcome request_router::submit(esme_session& s, bytes_view frame, const codec::pdu& p) {
  if (p.id == command_id::submit_multi) return submit_multi(s, frame, p);
  if (p.id == command_id::broadcast_sm) return broadcast(s, frame, p);
  const route_def* r = route_of(s.tenant, p.destination_addr, p);
  if (r == nullptr) return submit_outcome::no_route;
  return submit_on(*r, p.destination_addr, s, p.sequence_number, frame, p);
}

const route_def* request_router::route_of(uint32_t tenant, std::string_view dest,
                                          const codec::pdu& p) const noexcept {
  const router_snapshot& snap = ctx_.cfg();
  const route_def* r = nullptr;
  if (snap.routes.has_network_routes()) {
    // The network the number belongs to (ported, else its prefix's home network) before any
    // destination prefix.
    r = snap.routes.lookup_network(tenant, snap.networks.network_of(dest), p.source_addr,
                                   p.service_type);
  }
  if (r == nullptr) r = snap.routes.lookup(tenant, dest, p.source_addr, p.service_type);
  return r;
}

submit_outcome request_router::submit_on(const route_def& route, std::string_view dest,
                                         esme_session& s, uint32_t esme_seq, bytes_view frame,
                                         const codec::pdu& p, bool note) {
  const router_snapshot& snap = ctx_.cfg();
  const route_def* r = &route;
  handoff_header h =
      request_header(handoff_header::request, ctx_.index, s.conn, esme_seq, p.id, s.tenant);
  h.note = note || snap.correlation.note_all || asks_for_receipt(p) ? 1 : 0;
  bool any_busy = false;
  upstream_link* u = nullptr;
  const bool retrying = !snap.retry_on.empty();
  upstream_order_buffer buf;
  const std::span<const uint32_t> order =
      upstream_order(*r, snap, dest, ctx_.quality, ctx_.now_ms, buf);
  for (size_t k = 0; k < order.size(); ++k) {
    const uint32_t up = order[k];
    // Refused with a status of retry_on, it goes once to the next upstream of the route.
    h.retry_to = retrying && k + 1 < order.size() ? order[k + 1] : no_retry;
    // Failover order; within an upstream our own binds first, then another worker's. The bind
    // the session used last is tried first: no search, and its state is already in cache.
    if (upstream_link* l = s.last_link; l != nullptr && l->upstream == up && l->takes_requests()) {
      u = l;
      break;
    }
    u = upstreams_.pick(up, s.conn, any_busy);
    if (u != nullptr) {
      s.last_link = u;
      break;
    }
    if (tenant_queue_full(up, s.tenant)) {
      any_busy = true;  // its queue at the bind's worker is full: held here (back-pressure)
      break;
    }
    if (hand_off(up, h, frame, any_busy)) {
      ++ctx_.stats.handed_off;
      return submit_outcome::taken;
    }
    if (snap.upstreams[up].on_demand && upstreams_.reachable(up)) {
      // Its binds are asleep (or on their way up): the request waits for them.
      if (park(up, h, frame)) return submit_outcome::taken;
      any_busy = true;
      break;
    }
  }
  if (u == nullptr) return any_busy ? submit_outcome::busy : submit_outcome::unavailable;
  if (u->gate) {
    // The tenant's queue at this bind is full (SMPP 3.4 §5.1.3: retry later).
    if (!upstreams_.enqueue_gated(*u, h, frame, parts_after(p))) return submit_outcome::busy;
    return submit_outcome::taken;
  }
  if (upstreams_.send_request(*u, frame, h) == 0) return submit_outcome::throttled;
  return submit_outcome::taken;
}

bool request_router::retry(const handoff_header& h, bytes_view frame) {
  bool any_busy = false;
  if (!forward_local(h.upstream, h, frame, any_busy) && !hand_off(h.upstream, h, frame, any_busy))
    return false;
  ++ctx_.stats.retried;
  return true;
}

bool request_router::tenant_queue_full(uint32_t upstream, uint32_t tenant) const noexcept {
  if (ctx_.shared == nullptr || !ctx_.cfg().tenants[tenant].backpressure) return false;
  const auto* f = ctx_.shared->queue_full_flag(upstream, tenant);
  return f != nullptr && f->load(std::memory_order_relaxed) != 0;
}

bool request_router::forward_local(uint32_t upstream, const handoff_header& h, bytes_view frame,
                                   bool& any_busy) {
  upstream_link* u = upstreams_.pick(upstream, h.esme, any_busy);
  if (u == nullptr) return false;
  if (u->gate) {
    codec::pdu p;
    const uint8_t parts = codec::decode(frame, p) ? 0 : parts_after(p);
    if (!upstreams_.enqueue_gated(*u, h, frame, parts)) {
      any_busy = true;
      return false;
    }
    return true;
  }
  if (upstreams_.send_request(*u, frame, h) == 0) {
    any_busy = true;
    return false;
  }
  return true;
}

bool request_router::hand_off(uint32_t upstream, const handoff_header& from, bytes_view frame,
                              bool& any_busy) {
  const shared_state* sh = ctx_.shared;
  if (!ctx_.meshed() || sh == nullptr || sh->bound_links.empty()) return false;
  handoff_header h = from;
  h.kind = handoff_header::request;
  h.upstream = upstream;
  for (uint32_t k = 0; k < ctx_.workers; ++k) {
    const uint32_t w = (rr_worker_ + k) % ctx_.workers;
    if (w == ctx_.index) continue;
    if (sh->bound_links[upstream * ctx_.workers + w].load(std::memory_order_relaxed) == 0) continue;
    if (port_.try_push(w, h, frame)) {
      rr_worker_ = w + 1;
      return true;
    }
    any_busy = true;  // a full ring is back-pressure
  }
  return false;
}

void request_router::request_from_worker(const handoff_header& h, bytes_view frame) {
  ++ctx_.stats.handoff_received;
  bool any_busy = false;
  if (!ctx_.shutting_down && forward_local(h.upstream, h, frame, any_busy)) return;
  if (any_busy && !ctx_.shutting_down && h.tenant < ctx_.cfg().tenants.size() &&
      ctx_.cfg().tenants[h.tenant].backpressure) {
    // No room here for a tenant with back-pressure: the ESME's worker keeps it and stops
    // reading that session (SMPP stays silent; TCP holds the ESME back).
    ++ctx_.stats.backpressure_bounced;
    if (ctx_.shared != nullptr) {
      if (auto* f = ctx_.shared->queue_full_flag(h.upstream, h.tenant)) {
        f->store(1, std::memory_order_relaxed);
      }
    }
    handoff_header b = h;
    b.kind = handoff_header::bounce;
    port_.push(h.origin, b, frame);
    return;
  }
  const S st = any_busy ? S::ESME_RTHROTTLED : upstream_failure_status;
  ++(any_busy ? ctx_.stats.throttled : ctx_.stats.upstream_unavailable);
  ctx_.counters.count_reject(h.tenant, st);
  (void)back_.to_esme(h, st, {});
}

// ---------------------------------------------------------------------------------------------
// Message operations (SMPP 3.4 §4.8-4.10): to the SMSC that accepted the message

void request_router::message_op(const esme_session& s, bytes_view frame, const codec::pdu& p) {
  message_op(request_header(handoff_header::message_op, ctx_.index, s.conn, p.sequence_number, p.id,
                            s.tenant),
             p.message_id, frame);
}

void request_router::message_op_from_worker(const handoff_header& h, bytes_view frame) {
  codec::pdu p;
  if (!codec::decode(frame, p)) message_op(h, p.message_id, frame);
}

void request_router::message_op(handoff_header h, std::string_view message_id, bytes_view frame) {
  for (; h.attempt < ids_.radices(); ++h.attempt) {
    const correlation_key_result k = ids_.op_key(message_id, h.attempt);
    if (!k.ok()) break;
    if (const uint32_t owner = ids_.owner(k.key); owner != ctx_.index) {
      port_.push(owner, h, frame);
      return;
    }
    const std::optional<correlation_value> v = ids_.find_for_tenant(k.key, h.tenant);
    if (!v) continue;
    bool any_busy = false;
    if (!ctx_.shutting_down && (forward_local(v->upstream, h, frame, any_busy) ||
                                hand_off(v->upstream, h, frame, any_busy))) {
      ++ctx_.stats.message_ops;
      return;
    }
    ++(any_busy ? ctx_.stats.throttled : ctx_.stats.upstream_unavailable);
    (void)back_.to_esme(h, any_busy ? S::ESME_RTHROTTLED : upstream_failure_status, {});
    return;
  }
  // No upstream accepted a message with this id for this tenant (or its entry expired); for a
  // broadcast, SMPP 5.0 §4.4.2 and §4.4.3 name their own failures.
  ++ctx_.stats.message_ops_unknown;
  S st = S::ESME_RINVMSGID;
  if (h.command_id == static_cast<uint32_t>(command_id::query_broadcast_sm))
    st = S::ESME_RBCASTQUERYFAIL;
  if (h.command_id == static_cast<uint32_t>(command_id::cancel_broadcast_sm))
    st = S::ESME_RBCASTCANCELFAIL;
  (void)back_.to_esme(h, st, {});
}

// ---------------------------------------------------------------------------------------------
// Requests waiting for an on-demand upstream

bool request_router::park(uint32_t upstream, const handoff_header& h, bytes_view frame) {
  // Bounded: no more than the ESME windows could have outstanding anyway, and a hard cap.
  constexpr size_t max_parked = 65536;
  if (parked_.size() >= max_parked || ctx_.shutting_down) return false;
  parked_request pr;
  pr.h = h;
  pr.h.upstream = upstream;
  pr.deadline_ms = ctx_.now_ms + ctx_.cfg().timers.response_ms;
  pr.frame.assign(frame.begin(), frame.end());
  parked_.push_back(std::move(pr));
  ++parked_by_upstream_[upstream];
  ++ctx_.stats.parked;
  // Wake the binds: ours now, the other workers' on their next tick.
  if (ctx_.shared != nullptr && upstream < ctx_.shared->wanted_ms.size()) {
    auto& w = ctx_.shared->wanted_ms[upstream];
    if (w.load(std::memory_order_relaxed) <= ctx_.now_ms)
      w.store(ctx_.now_ms + 1, std::memory_order_relaxed);
  }
  upstreams_.wake(upstream);
  return true;
}

void request_router::flush_parked() {
  for (auto it = parked_.begin(); it != parked_.end();) {
    bool any_busy = false;
    const uint32_t up = it->h.upstream;
    const bool sent = !ctx_.shutting_down && (forward_local(up, it->h, it->frame, any_busy) ||
                                              hand_off(up, it->h, it->frame, any_busy));
    if (!sent && !ctx_.shutting_down && ctx_.now_ms < it->deadline_ms && upstreams_.reachable(up)) {
      ++it;
      continue;
    }
    if (!sent) {
      // The upstream did not come up in time (or failed): the ESME may retry elsewhere.
      ++ctx_.stats.parked_expired;
      ctx_.counters.count_reject(it->h.tenant, upstream_failure_status);
      (void)back_.to_esme(it->h, upstream_failure_status, {});
    }
    --parked_by_upstream_[up];
    it = parked_.erase(it);
  }
}

}  // namespace smpp::dataplane::router
