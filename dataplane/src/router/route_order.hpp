// The order in which a route's upstreams are tried for one destination (route_mode): as
// configured (failover), cheapest first by each upstream's price list, or lowest expected cost
// of a delivered message first (quality: the price weighed with what this worker saw of each
// upstream, upstream_quality.hpp); ties and the upstreams without a price for the destination
// keep configuration order, the unpriced last. Allocation-free: the order is sorted into the
// caller's buffer.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "smpp/dataplane/snapshot.hpp"
#include "smpp/dataplane/upstream_quality.hpp"

namespace smpp::dataplane::router {

using upstream_order_buffer = std::array<uint32_t, max_route_upstreams>;

[[nodiscard]] inline std::span<const uint32_t> upstream_order(
    const route_def& r, const router_snapshot& snap, std::string_view destination,
    const upstream_quality& seen, uint64_t now_ms, upstream_order_buffer& buf) noexcept {
  if (r.mode == route_mode::failover) return r.upstreams;
  const size_t n = std::min(r.upstreams.size(), buf.size());
  std::array<double, max_route_upstreams> cost{};
  for (size_t i = 0; i < n; ++i) {
    const uint32_t u = r.upstreams[i];
    const price_table* t = u < snap.prices.size() ? snap.prices[u].get() : nullptr;
    const price_micros listed = t != nullptr ? t->lookup(destination) : no_price;
    const double c = r.mode == route_mode::quality ? seen.cost(u, listed, snap.quality, now_ms)
                                                   : static_cast<double>(listed);
    // Insertion sort, stable: an equal cost stays behind the earlier upstream.
    size_t k = i;
    for (; k > 0 && cost[k - 1] > c; --k) {
      cost[k] = cost[k - 1];
      buf[k] = buf[k - 1];
    }
    cost[k] = c;
    buf[k] = u;
  }
  return {buf.data(), n};
}

}  // namespace smpp::dataplane::router
