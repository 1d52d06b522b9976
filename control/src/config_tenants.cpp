// [[tenants]]: the ESMEs' accounts (name, system_id, password, networks, limits, hold queues,
// TDMA weight), and the CIDR networks of allowed_networks.
#include <arpa/inet.h>
#include <sodium.h>

#include <cstring>
#include <tuple>

#include "config_sections.hpp"

namespace smpp::control {
namespace {

using detail::quoted;

std::string ip_text(const ip_network& n) {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(n.ipv6 ? AF_INET6 : AF_INET, n.address.data(), buf, sizeof buf);
  return buf;
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
  // An IPv6 literal has a ':', an IPv4 one never: the family the text claims is the one parsed.
  const auto ip = dataplane::parse_ip(address);
  if (!ip) {
    r.error = std::string("invalid ") + (n.ipv6 ? "IPv6" : "IPv4") + " address " + quoted(address);
    return r;
  }
  std::memcpy(n.address.data(), ip->bytes.data(), n.address.size());
  const uint32_t max_prefix = n.ipv6 ? 128 : 32;
  if (slash == std::string_view::npos) {
    r.error = quoted(text) + " has no prefix length (write " + address + "/" +
              std::to_string(max_prefix) + " for one address)";
    return r;
  }
  const auto prefix = dataplane::parse_prefix_length(text.substr(slash + 1), max_prefix);
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

namespace detail {
namespace {

constexpr int_range max_binds_range{1, 65535};
constexpr int_range hold_max_range{0, 10'000'000};
constexpr int_range hold_ttl_range{1, 30 * 86'400};
constexpr int_range deliver_window_range{1, 65535};
constexpr std::string_view queue_full_accepted = "\"throttle\" or \"backpressure\"";
constexpr std::string_view cidr_accepted =
    "a CIDR network such as \"10.0.0.0/8\" or \"2001:db8::/32\"";

bool is_password_hash(const std::string& s) {
  if (s.empty() || s.size() >= crypto_pwhash_STRBYTES || s.find('\0') != std::string::npos) {
    return false;
  }
  // -1: not an argon2id/argon2i string libsodium can verify; 0/1: valid, whatever its limits.
  return crypto_pwhash_str_needs_rehash(s.c_str(), password_hash_opslimit,
                                        password_hash_memlimit_bytes) != -1;
}

// password_hash (preferred) or password (hashed here), exactly one of them.
void load_password(config_reader& r, const toml::table& t, const std::string& path,
                   tenant_config& c) {
  const toml::node* hash = t.get("password_hash");
  const toml::node* clear = t.get("password");
  if (hash == nullptr && clear == nullptr) {
    r.error(t, join(path, "password_hash"),
            "is required: set 'password_hash' (an argon2id string, preferred) or 'password' "
            "(hashed at load)");
  } else if (hash != nullptr && clear != nullptr) {
    const bool clear_later = std::tie(clear->source().begin.line, clear->source().begin.column) >
                             std::tie(hash->source().begin.line, hash->source().begin.column);
    r.error(clear_later ? *clear : *hash, join(path, clear_later ? "password" : "password_hash"),
            "set either 'password_hash' or 'password', not both");
  } else if (hash != nullptr) {
    constexpr std::string_view accepted =
        "an argon2id string from crypto_pwhash_str, e.g. \"$argon2id$v=19$m=256,t=1,p=1$...\"";
    if (const auto* s = r.read_string(t, "password_hash", path, accepted)) {
      if (is_password_hash(s->get())) {
        c.password_hash = s->get();
      } else {
        r.error(*s, join(path, "password_hash"),
                "not a valid password hash: must be " + std::string(accepted));
      }
    }
  } else {
    std::string password;
    if (r.read_limited(t, "password", path, 1, max_password_chars, "3.4 password", false,
                       password)) {
      c.password_hash = hash_password(password);
    }
  }
}

void load_networks(config_reader& r, const toml::table& t, const std::string& path,
                   tenant_config& c) {
  const toml::node* n = t.get("allowed_networks");
  if (n == nullptr) return;
  const std::string key = join(path, "allowed_networks");
  const toml::array* a = n->as_array();
  if (a == nullptr) {
    r.wrong(*n, key, "an array of " + std::string(cidr_accepted) + " ([] or absent: any)");
    return;
  }
  for (std::size_t i = 0; i < a->size(); ++i) {
    const toml::node& e = *a->get(i);
    if (!e.is_string()) {
      r.wrong(e, indexed(key, i), cidr_accepted);
      continue;
    }
    const cidr_result cidr = parse_cidr(e.as_string()->get());
    if (!cidr.network) {
      r.error(e, indexed(key, i), cidr.error + ": must be " + std::string(cidr_accepted));
      continue;
    }
    c.allowed_networks.push_back(e.as_string()->get());
  }
}

}  // namespace

void load_tenants(config_reader& r, const toml::table& root, std::vector<tenant_config>& out) {
  std::map<std::string, uint32_t> names;     // name -> line
  std::map<std::string, std::string> ids;    // system_id -> tenant name
  std::map<std::string, uint32_t> id_lines;  // system_id -> line
  for (const auto& [t, path] : r.tables_of(root, "tenants", "")) {
    r.check_keys(*t, path,
                 {"name", "system_id", "password_hash", "password", "allowed_networks", "max_binds",
                  "window", "hold_max", "hold_ttl_s", "deliver_window", "weight", "queue_full"});
    tenant_config c;
    c.name = read_name(r, *t, path, "tenant", names);
    if (const auto* s = r.read_limited(*t, "system_id", path, 1, max_system_id_chars,
                                       "3.4 system_id", true, c.system_id)) {
      if (auto it = ids.find(c.system_id); it != ids.end()) {
        r.error(*s, join(path, "system_id"),
                "duplicate system_id " + quoted(c.system_id) + " (already used by tenant " +
                    quoted(it->second) + " at line " + std::to_string(id_lines[c.system_id]) + ")");
      } else {
        ids.emplace(c.system_id, c.name);
        id_lines.emplace(c.system_id, s->source().begin.line);
      }
    }
    load_password(r, *t, path, c);
    load_networks(r, *t, path, c);
    r.read_int(*t, "max_binds", path, max_binds_range, c.max_binds);
    r.read_int(*t, "window", path, window_range, c.window);
    r.read_int(*t, "hold_max", path, hold_max_range, c.hold_max);
    r.read_int(*t, "hold_ttl_s", path, hold_ttl_range, c.hold_ttl_s);
    r.read_int(*t, "deliver_window", path, deliver_window_range, c.deliver_window);
    r.read_int(*t, "weight", path, weight_range, c.weight);
    if (const auto* q = r.read_string(*t, "queue_full", path, queue_full_accepted)) {
      if (q->get() == "backpressure") {
        c.backpressure = true;
      } else if (q->get() == "throttle") {
        c.backpressure = false;
      } else {
        r.wrong(*q, join(path, "queue_full"), queue_full_accepted);
      }
    }
    out.push_back(std::move(c));
  }
}

}  // namespace detail
}  // namespace smpp::control
