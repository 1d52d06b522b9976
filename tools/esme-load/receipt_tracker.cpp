#include "receipt_tracker.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <new>

namespace smpp::esme_load {

namespace {

// FNV-1a 64 then a final mix (the low bits pick the slot): ids are matched by hash; a
// collision among a few million ids is vanishingly unlikely, and would only count one receipt
// twice or as a duplicate.
uint64_t id_hash(std::string_view id) noexcept {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (const char c : id) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return h == 0 ? 1 : h;  // 0 marks a free slot
}

constexpr size_t page_octets = 4096;
__extension__ using uint128 = unsigned __int128;  // GCC and Clang on 64-bit targets

// The time field keeps 62 bits: CLOCK_MONOTONIC nanoseconds reach 2^62 after 146 years.
constexpr uint64_t pack(uint64_t ns, uint64_t seen) noexcept {
  return (ns << 2) | seen;
}
constexpr uint64_t time_of(uint64_t value) noexcept {
  return value >> 2;
}

}  // namespace

receipt_tracker::receipt_tracker(size_t max_ids)
    : capacity_(2 * std::max<size_t>(max_ids, 8)),  // at most half full: probes stay short
      max_ids_(max_ids) {
  mapped_octets_ = capacity_ * sizeof(slot);
  void* p =
      mmap(nullptr, mapped_octets_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  (void)madvise(p, mapped_octets_, MADV_HUGEPAGE);  // advice only: small pages work too
  // Every page taken now, before the load starts: a fresh page's first touch (in a VM, the
  // host's too) stalled the poll loop for up to a second when left to the first ids.
  auto* bytes = static_cast<volatile char*>(p);
  for (size_t at = 0; at < mapped_octets_; at += page_octets) bytes[at] = 0;
  slots_ = static_cast<slot*>(p);
}

receipt_tracker::~receipt_tracker() {
  munmap(slots_, mapped_octets_);
}

receipt_tracker::slot& receipt_tracker::find(std::string_view id) noexcept {
  const uint64_t key = id_hash(id);
  slot* table = slots_;
  // The slot from the hash's high bits (multiply-shift: any capacity, not a power of two).
  size_t i = static_cast<size_t>((static_cast<uint128>(key) * capacity_) >> 64);
  for (;; i = i + 1 == capacity_ ? 0 : i + 1) {
    slot& s = table[i];
    if (s.key == key) return s;
    if (s.key == 0) {
      if (size_ < max_ids_) s.key = key;  // else left free: the caller sees untracked
      return s;
    }
  }
}

receipt_tracker::outcome receipt_tracker::accepted(std::string_view id, uint64_t sent_ns,
                                                   uint64_t& latency_ns) {
  slot& s = find(id);
  if (s.key == 0) return outcome::untracked;
  if (s.value == 0) {
    ++size_;
    s.value = pack(sent_ns, seen_accepted);
    return outcome::waiting;
  }
  if ((s.value & seen_accepted) != 0) return outcome::waiting;  // the same id accepted twice
  // The receipt came first: the slot holds its arrival.
  const uint64_t arrived = time_of(s.value);
  latency_ns = arrived > sent_ns ? arrived - sent_ns : 0;
  s.value = pack(sent_ns, seen_accepted | seen_receipt);
  --receipted_only_;
  return outcome::matched;
}

receipt_tracker::outcome receipt_tracker::receipt(std::string_view id, uint64_t now_ns,
                                                  uint64_t& latency_ns) {
  slot& s = find(id);
  if (s.key == 0) return outcome::untracked;
  if (s.value == 0) {
    // Not (yet) seen accepted: a receipt may overtake its submit_sm_resp on another session.
    ++size_;
    ++receipted_only_;
    s.value = pack(now_ns, seen_receipt);
    return outcome::waiting;
  }
  if ((s.value & seen_receipt) != 0) return outcome::duplicate;
  const uint64_t sent = time_of(s.value);
  latency_ns = now_ns > sent ? now_ns - sent : 0;
  s.value |= seen_receipt;
  return outcome::matched;
}

}  // namespace smpp::esme_load
