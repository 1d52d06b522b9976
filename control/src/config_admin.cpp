// [admin]: where the admin API listens and the token that changes need.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include "config_sections.hpp"

namespace smpp::control::detail {

void load_admin(config_reader& r, const toml::table& root, admin_config& c) {
  const toml::table* t = r.table_of(root, "admin", "");
  if (t == nullptr) return;
  const std::string path = "admin";
  r.check_keys(*t, path, {"enabled", "listen", "token", "token_file"});
  r.read_bool(*t, "enabled", path, c.enabled);
  if (const toml::node* n = t->get("listen")) {
    if (const auto hp = read_listen_address(r, *n, join(path, "listen"))) {
      c.host = hp->host;
      c.port = hp->port;
    }
  }
  // A token is a password: long enough not to be guessed, and nothing a header would mangle.
  constexpr std::string_view token_accepted =
      "a string of 16..4096 printable ASCII characters without spaces";
  const auto valid_token = [](std::string_view v) {
    return v.size() >= 16 && v.size() <= 4096 &&
           std::all_of(v.begin(), v.end(), [](char ch) { return ch > 0x20 && ch <= 0x7e; });
  };
  const auto* inline_token = r.read_string(*t, "token", path, token_accepted);
  if (inline_token != nullptr) {
    if (valid_token(inline_token->get())) {
      c.token = inline_token->get();
    } else {
      r.error(*inline_token, join(path, "token"), "must be " + std::string(token_accepted));
    }
  }
  std::string file;
  if (const toml::node* n = t->get("token_file");
      n != nullptr && r.read_path(*t, "token_file", path, false, file)) {
    const std::string key = join(path, "token_file");
    if (inline_token != nullptr) {
      r.error(*n, key, "give either 'token' or 'token_file', not both");
      return;
    }
    std::ifstream in(file, std::ios::binary);
    std::string text;
    if (in) text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (!in && text.empty()) {
      r.error(*n, key, "cannot read " + quoted(file) + ": " + std::strerror(errno));
      return;
    }
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    if (!valid_token(text)) {
      r.error(*n, key, quoted(file) + " must hold " + std::string(token_accepted) + " (one line)");
      return;
    }
    c.token = text;
    c.token_file = file;
  }
}

}  // namespace smpp::control::detail
