// [[routes]] (submit_sm: tenant and prefixes -> upstreams in failover order) and [[mo_routes]]
// (mobile-originated: short code -> tenant), each naming tenants and upstreams defined before.
#include <algorithm>
#include <tuple>

#include "config_sections.hpp"
#include "smpp/dataplane/snapshot.hpp"

namespace smpp::control::detail {
namespace {

constexpr std::size_t max_service_type_chars = 5;  // SMPP 3.4 §5.2 service_type: 6 octets
constexpr std::size_t max_address_chars = 20;      // source_addr, destination_addr: 21 octets

template <typename Entry>
bool has_name(const std::vector<Entry>& list, const std::string& name) {
  return std::any_of(list.begin(), list.end(), [&](const Entry& x) { return x.name == name; });
}

// "a, b, c": the valid names of `list`, or "none".
template <typename Entry>
std::string defined_names(const std::vector<Entry>& list) {
  std::string defined;
  for (const auto& x : list) {
    if (!x.name.empty()) defined += (defined.empty() ? "" : ", ") + x.name;
  }
  return defined.empty() ? "none" : defined;
}

// A route's upstreams: known, each once, and able to send submit_sm.
bool load_route_upstreams(config_reader& r, const toml::table& t, const std::string& path,
                          const router_config& c, route_config& route) {
  constexpr std::string_view upstreams_accepted =
      "a non-empty array of upstream names, in failover order";
  const toml::node* n = t.get("upstreams");
  if (n == nullptr) {
    r.error(t, join(path, "upstreams"), "is required: " + std::string(upstreams_accepted));
    return false;
  }
  const toml::array* a = n->as_array();
  if (a == nullptr || a->empty()) {
    r.wrong(*n, join(path, "upstreams"), upstreams_accepted);
    return false;
  }
  if (a->size() > dataplane::max_route_upstreams) {
    r.error(*n, join(path, "upstreams"),
            "at most " + std::to_string(dataplane::max_route_upstreams) + " upstreams per route");
    return false;
  }
  bool ok = true;
  for (std::size_t i = 0; i < a->size(); ++i) {
    const toml::node& e = *a->get(i);
    const std::string key = indexed(join(path, "upstreams"), i);
    if (!e.is_string()) {
      r.wrong(e, key, "an upstream name");
      ok = false;
      continue;
    }
    const std::string& name = e.as_string()->get();
    const auto u = std::find_if(c.upstreams.begin(), c.upstreams.end(),
                                [&](const upstream_config& x) { return x.name == name; });
    if (u == c.upstreams.end()) {
      r.error(
          e, key,
          "unknown upstream " + quoted(name) + " (defined: " + defined_names(c.upstreams) + ")");
      ok = false;
    } else if (std::find(route.upstreams.begin(), route.upstreams.end(), name) !=
               route.upstreams.end()) {
      r.error(e, key, "upstream " + quoted(name) + " is listed twice");
      ok = false;
    } else if (!u->binds.empty() &&
               std::none_of(u->binds.begin(), u->binds.end(),
                            [](const auto& b) { return b.type != bind_type::receiver; })) {
      r.error(e, key,
              "upstream " + quoted(name) +
                  " has only receiver binds: a route needs a transmitter or transceiver bind "
                  "to send submit_sm");
      ok = false;
    } else {
      route.upstreams.push_back(name);
    }
  }
  return ok;
}

}  // namespace

bool valid_prefix(std::string_view s) {
  if (s.size() > max_address_chars) return false;
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

void load_routes(config_reader& r, const toml::table& root, const router_config& c,
                 std::vector<route_config>& out) {
  using match = std::tuple<std::string, std::string, std::string, std::string, std::string>;
  std::map<match, std::pair<std::string, uint32_t>> matches;  // -> first route's key and line
  for (const auto& [t, path] : r.tables_of(root, "routes", "")) {
    r.check_keys(*t, path,
                 {"tenant", "destination_prefix", "network", "source_prefix", "service_type",
                  "upstreams", "mode"});
    route_config route;
    bool ok = true;
    if (const auto* s =
            r.require_string(*t, "tenant", path, "a tenant name or \"*\" (every tenant)")) {
      if (s->get() == "*" || has_name(c.tenants, s->get())) {
        route.tenant = s->get();
      } else {
        r.error(*s, join(path, "tenant"),
                "unknown tenant " + quoted(s->get()) + " (defined: " + defined_names(c.tenants) +
                    "; \"*\" means every tenant)");
        ok = false;
      }
    } else {
      ok = false;
    }
    for (const auto* key : {"destination_prefix", "source_prefix"}) {
      if (const auto* s = r.read_string(*t, key, path, prefix_accepted)) {
        if (valid_prefix(s->get())) {
          (std::string_view(key) == "destination_prefix" ? route.destination_prefix
                                                         : route.source_prefix) = s->get();
        } else {
          r.error(
              *s, join(path, key),
              "invalid prefix " + quoted(s->get()) + ": must be " + std::string(prefix_accepted));
          ok = false;
        }
      } else if (t->contains(key)) {
        ok = false;
      }
    }
    if (const auto* s = r.read_string(*t, "network", path, "a [[networks]] name")) {
      if (!has_name(c.networks, s->get())) {
        r.error(*s, join(path, "network"),
                "unknown network " + quoted(s->get()) + " (defined: " + defined_names(c.networks) +
                    ")");
        ok = false;
      } else if (t->contains("destination_prefix")) {
        r.error(*s, join(path, "network"),
                "a route matches either a network or a destination_prefix, not both");
        ok = false;
      } else {
        route.network = s->get();
      }
    } else if (t->contains("network")) {
      ok = false;
    }
    if (!r.read_limited(*t, "service_type", path, 0, max_service_type_chars, "3.4 service_type",
                        false, route.service_type) &&
        t->contains("service_type")) {
      ok = false;
    }
    if (!load_route_upstreams(r, *t, path, c, route)) ok = false;
    constexpr std::string_view mode_accepted = "\"failover\", \"cheapest\" or \"quality\"";
    if (const auto* s = r.read_string(*t, "mode", path, mode_accepted)) {
      if (s->get() == "cheapest" || s->get() == "quality") {
        (s->get() == "cheapest" ? route.cheapest : route.quality) = true;
        for (const std::string& name : route.upstreams) {
          const auto u = std::find_if(c.upstreams.begin(), c.upstreams.end(),
                                      [&](const upstream_config& x) { return x.name == name; });
          if (u != c.upstreams.end() && u->price_list.empty()) {
            r.error(*s, join(path, "mode"),
                    "a " + s->get() + " route's upstreams need a price_list: " + quoted(name) +
                        " has none");
            ok = false;
          }
        }
      } else if (s->get() != "failover") {
        r.wrong(*s, join(path, "mode"), mode_accepted);
        ok = false;
      }
    } else if (t->contains("mode")) {
      ok = false;
    }

    if (ok) {
      const uint32_t line = t->source().begin.line;
      match m{route.tenant, route.destination_prefix, route.network, route.source_prefix,
              route.service_type};
      if (auto [it, fresh] = matches.emplace(m, std::pair{path, line}); !fresh) {
        r.error(*t, path,
                "duplicate route: same tenant, destination_prefix, network, source_prefix and "
                "service_type as " +
                    it->second.first + " (line " + std::to_string(it->second.second) + ")");
      }
    }
    out.push_back(std::move(route));
  }
}

void load_mo_routes(config_reader& r, const toml::table& root, const router_config& c,
                    std::vector<mo_route_config>& out) {
  std::map<std::pair<std::string, std::string>, uint32_t> seen;  // (upstream, prefix) -> line
  for (const auto& [t, path] : r.tables_of(root, "mo_routes", "")) {
    r.check_keys(*t, path, {"destination_prefix", "tenant", "upstream"});
    mo_route_config route;
    if (const auto* s = r.read_string(*t, "destination_prefix", path, prefix_accepted)) {
      if (valid_prefix(s->get())) {
        route.destination_prefix = s->get();
      } else {
        r.error(*s, join(path, "destination_prefix"),
                "invalid prefix " + quoted(s->get()) + ": must be " + std::string(prefix_accepted));
      }
    }
    if (const auto* s = r.require_string(*t, "tenant", path, "a tenant name")) {
      if (!has_name(c.tenants, s->get())) {
        r.error(*s, join(path, "tenant"), "unknown tenant " + quoted(s->get()));
      } else {
        route.tenant = s->get();
      }
    }
    if (const auto* s = r.read_string(*t, "upstream", path, "an upstream name")) {
      if (!has_name(c.upstreams, s->get())) {
        r.error(*s, join(path, "upstream"), "unknown upstream " + quoted(s->get()));
      } else {
        route.upstream = s->get();
      }
    }
    const uint32_t line = t->source().begin.line;
    if (auto [it, fresh] = seen.emplace(std::pair{route.upstream, route.destination_prefix}, line);
        !fresh) {
      r.error(*t, path,
              "duplicate MO route: same upstream and destination_prefix as the one at line " +
                  std::to_string(it->second));
    }
    out.push_back(std::move(route));
  }
}

}  // namespace smpp::control::detail
