// Helpers for the configuration tests: the source tree's root, a config text built one line per
// string, every error of a result, and a valid tenant, upstream and route to add a case after.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <string_view>

#include "smpp/control/config.hpp"

namespace smpp::testing {

// The source tree's root: SMPP_SOURCE_DIR under ctest, else found from this file's path
// (tests/support/config_text.hpp).
inline std::filesystem::path source_dir() {
  if (const char* dir = std::getenv("SMPP_SOURCE_DIR")) return dir;
  return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path();
}

// One string per line, so that a test reads its expected line numbers off the list.
inline std::string lines(std::initializer_list<std::string_view> ls) {
  std::string s;
  for (std::string_view l : ls) s.append(l).append("\n");
  return s;
}

inline std::string all_errors(const control::config_result& r) {
  std::string s;
  for (const auto& e : r.errors) s += e.to_string() + "\n";
  return s;
}

// A tenant with `password`, an upstream at `upstream_address` and a route: lines 1..11.
inline std::string base_config(std::string_view password, std::string_view upstream_address) {
  const std::string password_line = "password = \"" + std::string(password) + "\"";
  const std::string address_line = "address = \"" + std::string(upstream_address) + "\"";
  return lines({
      "[[tenants]]",                    // 1
      "name = \"t\"",                   // 2
      "system_id = \"t\"",              // 3
      password_line,                    // 4
      "[[upstreams]]",                  // 5
      "name = \"sim\"",                 // 6
      address_line,                     // 7
      "binds = [{system_id = \"r\"}]",  // 8
      "[[routes]]",                     // 9
      "tenant = \"*\"",                 // 10
      "upstreams = [\"sim\"]",          // 11
  });
}

}  // namespace smpp::testing
