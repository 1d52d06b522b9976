// The router's counts of receipts and MO messages, by what became of them, against what the
// client and the SMSC counted: smpp-router between esme-load (--dlr) and smsc-sim over loopback
// (SMPP_BIN_DIR), two workers. The router's /metrics, /api/tenants, /api/upstreams and
// `smppctl tenants` / `smppctl upstreams` must all say the same, and equal esme-load's report
// (accepted, receipts matched, MO received) and smsc-sim's counters (receipts and MO sent,
// acknowledged, refused). With a tenant whose receivers cannot keep up (deliver_window 1, a tiny
// hold queue) and MO messages while no receiver is bound, the router refuses some to the SMSC:
// the refusals its log reports (the workers' loss lines and the exit report) equal its refusal
// counters and the SMSC's count of refused messages. Each case is bounded (under 40 s).
#include <gtest/gtest.h>

#include <httplib.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../support/child_process.hpp"
#include "../support/metrics_text.hpp"
#include "../support/request_counts.hpp"
#include "../support/router_start.hpp"

namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using smpp::testing::child_process;
using smpp::testing::clock_type;
using smpp::testing::esme_counts;
using smpp::testing::exit_result;
using smpp::testing::flat_json;
using smpp::testing::make_temp_dir;
using smpp::testing::metric_samples;
using smpp::testing::read_file;
using smpp::testing::request_counts;
using smpp::testing::router_counts;
using smpp::testing::router_ports;
using smpp::testing::run_tool;
using smpp::testing::smsc_sim_counters;
using smpp::testing::start_router_on_free_ports;
using smpp::testing::start_smsc_sim;
using smpp::testing::wait_for_smsc_sim;

constexpr uint64_t unknown = ~uint64_t{0};  // a count that could not be read: equals no count

// What became of one tenant's or one upstream's receipts or MO messages, as one party reports
// it. unmatched and invalid: an upstream's receipts only (0 elsewhere).
struct return_counts {
  uint64_t received = unknown;
  uint64_t delivered = unknown;
  uint64_t refused = unknown;
  std::map<std::string, uint64_t> refused_by_status;
  uint64_t failed = unknown;
  uint64_t expired = unknown;
  uint64_t held = unknown;
  uint64_t unmatched = 0;
  uint64_t invalid = 0;

  bool operator==(const return_counts&) const = default;
  friend std::ostream& operator<<(std::ostream& os, const return_counts& c) {
    os << c.received << " received, " << c.delivered << " delivered, " << c.refused << " refused (";
    for (const auto& [status, n] : c.refused_by_status) os << " " << status << " " << n;
    return os << " ), " << c.failed << " failed, " << c.expired << " expired, " << c.held
              << " held, " << c.unmatched << " unmatched, " << c.invalid << " invalid";
  }
};

// /metrics: smpp_WHO_return_* of `name` (who: "tenant" or "upstream"), kind "receipt" or "mo".
return_counts from_metrics(const metric_samples& m, const std::string& who, const std::string& name,
                           const std::string& kind) {
  const std::string labels = who + "=\"" + name + "\",kind=\"" + kind + "\"";
  const std::string outcome = "smpp_" + who + "_return_total{" + labels + ",outcome=\"";
  return_counts c;
  c.received = m.count("smpp_" + who + "_return_received_total{" + labels + "}");
  c.delivered = m.count(outcome + "delivered\"}");
  c.refused = m.count(outcome + "refused\"}");
  c.failed = m.count(outcome + "failed\"}");
  c.expired = m.count(outcome + "expired\"}");
  c.held = m.count("smpp_" + who + "_return_held{" + labels + "}");
  if (who == "upstream" && kind == "receipt") {
    c.unmatched = m.count(outcome + "unmatched\"}");
    c.invalid = m.count(outcome + "invalid\"}");
  }
  const std::string refused = "smpp_" + who + "_return_refused_total{" + labels + ",status=\"";
  for (const auto& [series, v] : m.starting_with(refused)) {
    c.refused_by_status[series.substr(refused.size(), series.size() - refused.size() - 2)] =
        static_cast<uint64_t>(v);
  }
  return c;
}

uint64_t count_in(const json& j, const char* key) {
  return j.contains(key) && j[key].is_number_unsigned() ? j[key].get<uint64_t>() : unknown;
}

// /api/tenants or /api/upstreams: one entry's return_path.KEY (key: "receipts" or "mo").
return_counts from_api(const json& entry, const std::string& key) {
  return_counts c;
  if (!entry.contains("return_path") || !entry["return_path"].contains(key)) return c;
  const json& r = entry["return_path"][key];
  c.received = count_in(r, "received");
  c.delivered = count_in(r, "delivered");
  c.refused = count_in(r, "refused");
  c.failed = count_in(r, "failed");
  c.expired = count_in(r, "expired");
  c.held = count_in(r, "held");
  if (r.contains("unmatched")) c.unmatched = count_in(r, "unmatched");
  if (r.contains("invalid")) c.invalid = count_in(r, "invalid");
  const json statuses = r.value("refused_by_status", json::object());
  for (const auto& [status, n] : statuses.items()) {
    c.refused_by_status[status] = n.get<uint64_t>();
  }
  return c;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// The whitespace-separated cells of a table row.
std::vector<std::string> cells_of(const std::string& line) {
  std::vector<std::string> out;
  std::istringstream in(line);
  for (std::string c; in >> c;) out.push_back(c);
  return out;
}

uint64_t number(const std::string& cell) {
  if (cell.empty() || cell.find_first_not_of("0123456789") != std::string::npos) return unknown;
  return std::stoull(cell);
}

// `smppctl tenants` or `smppctl upstreams`: the row of `name` and `kind` ("receipt", "mo") in
// the table under "receipts and MO from the SMSCs, by outcome:", and its lines under "refused to
// the SMSC by status:" ("NAME KIND: STATUS N").
return_counts from_smppctl(const std::string& out, const std::string& name,
                           const std::string& kind) {
  return_counts c;
  const std::vector<std::string> lines = lines_of(out);
  size_t at = 0;
  while (at < lines.size() && lines[at] != "receipts and MO from the SMSCs, by outcome:") ++at;
  if (at + 1 >= lines.size()) return c;
  const std::vector<std::string> header = cells_of(lines[at + 1]);
  for (size_t i = at + 2; i < lines.size() && !lines[i].empty(); ++i) {
    const std::vector<std::string> row = cells_of(lines[i]);
    if (row.size() != header.size() || row[0] != name || row[1] != kind) continue;
    for (size_t k = 2; k < header.size(); ++k) {
      const uint64_t v = number(row[k]);
      if (header[k] == "RECEIVED") c.received = v;
      if (header[k] == "DELIVERED") c.delivered = v;
      if (header[k] == "REFUSED") c.refused = v;
      if (header[k] == "FAILED") c.failed = v;
      if (header[k] == "EXPIRED") c.expired = v;
      if (header[k] == "HELD") c.held = v;
      if (header[k] == "UNMATCHED" && row[k] != "-") c.unmatched = v;
      if (header[k] == "INVALID" && row[k] != "-") c.invalid = v;
    }
  }
  const std::string prefix = "  " + name + " " + kind + ": ";
  for (const std::string& l : lines) {
    if (!l.starts_with(prefix)) continue;
    const std::vector<std::string> status_n = cells_of(l.substr(prefix.size()));
    if (status_n.size() == 2) c.refused_by_status[status_n[0]] = number(status_n[1]);
  }
  return c;
}

// The refusals a worker's log reports: the last loss line "smpp-router: worker W: K receipts/MO
// answered to the SMSC with an error (T in all)" gives T, and the K of all its lines add up to it.
struct logged_refusals {
  uint64_t in_all = 0;  // T of the last line (0: no line)
  uint64_t summed = 0;  // the K of every line
  size_t lines = 0;
};
logged_refusals refusals_logged(const std::string& err, uint32_t worker) {
  logged_refusals r;
  const std::string head = "smpp-router: worker " + std::to_string(worker) + ": ";
  for (const std::string& l : lines_of(err)) {
    unsigned long long k = 0, t = 0;
    if (l.starts_with(head) &&
        l.find(" answered to the SMSC with an error (") != std::string::npos &&
        std::sscanf(l.c_str() + head.size(),
                    "%llu receipts/MO answered to the SMSC with an error (%llu in all)", &k,
                    &t) == 2) {
      r.in_all = t;
      r.summed += k;
      ++r.lines;
    }
  }
  return r;
}

// The exit report's return-path line of `worker`: its receipts and MO answered to the SMSC with
// an error; 0 without such a line (nothing came back through that worker), unknown when the
// line does not read as one.
uint64_t refusals_at_exit(const std::string& err, uint32_t worker) {
  const std::string head = "smpp-router: worker " + std::to_string(worker) + ": return path: ";
  for (const std::string& l : lines_of(err)) {
    if (!l.starts_with(head)) continue;
    unsigned long long receipts = 0, mo = 0, delivered = 0, refused = 0;
    if (std::sscanf(l.c_str() + head.size(),
                    "%llu receipts and %llu MO received, %llu delivered, %llu answered to the "
                    "SMSC with an error",
                    &receipts, &mo, &delivered, &refused) == 4) {
      return refused;
    }
    return unknown;
  }
  return 0;
}

class RouterCountsE2eTest : public ::testing::Test {
 protected:
  static constexpr uint32_t workers = 2;

  void SetUp() override {
    if (sysconf(_SC_NPROCESSORS_ONLN) < 2) GTEST_SKIP() << "needs CPUs 0 and 1";
    dir_ = make_temp_dir(::testing::TempDir(), "router_counts_");
  }
  void TearDown() override {
    if (router_.pid() > 0) {
      router_.signal(SIGTERM);
      (void)router_.wait(10s);
    }
    if (sim_.pid() > 0) {
      sim_.signal(SIGTERM);
      (void)sim_.wait(10s);
    }
  }

  // smsc-sim with `sim_args`, then the router in front of it: tenant "load" with `tenant_keys`,
  // upstream "sim" with one bind per worker, every destination routed there, every MO message
  // to "load"; true once the upstream binds are up.
  ::testing::AssertionResult start(const std::vector<std::string>& sim_args,
                                   const std::string& tenant_keys) {
    const uint16_t sim_port = start_smsc_sim(sim_, 0, sim_args);
    if (sim_port == 0) return ::testing::AssertionFailure() << "no smsc-sim:\n" << sim_.err();
    const router_ports ports =
        start_router_on_free_ports(router_, true, [&](const router_ports& p, int attempt) {
          const std::string path = dir_ + "router" + std::to_string(attempt) + ".toml";
          std::ofstream(path) << "[router]\nlisten = [\"127.0.0.1:" << p.smpp
                              << "\"]\nworkers = [0, 1]\n\n[admin]\nlisten = \"127.0.0.1:"
                              << p.admin
                              << "\"\n\n[[tenants]]\nname = \"load\"\nsystem_id = \"loadtest\"\n"
                                 "password = \"secret\"\n"
                              << tenant_keys << "\n[[upstreams]]\nname = \"sim\"\n"
                              << "address = \"127.0.0.1:"
                              << sim_port
                              // smsc-sim's ids are hex: read as such, never as decimal.
                              << "\"\nmessage_id_radix = \"hex\"\nreceipt_id_radix = \"hex\"\n"
                              << "\n[[upstreams.binds]]\nsystem_id = \"router\"\n"
                                 "password = \"router\"\ncount = "
                              << workers
                              << "\n\n[[routes]]\ntenant = \"*\"\ndestination_prefix = \"\"\n"
                                 "upstreams = [\"sim\"]\n\n[[mo_routes]]\ntenant = \"load\"\n";
          return path;
        });
    if (ports.smpp == 0) return ::testing::AssertionFailure() << "no smpp-router";
    port_ = ports.smpp;
    admin_port_ = ports.admin;
    const auto bound = wait_for_smsc_sim(
        sim_, [](const flat_json& c) { return c.count("binds") >= workers; }, 15s);
    if (!bound || bound->count("binds") < workers) {
      return ::testing::AssertionFailure() << "upstream binds not up:\n" << router_.err();
    }
    return ::testing::AssertionSuccess();
  }

  // esme-load through the router with `args`, and its report.
  flat_json run_load(const std::vector<std::string>& args) {
    const std::string path = dir_ + "load.json";
    std::vector<std::string> all = {"--connect",    "127.0.0.1:" + std::to_string(port_),
                                    "--system-id",  "loadtest",
                                    "--password",   "secret",
                                    "--json",       path,
                                    "--no-progress"};
    all.insert(all.end(), args.begin(), args.end());
    const exit_result r = run_tool("esme-load", all, 60s);
    EXPECT_EQ(r.code, 0) << r.err;  // 0: every submit_sm was answered
    const auto report = flat_json::parse(read_file(path));
    EXPECT_TRUE(report.has_value()) << read_file(path) << "\n" << r.err;
    return report.value_or(flat_json{});
  }

  // smsc-sim's counters once every receipt and MO message it sent has been answered, and the
  // router holds none (bounded: 15 s; the last counters read either way).
  flat_json settled_sim() {
    std::optional<flat_json> c;
    for (const auto until = clock_type::now() + 15s; clock_type::now() < until;) {
      c = smsc_sim_counters(sim_);
      const metric_samples m = metrics();
      if (c &&
          c->count("receipts_acked") + c->count("receipts_nacked") == c->count("receipts_sent") &&
          c->count("mo_acked") + c->count("mo_nacked") == c->count("mo_sent") &&
          m.count(R"(smpp_tenant_queue_depth{tenant="load",queue="held"})") == 0) {
        break;
      }
      std::this_thread::sleep_for(100ms);
    }
    EXPECT_TRUE(c.has_value()) << sim_.out();
    return c.value_or(flat_json{});
  }

  [[nodiscard]] metric_samples metrics() const {
    return smpp::testing::scrape_metrics(admin_port_);
  }

  [[nodiscard]] json api(const std::string& path) const {
    httplib::Client c("127.0.0.1", admin_port_);
    c.set_read_timeout(10, 0);
    const auto res = c.Get(path);
    EXPECT_TRUE(res && res->status == 200) << path;
    if (!res || res->status != 200) return json::array();
    return json::parse(res->body, nullptr, false);
  }

  [[nodiscard]] std::string smppctl(const std::string& command) const {
    const exit_result r = run_tool(
        "smppctl", {"--url", "http://127.0.0.1:" + std::to_string(admin_port_), command}, 30s);
    EXPECT_EQ(r.code, 0) << r.err;
    return r.out;
  }

  // Every read of the router says the same as /metrics `m` of the same quiet moment: tenant
  // "load" and upstream "sim", receipts and MO, in /api/tenants, /api/upstreams, smppctl
  // tenants and smppctl upstreams. The old keys and families keep their meaning.
  void expect_every_read_agrees(const metric_samples& m) {
    const json tenants = api("/api/tenants");
    const json upstreams = api("/api/upstreams");
    ASSERT_EQ(tenants.size(), 1u) << tenants.dump();
    ASSERT_EQ(upstreams.size(), 1u) << upstreams.dump();
    const std::string tenant_table = smppctl("tenants");
    const std::string upstream_table = smppctl("upstreams");
    for (const auto& [kind, key] :
         {std::pair<std::string, std::string>{"receipt", "receipts"}, {"mo", "mo"}}) {
      const return_counts t = from_metrics(m, "tenant", "load", kind);
      EXPECT_EQ(from_api(tenants[0], key), t) << kind;
      EXPECT_EQ(from_smppctl(tenant_table, "load", kind), t) << kind << "\n" << tenant_table;
      const return_counts u = from_metrics(m, "upstream", "sim", kind);
      EXPECT_EQ(from_api(upstreams[0], key), u) << kind;
      EXPECT_EQ(from_smppctl(upstream_table, "sim", kind), u) << kind << "\n" << upstream_table;
    }
    EXPECT_EQ(count_in(tenants[0], "receipts"),
              m.count(R"(smpp_tenant_receipts_total{tenant="load"})"));
    EXPECT_EQ(count_in(tenants[0], "mo"), m.count(R"(smpp_tenant_mo_total{tenant="load"})"));
    EXPECT_EQ(count_in(upstreams[0], "receipts"),
              m.count(R"(smpp_upstream_receipts_total{upstream="sim"})"));
    EXPECT_EQ(count_in(upstreams[0], "mo"), m.count(R"(smpp_upstream_mo_total{upstream="sim"})"));
  }

  child_process sim_;
  child_process router_;
  uint16_t port_ = 0;
  uint16_t admin_port_ = 0;
  std::string dir_;
};

TEST_F(RouterCountsE2eTest, EveryReceiptCountedDeliveredAsTheClientAndTheSmscCountedIt) {
  constexpr uint64_t n = 20000;
  ASSERT_TRUE(start({"--dlr-delay-ms", "1"}, ""));
  const flat_json load =
      run_load({"--count", std::to_string(n), "--sessions", "2", "--window", "64", "--dlr"});
  EXPECT_EQ(esme_counts(load), (request_counts{n, n, {}}));
  EXPECT_EQ(load.count("receipts_matched"), n);
  EXPECT_EQ(load.count("receipts"), n);
  const flat_json sim = settled_sim();
  EXPECT_EQ(sim.count("receipts_sent"), n);
  EXPECT_EQ(sim.count("receipts_acked"), n);
  EXPECT_EQ(sim.count("receipts_nacked"), 0u);

  const metric_samples m = metrics();
  EXPECT_EQ(router_counts(m, "tenant", "load"), esme_counts(load));
  return_counts delivered;
  delivered.received = delivered.delivered = n;
  delivered.refused = delivered.failed = delivered.expired = delivered.held = 0;
  EXPECT_EQ(from_metrics(m, "tenant", "load", "receipt"), delivered);
  EXPECT_EQ(from_metrics(m, "upstream", "sim", "receipt"), delivered);
  EXPECT_EQ(m.count(R"(smpp_tenant_receipts_total{tenant="load"})"), n);
  EXPECT_EQ(m.count(R"(smpp_upstream_receipts_total{upstream="sim"})"), n);
  EXPECT_EQ(m.count(R"(smpp_tenant_ids_evicted_total{tenant="load"})"), 0u);
  EXPECT_EQ(m.count("smpp_correlation_noted_total"), n);
  EXPECT_EQ(m.count("smpp_correlation_final_total"), n);  // each receipt freed its id
  EXPECT_EQ(m.count("smpp_correlation_evicted_total"), 0u);
  expect_every_read_agrees(m);

  router_.signal(SIGTERM);
  const exit_result r = router_.wait(10s);
  EXPECT_EQ(r.code, 0) << r.err;
  for (uint32_t w = 0; w < workers; ++w) {
    EXPECT_EQ(refusals_logged(r.err, w).lines, 0u) << r.err;
    EXPECT_EQ(refusals_at_exit(r.err, w), 0u) << r.err;
  }
}

// MO messages while no receiver is bound: the hold queues take hold_max (10 per worker), the
// rest are refused ESME_RX_T_APPN. Then a receiver with deliver_window 1 gets them and the
// receipts of 5,000 messages, sent as fast as the SMSC answers: it cannot keep up, and what the
// hold queue cannot take is refused (ESME_RTHROTTLED, or ESME_RX_T_APPN on the worker without a
// receiver while its queue is not empty). smsc-sim does not send a refused one again.
TEST_F(RouterCountsE2eTest, RefusalsInTheLogEqualTheRefusalCountersAndTheSmscsCount) {
  constexpr uint64_t mo = 200;
  constexpr uint64_t n = 5000;
  ASSERT_TRUE(start({"--mo-rate", "400", "--mo-count", std::to_string(mo)},
                    "hold_max = 20\nhold_ttl_s = 120\ndeliver_window = 1\n"));
  const auto mo_answered = wait_for_smsc_sim(
      sim_, [](const flat_json& c) { return c.count("mo_acked") + c.count("mo_nacked") >= mo; },
      15s);
  ASSERT_TRUE(mo_answered.has_value());
  // Held: at most the hold queues' bound (10 per worker, each bind gets every other one).
  EXPECT_LE(mo_answered->count("mo_acked"), 20u);
  EXPECT_GE(mo_answered->count("mo_nacked"), mo - 20);

  const flat_json load =
      run_load({"--count", std::to_string(n), "--window", "64", "--dlr", "--dlr-wait", "2"});
  EXPECT_EQ(esme_counts(load), (request_counts{n, n, {}}));
  const flat_json sim = settled_sim();
  EXPECT_EQ(sim.count("receipts_sent"), n);
  EXPECT_EQ(sim.count("mo_sent"), mo);
  EXPECT_GT(sim.count("receipts_nacked"), 0u) << "no receipt refused: the case proves nothing";
  EXPECT_GT(sim.count("receipts_acked"), 0u);

  const metric_samples m = metrics();
  EXPECT_EQ(router_counts(m, "tenant", "load"), esme_counts(load));
  // Receipts: every one the SMSC sent matched the tenant; the ESME got those acknowledged to
  // the SMSC (none failed, expired or held), the SMSC's refused ones were refused here.
  const return_counts receipts = from_metrics(m, "tenant", "load", "receipt");
  EXPECT_EQ(receipts.received, n);
  EXPECT_EQ(receipts.delivered, load.count("receipts_matched"));
  EXPECT_EQ(receipts.delivered, load.count("receipts"));
  EXPECT_EQ(receipts.delivered, sim.count("receipts_acked"));
  EXPECT_EQ(receipts.refused, sim.count("receipts_nacked"));
  EXPECT_EQ(receipts.failed + receipts.expired + receipts.held, 0u) << receipts;
  EXPECT_EQ(receipts.delivered + receipts.refused, receipts.received);
  uint64_t by_status = 0;
  for (const auto& [status, count] : receipts.refused_by_status) {
    EXPECT_TRUE(status == "ESME_RTHROTTLED" || status == "ESME_RX_T_APPN") << status;
    by_status += count;
  }
  EXPECT_EQ(by_status, receipts.refused);
  EXPECT_EQ(m.count(R"(smpp_tenant_receipts_total{tenant="load"})"), receipts.delivered);
  // MO: the ones held reached the ESME once it bound; the rest were refused, none bound.
  const return_counts mos = from_metrics(m, "tenant", "load", "mo");
  EXPECT_EQ(mos.received, mo);
  EXPECT_EQ(mos.delivered, load.count("mo"));
  EXPECT_EQ(mos.delivered, sim.count("mo_acked"));
  EXPECT_EQ(mos.refused, sim.count("mo_nacked"));
  EXPECT_EQ(mos.refused_by_status,
            (std::map<std::string, uint64_t>{{"ESME_RX_T_APPN", sim.count("mo_nacked")}}));
  EXPECT_EQ(mos.failed + mos.expired + mos.held, 0u) << mos;
  EXPECT_EQ(m.count(R"(smpp_tenant_mo_total{tenant="load"})"), mos.delivered);
  // One tenant, one upstream: the upstream's counts are the tenant's, nothing unmatched.
  EXPECT_EQ(from_metrics(m, "upstream", "sim", "receipt"), receipts);
  EXPECT_EQ(from_metrics(m, "upstream", "sim", "mo"), mos);
  expect_every_read_agrees(m);

  // The log: each worker's loss lines add up, and once its next line is due (at most one per
  // 10 s) the last one's total is its refusal count; all workers' together are the counters'.
  const uint64_t refused = receipts.refused + mos.refused;
  const json status = api("/api/status");
  std::vector<uint64_t> per_worker(workers, unknown);
  for (uint32_t w = 0; w < workers && w < status.value("workers", json::array()).size(); ++w) {
    per_worker[w] = count_in(status["workers"][w], "deliver_refused");
  }
  uint64_t summed = 0;
  for (uint64_t v : per_worker) summed += v;
  EXPECT_EQ(summed, refused);
  const bool logged = router_.wait_for_output(
      [&](const std::string&, const std::string& err) {
        for (uint32_t w = 0; w < workers; ++w) {
          if (refusals_logged(err, w).in_all != per_worker[w]) return false;
        }
        return true;
      },
      15s);
  EXPECT_TRUE(logged) << router_.err();
  for (uint32_t w = 0; w < workers; ++w) {
    const logged_refusals l = refusals_logged(router_.err(), w);
    EXPECT_EQ(l.in_all, per_worker[w]) << "worker " << w << ":\n" << router_.err();
    EXPECT_EQ(l.summed, l.in_all) << "worker " << w << ":\n" << router_.err();
  }

  router_.signal(SIGTERM);
  const exit_result r = router_.wait(10s);
  EXPECT_EQ(r.code, 0) << r.err;
  uint64_t at_exit = 0;
  for (uint32_t w = 0; w < workers; ++w) {
    EXPECT_EQ(refusals_at_exit(r.err, w), per_worker[w]) << r.err;
    at_exit += refusals_at_exit(r.err, w);
  }
  EXPECT_EQ(at_exit, sim.count("receipts_nacked") + sim.count("mo_nacked"));
}

}  // namespace
