// One party's count of the requests that crossed it, in one shape for all three parties of an
// end-to-end run, so that a test compares them exactly: esme-load's JSON (what the ESMEs sent
// and how each was answered), smsc-sim's JSON (what the SMSC received and answered) and the
// router's /metrics (per tenant and per upstream).
#pragma once

#include <cstdint>
#include <map>
#include <ostream>
#include <string>

#include "child_process.hpp"
#include "metrics_text.hpp"

namespace smpp::testing {

struct request_counts {
  uint64_t requests = 0;                   // sent by the ESMEs, received by the router or the SMSC
  uint64_t accepted = 0;                   // answered ESME_ROK
  std::map<std::string, uint64_t> errors;  // answered with an error, by status name

  bool operator==(const request_counts&) const = default;
  request_counts& operator+=(const request_counts& o) {
    requests += o.requests;
    accepted += o.accepted;
    for (const auto& [status, n] : o.errors) errors[status] += n;
    return *this;
  }
  // What happened between two readings of the same cumulative counters.
  [[nodiscard]] request_counts since(const request_counts& earlier) const {
    request_counts d{requests - earlier.requests, accepted - earlier.accepted, {}};
    for (const auto& [status, n] : errors) {
      const auto it = earlier.errors.find(status);
      const uint64_t before = it == earlier.errors.end() ? 0 : it->second;
      if (n != before) d.errors[status] = n - before;
    }
    return d;
  }
  friend std::ostream& operator<<(std::ostream& os, const request_counts& c) {
    os << c.requests << " requests, " << c.accepted << " accepted";
    for (const auto& [status, n] : c.errors) os << ", " << n << " " << status;
    return os;
  }
};

// esme-load's report: sent, accepted, errors.STATUS.
inline request_counts esme_counts(const flat_json& report) {
  request_counts c{report.count("sent"), report.count("accepted"), {}};
  for (const std::string& status : report.keys_under("errors")) {
    c.errors[status] = report.count("errors." + status);
  }
  return c;
}

// smsc-sim's counters: every message request it received, accepted, and its error answers
// (throttled by --tps, injected by --error-rate, refused at --journal-max, or malformed).
inline request_counts sim_counts(const flat_json& sim) {
  request_counts c{sim.count("submits"), sim.count("accepted"), {}};
  const std::pair<const char*, std::string> errors[] = {
      {"ESME_RTHROTTLED", "throttled"},
      {"ESME_RSYSERR", "errors.ESME_RSYSERR"},
      {"ESME_RSUBMITFAIL", "errors.ESME_RSUBMITFAIL"},
      {"ESME_RMSGQFUL", "journal_full"},
      {"rejected (malformed, unbound, unsupported)", "rejected"}};
  for (const auto& [status, key] : errors) {
    if (const uint64_t n = sim.count(key); n != 0) c.errors[status] = n;
  }
  return c;
}

// The router's count for one tenant or one upstream (`kind` "tenant" or "upstream"): its
// smpp_KIND_submitted_total, _accepted_total and _rejected_total by status. A missing series
// fails the test.
inline request_counts router_counts(const metric_samples& m, const std::string& kind,
                                    const std::string& name) {
  const std::string labels = "{" + kind + "=\"" + name + "\"}";
  request_counts c{m.count("smpp_" + kind + "_submitted_total" + labels),
                   m.count("smpp_" + kind + "_accepted_total" + labels),
                   {}};
  const std::string rejected =
      "smpp_" + kind + "_rejected_total{" + kind + "=\"" + name + "\",status=\"";
  for (const auto& [series, v] : m.starting_with(rejected)) {
    const std::string status = series.substr(rejected.size(), series.size() - rejected.size() - 2);
    c.errors[status] = static_cast<uint64_t>(v);
  }
  return c;
}

}  // namespace smpp::testing
