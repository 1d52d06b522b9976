// The out-of-order queue of one TCP connection's receive side (RFC 9293 §3.10.7.4): octets that
// arrived beyond RCV.NXT wait here, in a ring preallocated at construction, until the gap
// before them is filled; then pop() hands them over in order. No allocation after construction.
//
// Bounds, both fixed at construction:
//   - max_bytes: the reassembly window. Octets at RCV.NXT + max_bytes and beyond are not kept
//     (reported as dropped; the peer sends them again). The receive window the connection
//     advertises should not exceed it. Storage is max_bytes rounded up to a power of two.
//   - max_segments: how many separate runs of held octets (the holes between them + 1) it
//     keeps. A segment that would need one more run is dropped when it lies beyond every held
//     run; when it lies before one, the furthest run is evicted to make room (reported), so the
//     data closest to RCV.NXT — the data that lets the connection progress — is always kept.
// Octets already held are not overwritten: the first copy is kept (RFC 9293 §3.10.7.4 lets a
// receiver trim overlapping data). SYN and FIN occupy no octets here; the caller tracks FIN's
// sequence number.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "smpp/net/tcp_seq.hpp"

namespace smpp::net {

// What insert() did with a segment's octets: stored + duplicate + dropped == its length.
struct reassembly_result {
  uint32_t stored = 0;     // new octets now held
  uint32_t duplicate = 0;  // octets before RCV.NXT or already held (the first copy kept)
  uint32_t dropped = 0;    // octets not kept: beyond the window or no run left for them
  uint32_t evicted = 0;    // previously held octets discarded to make room for this segment
  // True when none of the segment's octets was dropped.
  explicit operator bool() const noexcept { return dropped == 0; }
};

class tcp_reassembly {
 public:
  // One run of held octets.
  struct block {
    uint32_t seq;
    uint32_t len;
  };

  // max_bytes: 1 .. 2^30 (clamped); max_segments: >= 1 (clamped).
  tcp_reassembly(uint32_t max_bytes, uint32_t max_segments);

  // Takes a segment's octets starting at sequence number seq; rcv_nxt is the connection's
  // RCV.NXT now (the caller has already trimmed the segment to the receive window; anything
  // else is handled too). Octets before rcv_nxt or already held count as duplicate. If rcv_nxt
  // has moved back from what an earlier call said, everything held is discarded first.
  [[nodiscard]] reassembly_result insert(uint32_t seq, std::span<const std::byte> data,
                                         uint32_t rcv_nxt) noexcept;

  // Calls deliver(std::span<const std::byte>) for the octets now contiguous from rcv_nxt, in
  // order (one or two spans: the ring may wrap), advances rcv_nxt past them and returns how
  // many were delivered. Held octets before rcv_nxt (the caller advanced it itself) are
  // discarded first. The queue's bookkeeping is done before deliver runs, so deliver may
  // clear() it; the spans stay valid until the next insert(), so deliver may also just keep
  // them and the caller hand them on after pop() returns.
  template <class F>
  size_t pop(uint32_t& rcv_nxt, F&& deliver) {
    sync(rcv_nxt);
    if (count_ == 0 || blocks_[0].seq != rcv_nxt) return 0;
    // Runs that touch are merged on insert, so at most one run starts at rcv_nxt.
    const uint32_t len = blocks_[0].len;
    const uint32_t at = rcv_nxt & mask_;
    const uint32_t first = std::min(len, mask_ + 1 - at);
    remove_front();
    bytes_ -= len;
    rcv_nxt += len;
    base_ = rcv_nxt;
    deliver(std::span<const std::byte>(ring_.get() + at, first));
    if (first < len) deliver(std::span<const std::byte>(ring_.get(), len - first));
    return len;
  }

  // The held octets that start at rcv_nxt, up to the end of their run or of the ring (empty if
  // the gap at rcv_nxt is not filled): for a caller that hands data over piecewise and may stop
  // between pieces. It takes them with consume(), or by advancing its RCV.NXT (held octets
  // before the rcv_nxt of any later call are discarded). Valid until the next non-const call.
  [[nodiscard]] std::span<const std::byte> front(uint32_t rcv_nxt) noexcept {
    sync(rcv_nxt);
    if (count_ == 0 || blocks_[0].seq != rcv_nxt) return {};
    const uint32_t at = rcv_nxt & mask_;
    return {ring_.get() + at, std::min(blocks_[0].len, mask_ + 1 - at)};
  }
  // Discards the first n octets of front() (at most what it returned) and moves the reference
  // point past them, as if RCV.NXT had advanced by n.
  void consume(uint32_t n) noexcept {
    if (count_ == 0 || blocks_[0].seq != base_) return;
    n = std::min(n, blocks_[0].len);
    bytes_ -= n;
    base_ += n;
    blocks_[0].seq += n;
    blocks_[0].len -= n;
    if (blocks_[0].len == 0) remove_front();
  }

  // Octets held.
  [[nodiscard]] size_t bytes() const noexcept { return bytes_; }
  // Runs of held octets (separate segments after merging).
  [[nodiscard]] size_t segments() const noexcept { return count_; }
  [[nodiscard]] bool empty() const noexcept { return count_ == 0; }
  // The held runs in sequence order (the SACK blocks of RFC 2018 §4 come from here).
  [[nodiscard]] std::span<const block> blocks() const noexcept { return {blocks_.get(), count_}; }
  void clear() noexcept {
    count_ = 0;
    bytes_ = 0;
  }
  [[nodiscard]] uint32_t max_bytes() const noexcept { return max_bytes_; }
  [[nodiscard]] uint32_t max_segments() const noexcept { return max_segments_; }

 private:
  // Makes rcv_nxt the reference point: runs before it are trimmed away.
  void sync(uint32_t rcv_nxt) noexcept {
    if (rcv_nxt != base_) resync(rcv_nxt);
  }
  void resync(uint32_t rcv_nxt) noexcept;
  void remove_front() noexcept;
  void copy_in(uint32_t seq, const std::byte* src, uint32_t len) noexcept;

  uint32_t max_bytes_;
  uint32_t max_segments_;
  uint32_t mask_;  // ring size - 1
  uint32_t base_ =
      0;  // the RCV.NXT of the last call: every run lies in [base_, base_ + max_bytes_)
  uint32_t count_ = 0;
  size_t bytes_ = 0;
  std::unique_ptr<std::byte[]> ring_;
  std::unique_ptr<block[]> blocks_;  // count_ runs, sorted, neither overlapping nor touching
};

}  // namespace smpp::net
