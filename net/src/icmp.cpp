// ICMP echo (RFC 792, RFC 1122 §3.2.2.6) and destination unreachable (RFC 792, RFC 1122 §3.2.2.1).
#include "smpp/net/icmp.hpp"

#include <algorithm>
#include <cstring>

#include "smpp/net/ethernet.hpp"

namespace smpp::net {

namespace {
constexpr uint64_t micro = 1'000'000;
}

token_bucket::token_bucket(uint32_t rate_per_s, uint32_t burst) noexcept
    : rate_per_s_(rate_per_s), capacity_(uint64_t{burst} * micro), level_(capacity_) {}

bool token_bucket::take(uint64_t now_us) noexcept {
  if (started_ && now_us > last_us_) {
    // Cap the elapsed time before multiplying: a long idle period only refills the bucket.
    const uint64_t full_after_us = rate_per_s_ == 0 ? 0 : capacity_ / rate_per_s_ + 1;
    const uint64_t elapsed = std::min(now_us - last_us_, full_after_us);
    level_ = std::min(capacity_, level_ + elapsed * rate_per_s_);
  }
  if (!started_ || now_us > last_us_) last_us_ = now_us;
  started_ = true;
  if (level_ < micro) return false;
  level_ -= micro;
  return true;
}

icmp_layer::icmp_layer(const icmp_config& config) noexcept
    : echo_bucket_(config.echo_rate_per_s, config.echo_burst),
      error_bucket_(config.error_rate_per_s, config.error_burst) {}

void icmp_layer::input(ipv4_addr src, ipv4_addr dst, std::span<const std::byte> message,
                       uint64_t now_us, ip_output& out) {
  ++counters_.rx_messages;
  if (message.size() < icmp_header_len) {
    ++counters_.rx_truncated;
    return;
  }
  // RFC 792: the checksum covers the whole ICMP message; a valid one sums to zero.
  if (checksum_finish(checksum_add(message)) != 0) {
    ++counters_.rx_bad_checksum;
    return;
  }
  const auto type = std::to_integer<uint8_t>(message[0]);
  const auto code = std::to_integer<uint8_t>(message[1]);
  if (type == icmp_echo_reply && code == 0) {
    ++counters_.rx_echo_replies;
    return;
  }
  if (type == icmp_dest_unreachable) {
    // RFC 1122 §3.2.2.1 would pass it to the transport; TCP does not take it yet: counted.
    ++counters_.rx_dest_unreachable;
    return;
  }
  if (type != icmp_echo_request || code != 0) {
    ++counters_.rx_other;
    return;
  }
  ++counters_.rx_echo_requests;
  if (!echo_bucket_.take(now_us)) {
    ++counters_.tx_echo_rate_limited;
    return;
  }
  // RFC 792 "Echo or Echo Reply Message": the reply carries the request's identifier, sequence
  // number and data; only the type changes and the checksum is recomputed. RFC 1122 §3.2.2.6:
  // its source is the address the request was sent to.
  std::span<std::byte> reply = out.alloc(src, message.size());
  if (reply.size() < message.size()) {
    ++counters_.tx_no_buffer;
    return;
  }
  std::memcpy(reply.data(), message.data(), message.size());
  reply[0] = std::byte{icmp_echo_reply};
  reply[2] = std::byte{0};
  reply[3] = std::byte{0};
  store_be16(reply.data() + 2, checksum_finish(checksum_add(reply.first(message.size()))));
  out.send(dst, src, ip_proto_icmp, message.size());
  ++counters_.tx_echo_replies;
}

void icmp_layer::send_unreachable(uint8_t code, ipv4_addr src, ipv4_addr dst,
                                  std::span<const std::byte> datagram, size_t header_len,
                                  uint64_t now_us, ip_output& out) {
  if (!error_bucket_.take(now_us)) {
    ++counters_.tx_error_rate_limited;
    return;
  }
  // RFC 792 "Destination Unreachable Message": type, code, checksum, 4 unused octets, then the
  // internet header and the first 64 bits of the original datagram's data.
  const size_t quoted = std::min(datagram.size(), header_len + 8);
  const size_t length = icmp_header_len + quoted;
  std::span<std::byte> msg = out.alloc(src, length);
  if (msg.size() < length) {
    ++counters_.tx_no_buffer;
    return;
  }
  msg[0] = std::byte{icmp_dest_unreachable};
  msg[1] = std::byte{code};
  std::memset(msg.data() + 2, 0, 6);
  std::memcpy(msg.data() + icmp_header_len, datagram.data(), quoted);
  store_be16(msg.data() + 2, checksum_finish(checksum_add(msg.first(length))));
  out.send(dst, src, ip_proto_icmp, length);
  ++counters_.tx_dest_unreachable;
}

}  // namespace smpp::net
