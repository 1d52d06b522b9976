// The admin API's read-only answers: JSON renderings of the running configuration, its snapshot
// and what the workers counted (GET /api/status, /api/tenants, /api/upstreams, /api/sessions,
// /api/routes, /api/slots/NAME). They read what they are given and change nothing.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "smpp/control/admin.hpp"
#include "smpp/control/config.hpp"
#include "smpp/dataplane/placement.hpp"
#include "smpp/dataplane/shared_state.hpp"
#include "smpp/dataplane/snapshot.hpp"

namespace smpp::control::detail {

// One moment of the running router, as a view shows it.
struct view_input {
  const router_config& config;
  const dataplane::router_snapshot& snapshot;
  const router_totals& totals;
  const rate_window::rates& rates;
  const dataplane::placement& placement;
  std::string_view version;
  double uptime_s = 0;
};

[[nodiscard]] nlohmann::json status_json(const view_input& in);
[[nodiscard]] nlohmann::json tenants_json(const view_input& in);
[[nodiscard]] nlohmann::json upstreams_json(const view_input& in);
[[nodiscard]] nlohmann::json sessions_json(const dataplane::router_snapshot& snapshot,
                                           const router_totals& totals);
[[nodiscard]] nlohmann::json routes_json(const router_config& config);
// The slot plans of upstream `name`'s binds, each frame listed up to `max_slots_listed` slots,
// with each bind's used, lent and missed slots by owner and the marks of the last frame when
// `shared` has them (slot_use.hpp); nullopt when no upstream has that name.
[[nodiscard]] std::optional<nlohmann::json> slots_json(const dataplane::router_snapshot& snapshot,
                                                       dataplane::shared_state* shared,
                                                       const std::string& name,
                                                       std::size_t max_slots_listed);

}  // namespace smpp::control::detail
