// IP address literals and "host:port" texts, parsed one way for the configuration, the
// transports and the tools. Names are checked (RFC 1123) where allowed, never resolved here.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace smpp::dataplane {

// A dotted-quad IPv4 address ("192.0.2.1") in host byte order; nullopt for anything else, text
// with an embedded NUL included (inet_pton would stop reading at the NUL).
[[nodiscard]] std::optional<uint32_t> parse_ipv4(std::string_view text) noexcept;

// The dotted quad of an IPv4 address in host byte order.
[[nodiscard]] std::string ipv4_text(uint32_t host_order);

// The netmask of an IPv4 prefix length 0..32, in host byte order.
[[nodiscard]] constexpr uint32_t ipv4_netmask(uint8_t prefix_length) noexcept {
  return prefix_length == 0 ? 0 : ~uint32_t{0} << (32 - prefix_length);
}

struct ip_literal {
  int family = 0;                     // AF_INET or AF_INET6
  std::array<std::byte, 16> bytes{};  // network byte order; IPv4 fills the first 4
};

// An IPv4 or IPv6 literal ("192.0.2.1", "2001:db8::1"); nullopt for anything else, names and
// text with an embedded NUL included.
[[nodiscard]] std::optional<ip_literal> parse_ip(std::string_view text) noexcept;

// The literal `host` and `port` as a socket address of `len` octets; false when `host` is not
// an IPv4 or IPv6 literal.
[[nodiscard]] bool parse_sockaddr(std::string_view host, uint16_t port, sockaddr_storage& out,
                                  socklen_t& len) noexcept;

// A prefix length ("24" of "10.0.0.0/24"): decimal digits without sign or leading zero, at most
// `max`.
[[nodiscard]] std::optional<uint32_t> parse_prefix_length(std::string_view text,
                                                          uint32_t max) noexcept;

// RFC 1123 §2.1 host names: dot-separated labels of letters, digits and inner hyphens.
[[nodiscard]] bool valid_host_name(std::string_view text) noexcept;

struct host_port {
  std::string host;  // an IPv6 address without its brackets
  uint16_t port = 0;
};

// "1.2.3.4:2775", "[::1]:2775" and, when allow_names, "smsc.example.net:2775". Empty when the
// text is accepted (`out` is set), else the reason in words a configuration error can show
// (e.g. "invalid port '0'").
[[nodiscard]] std::string parse_host_port(std::string_view text, bool allow_names, host_port& out);

}  // namespace smpp::dataplane
