// The router's bounds in time and state: [timeouts] (how long a session may take for each
// step), [security] (how failed binds are slowed down and locked out) and [correlation] (how
// many message ids are remembered for receipts, and how long).
#include "config_sections.hpp"

namespace smpp::control::detail {
namespace {

constexpr int64_t max_timeout_ms = 86'400'000;  // one day
constexpr int_range timeout_range{1, max_timeout_ms};
constexpr int_range idle_ms_range{0, max_timeout_ms};
constexpr int_range lockout_failures_range{0, 1'000'000};
constexpr int_range correlation_capacity_range{1, 1'000'000'000};
constexpr int_range correlation_ttl_range{1, 30 * 86'400};
constexpr int_range keep_final_range{0, 30 * 86'400};
constexpr int_range final_capacity_range{0, 1'000'000'000};

}  // namespace

void load_timeouts(config_reader& r, const toml::table& root, timeouts_config& c) {
  const toml::table* t = r.table_of(root, "timeouts", "");
  if (t == nullptr) return;
  const std::string path = "timeouts";
  r.check_keys(*t, path,
               {"bind_ms", "enquire_link_interval_ms", "dead_peer_ms", "response_ms",
                "partial_pdu_ms", "reconnect_min_ms", "reconnect_max_ms", "esme_idle_ms"});
  const std::size_t errors_before = r.error_count();
  r.read_int(*t, "bind_ms", path, timeout_range, c.bind_ms);
  r.read_int(*t, "enquire_link_interval_ms", path, timeout_range, c.enquire_link_interval_ms);
  const toml::node* dead = r.read_int(*t, "dead_peer_ms", path, timeout_range, c.dead_peer_ms);
  r.read_int(*t, "response_ms", path, timeout_range, c.response_ms);
  r.read_int(*t, "partial_pdu_ms", path, timeout_range, c.partial_pdu_ms);
  r.read_int(*t, "esme_idle_ms", path, idle_ms_range, c.esme_idle_ms);
  const toml::node* rmin =
      r.read_int(*t, "reconnect_min_ms", path, timeout_range, c.reconnect_min_ms);
  const toml::node* rmax =
      r.read_int(*t, "reconnect_max_ms", path, timeout_range, c.reconnect_max_ms);

  if (r.error_count() != errors_before) return;  // cross-checks only between valid values
  // A healthy but idle peer answers enquire_link; closing it before the next one is a false alarm.
  if (c.dead_peer_ms <= c.enquire_link_interval_ms) {
    r.error(dead != nullptr ? dead->source() : t->source(), join(path, "dead_peer_ms"),
            "must be greater than enquire_link_interval_ms (" +
                std::to_string(c.enquire_link_interval_ms) + ")");
  }
  if (c.reconnect_min_ms > c.reconnect_max_ms) {
    const toml::node* at = rmax != nullptr ? rmax : rmin;
    r.error(at != nullptr ? at->source() : t->source(), join(path, "reconnect_max_ms"),
            "must be at least reconnect_min_ms (" + std::to_string(c.reconnect_min_ms) + ")");
  }
}

void load_security(config_reader& r, const toml::table& root, security_config& c) {
  const toml::table* t = r.table_of(root, "security", "");
  if (t == nullptr) return;
  const std::string path = "security";
  r.check_keys(
      *t, path,
      {"bind_fail_delay_ms", "bind_fail_delay_max_ms", "bind_lockout_failures", "bind_lockout_s"});
  r.read_int(*t, "bind_fail_delay_ms", path, idle_ms_range, c.bind_fail_delay_ms);
  r.read_int(*t, "bind_fail_delay_max_ms", path, idle_ms_range, c.bind_fail_delay_max_ms);
  r.read_int(*t, "bind_lockout_failures", path, lockout_failures_range, c.bind_lockout_failures);
  r.read_int(*t, "bind_lockout_s", path, idle_unbind_range, c.bind_lockout_s);
}

void load_correlation(config_reader& r, const toml::table& root, correlation_config& c) {
  const toml::table* t = r.table_of(root, "correlation", "");
  if (t == nullptr) return;
  const std::string path = "correlation";
  r.check_keys(*t, path, {"capacity", "ttl_s", "note", "keep_final_s", "final_capacity"});
  if (const toml::node* n = t->get("capacity")) {
    const auto* v = n->as_integer();
    if (v == nullptr || v->get() < correlation_capacity_range.min ||
        v->get() > correlation_capacity_range.max) {
      r.wrong(*n, join(path, "capacity"),
              range_text(correlation_capacity_range) + " (live message ids, all workers together)");
    } else {
      c.capacity = static_cast<uint64_t>(v->get());
    }
  }
  r.read_int(*t, "ttl_s", path, correlation_ttl_range, c.ttl_s);
  r.read_int(*t, "keep_final_s", path, keep_final_range, c.keep_final_s);
  r.read_int(*t, "final_capacity", path, final_capacity_range, c.final_capacity);
  constexpr std::string_view note_accepted = "\"all\" or \"receipts\"";
  if (const auto* s = r.read_string(*t, "note", path, note_accepted)) {
    if (s->get() == "all") {
      c.note_all = true;
    } else if (s->get() == "receipts") {
      c.note_all = false;
    } else {
      r.wrong(*s, join(path, "note"), note_accepted);
    }
  }
}

}  // namespace smpp::control::detail
