#include "smpp/dataplane/slot_gate.hpp"

#include <algorithm>

namespace smpp::dataplane {

namespace {
constexpr uint32_t chunk_cells = 256;
constexpr uint32_t big_base = 0x8000'0000u;  // cell numbers from here name big_ buffers
}  // namespace

slot_gate::slot_gate(const slot_plan& plan, size_t tenants, uint32_t recover_after)
    : plan_(&plan),
      queues_(tenants),
      used_(tenants),
      recover_after_(recover_after != 0
                         ? recover_after
                         : std::max<uint32_t>(8, static_cast<uint32_t>(plan.owner.size() / 8))),
      use_(std::make_shared<slot_use>(plan.owner.size(), tenants)) {
  find_orphans();
}

void slot_gate::find_orphans() {
  // Tenants the plan gives no slot (removed, or their share removed) may still hold queued
  // requests: they are sent in slots their owners leave unused, in strict mode too, so nothing
  // accepted into a queue is stranded by a change of plan.
  std::vector<bool> owns(queues_.size(), false);
  for (const uint32_t t : plan_->owner) {
    if (t < owns.size()) owns[t] = true;
  }
  orphans_.clear();
  for (uint32_t t = 0; t < owns.size(); ++t) {
    if (!owns[t]) orphans_.push_back(t);
  }
}

void slot_gate::replan(const slot_plan& plan, size_t tenants) {
  plan_ = &plan;
  if (tenants > queues_.size()) {
    queues_.resize(tenants);
    used_.resize(tenants);
  }
  // A new frame starts at the next slot, which keeps its time: replanning never adds a slot
  // (the contract holds across a change), and a concatenated message being sent keeps its
  // consecutive slots (tenant indices do not change).
  std::fill(used_.begin(), used_.end(), 0);
  slot_ = 0;
  lend_cursor_ = 0;
  find_orphans();
  if (use_->slots() != plan.owner.size() || use_->tenants() != queues_.size()) {
    use_ = std::make_shared<slot_use>(plan.owner.size(), queues_.size());
  }
}

uint32_t slot_gate::take_cell() {
  if (free_cells_.empty()) {
    chunks_.push_back(std::make_unique<std::array<std::byte, cell_bytes>[]>(chunk_cells));
    free_cells_.reserve(cells_ + chunk_cells);  // release() never reallocates
    for (uint32_t i = chunk_cells; i > 0; --i) free_cells_.push_back(cells_ + i - 1);
    cells_ += chunk_cells;
  }
  const uint32_t c = free_cells_.back();
  free_cells_.pop_back();
  return c;
}

codec::bytes_view slot_gate::bytes(const item& it) const noexcept {
  if (it.cell >= big_base) return {big_[it.cell - big_base].data(), it.len};
  return {chunks_[it.cell / chunk_cells][it.cell % chunk_cells].data(), it.len};
}

bool slot_gate::push_back(uint32_t tenant, const item& it) {
  queue& q = queues_[tenant];
  if (q.ring.empty()) {
    const uint32_t cap = tenant < plan_->queue_max.size() ? plan_->queue_max[tenant] : 10000;
    q.ring.resize(std::max<uint32_t>(cap, 1));
  }
  if (q.size == q.ring.size()) return false;
  q.ring[(q.head + q.size) % q.ring.size()] = it;
  ++q.size;
  if (backlog_++ == 0) idle_ = true;  // the slots since it emptied were not missed
  return true;
}

bool slot_gate::enqueue(const handoff_header& h, codec::bytes_view frame, uint8_t parts_after) {
  const uint32_t tenant = h.tenant;
  if (tenant >= queues_.size()) return false;
  queue& q = queues_[tenant];
  const uint32_t cap = tenant < plan_->queue_max.size() ? plan_->queue_max[tenant] : 10000;
  if (q.size >= std::max<uint32_t>(cap, 1)) {
    ++stats_.refused;
    return false;
  }
  item it;
  it.h = h;
  it.len = static_cast<uint32_t>(frame.size());
  it.parts_after = parts_after;
  if (frame.size() <= cell_bytes) {
    it.cell = take_cell();
    std::memcpy(chunks_[it.cell / chunk_cells][it.cell % chunk_cells].data(), frame.data(),
                frame.size());
  } else {
    uint32_t b;
    if (!free_big_.empty()) {
      b = free_big_.back();
      free_big_.pop_back();
    } else {
      b = static_cast<uint32_t>(big_.size());
      big_.emplace_back();
    }
    big_[b].assign(frame.begin(), frame.end());
    it.cell = big_base + b;
  }
  if (!push_back(tenant, it)) {
    release(it);
    ++stats_.refused;
    return false;
  }
  return true;
}

void slot_gate::release(const item& it) noexcept {
  if (it.cell == no_cell) return;
  if (it.cell >= big_base) {
    const uint32_t b = it.cell - big_base;
    big_[b].clear();
    big_[b].shrink_to_fit();
    free_big_.push_back(b);  // capacity reserved by the push_back that grew big_
    return;
  }
  free_cells_.push_back(it.cell);  // never beyond cells_: reserved when the pool grew
}

void slot_gate::requeue_front(const item& it) {
  ++stats_.throttled;
  // One slow-down per congestion event: the requests already in flight when the SMSC started
  // refusing come back together and count once; a later refusal, after a frame at the new
  // pace, slows down again.
  if (next_ns_ == 0 || next_ns_ >= stretch_until_ns_) {
    const uint32_t before = stretch_;
    stretch_ = std::min(stretch_ * 2, max_stretch);
    // The next slot moves out at once: one stretched step after the last one.
    if (next_ns_ != 0) next_ns_ += plan_->slot_ns * (stretch_ - before);
    stretch_until_ns_ =
        next_ns_ + plan_->slot_ns * stretch_ * std::max<size_t>(plan_->owner.size(), 1);
  }
  ok_streak_ = 0;
  queue& q = queues_[it.h.tenant];
  if (q.ring.empty() || q.size == q.ring.size()) {
    // No room at the head (the queue filled meanwhile): it still goes first, the ring grows.
    std::vector<item> grown(q.ring.size() + 1);
    grown[0] = it;
    for (uint32_t i = 0; i < q.size; ++i) grown[i + 1] = q.ring[(q.head + i) % q.ring.size()];
    q.ring = std::move(grown);
    q.head = 0;
    ++q.size;
    ++backlog_;
    return;
  }
  q.head = q.head == 0 ? static_cast<uint32_t>(q.ring.size()) - 1 : q.head - 1;
  q.ring[q.head] = it;
  ++q.size;
  ++backlog_;
}

void slot_gate::answered_ok() noexcept {
  if (stretch_ == 1) return;
  if (++ok_streak_ >= recover_after_) {
    stretch_ /= 2;
    ok_streak_ = 0;
  }
}

uint32_t slot_gate::choose(uint32_t k) noexcept {
  if (locked_ != UINT32_MAX && queues_[locked_].size != 0) return locked_;
  locked_ = UINT32_MAX;
  const uint32_t owner = plan_->owner[k];
  if (owner < queues_.size() && eligible(owner)) return owner;
  if (plan_->strict) {
    for (const uint32_t t : orphans_) {
      if (eligible(t)) return t;
    }
    return UINT32_MAX;
  }
  // Work-conserving: a lent slot goes to the owner of the next slot, in frame order from where
  // the last lent slot went, that has work; the cursor walks the whole frame over time, so lent
  // slots are shared in the proportions of the plan among the tenants that have work.
  const auto n = static_cast<uint32_t>(plan_->owner.size());
  for (uint32_t d = 0; d < n; ++d) {
    const uint32_t at = (lend_cursor_ + d) % n;
    const uint32_t t = plan_->owner[at];
    if (t < queues_.size() && eligible(t)) {
      lend_cursor_ = (at + 1) % n;
      return t;
    }
  }
  // Tenants without a slot of their own (weight share 0 or not in the plan) come last.
  for (uint32_t t = 0; t < queues_.size(); ++t) {
    if (eligible(t)) return t;
  }
  return UINT32_MAX;
}

}  // namespace smpp::dataplane
