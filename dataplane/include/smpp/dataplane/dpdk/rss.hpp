// Receive-side scaling computed in software, so every worker knows which queue (worker) a flow
// lands on: the NIC hashes each inbound IPv4/TCP four-tuple with a Toeplitz key and picks the RX
// queue through its redirection table (RETA); we set both, so the same hash is computable here.
//
// Uses: TCP picks source ports for outbound connections whose replies land on its own worker
// (source_port_lands_on); a port without RSS delivers everything to queue 0 and the worker there
// hands each frame to its owner (owner_queue_of_frame), found with the same hash.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "smpp/net/ip.hpp"

namespace smpp::dataplane::dpdk {

// 40 octets: what most NICs take (some take 52: the key is then repeated to their length).
inline constexpr size_t rss_key_size = 40;
// 0x6d5a repeated: a Toeplitz key whose hash is the same for (a, b, pa, pb) and (b, a, pb, pa),
// so both directions of a connection land on one queue (the "symmetric RSS" key).
[[nodiscard]] std::array<uint8_t, rss_key_size> symmetric_rss_key() noexcept;

class rss_steering {
 public:
  // Redirection table entry i = i % queues, the table `reta_size` long (a power of two, as NICs
  // have it: 64, 128, 512). The key is at least 16 octets (a 12-octet tuple plus 4).
  rss_steering(std::span<const uint8_t> key, uint16_t queues, uint16_t reta_size = 128);
  // An explicit table (e.g. read back from the port).
  rss_steering(std::span<const uint8_t> key, std::vector<uint16_t> reta);

  // Toeplitz hash of an IPv4/TCP four-tuple as the NIC computes it for a received packet:
  // src/dst as they stand in that packet's headers. Host byte order in, like net/ip.hpp.
  [[nodiscard]] uint32_t rss_hash(net::ipv4_addr src, net::ipv4_addr dst, uint16_t src_port,
                                  uint16_t dst_port) const noexcept;
  // The RX queue the NIC picks for `hash` (the low bits index the redirection table).
  [[nodiscard]] uint16_t queue_of(uint32_t hash) const noexcept {
    return reta_[hash & (reta_.size() - 1)];
  }
  // True when the replies to a connection from local:candidate_port to remote:remote_port (the
  // inbound packets: src = remote, dst = local) land on `queue`.
  [[nodiscard]] bool source_port_lands_on(uint16_t queue, net::ipv4_addr local,
                                          net::ipv4_addr remote, uint16_t remote_port,
                                          uint16_t candidate_port) const noexcept;
  // The queue that owns an Ethernet frame by its IPv4/TCP four-tuple (one 802.1Q tag allowed).
  // nullopt for anything else — ARP, ICMP, IPv4 fragments, truncated or malformed headers — which
  // the receiving worker handles itself. Never reads past the frame.
  [[nodiscard]] std::optional<uint16_t> owner_queue_of_frame(
      std::span<const std::byte> frame) const noexcept;

  [[nodiscard]] std::span<const uint8_t> key() const noexcept { return key_; }
  [[nodiscard]] const std::vector<uint16_t>& reta() const noexcept { return reta_; }

 private:
  std::vector<uint8_t> key_;
  std::vector<uint16_t> reta_;
};

}  // namespace smpp::dataplane::dpdk
