#include "esme_side.hpp"

#include <algorithm>
#include <utility>

namespace smpp::dataplane::router {

using codec::command_id;
using codec::pdu;
using S = codec::command_status;

namespace {

// Octets a session held back by back-pressure may still deliver after its pause (a TLS read
// decrypting several records); beyond it the session is closed (backpressure_overflow).
constexpr size_t kStallLimitBytes = 1 << 20;

}  // namespace

esme_side::esme_side(worker_context& ctx, request_router& routing, deliveries& deliveries)
    : ctx_(ctx), routing_(routing), deliveries_(deliveries) {}

// ---------------------------------------------------------------------------------------------
// Connections and framing

void esme_side::on_accept(conn_id c, const peer_address& peer) {
  if (ctx_.shutting_down) {
    ctx_.out.tx(c).close(c, true);
    return;
  }
  esme_session& s = ctx_.conns.add_esme(c, ctx_.cfg().max_command_length);
  s.peer = peer;
  s.opened_ms = s.last_rx_ms = s.last_traffic_ms = ctx_.now_ms;
  ++ctx_.stats.esme_accepted;
}

void esme_side::on_data(esme_session& s, bytes_view data) {
  s.last_rx_ms = ctx_.now_ms;
  if (s.stalled) {
    // Read before the pause took effect (a TLS read decrypts several records at once).
    if (s.stall.size() + data.size() > kStallLimitBytes) {
      ++ctx_.stats.backpressure_overflow;
      close(s, true);
      return;
    }
    s.stall.insert(s.stall.end(), data.begin(), data.end());
    return;
  }
  (void)input(s, data);
}

// One of the two entry points of the per-message path: everything it calls in the router's
// parts is inlined into it (they are one translation unit, see dataplane/CMakeLists.txt).
[[gnu::flatten]] bool esme_side::input(esme_session& s, bytes_view data) {
  const conn_id c = s.conn;
  while (!data.empty()) {
    const auto r = s.framer.next(data);
    data = data.subspan(r.consumed);
    if (r.st == codec::stream_framer::state::frame) {
      on_pdu(s, r.frame);
      if (ctx_.conns.esme(c) == nullptr || s.conn == invalid_conn) return false;  // closed
      if (s.stall_now) {
        s.stall_now = false;
        stall(s, r.frame, data);
        return true;
      }
    } else if (r.st == codec::stream_framer::state::error) {
      // SMPP 3.4 §2.9: a length we cannot frame: generic_nack, then close.
      ++ctx_.stats.generic_nacks;
      (void)ctx_.out.header_only(c, command_id::generic_nack, r.nack_status, r.sequence_number);
      close(s, false);
      return false;
    }
  }
  s.partial_since_ms =
      s.framer.buffered() == 0 ? 0 : (s.partial_since_ms ? s.partial_since_ms : ctx_.now_ms);
  return true;
}

void esme_side::on_close(esme_session& s) {
  if (s.counted_bind && ctx_.shared)
    ctx_.shared->binds_per_tenant[s.tenant].fetch_sub(1, std::memory_order_relaxed);
  deliveries_.receiver_bound(s, false);
  deliveries_.fail(s, true);
  const conn_id c = s.conn;
  s.conn = invalid_conn;
  ctx_.conns.erase(c);  // s is gone
}

void esme_side::close(esme_session& s, bool abort) {
  if (s.conn == invalid_conn) return;
  deliveries_.receiver_bound(s, false);  // nothing more is delivered to it; on_close settles
  ctx_.out.tx(s.conn).close(s.conn, abort);
}

// ---------------------------------------------------------------------------------------------
// PDUs from the ESME

void esme_side::on_pdu(esme_session& s, bytes_view frame) {
  if (s.state == esme_state::bound && can_submit(s.bind)) {
    // The common submit_sm (no scheduled time, no TLV): its fields are read in place, checked
    // as decode() checks them; anything else takes the full decode below.
    codec::submit_sm_peek k;
    if (codec::peek_submit_sm(frame, k)) {
      pdu& p = peeked_;  // only these fields are ever set: the others keep their defaults
      p.id = command_id::submit_sm;
      p.sequence_number = k.sequence_number;
      p.service_type = k.service_type;
      p.source_addr = k.source_addr;
      p.destination_addr = k.destination_addr;
      p.esm_class = k.esm_class;
      p.registered_delivery = k.registered_delivery;
      p.data_coding = k.data_coding;
      p.short_message = k.short_message;
      s.last_traffic_ms = ctx_.now_ms;
      submit(s, frame, p);
      return;
    }
  }
  // The common answer to a delivery: deliver_sm_resp without a body or with an empty
  // message_id and no TLV (SMPP 3.4 §4.6.2), all decode() would read.
  if (frame.size() == codec::header_size ||
      (frame.size() == codec::header_size + 1 && frame[codec::header_size] == std::byte{0})) {
    const codec::pdu_header h = codec::peek_header(frame.data());
    if (h.command_id == static_cast<uint32_t>(command_id::deliver_sm_resp) &&
        h.command_length == frame.size()) {
      s.last_traffic_ms = ctx_.now_ms;
      deliveries_.on_answer(s, h);
      return;
    }
  }
  pdu p;
  const codec::decode_error e = codec::decode(frame, p);
  if (e) {
    ++ctx_.stats.decode_errors;
    if (e.status == S::ESME_RINVCMDID || e.status == S::ESME_RINVCMDLEN) {
      // SMPP 3.4 §3.3: generic_nack when the command cannot be identified or framed.
      ++ctx_.stats.generic_nacks;
      (void)ctx_.out.header_only(s.conn, command_id::generic_nack, e.status, p.sequence_number);
    } else if (!codec::is_response(p.id) && codec::has_response(p.id)) {
      (void)ctx_.out.answer(s.conn, p.id, e.status, p.sequence_number);
    }
    return;
  }
  const bool bound = s.state == esme_state::bound;
  if (p.id != command_id::enquire_link && p.id != command_id::enquire_link_resp)
    s.last_traffic_ms = ctx_.now_ms;
  switch (p.id) {
    case command_id::bind_transmitter:
    case command_id::bind_receiver:
    case command_id::bind_transceiver:
      if (s.state != esme_state::open || s.pending_bind.active) {
        (void)ctx_.out.answer(s.conn, p.id, S::ESME_RALYBND, p.sequence_number);
        return;
      }
      bind(s, p);
      return;
    case command_id::enquire_link:
      if (!bound) break;
      (void)ctx_.out.answer(s.conn, p.id, S::ESME_ROK, p.sequence_number);
      return;
    case command_id::enquire_link_resp:
      s.enquire_pending = false;
      return;
    case command_id::unbind:
      if (!bound) break;
      // SMPP 3.4 §4.2: no new requests from here on; the answers still owed to the ESME are
      // relayed first, then unbind_resp, then the session closes once that is written.
      s.state = esme_state::unbinding;
      deliveries_.receiver_bound(s, false);
      s.unbind_answer_pending = true;
      s.unbind_seq = p.sequence_number;
      after_answer(s);
      return;
    case command_id::unbind_resp:
      if (s.state == esme_state::unbinding) close(s, false);
      return;
    case command_id::submit_sm:
    case command_id::data_sm:
    case command_id::submit_multi:
      if (!bound || !can_submit(s.bind)) break;
      submit(s, frame, p);
      return;
    case command_id::query_sm:
    case command_id::cancel_sm:
    case command_id::replace_sm:
      if (!bound || !can_submit(s.bind)) break;
      message_op(s, frame, p);
      return;
    case command_id::broadcast_sm:
      // SMPP 5.0 §4.4.1: to the upstreams of its route that take broadcasts.
      if (!bound || !can_submit(s.bind)) break;
      submit(s, frame, p);
      return;
    case command_id::query_broadcast_sm:
    case command_id::cancel_broadcast_sm:
      // SMPP 5.0 §4.4.2, §4.4.3: to the upstream that accepted the broadcast.
      if (!bound || !can_submit(s.bind)) break;
      message_op(s, frame, p);
      return;
    case command_id::generic_nack:
    case command_id::deliver_sm_resp:
    case command_id::data_sm_resp:
      deliveries_.on_answer(s, codec::peek_header(frame.data()));
      return;
    case command_id::outbind:
    case command_id::alert_notification:
      // Only an SMSC sends these (SMPP 3.4 §4.1.7, §4.12); from an ESME they are invalid.
      ++ctx_.stats.generic_nacks;
      (void)ctx_.out.header_only(s.conn, command_id::generic_nack, S::ESME_RINVCMDID,
                                 p.sequence_number);
      return;
    default:
      if (codec::is_response(p.id)) return;  // unsolicited responses are dropped
      break;
  }
  // SMPP 3.4 §2.3: a PDU not allowed in the session's state.
  if (codec::has_response(p.id)) {
    (void)ctx_.out.answer(s.conn, p.id, S::ESME_RINVBNDSTS, p.sequence_number);
  }
}

void esme_side::bind(esme_session& s, const pdu& p) {
  // SMPP 3.4 §4.1: every authentication failure gets the same ESME_RBINDFAIL, so the answer
  // does not tell which part was wrong. After failures from the same source address or for the
  // same system_id every answer comes later (a growing delay), and after too many the address
  // or system_id is locked out for a while (bind_guard).
  const router_snapshot& snap = ctx_.cfg();
  bind_guard* guard = ctx_.shared != nullptr ? ctx_.shared->guard.get() : nullptr;
  const bind_guard::verdict v =
      guard != nullptr ? guard->check(s.peer, p.system_id, ctx_.now_ms) : bind_guard::verdict{};
  const auto it = snap.tenant_by_system_id.find(std::string(p.system_id));
  bool ok = !v.locked && it != snap.tenant_by_system_id.end();
  const tenant_def* tenant = ok ? &snap.tenants[it->second] : nullptr;
  if (ok) {
    ok = snap.verify_password && snap.verify_password(tenant->password_hash, p.password);
  } else if (!v.locked && snap.verify_password && !snap.dummy_password_hash.empty()) {
    // An unknown system_id costs the same hash verification as a known one, so the time of
    // the answer does not tell which system_ids exist.
    (void)snap.verify_password(snap.dummy_password_hash, p.password);
  }
  if (ok && !tenant->allowed_networks.empty()) {
    ok = std::any_of(tenant->allowed_networks.begin(), tenant->allowed_networks.end(),
                     [&](const cidr& n) { return n.contains(s.peer); });
  }
  if (guard != nullptr && !v.locked) {
    if (ok) {
      guard->succeeded(s.peer, p.system_id);
    } else {
      guard->failed(s.peer, p.system_id, ctx_.now_ms);
    }
  }
  if (ok && ctx_.shared) {
    auto& count = ctx_.shared->binds_per_tenant[tenant->index];
    if (count.fetch_add(1, std::memory_order_relaxed) >= tenant->max_binds) {
      count.fetch_sub(1, std::memory_order_relaxed);
      ok = false;
    } else {
      s.counted_bind = true;
    }
  }
  s.pending_bind.active = true;
  s.pending_bind.ok = ok;
  s.pending_bind.request = p.id;
  s.pending_bind.seq = p.sequence_number;
  s.pending_bind.tenant = ok ? tenant->index : 0;
  s.pending_bind.version = p.interface_version;
  s.pending_bind.answer_at_ms = ctx_.now_ms + v.delay_ms;
  if (v.delay_ms == 0) answer_bind(s);
}

void esme_side::answer_bind(esme_session& s) {
  const auto& b = s.pending_bind;
  s.pending_bind.active = false;
  pdu r;
  r.id = codec::response_of(b.request);
  r.sequence_number = b.seq;
  r.system_id = ctx_.cfg().system_id;
  std::array<std::byte, 8> tlv_buf;
  if (!b.ok) {
    ++ctx_.stats.bind_failed;
    r.status = S::ESME_RBINDFAIL;
    r.body_absent = true;
    (void)ctx_.out.pdu(s.conn, r);
    return;
  }
  if (b.version >= 0x34) {
    // SMPP 3.4 §4.1.2: sc_interface_version tells the ESME which version we speak.
    codec::tlv_writer w(tlv_buf);
    (void)w.add_uint(codec::tag::sc_interface_version, 0x34, 1);
    r.tlvs = w.area();
  }
  const tenant_def& tenant = ctx_.cfg().tenants[b.tenant];
  s.state = esme_state::bound;
  s.bind = b.request;
  s.tenant = tenant.index;
  s.window = tenant.window;
  s.last_traffic_ms = ctx_.now_ms;
  ++ctx_.stats.esme_bound;
  (void)ctx_.out.pdu(s.conn, r);
  if (can_receive(s.bind)) deliveries_.receiver_bound(s, true);
}

// ---------------------------------------------------------------------------------------------
// Requests: submits and message operations, and their answers

void esme_side::reject(esme_session& s, const pdu& p, codec::command_status status, counter& why) {
  ++why;
  ctx_.counters.count_reject(s.tenant, status);
  (void)ctx_.out.answer(s.conn, p.id, status, p.sequence_number);
}

void esme_side::submit(esme_session& s, bytes_view frame, const pdu& p) {
  worker_stats& st = ctx_.stats;
  if (ctx_.cfg().tenants[s.tenant].retired) {
    // The tenant was removed at run time: its session is unbound as soon as it is owed
    // nothing; new requests are outside any valid bind (SMPP 3.4 §5.1.3).
    ctx_.counters.count_reject(s.tenant, S::ESME_RINVBNDSTS);
    (void)ctx_.out.answer(s.conn, p.id, S::ESME_RINVBNDSTS, p.sequence_number);
    return;
  }
  if (s.counted_ahead > 0) {
    --s.counted_ahead;  // held back by back-pressure and offered again: counted already
  } else {
    ++st.submit_received;
    ++ctx_.counters.tenant(s.tenant).submitted;
  }
  if (s.outstanding >= s.window || ctx_.shutting_down) {
    reject(s, p, S::ESME_RTHROTTLED, st.throttled);
    return;
  }
  switch (routing_.submit(s, frame, p)) {
    case submit_outcome::taken:
      ++s.outstanding;
      return;
    case submit_outcome::no_route:
      // SMPP 5.0 §4.4.1.2: a broadcast fails as a broadcast.
      reject(s, p, p.id == command_id::broadcast_sm ? S::ESME_RBCASTFAIL : S::ESME_RINVDSTADR,
             st.no_route);
      return;
    case submit_outcome::no_broadcast_taker:
      reject(s, p, S::ESME_RBCASTFAIL, st.broadcast_no_taker);
      return;
    case submit_outcome::busy:
      if (backpressure(s)) return;
      reject(s, p, S::ESME_RTHROTTLED, st.throttled);
      return;
    case submit_outcome::throttled:
      reject(s, p, S::ESME_RTHROTTLED, st.throttled);
      return;
    case submit_outcome::unavailable:
      // Every bind of the route is down: a temporary failure.
      reject(s, p, upstream_failure_status, st.upstream_unavailable);
      return;
    case submit_outcome::bad_destinations:
      reject(s, p, S::ESME_RINVNUMDESTS, st.no_route);
      return;
    case submit_outcome::bad_sequence:
      reject(s, p, S::ESME_RUNKNOWNERR, st.decode_errors);
      return;
  }
}

void esme_side::message_op(esme_session& s, bytes_view frame, const pdu& p) {
  if (s.outstanding >= s.window || ctx_.shutting_down) {
    ++ctx_.stats.throttled;
    (void)ctx_.out.answer(s.conn, p.id, S::ESME_RTHROTTLED, p.sequence_number);
    return;
  }
  ++s.outstanding;  // answered through answer(), like a relayed submit
  routing_.message_op(s, frame, p);
}

bool esme_side::answer(const handoff_header& request, codec::command_status status,
                       bytes_view frame) {
  if (is_multi_part(request.esme_seq) &&
      request.command_id == static_cast<uint32_t>(command_id::submit_multi)) [[unlikely]] {
    routing_.multi_part_answered(request, status, frame);  // the ESME is answered once, later
    return true;
  }
  esme_session* s = ctx_.conns.esme(request.esme);
  if (s == nullptr) {
    ++ctx_.stats.resp_orphaned;  // the ESME left: nothing is owed to it
    return false;
  }
  if (s->outstanding > 0) --s->outstanding;
  const bool ok = frame.empty()
                      ? ctx_.out.answer(s->conn, static_cast<command_id>(request.command_id),
                                        status, request.esme_seq)
                      : ctx_.out.relay(s->conn, frame, request.esme_seq);
  if (!ok) {
    // The ESME stopped reading: its unsent answers exceed the bound. Close it.
    ++ctx_.stats.sessions_closed_slow;
    close(*s, true);
    return false;
  }
  after_answer(*s);
  return true;
}

void esme_side::after_answer(esme_session& s) {
  if (!s.unbind_answer_pending || s.outstanding > 0) return;
  s.unbind_answer_pending = false;
  (void)ctx_.out.header_only(s.conn, command_id::unbind_resp, S::ESME_ROK, s.unbind_seq);
  close(s, false);
}

// ---------------------------------------------------------------------------------------------
// Back-pressure (tenant queue_full = "backpressure")

bool esme_side::backpressure(esme_session& s) {
  if (ctx_.shutting_down || !ctx_.cfg().tenants[s.tenant].backpressure) return false;
  ++s.counted_ahead;  // counted as submitted now, not when offered again
  s.stall_now = true;
  return true;
}

void esme_side::stall(esme_session& s, bytes_view frame, bytes_view rest) {
  // The frame was framed (its octets left the framer); the rest was not framed yet: kept as
  // one stream, framed again when offered again.
  if (!s.stalled) {
    s.stalled = true;
    ctx_.out.tx(s.conn).pause_read(s.conn, true);
  }
  if (!s.listed) {
    s.listed = true;
    ++ctx_.stats.backpressure_stalls;
    ++ctx_.stats.stalled_sessions;
    stalled_.push_back(s.conn);
  }
  const std::byte* const offered = stall_scratch_.data();
  if (s.stall.empty() && !stall_scratch_.empty() && frame.data() == offered &&
      frame.size() + rest.size() == stall_scratch_.size() &&
      (rest.empty() || rest.data() == frame.data() + frame.size())) {
    // A retry that stalled at its first request (the common case while a queue stays full):
    // what it offered is held again as it was, without copying it.
    s.stall.swap(stall_scratch_);
    return;
  }
  s.stall.insert(s.stall.begin(), rest.begin(), rest.end());
  s.stall.insert(s.stall.begin(), frame.begin(), frame.end());
}

void esme_side::bounced(const handoff_header& h, bytes_view frame) {
  if (is_multi_part(h.esme_seq) &&
      h.command_id == static_cast<uint32_t>(command_id::submit_multi)) {
    // A part of a split submit_multi is not offered again on its own: its destinations are
    // refused in the aggregated answer.
    routing_.multi_part_answered(h, S::ESME_RTHROTTLED, {});
    return;
  }
  esme_session* s = ctx_.conns.esme(h.esme);
  if (s == nullptr) {
    ++ctx_.stats.resp_orphaned;  // the ESME left: nothing is owed to it
    return;
  }
  if (s->outstanding > 0) --s->outstanding;
  ++s->counted_ahead;  // offered again from the front: not counted as submitted twice
  s->bounced_ms = ctx_.now_ms;
  stall(*s, frame, {});
}

void esme_side::retry_stalled() {
  const bool room = std::exchange(ctx_.room_freed, false);
  if (stalled_.empty() || (ctx_.now_ms == stall_retry_ms_ && !room)) return;
  stall_retry_ms_ = ctx_.now_ms;
  size_t keep = 0;
  for (size_t i = 0; i < stalled_.size(); ++i) {
    const conn_id c = stalled_[i];
    esme_session* sp = ctx_.conns.esme(c);
    if (sp == nullptr || !sp->listed) {
      --ctx_.stats.stalled_sessions;  // closed meanwhile: nothing is owed to a session gone
      continue;
    }
    esme_session& s = *sp;
    s.last_rx_ms = ctx_.now_ms;  // held back by us, not idle
    if (s.stalled) {
      stall_scratch_.swap(s.stall);
      s.stall.clear();
      s.stalled = false;
      // input() may stall the session again, at the same request or a later one (it stays
      // listed, so stall() does not list it twice).
      const bool alive = input(s, stall_scratch_);
      stall_scratch_.clear();
      if (!alive) {
        --ctx_.stats.stalled_sessions;
        continue;
      }
    }
    // Everything it held was handed over again; requests may still come back from a queue
    // elsewhere that is still full: read again only after a quiet millisecond.
    if (s.stalled || ctx_.now_ms <= s.bounced_ms + 1) {
      stalled_[keep++] = c;
      continue;
    }
    --ctx_.stats.stalled_sessions;
    s.listed = false;
    ctx_.out.tx(c).pause_read(c, false);
    after_answer(s);  // an unbind that waited for the held requests
  }
  stalled_.resize(keep);
}

// ---------------------------------------------------------------------------------------------
// Timers and shutdown

void esme_side::unbind(esme_session& s) {
  s.state = esme_state::unbinding;
  // No new receipts or MO for a session that is going: they are held (and, with a store, kept
  // for the next start) rather than written after the unbind, where the ESME may not read them.
  deliveries_.receiver_bound(s, false);
  s.unbind_sent_ms = ctx_.now_ms;
  (void)ctx_.out.header_only(s.conn, command_id::unbind, S::ESME_ROK, s.out.take_seq());
}

void esme_side::tick() {
  const uint64_t now_ms = ctx_.now_ms;
  const session_timers& tm = ctx_.cfg().timers;
  ctx_.conns.for_each_esme([&](esme_session& s) {
    if (s.conn == invalid_conn) return;
    if (s.pending_bind.active) {
      if (now_ms >= s.pending_bind.answer_at_ms) answer_bind(s);
      return;
    }
    if (s.state == esme_state::open && now_ms - s.opened_ms >= tm.bind_ms) {
      close(s, true);  // no bind within the configured time after connect
      return;
    }
    if (s.partial_since_ms != 0 && now_ms - s.partial_since_ms >= tm.partial_pdu_ms) {
      close(s, true);  // a PDU started but not finished in time
      return;
    }
    if (now_ms - s.last_rx_ms >= tm.dead_peer_ms) {
      close(s, true);
      return;
    }
    if (s.state == esme_state::bound && !s.enquire_pending &&
        now_ms - s.last_rx_ms >= tm.enquire_link_interval_ms) {
      s.enquire_pending = true;
      (void)ctx_.out.header_only(s.conn, command_id::enquire_link, S::ESME_ROK, s.out.take_seq());
    }
    const bool retired = ctx_.cfg().tenants[s.tenant].retired;
    if (s.state == esme_state::bound &&
        ((retired && s.outstanding == 0 && !s.listed && s.out.count() == 0) ||
         (tm.esme_idle_ms != 0 && now_ms - s.last_traffic_ms >= tm.esme_idle_ms))) {
      // SMPP 3.4 §4.2: an idle session, or one of a tenant removed at run time once it has
      // every answer it is owed, is unbound; it closes on the unbind_resp.
      ++(retired ? ctx_.stats.retired_unbinds : ctx_.stats.esme_idle_unbinds);
      deliveries_.receiver_bound(s, false);
      unbind(s);
    } else if (s.state == esme_state::unbinding && s.unbind_sent_ms != 0 && !ctx_.shutting_down &&
               now_ms - s.unbind_sent_ms >= tm.response_ms) {
      close(s, true);  // no unbind_resp
      return;
    }
    deliveries_.fail(s, false);
  });
}

void esme_side::begin_shutdown() {
  // SMPP 3.4 §4.2: unbind every bound ESME; answers still outstanding are relayed meanwhile.
  ctx_.conns.for_each_esme([&](esme_session& s) {
    if (s.state == esme_state::bound) {
      unbind(s);
    } else if (s.state == esme_state::open) {
      close(s, true);
    }
  });
}

bool esme_side::all_answered() {
  // The ESMEs' requests answered, and the deliveries to them answered (or failed back): the
  // SMSC has its answer for every receipt and MO before the binds unbind, so none comes again.
  bool all = true;
  ctx_.conns.for_each_esme(
      [&](const esme_session& s) { all = all && s.outstanding == 0 && s.out.count() == 0; });
  return all;
}

}  // namespace smpp::dataplane::router
