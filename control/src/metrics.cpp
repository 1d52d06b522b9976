// Counters summed over the workers, rates over a sliding window, and the Prometheus text
// exposition format 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/).
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <string_view>
#include <type_traits>

#include "smpp/codec/status.hpp"
#include "smpp/control/admin.hpp"
#include "smpp/dataplane/router_worker.hpp"

namespace smpp::control {
namespace {

void add_histogram(const dataplane::latency_histogram& from, histogram_totals& to) {
  for (size_t i = 0; i < from.counts.size(); ++i) to.counts[i] += from.counts[i].load();
  to.sum_us += from.sum_us.load();
}

void add_statuses(const dataplane::status_counts& from, status_totals& to) {
  for (size_t i = 0; i < dataplane::status_counts::slots; ++i) {
    // The writer stores the count before the key (release): a key read here has its count.
    const uint32_t st = from.status[i].load(std::memory_order_acquire);
    if (st == 0) break;  // slots fill in order
    to.by_status[st] += from.count[i].load();
  }
  to.other += from.other.load();
}

void add_returns(const dataplane::return_counters& from, return_totals& to) {
  to.received += from.received;
  to.delivered += from.delivered;
  to.refused += from.refused;
  add_statuses(from.refused_by_status, to.refused_by_status);
  to.failed += from.failed;
  to.expired += from.expired;
  to.held += from.held;
}

void add_traffic(const dataplane::status_counts& rejected_by_status,
                 const dataplane::return_counters& receipts, const dataplane::return_counters& mo,
                 uint64_t ids_evicted, const dataplane::latency_histogram& latency,
                 traffic_totals& to) {
  add_statuses(rejected_by_status, to.rejected_by_status);
  add_returns(receipts, to.receipts);
  add_returns(mo, to.mo);
  to.ids_evicted += ids_evicted;
  add_histogram(latency, to.latency);
}

uint64_t delta(uint64_t newer, uint64_t older) {
  return newer >= older ? newer - older : 0;  // a worker gone takes its counts with it
}

// ---- the text format --------------------------------------------------------------------------

std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

std::string escape_label(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

using labels = std::vector<std::pair<std::string_view, std::string>>;

class exposition {
 public:
  void family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }
  void sample(std::string_view name, const labels& ls, uint64_t v) {
    head(name, ls);
    out_ += std::to_string(v);
    out_ += '\n';
  }
  void sample(std::string_view name, const labels& ls, double v) {
    head(name, ls);
    out_ += number(v);
    out_ += '\n';
  }
  // A histogram from power-of-two microsecond buckets: bucket i holds values up to
  // latency_histogram::upper_us(i), the last one everything larger (+Inf).
  void histogram(std::string_view name, labels ls, const histogram_totals& h) {
    uint64_t cumulative = 0;
    const std::string bucket = std::string(name) + "_bucket";
    for (size_t i = 0; i < h.counts.size(); ++i) {
      cumulative += h.counts[i];
      const bool last = i + 1 == h.counts.size();
      ls.emplace_back(
          "le", last
                    ? "+Inf"
                    : number(static_cast<double>(dataplane::latency_histogram::upper_us(i)) / 1e6));
      sample(bucket, ls, cumulative);
      ls.pop_back();
    }
    sample(std::string(name) + "_sum", ls, static_cast<double>(h.sum_us) / 1e6);
    sample(std::string(name) + "_count", ls, cumulative);
  }
  std::string take() { return std::move(out_); }

 private:
  void head(std::string_view name, const labels& ls) {
    out_ += name;
    if (!ls.empty()) {
      out_ += '{';
      for (size_t i = 0; i < ls.size(); ++i) {
        if (i > 0) out_ += ',';
        out_ += ls[i].first;
        out_ += "=\"";
        out_ += escape_label(ls[i].second);
        out_ += '"';
      }
      out_ += '}';
    }
    out_ += ' ';
  }
  std::string out_;
};

// One family of per-tenant or per-upstream traffic counters.
template <typename T, typename Get>
void traffic_family(exposition& e, std::string_view name, std::string_view type,
                    std::string_view help, std::string_view label,
                    const std::vector<std::string>& names, const std::vector<T>& rows, Get get) {
  e.family(name, type, help);
  for (size_t i = 0; i < rows.size() && i < names.size(); ++i) {
    e.sample(name, {{label, names[i]}}, get(rows[i]));
  }
}

// Samples of one family by command_status (dataplane::status_counts): `ls` and status="NAME".
void status_samples(exposition& e, std::string_view name, labels ls, const status_totals& s) {
  ls.emplace_back("status", "");
  for (const auto& [status, count] : s.by_status) {
    ls.back().second = status_label(status);
    e.sample(name, ls, count);
  }
  if (s.other != 0) {
    ls.back().second = "other";
    e.sample(name, ls, s.other);
  }
}

template <typename T>
void rejected_family(exposition& e, std::string_view name, std::string_view help,
                     std::string_view label, const std::vector<std::string>& names,
                     const std::vector<T>& rows) {
  e.family(name, "counter", help);
  for (size_t i = 0; i < rows.size() && i < names.size(); ++i) {
    status_samples(e, name, {{label, names[i]}}, rows[i].rejected_by_status);
  }
}

// The return path of each tenant or upstream (`label`): receipts and MO messages received, by
// outcome, refused by status, held now, and the message ids evicted. `prefix` is
// "smpp_tenant" or "smpp_upstream"; an upstream also has its unmatched and invalid receipts.
// `whose` ends the help texts' subject ("of the tenant"), `received` says what its received
// count holds.
template <typename T>
void return_families(exposition& e, std::string_view prefix, std::string_view whose,
                     std::string_view received, std::string_view label,
                     const std::vector<std::string>& names, const std::vector<T>& rows) {
  const std::string p(prefix);
  const std::string w(whose);
  constexpr std::pair<std::string_view, return_totals traffic_totals::*> kinds[] = {
      {"receipt", &traffic_totals::receipts}, {"mo", &traffic_totals::mo}};
  const size_t n = std::min(rows.size(), names.size());

  std::string name = p + "_return_received_total";
  e.family(name, "counter",
           "Delivery receipts (kind=\"receipt\") and mobile-originated messages (kind=\"mo\") " +
               std::string(received) +
               ", each time the SMSC sent one (one it sends again after a refusal counts again). "
               "Each ends in one outcome of " +
               p + "_return_total or is still held or on its way to a receiver.");
  for (size_t i = 0; i < n; ++i) {
    for (const auto& [kind, of] : kinds) {
      e.sample(name, {{label, names[i]}, {"kind", std::string(kind)}}, (rows[i].*of).received);
    }
  }

  name = p + "_return_total";
  e.family(name, "counter",
           "What became of the receipts and MO messages " + w +
               ", by outcome: delivered (acknowledged ESME_ROK by one of the tenant's "
               "receivers), refused (answered to the SMSC with an error: it keeps the message "
               "and retries), failed (acknowledged to the SMSC, then refused for good by the "
               "receiver), expired (acknowledged to the SMSC, held, dropped undelivered after "
               "hold_ttl_s)" +
               (std::is_same_v<T, upstream_totals>
                    ? std::string(", unmatched (a receipt whose message id has no correlation "
                                  "entry: unknown, expired or evicted) and invalid (a receipt "
                                  "without a usable message id), both acknowledged to the SMSC "
                                  "and not relayed")
                    : std::string()) +
               ".");
  for (size_t i = 0; i < n; ++i) {
    for (const auto& [kind, of] : kinds) {
      const return_totals& r = rows[i].*of;
      labels ls{{label, names[i]}, {"kind", std::string(kind)}, {"outcome", ""}};
      for (const auto& [outcome, v] : {std::pair<const char*, uint64_t>{"delivered", r.delivered},
                                       {"refused", r.refused},
                                       {"failed", r.failed},
                                       {"expired", r.expired}}) {
        ls.back().second = outcome;
        e.sample(name, ls, v);
      }
      if constexpr (std::is_same_v<T, upstream_totals>) {
        if (of == &traffic_totals::receipts) {
          ls.back().second = "unmatched";
          e.sample(name, ls, rows[i].receipts_unmatched);
          ls.back().second = "invalid";
          e.sample(name, ls, rows[i].receipts_invalid);
        }
      }
    }
  }

  name = p + "_return_refused_total";
  e.family(name, "counter",
           "Receipts and MO messages " + w +
               " answered to the SMSC with an error, by command_status (ESME_RX_T_APPN: no "
               "receiver and the hold queue full; ESME_RTHROTTLED: the receivers' windows and "
               "the hold queue full; ESME_RINVDSTADR: an MO message without an MO route; or the "
               "receiver's own answer).");
  for (size_t i = 0; i < n; ++i) {
    for (const auto& [kind, of] : kinds) {
      status_samples(e, name, {{label, names[i]}, {"kind", std::string(kind)}},
                     (rows[i].*of).refused_by_status);
    }
  }

  name = p + "_return_held";
  e.family(name, "gauge",
           "Receipts and MO messages " + w +
               " acknowledged to the SMSC and waiting in a hold queue for a receiver now.");
  for (size_t i = 0; i < n; ++i) {
    for (const auto& [kind, of] : kinds) {
      e.sample(name, {{label, names[i]}, {"kind", std::string(kind)}}, (rows[i].*of).held);
    }
  }

  name = p + "_ids_evicted_total";
  e.family(name, "counter",
           "Message ids " + w +
               " evicted from a full correlation table before their TTL: a receipt for one "
               "comes back unmatched ([correlation] capacity is below the rate times the time "
               "receipts take).");
  for (size_t i = 0; i < n; ++i) e.sample(name, {{label, names[i]}}, rows[i].ids_evicted);
}

}  // namespace

std::string status_label(uint32_t status) {
  const std::string_view name = codec::status_name(static_cast<codec::command_status>(status));
  if (!name.empty()) return std::string(name);
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", status);
  return buf;
}

router_totals collect_totals(const dataplane::router_snapshot& snap, const admin_view& view) {
  router_totals t;
  t.tenants.resize(snap.tenants.size());
  t.upstreams.resize(snap.upstreams.size());
  const dataplane::shared_state* shared = view.shared;
  const size_t workers = shared != nullptr ? shared->workers.size() : 0;
  t.workers.resize(workers);
  for (size_t w = 0; w < workers; ++w) {
    const dataplane::router_worker* worker = shared->workers[w].load(std::memory_order_acquire);
    if (worker == nullptr) continue;
    worker_totals& wt = t.workers[w];
    const dataplane::worker_stats& st = worker->stats();
    wt.running = true;
    wt.busy_us = st.busy_us;
    wt.idle_us = st.idle_us;
    wt.submit_received = st.submit_received;
    wt.submit_forwarded = st.submit_forwarded;
    wt.resp_relayed = st.resp_relayed;
    wt.bind_failed = st.bind_failed;
    wt.throttled = st.throttled;
    wt.handed_off = st.handed_off;
    wt.handoff_received = st.handoff_received;
    wt.backpressure_stalls = st.backpressure_stalls;
    wt.stalled_sessions = st.stalled_sessions;
    wt.receipts_received = st.receipts_received;
    wt.mo_received = st.mo_received;
    wt.deliver_refused = st.deliver_refused;
    t.correlation.noted += st.correlation_inserts;
    t.correlation.evicted += st.correlation_evicted;
    t.correlation.final += st.correlation_final;
    t.correlation.message_ops += st.message_ops;
    t.correlation.message_ops_unknown += st.message_ops_unknown;
    t.pdus.alerts_relayed += st.alerts_relayed;
    t.pdus.alerts_unrouted += st.alerts_unrouted;
    t.pdus.alerts_dropped += st.alerts_dropped;
    t.pdus.broadcast_no_taker += st.broadcast_no_taker;
    // The worker's own snapshot may list fewer or more (once snapshots change at run time).
    const auto ts = worker->tenant_stats();
    for (size_t i = 0; i < ts.size() && i < t.tenants.size(); ++i) {
      tenant_totals& x = t.tenants[i];
      x.submitted += ts[i].submitted;
      x.accepted += ts[i].accepted;
      x.rejected += ts[i].rejected;
      add_traffic(ts[i].rejected_by_status, ts[i].receipts, ts[i].mo, ts[i].ids_evicted,
                  ts[i].latency, x);
      x.queued += ts[i].queued;
    }
    const auto us = worker->upstream_stats();
    for (size_t i = 0; i < us.size() && i < t.upstreams.size(); ++i) {
      upstream_totals& x = t.upstreams[i];
      x.submitted += us[i].forwarded;
      x.accepted += us[i].accepted;
      x.rejected += us[i].rejected;
      add_traffic(us[i].rejected_by_status, us[i].receipts, us[i].mo, us[i].ids_evicted,
                  us[i].latency, x);
      x.receipts_unmatched += us[i].receipts_unmatched;
      x.receipts_invalid += us[i].receipts_invalid;
      x.retried += us[i].retried;
      add_statuses(us[i].retried_by_status, x.retried_by_status);
      x.window_finals += us[i].window_finals;
      x.window_delivered += us[i].window_delivered;
      x.window_answers += us[i].window_answers;
      x.window_latency_us += us[i].window_latency_us;
    }
  }
  if (shared != nullptr) {
    for (size_t i = 0; i < t.tenants.size(); ++i) {
      tenant_totals& x = t.tenants[i];
      if (i < shared->binds_per_tenant.size()) x.binds = shared->binds_per_tenant[i].load();
      x.receivers_per_worker.resize(workers);
      for (size_t w = 0; w < workers; ++w) {
        const size_t at = i * workers + w;
        if (at < shared->receivers.size()) x.receivers_per_worker[w] = shared->receivers[at].load();
      }
    }
    for (size_t i = 0; i < t.upstreams.size(); ++i) {
      upstream_totals& x = t.upstreams[i];
      x.binds_up_per_worker.resize(workers);
      for (size_t w = 0; w < workers; ++w) {
        const size_t at = i * workers + w;
        if (at < shared->bound_links.size())
          x.binds_up_per_worker[w] = shared->bound_links[at].load();
      }
      if (i < shared->failed_links.size()) x.failed_links = shared->failed_links[i].load();
    }
    if (shared->guard) {
      t.guard_present = true;
      t.guard = shared->guard->stats();
    }
  }
  if (view.mesh != nullptr) {
    const uint32_t n = view.mesh->workers();
    for (uint32_t f = 0; f < n; ++f) {
      for (uint32_t to = 0; to < n; ++to) {
        if (f == to) continue;
        const auto& ring = view.mesh->ring(f, to);
        t.rings.push_back({f, to, ring.size(), ring.capacity()});
      }
    }
  }
  return t;
}

void rate_window::add(uint64_t now_ms, const router_totals& totals) {
  sample s;
  s.at_ms = now_ms;
  for (const auto& x : totals.tenants) s.tenant_accepted.push_back(x.accepted);
  for (const auto& x : totals.upstreams) s.upstream_submitted.push_back(x.submitted);
  for (const auto& x : totals.workers) {
    s.busy_us.push_back(x.busy_us);
    s.idle_us.push_back(x.idle_us);
  }
  samples_.push_back(std::move(s));
  // Keep the newest sample at or before the window's start as the base of the deltas.
  while (samples_.size() > 2 && samples_[1].at_ms + window_ms <= now_ms) {
    samples_.erase(samples_.begin());
  }
  if (samples_.size() > max_samples) samples_.erase(samples_.begin());
}

rate_window::rates rate_window::current() const {
  rates r;
  if (samples_.size() < 2) return r;
  const sample& a = samples_.front();
  const sample& b = samples_.back();
  if (b.at_ms <= a.at_ms) return r;
  r.span_s = static_cast<double>(b.at_ms - a.at_ms) / 1000.0;
  auto per_s = [&](const std::vector<uint64_t>& newer, const std::vector<uint64_t>& older) {
    std::vector<double> out(newer.size(), 0.0);
    for (size_t i = 0; i < newer.size() && i < older.size(); ++i) {
      out[i] = static_cast<double>(delta(newer[i], older[i])) / r.span_s;
    }
    return out;
  };
  r.tenant_accepted = per_s(b.tenant_accepted, a.tenant_accepted);
  r.upstream_submitted = per_s(b.upstream_submitted, a.upstream_submitted);
  r.worker_busy.assign(b.busy_us.size(), 0.0);
  for (size_t w = 0; w < b.busy_us.size() && w < a.busy_us.size(); ++w) {
    const uint64_t busy = delta(b.busy_us[w], a.busy_us[w]);
    const uint64_t all = busy + delta(b.idle_us[w], a.idle_us[w]);
    r.worker_busy[w] = all == 0 ? 0.0 : static_cast<double>(busy) / static_cast<double>(all);
  }
  return r;
}

std::string render_metrics(const metrics_input& in) {
  exposition e;
  const router_totals& t = *in.totals;
  std::vector<std::string> tenants;
  for (const auto& d : in.snapshot->tenants) tenants.push_back(d.name);
  std::vector<std::string> upstreams;
  for (const auto& d : in.snapshot->upstreams) upstreams.push_back(d.name);

  e.family("smpp_build_info", "gauge", "The running smpp-router's version.");
  e.sample("smpp_build_info", {{"version", in.version}}, uint64_t{1});
  e.family("smpp_uptime_seconds", "gauge", "Seconds since smpp-router started.");
  e.sample("smpp_uptime_seconds", {}, in.uptime_s);

  // Per tenant.
  using tt = tenant_totals;
  traffic_family(e, "smpp_tenant_submitted_total", "counter",
                 "submit_sm, data_sm and submit_multi received from the tenant's ESMEs.", "tenant",
                 tenants, t.tenants, [](const tt& x) { return x.submitted; });
  traffic_family(e, "smpp_tenant_accepted_total", "counter",
                 "Requests of the tenant answered ESME_ROK.", "tenant", tenants, t.tenants,
                 [](const tt& x) { return x.accepted; });
  rejected_family(e, "smpp_tenant_rejected_total",
                  "Requests of the tenant answered with an error (by the router or the SMSC), by "
                  "command_status.",
                  "tenant", tenants, t.tenants);
  traffic_family(e, "smpp_tenant_receipts_total", "counter",
                 "Delivery receipts the tenant's receivers acknowledged ESME_ROK (the other "
                 "outcomes: smpp_tenant_return_total).",
                 "tenant", tenants, t.tenants, [](const tt& x) { return x.receipts.delivered; });
  traffic_family(e, "smpp_tenant_mo_total", "counter",
                 "Mobile-originated messages the tenant's receivers acknowledged ESME_ROK (the "
                 "other outcomes: smpp_tenant_return_total).",
                 "tenant", tenants, t.tenants, [](const tt& x) { return x.mo.delivered; });
  return_families(e, "smpp_tenant", "of the tenant",
                  "for the tenant (receipts matched to its messages, MO routed to it)", "tenant",
                  tenants, t.tenants);
  e.family("smpp_tenant_queue_depth", "gauge",
           "Messages waiting for the tenant, by queue (held: receipts and MO waiting for a "
           "receiver; slot: requests waiting for a time slot at a gated upstream bind).");
  for (size_t i = 0; i < t.tenants.size() && i < tenants.size(); ++i) {
    e.sample("smpp_tenant_queue_depth", {{"tenant", tenants[i]}, {"queue", "held"}},
             t.tenants[i].held());
    e.sample("smpp_tenant_queue_depth", {{"tenant", tenants[i]}, {"queue", "slot"}},
             t.tenants[i].queued);
  }
  traffic_family(e, "smpp_tenant_sessions", "gauge", "Bound ESME sessions of the tenant.", "tenant",
                 tenants, t.tenants, [](const tt& x) { return uint64_t{x.binds}; });
  e.family("smpp_tenant_accepted_per_second", "gauge",
           "Requests of the tenant accepted per second over the last 10 s.");
  if (in.rates->span_s > 0) {
    for (size_t i = 0; i < in.rates->tenant_accepted.size() && i < tenants.size(); ++i) {
      e.sample("smpp_tenant_accepted_per_second", {{"tenant", tenants[i]}},
               in.rates->tenant_accepted[i]);
    }
  }
  e.family("smpp_tenant_latency_seconds", "histogram",
           "From a request's arrival to its answer, for answers that came from an upstream.");
  for (size_t i = 0; i < t.tenants.size() && i < tenants.size(); ++i) {
    e.histogram("smpp_tenant_latency_seconds", {{"tenant", tenants[i]}}, t.tenants[i].latency);
  }

  // Per upstream.
  using ut = upstream_totals;
  traffic_family(e, "smpp_upstream_submitted_total", "counter",
                 "Requests written to the upstream's binds.", "upstream", upstreams, t.upstreams,
                 [](const ut& x) { return x.submitted; });
  traffic_family(e, "smpp_upstream_accepted_total", "counter",
                 "Requests the upstream answered ESME_ROK.", "upstream", upstreams, t.upstreams,
                 [](const ut& x) { return x.accepted; });
  rejected_family(e, "smpp_upstream_rejected_total",
                  "Requests the upstream answered with an error, that timed out or were lost with "
                  "a bind, by command_status.",
                  "upstream", upstreams, t.upstreams);
  e.family("smpp_upstream_retried_total", "counter",
           "Message requests the upstream refused with a status of [router] retry_on and that "
           "went to the next upstream of their route, by command_status.");
  for (size_t i = 0; i < t.upstreams.size() && i < upstreams.size(); ++i) {
    status_samples(e, "smpp_upstream_retried_total", {{"upstream", upstreams[i]}},
                   t.upstreams[i].retried_by_status);
  }
  traffic_family(e, "smpp_upstream_receipts_total", "counter",
                 "Delivery receipts received from the upstream, whatever became of them "
                 "(smpp_upstream_return_total).",
                 "upstream", upstreams, t.upstreams,
                 [](const ut& x) { return x.receipts.received; });
  traffic_family(e, "smpp_upstream_mo_total", "counter",
                 "Mobile-originated messages received from the upstream, whatever became of them "
                 "(smpp_upstream_return_total).",
                 "upstream", upstreams, t.upstreams, [](const ut& x) { return x.mo.received; });
  return_families(e, "smpp_upstream", "from the upstream", "received from the upstream", "upstream",
                  upstreams, t.upstreams);
  // What routes of mode quality weigh, over [router] quality_window_s (each worker its own
  // window; these are their sums): delivery ratio = delivered / final, mean answer latency =
  // latency_seconds / answers.
  traffic_family(e, "smpp_upstream_window_final_receipts", "gauge",
                 "Final delivery receipts from the upstream in the last quality_window_s.",
                 "upstream", upstreams, t.upstreams, [](const ut& x) { return x.window_finals; });
  traffic_family(e, "smpp_upstream_window_delivered_receipts", "gauge",
                 "Of those, the receipts of delivered messages (stat DELIVRD).", "upstream",
                 upstreams, t.upstreams, [](const ut& x) { return x.window_delivered; });
  traffic_family(e, "smpp_upstream_window_answers", "gauge",
                 "Answers of the upstream to message requests in the last quality_window_s.",
                 "upstream", upstreams, t.upstreams, [](const ut& x) { return x.window_answers; });
  traffic_family(e, "smpp_upstream_window_answer_latency_seconds", "gauge",
                 "Their latencies (request written to answer read), summed.", "upstream", upstreams,
                 t.upstreams,
                 [](const ut& x) { return static_cast<double>(x.window_latency_us) / 1e6; });
  e.family("smpp_upstream_binds_up", "gauge", "The upstream's binds that are bound, per worker.");
  for (size_t i = 0; i < t.upstreams.size() && i < upstreams.size(); ++i) {
    for (size_t w = 0; w < t.upstreams[i].binds_up_per_worker.size(); ++w) {
      e.sample("smpp_upstream_binds_up",
               {{"upstream", upstreams[i]}, {"worker", std::to_string(w)}},
               uint64_t{t.upstreams[i].binds_up_per_worker[w]});
    }
  }
  e.family("smpp_upstream_binds_configured", "gauge",
           "Binds the configuration gives the upstream.");
  for (size_t i = 0; i < in.snapshot->upstreams.size(); ++i) {
    e.sample("smpp_upstream_binds_configured", {{"upstream", upstreams[i]}},
             uint64_t{in.snapshot->upstreams[i].binds.size()});
  }
  e.family("smpp_upstream_submitted_per_second", "gauge",
           "Requests written to the upstream per second over the last 10 s.");
  if (in.rates->span_s > 0) {
    for (size_t i = 0; i < in.rates->upstream_submitted.size() && i < upstreams.size(); ++i) {
      e.sample("smpp_upstream_submitted_per_second", {{"upstream", upstreams[i]}},
               in.rates->upstream_submitted[i]);
    }
  }
  e.family("smpp_upstream_latency_seconds", "histogram",
           "From a request written to the upstream to its answer.");
  for (size_t i = 0; i < t.upstreams.size() && i < upstreams.size(); ++i) {
    e.histogram("smpp_upstream_latency_seconds", {{"upstream", upstreams[i]}},
                t.upstreams[i].latency);
  }

  // Per worker.
  e.family("smpp_worker_info", "gauge", "Where each worker runs: CPU, physical core, NUMA node.");
  if (in.placement != nullptr) {
    for (size_t w = 0; w < in.placement->workers.size(); ++w) {
      const auto& at = in.placement->workers[w].where;
      e.sample("smpp_worker_info",
               {{"worker", std::to_string(w)},
                {"cpu", std::to_string(at.cpu)},
                {"core", std::to_string(at.core)},
                {"numa", at.numa_node < 0 ? "unknown" : std::to_string(at.numa_node)}},
               uint64_t{1});
    }
  }
  e.family("smpp_worker_busy_ratio", "gauge",
           "Share of the last 10 s the worker spent in turns that handled something (0..1).");
  if (in.rates->span_s > 0) {
    for (size_t w = 0; w < in.rates->worker_busy.size(); ++w) {
      if (w < t.workers.size() && !t.workers[w].running) continue;
      e.sample("smpp_worker_busy_ratio", {{"worker", std::to_string(w)}}, in.rates->worker_busy[w]);
    }
  }
  e.family("smpp_worker_busy_seconds_total", "counter",
           "Time the worker spent in turns that handled something.");
  for (size_t w = 0; w < t.workers.size(); ++w) {
    if (!t.workers[w].running) continue;
    e.sample("smpp_worker_busy_seconds_total", {{"worker", std::to_string(w)}},
             static_cast<double>(t.workers[w].busy_us) / 1e6);
  }
  e.family("smpp_worker_idle_seconds_total", "counter",
           "Time the worker spent in turns that found nothing to do.");
  for (size_t w = 0; w < t.workers.size(); ++w) {
    if (!t.workers[w].running) continue;
    e.sample("smpp_worker_idle_seconds_total", {{"worker", std::to_string(w)}},
             static_cast<double>(t.workers[w].idle_us) / 1e6);
  }
  e.family("smpp_worker_handed_off_total", "counter",
           "Requests the worker handed to the worker owning an upstream bind.");
  for (size_t w = 0; w < t.workers.size(); ++w) {
    if (!t.workers[w].running) continue;
    e.sample("smpp_worker_handed_off_total", {{"worker", std::to_string(w)}},
             t.workers[w].handed_off);
  }
  e.family("smpp_worker_backpressure_stalls_total", "counter",
           "ESME sessions the worker stopped reading because their tenant's queue was full "
           "(queue_full = \"backpressure\").");
  for (size_t w = 0; w < t.workers.size(); ++w) {
    if (!t.workers[w].running) continue;
    e.sample("smpp_worker_backpressure_stalls_total", {{"worker", std::to_string(w)}},
             t.workers[w].backpressure_stalls);
  }
  e.family("smpp_worker_stalled_sessions", "gauge",
           "ESME sessions not read right now because their tenant's queue is full.");
  for (size_t w = 0; w < t.workers.size(); ++w) {
    if (!t.workers[w].running) continue;
    e.sample("smpp_worker_stalled_sessions", {{"worker", std::to_string(w)}},
             t.workers[w].stalled_sessions);
  }
  e.family("smpp_ring_occupancy_cells", "gauge",
           "Cells in use in the ring from one worker to another (approximate).");
  for (const auto& r : t.rings) {
    e.sample("smpp_ring_occupancy_cells",
             {{"from", std::to_string(r.from)}, {"to", std::to_string(r.to)}},
             uint64_t{r.used_cells});
  }
  e.family("smpp_ring_capacity_cells", "gauge", "Cells of the ring from one worker to another.");
  for (const auto& r : t.rings) {
    e.sample("smpp_ring_capacity_cells",
             {{"from", std::to_string(r.from)}, {"to", std::to_string(r.to)}},
             uint64_t{r.capacity_cells});
  }

  // The message-id correlation.
  e.family("smpp_correlation_noted_total", "counter",
           "Message ids the upstreams issued that the router noted, for their receipts and for "
           "query_sm, cancel_sm and replace_sm.");
  e.sample("smpp_correlation_noted_total", {}, t.correlation.noted);
  e.family("smpp_correlation_evicted_total", "counter",
           "Noted message ids evicted from a full correlation table before their TTL (oldest "
           "first): a receipt for one comes back unmatched. Above 0, [correlation] capacity is "
           "below the message rate times the time receipts take.");
  e.sample("smpp_correlation_evicted_total", {}, t.correlation.evicted);
  e.family("smpp_correlation_final_total", "counter",
           "Noted message ids freed by their final receipt once the SMSC had its ESME_ROK "
           "(kept [correlation] keep_final_s more for query_sm).");
  e.sample("smpp_correlation_final_total", {}, t.correlation.final);
  e.family("smpp_message_ops_total", "counter",
           "query_sm, cancel_sm and replace_sm from ESMEs, by outcome: forwarded (to the "
           "upstream that issued the message id) or unknown_id (no correlation entry: answered "
           "ESME_RINVMSGID); the others were answered ESME_RTHROTTLED or the upstream failure "
           "status.");
  e.sample("smpp_message_ops_total", {{"outcome", "forwarded"}}, t.correlation.message_ops);
  e.sample("smpp_message_ops_total", {{"outcome", "unknown_id"}},
           t.correlation.message_ops_unknown);
  e.family("smpp_alert_notifications_total", "counter",
           "alert_notification from upstreams (SMPP 3.4 §4.12), by outcome: relayed (to a "
           "receiver of the tenant whose MO route owns its esme_addr), unrouted (no MO route "
           "owns it) or dropped (no receiver of that tenant bound). It has no response.");
  e.sample("smpp_alert_notifications_total", {{"outcome", "relayed"}}, t.pdus.alerts_relayed);
  e.sample("smpp_alert_notifications_total", {{"outcome", "unrouted"}}, t.pdus.alerts_unrouted);
  e.sample("smpp_alert_notifications_total", {{"outcome", "dropped"}}, t.pdus.alerts_dropped);
  e.family("smpp_broadcast_no_taker_total", "counter",
           "broadcast_sm (SMPP 5.0 §4.4.1) answered ESME_RBCASTFAIL because none of the "
           "upstreams of its route takes broadcasts (broadcast = true); without a route at all "
           "they count as unrouted requests.");
  e.sample("smpp_broadcast_no_taker_total", {}, t.pdus.broadcast_no_taker);

  // Binds refused.
  e.family("smpp_bind_failures_total", "counter",
           "ESME binds refused (bad credentials, source network, lock-out or bind limit).");
  uint64_t bind_failed = 0;
  for (const auto& w : t.workers) bind_failed += w.bind_failed;
  e.sample("smpp_bind_failures_total", {}, bind_failed);
  e.family("smpp_bind_lockouts_total", "counter",
           "Times a source address or system_id was locked out after failed binds.");
  e.family("smpp_bind_refused_locked_total", "counter", "Binds refused during a lock-out.");
  if (t.guard_present) {
    e.sample("smpp_bind_lockouts_total", {}, t.guard.lockouts);
    e.sample("smpp_bind_refused_locked_total", {}, t.guard.refused_locked);
  }
  return e.take();
}

}  // namespace smpp::control
