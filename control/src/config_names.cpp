// Names the configuration gives things, checked alike wherever they appear.
#include <algorithm>

#include "config_sections.hpp"

namespace smpp::control::detail {
namespace {

constexpr std::size_t max_name_chars = 64;
constexpr std::string_view name_accepted = "a name of 1..64 characters A-Z a-z 0-9 '_' '-' '.'";

}  // namespace

bool valid_name(std::string_view s) {
  if (s.empty() || s.size() > max_name_chars) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
  });
}

std::string read_name(config_reader& r, const toml::table& t, const std::string& path,
                      std::string_view what, std::map<std::string, uint32_t>& names) {
  const auto* s = r.require_string(t, "name", path, name_accepted);
  if (s == nullptr) return {};
  if (!valid_name(s->get())) {
    r.error(*s, join(path, "name"),
            "invalid name " + quoted(s->get()) + ": must be " + std::string(name_accepted));
    return {};
  }
  if (auto [it, fresh] = names.emplace(s->get(), s->source().begin.line); !fresh) {
    r.error(*s, join(path, "name"),
            "duplicate " + std::string(what) + " name " + quoted(s->get()) +
                " (first defined at line " + std::to_string(it->second) + ")");
    return {};
  }
  return s->get();
}

}  // namespace smpp::control::detail
