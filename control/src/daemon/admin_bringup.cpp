#include "admin_bringup.hpp"

#include <cstdio>
#include <mutex>
#include <string>
#include <utility>

#include "smpp/dataplane/shared_state.hpp"
#include "smpp/dataplane/transport.hpp"

namespace smpp::router_daemon {
namespace {

// What a validated change from the admin API does to the running router: the new snapshot is
// published to the workers (RCU), who adopt it within a tick. The snapshot builder keeps every
// tenant's, upstream's and bind's index (removed ones stay as retired entries, see
// build_snapshot), so tenants and upstreams may be added, removed and reordered and binds
// added or removed while traffic flows. What the workers set up once at start must stay:
// listeners, the frame limit and the correlation table; and the workers' per-tenant and
// per-upstream arrays have room for shared_state's headroom beyond the first snapshot. Those
// changes answer 409 and need a restart.
control::snapshot_publisher make_publisher(dataplane::shared_state* shared,
                                           std::shared_ptr<const dataplane::router_snapshot> first,
                                           store_setup* store) {
  struct state {
    std::mutex mu;
    std::shared_ptr<const dataplane::router_snapshot> current;
    size_t tenant_room = 0;
    size_t upstream_room = 0;
  };
  auto st = std::make_shared<state>();
  st->tenant_room = first->tenants.size() + dataplane::shared_state::tenant_headroom;
  st->upstream_room = first->upstreams.size() + dataplane::shared_state::upstream_headroom;
  st->current = std::move(first);
  return [shared, st, store](const control::router_config&,
                             const std::shared_ptr<const dataplane::router_snapshot>& next)
             -> control::publish_result {
    std::lock_guard lock(st->mu);
    // The workers make the same check before they adopt it (worker_core::adopt_published).
    if (std::string why = dataplane::snapshot_incompatibility(*st->current, *next, st->tenant_room,
                                                              st->upstream_room);
        !why.empty()) {
      return control::publish_result{409, std::move(why) + ": restart the router to apply it"};
    }
    // The store learns the names of new indices before a worker can write a record with one.
    if (store != nullptr) store->record_names(*next);
    shared->publish(next);
    st->current = next;
    return {200, {}};
  };
}

}  // namespace

std::unique_ptr<control::admin_server> start_admin(
    const control::router_config& cfg, std::shared_ptr<const dataplane::router_snapshot> snap,
    dataplane::shared_state* shared, dataplane::ring_mesh* mesh, const dataplane::placement& placed,
    store_setup* store) {
  if (!cfg.admin.enabled) return nullptr;
  control::admin_view view;
  view.shared = shared;
  view.mesh = mesh;
  view.placement = placed;
  auto publisher = make_publisher(shared, snap, store);
  auto admin = std::make_unique<control::admin_server>(cfg, std::move(snap), std::move(view),
                                                       std::move(publisher));
  std::string err;
  if (!admin->start(err)) {
    std::fprintf(stderr,
                 "smpp-router: warning: admin API: %s; running without the admin API and "
                 "/metrics ([admin] listen chooses another address)\n",
                 err.c_str());
    return nullptr;
  }
  const std::string where = dataplane::endpoint{cfg.admin.host, admin->port()}.to_string();
  std::fprintf(stderr, "smpp-router: admin API and /metrics on http://%s (%s)\n", where.c_str(),
               cfg.admin.token.empty() ? "read-only: no [admin] token configured"
                                       : "changes need the token");
  return admin;
}

}  // namespace smpp::router_daemon
