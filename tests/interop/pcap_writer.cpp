#include "pcap_writer.hpp"

#include <array>

namespace smpp::interop {
namespace {

inline constexpr uint32_t pcap_magic = 0xA1B2C3D4;  // microsecond timestamps
inline constexpr uint32_t linktype_ethernet = 1;
inline constexpr uint32_t snaplen = 262144;
inline constexpr uint16_t client_port = 40000;
inline constexpr uint8_t tcp_syn = 0x02, tcp_psh = 0x08, tcp_ack = 0x10;
inline constexpr size_t eth_len = 14, ipv4_len = 20, tcp_len = 20;
inline constexpr std::array<uint8_t, 4> client_ip = {10, 0, 0, 1};
inline constexpr std::array<uint8_t, 4> server_ip = {10, 0, 0, 2};

// pcap headers are in the writer's byte order (the magic tells readers which); use little-endian.
void put_le32(std::vector<std::byte>& v, uint32_t x) {
  for (int i = 0; i < 4; ++i) v.push_back(static_cast<std::byte>(x >> (8 * i)));
}
void put_le16(std::vector<std::byte>& v, uint16_t x) {
  v.push_back(static_cast<std::byte>(x));
  v.push_back(static_cast<std::byte>(x >> 8));
}
// Network headers are big-endian.
void put_be16(std::vector<std::byte>& v, uint16_t x) {
  v.push_back(static_cast<std::byte>(x >> 8));
  v.push_back(static_cast<std::byte>(x));
}
void put_be32(std::vector<std::byte>& v, uint32_t x) {
  for (int i = 3; i >= 0; --i) v.push_back(static_cast<std::byte>(x >> (8 * i)));
}
void put_bytes(std::vector<std::byte>& v, std::span<const uint8_t> b) {
  for (uint8_t x : b) v.push_back(static_cast<std::byte>(x));
}

// RFC 791 §3.1 header checksum: one's complement of the one's complement sum of 16-bit words.
uint16_t ipv4_checksum(std::span<const std::byte> hdr) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < hdr.size(); i += 2) {
    sum += (std::to_integer<uint32_t>(hdr[i]) << 8) | std::to_integer<uint32_t>(hdr[i + 1]);
  }
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

}  // namespace

pcap_writer::pcap_writer() {
  put_le32(out_, pcap_magic);
  put_le16(out_, 2);  // version 2.4
  put_le16(out_, 4);
  put_le32(out_, 0);  // thiszone
  put_le32(out_, 0);  // sigfigs
  put_le32(out_, snaplen);
  put_le32(out_, linktype_ethernet);
  // RFC 9293 §3.5: SYN and SYN-ACK each consume one sequence number.
  add_frame(dir::to_server, tcp_syn, {});
  ++client_seq_;
  add_frame(dir::to_client, tcp_syn | tcp_ack, {});
  ++server_seq_;
  add_frame(dir::to_server, tcp_ack, {});
}

uint32_t pcap_writer::add_segment(std::span<const std::byte> payload) {
  if (payload.size() > max_segment) return 0;
  add_frame(dir::to_server, tcp_psh | tcp_ack, payload);
  client_seq_ += static_cast<uint32_t>(payload.size());
  return frames_;
}

void pcap_writer::add_frame(dir d, uint8_t tcp_flags, std::span<const std::byte> payload) {
  ++frames_;
  const bool up = d == dir::to_server;
  const size_t frame_len = eth_len + ipv4_len + tcp_len + payload.size();
  // Record header: one frame per millisecond keeps timestamps strictly increasing.
  put_le32(out_, 1700000000 + frames_ / 1000);
  put_le32(out_, (frames_ % 1000) * 1000);
  put_le32(out_, static_cast<uint32_t>(frame_len));
  put_le32(out_, static_cast<uint32_t>(frame_len));

  // Ethernet II: locally administered MACs, EtherType IPv4.
  constexpr std::array<uint8_t, 6> mac_client = {0x02, 0, 0, 0, 0, 1};
  constexpr std::array<uint8_t, 6> mac_server = {0x02, 0, 0, 0, 0, 2};
  put_bytes(out_, up ? mac_server : mac_client);
  put_bytes(out_, up ? mac_client : mac_server);
  put_be16(out_, 0x0800);

  // IPv4 (RFC 791), no options, DF set, TTL 64, protocol 6 (TCP).
  const size_t ip_at = out_.size();
  out_.push_back(std::byte{0x45});
  out_.push_back(std::byte{0});
  put_be16(out_, static_cast<uint16_t>(ipv4_len + tcp_len + payload.size()));
  put_be16(out_, static_cast<uint16_t>(frames_));  // identification
  put_be16(out_, 0x4000);
  out_.push_back(std::byte{64});
  out_.push_back(std::byte{6});
  put_be16(out_, 0);  // checksum, filled below
  put_bytes(out_, up ? client_ip : server_ip);
  put_bytes(out_, up ? server_ip : client_ip);
  const uint16_t csum = ipv4_checksum(std::span(out_).subspan(ip_at, ipv4_len));
  out_[ip_at + 10] = static_cast<std::byte>(csum >> 8);
  out_[ip_at + 11] = static_cast<std::byte>(csum);

  // TCP (RFC 9293 §3.1), no options. The checksum stays zero: tshark does not verify it by
  // default, and the frames never meet a real stack.
  put_be16(out_, up ? client_port : smpp_port);
  put_be16(out_, up ? smpp_port : client_port);
  put_be32(out_, up ? client_seq_ : server_seq_);
  put_be32(out_, (tcp_flags & tcp_ack) ? (up ? server_seq_ : client_seq_) : 0);
  out_.push_back(std::byte{(tcp_len / 4) << 4});
  out_.push_back(static_cast<std::byte>(tcp_flags));
  put_be16(out_, 65535);  // window
  put_be16(out_, 0);      // checksum
  put_be16(out_, 0);      // urgent pointer
  out_.insert(out_.end(), payload.begin(), payload.end());
}

}  // namespace smpp::interop
