// [[upstreams]]: the SMSCs (name, address), their [[upstreams.binds]], [upstreams.tls], how
// they write message ids, on-demand binding; the TDMA schedule is config_schedule.cpp's.
#include "config_sections.hpp"

namespace smpp::control::detail {
namespace {

constexpr std::size_t max_system_type_chars = 12;  // SMPP 3.4 §5.2 system_type: 13 octets
constexpr int_range count_range{1, 1024};
constexpr std::string_view radix_accepted = "one of \"auto\", \"hex\", \"decimal\", \"text\"";
constexpr std::string_view address_accepted =
    "\"host:port\" with a host name, an IPv4 address or a bracketed IPv6 address and a port "
    "1..65535 (e.g. \"smsc.example.net:2775\")";

void read_radix(config_reader& r, const toml::table& t, std::string_view key,
                const std::string& path, codec::id_radix& out) {
  const auto* s = r.read_string(t, key, path, radix_accepted);
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
    r.wrong(*s, join(path, key), radix_accepted);
  }
}

void load_binds(config_reader& r, const toml::table& t, const std::string& path,
                upstream_config& c) {
  const toml::node* binds_node = t.get("binds");
  if (binds_node == nullptr || (binds_node->is_array() && binds_node->as_array()->empty())) {
    r.error(binds_node != nullptr ? *binds_node : t, join(path, "binds"),
            "is required: at least one [[upstreams.binds]] table");
  }
  for (const auto& [b, bpath] : r.tables_of(t, "binds", path)) {
    r.check_keys(*b, bpath,
                 {"system_id", "password", "system_type", "type", "window", "rate_per_s", "weight",
                  "count"});
    upstream_bind_config bc;
    r.read_limited(*b, "system_id", bpath, 1, max_system_id_chars, "3.4 system_id", true,
                   bc.system_id);
    r.read_limited(*b, "password", bpath, 0, max_password_chars, "3.4 password", false,
                   bc.password);
    r.read_limited(*b, "system_type", bpath, 0, max_system_type_chars, "3.4 system_type", false,
                   bc.system_type);
    constexpr std::string_view type_accepted =
        "one of \"transmitter\", \"receiver\", \"transceiver\"";
    if (const auto* s = r.read_string(*b, "type", bpath, type_accepted)) {
      if (s->get() == "transmitter") {
        bc.type = bind_type::transmitter;
      } else if (s->get() == "receiver") {
        bc.type = bind_type::receiver;
      } else if (s->get() == "transceiver") {
        bc.type = bind_type::transceiver;
      } else {
        r.wrong(*s, join(bpath, "type"), type_accepted);
      }
    }
    r.read_int(*b, "window", bpath, window_range, bc.window);
    r.read_int(*b, "rate_per_s", bpath, rate_range, bc.rate_per_s);
    r.read_int(*b, "weight", bpath, weight_range, bc.weight);
    r.read_int(*b, "count", bpath, count_range, bc.count);
    c.binds.push_back(std::move(bc));
  }
}

// SMPP 3.4 §4.1.7: an SMSC that calls the router back with outbind on this listener, carrying
// these credentials, is bound on that connection with the upstream's bind.
void load_upstream_outbind(config_reader& r, const toml::table& upstream, const std::string& upath,
                           upstream_config& c) {
  const toml::table* t = r.table_of(upstream, "outbind", upath);
  if (t == nullptr) return;
  const std::string path = join(upath, "outbind");
  r.check_keys(*t, path, {"listen", "system_id", "password"});
  if (const toml::node* n = t->get("listen")) {
    if (const auto hp = read_listen_address(r, *n, join(path, "listen"))) {
      c.outbind.host = hp->host;
      c.outbind.port = hp->port;
    }
  } else {
    r.error(*t, join(path, "listen"), "is required: the \"ip:port\" the SMSC calls back on");
  }
  r.read_limited(*t, "system_id", path, 1, max_system_id_chars, "3.4 system_id", true,
                 c.outbind.system_id);
  r.read_limited(*t, "password", path, 0, max_password_chars, "3.4 password", false,
                 c.outbind.password);
  c.outbind.enabled = true;
}

void load_upstream_tls(config_reader& r, const toml::table& upstream, const std::string& upath,
                       upstream_config& c) {
  const toml::table* t = r.table_of(upstream, "tls", upath);
  if (t == nullptr) return;
  const std::string path = join(upath, "tls");
  r.check_keys(*t, path, {"enabled", "ca_file", "server_name", "pin_sha256"});
  c.tls.enabled = true;  // a [upstreams.tls] table means TLS unless enabled = false
  if (const toml::node* n = t->get("enabled")) {
    if (const auto* b = n->as_boolean()) {
      c.tls.enabled = b->get();
    } else {
      r.wrong(*n, join(path, "enabled"), "a boolean");
    }
  }
  r.read_path(*t, "ca_file", path, false, c.tls.ca_file);
  constexpr std::string_view name_accepted_tls = "a host name or an IP address";
  if (const auto* s = r.read_string(*t, "server_name", path, name_accepted_tls)) {
    const std::string& v = s->get();
    const bool ip = dataplane::parse_ip(v).has_value();
    if (v.find('\0') == std::string::npos && (ip || dataplane::valid_host_name(v))) {
      c.tls.server_name = v;
    } else {
      r.error(*s, join(path, "server_name"),
              "invalid server name " + quoted(v) + ": must be " + std::string(name_accepted_tls));
    }
  }
  constexpr std::string_view pin_accepted =
      "the SHA-256 of the server certificate (DER) as 64 hex digits, colons allowed "
      "(openssl x509 -noout -fingerprint -sha256)";
  if (const auto* s = r.read_string(*t, "pin_sha256", path, pin_accepted)) {
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
      r.error(*s, join(path, "pin_sha256"), "must be " + std::string(pin_accepted));
    }
  }
}

}  // namespace

void load_upstreams(config_reader& r, const toml::table& root,
                    const std::vector<tenant_config>& tenants, std::vector<upstream_config>& out) {
  std::map<std::string, uint32_t> names;
  for (const auto& [t, path] : r.tables_of(root, "upstreams", "")) {
    r.check_keys(*t, path,
                 {"name", "address", "binds", "tls", "message_id_radix", "receipt_id_radix",
                  "on_demand", "idle_unbind_s", "broadcast", "outbind", "rate_per_s", "frame_ms",
                  "mode", "shares", "price_list"});
    upstream_config c;
    c.name = read_name(r, *t, path, "upstream", names);
    if (const auto* s = r.require_string(*t, "address", path, address_accepted)) {
      dataplane::host_port hp;
      if (std::string why = dataplane::parse_host_port(s->get(), true, hp); !why.empty()) {
        r.error(*s, join(path, "address"), why + ": must be " + std::string(address_accepted));
      } else {
        c.host = hp.host;
        c.port = hp.port;
      }
    }
    load_binds(r, *t, path, c);
    load_upstream_tls(r, *t, path, c);
    load_upstream_outbind(r, *t, path, c);
    read_radix(r, *t, "message_id_radix", path, c.message_id_radix);
    read_radix(r, *t, "receipt_id_radix", path, c.receipt_id_radix);
    r.read_bool(*t, "on_demand", path, c.on_demand);
    r.read_bool(*t, "broadcast", path, c.broadcast);
    r.read_int(*t, "idle_unbind_s", path, idle_unbind_range, c.idle_unbind_s);
    load_schedule(r, *t, path, tenants, c);
    (void)r.read_path(*t, "price_list", path, false, c.price_list);
    out.push_back(std::move(c));
  }
}

}  // namespace smpp::control::detail
