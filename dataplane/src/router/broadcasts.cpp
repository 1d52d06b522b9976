// Cell broadcast (SMPP 5.0 §4.4): broadcast_sm names no destination address (its area is in
// broadcast_area_identifier), so it takes the route its tenant, source_addr and service_type
// match with an empty destination (a route without destination_prefix), and goes only to the
// upstreams of that route that take broadcasts (upstream_def::broadcast), in the route's order.
// Its message_id is always noted: query_broadcast_sm and cancel_broadcast_sm go, like query_sm,
// to the upstream that accepted it (message_op).
#include <algorithm>

#include "request_router.hpp"

namespace smpp::dataplane::router {

submit_outcome request_router::broadcast(esme_session& s, bytes_view frame, const codec::pdu& p) {
  const router_snapshot& snap = ctx_.cfg();
  const route_def* r = snap.routes.lookup(s.tenant, {}, p.source_addr, p.service_type);
  if (r == nullptr) return submit_outcome::no_route;
  route_def takers = *r;  // broadcasts are rare: a copy off the per-message path
  std::erase_if(takers.upstreams, [&](uint32_t u) {
    return u >= snap.upstreams.size() || !snap.upstreams[u].broadcast;
  });
  if (takers.upstreams.empty()) return submit_outcome::no_broadcast_taker;
  return submit_on(takers, {}, s, p.sequence_number, frame, p, true);
}

}  // namespace smpp::dataplane::router
