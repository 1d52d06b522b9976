#include "smpp/dataplane/dpdk/steering.hpp"

#include <rte_mbuf.h>

#include <algorithm>
#include <bit>
#include <stdexcept>
#include <utility>

#include "smpp/dataplane/dpdk/mbuf_sync.hpp"

namespace smpp::dataplane::dpdk {

namespace {

uint16_t be16(std::span<const std::byte> f, size_t at) noexcept {
  return static_cast<uint16_t>((std::to_integer<unsigned>(f[at]) << 8) |
                               std::to_integer<unsigned>(f[at + 1]));
}
uint32_t be32(std::span<const std::byte> f, size_t at) noexcept {
  return (uint32_t{be16(f, at)} << 16) | be16(f, at + 2);
}

constexpr uint16_t ethertype_vlan = 0x8100;  // IEEE 802.1Q tag
constexpr uint16_t ethertype_arp = 0x0806;
constexpr uint16_t arp_op_request = 1;  // RFC 826 ar$op
constexpr uint16_t arp_op_reply = 2;

// True for an ARP frame every worker's neighbour cache should see: a reply, or a gratuitous
// request (sender address = target address).
bool arp_for_everyone(std::span<const std::byte> f) noexcept {
  size_t at = 12;  // IEEE 802.3 Ethernet II: destination, source, EtherType
  if (f.size() < at + 2) return false;
  uint16_t ethertype = be16(f, at);
  at += 2;
  if (ethertype == ethertype_vlan) {
    if (f.size() < at + 4) return false;
    ethertype = be16(f, at + 2);
    at += 4;
  }
  // RFC 826 "Packet format": hrd(2) pro(2) hln(1) pln(1) op(2) sha(6) spa(4) tha(6) tpa(4).
  if (ethertype != ethertype_arp || f.size() < at + 28) return false;
  const uint16_t op = be16(f, at + 6);
  if (op == arp_op_reply) return true;
  // RFC 5227 §2.3: an announcement is a request whose sender and target addresses are the
  // sender's own; nobody answers it, every holder of an entry for it updates (RFC 826 merge).
  return op == arp_op_request && be32(f, at + 14) == be32(f, at + 24);
}

}  // namespace

std::unique_ptr<steering> steering::create(rss_steering rule, steering_config c,
                                           std::string& error) {
  if (c.workers == 0 || c.workers > max_workers) {
    error = "steering: workers " + std::to_string(c.workers) + " outside 1.." +
            std::to_string(max_workers);
    return nullptr;
  }
  if (c.ring_frames == 0 || c.ring_frames > (1u << 20)) {
    error = "steering: ring_frames " + std::to_string(c.ring_frames) + " outside 1..1048576";
    return nullptr;
  }
  for (const uint16_t q : rule.reta()) {
    if (q >= c.workers) {
      error = "steering: the redirection table names queue " + std::to_string(q) +
              " but there are " + std::to_string(c.workers) + " workers";
      return nullptr;
    }
  }
  return std::unique_ptr<steering>(new steering(std::move(rule), c));
}

steering::steering(rss_steering rule, steering_config c)
    : rule_(std::move(rule)), workers_(c.workers) {
  rings_.resize(size_t{workers_} * workers_);
  for (uint16_t from = 0; from < workers_; ++from) {
    for (uint16_t to = 0; to < workers_; ++to) {
      if (from != to) {
        rings_[size_t{from} * workers_ + to] =
            std::make_unique<spsc_ring<rte_mbuf*>>(c.ring_frames);
      }
    }
  }
  per_worker_.resize(workers_);
  for (worker_state& w : per_worker_) {
    w.staged.resize(workers_);
    w.staged_count.assign(workers_, 0);
  }
}

steering::~steering() {
  for (worker_state& w : per_worker_) {
    for (uint16_t to = 0; to < workers_; ++to) {
      for (uint16_t i = 0; i < w.staged_count[to]; ++i) mbuf_free(w.staged[to][i]);
    }
  }
  for (auto& r : rings_) {
    rte_mbuf* m = nullptr;
    while (r && r->try_pop(m)) mbuf_free(m);
  }
}

steering::verdict steering::classify(uint16_t self,
                                     std::span<const std::byte> frame) const noexcept {
  if (workers_ == 1) return {action::here, self};
  if (const auto owner = rule_.owner_queue_of_frame(frame)) {
    return *owner == self ? verdict{action::here, self} : verdict{action::owner, *owner};
  }
  if (arp_for_everyone(frame)) return {action::everyone, self};
  return {action::here, self};
}

void steering::stage(uint16_t from, uint16_t to, rte_mbuf* m) noexcept {
  worker_state& w = per_worker_[from];
  w.staged[to][w.staged_count[to]++] = m;
  if (w.staged_count[to] == burst) push_staged(from, to);
}

void steering::push_staged(uint16_t from, uint16_t to) noexcept {
  worker_state& w = per_worker_[from];
  const uint16_t n = w.staged_count[to];
  if (n == 0) return;
  const size_t pushed =
      ring(from, to).push_burst(std::span<rte_mbuf* const>(w.staged[to].data(), n));
  // Bound reached: the rest is freed and counted; TCP retransmits (RFC 9293 §3.8.1).
  for (size_t i = pushed; i < n; ++i) mbuf_free(w.staged[to][i]);
  w.n.ring_full_drops += n - pushed;
  w.staged_count[to] = 0;
}

void steering::hand_over(uint16_t from, uint16_t to, rte_mbuf* m) noexcept {
  ++per_worker_[from].n.steered_out;
  stage(from, to, m);
}

void steering::copy_to_others(uint16_t from, rte_mbuf* m) noexcept {
  // One reference per other worker; each frees its own (rte_pktmbuf_free drops one).
  rte_mbuf_refcnt_update(m, static_cast<int16_t>(workers_ - 1));
  for (uint16_t to = 0; to < workers_; ++to) {
    if (to == from) continue;
    ++per_worker_[from].n.copies_out;
    stage(from, to, m);
  }
}

uint32_t steering::flush(uint16_t from) noexcept {
  worker_state& w = per_worker_[from];
  const uint64_t dropped_before = w.n.ring_full_drops;
  uint32_t staged = 0;
  for (uint16_t to = 0; to < workers_; ++to) {
    staged += w.staged_count[to];
    push_staged(from, to);
  }
  return staged - static_cast<uint32_t>(w.n.ring_full_drops - dropped_before);
}

size_t steering::drain(uint16_t self, std::span<rte_mbuf*> out) noexcept {
  worker_state& w = per_worker_[self];
  size_t got = 0;
  for (uint16_t i = 0; i < workers_ && got < out.size(); ++i) {
    const uint16_t from = static_cast<uint16_t>((w.next_source + i) % workers_);
    if (from == self) continue;
    got += ring(from, self).pop_burst(out.subspan(got));
  }
  w.next_source = static_cast<uint16_t>((w.next_source + 1) % workers_);
  w.n.steered_in += got;
  return got;
}

uint64_t steering::mbufs_held_at_most(uint16_t workers, uint32_t ring_frames) noexcept {
  const uint64_t pairs = uint64_t{workers} * (workers > 0 ? workers - 1u : 0u);
  return pairs * (std::bit_ceil(uint64_t{ring_frames}) + burst);
}

size_t steering::ring_capacity() const noexcept {
  return workers_ > 1 ? ring(0, 1).capacity() : 0;
}

size_t steering::queued(uint16_t from, uint16_t to) const noexcept {
  return from == to ? 0 : ring(from, to).size();
}

}  // namespace smpp::dataplane::dpdk
