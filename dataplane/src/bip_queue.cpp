#include "smpp/dataplane/bip_queue.hpp"

#include <algorithm>
#include <cassert>
#include <cstring>

namespace smpp::dataplane {

void bip_queue::prepare(uint32_t initial_bytes) {
  if (cap_ == 0 && initial_bytes > 0) relayout(initial_bytes);
}

void bip_queue::release(uint32_t initial_bytes) {
  clear();
  if (cap_ > initial_bytes) {
    buf_.reset();
    cap_ = 0;
  }
}

void bip_queue::clear() noexcept {
  a_begin_ = a_end_ = b_end_ = 0;
  res_open_ = false;
}

std::span<std::byte> bip_queue::reserve(size_t n, uint32_t limit) {
  const size_t used = size();
  if (res_open_ || n == 0 || used > limit || n > limit - used) return {};
  const auto need = static_cast<uint32_t>(n);
  if (!place(need)) {
    const uint32_t want = static_cast<uint32_t>(used) + need;
    uint32_t cap = cap_;
    if (cap < want) {
      cap = static_cast<uint32_t>(
          std::min<uint64_t>(limit, std::max<uint64_t>(uint64_t{cap} * 2, want)));
    }
    relayout(cap);  // grows, or defragments in place: then A alone holds everything
    res_at_ = a_end_;
    res_in_b_ = false;
  }
  res_open_ = true;
  res_len_ = need;
  return {buf_.get() + res_at_, n};
}

std::span<std::byte> bip_queue::reserve_run(size_t min_n, size_t max_n, uint32_t limit) {
  const size_t used = size();
  if (res_open_ || min_n == 0 || used > limit || min_n > limit - used) return {};
  // The free piece place() would choose, taken whole when it holds min_n.
  uint32_t at = 0;
  size_t room = 0;
  bool in_b = false;
  if (b_end_ > 0) {
    at = b_end_;
    room = a_begin_ - b_end_;
    in_b = true;
  } else if (cap_ - a_end_ >= min_n) {
    at = a_end_;
    room = cap_ - a_end_;
  } else {
    room = a_begin_;
    in_b = true;
  }
  if (room < min_n) return reserve(min_n, limit);
  const size_t n = std::min({room, std::max(min_n, max_n), limit - used});
  res_at_ = at;
  res_in_b_ = in_b;
  res_open_ = true;
  res_len_ = static_cast<uint32_t>(n);
  return {buf_.get() + res_at_, n};
}

void bip_queue::commit(size_t used) noexcept {
  if (!res_open_) return;
  res_open_ = false;
  const auto n = static_cast<uint32_t>(std::min<size_t>(used, res_len_));
  if (res_in_b_) {
    assert(res_at_ == b_end_);
    b_end_ += n;
  } else {
    assert(res_at_ == a_end_);
    a_end_ += n;
  }
  normalize();
}

void bip_queue::cancel_reservation() noexcept {
  res_open_ = false;
  normalize();
}

int bip_queue::gather(std::span<const std::byte> (&out)[2]) const noexcept {
  int count = 0;
  if (a_end_ > a_begin_) out[count++] = {buf_.get() + a_begin_, size_t{a_end_ - a_begin_}};
  if (b_end_ > 0) out[count++] = {buf_.get(), size_t{b_end_}};
  return count;
}

void bip_queue::consume(size_t n) noexcept {
  const uint32_t a_len = a_end_ - a_begin_;
  if (n < a_len) {
    a_begin_ += static_cast<uint32_t>(n);
    return;
  }
  n -= a_len;
  a_begin_ = a_end_;
  if (b_end_ > 0) {  // B becomes A
    assert(n <= b_end_);
    a_begin_ = static_cast<uint32_t>(n);
    a_end_ = b_end_;
    b_end_ = 0;
    res_in_b_ = false;  // an open reservation at B's end is now at A's end
  }
  normalize();
}

bool bip_queue::place(uint32_t n) noexcept {
  if (b_end_ > 0) {
    if (a_begin_ - b_end_ < n) return false;
    res_at_ = b_end_;
    res_in_b_ = true;
    return true;
  }
  if (cap_ - a_end_ >= n) {
    res_at_ = a_end_;
    res_in_b_ = false;
    return true;
  }
  if (a_begin_ >= n) {
    res_at_ = 0;
    res_in_b_ = true;
    return true;
  }
  return false;
}

void bip_queue::relayout(uint32_t cap) {
  const uint32_t a_len = a_end_ - a_begin_;
  if (cap != cap_) {
    auto fresh = std::make_unique_for_overwrite<std::byte[]>(cap);
    if (a_len > 0) std::memcpy(fresh.get(), buf_.get() + a_begin_, a_len);
    if (b_end_ > 0) std::memcpy(fresh.get() + a_len, buf_.get(), b_end_);
    buf_ = std::move(fresh);
    cap_ = cap;
  } else if (b_end_ == 0) {
    std::memmove(buf_.get(), buf_.get() + a_begin_, a_len);
  } else {
    // [B | gap | A] -> [A | B | gap]: only when both free ends are too small for a reservation
    // the limit still allows, so rare.
    std::rotate(buf_.get(), buf_.get() + a_begin_, buf_.get() + a_end_);
  }
  a_end_ = a_len + b_end_;
  a_begin_ = 0;
  b_end_ = 0;
}

void bip_queue::normalize() noexcept {
  if (a_begin_ != a_end_) return;
  if (b_end_ > 0) {
    a_begin_ = 0;
    a_end_ = b_end_;
    b_end_ = 0;
    res_in_b_ = false;
  } else if (!res_open_) {
    a_begin_ = a_end_ = 0;  // empty: start over at the front
  }
}

}  // namespace smpp::dataplane
