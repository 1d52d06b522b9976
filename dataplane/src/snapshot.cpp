#include "smpp/dataplane/snapshot.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include "smpp/dataplane/address.hpp"

namespace smpp::dataplane {

bool cidr::parse(std::string_view text, cidr& out) {
  const size_t slash = text.find('/');
  const auto ip = parse_ip(text.substr(0, slash));
  if (!ip) return false;
  cidr c;
  c.family = ip->family;
  c.addr = ip->bytes;
  c.prefix_len = ip->family == AF_INET ? 32 : 128;
  if (slash != std::string_view::npos) {
    const std::string_view len = text.substr(slash + 1);
    unsigned v = 0;
    const auto [p, ec] = std::from_chars(len.data(), len.data() + len.size(), v);
    if (len.empty() || ec != std::errc{} || p != len.data() + len.size() || v > c.prefix_len) {
      return false;
    }
    c.prefix_len = static_cast<uint8_t>(v);
  }
  out = c;
  return true;
}

bool cidr::contains(const peer_address& peer) const noexcept {
  const std::byte* a = peer.addr;
  std::byte mapped[4];
  if (family == AF_INET && peer.family == AF_INET6) {
    // An IPv4 client on a dual-stack listener appears as ::ffff:a.b.c.d.
    static constexpr std::byte kPrefix[12] = {
        {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, std::byte{0xff}, std::byte{0xff}};
    if (std::memcmp(peer.addr, kPrefix, 12) != 0) return false;
    std::memcpy(mapped, peer.addr + 12, 4);
    a = mapped;
  } else if (family != peer.family) {
    return false;
  }
  const unsigned full = prefix_len / 8;
  if (std::memcmp(a, addr.data(), full) != 0) return false;
  const unsigned rest = prefix_len % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<uint8_t>(0xFF << (8 - rest));
  return (std::to_integer<uint8_t>(a[full]) & mask) ==
         (std::to_integer<uint8_t>(addr[full]) & mask);
}

namespace {

std::string_view digits_of(std::string_view s) {
  return digit_trie::digits_of(s);
}

// Best first: tenant-specific, then more filters, then configuration order.
void order_best_first(std::vector<uint32_t>& candidates, const std::vector<route_def>& routes) {
  std::stable_sort(candidates.begin(), candidates.end(), [&routes](uint32_t a, uint32_t b) {
    const route_def& x = routes[a];
    const route_def& y = routes[b];
    const bool xt = x.tenant != any_tenant;
    const bool yt = y.tenant != any_tenant;
    if (xt != yt) return xt;
    const auto filters = [](const route_def& r) {
      return (r.source_prefix.empty() ? 0 : 1) + (r.service_type.empty() ? 0 : 1);
    };
    return filters(x) > filters(y);
  });
}

}  // namespace

route_table::route_table(std::vector<route_def> routes) : routes_(std::move(routes)) {
  for (uint32_t i = 0; i < routes_.size(); ++i) {
    if (routes_[i].network != no_network) {
      if (by_network_.size() <= routes_[i].network) by_network_.resize(routes_[i].network + 1u);
      by_network_[routes_[i].network].push_back(i);
      continue;
    }
    const uint32_t node = prefixes_.insert(routes_[i].destination_prefix);
    at_node_.resize(prefixes_.size());
    at_node_[node].push_back(i);
  }
  at_node_.resize(prefixes_.size());
  for (auto& candidates : at_node_) order_best_first(candidates, routes_);
  for (auto& candidates : by_network_) order_best_first(candidates, routes_);
}

const route_def* route_table::first_match(const std::vector<uint32_t>& candidates, uint32_t tenant,
                                          std::string_view source,
                                          std::string_view service_type) const noexcept {
  for (uint32_t i : candidates) {
    const route_def& r = routes_[i];
    if (r.tenant != any_tenant && r.tenant != tenant) continue;
    if (!r.source_prefix.empty() &&
        digits_of(source).substr(0, digits_of(r.source_prefix).size()) !=
            digits_of(r.source_prefix)) {
      continue;
    }
    if (!r.service_type.empty() && r.service_type != service_type) continue;
    return &r;
  }
  return nullptr;
}

const route_def* route_table::lookup(uint32_t tenant, std::string_view destination,
                                     std::string_view source,
                                     std::string_view service_type) const noexcept {
  if (at_node_.empty()) return nullptr;  // default-constructed: no routes
  const route_def* best = nullptr;
  prefixes_.walk(destination, [&](uint32_t node) {
    if (const route_def* r = first_match(at_node_[node], tenant, source, service_type)) best = r;
  });
  return best;
}

const route_def* route_table::lookup_network(uint32_t tenant, uint16_t network,
                                             std::string_view source,
                                             std::string_view service_type) const noexcept {
  if (network >= by_network_.size()) return nullptr;
  return first_match(by_network_[network], tenant, source, service_type);
}

}  // namespace smpp::dataplane
