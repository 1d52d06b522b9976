// Writes a classic libpcap file (Ethernet/IPv4/TCP) carrying SMPP PDUs, one PDU per TCP segment
// of a single client-to-server stream, so tshark can dissect thousands of PDUs in one run.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace smpp::interop {

inline constexpr uint16_t smpp_port = 2775;  // IANA port registered for SMPP

class pcap_writer {
 public:
  // Starts the file and a TCP connection (three-way handshake, RFC 9293 §3.5).
  pcap_writer();

  // IPv4's 16-bit total length bounds a segment (RFC 791 §3.1).
  static constexpr size_t max_segment = 65535 - 20 - 20;

  // Appends one data segment carrying payload; returns its frame number (1-based, as tshark
  // counts them), or 0 when payload is over max_segment.
  uint32_t add_segment(std::span<const std::byte> payload);

  [[nodiscard]] const std::vector<std::byte>& bytes() const noexcept { return out_; }

 private:
  enum class dir : uint8_t { to_server, to_client };
  void add_frame(dir d, uint8_t tcp_flags, std::span<const std::byte> payload);

  std::vector<std::byte> out_;
  uint32_t client_seq_ = 0x1000;  // next sequence number the client sends
  uint32_t server_seq_ = 0x8000;  // next sequence number the server sends
  uint32_t frames_ = 0;
};

}  // namespace smpp::interop
