#include "smpp/dataplane/shared_state.hpp"

namespace smpp::dataplane {

std::string snapshot_incompatibility(const router_snapshot& current, const router_snapshot& next,
                                     size_t tenant_room, size_t upstream_room) {
  // The builder keeps indices (it was given the current snapshot); a snapshot built without it
  // would move them.
  bool kept = next.tenants.size() >= current.tenants.size() &&
              next.upstreams.size() >= current.upstreams.size();
  for (size_t i = 0; kept && i < current.tenants.size(); ++i)
    kept = next.tenants[i].name == current.tenants[i].name;
  for (size_t i = 0; kept && i < current.upstreams.size(); ++i) {
    kept = next.upstreams[i].name == current.upstreams[i].name &&
           next.upstreams[i].binds.size() >= current.upstreams[i].binds.size();
  }
  if (!kept) return "tenants, upstreams or binds changed their indices";
  if (next.tenants.size() > tenant_room)
    return "more tenants added since the start than the running router has room for (" +
           std::to_string(tenant_room) + ", removed ones included)";
  if (next.upstreams.size() > upstream_room)
    return "more upstreams added since the start than the running router has room for (" +
           std::to_string(upstream_room) + ", removed ones included)";
  if (next.listeners.size() != current.listeners.size()) return "the listeners changed";
  for (size_t i = 0; i < current.listeners.size(); ++i) {
    if (next.listeners[i].host != current.listeners[i].host ||
        next.listeners[i].port != current.listeners[i].port)
      return "the listeners changed";
  }
  if (next.max_command_length != current.max_command_length)
    return "router.max_command_length changed";
  if (next.correlation.capacity != current.correlation.capacity ||
      next.correlation.ttl_ms != current.correlation.ttl_ms ||
      next.correlation.keep_final_ms != current.correlation.keep_final_ms ||
      next.correlation.final_capacity != current.correlation.final_capacity)
    return "[correlation] changed";
  return {};
}

}  // namespace smpp::dataplane
