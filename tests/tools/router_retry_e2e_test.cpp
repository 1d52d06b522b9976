// Retry on refusal through smpp-router ([router] retry_on): esme-load -> router (two workers) ->
// two smsc-sim, the route's first upstream refusing every message (--error-rate 1: about half
// ESME_RSYSERR, half ESME_RSUBMITFAIL, reproducible from --seed). With retry_on =
// ["ESME_RSYSERR"] the ESME_RSYSERR ones go once to the second upstream and the ESME gets its
// answer only; the ESME_RSUBMITFAIL ones are answered as refused. Exact counts at both SMSCs,
// at the ESME, in /metrics and in /api/upstreams. When the second upstream is down, the refusal
// stands: every message is answered once with the first upstream's status. Each case is bounded
// (under 30 s).
#include <gtest/gtest.h>

#include <httplib.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "../support/child_process.hpp"
#include "../support/metrics_text.hpp"
#include "../support/request_counts.hpp"
#include "../support/router_start.hpp"

namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using smpp::testing::child_process;
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
using smpp::testing::sim_counts;
using smpp::testing::smsc_sim_counters;
using smpp::testing::start_router_on_free_ports;
using smpp::testing::start_smsc_sim;
using smpp::testing::unused_port;
using smpp::testing::wait_for_smsc_sim;

constexpr uint32_t workers = 2;
constexpr uint64_t messages = 3000;

class RouterRetryE2eTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = make_temp_dir(::testing::TempDir(), "router_retry_"); }
  void TearDown() override {
    for (child_process* p : {&router_, &refusing_, &good_}) {
      if (p->pid() > 0) {
        p->signal(SIGTERM);
        (void)p->wait(10s);
      }
    }
  }

  // The refusing smsc-sim, the good one (unless good_up is false: its address is a port nobody
  // listens on), and the router: route ["refusing", "good"], retry_on `retry_on`.
  ::testing::AssertionResult start(bool good_up, const std::string& retry_on) {
    const uint16_t refusing_port =
        start_smsc_sim(refusing_, 0, {"--error-rate", "1", "--seed", "7"});
    if (refusing_port == 0) return ::testing::AssertionFailure() << refusing_.err();
    const uint16_t good_port = good_up ? start_smsc_sim(good_, 0) : unused_port();
    if (good_port == 0) return ::testing::AssertionFailure() << good_.err();
    const auto upstream = [](const char* name, uint16_t port) {
      return "[[upstreams]]\nname = \"" + std::string(name) +
             "\"\naddress = \"127.0.0.1:" + std::to_string(port) +
             "\"\n[[upstreams.binds]]\nsystem_id = \"router\"\npassword = \"router\"\ncount = " +
             std::to_string(workers) + "\n";
    };
    const router_ports ports =
        start_router_on_free_ports(router_, true, [&](const router_ports& p, int attempt) {
          const std::string path = dir_ + "router" + std::to_string(attempt) + ".toml";
          std::ofstream(path) << "[router]\nlisten = [\"127.0.0.1:" << p.smpp
                              << "\"]\nworkers = [0, 1]\nretry_on = " << retry_on
                              << "\n[admin]\nlisten = \"127.0.0.1:" << p.admin
                              << "\"\n[[tenants]]\nname = \"load\"\nsystem_id = \"loadtest\"\n"
                                 "password = \"secret\"\n"
                              << upstream("refusing", refusing_port) << upstream("good", good_port)
                              << "[[routes]]\ntenant = \"*\"\ndestination_prefix = \"\"\n"
                                 "upstreams = [\"refusing\", \"good\"]\n";
          return path;
        });
    if (ports.smpp == 0) return ::testing::AssertionFailure() << "no smpp-router";
    port_ = ports.smpp;
    admin_port_ = ports.admin;
    for (child_process* sim : {&refusing_, &good_}) {
      if (sim->pid() <= 0) continue;
      const auto bound = wait_for_smsc_sim(
          *sim, [](const flat_json& c) { return c.count("binds") >= workers; }, 15s);
      if (!bound || bound->count("binds") < workers) {
        return ::testing::AssertionFailure() << "upstream binds not up:\n" << router_.err();
      }
    }
    return ::testing::AssertionSuccess();
  }

  flat_json run_load() {
    const std::string path = dir_ + "load.json";
    const exit_result r =
        run_tool("esme-load",
                 {"--connect", "127.0.0.1:" + std::to_string(port_), "--system-id", "loadtest",
                  "--password", "secret", "--json", path, "--no-progress", "--sessions", "2",
                  "--window", "32", "--count", std::to_string(messages)},
                 60s);
    // esme-load exits 0 only when every submit_sm was answered (an error status is an answer).
    EXPECT_EQ(r.code, 0) << r.err;
    return flat_json::parse(read_file(path)).value_or(flat_json{});
  }

  [[nodiscard]] json upstream_api(const std::string& name) const {
    httplib::Client c("127.0.0.1", admin_port_);
    c.set_read_timeout(10, 0);
    const auto res = c.Get("/api/upstreams");
    EXPECT_TRUE(res && res->status == 200);
    if (!res || res->status != 200) return json::object();
    for (const json& u : json::parse(res->body, nullptr, false)) {
      if (u.value("name", "") == name) return u;
    }
    return json::object();
  }

  std::string dir_;
  child_process refusing_;
  child_process good_;
  child_process router_;
  uint16_t port_ = 0;
  uint16_t admin_port_ = 0;
};

TEST_F(RouterRetryE2eTest, ARefusalOfRetryOnGoesOnceToTheNextUpstreamAndTheEsmeGetsOneAnswer) {
  ASSERT_TRUE(start(true, "[\"ESME_RSYSERR\"]"));
  const request_counts esme = esme_counts(run_load());
  const auto refusing = smsc_sim_counters(refusing_);
  const auto good = smsc_sim_counters(good_);
  ASSERT_TRUE(refusing && good);
  const request_counts at_refusing = sim_counts(*refusing);
  const request_counts at_good = sim_counts(*good);

  // The refusing SMSC saw every message once and refused each with one of its two statuses.
  const uint64_t syserr = refusing->count("errors.ESME_RSYSERR");
  const uint64_t submitfail = refusing->count("errors.ESME_RSUBMITFAIL");
  EXPECT_EQ(at_refusing.requests, messages);
  EXPECT_EQ(syserr + submitfail, messages);
  EXPECT_GT(syserr, 0u);
  EXPECT_GT(submitfail, 0u);
  // Only the ESME_RSYSERR ones went on, once each, and were accepted there.
  EXPECT_EQ(at_good, (request_counts{syserr, syserr, {}}));
  // The ESME: one answer per message, the second upstream's or the refusal.
  EXPECT_EQ(esme, (request_counts{messages, syserr, {{"ESME_RSUBMITFAIL", submitfail}}}));

  const metric_samples m = smpp::testing::scrape_metrics(admin_port_);
  EXPECT_EQ(router_counts(m, "tenant", "load"), esme);
  EXPECT_EQ(router_counts(m, "upstream", "refusing"), at_refusing);
  EXPECT_EQ(router_counts(m, "upstream", "good"), at_good);
  EXPECT_EQ(m.count(R"(smpp_upstream_retried_total{upstream="refusing",status="ESME_RSYSERR"})"),
            syserr);
  EXPECT_TRUE(m.starting_with(R"(smpp_upstream_retried_total{upstream="good")").empty());
  const json api = upstream_api("refusing");
  EXPECT_EQ(api.value("retried", uint64_t{0}), syserr);
  EXPECT_EQ(api["retried_by_status"].value("ESME_RSYSERR", uint64_t{0}), syserr);
  EXPECT_EQ(upstream_api("good").value("retried", uint64_t{1}), 0u);
}

TEST_F(RouterRetryE2eTest, WithTheNextUpstreamDownTheRefusalIsTheEsmesOneAnswer) {
  ASSERT_TRUE(start(false, "[\"ESME_RSYSERR\", \"ESME_RSUBMITFAIL\"]"));
  const request_counts esme = esme_counts(run_load());
  const auto refusing = smsc_sim_counters(refusing_);
  ASSERT_TRUE(refusing);
  const uint64_t syserr = refusing->count("errors.ESME_RSYSERR");
  const uint64_t submitfail = refusing->count("errors.ESME_RSUBMITFAIL");
  EXPECT_EQ(syserr + submitfail, messages);
  EXPECT_EQ(esme, (request_counts{
                      messages, 0, {{"ESME_RSYSERR", syserr}, {"ESME_RSUBMITFAIL", submitfail}}}));
  const metric_samples m = smpp::testing::scrape_metrics(admin_port_);
  EXPECT_EQ(router_counts(m, "tenant", "load"), esme);
  EXPECT_TRUE(m.starting_with(R"(smpp_upstream_retried_total{upstream="refusing")").empty());
  EXPECT_EQ(upstream_api("refusing").value("retried", uint64_t{1}), 0u);
}

TEST_F(RouterRetryE2eTest, WithoutRetryOnEveryRefusalGoesBackAsItIs) {
  ASSERT_TRUE(start(true, "[]"));
  const request_counts esme = esme_counts(run_load());
  const auto refusing = smsc_sim_counters(refusing_);
  const auto good = smsc_sim_counters(good_);
  ASSERT_TRUE(refusing && good);
  EXPECT_EQ(esme,
            (request_counts{messages,
                            0,
                            {{"ESME_RSYSERR", refusing->count("errors.ESME_RSYSERR")},
                             {"ESME_RSUBMITFAIL", refusing->count("errors.ESME_RSUBMITFAIL")}}}));
  EXPECT_EQ(sim_counts(*good).requests, 0u);
}

}  // namespace
