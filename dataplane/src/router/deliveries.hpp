// Receipts and MO messages on their way to a tenant's receivers (SMPP 3.4 §4.6 deliver_sm, §4.7
// data_sm): spread over the tenant's bound receiver and transceiver sessions on this worker
// (each within its deliver_window), handed to a worker that has one, or kept in this worker's
// hold queue for the tenant (acknowledged upstream, bounded by hold_max, each until its
// hold_ttl_ms) until a receiver can take it. The ESME's answer goes back to the SMSC as it is.
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

#include "answers.hpp"
#include "context.hpp"
#include "esme_session.hpp"
#include "handoff_port.hpp"
#include "smpp/store/record.hpp"
#include "store_waits.hpp"

namespace smpp::dataplane::router {

class deliveries {
 public:
  deliveries(worker_context& ctx, handoff_port& port, answers& back, store_waits& waits);

  // A receipt or MO message for `tenant`; ret: where its answer goes (conn == invalid_conn: it
  // was acknowledged already, it came from the hold queue).
  void to_tenant(uint32_t tenant, bytes_view frame, const return_to& ret, uint64_t hold_until_ms);
  // One handed over by another worker for a receiver bound here.
  void from_worker(const handoff_header& h, bytes_view frame);

  // An alert_notification (SMPP 3.4 §4.12) for `tenant`: written to one of its receivers, on
  // this worker or another, in turn; dropped and counted when none is bound or none takes it
  // (it has no response, so nothing is held and nothing answers the SMSC).
  void alert(uint32_t tenant, bytes_view frame);
  void alert_from_worker(const handoff_header& h, bytes_view frame);

  // A session of the tenant binds or unbinds as a receiver (or transceiver).
  void receiver_bound(esme_session& s, bool bound);
  // The ESME's deliver_sm_resp / data_sm_resp, or its generic_nack.
  void on_answer(esme_session& s, const codec::pdu_header& h);
  // Deliveries to s that are past their deadline (or every one: the session is gone) fail: the
  // SMSC is told to try again, a held message goes back to the hold queue.
  void fail(esme_session& s, bool all_of_them);
  // Expired held messages are dropped; for tenants with a receiver bound anywhere, a bounded
  // batch of held ones is offered again.
  void drain_holds();
  // Held messages for a tenant whose receivers are on other workers leave only by the rings:
  // offered again every turn, not only on the tick, or the hold queue would drain at 256 per
  // tick whatever the receivers could take.
  [[nodiscard]] bool holding() const noexcept { return held_total_ != 0; }
  void adopt();  // a new snapshot: tenants may have been added

  // Recovery at start: a message the store kept in custody, back into its tenant's queue.
  void restore(const store::held_record& held);
  // Custody of a held message of this worker's store shard ended (told by another worker).
  void held_done(uint64_t store_id);

 private:
  // On one of this worker's receivers of the tenant; false when none could take it (busy set
  // when one was bound but full or not reading).
  bool deliver_local(uint32_t tenant, bytes_view frame, const return_to& ret,
                     uint64_t hold_until_ms, bool& busy);
  // An alert on one of this worker's receivers of the tenant; false when none took it.
  bool alert_local(uint32_t tenant, bytes_view frame);
  // Keeps a message for the tenant (acknowledging it upstream); full_status goes upstream
  // instead when the hold queue is full.
  void hold(uint32_t tenant, bytes_view frame, const return_to& ret, uint64_t hold_until_ms,
            codec::command_status full_status);
  // Drops the head of the tenant's hold queue.
  void pop_held(uint32_t tenant);
  // A held message's own copy of frame (a spare buffer when there is one), and back when done.
  std::vector<std::byte> frame_copy(bytes_view frame);
  void recycle(std::vector<std::byte>&& frame);
  void count_unheld(const return_to& ret) noexcept;  // the held gauges
  // Custody of ret ends: its held record is done, in this worker's shard or another's.
  void end_custody(const return_to& ret);
  // A new message into this worker's store shard; its mark, or 0 when the journal has no room.
  uint64_t store_held(uint32_t tenant, bytes_view frame, return_to& ret);
  // A receiver of the tenant is bound on this worker or another.
  [[nodiscard]] bool receivers_anywhere(uint32_t tenant) const noexcept;
  // Tells the other workers the length of this worker's hold queue for the tenant.
  void publish_held(uint32_t tenant) noexcept;
  // This worker's share of the tenant's hold_max.
  [[nodiscard]] size_t hold_cap(uint32_t tenant) const noexcept;
  // One of the tenant's receivers, anywhere, answered ESME_ROK within the last second.
  [[nodiscard]] bool answering(uint32_t tenant) const noexcept;
  // The tenant's hold queue is at its bound (cap) and a new message came from a bind: while
  // the tenant's receivers keep answering, the message is kept (up to twice the bound, plus a
  // ring's worth for one another worker handed over) and
  // that bind is not read until the queue has drained to half, so the SMSC slows down instead
  // of being refused (TCP flow control, as a byte relay would apply). True when kept.
  bool hold_back(uint32_t tenant, const return_to& ret, size_t cap);
  // Binds held back whose tenant's queue drained (or whose receivers stopped answering) are
  // read again.
  void release_held_back();

  struct held_message {
    uint64_t until_ms = 0;
    return_to ret;  // acknowledged: what it is, for the counters
    std::vector<std::byte> frame;
  };

  worker_context& ctx_;
  handoff_port& port_;
  answers& back_;
  store_waits& waits_;
  store::journal* journal_ = nullptr;  // nullptr: [store] sync = "off"
  uint64_t next_store_id_ = 1;         // above every id recovered from the shard
  // Per tenant: this worker's bound receiver sessions, and the next one to use.
  std::vector<std::vector<conn_id>> receivers_;
  std::vector<uint32_t> next_receiver_;
  std::vector<uint64_t> receiver_turn_us_;       // the turn (its now_us) next_receiver_ serves
  std::vector<std::deque<held_message>> holds_;  // per tenant, oldest first
  // Buffers of held messages that were delivered, for the next ones: a burst of receipts beyond
  // the receivers' windows is held and drained without a heap allocation per message.
  static constexpr size_t kSpareFrames = 2048;
  static constexpr size_t kSpareFrameBytes = 1024;
  std::vector<std::vector<std::byte>> spare_frames_;
  size_t held_total_ = 0;
  std::vector<uint64_t> last_ack_ms_;  // per tenant: when one of its receivers last said ESME_ROK
  struct held_back_bind {
    uint32_t tenant = 0;
    return_to bind;  // worker and connection of the bind
  };
  std::vector<held_back_bind> held_back_;
};

}  // namespace smpp::dataplane::router
