// Turns a validated configuration into the immutable snapshot the workers read.
#pragma once

#include <memory>
#include <string>

#include "smpp/control/config.hpp"
#include "smpp/dataplane/snapshot.hpp"

namespace smpp::control {

// Compiles tenants, upstreams and the route table. Returns nullptr with error set when the
// configuration refers to something that cannot be resolved (the loader normally catches it).
//
// With `previous` (the snapshot the workers run now), tenants, upstreams and binds keep the
// indices they have there, whatever their order in the new file: the workers' per-index state
// (sessions, counters, links, queues) stays attached to the same names. Tenants, upstreams and
// binds that are gone stay as retired entries at their index; new ones are appended, and a
// retired name that comes back takes its old index again.
[[nodiscard]] std::shared_ptr<const dataplane::router_snapshot> build_snapshot(
    const router_config& config, std::string& error,
    const dataplane::router_snapshot* previous = nullptr);

}  // namespace smpp::control
