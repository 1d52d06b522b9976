// The price lists of a configuration's upstreams ([[upstreams]] price_list): each built with
// control/price_builder.hpp, or taken from the running snapshot when that upstream's list came
// from the same file, unchanged (its stamp), so a reload rebuilds only the lists that changed.
#pragma once

#include <string>

#include "smpp/control/config.hpp"
#include "smpp/dataplane/snapshot.hpp"

namespace smpp::control::detail {

// Fills s.prices and s.price_sources (one per upstream of s, whose upstreams are laid out
// already; I below is the upstream's place in the configuration); false with
// `error` ("upstreams[I].price_list: FILE:LINE: what") when a list cannot be read or built.
[[nodiscard]] bool load_prices(const router_config& config,
                               const dataplane::router_snapshot* previous,
                               dataplane::router_snapshot& s, std::string& error);

}  // namespace smpp::control::detail
