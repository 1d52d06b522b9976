#include "smpp/control/snapshot_builder.hpp"

#include <algorithm>
#include <unordered_map>

#include "mnp_loader.hpp"
#include "price_loader.hpp"
#include "smpp/control/slot_planner.hpp"
#include "smpp/dataplane/tls.hpp"

namespace smpp::control {
namespace {

bool verify(const std::string& hash, std::string_view password) {
  return verify_password(hash, std::string(password));
}

codec::command_id bind_command(bind_type t) {
  switch (t) {
    case bind_type::transmitter:
      return codec::command_id::bind_transmitter;
    case bind_type::receiver:
      return codec::command_id::bind_receiver;
    case bind_type::transceiver:
      break;
  }
  return codec::command_id::bind_transceiver;
}

// The tenants' shares of upstream u: the [[upstreams.shares]] entries, and every other tenant that
// a route sends to u with its default weight (a tenant no route sends there gets no slot).
std::vector<tenant_share> shares_of(const router_config& config, const upstream_config& u,
                                    const std::unordered_map<std::string, uint32_t>& tenant_index) {
  std::vector<tenant_share> out;
  for (const tenant_config& t : config.tenants) {
    tenant_share s;
    s.tenant = tenant_index.at(t.name);
    s.name = t.name;
    s.weight = t.weight;
    const auto explicit_share = std::find_if(u.shares.begin(), u.shares.end(),
                                             [&](const auto& x) { return x.tenant == t.name; });
    if (explicit_share != u.shares.end()) {
      s.weight = explicit_share->weight;
      s.cap_per_s = explicit_share->cap_per_s;
      s.guarantee_per_s = explicit_share->guarantee_per_s;
      s.queue_max = explicit_share->queue_max;
    } else {
      const bool routed =
          std::any_of(config.routes.begin(), config.routes.end(), [&](const auto& r) {
            return (r.tenant == "*" || r.tenant == t.name) &&
                   std::find(r.upstreams.begin(), r.upstreams.end(), u.name) != r.upstreams.end();
          });
      if (!routed) continue;
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace

// The index of each name in the new snapshot: the previous snapshot's index when it had the
// name, else appended after every previous entry (retired ones included), in `names` order.
template <typename Def>
std::vector<std::string> laid_out(const std::vector<std::string>& names,
                                  const std::vector<Def>* previous) {
  std::vector<std::string> order;
  if (previous != nullptr) {
    for (const Def& d : *previous) order.push_back(d.name);
  }
  for (const std::string& n : names) {
    if (std::find(order.begin(), order.end(), n) == order.end()) order.push_back(n);
  }
  return order;
}

std::shared_ptr<const dataplane::router_snapshot> build_snapshot(
    const router_config& config, std::string& error, const dataplane::router_snapshot* previous) {
  auto s = std::make_shared<dataplane::router_snapshot>();
  std::shared_ptr<const dataplane::tls_context> server_tls;  // one for every TLS listener
  for (const listener_config& l : config.listeners) {
    dataplane::endpoint ep{l.host, l.port};
    if (l.tls) {
      if (!server_tls) {
        dataplane::tls_server_options o;
        o.cert_file = config.tls.cert_file;
        o.key_file = config.tls.key_file;
        o.min_version = config.tls.min_version == tls_version::v1_3
                            ? dataplane::tls_min_version::v1_3
                            : dataplane::tls_min_version::v1_2;
        std::string why;
        server_tls = dataplane::tls_context::make_server(o, why);
        if (!server_tls) {
          error = "router.tls: " + why;
          return nullptr;
        }
      }
      ep.tls = server_tls;
    }
    s->listeners.push_back(std::move(ep));
  }
  std::unordered_map<std::string, uint32_t> tenant_index;
  std::vector<std::string> tenant_names;
  for (const tenant_config& t : config.tenants) tenant_names.push_back(t.name);
  for (const std::string& name : laid_out(tenant_names, previous ? &previous->tenants : nullptr)) {
    const auto found = std::find_if(config.tenants.begin(), config.tenants.end(),
                                    [&](const tenant_config& t) { return t.name == name; });
    if (found == config.tenants.end()) {
      dataplane::tenant_def gone = previous->tenants[s->tenants.size()];
      gone.retired = true;
      s->tenants.push_back(std::move(gone));
      continue;
    }
    const tenant_config& t = *found;
    dataplane::tenant_def d;
    d.index = static_cast<uint32_t>(s->tenants.size());
    d.name = t.name;
    d.system_id = t.system_id;
    d.password_hash = t.password_hash;
    d.max_binds = t.max_binds;
    d.window = t.window;
    d.hold_max = t.hold_max;
    d.hold_ttl_ms = t.hold_ttl_s * 1000;
    d.deliver_window = t.deliver_window;
    d.backpressure = t.backpressure;
    for (const std::string& net : t.allowed_networks) {
      dataplane::cidr c;
      if (!dataplane::cidr::parse(net, c)) {
        error = "tenant " + t.name + ": bad network " + net;
        return nullptr;
      }
      d.allowed_networks.push_back(c);
    }
    tenant_index[t.name] = d.index;
    s->tenant_by_system_id[t.system_id] = d.index;
    s->tenants.push_back(std::move(d));
  }
  std::unordered_map<std::string, uint32_t> upstream_index;
  std::vector<std::string> upstream_names;
  for (const upstream_config& u : config.upstreams) upstream_names.push_back(u.name);
  for (const std::string& name :
       laid_out(upstream_names, previous ? &previous->upstreams : nullptr)) {
    const auto found = std::find_if(config.upstreams.begin(), config.upstreams.end(),
                                    [&](const upstream_config& u) { return u.name == name; });
    const dataplane::upstream_def* before =
        previous != nullptr && s->upstreams.size() < previous->upstreams.size()
            ? &previous->upstreams[s->upstreams.size()]
            : nullptr;
    if (found == config.upstreams.end()) {
      dataplane::upstream_def gone = *before;
      gone.retired = true;
      for (dataplane::upstream_bind_def& b : gone.binds) b.retired = true;
      s->upstreams.push_back(std::move(gone));
      continue;
    }
    const upstream_config& u = *found;
    dataplane::upstream_def d;
    d.index = static_cast<uint32_t>(s->upstreams.size());
    d.name = u.name;
    d.address = {u.host, u.port};
    d.submit_id_radix = u.message_id_radix;
    d.receipt_id_radix = u.receipt_id_radix;
    d.on_demand = u.on_demand;
    d.broadcast = u.broadcast;
    if (u.outbind.enabled) {
      d.outbind_listen = {u.outbind.host, u.outbind.port};
      d.outbind_system_id = u.outbind.system_id;
      d.outbind_password = u.outbind.password;
    }
    d.idle_unbind_ms = u.idle_unbind_s * 1000;
    if (u.tls.enabled) {
      dataplane::tls_client_options o;
      o.ca_file = u.tls.ca_file;
      o.server_name = u.tls.server_name.empty() ? u.host : u.tls.server_name;
      o.pin_sha256 = u.tls.pin_sha256;
      std::string why;
      d.address.tls = dataplane::tls_context::make_client(o, why);
      if (!d.address.tls) {
        error = "upstream " + u.name + ": tls: " + why;
        return nullptr;
      }
    }
    for (const upstream_bind_config& b : u.binds) {
      for (uint32_t k = 0; k < b.count; ++k) {
        dataplane::upstream_bind_def bd;
        bd.system_id = b.system_id;
        bd.password = b.password;
        bd.system_type = b.system_type;
        bd.bind_command = bind_command(b.type);
        bd.window = b.window;
        bd.rate_per_s = b.rate_per_s;
        bd.weight = b.weight;
        d.binds.push_back(bd);
      }
    }
    // The TDMA plan of every bind (slot_planner.hpp).
    const std::vector<tenant_share> shares = shares_of(config, u, tenant_index);
    std::vector<bind_rate> rates;
    for (const dataplane::upstream_bind_def& bd : d.binds) {
      rates.push_back(
          {bd.rate_per_s, bd.weight, bd.bind_command != codec::command_id::bind_receiver});
    }
    upstream_plan_request pr;
    pr.upstream = u.name;
    pr.rate_per_s = u.rate_per_s;
    pr.frame_ms = u.frame_ms;
    pr.strict = u.strict;
    pr.tenant_count = static_cast<uint32_t>(s->tenants.size());
    pr.shares = shares;
    pr.binds = rates;
    upstream_plan_result planned = plan_upstream(pr);
    if (!planned.ok()) {
      error = std::move(planned.error);
      return nullptr;
    }
    for (size_t b = 0; b < d.binds.size(); ++b) d.binds[b].plan = std::move(planned.plans[b]);
    // Fewer binds than before: the ones beyond stay, retired, with the plan they had (what
    // they still hold is sent in their slots).
    for (size_t b = d.binds.size(); before != nullptr && b < before->binds.size(); ++b) {
      d.binds.push_back(before->binds[b]);
      d.binds.back().retired = true;
    }
    upstream_index[u.name] = d.index;
    s->upstreams.push_back(std::move(d));
  }
  // Networks: ids in configuration order (the portability index holds them).
  network_ids network_index;
  std::vector<std::string> network_names;
  std::vector<std::vector<std::string>> network_prefixes;
  for (const network_config& n : config.networks) {
    network_index.emplace(n.name, static_cast<uint16_t>(network_names.size()));
    network_names.push_back(n.name);
    network_prefixes.push_back(n.prefixes);
  }
  detail::mnp_load_result ported = detail::load_mnp(config, network_index, previous);
  if (!ported.error.empty()) {
    error = std::move(ported.error);
    return nullptr;
  }
  s->networks =
      dataplane::network_map(std::move(network_names), network_prefixes, std::move(ported.index));
  s->mnp_sources = std::move(ported.sources);
  if (!detail::load_prices(config, previous, *s, error)) return nullptr;
  std::vector<dataplane::route_def> routes;
  for (const route_config& r : config.routes) {
    dataplane::route_def d;
    if (!r.network.empty()) {
      const auto it = network_index.find(r.network);
      if (it == network_index.end()) {
        error = "route: unknown network " + r.network;
        return nullptr;
      }
      d.network = it->second;
    }
    if (r.tenant != "*") {
      const auto it = tenant_index.find(r.tenant);
      if (it == tenant_index.end()) {
        error = "route: unknown tenant " + r.tenant;
        return nullptr;
      }
      d.tenant = it->second;
    }
    d.destination_prefix = r.destination_prefix;
    d.source_prefix = r.source_prefix;
    d.service_type = r.service_type;
    d.mode = r.cheapest  ? dataplane::route_mode::cheapest
             : r.quality ? dataplane::route_mode::quality
                         : dataplane::route_mode::failover;
    for (const std::string& name : r.upstreams) {
      const auto it = upstream_index.find(name);
      if (it == upstream_index.end()) {
        error = "route: unknown upstream " + name;
        return nullptr;
      }
      d.upstreams.push_back(it->second);
    }
    routes.push_back(std::move(d));
  }
  s->routes = dataplane::route_table(std::move(routes));
  // MO routes reuse the route table: tenant slot = the upstream filter, upstreams[0] = tenant.
  std::vector<dataplane::route_def> mo;
  for (const mo_route_config& r : config.mo_routes) {
    dataplane::route_def d;
    if (!r.upstream.empty()) {
      const auto it = upstream_index.find(r.upstream);
      if (it == upstream_index.end()) {
        error = "mo route: unknown upstream " + r.upstream;
        return nullptr;
      }
      d.tenant = it->second;
    }
    const auto it = tenant_index.find(r.tenant);
    if (it == tenant_index.end()) {
      error = "mo route: unknown tenant " + r.tenant;
      return nullptr;
    }
    d.destination_prefix = r.destination_prefix;
    d.upstreams = {it->second};
    mo.push_back(std::move(d));
  }
  s->mo_routes = dataplane::route_table(std::move(mo));
  s->retry_on = config.retry_on;
  s->quality.window_ms = uint64_t{config.quality_window_s} * 1000;
  s->quality.latency_cost = config.quality_latency_cost;
  s->quality.min_samples = config.quality_min_samples;
  s->correlation.capacity = config.correlation.capacity;
  s->correlation.ttl_ms = uint64_t{config.correlation.ttl_s} * 1000;
  s->correlation.note_all = config.correlation.note_all;
  s->correlation.keep_final_ms = uint64_t{config.correlation.keep_final_s} * 1000;
  s->correlation.final_capacity = config.correlation.final_capacity;
  s->bind_guard.delay_ms = config.security.bind_fail_delay_ms;
  s->bind_guard.max_delay_ms = config.security.bind_fail_delay_max_ms;
  s->bind_guard.lockout_failures = config.security.bind_lockout_failures;
  s->bind_guard.lockout_ms = config.security.bind_lockout_s * 1000;
  const timeouts_config& t = config.timeouts;
  s->timers.bind_ms = t.bind_ms;
  s->timers.enquire_link_interval_ms = t.enquire_link_interval_ms;
  s->timers.dead_peer_ms = t.dead_peer_ms;
  s->timers.response_ms = t.response_ms;
  s->timers.partial_pdu_ms = t.partial_pdu_ms;
  s->timers.reconnect_min_ms = t.reconnect_min_ms;
  s->timers.reconnect_max_ms = t.reconnect_max_ms;
  s->timers.esme_idle_ms = t.esme_idle_ms;
  s->max_command_length = config.limits.max_command_length;
  s->verify_password = verify;
  s->dummy_password_hash = hash_password("\x01unknown-system-id");
  return s;
}

}  // namespace smpp::control
