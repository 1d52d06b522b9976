// The worker's binds to upstream SMSCs (SMPP 3.4 §2.2, §4.1): connecting and binding them,
// keeping them alive, sending requests on them with the bind's own sequence numbers, matching
// the answers, and sending what waits at a gated bind in its time slots (TDMA). Which bind of
// an upstream a request takes is decided by routing; answers go back through `answers`, and
// what an upstream delivers (receipts, MO) goes on to the return path.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "answers.hpp"
#include "context.hpp"
#include "message_ids.hpp"
#include "refusal_retry.hpp"
#include "smpp/dataplane/router_worker.hpp"
#include "smpp/dataplane/slot_gate.hpp"
#include "store_waits.hpp"
#include "upstream_link.hpp"

namespace smpp::dataplane::router {

class return_path;

class upstream_side {
 public:
  upstream_side(worker_context& ctx, answers& back, message_ids& ids, return_path& returns,
                store_waits& waits);

  // Where refused requests go once more ([router] retry_on); none: answered as refused.
  void set_retry(refusal_retry* r) noexcept { retry_ = r; }

  // Starts connecting every bind that is down (not the idle on-demand ones).
  void start();
  void on_connect(upstream_link& u, conn_id c, int err);
  void on_data(upstream_link& u, conn_id c, bytes_view data);
  // A connection accepted on the outbind listener of `upstream` (SMPP 3.4 §4.1.7): taken by a
  // bind of it on this worker that is not connected; false when none is free (close it).
  [[nodiscard]] bool outbind_accepted(conn_id c, uint32_t upstream);
  void on_close(upstream_link& u);

  // A bind of `upstream` that takes a request now, starting at the one this ESME session
  // prefers (so a session's requests stay in order on one bind); any_busy set when one was
  // bound but full.
  [[nodiscard]] upstream_link* pick(uint32_t upstream, conn_id esme, bool& any_busy) noexcept;
  // Writes a request on u with the next sequence number and notes it in flight (answer to h's
  // ESME); its sequence number, or 0 when u's send queue refused it.
  uint32_t send_request(upstream_link& u, bytes_view frame, const handoff_header& h);
  // Queues a request at u's slot gate; false when the tenant's queue there is full.
  bool enqueue_gated(upstream_link& u, const handoff_header& h, bytes_view frame, uint8_t parts);
  // Starts connecting the idle binds of an on-demand upstream.
  void wake(uint32_t upstream);
  // An on-demand upstream whose binds are asleep or binding counts as reachable; one whose binds
  // failed does not, so its routes fail over to the next upstream.
  [[nodiscard]] bool reachable(uint32_t upstream) const noexcept;
  // Binds that came up since the last call (requests parked for them can go).
  [[nodiscard]] bool take_binds_came_up() noexcept {
    const bool up = came_up_;
    came_up_ = false;
    return up;
  }

  // Stops (hold) or resumes reading this worker's bind connection c, counted per caller: read
  // again once every hold is released. A stale c is ignored.
  void hold_back(conn_id c, bool hold);
  // Binds held back by other workers (shared_state::reads_held) whose holds were all released
  // are read again.
  void resume_reads_held();
  [[nodiscard]] bool reads_held() const noexcept { return !reads_held_.empty(); }

  // The deliver_sm_resp / data_sm_resp for a PDU that arrived on one of this worker's binds.
  void answer_deliver(const return_to& ret, codec::command_status status);

  // The slots due now, on every gated bind; how many requests went out.
  int run_gates();
  // How long the worker may sleep before the next slot with something to send (microseconds,
  // at most timeout_us).
  [[nodiscard]] int gate_timeout_us(int timeout_us) const noexcept;
  [[nodiscard]] bool gated() const noexcept { return !gated_links_.empty(); }

  // Timers: bind deadlines, enquire_link, dead peers, response timeouts, reconnects, idle and
  // retired unbinds. parked[u]: requests waiting for upstream u's binds (they stay up).
  // all_answered: no ESME of this worker is owed an answer (at shutdown, binds unbind then).
  void tick(std::span<const uint32_t> parked, bool all_answered);
  // Shutdown: what waits in the gates is answered ESME_RTHROTTLED (the ESMEs retry later).
  void begin_shutdown();
  // A new snapshot: binds take their new definitions and plans, new binds are added.
  void adopt(const router_snapshot& old);

  [[nodiscard]] std::vector<router_worker::gate_report> gate_reports() const;
  [[nodiscard]] uint32_t bound() const noexcept;

 private:
  // The SMSC's outbind on a connection it opened: bind on it, or close it.
  void outbind(upstream_link& u, bytes_view frame);
  void add_links(const upstream_def& u, size_t from_bind = 0);
  void make_gate(upstream_link& l);
  // The gate's slot use where the admin API reads it (shared_state), after it is made or replanned.
  void publish_slot_use(const upstream_link& l);
  void connect(upstream_link& u);
  void bound(upstream_link& u);
  void down(upstream_link& u);
  void unbind_to_idle(upstream_link& u);  // idle or retired: unbinds and stays closed
  void on_pdu(upstream_link& u, bytes_view frame);
  void on_response(upstream_link& u, const codec::pdu_header& h, bytes_view frame);
  // A message request refused with a status of retry_on, sent to e.retry_to: true when it went
  // (the ESME is answered by that upstream), false when the refusal is the ESME's answer.
  bool retry_refused(upstream_link& u, const upstream_link::inflight& e, uint32_t status);
  // Answers every request in flight on u (all_of_them) or those past their deadline.
  void fail_inflight(upstream_link& u, codec::command_status status, bool all_of_them);
  void fail_gate(upstream_link& u, codec::command_status status);
  bool send_gated(upstream_link& u, const slot_gate::item& it);
  void set_bound(upstream_link& u, bool bound) noexcept;
  void set_failed(upstream_link& u, bool failed) noexcept;
  void tick(upstream_link& u, std::span<const uint32_t> parked);

  worker_context& ctx_;
  answers& back_;
  message_ids& ids_;
  store_waits& waits_;
  return_path& returns_;
  std::vector<std::unique_ptr<upstream_link>> links_;
  std::vector<std::vector<upstream_link*>> by_upstream_;
  std::vector<upstream_link*> gated_links_;  // this worker's binds with a slot gate
  std::vector<conn_id> reads_held_;          // binds held back by shared_state::reads_held
  refusal_retry* retry_ = nullptr;
  std::vector<std::byte> retry_frame_;  // the frame being retried (swapped, not copied)
  bool came_up_ = false;
};

}  // namespace smpp::dataplane::router
