// What became of a gated bind's slots, by the tenant owning each slot: used by the owner, lent
// (used by another tenant because the owner had nothing queued), or missed (nobody sent in it:
// nothing queued, the bind's window full, or the worker came too late). Written by the worker
// that runs the bind's slot gate, read by any thread (the admin API) without a lock, as the
// other live counters (counters.hpp); the mark of each slot is its outcome in the last frame
// the gate ran through.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "smpp/dataplane/counters.hpp"

namespace smpp::dataplane {

class slot_use {
 public:
  enum class mark : uint8_t { none = 0, used = 1, lent = 2, missed = 3 };
  struct owner_counts {
    counter used;
    counter lent;
    counter missed;
  };

  // A frame of `slots` slots owned by tenants 0..tenants-1; any other owner (unowned slots)
  // counts in unowned().
  slot_use(size_t slots, size_t tenants) : marks_(slots), owners_(tenants + 1) {}

  // Slot `slot` of the frame, owned by `owner`, had outcome `m` (used, lent or missed).
  void record(uint32_t slot, uint32_t owner, mark m) noexcept {
    owner_counts& c = owners_[std::min<size_t>(owner, owners_.size() - 1)];
    ++(m == mark::used ? c.used : m == mark::lent ? c.lent : c.missed);
    if (slot < marks_.size())
      marks_[slot].store(static_cast<uint8_t>(m), std::memory_order_relaxed);
    if (slot + 1 == marks_.size()) ++frames_;
  }

  [[nodiscard]] size_t slots() const noexcept { return marks_.size(); }
  [[nodiscard]] size_t tenants() const noexcept { return owners_.size() - 1; }
  // Since the gate started (or its frame or tenant count changed), per owning tenant.
  [[nodiscard]] const owner_counts& of(size_t tenant) const noexcept {
    return owners_[std::min(tenant, owners_.size() - 1)];
  }
  [[nodiscard]] const owner_counts& unowned() const noexcept { return owners_.back(); }
  // The slot's outcome in the last frame it came in (none: it has not come yet).
  [[nodiscard]] mark last(size_t slot) const noexcept {
    return slot < marks_.size() ? static_cast<mark>(marks_[slot].load(std::memory_order_relaxed))
                                : mark::none;
  }
  // Frames whose last slot has come.
  [[nodiscard]] uint64_t frames() const noexcept { return frames_.load(); }

 private:
  std::vector<std::atomic<uint8_t>> marks_;
  std::vector<owner_counts> owners_;
  counter frames_;
};

}  // namespace smpp::dataplane
