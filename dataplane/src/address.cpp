#include "smpp/dataplane/address.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

namespace smpp::dataplane {
namespace {

// inet_pton reads a NUL-terminated string: `text` copied into `buf` (no allocation), false when
// it has a NUL of its own or is longer than any address literal (INET6_ADDRSTRLEN - 1).
bool terminated(std::string_view text, char (&buf)[INET6_ADDRSTRLEN]) noexcept {
  if (text.size() >= sizeof buf || text.find('\0') != std::string_view::npos) return false;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  return true;
}

bool looks_like_ipv4(std::string_view s) noexcept {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](char c) { return c == '.' || (c >= '0' && c <= '9'); });
}

std::string quoted(std::string_view s) {
  return "'" + std::string(s) + "'";
}

// Decimal digits without sign or leading zero, at most `max` (ports and prefix lengths).
std::optional<uint32_t> parse_decimal(std::string_view text, uint32_t max) noexcept {
  if (text.empty() || text.size() > 10 || (text.size() > 1 && text.front() == '0')) {
    return std::nullopt;
  }
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > max) return std::nullopt;
  return static_cast<uint32_t>(v);
}

}  // namespace

std::optional<uint32_t> parse_ipv4(std::string_view text) noexcept {
  char buf[INET6_ADDRSTRLEN];
  in_addr a{};
  if (!terminated(text, buf) || inet_pton(AF_INET, buf, &a) != 1) return std::nullopt;
  return ntohl(a.s_addr);
}

std::string ipv4_text(uint32_t host_order) {
  return std::to_string(host_order >> 24) + "." + std::to_string((host_order >> 16) & 0xff) + "." +
         std::to_string((host_order >> 8) & 0xff) + "." + std::to_string(host_order & 0xff);
}

std::optional<ip_literal> parse_ip(std::string_view text) noexcept {
  char buf[INET6_ADDRSTRLEN];
  if (!terminated(text, buf)) return std::nullopt;
  ip_literal ip;
  for (const int family : {AF_INET, AF_INET6}) {
    if (inet_pton(family, buf, ip.bytes.data()) == 1) {
      ip.family = family;
      return ip;
    }
  }
  return std::nullopt;
}

bool parse_sockaddr(std::string_view host, uint16_t port, sockaddr_storage& out,
                    socklen_t& len) noexcept {
  const auto ip = parse_ip(host);
  if (!ip) return false;
  std::memset(&out, 0, sizeof out);
  if (ip->family == AF_INET) {
    auto* v4 = reinterpret_cast<sockaddr_in*>(&out);
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    std::memcpy(&v4->sin_addr, ip->bytes.data(), sizeof v4->sin_addr);
    len = sizeof(sockaddr_in);
  } else {
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&out);
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    std::memcpy(&v6->sin6_addr, ip->bytes.data(), sizeof v6->sin6_addr);
    len = sizeof(sockaddr_in6);
  }
  return true;
}

std::optional<uint32_t> parse_prefix_length(std::string_view text, uint32_t max) noexcept {
  return parse_decimal(text, max);
}

bool valid_host_name(std::string_view s) noexcept {
  if (s.empty() || s.size() > 253) return false;
  if (s.back() == '.') s.remove_suffix(1);
  while (true) {
    const std::size_t dot = s.find('.');
    const std::string_view label = s.substr(0, dot);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      const bool ok =
          (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
      if (!ok) return false;
    }
    if (dot == std::string_view::npos) return true;
    s.remove_prefix(dot + 1);
  }
}

std::string parse_host_port(std::string_view text, bool allow_names, host_port& out) {
  if (text.find('\0') != std::string_view::npos) return "contains a NUL character";
  std::string_view host;
  std::string_view port;
  bool ipv6 = false;
  if (!text.empty() && text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos) return "missing ']' after the IPv6 address";
    host = text.substr(1, close - 1);
    if (close + 1 >= text.size() || text[close + 1] != ':') return "missing ':port'";
    port = text.substr(close + 2);
    ipv6 = true;
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return "missing ':port'";
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return "an IPv6 address must be written in brackets";
    }
  }
  if (host.empty()) return "missing host";
  if (ipv6) {
    const auto ip = parse_ip(host);
    if (!ip || ip->family != AF_INET6) return "invalid IPv6 address " + quoted(host);
  } else if (!parse_ipv4(host)) {
    if (!allow_names) return quoted(host) + " is not an IP address";
    if (looks_like_ipv4(host)) return "invalid IPv4 address " + quoted(host);
    if (!valid_host_name(host)) return "invalid host name " + quoted(host);
  }
  const auto p = parse_decimal(port, 65535);
  if (!p || *p == 0) return "invalid port " + quoted(port);
  out.host = std::string(host);
  out.port = static_cast<uint16_t>(*p);
  return {};
}

}  // namespace smpp::dataplane
