// A window of requests a session sent and awaits the answers to, indexed by the sequence number
// the router gave each (SMPP 3.4 §5.1.4: 0x00000001..0x7FFFFFFF). Used for the requests in
// flight on an upstream bind and for the deliver_sm / data_sm in flight to an ESME receiver.
//
// The table is a power of two at least twice the window, so the sequence numbers of a full
// window never share a slot; a number whose slot is still taken is skipped. An answer finds its
// entry in one probe; the timer finds the expired ones with a sweep that runs only once the
// earliest deadline has passed.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace smpp::dataplane::router {

inline constexpr uint32_t max_sequence = 0x7FFFFFFF;

// Entry: has `uint32_t seq` (0: free) and `uint64_t deadline_ms`.
template <class Entry>
class seq_window {
 public:
  // Sizes the table for `window` requests; the only allocation. Empty (window 0 or never
  // sized): take_seq() still numbers requests, nothing is tracked.
  void size_for(uint32_t window) {
    uint32_t cap = 2;
    while (cap < 2 * std::max<uint32_t>(window, 1)) cap <<= 1;
    table_.assign(cap, Entry{});
    mask_ = cap - 1;
  }
  [[nodiscard]] bool sized() const noexcept { return !table_.empty(); }
  [[nodiscard]] size_t capacity() const noexcept { return table_.size(); }

  // The next sequence number whose slot is free.
  [[nodiscard]] uint32_t take_seq() noexcept {
    for (;;) {
      const uint32_t s = next_seq_;
      next_seq_ = next_seq_ >= max_sequence ? 1 : next_seq_ + 1;
      if (table_.empty() || table_[s & mask_].seq == 0) return s;
    }
  }
  // Restarts numbering (a new connection).
  void restart() noexcept { next_seq_ = 1; }

  // Notes a request sent with `seq` (from take_seq) that must be answered by deadline_ms.
  Entry& open(uint32_t seq, uint64_t deadline_ms) noexcept {
    Entry& e = table_[seq & mask_];
    e.seq = seq;
    e.deadline_ms = deadline_ms;
    ++count_;
    next_expiry_ms_ = std::min(next_expiry_ms_, deadline_ms);
    return e;
  }
  // The entry awaiting the answer numbered seq; nullptr when none (late, or never ours).
  [[nodiscard]] Entry* find(uint32_t seq) noexcept {
    if (table_.empty() || seq == 0) return nullptr;
    Entry& e = table_[seq & mask_];
    return e.seq == seq ? &e : nullptr;
  }
  void close(Entry& e) noexcept {
    e.seq = 0;
    --count_;
  }
  [[nodiscard]] size_t index_of(const Entry& e) const noexcept {
    return static_cast<size_t>(&e - table_.data());
  }
  [[nodiscard]] size_t index_of(uint32_t seq) const noexcept { return seq & mask_; }
  [[nodiscard]] uint32_t count() const noexcept { return count_; }

  // Closes every entry (all_of_them) or those past their deadline, calling done(entry) for each
  // before it is closed. Without all_of_them it returns at once unless the earliest deadline
  // has passed.
  template <class Done>
  void sweep(uint64_t now_ms, bool all_of_them, Done&& done) {
    if (count_ == 0) {
      next_expiry_ms_ = UINT64_MAX;
      return;
    }
    if (!all_of_them && now_ms < next_expiry_ms_) return;
    uint64_t next = UINT64_MAX;
    for (Entry& e : table_) {
      if (e.seq == 0) continue;
      if (!all_of_them && e.deadline_ms > now_ms) {
        next = std::min(next, e.deadline_ms);
        continue;
      }
      done(e);
      close(e);
    }
    next_expiry_ms_ = next;
  }

 private:
  std::vector<Entry> table_;
  uint32_t mask_ = 0;
  uint32_t next_seq_ = 1;
  uint32_t count_ = 0;
  // No entry expires before this (a lower bound, exact after each sweep), so the timer does not
  // scan the table on every tick.
  uint64_t next_expiry_ms_ = UINT64_MAX;
};

}  // namespace smpp::dataplane::router
