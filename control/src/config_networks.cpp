// [[networks]] (each mobile network's name and home prefixes) and [[number_portability]] (the
// files of ported numbers and their deltas, control/mnp_builder.hpp).
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "config_sections.hpp"
#include "smpp/dataplane/mnp_index.hpp"

namespace smpp::control::detail {
namespace {

bool valid_home_prefix(std::string_view s) {
  return valid_prefix(s) && !(s.empty() || s == "+");
}

bool non_empty(std::string_view s) {
  return !s.empty() && s.find('\0') == std::string_view::npos;
}

// The file must be readable when the configuration is loaded (the snapshot builder reads it).
void check_readable(config_reader& r, const toml::node& at, const std::string& key,
                    const std::string& file) {
  if (::access(file.c_str(), R_OK) != 0) {
    r.error(at, key, "cannot read " + quoted(file) + ": " + std::strerror(errno));
  }
}

}  // namespace

void load_mobile_networks(config_reader& r, const toml::table& root,
                          std::vector<network_config>& out) {
  std::map<std::string, uint32_t> names;
  std::map<std::string, std::string> prefix_owner;  // digits -> network
  for (const auto& [t, path] : r.tables_of(root, "networks", "")) {
    r.check_keys(*t, path, {"name", "prefixes"});
    network_config n;
    n.name = read_name(r, *t, path, "network", names);
    if (out.size() == dataplane::mnp_index::max_networks) {
      r.error(*t, path,
              "too many networks: at most " + std::to_string(dataplane::mnp_index::max_networks) +
                  " (a 14-bit network id)");
    }
    const std::string key = join(path, "prefixes");
    constexpr std::string_view prefixes_accepted =
        "home prefixes of 1..20 digits, each optionally starting with '+'";
    if (const toml::node* at = t->get("prefixes"); at == nullptr) {
      r.error(*t, key, "is required: a non-empty array of " + std::string(prefixes_accepted));
    } else if (const toml::array* a = at->as_array(); a != nullptr && a->empty()) {
      r.error(*at, key, "must be a non-empty array of " + std::string(prefixes_accepted));
    }
    r.read_string_list(*t, "prefixes", path, prefixes_accepted, valid_home_prefix, n.prefixes);
    for (size_t i = 0; i < n.prefixes.size(); ++i) {
      std::string digits = n.prefixes[i];
      if (digits.front() == '+') digits.erase(0, 1);
      if (auto [it, fresh] = prefix_owner.emplace(digits, n.name); !fresh) {
        const toml::node* at = t->get("prefixes")->as_array()->get(i);
        r.error(*at, indexed(key, i),
                "prefix " + quoted(n.prefixes[i]) + " is already network " + quoted(it->second) +
                    "'s: a prefix has one home network");
      }
    }
    out.push_back(std::move(n));
  }
}

void load_number_portability(config_reader& r, const toml::table& root, const router_config& c,
                             std::vector<number_portability_config>& out) {
  for (const auto& [t, path] : r.tables_of(root, "number_portability", "")) {
    r.check_keys(*t, path, {"file", "deltas"});
    number_portability_config p;
    if (c.networks.empty()) {
      r.error(*t, path, "needs [[networks]]: the files name the network of each number");
    }
    if (r.read_path(*t, "file", path, true, p.file)) {
      check_readable(r, *t->get("file"), join(path, "file"), p.file);
    }
    std::vector<std::string> deltas;
    r.read_string_list(*t, "deltas", path,
                       "file paths (relative ones start at the configuration file's directory), "
                       "applied in order",
                       non_empty, deltas);
    for (size_t i = 0; i < deltas.size(); ++i) {
      p.deltas.push_back(r.resolve_path(deltas[i]));
      check_readable(r, *t->get("deltas")->as_array()->get(i), indexed(join(path, "deltas"), i),
                     p.deltas.back());
    }
    out.push_back(std::move(p));
  }
}

}  // namespace smpp::control::detail
