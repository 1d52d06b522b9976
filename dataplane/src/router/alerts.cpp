// alert_notification (SMPP 3.4 §4.12) from an upstream: the mobile in its source_addr became
// available for the ESME in its esme_addr. It goes to the tenant whose MO route owns that
// esme_addr (return_path), to one of the tenant's bound receivers on this worker or another
// (deliveries); it has no response, so nothing is held and nothing answers the SMSC.
#include "deliveries.hpp"
#include "return_path.hpp"

namespace smpp::dataplane::router {

void return_path::alert_from_upstream(uint32_t upstream, bytes_view frame) {
  ++ctx_.stats.alerts_received;
  codec::pdu p;
  if (codec::decode(frame, p)) {
    ++ctx_.stats.decode_errors;  // SMPP 3.4 §4.12: no response, not even an error
    return;
  }
  const route_def* r = ctx_.cfg().mo_routes.lookup(upstream, p.esme_addr, {}, {});
  if (r == nullptr || r->upstreams.empty()) {
    ++ctx_.stats.alerts_unrouted;
    return;
  }
  deliveries_.alert(r->upstreams[0], frame);
}

void deliveries::alert(uint32_t tenant, bytes_view frame) {
  if (alert_local(tenant, frame)) return;
  if (ctx_.meshed() && ctx_.shared != nullptr && tenant < ctx_.cfg().tenants.size()) {
    for (uint32_t k = 1; k < ctx_.workers; ++k) {
      const uint32_t w = (ctx_.index + k) % ctx_.workers;
      if (ctx_.shared->receivers[tenant * ctx_.workers + w].load(std::memory_order_relaxed) == 0)
        continue;
      handoff_header h = request_header(handoff_header::alert, ctx_.index, invalid_conn, 0,
                                        codec::command_id::alert_notification, tenant);
      if (port_.try_push(w, h, frame)) return;
    }
  }
  ++ctx_.stats.alerts_dropped;
}

void deliveries::alert_from_worker(const handoff_header& h, bytes_view frame) {
  if (!alert_local(h.tenant, frame)) ++ctx_.stats.alerts_dropped;
}

bool deliveries::alert_local(uint32_t tenant, bytes_view frame) {
  if (tenant >= receivers_.size()) return false;
  const std::vector<conn_id>& sessions = receivers_[tenant];
  uint32_t& turn = next_receiver_[tenant];
  for (size_t tried = 0; tried < sessions.size(); ++tried) {
    turn = static_cast<uint32_t>((turn + (tried == 0 ? 0 : 1)) % sessions.size());
    esme_session* to = ctx_.conns.esme(sessions[turn]);
    // SMPP 3.4 §4.12: no response; the ESME sees a sequence number of its session's.
    if (to != nullptr && ctx_.out.relay(to->conn, frame, to->out.take_seq())) {
      to->last_traffic_ms = ctx_.now_ms;
      turn = static_cast<uint32_t>((turn + 1) % sessions.size());
      ++ctx_.stats.alerts_relayed;
      return true;
    }
  }
  return false;
}

}  // namespace smpp::dataplane::router
