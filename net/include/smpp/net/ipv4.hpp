// IPv4 for a host (RFC 791, RFC 1122 §3.2.1): validates and delivers datagrams addressed to us
// by protocol number, sends datagrams for the protocols above (ip_output). No forwarding, no
// reassembly (fragments are dropped and counted), options are skipped.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "smpp/net/arp.hpp"
#include "smpp/net/ethernet.hpp"
#include "smpp/net/icmp.hpp"
#include "smpp/net/ip.hpp"
#include "smpp/net/link.hpp"

namespace smpp::net {

inline constexpr size_t ipv4_header_len = 20;  // without options
inline constexpr uint8_t ipv4_default_ttl = 64;

struct ipv4_config {
  std::vector<ipv4_addr> addresses;  // ours; the first is the primary one
  ipv4_addr netmask = 0xffffff00;    // of the subnet all our addresses are on
  ipv4_addr gateway = 0;             // 0: off-link destinations are unreachable
  // The link computes the IPv4 header checksum on transmit (a DPDK port with
  // RTE_ETH_TX_OFFLOAD_IPV4_CKSUM): the field is left zero.
  bool tx_checksum_offload = false;
  // Unknown protocols get an ICMP protocol unreachable (rate-limited); false: silent drop.
  bool send_protocol_unreachable = true;
};

struct ipv4_counters {
  uint64_t rx_packets = 0;
  uint64_t rx_delivered = 0;  // handed to ICMP or a registered protocol
  uint64_t rx_truncated = 0;  // shorter than 20 octets or than its own IHL
  uint64_t rx_bad_version = 0;
  uint64_t rx_bad_header_length = 0;  // IHL < 5
  uint64_t rx_bad_total_length = 0;   // total length below IHL or beyond the frame
  uint64_t rx_bad_checksum = 0;
  uint64_t rx_bad_source = 0;      // RFC 1122 §3.2.1.3 forbidden source addresses
  uint64_t rx_not_for_us = 0;      // not one of our unicast addresses (no forwarding)
  uint64_t rx_link_broadcast = 0;  // unicast datagram in a link-layer group frame
  uint64_t rx_fragments = 0;       // MF set or fragment offset nonzero: no reassembly
  uint64_t rx_unknown_protocol = 0;
  uint64_t tx_packets = 0;      // handed to the link or held by ARP
  uint64_t tx_too_big = 0;      // payload above the MTU
  uint64_t tx_no_route = 0;     // off-link and no gateway, or a destination of ours
  uint64_t tx_no_buffer = 0;    // the link had no frame
  uint64_t tx_arp_dropped = 0;  // held for ARP but the pending bound dropped it
  uint64_t tx_bad_call = 0;     // send() without a matching alloc()
};

class ipv4_layer final : public ip_output {
 public:
  // `now_us` is the stack's clock: the time of the frame or timer being handled (ip_output's
  // calls carry no time of their own).
  ipv4_layer(link& port, arp_table& arp, icmp_layer& icmp, ipv4_config config,
             const uint64_t& now_us);

  void register_protocol(uint8_t proto, ip_protocol& handler) noexcept;
  // One received IPv4 datagram (the Ethernet payload, possibly padded), `eth` its frame's header.
  void input(const eth_header& eth, std::span<const std::byte> packet, uint64_t now_us);

  [[nodiscard]] std::span<std::byte> alloc(ipv4_addr dst, size_t length) override;
  void send(ipv4_addr src, ipv4_addr dst, uint8_t proto, size_t length) override;
  [[nodiscard]] size_t max_payload(ipv4_addr dst) const noexcept override;

  [[nodiscard]] bool is_local(ipv4_addr a) const noexcept;
  [[nodiscard]] bool on_link(ipv4_addr a) const noexcept;
  [[nodiscard]] const ipv4_counters& counters() const noexcept { return counters_; }
  [[nodiscard]] const ipv4_config& config() const noexcept { return config_; }

 private:
  link& port_;
  arp_table& arp_;
  icmp_layer& icmp_;
  ipv4_config config_;
  const uint64_t& now_us_;
  std::array<ip_protocol*, 256> protocols_{};
  uint16_t next_id_ = 1;
  std::vector<std::byte> staging_;  // a frame for a next hop ARP has not resolved yet
  // The frame the last alloc() handed out.
  std::byte* out_frame_ = nullptr;
  size_t out_capacity_ = 0;  // payload octets allocated
  ipv4_addr out_dst_ = 0;
  ipv4_addr out_next_hop_ = 0;
  mac_addr out_mac_{};
  bool out_staged_ = false;
  ipv4_counters counters_;
};

}  // namespace smpp::net
