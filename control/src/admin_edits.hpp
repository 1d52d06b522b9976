// The admin API's edits: a JSON request body applied to the configuration's TOML document, with
// the keys as the file writes them. Validation is not done here: the edited document goes
// through the loader as a whole (admin_changes.hpp).
#pragma once

#include <string>
#include <string_view>

#include <toml++/toml.h>
#include <nlohmann/json.hpp>

namespace smpp::control::detail {

struct edit_result {
  int status = 0;  // 0: the document was changed; otherwise the HTTP status to answer
  std::string error;
};

// PUT/POST /api/{tenants,upstreams}/NAME: the body's keys are set in the entry of the array of
// tables `list` named `name` (created when absent); a key given as null is removed.
[[nodiscard]] edit_result merge_entry(toml::table& doc, std::string_view list,
                                      const std::string& name, const nlohmann::json& body);
// DELETE /api/{tenants,upstreams}/NAME; `what` names an entry in the 404 answer.
[[nodiscard]] edit_result delete_entry(toml::table& doc, std::string_view list,
                                       const std::string& name, std::string_view what);
// PUT/POST /api/routes: the body (an array of route objects) replaces [[routes]].
[[nodiscard]] edit_result replace_routes(toml::table& doc, const nlohmann::json& body);
// PUT/POST /api/weights/TENANT/UPSTREAM {"weight": N[, "cap_per_s", "guarantee_per_s",
// "queue_max"]}: the tenant's entry of the upstream's [[upstreams.shares]] (slot_planner.hpp),
// created when absent.
[[nodiscard]] edit_result set_share(toml::table& doc, const std::string& tenant,
                                    const std::string& upstream, const nlohmann::json& body);

}  // namespace smpp::control::detail
