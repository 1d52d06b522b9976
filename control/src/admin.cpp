// The admin API: cpp-httplib serves, nlohmann::json writes and reads the bodies, toml++ edits
// the configuration document that a change turns into a candidate configuration.
#include "smpp/control/admin.hpp"

#include <sodium.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <iterator>
#include <limits>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include <httplib.h>
#include <toml++/toml.h>
#include <nlohmann/json.hpp>

#include "smpp/control/snapshot_builder.hpp"

#ifndef SMPP_VERSION
#define SMPP_VERSION "unknown"
#endif

namespace smpp::control {
namespace {

using json = nlohmann::json;

uint64_t steady_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

// httplib's ThreadPool queues every accepted connection without a bound; this one serves
// `threads` at once and holds at most `capacity` more, after which the accepting thread waits
// (further connections wait in the kernel's listen backlog).
class bounded_pool final : public httplib::TaskQueue {
 public:
  bounded_pool(size_t threads, size_t capacity) : capacity_(capacity) {
    for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { run(); });
  }
  ~bounded_pool() override = default;
  void enqueue(std::function<void()> fn) override {
    std::unique_lock lock(mu_);
    room_.wait(lock, [&] { return jobs_.size() < capacity_ || shutdown_; });
    jobs_.push_back(std::move(fn));
    lock.unlock();
    ready_.notify_one();
  }
  void shutdown() override {
    {
      std::lock_guard lock(mu_);
      shutdown_ = true;
    }
    ready_.notify_all();
    room_.notify_all();
    for (auto& t : threads_) t.join();
  }

 private:
  void run() {
    for (;;) {
      std::function<void()> fn;
      {
        std::unique_lock lock(mu_);
        ready_.wait(lock, [&] { return !jobs_.empty() || shutdown_; });
        if (jobs_.empty()) return;  // shut down and drained
        fn = std::move(jobs_.front());
        jobs_.pop_front();
      }
      room_.notify_one();
      fn();
    }
  }
  size_t capacity_;
  std::mutex mu_;
  std::condition_variable ready_;
  std::condition_variable room_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> threads_;
  bool shutdown_ = false;
};

// The nesting depth of a JSON text, counted before parsing so that a deep document never
// reaches the parser (brackets inside strings do not count).
size_t json_depth(std::string_view text) {
  size_t depth = 0;
  size_t deepest = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

const char* bind_type_name(codec::command_id id) {
  switch (id) {
    case codec::command_id::bind_transmitter:
      return "transmitter";
    case codec::command_id::bind_receiver:
      return "receiver";
    default:
      return "transceiver";
  }
}

std::string endpoint_text(const dataplane::endpoint& e) {
  const bool v6 = e.host.find(':') != std::string::npos;
  return (v6 ? "[" + e.host + "]" : e.host) + ":" + std::to_string(e.port);
}

json statuses_json(const traffic_totals& t) {
  json j = json::object();
  for (const auto& [status, count] : t.rejected_by_status) j[status_label(status)] = count;
  if (t.rejected_other != 0) j["other"] = t.rejected_other;
  return j;
}

void traffic_json(json& j, const traffic_totals& t) {
  j["submitted"] = t.submitted;
  j["accepted"] = t.accepted;
  j["rejected"] = t.rejected;
  j["rejected_by_status"] = statuses_json(t);
  j["receipts"] = t.receipts;
  j["mo"] = t.mo;
}

std::string tenant_name(const dataplane::router_snapshot& s, uint32_t index) {
  if (index == dataplane::any_tenant) return "*";
  return index < s.tenants.size() ? s.tenants[index].name : "#" + std::to_string(index);
}

// A slot plan summarised: how many slots each tenant owns, caps and queue bounds by name.
json plan_json(const dataplane::router_snapshot& s, const dataplane::slot_plan& p) {
  json j;
  j["rate_per_s"] = p.rate_per_s;
  j["slot_ns"] = p.slot_ns;
  j["slots_per_frame"] = p.owner.size();
  j["strict"] = p.strict;
  std::map<std::string, uint64_t> owners;
  uint64_t unowned = 0;
  for (uint32_t o : p.owner) {
    if (o == dataplane::any_tenant) {
      ++unowned;
    } else {
      ++owners[tenant_name(s, o)];
    }
  }
  j["owners"] = owners;
  j["unowned_slots"] = unowned;
  json caps = json::object();
  for (size_t t = 0; t < p.cap.size(); ++t) {
    if (p.cap[t] != 0) caps[tenant_name(s, static_cast<uint32_t>(t))] = p.cap[t];
  }
  j["caps"] = caps;
  json queues = json::object();
  for (size_t t = 0; t < p.queue_max.size(); ++t) {
    queues[tenant_name(s, static_cast<uint32_t>(t))] = p.queue_max[t];
  }
  j["queue_max"] = queues;
  return j;
}

// ---- JSON bodies into the TOML document --------------------------------------------------------

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

struct edit_result {
  int status = 0;  // 0: the document was changed; otherwise the HTTP status to answer
  std::string error;
};

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

// PUT/POST /api/{tenants,upstreams}/NAME: the body's keys are set in the named entry (created
// when absent); a key given as null is removed.
edit_result merge_entry(toml::table& doc, std::string_view list, const std::string& name,
                        const json& body) {
  if (!body.is_object()) return {400, "the body must be a JSON object of configuration keys"};
  if (body.contains("name") && body["name"] != name) {
    return {400, "'name' in the body differs from the name in the path; rename by DELETE and PUT"};
  }
  toml::table* t = find_entry(doc, list, "name", name);
  if (t == nullptr) {
    if (!doc.contains(list)) doc.insert(list, toml::array{});
    toml::array* a = doc[list].as_array();
    if (a == nullptr) return {400, "'" + std::string(list) + "' is not an array of tables"};
    toml::table fresh;
    fresh.insert("name", name);
    a->push_back(std::move(fresh));
    t = a->back().as_table();
  }
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

// PUT/POST /api/routes: the body (an array of route objects) replaces [[routes]].
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

// PUT/POST /api/weights/TENANT/UPSTREAM {"weight": N[, "cap_per_s", "guarantee_per_s",
// "queue_max"]}: the tenant's entry of the upstream's [[upstreams.shares]] (slot_planner.hpp),
// created when absent.
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
  if (!u->contains("shares")) u->insert("shares", toml::array{});
  toml::table* share = find_entry(*u, "shares", "tenant", tenant);
  if (share == nullptr) {
    toml::array* a = (*u)["shares"].as_array();
    if (a == nullptr) return {400, "'shares' of upstream '" + upstream + "' is not an array"};
    toml::table fresh;
    fresh.insert("tenant", tenant);
    a->push_back(std::move(fresh));
    share = a->back().as_table();
  }
  std::string why;
  for (const auto& [k, v] : body.items()) {
    if (!put_value(*share, k, v, why)) return {400, why};
  }
  return {};
}

}  // namespace

// ---- the server --------------------------------------------------------------------------------

struct admin_server::impl {
  // What the API answers from: the configuration the workers run, its snapshot and its TOML.
  struct state {
    router_config config;
    std::shared_ptr<const dataplane::router_snapshot> snapshot;
    toml::table document;
  };

  admin_view view;
  snapshot_publisher publish;
  uint64_t started_ms = steady_ms();

  mutable std::mutex state_mu;  // guards current
  std::shared_ptr<const state> current;
  std::mutex change_mu;  // one change at a time

  std::mutex rates_mu;
  rate_window rates;
  std::condition_variable sampler_cv;
  bool stopping = false;
  std::thread sampler;

  httplib::Server server;
  std::thread listener;
  int bound_port = 0;
  bool running = false;

  std::shared_ptr<const state> now() const {
    std::lock_guard lock(state_mu);
    return current;
  }

  // ---- reading ----

  router_totals totals(const state& s) const { return collect_totals(*s.snapshot, view); }

  rate_window::rates current_rates() {
    std::lock_guard lock(rates_mu);
    return rates.current();
  }

  void sample_loop() {
    std::unique_lock lock(rates_mu);
    while (!stopping) {
      const auto s = now();
      const router_totals t = totals(*s);
      rates.add(steady_ms(), t);
      sampler_cv.wait_for(lock, std::chrono::seconds(1), [&] { return stopping; });
    }
  }

  json status_json() {
    const auto s = now();
    const router_totals t = totals(*s);
    const auto r = current_rates();
    json j;
    j["version"] = SMPP_VERSION;
    j["uptime_s"] = static_cast<double>(steady_ms() - started_ms) / 1000.0;
    j["config_file"] = s->config.source_file;
    j["placement"] = {{"reason", view.placement.reason},
                      {"control_core", view.placement.control_core},
                      {"machine", view.placement.machine_summary}};
    json warnings = json::array();
    for (const auto& w : view.placement.warnings) {
      warnings.push_back({{"kind", dataplane::to_string(w.kind)}, {"text", w.text}});
    }
    j["placement"]["warnings"] = warnings;
    json workers = json::array();
    const size_t n = std::max(t.workers.size(), view.placement.workers.size());
    for (size_t w = 0; w < n; ++w) {
      json x;
      x["worker"] = w;
      if (w < view.placement.workers.size()) {
        const auto& at = view.placement.workers[w].where;
        x["cpu"] = at.cpu;
        x["core"] = at.core;
        x["numa"] = at.numa_node < 0 ? json(nullptr) : json(at.numa_node);
        x["reason"] = view.placement.workers[w].reason;
      }
      const bool alive = w < t.workers.size() && t.workers[w].running;
      x["running"] = alive;
      if (alive) {
        const worker_totals& wt = t.workers[w];
        x["busy_ratio"] =
            r.span_s > 0 && w < r.worker_busy.size() ? json(r.worker_busy[w]) : json(nullptr);
        x["submit_received"] = wt.submit_received;
        x["submit_forwarded"] = wt.submit_forwarded;
        x["resp_relayed"] = wt.resp_relayed;
        x["throttled"] = wt.throttled;
        x["handed_off"] = wt.handed_off;
        x["handoff_received"] = wt.handoff_received;
        x["backpressure_stalls"] = wt.backpressure_stalls;
        x["stalled_sessions"] = wt.stalled_sessions;
      }
      workers.push_back(std::move(x));
    }
    j["workers"] = workers;
    traffic_totals sum;
    uint64_t sessions = 0;
    uint64_t binds_up = 0;
    uint64_t binds_configured = 0;
    for (const auto& x : t.tenants) {
      sum.submitted += x.submitted;
      sum.accepted += x.accepted;
      sum.rejected += x.rejected;
      sum.receipts += x.receipts;
      sum.mo += x.mo;
      sessions += x.binds;
    }
    for (const auto& x : t.upstreams) {
      for (uint32_t b : x.binds_up_per_worker) binds_up += b;
    }
    for (const auto& u : s->snapshot->upstreams) binds_configured += u.binds.size();
    j["totals"] = {{"tenants", s->snapshot->tenants.size()},
                   {"upstreams", s->snapshot->upstreams.size()},
                   {"routes", s->config.routes.size()},
                   {"sessions", sessions},
                   {"upstream_binds_up", binds_up},
                   {"upstream_binds_configured", binds_configured},
                   {"submitted", sum.submitted},
                   {"accepted", sum.accepted},
                   {"rejected", sum.rejected},
                   {"receipts", sum.receipts},
                   {"mo", sum.mo}};
    return j;
  }

  json tenants_json() {
    const auto s = now();
    const router_totals t = totals(*s);
    const auto r = current_rates();
    json out = json::array();
    for (size_t i = 0; i < s->snapshot->tenants.size(); ++i) {
      const auto& d = s->snapshot->tenants[i];
      const tenant_totals& x = t.tenants[i];
      json j;
      j["name"] = d.name;
      j["system_id"] = d.system_id;
      j["max_binds"] = d.max_binds;
      j["window"] = d.window;
      j["hold_max"] = d.hold_max;
      j["hold_ttl_s"] = d.hold_ttl_ms / 1000;
      j["deliver_window"] = d.deliver_window;
      j["queue_full"] = d.backpressure ? "backpressure" : "throttle";
      j["retired"] = d.retired;  // removed at run time: kept while its sessions finish
      for (const auto& c : s->config.tenants) {
        if (c.name == d.name) j["allowed_networks"] = c.allowed_networks;
      }
      j["sessions"] = x.binds;
      traffic_json(j, x);
      j["held"] = x.held;
      j["queued"] = x.queued;
      j["accepted_per_s"] =
          r.span_s > 0 && i < r.tenant_accepted.size() ? json(r.tenant_accepted[i]) : json(nullptr);
      out.push_back(std::move(j));
    }
    return out;
  }

  json upstreams_json() {
    const auto s = now();
    const router_totals t = totals(*s);
    const auto r = current_rates();
    json out = json::array();
    for (size_t i = 0; i < s->snapshot->upstreams.size(); ++i) {
      const auto& d = s->snapshot->upstreams[i];
      const upstream_totals& x = t.upstreams[i];
      json j;
      j["name"] = d.name;
      j["address"] = endpoint_text(d.address);
      j["tls"] = d.address.tls != nullptr;
      j["on_demand"] = d.on_demand;
      j["retired"] = d.retired;  // removed at run time: its binds drain, then unbind
      j["binds_configured"] = d.binds.size();
      j["binds_up_per_worker"] = x.binds_up_per_worker;
      uint64_t up = 0;
      for (uint32_t b : x.binds_up_per_worker) up += b;
      j["binds_up"] = up;
      j["binds_failed"] = x.failed_links;
      json binds = json::array();
      for (size_t b = 0; b < d.binds.size(); ++b) {
        const auto& bd = d.binds[b];
        binds.push_back({{"bind", b},
                         {"system_id", bd.system_id},
                         {"type", bind_type_name(bd.bind_command)},
                         {"window", bd.window},
                         {"rate_per_s", bd.rate_per_s},
                         {"weight", bd.weight},
                         {"retired", bd.retired},
                         {"plan", plan_json(*s->snapshot, bd.plan)}});
      }
      j["binds"] = binds;
      for (const auto& u : s->config.upstreams) {
        if (u.name != d.name) continue;
        j["rate_per_s"] = u.rate_per_s;
        j["frame_ms"] = u.frame_ms;
        j["strict"] = u.strict;
        json shares = json::array();
        for (const auto& sh : u.shares) {
          shares.push_back({{"tenant", sh.tenant},
                            {"weight", sh.weight},
                            {"cap_per_s", sh.cap_per_s},
                            {"guarantee_per_s", sh.guarantee_per_s},
                            {"queue_max", sh.queue_max}});
        }
        j["shares"] = shares;
      }
      traffic_json(j, x);
      j["submitted_per_s"] = r.span_s > 0 && i < r.upstream_submitted.size()
                                 ? json(r.upstream_submitted[i])
                                 : json(nullptr);
      out.push_back(std::move(j));
    }
    return out;
  }

  json sessions_json() {
    const auto s = now();
    const router_totals t = totals(*s);
    json out = json::array();
    for (size_t i = 0; i < s->snapshot->tenants.size(); ++i) {
      const auto& d = s->snapshot->tenants[i];
      uint64_t receivers = 0;
      for (uint32_t v : t.tenants[i].receivers_per_worker) receivers += v;
      out.push_back({{"tenant", d.name},
                     {"system_id", d.system_id},
                     {"bound", t.tenants[i].binds},
                     {"max_binds", d.max_binds},
                     {"receivers", receivers},
                     {"receivers_per_worker", t.tenants[i].receivers_per_worker}});
    }
    return out;
  }

  json routes_json() {
    const auto s = now();
    json routes = json::array();
    for (const auto& r : s->config.routes) {
      routes.push_back({{"tenant", r.tenant},
                        {"destination_prefix", r.destination_prefix},
                        {"source_prefix", r.source_prefix},
                        {"service_type", r.service_type},
                        {"upstreams", r.upstreams}});
    }
    json mo = json::array();
    for (const auto& r : s->config.mo_routes) {
      mo.push_back({{"destination_prefix", r.destination_prefix},
                    {"tenant", r.tenant},
                    {"upstream", r.upstream}});
    }
    return {{"routes", routes}, {"mo_routes", mo}};
  }

  // nullptr when no upstream has that name.
  std::optional<json> slots_json(const std::string& name) {
    const auto s = now();
    for (const auto& d : s->snapshot->upstreams) {
      if (d.name != name) continue;
      json binds = json::array();
      for (size_t b = 0; b < d.binds.size(); ++b) {
        const auto& p = d.binds[b].plan;
        json j = plan_json(*s->snapshot, p);
        j["bind"] = b;
        j["system_id"] = d.binds[b].system_id;
        json frame = json::array();
        const size_t listed = std::min(p.owner.size(), max_frame_slots_listed);
        for (size_t k = 0; k < listed; ++k) {
          frame.push_back(p.owner[k] == dataplane::any_tenant
                              ? json(nullptr)
                              : json(tenant_name(*s->snapshot, p.owner[k])));
        }
        j["frame"] = frame;
        j["frame_truncated"] = listed < p.owner.size();
        binds.push_back(std::move(j));
      }
      return json{{"upstream", d.name}, {"binds", binds}};
    }
    return std::nullopt;
  }

  std::string metrics_text() {
    const auto s = now();
    const router_totals t = totals(*s);
    const auto r = current_rates();
    metrics_input in;
    in.snapshot = s->snapshot.get();
    in.totals = &t;
    in.rates = &r;
    in.placement = &view.placement;
    in.version = SMPP_VERSION;
    in.uptime_s = static_cast<double>(steady_ms() - started_ms) / 1000.0;
    return render_metrics(in);
  }

  // ---- changing ----

  static void reply(httplib::Response& res, int status, const json& body) {
    res.status = status;
    res.set_content(body.dump(2, ' ', false, json::error_handler_t::replace) + "\n",
                    "application/json");
  }
  static void reply_error(httplib::Response& res, int status, const std::string& message,
                          json extra = json::object()) {
    extra["error"] = message;
    reply(res, status, extra);
  }

  // Changes need "Authorization: Bearer <token>"; compared through a hash so that neither the
  // length nor the contents of the token leak through timing.
  bool authorized(const httplib::Request& req, httplib::Response& res) {
    const auto s = now();
    const std::string& token = s->config.admin.token;
    if (token.empty()) {
      reply_error(res, 403,
                  "changes are disabled: no [admin] token or token_file is configured on the "
                  "router");
      return false;
    }
    const std::string header = req.get_header_value("Authorization");
    constexpr std::string_view scheme = "Bearer ";
    const std::string given = header.starts_with(scheme) ? header.substr(scheme.size()) : "";
    unsigned char want[crypto_generichash_BYTES];
    unsigned char got[crypto_generichash_BYTES];
    crypto_generichash(want, sizeof want, reinterpret_cast<const unsigned char*>(token.data()),
                       token.size(), nullptr, 0);
    crypto_generichash(got, sizeof got, reinterpret_cast<const unsigned char*>(given.data()),
                       given.size(), nullptr, 0);
    if (given.empty() || sodium_memcmp(want, got, sizeof want) != 0) {
      res.set_header("WWW-Authenticate", "Bearer realm=\"smpp-router\"");
      reply_error(res, 401,
                  header.empty() ? "this change needs 'Authorization: Bearer TOKEN'"
                                 : "the token is wrong");
      return false;
    }
    return true;
  }

  // The body as JSON, or an answer saying why not.
  static std::optional<json> body_json(const httplib::Request& req, httplib::Response& res) {
    if (json_depth(req.body) > max_json_depth) {
      reply_error(res, 400,
                  "the body nests deeper than " + std::to_string(max_json_depth) + " levels");
      return std::nullopt;
    }
    json j = json::parse(req.body, nullptr, false);
    if (j.is_discarded()) {
      reply_error(res, 400, "the body is not valid JSON");
      return std::nullopt;
    }
    return j;
  }

  static json errors_json(const std::vector<config_error>& errors, const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    json out = json::array();
    for (const auto& e : errors) {
      json j = {{"file", e.file}, {"line", e.line},       {"column", e.column},
                {"key", e.key},   {"message", e.message}, {"text", e.to_string()}};
      if (e.line >= 1 && e.line <= lines.size()) j["source_line"] = lines[e.line - 1];
      out.push_back(std::move(j));
    }
    return out;
  }

  // Validates `text` as a whole configuration, builds its snapshot and offers both to the
  // publisher; the candidate becomes current only when the publisher applied it.
  void validate_and_publish(const httplib::Request& req, httplib::Response& res,
                            const std::string& text, const std::string& source, toml::table doc) {
    const config_result loaded = load_config_string(text, source);
    if (!loaded.ok()) {
      reply_error(res, 400, "the configuration is not valid; nothing was changed",
                  {{"errors", errors_json(loaded.errors, text)}});
      log(req, res.status, "refused by validation");
      return;
    }
    std::string why;
    // Indices of tenants, upstreams and binds stay those of the running snapshot.
    auto snap = build_snapshot(*loaded.config, why, now()->snapshot.get());
    if (!snap) {
      reply_error(res, 400, "the configuration is not valid: " + why + "; nothing was changed");
      log(req, res.status, "refused by the snapshot builder");
      return;
    }
    const publish_result published =
        publish ? publish(*loaded.config, snap) : publish_result{501, "no publisher"};
    if (published.http_status != 200) {
      reply_error(res, published.http_status, published.error,
                  {{"validated", true}, {"applied", false}});
      log(req, res.status, "validated, not applied: " + published.error);
      return;
    }
    auto next = std::make_shared<state>();
    next->config = *loaded.config;
    next->config.source_file = now()->config.source_file;
    next->snapshot = std::move(snap);
    next->document = std::move(doc);
    {
      std::lock_guard lock(state_mu);
      current = std::move(next);
    }
    reply(res, 200, {{"validated", true}, {"applied", true}});
    log(req, 200, "applied");
  }

  static void log(const httplib::Request& req, int status, const std::string& what) {
    std::fprintf(stderr, "smpp-router: admin: %s %s from %s: %d %s\n", req.method.c_str(),
                 req.path.c_str(), req.remote_addr.c_str(), status, what.c_str());
  }

  using editor = std::function<edit_result(toml::table&, const json&)>;

  // A change of the current document: authorised, edited, serialised, validated, published.
  void change(const httplib::Request& req, httplib::Response& res, bool needs_body,
              const editor& edit) {
    if (!authorized(req, res)) {
      log(req, res.status, "refused: not authorised");
      return;
    }
    json body;
    if (needs_body) {
      auto parsed = body_json(req, res);
      if (!parsed) return;
      body = std::move(*parsed);
    }
    std::lock_guard lock(change_mu);
    const auto s = now();
    toml::table doc = s->document;
    if (edit_result r = edit(doc, body); r.status != 0) {
      reply_error(res, r.status, r.error);
      log(req, r.status, r.error);
      return;
    }
    std::ostringstream text;
    text << doc << "\n";
    // No '/' in the suffix: relative paths in the configuration still start at its directory.
    validate_and_publish(req, res, text.str(),
                         s->config.source_file + " (as changed through the admin API)",
                         std::move(doc));
  }

  void reload(const httplib::Request& req, httplib::Response& res) {
    if (!authorized(req, res)) {
      log(req, res.status, "refused: not authorised");
      return;
    }
    std::lock_guard lock(change_mu);
    const std::string path = now()->config.source_file;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      reply_error(res, 400, "cannot read " + path);
      log(req, 400, "cannot read " + path);
      return;
    }
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    toml::table doc;
    try {
      doc = toml::parse(text, std::string_view{path});
    } catch (const toml::parse_error&) {
      // The loader reports the same syntax error with its line; doc stays empty.
    }
    validate_and_publish(req, res, text, path, std::move(doc));
  }

  void routes() {
    server.Get("/api/status", [this](const httplib::Request&, httplib::Response& res) {
      reply(res, 200, status_json());
    });
    server.Get("/api/tenants", [this](const httplib::Request&, httplib::Response& res) {
      reply(res, 200, tenants_json());
    });
    server.Get("/api/upstreams", [this](const httplib::Request&, httplib::Response& res) {
      reply(res, 200, upstreams_json());
    });
    server.Get("/api/sessions", [this](const httplib::Request&, httplib::Response& res) {
      reply(res, 200, sessions_json());
    });
    server.Get("/api/routes", [this](const httplib::Request&, httplib::Response& res) {
      reply(res, 200, routes_json());
    });
    server.Get(R"(/api/slots/([^/]+))",
               [this](const httplib::Request& req, httplib::Response& res) {
                 const std::string name = req.matches[1];
                 if (auto j = slots_json(name)) {
                   reply(res, 200, *j);
                 } else {
                   reply_error(res, 404, "no upstream named '" + name + "'");
                 }
               });
    server.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(metrics_text(), "text/plain; version=0.0.4; charset=utf-8");
    });

    server.Post("/api/reload",
                [this](const httplib::Request& req, httplib::Response& res) { reload(req, res); });
    for (const auto& [list, what] :
         {std::pair<std::string, std::string>{"tenants", "tenant"}, {"upstreams", "upstream"}}) {
      const std::string pattern = "/api/" + list + "/([^/]+)";
      auto put = [this, list = list](const httplib::Request& req, httplib::Response& res) {
        const std::string name = req.matches[1];
        change(req, res, true, [&](toml::table& doc, const json& body) {
          return merge_entry(doc, list, name, body);
        });
      };
      server.Put(pattern, put);
      server.Post(pattern, put);
      server.Delete(pattern, [this, list = list, what = what](const httplib::Request& req,
                                                              httplib::Response& res) {
        const std::string name = req.matches[1];
        change(req, res, false,
               [&](toml::table& doc, const json&) { return delete_entry(doc, list, name, what); });
      });
    }
    auto routes_put = [this](const httplib::Request& req, httplib::Response& res) {
      change(req, res, true,
             [](toml::table& doc, const json& body) { return replace_routes(doc, body); });
    };
    server.Put("/api/routes", routes_put);
    server.Post("/api/routes", routes_put);
    auto weights_put = [this](const httplib::Request& req, httplib::Response& res) {
      const std::string tenant = req.matches[1];
      const std::string upstream = req.matches[2];
      change(req, res, true, [&](toml::table& doc, const json& body) {
        return set_share(doc, tenant, upstream, body);
      });
    };
    server.Put(R"(/api/weights/([^/]+)/([^/]+))", weights_put);
    server.Post(R"(/api/weights/([^/]+)/([^/]+))", weights_put);

    server.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) return;
      std::string message = "HTTP " + std::to_string(res.status);
      if (res.status == 404) message = "no such endpoint: " + req.method + " " + req.path;
      if (res.status == 400) {
        message = "malformed HTTP request (a POST or PUT needs a Content-Length header)";
      }
      if (res.status == 413) {
        // httplib takes at most 8192 octets of a form-encoded body (curl -d sends one).
        message = "the body is too large: at most " + std::to_string(max_body_bytes) +
                  " octets of Content-Type application/json";
      }
      reply_error(res, res.status, message);
    });
    server.set_exception_handler(
        [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
          std::string what = "unknown error";
          try {
            std::rethrow_exception(ep);
          } catch (const std::exception& e) {
            what = e.what();
          } catch (...) {
          }
          reply_error(res, 500, "internal error: " + what);
        });
  }
};

admin_server::admin_server(router_config config,
                           std::shared_ptr<const dataplane::router_snapshot> snapshot,
                           admin_view view, snapshot_publisher publish)
    : impl_(std::make_unique<impl>()) {
  impl_->view = std::move(view);
  impl_->publish = std::move(publish);
  auto s = std::make_shared<impl::state>();
  s->config = std::move(config);
  s->snapshot = std::move(snapshot);
  impl_->current = std::move(s);
}

admin_server::~admin_server() {
  stop();
}

bool admin_server::start(std::string& error) {
  impl& m = *impl_;
  if (m.running) return true;
  if (sodium_init() < 0) {
    error = "libsodium cannot start";
    return false;
  }
  // The document that changes edit: the configuration file as the router loaded it.
  auto s = std::make_shared<impl::state>(*m.now());
  {
    std::ifstream in(s->config.source_file, std::ios::binary);
    if (!in) {
      error = "cannot read " + s->config.source_file;
      return false;
    }
    try {
      s->document = toml::parse(in, std::string_view{s->config.source_file});
    } catch (const toml::parse_error& e) {
      error = s->config.source_file + ": " + std::string(e.description());
      return false;
    }
    std::lock_guard lock(m.state_mu);
    m.current = std::move(s);
  }
  const admin_config& a = m.now()->config.admin;
  m.server.new_task_queue = [] { return new bounded_pool(threads, queued_connections); };
  // httplib's default adds SO_REUSEPORT, which would let a second router share the port and
  // take half of the requests: only SO_REUSEADDR (a restart may bind over TIME_WAIT).
  m.server.set_socket_options([](int sock) {
    int yes = 1;
    (void)setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  m.server.set_payload_max_length(max_body_bytes);
  m.server.set_read_timeout(io_timeout_s, 0);
  m.server.set_write_timeout(io_timeout_s, 0);
  m.server.set_keep_alive_timeout(io_timeout_s);
  m.server.set_keep_alive_max_count(100);
  m.routes();
  if (a.port == 0) {
    m.bound_port = m.server.bind_to_any_port(a.host);
  } else {
    m.bound_port = m.server.bind_to_port(a.host, a.port) ? a.port : -1;
  }
  if (m.bound_port <= 0) {
    error = "cannot listen on " + endpoint_text({a.host, a.port}) + ": " + std::strerror(errno);
    return false;
  }
  m.running = true;
  m.stopping = false;
  m.sampler = std::thread([&m] { m.sample_loop(); });
  m.listener = std::thread([&m] { m.server.listen_after_bind(); });
  // stop() only ends a server that is already running: wait until it is (bounded).
  for (int i = 0; i < 5000 && !m.server.is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

void admin_server::stop() {
  impl& m = *impl_;
  if (!m.running) return;
  m.server.stop();
  if (m.listener.joinable()) m.listener.join();
  {
    std::lock_guard lock(m.rates_mu);
    m.stopping = true;
  }
  m.sampler_cv.notify_all();
  if (m.sampler.joinable()) m.sampler.join();
  m.running = false;
}

uint16_t admin_server::port() const noexcept {
  return impl_->bound_port > 0 ? static_cast<uint16_t>(impl_->bound_port) : 0;
}

}  // namespace smpp::control
