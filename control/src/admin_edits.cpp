#include "admin_edits.hpp"

#include <cstddef>
#include <cstdint>
#include <limits>
#include <utility>

namespace smpp::control::detail {
namespace {

using json = nlohmann::json;

// A JSON value as a TOML value handed to `sink` (which inserts it into a table or an array).
template <typename Sink>
bool convert(const json& v, Sink&& sink, std::string& why);

bool put_value(toml::table& t, const std::string& key, const json& v, std::string& why) {
  if (!convert(
          v, [&](auto&& x) { t.insert_or_assign(key, std::forward<decltype(x)>(x)); }, why)) {
    why = "'" + key + "': " + why;
    return false;
  }
  return true;
}

bool push_value(toml::array& a, const json& v, std::string& why) {
  return convert(
      v, [&](auto&& x) { a.push_back(std::forward<decltype(x)>(x)); }, why);
}

template <typename Sink>
bool convert(const json& v, Sink&& sink, std::string& why) {
  switch (v.type()) {
    case json::value_t::object: {
      toml::table sub;
      for (const auto& [k, e] : v.items()) {
        if (!put_value(sub, k, e, why)) return false;
      }
      sink(std::move(sub));
      return true;
    }
    case json::value_t::array: {
      toml::array arr;
      for (const auto& e : v) {
        if (!push_value(arr, e, why)) return false;
      }
      sink(std::move(arr));
      return true;
    }
    case json::value_t::string:
      sink(v.get<std::string>());
      return true;
    case json::value_t::boolean:
      sink(v.get<bool>());
      return true;
    case json::value_t::number_integer:
      sink(v.get<int64_t>());
      return true;
    case json::value_t::number_unsigned:
      if (v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        why = "the number is too large for TOML";
        return false;
      }
      sink(static_cast<int64_t>(v.get<uint64_t>()));
      return true;
    case json::value_t::number_float:
      sink(v.get<double>());
      return true;
    case json::value_t::null:
      why = "null only removes a key of the object changed";
      return false;
    default:
      why = "a value TOML cannot hold";
      return false;
  }
}

// The table in the array of tables `list` whose `key` is `value`, or nullptr.
toml::table* find_entry(toml::table& doc, std::string_view list, std::string_view key,
                        std::string_view value, size_t* index = nullptr) {
  toml::array* a = doc[list].as_array();
  if (a == nullptr) return nullptr;
  for (size_t i = 0; i < a->size(); ++i) {
    toml::table* t = a->get(i)->as_table();
    if (t == nullptr) continue;
    if (const auto* v = t->get_as<std::string>(key); v != nullptr && v->get() == value) {
      if (index != nullptr) *index = i;
      return t;
    }
  }
  return nullptr;
}

// find_entry(), or a new table {key = value} appended to `list` (created when absent); nullptr
// when `list` is there but no array.
toml::table* find_or_add_entry(toml::table& doc, std::string_view list, std::string_view key,
                               const std::string& value) {
  if (toml::table* t = find_entry(doc, list, key, value)) return t;
  if (!doc.contains(list)) doc.insert(list, toml::array{});
  toml::array* a = doc[list].as_array();
  if (a == nullptr) return nullptr;
  toml::table fresh;
  fresh.insert(key, value);
  a->push_back(std::move(fresh));
  return a->back().as_table();
}

}  // namespace

edit_result merge_entry(toml::table& doc, std::string_view list, const std::string& name,
                        const json& body) {
  if (!body.is_object()) return {400, "the body must be a JSON object of configuration keys"};
  if (body.contains("name") && body["name"] != name) {
    return {400, "'name' in the body differs from the name in the path; rename by DELETE and PUT"};
  }
  toml::table* t = find_or_add_entry(doc, list, "name", name);
  if (t == nullptr) return {400, "'" + std::string(list) + "' is not an array of tables"};
  std::string why;
  for (const auto& [k, v] : body.items()) {
    if (v.is_null()) {
      t->erase(k);
    } else if (!put_value(*t, k, v, why)) {
      return {400, why};
    }
  }
  return {};
}

edit_result delete_entry(toml::table& doc, std::string_view list, const std::string& name,
                         std::string_view what) {
  size_t index = 0;
  if (find_entry(doc, list, "name", name, &index) == nullptr) {
    return {404, "no " + std::string(what) + " named '" + name + "'"};
  }
  doc[list].as_array()->erase(doc[list].as_array()->begin() + static_cast<std::ptrdiff_t>(index));
  return {};
}

edit_result replace_routes(toml::table& doc, const json& body) {
  if (!body.is_array()) {
    return {400,
            "the body must be a JSON array of routes ({\"tenant\", \"destination_prefix\", "
            "\"upstreams\", ...})"};
  }
  toml::array routes;
  std::string why;
  for (const auto& r : body) {
    if (!r.is_object()) return {400, "every route must be a JSON object"};
    if (!push_value(routes, r, why)) return {400, why};
  }
  doc.insert_or_assign("routes", std::move(routes));
  return {};
}

edit_result set_share(toml::table& doc, const std::string& tenant, const std::string& upstream,
                      const json& body) {
  constexpr std::string_view accepted = "weight, cap_per_s, guarantee_per_s, queue_max";
  if (!body.is_object() || body.empty()) {
    return {400, "the body must be a JSON object of share keys (" + std::string(accepted) + ")"};
  }
  for (const auto& [k, v] : body.items()) {
    if (k != "weight" && k != "cap_per_s" && k != "guarantee_per_s" && k != "queue_max") {
      return {400, "unknown key '" + k + "' (accepted: " + std::string(accepted) + ")"};
    }
  }
  if (find_entry(doc, "tenants", "name", tenant) == nullptr) {
    return {404, "no tenant named '" + tenant + "'"};
  }
  toml::table* u = find_entry(doc, "upstreams", "name", upstream);
  if (u == nullptr) return {404, "no upstream named '" + upstream + "'"};
  toml::table* share = find_or_add_entry(*u, "shares", "tenant", tenant);
  if (share == nullptr) return {400, "'shares' of upstream '" + upstream + "' is not an array"};
  std::string why;
  for (const auto& [k, v] : body.items()) {
    if (!put_value(*share, k, v, why)) return {400, why};
  }
  return {};
}

}  // namespace smpp::control::detail
