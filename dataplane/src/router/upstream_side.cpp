#include "upstream_side.hpp"

#include <algorithm>
#include <random>

#include "handoff_port.hpp"
#include "pdu_facts.hpp"
#include "return_path.hpp"

namespace smpp::dataplane::router {

using codec::command_id;
using S = codec::command_status;

upstream_side::upstream_side(worker_context& ctx, answers& back, message_ids& ids,
                             return_path& returns, store_waits& waits)
    : ctx_(ctx), back_(back), ids_(ids), waits_(waits), returns_(returns) {
  by_upstream_.resize(ctx_.cfg().upstreams.size());
  for (const upstream_def& u : ctx_.cfg().upstreams) add_links(u);
}

void upstream_side::add_links(const upstream_def& u, size_t from_bind) {
  for (size_t b = from_bind; b < u.binds.size(); ++b) {
    // Bind b of every upstream belongs to worker b % workers.
    if (b % ctx_.workers != ctx_.index) continue;
    auto link = std::make_unique<upstream_link>(ctx_.cfg().max_command_length);
    link->upstream = u.index;
    link->def = &u.binds[b];
    link->inflight_table.size_for(link->def->window);
    if (u.on_demand) link->state = link_state::idle;
    if (link->def->plan.rate_per_s != 0) make_gate(*link);
    by_upstream_[u.index].push_back(link.get());
    links_.push_back(std::move(link));
  }
}

void upstream_side::make_gate(upstream_link& l) {
  l.gate = std::make_unique<slot_gate>(l.def->plan, ctx_.cfg().tenants.size());
  l.gate_items.resize(l.inflight_table.capacity());
  gated_links_.push_back(&l);
  publish_slot_use(l);
}

void upstream_side::publish_slot_use(const upstream_link& l) {
  if (ctx_.shared == nullptr) return;
  const auto bind = static_cast<uint32_t>(l.def - ctx_.cfg().upstreams[l.upstream].binds.data());
  ctx_.shared->set_slot_use(l.upstream, bind, l.gate->use());
}

void upstream_side::start() {
  for (auto& l : links_) {
    if (l->state == link_state::down) connect(*l);
  }
}

uint32_t upstream_side::bound() const noexcept {
  return static_cast<uint32_t>(std::count_if(
      links_.begin(), links_.end(), [](const auto& l) { return l->state == link_state::bound; }));
}

// ---------------------------------------------------------------------------------------------
// The bind's life: connect, bind, keep alive, go down and come back after a back-off.

void upstream_side::connect(upstream_link& u) {
  // SMPP 3.4 §4.1.7: an upstream that calls back is bound on the connection it opens.
  if (ctx_.shutting_down || ctx_.cfg().upstreams[u.upstream].calls_back()) return;
  int err = 0;
  const conn_id c = ctx_.out.settled().connect(ctx_.cfg().upstreams[u.upstream].address, err);
  if (c == invalid_conn) {
    ++ctx_.stats.upstream_connect_failures;
    down(u);
    return;
  }
  ctx_.conns.add_link(c, u);
  u.conn = c;
  u.state = link_state::connecting;
  u.framer = codec::stream_framer(ctx_.cfg().max_command_length);
}

void upstream_side::on_connect(upstream_link& u, conn_id c, int err) {
  if (err != 0) {
    ++ctx_.stats.upstream_connect_failures;
    ctx_.conns.erase(c);
    u.conn = invalid_conn;
    down(u);
    return;
  }
  // SMPP 3.4 §4.1: bind as configured.
  codec::pdu b;
  b.id = u.def->bind_command;
  b.sequence_number = u.inflight_table.take_seq();
  b.system_id = u.def->system_id;
  b.password = u.def->password;
  b.system_type = u.def->system_type;
  b.interface_version = 0x34;
  u.state = link_state::binding;
  u.last_rx_ms = u.last_tx_ms = ctx_.now_ms;
  if (!ctx_.out.pdu(c, b)) ctx_.out.tx(c).close(c, true);
}

void upstream_side::bound(upstream_link& u) {
  u.state = link_state::bound;
  set_bound(u, true);
  set_failed(u, false);
  u.backoff_ms = 0;
  ++ctx_.stats.upstream_binds_up;
  came_up_ = true;
}

bool upstream_side::outbind_accepted(conn_id c, uint32_t upstream) {
  // The SMSC connected to the upstream's outbind listener: one of this worker's binds of it that
  // is not connected takes the connection and waits for the outbind.
  if (ctx_.shutting_down || upstream >= by_upstream_.size()) return false;
  for (upstream_link* l : by_upstream_[upstream]) {
    if (l->conn != invalid_conn || l->def->retired ||
        (l->state != link_state::down && l->state != link_state::idle))
      continue;
    ctx_.conns.add_link(c, *l);
    l->conn = c;
    l->state = link_state::outbind_wait;
    l->framer = codec::stream_framer(ctx_.cfg().max_command_length);
    l->last_rx_ms = l->last_tx_ms = ctx_.now_ms;
    return true;
  }
  ++ctx_.stats.outbinds_refused;  // every bind of it here is connected already
  return false;
}

void upstream_side::outbind(upstream_link& u, bytes_view frame) {
  // SMPP 3.4 §4.1.7: outbind has no response; with the expected system_id and password the
  // router binds on this connection (§4.1.7.1), else it closes it.
  codec::pdu p;
  const upstream_def& def = ctx_.cfg().upstreams[u.upstream];
  const bool ok = u.state == link_state::outbind_wait && !codec::decode(frame, p) &&
                  p.system_id == def.outbind_system_id && p.password == def.outbind_password;
  if (!ok) {
    ++ctx_.stats.outbinds_refused;
    ctx_.out.tx(u.conn).close(u.conn, false);
    return;
  }
  ++ctx_.stats.outbinds;
  on_connect(u, u.conn, 0);
}

void upstream_side::on_close(upstream_link& u) {
  ctx_.conns.erase(u.conn);
  u.conn = invalid_conn;
  down(u);
}

void upstream_side::down(upstream_link& u) {
  fail_inflight(u, upstream_failure_status, true);
  fail_gate(u, upstream_failure_status);
  set_bound(u, false);
  u.state = link_state::down;
  u.enquire_pending = false;
  u.held_back = 0;  // its connection goes; the holds on it are released as stale
  u.reads_held = false;
  if (u.conn != invalid_conn) {
    // Forget the connection first, so its on_close finds no session and changes nothing.
    const conn_id c = u.conn;
    ctx_.conns.erase(c);
    u.conn = invalid_conn;
    ctx_.out.tx(c).close(c, true);
  }
  if (u.idle_closing) {
    // Unbound for idleness: it sleeps until a request wants it again.
    u.idle_closing = false;
    u.state = link_state::idle;
    u.idle_since_ms = ctx_.now_ms;
    return;
  }
  set_failed(u, true);
  // Exponential back-off with jitter between reconnect_min_ms and reconnect_max_ms.
  const session_timers& tm = ctx_.cfg().timers;
  u.backoff_ms =
      u.backoff_ms == 0 ? tm.reconnect_min_ms : std::min(u.backoff_ms * 2, tm.reconnect_max_ms);
  static thread_local std::minstd_rand jitter(12345u + ctx_.index);
  u.reconnect_at_ms = ctx_.now_ms + u.backoff_ms / 2 + jitter() % (u.backoff_ms / 2 + 1);
}

void upstream_side::unbind_to_idle(upstream_link& u) {
  // SMPP 3.4 §4.2: unbind; on the unbind_resp the link goes idle (not down: no reconnect).
  u.idle_closing = true;
  u.state = link_state::unbinding;
  set_bound(u, false);
  u.last_tx_ms = ctx_.now_ms;
  (void)ctx_.out.header_only(u.conn, command_id::unbind, S::ESME_ROK, u.inflight_table.take_seq());
}

void upstream_side::set_bound(upstream_link& u, bool bound) noexcept {
  if (u.counted_bound == bound) return;
  u.counted_bound = bound;
  if (bound) {
    ++ctx_.counters.upstream(u.upstream).binds_up;
  } else {
    --ctx_.counters.upstream(u.upstream).binds_up;
  }
  if (ctx_.shared == nullptr || ctx_.shared->bound_links.empty()) return;
  auto& n = ctx_.shared->bound_links[u.upstream * ctx_.workers + ctx_.index];
  if (bound) {
    n.fetch_add(1, std::memory_order_relaxed);
  } else {
    n.fetch_sub(1, std::memory_order_relaxed);
  }
}

void upstream_side::set_failed(upstream_link& u, bool failed) noexcept {
  if (u.counted_failed == failed) return;
  u.counted_failed = failed;
  if (ctx_.shared == nullptr || u.upstream >= ctx_.shared->failed_links.size()) return;
  if (failed) {
    ctx_.shared->failed_links[u.upstream].fetch_add(1, std::memory_order_relaxed);
  } else {
    ctx_.shared->failed_links[u.upstream].fetch_sub(1, std::memory_order_relaxed);
  }
}

void upstream_side::wake(uint32_t upstream) {
  for (upstream_link* l : by_upstream_[upstream]) {
    if (l->state == link_state::idle) connect(*l);
  }
}

bool upstream_side::reachable(uint32_t upstream) const noexcept {
  const shared_state* sh = ctx_.shared;
  if (sh != nullptr && upstream < sh->failed_links.size()) {
    for (uint32_t w = 0; w < ctx_.workers && !sh->bound_links.empty(); ++w) {
      if (sh->bound_links[upstream * ctx_.workers + w].load(std::memory_order_relaxed) > 0)
        return true;
    }
    return sh->failed_links[upstream].load(std::memory_order_relaxed) == 0;
  }
  return std::none_of(by_upstream_[upstream].begin(), by_upstream_[upstream].end(),
                      [](const upstream_link* l) { return l->counted_failed; });
}

// ---------------------------------------------------------------------------------------------
// Requests out, answers in

upstream_link* upstream_side::pick(uint32_t up, conn_id esme, bool& any_busy) noexcept {
  // Each ESME session starts at its own bind and moves on only when that one is full or down:
  // its requests stay in order on one bind, and each poll writes to few upstream connections
  // in large batches instead of spreading every batch thinly over all of them.
  if (up >= by_upstream_.size()) return nullptr;
  auto& links = by_upstream_[up];
  const size_t n = links.size();
  const size_t start = n == 0 ? 0 : (esme * 0x9E3779B97F4A7C15ULL >> 32) % n;
  for (size_t k = 0; k < n; ++k) {
    upstream_link* l = links[(start + k) % n];
    if (l->state != link_state::bound || l->def->retired) continue;
    if (l->outstanding() >= l->def->window) {
      any_busy = true;
      continue;
    }
    return l;
  }
  return nullptr;
}

uint32_t upstream_side::send_request(upstream_link& u, bytes_view frame, const handoff_header& h) {
  const uint32_t seq = u.inflight_table.take_seq();
  if (!ctx_.out.relay(u.conn, frame, seq)) return 0;
  auto& e = u.inflight_table.open(seq, ctx_.now_ms + ctx_.cfg().timers.response_ms);
  e.esme_seq = h.esme_seq;
  e.esme = h.esme;
  e.id = static_cast<command_id>(h.command_id);
  e.origin = h.origin;
  e.tenant = h.tenant;
  e.start_us = ctx_.now_us;
  e.note = h.note != 0;
  e.retry_to = h.retry_to;
  if (e.retry_to != no_retry) {
    // Kept until the answer: a refusal sends these bytes to the next upstream.
    if (u.retry_frames.empty()) u.retry_frames.resize(u.inflight_table.capacity());
    u.retry_frames[u.inflight_table.index_of(seq)].assign(frame.begin(), frame.end());
  }
  ++ctx_.counters.upstream(u.upstream).forwarded;
  u.last_tx_ms = ctx_.now_ms;
  ++ctx_.stats.submit_forwarded;
  return seq;
}

bool upstream_side::enqueue_gated(upstream_link& u, const handoff_header& h, bytes_view frame,
                                  uint8_t parts) {
  if (!u.gate->enqueue(h, frame, parts)) return false;
  ++ctx_.counters.tenant(h.tenant).queued;
  return true;
}

// One of the two entry points of the per-message path: everything it calls in the router's
// parts is inlined into it (they are one translation unit, see dataplane/CMakeLists.txt).
[[gnu::flatten]] void upstream_side::on_data(upstream_link& u, conn_id c, bytes_view data) {
  u.last_rx_ms = ctx_.now_ms;
  while (!data.empty()) {
    const auto r = u.framer.next(data);
    data = data.subspan(r.consumed);
    if (r.st == codec::stream_framer::state::frame) {
      on_pdu(u, r.frame);
      if (u.conn != c) return;
    } else if (r.st == codec::stream_framer::state::error) {
      (void)ctx_.out.header_only(c, command_id::generic_nack, r.nack_status, r.sequence_number);
      ctx_.out.tx(c).close(c, false);
      return;
    }
  }
  // Another worker's hold queue asks this worker to stop reading the upstream's binds: after
  // this read, not before the next message through the rings.
  if (ctx_.shared != nullptr && !u.reads_held) {
    const size_t at = static_cast<size_t>(u.upstream) * ctx_.workers + ctx_.index;
    if (at < ctx_.shared->reads_held.size() &&
        ctx_.shared->reads_held[at].load(std::memory_order_relaxed) != 0) {
      u.reads_held = true;
      hold_back(c, true);
      reads_held_.push_back(c);
    }
  }
}

void upstream_side::resume_reads_held() {
  for (size_t i = 0; i < reads_held_.size();) {
    const conn_table::entry* e = ctx_.conns.find(reads_held_[i]);
    upstream_link* u =
        e != nullptr && e->link != nullptr && e->link->conn == reads_held_[i] ? e->link : nullptr;
    if (u != nullptr && u->reads_held) {
      const size_t at = static_cast<size_t>(u->upstream) * ctx_.workers + ctx_.index;
      if (ctx_.shared->reads_held[at].load(std::memory_order_relaxed) != 0) {
        ++i;
        continue;
      }
      u->reads_held = false;
      hold_back(u->conn, false);
    }
    reads_held_[i] = reads_held_.back();
    reads_held_.pop_back();
  }
}

void upstream_side::on_pdu(upstream_link& u, bytes_view frame) {
  const codec::pdu_header h = codec::peek_header(frame.data());
  const auto id = static_cast<command_id>(h.command_id);
  switch (id) {
    case command_id::submit_sm_resp:
    case command_id::data_sm_resp:
    case command_id::submit_multi_resp:
    case command_id::query_sm_resp:
    case command_id::cancel_sm_resp:
    case command_id::replace_sm_resp:
    case command_id::broadcast_sm_resp:
    case command_id::query_broadcast_sm_resp:
    case command_id::cancel_broadcast_sm_resp:
    case command_id::generic_nack:
      on_response(u, h, frame);
      return;
    case command_id::bind_transmitter_resp:
    case command_id::bind_receiver_resp:
    case command_id::bind_transceiver_resp:
      if (u.state != link_state::binding) return;
      if (h.command_status == 0) {
        bound(u);
      } else {
        down(u);
      }
      return;
    case command_id::enquire_link:
      (void)ctx_.out.header_only(u.conn, command_id::enquire_link_resp, S::ESME_ROK,
                                 h.sequence_number);
      return;
    case command_id::enquire_link_resp:
      u.enquire_pending = false;
      return;
    case command_id::unbind:
      (void)ctx_.out.header_only(u.conn, command_id::unbind_resp, S::ESME_ROK, h.sequence_number);
      u.state = link_state::unbinding;
      ctx_.out.tx(u.conn).close(u.conn, false);
      return;
    case command_id::unbind_resp:
      ctx_.out.tx(u.conn).close(u.conn, false);
      return;
    case command_id::deliver_sm:
    case command_id::data_sm:
      returns_.from_upstream(u.upstream, u.conn, frame);
      return;
    case command_id::alert_notification:
      returns_.alert_from_upstream(u.upstream, frame);
      return;
    case command_id::outbind:
      outbind(u, frame);
      return;
    default:
      if (!codec::is_response(id) && codec::has_response(id)) {
        (void)ctx_.out.answer(u.conn, id, S::ESME_RINVCMDID, h.sequence_number);
      } else if (!codec::is_known_command(h.command_id)) {
        (void)ctx_.out.header_only(u.conn, command_id::generic_nack, S::ESME_RINVCMDID,
                                   h.sequence_number);
      }
      return;
  }
}

void upstream_side::on_response(upstream_link& u, const codec::pdu_header& h, bytes_view frame) {
  const auto id = static_cast<command_id>(h.command_id);
  upstream_link::inflight* found = u.inflight_table.find(h.sequence_number);
  if (found == nullptr) {
    ++ctx_.stats.resp_orphaned;  // answered after its timeout, or never ours
    return;
  }
  const upstream_link::inflight e = *found;
  u.inflight_table.close(*found);
  ctx_.room_freed = true;
  const auto st = static_cast<S>(h.command_status);
  if (u.gate) {
    slot_gate::item& it = u.gate_items[u.inflight_table.index_of(h.sequence_number)];
    if ((st == S::ESME_RTHROTTLED || st == S::ESME_RMSGQFUL) &&
        (it.h.attempt == 0 || e.retry_to == no_retry || !ctx_.cfg().retries(h.command_status))) {
      // The SMSC is slower than its contract: the gate slows down and sends it again; the ESME
      // sees nothing of it. Refused again after that back-off, a status of retry_on goes to the
      // route's next upstream instead (below). `attempt` counts the back-offs of a request.
      ++it.h.attempt;
      ++ctx_.counters.tenant(it.h.tenant).queued;
      ++ctx_.stats.gate_requeued;
      u.gate->requeue_front(it);
      it.cell = slot_gate::no_cell;
      return;
    }
    if (st == S::ESME_ROK) u.gate->answered_ok();
    u.gate->release(it);
    it.cell = slot_gate::no_cell;
  }
  if (e.retry_to != no_retry && h.command_status != 0 && ctx_.cfg().retries(h.command_status) &&
      retry_refused(u, e, h.command_status)) {
    return;
  }
  if (is_submit(e.id)) {
    ctx_.counters.count_answer(e.tenant, u.upstream, h.command_status, e.start_us, ctx_.now_us);
    ctx_.quality_answer(u.upstream, ctx_.now_us > e.start_us ? ctx_.now_us - e.start_us : 0);
  }
  std::optional<note_wait> wait;
  if (h.command_status == 0 && e.note &&
      (id == command_id::submit_sm_resp || id == command_id::data_sm_resp ||
       id == command_id::submit_multi_resp || id == command_id::broadcast_sm_resp)) {
    // The id its receipts and the ESME's message operations will quote.
    wait = ids_.note(u.upstream, e.tenant, codec::resp_message_id(frame));
  }
  // The ESME gets the upstream's answer as it is, or for a generic_nack (the SMSC refused the
  // PDU itself) its own response with that status.
  const bool nack = id == command_id::generic_nack;
  const handoff_header req =
      request_header(handoff_header::answer, e.origin, e.esme, e.esme_seq, e.id, e.tenant);
  if (wait) {
    // With a store, the ESME learns its message was accepted only once the id is kept there.
    waits_.esme_answer(*wait, req, S::ESME_ROK, frame);
  } else if (back_.to_esme(req, nack ? st : S::ESME_ROK, nack ? bytes_view{} : frame)) {
    ++ctx_.stats.resp_relayed;
  }
}

bool upstream_side::retry_refused(upstream_link& u, const upstream_link::inflight& e,
                                  uint32_t status) {
  if (retry_ == nullptr || ctx_.shutting_down) return false;
  // The bytes leave the bind's table before anything is sent on it again.
  retry_frame_.swap(u.retry_frames[u.inflight_table.index_of(e.seq)]);
  handoff_header h =
      request_header(handoff_header::request, e.origin, e.esme, e.esme_seq, e.id, e.tenant);
  h.note = e.note ? 1 : 0;
  h.upstream = e.retry_to;
  h.retry_to = no_retry;  // once
  if (!retry_->retry(h, retry_frame_)) {
    ++ctx_.stats.retries_not_sent;  // no bind of the next upstream took it: the refusal stands
    return false;
  }
  // The refusal counts for this upstream only: the tenant is counted the final answer.
  ctx_.counters.count_answer(UINT32_MAX, u.upstream, status, e.start_us, ctx_.now_us);
  upstream_counters& c = ctx_.counters.upstream(u.upstream);
  ++c.retried;
  c.retried_by_status.add(status);
  return true;
}

void upstream_side::fail_inflight(upstream_link& u, codec::command_status status,
                                  bool all_of_them) {
  u.inflight_table.sweep(ctx_.now_ms, all_of_them, [&](upstream_link::inflight& e) {
    back_.to_esme(
        request_header(handoff_header::answer, e.origin, e.esme, e.esme_seq, e.id, e.tenant),
        status, {});
    ++(all_of_them ? ctx_.stats.upstream_failed_inflight : ctx_.stats.upstream_timeouts);
    if (is_submit(e.id)) {
      ctx_.counters.count_answer(e.tenant, u.upstream, static_cast<uint32_t>(status), e.start_us,
                                 ctx_.now_us);
    }
    if (u.gate) {
      slot_gate::item& it = u.gate_items[u.inflight_table.index_of(e)];
      u.gate->release(it);
      it.cell = slot_gate::no_cell;
    }
  });
}

void upstream_side::hold_back(conn_id c, bool hold) {
  const conn_table::entry* e = ctx_.conns.find(c);
  if (e == nullptr || e->link == nullptr || e->link->conn != c) return;  // gone
  upstream_link& u = *e->link;
  if (hold) {
    if (u.held_back++ == 0) {
      ctx_.out.tx(c).pause_read(c, true);
      ++ctx_.stats.binds_held_back;
    }
  } else if (u.held_back > 0 && --u.held_back == 0) {
    ctx_.out.tx(c).pause_read(c, false);
  }
}

void upstream_side::answer_deliver(const return_to& ret, codec::command_status status) {
  const conn_table::entry* e = ctx_.conns.find(ret.conn);
  if (e == nullptr || e->link == nullptr || e->link->conn != ret.conn) return;  // gone
  // SMPP 3.4 §4.6.2 / §4.7.2: deliver_sm_resp and data_sm_resp carry an unused, empty
  // message_id; without a body when the status is an error (§3.2).
  codec::pdu r;
  r.id = codec::response_of(ret.id);
  r.status = status;
  r.sequence_number = ret.seq;
  r.body_absent = status != S::ESME_ROK;
  if (!ctx_.out.pdu(ret.conn, r)) return;
  // The SMSC has its ESME_ROK for a final receipt: no further receipt will quote the id.
  if (status == S::ESME_ROK && ret.forget_id) ids_.forget(ret.key, ret.upstream);
}

// ---------------------------------------------------------------------------------------------
// Slot gates (TDMA)

int upstream_side::run_gates() {
  const uint64_t now_ns = ctx_.now_us * 1000;
  int sent = 0;
  for (upstream_link* l : gated_links_) {
    upstream_link& u = *l;
    slot_gate& g = *u.gate;
    if (g.backlog() == 0) continue;
    if (!g.gated() && u.state == link_state::bound) {
      // Its plan was removed: what waits goes now, as far as the window allows.
      sent +=
          static_cast<int>(g.flush([&](const slot_gate::item& it) { return send_gated(u, it); }));
      continue;
    }
    if (u.state != link_state::bound) {
      // Nothing can go out on this bind; the queued requests wait for it (bounded by the
      // tenants' queues) and fail over with the route when it is down for good (tick).
      continue;
    }
    sent += static_cast<int>(
        g.run(now_ns, [&](const slot_gate::item& it) { return send_gated(u, it); }));
  }
  return sent;
}

int upstream_side::gate_timeout_us(int timeout_us) const noexcept {
  const uint64_t now_ns = ctx_.now_us * 1000;
  for (const upstream_link* l : gated_links_) {
    if (l->gate->backlog() == 0) continue;
    const uint64_t due = l->gate->next_slot_ns();
    const auto wait_us = static_cast<int>(due > now_ns ? (due - now_ns) / 1000 : 0);
    timeout_us = std::min(timeout_us, wait_us);
  }
  return timeout_us;
}

bool upstream_side::send_gated(upstream_link& u, const slot_gate::item& it) {
  if (u.outstanding() >= u.def->window) return false;
  const uint32_t seq = send_request(u, u.gate->bytes(it), it.h);
  if (seq == 0) return false;
  u.gate_items[u.inflight_table.index_of(seq)] = it;
  if (ctx_.shared != nullptr && ctx_.cfg().tenants[it.h.tenant].backpressure) {
    // Room again in this tenant's queue: other workers may hand its requests over again.
    if (auto* f = ctx_.shared->queue_full_flag(u.upstream, it.h.tenant);
        f != nullptr && f->load(std::memory_order_relaxed) != 0) {
      f->store(0, std::memory_order_relaxed);
    }
  }
  --ctx_.counters.tenant(it.h.tenant).queued;
  return true;
}

void upstream_side::fail_gate(upstream_link& u, codec::command_status status) {
  if (!u.gate || u.gate->backlog() == 0) return;
  u.gate->drain([&](const slot_gate::item& it) {
    --ctx_.counters.tenant(it.h.tenant).queued;
    ctx_.counters.count_reject(it.h.tenant, status);
    back_.to_esme(it.h, status, {});
  });
}

std::vector<router_worker::gate_report> upstream_side::gate_reports() const {
  std::vector<router_worker::gate_report> out;
  for (const upstream_link* l : gated_links_) {
    out.push_back({l->upstream, l->gate->stats(), l->gate->stretch()});
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Timers, shutdown, new snapshots

void upstream_side::tick(std::span<const uint32_t> parked, bool all_answered) {
  for (auto& lp : links_) tick(*lp, parked);
  if (!ctx_.shutting_down || !all_answered) return;
  // Every answer still owed to an ESME has been relayed: the binds unbind (SMPP 3.4 §4.2).
  for (auto& lp : links_) {
    if (lp->conn != invalid_conn && lp->state == link_state::bound && lp->outstanding() == 0) {
      lp->state = link_state::unbinding;
      (void)ctx_.out.header_only(lp->conn, command_id::unbind, S::ESME_ROK,
                                 lp->inflight_table.take_seq());
    }
  }
}

void upstream_side::tick(upstream_link& u, std::span<const uint32_t> parked) {
  const uint64_t now_ms = ctx_.now_ms;
  const session_timers& tm = ctx_.cfg().timers;
  const shared_state* sh = ctx_.shared;
  switch (u.state) {
    case link_state::idle: {
      const uint64_t wanted = sh != nullptr && u.upstream < sh->wanted_ms.size()
                                  ? sh->wanted_ms[u.upstream].load(std::memory_order_relaxed)
                                  : 0;
      if (!ctx_.shutting_down && !u.def->retired && wanted > u.idle_since_ms) connect(u);
      break;
    }
    case link_state::down:
      if (u.def->retired) {
        // Removed while down: what waits in its gate cannot go out on it (temporary error: the
        // ESME retries on the routes of the new configuration).
        fail_gate(u, upstream_failure_status);
        break;
      }
      if (!ctx_.shutting_down && now_ms >= u.reconnect_at_ms) connect(u);
      break;
    case link_state::connecting:
      break;
    case link_state::outbind_wait:
      if (now_ms - u.last_rx_ms >= tm.bind_ms) {
        ++ctx_.stats.outbinds_refused;  // connected, but no outbind in time
        down(u);
      }
      break;
    case link_state::binding:
      if (now_ms - u.last_tx_ms >= tm.response_ms) down(u);
      break;
    case link_state::bound: {
      fail_inflight(u, upstream_failure_status, false);
      if (u.held_back > 0) u.last_rx_ms = now_ms;  // not read by our choice: not a dead peer
      if (now_ms - u.last_rx_ms >= tm.dead_peer_ms) {
        down(u);
        break;
      }
      if (!u.enquire_pending && now_ms - u.last_rx_ms >= tm.enquire_link_interval_ms) {
        u.enquire_pending = true;
        (void)ctx_.out.header_only(u.conn, command_id::enquire_link, S::ESME_ROK,
                                   u.inflight_table.take_seq());
      }
      if (u.def->retired && u.outstanding() == 0 && (!u.gate || u.gate->backlog() == 0)) {
        // Removed at run time, and everything it held is sent and answered: it unbinds and
        // stays closed (SMPP 3.4 §4.2).
        ++ctx_.stats.retired_unbinds;
        unbind_to_idle(u);
        break;
      }
      const upstream_def& def = ctx_.cfg().upstreams[u.upstream];
      const bool waiting = u.upstream < parked.size() && parked[u.upstream] > 0;
      if (def.on_demand && !ctx_.shutting_down && u.outstanding() == 0 && !waiting &&
          now_ms - u.last_tx_ms >= def.idle_unbind_ms) {
        // SMPP 3.4 §4.2: an on-demand bind nobody used for idle_unbind_ms unbinds.
        ++ctx_.stats.idle_unbinds;
        unbind_to_idle(u);
      }
      break;
    }
    case link_state::unbinding:
      if (u.conn != invalid_conn && now_ms - u.last_tx_ms >= tm.response_ms) down(u);
      break;
  }
}

void upstream_side::begin_shutdown() {
  for (upstream_link* l : gated_links_) fail_gate(*l, S::ESME_RTHROTTLED);
}

void upstream_side::adopt(const router_snapshot& old) {
  const router_snapshot& snap = ctx_.cfg();
  const size_t tenants = snap.tenants.size();
  for (auto& l : links_) {
    const auto bind = static_cast<size_t>(l->def - old.upstreams[l->upstream].binds.data());
    l->def = &snap.upstreams[l->upstream].binds[bind];
    if (l->gate) {
      l->gate->replan(l->def->plan, tenants);
      publish_slot_use(*l);
    } else if (l->def->plan.rate_per_s != 0) {
      make_gate(*l);
    }
    // A retired bind takes no new requests: other workers stop handing them here. One that
    // came back (added again under its name) counts again.
    if (l->state == link_state::bound) set_bound(*l, !l->def->retired);
  }
  by_upstream_.resize(snap.upstreams.size());
  for (size_t u = 0; u < snap.upstreams.size(); ++u) {
    // New upstreams, and binds added to the ones there were.
    const size_t had = u < old.upstreams.size() ? old.upstreams[u].binds.size() : 0;
    const size_t links_before = by_upstream_[u].size();
    add_links(snap.upstreams[u], had);
    for (size_t k = links_before; k < by_upstream_[u].size(); ++k) {
      upstream_link* l = by_upstream_[u][k];
      if (l->state == link_state::down) connect(*l);
    }
  }
}

}  // namespace smpp::dataplane::router
