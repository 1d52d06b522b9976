#include "smpp/dataplane/network_map.hpp"

namespace smpp::dataplane {

network_map::network_map(std::vector<std::string> names,
                         const std::vector<std::vector<std::string>>& prefixes,
                         std::shared_ptr<const mnp_index> ported)
    : names_(std::move(names)), ported_(std::move(ported)) {
  for (size_t n = 0; n < prefixes.size() && n < names_.size(); ++n) {
    for (const std::string& prefix : prefixes[n]) {
      const uint32_t node = prefixes_.insert(prefix);
      home_.resize(prefixes_.size(), no_network);
      home_[node] = static_cast<uint16_t>(n);
    }
  }
  home_.resize(prefixes_.size(), no_network);
}

uint16_t network_map::home_network(std::string_view destination) const noexcept {
  uint16_t best = no_network;
  prefixes_.walk(destination, [&](uint32_t node) {
    if (home_[node] != no_network) best = home_[node];
  });
  return best;
}

uint16_t network_map::id_of(std::string_view name) const noexcept {
  for (size_t i = 0; i < names_.size(); ++i) {
    if (names_[i] == name) return static_cast<uint16_t>(i);
  }
  return no_network;
}

}  // namespace smpp::dataplane
