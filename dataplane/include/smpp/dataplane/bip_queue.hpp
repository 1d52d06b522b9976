// The send queue of one connection, shared by both transports: the kernel transport queues all
// its output in it, the DPDK transport what TCP's send ring cannot take yet.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

namespace smpp::dataplane {

// A bip buffer: two regions in one allocation. A reservation is always contiguous, appends never
// move queued octets, and everything queued is at most two spans for one gathering write. Octets
// are queued A then B; B, when in use, grows from offset 0 towards A's start. The buffer grows by
// doubling up to the limit, or is defragmented in place when both free ends are too small for a
// reservation the limit still allows.
class bip_queue {
 public:
  [[nodiscard]] size_t size() const noexcept { return (a_end_ - a_begin_) + b_end_; }
  [[nodiscard]] size_t capacity() const noexcept { return cap_; }
  [[nodiscard]] bool reservation_open() const noexcept { return res_open_; }

  // Connection setup: allocates initial_bytes unless the slot's previous connection left a
  // buffer behind.
  void prepare(uint32_t initial_bytes);
  // Connection teardown: drops the octets and frees a buffer that grew beyond initial_bytes.
  void release(uint32_t initial_bytes);
  void clear() noexcept;

  // n contiguous writable octets at the tail; empty when n is 0, a reservation is open, or the
  // queue would exceed limit.
  [[nodiscard]] std::span<std::byte> reserve(size_t n, uint32_t limit);
  // Like reserve(min_n, limit), but takes up to max_n octets when the free space where the
  // next octets go holds more than min_n (never moves or grows the buffer for the extra).
  [[nodiscard]] std::span<std::byte> reserve_run(size_t min_n, size_t max_n, uint32_t limit);
  // Queues the first `used` octets of the open reservation (at most its size) and closes it.
  void commit(size_t used) noexcept;
  void cancel_reservation() noexcept;

  // The queued octets in order, as up to two spans; returns how many.
  int gather(std::span<const std::byte> (&out)[2]) const noexcept;
  // Drops n octets (at most size()) from the front: they were written.
  void consume(size_t n) noexcept;

 private:
  bool place(uint32_t n) noexcept;
  void relayout(uint32_t cap);
  void normalize() noexcept;

  std::unique_ptr<std::byte[]> buf_;
  uint32_t cap_ = 0;
  uint32_t a_begin_ = 0;
  uint32_t a_end_ = 0;
  uint32_t b_end_ = 0;
  uint32_t res_at_ = 0;
  uint32_t res_len_ = 0;
  bool res_open_ = false;
  bool res_in_b_ = false;
};

}  // namespace smpp::dataplane
