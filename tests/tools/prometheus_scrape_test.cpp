// A real Prometheus server (the Debian package) scrapes smpp-router's /metrics every second
// while esme-load sends through the router to smsc-sim; the test asks Prometheus's HTTP API
// until it has stored the tenant's submitted count. Own temporary directory, loopback ports,
// bounded (under 60 s); every process is stopped at the end.
#include <gtest/gtest.h>

#include <httplib.h>
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "../support/admin_router.hpp"
#include "../support/child_process.hpp"

namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using smpp::testing::admin_router;
using smpp::testing::child_process;
using smpp::testing::clock_type;
using smpp::testing::exit_result;
using smpp::testing::make_temp_dir;
using smpp::testing::unused_port;

constexpr auto test_limit = 50s;

bool have(const char* program) {
  return std::system(("command -v " + std::string(program) + " > /dev/null 2>&1").c_str()) == 0;
}

// The value of an instant query's single sample, or -1 when Prometheus has none (yet).
double query(httplib::Client& prom, const std::string& promql, std::string& body) {
  auto res = prom.Get("/api/v1/query", httplib::Params{{"query", promql}}, httplib::Headers{});
  if (!res || res->status != 200) return -1;
  body = res->body;
  const json j = json::parse(res->body, nullptr, false);
  if (j.is_discarded() || j.value("status", "") != "success") return -1;
  const json& result = j["data"]["result"];
  if (!result.is_array() || result.size() != 1) return -1;
  return std::strtod(result[0]["value"][1].get<std::string>().c_str(), nullptr);
}

TEST(PrometheusScrape, PrometheusStoresTheTenantsSubmittedCountFromMetrics) {
  if (!have("prometheus")) {
    GTEST_SKIP() << "prometheus is missing: install the Debian package prometheus "
                    "(tools/install-deps.sh); /metrics was NOT scraped by a real server";
  }
  const auto deadline = clock_type::now() + test_limit;
  const std::string dir = make_temp_dir(::testing::TempDir(), "prometheus_");
  admin_router router;
  std::string why;
  ASSERT_TRUE(router.start(dir, "", why)) << why;

  const uint16_t prom_port = unused_port();
  ASSERT_NE(prom_port, 0);
  std::ofstream(dir + "prometheus.yml") << "global:\n"
                                           "  scrape_interval: 1s\n"
                                           "  evaluation_interval: 1s\n"
                                           "scrape_configs:\n"
                                           "  - job_name: smpp-router\n"
                                           "    scrape_interval: 1s\n"
                                           "    scrape_timeout: 1s\n"
                                           "    static_configs:\n"
                                           "      - targets: ['127.0.0.1:"
                                        << router.admin_port() << "']\n";
  child_process prometheus;
  ASSERT_TRUE(prometheus.start(
      "/usr/bin/prometheus",
      {"--config.file=" + dir + "prometheus.yml", "--storage.tsdb.path=" + dir + "data",
       "--web.listen-address=127.0.0.1:" + std::to_string(prom_port), "--log.level=warn"}));

  ASSERT_EQ(router.load(dir, 5000), 0) << router.load_err();

  httplib::Client prom("127.0.0.1", prom_port);
  prom.set_connection_timeout(1, 0);
  prom.set_read_timeout(5, 0);
  double submitted = -1;
  double up = -1;
  std::string body;
  while (clock_type::now() < deadline) {
    up = query(prom, "up{job=\"smpp-router\"}", body);
    submitted = query(prom, "smpp_tenant_submitted_total{tenant=\"load\"}", body);
    if (up == 1 && submitted >= 5000) break;
    std::this_thread::sleep_for(500ms);
  }
  EXPECT_EQ(up, 1) << "Prometheus did not scrape the router; last answer: " << body
                   << "\nprometheus stderr:\n"
                   << prometheus.err();
  EXPECT_EQ(submitted, 5000) << body;
  // The router's placement and a histogram made it too.
  EXPECT_EQ(query(prom, "count(smpp_worker_info)", body), 2) << body;
  EXPECT_EQ(query(prom, "smpp_tenant_latency_seconds_count{tenant=\"load\"}", body), 5000) << body;

  prometheus.signal(SIGTERM);
  const exit_result p = prometheus.wait(10s);
  EXPECT_FALSE(p.timed_out) << "prometheus did not stop on SIGTERM";
  const exit_result r = router.stop();
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err.find("Sanitizer"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("runtime error:"), std::string::npos) << r.err;
  EXPECT_LT(clock_type::now(), deadline + 15s);
}

}  // namespace
