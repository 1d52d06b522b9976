#include "smpp/net/timer_wheel.hpp"

namespace smpp::net {

timer_wheel::timer_wheel(uint32_t capacity, uint32_t tick_us, uint32_t slots, uint64_t start_us)
    : capacity_(capacity),
      tick_us_(tick_us == 0 ? 1 : tick_us),
      tick_shift_(std::has_single_bit(tick_us_) ? std::countr_zero(tick_us_) : -1),
      slots_(std::bit_ceil(std::clamp<uint32_t>(slots, 2, 65536))),
      slot_mask_(slots_ - 1),
      bits_(static_cast<unsigned>(std::countr_zero(slots_))),
      levels_((64 + bits_ - 1) / bits_),
      wheel_lists_(levels_ * slots_),
      cur_(start_us / tick_us_),
      nodes_(capacity),
      heads_(wheel_lists_ + 2, nil),
      occupied_((wheel_lists_ + 63) / 64, 0) {
  for (unsigned b = 0; b < 64; ++b) level_of_bit_[b] = b / bits_;
}

uint64_t timer_wheel::next_event() const noexcept {
  for (unsigned k = 0; k < levels_; ++k) {
    const unsigned shift = k * bits_;
    const uint32_t digit = static_cast<uint32_t>((cur_ >> shift) & slot_mask_);
    // The first occupied slot after the current digit, in bits [k*S + digit + 1, (k+1)*S).
    uint32_t from = k * slots_ + digit + 1;
    const uint32_t end = (k + 1) * slots_;
    while (from < end) {
      uint64_t w = occupied_[from >> 6] >> (from & 63);
      if (w != 0) {
        const uint32_t at = from + static_cast<uint32_t>(std::countr_zero(w));
        if (at >= end) break;
        const uint64_t j = at - k * slots_;
        // The block of level k + 1 cur_ is in, with digit k set to j and the lower ones zero.
        const unsigned up = shift + bits_;
        const uint64_t high = up >= 64 ? 0 : (cur_ >> up) << up;
        return high | (j << shift);
      }
      from = (from | 63) + 1;
    }
  }
  return std::numeric_limits<uint64_t>::max();
}

}  // namespace smpp::net
