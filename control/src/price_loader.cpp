#include "price_loader.hpp"

#include "mapped_file.hpp"
#include "smpp/control/price_builder.hpp"

namespace smpp::control::detail {

bool load_prices(const router_config& config, const dataplane::router_snapshot* previous,
                 dataplane::router_snapshot& s, std::string& error) {
  s.prices.assign(s.upstreams.size(), nullptr);
  s.price_sources.assign(s.upstreams.size(), std::string());
  for (size_t c = 0; c < config.upstreams.size(); ++c) {
    const upstream_config& u = config.upstreams[c];
    if (u.price_list.empty()) continue;
    size_t i = 0;  // its index in the snapshot (not always its place in the configuration)
    while (i < s.upstreams.size() && s.upstreams[i].name != u.name) ++i;
    if (i == s.upstreams.size()) continue;
    const std::string key = "upstreams[" + std::to_string(c) + "].price_list: ";
    const mapped_file f(u.price_list);
    if (!f.error().empty()) {
      error = key + f.error();
      return false;
    }
    s.price_sources[i] = f.stamp();
    if (previous != nullptr) {
      // The same file, unchanged, at any upstream of the running snapshot: its table.
      for (size_t k = 0; k < previous->price_sources.size(); ++k) {
        if (previous->price_sources[k] == f.stamp() && k < previous->prices.size() &&
            previous->prices[k] != nullptr) {
          s.prices[i] = previous->prices[k];
          break;
        }
      }
    }
    if (s.prices[i] != nullptr) continue;
    price_build_result built = build_price_table(u.price_list, f.text());
    if (!built.ok()) {
      error = key + built.error;
      return false;
    }
    s.prices[i] = std::move(built.table);
  }
  return true;
}

}  // namespace smpp::control::detail
