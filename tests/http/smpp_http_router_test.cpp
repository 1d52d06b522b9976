// smpp-http through smpp-router (child processes on loopback): smsc-sim, the router bound to it
// as its upstream, smpp-http bound to the router as tenant demo. MO messages smsc-sim originates
// reach the client's mo_url once each through the router's MO route, and messages POSTed reach
// smsc-sim once each with their receipts back. Counted at the three.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "../support/child_process.hpp"
#include "../support/router_start.hpp"
#include "smpp/http/callbacks.hpp"

namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using smpp::testing::child_process;
using smpp::testing::clock_type;
using smpp::testing::flat_json;

constexpr const char* secret = "mo-secret";

// Receives the mo_url callbacks: each body with its signature.
class mo_receiver {
 public:
  mo_receiver() {
    server_.Post("/mo", [this](const httplib::Request& req, httplib::Response& res) {
      const std::lock_guard lock(mutex_);
      received_.emplace_back(req.body, req.get_header_value("X-Smpp-Http-Signature"));
      res.status = 204;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~mo_receiver() {
    server_.stop();
    thread_.join();
  }
  [[nodiscard]] int port() const { return port_; }
  std::vector<std::pair<std::string, std::string>> received() {
    const std::lock_guard lock(mutex_);
    return received_;
  }

 private:
  httplib::Server server_;
  int port_ = -1;
  std::thread thread_;
  std::mutex mutex_;
  std::vector<std::pair<std::string, std::string>> received_;
};

json status_of(int port) {
  httplib::Client c("127.0.0.1", port);
  auto r = c.Get("/v1/status", httplib::Headers{{"Authorization", "Bearer demo-key"}});
  return r && r->status == 200 ? json::parse(r->body, nullptr, false) : json();
}

TEST(SmppHttpThroughRouter, MoReachesTheMoUrlOnceEachAndMessagesTheSmscWithTheirReceipts) {
  constexpr std::size_t mo_count = 200;
  constexpr std::size_t mt_count = 500;
  mo_receiver hook;
  ASSERT_GT(hook.port(), 0);
  const std::string dir = smpp::testing::make_temp_dir(::testing::TempDir(), "smpp_http_router_");

  child_process sim;
  const std::uint16_t sim_port = smpp::testing::start_smsc_sim(
      sim, 0, {"--mo-rate", "400", "--mo-count", std::to_string(mo_count)});
  ASSERT_NE(sim_port, 0) << sim.err();
  child_process router;
  const std::uint16_t router_port =
      smpp::testing::start_router_on_free_port(router, [&](std::uint16_t port, int) {
        const std::string path = dir + "router.toml";
        std::ofstream(path) << "[router]\nlisten = [\"127.0.0.1:" << port
                            << "\"]\nworkers = [0]\n[admin]\nenabled = false\n"
                               "[timeouts]\nreconnect_min_ms = 100\nreconnect_max_ms = 1000\n"
                               "[[tenants]]\nname = \"demo\"\nsystem_id = \"demo\"\n"
                               "password = \"demo\"\nwindow = 256\n"
                               "[[upstreams]]\nname = \"sim\"\naddress = \"127.0.0.1:"
                            << sim_port
                            << "\"\n[[upstreams.binds]]\nsystem_id = \"router\"\n"
                               "password = \"router\"\ncount = 1\n"
                               "[[routes]]\ntenant = \"*\"\ndestination_prefix = \"\"\n"
                               "upstreams = [\"sim\"]\n"
                               "[[mo_routes]]\ntenant = \"demo\"\n";
        return path;
      });
  ASSERT_NE(router_port, 0) << router.err();

  std::ofstream(dir + "http.toml")
      << "[http]\nlisten = \"127.0.0.1:0\"\n[store]\npath = \"" << dir
      << "state.db\"\n[smsc]\nport = " << router_port
      << "\nsessions = 2\nreconnect_ms = 100\n[[clients]]\nname = \"demo\"\nkey_hash = "
         "\"blake2b256:e229ec1be2faa7a5dec6aad7aff1591e1e9b1683ed3f08cce11be9bd06dd2c67\"\n"
         "from = \"DEMO\"\nallowed_from = [\"12345\"]\nwebhook_secret = \""
      << secret << "\"\nmo_url = \"http://127.0.0.1:" << hook.port() << "/mo\"\n";
  child_process http;
  ASSERT_TRUE(http.start("smpp-http", {"--config", dir + "http.toml"}));
  constexpr std::string_view marker = "listening on 127.0.0.1:";
  ASSERT_TRUE(http.wait_for_output(
      [&](const std::string&, const std::string& err) {
        const size_t at = err.find(marker);
        return at != std::string::npos && err.find('\n', at) != std::string::npos;
      },
      10s))
      << http.err();
  const int port = std::atoi(http.err().c_str() + http.err().find(marker) + marker.size());

  std::string to = "[";
  for (std::size_t i = 0; i < mt_count; ++i) {
    to += (i == 0 ? "\"" : ",\"") + std::to_string(447900000000 + i) + "\"";
  }
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(30, 0);
  const auto posted =
      client.Post("/v1/messages", httplib::Headers{{"Authorization", "Bearer demo-key"}},
                  R"({"text":"via the router","to":)" + to + "]}", "application/json");
  ASSERT_TRUE(posted);
  ASSERT_EQ(posted->status, 202) << posted->body;

  json status;
  for (const auto until = clock_type::now() + 30s; clock_type::now() < until;) {
    status = status_of(port);
    if (status.is_object() && status["callbacks_delivered"] == mo_count &&
        status["receipts_matched"] == mt_count) {
      break;
    }
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_TRUE(status.is_object());
  EXPECT_EQ(status["mo_received"], mo_count) << status.dump();
  EXPECT_EQ(status["mo_routed"], mo_count);
  EXPECT_EQ(status["callbacks_delivered"], mo_count);
  EXPECT_EQ(status["responses_ok"], mt_count);
  EXPECT_EQ(status["receipts_matched"], mt_count);
  // The router may pass a receipt on the other session before the answer it follows: it waits
  // among the early ones and is matched then (counted unmatched once); each came exactly once.
  EXPECT_EQ(status["receipts_received"], mt_count);

  std::set<std::string> texts;
  for (const auto& [body, signature] : hook.received()) {
    EXPECT_EQ(signature, smpp::http::sign_body(secret, body));
    const json j = json::parse(body);
    EXPECT_EQ(j["to"], "12345");
    EXPECT_TRUE(texts.insert(j["text"].get<std::string>()).second) << "twice: " << body;
  }
  EXPECT_EQ(texts.size(), mo_count);
  EXPECT_EQ(texts.count("MO message 1"), 1u);
  EXPECT_EQ(texts.count("MO message 200"), 1u);

  const auto sim_counts = smpp::testing::wait_for_smsc_sim(
      sim,
      [&](const flat_json& c) {
        return c.count("mo_acked") == mo_count && c.count("receipts_acked") == mt_count;
      },
      10s);
  ASSERT_TRUE(sim_counts.has_value());
  EXPECT_EQ(sim_counts->count("mo_sent"), mo_count);
  EXPECT_EQ(sim_counts->count("mo_acked"), mo_count);
  EXPECT_EQ(sim_counts->count("submit_sm"), mt_count) << "each message once at the SMSC";
  EXPECT_EQ(sim_counts->count("receipts_acked"), mt_count);
  http.signal(SIGTERM);
  EXPECT_EQ(http.wait(10s).code, 0);
  router.signal(SIGTERM);
  (void)router.wait(10s);
}

}  // namespace
