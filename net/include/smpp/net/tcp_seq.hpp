// TCP sequence-number arithmetic: comparisons modulo 2^32 (RFC 9293 §3.4).
//
// Two sequence numbers compare by the sign of their 32-bit difference, so the order holds across
// the wrap from 0xffffffff to 0 as long as the two are less than 2^31 apart (the window never
// comes close: RFC 7323 §2.3 limits it to 2^30).
#pragma once

#include <cstdint>

namespace smpp::net {

// RFC 9293 §3.4: a < b in sequence space.
[[nodiscard]] constexpr bool seq_lt(uint32_t a, uint32_t b) noexcept {
  return static_cast<int32_t>(a - b) < 0;
}
[[nodiscard]] constexpr bool seq_leq(uint32_t a, uint32_t b) noexcept {
  return static_cast<int32_t>(a - b) <= 0;
}
[[nodiscard]] constexpr bool seq_gt(uint32_t a, uint32_t b) noexcept {
  return static_cast<int32_t>(a - b) > 0;
}
[[nodiscard]] constexpr bool seq_geq(uint32_t a, uint32_t b) noexcept {
  return static_cast<int32_t>(a - b) >= 0;
}
// The later / earlier of two sequence numbers.
[[nodiscard]] constexpr uint32_t seq_max(uint32_t a, uint32_t b) noexcept {
  return seq_lt(a, b) ? b : a;
}
[[nodiscard]] constexpr uint32_t seq_min(uint32_t a, uint32_t b) noexcept {
  return seq_lt(a, b) ? a : b;
}
// lo <= s < hi in sequence space (the RFC 9293 §3.4 acceptability tests are built from this).
[[nodiscard]] constexpr bool seq_in(uint32_t s, uint32_t lo, uint32_t hi) noexcept {
  return s - lo < hi - lo;
}

}  // namespace smpp::net
