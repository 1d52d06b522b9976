// Real SMPP implementations against the project's built binaries over loopback: node-smpp
// (npm `smpp` 0.5.1, tests/peers/esme.js and smsc.js) as an ESME and as an upstream SMSC, and
// Perl Net::SMPP (tests/peers/esme.pl) as an ESME. Each run binds, submits, checks every
// response and its message_id, and matches the delivery receipts to those message_ids.
//   PeersDirect.*                 real clients against smsc-sim, esme-load against node's SMSC
//   PeersThroughRouter.*          the same clients and servers with smpp-router in between
//                                 (submit_sm and responses; no receipts asked for)
//   PeersThroughRouterReceipts.*  the receipts' way back through smpp-router
// Every child process has a bound on its run time; only 127.0.0.1 is used.
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "../support/child_process.hpp"
#include "../support/metrics_text.hpp"
#include "../support/router_start.hpp"

namespace {

using namespace std::chrono_literals;
using smpp::testing::child_process;
using smpp::testing::clock_type;
using smpp::testing::exit_result;
using smpp::testing::flat_json;
using smpp::testing::last_line;
using smpp::testing::make_temp_dir;
using smpp::testing::read_file;
using smpp::testing::router_ports;
using smpp::testing::start_router_on_free_ports;
using smpp::testing::start_smsc_sim;
using smpp::testing::unused_port;

constexpr uint64_t messages = 200;
// The peers' own bound on a run (--timeout-ms); the test waits a little longer for their exit.
constexpr int peer_timeout_ms = 10'000;
constexpr auto peer_wait = std::chrono::milliseconds{peer_timeout_ms} + 10s;
constexpr auto router_stop_limit = 5s;  // the router's own shutdown bound is 3 s

std::string peers_dir() {
  if (const char* env = std::getenv("SMPP_PEERS_DIR"); env != nullptr && *env != '\0') return env;
  return SMPP_PEERS_DIR_DEFAULT;
}

// What a peer needs, with the command that provides it when it is missing.
::testing::AssertionResult peers_installed() {
  const std::string node = SMPP_NODE_EXECUTABLE;
  const std::string perl = SMPP_PERL_EXECUTABLE;
  if (node.empty() || access(node.c_str(), X_OK) != 0) {
    return ::testing::AssertionFailure() << "node not found: run tools/install-deps.sh";
  }
  if (!std::filesystem::exists(peers_dir() + "/node_modules/smpp/package.json")) {
    return ::testing::AssertionFailure()
           << peers_dir() << "/node_modules/smpp missing: run tools/install-deps.sh "
           << "(npm ci in tests/peers)";
  }
  if (perl.empty() || access(perl.c_str(), X_OK) != 0) {
    return ::testing::AssertionFailure() << "perl not found: run tools/install-deps.sh";
  }
  child_process probe;
  if (!probe.start(perl, {"-MNet::SMPP", "-e", "1"}) || probe.wait(10s).code != 0) {
    return ::testing::AssertionFailure()
           << "Perl Net::SMPP missing: run tools/install-deps.sh (libnet-smpp-perl)";
  }
  return ::testing::AssertionSuccess();
}

void expect_no_sanitizer_report(std::string_view who, const std::string& err) {
  EXPECT_EQ(err.find("Sanitizer"), std::string::npos) << who << ":\n" << err;
  EXPECT_EQ(err.find("runtime error:"), std::string::npos) << who << ":\n" << err;
}

// The peers print JSON booleans, which flat_json keeps without their value.
bool json_true(const std::string& json, std::string_view key) {
  return json.find("\"" + std::string(key) + "\":true") != std::string::npos;
}

// One run of a peer ESME: its exit, its JSON summary (the last line of stdout) and that line.
struct esme_run {
  exit_result process;
  flat_json report;
  std::string line;
};

// The counters a peer SMSC (smsc-sim or node's) prints on SIGUSR1: one JSON line on stdout.
std::optional<flat_json> counters_of(child_process& smsc) {
  auto lines = [](const std::string& out) { return std::count(out.begin(), out.end(), '\n'); };
  const auto before = lines(smsc.out());
  smsc.signal(SIGUSR1);
  const bool answered = smsc.wait_for_output(
      [&](const std::string& out, const std::string&) { return lines(out) > before; }, 10s);
  if (!answered) return std::nullopt;
  return flat_json::parse(last_line(smsc.out()));
}

// Polls the counters until `key` reaches `at_least` (15 s at most).
bool wait_for_counter(child_process& smsc, const std::string& key, uint64_t at_least) {
  const auto until = clock_type::now() + 15s;
  while (clock_type::now() < until) {
    const auto j = counters_of(smsc);
    if (j && j->num(key) >= static_cast<double>(at_least)) return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

// SIGTERM, then the counters it prints on its way out.
flat_json stop_smsc(child_process& smsc, std::string_view who) {
  smsc.signal(SIGTERM);
  const exit_result r = smsc.wait(10s);
  EXPECT_EQ(r.code, 0) << who << ":\n" << r.err;
  expect_no_sanitizer_report(who, r.err);
  const auto j = flat_json::parse(last_line(r.out));
  EXPECT_TRUE(j.has_value()) << who << " printed: " << r.out;
  return j.value_or(flat_json{});
}

class PeersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(peers_installed());
    dir_ = make_temp_dir(::testing::TempDir(), "peers_");
  }
  void TearDown() override {
    if (router_.pid() > 0) stop_router();
  }

  // node's SMSC (tests/peers/smsc.js) on a port from the kernel; 0 when it did not come up.
  uint16_t start_node_smsc(child_process& smsc, std::vector<std::string> args) {
    args.insert(args.begin(), {peers_dir() + "/smsc.js", "--port", "0", "--duration-ms", "50000"});
    if (!smsc.start(SMPP_NODE_EXECUTABLE, args)) return 0;
    constexpr std::string_view marker = "node-smsc: listening on 127.0.0.1:";
    const bool up = smsc.wait_for_output(
        [&](const std::string&, const std::string& err) {
          const size_t at = err.find(marker);
          return at != std::string::npos && err.find('\n', at) != std::string::npos;
        },
        15s);
    if (!up) return 0;
    const size_t at = smsc.err().find(marker) + marker.size();
    return static_cast<uint16_t>(std::strtoul(smsc.err().c_str() + at, nullptr, 10));
  }

  static esme_run finish_esme(child_process& p, std::string_view who,
                              std::chrono::milliseconds wait = peer_wait) {
    esme_run r;
    r.process = p.wait(wait);
    r.line = last_line(r.process.out);
    const auto j = flat_json::parse(r.line);
    EXPECT_TRUE(j.has_value()) << who << " printed: " << r.process.out << "\n" << r.process.err;
    r.report = j.value_or(flat_json{});
    return r;
  }
  // node-smpp's ESME (esme.js) or Net::SMPP's (esme.pl) against 127.0.0.1:port.
  static esme_run run_node_esme(uint16_t port, std::vector<std::string> args) {
    args.insert(args.begin(), {peers_dir() + "/esme.js", "--port", std::to_string(port),
                               "--timeout-ms", std::to_string(peer_timeout_ms)});
    child_process p;
    EXPECT_TRUE(p.start(SMPP_NODE_EXECUTABLE, args));
    return finish_esme(p, "esme.js");
  }
  // node-smpp's ESME for submit_multi and cell broadcasts (pdus.js).
  static esme_run run_pdus_esme(uint16_t port, std::vector<std::string> args) {
    args.insert(args.begin(),
                {peers_dir() + "/pdus.js", "--port", std::to_string(port), "--system-id", "peers",
                 "--timeout-ms", std::to_string(peer_timeout_ms)});
    child_process p;
    EXPECT_TRUE(p.start(SMPP_NODE_EXECUTABLE, args));
    return finish_esme(p, "pdus.js");
  }
  static esme_run run_perl_esme(uint16_t port, std::vector<std::string> args) {
    args.insert(args.begin(), {peers_dir() + "/esme.pl", "--port", std::to_string(port),
                               "--timeout-ms", std::to_string(peer_timeout_ms)});
    child_process p;
    EXPECT_TRUE(p.start(SMPP_PERL_EXECUTABLE, args));
    return finish_esme(p, "esme.pl");
  }

  // esme-load against 127.0.0.1:port; its JSON report.
  esme_run run_esme_load(uint16_t port, const std::string& system_id, const std::string& password,
                         const std::vector<std::string>& args) {
    const std::string json = dir_ + "load" + std::to_string(++runs_) + ".json";
    std::vector<std::string> all = {"--connect",    "127.0.0.1:" + std::to_string(port),
                                    "--system-id",  system_id,
                                    "--password",   password,
                                    "--json",       json,
                                    "--no-progress"};
    all.insert(all.end(), args.begin(), args.end());
    child_process p;
    EXPECT_TRUE(p.start("esme-load", all));
    esme_run r;
    r.process = p.wait(60s);
    expect_no_sanitizer_report("esme-load", r.process.err);
    r.line = read_file(json);
    const auto j = flat_json::parse(r.line);
    EXPECT_TRUE(j.has_value()) << "esme-load wrote: " << r.line << "\n" << r.process.err;
    r.report = j.value_or(flat_json{});
    return r;
  }

  // smpp-router on a port from the kernel with one tenant (system_id "peers", password
  // "secret", then `tenant_keys`) and one upstream on 127.0.0.1:upstream_port with `binds`
  // transceiver binds (then `extra`: its sub-tables, or top-level array tables); with `admin`,
  // its admin API on a port of its own (admin_port_).
  bool start_router(uint16_t upstream_port, uint32_t binds, const std::string& bind_system_id,
                    const std::string& bind_password,
                    const std::string& tenant_keys = "window = 64\n", bool admin = false,
                    const std::string& extra = "") {
    const router_ports ports =
        start_router_on_free_ports(router_, admin, [&](const router_ports& p, int /*attempt*/) {
          const std::string path = dir_ + "router" + std::to_string(++configs_) + ".toml";
          std::ofstream out(path);
          out << "[router]\n"
              << "listen = [\"127.0.0.1:" << p.smpp << "\"]\n"
              << "workers = [0]\n\n";
          if (admin) out << "[admin]\nlisten = \"127.0.0.1:" << p.admin << "\"\n\n";
          out << "[timeouts]\n"
              << "reconnect_min_ms = 100\n"
              << "reconnect_max_ms = 1000\n\n"
              << "[[tenants]]\n"
              << "name = \"peers\"\n"
              << "system_id = \"peers\"\n"
              << "password = \"secret\"\n"
              << tenant_keys << "\n"
              << "[[upstreams]]\n"
              << "name = \"upstream\"\n"
              << "address = \"127.0.0.1:" << upstream_port << "\"\n\n"
              << "[[upstreams.binds]]\n"
              << "system_id = \"" << bind_system_id << "\"\n"
              << "password = \"" << bind_password << "\"\n"
              << "count = " << binds << "\n"
              << extra << "\n"
              << "[[routes]]\n"
              << "tenant = \"*\"\n"
              << "upstreams = [\"upstream\"]\n";
          return path;
        });
    port_ = ports.smpp;
    admin_port_ = ports.admin;
    return port_ != 0;
  }

  // smpp-router with two upstreams, one bind each: "a" on a_port, "b" on b_port (with
  // `broadcast = true` when b_broadcasts). Destinations 33... go to b, every other one to a, and
  // the route for no destination (broadcast_sm's) lists a, then b. Both binds up.
  ::testing::AssertionResult start_router_two_upstreams(child_process& a, uint16_t a_port,
                                                        child_process& b, uint16_t b_port,
                                                        bool b_broadcasts) {
    if (a_port == 0 || b_port == 0) return ::testing::AssertionFailure() << "no SMSC";
    const router_ports ports =
        start_router_on_free_ports(router_, false, [&](const router_ports& p, int /*attempt*/) {
          const std::string path = dir_ + "router" + std::to_string(++configs_) + ".toml";
          std::ofstream out(path);
          out << "[router]\nlisten = [\"127.0.0.1:" << p.smpp << "\"]\nworkers = [0]\n\n"
              << "[timeouts]\nreconnect_min_ms = 100\nreconnect_max_ms = 1000\n\n"
              << "[[tenants]]\nname = \"peers\"\nsystem_id = \"peers\"\n"
              << "password = \"secret\"\nwindow = 64\n\n";
          for (const auto& [name, port] : {std::pair{"a", a_port}, std::pair{"b", b_port}}) {
            out << "[[upstreams]]\nname = \"" << name << "\"\naddress = \"127.0.0.1:" << port
                << "\"\n"
                << (name == std::string_view("b") && b_broadcasts ? "broadcast = true\n" : "")
                << "[[upstreams.binds]]\nsystem_id = \"router\"\npassword = \"rpw\"\n"
                << "count = 1\n\n";
          }
          out << "[[routes]]\ntenant = \"*\"\ndestination_prefix = \"33\"\n"
              << "upstreams = [\"b\"]\n\n"
              << "[[routes]]\ntenant = \"*\"\nupstreams = [\"a\", \"b\"]\n";
          return path;
        });
    port_ = ports.smpp;
    if (port_ == 0) return ::testing::AssertionFailure() << "no smpp-router";
    if (!wait_for_counter(a, "binds", 1) || !wait_for_counter(b, "binds", 1)) {
      return ::testing::AssertionFailure() << "upstream binds not up:\n" << router_.err();
    }
    return ::testing::AssertionSuccess();
  }

  // The router in front of `smsc`, its upstream binds up (the SMSC counted them).
  ::testing::AssertionResult start_router_before(child_process& smsc, uint16_t smsc_port,
                                                 uint32_t binds, const std::string& system_id,
                                                 const std::string& password,
                                                 const std::string& tenant_keys = "window = 64\n",
                                                 bool admin = false,
                                                 const std::string& extra = "") {
    if (smsc_port == 0) return ::testing::AssertionFailure() << "no SMSC:\n" << smsc.err();
    if (!start_router(smsc_port, binds, system_id, password, tenant_keys, admin, extra)) {
      return ::testing::AssertionFailure() << "no smpp-router";
    }
    if (!wait_for_counter(smsc, "binds", binds)) {
      return ::testing::AssertionFailure() << "upstream binds not up:\n" << router_.err();
    }
    return ::testing::AssertionSuccess();
  }

  // SIGTERM: the router unbinds everything and exits 0 in time; returns its "forwarded,
  // relayed" totals.
  std::pair<uint64_t, uint64_t> stop_router() {
    const auto sent = clock_type::now();
    router_.signal(SIGTERM);
    const exit_result r = router_.wait(router_stop_limit + 10s);
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_LT(clock_type::now() - sent, router_stop_limit) << r.err;
    expect_no_sanitizer_report("smpp-router", r.err);
    unsigned long long forwarded = ~0ULL, relayed = ~0ULL;
    const size_t at = r.err.find("smpp-router: stopped; ");
    if (at != std::string::npos) {
      (void)std::sscanf(r.err.c_str() + at,
                        "smpp-router: stopped; %llu requests forwarded, %llu answers relayed",
                        &forwarded, &relayed);
    }
    return {forwarded, relayed};
  }

  child_process router_;
  uint16_t port_ = 0;
  uint16_t admin_port_ = 0;  // 0: the router runs without its admin API
  std::string dir_;
  int runs_ = 0;
  int configs_ = 0;
};

// Every submit_sm answered ESME_ROK with its own message_id; `receipts` of them matched.
void expect_clean_run(const esme_run& r, uint64_t receipts) {
  EXPECT_EQ(r.process.code, 0) << r.line << "\n" << r.process.err;
  EXPECT_TRUE(json_true(r.line, "bound"));
  EXPECT_TRUE(json_true(r.line, "enquire_link_ok"));
  EXPECT_TRUE(json_true(r.line, "unbound"));
  EXPECT_TRUE(json_true(r.line, "ok"));
  EXPECT_EQ(r.report.count("sent"), messages);
  EXPECT_EQ(r.report.count("resp_ok"), messages);
  EXPECT_TRUE(r.report.keys_under("resp_errors").empty()) << r.line;
  EXPECT_EQ(r.report.count("message_ids"), messages);
  EXPECT_EQ(r.report.count("receipts"), receipts);
  EXPECT_EQ(r.report.count("receipts_matched"), receipts);
  EXPECT_EQ(r.report.count("receipts_unmatched"), 0u);
  EXPECT_EQ(r.report.count("receipts_duplicate"), 0u);
  EXPECT_EQ(r.report.count("receipts_text_mismatch"), 0u);
}

void expect_refused_bind(const esme_run& r, std::string_view status) {
  EXPECT_EQ(r.process.code, 1) << r.line;
  EXPECT_NE(r.line.find("\"bind_status\":\"" + std::string(status) + "\""), std::string::npos)
      << r.line;
  EXPECT_EQ(r.report.count("sent"), 0u);
}

// ---- the volume runs' sizes, bounds and checks ----------------------------------------------

// 100,000 messages with a receipt each, smsc-sim sending every receipt right after its response.
constexpr uint64_t volume_messages = 100'000;
// The bulk ESME's window: the tenant's default window of the router (config/README.md).
constexpr int volume_window = 256;
// Peers give up this long after the last receipt (or delivery report) when some are missing,
// instead of waiting for their timeout.
constexpr int volume_idle_ms = 10'000;
// Kannel's delivery reports asked for: 1 delivered, 2 not delivered, 16 refused by the SMSC.
// Each report is one HTTP request from smsbox; adding 8 (delivered to the SMSC) doubles them
// and took the run from 35-37 s to 49-64 s.
constexpr int kannel_dlr_mask = 1 | 2 | 16;
// Bounds of the two runs. Measured on a 2-core machine shared with other work: esme.js 12 s,
// Kannel 35-37 s (sendsms 2,700-3,250/s). Both stay under child_deadline (120 s), after which
// child_process kills the router and smsc-sim that were started before them.
constexpr int node_volume_timeout_ms = 60'000;
constexpr int kannel_volume_timeout_ms = 95'000;

// Processes whose command line names `needle` (bearerbox and smsbox run with their
// configuration file's path).
std::vector<pid_t> processes_naming(const std::string& needle) {
  std::vector<pid_t> found;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    if (read_file(entry.path() / "cmdline").find(needle) != std::string::npos) {
      found.push_back(static_cast<pid_t>(std::stol(name)));
    }
  }
  return found;
}

// The router's receipt counters against the peers' own counts: every counter of tenant "peers"
// or upstream "upstream" whose name speaks of receipts is read by what its name says, not by an
// exact name, since those counters are being reworked: refused, rejected, expired, evicted,
// dropped and unmatched ones are 0, delivered or acknowledged ones (and
// smpp_tenant_receipts_total, documented as "receipts the tenant's receivers acknowledged")
// equal what the peer matched, received ones (and smpp_upstream_receipts_total) what the SMSC
// sent; held receipts are 0 at the end. A counter whose name says none of this is printed, not
// checked. Returns how many series were checked.
int expect_receipt_metrics(uint16_t admin_port, uint64_t sent_by_smsc, uint64_t matched) {
  const smpp::testing::metric_samples m = smpp::testing::scrape_metrics(admin_port);
  int checked = 0;
  for (const auto& [series, value] : m.starting_with("smpp_")) {
    const std::string name = series.substr(0, series.find('{'));
    const bool ours = series.find("tenant=\"peers\"") != std::string::npos ||
                      series.find("upstream=\"upstream\"") != std::string::npos;
    if (!ours) continue;
    const auto says = [&](std::string_view word) { return name.find(word) != std::string::npos; };
    std::optional<uint64_t> want;
    if (series.find("queue=\"held\"") != std::string::npos) {
      want = 0;
    } else if (says("receipt") && name.ends_with("_total")) {
      if (says("refus") || says("reject") || says("nack") || says("expired") || says("evict") ||
          says("dropped") || says("unmatched")) {
        want = 0;
      } else if (says("deliver") || says("acked") || says("acknowledged") ||
                 name == "smpp_tenant_receipts_total") {
        want = matched;
      } else if (says("received") || name == "smpp_upstream_receipts_total") {
        want = sent_by_smsc;
      } else {
        std::printf("receipt counter not checked: %s %.0f\n", series.c_str(), value);
      }
    }
    if (!want) continue;
    ++checked;
    EXPECT_EQ(value, static_cast<double>(*want)) << series;
  }
  return checked;
}

using PeersDirect = PeersTest;
using PeersThroughRouter = PeersTest;
using PeersThroughRouterReceipts = PeersTest;

// ---- real peers directly against smsc-sim and esme-load --------------------------------------

TEST_F(PeersDirect, NodeEsmeGetsEveryResponseAndReceiptFromSmscSim) {
  child_process sim;
  const uint16_t port = start_smsc_sim(
      sim, 0, {"--system-id", "esme", "--password", "secret", "--dlr-delay-ms", "100"});
  ASSERT_NE(port, 0) << sim.err();

  expect_clean_run(run_node_esme(port, {"--count", "200", "--window", "10"}), messages);

  const flat_json c = stop_smsc(sim, "smsc-sim");
  EXPECT_EQ(c.count("binds"), 1u);
  EXPECT_EQ(c.count("enquire_links"), 1u);
  EXPECT_EQ(c.count("submit_sm"), messages);
  EXPECT_EQ(c.count("receipts_sent"), messages);
  EXPECT_EQ(c.count("receipts_acked"), messages);
  EXPECT_EQ(c.count("unbinds"), 1u);
  EXPECT_EQ(c.count("rejected") + c.count("generic_nacks"), 0u);
}

TEST_F(PeersDirect, PerlEsmeGetsEveryResponseAndReceiptFromSmscSim) {
  child_process sim;
  const uint16_t port = start_smsc_sim(
      sim, 0, {"--system-id", "esme", "--password", "secret", "--dlr-delay-ms", "100"});
  ASSERT_NE(port, 0) << sim.err();

  expect_clean_run(run_perl_esme(port, {"--count", "200", "--window", "10"}), messages);

  const flat_json c = stop_smsc(sim, "smsc-sim");
  EXPECT_EQ(c.count("binds"), 1u);
  EXPECT_EQ(c.count("enquire_links"), 1u);
  EXPECT_EQ(c.count("submit_sm"), messages);
  EXPECT_EQ(c.count("receipts_acked"), messages);
  EXPECT_EQ(c.count("unbinds"), 1u);
  EXPECT_EQ(c.count("rejected") + c.count("generic_nacks"), 0u);
}

TEST_F(PeersDirect, SmscSimRefusesWrongCredentialsOfRealClients) {
  child_process sim;
  const uint16_t port = start_smsc_sim(sim, 0, {"--system-id", "esme", "--password", "secret"});
  ASSERT_NE(port, 0) << sim.err();

  expect_refused_bind(run_node_esme(port, {"--password", "wrong"}), "ESME_RINVPASWD");
  expect_refused_bind(run_perl_esme(port, {"--password", "wrong"}), "ESME_RINVPASWD");
  expect_refused_bind(run_node_esme(port, {"--system-id", "other"}), "ESME_RINVSYSID");
  expect_refused_bind(run_perl_esme(port, {"--system-id", "other"}), "ESME_RINVSYSID");

  const flat_json c = stop_smsc(sim, "smsc-sim");
  EXPECT_EQ(c.count("bind_failures"), 4u);
  EXPECT_EQ(c.count("binds"), 0u);
}

// The peers' checks fail when the SMSC answers with errors (and smsc-sim's injected errors reach
// real clients as proper submit_sm_resp).
TEST_F(PeersDirect, RealClientsReportEveryErrorResponseOfSmscSim) {
  child_process sim;
  const uint16_t port = start_smsc_sim(sim, 0, {"--error-rate", "1"});
  ASSERT_NE(port, 0) << sim.err();

  for (const bool perl : {false, true}) {
    const esme_run r =
        perl ? run_perl_esme(port, {"--count", "50"}) : run_node_esme(port, {"--count", "50"});
    EXPECT_EQ(r.process.code, 1) << r.line;
    EXPECT_EQ(r.report.count("sent"), 50u);
    EXPECT_EQ(r.report.count("resp_ok"), 0u);
    EXPECT_EQ(
        r.report.count("resp_errors.ESME_RSYSERR") + r.report.count("resp_errors.ESME_RSUBMITFAIL"),
        50u)
        << r.line;
    EXPECT_EQ(r.report.count("receipts"), 0u);
  }
  const flat_json c = stop_smsc(sim, "smsc-sim");
  EXPECT_EQ(c.count("errors.ESME_RSYSERR") + c.count("errors.ESME_RSUBMITFAIL"), 100u);
  EXPECT_EQ(c.count("receipts_sent"), 0u);
}

TEST_F(PeersDirect, EsmeLoadGetsEveryResponseAndReceiptFromNodeSmsc) {
  child_process smsc;
  const uint16_t port = start_node_smsc(smsc, {"--system-id", "loadtest", "--password", "secret",
                                               "--dlr-delay-ms", "300", "--enquire-link-ms", "50"});
  ASSERT_NE(port, 0) << smsc.err();

  // A transceiver, then a transmitter with a receiver for the receipts.
  for (const char* bind_type : {"trx", "tx"}) {
    const esme_run r = run_esme_load(port, "loadtest", "secret",
                                     {"--count", "200", "--dlr", "--bind-type", bind_type});
    EXPECT_EQ(r.process.code, 0) << bind_type << ": " << r.line << r.process.err;
    EXPECT_EQ(r.report.count("sent"), messages) << bind_type;
    EXPECT_EQ(r.report.count("accepted"), messages) << bind_type;
    EXPECT_EQ(r.report.count("unanswered"), 0u) << bind_type;
    EXPECT_EQ(r.report.count("receipts"), messages) << bind_type;
  }
  const esme_run wrong = run_esme_load(port, "loadtest", "wrong", {"--count", "10"});
  EXPECT_EQ(wrong.process.code, 1) << wrong.line;
  EXPECT_EQ(wrong.report.count("bind_failures"), 1u);

  const flat_json c = stop_smsc(smsc, "node-smsc");
  EXPECT_EQ(c.count("binds"), 3u);  // trx; tx + rx
  EXPECT_EQ(c.count("bind_failures"), 1u);
  EXPECT_EQ(c.count("submit_sm"), 2 * messages);
  EXPECT_EQ(c.count("receipts_sent"), 2 * messages);
  EXPECT_EQ(c.count("receipts_acked"), 2 * messages);
  EXPECT_EQ(c.count("receipts_dropped"), 0u);
  EXPECT_EQ(c.count("unbinds"), 3u);
  EXPECT_GE(c.count("enquire_link_resps"), 1u);  // esme-load answers the SMSC's enquire_link
  EXPECT_EQ(c.count("rejected") + c.count("errors"), 0u);
}

// The node peers agree with each other, and the ESME's message_id check can fail.
TEST_F(PeersDirect, NodeEsmeAndNodeSmscAgree) {
  child_process smsc;
  const uint16_t port = start_node_smsc(smsc, {"--dlr-delay-ms", "50", "--id-prefix", "NODE"});
  ASSERT_NE(port, 0) << smsc.err();

  expect_clean_run(run_node_esme(port, {"--expect-id-prefix", "NODE"}), messages);
  const esme_run foreign = run_node_esme(port, {"--count", "5", "--expect-id-prefix", "SIM"});
  EXPECT_EQ(foreign.process.code, 1) << foreign.line;
  EXPECT_NE(foreign.line.find("does not start with SIM"), std::string::npos) << foreign.line;

  const flat_json c = stop_smsc(smsc, "node-smsc");
  EXPECT_EQ(c.count("submit_sm"), messages + 5);
}

// ---- real peers through smpp-router: submit_sm and responses ---------------------------------

TEST_F(PeersThroughRouter, NodeEsmeThroughRouterToSmscSim) {
  child_process sim;
  const uint16_t sim_port = start_smsc_sim(sim, 0, {"--system-id", "router"});
  ASSERT_TRUE(start_router_before(sim, sim_port, 2, "router", "rpw"));

  expect_clean_run(run_node_esme(port_, {"--system-id", "peers", "--no-receipts"}), 0);
  // The router answers every authentication failure alike.
  expect_refused_bind(run_node_esme(port_, {"--system-id", "peers", "--password", "wrong"}),
                      "ESME_RBINDFAIL");

  EXPECT_EQ(stop_router(), std::make_pair(messages, messages));
  const flat_json c = stop_smsc(sim, "smsc-sim");
  EXPECT_EQ(c.count("submit_sm"), messages);
  EXPECT_EQ(c.count("accepted"), messages);
  EXPECT_EQ(c.count("binds"), 2u);
  EXPECT_EQ(c.count("unbinds"), 2u);
}

// data_sm from a real client (SMPP 3.4 §4.7) is routed like submit_sm: each reaches the SMSC
// once and its data_sm_resp comes back with the SMSC's message_id.
TEST_F(PeersThroughRouter, NodeEsmeDataSmThroughRouterToSmscSim) {
  child_process sim;
  const uint16_t sim_port = start_smsc_sim(sim, 0, {"--system-id", "router"});
  ASSERT_TRUE(start_router_before(sim, sim_port, 2, "router", "rpw"));

  expect_clean_run(run_node_esme(port_, {"--system-id", "peers", "--no-receipts", "--data-sm"}), 0);

  EXPECT_EQ(stop_router(), std::make_pair(messages, messages));
  const flat_json c = stop_smsc(sim, "smsc-sim");
  EXPECT_EQ(c.count("data_sm"), messages);
  EXPECT_EQ(c.count("submit_sm"), 0u);
  EXPECT_EQ(c.count("accepted"), messages);
}

TEST_F(PeersThroughRouter, PerlEsmeThroughRouterToSmscSim) {
  child_process sim;
  const uint16_t sim_port = start_smsc_sim(sim, 0, {"--system-id", "router"});
  ASSERT_TRUE(start_router_before(sim, sim_port, 2, "router", "rpw"));

  expect_clean_run(run_perl_esme(port_, {"--system-id", "peers", "--no-receipts"}), 0);
  // The router answers every authentication failure alike.
  expect_refused_bind(run_perl_esme(port_, {"--system-id", "peers", "--password", "wrong"}),
                      "ESME_RBINDFAIL");

  EXPECT_EQ(stop_router(), std::make_pair(messages, messages));
  const flat_json c = stop_smsc(sim, "smsc-sim");
  EXPECT_EQ(c.count("submit_sm"), messages);
  EXPECT_EQ(c.count("accepted"), messages);
}

// node's SMSC as the upstream: the router binds to it with its credentials, answers its
// enquire_link, and relays node's own message_ids to the ESMEs.
TEST_F(PeersThroughRouter, RouterBindsToNodeSmscAndRelaysItsMessageIds) {
  child_process smsc;
  const uint16_t smsc_port =
      start_node_smsc(smsc, {"--system-id", "router", "--password", "rpw", "--id-prefix", "NODE",
                             "--enquire-link-ms", "100"});
  ASSERT_TRUE(start_router_before(smsc, smsc_port, 2, "router", "rpw"));

  expect_clean_run(
      run_node_esme(port_, {"--system-id", "peers", "--no-receipts", "--expect-id-prefix", "NODE"}),
      0);
  const esme_run load = run_esme_load(port_, "peers", "secret", {"--count", "200"});
  EXPECT_EQ(load.process.code, 0) << load.line << load.process.err;
  EXPECT_EQ(load.report.count("accepted"), messages);
  EXPECT_EQ(load.report.count("unanswered"), 0u);
  // The router answers node's enquire_link on both binds.
  EXPECT_TRUE(wait_for_counter(smsc, "enquire_link_resps", 2)) << smsc.out();

  EXPECT_EQ(stop_router(), std::make_pair(2 * messages, 2 * messages));
  const flat_json c = stop_smsc(smsc, "node-smsc");
  EXPECT_EQ(c.count("binds"), 2u);
  EXPECT_EQ(c.count("bind_failures"), 0u);
  EXPECT_EQ(c.count("submit_sm"), 2 * messages);
  EXPECT_EQ(c.count("accepted"), 2 * messages);
  EXPECT_EQ(c.count("unbinds"), 2u);  // SIGTERM unbinds the router's upstream binds
  EXPECT_EQ(c.count("rejected") + c.count("errors"), 0u);
}

// node's SMSC sends an alert_notification (SMPP 3.4 §4.12) after each submit_sm it accepts; the
// router relays each to node's ESME, the tenant whose MO route owns the alert's esme_addr.
TEST_F(PeersThroughRouter, NodeSmscAlertNotificationsReachTheTenantOwningTheEsmeAddress) {
  child_process smsc;
  const uint16_t smsc_port = start_node_smsc(smsc, {"--alert-esme-addr", "5550001"});
  ASSERT_TRUE(
      start_router_before(smsc, smsc_port, 1, "router", "rpw", "window = 64\n", false,
                          "\n[[mo_routes]]\ndestination_prefix = \"555\"\ntenant = \"peers\"\n"));
  const esme_run r = run_node_esme(
      port_, {"--system-id", "peers", "--no-receipts", "--count", "50", "--expect-alerts", "50"});
  EXPECT_EQ(r.process.code, 0) << r.line << "\n" << r.process.err;
  EXPECT_EQ(r.report.count("resp_ok"), 50u);
  EXPECT_EQ(r.report.count("alerts"), 50u);
  stop_router();
  const flat_json c = stop_smsc(smsc, "node-smsc");
  EXPECT_EQ(c.count("submit_sm"), 50u);
  EXPECT_EQ(c.count("alerts_sent"), 50u);
  EXPECT_EQ(c.count("rejected") + c.count("errors"), 0u);
}

// node's SMSC calls the router back (SMPP 3.4 §4.1.7): it connects to the upstream's outbind
// listener and sends outbind; the router binds on that connection (never on the SMSC's own
// listener), sends the ESME's messages on it and relays the receipts that come back on it.
TEST_F(PeersThroughRouter, NodeSmscOutbindLeadsTheRouterToBindOnTheConnectionItOpened) {
  const std::string outbind = "127.0.0.1:" + std::to_string(unused_port());
  child_process smsc;
  const uint16_t smsc_port = start_node_smsc(
      smsc, {"--system-id", "router", "--password", "rpw", "--id-prefix", "OB", "--outbind-to",
             outbind, "--outbind-system-id", "smsc-ob", "--outbind-password", "obpw"});
  ASSERT_TRUE(start_router_before(smsc, smsc_port, 1, "router", "rpw", "window = 64\n", false,
                                  "\n[upstreams.outbind]\nlisten = \"" + outbind +
                                      "\"\nsystem_id = \"smsc-ob\"\npassword = \"obpw\"\n"));
  expect_clean_run(run_node_esme(port_, {"--system-id", "peers", "--expect-id-prefix", "OB"}),
                   messages);
  EXPECT_EQ(stop_router(), std::make_pair(messages, messages));
  const flat_json c = stop_smsc(smsc, "node-smsc");
  EXPECT_EQ(c.count("binds"), 1u);
  EXPECT_GE(c.count("outbinds_sent"), 1u);
  // Every connection the SMSC saw is one it opened: the router never connected to it.
  EXPECT_EQ(c.count("connections"), c.count("outbinds_sent"));
  EXPECT_EQ(c.count("submit_sm"), messages);
  EXPECT_EQ(c.count("receipts_acked"), messages);
  EXPECT_EQ(c.count("rejected") + c.count("receipts_nacked"), 0u);
}

// node-smpp's submit_multi (SMPP 3.4 §4.5) to three destinations whose routes differ: the two of
// upstream a (one of which its node SMSC refuses in unsuccess_sme) and the one of upstream b.
// Each node SMSC gets a submit_multi of its own destinations only; the ESME gets one
// submit_multi_resp: the message_id of the first part (a's) and the refused destination with the
// SMSC's status (§4.5.2); and the receipt of every accepted destination comes back to it, a's
// quoting that message_id. (b's receipt quotes the id b issued, which the ESME was not given:
// config/README.md, submit_multi.)
TEST_F(PeersThroughRouter, NodeEsmeSubmitMultiIsSplitByRouteAndAnsweredOnceWithTheRefused) {
  child_process a, b;
  const uint16_t a_port = start_node_smsc(
      a, {"--id-prefix", "A", "--refuse-destination", "447700000002", "--dlr-delay-ms", "50"});
  const uint16_t b_port = start_node_smsc(b, {"--id-prefix", "B", "--dlr-delay-ms", "50"});
  ASSERT_TRUE(start_router_two_upstreams(a, a_port, b, b_port, false));
  const esme_run r = run_pdus_esme(
      port_, {"--multi", "447700000001,447700000002,337700000003", "--receipts", "2"});
  EXPECT_EQ(r.process.code, 0) << r.line << "\n" << r.process.err;
  EXPECT_EQ(r.report.str("multi.status"), "ESME_ROK") << r.line;
  const std::string id = r.report.str("multi.message_id");
  EXPECT_EQ(id.substr(0, 1), "A") << r.line;
  EXPECT_FALSE(r.report.has("multi.unsuccess.1.status")) << r.line;  // one refused
  EXPECT_EQ(r.report.str("multi.unsuccess.0.destination_addr"), "447700000002");
  EXPECT_EQ(r.report.str("multi.unsuccess.0.status"), "ESME_RINVDSTADR");
  ASSERT_TRUE(r.report.has("receipts.1.id") && !r.report.has("receipts.2.id")) << r.line;
  std::vector<std::string> receipt_from;
  for (const char* k : {"0", "1"}) {
    const std::string from = r.report.str(std::string("receipts.") + k + ".source_addr");
    receipt_from.push_back(from);
    if (from == "447700000001") {
      EXPECT_EQ(r.report.str(std::string("receipts.") + k + ".id"), id);
    }
  }
  std::sort(receipt_from.begin(), receipt_from.end());
  EXPECT_EQ(receipt_from, (std::vector<std::string>{"337700000003", "447700000001"}));
  stop_router();
  const flat_json ca = stop_smsc(a, "node-smsc a");
  const flat_json cb = stop_smsc(b, "node-smsc b");
  EXPECT_EQ(ca.count("submit_multi"), 1u);
  EXPECT_EQ(ca.count("multi_destinations"), 2u);
  EXPECT_EQ(ca.count("multi_refused"), 1u);
  EXPECT_EQ(cb.count("submit_multi"), 1u);
  EXPECT_EQ(cb.count("multi_destinations"), 1u);
  EXPECT_EQ(ca.count("receipts_acked") + cb.count("receipts_acked"), 2u);
  EXPECT_EQ(ca.count("rejected") + cb.count("rejected") + ca.count("submit_sm"), 0u);
}

// node-smpp's broadcast_sm (SMPP 5.0 §4.4.1) takes the route for no destination (a, then b) and
// goes only to b, which takes broadcasts; query_broadcast_sm and cancel_broadcast_sm for its id
// reach b, and for an id nobody issued the router answers them itself.
TEST_F(PeersThroughRouter, NodeEsmeBroadcastGoesOnlyToTheUpstreamTakingBroadcastsAndOpsFollowIt) {
  child_process a, b;
  const uint16_t a_port = start_node_smsc(a, {"--id-prefix", "A", "--broadcast"});
  const uint16_t b_port = start_node_smsc(b, {"--id-prefix", "B", "--broadcast"});
  ASSERT_TRUE(start_router_two_upstreams(a, a_port, b, b_port, true));
  const esme_run r = run_pdus_esme(port_, {"--broadcast"});
  EXPECT_EQ(r.process.code, 0) << r.line << "\n" << r.process.err;
  EXPECT_EQ(r.report.str("broadcast.status"), "ESME_ROK") << r.line;
  EXPECT_EQ(r.report.str("broadcast.message_id").substr(0, 2), "BB") << r.line;
  EXPECT_EQ(r.report.str("broadcast.query"), "ESME_ROK") << r.line;
  EXPECT_EQ(r.report.str("broadcast.cancel"), "ESME_ROK") << r.line;
  EXPECT_EQ(r.report.str("broadcast.query_unknown"), "ESME_RBCASTQUERYFAIL") << r.line;
  EXPECT_EQ(r.report.str("broadcast.cancel_unknown"), "ESME_RBCASTCANCELFAIL") << r.line;
  stop_router();
  const flat_json ca = stop_smsc(a, "node-smsc a");
  const flat_json cb = stop_smsc(b, "node-smsc b");
  EXPECT_EQ(ca.count("broadcast_sm") + ca.count("query_broadcast_sm") +
                ca.count("cancel_broadcast_sm") + ca.count("rejected"),
            0u);
  EXPECT_EQ(cb.count("broadcast_sm"), 1u);
  EXPECT_EQ(cb.count("query_broadcast_sm"), 1u);
  EXPECT_EQ(cb.count("cancel_broadcast_sm"), 1u);
  EXPECT_EQ(cb.count("broadcast_ops_unknown") + cb.count("rejected"), 0u);
}

// With no upstream of the route declaring broadcasts, the router refuses broadcast_sm
// (ESME_RBCASTFAIL) although both node SMSCs would take it: neither sees one.
TEST_F(PeersThroughRouter, NodeEsmeBroadcastIsRefusedWhenNoUpstreamOfItsRouteTakesBroadcasts) {
  child_process a, b;
  const uint16_t a_port = start_node_smsc(a, {"--broadcast"});
  const uint16_t b_port = start_node_smsc(b, {"--broadcast"});
  ASSERT_TRUE(start_router_two_upstreams(a, a_port, b, b_port, false));
  const esme_run r = run_pdus_esme(port_, {"--broadcast"});
  EXPECT_EQ(r.process.code, 0) << r.line << "\n" << r.process.err;
  EXPECT_EQ(r.report.str("broadcast.status"), "ESME_RBCASTFAIL") << r.line;
  stop_router();
  EXPECT_EQ(stop_smsc(a, "node-smsc a").count("broadcast_sm"), 0u);
  EXPECT_EQ(stop_smsc(b, "node-smsc b").count("broadcast_sm"), 0u);
}

TEST_F(PeersThroughRouter, NodeSmscRefusesTheRouterWithWrongCredentials) {
  child_process smsc;
  const uint16_t smsc_port = start_node_smsc(smsc, {"--system-id", "router", "--password", "rpw"});
  ASSERT_NE(smsc_port, 0) << smsc.err();
  ASSERT_TRUE(start_router(smsc_port, 1, "router", "wrong"));
  ASSERT_TRUE(wait_for_counter(smsc, "bind_failures", 1)) << router_.err();

  // No upstream bind: every message is answered with an error, none reaches the SMSC.
  const esme_run r =
      run_node_esme(port_, {"--system-id", "peers", "--count", "10", "--no-receipts"});
  EXPECT_EQ(r.process.code, 1) << r.line;
  EXPECT_EQ(r.report.count("sent"), 10u);
  EXPECT_EQ(r.report.count("resp_ok"), 0u);
  EXPECT_FALSE(r.report.keys_under("resp_errors").empty()) << r.line;

  stop_router();
  const flat_json c = stop_smsc(smsc, "node-smsc");
  EXPECT_EQ(c.count("binds"), 0u);
  EXPECT_EQ(c.count("submit_sm"), 0u);
}

// ---- real peers through smpp-router: the receipts' way back ----------------------------------

TEST_F(PeersThroughRouterReceipts, NodeEsmeGetsEveryReceiptFromSmscSimThroughRouter) {
  child_process sim;
  const uint16_t sim_port = start_smsc_sim(sim, 0, {"--dlr-delay-ms", "100"});
  ASSERT_TRUE(start_router_before(sim, sim_port, 2, "router", "rpw"));

  expect_clean_run(run_node_esme(port_, {"--system-id", "peers"}), messages);

  stop_router();
  const flat_json c = stop_smsc(sim, "smsc-sim");
  EXPECT_EQ(c.count("receipts_sent"), messages);
  EXPECT_EQ(c.count("receipts_acked"), messages);
  EXPECT_EQ(c.count("receipts_nacked"), 0u);
}

TEST_F(PeersThroughRouterReceipts, PerlEsmeGetsEveryReceiptFromSmscSimThroughRouter) {
  child_process sim;
  const uint16_t sim_port = start_smsc_sim(sim, 0, {"--dlr-delay-ms", "100"});
  ASSERT_TRUE(start_router_before(sim, sim_port, 2, "router", "rpw"));

  expect_clean_run(run_perl_esme(port_, {"--system-id", "peers"}), messages);

  stop_router();
  const flat_json c = stop_smsc(sim, "smsc-sim");
  EXPECT_EQ(c.count("receipts_acked"), messages);
  EXPECT_EQ(c.count("receipts_nacked"), 0u);
}

TEST_F(PeersThroughRouterReceipts, NodeEsmeGetsEveryReceiptFromNodeSmscThroughRouter) {
  child_process smsc;
  const uint16_t smsc_port =
      start_node_smsc(smsc, {"--dlr-delay-ms", "100", "--id-prefix", "NODE"});
  ASSERT_TRUE(start_router_before(smsc, smsc_port, 2, "router", "rpw"));

  expect_clean_run(run_node_esme(port_, {"--system-id", "peers", "--expect-id-prefix", "NODE"}),
                   messages);

  stop_router();
  const flat_json c = stop_smsc(smsc, "node-smsc");
  EXPECT_EQ(c.count("receipts_sent"), messages);
  EXPECT_EQ(c.count("receipts_acked"), messages);
  EXPECT_EQ(c.count("receipts_nacked"), 0u);
}

TEST_F(PeersThroughRouterReceipts, EsmeLoadGetsEveryReceiptFromNodeSmscThroughRouter) {
  child_process smsc;
  const uint16_t smsc_port = start_node_smsc(smsc, {"--dlr-delay-ms", "100"});
  ASSERT_TRUE(start_router_before(smsc, smsc_port, 2, "router", "rpw"));

  const esme_run r = run_esme_load(port_, "peers", "secret", {"--count", "200", "--dlr"});
  EXPECT_EQ(r.process.code, 0) << r.line << r.process.err;
  EXPECT_EQ(r.report.count("accepted"), messages);
  EXPECT_EQ(r.report.count("receipts"), messages) << r.line;

  stop_router();
  const flat_json c = stop_smsc(smsc, "node-smsc");
  EXPECT_EQ(c.count("receipts_acked"), messages);
  EXPECT_EQ(c.count("receipts_nacked"), 0u);
}

// ---- real peers through smpp-router at volume: 100,000 receipts ------------------------------

// The router's defaults for the tenant (window 256, deliver_window 64, hold_max 10000) and two
// upstream binds, as config/router.toml has; its admin API for the counters.
class PeersAtVolume : public PeersTest {
 protected:
  // Each test checks the tools it needs itself (and is skipped without them).
  void SetUp() override { dir_ = make_temp_dir(::testing::TempDir(), "peers_volume_"); }

  ::testing::AssertionResult start_sim_and_router(child_process& sim) {
    const uint16_t sim_port = start_smsc_sim(sim, 0, {"--system-id", "router"});
    return start_router_before(sim, sim_port, 2, "router", "rpw", "", true);
  }

  // smsc-sim's own account: every message accepted, every receipt sent and acknowledged
  // ESME_ROK by the router, none refused.
  static void expect_every_receipt_acknowledged(child_process& sim) {
    const flat_json c = stop_smsc(sim, "smsc-sim");
    EXPECT_EQ(c.count("submit_sm"), volume_messages);
    EXPECT_EQ(c.count("accepted"), volume_messages);
    EXPECT_EQ(c.count("receipts_sent"), volume_messages);
    EXPECT_EQ(c.count("receipts_acked"), volume_messages);
    EXPECT_EQ(c.count("receipts_nacked"), 0u);
    EXPECT_EQ(c.count("receipts_dropped"), 0u);
    EXPECT_EQ(c.count("rejected") + c.count("generic_nacks") + c.count("throttled"), 0u);
  }
};

TEST_F(PeersAtVolume, NodeEsmeGetsEveryReceiptOf100000ThroughRouter) {
  const std::string node = SMPP_NODE_EXECUTABLE;
  if (node.empty() || access(node.c_str(), X_OK) != 0 ||
      !std::filesystem::exists(peers_dir() + "/node_modules/smpp/package.json")) {
    GTEST_SKIP() << "node or tests/peers/node_modules/smpp missing: run tools/install-deps.sh "
                    "(Debian nodejs, npm ci in tests/peers)";
  }
  child_process sim;
  ASSERT_TRUE(start_sim_and_router(sim));

  child_process p;
  ASSERT_TRUE(p.start(
      node, {peers_dir() + "/esme.js", "--port", std::to_string(port_), "--system-id", "peers",
             "--count", std::to_string(volume_messages), "--window", std::to_string(volume_window),
             "--timeout-ms", std::to_string(node_volume_timeout_ms), "--receipt-idle-ms",
             std::to_string(volume_idle_ms)}));
  const auto started = clock_type::now();
  const esme_run r =
      finish_esme(p, "esme.js", std::chrono::milliseconds{node_volume_timeout_ms} + 10s);
  std::printf("esme.js: %llu sent, %llu receipts matched in %.1f s\n",
              static_cast<unsigned long long>(r.report.count("sent")),
              static_cast<unsigned long long>(r.report.count("receipts_matched")),
              std::chrono::duration<double>(clock_type::now() - started).count());
  EXPECT_EQ(r.process.code, 0) << r.line << "\n" << r.process.err;
  EXPECT_TRUE(json_true(r.line, "ok")) << r.line;
  EXPECT_TRUE(json_true(r.line, "unbound")) << r.line;
  EXPECT_EQ(r.report.count("sent"), volume_messages);
  EXPECT_EQ(r.report.count("resp_ok"), volume_messages);
  EXPECT_TRUE(r.report.keys_under("resp_errors").empty()) << r.line;
  EXPECT_EQ(r.report.count("message_ids"), volume_messages);
  EXPECT_EQ(r.report.count("receipts"), volume_messages);
  EXPECT_EQ(r.report.count("receipts_matched"), volume_messages);
  EXPECT_EQ(r.report.count("receipts_unmatched"), 0u);
  EXPECT_EQ(r.report.count("receipts_duplicate"), 0u);
  EXPECT_EQ(r.report.count("receipts_text_mismatch"), 0u);

  std::printf(
      "%d receipt counters of the router checked\n",
      expect_receipt_metrics(admin_port_, volume_messages, r.report.count("receipts_matched")));
  EXPECT_EQ(stop_router(), std::make_pair(volume_messages, volume_messages));
  expect_every_receipt_acknowledged(sim);
}

// Kannel (bearerbox with an SMPP transceiver to the router, smsbox's HTTP sendsms) as the ESME;
// tests/peers/kannel/kannel_esme.py runs both boxes and counts their delivery reports.
TEST_F(PeersAtVolume, KannelGetsEveryDeliveryReportOf100000ThroughRouter) {
  const std::string python = SMPP_PYTHON3_EXECUTABLE;
  const std::string bearerbox = SMPP_BEARERBOX_EXECUTABLE;
  const std::string smsbox = SMPP_SMSBOX_EXECUTABLE;
  for (const std::string& tool : {python, bearerbox, smsbox}) {
    if (tool.empty() || access(tool.c_str(), X_OK) != 0) {
      GTEST_SKIP() << "python3, bearerbox or smsbox missing: run tools/install-deps.sh "
                      "(Debian python3, kannel)";
    }
  }
  child_process sim;
  ASSERT_TRUE(start_sim_and_router(sim));

  const std::string kannel_dir = dir_ + "kannel";
  ASSERT_TRUE(std::filesystem::create_directory(kannel_dir));
  std::vector<std::string> args = {peers_dir() + "/kannel/kannel_esme.py"};
  for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
           {"--port", std::to_string(port_)},
           {"--system-id", "peers"},
           {"--password", "secret"},
           {"--count", std::to_string(volume_messages)},
           {"--window", std::to_string(volume_window)},
           {"--timeout-ms", std::to_string(kannel_volume_timeout_ms)},
           {"--dlr-mask", std::to_string(kannel_dlr_mask)},
           {"--dlr-idle-ms", std::to_string(volume_idle_ms)},
           {"--bearerbox", bearerbox},
           {"--smsbox", smsbox},
           {"--dir", kannel_dir}}) {
    args.insert(args.end(), {name, value});
  }
  child_process p;
  ASSERT_TRUE(p.start(python, args));
  const esme_run r =
      finish_esme(p, "kannel_esme.py", std::chrono::milliseconds{kannel_volume_timeout_ms} + 20s);
  std::printf("kannel_esme.py: %s\n", r.line.c_str());
  // The script stops both boxes before it exits (and they die with it if it is killed, which
  // takes the kernel a moment): none may be left.
  std::vector<pid_t> left = processes_naming(kannel_dir + "/kannel.conf");
  for (const auto until = clock_type::now() + 3s; !left.empty() && clock_type::now() < until;) {
    std::this_thread::sleep_for(100ms);
    left = processes_naming(kannel_dir + "/kannel.conf");
  }
  EXPECT_TRUE(left.empty()) << left.size() << " Kannel processes left running";
  for (const pid_t pid : left) kill(pid, SIGKILL);

  EXPECT_EQ(r.process.code, 0) << r.line << "\n" << r.process.err;
  EXPECT_TRUE(json_true(r.line, "ok")) << r.line;
  EXPECT_EQ(r.report.count("sent"), volume_messages);
  EXPECT_EQ(r.report.count("accepted"), volume_messages);
  EXPECT_TRUE(r.report.keys_under("sendsms_errors").empty()) << r.line;
  EXPECT_EQ(r.report.count("delivered"), volume_messages);
  for (const char* none :
       {"final_missing", "final_duplicate", "failed", "smsc_rejected", "buffered", "other_types",
        "dlr_unknown", "foreign_id_mismatch", "foreign_ids_repeated"}) {
    EXPECT_EQ(r.report.count(none), 0u) << none;
  }

  std::printf("%d receipt counters of the router checked\n",
              expect_receipt_metrics(admin_port_, volume_messages, r.report.count("delivered")));
  EXPECT_EQ(stop_router(), std::make_pair(volume_messages, volume_messages));
  expect_every_receipt_acknowledged(sim);
}

}  // namespace
