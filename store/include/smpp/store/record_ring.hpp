// The ring between a router worker and its journal thread: single producer, single consumer, of
// octets, with contiguous reservations, so that a worker encodes a record in place and the
// journal hands a whole run of records to its backend in one call (one write()).
//
// Positions are 64-bit counts of octets ever pushed; a position is also a record's mark: the
// journal reports how far its backend has taken the ring (durable()), and a record is in the
// store when that passes the position its commit returned.
//
// A reservation that does not fit before the end of the buffer skips the rest of it (the pad):
// the producer publishes where the pad starts (pad_at_) before the write position that covers
// it, and the consumer ends the lap's run there. The producer can only wrap again once the
// consumer has passed the previous wrap (the ring holds at most `capacity` octets), so one
// atomic says where the current lap's pad is.
//
// Bound and overflow: the capacity is fixed at construction (a power of two, the only
// allocation); a reservation the ring cannot take now is refused (empty span) and the caller
// applies back-pressure; a reservation larger than half the capacity is always refused.
#pragma once

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>

namespace smpp::store {

class record_ring {
 public:
  // Room for the largest record (max_record_bytes) twice over, so a reservation of any record
  // can succeed.
  static constexpr std::size_t min_capacity = 65536;

  // capacity is rounded up to a power of two, at least min_capacity octets.
  explicit record_ring(std::size_t capacity)
      : mask_(std::bit_ceil(capacity < min_capacity ? min_capacity : capacity) - 1),
        buf_(std::make_unique<std::byte[]>(mask_ + 1)) {
    if (capacity > (std::size_t{1} << 40)) throw std::length_error("record_ring: capacity");
  }

  [[nodiscard]] std::size_t capacity() const noexcept { return mask_ + 1; }

  // Producer: n contiguous octets, or an empty span when the ring has no room for them now
  // (or n is 0 or over capacity() / 2). At most one reservation is open.
  [[nodiscard]] std::span<std::byte> reserve(std::size_t n) noexcept {
    if (n == 0 || n > capacity() / 2) return {};
    const std::uint64_t w = write_.load(std::memory_order_relaxed);
    const std::size_t tail = capacity() - static_cast<std::size_t>(w & mask_);
    const std::size_t pad = tail < n ? tail : 0;
    if (w + pad + n - read_cache_ > capacity()) {
      // acquire: the consumer is done with the octets it released before we overwrite them.
      read_cache_ = read_.load(std::memory_order_acquire);
      if (w + pad + n - read_cache_ > capacity()) return {};
    }
    pad_ = pad;
    return {buf_.get() + ((w + pad) & mask_), n};
  }

  // Producer: publishes the first `used` octets of the open reservation (0: nothing but the
  // pad, if any) and returns the position after them: the mark of what was just written.
  std::uint64_t commit(std::size_t used) noexcept {
    const std::uint64_t w = write_.load(std::memory_order_relaxed);
    if (pad_ != 0) pad_at_.store(w, std::memory_order_relaxed);  // published by the store below
    const std::uint64_t next = w + pad_ + used;
    pad_ = 0;
    // release: the octets (and pad_at_) are visible before the position that covers them.
    write_.store(next, std::memory_order_release);
    return next;
  }

  // Producer: the position after everything committed.
  [[nodiscard]] std::uint64_t written() const noexcept {
    return write_.load(std::memory_order_relaxed);
  }

  // Consumer: the committed octets from the read position to the end of the lap's data, in
  // place; empty when there are none.
  [[nodiscard]] std::span<const std::byte> peek() noexcept {
    for (;;) {
      const std::uint64_t r = read_.load(std::memory_order_relaxed);
      const std::uint64_t w = write_.load(std::memory_order_acquire);
      if (r == w) return {};
      const std::uint64_t lap_end = (r | mask_) + 1;
      std::uint64_t end = w < lap_end ? w : lap_end;
      if (w > lap_end) {
        const std::uint64_t pad_at = pad_at_.load(std::memory_order_relaxed);
        if (pad_at >= lap_end - capacity() && pad_at < lap_end) end = pad_at;
      }
      if (end == r) {  // only the pad is left in this lap
        read_.store(lap_end, std::memory_order_release);
        continue;
      }
      return {buf_.get() + (r & mask_), static_cast<std::size_t>(end - r)};
    }
  }

  // Consumer: the first n octets of the last peek() are done with; returns the new read
  // position (skipping a pad that follows them).
  std::uint64_t release(std::size_t n) noexcept {
    const std::uint64_t r = read_.load(std::memory_order_relaxed) + n;
    // release: our reads of the octets happen before the producer may reuse them.
    read_.store(r, std::memory_order_release);
    return r;
  }

  // Consumer: the read position.
  [[nodiscard]] std::uint64_t read_position() const noexcept {
    return read_.load(std::memory_order_relaxed);
  }

 private:
  const std::size_t mask_;
  const std::unique_ptr<std::byte[]> buf_;
  // Own cache line: the producer's, written on every commit.
  alignas(128) std::atomic<std::uint64_t> write_{0};
  std::atomic<std::uint64_t> pad_at_{~std::uint64_t{0}};  // none yet
  std::uint64_t read_cache_ = 0;                          // the producer's last view of read_
  std::size_t pad_ = 0;                                   // the open reservation's pad
  // Own cache line: the consumer's.
  alignas(128) std::atomic<std::uint64_t> read_{0};
};

}  // namespace smpp::store
