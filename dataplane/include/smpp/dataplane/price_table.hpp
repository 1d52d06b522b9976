// One upstream's price list: the price of a message to each destination prefix, looked up by
// the longest prefix of a destination. Immutable once built (the control plane builds it,
// control/price_builder.hpp, and publishes it inside a snapshot); lookups allocate nothing and
// take no lock.
//
// Layout, 16 bytes per prefix: entries sorted by key, where a prefix's key holds its digits as
// 4-bit nibbles (digit + 1) from the top of a 64-bit word and zero nibbles after its end, so the
// numeric order of keys is the lexicographic order of the prefixes and a prefix sorts before
// its extensions. Each entry names its parent: the longest other prefix of the list that is a
// prefix of it. A lookup takes the greatest entry whose key is not above the destination's
// (a binary search); every prefix of the destination in the list is that entry or one of its
// parents (all strings between a prefix P of d and d itself start with P), so the first of the
// chain that is a prefix of the destination is the longest one (at most 16 steps).
#pragma once

#include <bit>
#include <cstdint>
#include <span>
#include <string_view>

#include "smpp/dataplane/huge_array.hpp"

namespace smpp::dataplane {

// Prices in millionths of the list's currency unit ("0.0123" is 12300).
using price_micros = uint32_t;
inline constexpr price_micros no_price = UINT32_MAX;

class price_table {
 public:
  static constexpr unsigned max_digits = 16;  // a prefix's (and a destination's) digits kept
  static constexpr uint32_t no_parent = UINT32_MAX;
  static constexpr uint64_t max_entries = UINT32_MAX - 1;

  struct entry {
    uint64_t key = 0;
    price_micros price = 0;
    uint32_t parent = no_parent;
  };
  static_assert(sizeof(entry) == 16);

  // The key of a digit string (an optional leading '+' ignored; digits past the 16th dropped);
  // 0 when it holds anything but digits, or none. The empty prefix (every destination) is
  // key_of("") == 0 as well: only the builder tells the two apart (it refuses the second).
  [[nodiscard]] static uint64_t key_of(std::string_view digits) noexcept {
    if (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);
    uint64_t k = 0;
    unsigned n = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return 0;
      if (n == max_digits) break;
      k |= static_cast<uint64_t>(c - '0' + 1) << (60 - 4 * n);
      ++n;
    }
    return k;
  }
  // The digits a key holds.
  [[nodiscard]] static constexpr unsigned length_of(uint64_t key) noexcept {
    return key == 0 ? 0 : max_digits - static_cast<unsigned>(std::countr_zero(key)) / 4;
  }
  // Whether the prefix `prefix` (a key) starts the destination `dest` (a key).
  [[nodiscard]] static constexpr bool starts(uint64_t prefix, uint64_t dest) noexcept {
    const unsigned len = length_of(prefix);
    if (len == 0) return true;
    const uint64_t mask = len == max_digits ? ~uint64_t{0} : ~(~uint64_t{0} >> (4 * len));
    return (dest & mask) == prefix;
  }

  price_table() = default;  // empty: no price for any destination
  // Entries sorted by key, without duplicates, parents set (control/price_builder.hpp).
  explicit price_table(huge_array<entry> entries) : entries_(std::move(entries)) {}

  // The price of the longest prefix of `destination` in the list; no_price when none.
  [[nodiscard]] price_micros lookup(std::string_view destination) const noexcept {
    if (!destination.empty() && destination.front() == '+') destination.remove_prefix(1);
    uint64_t d = 0;
    unsigned n = 0;
    for (char c : destination) {
      if (c < '0' || c > '9' || n == max_digits) break;  // a non-digit ends the number
      d |= static_cast<uint64_t>(c - '0' + 1) << (60 - 4 * n);
      ++n;
    }
    return lookup(d);
  }
  [[nodiscard]] price_micros lookup(uint64_t dest_key) const noexcept {
    const entry* e = entries_.data();
    size_t lo = 0;
    size_t hi = entries_.size();  // the first entry above dest_key is in [lo, hi]
    while (lo < hi) {
      const size_t mid = lo + (hi - lo) / 2;
      if (e[mid].key <= dest_key) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    if (lo == 0) return no_price;
    for (uint32_t at = static_cast<uint32_t>(lo - 1); at != no_parent; at = e[at].parent) {
      if (starts(e[at].key, dest_key)) return e[at].price;
    }
    return no_price;
  }

  [[nodiscard]] size_t size() const noexcept { return entries_.size(); }
  [[nodiscard]] size_t bytes() const noexcept { return entries_.size() * sizeof(entry); }
  [[nodiscard]] std::span<const entry> entries() const noexcept { return entries_.span(); }

 private:
  huge_array<entry> entries_;
};

}  // namespace smpp::dataplane
