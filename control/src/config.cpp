// The TOML configuration loader: toml++ parses, this file validates every key and reports every
// error with file, line, column, the dotted key and what is accepted (config/README.md).
#include <arpa/inet.h>
#include <sodium.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <map>
#include <sstream>
#include <tuple>

#include <toml++/toml.h>

#include "smpp/control/config.hpp"
#include "smpp/dataplane/dpdk/fault.hpp"

namespace smpp::control {
namespace {

// SMPP 3.4 §5.2: C-Octet String maxima include the terminating NUL, so the text is one shorter.
constexpr std::size_t max_system_id_chars = 15;    // system_id: 16 octets
constexpr std::size_t max_password_chars = 8;      // password: 9 octets
constexpr std::size_t max_system_type_chars = 12;  // system_type: 13 octets
constexpr std::size_t max_service_type_chars = 5;  // service_type: 6 octets
constexpr std::size_t max_address_chars = 20;      // source_addr, destination_addr: 21 octets
constexpr std::size_t max_name_chars = 64;         // tenant and upstream names (metric labels)
constexpr int64_t max_cpu = 4095;
constexpr int64_t max_timeout_ms = 86'400'000;  // one day

struct int_range {
  int64_t min;
  int64_t max;
};

constexpr int_range window_range{1, 65535};
constexpr int_range max_binds_range{1, 65535};
constexpr int_range rate_range{0, 1'000'000};
constexpr int_range weight_range{1, 65535};
constexpr int_range count_range{1, 1024};
constexpr int_range command_length_range{1024, 16 * 1024 * 1024};
constexpr int_range connections_range{1, 1 << 20};
constexpr int_range send_queue_range{4096, 1 << 30};
constexpr int_range timeout_range{1, max_timeout_ms};
constexpr int_range idle_ms_range{0, max_timeout_ms};
constexpr int_range hold_max_range{0, 10'000'000};
constexpr int_range hold_ttl_range{1, 30 * 86'400};
constexpr int_range deliver_window_range{1, 65535};
constexpr int_range idle_unbind_range{1, 86'400};
constexpr int_range lockout_failures_range{0, 1'000'000};
constexpr int_range correlation_capacity_range{1, 1'000'000'000};
constexpr int_range correlation_ttl_range{1, 30 * 86'400};
constexpr int_range frame_ms_range{10, 10'000};
constexpr int_range cap_range{1, 1'000'000};
constexpr int_range queue_max_range{1, 1'000'000};
constexpr std::string_view mode_accepted = "\"work-conserving\" or \"strict\"";
constexpr std::string_view queue_full_accepted = "\"throttle\" or \"backpressure\"";
constexpr std::string_view radix_accepted = "one of \"auto\", \"hex\", \"decimal\", \"text\"";

constexpr std::string_view name_accepted = "a name of 1..64 characters A-Z a-z 0-9 '_' '-' '.'";
constexpr std::string_view listen_accepted =
    "\"ip:port\" with an IPv4 address or a bracketed IPv6 address and a port 1..65535 "
    "(e.g. \"0.0.0.0:2775\", \"[::1]:2775\")";
constexpr std::string_view address_accepted =
    "\"host:port\" with a host name, an IPv4 address or a bracketed IPv6 address and a port "
    "1..65535 (e.g. \"smsc.example.net:2775\")";
constexpr std::string_view cidr_accepted =
    "a CIDR network such as \"10.0.0.0/8\" or \"2001:db8::/32\"";
constexpr std::string_view workers_accepted =
    "\"auto\" or a non-empty array of distinct CPU numbers 0..4095";
constexpr std::string_view prefix_accepted =
    "a string of at most 20 digits, optionally starting with '+'";

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

std::optional<std::string_view> closest(std::string_view word,
                                        std::initializer_list<std::string_view> candidates) {
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

std::string list_text(std::initializer_list<std::string_view> items) {
  std::string s;
  for (std::string_view i : items) s += (s.empty() ? "" : ", ") + std::string(i);
  return s;
}

bool valid_name(std::string_view s) {
  if (s.empty() || s.size() > max_name_chars) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
  });
}

bool printable_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
}

bool valid_prefix(std::string_view s) {
  if (s.size() > max_address_chars) return false;
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A decimal number without sign or leading zeros, at most `max`.
std::optional<uint32_t> parse_decimal(std::string_view s, uint32_t max) {
  if (s.empty() || s.size() > 10 || (s.size() > 1 && s.front() == '0')) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > max) return std::nullopt;
  return static_cast<uint32_t>(v);
}

bool looks_like_ipv4(std::string_view s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](char c) { return c == '.' || (c >= '0' && c <= '9'); });
}

// RFC 1123 §2.1 host names: dot-separated labels of letters, digits and inner hyphens.
bool valid_host_name(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  if (s.back() == '.') s.remove_suffix(1);
  while (true) {
    const std::size_t dot = s.find('.');
    const std::string_view label = s.substr(0, dot);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      const bool ok =
          (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
      if (!ok) return false;
    }
    if (dot == std::string_view::npos) return true;
    s.remove_prefix(dot + 1);
  }
}

struct host_port {
  std::string host;
  uint16_t port = 0;
};

// "1.2.3.4:2775", "[::1]:2775" and, when allow_names, "smsc.example.net:2775". Returns the reason
// when the text is rejected.
std::string parse_host_port(std::string_view text, bool allow_names, host_port& out) {
  if (text.find('\0') != std::string_view::npos) return "contains a NUL character";
  std::string_view host;
  std::string_view port;
  bool ipv6 = false;
  if (!text.empty() && text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos) return "missing ']' after the IPv6 address";
    host = text.substr(1, close - 1);
    if (close + 1 >= text.size() || text[close + 1] != ':') return "missing ':port'";
    port = text.substr(close + 2);
    ipv6 = true;
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return "missing ':port'";
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return "an IPv6 address must be written in brackets";
    }
  }
  const std::string h(host);
  unsigned char buf[16];
  if (h.empty()) return "missing host";
  if (ipv6) {
    if (inet_pton(AF_INET6, h.c_str(), buf) != 1) return "invalid IPv6 address " + quoted(h);
  } else if (inet_pton(AF_INET, h.c_str(), buf) != 1) {
    if (!allow_names) return quoted(h) + " is not an IP address";
    if (looks_like_ipv4(h)) return "invalid IPv4 address " + quoted(h);
    if (!valid_host_name(h)) return "invalid host name " + quoted(h);
  }
  const auto p = parse_decimal(port, 65535);
  if (!p || *p == 0) return "invalid port " + quoted(port);
  out.host = h;
  out.port = static_cast<uint16_t>(*p);
  return {};
}

bool is_password_hash(const std::string& s) {
  if (s.empty() || s.size() >= crypto_pwhash_STRBYTES || s.find('\0') != std::string::npos) {
    return false;
  }
  // -1: not an argon2id/argon2i string libsodium can verify; 0/1: valid, whatever its limits.
  return crypto_pwhash_str_needs_rehash(s.c_str(), password_hash_opslimit,
                                        password_hash_memlimit_bytes) != -1;
}

std::string ip_text(const ip_network& n) {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(n.ipv6 ? AF_INET6 : AF_INET, n.address.data(), buf, sizeof buf);
  return buf;
}

class loader {
 public:
  explicit loader(std::string file) : file_(std::move(file)) {}

  config_result run(std::string_view text);

 private:
  void error(const toml::source_region& where, std::string key, std::string message) {
    errors_.push_back(config_error{file_, where.begin.line, where.begin.column, std::move(key),
                                   std::move(message)});
  }
  void error(const toml::node& at, std::string key, std::string message) {
    error(at.source(), std::move(key), std::move(message));
  }
  void wrong(const toml::node& at, std::string key, std::string_view accepted) {
    error(at, std::move(key), "must be " + std::string(accepted) + " (got " + describe(at) + ")");
  }

  void check_keys(const toml::table& t, const std::string& path,
                  std::initializer_list<std::string_view> accepted);
  const toml::table* table_of(const toml::table& parent, std::string_view key,
                              const std::string& path);
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
  const toml::value<std::string>* read_limited(const toml::table& t, std::string_view key,
                                               const std::string& path, std::size_t min_chars,
                                               std::size_t max_chars, std::string_view field,
                                               bool required, std::string& out);

  void load_router(const toml::table& root, router_config& c);
  void load_router_tls(const toml::table& router, router_config& c);
  void load_upstream_tls(const toml::table& upstream, const std::string& path, upstream_config& c);
  bool read_path(const toml::table& t, std::string_view key, const std::string& path, bool required,
                 std::string& out);
  void load_timeouts(const toml::table& root, timeouts_config& c);
  void load_correlation(const toml::table& root, correlation_config& c);
  void load_security(const toml::table& root, security_config& c);
  void load_admin(const toml::table& root, admin_config& c);
  void load_dpdk(const toml::table& root, router_config& c);
  void load_dpdk_port(const toml::table& t, const std::string& path, bool required,
                      dpdk_port_config& p);
  void read_string_list(const toml::table& t, std::string_view key, const std::string& path,
                        std::string_view accepted, bool (*valid)(std::string_view),
                        std::vector<std::string>& out);
  void load_mo_routes(const toml::table& root, const router_config& c,
                      std::vector<mo_route_config>& out);
  bool read_bool(const toml::table& t, std::string_view key, const std::string& path, bool& out);
  void read_radix(const toml::table& t, std::string_view key, const std::string& path,
                  codec::id_radix& out);
  void load_tenants(const toml::table& root, std::vector<tenant_config>& out);
  void load_upstreams(const toml::table& root, const std::vector<tenant_config>& tenants,
                      std::vector<upstream_config>& out);
  void load_schedule(const toml::table& upstream, const std::string& path,
                     const std::vector<tenant_config>& tenants, upstream_config& c);
  void load_routes(const toml::table& root, const router_config& c, std::vector<route_config>& out);

  std::string file_;
  std::vector<config_error> errors_;
};

void loader::check_keys(const toml::table& t, const std::string& path,
                        std::initializer_list<std::string_view> accepted) {
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

const toml::table* loader::table_of(const toml::table& parent, std::string_view key,
                                    const std::string& path) {
  const toml::node* n = parent.get(key);
  if (n == nullptr) return nullptr;
  if (!n->is_table()) {
    wrong(*n, join(path, key), "a table ([" + std::string(key) + "])");
    return nullptr;
  }
  return n->as_table();
}

std::vector<std::pair<const toml::table*, std::string>> loader::tables_of(const toml::table& parent,
                                                                          std::string_view key,
                                                                          const std::string& path) {
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

const toml::node* loader::read_int(const toml::table& t, std::string_view key,
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

const toml::value<std::string>* loader::read_string(const toml::table& t, std::string_view key,
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

const toml::value<std::string>* loader::require_string(const toml::table& t, std::string_view key,
                                                       const std::string& path,
                                                       std::string_view accepted) {
  if (!t.contains(key)) {
    error(t, join(path, key), "is required: " + std::string(accepted));
    return nullptr;
  }
  return read_string(t, key, path, accepted);
}

const toml::value<std::string>* loader::read_limited(const toml::table& t, std::string_view key,
                                                     const std::string& path, std::size_t min_chars,
                                                     std::size_t max_chars, std::string_view field,
                                                     bool required, std::string& out) {
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

void loader::load_router(const toml::table& root, router_config& c) {
  const toml::table* t = table_of(root, "router", "");
  const std::string path = "router";
  if (t == nullptr) {
    c.listeners.push_back(listener_config{});
    return;
  }
  check_keys(*t, path,
             {"listen", "tls", "workers", "max_command_length", "max_connections",
              "max_send_queue_bytes", "transport"});

  if (const toml::node* n = t->get("listen"); n == nullptr) {
    c.listeners.push_back(listener_config{});
  } else if (!n->is_array()) {
    wrong(*n, join(path, "listen"), "an array of " + std::string(listen_accepted));
  } else if (n->as_array()->empty()) {
    error(*n, join(path, "listen"),
          "must name at least one listener: an array of " + std::string(listen_accepted));
  } else {
    const toml::array& a = *n->as_array();
    std::map<std::pair<std::string, uint16_t>, uint32_t> seen;
    for (std::size_t i = 0; i < a.size(); ++i) {
      const toml::node& e = *a.get(i);
      const std::string key = indexed(join(path, "listen"), i);
      if (!e.is_string()) {
        wrong(e, key, listen_accepted);
        continue;
      }
      host_port hp;
      if (std::string why = parse_host_port(e.as_string()->get(), false, hp); !why.empty()) {
        error(e, key, why + ": must be " + std::string(listen_accepted));
        continue;
      }
      const auto [it, fresh] = seen.emplace(std::pair{hp.host, hp.port}, e.source().begin.line);
      if (!fresh) {
        error(e, key,
              "duplicate listener " + quoted(e.as_string()->get()) + " (first at line " +
                  std::to_string(it->second) + ")");
        continue;
      }
      c.listeners.push_back(listener_config{hp.host, hp.port});
    }
  }

  if (const toml::node* n = t->get("workers")) {
    const std::string key = join(path, "workers");
    if (const auto* s = n->as_string(); s != nullptr && s->get() == "auto") {
      c.workers = workers_config{};
    } else if (const toml::array* a = n->as_array(); a != nullptr && !a->empty()) {
      workers_config w{false, {}};
      bool ok = true;
      for (std::size_t i = 0; i < a->size(); ++i) {
        const toml::node& e = *a->get(i);
        const auto* v = e.as_integer();
        if (v == nullptr || v->get() < 0 || v->get() > max_cpu) {
          wrong(e, indexed(key, i), "a CPU number 0..4095");
          ok = false;
          continue;
        }
        const auto cpu = static_cast<uint32_t>(v->get());
        if (std::find(w.cpus.begin(), w.cpus.end(), cpu) != w.cpus.end()) {
          error(e, indexed(key, i),
                "CPU " + std::to_string(cpu) + " is listed twice: must be " +
                    std::string(workers_accepted));
          ok = false;
          continue;
        }
        w.cpus.push_back(cpu);
      }
      if (ok) c.workers = std::move(w);
    } else {
      wrong(*n, key, workers_accepted);
    }
  }

  load_router_tls(*t, c);

  constexpr std::string_view transport_accepted = "\"kernel\" or \"dpdk\"";
  if (const auto* s = read_string(*t, "transport", path, transport_accepted)) {
    if (s->get() == "kernel") {
      c.transport = transport_kind::kernel;
    } else if (s->get() == "dpdk") {
      c.transport = transport_kind::dpdk;
    } else {
      wrong(*s, join(path, "transport"), transport_accepted);
    }
  }

  read_int(*t, "max_command_length", path, command_length_range, c.limits.max_command_length);
  read_int(*t, "max_connections", path, connections_range, c.limits.max_connections);
  read_int(*t, "max_send_queue_bytes", path, send_queue_range, c.limits.max_send_queue_bytes);
}

// A file path: non-empty, no NUL; relative paths are taken from the configuration's directory.
bool loader::read_path(const toml::table& t, std::string_view key, const std::string& path,
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
  const std::size_t slash = file_.rfind('/');
  out = v.front() == '/' || slash == std::string::npos ? v : file_.substr(0, slash + 1) + v;
  return true;
}

void loader::load_router_tls(const toml::table& router, router_config& c) {
  const toml::table* t = table_of(router, "tls", "router");
  if (t == nullptr) return;
  const std::string path = "router.tls";
  check_keys(*t, path, {"listen", "cert_file", "key_file", "min_version"});
  const toml::node* n = t->get("listen");
  if (n == nullptr || !n->is_array() || n->as_array()->empty()) {
    if (n == nullptr) {
      error(*t, join(path, "listen"), "is required: an array of " + std::string(listen_accepted));
    } else {
      wrong(*n, join(path, "listen"), "a non-empty array of " + std::string(listen_accepted));
    }
  } else {
    const toml::array& a = *n->as_array();
    for (std::size_t i = 0; i < a.size(); ++i) {
      const toml::node& e = *a.get(i);
      const std::string key = indexed(join(path, "listen"), i);
      if (!e.is_string()) {
        wrong(e, key, listen_accepted);
        continue;
      }
      host_port hp;
      if (std::string why = parse_host_port(e.as_string()->get(), false, hp); !why.empty()) {
        error(e, key, why + ": must be " + std::string(listen_accepted));
        continue;
      }
      // SO_REUSEPORT would let a plain and a TLS listener share a port and split its clients.
      const bool taken = std::any_of(c.listeners.begin(), c.listeners.end(), [&](const auto& l) {
        return l.host == hp.host && l.port == hp.port;
      });
      if (taken) {
        error(e, key,
              "duplicate listener " + quoted(e.as_string()->get()) +
                  " (already in router.listen or router.tls.listen)");
        continue;
      }
      c.listeners.push_back(listener_config{hp.host, hp.port, true});
    }
  }
  read_path(*t, "cert_file", path, true, c.tls.cert_file);
  read_path(*t, "key_file", path, true, c.tls.key_file);
  constexpr std::string_view version_accepted = "\"1.2\" or \"1.3\"";
  if (const auto* s = read_string(*t, "min_version", path, version_accepted)) {
    if (s->get() == "1.2") {
      c.tls.min_version = tls_version::v1_2;
    } else if (s->get() == "1.3") {
      c.tls.min_version = tls_version::v1_3;
    } else {
      wrong(*s, join(path, "min_version"), version_accepted);
    }
  }
}

void loader::load_upstream_tls(const toml::table& upstream, const std::string& upath,
                               upstream_config& c) {
  const toml::table* t = table_of(upstream, "tls", upath);
  if (t == nullptr) return;
  const std::string path = join(upath, "tls");
  check_keys(*t, path, {"enabled", "ca_file", "server_name", "pin_sha256"});
  c.tls.enabled = true;  // a [upstreams.tls] table means TLS unless enabled = false
  if (const toml::node* n = t->get("enabled")) {
    if (const auto* b = n->as_boolean()) {
      c.tls.enabled = b->get();
    } else {
      wrong(*n, join(path, "enabled"), "a boolean");
    }
  }
  read_path(*t, "ca_file", path, false, c.tls.ca_file);
  constexpr std::string_view name_accepted_tls = "a host name or an IP address";
  if (const auto* s = read_string(*t, "server_name", path, name_accepted_tls)) {
    const std::string& v = s->get();
    unsigned char buf[16];
    const bool ip =
        inet_pton(AF_INET, v.c_str(), buf) == 1 || inet_pton(AF_INET6, v.c_str(), buf) == 1;
    if (v.find('\0') == std::string::npos && (ip || valid_host_name(v))) {
      c.tls.server_name = v;
    } else {
      error(*s, join(path, "server_name"),
            "invalid server name " + quoted(v) + ": must be " + std::string(name_accepted_tls));
    }
  }
  constexpr std::string_view pin_accepted =
      "the SHA-256 of the server certificate (DER) as 64 hex digits, colons allowed "
      "(openssl x509 -noout -fingerprint -sha256)";
  if (const auto* s = read_string(*t, "pin_sha256", path, pin_accepted)) {
    std::string hex;
    bool ok = true;
    for (char ch : s->get()) {
      if (ch == ':') continue;
      const bool digit =
          (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
      if (!digit) ok = false;
      hex += static_cast<char>(ch | (ch >= 'A' && ch <= 'F' ? 0x20 : 0));
    }
    if (ok && hex.size() == 64) {
      c.tls.pin_sha256 = hex;
    } else {
      error(*s, join(path, "pin_sha256"), "must be " + std::string(pin_accepted));
    }
  }
}

void loader::load_timeouts(const toml::table& root, timeouts_config& c) {
  const toml::table* t = table_of(root, "timeouts", "");
  if (t == nullptr) return;
  const std::string path = "timeouts";
  check_keys(*t, path,
             {"bind_ms", "enquire_link_interval_ms", "dead_peer_ms", "response_ms",
              "partial_pdu_ms", "reconnect_min_ms", "reconnect_max_ms", "esme_idle_ms"});
  const std::size_t errors_before = errors_.size();
  read_int(*t, "bind_ms", path, timeout_range, c.bind_ms);
  read_int(*t, "enquire_link_interval_ms", path, timeout_range, c.enquire_link_interval_ms);
  const toml::node* dead = read_int(*t, "dead_peer_ms", path, timeout_range, c.dead_peer_ms);
  read_int(*t, "response_ms", path, timeout_range, c.response_ms);
  read_int(*t, "partial_pdu_ms", path, timeout_range, c.partial_pdu_ms);
  read_int(*t, "esme_idle_ms", path, idle_ms_range, c.esme_idle_ms);
  const toml::node* rmin =
      read_int(*t, "reconnect_min_ms", path, timeout_range, c.reconnect_min_ms);
  const toml::node* rmax =
      read_int(*t, "reconnect_max_ms", path, timeout_range, c.reconnect_max_ms);

  if (errors_.size() != errors_before) return;  // cross-checks only between valid values
  // A healthy but idle peer answers enquire_link; closing it before the next one is a false alarm.
  if (c.dead_peer_ms <= c.enquire_link_interval_ms) {
    error(dead != nullptr ? dead->source() : t->source(), join(path, "dead_peer_ms"),
          "must be greater than enquire_link_interval_ms (" +
              std::to_string(c.enquire_link_interval_ms) + ")");
  }
  if (c.reconnect_min_ms > c.reconnect_max_ms) {
    const toml::node* at = rmax != nullptr ? rmax : rmin;
    error(at != nullptr ? at->source() : t->source(), join(path, "reconnect_max_ms"),
          "must be at least reconnect_min_ms (" + std::to_string(c.reconnect_min_ms) + ")");
  }
}

void loader::load_tenants(const toml::table& root, std::vector<tenant_config>& out) {
  std::map<std::string, uint32_t> names;     // name -> line
  std::map<std::string, std::string> ids;    // system_id -> tenant name
  std::map<std::string, uint32_t> id_lines;  // system_id -> line
  for (const auto& [t, path] : tables_of(root, "tenants", "")) {
    check_keys(*t, path,
               {"name", "system_id", "password_hash", "password", "allowed_networks", "max_binds",
                "window", "hold_max", "hold_ttl_s", "deliver_window", "weight", "queue_full"});
    tenant_config c;
    if (const auto* s = require_string(*t, "name", path, name_accepted)) {
      if (!valid_name(s->get())) {
        error(*s, join(path, "name"),
              "invalid name " + quoted(s->get()) + ": must be " + std::string(name_accepted));
      } else if (auto [it, fresh] = names.emplace(s->get(), s->source().begin.line); !fresh) {
        error(*s, join(path, "name"),
              "duplicate tenant name " + quoted(s->get()) + " (first defined at line " +
                  std::to_string(it->second) + ")");
      } else {
        c.name = s->get();
      }
    }
    if (const auto* s = read_limited(*t, "system_id", path, 1, max_system_id_chars, "3.4 system_id",
                                     true, c.system_id)) {
      if (auto it = ids.find(c.system_id); it != ids.end()) {
        error(*s, join(path, "system_id"),
              "duplicate system_id " + quoted(c.system_id) + " (already used by tenant " +
                  quoted(it->second) + " at line " + std::to_string(id_lines[c.system_id]) + ")");
      } else {
        ids.emplace(c.system_id, c.name);
        id_lines.emplace(c.system_id, s->source().begin.line);
      }
    }

    const toml::node* hash = t->get("password_hash");
    const toml::node* clear = t->get("password");
    if (hash == nullptr && clear == nullptr) {
      error(*t, join(path, "password_hash"),
            "is required: set 'password_hash' (an argon2id string, preferred) or 'password' "
            "(hashed at load)");
    } else if (hash != nullptr && clear != nullptr) {
      const bool clear_later = std::tie(clear->source().begin.line, clear->source().begin.column) >
                               std::tie(hash->source().begin.line, hash->source().begin.column);
      error(clear_later ? *clear : *hash, join(path, clear_later ? "password" : "password_hash"),
            "set either 'password_hash' or 'password', not both");
    } else if (hash != nullptr) {
      constexpr std::string_view accepted =
          "an argon2id string from crypto_pwhash_str, e.g. \"$argon2id$v=19$m=256,t=1,p=1$...\"";
      if (const auto* s = read_string(*t, "password_hash", path, accepted)) {
        if (is_password_hash(s->get())) {
          c.password_hash = s->get();
        } else {
          error(*s, join(path, "password_hash"),
                "not a valid password hash: must be " + std::string(accepted));
        }
      }
    } else {
      std::string password;
      if (read_limited(*t, "password", path, 1, max_password_chars, "3.4 password", false,
                       password)) {
        c.password_hash = hash_password(password);
      }
    }

    if (const toml::node* n = t->get("allowed_networks")) {
      const std::string key = join(path, "allowed_networks");
      if (const toml::array* a = n->as_array()) {
        for (std::size_t i = 0; i < a->size(); ++i) {
          const toml::node& e = *a->get(i);
          if (!e.is_string()) {
            wrong(e, indexed(key, i), cidr_accepted);
            continue;
          }
          const cidr_result r = parse_cidr(e.as_string()->get());
          if (!r.network) {
            error(e, indexed(key, i), r.error + ": must be " + std::string(cidr_accepted));
            continue;
          }
          c.allowed_networks.push_back(e.as_string()->get());
        }
      } else {
        wrong(*n, key, "an array of " + std::string(cidr_accepted) + " ([] or absent: any)");
      }
    }
    read_int(*t, "max_binds", path, max_binds_range, c.max_binds);
    read_int(*t, "window", path, window_range, c.window);
    read_int(*t, "hold_max", path, hold_max_range, c.hold_max);
    read_int(*t, "hold_ttl_s", path, hold_ttl_range, c.hold_ttl_s);
    read_int(*t, "deliver_window", path, deliver_window_range, c.deliver_window);
    read_int(*t, "weight", path, weight_range, c.weight);
    if (const auto* q = read_string(*t, "queue_full", path, queue_full_accepted)) {
      if (q->get() == "backpressure") {
        c.backpressure = true;
      } else if (q->get() != "throttle") {
        wrong(*q, join(path, "queue_full"), queue_full_accepted);
      }
    }
    out.push_back(std::move(c));
  }
}

void loader::load_upstreams(const toml::table& root, const std::vector<tenant_config>& tenants,
                            std::vector<upstream_config>& out) {
  std::map<std::string, uint32_t> names;
  for (const auto& [t, path] : tables_of(root, "upstreams", "")) {
    check_keys(*t, path,
               {"name", "address", "binds", "tls", "message_id_radix", "receipt_id_radix",
                "on_demand", "idle_unbind_s", "rate_per_s", "frame_ms", "mode", "shares"});
    upstream_config c;
    if (const auto* s = require_string(*t, "name", path, name_accepted)) {
      if (!valid_name(s->get())) {
        error(*s, join(path, "name"),
              "invalid name " + quoted(s->get()) + ": must be " + std::string(name_accepted));
      } else if (auto [it, fresh] = names.emplace(s->get(), s->source().begin.line); !fresh) {
        error(*s, join(path, "name"),
              "duplicate upstream name " + quoted(s->get()) + " (first defined at line " +
                  std::to_string(it->second) + ")");
      } else {
        c.name = s->get();
      }
    }
    if (const auto* s = require_string(*t, "address", path, address_accepted)) {
      host_port hp;
      if (std::string why = parse_host_port(s->get(), true, hp); !why.empty()) {
        error(*s, join(path, "address"), why + ": must be " + std::string(address_accepted));
      } else {
        c.host = hp.host;
        c.port = hp.port;
      }
    }

    const toml::node* binds_node = t->get("binds");
    if (binds_node == nullptr || (binds_node->is_array() && binds_node->as_array()->empty())) {
      error(binds_node != nullptr ? *binds_node : *t, join(path, "binds"),
            "is required: at least one [[upstreams.binds]] table");
    }
    for (const auto& [b, bpath] : tables_of(*t, "binds", path)) {
      check_keys(*b, bpath,
                 {"system_id", "password", "system_type", "type", "window", "rate_per_s", "weight",
                  "count"});
      upstream_bind_config bc;
      read_limited(*b, "system_id", bpath, 1, max_system_id_chars, "3.4 system_id", true,
                   bc.system_id);
      read_limited(*b, "password", bpath, 0, max_password_chars, "3.4 password", false,
                   bc.password);
      read_limited(*b, "system_type", bpath, 0, max_system_type_chars, "3.4 system_type", false,
                   bc.system_type);
      constexpr std::string_view type_accepted =
          "one of \"transmitter\", \"receiver\", \"transceiver\"";
      if (const auto* s = read_string(*b, "type", bpath, type_accepted)) {
        if (s->get() == "transmitter") {
          bc.type = bind_type::transmitter;
        } else if (s->get() == "receiver") {
          bc.type = bind_type::receiver;
        } else if (s->get() == "transceiver") {
          bc.type = bind_type::transceiver;
        } else {
          wrong(*s, join(bpath, "type"), type_accepted);
        }
      }
      read_int(*b, "window", bpath, window_range, bc.window);
      read_int(*b, "rate_per_s", bpath, rate_range, bc.rate_per_s);
      read_int(*b, "weight", bpath, weight_range, bc.weight);
      read_int(*b, "count", bpath, count_range, bc.count);
      c.binds.push_back(std::move(bc));
    }
    load_upstream_tls(*t, path, c);
    read_radix(*t, "message_id_radix", path, c.message_id_radix);
    read_radix(*t, "receipt_id_radix", path, c.receipt_id_radix);
    read_bool(*t, "on_demand", path, c.on_demand);
    read_int(*t, "idle_unbind_s", path, idle_unbind_range, c.idle_unbind_s);
    load_schedule(*t, path, tenants, c);
    out.push_back(std::move(c));
  }
}

// The TDMA schedule of an upstream: rate_per_s, frame_ms, mode and [[upstreams.shares]]
// (config/README.md). What only the planner can tell (a cap below one slot of the frame) is
// reported by build_snapshot.
void loader::load_schedule(const toml::table& t, const std::string& path,
                           const std::vector<tenant_config>& tenants, upstream_config& c) {
  const std::size_t errors_before = errors_.size();
  const toml::node* rate = read_int(t, "rate_per_s", path, rate_range, c.rate_per_s);
  read_int(t, "frame_ms", path, frame_ms_range, c.frame_ms);
  const auto* mode = read_string(t, "mode", path, mode_accepted);
  if (mode != nullptr) {
    if (mode->get() == "strict") {
      c.strict = true;
    } else if (mode->get() != "work-conserving") {
      wrong(*mode, join(path, "mode"), mode_accepted);
    }
  }
  std::map<std::string, uint32_t> seen;  // tenant -> line
  const toml::node* first_share = nullptr;
  std::vector<std::pair<const toml::table*, std::string>> share_tables =
      tables_of(t, "shares", path);
  for (const auto& [s, spath] : share_tables) {
    check_keys(*s, spath, {"tenant", "weight", "cap_per_s", "guarantee_per_s", "queue_max"});
    if (first_share == nullptr) first_share = s;
    upstream_share_config share;
    if (const auto* n = require_string(*s, "tenant", spath, "a tenant name")) {
      const auto it = std::find_if(tenants.begin(), tenants.end(),
                                   [&](const tenant_config& x) { return x.name == n->get(); });
      if (it == tenants.end()) {
        std::string defined;
        for (const auto& x : tenants) defined += (defined.empty() ? "" : ", ") + x.name;
        error(*n, join(spath, "tenant"),
              "unknown tenant " + quoted(n->get()) +
                  " (defined: " + (defined.empty() ? "none" : defined) + ")");
      } else if (auto [at, fresh] = seen.emplace(n->get(), n->source().begin.line); !fresh) {
        error(*n, join(spath, "tenant"),
              "tenant " + quoted(n->get()) + " already has a share of this upstream (line " +
                  std::to_string(at->second) + ")");
      } else {
        share.tenant = n->get();
        share.weight = it->weight;
      }
    }
    read_int(*s, "weight", spath, weight_range, share.weight);
    const toml::node* cap = read_int(*s, "cap_per_s", spath, cap_range, share.cap_per_s);
    const toml::node* guarantee =
        read_int(*s, "guarantee_per_s", spath, rate_range, share.guarantee_per_s);
    read_int(*s, "queue_max", spath, queue_max_range, share.queue_max);
    if (cap != nullptr && guarantee != nullptr && share.guarantee_per_s > share.cap_per_s) {
      error(*guarantee, join(spath, "guarantee_per_s"),
            "must be at most cap_per_s (" + std::to_string(share.cap_per_s) + ")");
    }
    c.shares.push_back(std::move(share));
  }
  if (errors_.size() != errors_before) return;  // cross-checks only between valid values

  // The contract: the upstream's rate_per_s, or its sending binds' own rates added up.
  uint64_t own_rates = 0;
  uint64_t unrated = 0;
  for (const auto& b : c.binds) {
    if (b.type == bind_type::receiver) continue;
    own_rates += uint64_t{b.rate_per_s} * b.count;
    if (b.rate_per_s == 0) unrated += b.count;
  }
  const uint64_t contract = c.rate_per_s > 0 ? c.rate_per_s : own_rates;
  if (c.rate_per_s > 0 && own_rates > c.rate_per_s) {
    error(*rate, join(path, "rate_per_s"),
          "is below its binds' own rate_per_s, which add up to " + std::to_string(own_rates) +
              " (count included): the binds would send faster than the contract");
    return;
  }
  if (c.rate_per_s > 0 && unrated > c.rate_per_s - own_rates) {
    error(*rate, join(path, "rate_per_s"),
          "leaves " + std::to_string(c.rate_per_s - own_rates) + " msg/s for " +
              std::to_string(unrated) +
              " sending binds without their own rate_per_s: each needs at least 1");
    return;
  }
  if (contract == 0) {
    if (first_share != nullptr) {
      error(*first_share, join(path, "shares"),
            "has no effect: the upstream has no rate_per_s (set it on the upstream or on its "
            "binds)");
    }
    if (c.strict) {
      error(*mode, join(path, "mode"),
            "\"strict\" needs a rate_per_s on the upstream or its binds");
    }
    return;
  }
  uint64_t guaranteed = 0;
  for (std::size_t i = 0; i < c.shares.size(); ++i) {
    const upstream_share_config& s = c.shares[i];
    const toml::table& st = *share_tables[i].first;
    const std::string& spath = share_tables[i].second;
    if ((s.cap_per_s > 0 || s.guarantee_per_s > 0) && c.rate_per_s == 0 && unrated > 0) {
      error(st, spath,
            "cap_per_s and guarantee_per_s need a rate on every sending bind: set the "
            "upstream's rate_per_s or each bind's");
      return;
    }
    guaranteed += s.guarantee_per_s;
    if (guaranteed > contract) {
      error(*st.get("guarantee_per_s"), join(spath, "guarantee_per_s"),
            "the guarantees add up to " + std::to_string(guaranteed) +
                " msg/s, more than the "
                "upstream's rate of " +
                std::to_string(contract) + " msg/s");
      return;
    }
  }
  if (c.strict && c.rate_per_s == 0 && unrated > 0) {
    error(*mode, join(path, "mode"),
          "\"strict\" needs a rate on every sending bind: set the upstream's rate_per_s or each "
          "bind's");
  }
}

void loader::load_routes(const toml::table& root, const router_config& c,
                         std::vector<route_config>& out) {
  std::string defined_upstreams;
  for (const auto& u : c.upstreams) {
    if (!u.name.empty()) defined_upstreams += (defined_upstreams.empty() ? "" : ", ") + u.name;
  }
  std::string defined_tenants;
  for (const auto& t : c.tenants) {
    if (!t.name.empty()) defined_tenants += (defined_tenants.empty() ? "" : ", ") + t.name;
  }
  const auto find_upstream = [&](const std::string& name) -> const upstream_config* {
    for (const auto& u : c.upstreams) {
      if (u.name == name) return &u;
    }
    return nullptr;
  };

  using match = std::tuple<std::string, std::string, std::string, std::string>;
  std::map<match, std::pair<std::string, uint32_t>> matches;  // -> first route's key and line
  for (const auto& [t, path] : tables_of(root, "routes", "")) {
    check_keys(*t, path,
               {"tenant", "destination_prefix", "source_prefix", "service_type", "upstreams"});
    route_config r;
    bool ok = true;
    if (const auto* s =
            require_string(*t, "tenant", path, "a tenant name or \"*\" (every tenant)")) {
      const bool known = s->get() == "*" ||
                         std::any_of(c.tenants.begin(), c.tenants.end(),
                                     [&](const tenant_config& x) { return x.name == s->get(); });
      if (known) {
        r.tenant = s->get();
      } else {
        error(*s, join(path, "tenant"),
              "unknown tenant " + quoted(s->get()) +
                  " (defined: " + (defined_tenants.empty() ? "none" : defined_tenants) +
                  "; \"*\" means every "
                  "tenant)");
        ok = false;
      }
    } else {
      ok = false;
    }
    for (const auto* key : {"destination_prefix", "source_prefix"}) {
      if (const auto* s = read_string(*t, key, path, prefix_accepted)) {
        if (valid_prefix(s->get())) {
          (std::string_view(key) == "destination_prefix" ? r.destination_prefix : r.source_prefix) =
              s->get();
        } else {
          error(*s, join(path, key),
                "invalid prefix " + quoted(s->get()) + ": must be " + std::string(prefix_accepted));
          ok = false;
        }
      } else if (t->contains(key)) {
        ok = false;
      }
    }
    if (!read_limited(*t, "service_type", path, 0, max_service_type_chars, "3.4 service_type",
                      false, r.service_type) &&
        t->contains("service_type")) {
      ok = false;
    }

    constexpr std::string_view upstreams_accepted =
        "a non-empty array of upstream names, in failover order";
    if (const toml::node* n = t->get("upstreams"); n == nullptr) {
      error(*t, join(path, "upstreams"), "is required: " + std::string(upstreams_accepted));
      ok = false;
    } else if (const toml::array* a = n->as_array(); a == nullptr || a->empty()) {
      wrong(*n, join(path, "upstreams"), upstreams_accepted);
      ok = false;
    } else {
      for (std::size_t i = 0; i < a->size(); ++i) {
        const toml::node& e = *a->get(i);
        const std::string key = indexed(join(path, "upstreams"), i);
        if (!e.is_string()) {
          wrong(e, key, "an upstream name");
          ok = false;
          continue;
        }
        const std::string& name = e.as_string()->get();
        const upstream_config* u = find_upstream(name);
        if (u == nullptr) {
          error(e, key,
                "unknown upstream " + quoted(name) +
                    " (defined: " + (defined_upstreams.empty() ? "none" : defined_upstreams) + ")");
          ok = false;
        } else if (std::find(r.upstreams.begin(), r.upstreams.end(), name) != r.upstreams.end()) {
          error(e, key, "upstream " + quoted(name) + " is listed twice");
          ok = false;
        } else if (!u->binds.empty() &&
                   std::none_of(u->binds.begin(), u->binds.end(),
                                [](const auto& b) { return b.type != bind_type::receiver; })) {
          error(e, key,
                "upstream " + quoted(name) +
                    " has only receiver binds: a route needs a transmitter or transceiver bind "
                    "to send submit_sm");
          ok = false;
        } else {
          r.upstreams.push_back(name);
        }
      }
    }

    if (ok) {
      const uint32_t line = t->source().begin.line;
      match m{r.tenant, r.destination_prefix, r.source_prefix, r.service_type};
      if (auto [it, fresh] = matches.emplace(m, std::pair{path, line}); !fresh) {
        error(*t, path,
              "duplicate route: same tenant, destination_prefix, source_prefix and service_type "
              "as " +
                  it->second.first + " (line " + std::to_string(it->second.second) + ")");
      }
    }
    out.push_back(std::move(r));
  }
}

bool loader::read_bool(const toml::table& t, std::string_view key, const std::string& path,
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

void loader::read_radix(const toml::table& t, std::string_view key, const std::string& path,
                        codec::id_radix& out) {
  const auto* s = read_string(t, key, path, radix_accepted);
  if (s == nullptr) return;
  const std::string& v = s->get();
  if (v == "auto") {
    out = codec::id_radix::auto_detect;
  } else if (v == "hex") {
    out = codec::id_radix::hex;
  } else if (v == "decimal") {
    out = codec::id_radix::decimal;
  } else if (v == "text") {
    out = codec::id_radix::text;
  } else {
    wrong(*s, join(path, key), radix_accepted);
  }
}

void loader::load_correlation(const toml::table& root, correlation_config& c) {
  const toml::table* t = table_of(root, "correlation", "");
  if (t == nullptr) return;
  const std::string path = "correlation";
  check_keys(*t, path, {"capacity", "ttl_s", "note"});
  if (const toml::node* n = t->get("capacity")) {
    const auto* v = n->as_integer();
    if (v == nullptr || v->get() < correlation_capacity_range.min ||
        v->get() > correlation_capacity_range.max) {
      wrong(*n, join(path, "capacity"),
            range_text(correlation_capacity_range) + " (live message ids, all workers together)");
    } else {
      c.capacity = static_cast<uint64_t>(v->get());
    }
  }
  read_int(*t, "ttl_s", path, correlation_ttl_range, c.ttl_s);
  constexpr std::string_view note_accepted = "\"all\" or \"receipts\"";
  if (const auto* s = read_string(*t, "note", path, note_accepted)) {
    if (s->get() == "all") {
      c.note_all = true;
    } else if (s->get() == "receipts") {
      c.note_all = false;
    } else {
      wrong(*s, join(path, "note"), note_accepted);
    }
  }
}

void loader::load_security(const toml::table& root, security_config& c) {
  const toml::table* t = table_of(root, "security", "");
  if (t == nullptr) return;
  const std::string path = "security";
  check_keys(
      *t, path,
      {"bind_fail_delay_ms", "bind_fail_delay_max_ms", "bind_lockout_failures", "bind_lockout_s"});
  read_int(*t, "bind_fail_delay_ms", path, idle_ms_range, c.bind_fail_delay_ms);
  read_int(*t, "bind_fail_delay_max_ms", path, idle_ms_range, c.bind_fail_delay_max_ms);
  read_int(*t, "bind_lockout_failures", path, lockout_failures_range, c.bind_lockout_failures);
  read_int(*t, "bind_lockout_s", path, idle_unbind_range, c.bind_lockout_s);
}

// [admin]: where the admin API listens and the token that changes need.
void loader::load_admin(const toml::table& root, admin_config& c) {
  const toml::table* t = table_of(root, "admin", "");
  if (t == nullptr) return;
  const std::string path = "admin";
  check_keys(*t, path, {"enabled", "listen", "token", "token_file"});
  read_bool(*t, "enabled", path, c.enabled);
  if (const auto* s = read_string(*t, "listen", path, listen_accepted)) {
    host_port hp;
    if (std::string why = parse_host_port(s->get(), false, hp); !why.empty()) {
      error(*s, join(path, "listen"), why + ": must be " + std::string(listen_accepted));
    } else {
      c.host = hp.host;
      c.port = hp.port;
    }
  }
  // A token is a password: long enough not to be guessed, and nothing a header would mangle.
  constexpr std::string_view token_accepted =
      "a string of 16..4096 printable ASCII characters without spaces";
  const auto valid_token = [](std::string_view v) {
    return v.size() >= 16 && v.size() <= 4096 &&
           std::all_of(v.begin(), v.end(), [](char ch) { return ch > 0x20 && ch <= 0x7e; });
  };
  const auto* inline_token = read_string(*t, "token", path, token_accepted);
  if (inline_token != nullptr) {
    if (valid_token(inline_token->get())) {
      c.token = inline_token->get();
    } else {
      error(*inline_token, join(path, "token"), "must be " + std::string(token_accepted));
    }
  }
  std::string file;
  if (const toml::node* n = t->get("token_file");
      n != nullptr && read_path(*t, "token_file", path, false, file)) {
    const std::string key = join(path, "token_file");
    if (inline_token != nullptr) {
      error(*n, key, "give either 'token' or 'token_file', not both");
      return;
    }
    std::ifstream in(file, std::ios::binary);
    std::string text;
    if (in) text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (!in && text.empty()) {
      error(*n, key, "cannot read " + quoted(file) + ": " + std::strerror(errno));
      return;
    }
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    if (!valid_token(text)) {
      error(*n, key, quoted(file) + " must hold " + std::string(token_accepted) + " (one line)");
      return;
    }
    c.token = text;
    c.token_file = file;
  }
}

void loader::load_mo_routes(const toml::table& root, const router_config& c,
                            std::vector<mo_route_config>& out) {
  std::map<std::pair<std::string, std::string>, uint32_t> seen;  // (upstream, prefix) -> line
  for (const auto& [t, path] : tables_of(root, "mo_routes", "")) {
    check_keys(*t, path, {"destination_prefix", "tenant", "upstream"});
    mo_route_config r;
    if (const auto* s = read_string(*t, "destination_prefix", path, prefix_accepted)) {
      if (valid_prefix(s->get())) {
        r.destination_prefix = s->get();
      } else {
        error(*s, join(path, "destination_prefix"),
              "invalid prefix " + quoted(s->get()) + ": must be " + std::string(prefix_accepted));
      }
    }
    if (const auto* s = require_string(*t, "tenant", path, "a tenant name")) {
      if (std::none_of(c.tenants.begin(), c.tenants.end(),
                       [&](const tenant_config& x) { return x.name == s->get(); })) {
        error(*s, join(path, "tenant"), "unknown tenant " + quoted(s->get()));
      } else {
        r.tenant = s->get();
      }
    }
    if (const auto* s = read_string(*t, "upstream", path, "an upstream name")) {
      if (std::none_of(c.upstreams.begin(), c.upstreams.end(),
                       [&](const upstream_config& x) { return x.name == s->get(); })) {
        error(*s, join(path, "upstream"), "unknown upstream " + quoted(s->get()));
      } else {
        r.upstream = s->get();
      }
    }
    const uint32_t line = t->source().begin.line;
    if (auto [it, fresh] = seen.emplace(std::pair{r.upstream, r.destination_prefix}, line);
        !fresh) {
      error(*t, path,
            "duplicate MO route: same upstream and destination_prefix as the one at line " +
                std::to_string(it->second));
    }
    out.push_back(std::move(r));
  }
}

// ---- [dpdk] ------------------------------------------------------------------------------------

constexpr std::string_view vdev_accepted =
    "an EAL --vdev string: a driver name and ',key=value' options, 1..256 printable characters "
    "without spaces (e.g. \"net_tap0,iface=smpp0\")";
constexpr std::string_view pci_accepted =
    "a PCI address \"DDDD:BB:DD.F\" or \"BB:DD.F\" in hexadecimal (e.g. \"0000:03:00.0\")";
constexpr std::string_view file_prefix_accepted =
    "a name of 1..64 characters A-Z a-z 0-9 '_' '-' '.', distinct per DPDK process on the host";
constexpr std::string_view log_level_accepted =
    "one of \"emergency\", \"alert\", \"critical\", \"error\", \"warning\", \"notice\", \"info\", "
    "\"debug\"";
constexpr std::string_view port_accepted =
    "a PCI address (\"0000:03:00.0\") or a virtual device's name (\"net_tap0\"), 1..256 "
    "printable characters without spaces";
constexpr std::string_view dpdk_ipv4_accepted =
    "\"A.B.C.D/N\": the router's unicast IPv4 address on the port and its prefix length 1..32 "
    "(e.g. \"192.0.2.10/24\")";
constexpr std::string_view gateway_accepted =
    "an IPv4 address on the subnet of dpdk.ipv4, not the router's own (e.g. \"192.0.2.1\")";
constexpr std::string_view arp_accepted =
    "an array of inline tables {ip = \"A.B.C.D\", mac = \"xx:xx:xx:xx:xx:xx\"} with a unicast "
    "IPv4 address and a unicast Ethernet address";
constexpr int_range memory_mb_range{0, 1 << 20};
constexpr int_range tcp_connections_range{16, 1 << 20};
constexpr std::size_t max_dpdk_ports = 8;  // [dpdk] and its extra_ports together
constexpr int_range mtu_range{576, 9000};  // RFC 791: every host takes 576-octet datagrams
constexpr int_range idle_sleep_us_range{0, 10'000};  // 10 ms: the latency an idle worker may add

bool printable_no_space(std::string_view v, std::size_t max_chars) {
  return !v.empty() && v.size() <= max_chars &&
         std::all_of(v.begin(), v.end(), [](char ch) { return ch > 0x20 && ch < 0x7f; });
}

bool valid_vdev(std::string_view v) {
  return printable_no_space(v, 256);
}

bool all_hex(std::string_view s, std::size_t n) {
  return s.size() == n && std::all_of(s.begin(), s.end(), [](char ch) {
           return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
         });
}

// DDDD:BB:DD.F or BB:DD.F (device 00..1f, function 0..7).
bool valid_pci(std::string_view v) {
  const std::size_t dot = v.rfind('.');
  if (dot == std::string_view::npos || dot + 2 != v.size() || v[dot + 1] < '0' ||
      v[dot + 1] > '7') {
    return false;
  }
  std::string_view rest = v.substr(0, dot);
  if (std::count(rest.begin(), rest.end(), ':') == 2) {
    if (!all_hex(rest.substr(0, 4), 4) || rest.size() < 5 || rest[4] != ':') return false;
    rest = rest.substr(5);
  }
  return rest.size() == 5 && rest[2] == ':' && all_hex(rest.substr(0, 2), 2) &&
         all_hex(rest.substr(3, 2), 2) &&
         std::stoul(std::string(rest.substr(3, 2)), nullptr, 16) < 32;
}

bool valid_file_prefix(std::string_view v) {
  return !v.empty() && v.size() <= 64 && std::all_of(v.begin(), v.end(), [](char ch) {
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           ch == '_' || ch == '-' || ch == '.';
  });
}

// A dotted-quad IPv4 address in host byte order.
std::optional<uint32_t> parse_ipv4(std::string_view text) {
  const std::string s(text);
  in_addr a{};
  if (s.find('\0') != std::string::npos || inet_pton(AF_INET, s.c_str(), &a) != 1) return {};
  return ntohl(a.s_addr);
}

std::string ipv4_text(uint32_t host_order) {
  return std::to_string(host_order >> 24) + "." + std::to_string((host_order >> 16) & 0xff) + "." +
         std::to_string((host_order >> 8) & 0xff) + "." + std::to_string(host_order & 0xff);
}

// RFC 1122 §3.2.1.3: 0/8, 127/8, class D and E are never a host's unicast address.
bool unicast_ipv4(uint32_t a) {
  const uint32_t first = a >> 24;
  return first != 0 && first != 127 && first < 224;
}

uint32_t netmask_of(uint8_t prefix_length) {
  return prefix_length == 0 ? 0 : ~uint32_t{0} << (32 - prefix_length);
}

std::optional<std::array<uint8_t, 6>> parse_mac(std::string_view text) {
  std::array<uint8_t, 6> mac{};
  if (text.size() != 17) return {};
  for (std::size_t i = 0; i < 6; ++i) {
    const std::string_view octet = text.substr(i * 3, 2);
    if (!all_hex(octet, 2) || (i < 5 && text[i * 3 + 2] != ':')) return {};
    mac[i] = static_cast<uint8_t>(std::stoul(std::string(octet), nullptr, 16));
  }
  return mac;
}

void loader::read_string_list(const toml::table& t, std::string_view key, const std::string& path,
                              std::string_view accepted, bool (*valid)(std::string_view),
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

// port, ipv4, gateway, arp of one port ([dpdk] itself or one [[dpdk.extra_ports]]).
void loader::load_dpdk_port(const toml::table& t, const std::string& path, bool required,
                            dpdk_port_config& p) {
  const auto* dev = required ? require_string(t, "port", path, port_accepted)
                             : read_string(t, "port", path, port_accepted);
  if (dev != nullptr) {
    if (printable_no_space(dev->get(), 256)) {
      p.device = dev->get();
    } else {
      wrong(*dev, join(path, "port"), port_accepted);
    }
  }
  const auto* ip = required ? require_string(t, "ipv4", path, dpdk_ipv4_accepted)
                            : read_string(t, "ipv4", path, dpdk_ipv4_accepted);
  if (ip != nullptr) {
    const std::string& v = ip->get();
    const std::size_t slash = v.find('/');
    const auto addr = parse_ipv4(std::string_view(v).substr(0, slash));
    const auto prefix = slash == std::string::npos
                            ? std::nullopt
                            : parse_decimal(std::string_view(v).substr(slash + 1), 32);
    if (!addr || !prefix || *prefix == 0) {
      wrong(*ip, join(path, "ipv4"), dpdk_ipv4_accepted);
    } else if (!unicast_ipv4(*addr)) {
      error(*ip, join(path, "ipv4"),
            quoted(ipv4_text(*addr)) + " is not a unicast host address: must be " +
                std::string(dpdk_ipv4_accepted));
    } else if (const uint32_t mask = netmask_of(static_cast<uint8_t>(*prefix));
               *prefix < 31 && ((*addr & ~mask) == 0 || (*addr & ~mask) == ~mask)) {
      // RFC 1122 §3.2.1.3: all-zeros and all-ones host parts are not host addresses (RFC 3021
      // lifts this for /31 links).
      error(*ip, join(path, "ipv4"),
            quoted(v) + " is the subnet's network or broadcast address: must be " +
                std::string(dpdk_ipv4_accepted));
    } else {
      p.ipv4 = *addr;
      p.prefix_length = static_cast<uint8_t>(*prefix);
    }
  }
  if (const auto* s = read_string(t, "gateway", path, gateway_accepted)) {
    const auto gw = parse_ipv4(s->get());
    const uint32_t mask = netmask_of(p.prefix_length);
    if (!gw || !unicast_ipv4(*gw)) {
      wrong(*s, join(path, "gateway"), gateway_accepted);
    } else if (p.ipv4 != 0 && ((*gw & mask) != (p.ipv4 & mask) || *gw == p.ipv4)) {
      error(*s, join(path, "gateway"),
            quoted(s->get()) +
                (*gw == p.ipv4 ? " is the router's own address" : " is not on the port's subnet") +
                ": must be " + std::string(gateway_accepted));
    } else {
      p.gateway = *gw;
    }
  }
  if (const toml::node* n = t.get("arp")) {
    const std::string key = join(path, "arp");
    const toml::array* a = n->as_array();
    if (a == nullptr) {
      wrong(*n, key, arp_accepted);
      return;
    }
    for (std::size_t i = 0; i < a->size(); ++i) {
      const toml::node& e = *a->get(i);
      const toml::table* et = e.as_table();
      const std::string ekey = indexed(key, i);
      if (et == nullptr) {
        wrong(e, ekey, arp_accepted);
        continue;
      }
      check_keys(*et, ekey, {"ip", "mac"});
      const auto* eip = require_string(*et, "ip", ekey, "an IPv4 address \"A.B.C.D\"");
      const auto* mac = require_string(*et, "mac", ekey, "\"xx:xx:xx:xx:xx:xx\"");
      if (eip == nullptr || mac == nullptr) continue;
      const auto a4 = parse_ipv4(eip->get());
      const auto m = parse_mac(mac->get());
      if (!a4 || !unicast_ipv4(*a4)) {
        wrong(*eip, join(ekey, "ip"), arp_accepted);
      } else if (!m || ((*m)[0] & 1) != 0 || *m == std::array<uint8_t, 6>{}) {
        // IEEE 802-2014 §8.2.2: the low bit of the first octet marks a group address.
        wrong(*mac, join(ekey, "mac"), arp_accepted);
      } else if (std::any_of(p.arp.begin(), p.arp.end(),
                             [&](const dpdk_arp_config& x) { return x.ipv4 == *a4; })) {
        error(*eip, join(ekey, "ip"), quoted(eip->get()) + " has two static ARP entries");
      } else {
        p.arp.push_back(dpdk_arp_config{*a4, *m});
      }
    }
  }
}

void loader::load_dpdk(const toml::table& root, router_config& c) {
  const std::string path = "dpdk";
  const toml::table* t = table_of(root, "dpdk", "");
  dpdk_config& d = c.dpdk;
  if (t != nullptr) {
    check_keys(
        *t, path,
        {"no_huge", "memory_mb", "vdevs", "pci", "file_prefix", "log_level", "port", "ipv4",
         "gateway", "arp", "mtu", "fault", "extra_ports", "tcp_connections", "idle_sleep_us"});
    read_bool(*t, "no_huge", path, d.no_huge);
    read_int(*t, "memory_mb", path, memory_mb_range, d.memory_mb);
    if (d.no_huge && d.memory_mb == 0) d.memory_mb = 256;  // --no-huge reserves it all at start
    read_string_list(*t, "vdevs", path, vdev_accepted, valid_vdev, d.vdevs);
    read_string_list(*t, "pci", path, pci_accepted, valid_pci, d.pci);
    if (const auto* s = read_string(*t, "file_prefix", path, file_prefix_accepted)) {
      if (valid_file_prefix(s->get())) {
        d.file_prefix = s->get();
      } else {
        wrong(*s, join(path, "file_prefix"), file_prefix_accepted);
      }
    }
    if (const auto* s = read_string(*t, "log_level", path, log_level_accepted)) {
      constexpr std::array<std::string_view, 8> levels = {
          "emergency", "alert", "critical", "error", "warning", "notice", "info", "debug"};
      if (std::find(levels.begin(), levels.end(), s->get()) != levels.end()) {
        d.log_level = s->get();
      } else {
        wrong(*s, join(path, "log_level"), log_level_accepted);
      }
    }
    uint32_t mtu = d.mtu;
    if (read_int(*t, "mtu", path, mtu_range, mtu) != nullptr) d.mtu = static_cast<uint16_t>(mtu);
    read_int(*t, "tcp_connections", path, tcp_connections_range, d.tcp_connections);
    read_int(*t, "idle_sleep_us", path, idle_sleep_us_range, d.idle_sleep_us);
    if (const auto* s = read_string(*t, "fault", path, "a fault string (see dpdk/fault.hpp)")) {
      dataplane::dpdk::fault_config f;
      std::string why;
      if (dataplane::dpdk::fault_config::parse(s->get(), f, why)) {
        d.fault = s->get();
      } else {
        error(*s, join(path, "fault"),
              why + " (e.g. \"loss=0.01,dup=0.005,reorder=0.01,seed=7\"; empty = off)");
      }
    }
    dpdk_port_config first;
    load_dpdk_port(*t, path, c.transport == transport_kind::dpdk, first);
    d.ports.push_back(std::move(first));
    for (const auto& [x, xpath] : tables_of(*t, "extra_ports", path)) {
      check_keys(*x, xpath, {"port", "ipv4", "gateway", "arp"});
      if (d.ports.size() == max_dpdk_ports) {
        error(*x, xpath,
              "at most " + std::to_string(max_dpdk_ports - 1) + " extra ports (" +
                  std::to_string(max_dpdk_ports) + " in all)");
        break;
      }
      dpdk_port_config p;
      load_dpdk_port(*x, xpath, true, p);
      // Each port its own device and a subnet of its own: a destination has one way out.
      for (const dpdk_port_config& q : d.ports) {
        const uint8_t shorter = std::min(p.prefix_length, q.prefix_length);
        const uint32_t mask = netmask_of(shorter);
        if (!p.device.empty() && p.device == q.device) {
          error(*x->get("port"), join(xpath, "port"), quoted(p.device) + " is used twice");
        } else if (p.ipv4 != 0 && q.ipv4 != 0 && (p.ipv4 & mask) == (q.ipv4 & mask)) {
          error(*x->get("ipv4"), join(xpath, "ipv4"),
                "overlaps the subnet of another port (" + ipv4_text(q.ipv4) + "/" +
                    std::to_string(q.prefix_length) + "): each port needs a subnet of its own");
        }
      }
      d.ports.push_back(std::move(p));
    }
  }

  if (c.transport != transport_kind::dpdk) return;
  const toml::table* router = root.get("router")->as_table();  // transport was read from it
  const toml::node* transport = router->get("transport");
  if (t == nullptr) {
    error(*transport, "router.transport",
          "\"dpdk\" needs a [dpdk] table with at least port and ipv4 (config/README.md)");
    return;
  }
  // The userspace stack speaks IPv4 only, resolves no names and runs no TLS.
  if (const toml::node* n = router->get("listen"); n != nullptr && n->is_array()) {
    const toml::array& a = *n->as_array();
    for (std::size_t i = 0; i < a.size(); ++i) {
      const auto* s = a.get(i)->as_string();
      host_port hp;
      if (s == nullptr || !parse_host_port(s->get(), false, hp).empty()) continue;  // reported
      const auto addr = parse_ipv4(hp.host);
      const bool ours =
          addr &&
          (*addr == 0 || std::any_of(d.ports.begin(), d.ports.end(),
                                     [&](const dpdk_port_config& p) { return p.ipv4 == *addr; }));
      if (!ours) {
        error(*s, indexed("router.listen", i),
              "with router.transport = \"dpdk\" a listener must be on \"0.0.0.0\" (every port) "
              "or on a port's address (dpdk.ipv4, dpdk.extra_ports[].ipv4)");
      }
    }
  }
  if (const toml::node* n = router->get("tls")) {
    error(*n, "router.tls", "TLS listeners need router.transport = \"kernel\"");
  }
  for (const auto& [u, upath] : tables_of(root, "upstreams", "")) {
    const toml::node* a = u->get("address");
    const auto* s = a != nullptr ? a->as_string() : nullptr;
    host_port hp;
    if (s != nullptr && parse_host_port(s->get(), true, hp).empty() && !parse_ipv4(hp.host)) {
      error(*s, join(upath, "address"),
            "with router.transport = \"dpdk\" the SMSC's address must be an IPv4 address "
            "\"A.B.C.D:port\" (the userspace stack resolves no names and speaks IPv4 only)");
    }
    if (const toml::node* tls = u->get("tls")) {
      error(*tls, join(upath, "tls"), "TLS to an SMSC needs router.transport = \"kernel\"");
    }
  }
}

config_result loader::run(std::string_view text) {
  config_result result;
  toml::table root;
  try {
    root = toml::parse(text, std::string_view{file_});
  } catch (const toml::parse_error& e) {
    error(e.source(), "", "TOML syntax error: " + std::string(e.description()));
    result.errors = std::move(errors_);
    return result;
  }

  // A key of a section written at the top level is a common slip: point at the section.
  const std::initializer_list<std::string_view> sections = {
      "router",    "timeouts",    "tenants",  "upstreams", "routes",
      "mo_routes", "correlation", "security", "admin",     "dpdk"};
  for (auto&& [k, v] : root) {
    const std::string_view key = k.str();
    if (std::find(sections.begin(), sections.end(), key) != sections.end()) continue;
    std::string hint;
    for (std::string_view router_key : {"listen", "tls", "workers", "max_command_length",
                                        "max_connections", "max_send_queue_bytes", "transport"}) {
      if (key == router_key) hint = " (did you mean 'router." + std::string(key) + "'?)";
    }
    if (key.ends_with("_ms")) hint = " (did you mean 'timeouts." + std::string(key) + "'?)";
    if (hint.empty()) {
      if (auto s = closest(key, sections)) {
        hint = " (did you mean " + quoted(*s) + "?)";
      } else {
        hint = " (accepted: " + list_text(sections) + ")";
      }
    }
    error(k.source(), std::string(key), "unknown key " + quoted(key) + hint);
  }

  router_config c;
  c.source_file = file_;
  load_router(root, c);
  load_timeouts(root, c.timeouts);
  load_tenants(root, c.tenants);
  load_upstreams(root, c.tenants, c.upstreams);
  load_routes(root, c, c.routes);
  load_mo_routes(root, c, c.mo_routes);
  load_correlation(root, c.correlation);
  load_security(root, c.security);
  load_admin(root, c.admin);
  load_dpdk(root, c);

  std::stable_sort(errors_.begin(), errors_.end(),
                   [](const config_error& a, const config_error& b) {
                     return std::tie(a.line, a.column) < std::tie(b.line, b.column);
                   });
  if (errors_.empty()) result.config = std::move(c);
  result.errors = std::move(errors_);
  return result;
}

}  // namespace

cidr_result parse_cidr(std::string_view text) {
  cidr_result r;
  if (text.find('\0') != std::string_view::npos) {
    r.error = "contains a NUL character";
    return r;
  }
  const std::size_t slash = text.find('/');
  const std::string address(text.substr(0, slash));
  ip_network n;
  n.ipv6 = address.find(':') != std::string::npos;
  if (inet_pton(n.ipv6 ? AF_INET6 : AF_INET, address.c_str(), n.address.data()) != 1) {
    r.error = std::string("invalid ") + (n.ipv6 ? "IPv6" : "IPv4") + " address " + quoted(address);
    return r;
  }
  const uint32_t max_prefix = n.ipv6 ? 128 : 32;
  if (slash == std::string_view::npos) {
    r.error = quoted(text) + " has no prefix length (write " + address + "/" +
              std::to_string(max_prefix) + " for one address)";
    return r;
  }
  const auto prefix = parse_decimal(text.substr(slash + 1), max_prefix);
  if (!prefix) {
    r.error = "invalid prefix length " + quoted(text.substr(slash + 1)) + " (0.." +
              std::to_string(max_prefix) + ")";
    return r;
  }
  n.prefix_length = static_cast<uint8_t>(*prefix);
  ip_network masked = n;
  for (uint32_t bit = *prefix; bit < max_prefix; ++bit) {
    masked.address[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
  }
  if (masked != n) {
    r.error = quoted(text) + " has host bits set (did you mean " + ip_text(masked) + "/" +
              std::to_string(*prefix) + "?)";
    return r;
  }
  r.network = n;
  return r;
}

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
  return loader(name).run(toml);
}

}  // namespace smpp::control
