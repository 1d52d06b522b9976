// Turns a validated configuration into the immutable snapshot the workers read.
#pragma once

#include <memory>
#include <string>

#include "smpp/control/config.hpp"
#include "smpp/dataplane/snapshot.hpp"

namespace smpp::control {

// Compiles tenants, upstreams and the route table. Returns nullptr with error set when the
// configuration refers to something that cannot be resolved (the loader normally catches it).
[[nodiscard]] std::shared_ptr<const dataplane::router_snapshot> build_snapshot(
    const router_config& config, std::string& error);

}  // namespace smpp::control
