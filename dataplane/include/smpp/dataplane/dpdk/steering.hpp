// Software steering between the workers of one DPDK port whose device does not hash TCP flows
// to queues (net_tap, net_memif, net_ring, many vdevs): everything arrives on queue 0, and the
// worker there hands each frame to the worker that owns it.
//
// One `steering` per port, shared by the port's N dpdk_transport instances (one per worker
// thread, worker i on queue i). It holds one bounded SPSC ring per ordered pair of workers
// (from -> to) carrying received frames as rte_mbuf pointers, in bursts, and the rule deciding
// who handles a frame:
// - IPv4/TCP (not a fragment): the owner is rss_steering::owner_queue_of_frame, the software
//   Toeplitz hash of the four-tuple with the port's key and redirection table. Outbound
//   connections pick source ports with the same hash (source_port_lands_on), so their replies
//   are steered back to the connecting worker.
// - ARP replies, and gratuitous ARP requests (sender address = target address, RFC 5227 §2.3
//   announcements): handled by the receiver and copied to every other worker (the same mbuf,
//   its reference count raised), so every stack's neighbour cache learns (RFC 826 "Packet
//   Reception": the pair is merged or added). Other ARP requests are answered once, by the
//   receiver.
// - Everything else (ICMP, UDP, fragments, malformed frames): the receiving worker. ICMP echo
//   is answered by the worker that received it (RFC 792 "Echo or Echo Reply Message": any
//   holder of the address may answer).
//
// Bound and overflow, in one place: each ring holds `ring_frames` frames (rounded up to a power
// of two); a frame for a full ring is freed and counted (`ring_full_drops`): TCP's sender
// retransmits it (RFC 9293 §3.8.1), a lost ARP copy is asked again by the worker that needs it.
// Nothing ever blocks. Staging: frames for one destination are collected in bursts of up to
// 32 and pushed when the burst is full or at flush().
//
// Threads: worker w alone calls classify(w, ..), hand_over(w, ..), copy_to_others(w, ..),
// flush(w) and drain(w, ..); each ring then has one producer and one consumer. counters(w) is
// read by worker w, or by anyone once w has stopped. No locks, no allocation after create().
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "smpp/dataplane/dpdk/rss.hpp"
#include "smpp/dataplane/spsc_ring.hpp"

struct rte_mbuf;

namespace smpp::dataplane::dpdk {

struct steering_config {
  uint16_t workers = 1;         // the port's queues: worker i serves queue i
  uint32_t ring_frames = 1024;  // per ordered pair of workers; rounded up to a power of two
};

// Per worker, written by that worker only.
struct alignas(64) steering_counters {
  uint64_t steered_out = 0;      // frames this worker received and handed to their owner
  uint64_t steered_in = 0;       // frames other workers handed to this one (drained)
  uint64_t copies_out = 0;       // ARP frames this worker copied to the others
  uint64_t ring_full_drops = 0;  // frames (or copies) for a full ring: freed
  uint64_t handled_here = 0;     // frames this worker received and kept (copied ones too)
};

class steering {
 public:
  static constexpr uint16_t burst = 32;
  static constexpr uint16_t max_workers = 64;

  // Who handles a received frame.
  enum class action : uint8_t {
    here,      // this worker: it owns the flow, or the frame is the receiver's (ICMP, ...)
    owner,     // another worker (`owner`)
    everyone,  // this worker and a copy to every other one (ARP replies, announcements)
  };
  struct verdict {
    action what = action::here;
    uint16_t owner = 0;
  };

  // nullptr with `error` naming the bad value: workers outside 1..max_workers, a rule whose
  // redirection table names a queue >= workers, ring_frames 0 or too large.
  [[nodiscard]] static std::unique_ptr<steering> create(rss_steering rule, steering_config c,
                                                        std::string& error);
  ~steering();  // frees every frame still in a ring or a staging burst
  steering(const steering&) = delete;
  steering& operator=(const steering&) = delete;

  // The rule, for worker `self` receiving `frame` (never reads past it).
  [[nodiscard]] verdict classify(uint16_t self, std::span<const std::byte> frame) const noexcept;

  // Worker `from` hands m to worker `to` (!= from): staged, pushed with the next full burst or
  // flush(from). The ring's frame from then on; freed and counted when the ring is full.
  void hand_over(uint16_t from, uint16_t to, rte_mbuf* m) noexcept;
  // Worker `from` keeps m and stages a reference to it for every other worker (the reference
  // count is raised once per copy; each worker frees its own).
  void copy_to_others(uint16_t from, rte_mbuf* m) noexcept;
  // Pushes worker `from`'s staged bursts; what a full ring refuses is freed and counted.
  // Returns how many frames went into rings.
  uint32_t flush(uint16_t from) noexcept;
  // Worker `self` takes up to out.size() frames the others handed to it (round-robin over the
  // sources, so none starves); they are its own to free. Returns how many.
  [[nodiscard]] size_t drain(uint16_t self, std::span<rte_mbuf*> out) noexcept;

  // Mbufs the rings and staging bursts can hold at most: the port's mempool needs this much
  // beyond what port::open computes for its own descriptors, caches and bursts.
  [[nodiscard]] static uint64_t mbufs_held_at_most(uint16_t workers, uint32_t ring_frames) noexcept;

  [[nodiscard]] uint16_t workers() const noexcept { return workers_; }
  [[nodiscard]] size_t ring_capacity() const noexcept;
  [[nodiscard]] const rss_steering& rule() const noexcept { return rule_; }
  [[nodiscard]] const steering_counters& counters(uint16_t worker) const noexcept {
    return per_worker_[worker].n;
  }
  // Counts the frame in worker `self`'s handled_here (the transport calls it for frames it keeps).
  void note_handled_here(uint16_t self) noexcept { ++per_worker_[self].n.handled_here; }
  // Frames waiting in the ring from -> to (a snapshot).
  [[nodiscard]] size_t queued(uint16_t from, uint16_t to) const noexcept;

 private:
  struct alignas(64) worker_state {
    steering_counters n;
    uint16_t next_source = 0;  // drain's round-robin start
    // staged[to]: frames waiting for a burst toward `to` (workers entries).
    std::vector<std::array<rte_mbuf*, burst>> staged;
    std::vector<uint16_t> staged_count;
  };

  steering(rss_steering rule, steering_config c);
  spsc_ring<rte_mbuf*>& ring(uint16_t from, uint16_t to) noexcept {
    return *rings_[size_t{from} * workers_ + to];
  }
  const spsc_ring<rte_mbuf*>& ring(uint16_t from, uint16_t to) const noexcept {
    return *rings_[size_t{from} * workers_ + to];
  }
  void stage(uint16_t from, uint16_t to, rte_mbuf* m) noexcept;
  void push_staged(uint16_t from, uint16_t to) noexcept;

  rss_steering rule_;
  uint16_t workers_;
  // rings_[from * workers + to]; the diagonal is empty (nullptr).
  std::vector<std::unique_ptr<spsc_ring<rte_mbuf*>>> rings_;
  std::vector<worker_state> per_worker_;
};

}  // namespace smpp::dataplane::dpdk
