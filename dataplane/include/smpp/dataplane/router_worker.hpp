// One router worker: the ESME sessions it accepted, its share of the upstream binds, and the
// hot path between them (SMPP 3.4 §2.2-2.3 sessions, §4 PDUs). Single-threaded: everything here
// is touched only by the worker's own thread, driven by its transport's poll().
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <vector>

#include "smpp/codec/codec.hpp"
#include "smpp/codec/framer.hpp"
#include "smpp/dataplane/correlation.hpp"
#include "smpp/dataplane/counters.hpp"
#include "smpp/dataplane/handoff.hpp"
#include "smpp/dataplane/slot_gate.hpp"
#include "smpp/dataplane/snapshot.hpp"
#include "smpp/dataplane/transport.hpp"

namespace smpp::dataplane {

struct worker_stats {
  counter esme_accepted;
  counter esme_bound;
  counter bind_failed;
  counter submit_received;   // submit_sm, data_sm, submit_multi from ESMEs
  counter submit_forwarded;  // sent upstream
  counter resp_relayed;      // upstream answers relayed to ESMEs
  counter resp_orphaned;     // upstream answers for an ESME already gone, or too late
  counter throttled;         // ESME_RTHROTTLED answered by the router
  counter no_route;
  counter upstream_unavailable;
  counter upstream_timeouts;
  counter upstream_failed_inflight;  // answered because the upstream bind dropped
  counter decode_errors;
  counter generic_nacks;
  counter sessions_closed_slow;  // closed because they stopped reading
  counter upstream_binds_up;
  counter upstream_connect_failures;
  counter handed_off;        // requests sent to the worker that owns the upstream bind
  counter handoff_received;  // requests taken from other workers
  counter answers_deferred;  // answers that waited because the ring back was full
  // Return path (SMPP 3.4 §4.6 deliver_sm, §4.7 data_sm from upstreams).
  counter receipts_received;    // receipts (esm_class receipt bits) from upstream binds
  counter receipts_unmatched;   // no correlation entry: acknowledged, counted, not relayed
  counter receipts_invalid;     // a receipt with no usable message id: likewise
  counter mo_received;          // deliver_sm / data_sm without receipt bits
  counter mo_unrouted;          // no MO route: answered ESME_RINVDSTADR
  counter delivered;            // deliver_sm / data_sm written to an ESME receiver
  counter deliver_acked;        // ... and answered ESME_ROK by it
  counter deliver_failed;       // ... answered with an error, timed out, or session lost
  counter deliver_busy;         // receivers bound but every window full: held, or throttled
  counter held;                 // taken into the hold queue (no receiver bound)
  counter hold_expired;         // dropped from the hold queue after hold_ttl_ms
  counter hold_full;            // hold queue full: ESME_RX_T_APPN up (the SMSC retries)
  counter correlation_inserts;  // message ids noted for receipts and message operations
  counter correlation_refused;  // not noted: the shard was full (see correlation.hpp)
  counter message_ops;          // query_sm / cancel_sm / replace_sm sent upstream
  counter message_ops_unknown;  // no entry for the message id: ESME_RINVMSGID
  // Idle behaviour.
  counter parked;          // requests that waited for an on-demand upstream to bind
  counter parked_expired;  // ... in vain: answered with upstream_failure_status
  counter idle_unbinds;    // on-demand upstream binds closed for idleness
  counter esme_idle_unbinds;
  // Time in run_once turns that handled something, and in turns that did not (microseconds).
  counter gate_requeued;  // requests the SMSC throttled at a gated bind, queued again
  // Back-pressure (tenant queue_full = "backpressure").
  counter backpressure_stalls;    // sessions stopped because their tenant's queue was full
  counter backpressure_bounced;   // requests sent back to their ESME's worker for that reason
  counter backpressure_overflow;  // sessions closed: more than stall_limit_bytes held back
  counter stalled_sessions;       // gauge: sessions not read right now
  counter snapshots_adopted;      // new snapshots from the control plane taken over
  counter snapshots_refused;      // ... refused: tenants or upstreams reordered or removed
  counter retired_unbinds;        // sessions of removed tenants and removed upstream binds unbound
  counter busy_us;
  counter idle_us;
};

// The temporary error an ESME gets when the router cannot deliver its request upstream: the
// upstream bind dropped with the request in flight, the upstream did not answer within
// timers.response_ms, or no bind of any upstream of the route is up. ESMEs treat it as
// "retry later" (SMPP 3.4 §5.1.3).
inline constexpr codec::command_status upstream_failure_status =
    codec::command_status::ESME_RMSGQFUL;

class alignas(64) router_worker final : public transport_handler {
  using command_id_t = codec::command_id;

 public:
  // bind_share: which of each upstream's binds this worker owns (bind i of an upstream goes to
  // worker i % workers).
  // mesh: the rings between workers (nullptr with one worker).
  router_worker(uint32_t index, uint32_t workers, transport& t,
                std::shared_ptr<const router_snapshot> snapshot, shared_state* shared,
                ring_mesh* mesh = nullptr);
  ~router_worker() override;
  router_worker(const router_worker&) = delete;
  router_worker& operator=(const router_worker&) = delete;

  // Listens on every configured listener and starts connecting this worker's upstream binds.
  // Returns 0 or the negative errno of the first listener that failed.
  [[nodiscard]] int start(uint64_t now_ms);
  // One turn of the loop: take what other workers sent, poll the transport, then run timers
  // that are due. Returns how many events and ring messages it handled (0: idle turn).
  // now_us: the steady clock in microseconds (0: read it), for slot gates and latencies.
  int run_once(uint64_t now_ms, int timeout_us, uint64_t now_us = 0);
  // Timers: bind deadlines, enquire_link, dead peers, response timeouts, reconnects.
  void tick(uint64_t now_ms);
  // SIGTERM: unbind every session; done() once all are closed or timers.shutdown_ms passed.
  void begin_shutdown(uint64_t now_ms);
  [[nodiscard]] bool done() const noexcept;

  // Counters: written by this worker only, readable from any thread while the worker exists.
  [[nodiscard]] const worker_stats& stats() const noexcept { return stats_; }
  [[nodiscard]] std::span<const tenant_counters> tenant_stats() const noexcept {
    return {tenant_stats_.get(), tenant_count_.load(std::memory_order_acquire)};
  }
  [[nodiscard]] std::span<const upstream_counters> upstream_stats() const noexcept {
    return {upstream_stats_.get(), upstream_count_.load(std::memory_order_acquire)};
  }
  [[nodiscard]] uint32_t index() const noexcept { return index_; }
  // The slot gates of this worker's gated binds (read on the worker's thread, or after it
  // stopped: the gate counters are not atomic).
  struct gate_report {
    uint32_t upstream = 0;
    slot_gate_stats stats;
    uint32_t stretch = 1;
  };
  [[nodiscard]] std::vector<gate_report> gate_reports() const;
  [[nodiscard]] uint32_t esme_sessions() const noexcept;
  [[nodiscard]] uint32_t upstream_binds_bound() const noexcept;

  // transport_handler
  void on_accept(conn_id c, uint32_t listener, const peer_address& peer) override;
  void on_connect(conn_id c, int err) override;
  void on_data(conn_id c, bytes_view data) override;
  void on_writable(conn_id c) override;
  void on_close(conn_id c, int err) override;

 private:
  struct esme_session;
  struct upstream_link;
  struct session_slot;
  // Where the answer to a deliver_sm / data_sm from an upstream goes: the worker and connection
  // of the upstream bind and its sequence number. conn == invalid_conn: already answered (held).
  struct return_to {
    uint32_t worker = 0;
    conn_id conn = invalid_conn;
    uint32_t seq = 0;
    command_id_t id = command_id_t::deliver_sm;
  };
  // A receipt or MO message kept for a tenant with no receiver bound; already acknowledged
  // upstream.
  struct held_message {
    uint64_t until_ms = 0;
    std::vector<std::byte> frame;
  };

  session_slot* slot_of(conn_id c) noexcept;
  void esme_pdu(esme_session& s, bytes_view frame);
  void esme_bind(esme_session& s, const codec::pdu& p);
  void answer_bind(esme_session& s);
  // After an answer to the ESME: completes an unbind that waited for it.
  void after_answer(esme_session& s);
  void esme_submit(esme_session& s, bytes_view frame, const codec::pdu& p);
  // Frames and handles an ESME's octets; false when the session is gone afterwards.
  bool esme_input(esme_session& s, bytes_view data);
  // Back-pressure: keeps `frame` and `rest` and stops reading the session; retried each ms.
  void stall(esme_session& s, bytes_view frame, bytes_view rest);
  void retry_stalled();
  // A request of s found no room: true (and the session stalls) when its tenant has
  // back-pressure, false when it is to be answered ESME_RTHROTTLED.
  bool backpressure(esme_session& s);
  // A back-pressure tenant's queue at another worker's gated bind of upstream is full.
  bool tenant_queue_full(uint32_t upstream, uint32_t tenant) const noexcept;
  void handoff_bounce(const handoff_header& h, bytes_view frame);
  void upstream_pdu(upstream_link& u, bytes_view frame);
  void upstream_bound(upstream_link& u);
  void upstream_down(upstream_link& u);
  void connect_upstream(upstream_link& u);
  void unbind_to_idle(upstream_link& u);  // idle or retired: unbinds and stays closed
  void fail_inflight(upstream_link& u, codec::command_status status, bool only_expired);
  bool send_header_only(conn_id c, codec::command_id id, codec::command_status status,
                        uint32_t seq);
  bool send_pdu(conn_id c, const codec::pdu& p);
  // Writes frame to c with its sequence number replaced; false when c's send queue refused it.
  // Consecutive relays to one connection share one open reservation of its send queue (an
  // output run), so a burst of PDUs costs one reserve/commit, not one per PDU.
  bool relay(conn_id c, bytes_view frame, uint32_t seq);
  // Closes c's output run (its octets join the send queue). Every transport call for c other
  // than relay() comes after it; settle_all() comes before poll()/flush() and at the end of
  // every entry point, so no run stays open outside a call into the worker.
  void settle(conn_id c) noexcept;
  void settle_all() noexcept;
  struct settle_on_return {  // at the top of every entry point
    router_worker& w;
    ~settle_on_return() { w.settle_all(); }
  };
  // The transport, for any call on connection c other than relay().
  transport& tx(conn_id c) noexcept {
    settle(c);
    return t_;
  }
  void close_esme(esme_session& s, bool abort);
  upstream_link* pick_local(uint32_t upstream, conn_id esme, bool& any_busy) noexcept;
  void set_bound(upstream_link& u, bool bound) noexcept;
  bool hand_off(uint32_t upstream, const esme_session& s, bytes_view frame, const codec::pdu& p,
                bool& any_busy);
  bool push_message(uint32_t to, const handoff_header& h, bytes_view pdu_bytes);
  void answer_origin(uint32_t origin, conn_id esme, uint32_t esme_seq, command_id_t id,
                     codec::command_status status, bytes_view frame);
  int drain_rings();
  void handoff_request(const handoff_header& h, bytes_view frame);
  void handoff_answer(const handoff_header& h, bytes_view frame);
  // Hands a request to a worker with a bound link of `upstream`; false when none took it.
  bool hand_off_request(uint32_t upstream, const handoff_header& from, bytes_view frame,
                        bool& any_busy);
  // Sends a request on a local bind of `upstream` and notes it in flight; false: none free.
  bool forward_local(uint32_t upstream, const handoff_header& from, bytes_view frame,
                     bool& any_busy);
  // A ring message that must not be lost: sent now or queued until the ring has room.
  void push_or_defer(uint32_t to, const handoff_header& h, bytes_view payload);

  // Return path.
  void note_message_id(uint32_t upstream, uint32_t tenant, bytes_view resp_frame);
  void correlate(uint32_t upstream, uint32_t tenant, std::string_view message_id);
  void upstream_deliver(upstream_link& u, bytes_view frame);
  void route_receipt(uint32_t upstream, std::string_view message_id, const return_to& ret,
                     bytes_view frame);
  void deliver_to_tenant(uint32_t tenant, bytes_view frame, const return_to& ret,
                         uint64_t hold_until_ms);
  bool deliver_local(uint32_t tenant, bytes_view frame, const return_to& ret,
                     uint64_t hold_until_ms, bool& busy);
  // Keeps a message for the tenant (acknowledging it upstream); full_status goes upstream
  // instead when the hold queue is full.
  void hold(uint32_t tenant, bytes_view frame, const return_to& ret, uint64_t hold_until_ms,
            codec::command_status full_status);
  void answer_upstream(const return_to& ret, codec::command_status status);
  void esme_deliver_resp(esme_session& s, const codec::pdu_header& h);
  void fail_deliveries(esme_session& s, bool only_expired);
  void drain_holds();
  void esme_message_op(esme_session& s, bytes_view frame, const codec::pdu& p);
  void message_op(const handoff_header& h, std::string_view message_id, bytes_view frame);
  void receiver_bound(esme_session& s, bool bound);

  // Idle behaviour.
  bool upstream_reachable(uint32_t upstream) const noexcept;  // bound or being woken
  bool park(uint32_t upstream, const esme_session& s, bytes_view frame, const codec::pdu& p);
  void flush_parked();
  void set_failed(upstream_link& u, bool failed) noexcept;
  void log_losses();
  void flush_notes();  // the message ids noted this turn, into the correlation shard
  int run_gates();     // the slots due now, on every gated bind of this worker
  bool send_gated(upstream_link& u, const slot_gate::item& it);
  // Writes a request on u with the next sequence number and notes it in flight (answer to h's
  // ESME); its sequence number, or 0 when u's send queue refused it.
  uint32_t send_request(upstream_link& u, bytes_view frame, const handoff_header& h);
  void add_links(const upstream_def& u, size_t from_bind = 0);
  void make_gate(upstream_link& l);
  void adopt_published();
  void fail_gate(upstream_link& u, codec::command_status status);  // answers what waits there
  // A request's answer, for the tenant's and the upstream's counters (upstream may be none).
  void count_answer(uint32_t tenant, uint32_t upstream, uint32_t status, uint64_t start_us);
  void count_reject(uint32_t tenant, codec::command_status status);

  uint32_t index_;
  uint32_t workers_;
  transport& t_;
  struct out_run {
    conn_id c = invalid_conn;
    std::byte* begin = nullptr;
    std::byte* at = nullptr;
    std::byte* end = nullptr;
  };
  // A few runs stay open at once: answers from one upstream bind interleave over sessions.
  static constexpr size_t kOpenRuns = 8;
  static constexpr size_t kRunBytes = 16 * 1024;  // asked for per run, taken when free
  std::array<out_run, kOpenRuns> runs_{};
  uint32_t open_runs_ = 0;   // runs_[0, open_runs_) are open
  uint32_t next_evict_ = 0;  // with every run open, the one closed for a new connection
  std::shared_ptr<const router_snapshot> snap_;
  shared_state* shared_;
  uint64_t now_ms_ = 0;
  uint64_t next_tick_ms_ = 0;
  bool shutting_down_ = false;
  uint64_t shutdown_deadline_ms_ = 0;
  std::vector<std::unique_ptr<session_slot>> slots_;  // indexed by the conn_id slot
  std::vector<std::unique_ptr<upstream_link>> links_;
  std::vector<std::vector<upstream_link*>> links_by_upstream_;
  ring_mesh* mesh_ = nullptr;
  uint32_t rr_worker_ = 0;
  std::vector<handoff_cell> cells_;  // scratch for one message, sized once
  std::vector<std::byte> inbox_;     // scratch for one received PDU, sized once
  struct deferred {
    uint32_t to;
    std::vector<handoff_cell> cells;
  };
  std::vector<deferred> deferred_;  // ring messages waiting for room in a full ring
  codec::pdu peeked_;               // a plain submit_sm read by peek_submit_sm (esme_pdu)
  std::vector<conn_id> stalled_;    // ESME sessions held back (back-pressure), retried each ms
  std::vector<std::byte> stall_scratch_;
  uint64_t stall_retry_ms_ = 0;
  correlation_secret secret_;      // the same for every worker (shared_state)
  correlation_table correlation_;  // this worker's shard
  // Message ids noted this turn, inserted together at its end (capacity fixed at 256).
  std::vector<std::pair<correlation_key, correlation_value>> pending_notes_;
  std::vector<codec::id_radix> op_radices_;  // radices a message operation's id is tried in
  // Per tenant: this worker's bound receiver sessions, and the next one to use.
  std::vector<std::vector<conn_id>> receivers_;
  std::vector<uint32_t> next_receiver_;
  std::vector<std::deque<held_message>> holds_;  // per tenant, oldest first
  size_t held_total_ = 0;
  // Requests waiting for an on-demand upstream's first bind, oldest first.
  struct parked_request {
    handoff_header h;
    uint64_t deadline_ms = 0;
    std::vector<std::byte> frame;
  };
  std::deque<parked_request> parked_;
  std::vector<upstream_link*> gated_links_;  // this worker's binds with a slot gate
  std::array<uint64_t, 6> logged_losses_{};  // the loss counters as last logged
  uint64_t next_loss_log_ms_ = 0;
  worker_stats stats_;
  std::unique_ptr<tenant_counters[]> tenant_stats_;      // one per tenant of the snapshot
  std::unique_ptr<upstream_counters[]> upstream_stats_;  // one per upstream of the snapshot
  uint64_t now_us_ = 0;                                  // steady clock, read once per turn
  uint64_t seen_generation_ = 0;                         // of shared_state::published
  size_t tenant_capacity_ = 0;                           // of tenant_stats_
  size_t upstream_capacity_ = 0;                         // of upstream_stats_
  std::atomic<size_t> tenant_count_{0};
  std::atomic<size_t> upstream_count_{0};
  bool last_turn_busy_ = false;
};

}  // namespace smpp::dataplane
