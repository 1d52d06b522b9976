// The number portability index of a configuration's [[number_portability]] files: built in full,
// or, when the running snapshot's index came from the same networks and files and from the
// first of the same deltas, that index with only the new deltas applied (live deltas: add the
// file to `deltas` and reload).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "smpp/control/config.hpp"
#include "smpp/control/mnp_builder.hpp"
#include "smpp/dataplane/snapshot.hpp"

namespace smpp::control::detail {

struct mnp_load_result {
  std::shared_ptr<const dataplane::mnp_index> index;  // nullptr: no table (or an error)
  std::vector<std::string> sources;  // router_snapshot::mnp_sources of the new snapshot
  std::string error;
};

[[nodiscard]] mnp_load_result load_mnp(const router_config& config, const network_ids& networks,
                                       const dataplane::router_snapshot* previous);

}  // namespace smpp::control::detail
