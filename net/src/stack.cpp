// Ethernet II demultiplexing (RFC 894 for IPv4, RFC 826 for ARP) and the stack's wiring.
#include "smpp/net/stack.hpp"

#include <utility>

namespace smpp::net {

stack::stack(link& port, stack_config config)
    : port_(port),
      arp_(port, config.ip.addresses, config.arp, eth_header_len + port.mtu()),
      icmp_(config.icmp),
      ip_(port, arp_, icmp_, std::move(config.ip), now_us_) {}

void stack::register_protocol(uint8_t proto, ip_protocol& handler) noexcept {
  if (proto == ip_proto_icmp) return;
  ip_.register_protocol(proto, handler);
}

void stack::input(std::span<const std::byte> frame, uint64_t now_us) {
  now_us_ = now_us;
  ++eth_.rx_frames;
  eth_header eth;
  if (!parse_ethernet(frame, eth)) {
    ++eth_.rx_truncated;
    return;
  }
  // Only frames to our address or to broadcast: no multicast group is joined, no promiscuous
  // traffic is taken (a port in promiscuous mode or a shared TAP bridge delivers it).
  if (eth.dst != port_.mac() && eth.dst != mac_broadcast) {
    ++eth_.rx_not_for_us;
    return;
  }
  const std::span<const std::byte> payload = frame.subspan(eth_header_len);
  switch (eth.ethertype) {
    case ethertype_ipv4:
      ip_.input(eth, payload, now_us);
      return;
    case ethertype_arp:
      arp_.input(eth, payload, now_us);
      return;
    case ethertype_vlan:
    case ethertype_qinq:
      // IEEE 802.1Q tagged frames: the ports are configured untagged (or strip the tag).
      ++eth_.rx_vlan;
      return;
    default:
      ++eth_.rx_unknown_ethertype;
      return;
  }
}

void stack::timers(uint64_t now_us) {
  now_us_ = now_us;
  arp_.timers(now_us);
}

stack_counters stack::counters() const noexcept {
  return stack_counters{eth_, arp_.counters(), ip_.counters(), icmp_.counters()};
}

}  // namespace smpp::net
