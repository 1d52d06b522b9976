// Bounded single-producer/single-consumer ring: the only way one worker hands work to another
// ("Threads and cores", docs/architecture.md). One ring per ordered pair of workers, in bursts.
//
// Bound and overflow behaviour, in one place: the capacity is a power of two fixed at
// construction (the only allocation); a push into a full ring is refused and reports how much it
// took, so the caller keeps what was refused and applies back-pressure. Nothing is ever dropped.
//
// Exactly one thread may push and exactly one thread may pop at a time. The indices count items
// ever pushed/popped (they are masked only to address a slot), so all `capacity` slots are usable
// and "full" is `write - read == capacity`.
//
// What T must support (checked below): nothrow move construction, nothrow move assignment and
// nothrow destruction, so no push or pop can stop half-way. push_burst copies and so also needs a
// nothrow copy constructor. Trivially copyable T (pointers, handles, small PODs) is the intended
// use; every operation then compiles down to loads, stores and memmove.
#pragma once

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdlib>
#include <limits>
#include <memory>
#include <new>
#include <span>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace smpp::dataplane {

// Distance between data written by different threads: a 64-byte line, doubled because the L2
// adjacent-line prefetcher pulls aligned pairs of lines (DPDK's ring keeps the same gap).
inline constexpr std::size_t ring_false_sharing_bytes = 128;

template <typename T>
class spsc_ring {
  static_assert(std::is_nothrow_move_constructible_v<T>,
                "spsc_ring<T>: a push move-constructs T into a slot and must not throw");
  static_assert(std::is_nothrow_move_assignable_v<T>,
                "spsc_ring<T>: a pop move-assigns T into the caller's object and must not throw");
  static_assert(std::is_nothrow_destructible_v<T>,
                "spsc_ring<T>: a pop destroys the slot's T and must not throw");

 public:
  using value_type = T;

  // Largest capacity whose slot array is still addressable.
  static constexpr std::size_t max_capacity =
      std::bit_floor(std::numeric_limits<std::size_t>::max() / 2 / sizeof(T));

  // Capacity is min_capacity rounded up to a power of two. Throws std::invalid_argument for 0
  // and std::length_error above max_capacity: a configuration error, caught before any worker
  // starts.
  explicit spsc_ring(std::size_t min_capacity)
      : mask_(rounded_capacity(min_capacity) - 1), slots_(allocate_slots(mask_ + 1)) {}

  ~spsc_ring() {
    const std::size_t read = read_index_.load(std::memory_order_relaxed);
    const std::size_t write = write_index_.load(std::memory_order_relaxed);
    for (std::size_t i = read; i != write; ++i) std::destroy_at(&slots_[i & mask_]);
    std::free(slots_);
  }

  spsc_ring(const spsc_ring&) = delete;
  spsc_ring& operator=(const spsc_ring&) = delete;

  // Producer side. False when the ring is full; the argument is then left untouched (an rvalue
  // is not moved from), so retrying later loses nothing.
  [[nodiscard]] bool try_push(const T& item) noexcept(std::is_nothrow_copy_constructible_v<T>) {
    static_assert(std::is_copy_constructible_v<T>, "spsc_ring<T>: move-only T, push an rvalue");
    return emplace(item);
  }
  [[nodiscard]] bool try_push(T&& item) noexcept { return emplace(std::move(item)); }

  // Producer side, DPDK burst semantics: copies as many leading items as there is room for and
  // returns how many; the rest stay with the caller (back-pressure). The accepted items are
  // published by one release store, so the consumer sees all of them or none.
  [[nodiscard]] std::size_t push_burst(std::span<const T> items) noexcept {
    static_assert(std::is_nothrow_copy_constructible_v<T>,
                  "spsc_ring<T>::push_burst copies, and a copy must not throw half-way");
    const std::size_t write = write_index_.load(std::memory_order_relaxed);
    std::size_t room = capacity() - (write - read_index_cache_);
    if (room < items.size()) {
      // acquire: the consumer's reads of the slots it freed happen before we overwrite them.
      read_index_cache_ = read_index_.load(std::memory_order_acquire);
      room = capacity() - (write - read_index_cache_);
    }
    const std::size_t n = std::min(room, items.size());
    if (n == 0) return 0;
    const std::size_t first = write & mask_;
    const std::size_t before_wrap = std::min(n, capacity() - first);
    std::uninitialized_copy_n(items.data(), before_wrap, slots_ + first);
    std::uninitialized_copy_n(items.data() + before_wrap, n - before_wrap, slots_);
    // release: the slots' contents are visible to the consumer before the index that covers them.
    write_index_.store(write + n, std::memory_order_release);
    return n;
  }

  // Consumer side. False when the ring is empty; `out` is then untouched.
  [[nodiscard]] bool try_pop(T& out) noexcept {
    const std::size_t read = read_index_.load(std::memory_order_relaxed);
    if (read == write_index_cache_) {
      // acquire: pairs with the producer's release, so the slot's contents are visible.
      write_index_cache_ = write_index_.load(std::memory_order_acquire);
      if (read == write_index_cache_) return false;
    }
    T& slot = slots_[read & mask_];
    out = std::move(slot);
    std::destroy_at(&slot);
    // release: we are done with the slot before the producer may reuse it.
    read_index_.store(read + 1, std::memory_order_release);
    return true;
  }

  // Consumer side, DPDK burst semantics: moves up to out.size() items into the front of `out`
  // and returns how many.
  [[nodiscard]] std::size_t pop_burst(std::span<T> out) noexcept {
    const std::size_t read = read_index_.load(std::memory_order_relaxed);
    std::size_t ready = write_index_cache_ - read;
    if (ready < out.size()) {
      write_index_cache_ = write_index_.load(std::memory_order_acquire);
      ready = write_index_cache_ - read;
    }
    const std::size_t n = std::min(ready, out.size());
    if (n == 0) return 0;
    const std::size_t first = read & mask_;
    const std::size_t before_wrap = std::min(n, capacity() - first);
    std::move(slots_ + first, slots_ + first + before_wrap, out.data());
    std::destroy_n(slots_ + first, before_wrap);
    std::move(slots_, slots_ + (n - before_wrap), out.data() + before_wrap);
    std::destroy_n(slots_, n - before_wrap);
    read_index_.store(read + n, std::memory_order_release);
    return n;
  }

  // A snapshot, never above capacity(). Called by the producer it can only overestimate (the
  // room it implies is really there); called by the consumer it can only underestimate.
  [[nodiscard]] std::size_t size() const noexcept {
    // read index first: it never passes the write index, so the difference cannot underflow.
    const std::size_t read = read_index_.load(std::memory_order_acquire);
    const std::size_t write = write_index_.load(std::memory_order_acquire);
    return std::min(write - read, capacity());
  }
  [[nodiscard]] bool empty() const noexcept { return size() == 0; }
  [[nodiscard]] std::size_t capacity() const noexcept { return mask_ + 1; }

 private:
  // The slot array starts and ends on a line boundary, so no other allocation shares its lines.
  static constexpr std::size_t slot_alignment = std::max(alignof(T), ring_false_sharing_bytes);

  static std::size_t rounded_capacity(std::size_t min_capacity) {
    if (min_capacity == 0) throw std::invalid_argument("spsc_ring: capacity must be at least 1");
    if (min_capacity > max_capacity) throw std::length_error("spsc_ring: capacity too large");
    return std::bit_ceil(min_capacity);
  }
  static std::size_t slot_bytes(std::size_t capacity) {
    return (capacity * sizeof(T) + slot_alignment - 1) / slot_alignment * slot_alignment;
  }
  static T* allocate_slots(std::size_t capacity) {
    void* slots = std::aligned_alloc(slot_alignment, slot_bytes(capacity));
    if (slots == nullptr) throw std::bad_alloc();
    return static_cast<T*>(slots);
  }

  template <typename U>
  bool emplace(U&& item) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
    const std::size_t write = write_index_.load(std::memory_order_relaxed);
    if (write - read_index_cache_ == capacity()) {
      read_index_cache_ = read_index_.load(std::memory_order_acquire);
      if (write - read_index_cache_ == capacity()) return false;
    }
    std::construct_at(&slots_[write & mask_], std::forward<U>(item));
    write_index_.store(write + 1, std::memory_order_release);
    return true;
  }

  // Read-only after construction; own cache line so the index stores never evict it.
  alignas(ring_false_sharing_bytes) const std::size_t mask_;
  T* const slots_;

  // Own cache line: written on every push, so it must not false-share with the consumer's index.
  alignas(ring_false_sharing_bytes) std::atomic<std::size_t> write_index_{0};
  // Producer's last view of read_index_: the consumer's line is only read when this says full.
  std::size_t read_index_cache_ = 0;

  // Own cache line: written on every pop, so it must not false-share with the producer's index.
  alignas(ring_false_sharing_bytes) std::atomic<std::size_t> read_index_{0};
  // Consumer's last view of write_index_: the producer's line is only read when this says empty.
  std::size_t write_index_cache_ = 0;
};

}  // namespace smpp::dataplane
