// The TOML configuration loader: toml++ parses, the section loaders (config_sections.hpp)
// validate every key, and every error is reported with file, line, column, the dotted key and
// what is accepted (config/README.md).
#include "smpp/control/config.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <toml++/toml.h>

#include "config_reader.hpp"
#include "config_sections.hpp"

namespace smpp::control {
namespace {

using namespace detail;

constexpr std::array<std::string_view, 13> sections = {
    "router", "timeouts",  "tenants",     "upstreams", "networks", "number_portability",
    "routes", "mo_routes", "correlation", "store",     "security", "admin",
    "dpdk"};

// A key of a section written at the top level is a common slip: point at the section.
void check_top_level_keys(config_reader& r, const toml::table& root) {
  for (auto&& [k, v] : root) {
    const std::string_view key = k.str();
    if (std::find(sections.begin(), sections.end(), key) != sections.end()) continue;
    std::string hint;
    if (std::find(router_keys.begin(), router_keys.end(), key) != router_keys.end()) {
      hint = " (did you mean 'router." + std::string(key) + "'?)";
    }
    if (key.ends_with("_ms")) hint = " (did you mean 'timeouts." + std::string(key) + "'?)";
    if (hint.empty()) {
      if (auto s = closest(key, sections)) {
        hint = " (did you mean " + quoted(*s) + "?)";
      } else {
        hint = " (accepted: " + list_text(sections) + ")";
      }
    }
    r.error(k.source(), std::string(key), "unknown key " + quoted(key) + hint);
  }
}

config_result load(std::string_view text, const std::string& file) {
  config_result result;
  config_reader r(file);
  toml::table root;
  try {
    root = toml::parse(text, std::string_view{file});
  } catch (const toml::parse_error& e) {
    r.error(e.source(), "", "TOML syntax error: " + std::string(e.description()));
    result.errors = r.take_errors();
    return result;
  }
  check_top_level_keys(r, root);

  router_config c;
  c.source_file = file;
  load_router(r, root, c);
  load_timeouts(r, root, c.timeouts);
  load_tenants(r, root, c.tenants);
  load_upstreams(r, root, c.tenants, c.upstreams);
  load_mobile_networks(r, root, c.networks);
  load_number_portability(r, root, c, c.number_portability);
  load_routes(r, root, c, c.routes);
  load_mo_routes(r, root, c, c.mo_routes);
  load_correlation(r, root, c.correlation);
  load_store(r, root, c.store);
  load_security(r, root, c.security);
  load_admin(r, root, c.admin);
  load_dpdk(r, root, c);

  result.errors = r.take_errors();
  if (result.errors.empty()) result.config = std::move(c);
  return result;
}

}  // namespace

config_result load_config_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    config_result r;
    r.errors.push_back(
        config_error{path, 0, 0, "", "cannot open: " + std::string(std::strerror(errno))});
    return r;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return load_config_string(text.str(), path);
}

config_result load_config_string(const std::string& toml, const std::string& name) {
  return load(toml, name);
}

}  // namespace smpp::control
