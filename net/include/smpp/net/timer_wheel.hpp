// A hierarchical timing wheel for one worker's TCP timers (retransmission, delayed ACK,
// persist, keepalive, TIME-WAIT): O(1) schedule, re-schedule and cancel, no allocation after
// construction, no locks (one instance per worker).
//
// Timer ids are dense, 0..capacity-1 (a TCP engine uses conn_index * kinds + kind); each id is
// either idle or scheduled once, and scheduling a scheduled id moves it.
//
// Time is counted in ticks of tick_us. A timer due at at_us belongs to tick ceil(at_us / tick_us)
// and fires in the first advance(now_us) whose tick floor(now_us / tick_us) has reached it, so
// it never fires before at_us and, when advance() is called at least once per tick, at most one
// tick after it. The wheel has L levels of `slots` slots each (slots = 2^b; L = ceil(64 / b)),
// level k holding the timers whose tick first differs from the current tick in base-2^b digit k.
// Levels together cover the whole 64-bit tick range, so there is no overflow list and no far
// future: a timer hours away sits in a high level and is moved down ("cascaded") a level at a
// time as the current tick reaches its block, at most L - 1 moves in its life. advance() skips
// empty ticks with a per-level occupancy bitmap, so a jump of hours costs a few bitmap scans, not
// one step per tick.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace smpp::net {

class timer_wheel {
 public:
  // capacity: timer ids 0..capacity-1. tick_us: the wheel's resolution (> 0). slots: slots per
  // level, a power of two from 2 to 65536 (others are rounded up to one). start_us: the clock
  // value the wheel starts at (the worker's monotonic time when it is created; 0 by default).
  timer_wheel(uint32_t capacity, uint32_t tick_us, uint32_t slots, uint64_t start_us = 0);

  // Arms timer `id` to fire at at_us, moving it if it was already armed. A time whose tick the last
  // advance() has reached fires in the next advance(). Ids >= capacity() are ignored.
  void schedule(uint32_t id, uint64_t at_us) noexcept {
    if (id >= capacity_) return;
    node& n = nodes_[id];
    if (n.list != nil) unlink(id);
    const uint64_t t = to_tick(at_us);
    n.tick = t;
    if (t <= cur_) {
      link(id, pending_list(active_pending_));
    } else {
      place(id, t);
    }
  }

  // Disarms timer `id` (nothing happens if it is not armed or id >= capacity()).
  void cancel(uint32_t id) noexcept {
    if (id >= capacity_ || nodes_[id].list == nil) return;
    unlink(id);
  }

  [[nodiscard]] bool scheduled(uint32_t id) const noexcept {
    return id < capacity_ && nodes_[id].list != nil;
  }

  // When timer `id` fires at the earliest: its tick's time (at_us rounded up to the tick), or
  // UINT64_MAX if it is not armed (or that time is beyond UINT64_MAX: it never fires).
  [[nodiscard]] uint64_t deadline_us(uint32_t id) const noexcept {
    const uint64_t never = std::numeric_limits<uint64_t>::max();
    if (!scheduled(id) || nodes_[id].tick > never / tick_us_) return never;
    return nodes_[id].tick * tick_us_;
  }

  // Calls fire(id) for every armed timer due at or before now_us (each is disarmed just before
  // its call) and returns how many fired. fire may schedule and cancel any timer, including the
  // one firing and ones due in this same call: a timer it arms for a time already reached fires
  // in the next advance() (so a callback that re-arms itself "now" cannot loop), one it arms for
  // a later tick up to now_us fires in this call. now_us going backwards is treated as the last
  // time seen. Timers of the same tick fire in no particular order.
  template <class F>
  size_t advance(uint64_t now_us, F&& fire) {
    size_t fired = 0;
    // Timers armed for a time already reached, oldest batch first; the other list collects
    // what fire() arms for the past while this one drains.
    const uint32_t due = pending_list(active_pending_);
    active_pending_ ^= 1u;
    fired += drain(due, fire);
    const uint64_t target = now_us / tick_us_;
    while (cur_ < target) {
      if (in_wheel_ == 0) {
        cur_ = target;
        break;
      }
      const uint64_t e = next_event();
      if (e > target) {
        cur_ = target;
        break;
      }
      cur_ = e;
      // Cascade every level whose block starts at this tick, highest first, so what moves down
      // lands in a slot still to be visited (or in level 0's current slot, fired just below).
      const unsigned top = std::min(levels_ - 1, level_of_bit_[std::countr_zero(cur_)]);
      for (unsigned k = top; k >= 1; --k) {
        cascade(k * slots_ + static_cast<uint32_t>((cur_ >> (k * bits_)) & slot_mask_));
      }
      fired += drain(static_cast<uint32_t>(cur_ & slot_mask_), fire);
    }
    return fired;
  }

  // How many timers are armed.
  [[nodiscard]] size_t size() const noexcept { return armed_; }
  [[nodiscard]] uint32_t capacity() const noexcept { return capacity_; }
  [[nodiscard]] uint32_t tick_us() const noexcept { return tick_us_; }
  [[nodiscard]] uint32_t slots() const noexcept { return slots_; }
  [[nodiscard]] unsigned levels() const noexcept { return levels_; }
  // The start of the last tick advance() reached.
  [[nodiscard]] uint64_t now_us() const noexcept { return cur_ * tick_us_; }

 private:
  static constexpr uint32_t nil = std::numeric_limits<uint32_t>::max();

  struct node {
    uint64_t tick = 0;  // the tick it fires in
    uint32_t next = nil;
    uint32_t prev = nil;
    uint32_t list = nil;  // level * slots + slot, a pending list, or nil when idle
  };

  [[nodiscard]] uint64_t to_tick(uint64_t at_us) const noexcept {
    // ceil(at_us / tick_us) without overflowing near UINT64_MAX.
    if (tick_shift_ >= 0) {
      const uint64_t q = at_us >> tick_shift_;
      return q + ((at_us & (tick_us_ - 1u)) != 0);
    }
    const uint64_t q = at_us / tick_us_;
    return q + (q * tick_us_ != at_us);
  }
  [[nodiscard]] uint32_t pending_list(uint32_t which) const noexcept {
    return wheel_lists_ + which;
  }

  void place(uint32_t id, uint64_t t) noexcept {
    const uint64_t x = t ^ cur_;
    const unsigned k = x == 0 ? 0 : level_of_bit_[63 - std::countl_zero(x)];
    link(id, k * slots_ + static_cast<uint32_t>((t >> (k * bits_)) & slot_mask_));
  }

  void link(uint32_t id, uint32_t list) noexcept {
    node& n = nodes_[id];
    const uint32_t h = heads_[list];
    n.list = list;
    n.prev = nil;
    n.next = h;
    if (h != nil) {
      nodes_[h].prev = id;
    } else if (list < wheel_lists_) {
      occupied_[list >> 6] |= uint64_t{1} << (list & 63);
    }
    heads_[list] = id;
    ++armed_;
    in_wheel_ += list < wheel_lists_;
  }

  void unlink(uint32_t id) noexcept {
    node& n = nodes_[id];
    const uint32_t list = n.list;
    if (n.prev != nil) {
      nodes_[n.prev].next = n.next;
    } else {
      heads_[list] = n.next;
      if (n.next == nil && list < wheel_lists_) {
        occupied_[list >> 6] &= ~(uint64_t{1} << (list & 63));
      }
    }
    if (n.next != nil) nodes_[n.next].prev = n.prev;
    n.list = nil;
    --armed_;
    in_wheel_ -= list < wheel_lists_;
  }

  template <class F>
  size_t drain(uint32_t list, F& fire) {
    size_t fired = 0;
    for (uint32_t id = heads_[list]; id != nil; id = heads_[list]) {
      unlink(id);
      ++fired;
      fire(id);
    }
    return fired;
  }

  // Moves every timer of one slot of a higher level to where it belongs now.
  void cascade(uint32_t list) noexcept {
    for (uint32_t id = heads_[list]; id != nil; id = heads_[list]) {
      unlink(id);
      place(id, nodes_[id].tick);
    }
  }

  // The next tick after cur_ at which a slot must be fired or cascaded (in_wheel_ > 0). The first
  // level with an occupied slot after the current digit decides: everything in level k lies
  // inside the current block of level k + 1, before any slot of a higher level.
  [[nodiscard]] uint64_t next_event() const noexcept;

  uint32_t capacity_;
  uint32_t tick_us_;
  int tick_shift_;  // log2(tick_us) when it is a power of two, else -1
  uint32_t slots_;
  uint32_t slot_mask_;
  unsigned bits_;    // log2(slots)
  unsigned levels_;  // ceil(64 / bits)
  uint32_t wheel_lists_;
  uint32_t active_pending_ = 0;
  uint64_t cur_;  // the last tick reached: every timer due at or before it has fired
  size_t armed_ = 0;
  size_t in_wheel_ = 0;
  unsigned level_of_bit_[64];
  std::vector<node> nodes_;
  std::vector<uint32_t> heads_;     // levels * slots wheel lists, then the two pending lists
  std::vector<uint64_t> occupied_;  // one bit per wheel list: its head is not nil
};

}  // namespace smpp::net
