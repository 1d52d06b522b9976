// Ethernet II header read and write.
#include "smpp/net/ethernet.hpp"

#include <cstring>

namespace smpp::net {

bool parse_ethernet(std::span<const std::byte> frame, eth_header& out) noexcept {
  if (frame.size() < eth_header_len) return false;
  std::memcpy(out.dst.data(), frame.data(), 6);
  std::memcpy(out.src.data(), frame.data() + 6, 6);
  out.ethertype = load_be16(frame.data() + 12);
  return true;
}

void write_ethernet(std::span<std::byte> frame, const mac_addr& dst, const mac_addr& src,
                    uint16_t ethertype) noexcept {
  std::memcpy(frame.data(), dst.data(), 6);
  std::memcpy(frame.data() + 6, src.data(), 6);
  store_be16(frame.data() + 12, ethertype);
}

}  // namespace smpp::net
