#include "return_path.hpp"

#include <algorithm>

#include "smpp/codec/receipt.hpp"

namespace smpp::dataplane::router {

using S = codec::command_status;

return_path::return_path(worker_context& ctx, handoff_port& port, message_ids& ids, deliveries& out,
                         answers& back)
    : ctx_(ctx), port_(port), ids_(ids), deliveries_(out), back_(back) {}

namespace {

quoted_id quoted_id_of(uint8_t esm_class, std::string_view id,
                       std::optional<codec::message_state> state) noexcept {
  const bool smsc_receipt =
      codec::receipt_kind_from_esm_class(esm_class) == codec::receipt_kind::smsc_delivery_receipt;
  const bool final = smsc_receipt && state && codec::is_final(*state);
  return {id, final, final && *state == codec::message_state::delivered,
          state ? static_cast<uint8_t>(*state) : uint8_t{0}};
}

quoted_id quoted_id_of(const codec::pdu& p) noexcept {
  const codec::receipt_summary r = codec::summarize_receipt(p);
  return quoted_id_of(p.esm_class, r.message_id, r.state);
}

quoted_id quoted_id_of(const codec::receipt_peek& k) noexcept {
  return quoted_id_of(k.esm_class, k.message_id,
                      static_cast<codec::message_state>(k.message_state));
}

}  // namespace

void return_path::from_upstream(uint32_t upstream, conn_id conn, bytes_view frame) {
  const codec::pdu_header ph = codec::peek_header(frame.data());
  return_to ret;
  ret.worker = ctx_.index;
  ret.conn = conn;
  ret.seq = ph.sequence_number;
  ret.id = static_cast<codec::command_id>(ph.command_id);
  ret.upstream = static_cast<uint16_t>(upstream);
  // Most receipts carry their id and state in TLVs: read in place, checked as decode() checks.
  if (codec::receipt_peek k; codec::peek_receipt(frame, k)) {
    const quoted_id q = quoted_id_of(k);
    on_receipt(q, ret, frame);
    return;
  }
  codec::pdu p;
  if (const codec::decode_error e = codec::decode(frame, p)) {
    ++ctx_.stats.decode_errors;
    (void)ctx_.out.answer(conn, ret.id, e.status, ret.seq);
    return;
  }
  if ((p.esm_class & codec::esm_class_type_mask) != 0) {
    const quoted_id q = quoted_id_of(p);
    on_receipt(q, ret, frame);
    return;
  }
  // A mobile-originated message: its MO route names the tenant.
  ret.mo = true;
  ++ctx_.stats.mo_received;
  ++ctx_.counters.upstream(upstream).mo.received;
  const route_def* r = ctx_.cfg().mo_routes.lookup(upstream, p.destination_addr, {}, {});
  if (r == nullptr || r->upstreams.empty()) {
    ++ctx_.stats.mo_unrouted;
    back_.to_upstream(ret, S::ESME_RINVDSTADR);
    return;
  }
  ret.tenant = static_cast<uint16_t>(r->upstreams[0]);
  ++ctx_.counters.tenant(ret.tenant).mo.received;
  deliveries_.to_tenant(ret.tenant, frame, ret,
                        ctx_.now_ms + ctx_.cfg().tenants[ret.tenant].hold_ttl_ms);
}

void return_path::on_receipt(const quoted_id& q, return_to ret, bytes_view frame) {
  const std::string_view id = q.id;
  const bool final = q.final;
  const bool delivered = q.delivered;
  // SMPP 3.4 §5.2.12: a delivery receipt, an SME acknowledgement or an intermediate
  // notification, all about a message an ESME submitted: it goes to that ESME's tenant.
  const uint32_t upstream = ret.upstream;
  ++ctx_.stats.receipts_received;
  ++ctx_.counters.upstream(upstream).receipts.received;
  if (final) ctx_.quality_receipt(upstream, delivered);
  if (id.empty()) {
    // Nobody to give it to; refusing it would only make the SMSC send it again.
    ++ctx_.stats.receipts_invalid;
    ++ctx_.counters.upstream(upstream).receipts_invalid;
    back_.to_upstream(ret, S::ESME_ROK);
    return;
  }
  route_receipt(id, final, q.state, ret, frame);
}

void return_path::receipt_from_worker(const handoff_header& h, bytes_view frame) {
  if (codec::receipt_peek k; codec::peek_receipt(frame, k)) {
    const quoted_id q = quoted_id_of(k);
    route_receipt(q.id, q.final, q.state, return_of(h), frame);
    return;
  }
  codec::pdu p;
  if (codec::decode(frame, p)) return;
  const quoted_id q = quoted_id_of(p);
  route_receipt(q.id, q.final, q.state, return_of(h), frame);
}

void return_path::route_receipt(std::string_view message_id, bool final, uint8_t state,
                                return_to ret, bytes_view frame) {
  const uint32_t upstream = ret.upstream;
  const correlation_key_result k = ids_.receipt_key(upstream, message_id);
  if (!k.ok()) {
    ++ctx_.stats.receipts_invalid;
    ++ctx_.counters.upstream(upstream).receipts_invalid;
    back_.to_upstream(ret, S::ESME_ROK);
    return;
  }
  if (const uint32_t owner = ids_.owner(k.key); owner != ctx_.index) {
    if (!port_.push(owner, return_header(handoff_header::receipt, ret), frame)) {
      // The owner is behind: its ring is full. This one waits (in order) and the bind that
      // carried it is not read again until the ring took everything waiting.
      const bool listed = std::any_of(paused_.begin(), paused_.end(), [&](const return_to& b) {
        return b.worker == ret.worker && b.conn == ret.conn;
      });
      if (!listed) {
        paused_.push_back(ret);
        back_.hold_back_upstream(ret, true);
      }
    }
    return;
  }
  const std::optional<correlation_value> v = ids_.find(k.key, upstream);
  if (!v || v->tenant >= ctx_.cfg().tenants.size()) {
    // Submitted before the router started, expired, or evicted from a full table: counted,
    // acknowledged, not relayed.
    ++ctx_.stats.receipts_unmatched;
    ++ctx_.counters.upstream(upstream).receipts_unmatched;
    back_.to_upstream(ret, S::ESME_ROK);
    return;
  }
  ids_.receipt_arrived(k.key, upstream, state);
  ret.tenant = v->tenant;
  ret.forget_id = final;
  ret.key = k.key;
  ++ctx_.counters.tenant(ret.tenant).receipts.received;
  deliveries_.to_tenant(ret.tenant, frame, ret,
                        ctx_.now_ms + ctx_.cfg().tenants[ret.tenant].hold_ttl_ms);
}

void return_path::resume_reads() {
  if (port_.has_deferred()) return;
  for (const return_to& b : paused_) back_.hold_back_upstream(b, false);
  paused_.clear();
}

}  // namespace smpp::dataplane::router
