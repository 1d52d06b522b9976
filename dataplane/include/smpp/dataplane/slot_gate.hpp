// The slot gate of one upstream bind: TDMA ("Tenants and time slots" in docs/architecture.md).
//
// Requests for a gated bind wait in one FIFO per tenant; time is cut into slots of the plan's
// slot_ns, and each slot sends at most one request: the one at the head of the slot owner's
// queue, or (work-conserving) of the next backlogged tenant in frame order, so a lent slot goes
// to the tenants in proportion to their shares. Single-threaded: the worker that owns the bind
// runs it.
//
// Timing: a slot is never used before its time, and at most one slot that has passed is used
// late; older missed slots are dropped (counted), so no burst ever exceeds the contract by more
// than one slot, whatever the worker was doing.
//
// Concatenated messages: once a part is sent, the following slots belong to the same tenant
// until its last part is sent (each part charged one slot), so the parts go in consecutive
// slots of this bind.
//
// Throttling by the SMSC (ESME_RTHROTTLED / ESME_RMSGQFUL despite the plan): the request goes
// back to the head of its tenant's queue and the gate stretches its slots (x2 per throttle, at
// most x64, once per congestion event: the requests in flight when the SMSC started refusing
// count once), shrinking it again by one step per `recover_after` accepted answers (default:
// an eighth of a frame, at least 8).
//
// Memory: every queued or in-flight request keeps its PDU in a cell of a pool that grows in
// chunks and is reused; nothing is allocated per request once the pool has grown to the working
// set (PDUs longer than a cell take a heap buffer of their own).
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "smpp/codec/bytes.hpp"
#include "smpp/dataplane/handoff.hpp"
#include "smpp/dataplane/slot_use.hpp"
#include "smpp/dataplane/snapshot.hpp"

namespace smpp::dataplane {

struct slot_gate_stats {
  uint64_t slots = 0;           // slots that came (used or not)
  uint64_t sent = 0;            // requests sent in a slot
  uint64_t lent = 0;            // ... in a slot another tenant owned (work-conserving)
  uint64_t unused = 0;          // slots nobody could use
  uint64_t missed = 0;          // slots dropped because the worker came too late
  uint64_t refused = 0;         // enqueue refused: the tenant's queue was full
  uint64_t throttled = 0;       // requests the SMSC throttled, queued again
  uint64_t window_blocked = 0;  // slots lost because the bind's window was full
  // How late each sent request left after its slot's edge, in power-of-two microsecond
  // buckets (bucket i: 2^(i-1) <= us < 2^i; bucket 0: under 1 us).
  std::array<uint64_t, 24> lateness{};

  // The smallest bucket bound (us, exclusive) under which `share` (0..1) of the sent were.
  [[nodiscard]] uint64_t lateness_quantile_us(double share) const noexcept {
    uint64_t total = 0;
    for (uint64_t n : lateness) total += n;
    if (total == 0) return 0;
    uint64_t seen = 0;
    for (size_t i = 0; i < lateness.size(); ++i) {
      seen += lateness[i];
      if (static_cast<double>(seen) >= share * static_cast<double>(total)) return uint64_t{1} << i;
    }
    return uint64_t{1} << (lateness.size() - 1);
  }
};

class slot_gate {
 public:
  static constexpr uint32_t cell_bytes = 512;
  static constexpr uint32_t no_cell = UINT32_MAX;
  static constexpr uint32_t max_stretch = 64;

  // One waiting or in-flight request.
  struct item {
    handoff_header h;  // origin, esme, esme_seq, command_id, tenant
    uint32_t cell = no_cell;
    uint32_t len = 0;
    uint8_t parts_after = 0;  // parts of the same concatenated message still to come after it
  };

  slot_gate(const slot_plan& plan, size_t tenants, uint32_t recover_after = 0);

  [[nodiscard]] bool gated() const noexcept { return plan_->rate_per_s != 0; }

  // Queues a request of `tenant`; false when its queue is full (the ESME gets ESME_RTHROTTLED).
  bool enqueue(const handoff_header& h, codec::bytes_view frame, uint8_t parts_after);

  // The bytes of a queued or in-flight item.
  [[nodiscard]] codec::bytes_view bytes(const item& it) const noexcept;

  // Runs the slots due at now_ns. For each slot with a request to send, calls send(item&),
  // which writes it and returns true, or returns false when the bind cannot take it now
  // (window full): the item stays at its queue's head and the slot is lost. An item that was
  // sent is the caller's until it calls release() (answered) or requeue_front() (throttled).
  // Returns the number of requests sent.
  template <typename Send>
  uint32_t run(uint64_t now_ns, Send&& send);

  // When the next slot is due (ns); meaningful when backlog() > 0.
  [[nodiscard]] uint64_t next_slot_ns() const noexcept { return next_ns_; }
  [[nodiscard]] uint32_t backlog() const noexcept { return backlog_; }
  [[nodiscard]] uint32_t queued(uint32_t tenant) const noexcept {
    return tenant < queues_.size() ? queues_[tenant].size : 0;
  }

  // Without a plan (its rate was removed): sends the queued requests in order, tenant by tenant,
  // while send(item) accepts; sent items are the caller's as with run(). Returns how many.
  template <typename Send>
  uint32_t flush(Send&& send);

  // Empties every queue, oldest first per tenant: each(item) is called, then the item released.
  template <typename Each>
  void drain(Each&& each);

  void release(const item& it) noexcept;  // the SMSC answered it (or it failed)
  void requeue_front(const item& it);     // throttled by the SMSC: send it again
  void answered_ok() noexcept;            // recovery of the stretch
  [[nodiscard]] uint32_t stretch() const noexcept { return stretch_; }
  [[nodiscard]] const slot_gate_stats& stats() const noexcept { return stats_; }
  // Used, lent and missed slots by owner, readable from any thread (slot_use.hpp); a new object
  // when a replan changes the frame's length or the tenant count.
  [[nodiscard]] std::shared_ptr<const slot_use> use() const noexcept { return use_; }

  // A new plan (same tenant count or more); queued requests stay queued, in order.
  void replan(const slot_plan& plan, size_t tenants);

 private:
  struct queue {
    std::vector<item> ring;  // capacity = the tenant's queue_max, allocated on first use
    uint32_t head = 0;
    uint32_t size = 0;
  };

  uint32_t take_cell();
  void find_orphans();
  bool push_back(uint32_t tenant, const item& it);
  // The tenant that gets slot k, or UINT32_MAX.
  uint32_t choose(uint32_t k) noexcept;
  bool eligible(uint32_t tenant) const noexcept {
    return queues_[tenant].size != 0 && (cap_of(tenant) == 0 || used_[tenant] < cap_of(tenant));
  }
  uint32_t cap_of(uint32_t tenant) const noexcept {
    return tenant < plan_->cap.size() ? plan_->cap[tenant] : 0;
  }
  // Slot k of the frame went to `used_by` (UINT32_MAX: nobody): its owner's count and mark.
  void record(uint32_t k, uint32_t used_by) noexcept {
    const uint32_t owner = plan_->owner[k];
    use_->record(k, owner,
                 used_by == UINT32_MAX ? slot_use::mark::missed
                 : used_by == owner    ? slot_use::mark::used
                                       : slot_use::mark::lent);
  }

  const slot_plan* plan_;
  std::vector<queue> queues_;
  std::vector<uint32_t> used_;     // slots used this frame, per tenant
  std::vector<uint32_t> orphans_;  // tenants without a slot in the plan (drained in idle slots)
  std::vector<std::unique_ptr<std::array<std::byte, cell_bytes>[]>> chunks_;
  std::vector<uint32_t> free_cells_;
  std::vector<std::vector<std::byte>> big_;  // PDUs longer than a cell, by cell - big_base
  std::vector<uint32_t> free_big_;
  uint32_t cells_ = 0;
  uint64_t next_ns_ = 0;
  uint64_t slot_ = 0;  // slots since the start
  uint32_t backlog_ = 0;
  uint32_t locked_ = UINT32_MAX;  // tenant whose concatenated message is being sent
  uint32_t lend_cursor_ = 0;      // where in the frame the next lent slot looks first
  uint32_t stretch_ = 1;
  uint64_t stretch_until_ns_ = 0;  // refusals before this belong to the last slow-down
  bool idle_ = true;  // nothing was queued since the last run(): passed slots are unused
  uint32_t ok_streak_ = 0;
  uint32_t recover_after_;
  slot_gate_stats stats_;
  std::shared_ptr<slot_use> use_;
};

template <typename Send>
uint32_t slot_gate::run(uint64_t now_ns, Send&& send) {
  if (!gated() || plan_->owner.empty()) return 0;
  const uint64_t step = plan_->slot_ns * stretch_;
  if (next_ns_ == 0) next_ns_ = now_ns;
  if (now_ns < next_ns_) return 0;
  // At most one slot late: older ones are gone.
  if (now_ns - next_ns_ >= step) {
    const uint64_t behind = (now_ns - next_ns_) / step;
    // Slots that passed while nothing waited were not missed, only unused.
    (idle_ ? stats_.unused : stats_.missed) += behind;
    stats_.slots += behind;
    for (uint64_t i = 0; i < behind; ++i) {
      record(static_cast<uint32_t>(slot_ % plan_->owner.size()), UINT32_MAX);
      if ((++slot_ % plan_->owner.size()) == 0) std::fill(used_.begin(), used_.end(), 0);
    }
    next_ns_ += behind * step;
  }
  idle_ = false;
  uint32_t sent = 0;
  while (now_ns >= next_ns_) {
    const auto k = static_cast<uint32_t>(slot_ % plan_->owner.size());
    if (k == 0) std::fill(used_.begin(), used_.end(), 0);
    ++stats_.slots;
    ++slot_;
    const uint64_t edge_ns = next_ns_;
    next_ns_ += step;
    const uint32_t t = choose(k);
    if (t == UINT32_MAX) {
      ++stats_.unused;
      record(k, UINT32_MAX);
      continue;
    }
    queue& q = queues_[t];
    item& it = q.ring[q.head];
    if (!send(it)) {
      ++stats_.window_blocked;
      record(k, UINT32_MAX);
      continue;
    }
    ++stats_.sent;
    record(k, t);
    ++stats_.lateness[std::min<size_t>(std::bit_width((now_ns - edge_ns) / 1000),
                                       stats_.lateness.size() - 1)];
    if (t != plan_->owner[k]) ++stats_.lent;
    ++used_[t];
    locked_ = it.parts_after != 0 ? t : UINT32_MAX;
    q.head = q.head + 1 == q.ring.size() ? 0 : q.head + 1;
    --q.size;
    --backlog_;
    ++sent;
  }
  return sent;
}

template <typename Each>
void slot_gate::drain(Each&& each) {
  for (queue& q : queues_) {
    while (q.size != 0) {
      const item it = q.ring[q.head];
      q.head = q.head + 1 == q.ring.size() ? 0 : q.head + 1;
      --q.size;
      --backlog_;
      each(it);
      release(it);
    }
  }
  locked_ = UINT32_MAX;
}

template <typename Send>
uint32_t slot_gate::flush(Send&& send) {
  uint32_t sent = 0;
  for (queue& q : queues_) {
    while (q.size != 0 && send(q.ring[q.head])) {
      q.head = q.head + 1 == q.ring.size() ? 0 : q.head + 1;
      --q.size;
      --backlog_;
      ++sent;
    }
  }
  locked_ = UINT32_MAX;
  return sent;
}

}  // namespace smpp::dataplane
