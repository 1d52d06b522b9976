// The ESMEs' sessions with the router, as their SMSC (SMPP 3.4 §2.2-2.3, §4): accepting and
// framing, binds with their authentication, the PDUs a session may send in its state, submits
// handed to routing, back-pressure (a session not read while its tenant's queue is full), the
// answers relayed back, unbind, and the session timers.
#pragma once

#include <cstdint>
#include <vector>

#include "context.hpp"
#include "deliveries.hpp"
#include "esme_session.hpp"
#include "request_router.hpp"

namespace smpp::dataplane::router {

class esme_side {
 public:
  esme_side(worker_context& ctx, request_router& routing, deliveries& deliveries);

  void on_accept(conn_id c, const peer_address& peer);
  void on_data(esme_session& s, bytes_view data);
  void on_close(esme_session& s);

  // The answer to a request of the session on `request.esme`: the upstream's frame (its
  // sequence number restored) or a response of header only with status. false when the
  // session is gone (counted as orphaned) or stopped reading (closed).
  bool answer(const handoff_header& request, codec::command_status status, bytes_view frame);
  // A request another worker could not queue (its tenant's queue there is full): held with the
  // session's unread octets and offered again.
  void bounced(const handoff_header& h, bytes_view frame);
  // Back-pressure: offers what stalled sessions hold again (once per millisecond).
  void retry_stalled();

  // Timers: bind deadlines, delayed bind answers, partial PDUs, dead peers, enquire_link, idle
  // and retired unbinds, deliveries past their deadline.
  void tick();
  // SIGTERM: every bound ESME is unbound, the others closed.
  void begin_shutdown();
  // No session of this worker is owed an answer.
  [[nodiscard]] bool all_answered();
  [[nodiscard]] uint32_t sessions() const noexcept { return ctx_.conns.esme_count(); }

 private:
  // Frames and handles an ESME's octets; false when the session is gone afterwards.
  bool input(esme_session& s, bytes_view data);
  void on_pdu(esme_session& s, bytes_view frame);
  void bind(esme_session& s, const codec::pdu& p);
  void answer_bind(esme_session& s);
  void submit(esme_session& s, bytes_view frame, const codec::pdu& p);
  void message_op(esme_session& s, bytes_view frame, const codec::pdu& p);
  // The router answers a request itself with an error: counted for the tenant and under why.
  void reject(esme_session& s, const codec::pdu& p, codec::command_status status, counter& why);
  // A request of s found no room: true (and the session stalls) when its tenant has
  // back-pressure, false when it is to be answered ESME_RTHROTTLED.
  bool backpressure(esme_session& s);
  // Keeps `frame` and `rest` and stops reading the session; retried each ms.
  void stall(esme_session& s, bytes_view frame, bytes_view rest);
  // After an answer to the ESME: completes an unbind that waited for it.
  void after_answer(esme_session& s);
  // SMPP 3.4 §4.2: the router unbinds the session; it closes on the unbind_resp.
  void unbind(esme_session& s);
  void close(esme_session& s, bool abort);

  worker_context& ctx_;
  request_router& routing_;
  deliveries& deliveries_;
  codec::pdu peeked_;             // a plain submit_sm read by peek_submit_sm (on_pdu)
  std::vector<conn_id> stalled_;  // sessions held back (back-pressure), retried each ms
  std::vector<std::byte> stall_scratch_;
  uint64_t stall_retry_ms_ = 0;
};

}  // namespace smpp::dataplane::router
