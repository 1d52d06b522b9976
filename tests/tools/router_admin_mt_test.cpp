// The real smpp-router with two workers while its admin API is read without pause and its
// configuration is reloaded (one reload adds a tenant): the readers of the workers' live
// counters, the publisher and the workers adopting new snapshots all run at once. Built with
// TSan (tools/test.sh runs every *_mt_test there), a data race ends the router with a report
// and this test fails; in every build the counts must come out exact.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "../support/admin_router.hpp"
#include "../support/child_process.hpp"

namespace {

using namespace std::chrono_literals;
using smpp::testing::admin_router;
using smpp::testing::admin_test_token;
using smpp::testing::clock_type;
using smpp::testing::exit_result;
using smpp::testing::flat_json;
using smpp::testing::make_temp_dir;

constexpr uint32_t kMessages = 20000;

// The value of the sample `name` (with its labels) in a Prometheus text page; -1 when absent.
double sample(const std::string& page, const std::string& name) {
  std::istringstream in(page);
  for (std::string line; std::getline(in, line);) {
    if (line.size() > name.size() && line.compare(0, name.size(), name) == 0 &&
        line[name.size()] == ' ')
      return std::stod(line.substr(name.size() + 1));
  }
  return -1;
}

TEST(RouterUnderAdmin, CountersReadAndConfigReloadedWhileTwoWorkersCarryLoadStayExact) {
  const std::string dir = make_temp_dir(::testing::TempDir(), "router_admin_mt_");
  admin_router router;
  std::string why;
  ASSERT_TRUE(router.start(dir, "token = \"" + std::string(admin_test_token) + "\"\n", why)) << why;

  std::atomic<bool> done{false};
  int load_code = -1;
  std::thread load([&] {
    load_code = router.load(dir, kMessages);
    done.store(true);
  });

  httplib::Client admin("127.0.0.1", router.admin_port());
  admin.set_connection_timeout(2, 0);
  admin.set_read_timeout(10, 0);
  const httplib::Headers auth{{"Authorization", "Bearer " + std::string(admin_test_token)}};
  uint32_t pages = 0;
  uint32_t reloads = 0;
  bool added = false;
  // Bounded in count and time; ends with the load.
  const auto deadline = clock_type::now() + 120s;
  for (uint32_t round = 0; round < 100000 && !done.load() && clock_type::now() < deadline;
       ++round) {
    for (const char* path : {"/metrics", "/api/tenants", "/api/status"}) {
      const auto r = admin.Get(path);
      if (r && r->status == 200) ++pages;
    }
    if (round % 10 != 0) continue;
    if (!added) {
      // A tenant appended to the file: the workers' per-tenant arrays grow while read.
      std::ofstream(router.config_path(), std::ios::app)
          << "\n[[tenants]]\nname = \"added\"\nsystem_id = \"added\"\npassword = \"secret\"\n";
      added = true;
    }
    const auto r = admin.Post("/api/reload", auth, "", "application/json");
    ASSERT_TRUE(r) << "the admin API did not answer the reload";
    EXPECT_EQ(r->status, 200) << r->body;
    ++reloads;
  }
  load.join();
  ASSERT_EQ(load_code, 0) << router.load_err();
  EXPECT_GT(pages, 0U);
  EXPECT_GT(reloads, 0U) << "the load ended before the first reload";

  // Every message answered, and the router's counters say what the client counted.
  std::ifstream json_file(dir + "load.json");
  const std::string text((std::istreambuf_iterator<char>(json_file)),
                         std::istreambuf_iterator<char>());
  const auto j = flat_json::parse(text);
  ASSERT_TRUE(j.has_value()) << text;
  EXPECT_EQ(j->count("sent"), kMessages) << text;
  EXPECT_EQ(j->count("accepted"), kMessages) << text;
  const auto page = admin.Get("/metrics");
  ASSERT_TRUE(page && page->status == 200);
  EXPECT_EQ(sample(page->body, "smpp_tenant_submitted_total{tenant=\"load\"}"), kMessages);
  EXPECT_EQ(sample(page->body, "smpp_tenant_accepted_total{tenant=\"load\"}"), kMessages);
  EXPECT_EQ(sample(page->body, "smpp_tenant_submitted_total{tenant=\"added\"}"), 0)
      << "the added tenant is not in /metrics";

  const exit_result r = router.stop();
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err.find("Sanitizer"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("runtime error:"), std::string::npos) << r.err;
}

}  // namespace
