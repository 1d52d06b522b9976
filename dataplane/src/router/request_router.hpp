// Routing: where an ESME's request goes. A submit is routed by its destination (the route table
// of the snapshot, failover order), onto a bind of this worker that takes it, else handed to a
// worker with a bound bind of that upstream, else parked while an on-demand upstream wakes up.
// A message operation (query_sm, cancel_sm, replace_sm) goes to the upstream that accepted the
// message, found by its id. Requests from other workers for this worker's binds arrive here too.
#pragma once

#include <cstdint>
#include <deque>
#include <span>
#include <string_view>
#include <vector>

#include "answers.hpp"
#include "context.hpp"
#include "esme_session.hpp"
#include "handoff_port.hpp"
#include "message_ids.hpp"
#include "multi_table.hpp"
#include "refusal_retry.hpp"
#include "upstream_side.hpp"

namespace smpp::dataplane::router {

enum class submit_outcome : uint8_t {
  taken,               // sent, queued at a gate, handed over or parked: an answer will come
  no_route,            // no route for the destination
  no_broadcast_taker,  // broadcast_sm: a route, but none of its upstreams takes broadcasts
  busy,                // every bind of the route is full (back-pressure applies)
  throttled,           // the bind's send queue refused it
  unavailable,         // no bind of any upstream of the route is up
  bad_destinations,    // submit_multi with no destination or more than 254 (SMPP 3.4 §4.5.1)
  bad_sequence,        // submit_multi numbered outside 1..0x7FFFFFFF (SMPP 3.4 §5.1.1)
};

class request_router final : private refusal_retry {
 public:
  request_router(worker_context& ctx, upstream_side& upstreams, handoff_port& port,
                 message_ids& ids, answers& back);

  [[nodiscard]] submit_outcome submit(esme_session& s, bytes_view frame, const codec::pdu& p);
  // The answer to one part of a submit_multi split over several routes (is_multi_part of its
  // esme_seq): the aggregate answers the ESME once every part is answered (submit_multi.cpp).
  void multi_part_answered(const handoff_header& part, codec::command_status status,
                           bytes_view frame);
  // query_sm / cancel_sm / replace_sm from s; answered through `answers`.
  void message_op(const esme_session& s, bytes_view frame, const codec::pdu& p);

  // From other workers: a request for one of this worker's binds; a message operation for this
  // worker's correlation shard.
  void request_from_worker(const handoff_header& h, bytes_view frame);
  void message_op_from_worker(const handoff_header& h, bytes_view frame);

  // Parked requests go as soon as a bind of their upstream is up, or fail at their deadline.
  void flush_parked();
  [[nodiscard]] bool has_parked() const noexcept { return !parked_.empty(); }
  // Requests parked per upstream (their binds stay up).
  [[nodiscard]] std::span<const uint32_t> parked_by_upstream() const noexcept {
    return parked_by_upstream_;
  }
  void adopt();  // a new snapshot: upstreams may have been added

 private:
  // The route of one destination: by its network when routes by network exist, else by prefix.
  [[nodiscard]] const route_def* route_of(uint32_t tenant, std::string_view dest,
                                          const codec::pdu& p) const noexcept;
  // The request on a route: failover order, a local bind, another worker's, or parked.
  // note: note its message id whatever [correlation] note says.
  [[nodiscard]] submit_outcome submit_on(const route_def& route, std::string_view dest,
                                         esme_session& s, uint32_t esme_seq, bytes_view frame,
                                         const codec::pdu& p, bool note = false);
  // SMPP 3.4 §4.5: each destination routed on its own; one route takes the PDU as it is, several
  // take a submit_multi each with their destinations (submit_multi.cpp).
  [[nodiscard]] submit_outcome submit_multi(esme_session& s, bytes_view frame, const codec::pdu& p);
  // SMPP 5.0 §4.4.1: broadcast_sm to the upstreams of its route that take broadcasts
  // (broadcasts.cpp); no_route without a route, no_broadcast_taker when none of them does.
  [[nodiscard]] submit_outcome broadcast(esme_session& s, bytes_view frame, const codec::pdu& p);
  // refusal_retry: to h.upstream, on a bind of this worker or handed to another's.
  bool retry(const handoff_header& h, bytes_view frame) override;
  void message_op(handoff_header h, std::string_view message_id, bytes_view frame);
  // Sends a request on a bind of this worker; false when none took it.
  bool forward_local(uint32_t upstream, const handoff_header& h, bytes_view frame, bool& any_busy);
  // Hands a request to a worker with a bound bind of `upstream`; false when none took it.
  bool hand_off(uint32_t upstream, const handoff_header& from, bytes_view frame, bool& any_busy);
  // Cold (on-demand upstreams asleep), kept out of submit(): inlined there, GCC 12 at -O1 under
  // the sanitizers warns of a null memmove in the frame's copy that cannot happen (-Wnonnull).
  [[gnu::noinline]] bool park(uint32_t upstream, const handoff_header& h, bytes_view frame);
  // A back-pressure tenant's queue at another worker's gated bind of upstream is full.
  [[nodiscard]] bool tenant_queue_full(uint32_t upstream, uint32_t tenant) const noexcept;

  worker_context& ctx_;
  upstream_side& upstreams_;
  handoff_port& port_;
  message_ids& ids_;
  answers& back_;
  uint32_t rr_worker_ = 0;
  // Requests waiting for an on-demand upstream's first bind, oldest first.
  struct parked_request {
    handoff_header h;
    uint64_t deadline_ms = 0;
    std::vector<std::byte> frame;
  };
  std::deque<parked_request> parked_;
  std::vector<uint32_t> parked_by_upstream_;
  multi_table multis_;
  std::vector<std::byte>
      part_frame_;  // one part of a split submit_multi, while it is routed  // submit_multi split
                    // over several routes, waiting for their parts
};

}  // namespace smpp::dataplane::router
