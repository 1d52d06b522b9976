// An in-memory net::link for the stack's tests: records every frame sent (preallocated, so a
// test can count heap allocations), can run out of transmit buffers on demand, and builds the
// frames tests inject (ARP, IPv4, ICMP) with valid checksums unless told otherwise.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <span>
#include <vector>

#include "smpp/net/arp.hpp"
#include "smpp/net/ethernet.hpp"
#include "smpp/net/ip.hpp"
#include "smpp/net/link.hpp"

namespace smpp::net::testing {

inline constexpr mac_addr make_mac(uint8_t last) {
  return mac_addr{std::byte{0x02}, std::byte{0x00}, std::byte{0x5e},
                  std::byte{0x10}, std::byte{0x00}, std::byte{last}};
}
inline constexpr ipv4_addr ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return (uint32_t{a} << 24) | (uint32_t{b} << 16) | (uint32_t{c} << 8) | d;
}

class fake_link final : public link {
 public:
  static constexpr size_t max_frame = 1600;

  explicit fake_link(mac_addr mac = make_mac(1), size_t mtu = 1500, size_t capacity = 256)
      : mac_(mac), mtu_(mtu), frames_(capacity), lengths_(capacity) {}

  std::span<std::byte> alloc_frame(size_t length) override {
    ++allocs_;
    if (out_of_buffers || sent_ == frames_.size() || length > max_frame) return {};
    alloc_length_ = length;
    return std::span<std::byte>(frames_[sent_]).first(length);
  }
  void send_frame(size_t length) override {
    if (length > alloc_length_ || sent_ == frames_.size()) {
      ++bad_sends_;
      return;
    }
    lengths_[sent_++] = length;
    alloc_length_ = 0;
  }
  mac_addr mac() const noexcept override { return mac_; }
  size_t mtu() const noexcept override { return mtu_; }

  size_t sent() const noexcept { return sent_; }
  std::span<const std::byte> frame(size_t i) const {
    return std::span<const std::byte>(frames_.at(i)).first(lengths_.at(i));
  }
  std::span<const std::byte> last() const { return frame(sent_ - 1); }
  void clear() noexcept { sent_ = 0; }
  size_t bad_sends() const noexcept { return bad_sends_; }

  bool out_of_buffers = false;

 private:
  mac_addr mac_;
  size_t mtu_;
  std::vector<std::array<std::byte, max_frame>> frames_;
  std::vector<size_t> lengths_;
  size_t sent_ = 0;
  size_t alloc_length_ = 0;
  size_t allocs_ = 0;
  size_t bad_sends_ = 0;
};

// ---- frame builders -------------------------------------------------------------------------

using bytes = std::vector<std::byte>;

inline void put_mac(bytes& f, size_t at, const mac_addr& m) {
  std::memcpy(f.data() + at, m.data(), 6);
}
inline mac_addr get_mac(std::span<const std::byte> f, size_t at) {
  mac_addr m;
  std::memcpy(m.data(), f.data() + at, 6);
  return m;
}

inline bytes eth_frame(const mac_addr& dst, const mac_addr& src, uint16_t type,
                       std::span<const std::byte> payload) {
  bytes f(eth_header_len + payload.size());
  put_mac(f, 0, dst);
  put_mac(f, 6, src);
  store_be16(f.data() + 12, type);
  if (!payload.empty()) std::memcpy(f.data() + eth_header_len, payload.data(), payload.size());
  return f;
}

struct arp_fields {
  uint16_t hrd = 1;
  uint16_t pro = ethertype_ipv4;
  uint8_t hln = 6;
  uint8_t pln = 4;
  uint16_t op = arp_op_request;
  mac_addr sha{};
  ipv4_addr spa = 0;
  mac_addr tha{};
  ipv4_addr tpa = 0;
};

inline bytes arp_packet(const arp_fields& a) {
  bytes p(arp_packet_len);
  store_be16(p.data(), a.hrd);
  store_be16(p.data() + 2, a.pro);
  p[4] = std::byte{a.hln};
  p[5] = std::byte{a.pln};
  store_be16(p.data() + 6, a.op);
  put_mac(p, 8, a.sha);
  store_be32(p.data() + 14, a.spa);
  put_mac(p, 18, a.tha);
  store_be32(p.data() + 24, a.tpa);
  return p;
}

inline bytes arp_frame(const mac_addr& eth_dst, const arp_fields& a) {
  const bytes p = arp_packet(a);
  bytes f = eth_frame(eth_dst, a.sha, ethertype_arp, p);
  f.resize(eth_min_frame);  // as a NIC delivers it: padded
  return f;
}

struct ipv4_fields {
  uint8_t version = 4;
  uint8_t ihl = 5;
  int total_length = -1;  // -1: computed
  uint16_t id = 0x1234;
  uint16_t flags_offset = 0x4000;  // DF
  uint8_t ttl = 64;
  uint8_t proto = ip_proto_tcp;
  ipv4_addr src = 0;
  ipv4_addr dst = 0;
  bool bad_checksum = false;
};

// An IPv4 datagram (options, if ihl > 5, are NOPs).
inline bytes ipv4_packet(const ipv4_fields& h, std::span<const std::byte> payload) {
  const size_t hl = size_t{h.ihl} * 4 < 20 ? 20 : size_t{h.ihl} * 4;
  bytes p(hl + payload.size());
  p[0] = std::byte(uint8_t(h.version << 4) | (h.ihl & 0x0f));
  const size_t total = h.total_length < 0 ? p.size() : static_cast<size_t>(h.total_length);
  store_be16(p.data() + 2, static_cast<uint16_t>(total));
  store_be16(p.data() + 4, h.id);
  store_be16(p.data() + 6, h.flags_offset);
  p[8] = std::byte{h.ttl};
  p[9] = std::byte{h.proto};
  store_be32(p.data() + 12, h.src);
  store_be32(p.data() + 16, h.dst);
  for (size_t i = 20; i < hl; ++i) p[i] = std::byte{1};  // RFC 791 NOP option
  uint16_t c = checksum_finish(checksum_add(std::span<const std::byte>(p).first(hl)));
  if (h.bad_checksum) c = static_cast<uint16_t>(c ^ 0x0101);
  store_be16(p.data() + 10, c);
  if (!payload.empty()) std::memcpy(p.data() + hl, payload.data(), payload.size());
  return p;
}

inline bytes icmp_message(uint8_t type, uint8_t code, uint16_t id, uint16_t seq,
                          std::span<const std::byte> data, bool bad_checksum = false) {
  bytes m(8 + data.size());
  m[0] = std::byte{type};
  m[1] = std::byte{code};
  store_be16(m.data() + 4, id);
  store_be16(m.data() + 6, seq);
  if (!data.empty()) std::memcpy(m.data() + 8, data.data(), data.size());
  uint16_t c = checksum_finish(checksum_add(m));
  if (bad_checksum) c = static_cast<uint16_t>(c ^ 0x00ff);
  store_be16(m.data() + 2, c);
  return m;
}

inline bytes pattern(size_t n, uint8_t seed = 0) {
  bytes d(n);
  for (size_t i = 0; i < n; ++i) d[i] = std::byte(uint8_t(seed + i * 7));
  return d;
}

// What a frame the stack sent says, parsed back with full checks.
struct parsed_ipv4 {
  bool ok = false;
  mac_addr eth_dst{};
  mac_addr eth_src{};
  uint8_t ttl = 0;
  uint8_t proto = 0;
  uint16_t id = 0;
  uint16_t flags_offset = 0;
  uint16_t checksum = 0;
  bool checksum_valid = false;
  ipv4_addr src = 0;
  ipv4_addr dst = 0;
  bytes payload;
};

inline parsed_ipv4 parse_ipv4_frame(std::span<const std::byte> f) {
  parsed_ipv4 r;
  if (f.size() < eth_header_len + 20 || load_be16(f.data() + 12) != ethertype_ipv4) return r;
  r.eth_dst = get_mac(f, 0);
  r.eth_src = get_mac(f, 6);
  const std::byte* h = f.data() + eth_header_len;
  if (h[0] != std::byte{0x45}) return r;
  const size_t total = load_be16(h + 2);
  if (total < 20 || eth_header_len + total > f.size()) return r;
  r.id = load_be16(h + 4);
  r.flags_offset = load_be16(h + 6);
  r.ttl = std::to_integer<uint8_t>(h[8]);
  r.proto = std::to_integer<uint8_t>(h[9]);
  r.checksum = load_be16(h + 10);
  r.checksum_valid = checksum_finish(checksum_add(std::span<const std::byte>(h, 20))) == 0;
  r.src = load_be32(h + 12);
  r.dst = load_be32(h + 16);
  r.payload.assign(h + 20, h + total);
  r.ok = true;
  return r;
}

}  // namespace smpp::net::testing
