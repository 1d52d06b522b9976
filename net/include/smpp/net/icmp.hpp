// ICMP (RFC 792) for a host that is not a router: echo requests are answered, destination
// unreachable (protocol) is sent for unknown protocols, everything else is counted and dropped.
// Both kinds of output are rate-limited by their own token bucket (RFC 1812 §4.3.2.8).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "smpp/net/ip.hpp"

namespace smpp::net {

inline constexpr uint8_t icmp_echo_reply = 0;
inline constexpr uint8_t icmp_dest_unreachable = 3;
inline constexpr uint8_t icmp_echo_request = 8;
inline constexpr uint8_t icmp_code_protocol_unreachable = 2;
inline constexpr size_t icmp_header_len = 8;

// A token bucket: `rate_per_s` tokens a second, at most `burst` saved up. rate_per_s == 0 lets
// nothing through. Time is the caller's monotonic clock.
class token_bucket {
 public:
  token_bucket(uint32_t rate_per_s, uint32_t burst) noexcept;
  // Takes one token when there is one.
  [[nodiscard]] bool take(uint64_t now_us) noexcept;

 private:
  uint64_t rate_per_s_;
  uint64_t capacity_;  // burst, in millionths of a token
  uint64_t level_;     // millionths of a token: rate_per_s * elapsed_us adds exactly
  uint64_t last_us_ = 0;
  bool started_ = false;
};

struct icmp_config {
  uint32_t echo_rate_per_s = 1000;  // echo replies
  uint32_t echo_burst = 100;
  uint32_t error_rate_per_s = 100;  // destination unreachable messages we originate
  uint32_t error_burst = 10;
};

struct icmp_counters {
  uint64_t rx_messages = 0;
  uint64_t rx_truncated = 0;  // shorter than the 8-octet header
  uint64_t rx_bad_checksum = 0;
  uint64_t rx_echo_requests = 0;  // valid echo requests (answered or rate-limited)
  uint64_t rx_echo_replies = 0;
  uint64_t rx_dest_unreachable = 0;
  uint64_t rx_other = 0;  // every other type (or echo with a nonzero code): dropped
  uint64_t tx_echo_replies = 0;
  uint64_t tx_echo_rate_limited = 0;
  uint64_t tx_dest_unreachable = 0;
  uint64_t tx_error_rate_limited = 0;
  uint64_t tx_no_buffer = 0;  // ip_output had no room (no frame, too big)
};

class icmp_layer {
 public:
  explicit icmp_layer(const icmp_config& config) noexcept;

  // One ICMP message addressed to us (`dst` is ours), answered through `out`.
  void input(ipv4_addr src, ipv4_addr dst, std::span<const std::byte> message, uint64_t now_us,
             ip_output& out);
  // RFC 792 destination unreachable (code) about `datagram` (its IPv4 header and payload as
  // received) that `src` sent to our `dst`.
  void send_unreachable(uint8_t code, ipv4_addr src, ipv4_addr dst,
                        std::span<const std::byte> datagram, size_t header_len, uint64_t now_us,
                        ip_output& out);

  [[nodiscard]] const icmp_counters& counters() const noexcept { return counters_; }

 private:
  token_bucket echo_bucket_;
  token_bucket error_bucket_;
  icmp_counters counters_;
};

}  // namespace smpp::net
