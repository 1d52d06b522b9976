// Ethernet II framing (IEEE 802.3 with an EtherType, RFC 894 for IPv4 over Ethernet) and the
// big-endian field accessors every layer of the stack uses on the wire.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "smpp/net/ip.hpp"
#include "smpp/net/link.hpp"

namespace smpp::net {

inline constexpr size_t eth_header_len = 14;
// RFC 894: the minimum Ethernet frame is 64 octets with its 4-octet FCS, so 60 without it; a
// shorter frame is padded with zero octets that the IPv4 total length lets the receiver ignore.
inline constexpr size_t eth_min_frame = 60;

inline constexpr uint16_t ethertype_ipv4 = 0x0800;
inline constexpr uint16_t ethertype_arp = 0x0806;
inline constexpr uint16_t ethertype_vlan = 0x8100;  // IEEE 802.1Q C-tag
inline constexpr uint16_t ethertype_qinq = 0x88a8;  // IEEE 802.1ad S-tag
// Values below this are an IEEE 802.3 length field, not an EtherType.
inline constexpr uint16_t ethertype_min = 0x0600;

inline constexpr mac_addr mac_broadcast{std::byte{0xff}, std::byte{0xff}, std::byte{0xff},
                                        std::byte{0xff}, std::byte{0xff}, std::byte{0xff}};
inline constexpr mac_addr mac_zero{};

// The group bit: the least significant bit of the first octet (broadcast is a group address).
[[nodiscard]] constexpr bool is_group(const mac_addr& m) noexcept {
  return (std::to_integer<uint8_t>(m[0]) & 1) != 0;
}

struct eth_header {
  mac_addr dst;
  mac_addr src;
  uint16_t ethertype;
};

// Reads the header of `frame`; false when the frame is shorter than a header.
[[nodiscard]] bool parse_ethernet(std::span<const std::byte> frame, eth_header& out) noexcept;
// Writes the 14-octet header at the start of `frame` (which must hold at least that).
void write_ethernet(std::span<std::byte> frame, const mac_addr& dst, const mac_addr& src,
                    uint16_t ethertype) noexcept;
// The length a frame of `length` octets goes out with: padded up to eth_min_frame.
[[nodiscard]] constexpr size_t eth_padded_length(size_t length) noexcept {
  return length < eth_min_frame ? eth_min_frame : length;
}

// Network byte order accessors. The caller has checked the bounds.
[[nodiscard]] inline uint16_t load_be16(const std::byte* p) noexcept {
  return static_cast<uint16_t>((std::to_integer<unsigned>(p[0]) << 8) |
                               std::to_integer<unsigned>(p[1]));
}
[[nodiscard]] inline uint32_t load_be32(const std::byte* p) noexcept {
  return (std::to_integer<uint32_t>(p[0]) << 24) | (std::to_integer<uint32_t>(p[1]) << 16) |
         (std::to_integer<uint32_t>(p[2]) << 8) | std::to_integer<uint32_t>(p[3]);
}
inline void store_be16(std::byte* p, uint16_t v) noexcept {
  p[0] = std::byte(v >> 8);
  p[1] = std::byte(v & 0xff);
}
inline void store_be32(std::byte* p, uint32_t v) noexcept {
  p[0] = std::byte(v >> 24);
  p[1] = std::byte((v >> 16) & 0xff);
  p[2] = std::byte((v >> 8) & 0xff);
  p[3] = std::byte(v & 0xff);
}

}  // namespace smpp::net
