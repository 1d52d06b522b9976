// RFC 1071 Internet checksum and the RFC 9293 §3.1 pseudo-header.
#include <cstring>

#include "smpp/net/ip.hpp"

namespace smpp::net {

uint32_t checksum_add(std::span<const std::byte> data, uint32_t sum) noexcept {
  // 64-bit accumulator over 32-bit loads: carries stay in the upper half, folded at the end
  // (RFC 1071 §2(B): the sum is independent of the order and width of the additions).
  uint64_t acc = sum;
  const std::byte* p = data.data();
  size_t n = data.size();
  while (n >= 4) {
    uint32_t w;
    std::memcpy(&w, p, 4);
    acc += w;
    p += 4;
    n -= 4;
  }
  if (n >= 2) {
    uint16_t h;
    std::memcpy(&h, p, 2);
    acc += h;
    p += 2;
    n -= 2;
  }
  if (n == 1) {
    // RFC 1071 §4.1: an odd octet is padded with a zero octet on the right. The words were
    // added in memory order (little-endian), so the padded word's value is the octet itself.
    acc += static_cast<uint8_t>(*p);
  }
  while (acc >> 32) acc = (acc & 0xffffffffu) + (acc >> 32);
  // The sum so far is over little-endian words; checksum_finish swaps once at the end.
  return static_cast<uint32_t>(acc);
}

uint16_t checksum_finish(uint32_t sum) noexcept {
  uint64_t acc = sum;
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  const auto folded = static_cast<uint16_t>(~acc & 0xffff);
  // Words were summed in memory (little-endian) order; the one's complement sum is byte-order
  // independent (RFC 1071 §2(B)), so swapping the folded result gives the host-order value.
  return static_cast<uint16_t>((folded >> 8) | (folded << 8));
}

uint32_t pseudo_header_sum(ipv4_addr src, ipv4_addr dst, uint8_t proto, uint16_t length) noexcept {
  std::byte ph[12];
  auto put32 = [&](size_t at, uint32_t v) {
    ph[at] = std::byte(v >> 24);
    ph[at + 1] = std::byte(v >> 16);
    ph[at + 2] = std::byte(v >> 8);
    ph[at + 3] = std::byte(v);
  };
  put32(0, src);
  put32(4, dst);
  ph[8] = std::byte{0};
  ph[9] = std::byte{proto};
  ph[10] = std::byte(length >> 8);
  ph[11] = std::byte(length);
  return checksum_add(ph, 0);
}

}  // namespace smpp::net
