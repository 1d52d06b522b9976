#include "admin_views.hpp"

#include <algorithm>
#include <map>
#include <vector>

namespace smpp::control::detail {
namespace {

using json = nlohmann::json;

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

// The rate of entry `i` of `of` (one of r's vectors), null until the window has two samples.
json rate_or_null(const rate_window::rates& r, const std::vector<double>& of, size_t i) {
  return r.span_s > 0 && i < of.size() ? json(of[i]) : json(nullptr);
}

json statuses_json(const status_totals& t) {
  json j = json::object();
  for (const auto& [status, count] : t.by_status) j[status_label(status)] = count;
  if (t.other != 0) j["other"] = t.other;
  return j;
}

// What became of the receipts or the MO messages (return_totals).
json return_json(const return_totals& r) {
  return {{"received", r.received}, {"delivered", r.delivered},
          {"refused", r.refused},   {"refused_by_status", statuses_json(r.refused_by_status)},
          {"failed", r.failed},     {"expired", r.expired},
          {"held", r.held}};
}

void traffic_json(json& j, const traffic_totals& t) {
  j["submitted"] = t.submitted;
  j["accepted"] = t.accepted;
  j["rejected"] = t.rejected;
  j["rejected_by_status"] = statuses_json(t.rejected_by_status);
  j["return_path"] = {{"receipts", return_json(t.receipts)}, {"mo", return_json(t.mo)}};
  j["ids_evicted"] = t.ids_evicted;
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

}  // namespace

json status_json(const view_input& in) {
  const router_totals& t = in.totals;
  const auto& r = in.rates;
  json j;
  j["version"] = in.version;
  j["uptime_s"] = in.uptime_s;
  j["config_file"] = in.config.source_file;
  j["placement"] = {{"reason", in.placement.reason},
                    {"control_core", in.placement.control_core},
                    {"machine", in.placement.machine_summary}};
  json warnings = json::array();
  for (const auto& w : in.placement.warnings) {
    warnings.push_back({{"kind", dataplane::to_string(w.kind)}, {"text", w.text}});
  }
  j["placement"]["warnings"] = warnings;
  json workers = json::array();
  const size_t n = std::max(t.workers.size(), in.placement.workers.size());
  for (size_t w = 0; w < n; ++w) {
    json x;
    x["worker"] = w;
    if (w < in.placement.workers.size()) {
      const auto& at = in.placement.workers[w].where;
      x["cpu"] = at.cpu;
      x["core"] = at.core;
      x["numa"] = at.numa_node < 0 ? json(nullptr) : json(at.numa_node);
      x["reason"] = in.placement.workers[w].reason;
    }
    const bool alive = w < t.workers.size() && t.workers[w].running;
    x["running"] = alive;
    if (alive) {
      const worker_totals& wt = t.workers[w];
      x["busy_ratio"] = rate_or_null(r, r.worker_busy, w);
      x["submit_received"] = wt.submit_received;
      x["submit_forwarded"] = wt.submit_forwarded;
      x["resp_relayed"] = wt.resp_relayed;
      x["throttled"] = wt.throttled;
      x["handed_off"] = wt.handed_off;
      x["handoff_received"] = wt.handoff_received;
      x["backpressure_stalls"] = wt.backpressure_stalls;
      x["stalled_sessions"] = wt.stalled_sessions;
      x["receipts_received"] = wt.receipts_received;
      x["mo_received"] = wt.mo_received;
      x["deliver_refused"] = wt.deliver_refused;
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
    sum.receipts.delivered += x.receipts.delivered;
    sum.mo.delivered += x.mo.delivered;
    sessions += x.binds;
  }
  for (const auto& x : t.upstreams) {
    for (uint32_t b : x.binds_up_per_worker) binds_up += b;
  }
  for (const auto& u : in.snapshot.upstreams) binds_configured += u.binds.size();
  j["totals"] = {{"tenants", in.snapshot.tenants.size()},
                 {"upstreams", in.snapshot.upstreams.size()},
                 {"routes", in.config.routes.size()},
                 {"sessions", sessions},
                 {"upstream_binds_up", binds_up},
                 {"upstream_binds_configured", binds_configured},
                 {"submitted", sum.submitted},
                 {"accepted", sum.accepted},
                 {"rejected", sum.rejected},
                 {"receipts", sum.receipts.delivered},
                 {"mo", sum.mo.delivered},
                 {"correlation",
                  {{"noted", t.correlation.noted},
                   {"evicted", t.correlation.evicted},
                   {"final", t.correlation.final}}}};
  return j;
}

json tenants_json(const view_input& in) {
  const router_totals& t = in.totals;
  const auto& r = in.rates;
  json out = json::array();
  for (size_t i = 0; i < in.snapshot.tenants.size(); ++i) {
    const auto& d = in.snapshot.tenants[i];
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
    for (const auto& c : in.config.tenants) {
      if (c.name == d.name) j["allowed_networks"] = c.allowed_networks;
    }
    j["sessions"] = x.binds;
    traffic_json(j, x);
    // Kept from before return_path: what its receivers acknowledged ESME_ROK, and held now.
    j["receipts"] = x.receipts.delivered;
    j["mo"] = x.mo.delivered;
    j["held"] = x.held();
    j["queued"] = x.queued;
    j["accepted_per_s"] = rate_or_null(r, r.tenant_accepted, i);
    out.push_back(std::move(j));
  }
  return out;
}

json upstreams_json(const view_input& in) {
  const router_totals& t = in.totals;
  const auto& r = in.rates;
  json out = json::array();
  for (size_t i = 0; i < in.snapshot.upstreams.size(); ++i) {
    const auto& d = in.snapshot.upstreams[i];
    const upstream_totals& x = t.upstreams[i];
    json j;
    j["name"] = d.name;
    j["address"] = d.address.to_string();
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
                       {"plan", plan_json(in.snapshot, bd.plan)}});
    }
    j["binds"] = binds;
    for (const auto& u : in.config.upstreams) {
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
    j["return_path"]["receipts"]["unmatched"] = x.receipts_unmatched;
    j["return_path"]["receipts"]["invalid"] = x.receipts_invalid;
    j["retried"] = x.retried;  // refused with a status of retry_on, sent to the next upstream
    j["retried_by_status"] = statuses_json(x.retried_by_status);
    // What routes of mode quality weigh (upstream_quality.hpp), over the last window.
    json q;
    q["window_s"] = in.snapshot.quality.window_ms / 1000;
    q["final_receipts"] = x.window_finals;
    q["delivered"] = x.window_delivered;
    q["delivery_ratio"] =
        x.window_finals > 0
            ? json(static_cast<double>(x.window_delivered) / static_cast<double>(x.window_finals))
            : json(nullptr);
    q["answers"] = x.window_answers;
    q["mean_latency_ms"] = x.window_answers > 0
                               ? json(static_cast<double>(x.window_latency_us) /
                                      (1000.0 * static_cast<double>(x.window_answers)))
                               : json(nullptr);
    j["quality"] = q;
    // Kept from before return_path: every receipt and MO message received from it.
    j["receipts"] = x.receipts.received;
    j["mo"] = x.mo.received;
    j["submitted_per_s"] = rate_or_null(r, r.upstream_submitted, i);
    out.push_back(std::move(j));
  }
  return out;
}

json sessions_json(const dataplane::router_snapshot& snapshot, const router_totals& t) {
  json out = json::array();
  for (size_t i = 0; i < snapshot.tenants.size(); ++i) {
    const auto& d = snapshot.tenants[i];
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

json routes_json(const router_config& config) {
  json routes = json::array();
  for (const auto& r : config.routes) {
    json route = {{"tenant", r.tenant},
                  {"destination_prefix", r.destination_prefix},
                  {"source_prefix", r.source_prefix},
                  {"service_type", r.service_type},
                  {"upstreams", r.upstreams}};
    if (!r.network.empty()) route["network"] = r.network;
    routes.push_back(std::move(route));
  }
  json mo = json::array();
  for (const auto& r : config.mo_routes) {
    mo.push_back({{"destination_prefix", r.destination_prefix},
                  {"tenant", r.tenant},
                  {"upstream", r.upstream}});
  }
  return {{"routes", routes}, {"mo_routes", mo}};
}

// What became of a bind's slots (slot_use.hpp): counts by owning tenant ("*": unowned slots)
// since the gate started or was replanned, and the last frame as one letter per slot: u used by
// its owner, l lent, m missed, "." not come yet.
json slot_use_json(const dataplane::router_snapshot& s, const dataplane::slot_use& use,
                   size_t max_slots_listed) {
  const auto counts = [](const dataplane::slot_use::owner_counts& c) {
    return json{{"used", c.used.load()}, {"lent", c.lent.load()}, {"missed", c.missed.load()}};
  };
  json by_owner = json::object();
  for (size_t t = 0; t < use.tenants(); ++t) {
    by_owner[tenant_name(s, static_cast<uint32_t>(t))] = counts(use.of(t));
  }
  by_owner["*"] = counts(use.unowned());
  std::string last(std::min(use.slots(), max_slots_listed), '.');
  for (size_t k = 0; k < last.size(); ++k) {
    last[k] = ".ulm"[static_cast<size_t>(use.last(k))];
  }
  return {{"frames", use.frames()}, {"by_owner", by_owner}, {"last_frame", last}};
}

std::optional<json> slots_json(const dataplane::router_snapshot& snapshot,
                               dataplane::shared_state* shared, const std::string& name,
                               size_t max_slots_listed) {
  for (const auto& d : snapshot.upstreams) {
    if (d.name != name) continue;
    json binds = json::array();
    for (size_t b = 0; b < d.binds.size(); ++b) {
      const auto& p = d.binds[b].plan;
      json j = plan_json(snapshot, p);
      j["bind"] = b;
      j["system_id"] = d.binds[b].system_id;
      json frame = json::array();
      const size_t listed = std::min(p.owner.size(), max_slots_listed);
      for (size_t k = 0; k < listed; ++k) {
        frame.push_back(p.owner[k] == dataplane::any_tenant
                            ? json(nullptr)
                            : json(tenant_name(snapshot, p.owner[k])));
      }
      j["frame"] = frame;
      j["frame_truncated"] = listed < p.owner.size();
      // Only a gate that runs this plan's frame (a replan in progress shows none yet).
      const auto use =
          shared != nullptr ? shared->slot_use_of(d.index, static_cast<uint32_t>(b)) : nullptr;
      j["use"] = use != nullptr && use->slots() == p.owner.size()
                     ? slot_use_json(snapshot, *use, max_slots_listed)
                     : json(nullptr);
      binds.push_back(std::move(j));
    }
    return json{{"upstream", d.name}, {"binds", binds}};
  }
  return std::nullopt;
}

}  // namespace smpp::control::detail
