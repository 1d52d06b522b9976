// The boundary between the userspace IPv4 layer and the protocols above it (TCP, ICMP).
//
// One stack instance per worker: nothing here is shared between threads, nothing is global.
// Addresses and ports are host byte order in every struct and call; only the octets on the wire
// are network byte order. Time is passed in (now_us, a monotonic clock in microseconds), so
// every layer runs the same under a test's fake clock as under the worker's TSC.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace smpp::net {

using ipv4_addr = uint32_t;  // host byte order: 10.0.0.1 is 0x0a000001

inline constexpr uint8_t ip_proto_icmp = 1;
inline constexpr uint8_t ip_proto_tcp = 6;

// RFC 1071: the one's complement sum of 16-bit words, not yet folded or inverted. Chain calls by
// passing the previous result as `sum`; an odd trailing octet is padded with zero.
[[nodiscard]] uint32_t checksum_add(std::span<const std::byte> data, uint32_t sum = 0) noexcept;
// Folds the carries and inverts: the value that goes into a checksum field (host order).
[[nodiscard]] uint16_t checksum_finish(uint32_t sum) noexcept;
// RFC 9293 §3.1 / RFC 768: the IPv4 pseudo-header's contribution to a TCP or UDP checksum.
[[nodiscard]] uint32_t pseudo_header_sum(ipv4_addr src, ipv4_addr dst, uint8_t proto,
                                         uint16_t length) noexcept;

// What a transport protocol (TCP) needs from the IPv4 layer below it.
class ip_output {
 public:
  virtual ~ip_output() = default;
  // Space for a payload of `length` octets (the TCP header and data) of one IPv4 datagram
  // towards dst, inside a frame buffer the link will send. Empty when no buffer is free or the
  // payload is larger than the MTU allows: the caller counts it as lost (TCP retransmits).
  [[nodiscard]] virtual std::span<std::byte> alloc(ipv4_addr dst, size_t length) = 0;
  // Sends the payload written into the last alloc() (exactly `length` octets of it) with the
  // IPv4 header filled in by the layer (identification, TTL, header checksum). When dst's
  // link-layer address is not known yet, the layer resolves it and keeps or drops the datagram
  // by its own bound; either way the caller sees no difference.
  virtual void send(ipv4_addr src, ipv4_addr dst, uint8_t proto, size_t length) = 0;
  // The largest payload one datagram towards dst may carry (MTU minus the IPv4 header).
  [[nodiscard]] virtual size_t max_payload(ipv4_addr dst) const noexcept = 0;
};

// What the IPv4 layer hands up: one datagram's payload, valid only during the call.
class ip_protocol {
 public:
  virtual ~ip_protocol() = default;
  virtual void input(ipv4_addr src, ipv4_addr dst, std::span<const std::byte> payload,
                     uint64_t now_us) = 0;
};

}  // namespace smpp::net
