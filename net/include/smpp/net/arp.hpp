// ARP (RFC 826) for IPv4 over Ethernet: answers requests for our addresses, resolves next hops
// with bounded retries and a bounded per-destination queue of frames waiting for the answer,
// and keeps a bounded cache whose entries expire unless refreshed. One per stack (per worker).
//
// Entry life: free -> incomplete (broadcast requests every retry_interval_us, at most
// max_requests; frames queued) -> reachable (for reachable_us after the last confirmation) ->
// at expiry either freed (not used since confirmed) or probe (still used: unicast requests,
// the old address stays in use; max_requests unanswered frees it). Static entries never
// expire, are never evicted and are never changed by the network.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "smpp/net/ethernet.hpp"
#include "smpp/net/ip.hpp"
#include "smpp/net/link.hpp"

namespace smpp::net {

inline constexpr size_t arp_packet_len = 28;  // Ethernet/IPv4 ARP: 8 + 2 * (6 + 4)
inline constexpr uint16_t arp_op_request = 1;
inline constexpr uint16_t arp_op_reply = 2;
// The most frames one destination may hold while it is resolved (the array in each entry).
inline constexpr size_t arp_pending_per_destination_max = 16;

struct arp_config {
  size_t cache_size = 64;                    // entries, preallocated; full -> evict stalest
  uint64_t reachable_us = 60'000'000;        // an entry is trusted this long after confirmation
  uint64_t retry_interval_us = 1'000'000;    // between two requests for the same address
  unsigned max_requests = 3;                 // requests per resolution or refresh, then give up
  size_t pending_per_destination = 4;        // frames held per unresolved next hop (<= 16)
  size_t pending_pool = 64;                  // frames held over all unresolved next hops
  uint64_t defend_interval_us = 10'000'000;  // RFC 5227 §2.4 DEFEND_INTERVAL
};

struct arp_counters {
  uint64_t rx_packets = 0;          // ARP packets handed to the layer
  uint64_t rx_malformed = 0;        // truncated, wrong hardware/protocol type or lengths, bad op
  uint64_t rx_bogus_sender = 0;     // sender hardware address is ours, group or zero
  uint64_t rx_requests_for_us = 0;  // requests whose target is one of our addresses
  uint64_t rx_replies = 0;          // op 2 packets
  uint64_t rx_probes = 0;           // RFC 5227 probes (sender protocol address 0.0.0.0)
  uint64_t rx_not_for_us = 0;       // target not ours and sender not cached: nothing learnt
  uint64_t tx_requests = 0;         // broadcast and unicast (refresh) requests sent
  uint64_t tx_replies = 0;
  uint64_t tx_announcements = 0;  // RFC 5227 §2.4 defence
  uint64_t tx_no_buffer = 0;      // the link had no frame: ARP packet or queued frame lost
  uint64_t entries_added = 0;
  uint64_t entries_updated = 0;   // an existing entry's hardware address changed
  uint64_t entries_expired = 0;   // reachable time over and not in use, or refresh unanswered
  uint64_t entries_evicted = 0;   // the cache was full: the stalest dynamic entry made room
  uint64_t static_protected = 0;  // the network tried to change a static entry
  uint64_t conflicts = 0;         // someone else sent with one of our addresses
  uint64_t resolve_failed = 0;    // max_requests unanswered for an incomplete entry
  uint64_t cache_full = 0;        // no entry could be had (all static)
  uint64_t pending_queued = 0;    // frames held while resolving
  uint64_t pending_sent = 0;      // held frames sent once resolved
  uint64_t pending_dropped = 0;   // per-destination or pool bound reached, resolve failed,
                                  // entry evicted
};

enum class arp_state : uint8_t { free, incomplete, reachable, probe, permanent };

// What a test or a metrics page may read about one entry.
struct arp_entry_view {
  ipv4_addr ip;
  mac_addr mac;
  arp_state state;
  size_t pending;
};

class arp_table {
 public:
  // `local` are our addresses (the first is the sender address of our requests); `max_frame`
  // the largest Ethernet frame a pending slot holds. Everything is allocated here.
  arp_table(link& port, std::span<const ipv4_addr> local, const arp_config& config,
            size_t max_frame);
  arp_table(const arp_table&) = delete;
  arp_table& operator=(const arp_table&) = delete;

  // One received ARP packet (the Ethernet payload), `eth` its frame's header.
  void input(const eth_header& eth, std::span<const std::byte> packet, uint64_t now_us);
  // The hardware address of `ip` when known (reachable, probe, permanent); marks it used.
  [[nodiscard]] std::optional<mac_addr> lookup(ipv4_addr ip, uint64_t now_us) noexcept;
  // Holds a complete Ethernet frame (destination address to be filled in) until `next_hop`
  // resolves, starting the resolution if needed. False when dropped (counted).
  bool enqueue(ipv4_addr next_hop, std::span<const std::byte> frame, uint64_t now_us);
  // Retransmissions, expiry and refresh; call at least every retry interval.
  void timers(uint64_t now_us);
  // A permanent entry; replaces a dynamic one for the same address. False when the cache holds
  // only permanent entries.
  bool add_static(ipv4_addr ip, const mac_addr& mac, uint64_t now_us);

  [[nodiscard]] std::optional<arp_entry_view> find(ipv4_addr ip) const noexcept;
  [[nodiscard]] size_t size() const noexcept;  // entries in use
  [[nodiscard]] const arp_counters& counters() const noexcept { return counters_; }

 private:
  struct entry {
    ipv4_addr ip = 0;
    mac_addr mac{};
    arp_state state = arp_state::free;
    bool used = false;          // looked up since the last confirmation
    uint8_t requests_sent = 0;  // in the current resolution or refresh
    uint8_t pending_count = 0;
    uint64_t confirmed_us = 0;     // last confirmation (or creation, for incomplete)
    uint64_t next_request_us = 0;  // incomplete / probe: when to send the next request
    std::array<uint16_t, arp_pending_per_destination_max> pending{};  // pool slot indices, FIFO
  };
  struct slot {
    size_t length = 0;
  };

  [[nodiscard]] entry* find_entry(ipv4_addr ip) noexcept;
  [[nodiscard]] bool is_local(ipv4_addr ip) const noexcept;
  // A free entry, or the stalest dynamic one evicted; nullptr when all are permanent.
  entry* take_entry(uint64_t now_us);
  void release(entry& e);  // drops its pending frames (counted) and frees it
  void confirm(entry& e, const mac_addr& mac, uint64_t now_us);
  void flush_pending(entry& e);
  void send_arp(uint16_t op, const mac_addr& eth_dst, ipv4_addr sender_ip,
                const mac_addr& target_mac, ipv4_addr target_ip);
  void send_request(entry& e, uint64_t now_us);

  link& port_;
  arp_config config_;
  std::vector<ipv4_addr> local_;
  std::vector<entry> entries_;
  size_t max_frame_;
  std::vector<std::byte> pool_;  // pending_pool slots of max_frame_ octets
  std::vector<slot> slots_;
  std::vector<uint16_t> free_slots_;  // stack of free pool slot indices
  size_t last_hit_ = 0;               // most next hops are the gateway: try it first
  uint64_t last_defend_us_ = 0;
  bool defended_ = false;
  arp_counters counters_;
};

}  // namespace smpp::net
