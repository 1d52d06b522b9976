// One userspace IPv4 stack per worker: a link, our addresses, ARP, IPv4, ICMP, and the
// protocols above (TCP) registered by number. Everything is allocated at construction; input()
// and timers() allocate nothing. Single-threaded: the worker that owns the link calls it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "smpp/net/arp.hpp"
#include "smpp/net/ethernet.hpp"
#include "smpp/net/icmp.hpp"
#include "smpp/net/ip.hpp"
#include "smpp/net/ipv4.hpp"
#include "smpp/net/link.hpp"

namespace smpp::net {

struct stack_config {
  ipv4_config ip;
  arp_config arp;
  icmp_config icmp;
};

struct ethernet_counters {
  uint64_t rx_frames = 0;
  uint64_t rx_truncated = 0;          // shorter than the 14-octet header
  uint64_t rx_not_for_us = 0;         // destination neither our address nor broadcast
  uint64_t rx_vlan = 0;               // 802.1Q / 802.1ad tagged: we run untagged only
  uint64_t rx_unknown_ethertype = 0;  // anything but IPv4 and ARP (and 802.3 length frames)
};

// Every layer's counters, copied out together (for tests and metrics).
struct stack_counters {
  ethernet_counters eth;
  arp_counters arp;
  ipv4_counters ip;
  icmp_counters icmp;
};

class alignas(64) stack {
 public:
  stack(link& port, stack_config config);
  stack(const stack&) = delete;
  stack& operator=(const stack&) = delete;

  // One received Ethernet frame (no FCS), valid during the call.
  void input(std::span<const std::byte> frame, uint64_t now_us);
  // ARP retransmissions and expiry; call every few hundred milliseconds at least.
  void timers(uint64_t now_us);
  // `handler` receives every valid datagram of protocol `proto` addressed to us. ICMP (1) is
  // the stack's own: registering it has no effect.
  void register_protocol(uint8_t proto, ip_protocol& handler) noexcept;
  [[nodiscard]] ip_output& ip() noexcept { return ip_; }
  [[nodiscard]] arp_table& arp() noexcept { return arp_; }
  [[nodiscard]] const ipv4_config& ip_config() const noexcept { return ip_.config(); }
  [[nodiscard]] stack_counters counters() const noexcept;

 private:
  link& port_;
  uint64_t now_us_ = 0;  // time of the frame or timer call being handled
  ethernet_counters eth_;
  arp_table arp_;
  icmp_layer icmp_;
  ipv4_layer ip_;
};

}  // namespace smpp::net
