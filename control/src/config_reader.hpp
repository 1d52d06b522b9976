// The TOML reader under the configuration loader: typed reads of keys, each refusal recorded as
// a config_error with file, line, column, the dotted key and what is accepted (STYLE habit 6).
// The section loaders (config_sections.hpp) read every key through it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <toml++/toml.h>

#include "smpp/control/config.hpp"

namespace smpp::control::detail {

struct int_range {
  int64_t min;
  int64_t max;
};

using key_list = std::span<const std::string_view>;

// Dotted keys as errors name them: join("tenants[0]", "window"), indexed("routes", 2).
[[nodiscard]] std::string join(const std::string& path, std::string_view key);
[[nodiscard]] std::string indexed(std::string_view path, std::size_t i);
[[nodiscard]] std::string quoted(std::string_view s);
[[nodiscard]] std::string range_text(int_range r);    // "an integer MIN..MAX"
[[nodiscard]] std::string list_text(key_list items);  // "a, b, c"
// The candidate a misspelt key most likely meant: within an edit or two, or one it starts.
[[nodiscard]] std::optional<std::string_view> closest(std::string_view word, key_list candidates);

class config_reader {
 public:
  explicit config_reader(std::string file) : file_(std::move(file)) {}

  [[nodiscard]] const std::string& file() const noexcept { return file_; }
  [[nodiscard]] std::size_t error_count() const noexcept { return errors_.size(); }
  // Every error so far, in file order.
  [[nodiscard]] std::vector<config_error> take_errors();

  void error(const toml::source_region& where, std::string key, std::string message);
  void error(const toml::node& at, std::string key, std::string message);
  // "must be ACCEPTED (got WHAT THE NODE IS)".
  void wrong(const toml::node& at, std::string key, std::string_view accepted);

  // Reports each key of `t` that is not accepted, with the one it probably meant.
  void check_keys(const toml::table& t, const std::string& path, key_list accepted);
  void check_keys(const toml::table& t, const std::string& path,
                  std::initializer_list<std::string_view> accepted) {
    check_keys(t, path, key_list(accepted.begin(), accepted.size()));
  }
  // [key] of `parent`: nullptr when absent or not a table (reported).
  const toml::table* table_of(const toml::table& parent, std::string_view key,
                              const std::string& path);
  // [[key]] of `parent`: each table with its dotted path; entries that are no table reported.
  std::vector<std::pair<const toml::table*, std::string>> tables_of(const toml::table& parent,
                                                                    std::string_view key,
                                                                    const std::string& path);

  // Readers: leave `out` unchanged when the key is absent or wrong, and report the latter.
  const toml::node* read_int(const toml::table& t, std::string_view key, const std::string& path,
                             int_range r, uint32_t& out);
  const toml::value<std::string>* read_string(const toml::table& t, std::string_view key,
                                              const std::string& path, std::string_view accepted);
  const toml::value<std::string>* require_string(const toml::table& t, std::string_view key,
                                                 const std::string& path,
                                                 std::string_view accepted);
  // A string of min_chars..max_chars printable ASCII characters, as the SMPP `field` takes it.
  const toml::value<std::string>* read_limited(const toml::table& t, std::string_view key,
                                               const std::string& path, std::size_t min_chars,
                                               std::size_t max_chars, std::string_view field,
                                               bool required, std::string& out);
  bool read_bool(const toml::table& t, std::string_view key, const std::string& path, bool& out);
  // A file path: non-empty, no NUL; relative paths are taken from the configuration's directory.
  bool read_path(const toml::table& t, std::string_view key, const std::string& path, bool required,
                 std::string& out);
  // `v` as read_path resolves it: relative to the configuration's directory.
  [[nodiscard]] std::string resolve_path(const std::string& v) const;
  // An array of distinct strings, each one `valid`.
  void read_string_list(const toml::table& t, std::string_view key, const std::string& path,
                        std::string_view accepted, bool (*valid)(std::string_view),
                        std::vector<std::string>& out);

 private:
  std::string file_;
  std::vector<config_error> errors_;
};

}  // namespace smpp::control::detail
