#include "return_path.hpp"

#include "smpp/codec/receipt.hpp"

namespace smpp::dataplane::router {

using S = codec::command_status;

return_path::return_path(worker_context& ctx, handoff_port& port, message_ids& ids, deliveries& out,
                         answers& back)
    : ctx_(ctx), port_(port), ids_(ids), deliveries_(out), back_(back) {}

void return_path::from_upstream(uint32_t upstream, conn_id conn, bytes_view frame) {
  const codec::pdu_header ph = codec::peek_header(frame.data());
  const return_to ret{ctx_.index, conn, ph.sequence_number,
                      static_cast<codec::command_id>(ph.command_id)};
  codec::pdu p;
  if (const codec::decode_error e = codec::decode(frame, p)) {
    ++ctx_.stats.decode_errors;
    (void)ctx_.out.answer(conn, ret.id, e.status, ret.seq);
    return;
  }
  if ((p.esm_class & codec::esm_class_type_mask) != 0) {
    // SMPP 3.4 §5.2.12: a delivery receipt, an SME acknowledgement or an intermediate
    // notification, all about a message an ESME submitted: it goes to that ESME's tenant.
    ++ctx_.stats.receipts_received;
    ++ctx_.counters.upstream(upstream).receipts;
    const std::string_view id = codec::receipt_message_id(p);
    if (id.empty()) {
      // Nobody to give it to; refusing it would only make the SMSC send it again.
      ++ctx_.stats.receipts_invalid;
      back_.to_upstream(ret, S::ESME_ROK);
      return;
    }
    route_receipt(upstream, id, ret, frame);
    return;
  }
  // A mobile-originated message: its MO route names the tenant.
  ++ctx_.stats.mo_received;
  const route_def* r = ctx_.cfg().mo_routes.lookup(upstream, p.destination_addr, {}, {});
  if (r == nullptr || r->upstreams.empty()) {
    ++ctx_.stats.mo_unrouted;
    back_.to_upstream(ret, S::ESME_RINVDSTADR);
    return;
  }
  const uint32_t tenant = r->upstreams[0];
  ++ctx_.counters.tenant(tenant).mo;
  ++ctx_.counters.upstream(upstream).mo;
  deliveries_.to_tenant(tenant, frame, ret, ctx_.now_ms + ctx_.cfg().tenants[tenant].hold_ttl_ms);
}

void return_path::receipt_from_worker(const handoff_header& h, bytes_view frame) {
  codec::pdu p;
  if (!codec::decode(frame, p))
    route_receipt(h.upstream, codec::receipt_message_id(p), return_of(h), frame);
}

void return_path::route_receipt(uint32_t upstream, std::string_view message_id,
                                const return_to& ret, bytes_view frame) {
  const correlation_key_result k = ids_.receipt_key(upstream, message_id);
  if (!k.ok()) {
    ++ctx_.stats.receipts_invalid;
    back_.to_upstream(ret, S::ESME_ROK);
    return;
  }
  if (const uint32_t owner = ids_.owner(k.key); owner != ctx_.index) {
    handoff_header h = return_header(handoff_header::receipt, ret);
    h.upstream = upstream;
    port_.push(owner, h, frame);
    return;
  }
  const std::optional<correlation_value> v = ids_.find(k.key, upstream);
  if (!v || v->tenant >= ctx_.cfg().tenants.size()) {
    // Submitted before the router started, expired, or never noted (table full): counted,
    // acknowledged, not relayed.
    ++ctx_.stats.receipts_unmatched;
    back_.to_upstream(ret, S::ESME_ROK);
    return;
  }
  ++ctx_.counters.tenant(v->tenant).receipts;
  deliveries_.to_tenant(v->tenant, frame, ret,
                        ctx_.now_ms + ctx_.cfg().tenants[v->tenant].hold_ttl_ms);
}

}  // namespace smpp::dataplane::router
