// The admin API's bring-up in the daemon, and the publisher through which its validated
// changes reach the running workers.
#pragma once

#include <memory>

#include "smpp/control/admin.hpp"
#include "smpp/control/config.hpp"
#include "smpp/dataplane/handoff.hpp"
#include "smpp/dataplane/placement.hpp"
#include "smpp/dataplane/snapshot.hpp"
#include "store_bringup.hpp"

namespace smpp::router_daemon {

// The admin API and /metrics on their own threads; nullptr when disabled or when it cannot
// listen (the router then runs without it and says so).
[[nodiscard]] std::unique_ptr<control::admin_server> start_admin(
    const control::router_config& cfg, std::shared_ptr<const dataplane::router_snapshot> snap,
    dataplane::shared_state* shared, dataplane::ring_mesh* mesh, const dataplane::placement& placed,
    store_setup* store);

}  // namespace smpp::router_daemon
