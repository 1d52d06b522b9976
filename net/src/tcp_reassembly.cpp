#include "smpp/net/tcp_reassembly.hpp"

#include <bit>
#include <cstring>

namespace smpp::net {

tcp_reassembly::tcp_reassembly(uint32_t max_bytes, uint32_t max_segments)
    : max_bytes_(std::clamp<uint32_t>(max_bytes, 1, uint32_t{1} << 30)),
      max_segments_(std::max<uint32_t>(max_segments, 1)),
      mask_(std::bit_ceil(max_bytes_) - 1),
      ring_(new std::byte[size_t{mask_} + 1]),
      blocks_(new block[max_segments_]) {}

void tcp_reassembly::resync(uint32_t rcv_nxt) noexcept {
  if (seq_lt(rcv_nxt, base_)) {
    // RCV.NXT never moves back; if the caller says it did, what is held may no longer sit where
    // the ring expects it, so it goes.
    clear();
  } else {
    uint32_t drop = 0;
    while (drop < count_ && seq_leq(blocks_[drop].seq + blocks_[drop].len, rcv_nxt)) {
      bytes_ -= blocks_[drop].len;
      ++drop;
    }
    if (drop > 0) {
      std::memmove(blocks_.get(), blocks_.get() + drop, (count_ - drop) * sizeof(block));
      count_ -= drop;
    }
    if (count_ > 0 && seq_lt(blocks_[0].seq, rcv_nxt)) {
      const uint32_t cut = rcv_nxt - blocks_[0].seq;
      blocks_[0].seq = rcv_nxt;
      blocks_[0].len -= cut;
      bytes_ -= cut;
    }
  }
  base_ = rcv_nxt;
}

void tcp_reassembly::remove_front() noexcept {
  --count_;
  std::memmove(blocks_.get(), blocks_.get() + 1, count_ * sizeof(block));
}

void tcp_reassembly::copy_in(uint32_t seq, const std::byte* src, uint32_t len) noexcept {
  const uint32_t at = seq & mask_;
  const uint32_t first = std::min(len, mask_ + 1 - at);
  std::memcpy(ring_.get() + at, src, first);
  if (first < len) std::memcpy(ring_.get(), src + first, len - first);
}

reassembly_result tcp_reassembly::insert(uint32_t seq, std::span<const std::byte> data,
                                         uint32_t rcv_nxt) noexcept {
  reassembly_result r;
  // A TCP segment carries at most 64 KiB; a longer span is cut to the window below anyway.
  const uint64_t size = std::min<uint64_t>(data.size(), 0xffff'ffffu);
  sync(rcv_nxt);
  // Offsets from rcv_nxt. RFC 9293 §3.10.7.4: octets before RCV.NXT were delivered already.
  uint64_t skip = 0;
  uint64_t off = seq - rcv_nxt;
  if (seq_lt(seq, rcv_nxt)) {
    skip = std::min<uint64_t>(rcv_nxt - seq, size);
    off = 0;
  }
  uint64_t end = off + (size - skip);
  r.duplicate = static_cast<uint32_t>(skip);
  if (end > max_bytes_) {
    const uint64_t cut = end - std::max<uint64_t>(off, max_bytes_);
    r.dropped = static_cast<uint32_t>(std::min<uint64_t>(cut, size - skip));
    end -= r.dropped;
  }
  if (end <= off) return r;
  // The segment's octet at offset o (off <= o < end).
  const auto src = [&](uint64_t o) { return data.data() + skip + (o - off); };

  // The first run that ends at or after off (touching runs merge), then every run that starts
  // at or before end.
  const auto offset_of = [rcv_nxt](uint32_t s) { return uint64_t{s - rcv_nxt}; };
  uint32_t lo = 0;
  uint32_t hi = count_;
  while (lo < hi) {
    const uint32_t mid = (lo + hi) / 2;
    if (offset_of(blocks_[mid].seq) + blocks_[mid].len < off) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  const uint32_t first = lo;
  uint32_t last = first;  // one past the last run merged
  while (last < count_ && offset_of(blocks_[last].seq) <= end) ++last;

  if (first == last) {
    // A new run of its own.
    if (count_ == max_segments_) {
      if (first == count_) {
        r.dropped += static_cast<uint32_t>(end - off);
        return r;
      }
      // Keep what is closer to RCV.NXT: the furthest run goes.
      --count_;
      r.evicted = blocks_[count_].len;
      bytes_ -= blocks_[count_].len;
    }
    std::memmove(blocks_.get() + first + 1, blocks_.get() + first,
                 (count_ - first) * sizeof(block));
    ++count_;
    const auto len = static_cast<uint32_t>(end - off);
    blocks_[first] = {rcv_nxt + static_cast<uint32_t>(off), len};
    copy_in(rcv_nxt + static_cast<uint32_t>(off), src(off), len);
    r.stored = len;
    bytes_ += len;
    return r;
  }

  // Fill the gaps between the runs it overlaps or touches, keeping what is already held.
  uint64_t cursor = off;
  uint32_t stored = 0;
  for (uint32_t i = first; i < last; ++i) {
    const uint64_t s = offset_of(blocks_[i].seq);
    if (s > cursor) {
      const auto n = static_cast<uint32_t>(std::min(s, end) - cursor);
      copy_in(rcv_nxt + static_cast<uint32_t>(cursor), src(cursor), n);
      stored += n;
    }
    cursor = std::max(cursor, s + blocks_[i].len);
  }
  if (cursor < end) {
    const auto n = static_cast<uint32_t>(end - cursor);
    copy_in(rcv_nxt + static_cast<uint32_t>(cursor), src(cursor), n);
    stored += n;
  }
  const uint64_t start = std::min(off, offset_of(blocks_[first].seq));
  const uint64_t stop = std::max(end, offset_of(blocks_[last - 1].seq) + blocks_[last - 1].len);
  blocks_[first] = {rcv_nxt + static_cast<uint32_t>(start), static_cast<uint32_t>(stop - start)};
  if (last - first > 1) {
    std::memmove(blocks_.get() + first + 1, blocks_.get() + last, (count_ - last) * sizeof(block));
    count_ -= last - first - 1;
  }
  r.stored = stored;
  r.duplicate += static_cast<uint32_t>(end - off) - stored;
  bytes_ += stored;
  return r;
}

}  // namespace smpp::net
