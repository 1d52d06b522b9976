// [router]: the listeners, the workers' CPUs, the transport and the session limits; and
// [router.tls]: the TLS listeners and their certificate.
#include <algorithm>
#include <map>

#include "config_sections.hpp"
#include "smpp/codec/status.hpp"

namespace smpp::control::detail {
namespace {

constexpr int64_t max_cpu = 4095;
constexpr int_range command_length_range{1024, 16 * 1024 * 1024};
constexpr int_range connections_range{1, 1 << 20};
constexpr int_range send_queue_range{4096, 1 << 30};
constexpr std::string_view listen_accepted =
    "\"ip:port\" with an IPv4 address or a bracketed IPv6 address and a port 1..65535 "
    "(e.g. \"0.0.0.0:2775\", \"[::1]:2775\")";
constexpr std::string_view workers_accepted =
    "\"auto\" or a non-empty array of distinct CPU numbers 0..4095";

void load_listeners(config_reader& r, const toml::table& t, const std::string& path,
                    router_config& c) {
  const toml::node* n = t.get("listen");
  if (n == nullptr) {
    c.listeners.push_back(listener_config{});
    return;
  }
  if (!n->is_array()) {
    r.wrong(*n, join(path, "listen"), "an array of " + std::string(listen_accepted));
    return;
  }
  if (n->as_array()->empty()) {
    r.error(*n, join(path, "listen"),
            "must name at least one listener: an array of " + std::string(listen_accepted));
    return;
  }
  const toml::array& a = *n->as_array();
  std::map<std::pair<std::string, uint16_t>, uint32_t> seen;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const toml::node& e = *a.get(i);
    const std::string key = indexed(join(path, "listen"), i);
    const auto hp = read_listen_address(r, e, key);
    if (!hp) continue;
    const auto [it, fresh] = seen.emplace(std::pair{hp->host, hp->port}, e.source().begin.line);
    if (!fresh) {
      r.error(e, key,
              "duplicate listener " + quoted(e.as_string()->get()) + " (first at line " +
                  std::to_string(it->second) + ")");
      continue;
    }
    c.listeners.push_back(listener_config{hp->host, hp->port});
  }
}

void load_workers(config_reader& r, const toml::table& t, const std::string& path,
                  workers_config& out) {
  const toml::node* n = t.get("workers");
  if (n == nullptr) return;
  const std::string key = join(path, "workers");
  if (const auto* s = n->as_string(); s != nullptr && s->get() == "auto") {
    out = workers_config{};
  } else if (const toml::array* a = n->as_array(); a != nullptr && !a->empty()) {
    workers_config w{false, {}};
    bool ok = true;
    for (std::size_t i = 0; i < a->size(); ++i) {
      const toml::node& e = *a->get(i);
      const auto* v = e.as_integer();
      if (v == nullptr || v->get() < 0 || v->get() > max_cpu) {
        r.wrong(e, indexed(key, i), "a CPU number 0..4095");
        ok = false;
        continue;
      }
      const auto cpu = static_cast<uint32_t>(v->get());
      if (std::find(w.cpus.begin(), w.cpus.end(), cpu) != w.cpus.end()) {
        r.error(e, indexed(key, i),
                "CPU " + std::to_string(cpu) + " is listed twice: must be " +
                    std::string(workers_accepted));
        ok = false;
        continue;
      }
      w.cpus.push_back(cpu);
    }
    if (ok) out = std::move(w);
  } else {
    r.wrong(*n, key, workers_accepted);
  }
}

void load_router_tls(config_reader& r, const toml::table& router, router_config& c) {
  const toml::table* t = r.table_of(router, "tls", "router");
  if (t == nullptr) return;
  const std::string path = "router.tls";
  r.check_keys(*t, path, {"listen", "cert_file", "key_file", "min_version"});
  const toml::node* n = t->get("listen");
  if (n == nullptr || !n->is_array() || n->as_array()->empty()) {
    if (n == nullptr) {
      r.error(*t, join(path, "listen"), "is required: an array of " + std::string(listen_accepted));
    } else {
      r.wrong(*n, join(path, "listen"), "a non-empty array of " + std::string(listen_accepted));
    }
  } else {
    const toml::array& a = *n->as_array();
    for (std::size_t i = 0; i < a.size(); ++i) {
      const toml::node& e = *a.get(i);
      const std::string key = indexed(join(path, "listen"), i);
      const auto hp = read_listen_address(r, e, key);
      if (!hp) continue;
      // SO_REUSEPORT would let a plain and a TLS listener share a port and split its clients.
      const bool taken = std::any_of(c.listeners.begin(), c.listeners.end(), [&](const auto& l) {
        return l.host == hp->host && l.port == hp->port;
      });
      if (taken) {
        r.error(e, key,
                "duplicate listener " + quoted(e.as_string()->get()) +
                    " (already in router.listen or router.tls.listen)");
        continue;
      }
      c.listeners.push_back(listener_config{hp->host, hp->port, true});
    }
  }
  r.read_path(*t, "cert_file", path, true, c.tls.cert_file);
  r.read_path(*t, "key_file", path, true, c.tls.key_file);
  constexpr std::string_view version_accepted = "\"1.2\" or \"1.3\"";
  if (const auto* s = r.read_string(*t, "min_version", path, version_accepted)) {
    if (s->get() == "1.2") {
      c.tls.min_version = tls_version::v1_2;
    } else if (s->get() == "1.3") {
      c.tls.min_version = tls_version::v1_3;
    } else {
      r.wrong(*s, join(path, "min_version"), version_accepted);
    }
  }
}

}  // namespace

std::optional<dataplane::host_port> read_listen_address(config_reader& r, const toml::node& n,
                                                        const std::string& key) {
  if (!n.is_string()) {
    r.wrong(n, key, listen_accepted);
    return std::nullopt;
  }
  dataplane::host_port hp;
  if (std::string why = dataplane::parse_host_port(n.as_string()->get(), false, hp); !why.empty()) {
    r.error(n, key, why + ": must be " + std::string(listen_accepted));
    return std::nullopt;
  }
  return hp;
}

// An error status by its SMPP name ("ESME_RSYSERR"); 0 when there is none of that name.
uint32_t error_status_named(std::string_view name) {
  constexpr uint32_t last_status = 0x4FF;  // SMPP 5.0 §4.7.6 ends at 0x0000010F; margin
  for (uint32_t st = 1; st <= last_status; ++st) {
    if (codec::status_name(static_cast<codec::command_status>(st)) == name) return st;
  }
  return 0;
}

void load_retry_on(config_reader& r, const toml::table& t, const std::string& path,
                   router_config& c) {
  std::vector<std::string> names;
  r.read_string_list(
      t, "retry_on", path, "an error status name of SMPP 3.4 §5.1.3 (e.g. \"ESME_RSYSERR\")",
      [](std::string_view n) { return error_status_named(n) != 0; }, names);
  for (const std::string& n : names) c.retry_on.push_back(error_status_named(n));
}

void load_router(config_reader& r, const toml::table& root, router_config& c) {
  const toml::table* t = r.table_of(root, "router", "");
  const std::string path = "router";
  if (t == nullptr) {
    c.listeners.push_back(listener_config{});
    return;
  }
  r.check_keys(*t, path, router_keys);
  load_listeners(r, *t, path, c);
  load_workers(r, *t, path, c.workers);
  load_router_tls(r, *t, c);

  constexpr std::string_view transport_accepted = "\"kernel\" or \"dpdk\"";
  if (const auto* s = r.read_string(*t, "transport", path, transport_accepted)) {
    if (s->get() == "kernel") {
      c.transport = transport_kind::kernel;
    } else if (s->get() == "dpdk") {
      c.transport = transport_kind::dpdk;
    } else {
      r.wrong(*s, join(path, "transport"), transport_accepted);
    }
  }

  r.read_int(*t, "max_command_length", path, command_length_range, c.limits.max_command_length);
  r.read_int(*t, "max_connections", path, connections_range, c.limits.max_connections);
  r.read_int(*t, "max_send_queue_bytes", path, send_queue_range, c.limits.max_send_queue_bytes);
  load_retry_on(r, *t, path, c);
  r.read_int(*t, "quality_window_s", path, int_range{1, 86400}, c.quality_window_s);
  r.read_int(*t, "quality_latency_cost", path, int_range{0, 1'000'000}, c.quality_latency_cost);
  r.read_int(*t, "quality_min_samples", path, int_range{1, 1'000'000}, c.quality_min_samples);
}

}  // namespace smpp::control::detail
