// IPv4 input validation and dispatch, output with next-hop choice and ARP (RFC 791, RFC 1122).
#include "smpp/net/ipv4.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

namespace smpp::net {

namespace {
constexpr uint16_t ipv4_flag_df = 0x4000;
constexpr uint16_t ipv4_flag_mf = 0x2000;
constexpr uint16_t ipv4_offset_mask = 0x1fff;
constexpr ipv4_addr limited_broadcast = 0xffffffff;
}  // namespace

ipv4_layer::ipv4_layer(link& port, arp_table& arp, icmp_layer& icmp, ipv4_config config,
                       const uint64_t& now_us)
    : port_(port),
      arp_(arp),
      icmp_(icmp),
      config_(std::move(config)),
      now_us_(now_us),
      staging_(eth_padded_length(eth_header_len + port.mtu())) {}

void ipv4_layer::register_protocol(uint8_t proto, ip_protocol& handler) noexcept {
  protocols_[proto] = &handler;
}

bool ipv4_layer::is_local(ipv4_addr a) const noexcept {
  return std::find(config_.addresses.begin(), config_.addresses.end(), a) !=
         config_.addresses.end();
}

bool ipv4_layer::on_link(ipv4_addr a) const noexcept {
  return std::any_of(config_.addresses.begin(), config_.addresses.end(), [&](ipv4_addr ours) {
    return (ours & config_.netmask) == (a & config_.netmask);
  });
}

void ipv4_layer::input(const eth_header& eth, std::span<const std::byte> packet, uint64_t now_us) {
  ++counters_.rx_packets;
  // RFC 791 §3.1 / RFC 1122 §3.2.1.1-3.2.1.2: version, IHL, total length and header checksum
  // are checked before anything else is read.
  if (packet.size() < ipv4_header_len) {
    ++counters_.rx_truncated;
    return;
  }
  const std::byte* h = packet.data();
  const auto version_ihl = std::to_integer<uint8_t>(h[0]);
  if ((version_ihl >> 4) != 4) {
    ++counters_.rx_bad_version;
    return;
  }
  const size_t header_len = size_t{version_ihl & 0x0fu} * 4;
  if (header_len < ipv4_header_len) {
    ++counters_.rx_bad_header_length;
    return;
  }
  if (header_len > packet.size()) {
    ++counters_.rx_truncated;
    return;
  }
  const size_t total_len = load_be16(h + 2);
  if (total_len < header_len || total_len > packet.size()) {
    ++counters_.rx_bad_total_length;
    return;
  }
  if (checksum_finish(checksum_add(packet.first(header_len))) != 0) {
    ++counters_.rx_bad_checksum;
    return;
  }
  // RFC 1122 §3.2.1.7: a host MUST NOT discard a datagram because its TTL is below 2; the TTL
  // is not checked on input.
  const ipv4_addr src = load_be32(h + 12);
  const ipv4_addr dst = load_be32(h + 16);
  // RFC 1122 §3.2.1.3: discard a source of 0, limited or directed broadcast, loopback (127/8),
  // or a class D/E address (RFC 1112 §4: multicast is never a source).
  const bool directed_broadcast =
      on_link(src) && (src | config_.netmask) == limited_broadcast && config_.netmask != ~0u;
  if (src == 0 || src == limited_broadcast || directed_broadcast || (src >> 24) == 127 ||
      (src >> 28) >= 0xe) {
    ++counters_.rx_bad_source;
    return;
  }
  // No forwarding: only our unicast addresses (RFC 1122 §3.3.1 hosts drop the rest; broadcast
  // and multicast datagrams are not accepted either, none of our protocols uses them).
  if (!is_local(dst)) {
    ++counters_.rx_not_for_us;
    return;
  }
  // RFC 1122 §3.3.6: a datagram received in a link-layer broadcast without an IP broadcast or
  // multicast destination SHOULD be discarded.
  if (is_group(eth.dst)) {
    ++counters_.rx_link_broadcast;
    return;
  }
  // RFC 791 §3.2 fragmentation: MF set or a nonzero offset is a fragment. No reassembly here
  // (RFC 1122 §3.3.2 asks for it; our peers send DF segments of at most the MSS): dropped.
  const uint16_t flags_offset = load_be16(h + 6);
  if ((flags_offset & ipv4_flag_mf) != 0 || (flags_offset & ipv4_offset_mask) != 0) {
    ++counters_.rx_fragments;
    return;
  }
  // RFC 791 §3.1 options: skipped (IHL says where the payload starts). Link-layer padding
  // beyond the total length is not payload (RFC 894).
  const std::span<const std::byte> payload = packet.subspan(header_len, total_len - header_len);
  const auto proto = std::to_integer<uint8_t>(h[9]);
  if (proto == ip_proto_icmp) {
    ++counters_.rx_delivered;
    icmp_.input(src, dst, payload, now_us, *this);
    return;
  }
  if (ip_protocol* handler = protocols_[proto]) {
    ++counters_.rx_delivered;
    handler->input(src, dst, payload, now_us);
    return;
  }
  ++counters_.rx_unknown_protocol;
  // RFC 1122 §3.2.2.1: a host SHOULD generate a protocol unreachable; rate-limited in ICMP.
  // Never about a fragment or to a bad source (RFC 1122 §3.2.2), both rejected above.
  if (config_.send_protocol_unreachable) {
    icmp_.send_unreachable(icmp_code_protocol_unreachable, src, dst, packet.first(total_len),
                           header_len, now_us, *this);
  }
}

size_t ipv4_layer::max_payload(ipv4_addr dst) const noexcept {
  (void)dst;
  const size_t mtu = port_.mtu();
  return mtu > ipv4_header_len ? mtu - ipv4_header_len : 0;
}

std::span<std::byte> ipv4_layer::alloc(ipv4_addr dst, size_t length) {
  out_frame_ = nullptr;
  out_capacity_ = 0;
  if (length > max_payload(dst)) {
    ++counters_.tx_too_big;
    return {};
  }
  // RFC 1122 §3.3.1.1: on-link destinations directly, all others through the gateway.
  ipv4_addr next_hop = dst;
  bool broadcast = dst == limited_broadcast;
  if (!broadcast && on_link(dst)) {
    broadcast = (dst | config_.netmask) == limited_broadcast && config_.netmask != ~0u;
  } else if (!broadcast) {
    next_hop = config_.gateway;
  }
  if (next_hop == 0 || is_local(dst)) {
    ++counters_.tx_no_route;
    return {};
  }
  const size_t frame_len = eth_padded_length(eth_header_len + ipv4_header_len + length);
  std::optional<mac_addr> mac;
  if (broadcast) {
    mac = mac_broadcast;
  } else {
    mac = arp_.lookup(next_hop, now_us_);
  }
  std::span<std::byte> frame;
  if (mac) {
    frame = port_.alloc_frame(frame_len);
    if (frame.size() < frame_len) {
      ++counters_.tx_no_buffer;
      return {};
    }
    out_mac_ = *mac;
    out_staged_ = false;
  } else {
    frame = std::span<std::byte>(staging_).first(frame_len);
    out_staged_ = true;
  }
  out_frame_ = frame.data();
  out_capacity_ = length;
  out_dst_ = dst;
  out_next_hop_ = next_hop;
  return frame.subspan(eth_header_len + ipv4_header_len, length);
}

void ipv4_layer::send(ipv4_addr src, ipv4_addr dst, uint8_t proto, size_t length) {
  if (out_frame_ == nullptr || dst != out_dst_ || length > out_capacity_) {
    ++counters_.tx_bad_call;
    out_frame_ = nullptr;
    return;
  }
  std::byte* frame = out_frame_;
  out_frame_ = nullptr;
  if (src == 0 && !config_.addresses.empty()) src = config_.addresses.front();
  const size_t ip_len = ipv4_header_len + length;
  const size_t frame_len = eth_padded_length(eth_header_len + ip_len);
  write_ethernet(std::span<std::byte>(frame, eth_header_len), out_mac_, port_.mac(),
                 ethertype_ipv4);
  std::byte* h = frame + eth_header_len;
  // RFC 791 §3.1 header: version 4, IHL 5 (no options), TOS 0.
  h[0] = std::byte{0x45};
  h[1] = std::byte{0};
  store_be16(h + 2, static_cast<uint16_t>(ip_len));
  // RFC 6864 §4.1: an atomic datagram (DF set, never fragmented) may carry any identification;
  // a counter keeps it unique for middleboxes that still look.
  store_be16(h + 4, next_id_++);
  // RFC 1122 §3.3.2 / RFC 1191: DF set, we never fragment (the payload fits the MTU).
  store_be16(h + 6, ipv4_flag_df);
  // RFC 1122 §3.2.1.7: a fixed default TTL of 64 (RFC 1700), never zero.
  h[8] = std::byte{ipv4_default_ttl};
  h[9] = std::byte{proto};
  h[10] = std::byte{0};
  h[11] = std::byte{0};
  store_be32(h + 12, src);
  store_be32(h + 16, dst);
  if (!config_.tx_checksum_offload) {
    store_be16(h + 10,
               checksum_finish(checksum_add(std::span<const std::byte>(h, ipv4_header_len))));
  }
  // RFC 894: zero padding up to the minimum frame.
  std::memset(frame + eth_header_len + ip_len, 0, frame_len - eth_header_len - ip_len);
  ++counters_.tx_packets;
  if (out_staged_) {
    if (!arp_.enqueue(out_next_hop_, std::span<const std::byte>(frame, frame_len), now_us_)) {
      ++counters_.tx_arp_dropped;
    }
    return;
  }
  port_.send_frame(frame_len);
}

}  // namespace smpp::net
