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
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  return s;
}

}  // namespace

route_table::route_table(std::vector<route_def> routes) : routes_(std::move(routes)) {
  node root;
  root.child.fill(-1);
  nodes_.push_back(root);
  for (uint32_t i = 0; i < routes_.size(); ++i) {
    size_t at = 0;
    for (char ch : digits_of(routes_[i].destination_prefix)) {
      if (ch < '0' || ch > '9') break;  // the config loader allows digits only
      const int d = ch - '0';
      if (nodes_[at].child[d] < 0) {
        nodes_[at].child[d] = static_cast<int32_t>(nodes_.size());
        node n;
        n.child.fill(-1);
        nodes_.push_back(n);
      }
      at = static_cast<size_t>(nodes_[at].child[d]);
    }
    nodes_[at].routes.push_back(i);
  }
  // Best first within a node: tenant-specific, then more filters, then configuration order.
  for (node& n : nodes_) {
    std::stable_sort(n.routes.begin(), n.routes.end(), [this](uint32_t a, uint32_t b) {
      const route_def& x = routes_[a];
      const route_def& y = routes_[b];
      const bool xt = x.tenant != any_tenant;
      const bool yt = y.tenant != any_tenant;
      if (xt != yt) return xt;
      const auto filters = [](const route_def& r) {
        return (r.source_prefix.empty() ? 0 : 1) + (r.service_type.empty() ? 0 : 1);
      };
      return filters(x) > filters(y);
    });
  }
}

const route_def* route_table::lookup(uint32_t tenant, std::string_view destination,
                                     std::string_view source,
                                     std::string_view service_type) const noexcept {
  if (nodes_.empty()) return nullptr;
  const route_def* best = nullptr;
  auto match_here = [&](const node& n) {
    for (uint32_t i : n.routes) {
      const route_def& r = routes_[i];
      if (r.tenant != any_tenant && r.tenant != tenant) continue;
      if (!r.source_prefix.empty() &&
          digits_of(source).substr(0, digits_of(r.source_prefix).size()) !=
              digits_of(r.source_prefix)) {
        continue;
      }
      if (!r.service_type.empty() && r.service_type != service_type) continue;
      best = &r;
      return;
    }
  };
  size_t at = 0;
  match_here(nodes_[0]);
  for (char ch : digits_of(destination)) {
    if (ch < '0' || ch > '9') break;
    const int32_t next = nodes_[at].child[static_cast<size_t>(ch - '0')];
    if (next < 0) break;
    at = static_cast<size_t>(next);
    match_here(nodes_[at]);
  }
  return best;
}

}  // namespace smpp::dataplane
