// The number portability index: which network each ported MSISDN belongs to now. Immutable once
// built (the control plane builds it, control/mnp_builder.hpp, and publishes it inside a
// snapshot); lookups allocate nothing and take no lock.
//
// Layout, 8 bytes per number plus a two-level directory of at most 6 bytes per number:
//  - entries: one 64-bit word per number, key << network_bits | network, sorted by key. The key
//    is the MSISDN's value as an integer (E.164: at most 15 digits, never a leading zero, so
//    < 10^15 < 2^50) and the network a 14-bit id (router_snapshot::networks).
//  - buckets: the key range [min_key, max_key] cut into at most 2^18 (and at most one per 16
//    numbers) buckets of 2^bucket_shift keys. Numbers crowd into number plans, so each bucket
//    has a directory of its own over the keys it actually holds: from its smallest key, slots
//    of 2^shift keys, at most one slot per number of the bucket.
//  - slots: every bucket's slots, one after the other; a slot holds the position of its first
//    entry, and the next slot one past its last.
// A lookup reads its bucket (the buckets are a few MiB: mostly in cache), its slot (one cache
// line) and the slot's entries (one or two lines), however many numbers the table holds.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "smpp/dataplane/huge_array.hpp"

namespace smpp::dataplane {

// A network's index in router_snapshot::networks; no_network: none known.
inline constexpr uint16_t no_network = 0xFFFF;

class mnp_index {
 public:
  static constexpr unsigned network_bits = 14;
  static constexpr uint64_t network_mask = (uint64_t{1} << network_bits) - 1;
  // Network ids 0..max_networks-1; the largest 14-bit value marks a removal inside a delta.
  static constexpr uint16_t max_networks = network_mask;
  static constexpr uint16_t removed = network_mask;
  static constexpr unsigned max_digits = 15;  // ITU-T E.164 §6.1: at most 15 digits
  // Entries are counted in 32 bits (the directory's offsets).
  static constexpr uint64_t max_entries = UINT32_MAX;

  // The key of an MSISDN ("+447700900123" or "447700900123"): 0 when it is not 1..15 digits
  // without a leading zero (such an address is never in the table).
  [[nodiscard]] static uint64_t key_of(std::string_view msisdn) noexcept;
  [[nodiscard]] static constexpr uint64_t pack(uint64_t key, uint16_t network) noexcept {
    return key << network_bits | network;
  }

  // A bucket of the directory (above). Empty: slot_count 0.
  struct bucket {
    uint64_t base = 0;        // its smallest key
    uint32_t first = 0;       // its first entry (where a key below base would go)
    uint32_t slot = 0;        // its first slot in slots()
    uint32_t slot_count = 0;  // its slots (then one more: the end of the last)
    uint32_t shift = 0;       // a slot covers 2^shift keys
  };
  static constexpr uint64_t max_buckets = uint64_t{1} << 18;

  // The smallest shift that cuts [min_key, max_key] into at most max(n, 1) pieces.
  [[nodiscard]] static unsigned shift_for(uint64_t n, uint64_t min_key, uint64_t max_key) noexcept;
  // The bucket width of a table of n numbers over [min_key, max_key].
  [[nodiscard]] static unsigned bucket_shift_for(uint64_t n, uint64_t min_key,
                                                 uint64_t max_key) noexcept;

  mnp_index() = default;  // empty: every lookup answers no_network
  // From parts built by the control plane (control/mnp_builder.hpp), as described above.
  mnp_index(huge_array<uint64_t> entries, huge_array<bucket> buckets, huge_array<uint32_t> slots,
            unsigned bucket_shift);

  [[nodiscard]] uint16_t lookup(uint64_t key) const noexcept {
    const uint64_t b = (key - min_key_) >> bucket_shift_;
    // A key below min_key wraps around to a bucket past the end: keys and the range are below
    // 2^50, so the wrapped difference shifted stays above 2^(50 - shift) + 1 buckets.
    if (b >= buckets_.size()) return no_network;
    const bucket& bk = buckets_[b];
    const uint64_t slot = (key - bk.base) >> bk.shift;  // below base: wraps past the end
    if (slot >= bk.slot_count) return no_network;
    const uint64_t* e = entries_.data();
    uint32_t lo = slots_[bk.slot + slot];
    uint32_t hi = slots_[bk.slot + slot + 1];
    while (hi - lo > 4) {
      const uint32_t mid = lo + (hi - lo) / 2;
      if ((e[mid] >> network_bits) <= key) {
        lo = mid;
      } else {
        hi = mid;
      }
    }
    for (; lo < hi; ++lo) {
      if ((e[lo] >> network_bits) == key) return static_cast<uint16_t>(e[lo] & network_mask);
    }
    return no_network;
  }
  [[nodiscard]] uint16_t lookup(std::string_view msisdn) const noexcept {
    const uint64_t k = key_of(msisdn);
    return k == 0 ? no_network : lookup(k);
  }

  // The position of the first entry whose key is not below `key` (size() when none).
  [[nodiscard]] size_t lower_bound(uint64_t key) const noexcept;

  [[nodiscard]] size_t size() const noexcept { return entries_.size(); }
  [[nodiscard]] size_t bytes() const noexcept {
    return entries_.size() * sizeof(uint64_t) + buckets_.size() * sizeof(bucket) +
           slots_.size() * sizeof(uint32_t);
  }
  [[nodiscard]] std::span<const uint64_t> entries() const noexcept { return entries_.span(); }
  [[nodiscard]] std::span<const bucket> buckets() const noexcept { return buckets_.span(); }
  [[nodiscard]] std::span<const uint32_t> slots() const noexcept { return slots_.span(); }
  [[nodiscard]] unsigned bucket_shift() const noexcept { return bucket_shift_; }

 private:
  huge_array<uint64_t> entries_;
  huge_array<bucket> buckets_;
  huge_array<uint32_t> slots_;
  uint64_t min_key_ = 0;
  unsigned bucket_shift_ = 0;
};

}  // namespace smpp::dataplane
