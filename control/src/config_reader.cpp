#include "config_reader.hpp"

#include <algorithm>
#include <sstream>
#include <tuple>

namespace smpp::control::detail {
namespace {

// What a node is, for "(got ...)".
std::string describe(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string:
      return "string \"" + std::string(n.as_string()->get()) + "\"";
    case toml::node_type::integer:
      return "integer " + std::to_string(n.as_integer()->get());
    case toml::node_type::floating_point: {
      std::ostringstream s;
      s << "float " << n.as_floating_point()->get();
      return s.str();
    }
    case toml::node_type::boolean:
      return n.as_boolean()->get() ? "boolean true" : "boolean false";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    default:
      return "a date/time";
  }
}

// Optimal string alignment distance: a transposition ("widnow") counts as one edit.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const auto lower = [](char c) { return static_cast<char>(c | 0x20); };
      const std::size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

bool printable_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
}

}  // namespace

std::string join(const std::string& path, std::string_view key) {
  if (path.empty()) return std::string(key);
  return path + "." + std::string(key);
}

std::string indexed(std::string_view path, std::size_t i) {
  return std::string(path) + "[" + std::to_string(i) + "]";
}

std::string quoted(std::string_view s) {
  return "'" + std::string(s) + "'";
}

std::string range_text(int_range r) {
  return "an integer " + std::to_string(r.min) + ".." + std::to_string(r.max);
}

std::string list_text(key_list items) {
  std::string s;
  for (std::string_view i : items) s += (s.empty() ? "" : ", ") + std::string(i);
  return s;
}

std::optional<std::string_view> closest(std::string_view word, key_list candidates) {
  const std::size_t allowed = word.size() <= 4 ? 1 : 2;
  std::optional<std::string_view> best;
  std::size_t best_distance = allowed + 1;
  for (std::string_view c : candidates) {
    const std::size_t dist = edit_distance(word, c);
    if (dist < best_distance) {
      best = c;
      best_distance = dist;
    }
  }
  if (!best && word.size() >= 4) {
    // A key cut short ("destination" for "destination_prefix") is too far for the edit distance.
    for (std::string_view c : candidates) {
      if (c.starts_with(word)) return c;
    }
  }
  return best;
}

std::vector<config_error> config_reader::take_errors() {
  std::stable_sort(errors_.begin(), errors_.end(),
                   [](const config_error& a, const config_error& b) {
                     return std::tie(a.line, a.column) < std::tie(b.line, b.column);
                   });
  return std::move(errors_);
}

void config_reader::error(const toml::source_region& where, std::string key, std::string message) {
  errors_.push_back(config_error{file_, where.begin.line, where.begin.column, std::move(key),
                                 std::move(message)});
}

void config_reader::error(const toml::node& at, std::string key, std::string message) {
  error(at.source(), std::move(key), std::move(message));
}

void config_reader::wrong(const toml::node& at, std::string key, std::string_view accepted) {
  error(at, std::move(key), "must be " + std::string(accepted) + " (got " + describe(at) + ")");
}

void config_reader::check_keys(const toml::table& t, const std::string& path, key_list accepted) {
  for (auto&& [k, v] : t) {
    const std::string_view key = k.str();
    if (std::find(accepted.begin(), accepted.end(), key) != accepted.end()) continue;
    std::string message = "unknown key " + quoted(key);
    if (auto s = closest(key, accepted)) {
      message += " (did you mean " + quoted(*s) + "?)";
    } else {
      message += " (accepted: " + list_text(accepted) + ")";
    }
    error(k.source(), join(path, key), std::move(message));
  }
}

const toml::table* config_reader::table_of(const toml::table& parent, std::string_view key,
                                           const std::string& path) {
  const toml::node* n = parent.get(key);
  if (n == nullptr) return nullptr;
  if (!n->is_table()) {
    wrong(*n, join(path, key), "a table ([" + std::string(key) + "])");
    return nullptr;
  }
  return n->as_table();
}

std::vector<std::pair<const toml::table*, std::string>> config_reader::tables_of(
    const toml::table& parent, std::string_view key, const std::string& path) {
  std::vector<std::pair<const toml::table*, std::string>> out;
  const toml::node* n = parent.get(key);
  if (n == nullptr) return out;
  const std::string full = join(path, key);
  if (!n->is_array()) {
    wrong(*n, full, "an array of tables ([[" + full + "]])");
    return out;
  }
  const toml::array& a = *n->as_array();
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (const toml::table* t = a.get(i)->as_table()) {
      out.emplace_back(t, indexed(full, i));
    } else {
      wrong(*a.get(i), indexed(full, i), "a table");
    }
  }
  return out;
}

const toml::node* config_reader::read_int(const toml::table& t, std::string_view key,
                                          const std::string& path, int_range r, uint32_t& out) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return nullptr;
  const auto* v = n->as_integer();
  if (v == nullptr || v->get() < r.min || v->get() > r.max) {
    wrong(*n, join(path, key), range_text(r));
    return nullptr;
  }
  out = static_cast<uint32_t>(v->get());
  return n;
}

const toml::value<std::string>* config_reader::read_string(const toml::table& t,
                                                           std::string_view key,
                                                           const std::string& path,
                                                           std::string_view accepted) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return nullptr;
  if (!n->is_string()) {
    wrong(*n, join(path, key), accepted);
    return nullptr;
  }
  return n->as_string();
}

const toml::value<std::string>* config_reader::require_string(const toml::table& t,
                                                              std::string_view key,
                                                              const std::string& path,
                                                              std::string_view accepted) {
  if (!t.contains(key)) {
    error(t, join(path, key), "is required: " + std::string(accepted));
    return nullptr;
  }
  return read_string(t, key, path, accepted);
}

const toml::value<std::string>* config_reader::read_limited(
    const toml::table& t, std::string_view key, const std::string& path, std::size_t min_chars,
    std::size_t max_chars, std::string_view field, bool required, std::string& out) {
  const std::string accepted = "a string of " + std::to_string(min_chars) + ".." +
                               std::to_string(max_chars) + " printable ASCII characters (SMPP " +
                               std::string(field) + ")";
  const auto* s =
      required ? require_string(t, key, path, accepted) : read_string(t, key, path, accepted);
  if (s == nullptr) return nullptr;
  const std::string& v = s->get();
  if (v.size() < min_chars || v.size() > max_chars || !printable_ascii(v)) {
    std::string why = !printable_ascii(v)    ? "has a character that is not printable ASCII"
                      : v.size() > max_chars ? "is " + std::to_string(v.size()) + " characters long"
                                             : "is empty";
    error(*s, join(path, key), std::move(why) + ": must be " + accepted);
    return nullptr;
  }
  out = v;
  return s;
}

bool config_reader::read_bool(const toml::table& t, std::string_view key, const std::string& path,
                              bool& out) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return false;
  if (const auto* b = n->as_boolean()) {
    out = b->get();
    return true;
  }
  wrong(*n, join(path, key), "a boolean (true or false)");
  return false;
}

bool config_reader::read_path(const toml::table& t, std::string_view key, const std::string& path,
                              bool required, std::string& out) {
  constexpr std::string_view accepted =
      "a file path (relative paths start at the configuration file's directory)";
  const auto* s =
      required ? require_string(t, key, path, accepted) : read_string(t, key, path, accepted);
  if (s == nullptr) return false;
  const std::string& v = s->get();
  if (v.empty() || v.find('\0') != std::string::npos) {
    error(*s, join(path, key), "must be " + std::string(accepted) + " (got an empty string)");
    return false;
  }
  out = resolve_path(v);
  return true;
}

std::string config_reader::resolve_path(const std::string& v) const {
  const std::size_t slash = file_.rfind('/');
  return v.empty() || v.front() == '/' || slash == std::string::npos
             ? v
             : file_.substr(0, slash + 1) + v;
}

void config_reader::read_string_list(const toml::table& t, std::string_view key,
                                     const std::string& path, std::string_view accepted,
                                     bool (*valid)(std::string_view),
                                     std::vector<std::string>& out) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return;
  const std::string full = join(path, key);
  const toml::array* a = n->as_array();
  if (a == nullptr) {
    wrong(*n, full, "an array of " + std::string(accepted));
    return;
  }
  std::vector<std::string> values;
  for (std::size_t i = 0; i < a->size(); ++i) {
    const toml::node& e = *a->get(i);
    const auto* s = e.as_string();
    if (s == nullptr || !valid(s->get())) {
      wrong(e, indexed(full, i), accepted);
      continue;
    }
    if (std::find(values.begin(), values.end(), s->get()) != values.end()) {
      error(e, indexed(full, i), quoted(s->get()) + " is listed twice");
      continue;
    }
    values.push_back(s->get());
  }
  out = std::move(values);
}

}  // namespace smpp::control::detail
