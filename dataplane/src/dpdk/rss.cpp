#include "smpp/dataplane/dpdk/rss.hpp"

#include <rte_thash.h>

#include <stdexcept>
#include <utility>

namespace smpp::dataplane::dpdk {

std::array<uint8_t, rss_key_size> symmetric_rss_key() noexcept {
  std::array<uint8_t, rss_key_size> k{};
  for (size_t i = 0; i < k.size(); i += 2) {
    k[i] = 0x6d;
    k[i + 1] = 0x5a;
  }
  return k;
}

namespace {

void check(std::span<const uint8_t> key, const std::vector<uint16_t>& reta) {
  // rte_softrss reads 4 key octets beyond the 12 of an IPv4 four-tuple.
  if (key.size() < 16) throw std::invalid_argument("rss_steering: key shorter than 16 octets");
  if (reta.empty() || (reta.size() & (reta.size() - 1)) != 0) {
    throw std::invalid_argument("rss_steering: redirection table size is not a power of two");
  }
}

std::vector<uint16_t> round_robin(uint16_t queues, uint16_t reta_size) {
  if (queues == 0) throw std::invalid_argument("rss_steering: no queue");
  std::vector<uint16_t> reta(reta_size);
  for (size_t i = 0; i < reta.size(); ++i) reta[i] = static_cast<uint16_t>(i % queues);
  return reta;
}

uint16_t be16(std::span<const std::byte> f, size_t at) noexcept {
  return static_cast<uint16_t>((std::to_integer<unsigned>(f[at]) << 8) |
                               std::to_integer<unsigned>(f[at + 1]));
}

uint32_t be32(std::span<const std::byte> f, size_t at) noexcept {
  return (uint32_t{be16(f, at)} << 16) | be16(f, at + 2);
}

}  // namespace

rss_steering::rss_steering(std::span<const uint8_t> key, uint16_t queues, uint16_t reta_size)
    : rss_steering(key, round_robin(queues, reta_size)) {}

rss_steering::rss_steering(std::span<const uint8_t> key, std::vector<uint16_t> reta)
    : key_(key.begin(), key.end()), reta_(std::move(reta)) {
  check(key_, reta_);
}

uint32_t rss_steering::rss_hash(net::ipv4_addr src, net::ipv4_addr dst, uint16_t src_port,
                                uint16_t dst_port) const noexcept {
  // The tuple as the NIC feeds it to Toeplitz: source address, destination address, source
  // port, destination port, each in network order; rte_softrss takes host-order 32-bit words.
  uint32_t tuple[3] = {src, dst, (uint32_t{src_port} << 16) | dst_port};
  return rte_softrss(tuple, 3, key_.data());
}

bool rss_steering::source_port_lands_on(uint16_t queue, net::ipv4_addr local, net::ipv4_addr remote,
                                        uint16_t remote_port,
                                        uint16_t candidate_port) const noexcept {
  return queue_of(rss_hash(remote, local, remote_port, candidate_port)) == queue;
}

std::optional<uint16_t> rss_steering::owner_queue_of_frame(
    std::span<const std::byte> f) const noexcept {
  // IEEE 802.3 Ethernet II header: destination, source, EtherType (14 octets).
  size_t at = 12;
  if (f.size() < at + 2) return std::nullopt;
  uint16_t ethertype = be16(f, at);
  at += 2;
  if (ethertype == 0x8100) {  // IEEE 802.1Q: a 4-octet tag before the real EtherType
    if (f.size() < at + 4) return std::nullopt;
    ethertype = be16(f, at + 2);
    at += 4;
  }
  if (ethertype != 0x0800) return std::nullopt;
  // RFC 791 §3.1: version 4, IHL in 32-bit words (at least 5), protocol at octet 9.
  if (f.size() < at + 20) return std::nullopt;
  const unsigned ver_ihl = std::to_integer<unsigned>(f[at]);
  const size_t ihl = (ver_ihl & 0x0fu) * 4;
  if ((ver_ihl >> 4) != 4 || ihl < 20 || f.size() < at + ihl + 4) return std::nullopt;
  if (std::to_integer<uint8_t>(f[at + 9]) != net::ip_proto_tcp) return std::nullopt;
  // RFC 791 §3.1: a fragment (MF set or a non-zero offset) may carry no TCP header.
  if ((be16(f, at + 6) & 0x3fffu) != 0) return std::nullopt;
  const uint32_t src = be32(f, at + 12);
  const uint32_t dst = be32(f, at + 16);
  // RFC 9293 §3.1: source port, then destination port, first in the TCP header.
  const uint16_t sport = be16(f, at + ihl);
  const uint16_t dport = be16(f, at + ihl + 2);
  return queue_of(rss_hash(src, dst, sport, dport));
}

}  // namespace smpp::dataplane::dpdk
